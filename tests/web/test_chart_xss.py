"""Chart tooltips never run what the data holds (issue 11, defect 1: stored XSS in the heat map).

In Debian's headless Chromium against a real server: a county's school is named
`X<img src=x onerror=alert(document.domain)>`; a reader of the county hovers its heat-map cell on
the dashboard. No dialog opens, no image is requested, and the tooltip shows the name as text
(no <img> element in it). The trend and forecast charts' formatters (static/trends.js) get the
same treatment with crafted chart data. A static check, which needs no browser, holds every
tooltip formatter of the product's JavaScript to escaping what it returns.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from browser import screen_page, serve
from web_world import COUNTY, PASSWORD, WEB_USERS, YEAR, seed_store, web_dataset, web_settings

from junheng.data.dataset import Dataset

EVIL = "X<img src=x onerror=alert(document.domain)>"
STATIC = Path(__file__).resolve().parents[2] / "src" / "junheng" / "web" / "static"


# ---------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium):
    from junheng.store.db import Database
    from junheng.web.app import create_app

    root = tmp_path_factory.mktemp("chart-xss")
    base = web_dataset()
    schools = base.schools.copy()
    schools.loc[schools["school_id"] == "P1", "school_name"] = EVIL
    dataset = Dataset.from_frames(source="tests", schools=schools, school_year=base.school_year,
                                  county_year=base.county_year, quality=base.quality)
    database = Database(f"sqlite:///{root / 'junheng.db'}")
    database.migrate()
    seed_store(database, dataset, WEB_USERS)
    with serve(create_app(web_settings(database, root / "uploads"), database)) as url:
        yield url
    database.engine.dispose()


class Watch:
    """What a page did that script injection would do: dialogs opened, images asked for."""

    def __init__(self, page):
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("request", lambda request: self.requests.append(request.url))

    def injected(self) -> list[str]:
        return self.dialogs + [u for u in self.requests if re.search(r"/x(\?|$)", u)]


def hover_point(page, selector: str, series: int, point: list) -> None:
    """Move the mouse onto `point` (data coordinates) of the ECharts chart in `selector`."""
    box = page.locator(selector).bounding_box()
    x, y = page.evaluate("([s, i, p]) => echarts.getInstanceByDom(document.querySelector(s))"
                         ".convertToPixel({seriesIndex: i}, p)", [selector, series, point])
    page.mouse.move(box["x"] + x, box["y"] + y)


def tooltip(page, selector: str, text: str):
    """ECharts' tooltip element inside the chart's box, once it shows `text`."""
    from playwright.sync_api import expect

    found = page.locator(f"{selector} > div", has_text=text).last
    expect(found).to_be_visible()
    return found


def test_hovering_the_heat_map_cell_of_a_hostile_name_runs_nothing(server, browser):
    with screen_page(browser, "chart-xss-failure") as page:
        watch = Watch(page)
        page.goto(f"{server}/login")
        page.fill("input[name=username]", "viewer")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        page.goto(f"{server}/counties/{COUNTY}?year={YEAR}")
        page.wait_for_function("() => window.echarts && echarts.getInstanceByDom(document.getElementById('heatmap'))")
        data = json.loads(page.locator("#heatmap").get_attribute("data-chart"))
        row = next(i for i, name in enumerate(data["y"]) if name.startswith(EVIL))
        page.locator("#heatmap").scroll_into_view_if_needed()
        hover_point(page, "#heatmap", 0, [0, row])
        tip = tooltip(page, "#heatmap", " R1:")
        page.wait_for_timeout(300)  # an onerror handler would have run by now
        assert watch.injected() == []
        assert tip.locator("img").count() == 0 and page.locator("#heatmap img").count() == 0
        assert tip.inner_text().startswith(EVIL + "(小学) R1:")


def line_chart_data() -> dict:
    return {"id": "t", "kind": "share", "title": "t", "y_name": "%", "mark": 100, "mark_label": EVIL,
            "years": [2023, 2024],
            "series": [{"name": EVIL, "label": EVIL, "data": [90.0, 95.0]}]}


def band_chart_data() -> dict:
    return {"id": "f", "title": "f", "years": [EVIL, "2025"], "low": [100, 110], "mid": [120, 125],
            "high": [130, 140], "capacity": [EVIL, EVIL]}


@pytest.mark.parametrize(("attribute", "data", "expected"), [
    ("data-trend-chart", line_chart_data(), f"{EVIL} {EVIL}:90%"),
    ("data-forecast-chart", band_chart_data(), f"{EVIL} 学年(实际)"),
], ids=["trend", "forecast"])
def test_trend_and_forecast_tooltips_show_hostile_text_as_text(server, browser, attribute, data, expected):
    with screen_page(browser, "chart-xss-trends-failure") as page:
        watch = Watch(page)
        page.goto(f"{server}/static/app.css")  # the site's origin, for the scripts below
        page.set_content(f"""<!doctype html><html><body>
            <div id="c" {attribute}='{json.dumps(data).replace("'", "&#39;")}' style="width:700px;height:320px"></div>
            <script src="{server}/static/vendor/echarts/echarts.min.js"></script>
            <script src="{server}/static/trends.js"></script></body></html>""")
        page.wait_for_function("() => window.echarts && echarts.getInstanceByDom(document.getElementById('c'))")
        series = 0 if attribute == "data-trend-chart" else 2
        hover_point(page, "#c", series, [0, 90.0 if series == 0 else 120])
        tip = tooltip(page, "#c", "学年")
        page.wait_for_timeout(300)  # an onerror handler would have run by now
        assert watch.injected() == []
        assert tip.locator("img").count() == 0 and page.locator("#c img").count() == 0
        assert expected in tip.inner_text()


# ---------------------------------------------------------------- without a browser


def _code(source: str) -> str:
    """`source` with the contents of its string literals blanked (their brackets do not count)."""
    return re.sub(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'', lambda m: m.group(0)[0] * len(m.group(0)), source)


def _close(code: str, start: int, opening: str, closing: str) -> int:
    """The index just after the bracket that closes the one before `start`."""
    depth, i = 1, start
    while depth:
        depth += {opening: 1, closing: -1}.get(code[i], 0)
        i += 1
    return i


def _bodies(source: str, start: str) -> list[tuple[str, str]]:
    """(body, body with string contents blanked) of the functions that follow `start` (e.g.
    "formatter: function")."""
    code = _code(source)
    bodies = []
    for match in re.finditer(re.escape(start) + r"\s*\([^)]*\)\s*\{", code):
        end = _close(code, match.end(), "{", "}")
        bodies.append((source[match.end():end - 1], code[match.end():end - 1]))
    return bodies


def _top_level(body: str, code: str) -> str:
    """`body` without the functions nested in it (their `return` is not the formatter's)."""
    out, i = [], 0
    for match in re.finditer(r"function\s*\([^)]*\)\s*\{", code):
        if match.start() < i:
            continue
        out.append(body[i:match.start()])
        i = _close(code, match.end(), "{", "}")
    return "".join(out) + body[i:]


def _escaped(expression: str) -> bool:
    """`escapeHtml(…)` as a whole, optionally after ECharts' own `p.marker +`."""
    expression = expression.strip().removeprefix("p.marker +").strip()
    if not expression.startswith("escapeHtml("):
        return False
    return _close(_code(expression), len("escapeHtml("), "(", ")") == len(expression)


SCRIPTS = sorted(p for p in STATIC.glob("*.js"))
CHART_SCRIPTS = [p for p in SCRIPTS if "echarts.init(" in p.read_text("utf-8")]  # not app.js, api-docs.js


def test_the_chart_scripts_are_found():
    assert {p.name for p in CHART_SCRIPTS} >= {"charts.js", "trends.js"}


@pytest.mark.parametrize("script", CHART_SCRIPTS, ids=[p.name for p in CHART_SCRIPTS])
def test_every_tooltip_formatter_escapes_what_it_returns(script):
    source = script.read_text("utf-8")
    assert re.search(r"function escapeHtml\(value\) \{\s*return String\(value\)\.replace\(/\[&<>\"']/g", source)
    for entity in ("&amp;", "&lt;", "&gt;", "&quot;", "&#39;"):
        assert entity in source
    formatters = _bodies(source, "formatter: function")
    assert formatters, f"{script.name}: no tooltip formatter found"
    # a tooltip's formatter is written in place (so that it is checked here); canvas label
    # formatters (axis and bar labels, not HTML) are named functions
    code = _code(source)
    for match in re.finditer(r"tooltip:\s*\{", code):
        block = code[match.end():_close(code, match.end(), "{", "}") - 1]
        named = re.findall(r"formatter:\s*(?!function\b)([A-Za-z_$][\w$]*)", _top_level(block, block))
        assert not named, f"{script.name}: a tooltip formatter is not written in place: {named}"
    for body, code in formatters:
        returns = re.findall(r"return ([^;]+);", _top_level(body, code))
        assert returns, body
        for value in returns:
            if value.strip() == "lines.map(escapeHtml).join(\"<br>\")":
                continue
            if value.strip() == "lines.join(\"<br>\")":  # then every line is escaped where it is made
                made = re.findall(r"lines\.push\((.+?)\);\n", body, re.S)
                made += re.findall(r"var lines = \[(.+?)\];", body, re.S)
                assert made and all(_escaped(m) for m in made), body
                continue
            assert _escaped(value), f"{script.name}: a formatter returns unescaped HTML: {value}"


def test_no_script_builds_html_from_data_outside_the_formatters():
    """innerHTML is given only the server's own (escaped) trend fragment."""
    for script in SCRIPTS:
        assignments = re.findall(r"\.innerHTML\s*=\s*([^;]+);", script.read_text("utf-8"))
        assert set(assignments) <= {"html", '""'}, (script.name, assignments)

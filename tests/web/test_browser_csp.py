"""The Content-Security-Policy in a real browser (Debian's Chromium through Playwright): the county
dashboard (ECharts charts, their tooltip), a form page and the API documentation (Swagger UI
from our own files) load without a single CSP violation, and the confirm dialogs that moved from
onsubmit attributes to static/app.js still ask before a deletion: dismissed, nothing is deleted;
accepted, the school is deleted.

The world: web_world's county 990001 (SQLite), served by uvicorn (tests/web/browser.py)."""

from __future__ import annotations

import pytest
from browser import log_in, screen_page, serve
from sqlalchemy import select
from web_world import COUNTY, YEAR

from junheng.store.models import School

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


@pytest.fixture
def site(web_world, chromium):
    with serve(web_world.app()) as url:
        yield url
    web_world.database.engine.dispose()




def hover(page, selector: str, point: list) -> None:
    """The mouse onto `point` (data coordinates) of the first ECharts chart matching `selector`
    (5 px above it: a heat-map cell is larger, a bar chart's point 0 sits on its axis)."""
    box = page.locator(selector).first.bounding_box()
    x, y = page.evaluate("([s, p]) => echarts.getInstanceByDom(document.querySelector(s))"
                         ".convertToPixel({seriesIndex: 0}, p)", [selector, point])
    page.mouse.move(box["x"] + x, box["y"] + y - 5, steps=4)  # just above the axis: inside a CV chart's grid


def violations(page, console: list[str]) -> list[str]:
    return page.evaluate("window.__csp") + [m for m in console if "Content Security Policy" in m]


def test_pages_load_without_csp_violations_and_deletion_still_asks(site, browser, web_world):
    from playwright.sync_api import expect

    with web_world.database.session() as s:
        school = s.scalars(select(School).where(School.code != "Q1").order_by(School.code)).first()
        code, name = school.code, school.name
        submitted = [x.code for x in s.scalars(select(School).where(School.code.not_in(["Q1", code]))
                                               .order_by(School.code))][:2]
    for other in submitted:  # two rows waiting on the review page
        web_world.set_status(other, "submitted")
    with screen_page(browser, "csp-failure") as page:
        page.add_init_script(RECORD_VIOLATIONS)  # runs before the page's own scripts, outside its CSP
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        log_in(page, site, "county")

        # the dashboard: the heat map (charts.js's tooltip) and a CV chart (ECharts' own axis
        # tooltip, whose colour markers and arrow ECharts writes with inline style attributes)
        page.goto(f"{site}/counties/{COUNTY}?year={YEAR}")
        page.wait_for_function("() => window.echarts && echarts.getInstanceByDom(document.getElementById('heatmap'))")
        for selector, text in [("#heatmap", " R1:"), ("[id^=cv-]", "R1")]:
            page.locator(selector).first.scroll_into_view_if_needed()
            hover(page, selector, [0, 0])
            expect(page.locator(f"{selector} > div", has_text=text).first).to_be_visible()
        page.wait_for_load_state("networkidle")  # the trends section fetched and drawn too
        assert violations(page, console) == []

        # a form page
        page.goto(f"{site}/schools/{code}/years/{YEAR}")
        expect(page.locator("#status")).to_be_visible()
        assert violations(page, console) == []

        # the county-year form's "open another year" (data-open-path)
        page.goto(f"{site}/counties/{COUNTY}/years/{YEAR}")
        page.fill("#new-year", "2023")
        with page.expect_navigation():
            page.press("#new-year", "Enter")
        assert page.url == f"{site}/counties/{COUNTY}/years/2023"

        # the review page: "approve the selected" with nothing selected says so; select-all selects
        page.goto(f"{site}/counties/{COUNTY}/review")
        alerts: list[str] = []
        page.once("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
        page.click("button[data-require-checked]")
        assert alerts == ["请先勾选要审核通过的数据"]
        assert page.url == f"{site}/counties/{COUNTY}/review"
        page.check("input[data-select-all]")
        items = page.locator("input[name=items]")
        assert items.count() == 2 and all(items.nth(i).is_checked() for i in range(2))
        assert violations(page, console) == []

        # the confirm dialog (data-confirm, static/app.js): dismissed, the school stays
        asked: list[str] = []

        def dismiss(dialog):
            asked.append(dialog.message)
            dialog.dismiss()

        page.goto(f"{site}/schools/{code}")
        posts: list[str] = []
        page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
        page.once("dialog", dismiss)
        delete = page.locator(f"form[action='/schools/{code}/delete'] button[type=submit]")
        delete.click()
        assert asked == [f"确定删除学校“{name}”吗?删除后不参与评估,可在“已删除的数据”中恢复。"]
        assert page.url == f"{site}/schools/{code}"
        with web_world.database.session() as s:
            assert s.scalar(select(School).where(School.code == code)).deleted_at is None

        # accepted: the school is deleted
        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_navigation():
            delete.click()
        with web_world.database.session() as s:
            assert s.scalar(select(School).where(School.code == code)).deleted_at is not None
        assert posts == [f"{site}/schools/{code}/delete"]  # the dismissed one sent nothing
        assert violations(page, console) == []

        # the API documentation: Swagger UI from /static/vendor, started by api-docs.js
        page.goto(f"{site}/api/v1/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("均衡 junheng API")
        expect(page.locator(".opblock").first).to_be_visible()
        assert violations(page, console) == []

"""What a clerk sees, page by page (issue 12, "Checks that must exist"): in Debian's headless
Chromium, every role (admin, supervisor, county_admin, viewer, school_filler) logs in to the demo
county (every school year: three complete, the current one being filled in; its warnings; one
supervision task made from a warning) and visits every page it can reach from the pages it sees
(header, navigation and page links, same origin, one page per kind of address, bounded), plus the
pages of one school, one task and one warning, at 1366×768. A page fails on

- visible text holding an internal identifier: a snake_case key (layout_reasonable,
  teachers_primary), an English school type (primary, junior, nine_year, teaching_point,
  special, …), a workflow or verdict key (draft, approved, fail, …), a standard's id
  (national-2017, shandong, …) where its name belongs. Text in <code>/<pre>/<kbd>/<samp> (a
  command or a file name to type) and the API documentation (Swagger UI, English by design)
  are not searched;
- any request to another host than the site's own;
- an ECharts chart whose value axis does not reach its limit line (the markLine values against
  `axis.scale.getExtent()`), or a text of a chart (axis name, limit label, axis label) drawn
  partly outside its canvas (the clipped "差异系数" and "0" for "0.50");
- a JavaScript error (pageerror) or a console error (a failed resource: 404 favicon too);
- horizontal scrolling of the page (document scrollWidth > clientWidth);
- an error status (a link that leads to 403/404/500).

A phone pass (390×844) checks the county dashboard and a form page for horizontal scrolling of
the page body (wide tables scroll inside their .table-wrap) and the same chart and script checks.
One browser (tests/web/browser.py) and one world for the whole file.
"""

from __future__ import annotations

import io
import re
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
from browser import log_in, screen_page, serve
from rich.console import Console
from sqlalchemy import select
from web_world import password_hash

from junheng.demo.synthetic import generate_county
from junheng.services import load_demo_into_store, open_database
from junheng.standards.loader import builtin_ids
from junheng.store.models import MonitorWarning, School, User

ROLES = {"admin": "admin", "supervisor": "supervisor", "county_admin": "county", "viewer": "viewer",
         "school_filler": "school"}  # role → the demo's user of that role (services.DEMO_USERS)
MAX_PAGES = 60  # per role: one page per kind of address is about 55 for the admin
PHONE = {"width": 390, "height": 844}
SKIP_SUFFIXES = (".docx", ".pdf", ".xlsx", ".csv", ".json", ".zip", ".png")

# ---------------------------------------------------------------- internal identifiers

SCHOOL_TYPES = ("primary", "junior", "nine_year", "twelve_year", "complete_middle", "teaching_point", "special")
ENUM_WORDS = ("draft", "submitted", "approved", "returned", "pass", "fail", "incomplete", "verified",
              "excellent", "good", "resource_allocation", "government_guarantee")


def _words(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


INTERNAL = re.compile(
    r"(?<![A-Za-z0-9_.\-])("
    r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+"  # snake_case keys
    rf"|{_words(SCHOOL_TYPES + ENUM_WORDS)}"
    rf"|{_words(builtin_ids())}"  # national-2017, shandong, shanxi, hebei
    r")(?![A-Za-z0-9_\-])")

# the visible text of the page, one text node a line, without what the page gives to be typed
# (<code>, <pre>, <kbd>, <samp>) and without scripts; a closed <details> counts (one click opens it)
VISIBLE_TEXT = """() => {
  const skip = "SCRIPT,STYLE,NOSCRIPT,TEMPLATE,CODE,PRE,KBD,SAMP".split(",");
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, { acceptNode: (node) => {
    for (let el = node.parentElement; el; el = el.parentElement) {
      if (skip.includes(el.tagName) || el.hidden) { return NodeFilter.FILTER_REJECT; }
    }
    return node.textContent.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
  } });
  const out = [];
  while (walker.nextNode()) { out.push(walker.currentNode.textContent.trim()); }
  for (const el of document.querySelectorAll("[title], [placeholder], [aria-label], img[alt]")) {
    for (const a of ["title", "placeholder", "aria-label", "alt"]) { if (el.getAttribute(a)) { out.push(el.getAttribute(a)); } }
  }
  return out;
}"""


def internal_identifiers(texts: list[str]) -> list[str]:
    found = []
    for text in texts:
        for match in INTERNAL.finditer(text):
            start = max(0, match.start() - 25)
            found.append(f"“{match.group(1)}” in “{text[start:match.end() + 25]}”")
    return found


def test_the_identifier_check_finds_what_the_issue_saw_and_passes_plain_text():
    seen = ["G1:学校规划布局合理(county_year.layout_reasonable)", "没有分年级人数(grade_enrolment)",
            "nine_year", "类型 primary", "标准 national-2017", "primary ≤ 2000;junior ≤ 2000", "excellent/good",
            "专任教师(teachers_primary)", "状态 draft"]
    assert [len(internal_identifiers([t])) for t in seen] == [1, 1, 1, 1, 1, 2, 2, 1, 1]
    plain = ["示范县(合成数据)140599", "2025—2026 学年", "R1 每百名学生拥有高于规定学历教师数", "上限 0.50",
             "admin", "school", "JSON 数据", "A-P1", "Word", "PDF", "Excel",
             "示范县城区第一小学(小学)", "junheng.toml", "HiGHS", "A-J1"]
    assert internal_identifiers(plain) == []


# ---------------------------------------------------------------- what every page is checked for

# every ECharts instance: each markLine value against the extent of its axis, and every text the
# chart draws inside its canvas (1 px of slack)
CHARTS = """() => {
  const problems = [], charts = [];
  for (const el of document.querySelectorAll("[_echarts_instance_]")) {
    const chart = echarts.getInstanceByDom(el);
    if (!chart) { continue; }
    const name = "#" + (el.id || "?"), option = chart.getOption(), model = chart.getModel();
    charts.push(name);
    (option.series || []).forEach((s, i) => {
      const lines = (s.markLine && s.markLine.data) || [];
      for (const line of lines) {
        for (const dim of ["yAxis", "xAxis"]) {
          if (line[dim] === undefined || line[dim] === null) { continue; }
          const axis = model.getComponent(dim, s[dim + "Index"] || 0);
          if (!axis || axis.axis.type !== "value") { continue; }
          const [lo, hi] = axis.axis.scale.getExtent(), v = Number(line[dim]);
          if (v < lo || v > hi) {
            problems.push(name + ": the limit line at " + v + " lies outside the " + dim + " extent [" + lo + ", " + hi + "]");
          }
        }
      }
    });
    const w = chart.getWidth(), h = chart.getHeight();
    for (const item of chart.getZr().storage.getDisplayList(true)) {
      if (item.type !== "tspan" && item.type !== "text") { continue; }
      const text = item.style && item.style.text;
      // a scrolling legend clips its items on purpose (and pages through them)
      if (!text || item.invisible || item.ignore || (item.__clipPaths && item.__clipPaths.length)) { continue; }
      const r = item.getBoundingRect().clone();
      if (item.transform) { r.applyTransform(item.transform); }
      if (r.x < -1 || r.y < -1 || r.x + r.width > w + 1 || r.y + r.height > h + 1) {
        problems.push(name + ": the text “" + text + "” is cut by the chart's edge (" +
          [r.x, r.y, r.x + r.width, r.y + r.height].map(Math.round).join(", ") + " in " + w + "×" + h + ")");
      }
    }
  }
  return { problems: problems, charts: charts };
}"""

ALL_CHARTS_DRAWN = """() => Array.from(document.querySelectorAll(
  "[id^=cv-], #heatmap, [data-trend-chart], [data-forecast-chart], [data-quality-chart], [data-trends-src][aria-busy=true]"))
  .every((el) => !el.hasAttribute("data-trends-src") && window.echarts && echarts.getInstanceByDom(el))"""

SCROLL = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


@dataclass
class Visit:
    """What one browser context did, from its first page on."""

    base: str
    errors: list[str] = field(default_factory=list)  # JavaScript and console errors of the current page
    foreign: list[str] = field(default_factory=list)  # requests to other hosts

    def watch(self, context, page) -> None:
        host = urlsplit(self.base).netloc
        context.on("request", lambda r: self.foreign.append(f"{page.url} → {r.url}")
                   if urlsplit(r.url).scheme in ("http", "https", "ws", "wss") and urlsplit(r.url).netloc != host
                   else None)
        page.on("pageerror", lambda e: self.errors.append(f"JavaScript error: {e}"))
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}")
                if m.type == "error" else None)


def check_page(page, visit: Visit, url: str, *, identifiers: bool = True) -> list[str]:
    """Open `url` and return what is wrong with it (each problem prefixed with its path)."""
    visit.errors.clear()
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    problems = [] if response is not None and response.status < 400 else [
        f"status {response.status if response else '?'}"]
    return inspect(page, visit, url, problems, identifiers=identifiers)


def inspect(page, visit: Visit, url: str, problems: list[str], *, identifiers: bool = True) -> list[str]:
    """`problems` and what else is wrong with the page now shown."""
    try:
        page.wait_for_function(ALL_CHARTS_DRAWN, timeout=20_000)
    except Exception:  # noqa: BLE001 - reported as the page's problem
        problems.append("a chart or the trends section was not drawn within 20 s")
    if page.evaluate("() => !!window.echarts"):
        problems += page.evaluate(CHARTS)["problems"]
    scroll, client = page.evaluate(SCROLL)
    if scroll > client:
        problems.append(f"scrolls sideways: the page is {scroll} px wide in a {client} px window")
    if identifiers and not urlsplit(url).path.startswith("/api/"):
        problems += [f"internal identifier {x}" for x in internal_identifiers(page.evaluate(VISIBLE_TEXT))]
    problems += visit.errors
    path = urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "")
    return [f"{path}: {p}" for p in problems]


# ---------------------------------------------------------------- which pages


def shape(url: str) -> tuple:
    """One page per kind of address: path segments with a digit (codes, ids, years) are one
    kind, and so are query strings with the same keys."""
    parts = urlsplit(url)
    segments = tuple("*" if re.search(r"\d", s) else s for s in parts.path.split("/"))
    return segments, tuple(sorted({k for k, _ in parse_qsl(parts.query)}))


def followable(base: str, here: str, href: str) -> str | None:
    """The address `href` on the page at `here` leads to, when it is a page of the site at `base`."""
    url = urljoin(here, href).split("#")[0]
    parts = urlsplit(url)
    if parts.netloc != urlsplit(base).netloc or parts.scheme not in ("http", "https"):
        return None
    if parts.path.endswith(SKIP_SUFFIXES) or "format=json" in parts.query or "/attachments/" in parts.path:
        return None
    if parts.path in ("/logout", "/login"):
        return None
    return url


def crawl(page, visit: Visit, start: list[str]) -> tuple[list[str], list[str]]:
    """Visit `start`, then every page linked from a visited one (breadth first, one page per
    shape, at most MAX_PAGES). Returns (pages visited, problems)."""
    queue, seen, visited, problems = deque(), set(), [], []
    for url in start:
        if shape(url) not in seen:
            seen.add(shape(url))
            queue.append((url, None))
    while queue and len(visited) < MAX_PAGES:
        url, source = queue.popleft()
        found = check_page(page, visit, url)
        problems += [f"{p} (linked from {urlsplit(source).path})" if source else p for p in found]
        visited.append(url)
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            target = followable(visit.base, page.url, href)
            if target is not None and shape(target) not in seen:
                seen.add(shape(target))
                queue.append((target, page.url))
    return visited, problems


# ---------------------------------------------------------------- the world


@pytest.fixture(scope="module")
def site(tmp_path_factory, chromium, frozen_clock):
    """The demo county as `make demo` stores it on the frozen today (tests/conftest.py), its
    users logging in with PASSWORD, one supervision task made from a warning about a school."""
    from junheng.monitor.tasks import create_task_from_warning
    from junheng.web.app import create_app

    root = tmp_path_factory.mktemp("crawl-workspace")
    load_demo_into_store(root, generate_county(2024, today=frozen_clock), Console(file=io.StringIO()),
                         today=frozen_clock)
    database, settings = open_database(root)
    with database.session() as s:
        for user in s.scalars(select(User)):
            user.password_hash = password_hash()
        warning = s.scalars(select(MonitorWarning).where(MonitorWarning.resolved_at.is_(None),
                                                         MonitorWarning.school_id.is_not(None))
                            .order_by(MonitorWarning.id)).first()
        assert warning is not None, "the demo raises warnings about schools"
        task = create_task_from_warning(s, warning.id, via="cli")
        school = s.get(School, warning.school_id)
        county, school_code, task_id = school.county.code, school.code, task.id
        filler_school = s.scalar(select(School).where(School.county_id == school.county_id).order_by(School.code)).code
    with serve(create_app(settings, database)) as url:
        yield {"url": url, "county": county, "school": school_code, "task": task_id, "filler_school": filler_school,
               "year": frozen_clock.year - 1}  # the latest complete school year (2025) on 2026-12-01
    database.engine.dispose()




def seeds(site: dict, role: str, landing: str) -> list[str]:
    """The landing page, and the pages of one school, one task and one warning the role may read."""
    base, county = site["url"], site["county"]
    if role == "school_filler":
        school = site["filler_school"]
        return [landing, f"{base}/schools/{school}", f"{base}/schools/{school}/years/{site['year']}"]
    school = site["school"]
    return [landing, f"{base}/counties/{county}", f"{base}/schools/{school}", f"{base}/schools/{school}/trends",
            f"{base}/schools/{school}/years/{site['year']}", f"{base}/tasks/{site['task']}",
            f"{base}/counties/{county}/warnings?status=open", f"{base}/counties/{county}/forecast"]


# the dashboard's CV chart as it was before issue 12: its axis stops at 0.4, under the 0.5 limit,
# and the axis name ("差异系数") and the label of a line it does draw ("0.3") are cut by the canvas
BROKEN_PAGE = """<!doctype html><html lang="zh-CN"><body>
<p>类型 nine_year · 标准 national-2017 <code>rules_dir</code></p>
<div id="cv-old"></div><div class="wide"></div>
<img src="http://example.invalid/logo.png" alt="">
<script src="/static/vendor/echarts/echarts.min.js"></script>
<script>
document.getElementById("cv-old").setAttribute("style", "width:600px;height:320px");
document.querySelector(".wide").setAttribute("style", "width:2000px;height:10px");
var chart = echarts.init(document.getElementById("cv-old"));
chart.setOption({ animation: false, grid: { left: 40, right: 10, top: 20, bottom: 30 },
  xAxis: { type: "category", data: ["R1", "R2"] }, yAxis: { type: "value", name: "差异系数" },
  series: [{ type: "bar", data: [0.36, 0.27], markLine: { symbol: "none", data: [{ yAxis: 0.5 }, { yAxis: 0.3 }] } }] });
console.error("控制台错误");
setTimeout(function () { throw new Error("脚本错误"); }, 0);
</script></body></html>"""


def test_the_page_checks_find_each_kind_of_defect(site, browser):
    """The checks themselves: a page with every defect they look for is refused for each."""
    base = site["url"]
    with screen_page(browser, "crawl-checks-failure") as page:
        visit = Visit(base)
        visit.watch(page.context, page)
        page.route(f"{base}/broken",
                   lambda route: route.fulfill(body=BROKEN_PAGE, content_type="text/html; charset=utf-8"))
        problems = check_page(page, visit, f"{base}/broken")
        foreign = visit.foreign
    text = "\n".join(problems)
    assert "internal identifier “nine_year”" in text and "internal identifier “national-2017”" in text
    assert "rules_dir" not in text  # a <code> element is given to be typed
    assert "#cv-old: the limit line at 0.5 lies outside the yAxis extent [0, 0.4]" in text
    assert "#cv-old: the text “差异系数” is cut by the chart's edge" in text
    assert "#cv-old: the text “0.3” is cut by the chart's edge" in text  # the label of a line at 0.3
    assert "scrolls sideways" in text
    assert "console error: 控制台错误" in text and re.search(r"JavaScript error: .*脚本错误", text)
    assert [r.split(" → ")[1] for r in foreign] == ["http://example.invalid/logo.png"]


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_a_role_reaches_reads_well(site, browser, role):
    base = site["url"]
    with screen_page(browser, f"crawl-{role}-failure") as page:
        visit = Visit(base)
        visit.watch(page.context, page)
        problems = check_page(page, visit, f"{base}/login") if role == "admin" else []
        log_in(page, base, ROLES[role])
        visited, found = crawl(page, visit, seeds(site, role, page.url))
        problems += found + [f"request to another host: {r}" for r in visit.foreign]
    assert len(visited) >= (3 if role == "school_filler" else 15), visited  # the crawl did reach the site
    assert not problems, f"{role}: {len(problems)} problems on {len(visited)} pages:\n" + "\n".join(problems)


def test_the_dashboard_and_a_form_fit_a_phone(site, browser):
    base, county, school = site["url"], site["county"], site["school"]
    with screen_page(browser, "crawl-phone-failure") as page:
        page.set_viewport_size(PHONE)
        visit = Visit(base)
        visit.watch(page.context, page)
        log_in(page, base, "county")
        problems = []
        for url in (f"{base}/counties/{county}", f"{base}/schools/{school}/years/{site['year']}"):
            problems += check_page(page, visit, url, identifiers=False)
        problems += [f"request to another host: {r}" for r in visit.foreign]
    assert not problems, "\n".join(problems)


def test_the_dashboard_charts_name_their_indicators_and_schools(site, browser):
    """Bars are named on hover and in the legend below them (not R1–R7 alone); a school whose
    heat-map label is cut shows its full name on hover (issue 12, "Charts")."""
    from playwright.sync_api import expect

    base, county = site["url"], site["county"]
    with screen_page(browser, "crawl-chart-names-failure") as page:
        page.set_viewport_size(PHONE)  # narrow: the heat map's labels are cut
        log_in(page, base, "viewer")
        page.goto(f"{base}/counties/{county}")
        page.wait_for_function(ALL_CHARTS_DRAWN)
        legend = page.locator("#indicator-legend > div")
        expect(legend).to_have_count(7)
        expect(legend.first).to_have_text("R1每百名学生拥有高于规定学历教师数")
        chart = page.locator("[id^=cv-]").first
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        x, y = page.evaluate("(el) => echarts.getInstanceByDom(el).convertToPixel({seriesIndex: 0}, [0, 0])",
                             chart.element_handle())
        page.mouse.move(box["x"] + x, box["y"] + y - 5, steps=4)
        expect(chart.locator("> div", has_text="每百名学生拥有高于规定学历教师数").first).to_be_visible()

        heatmap = page.locator("#heatmap")
        heatmap.evaluate("(el) => el.scrollIntoView()")
        full, shown, left = page.evaluate("""(el) => { const c = echarts.getInstanceByDom(el);
            const label = c.getZr().storage.getDisplayList(true).find((t) => t.type === "tspan" && t.style.text.includes("…"));
            const r = label.getBoundingRect().clone(); if (label.transform) { r.applyTransform(label.transform); }
            const i = c.getOption().yAxis[0].data.findIndex((n) => n !== label.style.text && n.endsWith(label.style.text.split("…")[1]) &&
                                                             n.startsWith(label.style.text.split("…")[0]));
            return [c.getOption().yAxis[0].data[i], label.style.text, [r.x + r.width / 2, r.y + r.height / 2]]; }""",
                                         heatmap.element_handle())
        assert shown.endswith(")") and "…(" in shown  # cut in the name, the segment kept
        box = heatmap.bounding_box()
        page.mouse.move(box["x"] + left[0], box["y"] + left[1], steps=4)
        expect(heatmap.locator("> div", has_text=full).last).to_be_visible()

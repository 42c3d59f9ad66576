"""No internal code on any page (issue 12): every role logs in with the TestClient, visits every
page reachable from its navigation (links followed from its home page, within the site) and the
pages of one school, one school-year form, the county-year form, the upload page, the audit
page, the standard page, the forecast, trends, warnings and tasks (one task too), and the test
fails when a page's *visible text* (tags, scripts, styles and attribute values stripped; keys
may stay in JSON and data attributes) contains an internal identifier:

- a snake_case token of two or more parts (`teachers_primary`, `county_year.layout_reasonable`);
- an enum key of the data format catalogue (`primary`, `nine_year`, `teaching_point`, `excellent`,
  `urban`, `public` ...) where its Chinese label belongs;
- a standard's id (`national-2017`, `shandong` ...) where its name belongs;
- a field key or table name of the catalogue (`grade_enrolment`, `school_year`, `locale` ...).

The world (tests/web/web_world.py pieces): county 990001 with one school of each type the
catalogue knows (the English school types would show in the school list), two approved years
(trends), the latest with one failing school and one county-year value left empty (the
missing-data box), a task and the warnings of a real watch run; a second county 990002."""

from __future__ import annotations

import io
import re
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import builders
import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select
from web_world import COUNTY, OTHER_COUNTY, PASSWORD, WebWorld, login, role_users, seed_store, web_settings

from junheng.data.catalog import catalog
from junheng.data.dataset import Dataset
from junheng.monitor.config import MonitorSettings
from junheng.monitor.service import run_watch
from junheng.monitor.tasks import create_task
from junheng.standards.loader import available_ids
from junheng.store.db import Database
from junheng.store.models import MonitorWarning, OrgNode
from junheng.web.routes.editing import ENTITY_LABELS

YEAR, EARLIER = builders.YEAR, builders.YEAR - 1
SCHOOLS = [("P1", "primary"), ("P2", "primary"), ("J1", "junior"), ("N1", "nine_year"), ("T1", "teaching_point"),
           ("S1", "special"), ("W1", "twelve_year"), ("C1", "complete_middle")]
USERS = role_users(admin=None, supervisor=COUNTY, county=COUNTY, viewer=COUNTY, school="P1")

# What users type is theirs to spell: usernames are chosen by the administrator who creates the
# account (the world's users are named after their role; none has an underscore today, but an
# account such as "zhang_san" is legitimate and shows in the header, the user list and the audit
# log). Nothing else is allowed: every other identifier on a page comes from the code.
TYPED_BY_USERS = frozenset(USERS)

# links that are downloads or actions, not pages
NOT_PAGES = re.compile(r"(\.(xlsx|csv|json|pdf|docx|html|zip)(\?|$))|[?&]format=|^/logout|^/static/|^/api/"
                       r"|/attachments/")
SNAKE = re.compile(r"(?<![A-Za-z0-9_.-])[a-z][a-z0-9]*(?:\.[a-z][a-z0-9]*)*_[a-z0-9_.]*[a-z0-9]")
BRACKETED = re.compile(r"[(（]([a-z][a-z0-9_.-]*)[)）]")  # 字段(created): a key in brackets after its label
WORD = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9](?![A-Za-z0-9_-])")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_PAGES = 400  # per role: the crawl stops (and fails) before wandering without end


def enum_keys() -> set[str]:
    keys = set(catalog().school_types) | set(catalog().segments)
    for table in catalog().tables.values():
        for spec in table.fields:
            keys |= set(spec.values or ())
    return keys


def field_keys() -> set[str]:
    keys = set(catalog().tables)
    for table in catalog().tables.values():
        keys |= set(table.keys)
    return keys


def forbidden_words() -> dict[str, str]:
    """Whole words that are internal codes, with what each is."""
    out = {key: "数据格式的字段键或表名" for key in field_keys()}
    out |= {key: "枚举取值的键(应显示中文名称)" for key in enum_keys()}
    out |= {std: "标准标识(应显示标准名称)" for std in available_ids()}
    out |= {entity: "修改记录的对象类型键" for entity in ENTITY_LABELS}
    return out


class VisibleText(HTMLParser):
    """The text a reader sees: character data outside <script>, <style> and <template>;
    attribute values (data-*, value, href, class ...) are not text."""

    HIDDEN = {"script", "style", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)

    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.parts))


def read_page(html: str) -> tuple[str, list[str]]:
    parser = VisibleText()
    parser.feed(html)
    parser.close()
    return parser.text(), parser.links


# A file of the workspace named so that an administrator can find it on the server
# (costs/990001.yaml, junheng.toml): a path, not a code standing where a word belongs.
FILE_PATH = re.compile(r"(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*\.(?:yaml|yml|toml|xlsx|csv|db)\b")


def internal_codes(text: str, allowed: frozenset[str] = TYPED_BY_USERS) -> list[str]:
    """The internal identifiers in a page's visible text (each once, with what it is and where)."""
    words = forbidden_words()
    text = FILE_PATH.sub(" ", text)
    found: dict[str, str] = {}
    for match in SNAKE.finditer(text):
        token = match.group(0)
        if token not in allowed and token not in found:
            what = words.get(token, "内部标识")
            found[token] = f"{token}({what})…{context(text, match)}…"
    for match in WORD.finditer(text):
        token = match.group(0)
        if token in words and token not in allowed and token not in found:
            found[token] = f"{token}({words[token]})…{context(text, match)}…"
    for match in BRACKETED.finditer(text):
        token = match.group(1)
        if token not in allowed and token not in found:
            found[token] = f"{token}(括号中的内部键)…{context(text, match)}…"
    return list(found.values())


def context(text: str, match: re.Match) -> str:
    return text[max(0, match.start() - 25):match.end() + 25]


# ---------------------------------------------------------------- the detector itself


@pytest.mark.parametrize("text", [
    "G1: 学校规划布局合理(county_year.layout_reasonable)", "没有分年级人数(grade_enrolment)",
    "小学专任教师数(teachers_primary)", "表(school_year)", "测试学校 nine_year 镇区", "学校类型 primary",
    "标准 national-2017", "适用标准:shandong", "德育评价 excellent/good", "primary ≤ 2000;junior ≤ 2000",
    "字段 created(created)", "对象 task 1", "审核状态（status）",
])
def test_the_detector_finds_internal_codes(text):
    assert internal_codes(text), text


@pytest.mark.parametrize("text", [
    "国家标准(2017)", "九年一贯制学校", "R1 生均教学及辅助用房面积", "下载 XLSX、PDF", "2024—2025 学年",
    "用户 county 已登录",  # a username as the user typed it (allowed)
    "单价表文件 costs/990001.yaml", "设置见 junheng.toml",  # files of the workspace, by their path
])
def test_the_detector_passes_plain_chinese(text):
    assert not internal_codes(text), internal_codes(text)


def test_visible_text_leaves_out_scripts_and_attributes():
    html = ('<p data-key="teachers_primary" title="x">教师</p><script>var nine_year = 1;</script>'
            '<style>.a_b{}</style><a href="/schools/P1?x=school_year">学校</a>')
    text, links = read_page(html)
    assert text.split() == ["教师", "学校"]
    assert links == ["/schools/P1?x=school_year"]


# ---------------------------------------------------------------- the world


def codes_dataset() -> Dataset:
    schools = [builders.school(code, kind, **({"parent_school_id": "P1"} if kind == "teaching_point" else {}))
               for code, kind in SCHOOLS]
    schools.append(builders.school("Q1", "primary", county_code=OTHER_COUNTY, county_name="另一县"))
    years = []
    for year in (EARLIER, YEAR):
        for school in schools:
            overrides = {}
            if year == YEAR and school["school_id"] == "P2":
                overrides = {"sports_area": 2000.0, "music_rooms": 0}  # fails R3 and the music rooms
            years.append(builders.school_year(school["school_id"], school["school_type"], year=year, **overrides))
    county_years = []
    for year in (EARLIER, YEAR):
        for code in (COUNTY, OTHER_COUNTY):
            row = {**builders.county_year(year), "county_code": code}
            if year == YEAR and code == COUNTY:
                row["layout_reasonable"] = None  # the missing-data box: G1 without its value
            county_years.append(row)
    quality = [{**q, "county_code": code} for year in (EARLIER, YEAR) for code in (COUNTY, OTHER_COUNTY)
               for q in builders.quality(year)]
    counties = [{"county_code": COUNTY, "county_name": "测试县", "city": "测试市", "province": "测试省",
                 "standard": "national-2017", "target_year": 2027},
                {"county_code": OTHER_COUNTY, "county_name": "另一县", "city": "测试市", "province": "测试省",
                 "standard": "shandong", "target_year": 2027}]
    return Dataset.from_frames(source="tests", schools=pd.DataFrame(schools), school_year=pd.DataFrame(years),
                               county_year=pd.DataFrame(county_years), quality=pd.DataFrame(quality),
                               counties=pd.DataFrame(counties))


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[WebWorld, dict]:
    folder = tmp_path_factory.mktemp("no-internal-codes")
    database = Database(f"sqlite:///{folder / 'junheng.db'}")
    database.migrate()
    seed_store(database, codes_dataset(), USERS)
    run_watch(database, MonitorSettings(), notify=False)  # the warnings a real watch raises
    with database.session() as s:
        county = s.scalar(select(OrgNode).where(OrgNode.code == COUNTY))
        task = create_task(s, COUNTY, title="整改 P2 专任教师不足", user=None, via="cli")
        warnings = s.scalars(select(MonitorWarning).where(MonitorWarning.county_id == county.id)).all()
        ids = {"task": task.id, "warnings": len(warnings)}
    world = WebWorld(database, web_settings(database, folder / "uploads"))
    _quality_analysis(world, folder)
    county = login(world.app(), "county", PASSWORD)
    ids["uploads"] = [upload(county, {("P2", "教师培训经费"): 70000}),  # a valid one: its preview of changes
                      upload(county, {("P1", "小学在校生数"): "一千", ("J1", "学校类型"): "大学"})]  # its problems
    yield world, ids
    database.engine.dispose()


def _quality_analysis(world: WebWorld, folder: Path) -> None:
    """Student scores of P1, J1 and N1 imported (the quality pages show an analysis); the
    county-year opened for it and approved again."""
    from junheng.quality.service import import_scores
    from junheng.store import repo
    from junheng.store.models import CountyYear

    scores, cuts = folder / "成绩.csv", folder / "分数线.csv"
    rows = [f"{COUNTY},{school},{YEAR},8,数学,{school}-{i},{score}" for school, base in (("P1", 40), ("J1", 60),
            ("N1", 75)) for i, score in enumerate((base, base + 10, base + 20))]
    scores.write_text("county_code,school_id,year,grade,subject,student_key,score\n" + "\n".join(rows) + "\n", "utf-8")
    cuts.write_text("subject,grade,level_2,level_3,level_4\n数学,8,60,75,90\n", "utf-8")
    with world.database.session() as s:
        county = repo.county_by_code(s, COUNTY)
        row = s.scalar(select(CountyYear).where(CountyYear.county_id == county.id, CountyYear.year == YEAR))
        row.status = "draft"
        s.flush()
        import_scores(s, world.settings, scores, cuts, user=None, via="cli", only_county=county)
        row.status = "approved"


def upload(client, cells: dict[tuple[str, str], object]) -> str:
    """Upload the county's current data (the page's own download) with `cells` changed (school,
    column label → value, in the sheet that has the column); the preview's address."""
    response = client.get(f"/counties/{COUNTY}/current-data.xlsx")
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    for (school, label), value in cells.items():
        sheet = next(ws for ws in book.worksheets if label in [c.value for c in ws[1]])
        column = [c.value for c in sheet[1]].index(label)
        rows = [r for r in sheet.iter_rows(min_row=2) if r[0].value == school]
        assert rows, (school, label)
        rows[-1][column].value = value  # the latest year's row
    buffer = io.BytesIO()
    book.save(buffer)
    response = client.post(f"/counties/{COUNTY}/upload", files={"file": ("数据.xlsx", buffer.getvalue(), XLSX)})
    assert response.status_code == 303, response.text
    return response.headers["location"]


def named_pages(ids: dict) -> list[str]:
    """Pages the crawl must reach, whether or not a link leads there for every role."""
    return [f"/overview", f"/counties/{COUNTY}", f"/schools/P1", f"/schools/P1/years/{YEAR}",
            f"/counties/{COUNTY}/years/{YEAR}", f"/counties/{COUNTY}/upload", f"/counties/{COUNTY}/audit",
            "/standards/national-2017", "/standards/shandong", f"/counties/{COUNTY}/forecast",
            f"/counties/{COUNTY}/trends", f"/schools/P1/trends", f"/counties/{COUNTY}/warnings",
            f"/counties/{COUNTY}/tasks", f"/tasks/{ids['task']}", f"/counties/{COUNTY}/review",
            f"/counties/{COUNTY}/quality", f"/schools/P1/quality", f"/schools/J1/quality", *ids["uploads"]]


def crawl(client, start: list[str]) -> dict[str, str]:
    """url → visible text of every page reachable from `start` by links within the site."""
    seen: dict[str, str] = {}
    queue = deque(start)
    visited = set()
    while queue:
        url = urldefrag(queue.popleft())[0]
        if url in visited:
            continue
        visited.add(url)
        assert len(visited) <= MAX_PAGES, f"more than {MAX_PAGES} pages: the crawl is wandering ({url})"
        response = client.get(url, follow_redirects=True)
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        assert response.status_code < 500, f"{url}: {response.status_code}"
        text, links = read_page(response.text)
        seen[url] = text  # a refusal (403, 404) is a page too: its text is checked, its links not followed
        if response.status_code >= 400:
            continue
        for href in links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            if NOT_PAGES.search(href):
                continue
            queue.append(href)
    return seen


@pytest.mark.parametrize("username", list(USERS))
def test_no_page_shows_an_internal_code(world, username):
    web, ids = world
    assert ids["warnings"], "the world raises no warning: the warnings page would show none"
    client = login(web.app(), username, PASSWORD)
    pages = crawl(client, ["/", *named_pages(ids)])
    problems = {url: codes for url, text in pages.items() if (codes := internal_codes(text))}
    assert not problems, "\n".join(f"{url}:\n  " + "\n  ".join(codes) for url, codes in problems.items())

"""Issue 12, what a county clerk sees on the web pages: numbers with thousands separators, one
reader of Chinese amounts (8.86万) for every 元 field, no data for a school year that has not
begun, refusal and not-found pages that keep the navigation and say who is logged in and what
the page needs, the review page's values, changes and notes, and the small cuts (header, stray
marks, narrow year fields). The clock is frozen at 2026-12-01 (tests/conftest.py): the school
year under way is 2026—2027, the last one open 2027—2028."""

from __future__ import annotations

import re
from pathlib import Path

import builders
import pytest
from builders import plain
from sqlalchemy import select
from web_world import COUNTY, OTHER_COUNTY, YEAR

from junheng.amounts import parse_amount
from junheng.engine.wording import num
from junheng.monitor.detect import _shortfall
from junheng.monitor.observe import Observation
from junheng.monitor.series import year_on_year
from junheng.planner.service import parse_budget
from junheng.store import repo
from junheng.store.models import School, SchoolYear, User
from junheng.web.routes.warnings import numbers_text

NOT_OPEN = "2030—2031 学年尚未开始:只能填报到 2027—2028 学年"
WEB = Path(__file__).parents[2] / "src" / "junheng" / "web"


def header(html: str) -> str:
    return plain(re.sub(r"<[^>]+>", " ", html.split("<header>", 1)[1].split("</header>", 1)[0]))


def main_text(html: str) -> str:
    return plain(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.split("<main>", 1)[1].split("</main>", 1)[0])))


# ---------------------------------------------------------------- numbers


def test_num_separates_thousands_of_money_and_counts():
    assert num(7181900, "元") == "7,181,900 元"
    assert num(1250, "人") == "1,250 人"
    assert num(88600.5, "元") == "88,600.50 元"
    assert num(-12345.678, digits=3) == "-12,345.678"
    assert num(999, "间") == "999 间" and num(4.5, "m²") == "4.50 m²" and num(None) == "—"


def test_one_reader_of_chinese_amounts():
    assert parse_amount("8.86万") == 88600.0  # exactly, not 88599.99999999999
    assert parse_amount("8.86万元") == parse_amount("88,600") == parse_amount("88600 元") == 88600.0
    assert parse_amount("1.2亿") == 120_000_000.0
    assert parse_amount("630万", unit="万元") == 630.0 and parse_amount("6300000元", unit="万元") == 630.0
    for bad in ("八万", "8.86千", "1,2", "12,34", "", "万"):
        assert parse_amount(bad) is None, bad
    # the budget reads the same amounts
    assert parse_budget("300万,400万,500万") == [3_000_000.0, 4_000_000.0, 5_000_000.0]
    assert parse_budget("7,181,900 元") == [7_181_900.0]


def test_a_yuan_field_takes_wan_in_the_form(web_world):
    school = web_world.login("school")
    web_world.set_status("P1", "draft")
    form = f"/schools/P1/years/{YEAR}"
    version = str(web_world.school_year("P1").version)
    saved = school.post(form, {"version": version, "action": "save", "public_funds": "8.86万",
                               "equipment_value": "7,181,900"})
    assert saved.status_code == 303, main_text(saved.text)
    row = web_world.school_year("P1")
    assert row.values["public_funds"] == 88600.0 and row.values["equipment_value"] == 7_181_900.0
    # a word that is no amount is refused, saying what is expected, and nothing is saved
    refused = school.post(form, {"version": str(row.version), "action": "save", "public_funds": "八万"})
    assert refused.status_code == 400
    assert "也可写 8.86万" in plain(refused.text)
    assert web_world.school_year("P1").values["public_funds"] == 88600.0


def test_a_yuan_field_takes_wan_through_the_api(web_world):
    client = web_world.login("county")
    web_world.set_status("P1", "draft")
    version = web_world.school_year("P1").version
    answer = client.client.put(f"/api/v1/schools/P1/years/{YEAR}", headers={"X-CSRF-Token": client.csrf},
                               json={"version": version, "values": {"training_funds": "8.86万"}})
    assert answer.status_code == 200, answer.text
    assert web_world.school_year("P1").values["training_funds"] == 88600.0


def test_a_change_that_rounds_to_zero_is_no_decline():
    base = {"county_code": COUNTY, "indicator": "R1", "level": "cv", "school_id": None, "segment": "primary",
            "check": None, "op": "<=", "met": True, "ident": "R1/cv/-/primary/-"}
    rows = [{**base, "year": 2023, "value": 0.3000}, {**base, "year": 2024, "value": 0.3003},
            {**base, "year": 2025, "value": 0.3013}]
    changes = {r["year"]: r for r in year_on_year(rows)}
    assert changes[2024]["direction"] == "same" and changes[2024]["direction_label"] == "持平"
    assert changes[2025]["direction"] == "worse"  # +0.001 shows, and is worse for a coefficient


def test_a_gap_without_a_threshold_is_no_percentage():
    # a school with 3 music rooms of 4: the finding names the missing room, no share of anything
    room = Observation(indicator="G7", level="school", label="音乐专用教室", value=1.0, threshold=None, op=None,
                       met=False, unit="间", school_id="P1", school_name="测试学校P1")
    assert room.shortfall() == 1.0  # ranks it among the breaches
    assert _shortfall(room) == {}
    assert numbers_text({"level": "school", "value": 1.0, "unit": "间", "op": None}) == ["差距 1 间"]
    measured = Observation(indicator="R5", level="unit", label="生均体育运动场馆面积", value=6.0, threshold=8.0,
                           op=">=", met=False, unit="m²")
    assert _shortfall(measured) == {"shortfall": 0.25}


# ---------------------------------------------------------------- the year rule


def test_years_not_begun_are_refused_on_the_form(web_world):
    school = web_world.login("school")
    ahead = school.get("/schools/P1/years/new?year=2030", follow_redirects=False)
    assert ahead.status_code == 400 and NOT_OPEN in main_text(ahead.text)
    assert school.get("/schools/P1/years/2030").status_code == 400
    audit = web_world.audit_count()
    saved = school.post("/schools/P1/years/2030", {"version": "0", "action": "save", "students_primary": "900"})
    assert saved.status_code == 400 and NOT_OPEN in main_text(saved.text)
    assert web_world.school_year("P1", 2030) is None and web_world.audit_count() == audit
    # next school year (2027—2028) is open: its plans are made before it starts
    assert school.get("/schools/P1/years/new?year=2027", follow_redirects=False).status_code == 303
    assert school.post("/schools/P1/years/2027", {"version": "0", "action": "save",
                                                   "students_primary": "900"}).status_code == 303
    county = web_world.login("county")
    assert county.get(f"/counties/{COUNTY}/years/2028").status_code == 400
    refused = county.post(f"/counties/{COUNTY}/years/2028", {"version": "0", "action": "save",
                                                            "informatization": "是"})
    assert refused.status_code == 400 and "2028—2029 学年尚未开始" in main_text(refused.text)
    assert web_world.county_year(COUNTY, 2028) is None


def test_years_not_begun_are_refused_by_the_api(web_world):
    client = web_world.login("county")
    answer = client.client.put("/api/v1/schools/P1/years/2030", headers={"X-CSRF-Token": client.csrf},
                               json={"values": {"students_primary": 900}})
    assert answer.status_code == 422
    body = answer.json()
    assert body["detail"] == NOT_OPEN and body["errors"][0]["field"] == "year"
    assert web_world.school_year("P1", 2030) is None


def test_years_not_begun_are_refused_by_the_store_for_every_path(web_world):
    """Uploads and imports reach `repo.apply`: the same rule refuses them there, nothing written."""
    with web_world.database.session() as s:
        with pytest.raises(repo.YearNotOpen, match="2030—2031 学年尚未开始"):
            repo.apply(s, [repo.Change("school_year", "P1/2030", COUNTY, "students_primary", None, 900)],
                       user=None, via="upload")
        s.rollback()
    assert web_world.school_year("P1", 2030) is None
    dataset = builders.dataset(school_years=[builders.school_year(i, t, year=2031)
                                             for i, t in builders.default_schools()])
    with web_world.database.session() as s:
        with pytest.raises(repo.YearNotOpen):
            repo.import_dataset(s, dataset, user=None, via="cli")
        s.rollback()
    assert web_world.school_year("P1", 2031) is None


# ---------------------------------------------------------------- refusals and navigation


def test_a_forbidden_page_says_who_and_what_and_keeps_the_way_on(web_world):
    school = web_world.login("school")
    page = school.get(f"/counties/{COUNTY}/review", headers={"referer": "http://testserver/schools/P1"})
    assert page.status_code == 403
    text = main_text(page.text)
    assert "您没有权限查看该县区" in text
    assert "此页面需要能查看测试县的账号:该县区的县级管理员或只读用户,或所在市、省的督导" in text
    who = plain(re.sub(r"<[^>]+>", "", page.text.split('id="logged-in-as">', 1)[1].split("</p>", 1)[0]))
    assert who == "您当前登录的账号:school(测试)(用户名 school),角色:学校填报员(测试学校P1)。"
    assert "如需开通,请联系本县区的县级管理员或系统管理员" in text
    assert 'href="/"' in page.text and 'href="/schools/P1" id="error-back"' in page.text
    assert 'action="/logout"' in page.text.split("<main>", 1)[1]
    assert "我的学校" in header(page.text)  # the site's navigation is there
    # a refusal without words of its own is explained from the address
    other = school.get(f"/counties/{OTHER_COUNTY}")
    assert other.status_code == 403
    assert "您没有权限访问此页面" in main_text(other.text)
    assert "此页面需要能查看另一县的账号" in main_text(other.text)
    # a route that says who may ("只有…可以…") is not explained twice
    viewer = web_world.login("viewer")
    upload = viewer.get(f"/counties/{COUNTY}/upload")
    assert upload.status_code == 403
    assert "只有本县区的县级管理员可以上传数据" in main_text(upload.text) and 'id="error-needs"' not in upload.text
    # a link to another site is no way back
    elsewhere = school.get(f"/counties/{COUNTY}/review", headers={"referer": "https://evil.example/x"})
    assert "error-back" not in elsewhere.text


def test_a_missing_page_keeps_the_navigation(web_world):
    viewer = web_world.login("viewer")
    page = viewer.get("/no/such/page")
    assert page.status_code == 404
    assert "县区总览" in header(page.text) and "viewer(测试)" in header(page.text)
    assert "页面不存在" in main_text(page.text) and "返回首页" in main_text(page.text)
    anonymous = web_world.app()
    from fastapi.testclient import TestClient

    assert "登录" in main_text(TestClient(anonymous).get("/no/such/page").text)


def test_a_school_filler_is_not_sent_to_an_empty_overview(web_world):
    school = web_world.login("school")
    page = school.get("/schools/P1")
    assert "县区总览" not in header(page.text) and 'href="/overview"' not in page.text
    assert 'id="nav-school"' in page.text
    assert school.get("/", follow_redirects=False).headers["location"] == "/schools/P1"
    assert 'href="/overview"' in web_world.login("viewer").get("/schools/P1").text


def test_the_header_names_a_role_once(web_world):
    with web_world.database.session() as s:
        s.scalar(select(User).where(User.username == "admin")).display_name = "系统管理员"
    page = web_world.login("admin").get("/account/password")
    assert "系统管理员(系统管理员)" not in header(page.text) and "系统管理员" in header(page.text)
    assert "county(测试)(县级管理员)" in header(web_world.login("county").get("/account/password").text)


# ---------------------------------------------------------------- the review page


def _pending(web_world, year: int, **changes) -> None:
    """P1 submits `year` with last year's (approved) values, `changes` applied."""
    with web_world.database.session() as s:
        school = s.scalar(select(School).where(School.code == "P1"))
        before = s.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == YEAR))
        s.add(SchoolYear(school_id=school.id, year=year, values={**before.values, **changes}, status="submitted"))


def test_the_review_page_shows_values_changes_and_notes(web_world):
    _pending(web_world, YEAR + 1, students_primary=2000, public_funds=1_010_000.0, sports_area=None)
    page = web_world.login("county").get(f"/counties/{COUNTY}/review?year={YEAR + 1}")
    assert page.status_code == 200
    row = page.text.split(f'data-key="P1/{YEAR + 1}"', 1)[1].split("</tr>", 1)[0]
    text = plain(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)))
    assert "与 2024—2025 学年(已审核)比较" in text
    assert "小学在校生数: 2,000 人 +1,000 人(+100.0%) 变化较大" in text  # the data_jump rule: rise ≤ 50%
    assert "年度公用经费预算总额: 1,010,000 元 +10,000 元(+1.0%)" in text
    assert "+10,000 元(+1.0%) 变化较大" not in text
    assert "小学在校生数比 2024—2025 学年变化 +100.0%,超出合理范围(增长不超过 50%),请核实" in text
    assert "未填写:体育运动场馆面积" in text
    assert "big-change" in row
    # the status line of the year counts the submitted rows too
    status = plain(re.sub(r"<[^>]+>", "", page.text.split('id="year-status">', 1)[1].split("</p>", 1)[0]))
    assert status == "已审核 0 所 · 已提交 1 所 · 草稿 0 所 · 未填报 5 所"


def test_the_review_page_says_when_there_is_nothing_to_compare(web_world):
    web_world.set_status("P2", "submitted")
    page = web_world.login("county").get(f"/counties/{COUNTY}/review")
    row = page.text.split(f'data-key="P2/{YEAR}"', 1)[1].split("</tr>", 1)[0]
    text = plain(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)))
    assert "没有往年已审核数据可比较" in text and "小学在校生数: 1,000 人" in text
    assert "没有需要核实的提示" in text
    status = plain(re.sub(r"<[^>]+>", "", page.text.split('id="year-status">', 1)[1].split("</p>", 1)[0]))
    assert status == "已审核 5 所 · 已提交 1 所 · 草稿 0 所 · 未填报 0 所"


# ---------------------------------------------------------------- cut text


def test_year_fields_hold_their_placeholder():
    css = (WEB / "static" / "app.css").read_text(encoding="utf-8")
    width = re.search(r"input\.year-input\s*\{[^}]*\bwidth:\s*([\d.]+)em", css)
    assert width and float(width.group(1)) >= 7  # "如 2025": two CJK-wide glyphs and five narrow ones
    for name in ("school.html", "county_year_form.html"):
        source = (WEB / "templates" / name).read_text(encoding="utf-8")
        field = re.search(r'<input id="new-year"[^>]*>', source).group()
        assert 'class="year-input"' in field and "size=" not in field, name


def test_no_stray_mark_after_edit_task(web_world):
    from junheng.monitor.tasks import create_task

    with web_world.database.session() as s:
        task = create_task(s, COUNTY, title="补足体育运动场馆面积")
        s.flush()
        task_id = task.id
    page = web_world.login("county").get(f"/tasks/{task_id}")
    assert page.status_code == 200
    text = main_text(page.text)
    assert "修改任务" in text and "删除任务" in text
    assert not re.search(r"修改任务\s*·", text)

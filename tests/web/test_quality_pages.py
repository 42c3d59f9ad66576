"""The 教育质量监测 pages (junheng.web.routes.quality): a county's stored analysis of student
scores (levels, shares, ICC with interval against the standard, histogram, the schools that
contribute most, the data basis), its JSON, the upload of a scores and a cut-score file by the
county's managers (checked before the body is read; a bad file refused in Chinese with nothing
stored), and a school's figures beside its county's; hostile names escaped in the HTML and in
the chart payloads.

The world is tests/web/web_world.py: county 990001 (P1, P2, P3, J1, J2, N1; 2024 approved, the
county-year reopened here so that the quality rows can be written) and 990002 (Q1); users county
(county_admin of 990001), viewer (of 990001), school (filler of P1), other_county, other_school
(filler of Q1), admin. 数学 8 is the hand example of tests/quality/test_icc.py (ICC = 89/137)."""

from __future__ import annotations

import html
import json
import re

import pytest
from builders import plain
from sqlalchemy import func, select
from test_upload_limits import Body, call, multipart, session_of
from web_world import COUNTY, YEAR

from junheng.quality.service import import_scores
from junheng.store import repo
from junheng.store.models import AuditEntry, CountyYear, QualityAnalysis, QualityRow, School

HEADER = "county_code,school_id,year,grade,subject,student_key,score\n"
CUTS = "subject,grade,level_2,level_3,level_4\n数学,8,3,5,9\n语文,8,60,75,90\n"
MATH = [("J1", "s1", 1), ("J1", "s2", 2), ("J1", "s3", 3), ("J2", "s4", 4), ("J2", "s5", 6), ("N1", "s6", 5),
        ("N1", "s7", 9)]
CHINESE = [("J1", "s1", 70), ("J1", "s2", 80), ("J2", "s4", 74), ("J2", "s5", 76), ("N1", "s6", 60),
           ("N1", "s7", 90)]  # every school's mean is 75: no difference between schools, a negative ICC
HOSTILE = "<script>alert(1)</script>一中"
URL = f"/counties/{COUNTY}/quality"
CSV = "text/csv"


def scores_csv(math=MATH, chinese=CHINESE, county=COUNTY) -> bytes:
    rows = [f"{county},{s},{YEAR},8,数学,{k},{v}" for s, k, v in math]
    rows += [f"{county},{s},{YEAR},8,语文,{k},{v}" for s, k, v in chinese]
    return (HEADER + "\n".join(rows) + "\n").encode("utf-8")


def files(scores: bytes | None = None, cuts: bytes = CUTS.encode("utf-8"), name: str = "八年级成绩.csv") -> dict:
    return {"scores": (name, scores if scores is not None else scores_csv(), CSV),
            "cuts": ("分数线.csv", cuts, CSV)}


def count(world, model) -> int:
    with world.database.session() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.fixture
def world(web_world):
    """The web world with the county's 2024 county-year open (an approved one locks its quality
    rows) and school J1 named with markup."""
    with web_world.database.session() as s:
        county = repo.county_by_code(s, COUNTY)
        s.scalar(select(CountyYear).where(CountyYear.county_id == county.id, CountyYear.year == YEAR)).status = "draft"
        s.scalar(select(School).where(School.code == "J1")).name = HOSTILE
    return web_world


@pytest.fixture
def imported(world, tmp_path):
    """The scores imported as the CLI would (import_scores), before any page is opened."""
    scores, cuts = tmp_path / "成绩.csv", tmp_path / "分数线.csv"
    scores.write_bytes(scores_csv())
    cuts.write_text(CUTS, encoding="utf-8")
    with world.database.session() as s:
        import_scores(s, world.settings, scores, cuts, user=None, via="cli",
                      only_county=repo.county_by_code(s, COUNTY), source_name="八年级成绩.csv")
    return world


def charts(text: str) -> list[dict]:
    return [json.loads(html.unescape(m)) for m in re.findall(r"data-quality-chart='([^']*)'", text)]


def entry_of(text: str, subject: str) -> str:
    match = re.search(rf'<section class="quality-entry"[^>]*data-subject="{subject}".*?</section>', text, re.S)
    assert match, f"no section for {subject}"
    return match.group(0)


# ---------------------------------------------------------------- the county page


def test_the_county_page_shows_the_stored_analysis(imported):
    response = imported.login("viewer").get(f"{URL}?year={YEAR}")
    assert response.status_code == 200, response.text
    text = plain(response.text)
    math = entry_of(text, "数学")
    assert "数学(八年级)" in math and "7 名学生" in math and "3 所学校" in math
    assert f'data-icc="{89 / 137}"' in math and ">0.650<" in math  # ICC = 89/137 as stored, shown to 3 decimals
    assert re.search(r"95% 置信区间 -?\d\.\d{3} 至 \d\.\d{3}", math)
    assert "标准要求低于 0.15,未达到" in math  # national-2017 Q9: 校际差异率 below 0.15
    assert 'data-level="2"' in math and "Ⅱ级" in math and "全县平均分所在的水平" in math  # mean 30/7: Ⅱ级 (3 to 5)
    assert "校间方差" in math and "校内方差" in math and "已写入质量监测结果" in math
    shares = re.search(r'<table class="level-shares">.*?</table>', math, re.S).group(0)
    assert re.findall(r">([\d.]+%)<", shares) == ["28.6%", "28.6%", "28.6%", "14.3%"]  # 1 2 | 3 4 | 5 6 | 9
    # the schools contributing most, named and linked to their pages
    assert f'href="/schools/N1/quality?year={YEAR}"' in math
    chinese = entry_of(text, "语文")
    assert "为负值" in chinese and "按 0 计" in chinese and 'data-icc="-' in chinese
    # the data basis
    basis = re.search(r'id="quality-basis".*?</section>', text, re.S).group(0)
    assert "八年级成绩.csv" in basis and "13 条成绩" in basis and "组内相关系数 ICC(1)" in basis
    assert "置信区间 95%" in basis and "北京时间" in basis
    assert "成绩涉及本县区 3 所学校(学校名单共 6 所)" in text
    # the charts' data: the county's histogram of each subject, its level shares
    found = charts(response.text)
    histograms = [c for c in found if c["kind"] == "histogram"]
    assert [sum(c["series"][0]["data"]) for c in histograms] == [7, 6]  # 数学, 语文 (in key order)
    assert all(len(c["bins"]) == 20 for c in histograms)
    assert {tuple(c["rows"]) for c in found if c["kind"] == "shares"} == {("全县",)}
    assert 'src="/static/quality.js?v=' in response.text and "<script>" not in response.text.split("<main", 1)[-1]


def test_the_county_page_answers_json_and_readers_of_other_counties_are_refused(imported):
    viewer = imported.login("viewer")
    data = viewer.get(f"{URL}?format=json").json()
    assert data["year"] == YEAR and data["years"] == [YEAR] and data["source_name"] == "八年级成绩.csv"
    math = data["results"][f"{COUNTY}/数学/8"]
    assert math["icc"] == pytest.approx(89 / 137) and math["applied"] is True
    assert imported.login("other_county").get(URL).status_code == 403
    assert imported.login("school").get(URL).status_code == 403
    # a year without an analysis: said so, nothing invented
    empty = viewer.get(f"{URL}?year={YEAR - 1}")
    assert empty.status_code == 200 and "还没有导入学生成绩" in plain(empty.text)
    assert 'id="quality-upload"' not in empty.text  # a viewer gets no upload form


def test_the_county_page_links_the_quality_page(world):
    page = world.login("viewer").get(f"/counties/{COUNTY}")
    assert f'href="/counties/{COUNTY}/quality" id="link-quality"' in page.text
    empty = world.login("county").get(URL)
    assert empty.status_code == 200 and 'id="quality-empty"' in empty.text and 'id="quality-upload"' in empty.text


# ---------------------------------------------------------------- the upload


def test_a_manager_uploads_scores_and_the_analysis_and_quality_rows_are_stored(world):
    county = world.login("county")
    response = county.post(URL, files=files())
    assert response.status_code == 303, plain(response.text)
    assert response.headers["location"] == f"{URL}?year={YEAR}&msg=quality_imported"
    with world.database.session() as s:
        analysis = s.scalar(select(QualityAnalysis))
        assert analysis.source_name == "八年级成绩.csv" and analysis.via == "upload" and analysis.rows == 13
        rows = {r.subject: r.inter_school_diff_rate for r in s.scalars(select(QualityRow).where(
            QualityRow.county_id == analysis.county_id, QualityRow.year == YEAR))}
        assert rows["数学(八年级)"] == pytest.approx(89 / 137)
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "quality",
                                                                            AuditEntry.via == "upload")) >= 2
    page = county.get(response.headers["location"])
    assert "学生成绩已导入" in plain(page.text) and "八年级成绩.csv" in page.text
    uploads = world.settings.uploads
    assert not [p for p in uploads.rglob("*") if p.is_file()]  # the temporary files are gone


@pytest.mark.parametrize("sent, message", [
    (files(scores_csv(math=[(s, k, 4000) for s, k, _ in MATH])), "0 到 1000"),
    (files(scores_csv(math=[*MATH, ("X9", "s9", 4)])), "学校名单中没有的学校标识码"),
    (files(scores_csv(county="990002")), "其他县区的成绩"),
    (files(cuts="科目\n数学\n".encode("utf-8")), "分数线文件“分数线.csv”"),
    (files(name="成绩.txt"), "成绩文件“成绩.txt”的类型不对"),
], ids=["score-out-of-range", "unknown-school", "other-county", "bad-cuts", "wrong-kind"])
def test_a_bad_file_is_refused_in_chinese_and_nothing_is_stored(world, sent, message):
    before = world.snapshot()
    response = world.login("county").post(URL, files=sent)
    assert response.status_code == 400, response.text
    text = plain(response.text)
    assert "没有导入任何成绩" in text and message in text
    assert str(world.settings.uploads) not in text and "/tmp" not in text  # the user's file names, no paths
    assert world.snapshot() == before and count(world, QualityAnalysis) == 0
    assert not [p for p in world.settings.uploads.rglob("*") if p.is_file()]


def test_a_file_of_two_years_needs_the_year_field_which_chooses_one(world):
    two_years = scores_csv() + scores_csv().decode("utf-8").split("\n", 1)[1].replace(
        f",{YEAR},", f",{YEAR - 1},").encode("utf-8")
    county = world.login("county")
    refused = county.post(URL, files=files(two_years))
    assert refused.status_code == 400 and "请指定一个年度" in plain(refused.text)
    bad = county.post(URL, data={"year": "二〇二四"}, files=files(two_years))
    assert bad.status_code == 400 and "1990 到 2100 之间的年份" in plain(bad.text)
    assert count(world, QualityAnalysis) == 0
    chosen = county.post(URL, data={"year": str(YEAR)}, files=files(two_years))
    assert chosen.status_code == 303, plain(chosen.text)
    with world.database.session() as s:
        assert [a.year for a in s.scalars(select(QualityAnalysis))] == [YEAR]


def test_a_locked_county_year_refuses_the_upload(world):
    with world.database.session() as s:
        county = repo.county_by_code(s, COUNTY)
        row = s.scalar(select(CountyYear).where(CountyYear.county_id == county.id, CountyYear.year == YEAR))
        row.status = "approved"
    response = world.login("county").post(URL, files=files())
    assert response.status_code == 400 and "没有导入任何成绩" in plain(response.text)
    assert count(world, QualityAnalysis) == 0


def test_those_who_do_not_manage_the_county_cannot_post_and_their_body_is_not_read(world):
    for username in ("viewer", "other_county", "school"):
        response = world.login(username).post(URL, files=files())
        assert response.status_code == 403, username
        assert "导入" in plain(response.text) or "权限" in plain(response.text)
    assert count(world, QualityAnalysis) == 0
    viewer = world.login("viewer")
    head, tail = multipart(viewer.csrf, "成绩.csv")
    body = Body(head, 40, tail)
    status, _, _ = call(world.app(), URL, body, cookie=session_of(viewer))
    assert status == 403 and body.consumed == 0
    # without the CSRF token a manager's post is refused too
    assert world.login("county").post(URL, files=files(), csrf=False).status_code == 403
    assert count(world, QualityAnalysis) == 0


# ---------------------------------------------------------------- the school page


def test_a_school_page_shows_its_figures_beside_the_county(imported):
    viewer = imported.login("viewer")
    page = viewer.get(f"/schools/N1/quality?year={YEAR}")
    assert page.status_code == 200, page.text
    text = plain(page.text)
    math = entry_of(text, "数学")
    own = re.search(r'<tr class="own">.*?</tr>', math, re.S).group(0)
    county = re.search(r'<tr class="county">.*?</tr>', math, re.S).group(0)
    assert re.findall(r">([^<>]+)</td>", own)[1:] == ["2", "7", "0.0%", "0.0%", "50.0%", "50.0%"]  # N1: 5 and 9
    assert ">7<" in county and ">4.3<" in county  # the county: 7 students, mean 30/7
    assert "本校平均分高于全县 2.7 分" in math and "对校际差异贡献最大的学校之一" in math
    histogram = next(c for c in charts(entry_of(page.text, "数学")) if c["kind"] == "histogram")
    school, whole = histogram["series"]
    assert pytest.approx(sum(v for v in school["data"] if v)) == 100 and school["name"] != "全县"
    assert pytest.approx(sum(v for v in whole["data"] if v), abs=0.2) == 100 and whole["name"] == "全县"
    data = viewer.get(f"/schools/N1/quality?year={YEAR}&format=json").json()
    assert data["school_id"] == "N1" and [r["label"] for r in data["results"]] == ["数学(八年级)", "语文(八年级)"]
    assert data["results"][0]["students"] == 2 and data["results"][0]["county_students"] == 7
    assert "J1" not in json.dumps(data)  # another school's figures are not the school page's
    # the school page links its quality page; a school without scores gets none
    assert f'href="/schools/N1/quality?year={YEAR}"' in viewer.get("/schools/N1").text
    assert "link-school-quality" not in viewer.get("/schools/P1").text


def test_a_school_filler_reads_only_its_own_school(imported):
    filler = imported.login("school")  # the filler of P1, which has no scores
    own = filler.get("/schools/P1/quality")
    assert own.status_code == 200 and "没有本校的成绩" in plain(own.text)
    assert filler.get("/schools/N1/quality").status_code == 403
    assert imported.login("other_school").get("/schools/N1/quality").status_code == 403
    assert imported.login("other_county").get(f"/schools/N1/quality?year={YEAR}&format=json").status_code == 403


# ---------------------------------------------------------------- hostile names


def test_a_hostile_school_name_is_escaped_in_the_pages_and_the_chart_payloads(imported):
    viewer = imported.login("viewer")
    county = viewer.get(URL).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;一中" in county and HOSTILE not in county
    school = viewer.get(f"/schools/J1/quality?year={YEAR}").text
    assert HOSTILE not in school
    attributes = re.findall(r"data-quality-chart='([^']*)'", school)
    assert attributes and all("<" not in a and "'" not in a for a in attributes)
    names = {row for c in charts(school) for row in c.get("rows", [])}
    names |= {s["name"] for c in charts(school) for s in c.get("series", [])}
    assert HOSTILE in names  # shown by the chart as text: quality.js escapes its tooltips
    data = viewer.get(f"{URL}?format=json").json()
    assert any(s["school_name"] == HOSTILE for e in data["results"].values() for s in e["school_figures"])


# ---------------------------------------------------------------- in the browser


def test_in_the_browser_the_charts_draw_and_a_hostile_name_in_a_tooltip_runs_nothing(imported, browser):
    """Headless Chromium: the school page's charts are drawn, hovering the histogram shows the
    school's name as text (no element made of it, no dialog), and the page has no script error."""
    from browser import log_in, screen_page, serve
    from playwright.sync_api import expect

    with serve(imported.app()) as base, screen_page(browser, "quality-charts-failure") as page:
        dialogs, errors = [], []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(page, base, "viewer")
        page.goto(f"{base}/schools/J1/quality?year={YEAR}")
        page.wait_for_function("() => window.echarts && Array.from(document.querySelectorAll('[data-quality-chart]'))"
                               ".every((el) => echarts.getInstanceByDom(el))")
        chart = page.locator("#entry-1 [data-quality-chart]").nth(1)
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        x, y = page.evaluate("(el) => echarts.getInstanceByDom(el).convertToPixel({seriesIndex: 0}, [0, 0])",
                             chart.element_handle())
        page.mouse.move(box["x"] + x, box["y"] + y - 5)
        tip = chart.locator("div", has_text="分数段").last
        expect(tip).to_be_visible()
        page.wait_for_timeout(300)
        assert HOSTILE in tip.inner_text() and tip.locator("script").count() == 0
        assert dialogs == [] and errors == [], (dialogs, errors)

"""The web app follows each county's own standard (issue 13): a county under basic-2012 (县域义务
教育均衡发展督导评估暂行办法) shows its two areas with the standard's names, B1–B8 with their
names and values (no per-school 达标/未达标), per segment the eight CVs and the 综合差异系数
against its limit, BG1/BG2 and the public satisfaction beside the verdict, marked 不参与判定;
nothing of national-2017 (R1…, 社会认可度, 一票否决). A national-2017 county in the same store
keeps its pages as they were (heatmap, R1–R7, the four areas).

The world: three counties in one store, imported approved —
- 990001 (national-2017): the builders' passing county;
- 990011 (basic-2012): the hand-made county of tests/engine/test_basic_2012.py (composite met);
- 990012 (basic-2012): the same county with a very unequal junior segment (composite over 0.55).
"""

from __future__ import annotations

import html as html_lib
import json
import re

import builders
import pandas as pd
import pytest
from web_world import login, role_users, seed_store, web_settings

from junheng.data.dataset import Dataset
from junheng.engine.evaluate import evaluate_dataset
from junheng.standards.loader import load_standard
from junheng.store.db import Database
from junheng.web.app import create_app

NATIONAL, BASIC, BASIC_FAILING = builders.COUNTY, "990011", "990012"
YEAR = builders.YEAR
BASIC_STD = load_standard("basic-2012")
NATIONAL_STD = load_standard("national-2017")

UNEQUAL_J1 = builders.BASIC_2012_UNEQUAL_J1
NATIONAL_ONLY = ("R1", "社会认可度", "教育质量", "一票否决", "申请前提", "/7")


def basic_rows(code: str, name: str, prefix: str, j1: dict | None = None):
    return builders.basic_2012_rows(code, prefix, county_name=name, j1=j1)


def world_dataset() -> Dataset:
    schools = [builders.school(i, t) for i, t in builders.default_schools()]
    years = [builders.school_year(s["school_id"], s["school_type"]) for s in schools]
    county_years = [builders.county_year()]
    counties = [{"county_code": NATIONAL, "county_name": "测试县", "standard": "national-2017"}]
    for code, name, prefix, j1 in ((BASIC, "基本县", "B", None), (BASIC_FAILING, "失衡县", "F", UNEQUAL_J1)):
        s, y, c = basic_rows(code, name, prefix, j1)
        schools += s
        years += y
        county_years.append(c)
        counties.append({"county_code": code, "county_name": name, "standard": "basic-2012"})
    return Dataset.from_frames(source="tests", schools=pd.DataFrame(schools), school_year=pd.DataFrame(years),
                               county_year=pd.DataFrame(county_years), quality=pd.DataFrame(builders.quality()),
                               counties=pd.DataFrame(counties))


USERS = role_users(admin=None)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("basic-2012-web")
    database = Database(f"sqlite:///{folder / 'junheng.db'}")
    database.migrate()
    dataset = world_dataset()
    seed_store(database, dataset, USERS)
    app = create_app(web_settings(database, folder / "uploads"), database)
    yield app, dataset
    database.engine.dispose()


@pytest.fixture(scope="module")
def admin(world):
    return login(world[0], "admin")


@pytest.fixture(scope="module")
def results(world):
    """The engine's own results of the two basic-2012 counties, to compare the pages with."""
    dataset = world[1]
    return {r.county_code: r for r in evaluate_dataset(dataset, standard=BASIC_STD)}


def text_of(html: str) -> str:
    """The page's visible text, tags removed (script and style bodies dropped)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return builders.plain(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def table(html: str, table_id: str) -> str:
    match = re.search(rf'<table id="{table_id}".*?</table>', html, flags=re.S)
    assert match, f"no table #{table_id} on the page"
    return match.group(0)


def test_a_basic_county_dashboard_shows_its_own_standard(admin, results):
    page = admin.get(f"/counties/{BASIC}")
    assert page.status_code == 200, page.text
    html, text = page.text, text_of(page.text)
    for area in BASIC_STD.areas.values():
        assert area.label in text
    for ind in BASIC_STD.indicators.values():
        assert ind.name in text, ind.id
    for word in NATIONAL_ONLY:
        assert word not in text, word
    # units shown as values only: no heatmap of 达标/未达标, a table of values instead
    assert 'id="heatmap"' not in html and 'id="unit-values"' in html
    assert "达标值" not in table(html, "unit-values")
    # reported beside the verdict, not judged
    assert "公众满意度" in text and "93.50%" in text and "不参与判定" in text


def test_the_composite_per_segment_equals_the_engines(admin, results):
    html = admin.get(f"/counties/{BASIC}").text
    composite = table(html, "composite-cv")
    res = results[BASIC].resource
    for segment, limit in (("primary", "0.65"), ("junior", "0.55")):
        row = re.search(rf'<tr data-segment="{segment}">.*?</tr>', composite, flags=re.S).group(0)
        cells = [builders.plain(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        cvs = [f"{res.cv[segment][i].value:.3f}" for i in results[BASIC].resource_ids()]
        assert cells[1:9] == cvs
        assert cells[9:] == [f"{res.composite_cv[segment].value:.3f}", limit, "达标"]
    # the charts carry the composite instead of a limit of each CV
    for segment in ("primary", "junior"):
        chart = json.loads(html_lib.unescape(re.search(rf'id="cv-{segment}"[^>]*data-chart=\'([^\']*)\'', html).group(1)))
        assert chart["limit"] is None and chart["indicators"] == results[BASIC].resource_ids()
        assert chart["composite"]["value"] == pytest.approx(res.composite_cv[segment].value)


def test_a_failing_composite_is_listed_as_the_failing_item(admin, results):
    page = admin.get(f"/counties/{BASIC_FAILING}")
    assert page.status_code == 200
    junior = results[BASIC_FAILING].resource.composite_cv["junior"]
    assert junior.met is False
    text = text_of(page.text)
    assert "未达标项目" in text and "没有未达标的项目" not in text
    assert f"综合差异系数(初中) {junior.value:.3f},上限 0.55" in text
    row = re.search(r'<tr data-segment="junior">.*?</tr>', table(page.text, "composite-cv"), flags=re.S).group(0)
    assert "未达标" in row
    assert text_of(admin.get(f"/counties/{BASIC}").text).count("没有未达标的项目") == 1


def test_the_json_of_a_basic_dashboard_has_its_two_areas_only(admin):
    data = admin.get(f"/counties/{BASIC}?format=json").json()
    assert list(data["areas"]) == ["resource_allocation", "government_guarantee"]
    assert set(data["areas"]["resource_allocation"]["composite_cv"]) == {"primary", "junior"}
    assert data["reported"][0]["label"] == "公众满意度"


def test_a_basic_school_page_shows_values_without_thresholds(admin):
    page = admin.get("/schools/BN1")
    assert page.status_code == 200, page.text
    text = text_of(page.text)
    assert "校际均衡" in text and "不逐校判定" in text
    for ind in BASIC_STD.resource_indicators():
        assert ind.name in text
    for word in ("达标值", "项达标", "R1", "未达标"):
        assert word not in text, word


def test_the_basic_standard_page(admin):
    page = admin.get("/standards/basic-2012")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "综合差异系数" in text and "小学 ≤ 0.65" in text and "初中 ≤ 0.55" in text and "不逐校判定" in text
    assert "一票否决" not in text and "公众满意度" in text
    for ind in BASIC_STD.indicators.values():
        assert ind.name in text


def test_the_monitoring_pages_of_a_basic_county_open(admin):
    for url in (f"/counties/{BASIC}/trends?fragment=1", f"/counties/{BASIC}/trends", f"/counties/{BASIC}/warnings",
                f"/counties/{BASIC}/forecast", f"/counties/{BASIC}/review"):
        page = admin.get(url)
        assert page.status_code == 200, (url, page.text[:500])
        assert "R1" not in text_of(page.text), url


def test_a_national_county_keeps_its_pages(admin):
    page = admin.get(f"/counties/{NATIONAL}")
    assert page.status_code == 200
    html, text = page.text, text_of(page.text)
    for label in ("资源配置", "政府保障程度", "教育质量", "社会认可度"):
        assert label in text
    assert 'id="heatmap"' in html and 'aria-label="各校资源配置 R1—R7 达标情况热力图"' in html
    assert 'id="composite-cv"' not in html and "综合差异系数" not in text and "不参与判定" not in text
    assert "小学(上限 0.50)" in text and "初中(上限 0.45)" in text
    legend = re.search(r'<dl class="indicator-legend".*?</dl>', html, flags=re.S).group(0)
    assert [f"R{i}" for i in range(1, 8)] == re.findall(r"<dt>(R\d)</dt>", legend)
    school = text_of(admin.get("/schools/P1").text)
    assert "7/7 项达标" in school and "达标值" in school


def test_the_review_page_shows_the_fields_its_standard_reads(world, admin):
    """A submitted school-year shows the values the county's standard reads: computers and books
    under basic-2012, multimedia classrooms and special rooms under national-2017."""
    from sqlalchemy import select

    from junheng.data.catalog import catalog
    from junheng.store.models import School, SchoolYear

    app = world[0]
    with app.state.db.session() as s:
        for code in ("BP2", "P2"):
            school = s.scalar(select(School).where(School.code == code))
            row = s.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == YEAR))
            row.status = "submitted"
    fields = catalog().table("school_year")
    basic = text_of(admin.get(f"/counties/{BASIC}/review").text)
    national = text_of(admin.get(f"/counties/{NATIONAL}/review").text)
    for key in ("computers", "books", "teaching_aux_area"):
        assert fields.field(key).label in basic, key
    assert fields.field("multimedia_classrooms").label not in basic
    assert fields.field("multimedia_classrooms").label in national and fields.field("music_rooms").label in national
    assert fields.field("computers").label not in national

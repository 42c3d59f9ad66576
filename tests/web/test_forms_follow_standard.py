"""The data-entry forms ask for the fields of the county's own standard: a school of a county
under basic-2012 fills in 教学用计算机台数 and no backbone teachers, one under national-2017 the
reverse; the county forms likewise. A save writes only the fields shown and keeps every other
value already stored."""

from __future__ import annotations

import re

import builders
import pytest
from sqlalchemy import select
from web_world import COUNTY, OTHER_COUNTY, YEAR

from junheng.store import repo
from junheng.store.models import CountyYear

BASIC_SCHOOL, NATIONAL_SCHOOL = "Q1", "P1"  # primary schools of OTHER_COUNTY and COUNTY


def version_of(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def data_form(html: str, form_id: str) -> str:
    """The text of the page's data-entry form (not the row's history below it, which names
    every field the import wrote)."""
    start = html.index(f'id="{form_id}"')
    return builders.plain(html[start:html.index("</form>", start)])


@pytest.fixture
def world(web_world):
    """OTHER_COUNTY is under basic-2012; COUNTY keeps the default (national-2017)."""
    with web_world.database.session() as s:
        repo.county_by_code(s, OTHER_COUNTY).standard = "basic-2012"
    return web_world


def set_county_year_status(world, code: str, status: str) -> None:
    with world.database.session() as s:
        county = repo.county_by_code(s, code)
        s.scalar(select(CountyYear).where(CountyYear.county_id == county.id, CountyYear.year == YEAR)).status = status


def test_a_basic_2012_schools_form_asks_for_computers_not_backbone_teachers(world):
    page = world.login("other_school").get(f"/schools/{BASIC_SCHOOL}/years/{YEAR}")
    assert page.status_code == 200
    text = data_form(page.text, "school-year-form")
    assert "教学用计算机台数" in text and "图书册数" in text and "中级及以上专业技术职务" in text
    assert "县级及以上骨干教师数" not in text and "音乐专用教室数" not in text


def test_a_national_schools_form_asks_for_backbone_teachers_not_computers(world):
    page = world.login("school").get(f"/schools/{NATIONAL_SCHOOL}/years/{YEAR}")
    assert page.status_code == 200
    text = data_form(page.text, "school-year-form")
    assert "县级及以上骨干教师数" in text and "音乐专用教室数" in text
    assert "教学用计算机台数" not in text and "中级及以上专业技术职务" not in text


def test_a_basic_2012_save_keeps_the_values_of_fields_not_shown(world):
    world.set_status(BASIC_SCHOOL, "draft")
    before = world.school_year(BASIC_SCHOOL).values
    assert before["backbone_teachers_primary"] is not None  # stored by the national-format import
    school = world.login("other_school")
    form = {"version": version_of(school.get(f"/schools/{BASIC_SCHOOL}/years/{YEAR}").text), "action": "save",
            "computers": "120", "books": "30000", "mid_title_teachers_primary": "40",
            "backbone_teachers_primary": "1"}  # not on this form: not written
    response = school.post(f"/schools/{BASIC_SCHOOL}/years/{YEAR}", form)
    assert response.status_code == 303, builders.plain(response.text)
    after = world.school_year(BASIC_SCHOOL).values
    assert (after["computers"], after["books"], after["mid_title_teachers_primary"]) == (120, 30000, 40)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing stored before was dropped or changed
    assert {e.field for e in world.audit(via="form", entity="school_year")} == {
        "computers", "books", "mid_title_teachers_primary"}


def test_the_county_forms_follow_the_county_standard(world):
    basic = data_form(world.login("other_county").get(f"/counties/{OTHER_COUNTY}/years/{YEAR}").text,
                      "county-year-form")
    assert "县级人民政府推进义务教育均衡发展工作评估得分" in basic and "学校均达到省定办学基本标准" in basic
    assert "县级人民政府推进工作与学校办学标准" in basic  # the group named as basic-2012 names the area
    assert "公众满意度" in basic and "报告项" in basic
    assert "教师平均工资收入" not in basic and "以考试方式招生" not in basic
    national = data_form(world.login("county").get(f"/counties/{COUNTY}/years/{YEAR}").text, "county-year-form")
    assert "教师平均工资收入" in national and "以考试方式招生" in national
    assert "县级人民政府推进义务教育均衡发展工作评估得分" not in national and "公众满意度" not in national


def test_a_basic_2012_county_save_keeps_the_values_of_fields_not_shown(world):
    set_county_year_status(world, OTHER_COUNTY, "draft")
    before = world.county_year(OTHER_COUNTY).values
    assert before["teacher_avg_salary"] is not None
    county = world.login("other_county")
    page = county.get(f"/counties/{OTHER_COUNTY}/years/{YEAR}")
    response = county.post(f"/counties/{OTHER_COUNTY}/years/{YEAR}", {
        "version": version_of(page.text), "action": "save", "basic_gov_score": "88.5",
        "basic_schools_standard_met": "是", "public_satisfaction_rate": "91"})
    assert response.status_code == 303, builders.plain(response.text)
    after = world.county_year(OTHER_COUNTY).values
    assert (after["basic_gov_score"], after["basic_schools_standard_met"], after["public_satisfaction_rate"]) == (
        88.5, True, 91)
    assert {k: v for k, v in after.items() if k in before} == before


def test_a_county_whose_standard_cannot_be_read_is_asked_for_every_field(world):
    with world.database.session() as s:
        repo.county_by_code(s, OTHER_COUNTY).standard = "no-such-standard"
    text = data_form(world.login("other_school").get(f"/schools/{BASIC_SCHOOL}/years/{YEAR}").text,
                     "school-year-form")
    assert "教学用计算机台数" in text and "县级及以上骨干教师数" in text


def template_headers(content: bytes) -> set[str]:
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    return {str(cell) for sheet in book.worksheets for row in sheet.iter_rows(max_row=6, values_only=True)
            for cell in row if cell}


def test_the_downloaded_template_follows_the_countys_standard(world):
    basic = world.login("other_county").get(f"/counties/{OTHER_COUNTY}/upload-template.xlsx")
    national = world.login("county").get(f"/counties/{COUNTY}/upload-template.xlsx")
    assert basic.status_code == national.status_code == 200
    basic_text, national_text = " ".join(template_headers(basic.content)), " ".join(template_headers(national.content))
    assert "教学用计算机台数" in basic_text and "县级及以上骨干教师数" not in basic_text
    assert "县级及以上骨干教师数" in national_text and "教学用计算机台数" not in national_text


def test_the_quality_section_is_asked_only_where_the_standard_reads_it(world):
    basic = world.login("other_county").get(f"/counties/{OTHER_COUNTY}/years/{YEAR}")
    national = world.login("county").get(f"/counties/{COUNTY}/years/{YEAR}")
    assert basic.status_code == national.status_code == 200
    assert 'id="quality-form"' in national.text
    # basic-2012 reads no quality rows; the world's other county has none stored either
    with world.database.session() as s:
        stored = repo.load_dataset(s, [OTHER_COUNTY], approved_only=False).quality
    assert len(stored) == 0 and 'id="quality-form"' not in basic.text

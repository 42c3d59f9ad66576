"""The year in progress on the pages and the API: a partial approval changes nothing said about
the county (API on SQLite and PostgreSQL; pages on the SQLite web world)."""

from __future__ import annotations

import builders
import pandas as pd
from conftest import API_A, API_SCHOOLS
from sqlalchemy import select
from web_world import COUNTY, YEAR

from junheng.data.dataset import Dataset
from junheng.store import repo
from junheng.store.models import School, SchoolYear

NEW = YEAR + 1


def new_year(county: str, members: list[tuple[str, str]]) -> Dataset:
    schools = [builders.school(code, kind, county_code=county) for code, kind in members]
    years = [builders.school_year(code, kind, students=600, year=NEW) for code, kind in members]
    return Dataset.from_frames(source="tests", schools=pd.DataFrame(schools), school_year=pd.DataFrame(years))


def approve(database, code: str, year: int = NEW) -> None:
    with database.session() as s:
        row = s.scalar(select(SchoolYear).join(School).where(School.code == code, SchoolYear.year == year))
        repo.transition(s, row, "submit", user=None, via="form")
        repo.transition(s, row, "approve", user=None, via="form")


def test_the_api_keeps_the_complete_year_and_shows_the_new_one_for_what_it_is(api_world):
    client = api_world.client()
    url = f"/api/v1/counties/{API_A}/evaluation"
    before = client.get(url, headers=api_world.headers("supervisor")).json()
    with api_world.database.session() as s:
        repo.import_dataset(s, new_year(API_A, API_SCHOOLS[API_A]), user=None, via="upload")
    approve(api_world.database, "A-P1")
    now = client.get(url, headers=api_world.headers("supervisor")).json()
    assert (now["year"], now["verdict"]) == (before["year"], before["verdict"]) == (YEAR, "pass")
    assert now["coverage"]["complete"] is True and now["schema_version"] == 2
    assert now["progress"] == {"complete_years": [YEAR], "in_progress": [
        {"year": NEW, "schools_expected": 4, "schools_included": 1, "county_year": False}]}
    partial = client.get(url, params={"year": NEW}, headers=api_world.headers("supervisor")).json()
    assert partial["verdict"] == "incomplete"
    assert (partial["coverage"]["schools_expected"], partial["coverage"]["schools_included"]) == (4, 1)
    assert sorted(partial["coverage"]["schools_missing"]) == ["A-J1", "A-N1", "A-P2"]


def test_the_dashboard_and_overview_show_the_complete_year_and_the_year_in_progress(web_world):
    members = builders.default_schools()
    with web_world.database.session() as s:
        repo.import_dataset(s, new_year(COUNTY, members), user=None, via="upload")
    approve(web_world.database, "P1")
    client = web_world.login("county")
    page = builders.plain(client.get(f"/counties/{COUNTY}").text)
    assert f'aria-current="page"><b>{YEAR}—{NEW}</b>' in page
    assert f"{NEW}—{NEW + 1} 学年填报中:已审核 1/6 所" in page and f"/counties/{COUNTY}/review?year={NEW}" in page
    assert 'class="badge pass"' in page and "临时" not in page.split('id="verdict"')[1][:400]
    data = client.get(f"/counties/{COUNTY}?format=json").json()
    assert data["year"] == YEAR and data["latest_complete_year"] == YEAR
    assert [p["fraction"] for p in data["in_progress"]] == ["1/6"]

    provisional = builders.plain(client.get(f"/counties/{COUNTY}?year={NEW}").text)
    assert 'class="badge incomplete"' in provisional and 'id="coverage-statement"' in provisional
    assert "数据不完整:应有 6 所学校,已审核 1 所,其余草稿 5 所,县级年度数据未填报" in provisional
    assert provisional.count('class="big warn provisional"') == 4  # no area is 达标/未达标 of the county
    assert "临时结果中的未达标项目" in provisional

    overview = builders.plain(web_world.login("admin").get("/overview").text)
    assert f"{NEW}—{NEW + 1} 学年填报中:已审核 1/6 所" in overview
    row = overview.split(f'href="/counties/{COUNTY}"')[1].split("</tr>")[0]
    assert f"{YEAR}—{NEW} 学年" in row and 'class="badge pass"' in row

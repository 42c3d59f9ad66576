"""In a real browser (Debian's headless Chromium): the demo county at the start of a school year.
The county admin has approved one of the 78 schools of the new year; the dashboard still shows
the last complete year with its verdict, and the new year as "填报中 1/78" (the issue's walk)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date

import pytest
from browser import ARTIFACTS, screen_page, serve
from rich.console import Console
from sqlalchemy import select
from browser import log_in
from web_world import password_hash

from junheng.demo.synthetic import generate_county
from junheng.schoolyear import current_school_year
from junheng.services import evaluate_stored, load_demo_into_store, open_database
from junheng.store import repo
from junheng.store.models import School, SchoolYear, User

TODAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium):
    from junheng.web.app import create_app

    root = tmp_path_factory.mktemp("year-in-progress")
    dataset = generate_county(2024, today=TODAY)
    new = current_school_year(TODAY)
    complete = replace(dataset, **{t: dataset.table(t)[dataset.table(t)["year"] < new].reset_index(drop=True)
                                   for t in ("school_year", "county_year", "quality")})
    load_demo_into_store(root, complete, Console(file=io.StringIO()), today=TODAY)
    database, settings = open_database(root)
    with database.session() as s:
        for user in s.scalars(select(User)):
            user.password_hash = password_hash()
        county = s.scalars(select(School)).first().county
        before, _, _ = evaluate_stored(s, county.code)
        rows = dataset.school_year[dataset.school_year["year"] == new]
        repo.import_dataset(s, replace(complete, school_year=rows.reset_index(drop=True)), user=None,
                            via="upload")  # the new year's first rows: drafts
        first = s.scalar(select(SchoolYear).join(School).where(SchoolYear.year == new).order_by(School.code))
        repo.transition(s, first, "submit", user=None, via="form")
        repo.transition(s, first, "approve", user=None, via="form")
        schools = len(s.scalars(select(School).where(School.county_id == county.id)).all())
        code = county.code
    with serve(create_app(settings, database)) as url:
        yield {"url": url, "county": code, "new": new, "before": before, "schools": schools}
    database.engine.dispose()


def test_the_dashboard_keeps_the_complete_year_and_shows_the_new_one_in_progress(server, browser):
    from playwright.sync_api import expect

    base, county, new, before = server["url"], server["county"], server["new"], server["before"]
    with screen_page(browser, "year-in-progress-failure") as page:
        log_in(page, base, "county")
        assert page.url.endswith(f"/counties/{county}")
        expect(page.locator("nav.years [aria-current=page]")).to_have_text(f"{new - 1}—{new}")
        expect(page.locator("#verdict .badge")).to_have_class(f"badge {before.verdict}")
        assert before.year == new - 1 and before.complete
        line = page.locator(f"#in-progress-{new}")
        expect(line).to_contain_text(f"{new}—{new + 1} 学年填报中")
        expect(line).to_contain_text(f"已审核 1/{server['schools']} 所")
        expect(page.locator(".provisional")).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / "dashboard-year-in-progress.png"))
        line.locator("a", has_text="查看临时结果").click()
        expect(page.locator("#verdict .badge")).to_have_class("badge incomplete")
        expect(page.locator("#coverage-statement")).to_contain_text("数据不完整")
        expect(page.locator("#coverage-statement")).to_contain_text(f"应有 {server['schools']} 所学校")
        assert page.locator(".provisional").count() == 4  # no area reads 达标/未达标 of the county
        page.screenshot(path=str(ARTIFACTS / "dashboard-provisional.png"))

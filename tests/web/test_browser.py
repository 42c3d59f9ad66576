"""End to end in a real browser (Playwright driving Debian's headless Chromium) against a real
server on a demo workspace: a school filler fills the form, sees a field error, fixes it and
submits; the county admin approves on the dashboard and the dashboard's evaluation changes.
Screenshots go to test-artifacts/ (gitignored).

Needs Chromium (`scripts/install-system-deps.sh` installs Debian's `chromium`); never runs
`playwright install`. Skipped, with the reason, only when Chromium is missing outside CI.
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from browser import ARTIFACTS, log_in, screen_page, serve
from rich.console import Console
from sqlalchemy import select
from web_world import password_hash

from junheng.demo.synthetic import generate_county
from junheng.services import load_demo_into_store, open_database
from junheng.store import repo
from junheng.store.models import School, SchoolYear, User

def demo_workspace(root: Path) -> tuple[str, str, int]:
    """The demo county as `junheng demo` stores it (its latest complete school year only, to keep
    the test fast), with the first school's year set back to draft. Returns (county, school, year)."""
    dataset = generate_county(2024, today=date(2026, 12, 1))
    year = int(dataset.county_year["year"].max())  # 2025: the year in progress (2026) is left out
    dataset.school_year = dataset.school_year[dataset.school_year["year"] == year].reset_index(drop=True)
    dataset.county_year = dataset.county_year[dataset.county_year["year"] == year].reset_index(drop=True)
    dataset.quality = dataset.quality[dataset.quality["year"] == year].reset_index(drop=True)
    load_demo_into_store(root, dataset, Console(file=io.StringIO()))
    database, _ = open_database(root, migrate=False)
    with database.session() as s:
        for user in s.scalars(select(User)):
            user.password_hash = password_hash()  # the demo prints random passwords
        school = s.scalars(select(School).order_by(School.code)).first()
        row = s.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == year))
        repo.transition(s, row, "reopen", user=None, via="system", note="浏览器测试:退回草稿")
        codes = school.county.code, school.code
    database.engine.dispose()
    return codes[0], codes[1], year


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium):
    """`junheng serve` in-process: uvicorn on a free 127.0.0.1 port, in a thread."""
    from junheng.web.app import create_app

    root = tmp_path_factory.mktemp("browser-workspace")
    county, school, year = demo_workspace(root)
    database, settings = open_database(root)
    with serve(create_app(settings, database)) as url:
        yield {"url": url, "county": county, "school": school, "year": year}
    database.engine.dispose()




def status_line(page) -> str:
    return page.locator("p.muted", has_text="学校数据状态").inner_text()


def units(page) -> int:
    return int(re.search(r"评估单位 (\d+) 个", page.locator(".cards").first.inner_text()).group(1))


def test_fill_fix_submit_approve_and_the_dashboard_follows(server, browser):
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    base, school, year, county = server["url"], server["school"], server["year"], server["county"]
    with screen_page(browser, "failure") as page:
        _walk_through(page, page.context, base, school, year, county, expect)


def _walk_through(page, context, base, school, year, county, expect) -> None:
    # the school filler lands on the school page and opens the draft year
    log_in(page, base, "school")
    assert page.url.endswith(f"/schools/{school}")
    page.click(f"a[href='/schools/{school}/years/{year}']")
    expect(page.locator("#status")).to_have_text("草稿")
    # a bad value: the error appears beside the field, the typed value stays, nothing is stored
    page.fill("#f-students_primary", "两千三百")
    page.click("#btn-submit")
    expect(page.locator("#err-students_primary")).to_contain_text("无效")
    expect(page.locator("#f-students_primary")).to_have_value("两千三百")
    expect(page.locator("#status")).to_have_text("草稿")
    page.locator("#field-students_primary").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "school-form-error.png"))
    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(page.url)
    phone.screenshot(path=str(ARTIFACTS / "school-form-phone.png"))
    phone.close()
    # fixed and submitted
    page.fill("#f-students_primary", "2300")
    page.click("#btn-submit")
    expect(page.locator("#flash")).to_contain_text("已保存并提交审核")
    expect(page.locator("#status")).to_have_text("已提交")
    page.click("header button[type=submit]")  # 退出
    expect(page).to_have_url(re.compile(r"/login$"))

    # the county admin sees it waiting on the dashboard and approves it there
    log_in(page, base, "county")
    assert page.url.endswith(f"/counties/{county}")
    before_status, before_units = status_line(page), units(page)
    assert "已提交 1 所" in before_status
    page.screenshot(path=str(ARTIFACTS / "dashboard-before-approval.png"), full_page=False)
    row = page.locator(f"#pending tr[data-school='{school}']")
    row.locator("button[value=approve]").click()
    expect(page.locator("#flash")).to_contain_text("已审核通过")
    after_status = status_line(page)
    assert "已提交" not in after_status and after_status != before_status
    assert units(page) == before_units + 1  # the evaluation now includes the approved school
    # the demo county fails resource allocation and government guarantee (the engine on the same
    # data): one approved school more does not change that
    expect(page.locator("#verdict .badge")).to_have_class("badge fail")
    expect(page.locator("#verdict .badge")).to_have_text("未达标")
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=False)
    page.goto(f"{base}/schools/{school}")
    expect(page.locator("h2", has_text="资源配置")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "school-page.png"), full_page=True)

"""From an empty install to an evaluated county in the browser alone (Playwright driving Debian's
headless Chromium against a real server): `junheng init` makes the workspace and its first
admin; the admin builds province, city and county, a school, a county admin and a school filler
through the 管理 pages; the filler fills and submits the school year (the passing values of
tests/builders.py); the county admin approves it and fills the county's year and quality rows;
the dashboard shows a verdict and the change logs list what everyone did. Screenshots go to
test-artifacts/ (gitignored).
"""

from __future__ import annotations

import re

import builders
import pytest
from browser import ARTIFACTS, log_in, screen_page, serve

from junheng.services import open_database

PROVINCE, CITY, COUNTY = "990000", "990100", "990102"
SCHOOL = "9901020001"
PASSWORD = "系统管理员的口令-2025"  # `junheng init --password` follows the password policy
FILLER_PASSWORD = "填报员的密码2024"


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory, chromium):
    """`junheng init` (the real command), then the site on a free 127.0.0.1 port in a thread."""
    from junheng.web.app import create_app

    root = tmp_path_factory.mktemp("empty-install")
    done = builders.run_junheng("init", "--workspace", str(root), "--password", PASSWORD)
    assert done.returncode == 0, done.stdout + done.stderr
    database, settings = open_database(root)
    with serve(create_app(settings, database)) as url:
        yield url
    database.engine.dispose()




def first_log_in(page, base: str, username: str, given: str, own: str) -> None:
    """A password the administrator gave must be changed first: the site opens on 修改密码."""
    log_in(page, base, username, given)
    assert page.url.endswith("/account/password")
    page.fill("#old", given)
    page.fill("#new", own)
    page.fill("#repeat", own)
    page.click("form.stacked button[type=submit]")
    page.wait_for_url(lambda url: "/login" in url)
    log_in(page, base, username, own)


def log_out(page, expect) -> None:
    page.click("header button[type=submit]")
    expect(page).to_have_url(re.compile(r"/login$"))


def fill_values(page, values: dict) -> None:
    """Type a row of the interchange format into a data form, as a person would."""
    for key, value in values.items():
        field = page.locator(f"#f-{key}")
        if isinstance(value, bool):
            field.select_option("是" if value else "否")
        elif field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(str(value))
        else:
            field.fill(str(int(value)) if isinstance(value, float) and value.is_integer() else str(value))


def test_from_an_empty_install_to_an_evaluated_county_in_the_browser(empty_server, browser):
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    with screen_page(browser, "empty-install-failure") as page:
        _walk_through(page, empty_server, expect)


def _walk_through(page, base: str, expect) -> None:
    # ---- the first admin: an empty overview points to 管理
    log_in(page, base, "admin", PASSWORD)
    expect(page.locator("#first-run")).to_contain_text("先创建县区")
    page.screenshot(path=str(ARTIFACTS / "empty-install-overview.png"))
    page.click("#nav-admin")
    expect(page.locator("#first-steps")).to_be_visible()

    # ---- province, city, county (one mistake on the way, explained beside its field)
    page.click("#new-province")
    page.fill("#f-code", PROVINCE)
    page.fill("#f-name", "示范省")
    page.click("#btn-save")
    expect(page.locator(f"#node-{PROVINCE}")).to_contain_text("示范省")
    page.locator(f"#node-{PROVINCE}").get_by_role("link", name="新建市").click()
    page.fill("#f-code", CITY)
    page.fill("#f-name", "示范市")
    expect(page.locator("#f-parent")).to_have_value(PROVINCE)
    page.click("#btn-save")
    page.screenshot(path=str(ARTIFACTS / "empty-install-admin-tree.png"))
    page.locator(f"#node-{CITY}").get_by_role("link", name="新建县区").click()
    page.fill("#f-code", COUNTY)
    page.fill("#f-name", "示范县")
    page.fill("#f-target_year", "二〇二七")
    page.click("#btn-save")
    expect(page.locator("#err-target_year")).to_contain_text("四位年份")
    page.screenshot(path=str(ARTIFACTS / "empty-install-county-error.png"))
    expect(page.locator("#f-standard")).to_have_value("national-2017")
    page.fill("#f-target_year", "2027")
    page.click("#btn-save")
    expect(page).to_have_url(re.compile(rf"/admin/counties/{COUNTY}"))
    expect(page.locator("#no-schools")).to_be_visible()

    # ---- a school, then its county admin and its filler
    page.click("#new-school")
    page.fill("#f-school_id", SCHOOL)
    page.fill("#f-school_name", "示范县实验小学")
    page.select_option("#f-school_type", "primary")
    page.select_option("#f-locale", "town")
    page.select_option("#f-boarding", "否")
    page.screenshot(path=str(ARTIFACTS / "empty-install-school-form.png"))
    page.click("#btn-save")
    expect(page.locator(f"#school-{SCHOOL}")).to_contain_text("示范县实验小学")
    page.click("#new-user")
    page.fill("#f-username", "xian_admin")
    page.fill("#f-display_name", "示范县教体局")
    page.select_option("#f-role", "county_admin")
    expect(page.locator("#f-scope")).to_have_value(COUNTY)
    page.click("#btn-create-user")
    county_password = page.locator("#new-password").inner_text().strip()
    page.screenshot(path=str(ARTIFACTS / "empty-install-password-once.png"))
    page.goto(f"{base}/admin/counties/{COUNTY}")
    page.locator(f"#school-{SCHOOL}").get_by_role("link", name="添加填报员").click()
    expect(page.locator("#f-role")).to_have_value("school_filler")
    expect(page.locator("#f-scope")).to_have_value(SCHOOL)
    page.fill("#f-username", "tianbao")
    page.check("#pw-typed")
    page.fill("#f-password", FILLER_PASSWORD)
    page.fill("#f-password_repeat", FILLER_PASSWORD)
    page.click("#btn-create-user")
    expect(page.locator("#typed-password")).to_be_visible()
    page.goto(f"{base}/admin/counties/{COUNTY}")
    page.screenshot(path=str(ARTIFACTS / "empty-install-county-admin.png"))
    page.goto(f"{base}/counties/{COUNTY}")  # the new county already offers its forms
    expect(page.locator("#link-county-year")).to_be_visible()
    expect(page.locator("a.fill-link")).to_have_attribute("href", re.compile(rf"/schools/{SCHOOL}/years/new\?year="))
    log_out(page, expect)

    # ---- the filler fills the school year and submits it
    first_log_in(page, base, "tianbao", FILLER_PASSWORD, "填报员本人的密码-2025")
    expect(page).to_have_url(re.compile(rf"/schools/{SCHOOL}$"))
    page.fill("#new-year", str(builders.YEAR))
    page.click("form.new-year button[type=submit]")
    expect(page.locator("#status")).to_have_text("尚未填报")
    row = builders.school_year(SCHOOL, "primary")
    fill_values(page, {k: v for k, v in row.items() if k not in ("school_id", "year")})
    page.click("#btn-submit")
    expect(page.locator("#flash")).to_contain_text("已保存并提交审核")
    expect(page.locator("#status")).to_have_text("已提交")
    log_out(page, expect)

    # ---- the county admin approves, fills the quality rows and the county's year
    first_log_in(page, base, "xian_admin", county_password, "县管理员本人的密码-2025")
    expect(page).to_have_url(re.compile(rf"/counties/{COUNTY}$"))
    page.locator(f"#pending tr[data-school='{SCHOOL}'] button[value=approve]").click()
    expect(page.locator("#flash")).to_contain_text("已审核通过")
    page.click("#link-county-year")
    expect(page.locator("h1")).to_contain_text(f"{builders.YEAR}—{builders.YEAR + 1} 学年县级数据")
    for batch in (builders.quality()[:2], builders.quality()[2:]):
        form = page.locator("#quality-form")
        blank = form.locator("input[name=subject]:not([type=hidden])")  # the form's two empty rows
        for i, q in enumerate(batch):
            blank.nth(i).fill(q["subject"])
            line = blank.nth(i).locator("xpath=ancestor::tr")
            line.locator("select[name=level]").select_option(str(q["level"]))
            line.locator("input[name=rate]").fill(str(q["inter_school_diff_rate"]))
        form.locator("button[type=submit]").click()
        expect(page.locator("#flash")).to_contain_text("已保存")
    expect(page.locator("table.quality")).to_contain_text("科学")
    fill_values(page, {k: v for k, v in builders.county_year().items() if k not in ("county_code", "year")})
    page.get_by_role("button", name="保存并确认定稿（锁定）").click()
    expect(page.locator("#flash")).to_contain_text("已保存并锁定")

    # ---- the dashboard evaluates the county from what was typed
    page.goto(f"{base}/counties/{COUNTY}")
    # one school with the builders' passing rows, the county's year and quality as typed: 达标
    expect(page.locator("#verdict .badge")).to_have_class("badge pass")
    expect(page.locator("#verdict .badge")).to_have_text("达标")
    assert "评估单位 1 个" in page.locator(".cards").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "empty-install-dashboard.png"))

    # ---- the change logs: the county's (its creation, the school, the accounts, the data) ...
    page.goto(f"{base}/counties/{COUNTY}/audit")
    log = page.locator("#audit")
    for words in ("县区 990102", f"学校 {SCHOOL}", "用户 tianbao", "用户 xian_admin", "审核状态", "小学在校生数",
                  "设置初始密码", "示范县教体局（xian_admin）"):  # pages typeset Chinese punctuation
        expect(log).to_contain_text(words)
    page.screenshot(path=str(ARTIFACTS / "empty-install-audit.png"))
    log_out(page, expect)
    # ... and the administrator's, with the province and the city
    log_in(page, base, "admin", PASSWORD)
    page.goto(f"{base}/admin/audit")
    for words in (f"省 {PROVINCE}", f"市 {CITY}", "示范省", "示范市", "新建县区", "新建学校", "新建用户"):
        expect(page.locator("#admin-audit")).to_contain_text(words)
    page.screenshot(path=str(ARTIFACTS / "empty-install-admin-audit.png"))

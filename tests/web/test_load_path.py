"""The cheap request path (issue 17): cached evaluations, year progress and page fragments that
still show every change of approved data on the next view; static files with versioned URLs,
long-lived caching and gzip; pages compressed; the warm-up at start-up; the request profiler."""

from __future__ import annotations

import re

import builders
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_world import COUNTY, YEAR

from junheng.store import repo
from junheng.store.evaluations import data_stamp
from junheng.store.models import AuditEntry, School, SchoolYear
from junheng.web.app import create_app

SCHOOL_NAME = "测试学校P1"


def _reopen_change_approve(world, code: str, **values) -> None:
    """Change an approved school-year as a county does: reopen, edit, submit, approve (audited)."""
    with world.database.session() as s:
        school = s.scalar(select(School).where(School.code == code))
        row = s.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == YEAR))
        repo.transition(s, row, "reopen", user=None, via="cli")
        changes = [repo.Change("school_year", f"{code}/{YEAR}", COUNTY, k, row.values.get(k), v)
                   for k, v in values.items()]
        repo.apply(s, changes, user=None, via="cli")
        repo.transition(s, row, "submit", user=None, via="cli")
        repo.transition(s, row, "approve", user=None, via="cli")


def _failing_section(html: str) -> str:
    return html.split("未达标项目", 1)[1].split("<h2>学校</h2>", 1)[0]


def test_a_change_of_approved_data_shows_on_the_next_dashboard_and_school_page(web_world):
    client = web_world.login("county")
    before = client.get(f"/counties/{COUNTY}").text
    assert f"资源配置：{SCHOOL_NAME}" not in _failing_section(before)
    assert client.get(f"/counties/{COUNTY}").text == before  # the cached page is the same page
    school_before = client.get("/schools/P1").text
    # P1's sports ground shrinks to 1 m²: its resource allocation fails (a new evaluation run)
    _reopen_change_approve(web_world, "P1", sports_area=1.0)
    after = client.get(f"/counties/{COUNTY}").text
    assert f"资源配置：{SCHOOL_NAME}" in _failing_section(after)
    assert client.get("/schools/P1").text != school_before
    # and back: the original data's run is found again, its page as it was
    _reopen_change_approve(web_world, "P1", sports_area=builders.school_year("P1")["sports_area"])
    assert f"资源配置：{SCHOOL_NAME}" not in _failing_section(client.get(f"/counties/{COUNTY}").text)


def test_an_approval_shows_on_the_next_view(web_world):
    client = web_world.login("county")
    complete = client.get(f"/counties/{COUNTY}").text
    assert f'id="in-progress-{YEAR}"' not in complete
    with web_world.database.session() as s:  # P1 reopened and submitted: the year is incomplete again
        school = s.scalar(select(School).where(School.code == "P1"))
        row = s.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == YEAR))
        repo.transition(s, row, "reopen", user=None, via="cli")
        repo.transition(s, row, "submit", user=None, via="cli")
    pending = client.get(f"/counties/{COUNTY}").text
    assert 'id="pending-review"' in pending and "P1" in pending.split('id="pending-review"', 1)[1]
    overview = web_world.login("admin").get("/overview").text
    assert "填报中" in overview
    approved = client.post(f"/schools/P1/years/{YEAR}/workflow", {"action": "approve", "next": f"/counties/{COUNTY}"})
    assert approved.status_code == 303, approved.text
    shown = client.get(f"/counties/{COUNTY}").text
    assert 'id="pending-review"' not in shown and f'id="in-progress-{YEAR}"' not in shown


def test_a_new_draft_row_changes_the_data_stamp(web_world):
    """A save that makes a new school-year (a draft: audited as value edits only) still changes
    what the year progress is cached by."""
    with web_world.database.session() as s:
        county = repo.county_by_code(s, COUNTY)
        stamp = data_stamp(s, county.id)
    with web_world.database.session() as s:
        school = s.scalar(select(School).where(School.code == "P1"))
        s.add(SchoolYear(school_id=school.id, year=YEAR - 1, values={}, status="draft"))
    with web_world.database.session() as s:
        assert data_stamp(s, repo.county_by_code(s, COUNTY).id) != stamp


def test_nothing_is_cached_by_a_unit_of_work_that_wrote_audit_entries(web_world):
    with web_world.database.session() as s:
        county = repo.county_by_code(s, COUNTY)
        assert data_stamp(s, county.id) is not None
        s.add(AuditEntry(via="cli", entity="county", entity_key=COUNTY, county_id=county.id, field="note"))
        s.flush()
        assert data_stamp(s, county.id) is None  # (its ids may be given again after a rollback)
        s.rollback()
        assert data_stamp(s, county.id) is not None


def test_static_files_have_versioned_urls_long_lived_caching_and_gzip(web_world):
    client = TestClient(web_world.app())
    page = client.get("/login")
    url = re.search(r'href="(/static/app\.css\?v=[0-9a-f]{12})"', page.text).group(1)
    versioned = client.get(url, headers={"accept-encoding": "gzip"})
    assert versioned.status_code == 200
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert versioned.headers["content-encoding"] == "gzip" and "Accept-Encoding" in versioned.headers["vary"]
    assert "body" in versioned.text  # (httpx decodes it)
    again = client.get(url, headers={"accept-encoding": "gzip", "if-none-match": versioned.headers["etag"]})
    assert again.status_code == 304
    stale = client.get("/static/app.css?v=000000000000")  # a page of an older release: ask again each time
    assert stale.headers["cache-control"] == "no-cache"
    plain = client.get("/static/app.css", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.headers["cache-control"] == "no-cache"
    assert plain.text == versioned.text
    charts = client.get("/static/vendor/echarts/echarts.min.js", headers={"accept-encoding": "gzip"})
    assert charts.headers["content-encoding"] == "gzip"
    assert int(charts.headers["content-length"]) < len(charts.content) / 2  # 1 MB sent as about 330 KB
    assert client.get("/static/nothing-here.js").status_code == 404


def test_pages_are_compressed_and_keep_their_headers(web_world):
    client = web_world.login("county")
    page = client.get(f"/counties/{COUNTY}", headers={"accept-encoding": "gzip"})
    assert page.status_code == 200 and page.headers["content-encoding"] == "gzip"
    assert "content-security-policy" in page.headers and "<h1>" in page.text
    assert re.search(r'src="/static/vendor/echarts/echarts\.min\.js\?v=[0-9a-f]{12}"', page.text)
    report = client.get(f"/counties/{COUNTY}/report.xlsx?year={YEAR}", headers={"accept-encoding": "gzip"})
    if report.status_code == 200:  # a spreadsheet is a zip already: sent as it is
        assert "content-encoding" not in report.headers


def test_the_warm_up_fills_the_caches_before_the_first_request(web_world, monkeypatch):
    app = create_app(web_world.settings, web_world.database, warm=True)
    with TestClient(app):
        warmed = app.state.warmed
        assert warmed["counties"] == 2 and warmed["runs"] >= 2 and warmed["fragments"] == 2
        assert warmed["templates"] > 20 and warmed["static_files"] > 5 and warmed["complete"]
    # the first page view after start-up reads no county's data and evaluates nothing
    from junheng.engine import evaluate

    def refuse(*args, **kwargs):
        raise AssertionError("the first request loaded or evaluated a county")

    monkeypatch.setattr(repo, "load_dataset", refuse)
    monkeypatch.setattr(evaluate, "evaluate_dataset", refuse)
    client = web_world.login("county")
    assert "<h1>" in client.get(f"/counties/{COUNTY}").text
    assert client.get("/schools/P1").status_code == 200


def test_the_profiler_writes_each_kind_of_request(web_world, tmp_path, monkeypatch):
    from junheng.web import profiling

    folder = tmp_path / "profile"
    monkeypatch.setenv(profiling.PROFILE_ENV, str(folder))
    app = create_app(web_world.settings, web_world.database)
    with TestClient(app) as client:
        client.post("/login", data={"username": "county", "password": "password123"}, follow_redirects=False)
        for _ in range(3):
            assert client.get(f"/counties/{COUNTY}").status_code == 200
    kinds = profiling.load_profiles(folder)
    assert kinds["GET /counties/{code}"]["requests"] == 3 and kinds["GET /counties/{code}"]["cpu_s"] > 0
    summary = profiling.summarise(folder)
    assert "GET /counties/{code}: 3 requests" in summary
    # the junheng functions that took the CPU, with their places (the route itself, when it takes
    # nearly all of it, is left out as saying nothing)
    assert re.search(r"ms +\d+%  \w+  \(junheng\.[\w.]+:\d+\)", summary), summary
    assert list(folder.glob("profile-tree-*.txt"))


def _school_row(html: str, code: str) -> str:
    """The row of school `code` in the county page's table of schools (a cached fragment)."""
    table = html.split("<h2>学校</h2>", 1)[1]
    return table.split(f'<tr><td><a href="/schools/{code}">', 1)[1].split("</tr>", 1)[0]


def test_the_table_of_schools_shows_a_renamed_school_and_a_new_state_on_the_next_view(web_world):
    client = web_world.login("county")
    page = client.get(f"/counties/{COUNTY}?year={YEAR}").text
    assert SCHOOL_NAME in _school_row(page, "P1") and "已审核" in _school_row(page, "P1")
    assert client.get(f"/counties/{COUNTY}?year={YEAR}").text == page  # the cached table is the same table
    with web_world.database.session() as s:  # renamed as the admin pages do it (an audited change)
        repo.apply(s, [repo.Change("school", "P1", COUNTY, "school_name", SCHOOL_NAME, "改名后的学校")],
                   user=None, via="cli")
    renamed = client.get(f"/counties/{COUNTY}?year={YEAR}").text
    assert "改名后的学校" in _school_row(renamed, "P1") and SCHOOL_NAME not in _school_row(renamed, "P1")
    with web_world.database.session() as s:  # reopened: a draft again
        school = s.scalar(select(School).where(School.code == "P1"))
        row = s.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == YEAR))
        repo.transition(s, row, "reopen", user=None, via="cli")
    reopened = client.get(f"/counties/{COUNTY}?year={YEAR}").text
    assert "草稿" in _school_row(reopened, "P1") and "已审核" not in _school_row(reopened, "P1")
    assert "草稿 1 所" in reopened  # the states' counts beside the result


def test_the_table_of_schools_is_not_shared_between_who_manages_the_county_and_who_does_not(web_world):
    """A viewer's table and a county admin's are kept apart (the admin's has the review links)."""
    admin = web_world.login("county").get(f"/counties/{COUNTY}?year={YEAR}").text
    viewer = web_world.login("viewer").get(f"/counties/{COUNTY}?year={YEAR}").text
    assert 'id="link-review"' in admin and 'id="link-review"' not in viewer
    # both tables name the same schools with the same states
    assert _school_row(admin, "P1") == _school_row(viewer, "P1")


def test_charts_loaded_by_the_trends_script_come_from_a_versioned_url(web_world):
    """The school page has no ECharts of its own: trends.js loads it from the URL its tag gives,
    which is versioned (cached for a year) like every static file."""
    client = web_world.login("county")
    page = client.get("/schools/P1").text
    tag = re.search(r'<script src="(/static/trends\.js\?v=[0-9a-f]{12})" data-echarts="([^"]+)"', page)
    assert tag, page[-2000:]
    assert re.fullmatch(r"/static/vendor/echarts/echarts\.min\.js\?v=[0-9a-f]{12}", tag.group(2))
    charts = client.get(tag.group(2))
    assert charts.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "ECHARTS_URL = (document.currentScript && document.currentScript.dataset.echarts)" in \
        client.get(tag.group(1)).text

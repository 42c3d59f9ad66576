"""A school year as it really happens (issue 10): the warnings follow the latest complete year.
Approving the new year's data of one school, even much better data, resolves, raises and
worsens nothing; the year counts once every school and the county-level row are approved. The
data warning of a late year is one per county and deadline, naming the schools behind it
(SQLite and PostgreSQL)."""

import sys
from datetime import date
from pathlib import Path

from sqlalchemy import select

import builders
from junheng.monitor.rules import rules_for, severity_legend
from junheng.monitor.service import city_schedule, time_series
from junheng.monitor.warnings import list_warnings
from junheng.store import repo
from junheng.store.models import CountyYear, MonitorWarning, OrgNode, School, SchoolYear
from monitor_helpers import COUNTY, county_row, settings, store, watch, year_dataset

CERTIFIED = county_row(certified_year=2021, target_year=2021)
R5_KEY = f"{COUNTY}|breach|breach|R5/unit/P1/primary/-"
DECLINE_KEY = f"{COUNTY}|decline|decline|R5/unit/P1/primary/-"
DATA_KEY = f"{COUNTY}|data_missing|data_not_approved|county/2025"


def _sports(**areas: float) -> dict:
    # P1 and J1: 1,000 pupils each, R5 = area / 1000 (primary threshold 7.5 m², junior 10.2 m²)
    return {school: {"sports_area": area} for school, area in areas.items()}


def _approve(database, *schools: str, year: int = 2025, county_year: bool = False) -> None:
    with database.session() as s:
        for code in schools:
            row = s.scalar(select(SchoolYear).join(School).where(School.code == code, SchoolYear.year == year))
            repo.transition(s, row, "approve", user=None, via="form")
        if county_year:
            row = s.scalar(select(CountyYear).join(OrgNode).where(OrgNode.code == COUNTY, CountyYear.year == year))
            repo.transition(s, row, "approve", user=None, via="form")


def _open(database) -> dict[str, MonitorWarning]:
    with database.session() as s:
        return {w.key: w for w in list_warnings(s, COUNTY)}


def _stored_2023_2024(database) -> None:
    store(database, year_dataset(2023, _sports(P1=9000.0), CERTIFIED))
    store(database, year_dataset(2024, _sports(P1=6000.0), CERTIFIED))  # P1's R5 falls below 85% of 7.5


def test_a_year_in_progress_resolves_and_worsens_nothing_until_it_is_complete(database):
    _stored_2023_2024(database)
    first = watch(database, date(2025, 1, 10))
    before = _open(database)
    assert before[R5_KEY].severity == "red" and before[R5_KEY].year == 2024
    assert DECLINE_KEY in before and before[DECLINE_KEY].numbers["value"] == 6.0
    assert first.totals()["open"] == len(before)

    # 2025 is filled in: P1 restores its sports ground (9,000 m²), J1 loses half of its own
    store(database, year_dataset(2025, _sports(P1=9000.0, J1=5000.0), CERTIFIED), status="submitted")
    _approve(database, "P1")  # 1 of 6 schools approved: the partial evaluation would pass R5 of P1
    with database.session() as s:
        coverage = repo.year_progress(s, repo.county_by_code(s, COUNTY)).coverage[2025]
        assert not coverage.complete and coverage.fraction() == "1/6"
    partial = watch(database, date(2025, 1, 20))
    totals = partial.totals()
    assert (totals["worsened"], totals["reopened"], totals["resolved"]) == (0, 0, 0), totals
    # the one new warning is a data check of J1's submitted row, for the reviewer: no verdict moved
    (jump,) = [w for c in partial.counties for w in c.changes.new]
    assert (jump.key, jump.year) == (f"{COUNTY}|data_jump|data_jump|J1/sports_area/2025", 2025)
    after = _open(database)
    assert set(after) == set(before) | {jump.key}
    after.pop(jump.key)
    assert all(w.year == before[k].year and w.severity == before[k].severity for k, w in after.items())
    assert after[R5_KEY].numbers["value"] == 6.0  # still 2024's figure

    _approve(database, "J1")  # J1's worse 2025 data approved too, 2 of 6: still nothing changes
    unchanged = {"new": 0, "worsened": 0, "reopened": 0, "resolved": 0}
    assert watch(database, date(2025, 1, 21)).totals() | {"open": 0} == unchanged | {"open": 0}
    _approve(database, "P2", "P3", "J2", "N1")  # every school, but the county-level row is not approved
    assert watch(database, date(2025, 1, 22)).totals() | {"open": 0} == unchanged | {"open": 0}
    assert {k: (w.year, w.severity, w.numbers.get("value")) for k, w in _open(database).items()} == {
        k: (w.year, w.severity, w.numbers.get("value")) for k, w in before.items()} | {
        jump.key: (2025, "yellow", 5000.0)}

    # the county-level row approved: 2025 is complete and speaks for the county
    _approve(database, county_year=True)
    done = watch(database, date(2025, 1, 23))
    resolved = {w.key for c in done.counties for w in c.changes.resolved}
    assert {R5_KEY, DECLINE_KEY} <= resolved
    new = {w.key: w for c in done.counties for w in c.changes.new}
    assert f"{COUNTY}|breach|breach|R5/unit/J1/junior/-" in new  # J1's fall counts now, not before
    assert new[f"{COUNTY}|breach|breach|R5/unit/J1/junior/-"].year == 2025


def test_trends_and_schedule_read_complete_years_and_show_the_year_in_progress(database):
    _stored_2023_2024(database)
    store(database, year_dataset(2025, _sports(P1=9000.0), CERTIFIED), status="submitted")
    _approve(database, "P1", "P2")
    with database.session() as s:
        years = {r["year"] for r in time_series(s, COUNTY, indicators={"R5"})}
        assert years == {2023, 2024}
        (row,) = city_schedule(s, COUNTY, today=date(2025, 1, 10))["counties"]
        assert row["latest_year"] == 2024 and row["latest_year_label"] == "2024—2025 学年"
        assert row["failing_by_year"] == {"2023": 0, "2024": 1} and row["failing_items"] == ["R5"]
        assert row["in_progress"] == "2025—2026 学年填报中:已审核 2/6 所,县级年度数据未定稿"
        (progress,) = row["in_progress_years"]
        assert (progress["year"], progress["fraction"], progress["link"]) == (
            2025, "2/6", f"/counties/{COUNTY}/review?year=2025")

    _approve(database, "P3", "J1", "J2", "N1", county_year=True)
    with database.session() as s:
        assert {r["year"] for r in time_series(s, COUNTY, indicators={"R5"})} == {2023, 2024, 2025}
        (row,) = city_schedule(s, COUNTY, today=date(2025, 1, 10))["counties"]
        assert row["latest_year"] == 2025 and row["failing_items"] == [] and row["in_progress"] is None


def _schools(codes: str) -> list[tuple[str, str]]:
    return [(i, t) for i, t in builders.default_schools() if i in codes.split()]


def _year_rows(year: int, codes: str, *, county_year: bool = False):
    roster = _schools(codes)
    return builders.dataset([builders.school(i, t) for i, t in roster],
                            [builders.school_year(i, t, year=year) for i, t in roster],
                            [builders.county_year(year=year)] if county_year else [],
                            builders.quality(year=year) if county_year else [], counties=[CERTIFIED])


def test_the_data_warning_is_one_per_county_and_deadline_naming_the_schools(database):
    # 2024 complete; P9 is registered too but opens in 2026 (建成年份): expected in neither year
    roster = builders.default_schools()
    store(database, builders.dataset([builders.school(i, t) for i, t in roster]
                                     + [builders.school("P9", "primary", build_year=2026)],
                                     [builders.school_year(i, t, year=2024) for i, t in roster],
                                     [builders.county_year(year=2024)], builders.quality(year=2024),
                                     counties=[CERTIFIED]))
    # 2025: P1 approved, P2 submitted, P3 a draft, J1 returned, J2 and N1 nothing; no county-level row
    store(database, _year_rows(2025, "P1 P2 J1"), status="submitted")
    store(database, _year_rows(2025, "P3"), status="draft")
    with database.session() as s:
        row = {code: s.scalar(select(SchoolYear).join(School).where(School.code == code, SchoolYear.year == 2025))
               for code in ("P1", "J1")}
        repo.transition(s, row["P1"], "approve", user=None, via="form")
        repo.transition(s, row["J1"], "return", user=None, via="form", note="在校生数有误")
        county = repo.county_by_code(s, COUNTY)
        # a warning left by the old detector (one per school): resolved by the new one, not left open
        s.add(MonitorWarning(key=f"{COUNTY}|data_missing|data_not_approved|J2/2025", county_id=county.id,
                             kind="data_missing", rule_id="data_not_approved", severity="orange", year=2025,
                             title="测试学校J22025学年数据未填报", message="……", numbers={}, responsible=["教体局"],
                             badness=3.0, peak_badness=3.0))

    # on the due date: nothing yet, and the old per-school warning is resolved by the first run
    early = watch(database, date(2025, 11, 30))
    assert [w.key for c in early.counties for w in c.changes.new if w.kind == "data_missing"] == []
    assert [w.key for c in early.counties for w in c.changes.resolved] == [
        f"{COUNTY}|data_missing|data_not_approved|J2/2025"]

    report = watch(database, date(2025, 12, 5))
    assert [w.key for c in report.counties for w in c.changes.new if w.kind == "data_missing"] == [DATA_KEY]
    with database.session() as s:
        (warning,) = list_warnings(s, COUNTY, kinds=["data_missing"])
        assert warning.key == DATA_KEY and warning.year == 2025 and warning.severity == "orange"
        assert warning.school_id is None  # the county's warning, not a school's
        assert warning.title == "2025—2026 学年:已审核 1/6 所,应于 2025-11-30 前完成,已逾期 5 天"
        numbers = warning.numbers
        assert (numbers["schools_expected"], numbers["schools_approved"], numbers["days_late"]) == (6, 1, 5)
        assert {(m["school_id"], m["status"]) for m in numbers["schools"]} == {
            ("P2", "submitted"), ("P3", "draft"), ("J1", "returned"), ("J2", "none"), ("N1", "none")}
        assert numbers["by_status"] == {"none": 2, "draft": 1, "returned": 1, "submitted": 1}
        assert numbers["county_year_status"] == "none"
        message = warning.message
        assert message.startswith("2025—2026 学年数据尚未全部审核通过")
        assert "未填报 2 所(测试学校J2、测试学校N1)" in message and "已提交待审核 1 所(测试学校P2)" in message
        assert "未提交 1 所(测试学校P3)" in message and "被退回待重新提交 1 所(测试学校J1)" in message
        assert "县级年度数据未填报" in message and "P9" not in message and "测试学校P1" not in message
        assert [w for w in list_warnings(s, COUNTY, status="all", kinds=["data_missing"]) if w.resolved_at is None
                ] == [warning]

    # 30 days late: red, the same warning (worsened), still one for the county
    later = watch(database, date(2025, 12, 30))
    assert [w.key for c in later.counties for w in c.changes.worsened if w.kind == "data_missing"] == [DATA_KEY]
    with database.session() as s:
        (warning,) = list_warnings(s, COUNTY, kinds=["data_missing"])
        assert warning.severity == "red" and warning.numbers["days_late"] == 30 and warning.occurrence == 1


def test_a_complete_year_has_no_data_warning_and_an_unstarted_one_counts_its_roster(database):
    store(database, year_dataset(2024, county=CERTIFIED))
    with database.session() as s:  # a school closed in 2025 is not expected in a year it did not report
        repo.soft_delete(s, repo.school_by_code(s, "N1"), user=None, via="form")
    # 2025 not begun at all on 2025-12-10: 0 of the 5 schools still open
    watch(database, date(2025, 12, 10))
    with database.session() as s:
        (warning,) = list_warnings(s, COUNTY, kinds=["data_missing"])
        assert warning.title.startswith("2025—2026 学年:已审核 0/5 所,应于 2025-11-30 前完成,已逾期 10 天")
        assert {m["school_id"] for m in warning.numbers["schools"]} == {"P1", "P2", "P3", "J1", "J2"}
        assert all(m["status"] == "none" for m in warning.numbers["schools"])

    # a year later the gap is still there (red now) and the next year is due too: one warning each
    year_later = watch(database, date(2026, 12, 5))
    assert year_later.totals()["resolved"] == 0
    with database.session() as s:
        by_year = {w.year: w for w in list_warnings(s, COUNTY, kinds=["data_missing"])}
        assert sorted(by_year) == [2025, 2026] and by_year[2025].key == DATA_KEY
        assert (by_year[2025].severity, by_year[2025].numbers["days_late"]) == ("red", 370)
        assert (by_year[2026].severity, by_year[2026].numbers["days_late"]) == ("orange", 5)
        assert by_year[2026].title == "2026—2027 学年:已审核 0/5 所,应于 2026-11-30 前完成,已逾期 5 天"

    # all five schools and the county-level row of 2025 approved: that year's warning is resolved
    store(database, _year_rows(2025, "P1 P2 P3 J1 J2", county_year=True))
    done = watch(database, date(2026, 12, 6))
    assert [w.key for c in done.counties for w in c.changes.resolved] == [DATA_KEY]
    with database.session() as s:
        assert [w.year for w in list_warnings(s, COUNTY, kinds=["data_missing"])] == [2026]


def test_warnings_page_legend_follows_the_rules_and_the_data_warning_lists_its_schools(database, tmp_path):
    sys.path.insert(0, str(Path(__file__).parents[1] / "web"))
    from web_world import add_users, login, role_users, web_settings

    from junheng.web.app import create_app

    store(database, year_dataset(2024, county=CERTIFIED))
    store(database, _year_rows(2025, "P1 P2"), status="submitted")
    _approve(database, "P1")
    watch(database, date(2025, 12, 5))
    with database.session() as s:
        add_users(s, role_users(county=COUNTY))
    app = create_app(web_settings(database, tmp_path / "uploads"), database)
    app.state.monitor_settings = settings()
    client = login(app, "county")

    data = client.get(f"/counties/{COUNTY}/warnings", params={"format": "json", "kind": "data_missing"}).json()
    (warning,) = data["warnings"]
    assert warning["school_id"] is None and warning["severity"] == "orange"
    assert "已审核 1/6 所" in warning["numbers_text"] and "逾期 5 天" in warning["numbers_text"]

    page = builders.plain(client.get(f"/counties/{COUNTY}/warnings").text)
    legend = page[page.index('id="legend"'):].split("</p>")[0]
    rules = severity_legend(rules_for(COUNTY, "national-2017"))
    for severity, word in (("red", "红色"), ("orange", "橙色"), ("yellow", "黄色")):
        assert f'<span class="sev {severity}">{word}</span>为' + "、".join(rules[severity]) in legend, legend
    # the colours shown are the ones the legend names: the orange data warning is 逾期不足 30 天
    assert "年度数据未按时审核(逾期不足 30 天)" in rules["orange"]
    assert "年度数据未按时审核(逾期 30 天及以上)" in rules["red"]
    assert "督办任务到期(7 天内)" in rules["yellow"] and "督办任务已逾期" in rules["red"]
    assert "指标未达标(单项低于标准、学校仍综合达标)" in rules["orange"]
    assert "预计将不达标(下一学年)" in rules["red"] and "预计将不达标(2–3 年后)" in rules["orange"]
    details = page[page.index('class="data-schools"'):].split("</details>")[0]
    assert "未完成的学校(5 所)" in details
    for code in ("P2", "P3", "J1", "J2", "N1"):
        assert f'data-school="{code}"' in details
    assert 'data-school="P1"' not in details and 'data-school="P2" data-status="submitted"' in details

    # the schedule shows the complete year and the year being filled in beside it
    schedule = builders.plain(client.get(f"/nodes/{COUNTY}/schedule").text)
    row = schedule[schedule.index(f'data-county="{COUNTY}"'):].split("</tr>")[0]
    assert "2024—2025 学年" in row and "2025—2026 学年填报中:已审核 1/6 所,县级年度数据未定稿" in row
    assert f'href="/counties/{COUNTY}/review?year=2025"' in row


def test_the_legend_reads_a_county_rules_file(tmp_path):
    folder = tmp_path / "monitor-rules"
    folder.mkdir()
    (folder / f"{COUNTY}.yaml").write_text(
        "extends: default\nrules:\n  margin: {severity: orange}\n  data_not_approved: {late_days: 0}\n",
        encoding="utf-8")
    legend = severity_legend(rules_for(COUNTY, "national-2017", folder))
    assert "指标接近达标线" in legend["orange"] and "指标接近达标线" not in legend["yellow"]
    assert "年度数据未按时审核" in legend["red"] and not any("逾期不足" in t for t in legend["orange"])

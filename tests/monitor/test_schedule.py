"""The city schedule: every county's target year, standard, status and failing items, and a
warning for the counties behind the straight path to their target year (SQLite and PostgreSQL)."""

from datetime import date

import builders
from junheng.monitor.service import city_schedule, year_on_year_table
from junheng.monitor.warnings import list_warnings
from monitor_helpers import store, watch

FAILING = {"training_completion_rate": 90.0, "rotated_backbone_teachers": 5, "social_recognition_rate": 80.0}


def _county(code: str, target: int | None, years: dict[int, dict], certified: int | None = None):
    """One primary school per county; `years` maps each year to county-level overrides."""
    school = builders.school(f"S{code}", "primary", county_code=code, county_name=f"县{code}")
    rows = [builders.school_year(f"S{code}", "primary", year=y) for y in years]
    county_years = [builders.county_year(year=y, county_code=code, **over) for y, over in years.items()]
    quality = [dict(q, county_code=code) for y in years for q in builders.quality(year=y)]
    counties = [{"county_code": code, "county_name": f"县{code}", "city": "测试市", "province": "测试省",
                 "standard": "shanxi", "target_year": target, "certified_year": certified}]
    return builders.dataset([school], rows, county_years, quality, counties)


def test_city_schedule_and_behind_warnings(database):
    # on the path to 2026: 3 failing items in 2023 allow ceil(3 × 2/3) = 2 in 2024; it still has 3: behind
    store(database, _county("991101", 2026, {2023: FAILING, 2024: FAILING}))
    # 2028: 3 items in 2023 allow ceil(3 × 4/5) = 3 in 2024; it has 2: on track
    store(database, _county("991102", 2028, {2023: FAILING, 2024: dict(FAILING, social_recognition_rate=90.0)}))
    # target 2024 and still failing in 2024: overdue
    store(database, _county("991103", 2024, {2023: FAILING, 2024: {"social_recognition_rate": 80.0}}))
    # certified in 2022 and passing
    store(database, _county("991104", 2025, {2023: {}, 2024: {}}, certified=2022))

    with database.session() as s:
        schedule = city_schedule(s, "991100", today=date(2025, 1, 10))
    assert schedule["node_name"] == "测试市" and schedule["kind"] == "city"
    rows = {r["county_code"]: r for r in schedule["counties"]}
    assert [r["county_code"] for r in schedule["counties"]] == ["991103", "991104", "991101", "991102"]  # by target
    behind = rows["991101"]
    assert (behind["status"], behind["failing_count"], behind["expected_failing"]) == ("behind", 3, 2)
    assert behind["failing_items"] == ["G9", "G11", "S1"] and behind["failing_by_year"] == {"2023": 3, "2024": 3}
    assert behind["standard"] == "shanxi" and behind["status_label"] == "进度滞后" and behind["years_left"] == 1
    assert rows["991102"]["status"] == "on_track" and rows["991102"]["expected_failing"] == 3
    assert rows["991103"]["status"] == "overdue" and rows["991103"]["severity"] == "red"
    assert rows["991104"]["status"] == "certified" and rows["991104"]["verdict"] == "pass"
    assert schedule["summary"]["behind"] == 2 and schedule["summary"]["by_target_year"]["2026"]["behind"] == 1

    watch(database, date(2025, 1, 10))
    with database.session() as s:
        warnings = {w.county.code: w for w in list_warnings(s, kinds=["schedule"])}
        assert set(warnings) == {"991101", "991103"}
        assert warnings["991101"].severity == "orange" and warnings["991103"].severity == "red"
        assert "2023—2024 学年有 3 项未达标,按期推进 2024—2025 学年应不多于 2 项,实际 3 项(G9、G11、S1)" in warnings["991101"].message
        assert city_schedule(s, "991100", today=date(2025, 1, 10))["counties"][2]["warning_id"] == warnings["991101"].id
        # the year-on-year table of the on-track county: S1 went from 80% to 90%, better
        table = year_on_year_table(s, "991102", indicators={"S1"})
        (s1,) = table
        assert (s1["year"], s1["previous_value"], s1["value"], s1["direction"]) == (2024, 80.0, 90.0, "better")
        assert s1["direction_label"] == "改善" and s1["met"] is True and s1["previous_met"] is False

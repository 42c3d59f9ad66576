"""The enrolment forecast: a known cohort progression is reproduced exactly, with a band around
it; schools without grades fall back to segment growth; housing projects add pupils; seat
demand against capacity; projected class sizes raise a forecast warning (SQLite and PostgreSQL)."""

from datetime import date

import pytest

import builders
from junheng.monitor import service
from junheng.monitor.forecast import ForecastInputs, Housing, forecast_county, project_county
from junheng.monitor.warnings import list_warnings
from monitor_helpers import BIRTHS, COUNTY, known_count, known_grades, progression_dataset, store, watch


def _inputs(**extra) -> ForecastInputs:
    return ForecastInputs(grades=known_grades(), intake={b: {"births": n} for b, n in BIRTHS.items()}, **extra)


def test_a_known_progression_is_reproduced_with_a_band():
    forecast = project_county(progression_dataset(), COUNTY, _inputs(), horizon=3)
    assert forecast.base_year == 2023 and forecast.years == [2024, 2025, 2026]
    assert forecast.ratios["1→2"]["mid"] == 1.0 and forecast.ratios["6→7"]["mid"] == pytest.approx(0.9)
    assert forecast.entry["method"] == "intake" and forecast.entry["sources"]["2026"] == "births"
    for year in forecast.years:
        p1, j1 = forecast.school("P1"), forecast.school("J1")
        for grade in range(1, 7):
            assert p1.grades[year][grade].mid == pytest.approx(known_count(year, grade)), (year, grade)
        for grade in range(7, 10):
            assert j1.grades[year][grade].mid == pytest.approx(known_count(year, grade)), (year, grade)
        band = p1.segments[year]["primary"]
        assert band.low < band.mid < band.high  # a band, not one line (at least ±2% per transition)
    # e.g. 2026: grade 1 = births of 2020 (170), grade 6 = births of 2015 (120); junior 90 + 90 + 90
    assert forecast.school("P1").segments[2026]["primary"].mid == pytest.approx(170 + 160 + 150 + 140 + 130 + 120)
    assert forecast.school("J1").segments[2026]["junior"].mid == pytest.approx(270)
    assert all(s.method == "cohort" for s in forecast.schools)


def test_segment_fallback_housing_and_seat_demand():
    # P2 has no grades: its primary pupils grew 1000 → 1100 → 1210 (10% a year)
    schools = [builders.school("P2", "primary")]
    rows = [builders.school_year("P2", "primary", students=n, year=t) for t, n in ((2021, 1000), (2022, 1100),
                                                                                  (2023, 1210))]
    dataset = builders.dataset(schools, rows, [builders.county_year(year=t) for t in (2021, 2022, 2023)], [])
    housing = [Housing("滨河新城", 2025, primary_pupils=500, school_id="P2"), Housing("北区安置房", 2026, junior_pupils=90)]
    forecast = forecast_county(dataset, COUNTY, ForecastInputs(housing=housing), horizon=3, scenarios=("mid",))
    p2 = forecast.school("P2")
    assert p2.method == "segment"
    assert p2.segments[2024]["primary"].mid == pytest.approx(1331)
    assert p2.segments[2025]["primary"].mid == pytest.approx(1464.1 + 500)  # the housing project from 2025
    assert p2.segments[2024]["primary"].low < 1331 < p2.segments[2024]["primary"].high
    seats = {(s.year, s.segment): s for s in forecast.seats}
    capacity = 31 * 45  # builders: 1,210 pupils in ceil(1210/40) = 31 classes, 45 seats each (G5)
    assert seats[(2024, "primary")].capacity == capacity
    assert seats[(2025, "primary")].shortfall.mid == pytest.approx(1964.1 - capacity)
    assert seats[(2025, "primary")].additional.mid == pytest.approx(1964.1 - 1210)
    assert seats[(2026, "junior")].demand.mid == pytest.approx(90)  # a project without a school: county demand
    # projected indicators: classes grow past 45 pupils in 2025 (40 × 1964/1210 = 65), the school
    # past 2,000 pupils in 2026 (1610.5 + 500)
    failing = {y: r.failing_items() for y, r in forecast.results["mid"].items()}
    assert failing[2024] == [] and failing[2025] == ["G5"] and failing[2026] == ["G4", "G5"]
    assert forecast.to_json()["schools"][0]["years"]["2025"]["segments"]["primary"]["mid"] == 1964


def test_stored_inputs_feed_the_forecast_and_its_warnings(database, tmp_path):
    store(database, progression_dataset())
    grades = tmp_path / "grades.csv"
    grades.write_text("学校标识码,学年,年级,在校生数\n" + "".join(
        f"{school},{year},{grade},{int(n)}\n" for school, by_year in known_grades().items()
        for year, by_grade in by_year.items() for grade, n in by_grade.items()), encoding="utf-8-sig")
    births = tmp_path / "births.csv"
    births.write_text("county_code,year,births\n" + "".join(f"{COUNTY},{b},{n}\n" for b, n in BIRTHS.items()),
                      encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("学校标识码,学年,年级,在校生数\nP1,2023,一,100\nP1,,2,100\n", encoding="utf-8")
    with database.session() as s:
        assert service.import_grade_enrolment(s, service.read_rows(grades, service.GRADE_COLUMNS,
                                                                   ("school_id", "year", "grade", "students"))) == 27
        service.import_intake(s, service.read_rows(births, service.INTAKE_COLUMNS, ("county_code", "year")))
        with pytest.raises(service.MonitorError) as caught:
            service.read_rows(bad, service.GRADE_COLUMNS, ("school_id", "year", "grade", "students"))
        assert "第2行 年级:“一”应为非负整数" in str(caught.value) and "第3行 学年:必填" in str(caught.value)
        forecast = service.county_forecast(s, COUNTY, horizon=3, scenarios=("mid",))
    assert forecast.school("P1").grades[2026][1].mid == pytest.approx(170)
    # P1's largest class (40 pupils in 2023, 690 pupils) grows with its pupils: 47 in 2025 (over 45)
    watch(database, date(2024, 1, 15))
    with database.session() as s:
        (warning,) = list_warnings(s, COUNTY, kinds=["forecast"])
        assert warning.indicator == "G5" and warning.year == 2025 and warning.severity == "orange"
        assert warning.numbers["years_until"] == 2 and warning.numbers["value"] == 47
        assert "预计 2025—2026 学年不达标" in warning.title and "预测在校生 800 人" in warning.message

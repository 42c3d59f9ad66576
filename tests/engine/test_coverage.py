"""Coverage on the dataset path and the roster rule (junheng.engine.coverage)."""

import builders

from junheng.engine.coverage import RosterSchool, county_coverage
from junheng.engine.evaluate import evaluate_dataset


def test_a_complete_dataset_is_covered_and_judged():
    result = evaluate_dataset(builders.dataset())[0]
    assert result.coverage.complete and result.coverage.basis == "dataset"
    assert (result.coverage.schools_expected, result.coverage.schools_included) == (6, 6)
    assert result.verdict == "pass" and result.schema_version == 2


def test_a_listed_school_without_its_row_makes_the_verdict_incomplete_whatever_the_others_show():
    schools, years = builders.passing_rows({"P1": {"teachers_above_qual_primary": 0}})  # P1 fails R1 ...
    data = builders.dataset(schools=schools, school_years=[y for y in years if y["school_id"] != "P2"])
    result = evaluate_dataset(data)[0]
    # ... yet with P2 missing the county is not judged: failure does not beat missing schools
    assert result.verdict == "incomplete" and result.provisional
    assert result.coverage.schools_missing == ["P2"] and result.coverage.missing[0].status == "none"
    assert result.coverage.fraction() == "5/6"
    assert "数据不完整" in result.warnings[0] and "5" in result.warnings[0]
    assert result.to_json()["coverage"]["schools_missing"] == ["P2"]


def test_a_missing_county_row_is_incomplete_coverage():
    result = evaluate_dataset(builders.dataset(county_years=[]))[0]
    assert result.verdict == "incomplete" and not result.coverage.county_year
    assert result.coverage.schools_included == 6


def test_a_school_built_after_the_year_is_not_expected_in_it():
    schools = [builders.school(i, t) for i, t in builders.default_schools()]
    schools[0]["build_year"] = 2025
    years = [builders.school_year(s["school_id"], s["school_type"]) for s in schools[1:]]
    result = evaluate_dataset(builders.dataset(schools=schools, school_years=years))[0]
    assert result.coverage.complete and result.coverage.schools_expected == 5


def test_roster_first_year_registration_and_closing():
    opened_later = RosterSchool("NEW", "新校", rows={2025: "approved"})
    registered_now = RosterSchool("REG", "新登记", registered_year=2026)
    closed = RosterSchool("OLD", "已撤并", active=False, rows={2023: "approved", 2024: "draft"})
    gap_year = RosterSchool("GAP", "缺一年", rows={2022: "approved", 2024: "approved"})
    assert not opened_later.expected_in(2024) and opened_later.expected_in(2026)
    assert not registered_now.expected_in(2025) and registered_now.expected_in(2026)
    assert closed.expected_in(2023) and not closed.expected_in(2024) and not closed.expected_in(2025)
    assert gap_year.expected_in(2023)  # a year skipped between two reported ones is missing
    coverage = county_coverage([opened_later, registered_now, closed, gap_year], 2023, basis="store",
                               county_year_status="approved")
    assert coverage.schools_expected == 2 and coverage.schools_missing == ["GAP"]
    coverage = county_coverage([gap_year], 2024, basis="store", county_year_status="draft")
    assert not coverage.complete and not coverage.county_year and "县级年度数据未审核定稿" in coverage.statement()

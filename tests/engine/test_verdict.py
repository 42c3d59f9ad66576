"""The verdict: pass, fail on exactly what fails, veto, incomplete naming the missing input."""

import builders
from junheng.engine.evaluate import evaluate_dataset
from junheng.standards.model import AREAS


def test_a_county_made_to_pass_passes():
    result = evaluate_dataset(builders.dataset())[0]
    assert result.verdict == "pass"
    assert result.failing_items() == [] and result.missing_inputs == []
    assert all(result.areas[a].met is True for a in AREAS)


def test_a_county_failing_one_cv_fails_on_exactly_that_cv():
    # Junior R6: two equal junior schools at 2600 and 7000 元 per student both comply, but
    # CV = (7000-2600)/(7000+2600) = 0.458 > 0.45.
    schools, years = builders.passing_rows({"J1": {"equipment_value": 2600.0 * 1000},
                                            "J2": {"equipment_value": 7000.0 * 1000}})
    # the nine-year school's junior unit would dilute the spread: make it a primary-only picture
    schools = [s for s in schools if s["school_id"] != "N1"]
    years = [y for y in years if y["school_id"] != "N1"]
    result = evaluate_dataset(builders.dataset(schools, years))[0]
    assert result.verdict == "fail"
    assert result.failing_items() == ["R6"]
    cv = result.resource.cv["junior"]["R6"]
    assert cv.met is False and 0.45 < cv.value < 0.46
    assert all(u.compliant for u in result.resource.units)
    failing_cvs = [(seg, i) for seg, items in result.resource.cv.items() for i, c in items.items() if not c.met]
    assert failing_cvs == [("junior", "R6")]
    assert cv.largest_contributors and cv.largest_contributors[0]["school_id"] in {"J1", "J2"}


def test_a_veto_fails_a_county_that_otherwise_passes():
    result = evaluate_dataset(builders.dataset(county_years=[builders.county_year(veto_key_schools=True)]))[0]
    assert result.verdict == "fail"
    assert result.veto.triggered == ["veto_key_schools"]
    assert result.failing_items() == []
    assert all(result.areas[a].met is True for a in AREAS)


def test_a_missing_county_value_gives_incomplete_naming_the_input():
    row = builders.county_year()
    del row["disabled_enrollment_rate"]
    result = evaluate_dataset(builders.dataset(county_years=[row]))[0]
    assert result.verdict == "incomplete"
    assert [(m.indicator, m.table, m.field) for m in result.missing_inputs] == [
        ("Q2", "county_year", "disabled_enrollment_rate")]
    assert result.missing_inputs[0].label == "残疾儿童少年入学率"
    assert result.item_area("education_quality").met is None


def test_a_missing_school_value_names_the_school_and_field():
    schools, years = builders.passing_rows({"P2": {"sports_area": None}})
    result = evaluate_dataset(builders.dataset(schools, years))[0]
    assert result.verdict == "incomplete"
    missing = [(m.indicator, m.school_id, m.field) for m in result.missing_inputs]
    assert ("R5", "P2", "sports_area") in missing
    assert result.resource.cv["primary"]["R5"].met is None


def test_failure_beats_missing_data():
    row = builders.county_year(veto_fraud=None, special_ed_funding_per_student=100.0)
    result = evaluate_dataset(builders.dataset(county_years=[row]))[0]
    assert result.verdict == "fail"
    assert result.veto.missing == ["veto_fraud"]


def test_no_county_year_row_is_incomplete_with_every_county_input_named():
    result = evaluate_dataset(builders.dataset(county_years=[]))[0]
    assert result.verdict == "incomplete"
    fields = {m.field for m in result.missing_inputs}
    assert {"layout_reasonable", "social_recognition_rate", "veto_fraud"} <= fields


def test_precondition_is_shown_beside_the_verdict():
    counties = [{"county_code": builders.COUNTY, "county_name": "测试县", "basic_balance_year": 2022}]
    result = evaluate_dataset(builders.dataset(counties=counties))[0]
    assert result.verdict == "pass"  # the precondition is not part of the verdict
    assert result.precondition.met is False


def test_each_county_uses_its_own_standard_and_the_result_names_it():
    counties = [{"county_code": builders.COUNTY, "standard": "shandong"}]
    # 7000 元 passes 6000 but fails Shandong's 8000; Q2 at 99% passes Shandong's 98%
    row = builders.county_year(special_ed_funding_per_student=7000.0, disabled_enrollment_rate=99.0)
    result = evaluate_dataset(builders.dataset(county_years=[row], counties=counties))[0]
    assert result.standard == "shandong" and result.failing_items() == ["G7"]
    national = evaluate_dataset(builders.dataset(county_years=[row], counties=counties), standard="national-2017")[0]
    assert national.standard == "national-2017" and national.verdict == "pass"

"""R1–R7 at and around their thresholds, the per-school rule, and splitting of one-through schools."""

import pytest

import builders
from junheng.engine.evaluate import evaluate_dataset
from junheng.engine.resources import compute_resources
from junheng.standards.loader import load_standard

NATIONAL = load_standard("national-2017")
N = 1000  # students per unit: thresholds become round resource amounts


def unit(result, school_id, segment):
    return next(u for u in result.resource.units if u.school_id == school_id and u.segment == segment)


def evaluate_one(school_type: str, **overrides):
    schools = [builders.school("X", school_type)]
    years = [builders.school_year("X", school_type, students=N, **overrides)]
    return evaluate_dataset(builders.dataset(schools, years))[0]


# (indicator, field, segment school type, amount exactly at the threshold for 1000 students, just below)
AT_THRESHOLD = [
    ("R1", "teachers_above_qual_primary", "primary", 42, 41),
    ("R1", "teachers_above_qual_junior", "junior", 53, 52),
    ("R2", "backbone_teachers_primary", "primary", 10, 9),
    ("R2", "backbone_teachers_junior", "junior", 10, 9),
    ("R3", "pe_art_teachers_primary", "primary", 9, 8),
    ("R3", "pe_art_teachers_junior", "junior", 9, 8),
    ("R4", "teaching_aux_area", "primary", 4500.0, 4499.99),
    ("R4", "teaching_aux_area", "junior", 5800.0, 5799.99),
    ("R5", "sports_area", "primary", 7500.0, 7499.99),
    ("R5", "sports_area", "junior", 10200.0, 10199.99),
    ("R6", "equipment_value", "primary", 2_000_000.0, 1_999_999.0),
    ("R6", "equipment_value", "junior", 2_500_000.0, 2_499_999.0),
    ("R7", "multimedia_classrooms", "primary", 23, 22),
    ("R7", "multimedia_classrooms", "junior", 24, 23),
]


@pytest.mark.parametrize("indicator,field,school_type,at,below", AT_THRESHOLD)
def test_equal_passes_just_below_fails(indicator, field, school_type, at, below):
    segment = school_type
    passing = unit(evaluate_one(school_type, **{field: at}), "X", segment).indicators[indicator]
    assert passing.met is True
    assert passing.value == pytest.approx(passing.threshold)
    failing = unit(evaluate_one(school_type, **{field: below}), "X", segment)
    assert failing.indicators[indicator].met is False
    assert failing.met_count == 6
    assert failing.compliant is True  # one unmet at ≥ 85% still complies
    assert failing.indicators[indicator].gap is not None


def test_gap_in_whole_teachers_and_square_metres():
    u = unit(evaluate_one("primary", teachers_above_qual_primary=40, sports_area=7000.0), "X", "primary")
    assert u.indicators["R1"].gap.amount == 2 and u.indicators["R1"].gap.unit == "人"
    assert u.indicators["R5"].gap.amount == pytest.approx(500.0) and u.indicators["R5"].gap.unit == "m²"


def test_per_school_rule_85_percent_boundary():
    # R6 primary threshold 2000 元: 85% is exactly 1700 元 per student
    at_floor = unit(evaluate_one("primary", equipment_value=1_700_000.0), "X", "primary")
    assert at_floor.indicators["R6"].met is False and at_floor.compliant is True
    below_floor = unit(evaluate_one("primary", equipment_value=1_699_000.0), "X", "primary")
    assert below_floor.met_count == 6 and below_floor.compliant is False
    assert any("85%" in reason for reason in below_floor.reasons)


def test_two_unmet_indicators_make_a_unit_non_compliant():
    u = unit(evaluate_one("primary", equipment_value=1_990_000.0, sports_area=7400.0), "X", "primary")
    assert u.met_count == 5 and u.compliant is False
    assert any("至少需 6 项" in reason for reason in u.reasons)


def shares(tables, school_id):
    rows = tables.units[tables.units.school_id == school_id].set_index("segment")
    return rows


def test_nine_year_school_splits_facilities_by_weighted_students():
    schools = [builders.school("N", "nine_year")]
    years = [builders.school_year("N", "nine_year", students_primary=600, students_junior=400, teaching_aux_area=10400.0)]
    rows = shares(compute_resources(builders.dataset(schools, years), NATIONAL), "N")
    # weights 1.0 and 1.1: 600 and 440 weighted students of 1040
    assert rows.loc["primary", "res_R4"] == pytest.approx(6000.0)
    assert rows.loc["junior", "res_R4"] == pytest.approx(4400.0)
    assert rows.loc["primary", "R4"] == pytest.approx(10.0)
    assert rows.loc["junior", "R4"] == pytest.approx(11.0)
    # teachers are per segment, never split
    assert rows.loc["primary", "res_R1"] == years[0]["teachers_above_qual_primary"]


def test_twelve_year_school_counts_senior_students_in_the_split_but_gives_no_senior_unit():
    schools = [builders.school("T", "twelve_year")]
    years = [builders.school_year("T", "twelve_year", students_primary=500, students_junior=500, students_senior=500,
                                  equipment_value=3_420_000.0)]
    rows = shares(compute_resources(builders.dataset(schools, years), NATIONAL), "T")
    assert set(rows.index) == {"primary", "junior"}
    total = 500 * 1.0 + 500 * 1.1 + 500 * 1.32  # 1710 weighted students
    assert rows.loc["primary", "res_R6"] == pytest.approx(3_420_000.0 * 500 / total)
    assert rows.loc["junior", "res_R6"] == pytest.approx(3_420_000.0 * 550 / total)


def test_complete_middle_school_gives_one_junior_unit_split_with_senior():
    schools = [builders.school("C", "complete_middle")]
    years = [builders.school_year("C", "complete_middle", students_junior=1000, students_senior=1000,
                                  sports_area=48_400.0)]
    rows = shares(compute_resources(builders.dataset(schools, years), NATIONAL), "C")
    assert list(rows.index) == ["junior"]
    assert rows.loc["junior", "res_R5"] == pytest.approx(48_400.0 * 1100 / (1100 + 1320))


def test_explicit_per_segment_facility_overrides_the_split():
    schools = [builders.school("N", "nine_year")]
    years = [builders.school_year("N", "nine_year", students_primary=600, students_junior=400, teaching_aux_area=10400.0,
                                  teaching_aux_area_primary=3000.0, teaching_aux_area_junior=7400.0)]
    rows = shares(compute_resources(builders.dataset(schools, years), NATIONAL), "N")
    assert rows.loc["primary", "res_R4"] == pytest.approx(3000.0)
    assert rows.loc["junior", "res_R4"] == pytest.approx(7400.0)


def test_shared_facility_gap_is_what_the_whole_school_must_add():
    schools = [builders.school("N", "nine_year")]
    years = [builders.school_year("N", "nine_year", students_primary=600, students_junior=400, teaching_aux_area=4160.0)]
    result = evaluate_dataset(builders.dataset(schools, years))[0]
    primary = unit(result, "N", "primary").indicators["R4"]
    # primary share 600/1040 of 4160 = 2400 m² (4.0 per student); it needs 2700 m², i.e. 300 more for its
    # share, so the school must add 300 / (600/1040) = 520 m².
    assert primary.value == pytest.approx(4.0)
    assert primary.gap.amount == pytest.approx(520.0)


def test_unit_with_no_students_is_skipped_with_a_warning():
    schools = [builders.school("A", "primary"), builders.school("B", "primary")]
    years = [builders.school_year("A", "primary"), builders.school_year("B", "primary", students_primary=0)]
    result = evaluate_dataset(builders.dataset(schools, years))[0]
    assert [u.school_id for u in result.resource.units] == ["A"]
    assert result.resource.excluded[0].school_id == "B"
    assert any("在校生数为0" in w for w in result.warnings)


def test_special_schools_give_no_resource_units():
    schools = [builders.school("A", "primary"), builders.school("S", "special")]
    years = [builders.school_year("A", "primary"), builders.school_year("S", "special", students=60)]
    result = evaluate_dataset(builders.dataset(schools, years))[0]
    assert {u.school_id for u in result.resource.units} == {"A"}

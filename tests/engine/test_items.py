"""Government guarantee, education quality and social recognition items at their thresholds."""

import pytest

import builders
from junheng.engine.evaluate import evaluate_dataset


def item(result, indicator):
    for area in ("government_guarantee", "education_quality", "social_recognition"):
        items = result.item_area(area).indicators
        if indicator in items:
            return items[indicator]
    raise KeyError(indicator)


def with_county(**overrides):
    return evaluate_dataset(builders.dataset(county_years=[builders.county_year(**overrides)]))[0]


def with_school(school_id="P1", school_type="primary", **overrides):
    schools, years = builders.passing_rows({school_id: overrides})
    return evaluate_dataset(builders.dataset(schools, years))[0]


# (indicator, county field, value at threshold, value just failing)
COUNTY_THRESHOLDS = [
    ("G7", "special_ed_funding_per_student", 6000.0, 5999.99),
    ("G9", "training_completion_rate", 100.0, 99.9),
    ("G13", "nearby_enrollment_rate_urban", 100.0, 99.5),
    ("G13", "nearby_enrollment_rate_town", 95.0, 94.9),
    ("G14", "hs_quota_ratio", 50.0, 49.9),
    ("G15", "migrant_public_ratio", 85.0, 84.9),
    ("Q1", "junior_consolidation_rate", 95.0, 94.9),
    ("Q2", "disabled_enrollment_rate", 95.0, 94.9),
    ("S1", "social_recognition_rate", 85.0, 84.9),
]


@pytest.mark.parametrize("indicator,field,at,below", COUNTY_THRESHOLDS)
def test_county_value_at_threshold_passes_just_below_fails(indicator, field, at, below):
    assert item(with_county(**{field: at}), indicator).met is True
    failing = item(with_county(**{field: below}), indicator)
    assert failing.met is False
    assert failing.gap is not None and failing.gap.amount > 0


@pytest.mark.parametrize("indicator,field", [
    ("G1", "layout_reasonable"), ("G2", "four_unified"), ("G6", "small_school_funding_ok"),
    ("G10", "staffing_coordinated"), ("G14", "hs_quota_rural_tilt"), ("G15", "left_behind_care"),
    ("Q3", "informatization"), ("Q5", "teachers_ict_proficient"), ("Q7", "curriculum_complete"),
    ("Q8", "no_excess_burden"),
])
def test_county_flags(indicator, field):
    assert item(with_county(**{field: False}), indicator).met is False


def test_g8_teacher_salary_not_below_civil_servants():
    assert item(with_county(teacher_avg_salary=8000.0, civil_servant_avg_salary=8000.0), "G8").met is True
    assert item(with_county(teacher_avg_salary=7999.0, civil_servant_avg_salary=8000.0), "G8").met is False


def test_g11_rotation_share_and_backbone_share():
    assert item(with_county(rotation_eligible_teachers=500, rotated_teachers=50, rotated_backbone_teachers=10),
                "G11").met is True
    low_rotation = item(with_county(rotation_eligible_teachers=500, rotated_teachers=49, rotated_backbone_teachers=10),
                        "G11")
    assert low_rotation.met is False and low_rotation.gap.amount == 1 and low_rotation.gap.unit == "人"
    assert item(with_county(rotation_eligible_teachers=500, rotated_teachers=50, rotated_backbone_teachers=9),
                "G11").met is False
    # no rotated teacher at all: the backbone share is undefined, and the 10% share fails
    assert item(with_county(rotated_teachers=0, rotated_backbone_teachers=0), "G11").met is False


def test_g3_rooms_per_twelve_classes_and_room_area():
    # 24 classes need 2 rooms of each kind
    assert item(with_school(classes_primary=24, music_rooms=2, art_rooms=2), "G3").met is True
    short = item(with_school(classes_primary=25, music_rooms=2, art_rooms=3), "G3")
    assert short.met is False and short.schools[0].school_id == "P1"
    assert short.schools[0].gap.amount == 1 and short.schools[0].gap.unit == "间"
    assert item(with_school(music_room_min_area=96.0, art_room_min_area=90.0), "G3").met is True
    assert item(with_school(music_room_min_area=95.9), "G3").met is False
    assert item(with_school(art_room_min_area=89.9), "G3").met is False


def test_g4_school_size_limits_by_type():
    assert item(with_school(students_primary=2000), "G4").met is True
    over = item(with_school(students_primary=2001), "G4")
    assert over.met is False and over.schools[0].gap.amount == 1
    assert item(with_school("N1", "nine_year", students_primary=1500, students_junior=1000), "G4").met is True
    assert item(with_school("N1", "nine_year", students_primary=1500, students_junior=1001), "G4").met is False


def test_g5_largest_class_per_segment():
    assert item(with_school(max_class_size_primary=45), "G5").met is True
    assert item(with_school(max_class_size_primary=46, oversize_classes_primary=1), "G5").met is False
    assert item(with_school("J1", "junior", max_class_size_junior=50), "G5").met is True
    assert item(with_school("J1", "junior", max_class_size_junior=51, oversize_classes_junior=2), "G5").met is False


def test_g5_from_oversize_class_counts_alone():
    assert item(with_school(max_class_size_primary=None, oversize_classes_primary=0), "G5").met is True
    failing = item(with_school(max_class_size_primary=None, oversize_classes_primary=3), "G5")
    assert failing.met is False and failing.schools[0].gap.amount == 3


def test_g12_certification_counts_every_school_including_special():
    schools, years = builders.passing_rows()
    schools.append(builders.school("S", "special"))
    years.append(builders.school_year("S", "special", students=50, teachers_primary=12, certified_teachers_primary=11))
    result = evaluate_dataset(builders.dataset(schools, years))[0]
    g12 = item(result, "G12")
    assert g12.met is False and [s.school_id for s in g12.schools] == ["S"]
    assert g12.gap.amount == 1


def test_g12_falls_back_to_the_county_rate_when_school_counts_are_missing():
    schools, years = builders.passing_rows({sid: {"certified_teachers_primary": None, "certified_teachers_junior": None}
                                            for sid in ("P1", "P2", "P3", "J1", "J2", "N1")})
    result = evaluate_dataset(builders.dataset(schools, years, [builders.county_year(certified_rate=100.0)]))[0]
    assert item(result, "G12").met is True
    result = evaluate_dataset(builders.dataset(schools, years, [builders.county_year(certified_rate=99.0)]))[0]
    assert item(result, "G12").met is False


def test_q4_training_funds_at_five_percent():
    assert item(with_school(public_funds=1_000_000.0, training_funds=50_000.0), "Q4").met is True
    failing = item(with_school(public_funds=1_000_000.0, training_funds=49_999.0), "Q4")
    assert failing.met is False and failing.schools[0].gap.amount == pytest.approx(1.0)


def test_q3_every_school_needs_a_charter():
    assert item(with_school(has_charter=False), "Q3").met is False


def test_q6_moral_rating_good_or_better():
    assert item(with_school(moral_rating="excellent"), "Q6").met is True
    assert item(with_school(moral_rating="pass"), "Q6").met is False


def quality_result(rows):
    return evaluate_dataset(builders.dataset(quality_rows=builders.quality(rows=rows)))[0]


def test_q9_level_three_and_difference_rate_strictly_below_015():
    assert item(quality_result([("数学", 3, 0.149)]), "Q9").met is True
    assert item(quality_result([("数学", 3, 0.15)]), "Q9").met is False
    assert item(quality_result([("数学", 2, 0.10)]), "Q9").met is False
    failing = item(quality_result([("语文", 4, 0.05), ("数学", 2, 0.10)]), "Q9")
    assert "数学" in failing.explanation and "语文" not in failing.explanation.split("未达标学科")[1]

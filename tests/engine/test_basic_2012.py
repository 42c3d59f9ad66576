"""basic-2012 (县域义务教育均衡发展督导评估暂行办法): eight CVs per segment, their mean against the
composite limit, BG1/BG2, no per-school rule; checked against a hand computation."""

import math

import pytest

import builders
from junheng.engine.evaluate import evaluate_dataset
from junheng.standards.loader import load_standard

BASIC = load_standard("basic-2012")

# The hand-made county is builders.BASIC_2012_SCHOOLS (two primary, one nine-year, one junior school).

# (students, amount) of each unit per indicator, written out by hand from the table above.
PRIMARY = {  # P1, P2, N1 primary (N1's facilities: 100/210 of the school's)
    "B1": [(100, 500), (200, 1200), (100, 500)],
    "B2": [(100, 800), (200, 1400), (100, 1000)],
    "B3": [(100, 100_000), (200, 150_000), (100, 100_000)],
    "B4": [(100, 100 * 10), (200, 100 * 15), (100, 100 * 10)],
    "B5": [(100, 2000), (200, 3000), (100, 2000)],
    "B6": [(100, 6), (200, 11), (100, 6)],
    "B7": [(100, 5), (200, 8), (100, 5)],
    "B8": [(100, 3), (200, 6), (100, 2)],
}
JUNIOR = {  # N1 junior (110/210 of the facilities), J1
    "B1": [(100, 550), (300, 2400)],
    "B2": [(100, 1100), (300, 3000)],
    "B3": [(100, 110_000), (300, 600_000)],
    "B4": [(100, 100 * 11), (300, 100 * 30)],
    "B5": [(100, 2200), (300, 9000)],
    "B6": [(100, 8), (300, 25)],
    "B7": [(100, 7), (300, 22)],
    "B8": [(100, 5), (300, 15)],
}


def hand_cv(units):
    """X̄ = Σ amount / Σ n, S = sqrt(Σ (n/N)(x − X̄)²), CV = S / X̄."""
    total = sum(n for n, _ in units)
    mean = sum(a for _, a in units) / total
    s = math.sqrt(sum(n / total * (a / n - mean) ** 2 for n, a in units))
    return s / mean


def county(**county_fields):
    return builders.basic_2012_dataset(**county_fields)


def evaluate(dataset, standard=BASIC):
    [result] = evaluate_dataset(dataset, standard=standard)
    return result


def test_each_cv_and_the_composite_equal_the_hand_computation():
    result = evaluate(county())
    res = result.resource
    for segment, table in (("primary", PRIMARY), ("junior", JUNIOR)):
        hand = {i: hand_cv(units) for i, units in table.items()}
        for ind_id, expected in hand.items():
            cv = res.cv[segment][ind_id]
            assert cv.value == pytest.approx(expected, rel=1e-9), (segment, ind_id)
            assert cv.limit is None and cv.met is None  # judged only through the composite
        composite = res.composite_cv[segment]
        assert composite.value == pytest.approx(sum(hand.values()) / 8, rel=1e-9)
        assert composite.indicators == 8
        assert composite.limit == {"primary": 0.65, "junior": 0.55}[segment]
        assert composite.met is (composite.value <= composite.limit)


def test_one_through_school_is_split_by_the_weights():
    res = evaluate(county()).resource
    units = {(u.school_id, u.segment): u for u in res.units}
    primary, junior = units[("N1", "primary")], units[("N1", "junior")]
    assert primary.share == pytest.approx(100 / 210)
    assert junior.share == pytest.approx(110 / 210)
    for ind_id, (whole, scale) in {"B1": (1050, 1), "B2": (2100, 1), "B3": (210_000, 1), "B4": (21, 100),
                                   "B5": (4200, 1)}.items():
        assert primary.indicators[ind_id].resource == pytest.approx(whole * 100 / 210)
        assert junior.indicators[ind_id].resource == pytest.approx(whole * 110 / 210)
        assert primary.indicators[ind_id].value == pytest.approx(scale * whole * 100 / 210 / 100)
    # teachers are counted per segment, never split
    assert primary.indicators["B6"].resource == 6 and junior.indicators["B6"].resource == 8


def test_no_unit_is_judged_one_by_one():
    res = evaluate(county()).resource
    assert res.per_school_rule is False
    for unit in res.units:
        assert unit.compliant is None
        assert all(i.threshold is None and i.met is None for i in unit.indicators.values())
        assert not any("项达标" in reason for reason in unit.reasons)


def test_verdict_from_composite_bg1_bg2():
    result = evaluate(county())
    assert all(c.met is True for c in result.resource.composite_cv.values())  # 0.123 and 0.076
    assert result.resource.met is True and result.verdict == "pass"
    gov = result.item_area("government_guarantee")
    assert set(gov.indicators) == {"BG1", "BG2"} and gov.met is True

    low_score = evaluate(county(basic_gov_score=84.5))
    assert low_score.item("BG1").met is False and low_score.verdict == "fail"
    no_standard = evaluate(county(basic_schools_standard_met=False))
    assert no_standard.item("BG2").met is False and no_standard.verdict == "fail"
    unknown = evaluate(county(basic_gov_score=None))
    assert unknown.item("BG1").met is None
    assert unknown.verdict == "incomplete"


def test_a_composite_over_its_limit_fails_the_segment():
    dataset = county()
    # make the junior segment very unequal: J1 with almost no books and computers
    sy = dataset.school_year
    sy.loc[sy.school_id == "J1", ["books", "computers", "teaching_aux_area", "sports_area"]] = [30, 1, 100.0, 100.0]
    result = evaluate(dataset)
    junior = result.resource.composite_cv["junior"]
    assert junior.value > 0.55 and junior.met is False
    assert result.resource.met is False and result.verdict == "fail"
    assert {"B1", "B2", "B4", "B5"} <= set(result.failing_items())


def test_reported_values_are_shown_but_not_judged():
    result = evaluate(county())
    [reported] = result.reported
    assert (reported.label, reported.value, reported.unit) == ("公众满意度", 93.5, "%")
    assert result.precondition is None and result.veto.triggered == []
    assert evaluate(county(public_satisfaction_rate=10.0)).verdict == result.verdict


def test_the_json_carries_only_this_standards_areas_and_the_composite():
    data = evaluate(county()).to_json()
    assert list(data["areas"]) == ["resource_allocation", "government_guarantee"]
    assert set(data["areas"]["resource_allocation"]["composite_cv"]) == {"primary", "junior"}
    composite = data["areas"]["resource_allocation"]["composite_cv"]["primary"]
    assert set(composite) >= {"value", "limit", "met"}
    assert set(data["areas"]["resource_allocation"]["cv"]["primary"]) == set(PRIMARY)
    assert data["standard"] == "basic-2012"


def test_one_dataset_under_two_standards_in_one_process():
    dataset = county()
    national = evaluate(dataset, load_standard("national-2017"))
    basic = evaluate(dataset, BASIC)
    national_ids = set(national.resource_ids()) | {i for a in national.areas.items().values() for i in a.indicators}
    basic_ids = set(basic.resource_ids()) | {i for a in basic.areas.items().values() for i in a.indicators}
    assert national_ids == set(load_standard("national-2017").indicators)
    assert basic_ids == set(BASIC.indicators)
    assert not national_ids & basic_ids
    assert national.resource.composite_cv is None and national.to_json()["areas"].keys() == {
        "resource_allocation", "government_guarantee", "education_quality", "social_recognition"}
    assert national.standard == "national-2017" and basic.standard == "basic-2012"


def test_the_published_schema_accepts_both_standards_and_holds_basic_to_its_shape():
    import json
    from importlib import resources

    from jsonschema import Draft202012Validator

    schema = json.loads(resources.files("junheng").joinpath("schemas/evaluation.schema.json").read_text("utf-8"))
    validator = Draft202012Validator(schema)
    dataset = county()
    basic = evaluate(dataset).to_json()
    national = evaluate(dataset, load_standard("national-2017")).to_json()
    assert not list(validator.iter_errors(basic))
    assert not list(validator.iter_errors(national))
    broken = json.loads(json.dumps(basic))
    del broken["areas"]["resource_allocation"]["composite_cv"]
    assert list(validator.iter_errors(broken))
    mislabelled = json.loads(json.dumps(basic))
    mislabelled["standard"] = "national-2017"  # a basic result does not pass as a 2017 one
    assert list(validator.iter_errors(mislabelled))

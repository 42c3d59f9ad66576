"""Q1 and Q2 computed from counts (format.yaml `derived`, junheng.engine.derived): the computed value
is used, its formula is the value's source in every face, a typed value is kept and flagged when it
differs, partial counts and a zero base leave the typed value with a warning, and the counts are
offered, stored and fingerprinted like every county-year field."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

import builders
from databases import scratch_database
from junheng.data.catalog import Catalog, catalog
from junheng.data.importer import load_dataset
from junheng.data.template import write_template
from junheng.data.writer import write_dataset_csv
from junheng.engine.derived import apply_derivations
from junheng.engine.evaluate import evaluate_dataset
from junheng.standards.fields import fields_for
from junheng.standards.loader import load_standard
from junheng.store import repo

Q1_FIELD, Q2_FIELD = "junior_consolidation_rate", "disabled_enrollment_rate"
# 1,180 ÷ (1,200 + 20 − 15 − 1 − 4) = 1,180 ÷ 1,200 = 98.333…%
COHORT = dict(cohort_grade7_entrants=1200, cohort_grade9_enrolled=1180, cohort_transfers_in=20,
              cohort_transfers_out=15, cohort_deaths=1, cohort_permitted_leave=4)
# (30 + 60 + 6) ÷ 100 = 96%
DISABLED = dict(disabled_school_age=100, disabled_special_schools=30, disabled_regular_classes=60,
                disabled_home_teaching=6)
Q1_FORMULA = "该届初三在校生 1,180 人 ÷(初一入学 1,200 + 转入 20 − 转出 15 − 死亡 1 − 休学 4)= 98.33%"
Q2_FORMULA = "(特殊教育学校就读 30 + 随班就读 60 + 送教上门 6)÷ 适龄残疾儿童少年 100 人 = 96%"


def indicator_reading(field: str) -> str:
    """The national-2017 indicator that judges `field` (ids are the standard's, not the code's)."""
    std = load_standard("national-2017")
    return next(i.id for i in std.indicators.values() if i.rule.kind == "county_checks"
                and any(field in c.inputs() for c in i.rule.checks.values()))


def evaluate(standard: str | None = None, **county):
    dataset = builders.dataset(county_years=[builders.county_year(**county)])
    return evaluate_dataset(dataset, standard=standard)[0]


def item(result, field: str):
    return result.areas.education_quality.indicators[indicator_reading(field)]


def test_q1_and_q2_are_computed_from_counts_when_no_rate_is_typed():
    result = evaluate(**{Q1_FIELD: None, Q2_FIELD: None}, **COHORT, **DISABLED)
    q1, q2 = item(result, Q1_FIELD), item(result, Q2_FIELD)
    assert q1.value == pytest.approx(1180 / 1200 * 100, abs=1e-12) and q1.met is True  # unrounded
    assert q2.value == pytest.approx(96.0, abs=1e-12) and q2.met is True
    source = q1.sources[Q1_FIELD]
    assert source.kind == "computed" and source.label == "由学籍人数计算:" + Q1_FORMULA
    assert source.details["typed"] is None and source.details["cohort_transfers_out"] == 15
    assert source.details["numerator"] == 1180 and source.details["denominator"] == 1200
    assert q2.sources[Q2_FIELD].label == "由残疾儿童少年人数计算:" + Q2_FORMULA
    assert result.warnings == []
    assert not [m for m in result.missing_inputs if m.field in (Q1_FIELD, Q2_FIELD)]


def test_the_explanation_ends_with_the_source_sentence():
    q1 = item(evaluate(**COHORT), Q1_FIELD)
    assert q1.explanation.startswith("初中三年巩固率 98.33%(标准:不低于 95%)。此项达标。")
    assert q1.explanation.endswith("数据来源:" + q1.sources[Q1_FIELD].label + "。")
    assert "sources" in q1.model_dump(mode="json")


def test_a_typed_value_that_differs_is_replaced_flagged_and_kept():
    # 943 ÷ 1,000 = 94.30%: the typed 96% passed, the counts do not
    counts = dict(COHORT, cohort_grade7_entrants=1000, cohort_grade9_enrolled=943, cohort_transfers_in=0,
                  cohort_transfers_out=0, cohort_deaths=0, cohort_permitted_leave=0)
    result = evaluate(**{Q1_FIELD: 96.0}, **counts)
    q1 = item(result, Q1_FIELD)
    assert q1.value == pytest.approx(94.3) and q1.met is False
    assert q1.gap is not None and q1.gap.amount == pytest.approx(0.7)
    source = q1.sources[Q1_FIELD]
    assert source.details["typed"] == 96.0 and source.details["computed"] == pytest.approx(94.3)
    assert source.label.endswith(";填报值 96% 与计算值不符,未采用")
    assert "初中三年巩固率填报为 96%,由学籍人数计算为 94.30%,评估采用计算值" in result.warnings


def test_a_typed_value_within_the_tolerance_is_kept_silently():
    result = evaluate(**{Q1_FIELD: 98.3}, **COHORT)  # 98.333… − 98.3 < 0.05 percentage points
    q1 = item(result, Q1_FIELD)
    assert q1.value == pytest.approx(98.3333333) and q1.sources[Q1_FIELD].details["typed"] == 98.3
    assert "未采用" not in q1.sources[Q1_FIELD].label and result.warnings == []
    flagged = evaluate(**{Q1_FIELD: 98.2}, **COHORT)  # 0.13 points off
    assert any("填报为 98.20%" in w for w in flagged.warnings)


def test_partial_counts_leave_the_typed_value_and_name_what_is_missing():
    partial = {k: v for k, v in COHORT.items() if k not in ("cohort_transfers_in", "cohort_deaths")}
    result = evaluate(**{Q1_FIELD: 96.0}, **partial)
    q1 = item(result, Q1_FIELD)
    assert q1.value == 96.0 and q1.sources == {} and "数据来源" not in q1.explanation
    assert "由学籍人数计算初中三年巩固率缺少该届转入学生数、该届死亡学生数,评估采用填报值 96%" in result.warnings
    untyped = evaluate(**{Q1_FIELD: None}, **partial)
    assert item(untyped, Q1_FIELD).met is None
    assert any(w.endswith("且未填报初中三年巩固率") for w in untyped.warnings)
    assert (indicator_reading(Q1_FIELD), "county_year", Q1_FIELD) in {
        (m.indicator, m.table, m.field) for m in untyped.missing_inputs}


def test_without_any_count_nothing_changes():
    plain = builders.dataset()
    assert apply_derivations(plain).dataset is plain  # not even copied
    result = evaluate()
    assert item(result, Q1_FIELD).value == 98.0 and item(result, Q1_FIELD).sources == {} and result.warnings == []


def test_a_zero_base_leaves_the_typed_value_with_a_warning():
    nobody = dict.fromkeys(DISABLED, 0)
    result = evaluate(**{Q2_FIELD: 97.0}, **nobody)
    q2 = item(result, Q2_FIELD)
    assert q2.value == 97.0 and q2.sources == {}
    assert "残疾儿童少年入学率无法由残疾儿童少年人数计算:计算基数(适龄残疾儿童少年)为 0,评估采用填报值 97%" \
        in result.warnings


def test_a_negative_cohort_base_is_refused_like_zero():
    counts = dict(COHORT, cohort_grade7_entrants=10, cohort_transfers_in=0, cohort_transfers_out=20)
    result = evaluate(**{Q1_FIELD: 97.0}, **counts)
    assert item(result, Q1_FIELD).value == 97.0
    assert any("计算基数(初一入学 + 转入 − 转出 − 死亡 − 休学)为 -15" in w for w in result.warnings)


def test_a_rate_above_100_is_not_capped_but_flagged():
    result = evaluate(**{Q1_FIELD: None}, **dict(COHORT, cohort_grade9_enrolled=1212))  # 1,212 ÷ 1,200
    q1 = item(result, Q1_FIELD)
    assert q1.value == pytest.approx(101.0) and q1.met is True
    assert q1.sources[Q1_FIELD].label.endswith(";超过 100%,请核对人数")
    assert any(w.startswith("初中三年巩固率由学籍人数计算为 101%,超过 100%,不合常理") for w in result.warnings)


def test_the_dataset_given_is_unchanged_and_other_sources_are_kept():
    dataset = builders.dataset(county_years=[builders.county_year(**{Q1_FIELD: 96.0}, **COHORT)])
    survey = {"kind": "survey", "label": "问卷调查“测试”", "details": {}}
    dataset.value_sources = {(builders.COUNTY, builders.YEAR): {"social_recognition_rate": survey}}
    derived = apply_derivations(dataset)
    assert dataset.county_year[Q1_FIELD].tolist() == [96.0]
    assert set(dataset.value_sources[(builders.COUNTY, builders.YEAR)]) == {"social_recognition_rate"}
    sources = derived.dataset.value_sources[(builders.COUNTY, builders.YEAR)]
    assert sources["social_recognition_rate"] == survey and sources[Q1_FIELD]["kind"] == "computed"
    assert derived.dataset.county_year[Q1_FIELD].tolist() == [pytest.approx(98.3333333)]
    assert derived.dataset.schools is dataset.schools and derived.dataset.source == dataset.source


def test_warnings_only_for_rates_the_standard_reads():
    partial = {"cohort_grade7_entrants": 1200}
    assert evaluate(**partial).warnings  # national-2017 judges Q1
    assert not [w for w in evaluate("basic-2012", **partial).warnings if "巩固率" in w]


def test_the_catalogue_refuses_a_derivation_that_does_not_fit():
    raw = catalog().model_dump()
    good = raw["derived"][Q1_FIELD]
    for bad, message in [({**good, "numerator": {"plus": ["teacher_avg_salary"]}}, "count field"),
                         ({**good, "target": "layout_reasonable"}, "percent field"),
                         ({**good, "numerator": {"plus": ["no_such_field"]}}, "count field"),
                         ({**good, "terms": {"veto_fraud": "x"}}, "no inputs")]:
        target = bad["target"]
        with pytest.raises(ValueError, match=message):
            Catalog(**{**raw, "derived": {target: bad}})


def test_the_template_and_forms_offer_the_counts_under_standards_judging_q1_and_q2(tmp_path):
    counts = list(COHORT) + list(DISABLED)
    national = [f.key for f in fields_for(load_standard("national-2017"))["county_year"]]
    assert set(counts) <= set(national)
    assert national.index("cohort_grade7_entrants") == national.index(Q1_FIELD) + 1  # beside the rate
    basic = [f.key for f in fields_for(load_standard("basic-2012"))["county_year"]]
    assert not set(counts) & set(basic)
    path = tmp_path / "template.xlsx"
    write_template(path, fields_for(load_standard("national-2017")), load_standard("national-2017"))
    book = load_workbook(path)
    sheet = next(book[name] for name in book.sheetnames if name in ("县级年度数据", "county_year"))
    headers = [c.value for c in next(sheet.iter_rows(max_row=1))]
    labels = [catalog().field_label(k, "county_year") for k in counts]
    assert "该届经批准休学等学生数" in labels and set(labels) <= set(headers)


def test_counts_round_trip_through_files_and_the_store_and_change_the_inputs_version(tmp_path):
    dataset = builders.dataset(county_years=[builders.county_year(**{Q1_FIELD: 96.0}, **COHORT, **DISABLED)])
    write_dataset_csv(dataset, tmp_path / "data")
    loaded = load_dataset(tmp_path / "data")
    assert {k: int(loaded.county_year[k].iloc[0]) for k in COHORT} == COHORT
    with scratch_database("sqlite", tmp_path) as database:
        with database.session() as s:
            repo.import_dataset(s, loaded, user=None, via="cli")
        with database.session() as s:
            stored = repo.load_dataset(s, approved_only=False)
        assert {k: int(stored.county_year[k].iloc[0]) for k in DISABLED} == DISABLED
        assert stored.county_year[Q1_FIELD].tolist() == [96.0]  # the store keeps what was typed
        result = evaluate_dataset(stored)[0]
        assert item(result, Q1_FIELD).value == pytest.approx(98.3333333)
        assert item(result, Q2_FIELD).sources[Q2_FIELD].label.startswith("由残疾儿童少年人数计算:" + Q2_FORMULA)
        before = repo.inputs_version(stored, builders.COUNTY, builders.YEAR)
        with database.session() as s:
            change = repo.Change(entity="county_year", key=f"{builders.COUNTY}/{builders.YEAR}",
                                 county_code=builders.COUNTY, field="cohort_deaths", old=1, new=2)
            repo.apply(s, [change], user=None, via="form")
        with database.session() as s:
            changed = repo.load_dataset(s, approved_only=False)
        assert repo.inputs_version(changed, builders.COUNTY, builders.YEAR) != before
        assert item(evaluate_dataset(changed)[0], Q1_FIELD).value == pytest.approx(1180 / 1199 * 100)

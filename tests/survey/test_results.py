"""A survey's result becomes the county-year's social recognition rate: audited, linked back to the
survey in the evaluation, refused on locked data, and marked as typed when a value is typed over it
(SQLite and PostgreSQL)."""

import pytest
from sqlalchemy import select

import builders
from junheng.engine.evaluate import evaluate_dataset
from junheng.store import repo
from junheng.store.models import AuditEntry, CountyYear, Survey
from junheng.store.repo import StoreError
from junheng.survey.collection import record_result
from junheng.survey.results import SurveyResultError, apply_result, survey_field
from junheng.standards.loader import load_standard

SCORE = {"overall": {"rate": 0.8734, "ci_low": 0.851, "ci_high": 0.8958, "respondents": 640, "answers": 7010},
         "groups": {}, "items": {}, "excluded": [{"row": 17, "reason": "答题过快"}]}


def _survey(s, title="2024 年社会认可度调查") -> Survey:
    county = repo.county_by_code(s, builders.COUNTY)
    survey = Survey(county_id=county.id, year=builders.YEAR, title=title, public_key=f"k{len(title)}",
                    questionnaires={}, settings={})
    s.add(survey)
    s.flush()
    return survey


def _item(database):
    with database.session() as s:
        result = evaluate_dataset(repo.load_dataset(s, approved_only=False))[0]
    indicator_id = next(iter(result.areas.social_recognition.indicators))
    return result.areas.social_recognition.indicators[indicator_id]


def test_the_field_comes_from_the_standard_file():
    assert survey_field(load_standard("national-2017")) == "social_recognition_rate"
    with pytest.raises(SurveyResultError, match="没有可由问卷结果填写"):
        survey_field(load_standard("basic-2012"))  # no social recognition area


def test_an_applied_result_is_the_value_audited_and_its_source(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli")
        survey = _survey(s)
        result = apply_result(s, record_result(s, survey, SCORE, user=None), user=None, via="cli")
        assert result.field == "social_recognition_rate" and result.audit_id is not None
    with database.session() as s:
        row = s.scalars(select(CountyYear)).one()
        assert row.values["social_recognition_rate"] == pytest.approx(87.34)
        entry = s.get(AuditEntry, result.audit_id)
        assert entry.old == 90.0 and entry.new == pytest.approx(87.34) and "调查编号" in entry.note
    item = _item(database)
    assert item.value == pytest.approx(87.34) and item.met is True
    source = item.sources["social_recognition_rate"]
    assert source.kind == "survey" and source.ref.startswith("survey:")
    assert source.details["ci_low"] == 0.851 and source.details["respondents"] == 640
    assert "2024 年社会认可度调查" in source.label and "640" in source.label
    assert "95% 置信区间 85.10%—89.58%" in source.label
    assert item.explanation.endswith("数据来源:" + source.label + "。")  # what every face shows
    assert "sources" in item.model_dump(mode="json")


def test_a_value_typed_after_the_survey_is_marked_as_typed(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli")
        apply_result(s, record_result(s, _survey(s), SCORE, user=None), user=None, via="cli")
    with database.session() as s:
        change = repo.Change(entity="county_year", key=f"{builders.COUNTY}/{builders.YEAR}",
                             county_code=builders.COUNTY, field="social_recognition_rate", old=87.34, new=91.0)
        repo.apply(s, [change], user=None, via="form")
    item = _item(database)
    assert item.value == 91.0
    source = item.sources["social_recognition_rate"]
    assert source.kind == "typed" and "网页表单" in source.label and "替换了问卷调查" in source.label


def test_a_county_without_surveys_has_no_sources_and_keeps_its_inputs_version(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli")
        dataset = repo.load_dataset(s, approved_only=False)
    assert dataset.value_sources == {}
    before = repo.inputs_version(dataset, builders.COUNTY, builders.YEAR)
    dataset.value_sources = {(builders.COUNTY, builders.YEAR): {"social_recognition_rate": {"kind": "survey",
                                                                                          "label": "x"}}}
    assert repo.inputs_version(dataset, builders.COUNTY, builders.YEAR) != before
    assert _item(database).sources == {}


def test_locked_county_data_refuses_the_result_and_nothing_changes(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli", status="approved")
        survey_id = _survey(s).id
    with pytest.raises(StoreError):
        with database.session() as s:
            survey = s.get(Survey, survey_id)
            apply_result(s, record_result(s, survey, SCORE, user=None), user=None, via="cli")
    with database.session() as s:
        assert s.scalars(select(CountyYear)).one().values["social_recognition_rate"] == 90.0


def test_a_survey_without_valid_answers_is_refused(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli")
        empty = record_result(s, _survey(s), {"overall": {"rate": None, "respondents": 0, "answers": 0}}, user=None)
        with pytest.raises(SurveyResultError, match="没有有效答卷"):
            apply_result(s, empty, user=None, via="cli")


def _rate(s) -> float:
    return s.scalars(select(CountyYear)).one().values["social_recognition_rate"]


def test_an_open_survey_s_result_never_becomes_the_counties_figure(database):
    """Answers are still coming in: the result rests on part of them (trust: partial data never
    speaks for the county)."""
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli")
        survey = _survey(s)
        survey.status = "open"
        with pytest.raises(SurveyResultError, match="仍在进行中"):
            apply_result(s, record_result(s, survey, SCORE, user=None), user=None, via="cli")
        assert _rate(s) == 90.0


def test_a_result_computed_before_the_answers_last_changed_is_refused(database):
    from datetime import timedelta

    from junheng.store.models import utcnow
    from junheng.survey.service import IMPORTS_KEY

    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli")
        survey = _survey(s)
        early = record_result(s, survey, SCORE, user=None)
        early.computed_at = utcnow() - timedelta(minutes=5)
        survey.status, survey.closed_at = "closed", utcnow() - timedelta(minutes=1)  # reopened and closed since
        with pytest.raises(SurveyResultError, match="重新计算"):
            apply_result(s, early, user=None, via="cli")
        assert _rate(s) == 90.0
        fresh = record_result(s, survey, SCORE, user=None)  # scored after the close: all of the answers
        assert apply_result(s, fresh, user=None, via="cli").audit_id is not None
        assert _rate(s) == pytest.approx(87.34)

        draft = _survey(s, title="导入的调查")  # import only: a file imported after the scoring
        before_import = record_result(s, draft, SCORE, user=None)
        before_import.computed_at = utcnow() - timedelta(minutes=5)
        draft.settings = {IMPORTS_KEY: [{"number": 1, "at": utcnow().isoformat()}]}
        with pytest.raises(SurveyResultError, match="之前计算"):
            apply_result(s, before_import, user=None, via="cli")

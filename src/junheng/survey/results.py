"""A survey's result (junheng.survey.collection.record_result) made the county-year's social
recognition rate.

`apply_result` writes its overall rate into the county-year
field the county's standard reads for social recognition, as one audited change (repo.apply: the
same locks and checks as every other change) and links the audit entry to the result, so the
evaluation says the value came from the survey (junheng.store.value_sources). A value typed later
wins and is marked as typed.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from junheng.errors import JunhengError
from junheng.standards.loader import load_standard
from junheng.standards.model import Standard
from junheng.store import repo
from junheng.store.models import AuditEntry, CountyYear, Survey, SurveyResult, User

SURVEY_AREA = "social_recognition"  # the standard's area a survey's rate feeds


class SurveyResultError(JunhengError):
    pass


def survey_field(std: Standard) -> str:
    """The county-year field the standard's social recognition indicator reads: a standard file
    decides it (national-2017: social_recognition_rate), not this code."""
    fields = [key for ind in std.by_area(SURVEY_AREA) for check in ind.rule.checks.values()
              for key in check.inputs()] if std.has_area(SURVEY_AREA) else []
    fields = list(dict.fromkeys(fields))
    if len(fields) != 1:
        raise SurveyResultError(f"标准“{std.name}”没有可由问卷结果填写的{std.area_label(SURVEY_AREA)}指标"
                                "(应恰有一个县级百分比字段),问卷结果不能写入该县的评估数据")
    return fields[0]


def apply_result(session: Session, result: SurveyResult, *, user: User | None, via: str) -> SurveyResult:
    """Make `result` the county-year's social recognition rate (percent), audited and linked."""
    survey = result.survey
    if result.rate is None:
        raise SurveyResultError(f"问卷调查“{survey.title}”没有有效答卷,无法得出{_label(survey)}")
    county = survey.county
    std = load_standard(county.standard) if county.standard else load_standard()
    field = survey_field(std)
    row = session.scalar(select(CountyYear).where(CountyYear.county_id == county.id, CountyYear.year == survey.year,
                                                  CountyYear.deleted_at.is_(None)))
    repo.check_writable(session, county, survey.year, row, version=None)  # deleted or locked: refused
    old = (row.values or {}).get(field) if row is not None else None
    new = result.rate * 100  # the field is a percent; unrounded, as every stored value
    key = f"{county.code}/{survey.year}"
    change = repo.Change(entity="county_year", key=key, county_code=county.code, field=field, old=old, new=new)
    repo.apply(session, [change], user=user, via=via, note=f"问卷调查“{survey.title}”结果(调查编号 {survey.id})")
    result.audit_id = session.scalar(select(func.max(AuditEntry.id)).where(
        AuditEntry.entity == "county_year", AuditEntry.entity_key == key, AuditEntry.field == field))
    result.field = field
    session.flush()
    return result


def _label(survey: Survey) -> str:
    county = survey.county
    std = load_standard(county.standard) if county.standard else load_standard()
    return std.area_label(SURVEY_AREA)

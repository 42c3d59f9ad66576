"""A survey's result (junheng.survey.collection.record_result) made the county-year's social
recognition rate.

`apply_result` writes its overall rate into the county-year
field the county's standard reads for social recognition, as one audited change (repo.apply: the
same locks and checks as every other change) and links the audit entry to the result, so the
evaluation says the value came from the survey (junheng.store.value_sources). A value typed later
wins and is marked as typed.

Only a result that rests on all of the survey's answers can speak for the county: not one of a
survey still collecting answers (open), and not one computed before the survey's answers last
changed (closed again after a reopening, or a file imported since). docs/methods.md, "Only a
complete survey becomes S1".
"""

from __future__ import annotations

from datetime import datetime, timezone

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
    _require_complete(survey, result)
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


def _require_complete(survey: Survey, result: SurveyResult) -> None:
    reason = incomplete_reason(survey, result)
    if reason is not None:
        raise SurveyResultError(reason)


def incomplete_reason(survey: Survey, result: SurveyResult) -> str | None:
    """Why `result` does not rest on every answer the survey will have (a Chinese sentence), or
    None when it does: what refuses the apply, and what the survey page says instead of offering it."""
    from junheng.survey.service import imports_of  # the service imports pandas: only when asked

    if survey.status == "open":
        return (f"问卷调查“{survey.title}”仍在进行中,结果只反映目前已提交的部分答卷,不能作为{_label(survey)}:"
                "请先结束调查,再重新计算结果并应用")
    changed = [moment for moment in (survey.closed_at, *(_imported_at(r) for r in imports_of(survey))) if moment]
    if changed and _utc(result.computed_at) < max(map(_utc, changed)):
        return (f"这个调查结果(结果编号 {result.id})是在调查的答卷最后一次变化(结束调查或导入答卷)之前计算的,"
                f"不包含全部答卷,不能作为{_label(survey)}:请重新计算结果后再应用")
    return None


def _imported_at(record: dict) -> datetime | None:
    try:
        return datetime.fromisoformat(str(record.get("at")))
    except ValueError:  # a record without its time (none is written so): nothing to compare
        return None


def _utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored as UTC), PostgreSQL aware ones."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _label(survey: Survey) -> str:
    county = survey.county
    std = load_standard(county.standard) if county.standard else load_standard()
    return std.area_label(SURVEY_AREA)

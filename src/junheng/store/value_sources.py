"""Where a county-year value came from, when a computation supplied it: a survey's result applied
as the county-year's social recognition rate is the value's source while the audit entry that
applied it is the latest change of the field; a value typed after it is marked as typed (and says
which computed value it replaced). Values never computed carry no source: they are entered data,
like every other input.

The engine reads the result as Dataset.value_sources (junheng.engine.result.ValueSource).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from junheng.engine.wording import num
from junheng.schoolyear import LOCAL_TIME
from junheng.store.models import AuditEntry, OrgNode, Survey, SurveyResult

VIA_LABELS = {"form": "网页表单", "upload": "文件导入", "api": "接口", "cli": "命令行", "system": "系统"}


def _date(value: datetime | None) -> str:
    """A stored time as the Beijing date, 2026年10月12日 (SQLite hands back naive UTC)."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return f"{aware.astimezone(LOCAL_TIME):%Y年%m月%d日}"


def survey_source(result: SurveyResult, survey: Survey) -> dict:
    """The ValueSource (as a dict) of a survey result applied to a county-year."""
    details = {"survey_id": survey.id, "result_id": result.id, "rate": result.rate, "ci_low": result.ci_low,
               "ci_high": result.ci_high, "respondents": result.respondents, "answers": result.answers,
               "computed_at": result.computed_at.isoformat() if result.computed_at else None}
    confidence = (result.result or {}).get("confidence", 0.95)
    interval = (f",{confidence:.0%} 置信区间 {num(result.ci_low * 100, '%')}—{num(result.ci_high * 100, '%')}"
                if result.ci_low is not None and result.ci_high is not None else "")
    return {"kind": "survey", "ref": f"survey:{survey.id}", "details": details,
            "label": f"问卷调查“{survey.title}”(有效样本 {result.respondents} 人{interval},"
                     f"{_date(result.computed_at)}计算)"}


def value_sources(session: Session, counties: Iterable[OrgNode]) -> dict[tuple[str, int], dict[str, dict]]:
    """(county_code, year) → {field → ValueSource dict} for the county-year fields a survey result
    was ever applied to."""
    code_of = {c.id: c.code for c in counties}
    if not code_of:
        return {}
    applied = session.execute(
        select(SurveyResult, Survey).join(Survey, Survey.id == SurveyResult.survey_id)
        .where(SurveyResult.county_id.in_(list(code_of)), SurveyResult.audit_id.is_not(None),
               SurveyResult.field.is_not(None))
        .order_by(SurveyResult.audit_id)).all()
    latest_applied: dict[tuple[int, int, str], tuple[SurveyResult, Survey]] = {}
    for result, survey in applied:  # ordered by audit id: the last one applied wins
        latest_applied[(result.county_id, result.year, result.field)] = (result, survey)
    out: dict[tuple[str, int], dict[str, dict]] = {}
    for (county_id, year, field), (result, survey) in latest_applied.items():
        key = f"{code_of[county_id]}/{year}"
        last = session.scalar(select(func.max(AuditEntry.id)).where(
            AuditEntry.entity == "county_year", AuditEntry.entity_key == key, AuditEntry.field == field))
        if last == result.audit_id:
            source = survey_source(result, survey)
        else:
            entry = session.get(AuditEntry, last)
            how = VIA_LABELS.get(entry.via, entry.via) if entry else "录入"
            source = {"kind": "typed", "ref": f"survey:{survey.id}",
                      "details": {"replaced_survey_id": survey.id, "replaced_rate": result.rate},
                      "label": f"人工录入({how},{_date(entry.at) if entry else ''});"
                               f"替换了问卷调查“{survey.title}”的结果"}
        out.setdefault((code_of[county_id], year), {})[field] = source
    return out

"""Where a county-year value came from, when a computation supplied it: a survey's result applied
as the county-year's social recognition rate is the value's source while the audit entry that
applied it is the latest change of the field; a value typed after it is marked as typed (and says
which computed value it replaced). Values never computed carry no source: they are entered data,
like every other input.

Quality rows computed from student scores (junheng.quality.service) are named likewise, under the
key "quality/<subject>": the newest analysis of the county-year is their source while the rows
still hold the values it wrote; a row changed since is marked as typed.

The engine reads the result as Dataset.value_sources (junheng.engine.result.ValueSource).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from junheng.engine.wording import num
from junheng.schoolyear import LOCAL_TIME
from junheng.store.models import AuditEntry, OrgNode, QualityAnalysis, QualityRow, Survey, SurveyResult

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
    for pair, fields in quality_sources(session, code_of).items():
        out.setdefault(pair, {}).update(fields)
    return out


QUALITY_PREFIX = "quality/"  # value-source keys of quality rows: "quality/数学(八年级)"
SAME = 1e-12


def _quality_label(analysis: QualityAnalysis, entry: dict) -> str:
    ci = entry.get("icc_ci")
    confidence = entry.get("confidence", 0.95)
    interval = f",{confidence:.0%} 置信区间 {num(ci[0])}—{num(ci[1])}" if ci else ""
    icc = entry.get("icc")
    rate = f";校际差异率(组内相关系数 ICC(1)){num(icc)}{interval}" if icc is not None else ""
    return (f"由学生成绩计算(文件“{analysis.source_name}”,{_date(analysis.computed_at)}导入;"
            f"{entry['students']} 名学生、{entry['schools']} 所学校{rate})")


def quality_sources(session: Session, code_of: dict[int, str]) -> dict[tuple[str, int], dict[str, dict]]:
    """(county_code, year) → {"quality/<subject>" → ValueSource dict} for the quality rows the
    newest analysis of each county-year wrote."""
    # only the newest analysis of each county-year is loaded (every re-import keeps its own, with
    # its whole result: this runs whenever the store's data is read for an evaluation)
    newest_ids = select(func.max(QualityAnalysis.id)).where(QualityAnalysis.county_id.in_(list(code_of))) \
        .group_by(QualityAnalysis.county_id, QualityAnalysis.year)
    out: dict[tuple[str, int], dict[str, dict]] = {}
    for analysis in session.scalars(select(QualityAnalysis).where(QualityAnalysis.id.in_(newest_ids))):
        county_id, year = analysis.county_id, analysis.year
        rows = {r.subject: r for r in session.scalars(select(QualityRow).where(
            QualityRow.county_id == county_id, QualityRow.year == year, QualityRow.deleted_at.is_(None)))}
        by_label = {entry.get("label"): entry for entry in analysis.results.values()}
        for label, written in analysis.applied.items():
            row = rows.get(label)
            if row is None:
                continue  # deleted since: no value, no source
            entry = by_label.get(label, {})
            same = row.level == written["level"] and abs(row.inter_school_diff_rate
                                                         - written["inter_school_diff_rate"]) <= SAME
            ref = f"quality-analysis:{analysis.id}"
            if same:
                source = {"kind": "computed", "ref": ref, "label": _quality_label(analysis, entry),
                          "details": {"analysis_id": analysis.id, "students": entry.get("students"),
                                      "schools": entry.get("schools"), "icc": entry.get("icc"),
                                      "icc_ci": entry.get("icc_ci"), "method": entry.get("method"),
                                      "confidence": entry.get("confidence"), "level_method": entry.get("level_method"),
                                      "source_name": analysis.source_name}}
            else:
                source = {"kind": "typed", "ref": ref,
                          "details": {"replaced_analysis_id": analysis.id, "replaced": written},
                          "label": f"人工录入;替换了由学生成绩计算的结果(文件“{analysis.source_name}”)"}
            out.setdefault((code_of[county_id], year), {})[QUALITY_PREFIX + label] = source
    return out

"""Reports from the store: the web app's download buttons and `junheng report --workspace`.

The evaluation is the one the county page shows: `junheng.store.evaluations.evaluate_stored` (approved
data, the stored run); the 基本情况 tables come from the store's dataset (`repo.load_dataset`,
approved school-years). For the newest approved year the 问题与整改 section also lists the
county's stored plan items, unfinished supervision tasks and open warnings (docs/methods.md,
"Reports from the store").

    county_report_stored(session, "140599", "docx", year=2024)  -> (RenderedReport, EvaluationResult)
    city_report_stored(session, counties, "xlsx", year=2024)     -> CityReport
    county_report_workspace(workspace, county=…, year=…, fmt=…, out=…)  -> Path written (CLI)
    city_report_workspace(workspace, area=…, year=…, fmt=…, out=…)      -> Path written (CLI)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from junheng.engine.result import EvaluationResult
from junheng.schoolyear import label as school_year_label
from junheng.reports.api import (
    FORMAT_NAMES,
    RenderedReport,
    ReportError,
    Say,
    _quiet,
    check_format,
    city_report,
    county_report,
    resolve_format,
    target_path,
)
from junheng.reports.inputs import (
    MonitoringWarning,
    PlanAction,
    Remediation,
    RemediationPlan,
)
from junheng.monitor.rules import SEVERITY_LABELS, SEVERITY_RANK
from junheng.monitor.tasks import STATUS_LABELS as TASK_STATUS_LABELS
from junheng.reports.inputs import SupervisionTask as TaskRow
from junheng.store.models import (
    MonitorWarning,
    OrgNode,
    School,
    SchoolYear,
    SupervisionTask,
    Survey,
    SurveyQuota,
    SurveyResult,
)



def approved_years(session: Session, county: OrgNode) -> list[int]:
    """The years with approved school data of a county: the years `evaluate_stored` can evaluate
    (the same rows `repo.load_dataset` reads)."""
    query = (select(SchoolYear.year).join(School, School.id == SchoolYear.school_id)
             .where(School.county_id == county.id, School.deleted_at.is_(None), SchoolYear.deleted_at.is_(None),
                    SchoolYear.status == "approved").distinct())
    return sorted(int(y) for y in session.scalars(query))


def years_text(years: list[int]) -> str:
    return "、".join(str(y) for y in years) or "无"


def choose_year(county: OrgNode, years: list[int], year: int | None, complete: list[int] | None = None) -> int:
    """The year asked for, or by default the latest complete year (the latest with approved data
    when none is complete yet): a year being filled in never stands for the county by default."""
    if not years:
        raise ReportError(f"{county.name}({county.code})还没有已审核的学校数据,无法生成报告。"
                          "请先在“数据审核”中审核通过学校数据。")
    if year is None:
        done = [y for y in years if complete is None or y in complete]
        return done[-1] if done else years[-1]
    if year not in years:
        raise ReportError(f"{county.name}({county.code}){school_year_label(year)}没有已审核的学校数据,无法生成该学年的报告。"
                          f"有已审核数据的学年:{years_text(years)}")
    return year


def refuse_incomplete(result: EvaluationResult) -> None:
    """The CLI's rule: a report of an incomplete year only when asked for with --allow-incomplete."""
    if result.complete:
        return
    c = result.coverage
    missing = "、".join(m.school_name for m in c.missing[:10]) + ("等" if len(c.missing) > 10 else "")
    raise ReportError(f"{result.county_name}{school_year_label(result.year)}的数据不完整(已审核 {c.fraction()} 所学校"
                      + ("" if c.county_year else ",县级年度数据未审核定稿")
                      + (f";尚缺:{missing}" if missing else "")
                      + "),不能作为全县的自评报告。确需临时报告(首页注明数据不完整)请加 --allow-incomplete")


# ---------------------------------------------------------------------------------------------
# 问题与整改 from the monitoring records


def stored_remediation(session: Session, county: OrgNode) -> Remediation | None:
    """The county's plan items (tasks made from a plan), its other unfinished supervision tasks
    and its open warnings, as the report's 问题与整改 inputs; None when there are none."""
    tasks = session.scalars(select(SupervisionTask).where(SupervisionTask.county_id == county.id,
                                                          SupervisionTask.deleted_at.is_(None))
                            .order_by(SupervisionTask.id)).all()
    actions = [PlanAction(indicator=t.indicator or "—", action=t.title,
                          school_name=t.school.name if t.school else None, cost_wan_yuan=t.amount_wan,
                          year=t.plan_year or (t.deadline.year if t.deadline else None),
                          responsible=[str(r) for r in t.responsible or []])
               for t in tasks if t.source == "plan"]
    open_tasks = [TaskRow(title=t.title, indicator=t.indicator, responsible=[str(r) for r in t.responsible or []],
                          due=t.deadline, status=TASK_STATUS_LABELS.get(t.status, t.status))
                  for t in tasks if t.source != "plan" and t.status != "verified"]
    warnings = session.scalars(select(MonitorWarning).where(MonitorWarning.county_id == county.id,
                                                            MonitorWarning.resolved_at.is_(None))
                               .order_by(MonitorWarning.id)).all()
    warnings = sorted(warnings, key=lambda w: (-SEVERITY_RANK.get(w.severity, 0), w.id))  # red first
    warning_rows = [MonitoringWarning(message=w.message or w.title, indicator=w.indicator,
                                      level=f"{SEVERITY_LABELS.get(w.severity, w.severity)}预警",
                                      raised=w.first_seen_at.date() if w.first_seen_at else None)
                    for w in warnings]
    if not (actions or open_tasks or warning_rows):
        return None
    plan = RemediationPlan(title=f"{county.name}义务教育优质均衡发展推进计划",
                           target_year=county.target_year, actions=actions) if actions else None
    return Remediation(plan=plan, tasks=open_tasks, warnings=warning_rows)


# ---------------------------------------------------------------------------------------------
# 社会认可度调查: the survey result behind the social recognition figure


def _local_day(value):
    """A stored time as its Beijing date (SQLite hands back naive UTC)."""
    from datetime import timezone

    from junheng.schoolyear import LOCAL_TIME

    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(LOCAL_TIME).date()


def stored_survey(session: Session, result: EvaluationResult):
    """The applied survey result the evaluation's social recognition value came from (its
    ValueSource of kind "survey" names it), as county_survey.SurveyEvidence; None when the value
    was typed, or the result is no longer there."""
    from junheng.reports.county_survey import SurveyEvidence, item_source, survey_item

    item = survey_item(result)
    source = item_source(item) if item is not None else None
    if source is None or source.kind != "survey":
        return None
    row = session.get(SurveyResult, source.details.get("result_id")) if source.details.get("result_id") else None
    if row is None or row.audit_id is None:
        return None
    survey = session.get(Survey, row.survey_id)
    score = dict(row.result or {})
    settings = survey.settings or {}
    planned = (survey.plan or {}).get("total") or session.scalar(
        select(func.sum(SurveyQuota.size)).where(SurveyQuota.survey_id == survey.id))
    scale = score.get("scale") or settings.get("scale") or {}
    questionnaires = [q for q in (survey.questionnaires or {}).values() if isinstance(q, dict)]
    recognising = scale.get("recognising") or [o for q in questionnaires for o in q.get("recognising") or []]
    excluded = scale.get("excluded") or [o for q in questionnaires for o in q.get("excluded") or []]
    return SurveyEvidence(
        survey_id=survey.id, title=survey.title, score=score, opened=_local_day(survey.opened_at),
        closed=_local_day(survey.closed_at), computed=_local_day(row.computed_at),
        planned=int(planned) if planned else None, recognising=tuple(dict.fromkeys(map(str, recognising))),
        excluded_options=tuple(dict.fromkeys(map(str, excluded))), checks=dict(settings.get("checks") or {}))


# ---------------------------------------------------------------------------------------------
# 教育质量监测: the analysis of student scores behind the quality monitoring figures


def stored_quality(session: Session, county: OrgNode, result: EvaluationResult):
    """The newest stored analysis of the county-year's student scores (quality.service), as
    county_quality.QualityEvidence; None when there is none or the standard has no quality
    monitoring indicator."""
    from junheng.quality.service import latest_analysis
    from junheng.reports.county_quality import QualityEvidence, quality_item

    if quality_item(result) is None:
        return None
    analysis = latest_analysis(session, county, result.year)
    if analysis is None:
        return None
    return QualityEvidence(source_name=analysis.source_name, rows=int(analysis.rows or 0),
                           results=dict(analysis.results or {}), settings=dict(analysis.settings or {}),
                           notes=tuple(str(n) for n in analysis.notes or []),
                           imported=_local_day(analysis.computed_at))


# ---------------------------------------------------------------------------------------------
# One county


def county_report_stored(session: Session, county_code: str, fmt: str, *, year: int | None = None,
                         user=None, allow_incomplete: bool = True) -> tuple[RenderedReport, EvaluationResult]:
    """The self-evaluation report of a stored county-year (default: the latest complete year).
    A report of an incomplete year says so on its first page; with `allow_incomplete=False`
    (the CLI without --allow-incomplete) it is refused. The evaluation may be stored as a new
    run: the caller commits."""
    from junheng.store.evaluations import evaluate_stored
    from junheng.store import repo

    fmt = check_format(fmt)
    county = repo.county_by_code(session, county_code)
    years = approved_years(session, county)
    complete = repo.year_progress(session, county).complete_years
    year = choose_year(county, years, year, complete)
    result, _, _ = evaluate_stored(session, county.code, year, user=user)
    if not allow_incomplete:
        refuse_incomplete(result)
    dataset = repo.load_dataset(session, [county.code])
    # today's tasks and warnings belong in the report of the current year, not in an old one
    remediation = stored_remediation(session, county) if year == choose_year(county, years, None, complete) else None
    return county_report(result, fmt, dataset=dataset, remediation=remediation,
                         survey=stored_survey(session, result), quality=stored_quality(session, county, result)), result


# ---------------------------------------------------------------------------------------------
# Several counties (a city, a province, what a user may read)


@dataclass
class CityReport:
    report: RenderedReport
    year: int
    results: list[EvaluationResult]
    left_out: list[OrgNode] = field(default_factory=list)  # counties whose data of that year are not complete


def area_name(counties: list[OrgNode]) -> str | None:
    """The one city (or else the one province) all the counties belong to; None when mixed."""
    for kind in ("city", "province"):
        names = set()
        for county in counties:
            node, found = county.parent, None
            while node is not None:
                if node.kind == kind:
                    found = node.name
                    break
                node = node.parent
            names.add(found)
        if len(names) == 1 and None not in names:
            return names.pop()
    return None


def city_report_stored(session: Session, counties: list[OrgNode], fmt: str, *, year: int | None = None,
                       scope: str | None = None, user=None) -> CityReport:
    """The summary report of stored counties for one year (default: the newest year complete for
    any of them); earlier complete years give the progress. Counties whose data of that year are
    not complete are left out (listed in `left_out`)."""
    from junheng.store.evaluations import evaluate_stored
    from junheng.store import repo

    fmt = check_format(fmt)
    if not counties:
        raise ReportError("没有可汇总的县区")
    # a county speaks in the summary only for its complete years (partial data never do)
    years_of = {c.code: repo.year_progress(session, c).complete_years for c in counties}
    every = sorted({y for ys in years_of.values() for y in ys})
    if not every:
        raise ReportError("所选县区都还没有数据完整(全部学校和县级数据均已审核)的学年,无法生成汇总报告")
    if year is None:
        year = every[-1]
    elif year not in every:
        raise ReportError(f"所选县区{school_year_label(year)}都没有完整的已审核数据。数据完整的学年:{years_text(every)}")
    current, history, left_out = [], [], []
    for county in sorted(counties, key=lambda c: c.code):
        if year not in years_of[county.code]:
            left_out.append(county)
            continue
        for y in years_of[county.code]:
            if y <= year:
                result, _, _ = evaluate_stored(session, county.code, y, user=user)
                (current if y == year else history).append(result)
    included = [c.code for c in counties if c not in left_out]
    dataset = repo.load_dataset(session, included)
    report = city_report(current, fmt, dataset=dataset, city=scope or area_name(counties), history=history)
    return CityReport(report=report, year=year, results=current, left_out=left_out)


def counties_under(session: Session, area: str | None) -> tuple[list[OrgNode], str | None]:
    """The counties of a city or province named by code or name (all counties when None), and
    the area's name for the report title."""
    counties = session.scalars(select(OrgNode).where(OrgNode.kind == "county", OrgNode.deleted_at.is_(None))
                               .order_by(OrgNode.code)).all()
    if area is None:
        return list(counties), None
    nodes = session.scalars(select(OrgNode).where(OrgNode.kind.in_(("city", "province", "county")),
                                                  OrgNode.deleted_at.is_(None),
                                                  (OrgNode.code == area) | (OrgNode.name == area))).all()
    if not nodes:
        areas = session.scalars(select(OrgNode).where(OrgNode.kind.in_(("city", "province")),
                                                      OrgNode.deleted_at.is_(None)).order_by(OrgNode.code)).all()
        listed = "、".join(f"{n.name}({n.code})" for n in areas[:30]) or "无(县区未归属任何市、省)"
        raise ReportError(f"工作区中没有代码或名称为“{area}”的市或省。工作区中的市、省:{listed}")
    if len(nodes) > 1:
        listed = "、".join(f"{n.name}({n.code})" for n in nodes)
        raise ReportError(f"“{area}”对应多个地区,请用代码指定其中一个:{listed}")
    node = nodes[0]
    if node.kind == "county":
        return [node], None

    def under(county: OrgNode) -> bool:
        parent = county.parent
        while parent is not None:
            if parent.id == node.id:
                return True
            parent = parent.parent
        return False

    chosen = [c for c in counties if under(c)]
    if not chosen:
        raise ReportError(f"{node.name}({node.code})下没有县区")
    return chosen, node.name


# ---------------------------------------------------------------------------------------------
# The CLI on a workspace


def _open(workspace: Path | None, command: str):
    from junheng.store.db import open_workspace_database as open_database
    from junheng.workspace import WorkspaceError

    try:
        database, _ = open_database(workspace)
    except WorkspaceError as exc:
        raise ReportError(f"{exc.user_message()};或者给出数据集:junheng {command} 数据集(CSV 文件夹或 XLSX 工作簿)") from None
    return database


def _one_county(session: Session, county: str | None) -> str:
    if county is not None:
        return county
    counties = session.scalars(select(OrgNode).where(OrgNode.kind == "county", OrgNode.deleted_at.is_(None))
                               .order_by(OrgNode.code)).all()
    if not counties:
        raise ReportError("工作区中还没有县区数据。请先上传或导入数据(或运行 junheng demo)")
    if len(counties) > 1:
        listed = "、".join(f"{c.code}({c.name})" for c in counties[:20])
        raise ReportError(f"工作区中有多个县区,请用 --county 指定一个:{listed}")
    return counties[0].code


def county_report_workspace(workspace: Path | None, *, county: str | None = None, year: int | None = None,
                            fmt: str | None = None, out: Path | None = None, say: Say = _quiet,
                            allow_incomplete: bool = False) -> Path:
    """`junheng report --workspace`: one county's report from the workspace store (approved data)."""
    from junheng.store import repo

    fmt = resolve_format(fmt, out)
    database = _open(workspace, "report")
    try:
        with database.session() as session:
            code = _one_county(session, county)
            try:
                node = repo.county_by_code(session, code)
            except repo.StoreError:
                raise ReportError(f"工作区中没有县区代码为 {code} 的县区") from None
            progress = repo.year_progress(session, node)
            chosen = choose_year(node, approved_years(session, node), year, progress.complete_years)
            for y, c in progress.in_progress:
                if y != chosen:
                    say(f"提示:{school_year_label(y)}填报中(已审核 {c.fraction()} 所),报告使用{school_year_label(chosen)}的数据")
            say(f"正在生成{FORMAT_NAMES[fmt]}:{node.name}({node.code}){school_year_label(chosen)}(已审核数据)"
                + ("(PDF 由 LibreOffice 转换,约需数秒)" if fmt == "pdf" else ""))
            report, result = county_report_stored(session, code, fmt, year=chosen, allow_incomplete=allow_incomplete)
            if result.provisional:
                say(f"注意:{result.coverage.statement()}")
            say(f"结论:{result.verdict_label}")
    finally:
        database.engine.dispose()
    return report.write(target_path(out, report))


def city_report_workspace(workspace: Path | None, *, area: str | None = None, year: int | None = None,
                          fmt: str | None = None, out: Path | None = None, say: Say = _quiet) -> Path:
    """`junheng report-city --workspace`: the summary of a city's (province's, or every) stored
    counties."""
    fmt = resolve_format(fmt, out)
    database = _open(workspace, "report-city")
    try:
        with database.session() as session:
            counties, name = counties_under(session, area)
            if not counties:
                raise ReportError("工作区中还没有县区数据。请先上传或导入数据(或运行 junheng demo)")
            say(f"正在汇总 {len(counties)} 个县区的已审核数据……")
            done = city_report_stored(session, counties, fmt, year=year, scope=name)
            for county in done.left_out:
                say(f"提示:{county.name}({county.code}){school_year_label(done.year)}的数据不完整,未列入汇总")
            say(f"已汇总 {len(done.results)} 个县区{school_year_label(done.year)}")
    finally:
        database.engine.dispose()
    return done.report.write(target_path(out, done.report))

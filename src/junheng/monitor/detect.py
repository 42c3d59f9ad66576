"""Detectors: one per rule kind. Each reads a county's context and returns the conditions that
hold now; `junheng.monitor.warnings.reconcile` turns them into stored warnings.

A detector raises `Skip` when it lacks what it needs (no complete year, no forecast): the
warnings of that rule are then left as they are rather than resolved.

The indicator rules (breach, margin, decline, forecast, schedule) read complete years only:
`results` and `dataset` hold no county-year whose coverage is incomplete, so a year being
filled in (approved for 1 of 78 schools) never resolves or worsens a warning; it is the data
rule's business (one warning per county and deadline while it is late).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.data.catalog import catalog
from junheng.data.dataset import Dataset
from junheng.engine.result import EvaluationResult
from junheng.engine.wording import num
from junheng.monitor.observe import CV_LEVELS, Observation
from junheng.monitor.rules import (
    BreachRule,
    DataJumpRule,
    DataMissingRule,
    DeclineRule,
    ForecastRule,
    MarginRule,
    RuleSet,
    ScheduleRule,
    TaskRule,
)
from junheng.schoolyear import label
from junheng.standards.model import Standard
from junheng.store.models import OrgNode, School, SchoolYear, SupervisionTask

OP_WORDS = {">=": "不低于", "<=": "不超过"}
TASK_STATUS_LABELS = {"open": "未开始", "in_progress": "进行中", "done": "已完成", "verified": "已核验"}


class Skip(Exception):
    """The rule cannot be checked now (its warnings are left as they are)."""


NO_COMPLETE_YEAR = "没有数据完整的学年(全县应有学校和县级年度数据均已审核)"


@dataclass
class Condition:
    key: str
    kind: str
    rule_id: str
    severity: str
    title: str
    message: str
    indicator: str | None = None
    segment: str | None = None
    school_code: str | None = None
    year: int | None = None
    numbers: dict = field(default_factory=dict)
    responsible: list[str] = field(default_factory=list)
    badness: float = 0.0
    escalate_to: str | None = None
    task_id: int | None = None


@dataclass
class CountyContext:
    session: Session
    county: OrgNode
    standard: Standard
    rules: RuleSet
    today: date
    dataset: Dataset  # approved data of the complete years only (what the evaluation reads)
    results: dict[int, EvaluationResult]  # year → result, complete years only
    forecast_loader: object = None  # () → CountyForecast | None

    @property
    def code(self) -> str:
        return self.county.code

    @property
    def latest(self) -> int | None:
        return max(self.results) if self.results else None

    def key(self, kind: str, rule_id: str, ident: str) -> str:
        return f"{self.code}|{kind}|{rule_id}|{ident}"

    @cached_property
    def observations(self) -> dict[int, list[Observation]]:
        from junheng.monitor.series import result_observations

        return {year: result_observations(r, self.dataset) for year, r in self.results.items()}

    @cached_property
    def forecast(self):
        return self.forecast_loader() if self.forecast_loader else None

    def responsible(self, rule, obs: Observation | None = None) -> list[str]:
        if rule.responsible:
            return list(rule.responsible)
        if obs is not None and obs.responsible:
            return list(obs.responsible)
        return ["教体局"]


def _selected(rule, obs: Observation) -> bool:
    return not rule.indicators or obs.indicator in rule.indicators


def _value_text(obs: Observation, value=None) -> str:
    value = obs.value if value is None else value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float)):
        if obs.level in CV_LEVELS:
            return f"{value:.3f}"
        return num(value, obs.unit)
    return str(value) if value is not None else "—"


def _threshold_text(obs: Observation) -> str:
    if obs.threshold is None:
        return ""
    limit = f"{obs.threshold:.2f}" if obs.level in CV_LEVELS else num(obs.threshold, obs.unit)
    return f"(标准:{OP_WORDS.get(obs.op, '')} {limit})"


def _numbers(obs: Observation, year: int | None, **extra) -> dict:
    value = obs.value if isinstance(obs.value, (int, float, bool)) or obs.value is None else str(obs.value)
    out = {"value": value, "threshold": obs.threshold, "op": obs.op, "unit": obs.unit, "level": obs.level,
           "label": obs.label, "year": year}
    if obs.school_id:
        out |= {"school_id": obs.school_id, "school_name": obs.school_name}
    if obs.segment:
        out["segment"] = obs.segment
    if obs.check:
        out["check"] = obs.check
    return out | extra


def _shortfall(obs: Observation) -> dict:
    """The share a failing value lacks of its threshold, when there is one to measure against
    (4 of 5 rooms: 20%); a school finding without a threshold (a room too few, named in the
    message) has no share: its 1.0 of `Observation.shortfall` only ranks it, "差距 100.0%" would
    be false."""
    if obs.numeric and obs.op in (">=", "<=") and obs.threshold not in (None, 0):
        return {"shortfall": round(obs.shortfall(), 6)}
    return {}


def _describe(obs: Observation) -> str:
    if obs.level == "school" and obs.op is None:
        return f"{obs.where}:{obs.detail or obs.label}"
    if obs.level == "county" and obs.op is None and not isinstance(obs.value, bool):
        return obs.detail or obs.label
    return f"{obs.where}{obs.label} {_value_text(obs)}{_threshold_text(obs)}"


# ---------------------------------------------------------------- breach, margin, decline


def _per_school_rule_text(standard: Standard) -> str:
    """“(至少 6 项达标且均不低于标准的 85%)”: why a unit short of one value still complies."""
    rule = standard.per_school_rule
    return f"(至少 {rule.min_met} 项达标且均不低于标准的 {rule.floor_ratio:.0%})" if rule is not None else ""


def detect_breach(ctx: CountyContext, rule_id: str, rule: BreachRule) -> list[Condition]:
    if ctx.latest is None:
        raise Skip(NO_COMPLETE_YEAR)
    out = []
    for obs in ctx.observations[ctx.latest]:
        if obs.met is not False or not _selected(rule, obs) or obs.level == "county_value":
            continue
        severity = rule.tolerated_severity if obs.tolerated else rule.severity
        message = f"{label(ctx.latest)}{_describe(obs)},未达标。"
        if obs.tolerated:
            message += f"{obs.detail},学校仍综合达标{_per_school_rule_text(ctx.standard)},但此项须补齐。"
        out.append(Condition(
            key=ctx.key("breach", rule_id, obs.ident), kind="breach", rule_id=rule_id, severity=severity,
            title=f"{obs.heading}未达标", message=message, indicator=obs.indicator,
            segment=obs.segment, school_code=obs.school_id, year=ctx.latest,
            numbers=_numbers(obs, ctx.latest, tolerated=obs.tolerated, **_shortfall(obs)),
            responsible=ctx.responsible(rule, obs), badness=obs.shortfall()))
    return out


def detect_margin(ctx: CountyContext, rule_id: str, rule: MarginRule) -> list[Condition]:
    if ctx.latest is None:
        raise Skip(NO_COMPLETE_YEAR)
    out = []
    for obs in ctx.observations[ctx.latest]:
        if obs.met is not True or not _selected(rule, obs) or obs.threshold is None:
            continue
        room = obs.headroom()
        if room is None:
            continue
        if obs.unit == "%":
            if obs.op == ">=" and obs.value >= 100:
                continue  # at 100% a rate cannot go higher: not "close to" anything
            # a rate that cannot pass 100%: "close" is within some percentage points of its line
            points = abs(obs.value - obs.threshold)
            if points >= rule.percent_within_points:
                continue
            closeness = 1 - points / rule.percent_within_points if rule.percent_within_points else 1.0
            band = f"{rule.percent_within_points:g} 个百分点"
            gap = f"{points:.2f} 个百分点"
        else:
            if room >= rule.within:
                continue
            closeness = 1 - max(room, 0.0) / rule.within
            band = f"{rule.within * 100:.0f}%"
            gap = f"{room * 100:.1f}%"
        out.append(Condition(
            key=ctx.key("margin", rule_id, obs.ident), kind="margin", rule_id=rule_id, severity=rule.severity,
            title=f"{obs.heading}接近达标线",
            message=f"{label(ctx.latest)}{_describe(obs)},距达标线仅 {gap}(预警线 {band})。",
            indicator=obs.indicator, segment=obs.segment, school_code=obs.school_id, year=ctx.latest,
            numbers=_numbers(obs, ctx.latest, headroom=round(room, 6), within=rule.within),
            responsible=ctx.responsible(rule, obs), badness=closeness))
    return out


def certified(county: OrgNode, year: int) -> bool:
    return county.certified_year is not None and county.certified_year <= year


def detect_decline(ctx: CountyContext, rule_id: str, rule: DeclineRule) -> list[Condition]:
    if ctx.latest is None:
        raise Skip(NO_COMPLETE_YEAR)
    year = ctx.latest
    if rule.certified_only and not certified(ctx.county, year):
        return []
    if year - 1 not in ctx.results:
        return []
    before = {o.ident: o for o in ctx.observations[year - 1]}
    out = []
    for obs in ctx.observations[year]:
        prev = before.get(obs.ident)
        if prev is None or not _selected(rule, obs) or obs.op is None or not (obs.numeric and prev.numeric):
            continue
        if not prev.value:
            continue
        drop = (prev.value - obs.value) / abs(prev.value) if obs.op == ">=" else (obs.value - prev.value) / abs(prev.value)
        if drop <= rule.min_drop:
            continue
        word = "降至" if obs.op == ">=" else "升至"
        out.append(Condition(
            key=ctx.key("decline", rule_id, obs.ident), kind="decline", rule_id=rule_id, severity=rule.severity,
            title=f"{obs.heading}较上年下滑",
            message=(f"{obs.where}{obs.label}由 {label(year - 1)}的 {_value_text(prev)}{word} {label(year)}的 "
                     f"{_value_text(obs)},较上年变差 {drop * 100:.1f}%{_threshold_text(obs)};"
                     "已通过优质均衡认定的县区各项指标须“不下滑、不反弹”。"),
            indicator=obs.indicator, segment=obs.segment, school_code=obs.school_id, year=year,
            numbers=_numbers(obs, year, previous=prev.value, previous_year=year - 1, drop=round(drop, 6),
                             met=obs.met),
            responsible=ctx.responsible(rule, obs), badness=drop))
    return out


# ---------------------------------------------------------------- forecast


def forecast_indicators(standard: Standard) -> set[str]:
    """What a forecast of pupils can move: the unit-level (per-student) indicators and their
    CVs, school sizes and class sizes of the county's standard."""
    return {ind.id for ind in standard.resource_indicators()} | {
        ind.id for ind in standard.indicators_of_kind("school_size", "class_size")}


def detect_forecast(ctx: CountyContext, rule_id: str, rule: ForecastRule) -> list[Condition]:
    if ctx.latest is None:
        raise Skip(NO_COMPLETE_YEAR)
    forecast = ctx.forecast
    if forecast is None or "mid" not in forecast.results:
        raise Skip("没有入学预测")
    from junheng.monitor.forecast import projected_observations

    now = {o.ident: o for o in ctx.observations[ctx.latest]}
    projected = projected_observations(forecast, ctx.dataset, "mid")
    moved = forecast_indicators(ctx.standard)
    found: dict[str, Condition] = {}
    for year in sorted(projected):
        years_until = year - ctx.latest
        if years_until > rule.horizon_years:
            break
        for obs in projected[year]:
            if obs.indicator not in moved or obs.met is not False or not _selected(rule, obs):
                continue
            if obs.level not in ("unit", "cv", "school") or obs.ident in found:
                continue
            current = now.get(obs.ident)
            if current is not None and current.met is False:
                continue  # already failing: a breach, not a forecast
            students = _projected_students(forecast, obs, year)
            severity = rule.next_year_severity if years_until == 1 else rule.severity
            found[obs.ident] = Condition(
                key=ctx.key("forecast", rule_id, obs.ident), kind="forecast", rule_id=rule_id, severity=severity,
                title=f"{obs.heading}预计 {label(year)}不达标",
                message=(f"按入学预测(中位),{label(year)}{_describe(obs)},将不达标"
                         + (f";预测在校生 {students}" if students else "") + "。"),
                indicator=obs.indicator, segment=obs.segment, school_code=obs.school_id, year=year,
                numbers=_numbers(obs, year, base_year=ctx.latest, years_until=years_until,
                                 current_value=current.value if current is not None and current.numeric else None,
                                 projected_students=students),
                responsible=ctx.responsible(rule, obs), badness=1.0 / years_until)
    return list(found.values())


def _projected_students(forecast, obs: Observation, year: int) -> str | None:
    if not obs.school_id:
        return None
    try:
        school = forecast.school(obs.school_id)
    except StopIteration:
        return None
    segs = school.segments.get(year, {})
    if obs.segment and obs.segment in segs:
        b = segs[obs.segment]
        return f"{b.mid:.0f} 人(区间 {b.low:.0f}–{b.high:.0f})"
    if segs:
        mid, low, high = (sum(getattr(b, k) for b in segs.values()) for k in ("mid", "low", "high"))
        return f"{mid:.0f} 人(区间 {low:.0f}–{high:.0f})"
    return None


# ---------------------------------------------------------------- data


STATE_WORDS = {"none": "未填报", "draft": "未提交", "returned": "被退回待重新提交", "submitted": "已提交待审核"}
STATE_ORDER = ("none", "draft", "returned", "submitted")
NAMES_SHOWN = 10  # schools named per state in the message (numbers["schools"] has them all)


def detect_data_missing(ctx: CountyContext, rule_id: str, rule: DataMissingRule) -> list[Condition]:
    """One warning per county and deadline: every school year after the county's latest
    complete one (from its first year with a record when none is complete) whose due date has
    passed and whose data are not all approved, with the schools behind it (the roster of the
    year: closed schools and schools not yet opened are not expected) and the county-level
    row. A gap stays open until it is filled, whatever later years do; a complete year has none."""
    from junheng.store import repo

    stored = {y for (code, y) in repo.coverage_by_year(ctx.session, [ctx.county])}
    if not stored:
        return []  # a county that never stored anything is not monitored for deadlines
    # the years due so far, with those that have no record at all yet (every school missing)
    wanted = range(min(stored), ctx.today.year + 1)
    coverage = {y: c for (code, y), c in repo.coverage_by_year(ctx.session, [ctx.county], years=wanted).items()
                if code == ctx.code}
    complete = [y for y, c in coverage.items() if c.complete]
    start = max(complete) + 1 if complete else min(stored)
    out = []
    for year in range(start, ctx.today.year + 1):
        if rule.due_date(year) >= ctx.today:
            continue
        cov = coverage[year]
        if cov.complete or not cov.schools_expected:
            continue
        out.append(_data_condition(ctx, rule_id, rule, year, cov))
    return out


def _data_condition(ctx: CountyContext, rule_id: str, rule: DataMissingRule, year: int, cov) -> Condition:
    due = rule.due_date(year)
    late = (ctx.today - due).days
    severity = rule.late_severity if late >= rule.late_days else rule.severity
    by_state: dict[str, list] = {}
    for m in cov.missing:
        by_state.setdefault(m.status, []).append(m)
    parts = []
    for state in STATE_ORDER:
        schools = by_state.get(state, [])
        if not schools:
            continue
        names = "、".join(m.school_name for m in schools[:NAMES_SHOWN])
        more = f"等 {len(schools)} 所" if len(schools) > NAMES_SHOWN else ""
        parts.append(f"{STATE_WORDS[state]} {len(schools)} 所({names}{more})")
    county_row = cov.county_year_status
    if county_row != "approved":
        parts.append("县级年度数据" + ("未填报" if county_row is None else STATE_WORDS.get(county_row, county_row)))
    todo = []
    if any(by_state.get(state) for state in ("none", "draft", "returned")):
        todo.append("请学校填报并提交")
    if by_state.get("submitted"):
        todo.append("请县级管理员审核")
    if county_row is None:
        todo.append("请县级管理员填报并审核县级年度数据")
    elif county_row != "approved":
        todo.append("请县级管理员审核定稿县级年度数据")
    head = f"{label(year)}:已审核 {cov.schools_included}/{cov.schools_expected} 所"
    timing = f"应于 {due.isoformat()} 前完成,已逾期 {late} 天"
    message = f"{label(year)}数据尚未全部审核通过:" + ";".join(parts) + "。" + ",".join(todo) + "。"
    missing_share = len(cov.missing) / cov.schools_expected
    return Condition(
        key=ctx.key("data_missing", rule_id, f"county/{year}"), kind="data_missing", rule_id=rule_id,
        severity=severity, title=f"{head},{timing}", message=message, year=year,
        numbers={"year": year, "year_label": label(year), "due": due.isoformat(), "days_late": late,
                 "schools_expected": cov.schools_expected, "schools_approved": cov.schools_included,
                 "by_status": {state: len(by_state[state]) for state in STATE_ORDER if state in by_state},
                 "schools": [{"school_id": m.school_id, "school_name": m.school_name, "status": m.status,
                              "status_label": STATE_WORDS.get(m.status, m.status)} for m in cov.missing],
                 "county_year_status": county_row or "none"},
        responsible=ctx.responsible(rule),
        # the share of the roster still to come, and the county-level row: fewer is better
        badness=round(missing_share + (0.0 if county_row == "approved" else 0.01), 6))


def detect_data_jump(ctx: CountyContext, rule_id: str, rule: DataJumpRule) -> list[Condition]:
    """Fields that changed more than the rule allows from a school's previous year, checked for
    the county's latest complete year and for every year after it being filled in (rows in any
    state: a reviewer sees the jump before approving it). One warning per school, field and
    year, so a year in progress neither hides nor replaces the question about the last one."""
    rows = ctx.session.execute(
        select(School.code, School.name, SchoolYear.year, SchoolYear.values, SchoolYear.status)
        .join(School, School.id == SchoolYear.school_id)
        .where(School.county_id == ctx.county.id, School.deleted_at.is_(None), SchoolYear.deleted_at.is_(None))
    ).all()
    by_school: dict[str, dict[int, dict]] = {}
    names = {}
    for code, name, year, values, _status in rows:
        by_school.setdefault(code, {})[year] = values or {}
        names[code] = name
    fields = catalog().table("school_year")
    out = []
    for code, years in sorted(by_school.items()):
        since = ctx.latest if ctx.latest is not None else max(years)
        for year in sorted(y for y in years if y >= since and y - 1 in years):
            out += _jumps(ctx, rule_id, rule, fields, code, names[code], year, years[year - 1], years[year])
    return out


def _jumps(ctx: CountyContext, rule_id: str, rule: DataJumpRule, fields, code: str, name: str, year: int,
           prev: dict, cur: dict) -> list[Condition]:
    out = []
    for key, jump in rule.fields.items():
        a, b = prev.get(key), cur.get(key)
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or isinstance(a, bool) or a <= 0:
            continue
        change = (b - a) / a
        if not ((jump.drop is not None and change < -jump.drop) or (jump.rise is not None and change > jump.rise)):
            continue
        spec = fields.field(key)
        limit = f"下降不超过 {jump.drop * 100:.0f}%" if change < 0 else f"增长不超过 {jump.rise * 100:.0f}%"
        out.append(Condition(
            key=ctx.key("data_jump", rule_id, f"{code}/{key}/{year}"), kind="data_jump", rule_id=rule_id,
            severity=rule.severity, title=f"{name}{spec.label}年度变化异常({label(year)})",
            message=(f"{name}{spec.label}由 {label(year - 1)}的 {num(a, spec.unit)}变为 {label(year)}的 "
                     f"{num(b, spec.unit)}({change * 100:+.1f}%),超出合理范围({limit}),请核实数据。"),
            school_code=code, year=year,
            numbers={"field": key, "label": spec.label, "unit": spec.unit, "previous": a, "value": b,
                     "previous_year": year - 1, "year": year, "change": round(change, 6),
                     "school_id": code, "school_name": name},
            responsible=ctx.responsible(rule), badness=abs(change)))
    return out


# ---------------------------------------------------------------- tasks and schedule


def detect_task(ctx: CountyContext, rule_id: str, rule: TaskRule) -> list[Condition]:
    tasks = ctx.session.scalars(select(SupervisionTask).where(
        SupervisionTask.county_id == ctx.county.id, SupervisionTask.deleted_at.is_(None),
        SupervisionTask.status.in_(("open", "in_progress")), SupervisionTask.deadline.is_not(None))).all()
    out = []
    for task in tasks:
        days = (task.deadline - ctx.today).days
        if days > rule.due_within_days:
            continue
        overdue = days < 0
        owner = task.owner_name or (task.owner.display_name if task.owner else None)
        who = f"(负责人:{owner})" if owner else ""
        status = TASK_STATUS_LABELS.get(task.status, task.status)
        if overdue:
            title = f"督办任务已逾期:{task.title}"
            message = (f"督办任务“{task.title}”{who}应于 {task.deadline.isoformat()} 完成,已逾期 {-days} 天,"
                       f"当前状态:{status}。已提请县级管理员督办。" if rule.escalate_overdue else
                       f"督办任务“{task.title}”{who}应于 {task.deadline.isoformat()} 完成,已逾期 {-days} 天,当前状态:{status}。")
        else:
            title = f"督办任务即将到期:{task.title}"
            message = (f"督办任务“{task.title}”{who}应于 {task.deadline.isoformat()} 完成,还剩 {days} 天,"
                       f"当前状态:{status}。")
        out.append(Condition(
            key=ctx.key("task", rule_id, str(task.id)), kind="task", rule_id=rule_id,
            severity=rule.overdue_severity if overdue else rule.severity, title=title, message=message,
            indicator=task.indicator, school_code=task.school.code if task.school else None,
            numbers={"task_id": task.id, "deadline": task.deadline.isoformat(), "days_left": days,
                     "status": task.status, "owner": owner},
            responsible=list(task.responsible or []) or ctx.responsible(rule),
            badness=1.0 if overdue else 0.0, task_id=task.id,
            escalate_to="county_admin" if overdue and rule.escalate_overdue else None))
    return out


@dataclass(frozen=True)
class Path:
    """Where a county stands against the straight path to its target year."""

    target_year: int | None
    baseline_year: int | None
    baseline_failing: int | None
    year: int | None
    failing: int | None
    expected: int | None  # failing items the path allows in `year`
    behind: bool
    overdue: bool  # the target year has come and the county still fails

    def json(self) -> dict:
        return self.__dict__.copy()


def path_of(county: OrgNode, results: dict[int, EvaluationResult], slack: int = 0) -> Path:
    """The straight path: failing items fall linearly from the first stored year (baseline) to
    none in the target year. Behind: more failing items in the latest year than the path allows
    (rounded up) plus `slack`; also behind when the target year has come and the county fails."""
    import math

    target = county.target_year
    if not results or target is None or (county.certified_year is not None):
        return Path(target, None, None, max(results) if results else None,
                    len(results[max(results)].failing_items()) if results else None, None, False, False)
    y0, y = min(results), max(results)
    f0, f = len(results[y0].failing_items()), len(results[y].failing_items())
    if target <= y0:
        expected = 0
    else:
        expected = max(0, math.ceil(f0 * (target - y) / (target - y0) - 1e-9))
    overdue = y >= target and results[y].verdict != "pass"
    behind = overdue or f > expected + slack
    return Path(target, y0, f0, y, f, expected, behind, overdue)


def detect_schedule(ctx: CountyContext, rule_id: str, rule: ScheduleRule) -> list[Condition]:
    county = ctx.county
    if county.target_year is None or county.certified_year is not None:
        return []
    if not ctx.results:
        raise Skip(NO_COMPLETE_YEAR)
    path = path_of(county, ctx.results, rule.slack_items)
    if not path.behind:
        return []
    latest = ctx.results[path.year]
    failing = latest.failing_items()
    if path.overdue:
        message = (f"{county.name}计划 {path.target_year} 年通过优质均衡认定,{label(path.year)}仍有 {path.failing} 项未达标"
                   f"({'、'.join(failing) or '结论:' + latest.verdict_label})。")
    else:
        message = (f"{county.name}计划 {path.target_year} 年通过优质均衡认定;{label(path.baseline_year)}有 "
                   f"{path.baseline_failing} 项未达标,按期推进 {label(path.year)}应不多于 {path.expected} 项,"
                   f"实际 {path.failing} 项({'、'.join(failing)})。")
    return [Condition(
        key=ctx.key("schedule", rule_id, "county"), kind="schedule", rule_id=rule_id,
        severity=rule.overdue_severity if path.overdue else rule.severity,
        title=f"{county.name}优质均衡创建进度滞后", message=message, year=path.year,
        numbers={**path.json(), "failing_items": failing},
        responsible=ctx.responsible(rule), badness=float(max(0, (path.failing or 0) - (path.expected or 0))))]


DETECTORS = {
    "breach": detect_breach, "margin": detect_margin, "decline": detect_decline, "forecast": detect_forecast,
    "data_missing": detect_data_missing, "data_jump": detect_data_jump, "task": detect_task,
    "schedule": detect_schedule,
}

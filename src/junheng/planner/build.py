"""Least-cost additions: teachers to hire, building, sports ground, equipment and multimedia
classrooms to add, per school and plan year, so that every unit meets its thresholds and every
CV its limit, within per-school limits and yearly budgets (docs/methods.md, "Remediation
planning").

Variables are amounts of *levers* (one kind of addition at one school, or at one segment when
the data gives that facility per segment) per plan year. A lever adds to the resource of the
units it reaches: a teacher to its segment (every hire also to the above-qualification
indicator when new teachers are above it), a shared facility to each segment by its share of
weighted students, as the engine splits it. Which indicator a lever closes is the standard's
declaration: the indicators of the measures hire_teachers and build_facilities, each by the
field its rule reads (junheng.planner.measures).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from junheng.engine.result import EvaluationResult
from junheng.planner.actions import KINDS, Action, ceil_amount, make_action
from junheng.planner.costs import CostTable
from junheng.planner.county import SEGMENT_LABELS, CountyYear, Unit, units_of
from junheng.planner.measures import (
    HIRE_KINDS,
    above_qual_indicator,
    facility_indicators,
    hire_indicators,
    lever_kind,
    planned_ids,
)
from junheng.planner.model import INF, Model, solve_integral, solve_relaxation

HIRES = set(HIRE_KINDS.values())  # the action kinds that hire a teacher
CV_MARGIN = 5e-5  # the integral plan keeps every CV this far below its limit (rounding of m² and 元)
TIEBREAK = 1e-7  # per plan year, relative: among equal costs, spend earlier
BUDGET_ROUNDS = 4


@dataclass(frozen=True)
class Lever:
    kind: str
    indicator: str  # the unit-level indicator whose field the lever adds to
    school_id: str
    segment: str | None  # teachers: their segment; facilities: only when given per segment
    unit_cost: float
    recurring: bool
    integer: bool


@dataclass
class BuildOptions:
    rule: str = "all"  # all: every unit meets all 7; minimum: the 6-of-7 / 85% rule
    budget: list[float] | None = None  # per plan year
    years: int = 1
    time_limit: float = 60.0
    rel_gap: float = 1e-6


@dataclass
class BuildResult:
    status: str  # optimal | feasible | infeasible | error
    actions: list[Action] = field(default_factory=list)
    lower_bound: float | None = None  # continuous optimum (CVs at their limits, no integrality)
    integral_bound: float | None = None  # HiGHS' bound on the mixed-integer optimum
    reasons: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)


class BuildModel:
    """The least-cost model of one county-year (after the rule-driven fixes)."""

    def __init__(self, cy: CountyYear, result: EvaluationResult, costs: CostTable, options: BuildOptions,
                 forced: list[Action], forced_area: dict[str, float]):
        self.cy, self.result, self.costs, self.options = cy, result, costs, options
        self.forced, self.forced_area = forced, forced_area
        self.units = [u for u in units_of(result, cy) if all(u.resource[i] is not None for i in u.resource)]
        self.by_school: dict[str, list[Unit]] = {}
        for u in self.units:
            self.by_school.setdefault(u.school_id, []).append(u)
        std = cy.standard
        self.names = {ind.id: ind.name for ind in std.resource_indicators()}
        self.gap_units = {ind.id: ind.rule.gap_unit for ind in std.resource_indicators()}
        above = above_qual_indicator(std)
        self.above_qual = above.id if above is not None else None
        self.levers = self._levers()

    # ------------------------------------------------------------ levers

    def _levers(self) -> list[Lever]:
        std, levers = self.cy.standard, []
        for u in self.units:
            for ind in hire_indicators(std):
                levers.append(Lever(lever_kind(ind), ind.id, u.school_id, u.segment,
                                    self.costs.resource_cost(ind.rule.resource), True, True))
        seen = set()
        for u in self.units:
            for ind in facility_indicators(std):
                kind = lever_kind(ind)
                seg = u.segment if u.explicit[ind.id] else None
                key = (kind, u.school_id, seg)
                if key not in seen:
                    seen.add(key)
                    levers.append(Lever(kind, ind.id, u.school_id, seg, self.costs.resource_cost(ind.rule.resource),
                                        False, ind.rule.gap_integer))
        return levers

    def effects(self, lever: Lever) -> list[tuple[Unit, str, float]]:
        """(unit, indicator, resource added per unit of the lever)."""
        out = []
        ind = lever.indicator
        if lever.kind in HIRES:
            u = self._unit(lever.school_id, lever.segment)
            out.append((u, ind, 1.0))
            if ind != self.above_qual and self.above_qual is not None and self.costs.new_teachers_above_qualification:
                out.append((u, self.above_qual, 1.0))
            return out
        for u in self.by_school[lever.school_id]:
            if lever.segment is not None and u.segment == lever.segment:
                out.append((u, ind, 1.0))
            elif lever.segment is None and not u.explicit[ind]:
                out.append((u, ind, u.share))
        return out

    def _unit(self, school_id: str, segment: str) -> Unit:
        return next(u for u in self.by_school[school_id] if u.segment == segment)

    # ------------------------------------------------------------ the model

    def build(self, *, margin: float, tiebreak: bool, with_budget: bool = True,
              reserve: list[float] | None = None) -> tuple[Model, dict]:
        opts = self.options
        years = opts.years
        m = Model()
        lever_vars: dict[int, list[int]] = {}
        for li, lever in enumerate(self.levers):
            vs = []
            for y in range(1, years + 1):
                cost = lever.unit_cost * ((years - y + 1) if lever.recurring else 1.0)
                if tiebreak:
                    cost *= 1.0 + TIEBREAK * y
                ub = 0.0 if (lever.kind == "build_sports_area" and not self.costs.limits(lever.school_id).sports_land) else INF
                vs.append(m.var(f"{lever.kind}|{lever.school_id}|{lever.segment}|{y}", 0.0, ub, cost, lever.integer))
            lever_vars[li] = vs
        forced_vars: dict[int, list[int]] = {}
        if years > 1:
            for fi, action in enumerate(self.forced):
                if action.cost <= 0:
                    continue
                vs = [m.var(f"forced|{fi}|{y}", 0.0, INF, action.unit_cost * (1.0 + (TIEBREAK * y if tiebreak else 0.0)),
                            KINDS[action.kind].integer) for y in range(1, years + 1)]
                m.row({v: 1.0 for v in vs}, action.quantity, action.quantity, tag=("forced", fi))
                forced_vars[fi] = vs

        # resource added to each unit and indicator, as terms over the lever variables
        delta: dict[tuple[str, str, str], dict[int, float]] = {}
        for li, lever in enumerate(self.levers):
            for u, ind, coef in self.effects(lever):
                terms = delta.setdefault((u.school_id, u.segment, ind), {})
                for v in lever_vars[li]:
                    terms[v] = terms.get(v, 0.0) + coef

        self._unit_rows(m, delta)
        self._limit_rows(m, lever_vars)
        self._cv_cones(m, delta, margin)
        if with_budget and opts.budget is not None:
            self._budget_rows(m, lever_vars, forced_vars, reserve or [0.0] * years)
        return m, {"lever_vars": lever_vars, "forced_vars": forced_vars}

    def _unit_rows(self, m: Model, delta) -> None:
        rule = self.cy.standard.per_school_rule
        for u in self.units:
            flexible = []
            for ind in u.threshold:
                need = u.need(ind)
                full = u.threshold[ind] * u.students / u.scale[ind]
                terms = delta.get((u.school_id, u.segment, ind), {})
                tag = ("unit", u.school_id, u.segment, ind)
                if self.options.rule == "minimum":
                    floor_need = rule.floor_ratio * full - (u.resource[ind] or 0.0)
                    if need > 1e-12:
                        z = m.var(f"unmet|{u.school_id}|{u.segment}|{ind}", 0.0, 1.0, 0.0, True)
                        flexible.append(z)
                        m.row(list(terms.items()) + [(z, (1 - rule.floor_ratio) * full)], lo=need, tag=tag)
                    if floor_need > 1e-12:
                        m.row(terms, lo=floor_need, tag=tag)
                elif need > 1e-12:
                    m.row(terms, lo=need, tag=tag)
            if flexible:
                m.row({z: 1.0 for z in flexible}, hi=len(u.threshold) - rule.min_met, tag=("rule", u.school_id, u.segment))

    def _limit_rows(self, m: Model, lever_vars) -> None:
        by_school: dict[str, dict[str, list[int]]] = {}
        for li, lever in enumerate(self.levers):
            group = "teachers" if lever.kind in HIRES else lever.kind
            by_school.setdefault(lever.school_id, {}).setdefault(group, []).extend(lever_vars[li])
        for sid, groups in by_school.items():
            limits = self.costs.limits(sid)
            if limits.max_building_area is not None:
                room = limits.max_building_area - self.forced_area.get(sid, 0.0)
                m.row({v: 1.0 for v in groups.get("build_teaching_area", [])}, hi=max(room, 0.0),
                      tag=("limit", sid, "building"))
            if limits.max_sports_area is not None:
                m.row({v: 1.0 for v in groups.get("build_sports_area", [])}, hi=limits.max_sports_area,
                      tag=("limit", sid, "sports"))
            if limits.max_new_teachers is not None:
                m.row({v: 1.0 for v in groups.get("teachers", [])}, hi=limits.max_new_teachers,
                      tag=("limit", sid, "teachers"))

    def cv_groups(self) -> list[tuple[str, str, list[Unit]]]:
        out = []
        for seg, inds in self.result.resource.cv.items():
            seg_units = [u for u in self.units if u.segment == seg]
            for ind, cv in inds.items():
                if cv.applicable and seg_units and cv.met is not None:
                    out.append((seg, ind, seg_units))
        return out

    def _cv_cones(self, m: Model, delta, margin: float) -> None:
        limits = self.cy.standard.cv_limits
        for seg, ind, seg_units in self.cv_groups():
            n_total = float(sum(u.students for u in seg_units))
            scale = seg_units[0].scale[ind]
            tau = seg_units[0].threshold[ind]
            r_total = sum(u.resource[ind] for u in seg_units)
            w = m.var(f"added|{seg}|{ind}", 0.0, INF)
            added: dict[int, float] = {w: 1.0}
            for u in seg_units:
                for v, c in delta.get((u.school_id, u.segment, ind), {}).items():
                    added[v] = added.get(v, 0.0) - c
            m.row(added, 0.0, 0.0, tag=("total", seg, ind))
            y_rows, y0 = [], []
            for u in seg_units:
                a = math.sqrt(u.students / n_total) * scale / tau
                terms = {v: a * c / u.students for v, c in delta.get((u.school_id, u.segment, ind), {}).items()}
                terms[w] = terms.get(w, 0.0) - a / n_total
                y_rows.append(terms)
                y0.append(a * (u.resource[ind] / u.students - r_total / n_total))
            c = limits[seg] - margin
            m.cone(y_rows, y0, {w: c * scale / (tau * n_total)}, c * scale * r_total / (tau * n_total),
                   tag=("cv", seg, ind))

    def budgets(self) -> list[float]:
        opts = self.options
        return list(opts.budget) if len(opts.budget) == opts.years else list(opts.budget) * opts.years

    def over_budget(self, actions: list[Action]) -> list[float]:
        """By how much each plan year's spending of these (rounded) actions exceeds its budget."""
        if self.options.budget is None:
            return [0.0] * self.options.years
        out = []
        for y, budget in enumerate(self.budgets(), start=1):
            spend = sum(a.cost for a in actions if a.plan_year == y and not KINDS[a.kind].recurring)
            spend += sum(a.quantity * a.unit_cost for a in actions if KINDS[a.kind].recurring and a.plan_year <= y)
            out.append(max(spend - budget, 0.0) + (1.0 if spend > budget + 1e-6 else 0.0))
        return out

    def _budget_rows(self, m: Model, lever_vars, forced_vars, reserve: list[float]) -> None:
        """Spending of each plan year ≤ its budget: that year's building and buying, the salaries of
        every teacher hired so far, and the rule-driven fixes scheduled in it."""
        opts = self.options
        budgets = self.budgets()
        fixed = sum(a.cost for fi, a in enumerate(self.forced) if fi not in forced_vars)  # done in year 1
        for y in range(1, opts.years + 1):
            terms: dict[int, float] = {}
            for li, lever in enumerate(self.levers):
                vs = lever_vars[li]
                if lever.recurring:
                    for v in vs[:y]:
                        terms[v] = lever.unit_cost
                else:
                    terms[vs[y - 1]] = lever.unit_cost
            for fi, vs in forced_vars.items():
                terms[vs[y - 1]] = self.forced[fi].unit_cost
            m.row(terms, hi=budgets[y - 1] - reserve[y - 1] - (fixed if y == 1 else 0.0), tag=("budget", y))

    # ------------------------------------------------------------ solution → actions

    def actions(self, x: np.ndarray, layout: dict) -> list[Action]:
        years, out = self.options.years, []
        for li, lever in enumerate(self.levers):
            for y, v in enumerate(layout["lever_vars"][li], start=1):
                if x[v] < 1e-4:
                    continue
                q = float(round(x[v])) if lever.integer else ceil_amount(x[v])
                if q <= 0:
                    continue
                salary_years = years - y + 1 if lever.recurring else 1
                details = {"above_qual": True} if lever.kind in HIRES and lever.indicator != self.above_qual and \
                    self.costs.new_teachers_above_qualification else {}
                out.append(make_action(
                    lever.kind, self.cy, lever.school_id, q, segment=lever.segment, unit_cost=lever.unit_cost,
                    cost=q * lever.unit_cost * salary_years, plan_year=y, year=self.cy.year + y,
                    details=details, note=self._note(lever, salary_years)))
        for fi, action in enumerate(self.forced):
            vs = layout["forced_vars"].get(fi)
            if vs is None:
                out.append(action.model_copy(update={"plan_year": 1, "year": self.cy.year + 1}))
                continue
            parts = [(y, float(round(x[v])) if KINDS[action.kind].integer else round(x[v], 2))
                     for y, v in enumerate(vs, start=1) if x[v] >= 1e-6]
            if parts and not KINDS[action.kind].integer:
                # the parts of a split m²/元 fix add up to exactly what the fix needs (rounding
                # each part to 0.01 could leave a room 0.01 m² short)
                y, q = max(parts, key=lambda p: p[1])
                parts[parts.index((y, q))] = (y, round(q + action.quantity - sum(p[1] for p in parts), 2))
            for y, q in parts:
                out.append(action.model_copy(update={"quantity": q, "cost": q * action.unit_cost, "plan_year": y,
                                                     "year": self.cy.year + y}))
        return out

    def _note(self, lever: Lever, salary_years: int) -> str | None:
        if lever.recurring:
            return (f"年人员经费 {lever.unit_cost:,.0f} 元/人,方案期内计 {salary_years} 年"
                    + (f";按新招聘教师学历高于规定学历,同时计入 {self.above_qual}"
                       if lever.indicator != self.above_qual and self.above_qual is not None
                       and self.costs.new_teachers_above_qualification else ""))
        units = self.by_school[lever.school_id]
        if lever.segment is None and len(units) > 1:
            rest = 1.0 - sum(u.share for u in units)
            return "全校共用设施,按各学段加权学生数分摊:" + "、".join(
                f"{SEGMENT_LABELS[u.segment]} {u.share:.1%}" for u in units) + (
                f"、高中 {rest:.1%}" if rest > 1e-6 else "")
        return None

    # ------------------------------------------------------------ explaining infeasibility

    def forced_beyond_limits(self) -> list[str]:
        """Music and art rooms that the rooms rule requires but the school may not build."""
        reasons = []
        rooms = "、".join(planned_ids(self.cy.standard, "rooms"))
        for sid, area in self.forced_area.items():
            limit = self.costs.limits(sid).max_building_area
            if limit is not None and area > limit + 1e-9:
                reasons.append(f"{self.cy.school_name(sid)}:按 {rooms} 须新建、改扩建音乐美术专用教室 {area:g} m²,"
                               f"超过该校可建建筑面积上限 {limit:g} m²")
        return reasons

    def explain(self) -> list[str]:
        """Why no plan exists: the budget, or the constraints the elastic model cannot meet."""
        reasons = self.forced_beyond_limits()
        if self.options.budget is not None:
            free, _ = self.build(margin=0.0, tiebreak=False, with_budget=False)
            sol = solve_relaxation(free, self.options.time_limit)
            if sol.ok:
                need = sol.objective + self.constant_cost()
                budgets = self.options.budget if len(self.options.budget) == self.options.years \
                    else self.options.budget * self.options.years
                reasons.append(
                    f"预算不足:不限预算时,达标至少需要 {need:,.0f} 元(费用下限:任何达标方案都不低于此数),"
                    f"而方案期 {self.options.years} 年预算合计 {sum(budgets):,.0f} 元"
                    + (f"(各年:{'、'.join(f'{b:,.0f}' for b in budgets)} 元)" if self.options.years > 1 else "")
                    + "。请提高预算、延长方案年限或调整单价与限制条件")
                if self.options.years > 1 and need <= sum(budgets):
                    reasons.append("总预算够用但分年预算不够:新增教师的工资每年都要支出,前几年的预算须能负担")
                return reasons
        model, _ = self.build(margin=0.0, tiebreak=False, with_budget=False)
        weights = self._slack_weights()
        elastic, slacks = model.with_slack(lambda tag: weights.get(tag))
        elastic.integer = [False] * elastic.n  # a vertex of the LP (HiGHS) names the binding limits exactly
        sol = solve_integral(elastic, start_points=[np.zeros(elastic.n)], time_limit=self.options.time_limit)
        if not sol.ok:
            return reasons + [f"无法找出不能达标的原因(计算状态:{sol.message or sol.status})"]
        seen = set()
        for var, tag in slacks.items():
            s = sol.x[var]
            if s * weights[tag] <= 1e-6 or tag in seen:  # less than a millionth of the requirement
                continue
            seen.add(tag)
            reasons.append(self._describe(tag, s, weights[tag], sol.x, model))
        return reasons or ["在给定的学校限制条件下无法同时满足全部要求"]

    def constant_cost(self) -> float:
        return sum(a.cost for a in self.forced) if self.options.years == 1 else 0.0

    def _slack_weights(self) -> dict:
        weights = {}
        for u in self.units:
            for ind in u.threshold:
                full = u.threshold[ind] * u.students / u.scale[ind]
                weights[("unit", u.school_id, u.segment, ind)] = 1.0 / max(full, 1e-9)
        for seg, ind, _ in self.cv_groups():
            weights[("cv", seg, ind)] = 1.0
        return weights

    def _describe(self, tag, slack: float, weight: float, x: np.ndarray, model: Model) -> str:
        if tag[0] == "unit":
            _, sid, seg, ind = tag
            u = self._unit(sid, seg)
            unit = self.gap_units[ind]
            return (f"{u.school_name}({SEGMENT_LABELS[seg]}){ind} {self.names[ind]}无法达到 {u.threshold[ind]:g}:"
                    f"在限制条件下仍差约 {slack:,.1f} {unit}(该校限制:{self.costs.limits(sid).describe()})")
        _, seg, ind = tag
        cone = next(c for c in model.cones if c.tag == tag)
        y, t = cone.parts(x)
        limit = self.cy.standard.cv_limits[seg]
        reached = limit * float(np.linalg.norm(y)) / t if t > 0 else float("nan")
        limited = [self.cy.school_name(s) for s in sorted({u.school_id for u in self.units if u.segment == seg})
                   if self.costs.limits(s).describe() != "无限制"]
        return (f"{SEGMENT_LABELS[seg]} {ind} {self.names[ind]}的差异系数无法降到 {limit:g} 以下:在各校限制条件下最低约 "
                f"{reached:.3f}" + (f"(有限制条件的学校:{'、'.join(limited[:10])})" if limited else ""))


def plan_build(cy: CountyYear, result: EvaluationResult, costs: CostTable, options: BuildOptions,
               forced: list[Action], forced_area: dict[str, float], margin: float = CV_MARGIN) -> BuildResult:
    bm = BuildModel(cy, result, costs, options, forced, forced_area)
    stats: dict = {"levers": len(bm.levers), "units": len(bm.units)}
    too_big = bm.forced_beyond_limits()
    if too_big:
        return BuildResult("infeasible", reasons=too_big, stats=stats)
    lb_model, _ = bm.build(margin=0.0, tiebreak=False)
    stats["variables"], stats["rows"], stats["cones"] = lb_model.n, len(lb_model.rows), len(lb_model.cones)
    relaxed = solve_relaxation(lb_model, options.time_limit)
    stats["continuous_seconds"] = round(relaxed.seconds, 3)
    if relaxed.status == "infeasible":
        return BuildResult("infeasible", reasons=bm.explain(), stats=stats)
    if not relaxed.ok:
        return BuildResult("error", reasons=[f"费用下限未能算出({relaxed.message}),可放宽时间或预算后重试"], stats=stats)
    lower = relaxed.objective + bm.constant_cost()
    reserve = [0.0] * options.years  # budget kept back for rounding m² and 元 up
    for _ in range(BUDGET_ROUNDS):
        model, layout = bm.build(margin=margin, tiebreak=True, reserve=reserve)
        # A cone may be violated by half the margin (CV terms): the plan keeps at least half the
        # margin below each limit, the rest absorbs the rounding of m² and 元.
        cone_tol = margin / (2.0 * max(cy.standard.cv_limits.values()))
        integral = solve_integral(model, start_points=[relaxed.x, np.zeros(model.n)], time_limit=options.time_limit,
                                  rel_gap=options.rel_gap, cone_tol=cone_tol)
        stats.update(integral_seconds=round(integral.seconds, 3), oa_rounds=integral.rounds,
                     integral_status=integral.status)
        if integral.status == "infeasible":
            return BuildResult("infeasible", lower_bound=lower, reasons=bm.explain(), stats=stats)
        if not integral.ok:
            return BuildResult("error", lower_bound=lower, stats=stats,
                               reasons=[f"最低费用方案未能算出({integral.message or integral.status}),可放宽时间或预算后重试"])
        actions = bm.actions(integral.x, layout)
        over = bm.over_budget(actions)
        if not any(over):
            break
        reserve = [r + o for r, o in zip(reserve, over)]
    else:
        return BuildResult("infeasible", lower_bound=lower, stats=stats,
                           reasons=["预算刚好够用,但按整平方米、整元取整后超出预算,请略微提高预算"])
    bound = None
    if integral.bound is not None:  # the tie-break inflates costs by at most TIEBREAK·years
        bound = integral.bound / (1.0 + TIEBREAK * options.years) + bm.constant_cost()
    return BuildResult(integral.status, actions=actions, lower_bound=lower, integral_bound=bound, stats=stats)

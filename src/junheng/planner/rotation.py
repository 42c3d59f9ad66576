"""Teacher rotation (交流轮岗): move existing backbone, PE/art and above-qualification teachers
between schools of the same segment before hiring anyone.

The moves minimise the teachers the units still lack (national-2017: R1–R3, whole persons:
what would otherwise be hired), subject to
- G11 (the indicators of the standard's measure `rotation`): the year's rotated teachers reach
  their share of the eligible ones, and backbone teachers their share of the rotated ones (the
  checks of the standard, read from it);
- donors: a unit never gives a kind of teacher that takes an indicator it meets below its
  threshold, nor any teacher counted by an indicator it already fails;
- CVs (R1–R3): a CV within its limit stays within it, one above it does not grow.
A moved teacher counts in teachers_<seg>, is above the required qualification (backbone and
PE/art teachers chosen for rotation are), and holds a teacher's certificate.

Which school sends to which does not change any indicator (no distances in the data), so the
model decides what each unit sends and receives; the named moves pair them afterwards,
county-town schools first towards village schools (城镇学校向乡村学校流动).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel

from junheng.engine.result import EvaluationResult
from junheng.planner.actions import Action, make_action
from junheng.planner.costs import TEACHER_FIELDS, TEACHER_KIND_LABELS
from junheng.planner.county import SEGMENT_LABELS, CountyYear, Unit, clean, units_of
from junheng.planner.measures import above_qual_indicator, indicator_of_field, planned_ids, teacher_indicators
from junheng.planner.model import INF, Model, solve_integral
from junheng.standards.model import Standard

ROTATION_KINDS = ("backbone", "pe_art", "above_qual")  # the kinds of teacher moved, in the order moves are listed
RAW_FIELD = {kind: TEACHER_FIELDS[kind] for kind in ROTATION_KINDS}
MOVE_WEIGHT = 0.01  # per teacher moved: no move without a reason
PLACE_WEIGHT = 0.001  # per teacher and value/threshold: send from the best-provided, to the least
LOCALE_ORDER = {"urban": 0, "town": 1, "rural": 2}


class TeacherMove(BaseModel):
    from_school_id: str
    from_school_name: str
    to_school_id: str
    to_school_name: str
    segment: str
    kind: str
    kind_label: str
    count: int


@dataclass(frozen=True)
class Teachers:
    """The standard's unit-level indicators that count teachers, and which kind of moved teacher
    each counts (every moved teacher counts for the above-qualification indicator)."""

    ids: tuple[str, ...]  # in the standard's order
    kind_indicator: dict[str, str]
    above_qual: str | None

    @classmethod
    def of(cls, std: Standard) -> "Teachers":
        ids = tuple(ind.id for ind in teacher_indicators(std))
        kinds = {}
        for kind in ROTATION_KINDS:
            ind = indicator_of_field(std, RAW_FIELD[kind])
            if ind is not None and ind.id in ids:
                kinds[kind] = ind.id
        above = above_qual_indicator(std)
        return cls(ids, kinds, above.id if above is not None else None)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k in ROTATION_KINDS if k in self.kind_indicator)

    def kinds_of(self, ind: str) -> list[str]:
        """The kinds of moved teacher that `ind` counts."""
        if ind == self.above_qual:
            return list(self.kinds)
        return [k for k in self.kinds if self.kind_indicator[k] == ind]


@dataclass
class RotationResult:
    status: str  # optimal | feasible | infeasible | error | none (nothing to do)
    moves: list[TeacherMove] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)


def _g11_rows(cy: CountyYear) -> list[tuple[str, str, float, float]]:
    """(numerator, denominator, share) of every ratio check of the rotation indicators, with the
    county's counts."""
    row = cy.county_row or {}
    out = []
    checks = [c for ind in cy.standard.planned("rotation") if ind.rule.kind == "county_checks"
              for c in ind.rule.checks.values()]
    for check in checks:
        if check.ratio is None or check.threshold is None or check.op not in (">=", ">"):
            continue
        num, den = clean(row.get(check.ratio.numerator)), clean(row.get(check.ratio.denominator))
        if num is None or den is None:
            continue
        out.append((check.ratio.numerator, check.ratio.denominator, check.threshold / check.ratio.scale, 0.0))
    return out


def plan_rotation(cy: CountyYear, result: EvaluationResult, *, time_limit: float = 30.0,
                  margin: float = 5e-5) -> RotationResult:
    teachers_of = Teachers.of(cy.standard)
    units = [u for u in units_of(result, cy) if all(u.resource[i] is not None for i in teachers_of.ids)]
    if not units:
        return RotationResult("none")
    m = Model()
    kinds = teachers_of.kinds
    out_v: dict[tuple, int] = {}
    in_v: dict[tuple, int] = {}
    for u in units:
        row = cy.rows[u.school_id]
        raw = {k: clean(row.get(f"{RAW_FIELD[k]}_{u.segment}")) or 0 for k in ROTATION_KINDS}
        for k in kinds:
            ind = teachers_of.kind_indicator[k]
            place = PLACE_WEIGHT * min((u.value[ind] or 0.0) / u.threshold[ind], 5.0)
            out_v[(u.key, k)] = m.var(f"out|{u.school_id}|{u.segment}|{k}", 0, raw[k], MOVE_WEIGHT - place, True)
            in_v[(u.key, k)] = m.var(f"in|{u.school_id}|{u.segment}|{k}", 0, INF, place, True)
        outs = [out_v[(u.key, k)] for k in kinds]
        teachers = clean(row.get(f"teachers_{u.segment}")) or 0
        certified = clean(row.get(f"certified_teachers_{u.segment}"))
        m.row({v: 1.0 for v in outs}, hi=min(raw["above_qual"], teachers, certified if certified is not None else INF),
              tag=("pool", u.key))
        _donor_rows(m, u, teachers_of, out_v, in_v)
        _shortfall(m, u, teachers_of, out_v, in_v)
    for seg in {u.segment for u in units}:
        seg_units = [u for u in units if u.segment == seg]
        for k in kinds:
            terms = {out_v[(u.key, k)]: 1.0 for u in seg_units}
            terms.update({in_v[(u.key, k)]: -1.0 for u in seg_units})
            m.row(terms, 0.0, 0.0, tag=("balance", seg, k))
            # nobody moves to their own school: what a unit sends and receives together is at most
            # what the segment receives in all (so the moves pair up between different schools)
            total = m.var(f"moved|{seg}|{k}", 0, INF)
            m.row({**{in_v[(u.key, k)]: 1.0 for u in seg_units}, total: -1.0}, 0.0, 0.0, tag=("moved", seg, k))
            for u in seg_units:
                m.row({out_v[(u.key, k)]: 1.0, in_v[(u.key, k)]: 1.0, total: -1.0}, hi=0.0, tag=("distinct", u.key, k))
    g11 = _g11_constraints(m, cy, out_v)
    _cv_cones(m, cy, result, units, teachers_of, out_v, in_v, margin)

    sol = solve_integral(m, start_points=[np.zeros(m.n)], time_limit=time_limit,
                         cone_tol=margin / (2.0 * max(cy.standard.cv_limits.values())))
    stats = {"variables": m.n, "rows": len(m.rows), "seconds": round(sol.seconds, 3), "oa_rounds": sol.rounds}
    if sol.status == "infeasible":
        return RotationResult("infeasible", reasons=_explain_g11(cy, units, g11), stats=stats)
    if not sol.ok:
        return RotationResult("error", reasons=[f"交流轮岗方案未能算出({sol.message or sol.status})"], stats=stats)
    moves = _pair(cy, units, kinds, sol.x, out_v, in_v)
    actions = [make_action("rotate_teachers", cy, mv.from_school_id, mv.count, segment=mv.segment,
                           to_school_id=mv.to_school_id, to_school_name=mv.to_school_name, teacher_kind=mv.kind,
                           plan_year=1, year=cy.year + 1,
                           note=f"{TEACHER_KIND_LABELS[mv.kind]}交流轮岗(教师原有工资待遇不变,方案不计费用)")
               for mv in moves]
    return RotationResult(sol.status if moves else "none", moves, actions, stats=stats)


def _net(u: Unit, ind: str, teachers_of: Teachers, out_v, in_v) -> dict[int, float]:
    """Teachers counted by `ind` that unit u gains (in − out)."""
    kinds = teachers_of.kinds_of(ind)
    terms = {in_v[(u.key, k)]: 1.0 for k in kinds}
    terms.update({out_v[(u.key, k)]: -1.0 for k in kinds})
    return terms


def _donor_rows(m: Model, u: Unit, teachers_of: Teachers, out_v, in_v) -> None:
    for ind in teachers_of.ids:
        kinds = teachers_of.kinds_of(ind)
        if u.met[ind]:  # stays at or above its threshold
            spare = u.resource[ind] - u.threshold[ind] * u.students / u.scale[ind]
            m.row(_net(u, ind, teachers_of, out_v, in_v), lo=-spare, tag=("donor", u.key, ind))
        else:  # gives none of the teachers it lacks
            m.row({out_v[(u.key, k)]: 1.0 for k in kinds}, hi=0.0, tag=("donor", u.key, ind))


def _shortfall(m: Model, u: Unit, teachers_of: Teachers, out_v, in_v) -> None:
    """Whole teachers the unit still lacks for each teacher indicator (what would be hired)."""
    for ind in teachers_of.ids:
        need = u.need(ind)
        if need <= 1e-9:
            continue
        s = m.var(f"short|{u.school_id}|{u.segment}|{ind}", 0, INF, 1.0, True)
        terms = _net(u, ind, teachers_of, out_v, in_v)
        terms[s] = 1.0
        m.row(terms, lo=need, tag=("short", u.key, ind))


def _g11_constraints(m: Model, cy: CountyYear, out_v) -> list:
    """numerator + added ≥ share·(denominator + added) for every rotation ratio; rotated ≤ eligible."""
    row = cy.county_row or {}
    all_moves = {v: 1.0 for (key, k), v in out_v.items()}
    backbone = {v: 1.0 for (key, k), v in out_v.items() if k == "backbone"}
    added = {"rotated_teachers": all_moves, "rotated_backbone_teachers": backbone}
    checks = _g11_rows(cy)
    for num_field, den_field, share, _ in checks:
        num, den = float(clean(row.get(num_field))), float(clean(row.get(den_field)))
        terms: dict[int, float] = {}
        for v, c in added.get(num_field, {}).items():
            terms[v] = terms.get(v, 0.0) + c
        for v, c in added.get(den_field, {}).items():
            terms[v] = terms.get(v, 0.0) - share * c
        m.row(terms, lo=share * den - num - 1e-9, tag=("g11", num_field))
    eligible, rotated = clean(row.get("rotation_eligible_teachers")), clean(row.get("rotated_teachers"))
    if eligible is not None and rotated is not None:
        m.row(all_moves, hi=max(float(eligible) - float(rotated), 0.0), tag=("g11", "eligible"))
    return checks


def _cv_cones(m: Model, cy: CountyYear, result: EvaluationResult, units: list[Unit], teachers_of: Teachers,
              out_v, in_v, margin: float) -> None:
    for seg, inds in result.resource.cv.items():
        seg_units = [u for u in units if u.segment == seg]
        for ind in teachers_of.ids:
            cv = inds.get(ind)
            if cv is None or not cv.applicable or cv.value is None or not seg_units:
                continue
            limit = max(cy.standard.cv_limits[seg] - margin, cv.value)
            n_total = float(sum(u.students for u in seg_units))
            scale, tau = seg_units[0].scale[ind], seg_units[0].threshold[ind]
            r_total = sum(u.resource[ind] for u in seg_units)
            # moves stay within the segment: the county total, hence X̄, does not change
            mean = scale * r_total / n_total
            y_rows, y0 = [], []
            for u in seg_units:
                a = math.sqrt(u.students / n_total) * scale / tau
                y_rows.append({v: a * c / u.students for v, c in _net(u, ind, teachers_of, out_v, in_v).items()})
                y0.append(a * (u.resource[ind] / u.students - r_total / n_total))
            m.cone(y_rows, y0, {}, limit * mean / tau, tag=("cv", seg, ind))


def _explain_g11(cy: CountyYear, units: list[Unit], checks) -> list[str]:
    row = cy.county_row or {}
    reasons = []
    eligible = clean(row.get("rotation_eligible_teachers"))
    rotated = clean(row.get("rotated_teachers"))
    if checks:
        reasons.append(
            f"{'、'.join(planned_ids(cy.standard, 'rotation'))} 无法仅靠本方案的交流轮岗达标:在“不让派出学校低于自身标准、差异系数不变差”的条件下,可派出的骨干教师或"
            f"交流教师不足(符合交流条件教师 {eligible} 人,已交流 {rotated} 人)。须由教体局扩大交流范围(如跨学段、"
            "跨县交流)或先补充骨干教师后再交流")
    else:
        reasons.append("交流轮岗约束无法满足")
    return reasons


def _pair(cy: CountyYear, units: list[Unit], kinds: tuple[str, ...], x: np.ndarray, out_v, in_v) -> list[TeacherMove]:
    """Named moves between different schools. One teacher at a time, the unit with the most left
    to send or receive goes first (that keeps a pairing without self-moves possible); among
    equals, county-town schools send and village schools receive first."""
    moves: dict[tuple, int] = {}
    locale = {u.key: LOCALE_ORDER.get(cy.schools[u.school_id].get("locale"), 1) for u in units}
    by_key = {u.key: u for u in units}
    for seg in sorted({u.segment for u in units}):
        for kind in kinds:
            keys = [u.key for u in units if u.segment == seg]
            out = {k: int(round(x[out_v[(k, kind)]])) for k in keys}
            take = {k: int(round(x[in_v[(k, kind)]])) for k in keys}
            while any(out.values()):
                w = max(keys, key=lambda k: (out[k] + take[k], out[k] > 0, k))
                if out[w] > 0:
                    others = [k for k in keys if k != w and take[k] > 0]
                    if not others:
                        break
                    d, r = w, max(others, key=lambda k: (take[k], locale[k], k))
                else:
                    others = [k for k in keys if k != w and out[k] > 0]
                    if not others:
                        break
                    d, r = max(others, key=lambda k: (out[k], -locale[k], k)), w
                out[d] -= 1
                take[r] -= 1
                moves[(seg, kind, d, r)] = moves.get((seg, kind, d, r), 0) + 1
    result = []
    for (seg, kind, d, r), n in moves.items():
        dn, rn = by_key[d], by_key[r]
        result.append(TeacherMove(from_school_id=dn.school_id, from_school_name=dn.school_name,
                                  to_school_id=rn.school_id, to_school_name=rn.school_name, segment=seg, kind=kind,
                                  kind_label=TEACHER_KIND_LABELS[kind], count=n))
    result.sort(key=lambda m: (m.segment, ROTATION_KINDS.index(m.kind), locale[(m.from_school_id, m.segment)],
                               m.from_school_id, m.to_school_id))
    return result


def describe_move(move: TeacherMove) -> str:
    return (f"{move.from_school_name} → {move.to_school_name}({SEGMENT_LABELS[move.segment]}):"
            f"{move.kind_label} {move.count} 人")

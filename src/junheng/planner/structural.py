"""Fixes that follow from the rules without a choice to optimise: pupils above the school-size
limit moved to schools with room (national-2017: G4), classes added or rebalanced so no class is
over the limit (G5), music and art rooms built or enlarged for the classes (G3), uncertified
teachers certified (G12), training funds raised to their share (Q4).

Which indicators each fix closes is the standard's `planning` declaration (roles school_size,
class_size, rooms, certification, training_funds); each fix reads its indicator's own rule.
Each fix is the least that closes its gap; the order matters (moved pupils change classes,
classes change the rooms required) and is the order of `plan_structural`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from junheng.engine.result import EvaluationResult
from junheng.engine.tolerance import EPS
from junheng.engine.wording import num
from junheng.planner.actions import Action, apply_actions, ceil_amount, make_action
from junheng.planner.costs import CostTable
from junheng.planner.county import SEGMENT_LABELS, CountyYear, clean
from junheng.standards.model import Indicator

COMPULSORY = ("primary", "junior")


@dataclass(frozen=True)
class Problem:
    """What no action of the plan can fix: `blocking` problems leave no passing plan; the others
    (data the county must supply) are handed over as policy items."""

    indicator: str
    text: str
    blocking: bool = True


@dataclass
class Structural:
    actions: list[Action] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    building_area: dict[str, float] = field(default_factory=dict)  # m² of building the actions use, per school

    def extend(self, other: "Structural") -> None:
        self.actions += other.actions
        self.problems += other.problems
        for k, v in other.building_area.items():
            self.building_area[k] = self.building_area.get(k, 0.0) + v


def allowance_applies(params: dict, school: dict, row: dict) -> bool:
    """Mirror of the engine's allowance condition (junheng.engine.checks.allowance_condition)."""
    parts: list[bool] = []
    if "built_on_or_before" in params:
        build = clean(school.get("build_year"))
        parts.append(build is not None and build <= params["built_on_or_before"])
    if "migrant_share_above" in params:
        share = clean(row.get("migrant_share"))
        parts.append(share is not None and share > params["migrant_share_above"])
    if params.get("rural_small"):
        parts.append(clean(school.get("rural_small")) is True)
    if "max_class_size_below" in params:
        largest = max(clean(row.get("max_class_size_primary")) or 0, clean(row.get("max_class_size_junior")) or 0)
        parts.append(largest < params["max_class_size_below"])
    if not parts:
        return False
    return any(parts) if params.get("match") == "any" else all(parts)


def _in_scope(cy: CountyYear, ind: Indicator, school_id: str) -> bool:
    return cy.school_type(school_id) in (ind.school_types or ())


def _each(cy: CountyYear, role: str, ind: Indicator | None, fix) -> Structural:
    """`fix` for `ind`, or for every indicator the standard's measure `role` closes."""
    out = Structural()
    for indicator in [ind] if ind is not None else cy.standard.planned(role):
        out.extend(fix(indicator))
    return out


def _students(row: dict) -> float:
    return sum(clean(row.get(f"students_{s}")) or 0 for s in COMPULSORY)


def size_limit(cy: CountyYear, school_id: str, ind: Indicator) -> float | None:
    limit = ind.rule.limits.get(cy.school_type(school_id))
    for allowance in cy.standard.enabled_allowances("school_size_limit").values():
        if allowance_applies(allowance.params, cy.schools[school_id], cy.rows[school_id]):
            limit = allowance.params.get("limits", ind.rule.limits).get(cy.school_type(school_id), limit)
    return limit


def _failing(result: EvaluationResult, ind: Indicator) -> list:
    item = result.item(ind.id)
    return [s for s in item.schools if s.met is False] if item is not None else []


# ---------------------------------------------------------------- school size: pupils above the limit


def divert_students(cy: CountyYear, result: EvaluationResult, ind: Indicator | None = None) -> Structural:
    return _each(cy, "school_size", ind, lambda i: _divert_students(cy, result, i))


def _divert_students(cy: CountyYear, result: EvaluationResult, ind: Indicator) -> Structural:
    out = Structural()
    taken: dict[str, float] = {}
    for finding in _failing(result, ind):
        sid = finding.school_id
        row = cy.rows[sid]
        limit = size_limit(cy, sid, ind)
        excess = int(math.ceil(_students(row) - limit - EPS)) if limit is not None else 0
        if excess <= 0:
            continue
        segs = [s for s in COMPULSORY if (clean(row.get(f"students_{s}")) or 0) > 0]
        total = sum(clean(row.get(f"students_{s}")) for s in segs)
        shares = _largest_remainder({s: excess * clean(row.get(f"students_{s}")) / total for s in segs})
        for seg, amount in shares.items():
            placed = _place(cy, ind, sid, seg, amount, taken)
            for target, n in placed.items():
                out.actions.append(make_action(
                    "divert_students", cy, sid, n, segment=seg, to_school_id=target,
                    to_school_name=cy.school_name(target),
                    note=f"调整招生范围,{SEGMENT_LABELS[seg]} {n} 人改到{cy.school_name(target)}就读"))
            short = amount - sum(placed.values())
            if short > 0:
                out.problems.append(Problem(ind.id,
                    f"{ind.id}:{cy.school_name(sid)}义务教育阶段在校生超过规模上限 {num(excess)} 人,县内同学段学校可接收容量"
                    f"不足({SEGMENT_LABELS[seg]}还差 {num(short)} 人),须新建或扩建学校(可用 junheng scenario 的"
                    f" open_school 变更模拟新建学校)"))
    return out


def _place(cy: CountyYear, ind: Indicator, donor: str, seg: str, amount: int,
           taken: dict[str, float]) -> dict[str, int]:
    """Receivers of `amount` pupils of `seg`: as few schools as possible, of the same locale first,
    those with the most spare capacity under the size limit first (never filled above it)."""
    locale = cy.schools[donor].get("locale")
    candidates = []
    for sid, row in cy.rows.items():
        if sid == donor or cy.school_type(sid) in ("teaching_point", "special"):
            continue
        if (clean(row.get(f"students_{seg}")) or 0) <= 0 or not _in_scope(cy, ind, sid):
            continue
        limit = size_limit(cy, sid, ind)
        room = math.floor((limit or 0) - _students(row) - taken.get(sid, 0))
        if room >= 1:
            candidates.append((cy.schools[sid].get("locale") != locale, -room, sid, room))
    placed: dict[str, int] = {}
    left = amount
    for _, _, sid, room in sorted(candidates):
        if left <= 0:
            break
        n = min(left, room)
        placed[sid] = n
        taken[sid] = taken.get(sid, 0) + n
        left -= n
    return placed


def _largest_remainder(parts: dict[str, float]) -> dict[str, int]:
    total = round(sum(parts.values()))
    floors = {k: math.floor(v + 1e-9) for k, v in parts.items()}
    rest = total - sum(floors.values())
    for k in sorted(parts, key=lambda k: parts[k] - floors[k], reverse=True)[:max(rest, 0)]:
        floors[k] += 1
    return {k: v for k, v in floors.items() if v > 0}


# ---------------------------------------------------------------- class size: classes over the limit


def fix_classes(cy: CountyYear, costs: CostTable, ind: Indicator | None = None) -> Structural:
    return _each(cy, "class_size", ind, lambda i: _fix_classes(cy, costs, i))


def _fix_classes(cy: CountyYear, costs: CostTable, ind: Indicator) -> Structural:
    out = Structural()
    for sid, row in cy.rows.items():
        if not _in_scope(cy, ind, sid):
            continue
        for seg, limit in ind.rule.limits.items():
            n = clean(row.get(f"students_{seg}")) or 0
            if n <= 0:
                continue
            largest = clean(row.get(f"max_class_size_{seg}"))
            oversize = clean(row.get(f"oversize_classes_{seg}"))
            classes = clean(row.get(f"classes_{seg}"))
            spread = math.ceil(n / classes - EPS) if classes else None
            estimate = max(largest or 0, spread or 0)  # pupils added to a school fill its classes evenly
            if (largest is None and oversize is None) or (estimate <= limit and not oversize):
                continue
            if not classes:
                out.problems.append(Problem(
                    ind.id, f"{ind.id}:{cy.school_name(sid)}{SEGMENT_LABELS[seg]}班级数缺失,无法计算需增设的班级",
                    blocking=False))
                continue
            needed = max(int(classes), math.ceil(n / limit - EPS))
            details = {"max_class_size": math.ceil(n / needed - EPS), "oversize_classes": 0}
            note = (f"{SEGMENT_LABELS[seg]} {num(n)} 人编为 {needed} 个班,最大班额 {details['max_class_size']} 人"
                    f"(上限 {limit} 人)")
            if needed > classes:
                out.actions.append(make_action("split_classes", cy, sid, needed - classes, segment=seg,
                                               unit_cost=costs.unit_costs.class_split, details=details, note=note))
            else:
                moved = oversize if oversize else classes
                out.actions.append(make_action("rebalance_classes", cy, sid, moved, segment=seg,
                                               details=details, note=note + ",不需增设班级"))
    return out


# ---------------------------------------------------------------- music and art rooms


def room_min_area(cy: CountyYear, school_id: str, room: str, ind: Indicator) -> float:
    area = ind.rule.rooms[room].min_area
    for allowance in cy.standard.enabled_allowances("room_area").values():
        if allowance_applies(allowance.params, cy.schools[school_id], cy.rows[school_id]):
            area = min(area, float(allowance.params.get("min_area", {}).get(room, area)))
    return area


def fix_rooms(cy: CountyYear, costs: CostTable, ind: Indicator | None = None) -> Structural:
    return _each(cy, "rooms", ind, lambda i: _fix_rooms(cy, costs, i))


def _fix_rooms(cy: CountyYear, costs: CostTable, ind: Indicator) -> Structural:
    out = Structural()
    rule = ind.rule
    for sid, row in cy.rows.items():
        if not _in_scope(cy, ind, sid):
            continue
        known = [clean(row.get(f"classes_{s}")) for s in cy.standard.segments]
        if all(k is None for k in known):
            continue  # the engine reports the missing class counts
        classes = sum(k or 0 for k in known)
        required = max(rule.min_rooms, math.ceil(classes / rule.classes_per_room - EPS))
        for name, spec in rule.rooms.items():
            rooms = clean(row.get(spec.rooms_field))
            if rooms is None:
                continue
            min_area = room_min_area(cy, sid, name, ind)
            area = clean(row.get(spec.area_field))
            if rooms > 0 and area is not None and area < min_area - EPS:
                enlarge = ceil_amount(min_area - area, 0.1)
                out.actions.append(make_action(
                    f"enlarge_{name}_room", cy, sid, enlarge, unit_cost=costs.unit_costs.room_enlargement,
                    note=f"最小的{spec.label} {num(area)} m² 扩建到不小于 {num(min_area)} m²"
                         "(数据只给出最小一间的面积,其他面积不足的教室须一并改扩建)"))
                out.building_area[sid] = out.building_area.get(sid, 0.0) + enlarge
            if rooms < required:
                build = int(required - rooms)
                new_area = max(float(costs.new_room_area.get(name, min_area)), min_area)
                out.actions.append(make_action(
                    f"build_{name}_room", cy, sid, build,
                    unit_cost=costs.unit_costs.music_room if name == "music" else costs.unit_costs.art_room,
                    details={"area": new_area},
                    note=f"按 {num(classes)} 个班应有 {required} 间,现有 {num(rooms)} 间;每间 {num(new_area)} m²,"
                         "计入教学及辅助用房"))
                out.building_area[sid] = out.building_area.get(sid, 0.0) + build * new_area
    return out


# ---------------------------------------------------------------- certificates and training funds


def fix_certification(cy: CountyYear, result: EvaluationResult, costs: CostTable,
                      ind: Indicator | None = None) -> Structural:
    return _each(cy, "certification", ind, lambda i: _fix_certification(cy, result, costs, i))


def _fix_certification(cy: CountyYear, result: EvaluationResult, costs: CostTable, ind: Indicator) -> Structural:
    out = Structural()
    item = result.item(ind.id)
    if item is None or item.met is not False:
        return out
    for sid, row in cy.rows.items():
        for seg in cy.standard.segments:
            teachers, certified = clean(row.get(f"teachers_{seg}")), clean(row.get(f"certified_teachers_{seg}"))
            if teachers and certified is not None and certified < teachers:
                out.actions.append(make_action(
                    "certify_teachers", cy, sid, teachers - certified, segment=seg,
                    unit_cost=costs.unit_costs.teacher_certification,
                    note="未持证的专任教师须取得教师资格证,否则调离专任教师岗位"))
    if not out.actions:
        out.problems.append(Problem(ind.id, f"{ind.id}:持证上岗率按县级填报值计算,学校数据中没有持证教师数,"
                                            "须由县级核实并组织未持证教师取得资格证", blocking=False))
    return out


def fix_training_funds(cy: CountyYear, result: EvaluationResult, costs: CostTable,
                       ind: Indicator | None = None) -> Structural:
    return _each(cy, "training_funds", ind, lambda i: _fix_training_funds(cy, result, costs, i))


def _fix_training_funds(cy: CountyYear, result: EvaluationResult, costs: CostTable, ind: Indicator) -> Structural:
    out = Structural()
    for finding in _failing(result, ind):
        row = cy.rows[finding.school_id]
        for check in ind.rule.checks.values():
            if check.ratio is None or not check.gap_field or check.threshold is None:
                continue
            denominator = clean(row.get(check.ratio.denominator))
            base = clean(row.get(check.gap_field)) or 0.0
            if denominator is None:
                out.problems.append(Problem(ind.id, f"{ind.id}:{cy.school_name(finding.school_id)}缺少年度公用经费预算总额,"
                                            "无法计算培训经费缺口", blocking=False))
                continue
            need = ceil_amount(check.threshold / check.ratio.scale * denominator - base)
            if need > 0:
                out.actions.append(make_action("add_training_funds", cy, finding.school_id, need,
                                               unit_cost=costs.unit_costs.training_funds,
                                               note=f"培训经费达到公用经费的 {num(check.threshold)}%"))
    return out


def plan_structural(cy: CountyYear, result: EvaluationResult, costs: CostTable) -> tuple[Structural, CountyYear]:
    """Every rule-driven fix in order; returns them and the county-year with them applied."""
    out = Structural()
    step = divert_students(cy, result)
    out.extend(step)
    current = apply_actions(cy, step.actions)
    step = fix_classes(current, costs)
    out.extend(step)
    current = apply_actions(current, step.actions)
    for step in (fix_rooms(current, costs), fix_certification(current, result, costs),
                 fix_training_funds(current, result, costs)):
        out.extend(step)
        current = apply_actions(current, step.actions)
    return out, current

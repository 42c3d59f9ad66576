"""Gap analysis (缺什么): for every failing or near-failing item, the quantity that closes it, in
real units, per school and as county totals. What each CV needs is decided by the plan, not
here: CVs are listed with their values and limits only."""

from __future__ import annotations

from pydantic import BaseModel, Field

from junheng.engine.result import EvaluationResult
from junheng.planner.costs import CostTable
from junheng.planner.county import SEGMENT_LABELS, CountyYear, units_of
from junheng.planner.structural import (
    fix_certification,
    fix_classes,
    fix_rooms,
    fix_training_funds,
)
from junheng.standards.model import PLANNING_ROLES

NEAR_MARGIN = 0.05  # "near-failing": met, but less than 5% above the threshold


class GapLine(BaseModel):
    indicator: str
    school_id: str | None = None
    school_name: str | None = None
    segment: str | None = None
    what: str
    amount: float
    unit: str
    status: str  # failing | near
    value: float | None = None
    threshold: float | None = None
    note: str | None = None


class GapTotal(BaseModel):
    indicator: str
    what: str
    unit: str
    amount: float
    schools: int


class CVLine(BaseModel):
    segment: str
    indicator: str
    value: float | None
    limit: float
    met: bool | None
    county_value: float | None = None
    near: bool = False


class GapReport(BaseModel):
    lines: list[GapLine] = Field(default_factory=list)
    totals: list[GapTotal] = Field(default_factory=list)
    cv: list[CVLine] = Field(default_factory=list)
    near_margin: float = NEAR_MARGIN


def _resource_gaps(result: EvaluationResult, cy: CountyYear, near: float) -> list[GapLine]:
    lines: list[GapLine] = []
    shared: dict[tuple[str, str], GapLine] = {}  # a school-wide facility: the largest need of its units
    engine_units = {(x.school_id, x.segment): x for x in result.resource.units}
    rules = {ind.id: ind.rule for ind in cy.standard.resource_indicators()}
    for u in units_of(result, cy):
        engine_unit = engine_units[u.key]
        for ind, item in engine_unit.indicators.items():
            if item.value is None:
                continue
            rule = rules[ind]
            if item.met is False and item.gap is not None:
                line = GapLine(indicator=ind, school_id=u.school_id, school_name=u.school_name, segment=u.segment,
                               what=rule.gap_label, amount=item.gap.amount, unit=item.gap.unit, status="failing",
                               value=item.value, threshold=item.threshold,
                               note=_note(item.gap.note, engine_unit.compliant, cy))
                if rule.source == "shared" and not u.explicit.get(ind, False):
                    key = (u.school_id, ind)
                    if key in shared:
                        if line.amount > shared[key].amount:
                            shared[key].amount, shared[key].note = line.amount, line.note
                        shared[key].segment = None
                        continue
                    shared[key] = line
                lines.append(line)
            elif item.met and item.value < item.threshold * (1 + near):
                headroom = -u.need(ind)
                lines.append(GapLine(
                    indicator=ind, school_id=u.school_id, school_name=u.school_name, segment=u.segment,
                    what=f"{rule.gap_label}(距达标线余量)", amount=round(headroom, 2), unit=rule.gap_unit, status="near",
                    value=item.value, threshold=item.threshold,
                    note=f"达到标准的 {item.value / item.threshold:.1%},余量不足 {near:.0%}"))
    return lines


def _note(note: str | None, compliant: bool | None, cy: CountyYear) -> str | None:
    if compliant:
        std = cy.standard
        rule = f"按“{len(std.resource_indicators())}项中{std.per_school_rule.min_met}项达标”的规则本单位已达标"
        return "; ".join(filter(None, [note, rule]))
    return note


def _action_lines(actions, indicator: str) -> list[GapLine]:
    return [GapLine(indicator=indicator, school_id=a.school_id, school_name=a.school_name, segment=a.segment,
                    what=a.label, amount=a.quantity, unit=a.unit, status="failing", note=a.note) for a in actions]


def _size_lines(result: EvaluationResult, cy: CountyYear) -> list[GapLine]:
    """Pupils above the school-size limit, per school (from the engine's findings)."""
    lines = []
    for ind in cy.standard.planned("school_size"):
        item = result.item(ind.id)
        if item is None:
            continue
        lines += [GapLine(indicator=ind.id, school_id=s.school_id, school_name=s.school_name, what="需分流的学生",
                          amount=s.gap.amount, unit=s.gap.unit, status="failing", note=s.detail)
                  for s in item.schools if s.met is False and s.gap is not None]
    return lines


def _rotation_lines(result: EvaluationResult, cy: CountyYear) -> list[GapLine]:
    """The county's rotated teachers short of their share (from the engine's gap)."""
    lines = []
    for ind in cy.standard.planned("rotation"):
        item = result.item(ind.id)
        if item is None or item.met is not False or item.gap is None:
            continue
        what = "交流轮岗的骨干教师" if "骨干" in item.gap.what else "交流轮岗教师"
        lines.append(GapLine(indicator=ind.id, what=what, amount=item.gap.amount,
                             unit=item.gap.unit, status="failing", note=item.explanation))
    return lines


def gap_report(result: EvaluationResult, cy: CountyYear, costs: CostTable, near: float = NEAR_MARGIN) -> GapReport:
    std = cy.standard

    def fixed(role: str, fix) -> list[GapLine]:
        """What the rule-driven fix of each indicator of `role` would do, as that indicator's gap."""
        return [line for ind in std.planned(role) for line in _action_lines(fix(ind).actions, ind.id)]

    lines = _resource_gaps(result, cy, near)
    lines += _size_lines(result, cy)
    lines += fixed("class_size", lambda ind: fix_classes(cy, costs, ind))
    lines += fixed("rooms", lambda ind: fix_rooms(cy, costs, ind))
    lines += _rotation_lines(result, cy)
    lines += fixed("certification", lambda ind: fix_certification(cy, result, costs, ind))
    lines += fixed("training_funds", lambda ind: fix_training_funds(cy, result, costs, ind))
    totals: dict[tuple[str, str, str], GapTotal] = {}
    for line in lines:
        if line.status != "failing":
            continue
        key = (line.indicator, line.what, line.unit)
        total = totals.setdefault(key, GapTotal(indicator=line.indicator, what=line.what, unit=line.unit, amount=0,
                                                schools=0))
        total.amount += line.amount
        total.schools += 1 if line.school_id else 0
    cv = []
    for seg, inds in result.resource.cv.items():
        for ind, c in inds.items():
            if not c.applicable:
                continue
            cv.append(CVLine(segment=seg, indicator=ind, value=c.value, limit=c.limit, met=c.met,
                             county_value=c.county_value,
                             near=bool(c.met and c.value is not None and c.value > c.limit * (1 - near))))
    order = {k: i for i, k in enumerate(ind.id for role in PLANNING_ROLES for ind in std.planned(role))}
    lines.sort(key=lambda x: (x.status != "failing", order.get(x.indicator, 99), x.school_id or ""))
    return GapReport(lines=lines, totals=sorted(totals.values(), key=lambda t: order.get(t.indicator, 99)), cv=cv,
                     near_margin=near)


def describe_line(line: GapLine) -> str:
    seg = f"({SEGMENT_LABELS[line.segment]})" if line.segment else ""
    return f"{line.school_name or '全县'}{seg} {line.indicator} {line.what} {line.amount:g} {line.unit}"

"""Actions: what a plan does to a school (hire, build, buy, split classes, move pupils or
teachers) and how each one changes the school_year rows the engine reads.

Every action is data (`Action`), so a plan can be saved, shown, edited, and applied again to
the dataset as a scenario (`apply_actions`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from junheng.planner.county import SEGMENT_LABELS, CountyYear, clean
from junheng.planner.errors import PlannerError
from junheng.planner.measures import FACILITY_KINDS, HIRE_KINDS
from junheng.standards.model import Standard


@dataclass(frozen=True)
class ActionKind:
    """A kind of action. The indicators it serves are the standard's: those of the planning
    `roles` it belongs to, then the unit-level indicators reading the `fields` it adds to."""

    key: str
    label: str
    unit: str
    integer: bool
    roles: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    recurring: bool = False  # a yearly cost (teacher salaries)

    def indicators(self, std: Standard) -> list[str]:
        ids = [ind.id for role in self.roles for ind in std.planned(role)]
        ids += [ind.id for field in self.fields for ind in std.resource_indicators() if ind.rule.resource == field]
        return list(dict.fromkeys(ids))


_TEACHERS = ("teachers_above_qual", "backbone_teachers", "pe_art_teachers")
_ROOM = dict(roles=("rooms",), fields=("teaching_aux_area",))  # a new or larger room is teaching space too
KINDS: dict[str, ActionKind] = {k.key: k for k in (
    ActionKind("hire_above_qual", "新增高于规定学历专任教师", "人", True, fields=("teachers_above_qual",),
               recurring=True),
    ActionKind("hire_backbone", "新增县级以上骨干教师", "人", True, fields=("backbone_teachers", "teachers_above_qual"),
               recurring=True),
    ActionKind("hire_pe_art", "新增体育、艺术专任教师", "人", True, fields=("pe_art_teachers", "teachers_above_qual"),
               recurring=True),
    ActionKind("build_teaching_area", "新建、扩建教学及辅助用房", "m²", False, fields=("teaching_aux_area",)),
    ActionKind("build_sports_area", "新建、扩建体育运动场地", "m²", False, fields=("sports_area",)),
    ActionKind("buy_equipment", "购置教学仪器设备", "元", False, fields=("equipment_value",)),
    ActionKind("add_multimedia_classrooms", "建设网络多媒体教室", "间", True, fields=("multimedia_classrooms",)),
    ActionKind("build_music_room", "新建音乐专用教室", "间", True, **_ROOM),
    ActionKind("build_art_room", "新建美术专用教室", "间", True, **_ROOM),
    ActionKind("enlarge_music_room", "改扩建音乐专用教室", "m²", False, **_ROOM),
    ActionKind("enlarge_art_room", "改扩建美术专用教室", "m²", False, **_ROOM),
    ActionKind("split_classes", "增设班级、拆分大班额", "个班", True, roles=("class_size",)),
    ActionKind("rebalance_classes", "均衡编班(不增设班级)", "个班", True, roles=("class_size",)),
    ActionKind("divert_students", "分流学生(调整招生范围)", "人", True, roles=("school_size",)),
    ActionKind("certify_teachers", "未持证专任教师取得教师资格证", "人", True, roles=("certification",)),
    ActionKind("add_training_funds", "增加教师培训经费", "元", False, roles=("training_funds",)),
    ActionKind("rotate_teachers", "教师交流轮岗", "人", True, roles=("rotation",), fields=_TEACHERS),
)}

# Teacher kinds of hires and moves: the school_year count they add to (besides teachers_<seg>).
HIRE_FIELDS = {kind: field for field, kind in HIRE_KINDS.items()}
MOVE_FIELDS = {"backbone": "backbone_teachers", "pe_art": "pe_art_teachers", "above_qual": None}
FACILITY_FIELDS = {kind: field for field, kind in FACILITY_KINDS.items()}
ROOM_FIELDS = {"music": ("music_rooms", "music_room_min_area"), "art": ("art_rooms", "art_room_min_area")}


class Action(BaseModel):
    """One action of a plan at one school (and segment) in one plan year."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    label: str = ""
    school_id: str
    school_name: str = ""
    segment: str | None = None
    quantity: float
    unit: str = ""
    unit_cost: float = 0.0
    cost: float = 0.0  # over the whole plan (a teacher: salary × years employed within the plan)
    plan_year: int = 1
    year: int | None = None  # calendar year of plan_year
    to_school_id: str | None = None
    to_school_name: str | None = None
    teacher_kind: str | None = None  # moves: backbone / pe_art / above_qual
    indicators: list[str] = Field(default_factory=list)
    details: dict = Field(default_factory=dict)
    note: str | None = None

    def describe(self) -> str:
        where = self.school_name or self.school_id
        seg = f"({SEGMENT_LABELS.get(self.segment, self.segment)})" if self.segment else ""
        target = f" → {self.to_school_name or self.to_school_id}" if self.to_school_id else ""
        return f"{where}{seg}{target}:{self.label} {_qty(self.quantity)} {self.unit}"


def _qty(q: float) -> str:
    return f"{int(q)}" if float(q).is_integer() else f"{q:.2f}"


def make_action(kind: str, cy: CountyYear, school_id: str, quantity: float, *, segment: str | None = None,
                unit_cost: float = 0.0, cost: float | None = None, **extra) -> Action:
    spec = KINDS[kind]
    return Action(kind=kind, label=spec.label, school_id=school_id, school_name=cy.school_name(school_id),
                  segment=segment, quantity=quantity, unit=spec.unit, unit_cost=unit_cost,
                  cost=quantity * unit_cost if cost is None else cost, indicators=spec.indicators(cy.standard),
                  **extra)


# ---------------------------------------------------------------- applying actions to rows


def _add(row: dict, key: str, amount: float, integer: bool = False) -> None:
    current = clean(row.get(key))
    value = (current or 0) + amount
    row[key] = int(round(value)) if integer else float(value)


def _add_if_known(row: dict, key: str, amount: float) -> None:
    """Counts that may be missing (e.g. certified teachers when the county reports a rate)."""
    if clean(row.get(key)) is not None:
        _add(row, key, amount, integer=True)


def _shared_add(cy: CountyYear, row: dict, base: str, amount: float, segment: str | None, integer: bool) -> None:
    """Add to a school-wide facility, or to a segment's own value when the data gives one."""
    if segment is not None:
        _add(row, f"{base}_{segment}", amount, integer)
        return
    explicit = [s for s in ("primary", "junior") if clean(row.get(f"{base}_{s}")) is not None]
    if not explicit:
        _add(row, base, amount, integer)
        return
    # The data gives this facility per segment: the new part goes to the segments by weighted
    # students (a whole count to the largest segment), and to the school-wide total when given.
    weights = cy.standard.split_weights
    parts = {s: weights.get(s, 1.0) * (clean(row.get(f"students_{s}")) or 0) for s in explicit}
    total = sum(parts.values()) or 1.0
    if integer:
        _add(row, f"{base}_{max(parts, key=parts.get)}", amount, True)
    else:
        for s in explicit:
            _add(row, f"{base}_{s}", amount * parts[s] / total)
    if clean(row.get(base)) is not None:
        _add(row, base, amount, integer)


def _row(cy: CountyYear, school_id: str) -> dict:
    try:
        return cy.rows[school_id]
    except KeyError:
        raise PlannerError(f"方案中的学校 {school_id} 不在县区 {cy.county} {cy.year} 年的数据中") from None


def _set_classes(row: dict, segment: str, details: dict) -> None:
    largest = details.get("max_class_size")
    if largest is None:
        return
    if clean(row.get(f"max_class_size_{segment}")) is not None or clean(row.get(f"oversize_classes_{segment}")) is None:
        row[f"max_class_size_{segment}"] = int(largest)
    if clean(row.get(f"oversize_classes_{segment}")) is not None:
        row[f"oversize_classes_{segment}"] = int(details.get("oversize_classes", 0))


def apply_action(cy: CountyYear, action: Action) -> None:
    """Change `cy` in place."""
    kind, q, seg = action.kind, action.quantity, action.segment
    row = _row(cy, action.school_id)
    if kind in HIRE_FIELDS:
        _add(row, f"teachers_{seg}", q, True)
        _add_if_known(row, f"certified_teachers_{seg}", q)
        _add(row, f"{HIRE_FIELDS[kind]}_{seg}", q, True)
        if kind != "hire_above_qual" and action.details.get("above_qual"):
            _add(row, f"teachers_above_qual_{seg}", q, True)
    elif kind in FACILITY_FIELDS:
        _shared_add(cy, row, FACILITY_FIELDS[kind], q, seg, kind == "add_multimedia_classrooms")
    elif kind in ("build_music_room", "build_art_room"):
        rooms_key, area_key = ROOM_FIELDS[kind.split("_")[1]]
        area = float(action.details["area"])
        had = clean(row.get(rooms_key)) or 0
        current_min = clean(row.get(area_key))
        _add(row, rooms_key, q, True)
        row[area_key] = area if not had or current_min is None else min(current_min, area)
        _shared_add(cy, row, "teaching_aux_area", q * area, None, False)
    elif kind in ("enlarge_music_room", "enlarge_art_room"):
        _, area_key = ROOM_FIELDS[kind.split("_")[1]]
        _add(row, area_key, q)
        _shared_add(cy, row, "teaching_aux_area", q, None, False)
    elif kind in ("split_classes", "rebalance_classes"):
        if kind == "split_classes":
            _add(row, f"classes_{seg}", q, True)
        _set_classes(row, seg, action.details)
    elif kind == "divert_students":
        target = _row(cy, action.to_school_id)
        _add(row, f"students_{seg}", -q, True)
        _add(target, f"students_{seg}", q, True)
        if (clean(row.get(f"students_{seg}")) or 0) < 0:
            raise PlannerError(f"{action.school_name or action.school_id} 分流学生数超过在校生数")
    elif kind == "certify_teachers":
        _add(row, f"certified_teachers_{seg}", q, True)
    elif kind == "add_training_funds":
        _add(row, "training_funds", q)
    elif kind == "rotate_teachers":
        target = _row(cy, action.to_school_id)
        extra = MOVE_FIELDS.get(action.teacher_kind or "above_qual")
        for r, sign in ((row, -1), (target, 1)):
            _add(r, f"teachers_{seg}", sign * q, True)
            _add_if_known(r, f"certified_teachers_{seg}", sign * q)
            _add(r, f"teachers_above_qual_{seg}", sign * q, True)
            if extra:
                _add(r, f"{extra}_{seg}", sign * q, True)
        if cy.county_row is not None:
            _add(cy.county_row, "rotated_teachers", q, True)
            if action.teacher_kind == "backbone":
                _add(cy.county_row, "rotated_backbone_teachers", q, True)
    else:
        raise PlannerError(f"未知的方案行动类型:{kind}")


def apply_actions(cy: CountyYear, actions: list[Action]) -> CountyYear:
    """A copy of `cy` with every action applied, in order."""
    out = cy.copy()
    for action in actions:
        if action.quantity:
            apply_action(out, action)
    return out


def ceil_amount(x: float, step: float = 1.0) -> float:
    """Round an amount up to `step` (areas to whole m², money to whole 元), ignoring float noise."""
    return math.ceil(x / step - 1e-7) * step

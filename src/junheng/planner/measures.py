"""What the planner's measures close in a standard, read from its declaration: the `planning`
block names the indicators of each measure (role), the rules' own fields say which data a
hire or a build changes. No indicator id is written here (docs/methods.md, "The planner and
the standard's declaration").

The planner knows how to change a fixed set of data fields (a teacher of a kind, a facility);
a unit-level indicator is closed by the lever of the field its rule reads (`rule.resource`).
"""

from __future__ import annotations

from junheng.standards.model import Indicator, Standard

# Teachers the planner hires, by the per-segment count they add to (besides teachers_<seg>).
HIRE_KINDS = {"teachers_above_qual": "hire_above_qual", "backbone_teachers": "hire_backbone",
              "pe_art_teachers": "hire_pe_art"}
# School-wide facilities the planner builds or buys, by the field they add to.
FACILITY_KINDS = {"teaching_aux_area": "build_teaching_area", "sports_area": "build_sports_area",
                  "equipment_value": "buy_equipment", "multimedia_classrooms": "add_multimedia_classrooms"}
# Every teacher hired or moved by the plan is above the required qualification (a backbone or
# PE/art hire counts there too when the cost table says so).
ABOVE_QUAL_FIELD = "teachers_above_qual"

# The rule-driven measures closed by each plan mode, in the order plans list them. Rotation
# (交流轮岗) is a measure of its own; everything else is money (build).
STRUCTURAL_ROLES = ("rooms", "school_size", "class_size", "certification", "training_funds")
MODE_ROLES = {
    "build": STRUCTURAL_ROLES,
    "rotation": ("rotation",),
    "both": ("rooms", "school_size", "class_size", "rotation", "certification", "training_funds"),
}
LEVER_ROLES = ("hire_teachers", "build_facilities")  # the least-cost model's additions


def planned_ids(std: Standard, *roles: str) -> tuple[str, ...]:
    """The ids of the indicators the measures `roles` close, in the roles' order."""
    return tuple(dict.fromkeys(ind.id for role in roles for ind in std.planned(role)))


def hire_indicators(std: Standard) -> list[Indicator]:
    return std.planned("hire_teachers")


def facility_indicators(std: Standard) -> list[Indicator]:
    return std.planned("build_facilities")


def lever_kind(ind: Indicator) -> str:
    """The action that adds to the field this unit-level indicator reads."""
    resource = ind.rule.resource
    return HIRE_KINDS.get(resource) or FACILITY_KINDS[resource]


def lever_indicators(std: Standard) -> dict[str, Indicator]:
    """Action kind → the unit-level indicator it closes (teachers first, then facilities)."""
    return {lever_kind(ind): ind for ind in hire_indicators(std) + facility_indicators(std)}


def indicator_of_field(std: Standard, field: str) -> Indicator | None:
    """The unit-level indicator whose rule reads `field` (per segment or school-wide)."""
    return next((ind for ind in std.resource_indicators() if ind.rule.resource == field), None)


def above_qual_indicator(std: Standard) -> Indicator | None:
    """The indicator every new or moved teacher also counts for (above-qualification teachers)."""
    return next((ind for ind in hire_indicators(std) if ind.rule.resource == ABOVE_QUAL_FIELD), None)


def teacher_indicators(std: Standard) -> list[Indicator]:
    """The unit-level indicators counting teachers the plan can hire or move, in the standard's order."""
    hires = {ind.id for ind in hire_indicators(std)}
    return [ind for ind in std.resource_indicators() if ind.id in hires]

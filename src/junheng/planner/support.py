"""Which standards the planner can plan for, said plainly: one check that the CLI, the web plan
page and its JSON share (through `make_plan`), refusing a standard in one Chinese sentence
that names it and lists the standards that can be planned for.

A standard can be planned for when it declares the planner's measures (`planning`), judges
units one by one against thresholds (the least-cost model closes each unit's gaps) and limits
each CV on its own (the model keeps every CV below its limit), and every indicator a measure
names is one that measure can close.
"""

from __future__ import annotations

from junheng.planner.errors import PlannerError
from junheng.planner.measures import FACILITY_KINDS, HIRE_KINDS, LEVER_ROLES
from junheng.standards.model import Indicator, Standard

ROLE_LABELS = {
    "hire_teachers": "招聘教师", "build_facilities": "建设与购置", "rooms": "音乐美术专用教室",
    "school_size": "分流学生(学校规模)", "class_size": "增设班级(班额)", "rotation": "交流轮岗",
    "certification": "教师取得资格证", "training_funds": "教师培训经费",
}


class UnsupportedStandard(PlannerError):
    """The county's standard is not one the planner can plan for."""


def _closable(role: str, ind: Indicator) -> bool:
    """Whether the measure `role` knows how to close this indicator's rule."""
    rule = ind.rule
    if role == "hire_teachers":
        return rule.kind == "per_student" and rule.source == "segment" and rule.resource in HIRE_KINDS
    if role == "build_facilities":
        return rule.kind == "per_student" and rule.source == "shared" and rule.resource in FACILITY_KINDS
    if role == "rotation":
        return rule.kind == "county_checks" and any(c.ratio is not None for c in rule.checks.values())
    if role == "training_funds":
        return rule.kind == "school_checks" and any(c.ratio is not None and c.gap_field
                                                    for c in rule.checks.values())
    return rule.kind == {"rooms": "school_rooms", "school_size": "school_size", "class_size": "class_size",
                         "certification": "teacher_certification"}[role]


def unplannable_reason(std: Standard) -> str | None:
    """Why the planner cannot plan for `std` (a phrase that follows the standard's name), or None."""
    if std.planning is None:
        return "没有声明可规划的措施(planning)"
    if std.per_school_rule is None:
        return "不逐校判定资源配置指标(没有 per_school_rule),规划无法算出各校学段的缺口"
    if std.composite_cv or std.cv_limits is None:
        return "按各项差异系数的平均值判定(composite_cv_limits),规划只能使每项差异系数各自不超过上限(cv_limits)"
    for role, indicators in ((r, std.planned(r)) for r in std.planning):
        for ind in indicators:
            if not _closable(role, ind):
                return f"的规划措施“{ROLE_LABELS[role]}”({role})中的 {ind.id}({ind.name})不是该措施能补足的指标"
    levers = {ind.id for role in LEVER_ROLES for ind in std.planned(role)}
    for ind in std.resource_indicators():
        if ind.id not in levers:
            return (f"的资源配置指标 {ind.id}({ind.name})不在规划措施“{ROLE_LABELS['hire_teachers']}”"
                    f"或“{ROLE_LABELS['build_facilities']}”中,规划无法补足它")
    return None


def plannable_standards() -> list[Standard]:
    """The built-in standards the planner can plan for, the default standard first."""
    from junheng.standards.loader import DEFAULT_STANDARD, all_standards

    found = [s for s in all_standards() if unplannable_reason(s) is None]
    return sorted(found, key=lambda s: s.id != DEFAULT_STANDARD)


def supports(std: Standard) -> str | None:
    """None when the planner can plan for `std`; else the refusal, one sentence for every face:
    the standards it can plan for, then why this one is not among them."""
    reason = unplannable_reason(std)
    if reason is None:
        return None
    names = "、".join(s.name for s in plannable_standards()) or "(无)"
    return f"规划只支持以下标准:{names};“{std.name}”{reason}。"


def check_supported(std: Standard) -> None:
    refusal = supports(std)
    if refusal is not None:
        raise UnsupportedStandard(refusal)

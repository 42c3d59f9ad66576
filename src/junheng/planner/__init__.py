"""Remediation planning (缺什么补什么): gaps, least-cost plans, teacher rotation and what-if
scenarios, all judged by the evaluation engine. See docs/methods.md, "Remediation planning";
`supports(std)` says whether a standard is one the planner can plan for."""

from junheng.planner.plan import PlanOptions, make_plan
from junheng.planner.support import supports

__all__ = ["PlanOptions", "make_plan", "supports"]

"""Remediation planning (缺什么补什么): gaps, least-cost plans, teacher rotation and what-if
scenarios, all judged by the evaluation engine. See docs/methods.md, "Remediation planning"."""

from junheng.planner.plan import PlanOptions, make_plan

__all__ = ["PlanOptions", "make_plan"]

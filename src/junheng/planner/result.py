"""The plan: what every face (CLI, JSON, workbook, web page) shows. `Plan.to_json()` is the
plan's JSON contract: `actions`, `total_cost`, `lower_bound`, `gap`, `policy_items` and
`verification` (the engine's evaluation JSON of the planned data) among the fields below."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from junheng.engine.result import Coverage
from junheng.planner.actions import Action
from junheng.planner.gaps import GapReport
from junheng.planner.policy import PolicyItem
from junheng.planner.rotation import TeacherMove
from junheng.standards.model import AREA_LABELS

PlanStatus = Literal["pass", "partial", "infeasible", "unverified"]
STATUS_LABELS = {
    "pass": "方案经评估引擎核验,全部可规划事项达标",
    "partial": "交流轮岗方案:部分事项仍需新增投入",
    "infeasible": "无法制定达标方案",
    "unverified": "方案未通过评估引擎核验",
}
MODE_LABELS = {"both": "先交流轮岗、再补充投入", "build": "只补充投入(建设、购置、招聘)", "rotation": "只交流轮岗"}
RULE_LABELS = {"all": "每个学校学段 7 项指标全部达标", "minimum": "按“7项中至少6项达标、其余不低于85%”的最低要求"}


class YearCost(BaseModel):
    plan_year: int
    year: int
    amount: float
    budget: float | None = None


class Verification(BaseModel):
    verdict: str
    passed: bool  # every plannable item passes
    items: dict[str, bool | None]  # resource_allocation, G3, G4, ... as the engine judged them
    failing_items: list[str]


class Plan(BaseModel):
    county_code: str
    county_name: str
    year: int
    standard: str
    synthetic: bool = False
    mode: str
    rule: str
    years: int
    budget: list[float] | None = None
    status: PlanStatus
    status_label: str
    message: str
    actions: list[Action] = Field(default_factory=list)
    moves: list[TeacherMove] = Field(default_factory=list)
    total_cost: float | None = None
    cost_by_year: list[YearCost] = Field(default_factory=list)
    recurring_cost: float | None = None  # yearly salaries of the new teachers, after the plan
    lower_bound: float | None = None  # continuous optimum: no plan costs less
    gap: float | None = None  # (total_cost − lower_bound) / lower_bound
    gap_amount: float | None = None
    integral_bound: float | None = None  # the MILP solver's bound on the best integral plan
    gaps: GapReport = Field(default_factory=GapReport)
    policy_items: list[PolicyItem] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)  # why no plan (infeasible) or what remains (partial)
    before: Verification | None = None
    coverage: Coverage | None = None  # what the plan's data cover (not complete: a provisional plan)
    verification_summary: Verification | None = None
    verification: dict[str, Any] | None = None  # the engine's result (JSON contract) for the planned data
    costs: dict[str, Any] = Field(default_factory=dict)
    solver: dict[str, Any] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def actions_by_school(self) -> dict[str, list[Action]]:
        out: dict[str, list[Action]] = {}
        for a in self.actions:
            out.setdefault(a.school_id, []).append(a)
        return out


def item_labels(plan: Plan) -> dict[str, str]:
    """Names of the plan's verification items that are not indicators: the unit-level area, as
    "资源配置(R1–R7 及差异系数)" under national-2017 (its name and first and last indicator, read
    from the planned data's evaluation)."""
    area = ((plan.verification or {}).get("areas") or {}).get("resource_allocation") or {}
    label = area.get("label") or AREA_LABELS["resource_allocation"]
    ids = list(dict.fromkeys([i for seg in (area.get("cv") or {}).values() for i in seg]
                             + [i for u in area.get("units") or [] for i in u.get("indicators", {})]))
    span = f"{ids[0]}–{ids[-1]} 及差异系数" if len(ids) > 1 else "及差异系数"
    return {"resource_allocation": f"{label}({span})"}

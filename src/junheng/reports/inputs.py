"""Optional inputs of the 问题与整改 section: a remediation plan, open supervision tasks and
warnings.

The planner and the supervision/monitoring features will produce these; until they exist the
report is written without them (the section then shows the engine's gaps only). The models are
deliberately small and plain so that those features can fill them from their own records.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class PlanAction(BaseModel):
    """One measure of a remediation plan: "投资630万元升级更新教学多媒体设备180台"."""

    indicator: str  # an indicator ID, e.g. "R7"
    action: str  # what is done
    school_name: str | None = None  # None: county-wide
    quantity: float | None = None
    unit: str | None = None  # 人, m², 元, 间, 台 …
    cost_wan_yuan: float | None = None  # 投资(万元)
    year: int | None = None  # completion year
    responsible: list[str] = Field(default_factory=list)


class RemediationPlan(BaseModel):
    title: str = "整改计划"
    target_year: int | None = None
    actions: list[PlanAction] = Field(default_factory=list)


class SupervisionTask(BaseModel):
    """An open task of the supervision system (专项督办)."""

    title: str
    indicator: str | None = None
    responsible: list[str] = Field(default_factory=list)
    due: date | None = None
    status: str = "进行中"


class MonitoringWarning(BaseModel):
    """A warning of the timed-warning / annual-monitoring system (定时预警, 不下滑不反弹)."""

    message: str
    indicator: str | None = None
    level: str = "预警"  # e.g. 提示 / 预警 / 严重
    raised: date | None = None


class Remediation(BaseModel):
    """Everything the 问题与整改 section can show beyond the engine's gaps."""

    plan: RemediationPlan | None = None
    tasks: list[SupervisionTask] = Field(default_factory=list)
    warnings: list[MonitoringWarning] = Field(default_factory=list)

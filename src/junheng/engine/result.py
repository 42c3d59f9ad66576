"""The evaluation result: what every face (CLI, JSON, workbook, web, planner, reports) shows.

`EvaluationResult.to_json()` produces the public JSON contract of data-format.md
("Evaluation output"); the extra fields here only add to it. Values are unrounded; rounding
happens at presentation.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Verdict = Literal["pass", "fail", "incomplete"]
VERDICT_LABELS = {"pass": "达标", "fail": "未达标", "incomplete": "数据不全,无法判定"}


def combine_met(values: list[bool | None]) -> bool | None:
    """false if any is false; null if none is false but some is null; true otherwise."""
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


class MissingInput(BaseModel):
    indicator: str  # an indicator ID, "resource_allocation" (a unit's student count) or "veto"
    table: str
    field: str
    label: str
    school_id: str | None = None
    school_name: str | None = None

    def describe(self) -> str:
        """What a person reads: "G1: 学校规划布局合理", "资源配置: 测试学校P1 小学在校生数". The
        table and field keys stay in the JSON (`table`, `field`), never in this text."""
        where = f"{self.school_name or self.school_id} " if self.school_id else ""
        return f"{MISSING_SCOPE_LABELS.get(self.indicator, self.indicator)}: {where}{self.label}"


MISSING_SCOPE_LABELS = {"resource_allocation": "资源配置", "veto": "一票否决"}  # MissingInput.indicator, not an ID


class AllowanceApplied(BaseModel):
    allowance: str
    label: str
    indicator: str
    school_id: str
    school_name: str
    detail: str


class Gap(BaseModel):
    """What closes a shortfall, in real units (teachers, m², 元, rooms, persons)."""

    amount: float
    unit: str
    what: str
    note: str | None = None


class UnitIndicator(BaseModel):
    value: float | None
    threshold: float
    met: bool | None
    ratio: float | None = None  # value / threshold (for the 85% floor)
    resource: float | None = None  # the unit's amount of the resource (after split)
    gap: Gap | None = None


class UnitResult(BaseModel):
    school_id: str
    school_name: str
    school_type: str
    segment: Literal["primary", "junior"]
    students: int
    share: float | None = None  # share of school-wide facilities given to this unit
    indicators: dict[str, UnitIndicator]
    met_count: int
    compliant: bool | None
    reasons: list[str] = Field(default_factory=list)


class CVResult(BaseModel):
    value: float | None
    limit: float
    met: bool | None
    county_value: float | None = None  # X̄, the student-weighted county value
    units: int = 0
    students: int = 0
    applicable: bool = True
    note: str | None = None
    largest_contributors: list[dict[str, Any]] = Field(default_factory=list)


class ExcludedUnit(BaseModel):
    school_id: str
    school_name: str
    segment: str
    students: int | None
    reason: str


class ResourceArea(BaseModel):
    met: bool | None
    units: list[UnitResult]
    cv: dict[str, dict[str, CVResult]]
    excluded: list[ExcludedUnit] = Field(default_factory=list)
    compliant_units: int = 0
    noncompliant_units: int = 0


class SchoolFinding(BaseModel):
    school_id: str
    school_name: str
    met: bool | None
    detail: str
    gap: Gap | None = None


class CheckResult(BaseModel):
    name: str
    label: str
    value: float | str | bool | None
    threshold: float | str | None
    comparison: str
    met: bool | None
    unit: str | None = None


class ItemResult(BaseModel):
    id: str
    name: str
    met: bool | None
    value: float | str | bool | None = None
    threshold: float | str | None = None
    unit: str | None = None
    explanation: str
    checks: list[CheckResult] = Field(default_factory=list)
    schools: list[SchoolFinding] = Field(default_factory=list)  # only the failing or incomplete ones
    schools_checked: int | None = None
    gap: Gap | None = None
    missing: list[MissingInput] = Field(default_factory=list)
    responsible: list[str] = Field(default_factory=list)


class ItemArea(BaseModel):
    met: bool | None
    indicators: dict[str, ItemResult]


class VetoResult(BaseModel):
    triggered: list[str]
    labels: dict[str, str] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)


class Precondition(BaseModel):
    basic_balance_year: int | None
    required_years_before: int
    met: bool | None
    note: str


class Areas(BaseModel):
    """The four areas; `areas["resource_allocation"]` indexing is kept for readability."""

    resource_allocation: ResourceArea
    government_guarantee: ItemArea
    education_quality: ItemArea
    social_recognition: ItemArea

    def __getitem__(self, area: str):
        return getattr(self, area)


SCHEMA_VERSION = 2  # 2: `coverage` (2026-12); results stored before it read as version 1
SchoolState = Literal["none", "draft", "submitted", "returned", "approved"]
SCHOOL_STATE_LABELS = {"none": "未填报", "draft": "草稿", "submitted": "已提交待审核", "returned": "已退回",
                       "approved": "已审核"}


class MissingSchool(BaseModel):
    """An expected school whose data the evaluation did not use, and why."""

    school_id: str
    school_name: str
    status: SchoolState  # none: no record of the year; else the state of its record (never approved here)


class Coverage(BaseModel):
    """Which of the county's data an evaluation rests on. Not complete: the verdict is
    `incomplete` and every figure is provisional (computed on the schools included only)."""

    complete: bool
    basis: Literal["store", "dataset"]  # store: approved data only; dataset: every row of the file
    schools_expected: int  # the county's roster of the year (docs/methods.md, "Coverage")
    schools_included: int  # schools whose data the evaluation used
    schools_missing: list[str] = Field(default_factory=list)  # expected, not included (school_id)
    missing: list[MissingSchool] = Field(default_factory=list)  # the same schools with name and state
    not_approved: dict[str, int] = Field(default_factory=dict)  # state → schools with a record not yet approved
    schools_without_data: int = 0  # expected schools with no record of the year at all
    county_year: bool  # the county-level row is there (and, in the store, approved)
    county_year_status: str | None = None  # the row's workflow state (store), "present" (dataset) or None
    quality_rows: int = 0  # quality-monitoring rows (subjects) of the year
    quality_approved: bool = False  # they are locked with the approved county-level row

    def fraction(self) -> str:
        """"1/78": schools included of schools expected."""
        return f"{self.schools_included}/{self.schools_expected}"

    def statement(self) -> str:
        """One sentence for the top of a page, report or plan."""
        if self.complete:
            return f"数据完整:全县应有 {self.schools_expected} 所学校,均已{'审核' if self.basis == 'store' else '纳入'}。"
        parts = [f"应有 {self.schools_expected} 所学校,已{'审核' if self.basis == 'store' else '纳入'} "
                 f"{self.schools_included} 所"]
        pending = [f"{SCHOOL_STATE_LABELS[s]} {n} 所" for s, n in self.not_approved.items() if n]
        if self.schools_without_data:
            pending.insert(0, f"未填报 {self.schools_without_data} 所")
        if pending:
            parts.append("其余" + "、".join(pending))
        if not self.county_year:
            parts.append("县级年度数据" + ("未审核定稿" if self.county_year_status not in (None, "present")
                                          else "未填报"))
        return "数据不完整:" + ",".join(parts) + "。以下数值为临时结果,不作为全县结论。"


class EvaluationResult(BaseModel):
    schema_version: int = 1
    county_code: str
    county_name: str
    year: int
    standard: str
    standard_name: str
    verdict: Verdict
    verdict_label: str
    synthetic: bool = False
    source: str = ""
    areas: Areas
    veto: VetoResult
    missing_inputs: list[MissingInput] = Field(default_factory=list)
    allowances_applied: list[AllowanceApplied] = Field(default_factory=list)
    precondition: Precondition | None = None
    warnings: list[str] = Field(default_factory=list)
    coverage: Coverage | None = None  # always set by the engine (schema version 2)

    @property
    def complete(self) -> bool:
        """The evaluation rests on all of the county's data of the year (results stored before
        coverage existed count as complete: they were taken as such when written)."""
        return self.coverage is None or self.coverage.complete

    @property
    def provisional(self) -> bool:
        return not self.complete

    @property
    def resource(self) -> ResourceArea:
        return self.areas["resource_allocation"]

    def item_area(self, area: str) -> ItemArea:
        return self.areas[area]

    def failing_items(self) -> list[str]:
        """IDs of every indicator that fails (R indicators fail when a unit or a CV fails)."""
        failing: list[str] = []
        res = self.resource
        for ind in ("R1", "R2", "R3", "R4", "R5", "R6", "R7"):
            unit_fail = any(u.compliant is False and u.indicators[ind].met is False for u in res.units)
            cv_fail = any(seg[ind].met is False for seg in res.cv.values() if ind in seg)
            if unit_fail or cv_fail:
                failing.append(ind)
        for area in ("government_guarantee", "education_quality", "social_recognition"):
            failing += [i for i, item in self.item_area(area).indicators.items() if item.met is False]
        return failing

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

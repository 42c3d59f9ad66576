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
    """false if any is false; null if none is false but some is null; true otherwise. Nothing to
    combine is a question with no answer, not a pass: callers decide what an empty set means."""
    if not values:
        raise ValueError("combine_met of nothing")
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
    threshold: float | None  # None: the standard judges no unit one by one (basic-2012)
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
    limit: float | None  # None: judged only through the segment's composite (CompositeCV)
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


class CompositeCV(BaseModel):
    """A segment's 综合差异系数: the mean of its indicator CVs, against its own limit."""

    value: float | None  # None when any of the CVs is unknown or undefined
    limit: float
    met: bool | None
    indicators: int = 0  # how many CVs the mean is over
    note: str | None = None


class ResourceArea(BaseModel):
    met: bool | None
    label: str | None = None  # the standard's name for the area (results stored before 2026-12: none)
    units: list[UnitResult]
    cv: dict[str, dict[str, CVResult]]
    composite_cv: dict[str, CompositeCV] | None = None  # only under a standard with a composite limit
    per_school_rule: bool = True  # False: units are not judged one by one (values feed the CVs only)
    # the unit-level indicators' names and units as the standard defined them (results stored
    # before 2026-12: empty; faces then read them from the standard)
    indicator_names: dict[str, str] = Field(default_factory=dict)
    indicator_units: dict[str, str] = Field(default_factory=dict)
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


class ValueSource(BaseModel):
    """Where an input value came from when it was computed rather than typed: a survey's result
    (or, later, counts and scores), or "typed" when a value was typed over a computed one."""

    kind: str  # survey, typed, computed
    label: str  # in Chinese, for every face: 问卷调查“2026 年社会认可度调查”(第 3 次计算)
    ref: str | None = None  # e.g. survey:3 (the survey's id)
    details: dict[str, Any] = Field(default_factory=dict)  # e.g. rate, ci_low, ci_high, respondents


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
    sources: dict[str, ValueSource] = Field(default_factory=dict)  # input field → where its value came from


class ItemArea(BaseModel):
    met: bool | None
    label: str | None = None  # the standard's name for the area (results stored before 2026-12: none)
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
    """The areas of the result's standard. An area the standard does not have is None here and
    absent from the JSON: "not part of this standard", never "met"."""

    resource_allocation: ResourceArea | None = None
    government_guarantee: ItemArea | None = None
    education_quality: ItemArea | None = None
    social_recognition: ItemArea | None = None

    def __getitem__(self, area: str):
        return getattr(self, area)

    def present(self) -> dict[str, "ResourceArea | ItemArea"]:
        """The standard's own areas, in order."""
        return {name: getattr(self, name) for name in type(self).model_fields if getattr(self, name) is not None}

    def items(self) -> dict[str, ItemArea]:
        """The areas judged item by item (all but resource allocation)."""
        return {name: a for name, a in self.present().items() if name != "resource_allocation"}


class ReportedResult(BaseModel):
    """A value the standard reports beside the verdict without judging it."""

    key: str
    label: str
    field: str
    value: float | str | bool | None
    unit: str | None = None


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
    reported: list[ReportedResult] = Field(default_factory=list)
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
    def resource(self) -> ResourceArea | None:
        return self.areas.resource_allocation

    def item_area(self, area: str) -> ItemArea:
        """An item area of the result's standard; an empty one when the standard has no such area
        (callers that look an indicator up find nothing, and nothing counts as met)."""
        found = self.areas[area]
        return found if found is not None else ItemArea(met=None, indicators={})

    def has_area(self, area: str) -> bool:
        return self.areas[area] is not None

    def item(self, indicator_id: str) -> ItemResult | None:
        """The item result of an indicator judged as a whole (not unit-level), if the standard has it."""
        for area in self.areas.items().values():
            if indicator_id in area.indicators:
                return area.indicators[indicator_id]
        return None

    def resource_ids(self) -> list[str]:
        """The unit-level indicators of the result's standard, in order."""
        res = self.resource
        if res is None:
            return []
        ids = {i: None for seg in res.cv.values() for i in seg}
        for u in res.units:
            ids.update(dict.fromkeys(u.indicators))
        return list(ids)

    def failing_items(self) -> list[str]:
        """IDs of every indicator that fails (a unit-level one fails when a unit or its CV fails;
        under a composite limit, every indicator of a failing segment counts)."""
        failing: list[str] = []
        res = self.resource
        if res is not None:
            failing_segments = {seg for seg, c in (res.composite_cv or {}).items() if c.met is False}
            for ind in self.resource_ids():
                unit_fail = any(u.compliant is False and u.indicators[ind].met is False for u in res.units
                                if ind in u.indicators)
                cv_fail = any((seg.get(ind) is not None and seg[ind].met is False) or name in failing_segments
                              for name, seg in res.cv.items() if ind in seg)
                if unit_fail or cv_fail:
                    failing.append(ind)
        for area in self.areas.items().values():
            failing += [i for i, item in area.indicators.items() if item.met is False]
        return failing

    def to_json(self) -> dict[str, Any]:
        out = self.model_dump(mode="json")
        out["areas"] = {name: area for name, area in out["areas"].items() if area is not None}
        return out

    def to_json_text(self) -> str:
        """`to_json()` as compact JSON text, serialised by pydantic's core (whole-region runs
        write hundreds of thousands of units)."""
        absent = {name for name in Areas.model_fields if getattr(self.areas, name) is None}
        return self.model_dump_json(exclude={"areas": absent} if absent else None)

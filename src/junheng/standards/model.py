"""Typed model of a standard file. Unknown keys are errors (a typo must not pass silently).

Rule kinds name a computation the engine knows (engine/rules.py registry); everything a
province may change (thresholds, limits, fields, scope, labels, responsibilities) is a
parameter here.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

Area = Literal["resource_allocation", "government_guarantee", "education_quality", "social_recognition"]
AREAS: tuple[Area, ...] = ("resource_allocation", "government_guarantee", "education_quality", "social_recognition")
AREA_LABELS = {
    "resource_allocation": "资源配置",
    "government_guarantee": "政府保障程度",
    "education_quality": "教育质量",
    "social_recognition": "社会认可度",
}
INDICATOR_IDS = (
    [f"R{i}" for i in range(1, 8)] + [f"G{i}" for i in range(1, 16)] + [f"Q{i}" for i in range(1, 10)] + ["S1"]
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ratio(_Strict):
    numerator: str
    denominator: str
    scale: float = 1.0


class Check(_Strict):
    """One comparison on a county or school row: a field, a ratio of two fields, or a flag."""

    label: str | None = None
    field: str | None = None
    ratio: Ratio | None = None
    op: Literal[">=", ">", "<=", "<", "is_true", "in"]
    threshold: float | None = None
    ref_field: str | None = None  # compare against another field instead of a threshold
    values: tuple[str, ...] | None = None  # for op "in"
    unit: str | None = None
    gap_field: str | None = None  # the field whose increase closes a ratio gap

    @model_validator(mode="after")
    def _consistent(self) -> "Check":
        if (self.field is None) == (self.ratio is None):
            raise ValueError("一项检查须且只能给出 field 或 ratio 之一")
        if self.op in (">=", ">", "<=", "<") and (self.threshold is None) == (self.ref_field is None):
            raise ValueError(f"比较 {self.op} 须且只能给出 threshold 或 ref_field 之一")
        if self.op == "in" and not self.values:
            raise ValueError("op 为 in 时须给出 values")
        return self

    def inputs(self) -> list[str]:
        keys = [self.field] if self.field else [self.ratio.numerator, self.ratio.denominator]
        return keys + ([self.ref_field] if self.ref_field else [])


class PerStudentRule(_Strict):
    kind: Literal["per_student"]
    resource: str  # base field name; `_primary`/`_junior` appended for segment sources
    source: Literal["segment", "shared"]  # per-segment counts, or a school-wide facility that is split
    scale: float
    gap_unit: str
    gap_integer: bool
    gap_label: str


class CountyChecksRule(_Strict):
    kind: Literal["county_checks"]
    checks: dict[str, Check]


class SchoolChecksRule(_Strict):
    kind: Literal["school_checks"]
    checks: dict[str, Check]
    county_checks: dict[str, Check] = {}


class RoomSpec(_Strict):
    label: str
    rooms_field: str
    area_field: str
    min_area: float


class SchoolRoomsRule(_Strict):
    kind: Literal["school_rooms"]
    classes_per_room: int = Field(gt=0)
    min_rooms: int = Field(ge=0)
    rooms: dict[str, RoomSpec]


class SchoolSizeRule(_Strict):
    kind: Literal["school_size"]
    limits: dict[str, int]


class ClassSizeRule(_Strict):
    kind: Literal["class_size"]
    limits: dict[str, int]


class TeacherCertificationRule(_Strict):
    kind: Literal["teacher_certification"]
    threshold: float
    fallback_field: str | None = None


class QualityMonitoringRule(_Strict):
    kind: Literal["quality_monitoring"]
    min_level: int = Field(ge=1, le=4)
    max_diff_rate: float = Field(gt=0, le=1)


Rule = Annotated[
    Union[
        PerStudentRule, CountyChecksRule, SchoolChecksRule, SchoolRoomsRule, SchoolSizeRule,
        ClassSizeRule, TeacherCertificationRule, QualityMonitoringRule,
    ],
    Field(discriminator="kind"),
]


class Indicator(_Strict):
    id: str
    name: str
    area: Area
    level: Literal["unit", "school", "county"]
    unit: str | None = None
    thresholds: dict[str, float] | None = None  # per segment, for unit-level indicators
    school_types: tuple[str, ...] | None = None  # scope of a school-level indicator
    rule: Rule
    responsible: tuple[str, ...]


class Exclusion(_Strict):
    label: str
    school_types: tuple[str, ...]
    students_below: int = Field(gt=0)


class Units(_Strict):
    school_types: dict[str, tuple[str, ...]]
    exclusions: dict[str, Exclusion] = {}


class PerSchoolRule(_Strict):
    min_met: int = Field(ge=0)
    floor_ratio: float = Field(gt=0, le=1)


class Allowance(_Strict):
    enabled: bool
    label: str
    indicator: str
    kind: Literal[
        "r3_itinerant_teachers", "r4_indoor_sports_to_r5", "r5_rented_sports_area",
        "g3_room_area", "g4_school_size",
    ]
    params: dict = {}


class Precondition(_Strict):
    basic_balance_years_before: int = Field(ge=0)


class Standard(_Strict):
    id: str
    name: str
    source: str
    extends: str | None = None
    segments: dict[str, str]
    units: Units
    split_weights: dict[str, float]
    per_school_rule: PerSchoolRule
    cv_limits: dict[str, float]
    veto: dict[str, str]
    precondition: Precondition
    allowances: dict[str, Allowance] = {}
    indicators: dict[str, Indicator]

    def fingerprint(self) -> str:
        """Changes whenever anything in the standard changes (keys compiled queries)."""
        import hashlib

        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]

    def indicator(self, indicator_id: str) -> Indicator:
        return self.indicators[indicator_id]

    def by_area(self, area: Area) -> list[Indicator]:
        return [ind for ind in self.indicators.values() if ind.area == area]

    def resource_indicators(self) -> list[Indicator]:
        return [ind for ind in self.indicators.values() if ind.level == "unit"]

    def enabled_allowances(self, kind: str | None = None) -> dict[str, Allowance]:
        return {
            key: a for key, a in self.allowances.items() if a.enabled and (kind is None or a.kind == kind)
        }

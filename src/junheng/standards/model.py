"""Typed model of a standard file. Unknown keys are errors (a typo must not pass silently).

A standard declares its own indicator set: which areas it has (and what they are called),
its indicators with names, units, rules, gap labels and responsible departments, how the CVs
of its unit-level indicators are judged (each against a limit, or their mean against a
composite limit), whether the per-school rule applies, the values it reports without judging,
and which indicators the planner's measures close. Everything downstream reads this
declaration; no indicator id is written in code.

Rule kinds name a computation the engine knows (the `kind` literals below, computed in
engine/units.py, engine/checks.py and engine/assemble.py); everything a province may change
(thresholds, limits, fields, scope, labels, responsibilities) is a parameter here.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from junheng.data.catalog import catalog

Area = Literal["resource_allocation", "government_guarantee", "education_quality", "social_recognition"]
AREAS: tuple[Area, ...] = ("resource_allocation", "government_guarantee", "education_quality", "social_recognition")
AREA_LABELS = {
    "resource_allocation": "资源配置",
    "government_guarantee": "政府保障程度",
    "education_quality": "教育质量",
    "social_recognition": "社会认可度",
}
# The shape of an indicator id: a letter or two and a number (R1, G15, BG2). Which ids exist is
# the standard's own declaration.
INDICATOR_ID_PATTERN = r"[A-Z]{1,3}[0-9]{1,2}"


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


# How the 校际差异率 is computed from student scores: the method names junheng.quality.icc's
# registry knows (name → function there; a test ties the two lists), each with its Chinese name.
DIFFERENCE_RATE_METHODS = {
    "icc1_anova": "组内相关系数 ICC(1)(单因素方差分析估计,学校规模不等)",
}


class DifferenceRate(_Strict):
    """The 校际差异率's method and the confidence of its interval."""

    method: str = "icc1_anova"
    confidence: float = Field(default=0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _known_method(self) -> "DifferenceRate":
        if self.method not in DIFFERENCE_RATE_METHODS:
            known = "、".join(f"{k}({v})" for k, v in DIFFERENCE_RATE_METHODS.items())
            raise ValueError(f"校际差异率的计算方法“{self.method}”无效;可用:{known}")
        return self


COUNTY_LEVEL_METHODS = {
    "mean_score": "全县平均分所在的水平",
    "share_of_students": "达到该水平及以上的学生占比不低于 share 的最高水平",
}


def county_level_text(method: str, share: float | int | None) -> str:
    """How a county's level is determined, in Chinese, the share written as a percentage (every
    face that explains the level: terminal, pages, report)."""
    how = COUNTY_LEVEL_METHODS.get(method, method)
    number = isinstance(share, (int, float)) and not isinstance(share, bool) and share == share  # not NaN
    return how.replace("share", f"{share * 100:g}%" if number else "标准规定的比例")


class CountyLevel(_Strict):
    """How the county's level per subject is read from its students' scores: the level of the
    pooled county mean score (default), or the highest level reached by at least `share` of the
    students (share of students at that level or above)."""

    method: str = "mean_score"
    share: float | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _share_given(self) -> "CountyLevel":
        if self.method not in COUNTY_LEVEL_METHODS:
            known = "、".join(f"{k}({v})" for k, v in COUNTY_LEVEL_METHODS.items())
            raise ValueError(f"县区学业水平的认定方法“{self.method}”无效;可用:{known}")
        if self.method == "share_of_students" and self.share is None:
            raise ValueError("method 为 share_of_students 时须给出 share(学生占比,0 到 1 之间)")
        if self.method == "mean_score" and self.share is not None:
            raise ValueError("share 只用于 method: share_of_students")
        return self


class QualityMonitoringRule(_Strict):
    kind: Literal["quality_monitoring"]
    min_level: int = Field(ge=1, le=4)
    max_diff_rate: float = Field(gt=0, le=1)
    difference_rate: DifferenceRate = DifferenceRate()
    county_level: CountyLevel = CountyLevel()


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


# Allowance kinds name what they change, not an indicator; files written before 2026-12 used
# the old names, which still read.
ALLOWANCE_KIND_ALIASES = {
    "r3_itinerant_teachers": "itinerant_teachers",
    "r4_indoor_sports_to_r5": "indoor_sports_moved",
    "r5_rented_sports_area": "rented_sports_area",
    "g3_room_area": "room_area",
    "g4_school_size": "school_size_limit",
}


class Allowance(_Strict):
    enabled: bool
    label: str
    indicator: str
    kind: Literal["itinerant_teachers", "indoor_sports_moved", "rented_sports_area", "room_area",
                  "school_size_limit"]
    params: dict = {}

    @model_validator(mode="before")
    @classmethod
    def _old_kind_names(cls, data):
        if isinstance(data, dict) and data.get("kind") in ALLOWANCE_KIND_ALIASES:
            data = {**data, "kind": ALLOWANCE_KIND_ALIASES[data["kind"]]}
        return data


class Precondition(_Strict):
    basic_balance_years_before: int = Field(ge=0)


class AreaSpec(_Strict):
    label: str


class ReportedValue(_Strict):
    """A county value the standard reports beside the verdict without judging it (basic-2012:
    公众满意度)."""

    label: str
    field: str  # a county_year field
    unit: str | None = None


# The planner's measures, each closing the gaps of the indicators a standard names for it
# (planner/ reads them; a standard without `planning` is not one the planner can plan for).
PLANNING_ROLES = (
    "hire_teachers", "build_facilities", "rooms", "school_size", "class_size", "rotation",
    "certification", "training_funds",
)


class Standard(_Strict):
    id: str
    name: str
    source: str
    extends: str | None = None
    # The areas this standard has, in order, with their names; an area it does not list is not
    # part of it (never "met"). Files without `areas` have the four of national-2017.
    areas: dict[Area, AreaSpec] = {area: AreaSpec(label=label) for area, label in AREA_LABELS.items()}
    segments: dict[str, str]
    units: Units
    split_weights: dict[str, float]
    per_school_rule: PerSchoolRule | None = None  # None: units are not judged one by one
    cv_limits: dict[str, float] | None = None  # each CV against its segment's limit
    composite_cv_limits: dict[str, float] | None = None  # or the mean of a segment's CVs against this
    veto: dict[str, str] = {}
    precondition: Precondition | None = None
    reported: dict[str, ReportedValue] = {}
    allowances: dict[str, Allowance] = {}
    planning: dict[str, tuple[str, ...]] | None = None  # planning role → indicator ids
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

    def has_area(self, area: str) -> bool:
        return area in self.areas

    def area_label(self, area: str) -> str:
        spec = self.areas.get(area)
        return spec.label if spec else AREA_LABELS.get(area, area)

    def item_areas(self) -> list[str]:
        """The standard's areas judged item by item (all but resource allocation), in order."""
        return [a for a in self.areas if a != "resource_allocation"]

    def indicators_of_kind(self, *kinds: str) -> list[Indicator]:
        return [ind for ind in self.indicators.values() if ind.rule.kind in kinds]

    def planned(self, role: str) -> list[Indicator]:
        """The indicators whose gaps the planner's measure `role` closes (none when the standard
        declares no planning)."""
        ids = (self.planning or {}).get(role, ())
        return [self.indicators[i] for i in ids if i in self.indicators]

    @property
    def composite_cv(self) -> bool:
        return self.composite_cv_limits is not None

    def cv_limit(self, segment: str) -> float | None:
        """A single CV's limit (None when CVs are judged by their composite)."""
        return (self.cv_limits or {}).get(segment) if not self.composite_cv else None

    def fields_read(self) -> dict[str, set[str]]:
        """Every data field the standard's rules, veto and reported values read, per table."""
        out: dict[str, set[str]] = {"schools": set(), "school_year": set(), "county_year": set(), "quality": set()}
        for ind in self.indicators.values():
            rule = ind.rule
            if rule.kind == "per_student":
                out["school_year"] |= {f"students_{seg}" for seg in self.segments}
                out["school_year"] |= {f"{rule.resource}_{seg}" for seg in self.segments}
                if rule.source == "shared":
                    out["school_year"].add(rule.resource)
            elif rule.kind == "county_checks":
                out["county_year"] |= {k for c in rule.checks.values() for k in c.inputs()}
            elif rule.kind == "school_checks":
                out["school_year"] |= {k for c in rule.checks.values() for k in c.inputs()}
                out["county_year"] |= {k for c in rule.county_checks.values() for k in c.inputs()}
            elif rule.kind == "school_rooms":
                out["school_year"] |= {f"classes_{seg}" for seg in self.segments}
                out["school_year"] |= {k for r in rule.rooms.values() for k in (r.rooms_field, r.area_field)}
            elif rule.kind == "school_size":
                out["school_year"] |= {f"students_{seg}" for seg in self.segments}
            elif rule.kind == "class_size":
                out["school_year"] |= {f"{p}_{seg}" for seg in rule.limits
                                       for p in ("max_class_size", "oversize_classes", "classes")}
            elif rule.kind == "teacher_certification":
                out["school_year"] |= {f"{p}_{seg}" for seg in self.segments
                                       for p in ("teachers", "certified_teachers")}
                if rule.fallback_field:
                    out["county_year"].add(rule.fallback_field)
            elif rule.kind == "quality_monitoring":
                out["quality"] |= {"subject", "level", "inter_school_diff_rate"}
        out["county_year"] |= set(self.veto)
        out["county_year"] |= {r.field for r in self.reported.values()}
        for target, derivation in catalog().derived.items():
            if target in out["county_year"]:  # the counts a rate it reads can be computed from
                out["county_year"] |= set(derivation.inputs)
        return out

    def enabled_allowances(self, kind: str | None = None) -> dict[str, Allowance]:
        return {
            key: a for key, a in self.allowances.items() if a.enabled and (kind is None or a.kind == kind)
        }

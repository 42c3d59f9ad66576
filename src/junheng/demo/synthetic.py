"""Synthetic data: a demo county shaped like seed 003 (阳城县), and synthetic regions for scale work.

Everything here is invented. Datasets are built with ``synthetic=True`` and every county, city
and province name carries "(合成数据)", so no face can pass them off as real data.

Which years
-----------
The demo county is alive relative to today (`generate_county(today=...)`, Beijing time by
default): the three complete school years before the current one and the current one in
progress. Today 2026-12-01 is in the school year 2026 (2026—2027), so 2023, 2024 and 2025
are complete (every school's row, the county-level row and quality monitoring) and 2026 has
rows of only part of the schools (`IN_PROGRESS_SHARE`) and no county-level or quality rows
yet, as a real county looks in December. The *evaluation year*, on which the designed
shortfalls below are anchored, is the last complete year; the year in progress follows it
with another year of enrolment drift and investment. Given explicit `years`, every year is
complete and the last is the evaluation year.

How the numbers are made
------------------------
The roster (which schools exist: type, locale, role) is drawn first; then one vectorised pass
fills every school_year field for all schools and years at once, so 200,000 schools take
seconds. For each school and each resource the generator fills (`RESOURCES`: the data fields
of the standard's unit-level indicators, R1–R7 of national-2017) an *adequacy factor* is drawn:
the unit's value divided by its threshold in the evaluation year. Teacher
counts are ``ceil(factor · threshold · students / scale)`` (``floor`` for designated weak
schools); school-wide facilities are ``rate · Σ w·students`` with
``rate = factor · max over the school's segments of threshold / w``, so splitting them by
weighted students (the standard's rule) gives every segment at least ``factor · threshold``.
Thresholds, split weights, class-size, school-size and music/art room limits are read from the
standard (national-2017), found by the data field an indicator reads or by its rule kind, so
the profiles stay true to it. The generator is made for national-2017 (and provincial variants
that keep its resources and rules): `generation_rules` says plainly what another standard lacks.

Profiles
--------
``realistic``: most units comply, but by design the county fails a believable handful of
items: weak rural schools (few backbone and PE/art teachers, little equipment, small
music/art rooms: units non-compliant, G3), crowded urban schools (classes over 45/50: G5;
tight sports area), one primary school over 2,000 pupils (G4, and short of music/art rooms),
a junior CV over its limit (sports area: county-town schools on small sites, rural schools
on large ones), and too few backbone teachers among the rotated teachers (G11).
``passing``: the same schools, every indicator met with margin in every year, so a test can
break exactly one thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd

from junheng.data.dataset import Dataset
from junheng.schoolyear import current_school_year
from junheng.standards.loader import load_standard
from junheng.standards.model import Indicator, Standard

SYNTHETIC_LABEL = "(合成数据)"
STANDARD_ID = "national-2017"
PROFILES = ("realistic", "passing")
DEMO_COMPLETE_YEARS = 3  # complete school years before the one in progress
IN_PROGRESS_SHARE = 0.4  # of the schools: those with a row in the year in progress
# How the rows of the year in progress stand in the store (junheng demo): shares of approved and
# submitted rows, the rest drafts; the other schools have no row yet.
IN_PROGRESS_STATES = (("approved", 0.5), ("submitted", 0.3))

SEGMENTS = ("primary", "junior", "senior")  # senior only splits facilities
# The resources the generator fills, by data field (the `resource` of a unit-level indicator of
# the standard): teacher counts per segment, then school-wide facilities split between segments.
# The factor tables below have one column per resource, in this order.
TEACHER_RESOURCES = ("teachers_above_qual", "backbone_teachers", "pe_art_teachers")
FACILITY_RESOURCES = ("teaching_aux_area", "sports_area", "equipment_value", "multimedia_classrooms")
RESOURCES = TEACHER_RESOURCES + FACILITY_RESOURCES
SPORTS_AREA = "sports_area"  # the resource of the designed junior CV gap and of crowded schools' shortfall
# decimals: areas to 0.1 m², equipment to 100 元; multimedia classrooms are a count
FACILITY_ROUNDING = {"teaching_aux_area": 1, "sports_area": 1, "equipment_value": -2}


@dataclass(frozen=True)
class Kind:
    """A kind of school (type × locale): its count in the demo county and its usual size."""

    type: str
    locale: str
    demo_count: int
    students: tuple[float, float, float]  # median students: primary, junior, senior (0 = none)
    sigma: float  # lognormal spread of the size
    max_segment: int  # cap of one segment's students (only designated oversized schools exceed it)


# The demo county: 78 schools as in seed 003 (44 primary, 21 junior, 1 special school) plus the
# one-through schools and teaching points a county of 360,000 people has. Medians are tuned so
# that, before rescaling to the targets below, the totals are already close.
KINDS: tuple[Kind, ...] = (
    Kind("primary", "urban", 6, (1150, 0, 0), 0.20, 1950),  # county-town schools
    Kind("primary", "town", 14, (330, 0, 0), 0.35, 1950),  # township central schools
    Kind("primary", "rural", 24, (110, 0, 0), 0.45, 600),  # village schools
    Kind("junior", "urban", 3, (0, 850, 0), 0.20, 1950),
    Kind("junior", "town", 9, (0, 260, 0), 0.30, 1200),
    Kind("junior", "rural", 9, (0, 100, 0), 0.35, 400),
    Kind("nine_year", "town", 1, (420, 240, 0), 0.25, 1200),
    Kind("nine_year", "rural", 3, (180, 110, 0), 0.30, 600),
    Kind("twelve_year", "urban", 1, (600, 420, 900), 0.15, 1200),
    Kind("complete_middle", "town", 1, (0, 450, 1100), 0.20, 1500),
    Kind("teaching_point", "rural", 6, (40, 0, 0), 0.50, 95),  # many under 50 pupils
    Kind("special", "urban", 1, (50, 26, 0), 0.10, 120),  # ~76 pupils, as in seed 003
)
KIND_TYPE = np.array([k.type for k in KINDS])
KIND_LOCALE = np.array([k.locale for k in KINDS])
KIND_STUDENTS = np.array([k.students for k in KINDS], dtype=float)
KIND_SIGMA = np.array([k.sigma for k in KINDS])
KIND_MAX = np.array([k.max_segment for k in KINDS], dtype=float)
LOCALES = ("urban", "town", "rural")

# Seed 003's county totals: the demo county is rescaled to them.
DEMO_TARGET_STUDENTS = {"primary": 13_600, "junior": 6_800}
DEMO_POPULATION = 360_000
DEMO_CITY = "示范市" + SYNTHETIC_LABEL
DEMO_PROVINCE = "示范省" + SYNTHETIC_LABEL
# Designated roles in the realistic demo county: (type, locale, how many schools of that kind).
DEMO_ROLES = {
    "weak": (("primary", "rural", 4), ("junior", "rural", 1)),
    "crowded": (("primary", "urban", 2), ("junior", "urban", 1)),
    "oversized": (("primary", "urban", 1),),  # more than 2,000 pupils (also crowded)
}
OVERSIZED_STUDENTS = (2050, 2300)

# Regions: a share of counties is ready (the passing profile); the others have weak, crowded
# and oversized schools at random, and some the junior sports-ground gap of the demo county.
REGION_PASSING_SHARE = 0.25
REGION_SPORTS_GAP_SHARE = 0.4  # of the counties that are not ready
# Probability of each role for a school of a kind that can have it, in a county not ready.
REGION_WEAK_P = 0.10  # rural primary / junior / nine-year schools
REGION_CROWDED_P = 0.30  # urban primary / junior schools
REGION_OVERSIZED_P = 0.08  # urban primary schools (implies crowded)
REGION_SIZE_SPREAD = (0.7, 1.3)  # a county's school count relative to schools_per_county

# Adequacy factors (value / threshold in the evaluation year), uniform ranges per locale,
# one column per resource of RESOURCES (national-2017's R1..R7). Realistic ordinary schools:
# county-town schools have qualified and backbone teachers and equipment but little space;
# village schools have space but older equipment.
REALISTIC_FACTORS = {
    #          R1            R2           R3            R4            R5            R6            R7
    "urban": ((1.05, 1.30), (1.5, 2.6), (1.05, 1.40), (1.05, 1.40), (1.02, 1.30), (1.40, 1.90), (1.00, 1.20)),
    "town": ((1.10, 1.50), (1.2, 2.2), (1.02, 1.30), (1.30, 2.00), (1.20, 2.00), (1.15, 1.60), (1.00, 1.30)),
    "rural": ((1.20, 1.80), (1.05, 1.8), (1.02, 1.30), (1.50, 2.60), (1.40, 2.60), (1.05, 1.40), (1.02, 1.50)),
}
# Junior schools' sports grounds in counties with a "sports gap": small sites in the county
# town, large ones in the villages, which puts the junior CV of the sports area (R5) over its
# limit (the realistic demo county has it).
REALISTIC_JUNIOR_SPORTS = {"urban": (1.00, 1.15), "town": (1.80, 2.60), "rural": (4.00, 6.00)}
# Weak rural schools: few backbone and PE/art teachers, little equipment (non-compliant units).
WEAK_FACTORS = ((1.00, 1.20), (0.2, 0.6), (0.20, 0.60), (1.20, 1.60), (1.30, 2.20), (0.60, 0.80), (0.80, 0.95))
CROWDED_SPORTS = (0.88, 0.97)  # crowded urban schools: sports area short, within the 85% floor
# Passing profile: every indicator met with margin; teacher ratios high enough that the
# one-teacher steps of tiny schools keep the CVs low.
PASSING_FACTORS = ((1.35, 1.60), (2.0, 2.6), (1.60, 2.00), (1.30, 1.55), (1.30, 1.55), (1.30, 1.55), (1.30, 1.55))

# Enrolment drift per year by locale (pupils move from villages to towns).
GROWTH = {"urban": (0.00, 0.04), "town": (-0.02, 0.02), "rural": (-0.06, -0.01)}
# Yearly investment: equipment value and multimedia rooms grow by this share per year.
INVESTMENT = {"equipment_value": (0.02, 0.08), "multimedia_classrooms": (0.00, 0.10)}
# Target class size (pupils per class) by locale; only crowded schools exceed the limits of G5
# (the largest class of other schools is kept within them).
CLASS_SIZE = {
    "primary": {"urban": (38, 43), "town": (30, 40), "rural": (16, 32)},
    "junior": {"urban": (44, 48), "town": (38, 46), "rural": (26, 40)},
}
CROWDED_CLASS_SIZE = {"primary": (46, 51), "junior": (50, 54)}
SMALL_CLASS_SIZE = (8, 18)  # teaching points and special schools
MIN_CLASSES = {"primary": 6, "junior": 3}  # one class per grade where pupils allow
TEACHING_POINT_MAX_CLASSES = 4
# Pupils per full-time teacher by locale (small schools need more teachers per pupil).
PUPIL_TEACHER = {
    "primary": {"urban": (16.0, 19.0), "town": (13.0, 16.0), "rural": (9.0, 12.0)},
    "junior": {"urban": (11.5, 13.5), "town": (10.0, 12.0), "rural": (8.0, 10.0)},
}
SMALL_PUPIL_TEACHER = {"teaching_point": (6.0, 10.0), "special": (3.0, 4.0)}
# 生均公用经费 per pupil per year (元); schools under 100 pupils are funded as 100 (G6).
PUBLIC_FUNDS_PER_STUDENT = {"primary": 650.0, "junior": 850.0, "senior": 1000.0}
SPECIAL_FUNDS_PER_STUDENT = 7000.0
SMALL_SCHOOL_FUNDED_AS = 100
TRAINING_SHARE = (0.052, 0.08)  # 教师培训经费 / 公用经费 (Q4 needs ≥ 5%)
ROOM_AREA = (1.0, 1.35)  # smallest music/art room area / the G3 minimum (96 / 90 m²)
SMALL_ROOM_AREA = (0.62, 0.9)  # weak schools: rooms too small, G3 fails
EXCELLENT_SHARE = 0.35  # 德育评价 优秀; the rest 良好
# 随迁子女占比 (%); at least 1, as the importer reads a percent between 0 and 1 as a mistyped fraction.
MIGRANT_SHARE = {"urban": (5.0, 35.0), "town": (2.0, 15.0), "rural": (1.0, 6.0)}
BUILD_YEAR = {"urban": (1995, 2021), "town": (1985, 2016), "rural": (1978, 2012)}

# National-monitoring subjects rotate over a three-year cycle.
QUALITY_CYCLE = (("数学", "体育"), ("语文", "艺术"), ("科学", "英语"))

# Invented place names for school names.
TOWNS = (
    "东岭", "西河", "南川", "北塬", "青石", "白水", "红岩", "柳泉", "杏林", "桃园", "松山", "梨川", "枣岭", "荷塘", "云峰",
)
VILLAGES = (
    "上庄", "下庄", "河东", "河西", "沟口", "岭后", "马坊", "王家", "李家", "张庄", "赵庄", "刘家", "陈家", "槐树",
    "柏树", "石门", "泉头",
)
CN_ORDINALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")
TYPE_SUFFIX = {
    "primary": "小学", "junior": "初级中学", "nine_year": "九年制学校", "twelve_year": "十二年一贯制学校",
    "complete_middle": "完全中学", "teaching_point": "教学点", "special": "特殊教育学校",
}


# --------------------------------------------------------------------------- standard rules


class UnsupportedStandard(ValueError):
    """The standard lacks a resource or rule the generator needs (its message says which)."""


# The rule kinds the generator reads besides the resources, as a message names them.
KIND_WORDS = {"school_rooms": "专用教室配备规则", "class_size": "班额规则", "school_size": "学校规模规则"}


@dataclass(frozen=True)
class RoomRule:
    rooms_field: str
    area_field: str
    min_area: float


@dataclass(frozen=True)
class _Rules:
    """What generation needs from the standard, as arrays."""

    thresholds: np.ndarray  # (7, 2): RESOURCES × primary, junior
    scale: np.ndarray  # (7,)
    weights: np.ndarray  # (3,): primary, junior, senior
    class_limit: dict[str, int]  # the class_size rule (G5)
    size_limit: dict[str, int]  # the school_size rule (G4), by school type
    classes_per_room: int  # the school_rooms rule (G3)
    min_rooms: int
    rooms: tuple[RoomRule, ...]


def generation_rules(std: Standard) -> _Rules:
    """The generator's rules from `std`: a unit-level indicator for each of RESOURCES (teachers
    per segment, facilities shared between segments, with primary and junior thresholds), one
    school_rooms, class_size and school_size rule each, and split weights of every segment.
    National-2017 and its provincial variants have them; any other standard is refused with
    UnsupportedStandard, naming what is missing."""
    by_resource = {ind.rule.resource: ind for ind in std.resource_indicators()}
    lacking = [resource for resource in RESOURCES if not _fits(by_resource.get(resource), resource)]
    kinds = {kind: std.indicators_of_kind(kind) for kind in ("school_rooms", "class_size", "school_size")}
    missing = []
    if lacking:
        missing.append("资源配置指标" + "、".join(f"“{_resource_name(r)}”" for r in lacking)
                       + "(读取同一数据字段,分小学、初中设定达标值)")
    missing += [KIND_WORDS[kind] for kind, found in kinds.items() if len(found) != 1]
    if len(kinds["class_size"]) == 1 and any(seg not in kinds["class_size"][0].rule.limits for seg in SEGMENTS[:2]):
        missing.append("小学和初中的班额上限")
    if any(seg not in std.split_weights for seg in SEGMENTS):
        missing.append("小学、初中和高中的折算权重")
    if missing:
        raise UnsupportedStandard(
            f"合成数据只能按{STANDARD_ID}(县域义务教育优质均衡发展督导评估办法)及沿用其资源配置和办学条件规则的"
            f"省级细则生成;标准“{std.name}”({std.id})缺少:{';'.join(missing)}。")
    inds = [by_resource[resource] for resource in RESOURCES]
    rooms = kinds["school_rooms"][0].rule
    return _Rules(
        thresholds=np.array([[ind.thresholds["primary"], ind.thresholds["junior"]] for ind in inds]),
        scale=np.array([ind.rule.scale for ind in inds]),
        weights=np.array([std.split_weights[s] for s in SEGMENTS]),
        class_limit=dict(kinds["class_size"][0].rule.limits),
        size_limit=dict(kinds["school_size"][0].rule.limits),
        classes_per_room=rooms.classes_per_room,
        min_rooms=rooms.min_rooms,
        rooms=tuple(RoomRule(room.rooms_field, room.area_field, room.min_area) for room in rooms.rooms.values()),
    )


def _fits(ind: Indicator | None, resource: str) -> bool:
    """`ind` reads `resource` the way the generator fills it, with primary and junior thresholds."""
    source = "segment" if resource in TEACHER_RESOURCES else "shared"
    return ind is not None and ind.rule.source == source and bool(ind.thresholds) \
        and all(seg in ind.thresholds for seg in SEGMENTS[:2])


def _resource_name(resource: str) -> str:
    """The name national-2017 gives the indicator that reads `resource` (生均教学仪器设备值)."""
    named = {ind.rule.resource: ind.name for ind in load_standard(STANDARD_ID).resource_indicators()}
    return named.get(resource, resource)


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    return generation_rules(load_standard(STANDARD_ID))


# --------------------------------------------------------------------------- rosters


def _uniform(rng: np.random.Generator, bounds: np.ndarray) -> np.ndarray:
    """One draw per row of `bounds` (…, 2): uniform between lo and hi."""
    return bounds[..., 0] + rng.random(bounds.shape[:-1]) * (bounds[..., 1] - bounds[..., 0])


def _by_locale(table: dict, locale: np.ndarray, segment: str | None = None) -> np.ndarray:
    """(n, 2) bounds looked up per school locale (in `table[segment]` when a segment is given)."""
    table = table[segment] if segment else table
    return np.array([table[loc] for loc in LOCALES], dtype=float)[_locale_codes(locale)]


def _locale_codes(locale: np.ndarray) -> np.ndarray:
    """Index into LOCALES (urban 0, town 1, rural 2)."""
    return (locale == "town") * 1 + (locale == "rural") * 2


def _draw_students(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    """(n, 3) students per segment in the evaluation year: lognormal around the kind's median."""
    median = KIND_STUDENTS[kind]
    noise = np.exp(rng.normal(0.0, 1.0, size=median.shape) * KIND_SIGMA[kind][:, None])
    students = np.minimum(np.round(median * noise), KIND_MAX[kind][:, None])
    return np.where(median > 0, np.maximum(students, 8), 0.0)


def _demo_roster(rng: np.random.Generator, profile: str) -> pd.DataFrame:
    kind = np.repeat(np.arange(len(KINDS)), [k.demo_count for k in KINDS])
    roster = pd.DataFrame({"county": 0, "kind": kind, "passing": profile == "passing",
                           "sports_gap": profile == "realistic"})
    rank = roster.groupby("kind").cumcount().to_numpy()
    for role, picks in DEMO_ROLES.items():
        flag = np.zeros(len(roster), dtype=bool)
        if profile == "realistic":
            for school_type, locale, count in picks:
                flag |= (kind == _kind_index(school_type, locale)) & (rank < count)
        roster[role] = flag
    students = _draw_students(rng, kind)
    students = _with_oversized(rng, students, roster["oversized"].to_numpy())
    return _assign_students(roster, _rescale_demo(students, roster))


def _rescale_demo(students: np.ndarray, roster: pd.DataFrame) -> np.ndarray:
    """Scale ordinary schools so that county totals match seed 003's (13,600 / 6,800)."""
    kind = roster["kind"].to_numpy()
    fixed = np.isin(KIND_TYPE[kind], ["teaching_point", "special"]) | roster["oversized"].to_numpy()
    out = students.copy()
    for col, segment in enumerate(("primary", "junior")):
        target = DEMO_TARGET_STUDENTS[segment] - students[fixed, col].sum()
        factor = target / students[~fixed, col].sum()
        out[~fixed, col] = np.minimum(np.round(students[~fixed, col] * factor), KIND_MAX[kind[~fixed]])
    return out


def _with_oversized(rng: np.random.Generator, students: np.ndarray, oversized: np.ndarray) -> np.ndarray:
    out = students.copy()
    out[oversized, 0] = rng.integers(*OVERSIZED_STUDENTS, size=oversized.sum(), endpoint=True)
    return out


def _assign_students(roster: pd.DataFrame, students: np.ndarray) -> pd.DataFrame:
    for col, segment in enumerate(SEGMENTS):
        roster[f"n_{segment}"] = students[:, col]
    return roster


def _region_roster(rng: np.random.Generator, n_counties: int, schools_per_county: int) -> pd.DataFrame:
    """Each county: one special school, one township central primary school and one township
    junior school, the rest drawn from the demo county's mix; readiness and roles at random."""
    low, high = REGION_SIZE_SPREAD
    sizes = np.maximum(np.round(schools_per_county * rng.uniform(low, high, n_counties)), 4).astype(int)
    county = np.repeat(np.arange(n_counties), sizes)
    weights = np.array([k.demo_count if k.type != "special" else 0 for k in KINDS], dtype=float)
    kind = rng.choice(len(KINDS), size=len(county), p=weights / weights.sum())
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    kind[starts] = _kind_index("special", "urban")
    kind[starts + 1] = _kind_index("primary", "town")
    kind[starts + 2] = _kind_index("junior", "town")
    order = np.lexsort((kind, county))  # schools of a county together, by kind
    county, kind = county[order], kind[order]
    ready = rng.random(n_counties) < REGION_PASSING_SHARE
    gap = ~ready & (rng.random(n_counties) < REGION_SPORTS_GAP_SHARE)
    roster = pd.DataFrame({"county": county, "kind": kind, "passing": ready[county], "sports_gap": gap[county]})
    ktype, klocale = KIND_TYPE[kind], KIND_LOCALE[kind]
    draw = rng.random((3, len(roster))) + ready[county]  # ≥ 1 in ready counties: no roles there
    urban_ordinary = (klocale == "urban") & np.isin(ktype, ["primary", "junior"])
    roster["oversized"] = (ktype == "primary") & (klocale == "urban") & (draw[0] < REGION_OVERSIZED_P)
    roster["crowded"] = roster["oversized"] | (urban_ordinary & (draw[1] < REGION_CROWDED_P))
    roster["weak"] = (klocale == "rural") & np.isin(ktype, ["primary", "junior", "nine_year"]) & (
        draw[2] < REGION_WEAK_P
    )
    students = _with_oversized(rng, _draw_students(rng, kind), roster["oversized"].to_numpy())
    return _assign_students(roster, students)


def _kind_index(school_type: str, locale: str) -> int:
    return next(i for i, k in enumerate(KINDS) if k.type == school_type and k.locale == locale)



# --------------------------------------------------------------------------- school_year


@dataclass(frozen=True)
class _Schools:
    """Per-school attributes, drawn once and shared by all years (arrays of length n)."""

    kind: np.ndarray
    type: np.ndarray
    locale: np.ndarray
    weak: np.ndarray
    crowded: np.ndarray
    oversized: np.ndarray
    passing: np.ndarray  # the school's county follows the passing profile
    sports_gap: np.ndarray  # ... has the junior sports-ground gap
    students: np.ndarray  # (n, 3) per segment in the evaluation year
    has: np.ndarray  # (n, 3) the school type has the segment

    @classmethod
    def of(cls, roster: pd.DataFrame) -> _Schools:
        kind = roster["kind"].to_numpy()
        return cls(
            kind=kind,
            type=KIND_TYPE[kind],
            locale=KIND_LOCALE[kind],
            weak=roster["weak"].to_numpy(),
            crowded=roster["crowded"].to_numpy(),
            oversized=roster["oversized"].to_numpy(),
            passing=roster["passing"].to_numpy(),
            sports_gap=roster["sports_gap"].to_numpy(),
            students=roster[[f"n_{s}" for s in SEGMENTS]].to_numpy(dtype=float),
            has=KIND_STUDENTS[kind] > 0,
        )

    def __len__(self) -> int:
        return len(self.kind)


@dataclass(frozen=True)
class _Rows:
    """The (school, year) rows: school index and years before the evaluation year (negative
    for a year after it: the year in progress)."""

    school: np.ndarray
    year: np.ndarray
    back: np.ndarray
    n_years: int
    anchor: int  # index of the evaluation year among the years

    @classmethod
    def of(cls, n_schools: int, years: tuple[int, ...], evaluation_year: int) -> _Rows:
        ordered = np.array(sorted(set(years)))
        year = np.tile(ordered, n_schools)
        anchor = int(np.searchsorted(ordered, evaluation_year))
        return cls(np.repeat(np.arange(n_schools), len(ordered)), year, evaluation_year - year, len(ordered), anchor)

    def per_school(self, values: np.ndarray) -> np.ndarray:
        """(n_schools, n_years, ...) view of a per-row array."""
        return values.reshape(-1, self.n_years, *values.shape[1:])


def _draw_factors(rng: np.random.Generator, sch: _Schools) -> np.ndarray:
    """(n, 7) adequacy factors of RESOURCES (value / threshold in the evaluation year)."""
    codes = _locale_codes(sch.locale)
    bounds = np.array([REALISTIC_FACTORS[loc] for loc in LOCALES])[codes]
    gap = sch.sports_gap & (sch.type == "junior")
    sports = RESOURCES.index(SPORTS_AREA)
    bounds[gap, sports] = np.array([REALISTIC_JUNIOR_SPORTS[loc] for loc in LOCALES])[codes[gap]]
    bounds[sch.crowded, sports] = CROWDED_SPORTS
    bounds[sch.weak] = WEAK_FACTORS
    bounds[sch.passing] = PASSING_FACTORS
    return _uniform(rng, bounds)


def _students_by_year(rng: np.random.Generator, sch: _Schools, rows: _Rows) -> np.ndarray:
    """(rows, 3) students per segment: the evaluation year's, drifted back year by year (and
    on to a year in progress)."""
    growth = _uniform(rng, _by_locale(GROWTH, sch.locale))[rows.school]
    base = sch.students[rows.school]
    drifted = np.round(base * (1 + growth[:, None]) ** (-rows.back[:, None]))
    cap = np.where(sch.oversized, np.inf, KIND_MAX[sch.kind])[rows.school]
    students = np.where(base > 0, np.clip(drifted, 8, cap[:, None]), 0.0)
    # passing counties stay clear of the school-size limit (G4) in every year
    limits = _rules().size_limit
    limit = np.array([limits.get(t, np.inf) for t in KIND_TYPE], dtype=float)[sch.kind] * 0.95
    limit = np.where(sch.passing, limit, np.inf)[rows.school]
    shrink = np.minimum(1.0, limit / np.maximum(students[:, 0] + students[:, 1], 1))
    students[:, :2] = np.floor(students[:, :2] * shrink[:, None])
    return students


def _class_fields(rng: np.random.Generator, sch: _Schools, rows: _Rows, n: np.ndarray, segment: str) -> dict:
    """Classes, largest class and oversize count of one segment (NaN where the school has none)."""
    limit = _rules().class_limit[segment]
    bounds = _by_locale(CLASS_SIZE, sch.locale, segment)
    bounds[sch.crowded] = CROWDED_CLASS_SIZE[segment]
    small = np.isin(sch.type, ["teaching_point", "special"])
    bounds[small] = SMALL_CLASS_SIZE
    target = _uniform(rng, bounds)[rows.school]
    crowded, teaching_point = sch.crowded[rows.school], (sch.type == "teaching_point")[rows.school]

    safe_n = np.maximum(n, 1)
    classes = np.maximum(np.ceil(safe_n / target), np.minimum(MIN_CLASSES[segment], np.ceil(safe_n / 6)))
    classes = np.where(crowded, np.maximum(np.floor(safe_n / target), 1), classes)  # average ≥ target
    classes = np.where(teaching_point, np.clip(np.ceil(safe_n / target), 1, TEACHING_POINT_MAX_CLASSES), classes)
    average = safe_n / classes
    spread = np.where(crowded, rng.integers(1, 6, len(n)), rng.integers(0, 4, len(n)))
    largest = np.ceil(average) + spread
    largest = np.where(crowded, largest, np.maximum(np.ceil(average), np.minimum(largest, limit)))
    largest = np.minimum(largest, safe_n - classes + 1)  # every other class has a pupil at least

    above = average > limit  # most classes are oversized
    share = np.where(above, rng.uniform(0.5, 1.0, len(n)), rng.uniform(0.1, 0.5, len(n)))
    count = np.clip(np.round(classes * share), 1, np.where(above, classes, np.maximum(classes - 1, 1)))
    oversize = np.where(largest > limit, count, 0.0)
    present = n > 0
    return {
        f"classes_{segment}": np.where(present, classes, np.nan),
        f"max_class_size_{segment}": np.where(present, largest, np.nan),
        f"oversize_classes_{segment}": np.where(present, oversize, np.nan),
    }


def _teacher_fields(
    rng: np.random.Generator, sch: _Schools, rows: _Rows, n: np.ndarray, classes: np.ndarray,
    segment: str, factors: np.ndarray,
) -> dict:
    """Full-time teachers of one segment and the TEACHER_RESOURCES subsets (NaN where the school
    has none)."""
    column, count = SEGMENTS.index(segment), len(TEACHER_RESOURCES)
    rules = _rules()
    needed = factors[rows.school, :count] * rules.thresholds[:count, column] * n[:, None] / rules.scale[:count]
    counts = np.where(sch.weak[rows.school, None], np.floor(needed), np.ceil(needed - 1e-9))
    bounds = _by_locale(PUPIL_TEACHER, sch.locale, segment)
    for school_type, ratio in SMALL_PUPIL_TEACHER.items():
        bounds[sch.type == school_type] = ratio
    pupils_per_teacher = _uniform(rng, bounds)[rows.school]
    teachers = np.maximum.reduce([np.ceil(n / pupils_per_teacher), np.nan_to_num(classes), counts.max(axis=1)])
    present = n > 0
    out = {f"teachers_{segment}": teachers, f"certified_teachers_{segment}": teachers}
    out.update({f"{resource}_{segment}": counts[:, i] for i, resource in enumerate(TEACHER_RESOURCES)})
    return {key: np.where(present, value, np.nan) for key, value in out.items()}


def _facility_fields(rng: np.random.Generator, sch: _Schools, rows: _Rows, students: np.ndarray, factors: np.ndarray) -> dict:
    """School-wide facilities (FACILITY_RESOURCES). Areas stay fixed over the years; equipment and
    multimedia rooms grow with investment. Ordinary schools meet their factor in every year; designated
    shortfalls (weak schools, crowded schools' sports area) are as designed in the evaluation year."""
    rules = _rules()
    idx = [RESOURCES.index(r) for r in FACILITY_RESOURCES]
    per_weight = rules.thresholds[idx] / rules.weights[:2]  # (4, 2) threshold / w by segment
    need = np.where(sch.has[:, None, :2], per_weight[None], 0.0).max(axis=2)  # (n, 4)
    rate = factors[:, idx] * need

    weighted = students @ rules.weights
    weighted_last = rows.per_school(weighted)[:, rows.anchor]
    invest = np.zeros((len(sch), len(FACILITY_RESOURCES)))
    for i, resource in enumerate(FACILITY_RESOURCES):
        if resource in INVESTMENT:
            invest[:, i] = rng.uniform(*INVESTMENT[resource], len(sch))
    growth = (1 - invest[rows.school]) ** rows.back[:, None]
    relative = weighted_last[rows.school, None] / np.maximum(weighted, 1)[:, None] * growth  # value vs last year
    worst = rows.per_school(relative).min(axis=1)
    anchor_last = sch.weak[:, None] | (sch.crowded[:, None] & (np.array(FACILITY_RESOURCES) == SPORTS_AREA))
    rate = rate / np.where(anchor_last, 1.0, worst)

    amount = (rate * weighted_last[:, None])[rows.school] * growth / rules.scale[idx]
    out = {}
    for i, resource in enumerate(FACILITY_RESOURCES):
        if resource in FACILITY_ROUNDING:
            value = np.round(amount[:, i], FACILITY_ROUNDING[resource])
        else:
            value = np.where(sch.weak[rows.school], np.floor(amount[:, i]), np.ceil(amount[:, i] - 1e-9))
        out[resource] = value
    return out


def _room_fields(rng: np.random.Generator, sch: _Schools, rows: _Rows, classes_total: np.ndarray) -> dict:
    """The special rooms of the school_rooms rule (G3: music and art rooms): enough for the most
    classes of any year, with normal areas, except weak schools (small rooms) and oversized
    schools (one room short). Teaching points have none."""
    rules = _rules()
    needed = np.maximum(rules.min_rooms, np.ceil(classes_total / rules.classes_per_room))
    most = rows.per_school(needed).max(axis=1)
    last = rows.per_school(needed)[:, rows.anchor]
    out = {}
    for room in rules.rooms:
        rooms = most + (rng.random(len(sch)) < 0.3)
        rooms = np.where(sch.oversized, np.maximum(last - 1, 1), rooms)
        ratio = np.where(sch.weak, rng.uniform(*SMALL_ROOM_AREA, len(sch)), rng.uniform(*ROOM_AREA, len(sch)))
        area = np.ceil(ratio * room.min_area * 10) / 10
        none = sch.type == "teaching_point"
        out[room.rooms_field] = np.where(none, 0.0, rooms)[rows.school]
        out[room.area_field] = np.where(none, np.nan, area)[rows.school]
    return out


def _funding_fields(rng: np.random.Generator, sch: _Schools, rows: _Rows, students: np.ndarray) -> dict:
    """公用经费 by the per-pupil norms (small schools funded as 100 pupils), 培训经费 ≥ 5%."""
    norm = students @ np.array([PUBLIC_FUNDS_PER_STUDENT[s] for s in SEGMENTS])
    compulsory = students[:, 0] + students[:, 1]
    norm = np.where(compulsory < SMALL_SCHOOL_FUNDED_AS, norm * SMALL_SCHOOL_FUNDED_AS / np.maximum(compulsory, 1), norm)
    special = (sch.type == "special")[rows.school]
    norm = np.where(special, students.sum(axis=1) * SPECIAL_FUNDS_PER_STUDENT, norm)
    public = np.round(norm * rng.uniform(1.0, 1.15, len(sch))[rows.school], -2)
    training = np.ceil(public * rng.uniform(*TRAINING_SHARE, len(sch))[rows.school])
    return {"public_funds": public, "training_funds": training}


def _school_year_frame(
    rng: np.random.Generator, roster: pd.DataFrame, school_ids: np.ndarray, years: tuple[int, ...],
    evaluation_year: int,
) -> pd.DataFrame:
    sch, rows = _Schools.of(roster), _Rows.of(len(roster), years, evaluation_year)
    factors = _draw_factors(rng, sch)
    students = _students_by_year(rng, sch, rows)
    cols: dict[str, np.ndarray] = {"school_id": school_ids[rows.school], "year": rows.year}
    for j, segment in enumerate(SEGMENTS):
        cols[f"students_{segment}"] = np.where(sch.has[rows.school, j], students[:, j], np.nan)
    classes_total = np.zeros(len(rows.school))
    for j, segment in enumerate(SEGMENTS[:2]):
        n = np.where(sch.has[rows.school, j], students[:, j], 0.0)
        classes = _class_fields(rng, sch, rows, n, segment)
        cols.update(classes)
        cols.update(_teacher_fields(rng, sch, rows, n, classes[f"classes_{segment}"], segment, factors))
        classes_total += np.nan_to_num(classes[f"classes_{segment}"])
    cols.update(_facility_fields(rng, sch, rows, students, factors))
    cols.update(_room_fields(rng, sch, rows, classes_total))
    cols.update(_funding_fields(rng, sch, rows, students))
    cols["has_charter"] = np.ones(len(rows.school), dtype=bool)
    excellent = rng.random(len(sch)) < EXCELLENT_SHARE
    cols["moral_rating"] = np.where(excellent, "excellent", "good")[rows.school]
    cols["migrant_share"] = np.round(_uniform(rng, _by_locale(MIGRANT_SHARE, sch.locale)), 1)[rows.school]
    return pd.DataFrame(cols)


# --------------------------------------------------------------------------- schools and counties


def _ordinal(k: np.ndarray) -> np.ndarray:
    """一, 二, … 十, then 11, 12, … (k counts from 0)."""
    return np.where(k < len(CN_ORDINALS), np.array(CN_ORDINALS)[np.minimum(k, len(CN_ORDINALS) - 1)], (k + 1).astype(str))


def _cat(*parts) -> np.ndarray:
    out = np.asarray(parts[0], dtype=str)
    for part in parts[1:]:
        out = np.char.add(out, np.asarray(part, dtype=str))
    return out


def _school_names(roster: pd.DataFrame, county_prefix: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """County-town schools 城区第一小学 …, township schools 东岭镇中心小学 …, village schools
    东岭镇上庄村小学 …; a teaching point is named after its central school's township."""
    kind = roster["kind"].to_numpy()
    stype, locale = KIND_TYPE[kind], KIND_LOCALE[kind]
    k = roster.groupby(["county", "kind"]).cumcount().to_numpy()
    suffix = np.array([TYPE_SUFFIX[t] for t in KIND_TYPE])[kind]
    towns, villages = np.array(TOWNS), np.array(VILLAGES)
    # a teaching point takes the township of its central school (a township primary school)
    town_k = np.where(parent >= 0, k[np.maximum(parent, 0)], k)
    town = np.char.add(towns[town_k % len(TOWNS)], "镇")
    numbered = np.isin(stype, ["primary", "junior"]) | (k > 0)  # 城区第一小学; 城区完全中学
    urban = np.where(numbered, _cat("城区第", _ordinal(k), suffix), _cat("城区", suffix))
    township = _cat(town, np.where(k < len(TOWNS), "", _cat("第", _ordinal(k // len(TOWNS)))),
                    np.where((stype == "primary") & (k < len(TOWNS)), "中心小学", suffix))
    village_k = np.where(parent >= 0, k + 7, k)
    village = _cat(town, villages[village_k % len(VILLAGES)], "村", suffix)
    names = np.where(locale == "urban", urban, np.where(locale == "town", township, village))
    names = np.where(stype == "special", suffix, names)
    return _cat(county_prefix[roster["county"].to_numpy()], names)


def _parents(roster: pd.DataFrame) -> np.ndarray:
    """Row of each teaching point's central school (a township primary school of its county,
    in turn), -1 for other schools. Rosters are sorted by county, so a county's township
    primary schools are contiguous."""
    county, kind = roster["county"].to_numpy(), roster["kind"].to_numpy()
    central = np.flatnonzero(kind == _kind_index("primary", "town"))
    first = np.searchsorted(county[central], county)  # each row's county: its first central school
    count = np.searchsorted(county[central], county, side="right") - first
    rank = roster.groupby(["county", "kind"]).cumcount().to_numpy()
    parent = central[np.minimum(first + rank % np.maximum(count, 1), len(central) - 1)]
    teaching_point = kind == _kind_index("teaching_point", "rural")
    return np.where(teaching_point & (count > 0), parent, -1)


def _schools_frame(
    rng: np.random.Generator, roster: pd.DataFrame, codes: np.ndarray, names: np.ndarray
) -> pd.DataFrame:
    county = roster["county"].to_numpy()
    kind = roster["kind"].to_numpy()
    stype, locale = KIND_TYPE[kind], KIND_LOCALE[kind]
    number = roster.groupby("county").cumcount().to_numpy() + 1
    school_id = _cat(codes[county], np.char.zfill(number.astype(str), 4))
    parent = _parents(roster)
    prefix = np.array([name.removesuffix(SYNTHETIC_LABEL) for name in names])
    compulsory = roster["n_primary"].to_numpy() + roster["n_junior"].to_numpy()
    build = _by_locale(BUILD_YEAR, locale)
    return pd.DataFrame({
        "school_id": school_id,
        "school_name": _school_names(roster, prefix, parent),
        "county_code": codes[county],
        "county_name": names[county],
        "school_type": stype,
        "locale": locale,
        "ownership": "public",
        "boarding": (locale == "rural") & np.isin(stype, ["junior", "nine_year"]) | (stype == "special"),
        "parent_school_id": np.where(parent >= 0, school_id[np.maximum(parent, 0)], None),
        "build_year": np.floor(_uniform(rng, build)).astype(int),
        "rural_small": (locale == "rural") & (compulsory < 100) & (stype != "special"),
        "high_density_city": roster["crowded"].to_numpy(),
    })


# County-level values (G, Q, S): uniform ranges per county profile; flags are always true and
# veto flags false. "realistic" fails G11 (too few backbone teachers among those rotated).
COUNTY_RANGES = {
    "realistic": {
        "special_ed_funding_per_student": (6200, 7500),
        "salary_ratio": (1.01, 1.06),  # teacher / civil servant average salary
        "nearby_enrollment_rate_town": (95.5, 99.0),
        "hs_quota_ratio": (55, 80),
        "migrant_public_ratio": (88, 97),
        "junior_consolidation_rate": (96, 99.5),
        "disabled_enrollment_rate": (95.5, 98),
        "social_recognition_rate": (87, 91),
        "rotation_eligible_share": (0.30, 0.45),  # of full-time teachers
        "rotated_share": (0.11, 0.16),  # of eligible teachers (G11 ≥ 10%)
        "rotated_backbone_share": (0.14, 0.18),  # of rotated teachers (G11 ≥ 20%: fails)
        "diff_rate": (0.06, 0.14),
    },
    "passing": {  # also clear of the provincial variants (shandong: G7 ≥ 8000, Q2 ≥ 98)
        "special_ed_funding_per_student": (8500, 9500),
        "salary_ratio": (1.03, 1.08),
        "nearby_enrollment_rate_town": (100, 100),
        "hs_quota_ratio": (70, 85),
        "migrant_public_ratio": (95, 99),
        "junior_consolidation_rate": (99, 100),
        "disabled_enrollment_rate": (98.5, 99.5),
        "social_recognition_rate": (92, 92),
        "rotation_eligible_share": (0.30, 0.45),
        "rotated_share": (0.12, 0.16),
        "rotated_backbone_share": (0.24, 0.32),
        "diff_rate": (0.04, 0.12),
    },
}
# Region counties that are not ready: some meet G11 and some do not.
COUNTY_RANGES["region"] = {**COUNTY_RANGES["realistic"], "rotated_backbone_share": (0.12, 0.35)}
CIVIL_SERVANT_SALARY = (70_000, 95_000)  # 元 per year in the evaluation year
SALARY_GROWTH = 0.03
LEVEL_CHOICES, LEVEL_P = np.array([3, 4]), np.array([0.6, 0.4])
COUNTY_FLAGS = (
    "layout_reasonable", "four_unified", "small_school_funding_ok", "staffing_coordinated", "hs_quota_rural_tilt",
    "left_behind_care", "informatization", "teachers_ict_proficient", "curriculum_complete", "no_excess_burden",
)
VETO_FLAGS = ("veto_exam_admission", "veto_school_choice", "veto_key_schools", "veto_major_incident", "veto_fraud")


def _county_bounds(profiles: np.ndarray, key: str, n_years: int) -> np.ndarray:
    """(counties × years, 2): the range of `key` in each county's profile, for every year."""
    names = pd.Index(list(COUNTY_RANGES))
    table = np.array([COUNTY_RANGES[name][key] for name in names], dtype=float)
    return np.repeat(table[names.get_indexer(profiles)], n_years, axis=0)


def _county_year_frame(
    rng: np.random.Generator, codes: np.ndarray, profiles: np.ndarray, years: np.ndarray, teachers: np.ndarray,
    evaluation_year: int,
) -> pd.DataFrame:
    """One row per county and year; `profiles` names each county's COUNTY_RANGES, `teachers`
    is (counties, years) full-time teachers."""
    n, n_years = len(codes), len(years)

    def draw(key: str, decimals: int | None = None) -> np.ndarray:
        values = _uniform(rng, _county_bounds(profiles, key, n_years))
        return values if decimals is None else np.round(values, decimals)

    back = evaluation_year - np.tile(years, n)
    civil = np.round(np.repeat(rng.uniform(*CIVIL_SERVANT_SALARY, n), n_years) * (1 + SALARY_GROWTH) ** (-back), -2)
    eligible = np.round(teachers.ravel() * draw("rotation_eligible_share"))
    rotated = np.ceil(eligible * draw("rotated_share"))
    backbone = rotated * draw("rotated_backbone_share")
    backbone = np.where(backbone >= 0.2 * rotated, np.ceil(backbone), np.floor(backbone))  # keep the side of 20%
    cols = {
        "county_code": np.repeat(codes, n_years),
        "year": np.tile(years, n),
        "special_ed_funding_per_student": draw("special_ed_funding_per_student", -1),
        "teacher_avg_salary": np.round(civil * draw("salary_ratio"), -2),
        "civil_servant_avg_salary": civil,
        "training_completion_rate": 100.0,
        "rotation_eligible_teachers": eligible,
        "rotated_teachers": rotated,
        "rotated_backbone_teachers": backbone,
        "certified_rate": 100.0,
        "nearby_enrollment_rate_urban": 100.0,
        "nearby_enrollment_rate_town": draw("nearby_enrollment_rate_town", 1),
        "hs_quota_ratio": draw("hs_quota_ratio", 0),
        "migrant_public_ratio": draw("migrant_public_ratio", 1),
        "junior_consolidation_rate": draw("junior_consolidation_rate", 1),
        "disabled_enrollment_rate": draw("disabled_enrollment_rate", 1),
        "social_recognition_rate": draw("social_recognition_rate", 1),
    }
    cols.update({flag: True for flag in COUNTY_FLAGS})
    cols.update({flag: False for flag in VETO_FLAGS})
    return pd.DataFrame(cols)


def _quality_frame(rng: np.random.Generator, codes: np.ndarray, profiles: np.ndarray, years: np.ndarray) -> pd.DataFrame:
    """National quality monitoring: each year's subjects of the three-year cycle, per county."""
    subjects = [(year, subject) for year in years for subject in QUALITY_CYCLE[year % len(QUALITY_CYCLE)]]
    size = len(codes) * len(subjects)
    diff_rate = _uniform(rng, _county_bounds(profiles, "diff_rate", len(subjects)))
    return pd.DataFrame({
        "county_code": np.repeat(codes, len(subjects)),
        "year": np.tile([y for y, _ in subjects], len(codes)),
        "subject": np.tile([s for _, s in subjects], len(codes)),
        "level": rng.choice(LEVEL_CHOICES, size=size, p=LEVEL_P),
        "inter_school_diff_rate": np.round(diff_rate, 3),
    })


def _teachers_by_county_year(roster: pd.DataFrame, school_year: pd.DataFrame, n_counties: int, n_years: int) -> np.ndarray:
    county = np.repeat(roster["county"].to_numpy(), n_years)
    year_index = np.tile(np.arange(n_years), len(roster))
    teachers = school_year[["teachers_primary", "teachers_junior"]].fillna(0).sum(axis=1).to_numpy()
    totals = np.bincount(county * n_years + year_index, weights=teachers, minlength=n_counties * n_years)
    return totals.reshape(n_counties, n_years)


def _assemble(
    rng: np.random.Generator, roster: pd.DataFrame, counties: pd.DataFrame, profiles: np.ndarray,
    years: tuple[int, ...], source: str, evaluation_year: int | None = None,
) -> Dataset:
    """All tables, every year complete; `profiles` names each county's COUNTY_RANGES. The
    designed figures are those of `evaluation_year` (default: the last year)."""
    codes, names = counties["county_code"].to_numpy(), counties["county_name"].to_numpy()
    ordered = np.array(sorted(set(years)))
    evaluation_year = int(ordered[-1]) if evaluation_year is None else evaluation_year
    schools = _schools_frame(rng, roster, codes, names)
    school_year = _school_year_frame(rng, roster, schools["school_id"].to_numpy(), tuple(ordered), evaluation_year)
    teachers = _teachers_by_county_year(roster, school_year, len(codes), len(ordered))
    return Dataset.from_frames(
        source=source,
        synthetic=True,
        schools=schools,
        school_year=school_year,
        counties=counties,
        county_year=_county_year_frame(rng, codes, profiles, ordered, teachers, evaluation_year),
        quality=_quality_frame(rng, codes, profiles, ordered),
    )


def _labelled(name: str) -> str:
    return name if SYNTHETIC_LABEL in name else name + SYNTHETIC_LABEL


# --------------------------------------------------------------------------- public API


def demo_years(today: date | None = None) -> tuple[tuple[int, ...], int]:
    """The demo county's complete school years and its year in progress, relative to `today`
    (Beijing time by default): 2026-12-01 → ((2023, 2024, 2025), 2026)."""
    current = current_school_year(today)
    return tuple(range(current - DEMO_COMPLETE_YEARS, current)), current


def generate_county(
    seed: int = 2024,
    *,
    county_code: str = "140599",
    county_name: str = "示范县(合成数据)",
    today: date | None = None,
    years: tuple[int, ...] | None = None,
    profile: str = "realistic",
) -> Dataset:
    """A synthetic demo county on the scale of seed 003 (阳城县): 44 primary schools with about
    13,600 primary pupils in all, 21 junior schools with about 6,800 junior pupils, one
    special school, four nine-year schools, one twelve-year and one complete middle school and
    six teaching points. Deterministic for a seed and a school year of `today`.

    Without `years` the county is alive relative to `today` (default: today, Beijing time):
    three complete school years and the current one in progress (about 40% of the schools
    have a row, no county-level or quality rows; see `demo_years` and the module docstring).
    With `years`, every year given is complete (and `today` must not be given).

    profile="realistic" fails a believable handful of items in the evaluation year (the last
    complete one) by design (see the module docstring); profile="passing" meets every
    indicator with margin in every year.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {PROFILES}")
    if years is not None and today is not None:
        raise ValueError("give the years or today, not both")
    if years is None:
        complete, in_progress = demo_years(today)
    elif not years:
        raise ValueError("years must not be empty")
    else:
        complete, in_progress = tuple(sorted(set(years))), None
    rng = np.random.default_rng(seed)
    roster = _demo_roster(rng, profile)
    counties = pd.DataFrame({
        "county_code": [county_code],
        "county_name": [_labelled(county_name)],
        "city": [DEMO_CITY],
        "province": [DEMO_PROVINCE],
        "standard": [STANDARD_ID],
        "basic_balance_year": [2014],
        "target_year": [2026],
        "resident_population": [int(round(DEMO_POPULATION * rng.uniform(0.98, 1.02), -2))],
    })
    source = f"synthetic:county seed={seed} profile={profile}"
    if in_progress is None:
        return _assemble(rng, roster, counties, np.array([profile]), complete, source)
    source += f" in_progress={in_progress}"
    dataset = _assemble(rng, roster, counties, np.array([profile]), (*complete, in_progress), source,
                        evaluation_year=complete[-1])
    return _in_progress(rng, dataset, in_progress)


def _in_progress(rng: np.random.Generator, dataset: Dataset, year: int) -> Dataset:
    """Leave `year` as a year being filled in: rows of IN_PROGRESS_SHARE of the schools (drawn
    at random), no county-level and no quality rows yet."""
    sy = dataset.school_year
    ids = dataset.schools["school_id"].to_numpy()
    entered = set(rng.permutation(ids)[: round(IN_PROGRESS_SHARE * len(ids))])
    keep = (sy["year"] != year) | sy["school_id"].isin(entered)
    dataset.school_year = sy[keep].reset_index(drop=True)
    dataset.county_year = dataset.county_year[dataset.county_year["year"] != year].reset_index(drop=True)
    dataset.quality = dataset.quality[dataset.quality["year"] != year].reset_index(drop=True)
    return dataset


def in_progress_states(school_ids, year: int, seed: int = 0) -> dict[str, str]:
    """How the rows of a year in progress stand in the demo store: school_id → approved,
    submitted or draft (IN_PROGRESS_STATES), drawn at random, deterministic for the schools,
    the year and the seed."""
    ids = sorted(str(i) for i in school_ids)
    order = np.random.default_rng([seed, year]).permutation(len(ids))
    states = np.full(len(ids), "draft", dtype=object)
    start = 0
    for state, share in IN_PROGRESS_STATES:
        count = round(share * len(ids))
        states[order[start:start + count]] = state
        start += count
    return dict(zip(ids, states.tolist()))


CITIES_PER_PROVINCE = 11  # about 333 cities in 31 provinces
COUNTIES_PER_CITY = 9  # about 2,850 counties in 333 cities
MAX_CODE_PART = 99  # two digits each for the city and the county in a 6-digit code


def generate_region(
    n_counties: int,
    seed: int = 7,
    *,
    schools_per_county: int = 72,
    year: int = 2024,
    n_cities: int | None = None,
) -> Dataset:
    """A synthetic city, province or nation of `n_counties` counties (about
    `schools_per_county` schools each, a mix of school types like the demo county), one year.

    About a quarter of the counties are ready (the passing profile); the others have weak,
    crowded and oversized schools at random, some the junior sports-ground gap, some too few
    backbone teachers among those rotated, so verdicts and failed items vary between counties.
    Codes are province(2) city(2) county(2); cities hold about 9 counties (`n_cities` to set
    their number), provinces about 11 cities. Fully vectorised: 2,900 counties (≈ 210,000
    schools) generate in about two seconds."""
    if n_counties < 1:
        raise ValueError("n_counties must be at least 1")
    rng = np.random.default_rng(seed)
    roster = _region_roster(rng, n_counties, schools_per_county)
    counties = _region_counties(rng, roster, n_counties, n_cities)
    ready = roster.groupby("county")["passing"].first().to_numpy()
    source = f"synthetic:region counties={n_counties} seed={seed}"
    return _assemble(rng, roster, counties, np.where(ready, "passing", "region"), (year,), source)


def _region_counties(rng: np.random.Generator, roster: pd.DataFrame, n_counties: int, n_cities: int | None) -> pd.DataFrame:
    """Counties grouped evenly into cities and cities into provinces, with 6-digit codes
    province(2) city(2) county(2)."""
    n_cities = n_cities or max(1, round(n_counties / COUNTIES_PER_CITY))
    n_cities = min(n_cities, n_counties)
    n_provinces = math.ceil(n_cities / CITIES_PER_PROVINCE)
    if math.ceil(n_counties / n_cities) > MAX_CODE_PART or n_provinces > MAX_CODE_PART - 10:
        raise ValueError("too many counties per city (at most 99) or too many cities for 6-digit codes")
    i = np.arange(n_counties)
    city = i * n_cities // n_counties
    county_in_city = i - np.searchsorted(city, city)
    cities = np.arange(n_cities)
    province_of_city = cities * n_provinces // n_cities
    city_in_province = (cities - np.searchsorted(province_of_city, province_of_city))[city]
    province = province_of_city[city]
    codes = _cat(
        np.char.zfill((11 + province).astype(str), 2),
        np.char.zfill((city_in_province + 1).astype(str), 2),
        np.char.zfill((county_in_city + 1).astype(str), 2),
    )
    students = np.bincount(roster["county"], weights=roster["n_primary"] + roster["n_junior"], minlength=n_counties)
    return pd.DataFrame({
        "county_code": codes,
        "county_name": _cat("合成县", np.char.zfill((i + 1).astype(str), 4), SYNTHETIC_LABEL),
        "city": _cat("合成市", np.char.zfill((city + 1).astype(str), 3), SYNTHETIC_LABEL),
        "province": _cat("合成省", np.char.zfill((province + 1).astype(str), 2), SYNTHETIC_LABEL),
        "standard": STANDARD_ID,
        "basic_balance_year": rng.integers(2013, 2020, n_counties),
        "target_year": rng.integers(2024, 2036, n_counties),
        "resident_population": np.round(students / rng.uniform(0.05, 0.065, n_counties), -2),
    })

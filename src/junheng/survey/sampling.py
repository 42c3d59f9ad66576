"""The survey's sampling plan (抽样方案): how many of each group to ask, and where.

From the county's resident population (常住人口) and its school roster with the students of one
school year (docs/methods.md, "社会认可度 (S1): the sampling plan"):

- total n = max(minimum, ⌈population × per_mille / 1000⌉);
- parents ⌈parents_min_share × n⌉ (at least that share), the rest split evenly over the other
  groups (junheng.survey.groups); principals are bounded by the number of schools (one each),
  what they cannot take goes evenly to the other groups;
- parents, students, teachers and principals are quotas per school, proportional to students
  (largest remainder, exact: every sum adds up); a teaching point counts with its central
  school; each school gets at least one parent when the parents' total allows it;
- the urban/town/rural split follows the locale shares given (the county's population shares),
  else the students' own shares by school locale (the plan says which);
- students are sampled from grade `student_min_grade` up (junior grades all), the school's
  student quota split over grade bands in proportion to the (estimated) pupils of each band;
- 人大代表, 政协委员 and 社会人士 are county-wide quotas (no school);
- only the groups of `sampling.groups` are surveyed; with `urban_rural_by_population: false`
  the locale split is always the students'.

    plan = make_plan(county_code="140599", county_name="示范县", year=2025, population=420_000,
                     schools=rows, settings=load_settings().sampling)
    plan.groups["parents"], plan.schools[0].quotas, plan.to_json(), plan.quota_rows()
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from junheng.errors import JunhengError
from junheng.schoolyear import label as school_year_label
from junheng.survey.groups import GROUPS, group_label

LOCALES = ("urban", "town", "rural")
UNKNOWN_LOCALE = "unknown"  # a school whose 城乡分类 is not filled in: a bucket of its own
LOCALE_LABELS = {"urban": "城区", "town": "镇区", "rural": "乡村", UNKNOWN_LOCALE: "未填城乡分类"}
# groups sampled in the schools; the others are county-wide quotas
SCHOOL_GROUPS = ("parents", "students", "teachers", "principals")
COUNTY_GROUPS = tuple(g for g in GROUPS if g not in SCHOOL_GROUPS and g != "parents")
CAPPED_GROUP = "principals"  # one per school
TEACHING_POINT = "teaching_point"
PRIMARY_GRADES = range(1, 7)
JUNIOR_GRADES = range(7, 10)

# Bounds on what a user controls (a county, its roster, its settings).
MAX_POPULATION = 100_000_000
MAX_SCHOOLS = 10_000
MAX_STUDENTS_PER_SCHOOL = 1_000_000


class SamplingError(JunhengError):
    pass


@dataclass(frozen=True)
class SchoolRow:
    """One school of the roster with its students of the plan's year."""

    school_id: str
    school_name: str
    school_type: str = "primary"
    locale: str | None = None
    students_primary: int = 0
    students_junior: int = 0
    parent_school_id: str | None = None


@dataclass(frozen=True)
class Band:
    """A grade band of the sampled students (the settings' `sampling.grade_bands`, cut at the
    first sampled grade)."""

    name: str
    first: int
    last: int

    @property
    def label(self) -> str:
        grades = f"{self.first} 年级" if self.first == self.last else f"{self.first}–{self.last} 年级"
        return f"{self.name}({grades})" if self.name else grades


@dataclass
class SchoolQuota:
    """One row of the plan: a school (with its teaching points) and its quotas."""

    school_id: str
    school_name: str
    school_type: str
    locale: str
    students: int  # all pupils of the compulsory grades (its teaching points' included)
    eligible_students: float  # estimated pupils of the sampled grades
    quotas: dict[str, int]  # parents, students, teachers, principals
    grade_bands: dict[str, int]  # band label → students to ask
    teaching_points: list[tuple[str, str]] = field(default_factory=list)  # (school_id, name)

    @property
    def total(self) -> int:
        return sum(self.quotas.values())

    def to_json(self) -> dict:
        return {"school_id": self.school_id, "school_name": self.school_name, "school_type": self.school_type,
                "locale": self.locale, "students": self.students,
                "eligible_students": round(self.eligible_students, 1), "quotas": dict(self.quotas),
                "total": self.total, "grade_bands": dict(self.grade_bands),
                "teaching_points": [{"school_id": i, "school_name": n} for i, n in self.teaching_points]}


@dataclass
class SamplingPlan:
    county_code: str
    county_name: str
    year: int
    population: int
    per_mille: float
    minimum: int
    parents_min_share: float
    student_min_grade: int
    active_groups: tuple[str, ...]  # the groups the settings survey (sampling.groups)
    total: int
    groups: dict[str, int]  # every group, in GROUPS order; sums to total
    locale_basis: str  # "population" (shares given) or "students" (the students' shares, a proxy)
    locale_shares: dict[str, float]  # the shares used, per locale bucket present
    locales: dict[str, dict[str, int]]  # bucket → school groups and public → quota
    grade_bands: list[Band]
    schools: list[SchoolQuota]
    county_wide: dict[str, int]  # npc_deputies, cppcc_members, public
    public_by_locale: dict[str, int]  # the public's quota split over the locales (a guide)
    notes: list[str]

    @property
    def title(self) -> str:
        return f"{self.county_name}{school_year_label(self.year)}社会认可度调查抽样方案"

    def quota_rows(self) -> list[tuple[str, str | None, int]]:
        """(group, school_id or None, size) for every non-empty quota: per school, then county-wide."""
        rows = [(g, s.school_id, s.quotas[g]) for s in self.schools for g in SCHOOL_GROUPS if s.quotas[g]]
        return rows + [(g, None, n) for g, n in self.county_wide.items() if n]

    def to_json(self) -> dict:
        return {
            "county_code": self.county_code, "county_name": self.county_name, "year": self.year,
            "population": self.population,
            "settings": {"per_mille": self.per_mille, "minimum": self.minimum,
                         "parents_min_share": self.parents_min_share, "student_min_grade": self.student_min_grade,
                         "groups": list(self.active_groups)},
            "total": self.total,
            "groups": dict(self.groups),
            "locale_basis": self.locale_basis,
            "locale_shares": {k: round(v, 6) for k, v in self.locale_shares.items()},
            "locales": {k: {"label": LOCALE_LABELS[k], "groups": dict(v), "total": sum(v.values())}
                        for k, v in self.locales.items()},
            "grade_bands": [{"label": b.label, "name": b.name, "from": b.first, "to": b.last} for b in self.grade_bands],
            "schools": [s.to_json() for s in self.schools],
            "county_wide": dict(self.county_wide),
            "public_by_locale": dict(self.public_by_locale),
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------------------
# Apportionment


def apportion(total: int, weights: Sequence[Fraction | int | float], *, floors: Sequence[int] | None = None,
              caps: Sequence[int | None] | None = None) -> list[int]:
    """`total` split over `weights` by largest remainder: every part within 1 of its exact share,
    the parts summing to `total` exactly. With `floors` (or `caps`) a part whose exact share is
    below its floor (above its cap) is set to it and the rest shared out again among the others
    (iterated until none is). Ties go to the larger weight, then to the earlier part."""
    n = len(weights)
    if n == 0:
        if total:
            raise ValueError("nothing to apportion to")
        return []
    w = [Fraction(x) for x in weights]
    if any(x < 0 for x in w):
        raise ValueError("negative weight")
    if floors is not None and caps is not None:
        raise ValueError("floors or caps, not both")
    if floors is not None and sum(floors) > total:
        raise ValueError("floors exceed the total")
    if caps is not None and all(c is not None for c in caps) and sum(caps) < total:
        raise ValueError("caps below the total")
    fixed: dict[int, int] = {}
    while True:
        free = [i for i in range(n) if i not in fixed]
        remaining = total - sum(fixed.values())
        weight = sum((w[i] for i in free), Fraction(0))
        if weight == 0:  # nothing to go by: equal shares
            exact = {i: Fraction(remaining, len(free)) for i in free} if free else {}
        else:
            exact = {i: remaining * w[i] / weight for i in free}
        if floors is not None:
            violated = {i: floors[i] for i in free if exact[i] < floors[i]}
        elif caps is not None:
            violated = {i: caps[i] for i in free if caps[i] is not None and exact[i] > caps[i]}
        else:
            violated = {}
        if not violated:
            break
        fixed.update(violated)
    out = [0] * n
    for i, v in fixed.items():
        out[i] = v
    base = {i: math.floor(exact[i]) for i in exact}
    left = remaining - sum(base.values())
    order = sorted(exact, key=lambda i: (-(exact[i] - base[i]), -w[i], i))
    for k, i in enumerate(order):
        out[i] = base[i] + (1 if k < left else 0)
    return out


# ---------------------------------------------------------------------------------------------
# Inputs


def _sampling_section(settings: Any) -> Any:
    """The sampling section: `settings` itself, or its `.sampling` (a whole SurveySettings); the
    shipped defaults when None."""
    if settings is None:
        from junheng.survey.settings import default_settings

        return default_settings().sampling
    return getattr(settings, "sampling", settings)


@dataclass(frozen=True)
class _Rules:
    per_mille: Decimal
    minimum: int
    parents_share: Decimal
    min_grade: int
    bands: list[Band]
    groups: tuple[str, ...]
    by_population: bool


def _rules(s: Any) -> _Rules:
    """The sampling section's values, checked (a settings file is validated when loaded; an object
    built in code is checked here the same way)."""
    per_mille = Decimal(str(s.per_mille))
    minimum = int(s.minimum)
    share = Decimal(str(s.parents_min_share))
    grade = int(s.student_min_grade)
    if not (Decimal(0) < per_mille <= Decimal(1000)):
        raise SamplingError(f"抽样设置 sampling.per_mille(抽样比例,‰)应大于 0、不超过 1000,现为 {s.per_mille}")
    if not 1 <= minimum <= 1_000_000:
        raise SamplingError(f"抽样设置 sampling.minimum(最低样本量)应为 1 至 1000000 的整数,现为 {s.minimum}")
    if not Decimal(0) <= share <= Decimal(1):
        raise SamplingError(f"抽样设置 sampling.parents_min_share(家长最低占比)应在 0 至 1 之间,现为 {s.parents_min_share}")
    if not 1 <= grade <= 9:
        raise SamplingError(f"抽样设置 sampling.student_min_grade(学生起始年级)应为 1 至 9,现为 {s.student_min_grade}")
    listed = list(getattr(s, "groups", None) or GROUPS)
    unknown = [g for g in listed if g not in GROUPS]
    if unknown:
        raise SamplingError(f"抽样设置 sampling.groups 中的“{'、'.join(map(str, unknown))}”不是人员类别")
    return _Rules(per_mille, minimum, share, grade, _grade_bands(getattr(s, "grade_bands", None) or (), grade),
                  tuple(g for g in GROUPS if g in listed), bool(getattr(s, "urban_rural_by_population", True)))


def _grade_bands(raw: Iterable, min_grade: int) -> list[Band]:
    """The bands from the settings, cut at the first sampled grade; the grades from it to 9 must
    each be in exactly one band. No bands: one band per school stage (1–6, 7–9)."""
    bands = []
    for item in raw or ((None, 1, 6), (None, 7, 9)):
        if isinstance(item, tuple):
            name, first, last = item
        elif isinstance(item, Mapping):
            name, first, last = item.get("label"), int(item.get("first", 0)), int(item.get("last", 0))
        else:
            name, first, last = getattr(item, "label", None), int(item.first), int(item.last)
        if not 1 <= first <= last <= 9:
            raise SamplingError(f"抽样设置 sampling.grade_bands 中的年级段 {first}–{last} 不对:应为 1 至 9 年级,起始不大于结束")
        if last >= min_grade:
            bands.append(Band(str(name or ""), max(first, min_grade), last))
    covered = sorted(g for b in bands for g in range(b.first, b.last + 1))
    if covered != list(range(min_grade, 10)):
        raise SamplingError(f"抽样设置 sampling.grade_bands 应不重不漏地覆盖 {min_grade} 至 9 年级,"
                            f"现为 {'、'.join(b.label for b in bands) or '无'}")
    return bands


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _count(value: Any, where: str) -> int:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return 0
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SamplingError(f"{where}应为非负整数,现为“{value}”") from None
    if number < 0 or number != int(number) or number > MAX_STUDENTS_PER_SCHOOL:
        raise SamplingError(f"{where}应为不超过 {MAX_STUDENTS_PER_SCHOOL} 的非负整数,现为“{value}”")
    return int(number)


def _school_row(row: Any) -> SchoolRow:
    if isinstance(row, SchoolRow):
        return row
    get = row.get if isinstance(row, Mapping) else (lambda k, d=None: getattr(row, k, d))
    school_id = _text(get("school_id"))
    if school_id is None:
        raise SamplingError("学校名录中有一行缺少学校标识码(school_id)")
    name = _text(get("school_name")) or _text(get("name")) or school_id
    where = f"学校 {name}({school_id})的"
    return SchoolRow(school_id=school_id, school_name=name, school_type=_text(get("school_type")) or "primary",
                     locale=_text(get("locale")),
                     students_primary=_count(get("students_primary"), where + "小学在校生数(students_primary)"),
                     students_junior=_count(get("students_junior"), where + "初中在校生数(students_junior)"),
                     parent_school_id=_text(get("parent_school_id")))


def parse_locale_shares(text: str) -> dict[str, float]:
    """"urban=0.3,town=0.3,rural=0.4" (or 城区=0.3,…; percents 30,30,40 also) → shares summing to 1."""
    names = {**{k: k for k in LOCALES}, **{LOCALE_LABELS[k]: k for k in LOCALES}}
    shares: dict[str, float] = {}
    if len(text) > 200:
        raise SamplingError("城乡比例(--locale-shares)过长:应形如 urban=0.3,town=0.3,rural=0.4")
    for part in text.replace(",", ",").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = names.get(key.strip())
        try:
            number = float(value.strip().rstrip("%")) if sep else -1.0
        except ValueError:
            number = -1.0
        if key is None or not math.isfinite(number) or number < 0 or key in shares:
            raise SamplingError(f"城乡比例(--locale-shares)中的“{part.strip()}”不对:应形如 urban=0.3,town=0.3,rural=0.4"
                                "(城区 urban、镇区 town、乡村 rural 各一次,取值为非负数)")
        shares[key] = number
    return check_locale_shares(shares)


def check_locale_shares(shares: Mapping[str, float]) -> dict[str, float]:
    """Shares per locale summing to 1 (or to 100, read as percents); unknown keys are an error."""
    unknown = [k for k in shares if k not in LOCALES]
    if unknown:
        raise SamplingError(f"城乡比例中的“{'、'.join(map(str, unknown))}”不是城乡分类:应为 urban(城区)、town(镇区)、rural(乡村)")
    values = {k: float(shares.get(k, 0) or 0) for k in LOCALES}
    if any(not math.isfinite(v) or v < 0 for v in values.values()):
        raise SamplingError("城乡比例应为非负数")
    total = sum(values.values())
    if abs(total - 100) < 0.05 and total > 1.5:
        values = {k: v / 100 for k, v in values.items()}
        total = sum(values.values())
    if abs(total - 1) > 0.005:
        raise SamplingError(f"城乡比例之和应为 1(或 100%),现为 {total:g}:如 urban=0.3,town=0.3,rural=0.4")
    return {k: v / total for k, v in values.items()}


# ---------------------------------------------------------------------------------------------
# Units: a school with its teaching points


@dataclass
class _Unit:
    row: SchoolRow
    primary: int
    junior: int
    points: list[SchoolRow] = field(default_factory=list)

    @property
    def students(self) -> int:
        return self.primary + self.junior

    @property
    def locale(self) -> str:
        return self.row.locale if self.row.locale in LOCALES else UNKNOWN_LOCALE

    def band_weights(self, bands: list[Band]) -> list[Fraction]:
        """Estimated pupils per band: the primary (junior) pupils spread evenly over their grades."""
        out = []
        for band in bands:
            grades = range(band.first, band.last + 1)
            out.append(Fraction(self.primary * sum(1 for g in grades if g in PRIMARY_GRADES), len(PRIMARY_GRADES))
                       + Fraction(self.junior * sum(1 for g in grades if g in JUNIOR_GRADES), len(JUNIOR_GRADES)))
        return out


def _units(rows: list[SchoolRow], notes: list[str]) -> list[_Unit]:
    duplicates = sorted(i for i, n in Counter(r.school_id for r in rows).items() if n > 1)
    if duplicates:
        raise SamplingError(f"学校名录中学校标识码重复:{'、'.join(duplicates[:10])}")
    by_id = {r.school_id: r for r in rows}
    units: dict[str, _Unit] = {}
    points: list[SchoolRow] = []
    for r in rows:
        central = by_id.get(r.parent_school_id) if r.parent_school_id else None
        if r.school_type == TEACHING_POINT and central is not None and central.school_type != TEACHING_POINT:
            points.append(r)
        else:
            units[r.school_id] = _Unit(r, r.students_primary, r.students_junior)
    alone = [r for r in rows if r.school_type == TEACHING_POINT and r.school_id in units]
    for p in points:
        unit = units[p.parent_school_id]
        unit.points.append(p)
        unit.primary += p.students_primary
        unit.junior += p.students_junior
    if points:
        notes.append(f"教学点并入所属中心校计算名额({len(points)} 个),由中心校在本校和所属教学点中统一抽取。")
    if alone:
        notes.append("以下教学点未填所属中心校(所属中心校 parent_school_id),单独列出:"
                     + "、".join(r.school_name for r in alone[:10]) + ("等" if len(alone) > 10 else "") + "。")
    return list(units.values())


# ---------------------------------------------------------------------------------------------
# The plan


def make_plan(*, county_code: str, county_name: str, year: int, population: int | None,
              schools: Iterable[Any], settings: Any = None,
              locale_shares: Mapping[str, float] | None = None) -> SamplingPlan:
    """The sampling plan of a county-year (module docstring). `schools`: roster rows (SchoolRow,
    dicts or objects with school_id, school_name, school_type, locale, students_primary,
    students_junior, parent_school_id); `settings`: the survey settings or their sampling section;
    `locale_shares`: the county's population shares {urban, town, rural} (fractions or percents)."""
    rules = _rules(_sampling_section(settings))
    min_grade, bands = rules.min_grade, rules.bands
    where = f"{county_name}({county_code})"
    if population is None or (isinstance(population, float) and math.isnan(population)):
        raise SamplingError(f"缺少{where}的常住人口(resident_population),无法确定样本量。请在县区名录(counties 表)"
                            "的“常住人口”列填写,或在网站「管理」的县区设置中填写“常住人口(人)”,或在命令中用 --population 指定")
    if isinstance(population, bool) or int(population) != population or not 1 <= population <= MAX_POPULATION:
        raise SamplingError(f"{where}的常住人口(resident_population)应为 1 至 {MAX_POPULATION} 的整数,现为 {population}")
    population = int(population)
    rows = [_school_row(r) for r in schools]
    if len(rows) > MAX_SCHOOLS:
        raise SamplingError(f"学校名录有 {len(rows)} 所学校,超过一个县区的上限 {MAX_SCHOOLS}")
    notes: list[str] = []
    units = [u for u in _units(rows, notes) if u.students > 0]
    if not units:
        raise SamplingError(f"{where}{school_year_label(year)}没有学校的在校生数(小学/初中在校生数),无法按学校分配名额。"
                            "请先填报并审核该学年的学校数据,或用 --year 指定有数据的学年")
    shares_given = dict(check_locale_shares(locale_shares)) if locale_shares is not None else None

    # total and groups
    total = max(rules.minimum, math.ceil(Decimal(population) * rules.per_mille / 1000))
    active = rules.groups
    others = [g for g in active if g != "parents"]
    parents = (total if not others else min(total, math.ceil(rules.parents_share * total))) if "parents" in active else 0
    caps = [len(units) if g == CAPPED_GROUP else None for g in others]
    if others and all(c is not None for c in caps) and sum(caps) < total - parents:
        parents = total - sum(caps)  # only principals besides parents: the parents take the rest
    split = apportion(total - parents, [1] * len(others), caps=caps)
    groups = {g: 0 for g in GROUPS} | ({"parents": parents} if "parents" in active else {}) | dict(zip(others, split))
    notes.insert(0, f"样本总量取常住人口 {population} 人的 {rules.per_mille:f}‰(向上取整)与最低样本量 {rules.minimum} 人"
                    f"中的较大者:{total} 人。"
                    + (f"家长不少于 {_percent(rules.parents_share)}:{parents} 人;" if "parents" in active else "")
                    + (f"其余 {total - parents} 人大致平均分给" + "、".join(group_label(g) for g in others) + "。"
                       if others else ""))
    left_out = [group_label(g) for g in GROUPS if g not in active]
    if left_out:
        notes.append(f"按抽样设置(sampling.groups),本次不调查{'、'.join(left_out)}。")
    if CAPPED_GROUP in others and groups[CAPPED_GROUP] < math.floor(Fraction(total - parents, len(others))):
        gained = [group_label(g) for g in others if g != CAPPED_GROUP]
        notes.append(f"{group_label(CAPPED_GROUP)}每校 1 人,以学校数 {len(units)} 所为上限;平均分配时多出的名额"
                     f"再平均分给{'、'.join(gained) or '家长'}。")

    # locale buckets and their shares
    weight = {g: [Fraction(u.students) for u in units] for g in SCHOOL_GROUPS}
    weight["students"] = [sum(u.band_weights(bands), Fraction(0)) for u in units]
    if groups["students"] and sum(weight["students"]) == 0:
        raise SamplingError(f"{where}没有 {min_grade} 年级及以上的在校生,无法分配学生名额")
    buckets = [loc for loc in (*LOCALES, UNKNOWN_LOCALE) if any(u.locale == loc for u in units)]
    student_total = sum(u.students for u in units)
    student_share = {loc: Fraction(sum(u.students for u in units if u.locale == loc), student_total) for loc in buckets}
    basis, bucket_share = "students", dict(student_share)
    if shares_given is not None and not rules.by_population:
        notes.append("抽样设置 sampling.urban_rural_by_population 为 false:不按常住人口的城乡比例,按在校生的城乡分布分配。")
    elif shares_given is not None:
        known = [b for b in buckets if b != UNKNOWN_LOCALE]
        given = sum((Fraction(shares_given[b]).limit_denominator(10**6) for b in known), Fraction(0))
        if given == 0:
            notes.append("给定的城乡比例中,本县有学校的城乡类别比例均为 0,改按在校生的城乡分布分配。")
        else:
            basis = "population"
            rest = 1 - student_share.get(UNKNOWN_LOCALE, Fraction(0))
            bucket_share = {b: Fraction(shares_given[b]).limit_denominator(10**6) / given * rest for b in known}
            if UNKNOWN_LOCALE in buckets:
                bucket_share[UNKNOWN_LOCALE] = student_share[UNKNOWN_LOCALE]
            empty = [LOCALE_LABELS[k] for k in LOCALES if shares_given[k] > 0 and k not in buckets]
            if empty:
                notes.append(f"本县没有{'、'.join(empty)}学校,其人口比例并入其他类别。")
    if basis == "population":
        notes.append("城区、镇区、乡村的名额按给定的常住人口城乡比例分配:"
                     + "、".join(f"{LOCALE_LABELS[k]} {_percent(shares_given[k])}" for k in LOCALES) + "。")
    else:
        notes.append("未给出常住人口的城乡比例,以在校生的城乡分布代替:"
                     + "、".join(f"{LOCALE_LABELS[b]} {_percent(student_share[b])}" for b in buckets) + "。")
    if UNKNOWN_LOCALE in buckets:
        unknown = [u.row.school_name for u in units if u.locale == UNKNOWN_LOCALE]
        notes.append(f"{len(unknown)} 所学校未填城乡分类(locale),按其在校生比例单列:"
                     + "、".join(unknown[:10]) + ("等" if len(unknown) > 10 else "") + "。请在学校名录中补填。")

    # per-school quotas
    quotas = {g: _school_quotas(g, groups[g], units, weight[g], buckets, bucket_share, basis) for g in SCHOOL_GROUPS}
    if groups["parents"] >= len(units):
        notes.append("每所学校至少 1 名家长;其余家长名额按在校生数比例分配(最大余额法)。")
    notes.append(f"学生从 {min_grade} 年级起抽取(初中各年级均抽取),各学校的学生名额按年级段"
                 f"({'、'.join(b.label for b in bands)})的在校生数分配;各年级人数按学段在校生数平均估算。")
    county_wide = [group_label(g) for g in COUNTY_GROUPS if g in active]
    if county_wide:
        notes.append("、".join(county_wide) + "为全县名额,不分学校,由县教育行政部门统一组织。")

    plan_schools = []
    for k, u in enumerate(units):
        n_students = quotas["students"][k]
        band_split = apportion(n_students, u.band_weights(bands)) if n_students else [0] * len(bands)
        plan_schools.append(SchoolQuota(
            school_id=u.row.school_id, school_name=u.row.school_name, school_type=u.row.school_type,
            locale=u.locale, students=u.students, eligible_students=float(weight["students"][k]),
            quotas={g: quotas[g][k] for g in SCHOOL_GROUPS},
            grade_bands={b.label: n for b, n in zip(bands, band_split)},
            teaching_points=[(p.school_id, p.school_name) for p in u.points]))

    public_split = apportion(groups["public"], [bucket_share[b] for b in buckets])
    public_by_locale = dict(zip(buckets, public_split))
    locales = {b: {g: sum(s.quotas[g] for s in plan_schools if s.locale == b) for g in SCHOOL_GROUPS}
               | {"public": public_by_locale[b]} for b in buckets}
    return SamplingPlan(
        county_code=county_code, county_name=county_name, year=year, population=population,
        per_mille=float(rules.per_mille), minimum=rules.minimum, parents_min_share=float(rules.parents_share),
        student_min_grade=min_grade, active_groups=active,
        total=total, groups=groups, locale_basis=basis,
        locale_shares={b: float(bucket_share[b]) for b in buckets}, locales=locales, grade_bands=bands,
        schools=plan_schools, county_wide={g: groups[g] for g in COUNTY_GROUPS},
        public_by_locale=public_by_locale, notes=notes)


def _school_quotas(group: str, size: int, units: list[_Unit], weights: list[Fraction], buckets: list[str],
                   bucket_share: dict[str, Fraction], basis: str) -> list[int]:
    """A school group's quota split over the schools: proportional to `weights`, in one pass over
    every school when the locale split is the students' own (basis "students"), else first over
    the locale buckets by their shares, then within each bucket. Parents: at least one per school
    when the total allows; principals: at most one per school."""
    floors_wanted = group == "parents" and size >= len(units)
    if group == CAPPED_GROUP:
        return _principals(size, units, buckets, bucket_share)
    if basis == "students":  # the locale split follows the students: one pass over every school
        return apportion(size, weights, floors=[1] * len(units) if floors_wanted else None)
    members = {b: [k for k, u in enumerate(units) if u.locale == b] for b in buckets}
    bucket_sizes = apportion(size, [bucket_share[b] for b in buckets],
                             floors=[len(members[b]) for b in buckets] if floors_wanted else None)
    out = [0] * len(units)
    for b, n in zip(buckets, bucket_sizes):
        ks = members[b]
        part = apportion(n, [weights[k] for k in ks], floors=[1] * len(ks) if floors_wanted else None)
        for k, v in zip(ks, part):
            out[k] = v
    return out


def _principals(size: int, units: list[_Unit], buckets: list[str], bucket_share: dict[str, Fraction]) -> list[int]:
    """One principal from `size` of the schools: the buckets' numbers by their shares (at most
    their schools), and within a bucket schools spread evenly over the range of sizes."""
    members = {b: sorted((k for k, u in enumerate(units) if u.locale == b), key=lambda k: (-units[k].students, k))
               for b in buckets}
    bucket_sizes = apportion(size, [bucket_share[b] for b in buckets], caps=[len(members[b]) for b in buckets])
    out = [0] * len(units)
    for b, n in zip(buckets, bucket_sizes):
        ks = members[b]
        for j in range(n):
            out[ks[(2 * j + 1) * len(ks) // (2 * n)]] = 1
    return out


def _percent(value) -> str:
    return f"{float(value) * 100:.1f}%".replace(".0%", "%")


# ---------------------------------------------------------------------------------------------
# From a dataset


def schools_of_dataset(dataset, county_code: str, year: int) -> list[SchoolRow]:
    """The roster rows of a county with the students of `year` (junheng.data.Dataset); a school
    without a row that year has no students (and so no quota)."""
    roster = dataset.schools[dataset.schools["county_code"].astype(str) == str(county_code)]
    sy = dataset.school_year
    sy = sy[sy["year"].astype("Int64") == int(year)] if len(sy) else sy
    students = {}
    for record in sy.to_dict("records"):
        students[str(record["school_id"])] = record
    rows = []
    for record in roster.to_dict("records"):
        values = students.get(str(record["school_id"]), {})
        rows.append(_school_row({**record, "students_primary": values.get("students_primary"),
                                 "students_junior": values.get("students_junior")}))
    return rows


def dataset_years(dataset, county_code: str) -> list[int]:
    """The years with school data of a county, oldest first."""
    return sorted(y for c, y in dataset.county_year_pairs() if c == str(county_code))


def plan_from_dataset(dataset, county_code: str, *, year: int | None = None, population: int | None = None,
                      settings: Any = None, locale_shares: Mapping[str, float] | None = None) -> SamplingPlan:
    """The plan of a county in a dataset (a file's or the store's): the roster with the students
    of `year`, the population from the counties table
    unless given. The default year is the latest complete one (junheng.engine.coverage.default_year:
    a year still being filled in does not stand for the county's roster)."""
    from junheng.engine.coverage import default_year

    codes = sorted({str(c) for c in dataset.schools["county_code"].dropna()})
    if str(county_code) not in codes:
        listed = "、".join(codes[:20]) or "无"
        raise SamplingError(f"数据中没有县区代码为 {county_code} 的学校(数据中的县区:{listed})")
    name = dataset.county_name(str(county_code))
    years = dataset_years(dataset, county_code)
    if year is None:
        if not years:
            raise SamplingError(f"{name}({county_code})没有学校年度数据(在校生数),无法按学校分配名额")
        year = default_year(dataset, str(county_code), years)
    elif year not in years:
        raise SamplingError(f"{name}({county_code}){school_year_label(year)}没有学校年度数据;"
                            f"有数据的学年:{'、'.join(str(y) for y in years) or '无'}")
    if population is None:
        stored = dataset.county_attribute(str(county_code), "resident_population")
        population = None if stored is None else int(stored)
    return make_plan(county_code=str(county_code), county_name=name, year=year, population=population,
                     schools=schools_of_dataset(dataset, county_code, year), settings=settings,
                     locale_shares=locale_shares)

"""Observations: every number an evaluation result judges, flattened to one row each.

An observation is one indicator at one place (a unit, a segment's CV, the county, a school),
with its value, its threshold or limit, the direction that is better, and whether it is met.
The warning rules (breach, margin, decline, forecast) and the time series read these rows, so
they never re-derive what the engine decided: `met` is always the engine's verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from junheng.engine.result import EvaluationResult
from junheng.standards.model import Standard

SEGMENT_LABELS = {"primary": "小学", "junior": "初中", "senior": "高中"}
COMPARISONS = {"不低于": ">=", "高于": ">=", "不超过": "<=", "低于": "<="}  # wording.OPS, reversed
# Short names of the items, for titles of school findings and whole items (the standard's names
# are full sentences).
SHORT_LABELS = {
    "G1": "学校规划布局", "G2": "城乡“四统一”", "G3": "音乐、美术专用教室", "G4": "学校规模", "G5": "班额",
    "G6": "小规模学校公用经费核定", "G7": "特殊教育学校生均公用经费", "G8": "教师平均工资收入", "G9": "教师培训完成率",
    "G10": "编制岗位统筹分配", "G11": "教师交流轮岗", "G12": "教师资格证上岗率", "G13": "就近划片入学比例",
    "G14": "优质高中招生名额分配", "G15": "留守儿童关爱与随迁子女就读", "Q1": "初中三年巩固率", "Q2": "残疾儿童少年入学率",
    "Q3": "学校章程与管理信息化", "Q4": "教师培训经费", "Q5": "信息化手段组织教学", "Q6": "德育与校园文化建设",
    "Q7": "课程开齐开足", "Q8": "课业负担", "Q9": "国家义务教育质量监测", "S1": "社会认可度",
}
LEVEL_LABELS = {"unit": "学校学段", "cv": "校际差异系数", "county_value": "县域均值", "county": "县级", "school": "学校"}


@dataclass(frozen=True)
class Observation:
    indicator: str
    level: str  # unit, cv, county_value, county, school
    label: str
    value: float | bool | str | None
    threshold: float | None
    op: str | None  # ">=": higher is better; "<=": lower is better; None: not a number
    met: bool | None
    unit: str | None = None
    responsible: tuple[str, ...] = ()
    school_id: str | None = None
    school_name: str | None = None
    segment: str | None = None
    check: str | None = None
    detail: str = ""
    tolerated: bool = False  # an R value below threshold in a unit that still complies (6 of 7)

    @property
    def ident(self) -> str:
        """Identifies the place and measure across years (no year in it)."""
        return "/".join(p or "-" for p in (self.indicator, self.level, self.school_id, self.segment, self.check))

    @property
    def numeric(self) -> bool:
        return isinstance(self.value, (int, float)) and not isinstance(self.value, bool) \
            and not (isinstance(self.value, float) and math.isnan(self.value))

    @property
    def where(self) -> str:
        """Where, in Chinese: 某某小学(小学) / 小学 / 全县."""
        seg = SEGMENT_LABELS.get(self.segment or "", self.segment or "")
        if self.school_id:
            return f"{self.school_name or self.school_id}" + (f"({seg})" if seg else "")
        if seg:
            return f"全县{seg}"
        return "全县"

    def shortfall(self) -> float:
        """How far a failing value is from its threshold, as a share of it (1.0 when not a number)."""
        if not self.numeric or self.threshold in (None, 0):
            return 1.0
        if self.op == ">=":
            return max(0.0, (self.threshold - self.value) / abs(self.threshold))
        if self.op == "<=":
            return max(0.0, (self.value - self.threshold) / abs(self.threshold))
        return 1.0

    def headroom(self) -> float | None:
        """How far a met value is on the safe side of its threshold, as a share of it."""
        if not self.numeric or self.threshold in (None, 0) or self.op is None:
            return None
        if self.op == ">=":
            return (self.value - self.threshold) / abs(self.threshold)
        return (self.threshold - self.value) / abs(self.threshold)


def _float(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def observations(result: EvaluationResult, standard: Standard,
                 school_rows: dict[str, dict] | None = None,
                 school_types: dict[str, str] | None = None) -> list[Observation]:
    """Every observation of one county-year result. `school_rows` (school_id → school_year
    values) and `school_types` add the per-school sizes behind G4 and G5 (for margins and
    declines of those limits)."""
    out: list[Observation] = []
    res = result.resource
    for unit in res.units:
        for ind_id, ui in unit.indicators.items():
            ind = standard.indicators.get(ind_id)
            out.append(Observation(
                indicator=ind_id, level="unit", label=ind.name if ind else ind_id, value=ui.value,
                threshold=ui.threshold, op=">=", met=ui.met, unit=ind.unit if ind else None,
                responsible=tuple(ind.responsible) if ind else (), school_id=unit.school_id,
                school_name=unit.school_name, segment=unit.segment,
                tolerated=ui.met is False and unit.compliant is True,
                detail=f"该校{SEGMENT_LABELS.get(unit.segment, unit.segment)} 7 项中 {unit.met_count} 项达标"))
    for segment, by_ind in res.cv.items():
        for ind_id, cv in by_ind.items():
            if not cv.applicable:
                continue
            ind = standard.indicators.get(ind_id)
            name = ind.name if ind else ind_id
            responsible = tuple(ind.responsible) if ind else ()
            out.append(Observation(
                indicator=ind_id, level="cv", label=f"{name}校际差异系数", value=cv.value, threshold=cv.limit,
                op="<=", met=cv.met, responsible=responsible, segment=segment, detail=cv.note or ""))
            out.append(Observation(
                indicator=ind_id, level="county_value", label=f"{name}(县域均值)", value=cv.county_value,
                threshold=None, op=">=", met=None, unit=ind.unit if ind else None, responsible=responsible,
                segment=segment))
    sizes = _school_sizes(result, standard, school_rows or {}, school_types or {})
    covered = {(o.indicator, o.school_id) for o in sizes}
    out += sizes
    for area in ("government_guarantee", "education_quality", "social_recognition"):
        for ind_id, item in result.item_area(area).indicators.items():
            ind = standard.indicators.get(ind_id)
            responsible = tuple(item.responsible or (ind.responsible if ind else ()))
            found: list[Observation] = []
            for check in item.checks:
                op = COMPARISONS.get(check.comparison)
                value = check.value
                threshold = _float(check.threshold)
                found.append(Observation(
                    indicator=ind_id, level="county", label=check.label or SHORT_LABELS.get(ind_id, item.name), value=value,
                    threshold=threshold if op else None, op=op if threshold is not None else None, met=check.met,
                    unit=check.unit, responsible=responsible, check=check.name))
            for finding in item.schools:
                if (ind_id, finding.school_id) in covered:
                    continue
                found.append(Observation(
                    indicator=ind_id, level="school", label=SHORT_LABELS.get(ind_id, item.name),
                    value=finding.gap.amount if finding.gap else None,
                    threshold=None, op=None, met=finding.met, unit=finding.gap.unit if finding.gap else None,
                    responsible=responsible, school_id=finding.school_id, school_name=finding.school_name,
                    detail=finding.detail))
            if item.met is False and not any(o.met is False for o in found) \
                    and not any(o.indicator == ind_id and o.met is False for o in sizes):
                found.append(Observation(indicator=ind_id, level="county", label=SHORT_LABELS.get(ind_id, item.name),
                                         value=_float(item.value),
                                         threshold=_float(item.threshold), op=None, met=False, unit=item.unit,
                                         responsible=responsible, detail=item.explanation))
            out += found
    return out


def _school_sizes(result: EvaluationResult, standard: Standard, rows: dict[str, dict],
                  types: dict[str, str]) -> list[Observation]:
    """G4 (compulsory students against the school-size limit) and G5 (largest class against the
    class-size limit) per school, from the school-year rows; `met` follows the engine (G4 can
    carry an allowance the limit shown here does not)."""
    out: list[Observation] = []
    g4 = standard.indicators.get("G4")
    g5 = standard.indicators.get("G5")
    items = result.areas.government_guarantee.indicators
    failing4 = {f.school_id for f in items["G4"].schools if f.met is False} if "G4" in items else set()
    names = {u.school_id: u.school_name for u in result.resource.units}
    for school_id, row in rows.items():
        school_type = types.get(school_id)
        name = names.get(school_id, school_id)
        if g4 is not None and g4.rule.kind == "school_size" and school_type in (g4.school_types or ()):
            students = [_float(row.get(f"students_{s}")) for s in ("primary", "junior")]
            known = [s for s in students if s is not None]
            limit = g4.rule.limits.get(school_type)
            if known and limit is not None:
                total = sum(known)
                out.append(Observation(
                    indicator="G4", level="school", label="义务教育阶段学校规模", value=total, threshold=float(limit),
                    op="<=", met=school_id not in failing4 if "G4" in items else total <= limit, unit="人",
                    responsible=tuple(g4.responsible), school_id=school_id, school_name=name))
        if g5 is not None and g5.rule.kind == "class_size" and school_type in (g5.school_types or ()):
            for segment, limit in g5.rule.limits.items():
                largest = _float(row.get(f"max_class_size_{segment}"))
                if largest is None or not _float(row.get(f"students_{segment}")):
                    continue
                out.append(Observation(
                    indicator="G5", level="school", label=f"{SEGMENT_LABELS.get(segment, segment)}最大班额",
                    value=largest, threshold=float(limit), op="<=", met=largest <= limit, unit="人",
                    responsible=tuple(g5.responsible), school_id=school_id, school_name=name, segment=segment))
    return out

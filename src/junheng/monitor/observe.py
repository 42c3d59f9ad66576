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
LEVEL_LABELS = {"unit": "学校学段", "cv": "校际差异系数", "composite_cv": "综合差异系数", "county_value": "县域均值",
                "county": "县级", "school": "学校"}
CV_LEVELS = ("cv", "composite_cv")  # coefficients of variation: shown to three decimals, limits to two


@dataclass(frozen=True)
class Observation:
    indicator: str | None  # None: a segment's composite CV, which belongs to no single indicator
    level: str  # unit, cv, composite_cv, county_value, county, school
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
    tolerated: bool = False  # a unit's value below threshold in a unit that still complies (per-school rule)

    @property
    def ident(self) -> str:
        """Identifies the place and measure across years (no year in it)."""
        return "/".join(p or "-" for p in (self.indicator, self.level, self.school_id, self.segment, self.check))

    @property
    def heading(self) -> str:
        """"R5 某某小学(小学)体育运动场馆面积", "全县初中综合差异系数": the subject of a warning's title."""
        return f"{self.indicator + ' ' if self.indicator else ''}{self.where}{self.label}"

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
    values) and `school_types` add the per-school sizes behind the school-size and class-size
    rules (for margins and declines of those limits)."""
    out: list[Observation] = []
    res = result.resource
    for unit in res.units if res is not None else ():
        for ind_id, ui in unit.indicators.items():
            ind = standard.indicators.get(ind_id)
            detail = (f"该校{SEGMENT_LABELS.get(unit.segment, unit.segment)} {len(unit.indicators)} 项中 "
                      f"{unit.met_count} 项达标") if res.per_school_rule else ""
            out.append(Observation(
                indicator=ind_id, level="unit", label=ind.name if ind else ind_id, value=ui.value,
                threshold=ui.threshold, op=">=", met=ui.met, unit=ind.unit if ind else None,
                responsible=tuple(ind.responsible) if ind else (), school_id=unit.school_id,
                school_name=unit.school_name, segment=unit.segment,
                tolerated=ui.met is False and unit.compliant is True, detail=detail))
    for segment, by_ind in (res.cv.items() if res is not None else ()):
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
    out += _composites(result, standard)
    sizes = _school_sizes(result, standard, school_rows or {}, school_types or {})
    covered = {(o.indicator, o.school_id) for o in sizes}
    out += sizes
    for area in result.areas.items().values():
        for ind_id, item in area.indicators.items():
            ind = standard.indicators.get(ind_id)
            name = item.name  # the standard's name of the item: the title of its findings
            responsible = tuple(item.responsible or (ind.responsible if ind else ()))
            found: list[Observation] = []
            for check in item.checks:
                op = COMPARISONS.get(check.comparison)
                value = check.value
                threshold = _float(check.threshold)
                found.append(Observation(
                    indicator=ind_id, level="county", label=check.label or name, value=value,
                    threshold=threshold if op else None, op=op if threshold is not None else None, met=check.met,
                    unit=check.unit, responsible=responsible, check=check.name))
            for finding in item.schools:
                if (ind_id, finding.school_id) in covered:
                    continue
                found.append(Observation(
                    indicator=ind_id, level="school", label=name,
                    value=finding.gap.amount if finding.gap else None,
                    threshold=None, op=None, met=finding.met, unit=finding.gap.unit if finding.gap else None,
                    responsible=responsible, school_id=finding.school_id, school_name=finding.school_name,
                    detail=finding.detail))
            if item.met is False and not any(o.met is False for o in found) \
                    and not any(o.indicator == ind_id and o.met is False for o in sizes):
                found.append(Observation(indicator=ind_id, level="county", label=name,
                                         value=_float(item.value),
                                         threshold=_float(item.threshold), op=None, met=False, unit=item.unit,
                                         responsible=responsible, detail=item.explanation))
            out += found
    return out


def _composites(result: EvaluationResult, standard: Standard) -> list[Observation]:
    """The 综合差异系数 of each segment under a standard that judges its CVs by their mean."""
    res = result.resource
    if res is None or not res.composite_cv:
        return []
    responsible = tuple(dict.fromkeys(r for ind in standard.resource_indicators() for r in ind.responsible))
    out = []
    for segment, composite in res.composite_cv.items():
        if composite.indicators == 0:  # no unit of the segment: nothing to watch
            continue
        out.append(Observation(
            indicator=None, level="composite_cv", label="综合差异系数", value=composite.value,
            threshold=composite.limit, op="<=", met=composite.met, responsible=responsible, segment=segment,
            detail=composite.note or ""))
    return out


def _school_sizes(result: EvaluationResult, standard: Standard, rows: dict[str, dict],
                  types: dict[str, str]) -> list[Observation]:
    """Per school, from the school-year rows: the compulsory students against the limit of each
    school-size indicator, and the largest class against the limit of each class-size indicator
    of the standard; `met` follows the engine (a school-size limit can carry an allowance the
    limit shown here does not)."""
    out: list[Observation] = []
    names = {u.school_id: u.school_name for u in (result.resource.units if result.resource is not None else ())}
    size_rules = []
    for ind in standard.indicators_of_kind("school_size"):
        item = result.item(ind.id)
        failing = {f.school_id for f in item.schools if f.met is False} if item is not None else None
        size_rules.append((ind, failing))
    class_rules = standard.indicators_of_kind("class_size")
    for school_id, row in rows.items():
        school_type = types.get(school_id)
        name = names.get(school_id, school_id)
        for ind, failing in size_rules:
            if school_type not in (ind.school_types or ()):
                continue
            students = [_float(row.get(f"students_{s}")) for s in ("primary", "junior")]
            known = [s for s in students if s is not None]
            limit = ind.rule.limits.get(school_type)
            if known and limit is not None:
                total = sum(known)
                out.append(Observation(
                    indicator=ind.id, level="school", label="义务教育阶段学校规模", value=total,
                    threshold=float(limit), op="<=", met=school_id not in failing if failing is not None
                    else total <= limit, unit="人",
                    responsible=tuple(ind.responsible), school_id=school_id, school_name=name))
        for ind in class_rules:
            if school_type not in (ind.school_types or ()):
                continue
            for segment, limit in ind.rule.limits.items():
                largest = _float(row.get(f"max_class_size_{segment}"))
                if largest is None or not _float(row.get(f"students_{segment}")):
                    continue
                out.append(Observation(
                    indicator=ind.id, level="school", label=f"{SEGMENT_LABELS.get(segment, segment)}最大班额",
                    value=largest, threshold=float(limit), op="<=", met=largest <= limit, unit="人",
                    responsible=tuple(ind.responsible), school_id=school_id, school_name=name, segment=segment))
    return out

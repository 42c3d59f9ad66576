"""The words of the reports, apart from their layout.

Sentences in the style counties write by hand today (seed 003, part 1):

    第三条 “每百名学生拥有体育、艺术(美术、音乐)专任教师数:小学、初中均达到0.9人以上。”
    我县小学为1.23人,初中为1.25人……。此项我县暂不达标。

Every number comes from the EvaluationResult; numbers are formatted here and nowhere else, so
the Word, PDF, HTML and Excel reports show the same figures. R values are written with two
decimals, coefficients of variation with three (so that 0.504 is not shown as a passing 0.50);
amounts and counts are thousands separated like the engine's explanations and the pages
(engine.wording.num: 7,181,900 元, 2,241 人, 3,135.13 元). Years and codes are not amounts and
are written as they are.

Which indicators and areas there are, and how they are judged, is the result's own standard's:
its unit-level indicators (`result.resource_ids()`), its item areas with their names, whether
units are judged one by one (a per-school rule) and whether the CVs are judged each against a
limit or by their mean (综合差异系数).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from junheng.engine.result import (
    CheckResult,
    CVResult,
    EvaluationResult,
    Gap,
    ItemResult,
    UnitResult,
)
from junheng.reports.document import chinese_number
from junheng.reports.xlsx import (
    ITEM_AREAS,
    MISSING_TEXT,
    REPORTED_NOTE,
    area_label,
    gap_text,
    indicator_name,
    indicator_spec,
    indicator_unit,
    is_quality_standard,
    r_threshold,
    r_thresholds_exist,
    segment_label,
    segments_of,
    standard_named,
)

AREA_ORDER = ("resource_allocation", *ITEM_AREAS)  # national-2017's; a result's own: result.areas.present()
NOT_APPLICABLE = "不适用"
UNIT_WORDS = {"m²": "平方米", "%": "%"}
MAX_NAMED = 10  # schools named in a sentence; tables list them all

STATUS_WORDS = {True: "达标", False: "未达标", None: MISSING_TEXT}
VERDICT_SENTENCES = {True: "此项我县达标。", False: "此项我县暂不达标。", None: "此项因数据缺失,暂无法判定。"}


# ---------------------------------------------------------------------------------------------
# Numbers


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not (
        isinstance(value, float) and math.isnan(value))


def fixed(value: float | None, digits: int = 2) -> str:
    """A value as the tables show it: fixed decimals, "数据缺失" when absent."""
    if value is None or not is_number(value):
        return MISSING_TEXT
    return f"{value:,.{digits}f}"


def cv_text(value: float | None) -> str:
    return fixed(value, 3)


def amount(value: float | int | None, unit: str | None = None) -> str:
    """A count or amount in a sentence: integers without decimals, others with two."""
    if value is None or not is_number(value):
        return MISSING_TEXT
    text = f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"
    if unit:
        text += UNIT_WORDS.get(unit, unit)
    return text


def threshold_text(value: float | None) -> str:
    """A threshold as the standard writes it: 4.2, 2000, 0.9 (no trailing zeros)."""
    if value is None:
        return MISSING_TEXT
    return f"{value:,g}"


def unit_word(unit: str | None) -> str:
    return UNIT_WORDS.get(unit or "", unit or "")


def percent(value: float | None, digits: int = 1) -> str:
    return MISSING_TEXT if value is None else f"{value * 100:.{digits}f}%"


def article(n: int) -> str:
    """第一条, 第十五条."""
    return f"第{chinese_number(n)}条"


def joined(names: list[str], limit: int = MAX_NAMED) -> str:
    shown = "、".join(names[:limit])
    return shown + (f"等{len(names)}个" if len(names) > limit else "")


# ---------------------------------------------------------------------------------------------
# Resource allocation (the unit-level indicators)


@dataclass(frozen=True)
class SegmentFigures:
    """One unit-level indicator in one segment: what the report says about it."""

    segment: str
    threshold: float | None
    county_value: float | None
    units: list[UnitResult]
    reached: int  # units whose value reaches the threshold
    below: list[UnitResult]  # units whose value does not
    unknown: int
    cv: CVResult


def segment_figures(result: EvaluationResult, rid: str, segment: str) -> SegmentFigures:
    units = [u for u in result.resource.units if u.segment == segment]
    states = [u.indicators[rid].met for u in units]
    return SegmentFigures(
        segment=segment, threshold=r_threshold(result, segment, rid),
        county_value=result.resource.cv[segment][rid].county_value, units=units,
        reached=states.count(True), below=[u for u in units if u.indicators[rid].met is False],
        unknown=states.count(None), cv=result.resource.cv[segment][rid],
    )


def r_status(result: EvaluationResult, rid: str, failing: list[str] | None = None) -> bool | None:
    """A unit-level indicator at county level: failing exactly when the engine lists it as
    failing (a non-compliant unit falls short on it, a CV is over its limit, or the segment's
    composite is); unknown when a unit's value (under a per-school rule), a CV or a composite
    cannot be judged; met otherwise."""
    failing = result.failing_items() if failing is None else failing
    if rid in failing:
        return False
    res = result.resource
    composite = res.composite_cv or {}
    # without a per-school rule a unit's value is not judged: a missing one leaves the CV unknown
    units_unknown = r_thresholds_exist(result) and any(
        u.indicators[rid].met is None for u in res.units if rid in u.indicators)
    cvs_unknown = any((composite[name].met is None) if name in composite else seg[rid].met is None
                      for name, seg in res.cv.items() if rid in seg)
    return None if units_unknown or cvs_unknown else True


def composite_limits_text(result: EvaluationResult) -> str:
    """“小学不超过0.65、初中不超过0.55”: the composite limits of the result's segments."""
    composite = result.resource.composite_cv or {}
    return "、".join(f"{segment_label(s)}不超过{c.limit:g}" for s, c in composite.items())


def composite_phrase(result: EvaluationResult, segment: str) -> str:
    """“小学综合差异系数为0.123(上限0.65)”, with the verdict when it is not met."""
    c = (result.resource.composite_cv or {}).get(segment)
    if c is None:
        return ""
    label = segment_label(segment)
    if c.value is None:
        return f"{label}综合差异系数无法计算({c.note or MISSING_TEXT})"
    judged = {True: "", False: ",超过上限", None: ",暂无法判定"}[c.met]
    return f"{label}综合差异系数为{cv_text(c.value)}(上限{c.limit:.2f}{judged})"


def reported_sentence(result: EvaluationResult) -> str:
    """“公众满意度为93.5%(不参与判定)。”: the values the standard reports without judging them."""
    if not result.reported:
        return ""
    parts = [f"{r.label}为{amount(r.value, r.unit) if is_number(r.value) else (r.value or MISSING_TEXT)}"
             for r in result.reported]
    return "、".join(parts) + f"({REPORTED_NOTE})。"


def r_requirement(result: EvaluationResult, rid: str) -> str:
    """The standard's wording: “每百名学生拥有…:小学、初中分别达到4.2人以上、5.3人以上。”; under a
    standard that judges no unit one by one, what the indicator enters instead."""
    name, unit = indicator_name(result, rid), unit_word(indicator_unit(result, rid))
    segments = segments_of(result) or ["primary", "junior"]
    if not r_thresholds_exist(result):
        if result.resource.composite_cv:
            return f"{name}:计算校际差异系数,纳入各学段综合差异系数({composite_limits_text(result)})。"
        limits = "、".join(f"{segment_label(s)}不超过{cv.limit:g}" for s in segments
                          for cv in [result.resource.cv[s].get(rid)] if cv is not None and cv.limit is not None)
        return f"{name}:校际差异系数{limits}。" if limits else f"{name}:计算校际差异系数。"
    thresholds = [r_threshold(result, s, rid) for s in segments]
    labels = "、".join(segment_label(s) for s in segments)
    if len(set(thresholds)) == 1:
        return f"{name}:{labels}均达到{threshold_text(thresholds[0])}{unit}以上。"
    values = "、".join(f"{threshold_text(t)}{unit}以上" for t in thresholds)
    return f"{name}:{labels}分别达到{values}。"


def cv_phrase(cv: CVResult, segment: str) -> str:
    label = segment_label(segment)
    if not cv.applicable:
        return f"{label}{NOT_APPLICABLE}"
    if cv.value is None:
        return f"{label}无法计算({cv.note or MISSING_TEXT})"
    if cv.limit is None:  # judged through the segment's composite
        return f"{label}为{cv_text(cv.value)}"
    judged = {True: "", False: ",超过上限", None: ",暂无法判定"}[cv.met]
    return f"{label}为{cv_text(cv.value)}(上限{cv.limit:.2f}{judged})"


def unit_label(unit: UnitResult) -> str:
    return f"{unit.school_name}({segment_label(unit.segment)})"


def _reaches(f: SegmentFigures) -> bool | None:
    if f.county_value is None or f.threshold is None:
        return None
    return f.county_value >= f.threshold - 1e-9


def county_value_phrase(figures: list[SegmentFigures]) -> str:
    """Whether the county values (全县平均) reach the threshold, segment by segment."""
    reached = [_reaches(f) for f in figures]
    if None in reached:
        return ""
    if all(reached):
        return ",均达到标准值" if len(figures) > 1 else ",达到标准值"
    if not any(reached):
        return ",均未达到标准值" if len(figures) > 1 else ",未达到标准值"
    yes = "、".join(segment_label(f.segment) for f, r in zip(figures, reached) if r)
    no = "、".join(segment_label(f.segment) for f, r in zip(figures, reached) if not r)
    return f",其中{yes}达到标准值、{no}未达到标准值"


def per_unit_rule(result: EvaluationResult) -> str:
    return (f"“每个学校(学段)均须达标”({_count(result)}项指标中至少{per_school_min_met(result)}项达到标准值、"
            f"其余不低于标准值的{per_school_floor(result)})")


def _count(result: EvaluationResult) -> int:
    return len(result.resource_ids())


def r_failure_reason(result: EvaluationResult, rid: str, figures: list[SegmentFigures]) -> str:
    """Why an R indicator fails although the sentence before gave its county values: the units
    that fall short on it and do not comply, and the CVs over their limit; ends with "," before
    the verdict sentence."""
    below = [u for f in figures for u in f.below]
    failing = [u for u in below if u.compliant is False]
    over = [f for f in figures if f.cv.met is False]
    causes, rules = [], []
    if failing:
        cause = f"有{len(below)}个学校(学段)本项未达到标准值"
        if len(failing) < len(below):
            cause += f",其中{len(failing)}个为未达标单位"
        else:
            cause += "且均为未达标单位" if len(failing) > 1 else "且为未达标单位"
        causes.append(cause)
        rules.append(per_unit_rule(result))
    for f in over:
        value = cv_text(f.cv.value) if f.cv.value is not None else "无定义"
        causes.append(f"{segment_label(f.segment)}校际差异系数{value}超过上限{f.cv.limit:.2f}")
    if over:
        rules.append("“校际差异系数不超过上限”")
    composite = result.resource.composite_cv or {}
    over_composite = [f for f in figures if f.segment in composite and composite[f.segment].met is False]
    for f in over_composite:
        c = composite[f.segment]
        value = cv_text(c.value) if c.value is not None else "无定义"
        causes.append(f"{segment_label(f.segment)}综合差异系数{value}超过上限{c.limit:.2f}")
    if over_composite:
        rules.append("“综合差异系数不超过上限”")
    if not causes:
        return ""
    reached = [_reaches(f) for f in figures]
    lead = "全县平均达到标准值,但" if reached and all(r is True for r in reached) else ""
    return f"{lead}{';'.join(causes)};按{'和'.join(rules)}的要求,"


def r_finding(result: EvaluationResult, rid: str, failing: list[str] | None = None) -> str:
    """What the county has on one R indicator, ending with the verdict sentence. Every clause
    follows from the indicator's status and its rule: the county value (全县平均) is reported but
    is not the criterion; a unit falling short fails the indicator only when the unit itself does
    not comply, a CV over its limit always does, and the sentence says which of these it was."""
    unit = unit_word(indicator_unit(result, rid))
    segments = [s for s in segments_of(result) if result.resource.cv[s][rid].applicable]
    if not segments:
        return "本县无参加评估的学校(学段)。" + VERDICT_SENTENCES[r_status(result, rid, failing)]
    figures = [segment_figures(result, rid, s) for s in segments]
    if not r_thresholds_exist(result):
        return _r_finding_without_units(result, rid, figures, failing)
    values = ",".join(f"{segment_label(f.segment)}为{fixed(f.county_value)}{unit}" for f in figures)
    parts = [f"我县{values}(全县按学生数计算的县域值){county_value_phrase(figures)}"]
    counts = [f"{segment_label(f.segment)}{len(f.units)}个评估单位" +
              ("全部达到标准值" if f.reached == len(f.units) else f"中{f.reached}个达到标准值") for f in figures]
    parts.append(";".join(counts))
    below = [u for f in figures for u in f.below]
    if below:
        named = [f"{unit_label(u)}{fixed(u.indicators[rid].value)}{unit}" for u in below]
        parts.append(f"未达到标准值的有:{joined(named)}")
    unknown = sum(f.unknown for f in figures)
    if unknown:
        parts.append(f"{unknown}个单位数据缺失")
    parts.append("校际差异系数" + "、".join(cv_phrase(f.cv, f.segment) for f in figures))
    status = r_status(result, rid, failing)
    text = ";".join(parts) + "。"
    if status is False:
        return text + r_failure_reason(result, rid, figures) + VERDICT_SENTENCES[False]
    tolerated = [u for u in below if u.compliant is True]
    if tolerated:
        text += (f"其中{len(tolerated)}个单位本项未达到标准值,但{_count(result)}项中至少{per_school_min_met(result)}项达标"
                 f"且其余不低于标准值的{per_school_floor(result)},按规定仍为达标单位。")
    if status is True and not all(_reaches(f) for f in figures):
        text += "县域值仅作参考,本项按各学校(学段)是否达标和校际差异系数判定。"
    return text + VERDICT_SENTENCES[status]


def _r_finding_without_units(result: EvaluationResult, rid: str, figures: list[SegmentFigures],
                             failing: list[str] | None) -> str:
    """A unit-level indicator of a standard that judges no unit one by one: the county values,
    how many units enter the CV, the CVs and, under a composite limit, what it is judged by."""
    unit = unit_word(indicator_unit(result, rid))
    values = ",".join(f"{segment_label(f.segment)}为{fixed(f.county_value)}{unit}" for f in figures)
    parts = [f"我县{values}(全县按学生数计算的县域值)",
             ";".join(f"{segment_label(f.segment)}{len(f.units)}个评估单位" for f in figures)]
    unknown = sum(1 for f in figures for u in f.units if u.indicators[rid].value is None)
    if unknown:
        parts.append(f"{unknown}个单位数据缺失")
    parts.append("校际差异系数" + "、".join(cv_phrase(f.cv, f.segment) for f in figures))
    text = ";".join(parts) + "。"
    if result.resource.composite_cv:
        text += "本项差异系数计入" + "、".join(composite_phrase(result, f.segment) for f in figures
                                           if f.segment in result.resource.composite_cv) + "。"
    status = r_status(result, rid, failing)
    if status is False:
        return text + r_failure_reason(result, rid, figures) + VERDICT_SENTENCES[False]
    return text + VERDICT_SENTENCES[status]


def per_school_min_met(result: EvaluationResult) -> int:
    standard = standard_named(result.standard)
    rule = standard.per_school_rule if standard else None
    return rule.min_met if rule else 6


def per_school_floor(result: EvaluationResult) -> str:
    standard = standard_named(result.standard)
    rule = standard.per_school_rule if standard else None
    return f"{(rule.floor_ratio if rule else 0.85):.0%}"


def r_failing_reason(result: EvaluationResult, rid: str) -> str:
    """Why an R indicator fails, in one line (the 研判结论 table)."""
    reasons = []
    weak = [u for u in result.resource.units if u.compliant is False and u.indicators[rid].met is False]
    if weak:
        reasons.append(f"{len(weak)}个未达标单位本项未达到标准值:{joined([unit_label(u) for u in weak], 5)}")
    composite = result.resource.composite_cv or {}
    for segment in segments_of(result):
        cv = result.resource.cv[segment].get(rid)
        if cv is not None and cv.met is False:
            value = cv_text(cv.value) if cv.value is not None else "无定义"
            reasons.append(f"{segment_label(segment)}校际差异系数{value},超过上限{cv.limit:g}")
        c = composite.get(segment)
        if cv is not None and c is not None and c.met is False:
            value = cv_text(c.value) if c.value is not None else "无定义"
            reasons.append(f"{segment_label(segment)}综合差异系数{value},超过上限{c.limit:g}"
                           f"(本项差异系数{cv_text(cv.value)})")
    return ";".join(reasons)


def unit_reason_text(unit: UnitResult) -> str:
    if unit.reasons:
        return ";".join(unit.reasons)
    missing = [rid for rid, ind in unit.indicators.items() if ind.value is None]
    return f"{'、'.join(missing)} {MISSING_TEXT}" if missing else ""


def unit_gap_text(unit: UnitResult) -> str:
    return ";".join(f"{rid}:{gap_text(ind.gap)}" for rid, ind in unit.indicators.items() if ind.gap)


# ---------------------------------------------------------------------------------------------
# Items (the indicators judged as a whole: county or school checks)


def ref_label(result: EvaluationResult, item: ItemResult, check: CheckResult) -> str | None:
    """The label of the field a check compares against (G8: 公务员平均工资收入)."""
    standard = standard_named(result.standard)
    if standard is None or item.id not in standard.indicators:
        return None
    rule = standard.indicator(item.id).rule
    checks = getattr(rule, "checks", {}) | getattr(rule, "county_checks", {})
    spec = checks.get(check.name)
    if spec is None or not spec.ref_field:
        return None
    from junheng.reports.standards import field_label

    return field_label(spec.ref_field)


def quoted_label(label: str) -> str:
    """A label inside “…”: its own ASCII quotes become the inner quotes ‘…’."""
    return re.sub(r'"([^"]*)"', "\u2018\\1\u2019", label)


def check_sentence(result: EvaluationResult, item: ItemResult, check: CheckResult) -> str:
    if check.value is None:
        return f"{check.label}{MISSING_TEXT}"
    if isinstance(check.value, bool):
        return f"“{quoted_label(check.label)}”填报为“{'是' if check.value else '否'}”"
    if check.comparison == "达到":  # a monitored subject (Q9)
        return f"{check.label}学科{check.value}(标准:{check.threshold})"
    if is_number(check.value):
        value = amount(check.value, check.unit)
        if is_number(check.threshold):
            ref = ref_label(result, item, check)
            bound = amount(check.threshold, check.unit)
            standard = f"{check.comparison}{ref}{bound}" if ref else f"{check.comparison}{bound}"
            return f"{check.label}为{value}(标准:{standard})"
        return f"{check.label}为{value}"
    return f"{check.label}:{check.value}(标准:{check.threshold})"


def item_value_text(item: ItemResult) -> str:
    """The county's value of an item, short (tables)."""
    if isinstance(item.value, bool):
        return "是" if item.value else "否"
    if is_number(item.value):
        return amount(item.value, item.unit)
    if isinstance(item.value, str):
        return item.value
    if item.checks:
        return ";".join(f"{c.label}:{check_value(c)}" for c in item.checks) + _schools_suffix(item)
    if item.schools_checked is not None:
        failing = sum(s.met is False for s in item.schools)
        unknown = sum(s.met is None for s in item.schools)
        text = f"检查{item.schools_checked}所"
        if failing:
            text += f",{failing}所未达标"
        if unknown:
            text += f",{unknown}所{MISSING_TEXT}"
        return text
    return MISSING_TEXT if item.met is None else "—"


def check_value(c: CheckResult) -> str:
    if c.value is None:
        return MISSING_TEXT
    if isinstance(c.value, bool):
        return "是" if c.value else "否"
    if is_number(c.value):
        return amount(c.value, c.unit)
    return str(c.value)


def _schools_suffix(item: ItemResult) -> str:
    if item.schools_checked is None:
        return ""
    failing = sum(s.met is False for s in item.schools)
    return f";检查{item.schools_checked}所" + (f",{failing}所未达标" if failing else "")


def item_failure_reason(item: ItemResult) -> str:
    """Why a G/Q/S item fails, when the sentence before could read as a pass: the schools short
    of it (school-level items require every school to meet it) or the county check that fails;
    ends with "," before the verdict sentence."""
    failing_schools = [s for s in item.schools if s.met is False]
    failing_checks = [c for c in item.checks if c.met is False]
    if failing_schools:
        lead = ""
        if item.checks and not failing_checks and all(c.met is True for c in item.checks):
            lead = "、".join(c.label for c in item.checks) + "达到标准,但"
        elif failing_checks:
            lead = "、".join(c.label for c in failing_checks) + "未达到标准,且"
        if not lead:  # the sentence has just named them
            return "按“每所学校均须达到”的要求,"
        return f"{lead}有{len(failing_schools)}所学校未达到要求;按“每所学校均须达到”的要求,"
    if failing_checks and item.schools_checked:
        return f"各学校均达到要求,但{'、'.join(c.label for c in failing_checks)}未达到标准,"
    return ""


def item_finding(result: EvaluationResult, item: ItemResult) -> str:
    """What the county has on one G/Q/S item, ending with the verdict sentence."""
    parts: list[str] = []
    if item.schools_checked is not None:
        failing = [s for s in item.schools if s.met is False]
        unknown = [s for s in item.schools if s.met is None]
        text = f"全县纳入检查的学校{item.schools_checked}所"
        if failing:
            named = [f"{s.school_name}({s.detail})" for s in failing]
            text += f",其中{len(failing)}所未达标:{joined(named)}"
        if unknown:
            text += f";{len(unknown)}所{MISSING_TEXT}:{joined([s.school_name for s in unknown])}"
        if not failing and not unknown and item.schools_checked:
            text += ",均达到要求"
        parts.append(text)
    parts += [check_sentence(result, item, c) for c in item.checks]
    if not parts and item.met is None:
        parts.append(MISSING_TEXT)
    text = ";".join(parts) + "。"
    if not text.startswith("全县"):
        text = "我县" + text
    if item.met is False and item.gap is not None:
        text += f"{gap_text(item.gap)}。"
    if item.met is None and item.missing:
        text += "缺少:" + "、".join(dict.fromkeys(m.label for m in item.missing)) + "。"
    if item.met is False:
        text += item_failure_reason(item)
    return text + VERDICT_SENTENCES[item.met]


def item_requirement(item: ItemResult) -> str:
    name = item.name.rstrip("。")
    return f"{name}。"


def item_failing_reason(item: ItemResult) -> str:
    failing = [s for s in item.schools if s.met is False]
    if failing:
        return f"{len(failing)}所学校未达标:" + joined([f"{s.school_name}({s.detail})" for s in failing], 5)
    bad = [c for c in item.checks if c.met is False]
    if bad:
        return ";".join(f"{c.label}为{check_value(c)}" + (f"(标准:{c.comparison}{amount(c.threshold, c.unit)})"
                                                          if is_number(c.threshold) else "") for c in bad)
    return item.explanation


# ---------------------------------------------------------------------------------------------
# The whole result


def area_counts(result: EvaluationResult, area: str, failing: list[str] | None = None) -> tuple[int, int, int, int]:
    """(indicators, met, not met, missing) of an area (none of an area the standard lacks)."""
    if area == "resource_allocation":
        states = [r_status(result, rid, failing) for rid in result.resource_ids()]
    else:
        states = [i.met for i in result.item_area(area).indicators.values()]
    return len(states), states.count(True), states.count(False), states.count(None)


def indicator_statuses(result: EvaluationResult) -> dict[str, bool | None]:
    """Every indicator's county-level status (the unit-level ones via r_status)."""
    failing = result.failing_items()
    statuses = {rid: r_status(result, rid, failing) for rid in result.resource_ids()}
    for area in result.areas.items().values():
        statuses |= {i: item.met for i, item in area.indicators.items()}
    return statuses


def is_unit_level(result: EvaluationResult, indicator_id: str) -> bool:
    return indicator_id in result.resource_ids()


def indicator_title(result: EvaluationResult, indicator_id: str) -> str:
    if is_unit_level(result, indicator_id):
        return indicator_name(result, indicator_id)
    item = result.item(indicator_id)
    if item is not None:
        return item.name
    spec = indicator_spec(result, indicator_id)
    return spec.name if spec else indicator_id


def area_of(result: EvaluationResult, indicator_id: str) -> str:
    if is_unit_level(result, indicator_id):
        return area_label(result, "resource_allocation")
    for area, found in result.areas.items().items():
        if indicator_id in found.indicators:
            return area_label(result, area)
    return ""


def failing_reason(result: EvaluationResult, indicator_id: str) -> str:
    if is_unit_level(result, indicator_id):
        return r_failing_reason(result, indicator_id)
    item = result.item(indicator_id)
    return item_failing_reason(item) if item is not None else ""


def veto_lines(result: EvaluationResult) -> list[tuple[str, str, bool | None]]:
    """(label, state text, met) for each veto item: met True = not triggered."""
    out = []
    for key, label in result.veto.labels.items():
        if key in result.veto.triggered:
            out.append((label, "有(一票否决)", False))
        elif key in result.veto.missing:
            out.append((label, "未填报", None))
        else:
            out.append((label, "无", True))
    return out


def school_year_text(year: int) -> str:
    return f"{year}—{year + 1}学年"


def areas_title(count: int) -> str:
    """四个方面, 两个方面: how many areas a standard has."""
    return ("两" if count == 2 else chinese_number(count)) + "个方面"


def areas_phrase(result: EvaluationResult) -> str:
    """“资源配置、政府保障程度、教育质量、社会认可度四个方面”: the areas of the result's standard."""
    names = [area_label(result, a) for a in result.areas.present()]
    return "、".join(names) + areas_title(len(names))


def verdict_paragraph(result: EvaluationResult, subject: str = "我县") -> str:
    """The conclusion in words; `subject` is 我县 in a county's own report, its name elsewhere.
    The values the standard reports without judging them close it, marked 不参与判定."""
    text = _verdict_text(result, subject)
    reported = reported_sentence(result)
    return text + (f"另报告{reported}" if reported else "")


def _verdict_text(result: EvaluationResult, subject: str) -> str:
    failing = result.failing_items()
    conclusion = "自评结论" if subject == "我县" else "评估结论"
    kind = "优质均衡" if is_quality_standard(result) else "均衡"
    where = f"对照{result.standard_name},{subject}{school_year_text(result.year)}义务教育{kind}发展"
    if result.provisional and result.coverage is not None:
        c = result.coverage
        text = (where + f"评估所需数据尚不完整:全县应有{c.schools_expected}所学校,已纳入{c.schools_included}所"
                + ("" if c.county_year else ",县级年度数据尚未审核定稿") + "。")
        if failing:
            text += f"已纳入的数据中有{len(failing)}项指标未达到标准({'、'.join(failing)}),仅供整改参考。"
        return text + f"{conclusion}:数据不完整,暂不作出结论。"
    if result.verdict == "pass":
        veto = ",未发现一票否决情形" if result.veto.labels else ""
        return where + f"{areas_phrase(result)}的全部指标均达到标准{veto}。{conclusion}:达标。"
    if result.verdict == "fail":
        text = where + f"{conclusion}:未达标。"
        if failing:
            text += f"共有{len(failing)}项指标未达到标准:{'、'.join(failing)}。"
        if result.veto.triggered:
            text += "存在一票否决情形:" + "、".join(result.veto.labels.get(k, k) for k in result.veto.triggered) + "。"
        if result.missing_inputs:
            text += f"另有{len(result.missing_inputs)}项数据缺失,见附表。"
        return text
    return (where + f"已评估的指标中未发现不达标项,但有{len(result.missing_inputs)}项数据缺失,"
            f"补齐数据后方可作出结论。{conclusion}:数据不全,暂无法判定。")


def gap_summary(gap: Gap | None) -> str:
    return gap_text(gap)

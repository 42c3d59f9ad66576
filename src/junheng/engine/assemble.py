"""Turn the engine's tables for one county and year into an explained EvaluationResult.

Everything computed over schools happened in Ibis (resources.py, checks.py); this module reads
the rows of one county, judges the county-level items, names missing inputs and allowances, and
writes the explanations and gaps in real units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from operator import itemgetter

from junheng.data.catalog import catalog
from junheng.engine.result import (
    SCHEMA_VERSION,
    VERDICT_LABELS,
    AllowanceApplied,
    Areas,
    CheckResult,
    CompositeCV,
    Coverage,
    CVResult,
    EvaluationResult,
    ExcludedUnit,
    Gap,
    ItemArea,
    ItemResult,
    MissingInput,
    Precondition,
    ReportedResult,
    ResourceArea,
    SchoolFinding,
    ValueSource,
    VetoResult,
    combine_met,
)
from junheng.engine.rows import Rows, SchoolYearLookup
from junheng.engine.tolerance import EPS
from junheng.engine.wording import OPS, clean, met_word, num
from junheng.standards.model import Check, Indicator, Standard

STUDENTS_MISSING = "该学段在校生数缺失,无法评估"
SEGMENT_LABELS = {"primary": "小学", "junior": "初中"}


def _label(table: str, key: str) -> str:
    return catalog().field_label(key, table)


def _missing(indicator: str, table: str, key: str, school_id=None, school_name=None) -> MissingInput:
    return MissingInput(indicator=indicator, table=table, field=key, label=_label(table, key),
                        school_id=school_id, school_name=school_name)


def _ceil(x: float) -> int:
    return int(math.ceil(x - 1e-9))


@dataclass
class CountyFrames:
    """The engine's rows for one county and year."""

    county_code: str
    year: int
    units: Rows
    excluded: Rows
    cv: Rows
    schools: Rows  # school-level check columns
    county: dict | None  # county-level check columns (None: no county_year row)
    county_raw: dict | None  # the county_year row itself
    school_year: SchoolYearLookup  # the raw school_year rows (for naming missing inputs)
    quality: list[dict]
    sources: dict = field(default_factory=dict)  # county_year field → ValueSource dict (Dataset.value_sources)


# ---------------------------------------------------------------- resource allocation

def _unit_gap(ind: Indicator, segment: str, students: int, resource: float | None, share: float | None,
              value: float | None, explicit: bool) -> Gap | None:
    rule = ind.rule
    threshold = ind.thresholds[segment]  # only called for a unit judged against its threshold
    needed = threshold * students / rule.scale - (resource or 0.0)
    if value is None or needed <= 0:
        return None
    note = None
    if rule.source == "shared" and not explicit and share and share < 1 - EPS:
        # Adding to a shared facility raises this unit's part only by its share.
        needed_school = needed / share
        note = (f"本单位按学生数折算分得全校的 {share:.2%};全校需增加 {num(needed_school)}"
                f" {rule.gap_unit}(本学段分得 {num(needed)})")
        needed = needed_school
    amount = _ceil(needed) if rule.gap_integer else round(needed, 2)
    return Gap(amount=amount, unit=rule.gap_unit, what=f"需增加{rule.gap_label}", note=note)


def _resource_area(std: Standard, f: CountyFrames, missing: list[MissingInput],
                   allowances: list[AllowanceApplied]) -> ResourceArea:
    indicators = std.resource_indicators()
    rule = std.per_school_rule
    # Units and their indicators are built as plain dicts and validated once, by ResourceArea, in
    # pydantic's core: a nation has about 220,000 units, and a model per unit and indicator cost
    # more than the rest of the assembly (same fields and coercions either way). The unit table is
    # read column by column (rows.py): a dict per row cost more than the SQL that made it.
    u = f.units
    n = len(u)
    ids, names, types = u.column("school_id"), u.column("school_name"), u.column("school_type")
    segments, students, shares = u.column("segment"), u.column("students"), u.column("share")
    met_counts, unknown_counts, compliant = u.column("met_count"), u.column("unknown_count"), u.column("compliant")
    nothing = [None] * n
    # Each indicator's columns and its per-unit results, built column by column; a unit's own
    # loop over its indicators only where one is unmet or unknown (reasons, gaps, missing inputs).
    columns, results = [], []
    for ind in indicators:
        values, mets, resources = u.column(ind.id), u.column(f"{ind.id}_met"), u.column(f"res_{ind.id}")
        explicits = u.column(f"explicit_{ind.id}") if u.has(f"explicit_{ind.id}") else nothing
        thresholds = [ind.thresholds.get(seg) for seg in segments] if rule is not None and ind.thresholds else nothing
        ratios = [v / t if v is not None and t else None for v, t in zip(values, thresholds)]
        columns.append((ind, values, mets, explicits, resources, thresholds, ratios))
        results.append((ind.id, [{"value": v, "threshold": t, "met": m, "ratio": r, "resource": res, "gap": None}
                                 for v, t, m, r, res in zip(values, thresholds, mets, ratios, resources)]))
    everything_met = len(indicators)
    enabled = [(key, allowance, u.column(f"allowance__{key}")) for key, allowance in std.enabled_allowances().items()
               if u.has(f"allowance__{key}")]
    units: list[dict] = []
    no_count: list[ExcludedUnit] = []
    for k in range(n):
        school_id, school_name, segment = ids[k], names[k], segments[k]
        if students[k] is None:
            # Without its student count a unit has no value at all; its segment's CVs are unknown too.
            no_count.append(ExcludedUnit(school_id=school_id, school_name=school_name,
                                         segment=segment, students=None, reason=STUDENTS_MISSING))
            missing.append(_missing("resource_allocation", "school_year", f"students_{segment}",
                                    school_id, school_name))
            continue
        ind_results = {ind_id: dicts[k] for ind_id, dicts in results}
        reasons: list[str] = []
        met_count = int(met_counts[k])
        if met_count != everything_met:
            for ind, values, mets, explicits, resources, thresholds, ratios in columns:
                value, met, threshold, ratio = values[k], mets[k], thresholds[k], ratios[k]
                explicit = bool(explicits[k])
                if met is False:
                    ind_results[ind.id]["gap"] = _unit_gap(ind, segment, students[k], resources[k], shares[k],
                                                           value, explicit)
                    floor_note = "" if ratio is None or ratio >= rule.floor_ratio - EPS else f",不足{rule.floor_ratio:.0%}"
                    reasons.append(f"{ind.id} {ind.name} {value:.2f}{' ' + ind.unit if ind.unit else ''},"
                                   f"达标值 {threshold:g}(达到 {ratio:.1%}{floor_note})")
                if value is None:
                    if rule is not None:
                        reasons.append(f"{ind.id} {ind.name}:数据缺失")
                    source = f.school_year.row(school_id, f.year)
                    for key in _resource_inputs(ind, segment, explicit):
                        if source.get(key) is None:
                            missing.append(_missing(ind.id, "school_year", key, school_id, school_name))
            if rule is not None and met_count < rule.min_met and int(unknown_counts[k]) == 0:
                reasons.insert(0, f"{len(indicators)} 项中 {met_count} 项达标,至少需 {rule.min_met} 项")
        for key, allowance, applied in enabled:
            if applied[k]:
                allowances.append(AllowanceApplied(
                    allowance=key, label=allowance.label, indicator=allowance.indicator, school_id=school_id,
                    school_name=school_name, detail=f"{SEGMENT_LABELS.get(segment, segment)}学段"))
        units.append({
            "school_id": school_id, "school_name": school_name, "school_type": types[k],
            "segment": segment, "students": int(students[k]), "share": shares[k],
            "indicators": ind_results, "met_count": met_count, "compliant": compliant[k], "reasons": reasons})

    cv: dict[str, dict[str, CVResult]] = {}
    cv_rows = {(r["segment"], r["indicator"]): r for r in f.cv}
    for segment in std.segments:
        in_segment = [k for k in range(n) if segments[k] == segment and students[k] is not None]
        cv[segment] = {}
        limit = std.cv_limit(segment)
        for ind, values, *_ in columns:
            r = cv_rows.get((segment, ind.id))
            if r is None:
                cv[segment][ind.id] = CVResult(value=None, limit=limit, met=None if std.composite_cv else True,
                                               applicable=False,
                                               note=f"本县无{SEGMENT_LABELS.get(segment, segment)}学段评估单位")
                continue
            value, mean = r["value"], r["county_value"]
            note = None
            if int(r["missing"]) > 0:
                note = f"{int(r['missing'])} 个单位缺少数据,差异系数无法判定"
            elif value is None:
                note = "县域均值为0,差异系数无定义,按未达标处理"
            cv[segment][ind.id] = CVResult(
                value=value, limit=limit, met=r["met"], county_value=mean, units=int(r["units"]),
                students=int(r["students"] or 0), note=note,
                largest_contributors=_contributors(in_segment, values, students, ids, names, mean))
    excluded = [ExcludedUnit(school_id=r["school_id"], school_name=r["school_name"], segment=r["segment"],
                             students=r["students"], reason=r["excluded"])
                for r in f.excluded] + no_count
    compliance = [unit["compliant"] for unit in units] if rule is not None else []
    composite = _composite_cv(std, cv) if std.composite_cv else None
    judged = compliance + ([c.met for c in composite.values()] if composite is not None
                           else [c.met for seg in cv.values() for c in seg.values()])
    met = combine_met(judged)
    return ResourceArea(met=met, label=std.area_label("resource_allocation"), units=units, cv=cv,
                        composite_cv=composite, per_school_rule=rule is not None, excluded=excluded,
                        indicator_names={i.id: i.name for i in indicators},
                        indicator_units={i.id: i.unit or "" for i in indicators},
                        compliant_units=sum(c is True for c in compliance),
                        noncompliant_units=sum(c is False for c in compliance))


def _composite_cv(std: Standard, cv: dict[str, dict[str, CVResult]]) -> dict[str, CompositeCV]:
    """Per segment the mean of its indicator CVs against the composite limit. A segment without
    units has nothing to judge (met, like a single CV with no units); an unknown or undefined
    CV leaves the mean unknown (null: the missing input is named with the CV)."""
    out: dict[str, CompositeCV] = {}
    for segment, items in cv.items():
        limit = std.composite_cv_limits[segment]
        applicable = [c for c in items.values() if c.applicable]
        if not applicable:
            out[segment] = CompositeCV(value=None, limit=limit, met=True,
                                       note=f"本县无{SEGMENT_LABELS.get(segment, segment)}学段评估单位")
            continue
        values = [c.value for c in applicable]
        if any(v is None for v in values):
            unknown = [i for i, c in items.items() if c.applicable and c.value is None]
            out[segment] = CompositeCV(value=None, limit=limit, met=None, indicators=len(applicable),
                                       note=f"{'、'.join(unknown)} 的差异系数无法计算,综合差异系数无法判定")
            continue
        mean = sum(values) / len(values)
        out[segment] = CompositeCV(value=mean, limit=limit, met=mean <= limit + EPS, indicators=len(values))
    return out


def _resource_inputs(ind: Indicator, segment: str, explicit: bool) -> list[str]:
    rule = ind.rule
    if rule.source == "segment" or explicit:
        return [f"{rule.resource}_{segment}"]
    return [rule.resource]


def _contributors(units: list[int], values: list, students: list, ids: list, names: list,
                  mean: float | None, top: int = 3) -> list[dict]:
    """The units (positions in the county's unit columns) that add most to the weighted
    variance: where to look first."""
    if mean is None or not units:
        return []
    parts = [(students[k] * (values[k] - mean) ** 2, k) for k in units if values[k] is not None]
    total = sum(map(itemgetter(0), parts))
    if not total or math.isnan(total):
        return []
    parts.sort(key=itemgetter(0), reverse=True)  # stable: equal parts keep the units' order
    return [
        {"school_id": ids[k], "school_name": names[k], "value": float(values[k]),
         "share_of_variance": float(p / total), "direction": "低于县域均值" if values[k] < mean else "高于县域均值"}
        for p, k in parts[:top]
    ]


# ---------------------------------------------------------------- checks

_WORDING: dict[tuple[int, str], tuple[Check, str, object, str]] = {}  # (id(check), name) → its fixed wording


def _check_wording(name: str, check: Check) -> tuple[str, object, str]:
    """A check's label, threshold and comparison as the standard states them: the same for every
    county, so worded once per check (the check is kept in the entry, so its id is never reused)."""
    entry = _WORDING.get((id(check), name))
    if entry is None or entry[0] is not check:
        label = check.label or (_label("county_year", check.field) if check.field else name)
        if check.op in ("is_true",):
            threshold, comparison = "是", "为“是”"
        elif check.op == "in":
            values = catalog().table("school_year").field(check.field).values or {}
            threshold, comparison = "、".join(values.get(v, v) for v in check.values), "属于"
        else:
            threshold, comparison = check.threshold, OPS[check.op]
        if len(_WORDING) > 10_000:  # standards reloaded again and again (edited files): start afresh
            _WORDING.clear()
        entry = _WORDING[(id(check), name)] = (check, label, threshold, comparison)
    return entry[1:]


def _check_result(name: str, check: Check, value, met, bound) -> CheckResult:
    label, threshold, comparison = _check_wording(name, check)
    if check.ref_field and check.op not in ("is_true", "in"):
        threshold = clean(bound)  # the bound is the county's own value of another field
    if isinstance(value, float) and check.op == "is_true":
        value = bool(value)
    return CheckResult(name=name, label=label, value=clean(value), threshold=threshold, comparison=comparison,
                       met=clean(met), unit=check.unit)


def _describe_check(c: CheckResult) -> str:
    if c.value is None:
        return f"{c.label}:数据缺失"
    if isinstance(c.value, bool):
        return f"{c.label}:{'是' if c.value else '否'}"
    value = num(c.value, c.unit) if isinstance(c.value, (int, float)) else str(c.value)
    threshold = num(c.threshold, c.unit) if isinstance(c.threshold, (int, float)) else c.threshold
    return f"{c.label} {value}(标准:{c.comparison} {threshold})"


def _ratio_gap(check: Check, value, base, denominator) -> Gap | None:
    """For a ratio below its threshold: how much the numerator must grow."""
    if value is None or base is None or denominator is None or check.threshold is None:
        return None
    need = check.threshold / check.ratio.scale * denominator - base
    if need <= 0:
        return None
    spec = None
    for table in ("county_year", "school_year"):
        try:
            spec = catalog().table(table).field(check.gap_field)
            break
        except KeyError:
            continue
    unit = spec.unit if spec else ""
    amount = _ceil(need) if spec is not None and spec.type == "count" else round(need, 2)
    return Gap(amount=amount, unit=unit or "", what=f"需增加{spec.label if spec else check.gap_field}")


def _county_checks(ind: Indicator, checks: dict[str, Check], f: CountyFrames,
                   missing: list[MissingInput]) -> tuple[list[CheckResult], Gap | None]:
    results, gap = [], None
    for name, check in checks.items():
        prefix = f"{ind.id}__{name}__"
        row = f.county or {}
        value, met = row.get(prefix + "value"), clean(row.get(prefix + "met"))
        bound = row.get(prefix + "bound")
        result = _check_result(name, check, clean(value), met, bound)
        results.append(result)
        if met is None:
            for key in check.inputs():
                if f.county_raw is None or clean(f.county_raw.get(key)) is None:
                    missing.append(_missing(ind.id, "county_year", key))
        elif met is False:
            if check.ratio is not None and check.gap_field:
                gap = gap or _ratio_gap(check, clean(value), clean(row.get(prefix + "gap_base")),
                                        clean(row.get(prefix + "denominator")))
            elif check.threshold is not None and isinstance(result.value, (int, float)) and check.op in (">=", ">"):
                gap = gap or Gap(amount=round(check.threshold - result.value, 2), unit=check.unit or "",
                                 what=f"{result.label}需提高")
            elif check.ref_field and isinstance(result.value, (int, float)) and bound is not None:
                gap = gap or Gap(amount=round(float(bound) - result.value, 2), unit=check.unit or "",
                                 what=f"{result.label}需提高")
    return results, gap


def _item(ind: Indicator, met, explanation: str, **kwargs) -> ItemResult:
    return ItemResult(id=ind.id, name=ind.name, met=met, explanation=explanation, unit=ind.unit,
                      responsible=list(ind.responsible), **kwargs)


def _county_item(ind: Indicator, f: CountyFrames, missing: list[MissingInput]) -> ItemResult:
    own_missing: list[MissingInput] = []
    checks, gap = _county_checks(ind, ind.rule.checks, f, own_missing)
    missing += own_missing
    met = combine_met([c.met for c in checks])
    explanation = ";".join(_describe_check(c) for c in checks) + f"。{_verdict_sentence(met)}"
    single = checks[0] if len(checks) == 1 else None
    sources = {}
    if f.sources:  # a store's data: which values were computed or overtyped
        read = [key for check in ind.rule.checks.values() for key in check.inputs()]
        sources = {key: ValueSource(**f.sources[key]) for key in read if key in f.sources}
    if sources:  # every face shows the explanation: a computed (or overtyped) value says so there
        explanation += "数据来源:" + ";".join(s.label for s in sources.values()) + "。"
    return _item(ind, met, explanation, checks=checks, gap=gap, missing=own_missing,
                 value=single.value if single else None, threshold=single.threshold if single else None,
                 sources=sources)


def _verdict_sentence(met: bool | None) -> str:
    return {True: "此项达标。", False: "此项暂不达标。", None: "此项数据缺失,无法判定。"}[met]


def _school_item(ind: Indicator, std: Standard, f: CountyFrames, missing: list[MissingInput],
                 allowances: list[AllowanceApplied]) -> ItemResult:
    kind = ind.rule.kind
    rows = f.schools  # read column by column; a school's whole row only where it is not met
    scoped = [k for k, inside in enumerate(rows.column(f"{ind.id}__in_scope")) if inside]
    mets = rows.column(f"{ind.id}__met")
    ids, names = rows.column("school_id"), rows.column("school_name")
    findings: list[SchoolFinding] = []
    own_missing: list[MissingInput] = []
    own_allowances = [(key, a, rows.column(f"{ind.id}__allowance__{key}"))
                      for key, a in std.enabled_allowances().items()
                      if a.indicator == ind.id and rows.has(f"{ind.id}__allowance__{key}")]
    for k in scoped if own_allowances else ():
        for key, allowance, applied in own_allowances:
            if clean(applied[k]):
                allowances.append(AllowanceApplied(allowance=key, label=allowance.label, indicator=ind.id,
                                                   school_id=ids[k], school_name=names[k],
                                                   detail=allowance.label))
    unmet = [k for k in scoped if mets[k] is not True]  # most schools meet it: only the others are read
    for k in unmet:
        met = clean(mets[k])
        row = rows.row(k)
        detail, gap, inputs = SCHOOL_DETAILS[kind](ind, row)
        findings.append(SchoolFinding(school_id=ids[k], school_name=names[k], met=met, detail=detail, gap=gap))
        if met is None:
            own_missing += [_missing(ind.id, "school_year", key, ids[k], names[k]) for key in inputs]
    school_met = combine_met([mets[k] for k in unmet]) if unmet else True
    checks: list[CheckResult] = []
    value = threshold = gap = None
    if kind == "teacher_certification":
        teachers, certified = rows.column(f"{ind.id}__teachers"), rows.column(f"{ind.id}__certified")
        school_met, value, threshold, checks, gap = _certification(
            ind, [teachers[k] for k in scoped], [certified[k] for k in scoped], f, own_missing)
    if kind == "school_checks" and ind.rule.county_checks:
        checks, _ = _county_checks(ind, ind.rule.county_checks, f, own_missing)
    met = combine_met([school_met] + [c.met for c in checks])
    missing += own_missing
    failing = [x for x in findings if x.met is False]
    unknown = [x for x in findings if x.met is None]
    parts = [f"纳入检查 {len(scoped)} 所学校"]
    if failing:
        parts.append(f"{len(failing)} 所未达标:" + "、".join(x.school_name for x in failing[:10])
                     + (" 等" if len(failing) > 10 else ""))
    if unknown:
        parts.append(f"{len(unknown)} 所数据缺失")
    if not failing and not unknown and len(scoped):
        parts.append("全部达标")
    parts += [_describe_check(c) for c in checks if kind != "teacher_certification"]
    if kind == "teacher_certification" and value is not None:
        parts.append(f"全县持证上岗率 {num(value, '%')}")
    explanation = ",".join(parts[:1]) + (";" + ";".join(parts[1:]) if parts[1:] else "") + f"。{_verdict_sentence(met)}"
    return _item(ind, met, explanation, schools=findings, schools_checked=len(scoped), checks=checks,
                 missing=own_missing, value=value, threshold=threshold, gap=gap)


def _certification(ind: Indicator, teachers: list, certified: list, f: CountyFrames, missing: list[MissingInput]):
    """The county's certification rate from its schools' counts (`teachers`, `certified`: one
    per school in scope), or the county's own figure when a school's count is missing."""
    rule = ind.rule
    known = all(c is not None for c in certified)
    total = float(sum(t or 0 for t in teachers))
    if known and total > 0:
        done = float(sum(certified))
        rate = 100.0 * done / total
        met = rate >= rule.threshold - EPS
        gap = None if met else Gap(amount=_ceil(rule.threshold / 100 * total - done), unit="人",
                                   what="未持证专任教师需取得教师资格证或调整岗位")
        check = CheckResult(name="rate", label="持证上岗率(学校数据汇总)", value=rate, threshold=rule.threshold,
                            comparison=OPS[">="], met=met, unit="%")
        return met, rate, rule.threshold, [check], gap
    fallback = clean((f.county_raw or {}).get(rule.fallback_field)) if rule.fallback_field else None
    if fallback is not None:
        met = fallback >= rule.threshold - EPS
        check = CheckResult(name="rate", label="持证上岗率(县级填报值)", value=fallback, threshold=rule.threshold,
                            comparison=OPS[">="], met=met, unit="%")
        return met, fallback, rule.threshold, [check], None
    if rule.fallback_field:
        missing.append(_missing(ind.id, "county_year", rule.fallback_field))
    return None, None, rule.threshold, [], None


def _rooms_detail(ind: Indicator, row: dict):
    rule = ind.rule
    required = clean(row[f"{ind.id}__required_rooms"])
    parts, inputs, gap = [], [], None
    if required is None:
        return "班级数缺失", None, _own_fields(row, "classes")
    for name, room in rule.rooms.items():
        rooms = clean(row[f"{ind.id}__{name}_rooms"])
        area = clean(row[f"{ind.id}__{name}_area"])
        min_area = clean(row[f"{ind.id}__{name}_min_area"])
        if rooms is None:
            inputs.append(room.rooms_field)
            parts.append(f"{room.label}数缺失")
            continue
        if rooms < required:
            parts.append(f"{room.label} {num(rooms)} 间,按 {num(clean(row[f'{ind.id}__classes']))} 个班应至少 {num(required)} 间")
            gap = gap or Gap(amount=required - rooms, unit="间", what=f"需增建{room.label}")
        if rooms > 0 and area is None:
            inputs.append(room.area_field)
            parts.append(f"{room.label}最小面积缺失")
        elif rooms > 0 and area < min_area - EPS:
            parts.append(f"{room.label}最小面积 {num(area, 'm²')},应不小于 {num(min_area, 'm²')}")
            gap = gap or Gap(amount=round(min_area - area, 2), unit="m²", what=f"最小的{room.label}需扩大面积")
    return ";".join(parts) or "数据不全", gap, inputs


def _own_fields(row: dict, prefix: str) -> list[str]:
    """`prefix_<segment>` for the compulsory segments this school type has."""
    segments = catalog().school_types[row["school_type"]].segments
    return [f"{prefix}_{seg}" for seg in segments if seg in SEGMENT_LABELS]


def _size_detail(ind: Indicator, row: dict):
    students, limit = clean(row[f"{ind.id}__students"]), clean(row[f"{ind.id}__limit"])
    if students is None:
        return "在校生数缺失", None, _own_fields(row, "students")
    return (f"义务教育阶段在校生 {num(students)} 人,超过上限 {num(limit)} 人",
            Gap(amount=students - limit, unit="人", what="需分流学生(或新建、扩建学校)"), [])


def _class_detail(ind: Indicator, row: dict):
    parts, inputs, gap = [], [], None
    for seg, limit in ind.rule.limits.items():
        met = clean(row[f"{ind.id}__{seg}_met"])
        largest, oversize = clean(row[f"{ind.id}__{seg}_largest"]), clean(row[f"{ind.id}__{seg}_oversize"])
        label = SEGMENT_LABELS.get(seg, seg)
        if met is None:
            inputs += [f"max_class_size_{seg}", f"oversize_classes_{seg}"]
            parts.append(f"{label}最大班额缺失")
        elif met is False:
            if oversize:
                parts.append(f"{label}有 {num(oversize)} 个班超过 {limit} 人")
                gap = gap or Gap(amount=oversize, unit="个班", what="超标班额需消除")
            else:
                parts.append(f"{label}最大班额 {num(largest)} 人,超过 {limit} 人")
                gap = gap or Gap(amount=largest - limit, unit="人", what="最大班需减少学生")
    return ";".join(parts), gap, inputs


def _certification_detail(ind: Indicator, row: dict):
    teachers, certified = clean(row[f"{ind.id}__teachers"]), clean(row[f"{ind.id}__certified"])
    if certified is None:
        return "持证教师数缺失", None, _own_fields(row, "certified_teachers")
    return (f"专任教师 {num(teachers)} 人,持证 {num(certified)} 人",
            Gap(amount=teachers - certified, unit="人", what="未持证专任教师"), [])


def _checks_detail(ind: Indicator, row: dict):
    parts, inputs, gap = [], [], None
    for name, check in ind.rule.checks.items():
        met = clean(row[f"{ind.id}__{name}_met"])
        value = clean(row[f"{ind.id}__{name}_value"])
        result = _check_result(name, check, value, met, None)
        if check.field and check.op == "in" and value is not None:
            labels = catalog().table("school_year").field(check.field).values or {}
            result.value = labels.get(value, value)
        if met is None:
            inputs += check.inputs()
        if met is not True:
            parts.append(_describe_check(result))
        if met is False and check.ratio is not None and check.gap_field:
            gap = gap or _ratio_gap(check, value, clean(row.get(f"{ind.id}__{name}_gap_base")),
                                    clean(row.get(f"{ind.id}__{name}_denominator")))
    return ";".join(parts), gap, inputs


SCHOOL_DETAILS = {
    "school_rooms": _rooms_detail,
    "school_size": _size_detail,
    "class_size": _class_detail,
    "teacher_certification": _certification_detail,
    "school_checks": _checks_detail,
}


def _quality_item(ind: Indicator, f: CountyFrames, missing: list[MissingInput]) -> ItemResult:
    rule = ind.rule
    rows = f.quality
    if not rows:
        own = [MissingInput(indicator=ind.id, table="quality", field="level", label="质量监测结果(学业水平、校际差异率)")]
        missing += own
        return _item(ind, None, "无本年度质量监测数据。此项数据缺失,无法判定。", missing=own)
    checks, failing = [], []
    for r in sorted(rows, key=lambda r: r["subject"]):
        level, rate = r["level"], r["inter_school_diff_rate"]
        level_ok = level is not None and level >= rule.min_level
        rate_ok = rate is not None and rate < rule.max_diff_rate - EPS
        met = level_ok and rate_ok
        roman = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ"}
        checks.append(CheckResult(name=str(r['subject']), label=str(r["subject"]), value=f"{roman.get(level, level)}级,差异率 {num(rate)}",
                                  threshold=f"Ⅲ级以上,差异率低于 {num(rule.max_diff_rate)}", comparison="达到", met=met))
        if not met:
            why = []
            if not level_ok:
                why.append(f"学业水平 {roman.get(level, level)}级")
            if not rate_ok:
                why.append(f"校际差异率 {num(rate)}")
            failing.append(f"{r['subject']}({','.join(why)})")
    met = not failing
    explanation = (f"监测 {len(checks)} 个学科," + ("全部达到Ⅲ级以上且校际差异率低于 " + num(rule.max_diff_rate) if met
                                                 else "未达标学科:" + "、".join(failing))) + f"。{_verdict_sentence(met)}"
    # rows computed from student scores (or typed over them) say so: store.value_sources keys them "quality/<subject>"
    keys = [f"quality/{r['subject']}" for r in sorted(rows, key=lambda r: r["subject"])]
    sources = {key: ValueSource(**f.sources[key]) for key in keys if key in f.sources}
    if sources:
        explanation += "数据来源:" + ";".join(f"{key.split('/', 1)[1]}:{s.label}" for key, s in sources.items()) + "。"
    return _item(ind, met, explanation, checks=checks, sources=sources)


# ---------------------------------------------------------------- the whole result

def assemble(std: Standard, f: CountyFrames, *, county_name: str, basic_balance_year: int | None,
             synthetic: bool, source: str, warnings: list[str], coverage: Coverage) -> EvaluationResult:
    missing: list[MissingInput] = []
    allowances: list[AllowanceApplied] = []
    areas: dict = {}
    if std.has_area("resource_allocation"):
        areas["resource_allocation"] = _resource_area(std, f, missing, allowances)
    for area in std.item_areas():
        items: dict[str, ItemResult] = {}
        for ind in std.by_area(area):
            if ind.level == "school":
                items[ind.id] = _school_item(ind, std, f, missing, allowances)
            elif ind.rule.kind == "quality_monitoring":
                items[ind.id] = _quality_item(ind, f, missing)
            else:
                items[ind.id] = _county_item(ind, f, missing)
        # the loader refuses a declared area without indicators, so `items` is never empty
        areas[area] = ItemArea(met=combine_met([i.met for i in items.values()]), label=std.area_label(area),
                               indicators=items)

    raw = f.county_raw or {}
    triggered = [k for k in std.veto if clean(raw.get(k)) is True]
    veto_missing = [k for k in std.veto if clean(raw.get(k)) is None]
    missing += [_missing("veto", "county_year", k) for k in veto_missing]
    veto = VetoResult(triggered=triggered, labels=dict(std.veto), missing=veto_missing)

    area_met = [a.met for a in areas.values()]
    if triggered or any(m is False for m in area_met):
        verdict = "fail"
    elif veto_missing or any(m is None for m in area_met):
        verdict = "incomplete"
    else:
        verdict = "pass"
    if not coverage.complete:
        # Partial data never speaks for the county: whatever the schools present show, the
        # county is not judged until every school (and the county-level row) is in.
        verdict = "incomplete"
        warnings = [coverage.statement(), *warnings]

    precondition = _precondition(std, f.year, basic_balance_year)
    reported = [ReportedResult(key=key, label=r.label, field=r.field, unit=r.unit, value=clean(raw.get(r.field)))
                for key, r in std.reported.items()]

    unit_warnings = [f"{e.school_name}({e.school_id}){SEGMENT_LABELS.get(e.segment, e.segment)}学段:{e.reason}"
                     for e in (areas["resource_allocation"].excluded if "resource_allocation" in areas else [])]
    return EvaluationResult(
        schema_version=SCHEMA_VERSION, coverage=coverage,
        county_code=f.county_code, county_name=county_name, year=f.year, standard=std.id, standard_name=std.name,
        verdict=verdict, verdict_label=VERDICT_LABELS[verdict], synthetic=synthetic, source=source,
        areas=Areas(**areas),
        veto=veto, missing_inputs=_dedupe(missing), allowances_applied=allowances, precondition=precondition,
        reported=reported, warnings=warnings + unit_warnings,
    )


def _precondition(std: Standard, year: int, basic_balance_year: int | None) -> Precondition | None:
    if std.precondition is None:
        return None
    required = std.precondition.basic_balance_years_before
    if basic_balance_year is None:
        return Precondition(basic_balance_year=None, required_years_before=required, met=None,
                            note="县区名录未填写通过基本均衡认定年份")
    ok = year - basic_balance_year >= required
    return Precondition(
        basic_balance_year=basic_balance_year, required_years_before=required, met=ok,
        note=f"{basic_balance_year} 年通过基本均衡认定," + ("满足" if ok else "不满足") + f"“认定满{required}年方可申请”的前提")


def _dedupe(missing: list[MissingInput]) -> list[MissingInput]:
    seen, out = set(), []
    for m in missing:
        key = (m.indicator, m.table, m.field, m.school_id)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out


__all__ = ["CountyFrames", "assemble", "met_word"]

"""Row-level checks as Ibis expressions: the per-school items (G3, G4, G5, G12, Q3, Q4, Q6) and
the county items (county_checks), one wide expression each, so a whole nation is one pass.

Column naming: `<indicator>__<part>`; the assembly step (assemble.py) reads them back.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from junheng.engine.exprs import EPS, all_of, num, real
from junheng.standards.model import (
    Check,
    ClassSizeRule,
    CountyChecksRule,
    Indicator,
    SchoolChecksRule,
    SchoolRoomsRule,
    SchoolSizeRule,
    Standard,
    TeacherCertificationRule,
)


def check_columns(table: ir.Table, check: Check) -> tuple[ir.Value, ir.BooleanValue]:
    """(value, met) of one check on each row of `table`; met is null when an input is missing."""
    if check.ratio is not None:
        r = check.ratio
        value = (r.scale * num(table[r.numerator])) / num(table[r.denominator]).nullif(0)
    else:
        value = table[check.field]
    match check.op:
        case "is_true":
            return value, value.cast("boolean")
        case "in":
            return value, ibis.ifelse(value.isnull(), ibis.null("boolean"), value.isin(list(check.values)))
    bound = num(table[check.ref_field]) if check.ref_field else real(check.threshold)
    value = num(value)
    met = {
        ">=": value >= bound - EPS,
        ">": value > bound + EPS,
        "<=": value <= bound + EPS,
        "<": value < bound - EPS,
    }[check.op]
    return value, met



def _by_type(school_type: ir.StringValue, limits: dict[str, int | float]) -> ir.NumericValue:
    return ibis.cases(*((school_type == t, real(v)) for t, v in limits.items()), else_=ibis.null("float64"))


def allowance_condition(base: ir.Table, params: dict) -> ir.BooleanValue:
    """The schools an allowance applies to, from its parameters (all must hold unless match: any)."""
    parts: list[ir.BooleanValue] = []
    if "built_on_or_before" in params:
        parts.append(base.build_year <= params["built_on_or_before"])
    if "migrant_share_above" in params:
        parts.append(base.migrant_share > params["migrant_share_above"])
    if params.get("rural_small"):
        parts.append(base.rural_small == True)  # noqa: E712
    if "max_class_size_below" in params:
        largest = ibis.greatest(base.max_class_size_primary.fill_null(0), base.max_class_size_junior.fill_null(0))
        parts.append(largest < params["max_class_size_below"])
    if not parts:
        return ibis.literal(False)
    combined = parts[0]
    for part in parts[1:]:
        combined = (combined | part) if params.get("match") == "any" else (combined & part)
    return combined.fill_null(False)


def _school_rooms(base: ir.Table, ind: Indicator, standard: Standard) -> dict[str, ir.Value]:
    rule: SchoolRoomsRule = ind.rule
    classes = sum((num(base[f"classes_{seg}"]).fill_null(0) for seg in standard.segments), real(0))
    classes_known = ibis.literal(False)
    for seg in standard.segments:
        classes_known = classes_known | base[f"classes_{seg}"].notnull()
    required = ibis.greatest((classes / rule.classes_per_room).ceil(), real(rule.min_rooms))
    required = ibis.ifelse(classes_known, required, ibis.null("float64"))
    cols: dict[str, ir.Value] = {"classes": classes, "required_rooms": required}
    allowances = standard.enabled_allowances("room_area")
    conditions = {key: allowance_condition(base, a.params) for key, a in allowances.items()}
    flags = []
    for name, room in rule.rooms.items():
        rooms = num(base[room.rooms_field])
        area = num(base[room.area_field])
        min_area = real(room.min_area)
        for key, allowance in allowances.items():
            alt = float(allowance.params.get("min_area", {}).get(name, room.min_area))
            min_area = ibis.ifelse(conditions[key], ibis.least(min_area, alt), min_area)
        rooms_ok = rooms >= required
        area_ok = ibis.ifelse(rooms > 0, area >= min_area - EPS, ibis.literal(False))
        met = all_of([rooms_ok, area_ok])
        cols |= {f"{name}_rooms": rooms, f"{name}_area": area, f"{name}_min_area": min_area, f"{name}_met": met}
        flags.append(met)
    for key, cond in conditions.items():
        cols[f"allowance__{key}"] = cond
    cols["met"] = all_of(flags)
    return cols


def _school_size(base: ir.Table, ind: Indicator, standard: Standard) -> dict[str, ir.Value]:
    rule: SchoolSizeRule = ind.rule
    known = ibis.literal(False)
    for seg in standard.segments:
        known = known | base[f"students_{seg}"].notnull()
    students = sum((num(base[f"students_{seg}"]).fill_null(0) for seg in standard.segments), real(0))
    students = ibis.ifelse(known, students, ibis.null("float64"))
    limit = _by_type(base.school_type, rule.limits)
    cols: dict[str, ir.Value] = {}
    for key, allowance in standard.enabled_allowances("school_size_limit").items():
        cond = allowance_condition(base, allowance.params)
        limit = ibis.ifelse(cond, _by_type(base.school_type, allowance.params.get("limits", rule.limits)), limit)
        cols[f"allowance__{key}"] = cond
    return cols | {"students": students, "limit": limit, "met": students <= limit}


def _class_size(base: ir.Table, ind: Indicator, standard: Standard) -> dict[str, ir.Value]:
    rule: ClassSizeRule = ind.rule
    cols: dict[str, ir.Value] = {}
    flags = []
    for seg, limit in rule.limits.items():
        largest = base[f"max_class_size_{seg}"]
        oversize = base[f"oversize_classes_{seg}"]
        met = ibis.cases(
            (base[f"students_{seg}"].fill_null(0) == 0, True),  # the school has no such segment
            (largest.notnull(), largest <= limit),
            (oversize.notnull(), oversize == 0),
            else_=ibis.null("boolean"),
        )
        cols |= {f"{seg}_largest": largest, f"{seg}_oversize": oversize, f"{seg}_limit": ibis.literal(limit, type="int64"),
                 f"{seg}_met": met}
        flags.append(met)
    cols["met"] = all_of(flags)
    return cols


def _teacher_certification(base: ir.Table, ind: Indicator, standard: Standard) -> dict[str, ir.Value]:
    teachers = sum((num(base[f"teachers_{seg}"]).fill_null(0) for seg in standard.segments), real(0))
    certified = sum(
        (num(base[f"certified_teachers_{seg}"]).fill_null(0) for seg in standard.segments), real(0)
    )
    known = ibis.literal(True)
    for seg in standard.segments:
        has_teachers = base[f"teachers_{seg}"].fill_null(0) > 0
        known = known & ~(has_teachers & base[f"certified_teachers_{seg}"].isnull())
    rule: TeacherCertificationRule = ind.rule
    rate = 100.0 * certified / teachers.nullif(0)
    met = ibis.ifelse(known, (rate >= rule.threshold - EPS).fill_null(True), ibis.null("boolean"))
    return {"teachers": teachers, "certified": ibis.ifelse(known, certified, ibis.null("float64")), "met": met}


def _school_checks(base: ir.Table, ind: Indicator, standard: Standard) -> dict[str, ir.Value]:
    rule: SchoolChecksRule = ind.rule
    cols: dict[str, ir.Value] = {}
    flags = []
    for name, check in rule.checks.items():
        value, met = check_columns(base, check)
        cols |= {f"{name}_value": value, f"{name}_met": met}
        if check.gap_field:
            cols[f"{name}_gap_base"] = num(base[check.gap_field])
        if check.ratio is not None:
            cols[f"{name}_denominator"] = num(base[check.ratio.denominator])
        flags.append(met)
    cols["met"] = all_of(flags)
    return cols


SCHOOL_RULES = {
    "school_rooms": _school_rooms,
    "school_size": _school_size,
    "class_size": _class_size,
    "teacher_certification": _teacher_certification,
    "school_checks": _school_checks,
}


def school_checks_expr(schools: ir.Table, school_year: ir.Table, standard: Standard) -> ir.Table:
    """One row per school and year with every school-level item's parts and verdict."""
    base = school_year.join(schools, "school_id")
    cols: dict[str, ir.Value] = {}
    for ind in standard.indicators.values():
        if ind.level != "school":
            continue
        cols[f"{ind.id}__in_scope"] = base.school_type.isin(list(ind.school_types or ()))
        for part, expr in SCHOOL_RULES[ind.rule.kind](base, ind, standard).items():
            cols[f"{ind.id}__{part}"] = expr
    return base.select("county_code", "year", "school_id", "school_name", "school_type", **cols)


def county_checks_expr(county_year: ir.Table, standard: Standard) -> ir.Table:
    """One row per county and year with every county check (county_checks rules and the
    county part of school_checks rules)."""
    cols: dict[str, ir.Value] = {}
    for ind in standard.indicators.values():
        rule = ind.rule
        checks: dict[str, Check] = {}
        if isinstance(rule, CountyChecksRule):
            checks = rule.checks
        elif isinstance(rule, SchoolChecksRule):
            checks = rule.county_checks
        for name, check in checks.items():
            value, met = check_columns(county_year, check)
            cols[f"{ind.id}__{name}__value"] = value
            cols[f"{ind.id}__{name}__met"] = met
            if check.gap_field:
                cols[f"{ind.id}__{name}__gap_base"] = num(county_year[check.gap_field])
            if check.ratio is not None:
                cols[f"{ind.id}__{name}__denominator"] = num(county_year[check.ratio.denominator])
            if check.ref_field:
                cols[f"{ind.id}__{name}__bound"] = num(county_year[check.ref_field])
    return county_year.select("county_code", "year", **cols)

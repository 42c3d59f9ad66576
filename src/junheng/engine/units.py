"""Evaluation units: (school, segment) rows with their students and resources.

A school type gives the units its standard says; school-wide facilities of a school with
several segments are split by weighted students unless the data gives the segment's own
value; allowances that the standard switches on adjust the resources and are flagged per unit.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from junheng.engine.exprs import num, real
from junheng.standards.model import Indicator, Standard

EXCLUDED_NO_STUDENTS = "该学段在校生数为0,不纳入评估"


def allowance_flag(key: str) -> str:
    return f"allowance__{key}"


def resource_column(indicator_id: str) -> str:
    return f"res_{indicator_id}"



def _school_wide_adjustments(base: ir.Table, standard: Standard) -> tuple[dict[str, list], dict[str, ir.BooleanValue]]:
    """School-wide amounts added to a shared resource by allowances: {indicator id: [amount, ...]}, flags."""
    adds: dict[str, list] = {}
    flags: dict[str, ir.BooleanValue] = {}
    for key, allowance in standard.enabled_allowances().items():
        if allowance.kind == "indoor_sports_moved":
            indoor = num(base.indoor_sports_room_area).fill_null(0)
            flags[key] = indoor > 0
            adds.setdefault(allowance.indicator, []).append(-indoor)
            adds.setdefault(allowance.params["to"], []).append(indoor)  # the loader demands `to`
        elif allowance.kind == "rented_sports_area":
            rented = num(base.rented_sports_area).fill_null(0)
            applies = base.high_density_city.fill_null(False) & (rented > 0)
            flags[key] = applies
            adds.setdefault(allowance.indicator, []).append(ibis.ifelse(applies, rented, real(0)))
    return adds, flags


def _segment_units(base: ir.Table, standard: Standard, segment: str, weighted_total: ir.NumericValue) -> ir.Table:
    types = [t for t, segs in standard.units.school_types.items() if segment in segs]
    students = base[f"students_{segment}"]
    weight = standard.split_weights[segment]
    share = (weight * num(students).fill_null(0)) / weighted_total.nullif(0)
    adds, flags = _school_wide_adjustments(base, standard)

    columns: dict[str, ir.Value] = {}
    for ind in standard.resource_indicators():
        rule = ind.rule
        per_segment = f"{rule.resource}_{segment}"
        # a school-wide resource the format offers no per-segment column for is always split
        own = num(base[per_segment]) if per_segment in base.columns else ibis.null("float64")
        if rule.source == "segment":
            amount = own
        else:
            # whether the data gave this segment's own value (no split): gaps are then the segment's
            columns[f"explicit_{ind.id}"] = own.notnull()
            adjustment = sum(adds.get(ind.id, []), real(0))
            school_amount = num(base[rule.resource]) + adjustment
            amount = ibis.coalesce(own + adjustment * share, school_amount * share)
        columns[resource_column(ind.id)] = amount

    for key, allowance in standard.enabled_allowances("itinerant_teachers").items():
        params = allowance.params
        extra = num(base[f"itinerant_pe_art_teachers_{segment}"]).fill_null(0)
        applies = (
            base.locale.isin(params.get("locales", ["rural"]))
            & students.between(params.get("min_students", 50), params.get("max_students", 99))
            & (extra > 0)
        )
        column = resource_column(allowance.indicator)
        columns[column] = columns[column] + ibis.ifelse(applies, extra, real(0))
        flags[key] = applies

    branches = [(students == 0, EXCLUDED_NO_STUDENTS)] + [
        (base.school_type.isin(list(exclusion.school_types)) & (students < exclusion.students_below), exclusion.label)
        for exclusion in standard.units.exclusions.values()
    ]
    excluded = ibis.cases(*branches, else_=ibis.null("string"))
    return base.filter(base.school_type.isin(types)).select(
        county_code=base.county_code,
        year=base.year,
        school_id=base.school_id,
        school_name=base.school_name,
        school_type=base.school_type,
        segment=ibis.literal(segment),
        students=students,
        share=share,
        excluded=excluded,
        **columns,
        **{allowance_flag(key): flag.fill_null(False) for key, flag in flags.items()},
    )


def units_expr(schools: ir.Table, school_year: ir.Table, standard: Standard) -> ir.Table:
    """All (school, segment) units of every county and year, excluded ones flagged."""
    base = school_year.join(schools, "school_id")
    weighted_total = sum(
        (w * num(base[f"students_{seg}"]).fill_null(0) for seg, w in standard.split_weights.items()
         if f"students_{seg}" in base.columns),
        real(0),
    )
    parts = [_segment_units(base, standard, seg, weighted_total) for seg in standard.segments]
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def indicator_scale(ind: Indicator) -> float:
    return ind.rule.scale

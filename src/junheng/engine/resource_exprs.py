"""Resource allocation (the standard's unit-level indicators) as Ibis expressions: per-unit values, the per-school rule and
the student-weighted CVs:
    X̄ = Σ resource_i / Σ n_i,  S = sqrt(Σ (n_i/N)(x_i − X̄)²),  CV = S / X̄.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from junheng.engine.exprs import EPS, as_count, real
from junheng.engine.units import resource_column
from junheng.standards.model import Indicator, Standard


def _by_segment(segment: ir.StringValue, values: dict[str, float]) -> ir.NumericValue:
    return ibis.cases(*((segment == seg, real(value)) for seg, value in values.items()), else_=ibis.null("float64"))


def _unit_value(u: ir.Table, ind: Indicator) -> ir.NumericValue:
    """x = scale·resource/students (null where the unit has no students)."""
    return (ind.rule.scale * u[resource_column(ind.id)]) / u.students.cast("float64").nullif(0)


def unit_values_expr(units: ir.Table, standard: Standard) -> ir.Table:
    """Values x = scale·resource/students, met flags and the per-school rule for every unit.

    Excluded units keep their rows (flagged in `excluded`) so one pass serves both lists. A
    standard without a per-school rule (basic-2012) judges no unit: thresholds, met flags and
    compliance are null, only the values feed the CVs.
    """
    u = units
    rule = standard.per_school_rule
    indicators = standard.resource_indicators()
    if rule is None:
        columns = {ind.id: _unit_value(u, ind) for ind in indicators}
        columns |= {f"{ind.id}_threshold": ibis.null("float64") for ind in indicators}
        columns |= {f"{ind.id}_met": ibis.null("boolean") for ind in indicators}
        return u.mutate(**columns).mutate(met_count=ibis.literal(0, "int64"), unknown_count=ibis.literal(0, "int64"),
                                          compliant=ibis.null("boolean"))
    max_unmet = len(indicators) - rule.min_met
    columns: dict[str, ir.Value] = {}
    below_floor, unmet, unknown, met_total = [], [], [], []
    for ind in indicators:
        threshold = _by_segment(u.segment, ind.thresholds)
        value = _unit_value(u, ind)
        met = value >= threshold - EPS
        columns[ind.id] = value
        columns[f"{ind.id}_threshold"] = threshold
        columns[f"{ind.id}_met"] = met
        below_floor.append((value < rule.floor_ratio * threshold - EPS).fill_null(False))
        unmet.append(as_count(~met))
        unknown.append(as_count(value.isnull()))
        met_total.append(as_count(met))
    any_below_floor = below_floor[0]
    for flag in below_floor[1:]:
        any_below_floor = any_below_floor | flag
    n_unmet, n_unknown = sum(unmet), sum(unknown)
    compliant = ibis.cases(
        (any_below_floor | (n_unmet > max_unmet), False),
        (n_unknown > 0, ibis.null("boolean")),
        else_=True,
    )
    return u.mutate(**columns).mutate(met_count=sum(met_total), unknown_count=n_unknown, compliant=compliant)


def cv_expr(values: ir.Table, standard: Standard) -> ir.Table:
    """Wide CV table: per (county, year, segment) the value and county value of each indicator."""
    keys = ["county_code", "year", "segment"]
    values = values.filter(values.excluded.isnull())
    ids = [ind.id for ind in standard.resource_indicators()]
    scale = {ind.id: ind.rule.scale for ind in standard.resource_indicators()}
    present = {i: values[i].notnull() for i in ids}
    totals = values.group_by(keys).aggregate(
        units=values.count(),
        students=values.students.sum(),
        **{f"N_{i}": ibis.ifelse(present[i], values.students, 0).sum() for i in ids},
        **{f"T_{i}": (scale[i] * values[resource_column(i)]).sum() for i in ids},
        **{f"missing_{i}": as_count(values[i].isnull()).sum() for i in ids},
    )
    totals = totals.mutate(**{f"mean_{i}": totals[f"T_{i}"] / totals[f"N_{i}"].cast("float64").nullif(0) for i in ids})
    joined = values.join(totals, keys)
    squares = joined.group_by(keys).aggregate(
        **{f"SS_{i}": (joined.students * (joined[i] - joined[f"mean_{i}"]) ** 2).sum() for i in ids}
    )
    out = totals.join(squares, keys)
    return out.mutate(
        **{
            f"cv_{i}": (out[f"SS_{i}"] / out[f"N_{i}"].cast("float64").nullif(0)).sqrt() / out[f"mean_{i}"].nullif(0)
            for i in ids
        }
    )

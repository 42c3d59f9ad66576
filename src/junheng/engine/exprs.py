"""Small helpers shared by the engine's Ibis expressions."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from junheng.engine.tolerance import EPS  # noqa: F401 (re-exported for the expression modules)


def num(col: ir.Value) -> ir.NumericValue:
    return col.cast("float64")


def real(value: float) -> ir.NumericValue:
    """A float64 literal (a bare Python float may become DECIMAL in compiled SQL)."""
    return ibis.literal(float(value), type="float64")


def as_count(flag: ir.BooleanValue) -> ir.IntegerValue:
    """1 where `flag` is true, else 0 (null too), as int64: PostgreSQL casts boolean only to int4."""
    return ibis.ifelse(flag.fill_null(False), ibis.literal(1, "int64"), ibis.literal(0, "int64"))


def all_of(flags: list[ir.BooleanValue]) -> ir.BooleanValue:
    """Three-valued AND: false if any is false, null if none false but some null, else true."""
    any_false = ibis.literal(False)
    any_null = ibis.literal(False)
    for flag in flags:
        any_false = any_false | (flag == False).fill_null(False)  # noqa: E712 (Ibis comparison)
        any_null = any_null | flag.isnull()
    return ibis.cases((any_false, False), (any_null, ibis.null("boolean")), else_=True)

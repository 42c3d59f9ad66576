"""Resource allocation (the unit-level indicators): per-unit values, the per-school rule and the CVs.

The CV is the student-weighted one of the standard:
    X̄ = Σ resource_i / Σ n_i,  S = sqrt(Σ (n_i/N)(x_i − X̄)²),  CV = S / X̄.
Comparisons allow EPS for binary floating-point noise (far below the two decimals shown), so a
value exactly at its threshold passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from junheng.data.dataset import Dataset
from junheng.engine.backend import Tables, register, to_pandas
from junheng.engine.tolerance import EPS
from junheng.standards.model import Standard

if TYPE_CHECKING:
    import pandas as pd


UNIT_ORDER = ("county_code", "year", "segment", "school_id")


@dataclass
class ResourceTables:
    """The resource part's results as Arrow tables (what the assembly reads), with pandas views
    for callers that analyse them (made on first use: a nation's evaluation never needs them)."""

    unit_rows: pa.Table  # one row per evaluated unit: values, met flags, compliance (in no particular order)
    cv_rows: pa.Table  # one row per (county, year, segment, indicator)
    excluded_rows: pa.Table  # units left out (0 students, a standard's exclusion)
    indicator_ids: tuple[str, ...]  # the unit tables' value columns

    @cached_property
    def units(self) -> "pd.DataFrame":
        """Sorted by county, year, segment and school."""
        rows = self.unit_rows
        frame = to_pandas(rows.take(pc.sort_indices(rows, [(k, "ascending") for k in UNIT_ORDER])))
        for column in self.indicator_ids:
            frame[column] = frame[column].astype("float64")  # NaN where undefined, for numeric use
        return frame

    @cached_property
    def cv(self) -> "pd.DataFrame":
        frame = to_pandas(self.cv_rows)
        for column in ("value", "county_value", "limit"):
            frame[column] = frame[column].astype("float64")
        frame["missing"] = frame["missing"].astype("int64")
        return frame

    @cached_property
    def excluded(self) -> "pd.DataFrame":
        return to_pandas(self.excluded_rows)



def _cv_long(wide: pa.Table, standard: Standard) -> pa.Table:
    """The wide CV table (one row per county, year, segment) as one row per indicator, judged:
    met when CV ≤ limit; an undefined CV (X̄ = 0) is not met; a CV with a unit lacking its input
    cannot be judged (null); under a composite CV every single CV is judged only through the
    composite (assemble.py)."""
    parts = []
    limits = pa.array([standard.cv_limit(seg) for seg in wide.column("segment").to_pylist()], pa.float64())
    for ind in standard.resource_indicators():
        i = ind.id
        value = wide.column(f"cv_{i}").cast(pa.float64())
        missing = wide.column(f"missing_{i}").cast(pa.int64())
        met = pc.less_equal(value, pc.add(limits, EPS))
        met = pc.if_else(pc.is_null(value), False, met)
        met = pc.if_else(pc.greater(missing, 0), pa.scalar(None, pa.bool_()), met)
        if standard.composite_cv:
            met = pa.nulls(len(wide), pa.bool_())
        n = len(wide)
        parts.append(pa.table({
            "county_code": wide.column("county_code"), "year": wide.column("year"),
            "segment": wide.column("segment"), "units": wide.column("units"), "students": wide.column("students"),
            "indicator": pa.array([i] * n, pa.string()), "value": value,
            "county_value": wide.column(f"mean_{i}").cast(pa.float64()), "missing": missing,
            "limit": limits, "met": met,
        }))
    if not parts:
        return pa.table({})
    cv = pa.concat_tables(parts, promote_options="permissive")
    return cv.take(pc.sort_indices(cv, [(k, "ascending") for k in ("county_code", "year", "segment", "indicator")]))


def _unit_values(tables: Tables, standard: Standard):
    # Expression modules import Ibis: only needed when the compiled query is not cached.
    from junheng.engine.resource_exprs import unit_values_expr
    from junheng.engine.units import units_expr

    return unit_values_expr(units_expr(tables.table("schools"), tables.table("school_year"), standard), standard)


def _cv(tables: Tables, standard: Standard):
    from junheng.engine.resource_exprs import cv_expr

    return cv_expr(tables.table("unit_values"), standard)


def compute_resources(dataset: Dataset, standard: Standard, tables: Tables | None = None) -> ResourceTables:
    """Resource allocation of every county and year in `dataset` under `standard`."""
    tables = tables or register(dataset)
    fingerprint = standard.fingerprint()
    all_units = tables.materialize_arrow(
        "unit_values", f"unit_values|{fingerprint}",
        lambda: _unit_values(tables, standard),
    )
    wide = tables.execute_arrow(f"cv|{fingerprint}", lambda: _cv(tables, standard))
    is_excluded = pc.is_valid(all_units.column("excluded"))
    excluded = all_units.filter(is_excluded).select(
        ["county_code", "year", "school_id", "school_name", "segment", "students", "excluded"])
    units = all_units.filter(pc.invert(is_excluded))  # in the backend's order: readers sort as they need
    return ResourceTables(unit_rows=units, cv_rows=_cv_long(wide, standard), excluded_rows=excluded,
                          indicator_ids=tuple(ind.id for ind in standard.resource_indicators()))

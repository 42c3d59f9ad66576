"""Resource allocation (the unit-level indicators): per-unit values, the per-school rule and the CVs.

The CV is the student-weighted one of the standard:
    X̄ = Σ resource_i / Σ n_i,  S = sqrt(Σ (n_i/N)(x_i − X̄)²),  CV = S / X̄.
Comparisons allow EPS for binary floating-point noise (far below the two decimals shown), so a
value exactly at its threshold passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from junheng.data.dataset import Dataset
from junheng.engine.backend import Tables, register
from junheng.engine.tolerance import EPS
from junheng.standards.model import Standard


@dataclass
class ResourceTables:
    units: pd.DataFrame  # one row per evaluated unit: values, met flags, compliance
    cv: pd.DataFrame  # one row per (county, year, segment, indicator)
    excluded: pd.DataFrame  # units left out (0 students, a standard's exclusion)


def _cv_long(wide: pd.DataFrame, standard: Standard) -> pd.DataFrame:
    rows = []
    for ind in standard.resource_indicators():
        i = ind.id
        part = wide[["county_code", "year", "segment", "units", "students"]].copy()
        part["indicator"] = i
        part["value"] = wide[f"cv_{i}"].astype("float64")
        part["county_value"] = wide[f"mean_{i}"].astype("float64")
        part["missing"] = wide[f"missing_{i}"].astype("int64")
        rows.append(part)
    cv = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    cv["limit"] = cv["segment"].map(lambda seg: standard.cv_limit(seg)).astype("float64")
    met = (cv["value"] <= cv["limit"] + EPS).astype("boolean")
    met[cv["value"].isna()] = False  # X̄ = 0: undefined, not met
    met[cv["missing"] > 0] = pd.NA  # some unit lacks the input: cannot be judged
    if standard.composite_cv:
        met[:] = pd.NA  # judged only through the segment's composite (assemble.py)
    cv["met"] = met
    return cv.sort_values(["county_code", "year", "segment", "indicator"]).reset_index(drop=True)


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
    all_units = tables.materialize(
        "unit_values", f"unit_values|{fingerprint}",
        lambda: _unit_values(tables, standard),
    )
    wide = tables.execute(f"cv|{fingerprint}", lambda: _cv(tables, standard))
    is_excluded = all_units["excluded"].notna()
    excluded = all_units.loc[
        is_excluded, ["county_code", "year", "school_id", "school_name", "segment", "students", "excluded"]
    ].reset_index(drop=True)
    unit_frame = all_units.loc[~is_excluded].copy()
    for i in (ind.id for ind in standard.resource_indicators()):
        unit_frame[i] = unit_frame[i].astype("float64")  # NaN where undefined, for numeric use
    unit_frame = unit_frame.sort_values(["county_code", "year", "segment", "school_id"]).reset_index(drop=True)
    return ResourceTables(units=unit_frame, cv=_cv_long(wide, standard), excluded=excluded)

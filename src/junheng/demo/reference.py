"""An independent NumPy computation of resource allocation (R1–R7), to cross-check the engine.

It follows standard.md directly: (school, segment) units by school type, teacher counts per
segment, school-wide facilities split by weighted students unless a per-segment value is
given, value = scale · resource / students, the per-school rule (at least `min_met` of the
standard's unit-level indicators met and none below `floor_ratio` of its threshold; a standard
without one, such as basic-2012, judges no unit) and the student-weighted CV per (county, year,
segment, indicator). Everything is whole-array arithmetic (`np.bincount` for the group sums),
which makes it the baseline the benchmark (bench/nation.py) compares the engine with.

Allowances are not implemented: the reference refuses a standard that enables one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from junheng.data.dataset import Dataset
from junheng.standards.model import Standard

EPS = 1e-9  # the engine's tolerance: a value exactly at its threshold passes


@dataclass
class ReferenceResources:
    # county_code, year, school_id, segment, students, one column per unit-level indicator (by
    # id), met_count and compliant (NA when the standard has no per-school rule)
    units: pd.DataFrame
    cv: pd.DataFrame  # county_code, year, segment, indicator, value, county_value


def _float(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return frame[column].to_numpy(dtype=float, na_value=np.nan)


def reference_resources(dataset: Dataset, standard: Standard) -> ReferenceResources:
    if standard.enabled_allowances():
        raise ValueError("the NumPy reference does not implement allowances")
    sy, schools = dataset.school_year, dataset.schools
    at = pd.Index(schools["school_id"]).get_indexer(sy["school_id"])
    if (at < 0).any():
        raise ValueError("school_year rows without a school")
    type_code, type_names = pd.factorize(schools["school_type"])
    school_type = type_code[at]
    county_index, counties = pd.factorize(schools["county_code"])
    year_index, years = pd.factorize(sy["year"])
    group = county_index[at] * len(years) + year_index  # (county, year) of every row
    n_groups = len(counties) * len(years)

    students = {seg: np.nan_to_num(_float(sy, f"students_{seg}")) for seg in standard.split_weights}
    weighted_total = sum(w * students[seg] for seg, w in standard.split_weights.items())
    indicators = standard.resource_indicators()
    thresholds_by_segment = {seg: np.array([(ind.thresholds or {}).get(seg, np.nan) for ind in indicators])
                             for seg in standard.segments}

    parts = []
    for seg in standard.segments:
        types = [t for t, segs in standard.units.school_types.items() if seg in segs]
        n = students[seg]
        keep = np.isin(school_type, type_names.get_indexer(types)) & (n > 0)
        for exclusion in standard.units.exclusions.values():
            excluded = np.isin(school_type, type_names.get_indexer(list(exclusion.school_types)))
            keep &= ~(excluded & (n < exclusion.students_below))
        rows = np.flatnonzero(keep)
        n_rows = n[rows]
        share = standard.split_weights[seg] * n_rows / weighted_total[rows]
        resources = np.empty((len(rows), len(indicators)))
        for j, ind in enumerate(indicators):
            own = _float(sy, f"{ind.rule.resource}_{seg}")[rows]
            if ind.rule.source == "segment":
                resources[:, j] = own
            else:
                split = _float(sy, ind.rule.resource)[rows] * share
                resources[:, j] = np.where(np.isnan(own), split, own)
        scale = np.array([ind.rule.scale for ind in indicators])
        parts.append((seg, rows, n_rows, resources * scale))

    county_code = np.asarray(counties, dtype=object)[np.arange(n_groups) // len(years)]
    year = np.asarray(years, dtype=np.int64)[np.arange(n_groups) % len(years)]
    units = _units_frame(parts, sy, group, county_code, year, thresholds_by_segment, standard, indicators)
    cv = _cv_frame(parts, group, county_code, year, indicators)
    return ReferenceResources(units=units, cv=cv)


def _units_frame(parts, sy, group, county_code, year, thresholds_by_segment, standard, indicators) -> pd.DataFrame:
    rule = standard.per_school_rule
    frames = []
    for seg, rows, n, scaled in parts:
        values = scaled / n[:, None]
        if rule is not None:
            thresholds = thresholds_by_segment[seg][None, :]
            known = ~np.isnan(values)
            met = known & (values >= thresholds - EPS)
            below_floor = known & (values < rule.floor_ratio * thresholds - EPS)
            unmet = known & ~met
            failed = below_floor.any(axis=1) | (unmet.sum(axis=1) > len(indicators) - rule.min_met)
            met_count = met.sum(axis=1)
            compliant = pd.array(~failed, dtype="boolean")
            compliant[~failed & ~known.all(axis=1)] = pd.NA
        else:  # no unit is judged: nothing to count or decide
            met_count = pd.array([pd.NA] * len(rows), dtype="Int64")
            compliant = pd.array([pd.NA] * len(rows), dtype="boolean")
        frame = pd.DataFrame({
            "county_code": county_code[group[rows]],
            "year": year[group[rows]],
            "school_id": sy["school_id"].to_numpy(dtype=object)[rows],
            "segment": seg,
            "students": n.astype(np.int64),
        })
        for j, ind in enumerate(indicators):
            frame[ind.id] = values[:, j]
        frame["met_count"] = met_count
        frame["compliant"] = compliant
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _cv_frame(parts, group_of_row, county_code, year, indicators) -> pd.DataFrame:
    """CV per (county, year, segment, indicator): X̄ = Σ resource / Σ n over units where the
    value is known, S = sqrt(Σ (n/N)(x − X̄)²), CV = S / X̄ (NaN where X̄ = 0)."""
    frames = []
    for seg, rows, n, scaled in parts:
        group, present = pd.factorize(group_of_row[rows])  # (county, year) pairs with units
        groups = len(present)
        values = scaled / n[:, None]
        frame = pd.DataFrame({"county_code": county_code[present], "year": year[present], "segment": seg})
        for j, ind in enumerate(indicators):
            known = ~np.isnan(values[:, j])
            weight = np.where(known, n, 0.0)
            total_n = np.bincount(group, weights=weight, minlength=groups)
            total = np.bincount(group, weights=np.where(known, scaled[:, j], 0.0), minlength=groups)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = total / total_n
                deviation = np.where(known, values[:, j] - mean[group], 0.0)
                spread = np.sqrt(np.bincount(group, weights=weight * deviation**2, minlength=groups) / total_n)
                cv = np.where(mean > 0, spread / mean, np.nan)
            frames.append(frame.assign(indicator=ind.id, value=cv, county_value=mean))
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["county_code", "year", "segment", "indicator"], ignore_index=True)

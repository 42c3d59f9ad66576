"""Indicator time series: every observation of every stored year as tidy rows, and
year-on-year change tables.

A row is one indicator at one place in one year:
    county_code, year, indicator, level (unit | cv | county_value | county | school),
    school_id, school_name, segment, check, label, value, threshold, op, met, unit
The web's charts and tables read these rows; `year_on_year` adds the previous year's value,
the change and whether it went the better or the worse way.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Iterable

from junheng.data.dataset import Dataset
from junheng.engine.result import EvaluationResult
from junheng.monitor.observe import Observation, observations
from junheng.standards.loader import load_standard


def school_context(dataset: Dataset, county_code: str, year: int) -> tuple[dict[str, dict], dict[str, str]]:
    """(school_id → school_year values, school_id → school type) of a county-year."""
    from junheng.monitor.forecast import _index

    types = dataset.__dict__.get("_monitor_types")
    if types is None:
        types = {}
        for sid, code, kind in zip(dataset.schools["school_id"].astype(str), dataset.schools["county_code"].astype(str),
                                   dataset.schools["school_type"].astype(str)):
            types.setdefault(code, {})[sid] = kind
        dataset.__dict__["_monitor_types"] = types
    return _index(dataset)["school_year"].get((county_code, year), {}), types.get(county_code, {})


def result_observations(result: EvaluationResult, dataset: Dataset) -> list[Observation]:
    rows, types = school_context(dataset, result.county_code, result.year)
    return observations(result, load_standard(result.standard), rows, types)


def series_rows(results: Iterable[EvaluationResult], dataset: Dataset, *,
                indicators: set[str] | None = None, levels: set[str] | None = None,
                school_id: str | None = None) -> list[dict]:
    """Tidy rows for every result (one county-year each), filtered by indicator, level, school."""
    out = []
    for result in sorted(results, key=lambda r: (r.county_code, r.year)):
        for obs in result_observations(result, dataset):
            if indicators and obs.indicator not in indicators:
                continue
            if levels and obs.level not in levels:
                continue
            if school_id and obs.school_id != school_id:
                continue
            row = {"county_code": result.county_code, "year": result.year, **asdict(obs), "ident": obs.ident}
            row["responsible"] = list(obs.responsible)
            out.append(row)
    return out


def year_on_year(rows: list[dict]) -> list[dict]:
    """Each row of a year that has the same observation the year before, with the previous
    value, the change (absolute and relative) and its direction: better / worse / same."""
    by_ident: dict[tuple[str, str], dict[int, dict]] = {}
    for row in rows:
        by_ident.setdefault((row["county_code"], row["ident"]), {})[row["year"]] = row
    out = []
    for (_, _), years in by_ident.items():
        for year in sorted(years):
            prev = years.get(year - 1)
            if prev is None:
                continue
            row = years[year]
            value, before = row["value"], prev["value"]
            change = relative = None
            direction = "unknown"
            if _is_number(value) and _is_number(before):
                change = value - before
                relative = change / abs(before) if before else None
                if abs(change) <= 1e-9:
                    direction = "same"
                elif row["op"] == "<=":
                    direction = "better" if change < 0 else "worse"
                elif row["op"] == ">=":
                    direction = "better" if change > 0 else "worse"
            elif value != before and row["met"] is not None and prev["met"] is not None:
                direction = "better" if row["met"] and not prev["met"] else ("worse" if prev["met"] and not row["met"]
                                                                           else "unknown")
            out.append({**row, "previous_year": year - 1, "previous_value": before, "previous_met": prev["met"],
                        "change": change, "relative_change": relative, "direction": direction,
                        "direction_label": {"better": "改善", "worse": "下滑", "same": "持平"}.get(direction, "—")})
    out.sort(key=lambda r: (r["county_code"], r["year"], r["indicator"], r["level"], r["school_id"] or "",
                            r["segment"] or "", r["check"] or ""))
    return out


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)

"""Indicator time series: every observation of every stored year as tidy rows, and
year-on-year change tables.

A row is one indicator at one place in one year:
    county_code, year, standard, indicator, level (unit | cv | county_value | county | school),
    school_id, school_name, segment, check, label, value, threshold, op, met, unit
The web's charts and tables read these rows; `year_on_year` adds the previous year's value,
the change and whether it went the better or the worse way.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Iterable

from junheng.data.dataset import Dataset
from junheng.engine.result import EvaluationResult
from junheng.errors import JunhengError
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
            row = {"county_code": result.county_code, "year": result.year, "standard": result.standard, **asdict(obs),
                   "ident": obs.ident}
            row["responsible"] = list(obs.responsible)
            out.append(row)
    return out


# The finest precision a change is shown at (3 decimals: _trends.html, the coefficients of
# variation): a smaller change shows as 0.000 and is no change, neither better nor worse.
SAME_BELOW = 0.0005


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
                if abs(change) < SAME_BELOW:  # rounds to 0 where shown (+0.000): not a decline
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
    out.sort(key=lambda r: (r["county_code"], r["year"], r["indicator"] or "", r["level"], r["school_id"] or "",
                            r["segment"] or "", r["check"] or ""))
    return out


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---------------------------------------------------------------- trend views (web pages, API)

SEGMENT_NAMES = {"primary": "小学", "junior": "初中"}
UNIT_LEVELS = ("unit", "cv", "county_value")  # the levels of the unit-level (per-student) indicators
COUNTY_LEVELS = ("cv", "composite_cv", "county_value", "county")
WORST_SCHOOL_CHANGES = 30  # school rows that got worse, listed on the county page


def _where(row: dict) -> str:
    seg = SEGMENT_NAMES.get(row.get("segment") or "", row.get("segment") or "")
    if row.get("school_id"):
        return f"{row.get('school_name') or row['school_id']}" + (f"({seg})" if seg else "")
    return f"全县{seg}" if seg else "全县"


def _change_row(row: dict) -> dict:
    keys = ("year", "previous_year", "indicator", "level", "label", "school_id", "school_name", "segment", "check",
            "value", "previous_value", "change", "relative_change", "direction", "direction_label", "met",
            "previous_met", "threshold", "op", "unit", "responsible", "ident")
    out = {k: row.get(k) for k in keys} | {"where": _where(row)}
    if out["change"] is None and out["value"] == out["previous_value"]:  # 是 → 是, the same level: unchanged
        out["direction"], out["direction_label"] = "same", "持平"
    return out


def _declared_order(rows: list[dict]) -> dict[str, int]:
    """Each indicator's place in its standard's declaration (the order the standard lists them)."""
    order: dict[str, int] = {}
    for standard_id in dict.fromkeys(r.get("standard") for r in rows if r.get("standard")):
        try:
            ids = list(load_standard(standard_id).indicators)
        except JunhengError:  # a standard file that has moved since: its rows sort last
            continue
        for ind in ids:
            order.setdefault(ind, len(order))
    return order


def _indicator_order(order: dict[str, int]):
    def key(row: dict) -> tuple:
        return (order.get(row["indicator"] or "", len(order)), row["indicator"] or "", row.get("school_id") or "",
                row.get("segment") or "", row["level"], row.get("check") or "")
    return key


def _unit_level_indicators(rows: list[dict], order: dict[str, int]) -> list[str]:
    """The unit-level indicators the rows hold, in their standard's order."""
    found = {r["indicator"] for r in rows if r["level"] in UNIT_LEVELS}
    return sorted(found, key=lambda i: (order.get(i, len(order)), i))


def _line(rows_by_year: dict[int, dict], years: list[int], value) -> list:
    out = []
    for year in years:
        row = rows_by_year.get(year)
        v = value(row) if row is not None else None
        out.append(None if v is None else round(float(v), 4))
    return out


def trend_view(rows: list[dict], *, year: int | None = None, school_id: str | None = None) -> dict:
    """What the trend charts and the year-on-year table show, from `series_rows` (one county).

    County view: per segment the CVs of the unit-level indicators over the years (with the limit,
    when they have one of their own) and the county values as a share of the per-school
    threshold (100% = the threshold; only under a standard with thresholds); the changes of
    every county-level row into `year` (default: the latest), and the school rows that got worse
    most. School view (`school_id`): per segment the school's unit-level values as a share of the
    threshold, and every change of the school's rows."""
    if school_id:
        rows = [r for r in rows if r.get("school_id") == school_id]
    years = sorted({r["year"] for r in rows})
    chosen = year if year in years else (years[-1] if years else None)
    order = _declared_order(rows)
    unit_level = _unit_level_indicators(rows, order)
    by_ident: dict[str, dict[int, dict]] = {}
    for r in rows:
        by_ident.setdefault(r["ident"], {})[r["year"]] = r
    thresholds: dict[tuple[str, str, int], float] = {}  # (indicator, segment, year) → a unit's threshold
    for r in rows:
        if r["level"] == "unit" and _is_number(r.get("threshold")) and r["threshold"]:
            thresholds.setdefault((r["indicator"], r["segment"], r["year"]), r["threshold"])
    charts = []
    segments = [s for s in SEGMENT_NAMES if any(r.get("segment") == s for r in rows)]
    for seg in segments:
        if not school_id:
            cv = {i: by_ident.get(f"{i}/cv/-/{seg}/-", {}) for i in unit_level}
            limits = sorted({r["threshold"] for by_year in cv.values() for r in by_year.values()
                             if _is_number(r.get("threshold"))})
            if any(cv.values()):
                charts.append({
                    "id": f"trend-cv-{seg}", "kind": "cv", "title": f"{SEGMENT_NAMES[seg]}校际差异系数",
                    "y_name": "差异系数", "mark": limits[-1] if limits else None,
                    "mark_label": f"上限 {limits[-1]}" if limits else None, "years": years,
                    "series": [{"name": i, "label": next(iter(cv[i].values()))["label"] if cv[i] else i,
                                "data": _line(cv[i], years, lambda r: r["value"] if _is_number(r["value"]) else None)}
                               for i in unit_level if cv[i]]})
            source = {i: by_ident.get(f"{i}/county_value/-/{seg}/-", {}) for i in unit_level}
            title = f"{SEGMENT_NAMES[seg]}县域均值(达标值 = 100%)"
        else:
            source = {i: by_ident.get(f"{i}/unit/{school_id}/{seg}/-", {}) for i in unit_level}
            title = f"{SEGMENT_NAMES[seg]}各项指标(达标值 = 100%)"

        def share(r, seg=seg):
            t = thresholds.get((r["indicator"], seg, r["year"]))
            return r["value"] / t * 100 if _is_number(r.get("value")) and t else None

        # a standard without per-school thresholds has no "达标值 = 100%" to draw against
        judged = any(sg == seg for (_, sg, _) in thresholds)
        if any(source.values()) and judged:
            charts.append({
                "id": f"trend-{'unit' if school_id else 'mean'}-{seg}", "kind": "share", "title": title,
                "y_name": "达标值的 %", "mark": 100, "mark_label": "达标值", "years": years,
                "series": [{"name": i, "label": next(iter(source[i].values()))["label"] if source[i] else i,
                            "data": _line(source[i], years, share)} for i in unit_level if source[i]]})
    changes = sorted((r for r in year_on_year(rows) if r["year"] == chosen), key=_indicator_order(order))
    if school_id:
        listed = [_change_row(r) for r in changes]
        worse = []
    else:
        listed = [_change_row(r) for r in changes if r["level"] in COUNTY_LEVELS]
        worse_rows = [r for r in changes if r["level"] not in COUNTY_LEVELS and r["direction"] == "worse"]
        worse_rows.sort(key=lambda r: (r["relative_change"] is None,
                                       -abs(r["relative_change"]) if r["relative_change"] is not None else 0,
                                       r["school_id"] or "", r["indicator"] or ""))
        worse = [_change_row(r) for r in worse_rows[:WORST_SCHOOL_CHANGES]]
    counts = {d: sum(1 for r in map(_change_row, changes) if r["direction"] == d) for d in ("better", "worse", "same")}
    return {"years": years, "year": chosen, "previous_year": chosen - 1 if chosen and chosen - 1 in years else None,
            "school_id": school_id, "charts": charts, "changes": listed, "worse_schools": worse,
            "worse_school_total": sum(1 for r in changes if r["level"] not in COUNTY_LEVELS and r["direction"] == "worse")
            if not school_id else 0,
            "counts": counts}

"""The engine's entry point: a dataset (and a standard) in, one explained result per county-year out.

All counties that share a standard are computed in one pass of the Ibis expressions; the
per-county assembly then reads its rows.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from junheng.data.dataset import Dataset
from junheng.engine.assemble import CountyFrames, assemble
from junheng.engine.backend import register_arrow
from junheng.engine.coverage import coverages_of
from junheng.engine.derived import Derived, apply_derivations
from junheng.engine.resources import UNIT_ORDER, compute_resources
from junheng.engine.rows import Grouped, SchoolYearLookup, as_arrow
from junheng.engine.result import EvaluationResult
from junheng.errors import JunhengError
from junheng.standards.loader import DEFAULT_STANDARD, load_standard
from junheng.standards.model import Standard


class NothingToEvaluate(JunhengError):
    pass


def select_pairs(dataset: Dataset, county: str | None, year: int | None) -> list[tuple[str, int]]:
    pairs = dataset.county_year_pairs()
    chosen = [(c, y) for c, y in pairs if (county is None or c == county) and (year is None or y == year)]
    if not chosen:
        available = "、".join(f"{c}({dataset.county_name(c)}){y}年" for c, y in pairs[:20]) or "无"
        wanted = "".join(filter(None, [f"县区 {county}" if county else "", f" {year} 年" if year else ""]))
        raise NothingToEvaluate(f"数据集中没有{wanted or '任何'}学校年度数据。数据集中有:{available}")
    return chosen


def standard_for(dataset: Dataset, county: str, override: str | None, chosen: dict | None = None) -> str:
    """The standard a county is evaluated under; `chosen`: the counties' `standard` attributes,
    when the caller asks for many counties (dataset.county_attributes("standard"))."""
    if override:
        return override
    value = (chosen if chosen is not None else dataset.county_attributes("standard")).get(county)
    return str(value) if value else DEFAULT_STANDARD


def records(table) -> list[dict]:
    """Plain Python rows (missing values as None) of an Arrow table (or a pandas frame, for callers
    that hold one): per-county assembly reads rows one by one, which plain dicts do far faster
    than pandas."""
    return as_arrow(table).to_pylist() if len(table) else []


def _groups(table: pa.Table) -> dict[tuple[str, int], list[dict]]:
    grouped: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for row in records(table):
        grouped[(str(row["county_code"]), int(row["year"]))].append(row)
    return grouped


def _values(table: pa.Table, column: str) -> set:
    return set(pc.unique(table.column(column)).drop_null().to_pylist())


def _restrict(tables: dict[str, pa.Table], counties: set[str], years: set[int]) -> dict[str, pa.Table]:
    """The rows of these counties and years of the dataset's tables (read as Arrow): the tables
    themselves when that is all of them. Rows without a county or year never match one."""
    schools, school_year, county_year = tables["schools"], tables["school_year"], tables["county_year"]
    if (counties >= _values(schools, "county_code") and counties >= _values(county_year, "county_code")
            and years >= _values(school_year, "year") and years >= _values(county_year, "year")):
        return tables
    county_set, year_set = pa.array(sorted(counties), pa.string()), pa.array(sorted(years), pa.int64())
    schools = schools.filter(pc.is_in(schools.column("county_code"), value_set=county_set))
    school_year = school_year.filter(pc.and_(
        pc.is_in(school_year.column("school_id"), value_set=schools.column("school_id").combine_chunks()),
        pc.is_in(school_year.column("year"), value_set=year_set)))
    county_year = county_year.filter(pc.and_(pc.is_in(county_year.column("county_code"), value_set=county_set),
                                             pc.is_in(county_year.column("year"), value_set=year_set)))
    return {**tables, "schools": schools, "school_year": school_year, "county_year": county_year}


def evaluate_dataset(
    dataset: Dataset,
    *,
    county: str | None = None,
    year: int | None = None,
    standard: str | Standard | None = None,
    backend=None,
    on_progress: Callable[[int], None] | None = None,
    pairs: list[tuple[str, int]] | None = None,
) -> list[EvaluationResult]:
    """Evaluate every selected county-year (or exactly `pairs`, e.g. one chunk of a whole-region
    run); each under its own standard unless one is given."""
    pairs = select_pairs(dataset, county, year) if pairs is None else list(pairs)
    derived = apply_derivations(dataset)  # Q1, Q2 from counts (format.yaml `derived`), once per call
    # Every table read as Arrow once; county_year with its derivations applied
    tables = {name: dataset.arrow(name) for name in ("schools", "school_year", "quality")}
    tables["county_year"] = derived.county_year
    dataset = derived.dataset
    by_standard: dict[str, list[tuple[str, int]]] = defaultdict(list)
    fixed = standard if isinstance(standard, Standard) else None
    chosen = None if fixed else dataset.county_attributes("standard")
    for pair in pairs:
        key = fixed.id if fixed else standard_for(dataset, pair[0], standard, chosen)
        by_standard[key].append(pair)

    results: dict[tuple[str, int], EvaluationResult] = {}
    with paused_collector():
        for standard_id, group in by_standard.items():
            std = fixed or load_standard(standard_id)
            results.update(_evaluate_group(dataset, std, group, backend, on_progress, derived, tables))
    return [results[p] for p in pairs]


@contextmanager
def paused_collector() -> Iterator[None]:
    """Python's cycle collector paused while results are built: they are millions of small
    objects without cycles (freed by reference counting alone) that the collector would scan
    again and again as they accumulate (a nation: 32 s with it, 20 s without).

    On the way out the objects made meanwhile are moved to the oldest generation unscanned
    (freeze then unfreeze: two list splices), so that switching the collector back on does not
    scan them all at once (a second for a nation); they are looked at with the next full
    collection, like any long-lived object. Skipped when something else froze objects (a server
    keeping its start-up objects out of the collector's way), which unfreezing would undo."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()


def _school_checks(tables, std: Standard):
    from junheng.engine.checks import (
        school_checks_expr,  # imports Ibis: only on a cache miss
    )

    return school_checks_expr(tables.table("schools"), tables.table("school_year"), std)


def _county_checks(tables, std: Standard):
    from junheng.engine.checks import county_checks_expr

    return county_checks_expr(tables.table("county_year"), std)


def _evaluate_group(dataset: Dataset, std: Standard, pairs: Iterable[tuple[str, int]],
                    backend, on_progress, derived: Derived,
                    arrow: dict[str, pa.Table]) -> dict[tuple[str, int], EvaluationResult]:
    """`arrow`: the dataset's tables as Arrow (evaluate_dataset reads them once for all groups)."""
    pairs = list(pairs)
    read = std.fields_read()["county_year"]
    sub = _restrict(arrow, {c for c, _ in pairs}, {y for _, y in pairs})
    tables = register_arrow(sub, backend)
    resources = compute_resources(dataset, std, tables)
    fingerprint = std.fingerprint()
    schools = tables.execute_arrow(
        f"school_checks|{fingerprint}",
        lambda: _school_checks(tables, std),
    )
    county_rows = tables.execute_arrow(
        f"county_checks|{fingerprint}", lambda: _county_checks(tables, std)
    ) if sub["county_year"].num_rows else None

    units = Grouped(resources.unit_rows, order=UNIT_ORDER[2:])  # within a county-year by segment and school
    excluded, cv = Grouped(resources.excluded_rows), Grouped(resources.cv_rows)
    school_checks = Grouped(schools)
    county_checks = Grouped(county_rows) if county_rows is not None else None
    county_raw = {(str(r["county_code"]), int(r["year"])): r for r in records(sub["county_year"])}
    quality = _groups(arrow["quality"])
    raw_school_years = SchoolYearLookup(sub["school_year"])
    coverages = coverages_of(dataset, pairs, arrow)
    names, basic_years = dataset.county_names(), dataset.county_attributes("basic_balance_year")

    out = {}
    for pair in pairs:
        frames = CountyFrames(
            county_code=pair[0], year=pair[1],
            units=units.get(pair), excluded=excluded.get(pair), cv=cv.get(pair),
            schools=school_checks.get(pair), county=county_checks.one(pair) if county_checks else None,
            county_raw=county_raw.get(pair), school_year=raw_school_years, quality=quality.get(pair, []),
            sources=dataset.value_sources.get(pair, {}),
        )
        basic = basic_years.get(pair[0])
        out[pair] = assemble(
            std, frames, county_name=names.get(pair[0], pair[0]), coverage=coverages[pair],
            basic_balance_year=int(basic) if basic is not None else None,
            synthetic=dataset.synthetic, source=dataset.source,
            warnings=list(dataset.warnings) + derived.warnings(pair, read),
        )
        if on_progress:
            on_progress(1)
    return out

"""Coverage: which schools a county has in a school year (its roster) and how many of them an
evaluation rests on. One rule for the store and for datasets (docs/methods.md, "Coverage").

A school belongs to the roster of year Y when
- it is active (not soft-deleted; in a dataset: listed in `schools`) and had opened by Y: its
  建成年份 (`build_year`), when given, is at most Y, and Y is not before its first year: the
  earliest year it has a record for, or, with no record at all, the school year in which it
  was registered in the store (a dataset's school with no record is expected in every year);
- or it was closed (soft-deleted) later and has approved data for Y: a school counts for the
  years it reported, so closing or merging a school leaves its past years complete and never
  blocks the year under way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from junheng.engine.result import Coverage, MissingSchool

PENDING_STATES = ("draft", "submitted", "returned")


@dataclass(frozen=True)
class RosterSchool:
    school_id: str
    school_name: str
    active: bool = True
    build_year: int | None = None
    registered_year: int | None = None  # the school year it entered the store (None: unknown)
    rows: Mapping[int, str] = field(default_factory=dict)  # year → state of its live record

    @property
    def first_year(self) -> int | None:
        years = list(self.rows)
        if self.registered_year is not None:
            years.append(self.registered_year)
        return min(years) if years else None

    def expected_in(self, year: int) -> bool:
        if not self.active:
            return self.rows.get(year) == "approved"
        if self.build_year is not None and self.build_year > year:
            return False
        first = self.first_year
        return first is None or year >= first


def county_coverage(schools: Iterable[RosterSchool], year: int, *, basis: str, county_year_status: str | None,
                    quality_rows: int = 0) -> Coverage:
    """The coverage of one county-year. `county_year_status`: the county-level row's workflow
    state in the store, "present" for a dataset's row, None when there is none."""
    expected = sorted((s for s in schools if s.expected_in(year)), key=lambda s: s.school_id)
    missing = [MissingSchool(school_id=s.school_id, school_name=s.school_name, status=s.rows.get(year, "none"))
               for s in expected if s.rows.get(year) != "approved"]
    not_approved = {state: sum(1 for m in missing if m.status == state) for state in PENDING_STATES}
    county_ok = county_year_status in ("approved", "present")
    included = len(expected) - len(missing)
    return Coverage(
        complete=bool(expected) and not missing and county_ok, basis=basis,
        schools_expected=len(expected), schools_included=included,
        schools_missing=[m.school_id for m in missing], missing=missing,
        not_approved={k: v for k, v in not_approved.items() if v},
        schools_without_data=sum(1 for m in missing if m.status == "none"),
        county_year=county_ok, county_year_status=county_year_status,
        quality_rows=quality_rows, quality_approved=quality_rows > 0 and county_ok,
    )


def dataset_coverage(dataset, county_code: str, year: int) -> Coverage:
    """A dataset's coverage: its `schools` table is the roster and every row counts as given
    (a file has no workflow)."""
    return dataset_coverages(dataset, [(county_code, year)])[(county_code, year)]


def dataset_coverages(dataset, pairs: Iterable[tuple[str, int]],
                      tables: Mapping[str, pa.Table] | None = None) -> dict[tuple[str, int], Coverage]:
    """`dataset_coverage` of many county-years, each table grouped once (not filtered per county).
    `tables`: the dataset's tables already read as Arrow (Dataset.arrow), when the caller has them."""
    pairs = list(pairs)
    arrow = tables or {name: dataset.arrow(name) for name in ("schools", "school_year", "county_year", "quality")}
    schools = arrow["schools"]
    schools = schools.filter(pc.is_in(schools.column("county_code"),
                                      value_set=pa.array(sorted({c for c, _ in pairs}), pa.string())))
    school_year = arrow["school_year"]
    school_year = school_year.filter(pc.is_in(school_year.column("school_id"),
                                              value_set=schools.column("school_id").combine_chunks()))
    rows: dict[str, dict[int, str]] = {}
    for school_id, y in zip(school_year.column("school_id").to_pylist(), school_year.column("year").to_pylist()):
        rows.setdefault(school_id, {})[y] = "approved"
    build = (schools.column("build_year").to_pylist() if "build_year" in schools.column_names
             else [None] * schools.num_rows)
    roster: dict[str, list[RosterSchool]] = {}
    for county, sid, name, b in zip(schools.column("county_code").to_pylist(), schools.column("school_id").to_pylist(),
                                    schools.column("school_name").to_pylist(), build):
        roster.setdefault(county, []).append(RosterSchool(
            school_id=sid, school_name=name, build_year=None if b is None else int(b), rows=rows.get(sid, {})))
    county_year, quality_rows = arrow["county_year"], arrow["quality"]
    county_rows = set(zip(county_year.column("county_code").to_pylist(), county_year.column("year").to_pylist()))
    quality = Counter(zip(quality_rows.column("county_code").to_pylist(), quality_rows.column("year").to_pylist()))
    return {(c, y): county_coverage(roster.get(c, []), y, basis="dataset",
                                    county_year_status="present" if (c, y) in county_rows else None,
                                    quality_rows=quality.get((c, y), 0))
            for c, y in pairs}


def coverage_of(dataset, county_code: str, year: int) -> Coverage:
    """The store's coverage when the dataset came from the store, else the file's own."""
    return dataset.coverage.get((county_code, year)) or dataset_coverage(dataset, county_code, year)


def coverages_of(dataset, pairs: Iterable[tuple[str, int]],
                 tables: Mapping[str, pa.Table] | None = None) -> dict[tuple[str, int], Coverage]:
    """`coverage_of` of many county-years at once (`tables`: as dataset_coverages)."""
    pairs = list(pairs)
    own = dataset_coverages(dataset, [p for p in pairs if not dataset.coverage.get(p)], tables)
    return {p: dataset.coverage.get(p) or own[p] for p in pairs}


def default_year(dataset, county_code: str, years: list[int]) -> int:
    """The year a face shows when none is asked for: the latest complete one (the latest year
    when none is complete yet, shown as provisional)."""
    complete = [y for y in years if coverage_of(dataset, county_code, y).complete]
    return (complete or years)[-1]

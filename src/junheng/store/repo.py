"""Reading and writing datasets in the store, every value change audited.

A dataset coming in (upload, API, demo) is first compared with what is stored (`diff`), then
applied in the caller's transaction (`apply`): either every change lands with its audit entry
or none does.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from junheng.data.catalog import catalog
from junheng.data.dataset import Dataset
from junheng.engine.coverage import RosterSchool, county_coverage
from junheng.engine.result import Coverage
from junheng.errors import JunhengError
from junheng import schoolyear
from junheng.schoolyear import school_year_of
from junheng.store.models import (
    AuditEntry,
    CountyYear,
    OrgNode,
    QualityRow,
    School,
    SchoolYear,
    User,
    utcnow,
)
from junheng.store.value_sources import value_sources

COUNTY_ATTRIBUTES = ("standard", "basic_balance_year", "target_year", "certified_year", "resident_population")
SCHOOL_COLUMNS = {"school_id", "school_name", "county_code", "school_type"}


class StoreError(JunhengError):
    pass


class YearNotOpen(StoreError):
    """Data for a school year that has not begun yet (beyond the one under way + 1)."""


YEARLY_ENTITIES = ("school_year", "county_year", "quality")  # keys school/year, county/year, county/year/subject


def last_open_year() -> int:
    """The last school year data may be entered for: the one under way (by the one clock,
    `schoolyear.local_today`) and the next, whose plans are made before it starts."""
    return schoolyear.current_school_year() + 1


def check_year_open(year: int) -> None:
    """The one rule of every path that writes a year's data (forms, API, upload, import: they
    all reach `apply`, and the forms ask before creating a row): years beyond the school year
    under way + 1 are refused, saying why."""
    last = last_open_year()
    if year > last:
        raise YearNotOpen(f"{schoolyear.label(year)}尚未开始:只能填报到 {schoolyear.label(last)}")


def years_not_open(changes: list[Change]) -> list[str]:
    """`check_year_open`'s refusals for a batch of changes, one per year (the upload preview says
    so before 应用, as `apply` would refuse them)."""
    years = sorted({y for c in changes if c.entity in ("school_year", "county_year", "quality")
                    and (y := _key_year(c.entity, c.key)) is not None and y > last_open_year()})
    messages = []
    for year in years:
        try:
            check_year_open(year)
        except YearNotOpen as exc:
            messages.append(str(exc))
    return messages


def _key_year(entity: str, key: str) -> int | None:
    part = key.rsplit("/", 1)[1] if entity != "quality" else key.split("/", 2)[1]
    return int(part) if part.isdigit() else None


def plain(value: Any) -> Any:
    """A JSON-ready Python value (NA/NaN → None, numpy scalars → Python)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, float) and value.is_integer() and not math.isinf(value):
        return value  # keep floats as floats: 4500.0 stays a number of m²
    return value


def _row_values(row: dict, skip: set[str]) -> dict:
    return {k: plain(v) for k, v in row.items() if k not in skip and plain(v) is not None}


@dataclass(frozen=True)
class Change:
    entity: str  # school, school_year, county_year, quality, county
    key: str  # e.g. "S001/2024"
    county_code: str
    field: str
    old: Any
    new: Any

    @property
    def label(self) -> str:
        table = {"school": "schools", "school_year": "school_year", "county_year": "county_year",
                 "quality": "quality", "county": "counties"}.get(self.entity, self.entity)
        try:
            return catalog().table(table).field(self.field).label
        except KeyError:
            return self.field


# ---------------------------------------------------------------- reading

class CountyNotFound(StoreError):
    """No county of that code (or only a deleted one)."""


def county_by_code(session: Session, code: str, *, deleted: bool = False) -> OrgNode:
    """The one look-up of a county by its code for every face (pages, API, command line,
    reports, monitoring, tasks). A deleted county is not found (the same "没有县区代码为 …"
    as an unknown code), except with `deleted=True`, for a path that must reach it to restore it."""
    query = select(OrgNode).where(OrgNode.code == code, OrgNode.kind == "county")
    if not deleted:
        query = query.where(OrgNode.deleted_at.is_(None))
    node = session.scalar(query)
    if node is None:
        raise CountyNotFound(f"没有县区代码为 {code} 的县区")
    return node


def school_by_code(session: Session, code: str) -> School:
    school = session.scalar(select(School).where(School.code == code))
    if school is None:
        raise StoreError(f"没有学校标识码为 {code} 的学校")
    return school


def _ancestors(node: OrgNode | None) -> dict[str, OrgNode]:
    out = {}
    while node is not None:
        out[node.kind] = node
        node = node.parent
    return out


def load_dataset(session: Session, county_codes: Iterable[str] | None = None, *,
                 approved_only: bool = True) -> Dataset:
    """The stored data as a Dataset for the engine (only approved school-years by default)."""
    counties = session.scalars(select(OrgNode).where(OrgNode.kind == "county", OrgNode.deleted_at.is_(None))).all()
    if county_codes is not None:
        wanted = set(county_codes)
        counties = [c for c in counties if c.code in wanted]
    ids = [c.id for c in counties]
    # ordered like the source data: sums over schools then add up in the same order on every database
    schools = session.scalars(select(School).where(School.county_id.in_(ids)).order_by(School.id)).all()
    by_id = {s.id: s for s in schools}
    query = select(SchoolYear).where(SchoolYear.school_id.in_(list(by_id)), SchoolYear.deleted_at.is_(None)) \
        .order_by(SchoolYear.id)
    if approved_only:
        query = query.where(SchoolYear.status == "approved")
    # a closed (soft-deleted) school still counts for the years it has approved data
    # (docs/methods.md, "Coverage"); a preview with drafts shows the active schools only
    school_years = [r for r in session.scalars(query).all()
                    if not by_id[r.school_id].deleted or (approved_only and r.status == "approved")]
    kept = {r.school_id for r in school_years} if approved_only else set()
    schools = [s for s in schools if not s.deleted or s.id in kept]
    closed = {s.code for s in schools if s.deleted}
    county_years = session.scalars(select(CountyYear).where(CountyYear.county_id.in_(ids),
                                                            CountyYear.deleted_at.is_(None))).all()
    quality = session.scalars(select(QualityRow).where(QualityRow.county_id.in_(ids),
                                                       QualityRow.deleted_at.is_(None))).all()
    code_of = {c.id: c.code for c in counties}
    county_rows = []
    for c in counties:
        up = _ancestors(c)
        county_rows.append({"county_code": c.code, "county_name": c.name,
                            "city": up["city"].name if "city" in up else None,
                            "province": up["province"].name if "province" in up else None,
                            **{a: getattr(c, a) for a in COUNTY_ATTRIBUTES}})
    frames = {
        "counties": pd.DataFrame(county_rows),
        "schools": pd.DataFrame([{"school_id": s.code, "school_name": s.name, "county_code": code_of[s.county_id],
                                  "county_name": s.county.name, "school_type": s.school_type, **s.values}
                                 for s in schools]),
        "school_year": pd.DataFrame([{"school_id": by_id[r.school_id].code, "year": r.year, **r.values}
                                     for r in school_years]),
        "county_year": pd.DataFrame([{"county_code": code_of[r.county_id], "year": r.year, **r.values}
                                     for r in county_years]),
        "quality": pd.DataFrame([{"county_code": code_of[q.county_id], "year": q.year, "subject": q.subject,
                                  "level": q.level, "inter_school_diff_rate": q.inter_school_diff_rate}
                                 for q in quality]),
    }
    frames = {k: v for k, v in frames.items() if not v.empty}
    frames.setdefault("schools", pd.DataFrame(columns=["school_id"]))
    frames.setdefault("school_year", pd.DataFrame(columns=["school_id", "year"]))
    dataset = Dataset.from_frames(source="数据库(已审核数据)" if approved_only else "数据库(含未审核数据)", **frames)
    dataset.closed_schools = closed
    if approved_only:  # with drafts included the evaluation is a preview: it covers what it reads
        dataset.coverage = coverage_by_year(session, counties)
    dataset.value_sources = value_sources(session, counties)  # a survey's S1, or typed over it
    return dataset


def coverage_by_year(session: Session, counties: Iterable[OrgNode], *,
                     years: Iterable[int] = ()) -> dict[tuple[str, int], Coverage]:
    """The coverage of every county-year that has any school or county-level record (whatever
    its state), and of `years` too (a year not started yet: its whole roster is missing): the
    roster of each year (junheng.engine.coverage) and what of it is approved."""
    years = set(years)
    counties = list(counties)
    if not counties:
        return {}
    code_of = {c.id: c.code for c in counties}
    schools = session.execute(select(School.id, School.code, School.name, School.county_id, School.deleted_at,
                                     School.values).where(School.county_id.in_(list(code_of)))).all()
    rows: dict[int, dict[int, str]] = {}
    for school_id, year, status in session.execute(
            select(SchoolYear.school_id, SchoolYear.year, SchoolYear.status)
            .join(School, School.id == SchoolYear.school_id)
            .where(School.county_id.in_(list(code_of)), SchoolYear.deleted_at.is_(None))):
        rows.setdefault(school_id, {})[year] = status
    # the school year a school entered the store: its first audit entry
    registered = dict(session.execute(
        select(AuditEntry.entity_key, func.min(AuditEntry.at))
        .where(AuditEntry.entity == "school", AuditEntry.county_id.in_(list(code_of)))
        .group_by(AuditEntry.entity_key)).all())
    roster: dict[int, list[RosterSchool]] = {}
    for school_id, code, name, county_id, deleted_at, values in schools:
        at = registered.get(code)
        roster.setdefault(county_id, []).append(RosterSchool(
            school_id=code, school_name=name, active=deleted_at is None,
            build_year=_year_value((values or {}).get("build_year")),
            registered_year=school_year_of(at) if at is not None else None, rows=rows.get(school_id, {})))
    county_status = {(r.county_id, r.year): r.status for r in session.scalars(
        select(CountyYear).where(CountyYear.county_id.in_(list(code_of)), CountyYear.deleted_at.is_(None)))}
    quality = dict(((cid, year), n) for cid, year, n in session.execute(
        select(QualityRow.county_id, QualityRow.year, func.count())
        .where(QualityRow.county_id.in_(list(code_of)), QualityRow.deleted_at.is_(None))
        .group_by(QualityRow.county_id, QualityRow.year)))
    out = {}
    for county_id, code in code_of.items():
        schools_here = roster.get(county_id, [])
        present = {y for s in schools_here for y in s.rows} | {y for (cid, y) in county_status if cid == county_id}
        for year in sorted(present | years):
            out[(code, year)] = county_coverage(schools_here, year, basis="store",
                                                county_year_status=county_status.get((county_id, year)),
                                                quality_rows=quality.get((county_id, year), 0))
    return out


@dataclass(frozen=True)
class YearProgress:
    """A county's years as the faces show them: the latest complete year (what speaks for the
    county) and the years after it still being filled in (shown for what they are)."""

    county_code: str
    coverage: dict[int, Coverage]  # year → coverage, every year with any record

    @property
    def complete_years(self) -> list[int]:
        return [y for y, c in sorted(self.coverage.items()) if c.complete]

    @property
    def latest_complete(self) -> int | None:
        years = self.complete_years
        return years[-1] if years else None

    @property
    def in_progress(self) -> list[tuple[int, Coverage]]:
        """Incomplete years after the latest complete one, oldest first."""
        after = self.latest_complete
        return [(y, c) for y, c in sorted(self.coverage.items())
                if not c.complete and (after is None or y > after)]


def year_progress(session: Session, county: OrgNode) -> YearProgress:
    coverage = coverage_by_year(session, [county])
    return YearProgress(county.code, {y: c for (code, y), c in coverage.items() if code == county.code})


def _year_value(value) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _canonical(frame: pd.DataFrame) -> dict:
    """A table as plain data for fingerprinting: sorted rows, named columns, and without the columns
    that hold no value at all (a field added to the format, empty until someone enters it, changes
    no stored run's version)."""
    frame = frame.sort_values(list(frame.columns[:2])).dropna(axis=1, how="all").astype(object)
    return {"columns": list(frame.columns), "rows": frame.where(frame.notna(), None).values.tolist()}


def inputs_version(dataset: Dataset, county_code: str, year: int) -> str:
    """A fingerprint of exactly the inputs an evaluation of this county-year reads, and of the
    roster it is judged against."""
    codes = set(dataset.schools.loc[dataset.schools["county_code"] == county_code, "school_id"])
    parts = {
        "schools": dataset.schools[dataset.schools["county_code"] == county_code],
        "school_year": dataset.school_year[dataset.school_year["school_id"].isin(codes)
                                           & (dataset.school_year["year"] == year)],
        "county_year": dataset.county_year[(dataset.county_year["county_code"] == county_code)
                                           & (dataset.county_year["year"] == year)],
        "quality": dataset.quality[(dataset.quality["county_code"] == county_code) & (dataset.quality["year"] == year)],
        "counties": dataset.counties[dataset.counties["county_code"] == county_code],
    }
    canonical = {k: _canonical(v) for k, v in parts.items()}
    coverage = dataset.coverage.get((county_code, year))
    if coverage is not None:
        canonical["coverage"] = coverage.model_dump(mode="json")
    sources = dataset.value_sources.get((county_code, year))
    if sources:  # only when there are any: stores without surveys keep their runs' versions
        canonical["sources"] = sources
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


# ---------------------------------------------------------------- comparing and applying

def _stored_values(session: Session) -> dict[tuple[str, str], dict]:
    """Everything stored, keyed like Change.entity/key, as plain dicts (for diffs)."""
    out: dict[tuple[str, str], dict] = {}
    for c in session.scalars(select(OrgNode).where(OrgNode.kind == "county")):
        out[("county", c.code)] = {"county_name": c.name, **{a: getattr(c, a) for a in COUNTY_ATTRIBUTES}}
    for s in session.scalars(select(School)):
        out[("school", s.code)] = {"school_name": s.name, "school_type": s.school_type, **s.values}
    for r in session.scalars(select(SchoolYear)):
        out[("school_year", f"{r.school.code}/{r.year}")] = dict(r.values)
    for r in session.scalars(select(CountyYear)):
        out[("county_year", f"{r.county.code}/{r.year}")] = dict(r.values)
    for q in session.scalars(select(QualityRow)):
        out[("quality", f"{_code(session, q.county_id)}/{q.year}/{q.subject}")] = {
            "level": q.level, "inter_school_diff_rate": q.inter_school_diff_rate}
    return out


def _code(session: Session, county_id: int) -> str:
    return session.get(OrgNode, county_id).code


def _frame_records(frame: pd.DataFrame) -> list[dict]:
    """`frame.to_dict("records")` through one conversion of the frame to objects: the same
    values once plain() has made them Python's (NA → None), at a third of the cost for the
    one-row tables of a save."""
    columns = list(frame.columns)
    return [dict(zip(columns, values)) for values in frame.to_numpy(dtype=object).tolist()]


def _incoming(dataset: Dataset, entities: Iterable[str] | None = None) -> list[tuple[str, str, str, dict]]:
    """(entity, key, county_code, values) for every row of an incoming dataset (of `entities` only,
    when given: a save's one row, only its table read, through one conversion to Python values)."""
    if entities is not None:
        return _incoming_rows(dataset, _frame_records, set(entities))
    return _incoming_rows(dataset, lambda frame: frame.to_dict("records"))


def _incoming_rows(dataset: Dataset, records, entities: set[str] | None = None) -> list[tuple[str, str, str, dict]]:
    """The rows of `_incoming`; with `entities`, only the tables those rows come from are read."""
    def wanted(entity: str) -> bool:
        return entities is None or entity in entities

    rows = []
    if wanted("school") or wanted("county"):
        names = {}
        for r in records(dataset.schools):
            names.setdefault(r["county_code"], plain(r.get("county_name")))
            if wanted("school"):
                rows.append(("school", r["school_id"], r["county_code"],
                             _row_values(r, {"school_id", "county_code", "county_name"})))
        if wanted("county"):
            for r in records(dataset.counties):
                values = {k: plain(r.get(k)) for k in ("county_name",) + COUNTY_ATTRIBUTES if plain(r.get(k)) is not None}
                rows.append(("county", r["county_code"], r["county_code"], values))
            known = {r[1] for r in rows if r[0] == "county"}
            for code, name in names.items():  # counties known only from the schools table
                if code not in known:
                    rows.append(("county", code, code, {"county_name": name or code}))
    if wanted("school_year"):
        county_of_school = dict(zip(dataset.schools["school_id"], dataset.schools["county_code"]))
        for r in records(dataset.school_year):
            rows.append(("school_year", f"{r['school_id']}/{int(r['year'])}", county_of_school[r["school_id"]],
                         _row_values(r, {"school_id", "year"})))
    if wanted("county_year"):
        for r in records(dataset.county_year):
            rows.append(("county_year", f"{r['county_code']}/{int(r['year'])}", r["county_code"],
                         _row_values(r, {"county_code", "year"})))
    if wanted("quality"):
        for r in records(dataset.quality):
            rows.append(("quality", f"{r['county_code']}/{int(r['year'])}/{r['subject']}", r["county_code"],
                         _row_values(r, {"county_code", "year", "subject"})))
    return rows


def row_changes(dataset: Dataset, entity: str, key: str, before: dict) -> list[Change]:
    """What `diff` gives for the one row `entity`/`key` of the dataset, against `before` (its
    stored values, as `_stored_row` reads them): a form or API save, which holds the stored row
    already, compares it without reading the store again."""
    changes = []
    for row_entity, row_key, county, values in _incoming(dataset, [entity]):
        if row_key != key:
            continue
        for field, new in values.items():
            old = before.get(field)
            if not _same(old, new):
                changes.append(Change(entity, key, county, field, old, new))
    return changes


def _stored_row(session: Session, entity: str, key: str) -> dict:
    """What `_stored_values` holds for one row (the same shapes), read on its own."""
    if entity == "county":
        node = session.scalar(select(OrgNode).where(OrgNode.code == key, OrgNode.kind == "county"))
        return {} if node is None else {"county_name": node.name,
                                        **{a: getattr(node, a) for a in COUNTY_ATTRIBUTES}}
    if entity == "school":
        school = session.scalar(select(School).where(School.code == key))
        return {} if school is None else {"school_name": school.name, "school_type": school.school_type,
                                          **school.values}
    if entity == "school_year":
        code, year = key.rsplit("/", 1)
        row = session.scalar(select(SchoolYear).join(School, SchoolYear.school_id == School.id)
                             .where(School.code == code, SchoolYear.year == int(year)))
        return {} if row is None else dict(row.values)
    if entity == "county_year":
        code, year = key.rsplit("/", 1)
        row = session.scalar(select(CountyYear).join(OrgNode, CountyYear.county_id == OrgNode.id)
                             .where(OrgNode.code == code, CountyYear.year == int(year)))
        return {} if row is None else dict(row.values)
    if entity == "quality":
        code, year, subject = key.split("/", 2)
        row = session.scalar(select(QualityRow).join(OrgNode, QualityRow.county_id == OrgNode.id)
                             .where(OrgNode.code == code, QualityRow.year == int(year), QualityRow.subject == subject))
        return {} if row is None else {"level": row.level, "inter_school_diff_rate": row.inter_school_diff_rate}
    raise ValueError(entity)


def diff(session: Session, dataset: Dataset, *, whole_store: bool = True) -> list[Change]:
    """Every value the dataset would change. Values the dataset leaves empty are not erased.

    `whole_store` reads everything once (right for an upload of many rows); without it each row
    the dataset names is read on its own (right for a form or API save: reading a city's whole
    store takes about 0.4 s)."""
    if whole_store:
        stored = _stored_values(session)

        def before_of(entity: str, key: str) -> dict:
            return stored.get((entity, key), {})
    else:
        def before_of(entity: str, key: str) -> dict:
            return _stored_row(session, entity, key)

    changes = []
    for entity, key, county, values in _incoming(dataset):
        before = before_of(entity, key)
        for field, new in values.items():
            old = before.get(field)
            if not _same(old, new):
                changes.append(Change(entity, key, county, field, old, new))
    return changes


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-9)
    return a == b


# ---------------------------------------------------------------- the lock rule

LOCKED_STATES = ("submitted", "approved")


def governing_row(entity: str, key: str) -> tuple[str, str] | None:
    """The workflow row whose state locks the row `entity`/`key`: a school-year and a county-year
    row lock themselves; a quality row (county/year/subject) is locked with its county-year row
    (county/year); master data (schools, counties) has no workflow and is never locked."""
    if entity in ("school_year", "county_year"):
        return entity, key
    if entity == "quality":
        code, year, _ = key.split("/", 2)
        return "county_year", f"{code}/{year}"
    return None


@dataclass(frozen=True)
class Lock:
    """A row that cannot change: its workflow row (`by_entity`/`by_key`) is submitted or approved."""

    entity: str
    key: str
    by_entity: str
    by_key: str
    status: str
    name: str = ""  # the school's or county's name, for messages

    @property
    def message(self) -> str:
        state = "已审核" if self.status == "approved" else "已提交待审核"
        named = f"({self.name})" if self.name else " "
        by = _describe(self.by_entity, self.by_key).rstrip() + named
        if (self.entity, self.key) == (self.by_entity, self.by_key):
            what = f"{by}的数据{state}"
        else:
            what = f"{_describe(self.entity, self.key).rstrip()}随{by}的数据{state}"
        return f"{what},已锁定;请先由县级管理员退回或重新开放后再修改"


def locks(session: Session, targets: Iterable[tuple[str, str]], *,
          known: dict[tuple[str, str], tuple[str, str]] | None = None) -> list[Lock]:
    """The one lock rule of the store, for every path (forms, upload, API, command line): every
    row of `targets` ((entity, key) pairs, e.g. of Changes) whose workflow row (`governing_row`)
    is submitted or approved. `apply` refuses those; the faces call this to say so beforehand.
    `known`: workflow rows whose (status, name) the caller holds, read under the row's write lock
    in this unit of work (`apply`'s `known`); only the others are read."""
    wanted = {}
    for entity, key in dict.fromkeys(targets):
        governing = governing_row(entity, key)
        if governing is not None:
            wanted[(entity, key)] = governing
    if not wanted:
        return []
    states: dict[tuple[str, str], tuple[str, str]] = dict(known or {})  # governing row → (status, name)
    school_keys = {k for e, k in wanted.values() if e == "school_year" and (e, k) not in states}
    county_keys = {k for e, k in wanted.values() if e == "county_year" and (e, k) not in states}
    if school_keys:
        codes = {k.rsplit("/", 1)[0] for k in school_keys}
        for code, name, year, status in session.execute(
                select(School.code, School.name, SchoolYear.year, SchoolYear.status)
                .join(SchoolYear, SchoolYear.school_id == School.id).where(School.code.in_(codes))):
            states.setdefault(("school_year", f"{code}/{year}"), (status, name))
    if county_keys:
        codes = {k.rsplit("/", 1)[0] for k in county_keys}
        for code, name, year, status in session.execute(
                select(OrgNode.code, OrgNode.name, CountyYear.year, CountyYear.status)
                .join(CountyYear, CountyYear.county_id == OrgNode.id).where(OrgNode.code.in_(codes))):
            states.setdefault(("county_year", f"{code}/{year}"), (status, name))
    out = []
    for (entity, key), governing in sorted(wanted.items()):
        status, name = states.get(governing, (None, ""))
        if status in LOCKED_STATES:
            out.append(Lock(entity, key, governing[0], governing[1], status, name))
    return out


class NotWritable(StoreError):
    """A yearly row that cannot be changed now; `reason` is "deleted" (the row or its school),
    "stale" (changed since the client read it) or "locked" (submitted or approved)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def row_label(owner: School | OrgNode, year: int) -> str:
    """How messages name a yearly row: "学校 某小学 2024 学年", "某县 2024 年度县级"."""
    return f"学校 {owner.name} {year} 学年" if isinstance(owner, School) else f"{owner.name} {year} 年度县级"


def check_writable(session: Session, owner: School | OrgNode, year: int, row: SchoolYear | CountyYear | None, *,
                   version: int | None, held: bool = False) -> None:
    """The one writability rule of a school-year or county-year row, for every face (form,
    API): refused (NotWritable, nothing changed) when the row or its school is deleted, when
    `version` (the row's version the client read; 0 for a row not yet made; None: not checked)
    is not the current one, or when the row is locked (`locks`). `held`: `row` was read under its
    write lock in this unit of work, so its status is current and `locks` need not read it."""
    what = row_label(owner, year)
    if owner.deleted or (row is not None and row.deleted_at is not None):
        raise NotWritable(f"{what}的数据已删除,不能修改;请先由县级管理员恢复后再修改", "deleted")
    current = row.version if row is not None else 0
    if version is not None and version != current:
        raise NotWritable(f"{what}的数据在您读取之后已被他人修改(或状态已变化),您的修改没有保存"
                          f"(当前版本 {current},您读取的版本 {version});请重新读取后再修改,以免覆盖他人的修改",
                          "stale")
    entity = "school_year" if isinstance(owner, School) else "county_year"
    key = f"{owner.code}/{year}"
    known = {(entity, key): (row.status if row is not None else None, owner.name)} if held else None
    if lock := next(iter(locks(session, [(entity, key)], known=known)), None):
        raise NotWritable(lock.message, "locked")


def check_unlocked(session: Session, targets: Iterable[tuple[str, str]], *,
                   known: dict[tuple[str, str], tuple[str, str]] | None = None) -> None:
    """StoreError (naming the first locked row, and how many more) when any target is locked."""
    found = locks(session, targets, known=known)
    if found:
        more = f"(另有 {len(found) - 1} 个对象已锁定)" if len(found) > 1 else ""
        raise StoreError(found[0].message + more)


class _Known:
    """The objects a caller of `apply` has read already in this unit of work, indexed as `apply`
    looks them up: counties and schools by code, school-year and county-year rows by their key,
    and those rows' (status, name) for the lock rule."""

    def __init__(self, objects: Iterable[object]):
        objects = [o for o in objects if o is not None]
        self.counties = {o.code: o for o in objects if isinstance(o, OrgNode)}
        self.schools = {o.code: o for o in objects if isinstance(o, School)}
        school_codes = {o.id: o for o in self.schools.values()}
        county_codes = {o.id: o for o in self.counties.values()}
        self.rows: dict[tuple[str, str], SchoolYear | CountyYear] = {}
        self.states: dict[tuple[str, str], tuple[str, str]] = {}
        for o in objects:
            owner = school_codes.get(o.school_id) if isinstance(o, SchoolYear) else \
                county_codes.get(o.county_id) if isinstance(o, CountyYear) else None
            if owner is not None:
                key = ("school_year" if isinstance(o, SchoolYear) else "county_year", f"{owner.code}/{o.year}")
                self.rows[key] = o
                self.states[key] = (o.status, owner.name)


def apply(session: Session, changes: list[Change], *, user: User | None, via: str, note: str | None = None,
          locked_ok: bool = False, known: Iterable[object] = ()) -> int:
    """Write the changes with one audit entry each; refuses (before writing anything) changes to
    locked rows (`locks`: submitted or approved school-years and county-years, and the quality
    rows of a locked county-year), changes to a year that has not begun (`check_year_open`) and
    changes of a deleted county (`_importable_county`).

    `known`: objects the caller has read in this unit of work, taken as they are instead of being
    read again (a form or API save holds its county, school and row: the checks then cost no
    query). Yearly rows (SchoolYear, CountyYear) among them must have been read after their
    write lock was taken (so their status is the current one), with their school or county."""
    given = _Known(known)
    by_row: dict[tuple[str, str], list[Change]] = {}
    for change in changes:
        by_row.setdefault((change.entity, change.key), []).append(change)
    for entity, key in by_row:
        if entity in YEARLY_ENTITIES and (year := _key_year(entity, key)) is not None:
            check_year_open(year)
    if not locked_ok:
        check_unlocked(session, by_row, known=given.states)
    # a deleted county refuses the whole import, before any write
    counties = {code: _importable_county(session, code, given.counties.get(code))
                for code in dict.fromkeys(c.county_code for c in changes)}
    order = {"county": 0, "school": 1, "school_year": 2, "county_year": 2, "quality": 2}
    for (entity, key), changes_of_row in sorted(by_row.items(), key=lambda item: order[item[0][0]]):
        code = changes_of_row[0].county_code
        county = counties[code] = counties[code] or _ensure_county(session, code, changes_of_row)
        target = given.rows.get((entity, key))
        if target is None:
            target = _target(session, entity, key, county, changes_of_row, given)
        for change in changes_of_row:
            _set(target, entity, change.field, change.new)
            session.add(AuditEntry(user_id=user.id if user else None, via=via, entity=entity, entity_key=key,
                                   county_id=county.id, field=change.field, old=change.old, new=change.new, note=note))
        if isinstance(target, (SchoolYear, CountyYear)):
            target.version += 1
            target.updated_at = utcnow()
    session.flush()
    return len(changes)


def _describe(entity: str, key: str) -> str:
    kinds = {"school_year": "学校年度", "county_year": "县级年度", "quality": "质量监测", "school": "学校",
             "county": "县区"}
    return f"{kinds.get(entity, entity)} {key} "


def _importable_county(session: Session, code: str, node: OrgNode | None = None) -> OrgNode | None:
    """The county an import writes into, found as `county_by_code` finds it, or None when there is
    none yet (the import creates it). A deleted county is refused, as every face refuses it: its
    data are not written behind its deletion, nor is a second county made under its code; so is a
    code that belongs to a city or province. `node`: the node of `code`, when the caller has it."""
    if node is None:
        node = session.scalar(select(OrgNode).where(OrgNode.code == code))
    if node is None:
        return None
    if node.kind != "county":
        kind = {"province": "省", "city": "市"}.get(node.kind, node.kind)
        raise StoreError(f"代码 {code} 是{kind}“{node.name}”的代码,不是县区代码:请更正数据中的县区代码")
    if node.deleted:
        raise StoreError(f"县区“{node.name}”({code})已删除,不能导入其数据:请更正数据中的县区代码")
    return node


def _ensure_county(session: Session, code: str, changes: list[Change]) -> OrgNode:
    node = _importable_county(session, code)
    if node is None:
        name = next((c.new for c in changes if c.entity == "county" and c.field == "county_name"), None)
        node = OrgNode(kind="county", code=code, name=name or code)
        session.add(node)
        session.flush()
    return node


def _target(session: Session, entity: str, key: str, county: OrgNode, changes: list[Change],
            given: _Known | None = None):
    if entity == "county":
        return county
    if entity == "school":
        school = session.scalar(select(School).where(School.code == key))
        if school is None:
            fields = {c.field: c.new for c in changes}
            school = School(code=key, county_id=county.id, name=fields.get("school_name", key),
                            school_type=fields.get("school_type", "primary"), values={})
            session.add(school)
            session.flush()
        return school
    if entity == "school_year":
        code, year = key.rsplit("/", 1)
        school = (given.schools.get(code) if given else None) or school_by_code(session, code)
        row = session.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == int(year)))
        if row is None:
            row = SchoolYear(school_id=school.id, year=int(year), values={}, status="draft")
            session.add(row)
            session.flush()
        return row
    if entity == "county_year":
        year = int(key.rsplit("/", 1)[1])
        row = session.scalar(select(CountyYear).where(CountyYear.county_id == county.id, CountyYear.year == year))
        if row is None:
            row = CountyYear(county_id=county.id, year=year, values={}, status="draft")
            session.add(row)
            session.flush()
        return row
    if entity == "quality":
        _, year, subject = key.split("/", 2)
        row = session.scalar(select(QualityRow).where(QualityRow.county_id == county.id, QualityRow.year == int(year),
                                                      QualityRow.subject == subject))
        if row is None:
            row = QualityRow(county_id=county.id, year=int(year), subject=subject, level=0, inter_school_diff_rate=0.0)
            session.add(row)
        return row
    raise ValueError(entity)


def _set(target, entity: str, field: str, value: Any) -> None:
    if entity == "county":
        if field == "county_name":
            target.name = value
        else:
            setattr(target, field, value)
    elif entity == "school" and field in ("school_name", "school_type"):
        setattr(target, "name" if field == "school_name" else "school_type", value)
    elif entity == "quality":
        setattr(target, field, value)
    else:
        target.values = {**target.values, field: value}  # a new dict: JSON columns track assignment


def import_dataset(session: Session, dataset: Dataset, *, user: User | None, via: str,
                   note: str | None = None, status: str | None = None) -> int:
    """Diff and apply a whole dataset; optionally set the workflow status of the rows it touched."""
    changes = diff(session, dataset)
    count = apply(session, changes, user=user, via=via, note=note)
    link_tree(session, dataset)
    if status is not None:
        for change in {(c.entity, c.key) for c in changes if c.entity in ("school_year", "county_year")}:
            row = _row_for(session, *change)
            if row.status != status:
                session.add(AuditEntry(user_id=user.id if user else None, via=via, entity=change[0],
                                       entity_key=change[1], county_id=_county_id(row), field="status",
                                       old=row.status, new=status, note=note))
                row.status = status
    return count


def link_tree(session: Session, dataset: Dataset) -> None:
    """Place counties under their city and province (from the counties table's names)."""
    for r in dataset.counties.to_dict("records"):
        province_name, city_name = plain(r.get("province")), plain(r.get("city"))
        code = str(r["county_code"])
        # 6-digit administrative codes carry their province (2 digits) and city (4 digits)
        standard_code = len(code) == 6 and code.isdigit() and code[2:4] != "00"
        parent = None
        if province_name:
            parent = _ensure_node(session, "province", code[:2] + "0000" if standard_code else f"P-{province_name}",
                                  province_name, None)
        if city_name:
            parent = _ensure_node(session, "city", code[:4] + "00" if standard_code else f"C-{province_name or ''}-{city_name}",
                                  city_name, parent)
        county = session.scalar(select(OrgNode).where(OrgNode.code == r["county_code"]))
        if county is not None and parent is not None and county.parent_id != parent.id:
            county.parent_id = parent.id
    session.flush()


def _ensure_node(session: Session, kind: str, code: str, name: str, parent: OrgNode | None) -> OrgNode:
    node = session.scalar(select(OrgNode).where(OrgNode.code == code))
    if node is None:
        node = OrgNode(kind=kind, code=code, name=name, parent_id=parent.id if parent else None)
        session.add(node)
        session.flush()
    return node


def _row_for(session: Session, entity: str, key: str):
    if entity == "school_year":
        code, year = key.rsplit("/", 1)
        school = school_by_code(session, code)
        return session.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == int(year)))
    code, year = key.rsplit("/", 1)
    county = county_by_code(session, code)
    return session.scalar(select(CountyYear).where(CountyYear.county_id == county.id, CountyYear.year == int(year)))


def _county_id(row) -> int:
    return row.school.county_id if isinstance(row, SchoolYear) else row.county_id


# ---------------------------------------------------------------- workflow and soft delete

TRANSITIONS = {  # action: (allowed from, to)
    "submit": (("draft", "returned"), "submitted"),
    "approve": (("submitted",), "approved"),
    "return": (("submitted", "approved"), "returned"),
    "reopen": (("approved",), "draft"),
}
STATE_LABELS = {"draft": "草稿", "submitted": "已提交", "approved": "已审核", "returned": "已退回"}


class SubmitIncomplete(StoreError):
    """A school year that cannot be submitted yet; `fields`: field key → what is missing."""

    def __init__(self, message: str, fields: dict[str, str]):
        super().__init__(message)
        self.fields = fields


SUBMIT_FIELD_MESSAGE = "提交审核前请填写(没有在校生数,本学段无法评估)"


def missing_for_submit(school: School, values: dict) -> dict[str, str]:
    """The submit precondition of a school year: the student counts of the school's compulsory
    segments (primary, junior) are there — without them the school cannot be evaluated at all.
    Returns field key → message for each one missing."""
    cat = catalog()
    spec = cat.school_types.get(school.school_type)
    keys = {f.key for f in cat.table("school_year").fields}
    out = {}
    for segment in spec.segments if spec else ():
        key = f"students_{segment}"
        if segment in ("primary", "junior") and key in keys and values.get(key) is None:
            out[key] = SUBMIT_FIELD_MESSAGE
    return out


def check_submittable(school: School, year: int, values: dict) -> None:
    """SubmitIncomplete naming every missing student count, before anything is saved."""
    missing = missing_for_submit(school, values)
    if missing:
        fields = {f.key: f.label for f in catalog().table("school_year").fields}
        names = "、".join(f"“{fields.get(k, k)}”" for k in missing)
        raise SubmitIncomplete(f"{row_label(school, year)}还不能提交审核:请先填写{names}"
                               "(没有在校生数,本学段无法评估)", missing)


def transition(session: Session, row: SchoolYear | CountyYear, action: str, *, user: User | None, via: str,
               note: str | None = None) -> None:
    """Move a yearly row through the workflow, audited; every face (form, upload, API, demo)
    comes here, so the rules below hold on every path."""
    allowed, target = TRANSITIONS[action]
    if row.status not in allowed:
        raise StoreError(f"当前状态为“{STATE_LABELS[row.status]}”,不能{ACTION_LABELS[action]}")
    if action == "return" and not (note or "").strip():
        raise StoreError("退回时请填写退回意见")
    if action == "submit" and isinstance(row, SchoolYear):
        check_submittable(row.school, row.year, row.values)
    entity = "school_year" if isinstance(row, SchoolYear) else "county_year"
    key = f"{row.school.code}/{row.year}" if isinstance(row, SchoolYear) else f"{row.county.code}/{row.year}"
    session.add(AuditEntry(user_id=user.id if user else None, via=via, entity=entity, entity_key=key,
                           county_id=_county_id(row), field="status", old=row.status, new=target, note=note))
    row.status = target
    row.status_note = note
    row.updated_at = utcnow()


ACTION_LABELS = {"submit": "提交", "approve": "审核通过", "return": "退回", "reopen": "重新开放"}


def soft_delete(session: Session, row, *, user: User | None, via: str, restore: bool = False) -> None:
    entity = {School: "school", SchoolYear: "school_year", CountyYear: "county_year"}[type(row)]
    key = row.code if isinstance(row, School) else (
        f"{row.school.code}/{row.year}" if isinstance(row, SchoolYear) else f"{row.county.code}/{row.year}")
    county_id = row.county_id if isinstance(row, (School, CountyYear)) else row.school.county_id
    old, new = (row.deleted_at, None) if restore else (None, utcnow())
    session.add(AuditEntry(user_id=user.id if user else None, via=via, entity=entity, entity_key=key,
                           county_id=county_id, field="deleted_at",
                           old=old.isoformat() if isinstance(old, datetime) else old,
                           new=new.isoformat() if new else None, note="恢复" if restore else "删除"))
    row.deleted_at = new

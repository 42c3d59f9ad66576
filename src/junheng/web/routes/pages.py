"""The pages: overview (city/province), county dashboard, school page, standard page.
Each page also answers `?format=json` with the data it shows.

The county and school pages follow the result's own standard: its areas and their names, its
unit-level indicators (`result.resource_ids()`), units judged one by one or shown as values only
(no per-school rule), CVs against their own limits or their composite, and the values the
standard reports without judging them."""

from __future__ import annotations

import os
from collections import Counter, OrderedDict
from pathlib import Path
from typing import NamedTuple

import jinja2
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.data.catalog import catalog
from junheng.engine.evaluate import NothingToEvaluate
from junheng.engine.result import EvaluationResult
from junheng.reports.standards import rule_text
from junheng.schoolyear import label as school_year_label
from junheng.schoolyear import current_school_year
from junheng.services import data_stamps, evaluate_stored, evaluate_stored_years, year_progress
from junheng.store.evaluations import data_stamp
from junheng.standards.loader import DEFAULT_STANDARD, available_ids, find_standard_by_id, standard_name
from junheng.standards.model import AREA_LABELS
from junheng.store import repo
from junheng.store.models import School, SchoolYear
from junheng.store.repo import STATE_LABELS
from junheng.store.users import ROLE_LABELS
from junheng.web.app import templates
from junheng.web.deps import REQUEST_SESSION, Viewer, current_viewer
from junheng.web.params import Year

router = APIRouter(include_in_schema=False)
SEGMENTS = {"primary": "小学", "junior": "初中"}


@jinja2.pass_context
def _standard_name(context, standard_id: str | None) -> str:
    """A standard's name as pages show it (the id stays in links and form values), the
    workspace's own standards included."""
    request = context.get("request")
    return standard_name(standard_id, [standards_folder(request)] if request is not None else [])


# the one source of what pages call things: the data format catalogue's labels and the
# standards' names, never their keys (`{{ school.school_type|school_type }}` → 九年一贯制学校)
templates.env.filters["school_type"] = lambda key: catalog().school_type_label(key)
templates.env.filters["field_label"] = lambda key, table=None: catalog().field_label(key, table)
templates.env.filters["enum_label"] = lambda value, field, table=None: catalog().enum_label(field, value, table)
templates.env.filters["standard_name"] = _standard_name


def _has_survey_area(request: Request, county) -> bool:
    """Whether the county's standard has the area a survey feeds (the page then links the surveys)."""
    from junheng.survey.results import SURVEY_AREA
    from junheng.web.routes.editing import county_standard  # (editing imports this module)

    std = county_standard(request, county)
    return std is None or std.has_area(SURVEY_AREA)  # an unreadable standard hides nothing


def _quality_monitored(request: Request, county) -> bool:
    """Whether the county's standard monitors quality (the page then links the quality page)."""
    from junheng.web.routes.quality import quality_monitored  # (quality imports this module)

    return quality_monitored(request, county)


def standards_folder(request: Request) -> Path:
    """The workspace's own standard files (`<workspace>/standards/*.yaml`), shown beside the catalogue's."""
    return standards_folder_of(request.app.state.settings)


def standards_folder_of(settings) -> Path:
    return Path(settings.folder) / "standards"


def render(request: Request, template: str, context: dict, data: dict | None = None, status_code: int = 200):
    """The page, or with `?format=json` the data it shows."""
    if request.query_params.get("format") == "json":
        return JSONResponse(data if data is not None else {}, status_code=status_code)
    return templates.TemplateResponse(request, template, {"role_labels": ROLE_LABELS, "area_labels": AREA_LABELS,
                                                          "state_labels": STATE_LABELS, "segments": SEGMENTS,
                                                          **context}, status_code=status_code)


@router.get("/")
def home(viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    return RedirectResponse(viewer.access.home(session), status_code=303)


@router.get("/overview")
def overview(request: Request, viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    rows = []
    counties = viewer.access.readable_counties(session)
    data_stamps(session, [c.id for c in counties])  # every county's data stamp in one go
    for county in counties:
        # the current evaluation of approved data (stored runs are found again cheaply), never an older run
        try:
            result, run, _ = evaluate_stored(session, county.code, user_id=viewer.user_id, county=county)
        except NothingToEvaluate:
            result, run = None, None
        # a provisional result (no year complete yet) names no failing items for the county
        failing = result.failing_items() if result and result.complete else []
        rows.append({"code": county.code, "name": county.name, "city": county.parent.name if county.parent else "",
                     "standard": county.standard or DEFAULT_STANDARD, "target_year": county.target_year,
                     "certified_year": county.certified_year, "year": run.year if run else None,
                     "verdict": run.verdict if run else None, "failing": failing,
                     "complete": result.complete if result else None,
                     "in_progress": progress_rows(year_progress(session, county), county.code)})
    return render(request, "overview.html", {"viewer": viewer, "rows": rows}, {"counties": rows})


def _heatmap(result: EvaluationResult) -> dict:
    ids = result.resource_ids()
    units = sorted(result.resource.units, key=lambda u: (u.segment, u.compliant is not False, u.school_name))
    cells = []
    for y, u in enumerate(units):
        for x, ind in enumerate(ids):
            met = u.indicators[ind].met
            ratio = u.indicators[ind].ratio
            cells.append([x, y, -1 if met is None else (1 if met else 0), round(ratio, 3) if ratio is not None else None])
    return {"x": ids, "y": [f"{u.school_name}({SEGMENTS[u.segment]})" for u in units], "cells": cells}


def _cv_chart(result: EvaluationResult) -> dict:
    """Per segment the CVs of the unit-level indicators with their limit; under a composite limit
    (no limit of their own) the segment's composite instead."""
    ids = result.resource_ids()
    composite = result.resource.composite_cv or {}
    out = {}
    for segment, items in result.resource.cv.items():
        shown = [i for i in ids if i in items]
        out[segment] = {"indicators": shown, "values": [items[i].value for i in shown],
                        "limit": items[shown[0]].limit if shown else None}
        if segment in composite:
            c = composite[segment]
            out[segment]["composite"] = {"value": c.value, "limit": c.limit, "met": c.met}
    return out


def _r_names(result: EvaluationResult, folders: list[Path]) -> list[str]:
    """The names of the unit-level indicators as the result's standard gives them (the charts'
    tooltips and legend, the tables beside the ids)."""
    std = find_standard_by_id(result.standard, folders)
    return [std.indicators[i].name if std is not None and i in std.indicators else i for i in result.resource_ids()]


def _area_names(result: EvaluationResult, folders: list[Path]) -> dict[str, str]:
    """Each area of the result's standard with the standard's name for it (results stored
    before areas carried their label: the standard file's, else the national names)."""
    std = None
    out = {}
    for area, found in result.areas.present().items():
        if found.label:
            out[area] = found.label
            continue
        std = std or find_standard_by_id(result.standard, folders)
        out[area] = std.area_label(area) if std is not None else AREA_LABELS.get(area, area)
    return out


def _unit_values(result: EvaluationResult) -> list[dict]:
    """Each unit's values, for a standard that judges no unit one by one (shown as values only)."""
    units = sorted(result.resource.units, key=lambda u: (u.segment, u.school_name))
    return [{"school_id": u.school_id, "school_name": u.school_name, "segment": u.segment, "students": u.students,
             "values": [u.indicators[i].value for i in result.resource_ids()]} for u in units]


def progress_rows(progress, code: str) -> list[dict]:
    """The years being filled in after the latest complete one, as the pages show them."""
    return [{"year": y, "label": school_year_label(y), "fraction": c.fraction(), "statement": c.statement(),
             "county_year": c.county_year, "link": f"/counties/{code}/review?year={y}"}
            for y, c in progress.in_progress]


_FRAGMENTS: "OrderedDict[tuple, dict[str, str]]" = OrderedDict()  # (database, run, inputs, county, standards) → HTML
_FRAGMENTS_KEPT = 256
RESULT_FRAGMENTS = ("county_result_head", "county_result_body")  # templates/_county_result_*.html


def _standards_signature(folder: Path) -> tuple:
    """What of the workspace's standard files the fragments read (names of indicators and areas):
    a changed file is a new signature."""
    try:
        return tuple(sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in os.scandir(folder)))
    except OSError:
        return ()


def result_fragments(database_url: str, folder: Path, county, result: EvaluationResult, run) -> dict[str, str]:
    """The county page's parts that show the stored run (verdict cards, failing items, charts,
    heatmap), rendered and typeset once per run: a run never changes, so they are kept by its id
    and inputs version (and the workspace's standard files the names come from); everything that
    depends on the viewer or on the workflow is rendered with the page."""
    key = (database_url, run.id, run.inputs_version, county.code, _standards_signature(folder))
    hit = _FRAGMENTS.get(key)
    if hit is not None:
        _FRAGMENTS.move_to_end(key)
        return hit
    folders = [folder]
    names = _r_names(result, folders)
    ids = result.resource_ids()
    judged = result.resource is not None and result.resource.per_school_rule
    context = {"county": county, "result": result, "run": run, "segments": SEGMENTS, "r_ids": ids,
               "areas": list(result.areas.present()), "item_areas": list(result.areas.items()),
               "area_names": _area_names(result, folders), "per_school_rule": judged,
               "r_names": dict(zip(ids, names)), "failing": result.failing_items()}
    if result.resource is not None:
        cv_chart = _cv_chart(result)
        context |= {"cv_chart": {seg: c | {"names": [names[ids.index(i)] for i in c["indicators"]]}
                                 for seg, c in cv_chart.items()}}
        if judged:
            context |= {"heatmap": _heatmap(result) | {"names": names}}
        else:
            context |= {"unit_values": _unit_values(result)}
    rendered = {name: templates.env.get_template(f"_{name}.html").render(context) for name in RESULT_FRAGMENTS}
    _FRAGMENTS[key] = rendered
    if len(_FRAGMENTS) > _FRAGMENTS_KEPT:
        _FRAGMENTS.popitem(last=False)
    return rendered


class SchoolListed(NamedTuple):
    """A school as the county page lists it."""

    id: int
    code: str
    name: str
    school_type: str


class YearState(NamedTuple):
    school_id: int
    year: int
    status: str
    deleted_at: object


_LISTINGS: "OrderedDict[tuple, tuple[list[SchoolListed], list[YearState]]]" = OrderedDict()
_LISTINGS_KEPT = 1024


def county_listing(session: Session, database_url: str, county) -> tuple[list[SchoolListed], list[YearState]]:
    """The county's schools (not deleted, by code) and the workflow state of each of their
    school-years (not their values: the page shows states only), kept by the county's data stamp
    (`data_stamp`: schools, their names and types, new rows, states and deletions are all audited
    changes of approved inputs, or new rows; value edits of drafts change none of this)."""
    stamp = data_stamp(session, county.id)
    key = (database_url, county.id, stamp)
    if stamp is not None and (hit := _LISTINGS.get(key)) is not None:
        _LISTINGS.move_to_end(key)
        return hit
    schools = [SchoolListed(*r) for r in session.execute(
        select(School.id, School.code, School.name, School.school_type)
        .where(School.county_id == county.id, School.deleted_at.is_(None)).order_by(School.code))]
    years_rows = [YearState(*r) for r in session.execute(
        select(SchoolYear.school_id, SchoolYear.year, SchoolYear.status, SchoolYear.deleted_at)
        .join(School, School.id == SchoolYear.school_id)
        .where(School.county_id == county.id, School.deleted_at.is_(None)))]
    if stamp is not None:
        _LISTINGS[key] = schools, years_rows
        if len(_LISTINGS) > _LISTINGS_KEPT:
            _LISTINGS.popitem(last=False)
    return schools, years_rows


_SCHOOL_TABLES: "OrderedDict[tuple, str]" = OrderedDict()
_SCHOOL_TABLES_KEPT = 1024


def schools_fragment(session: Session, database_url: str, county, schools, statuses, year: int | None,
                     can_manage: bool) -> str:
    """The county page's table of schools (templates/_county_schools.html), rendered and typeset
    once per data stamp, year shown, whether the viewer manages the county and the current school
    year (its links): it holds nothing else of the viewer."""
    stamp = data_stamp(session, county.id)
    key = (database_url, county.id, stamp, year, can_manage, current_school_year())
    if stamp is not None and (hit := _SCHOOL_TABLES.get(key)) is not None:
        _SCHOOL_TABLES.move_to_end(key)
        return hit
    html = templates.env.get_template("_county_schools.html").render(
        {"county": county, "schools": schools, "statuses": statuses, "year": year, "can_manage": can_manage,
         "state_labels": STATE_LABELS})
    if stamp is not None:
        _SCHOOL_TABLES[key] = html
        if len(_SCHOOL_TABLES) > _SCHOOL_TABLES_KEPT:
            _SCHOOL_TABLES.popitem(last=False)
    return html


@router.get("/counties/{code}")
def county_dashboard(code: str, request: Request, year: Year | None = None,
                     viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    county = repo.county_by_code(session, code)
    if not viewer.access.can_read_county(county):
        raise HTTPException(status_code=403)
    database_url = str(request.app.state.db.url)
    schools, years_rows = county_listing(session, database_url, county)
    progress = year_progress(session, county)
    all_years = sorted({r.year for r in years_rows} | set(progress.coverage))
    try:
        # without a year: the latest complete year (a year in progress never stands for the county)
        result, run, _ = evaluate_stored(session, code, year, user_id=viewer.user_id, county=county)
    except NothingToEvaluate as exc:
        result, run, message = None, None, exc.user_message()
    else:
        message = None
    if result is not None and year is not None and result.year != year:
        coverage = progress.coverage.get(year)
        message = f"{school_year_label(year)}还没有已审核的学校数据,无法评估" + (
            f"(已审核 {coverage.fraction()} 所)" if coverage else "") + "。"
        result, run = None, None
    shown_year = year or (result.year if result else (all_years[-1] if all_years else None))
    counts = Counter(r.status for r in years_rows if r.year == shown_year and r.deleted_at is None)
    workflow = {state: counts[state] for state in STATE_LABELS if counts[state]}  # in the workflow's order
    statuses = {(r.school_id, r.year): r.status for r in years_rows}
    can_manage = viewer.access.can_manage_county(county)
    context = {"viewer": viewer, "county": county, "schools": schools, "years": all_years, "year": shown_year,
               "workflow": workflow, "result": result, "run": run, "message": message,
               "can_manage": can_manage, "areas": [], "item_areas": [], "r_ids": [],
               "statuses": statuses,
               "complete_years": set(progress.complete_years),
               "in_progress": [p for p in progress_rows(progress, code) if p["year"] != shown_year or result is None],
               "surveyed": _has_survey_area(request, county), "quality_monitored": _quality_monitored(request, county)}
    if request.query_params.get("format") != "json":
        context["fragments"] = {"county_schools": schools_fragment(session, database_url, county, schools, statuses,
                                                                   shown_year, can_manage)}
        if result is not None:
            context["fragments"] |= result_fragments(database_url, standards_folder(request), county, result, run)
    if request.query_params.get("format") != "json":  # (the result's JSON only when it is asked for)
        return render(request, "county.html", context)
    data = result.to_json() if result else {"detail": message}
    data = data | {"in_progress": context["in_progress"], "latest_complete_year": progress.latest_complete}
    return render(request, "county.html", context, data)


@router.get("/schools/{code}")
def school_page(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
                session: Session = REQUEST_SESSION):
    school = repo.school_by_code(session, code)
    if not viewer.access.can_read_school(school):
        raise HTTPException(status_code=403)
    rows = session.scalars(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.deleted_at.is_(None))
                           .order_by(SchoolYear.year)).all()
    history = []
    result = None
    if viewer.access.can_read_county(school.county) or viewer.access.can_edit_school(school):
        approved = [row.year for row in rows if row.status == "approved"]
        results = evaluate_stored_years(session, school.county, approved, user_id=viewer.user_id)
        for year in approved:
            if (r := results.get(year)) is None:
                continue
            history.append({"year": year, "units": [u for u in r.resource.units if u.school_id == code]
                            if r.resource is not None else []})
            result = r
    units = [u for u in result.resource.units if u.school_id == code] if result and result.resource else []
    findings = []
    if result is not None:
        for area in result.areas.items().values():
            for item in area.indicators.values():
                for finding in item.schools:
                    if finding.school_id == code:
                        findings.append({"id": item.id, "name": item.name, "detail": finding.detail, "met": finding.met})
    county_values = {seg: {i: c.county_value for i, c in items.items()} for seg, items in result.resource.cv.items()} \
        if result and result.resource else {}
    school_type = catalog().school_types.get(school.school_type)
    folders = [standards_folder(request)]
    r_ids = result.resource_ids() if result else []
    # the history table's columns: the indicators of the latest year's standard that every year has
    history_ids = [i for i in r_ids if all(i in u.indicators for h in history for u in h["units"])]
    context = {"viewer": viewer, "school": school, "rows": rows, "units": units, "result": result,
               "school_type_label": school_type.label if school_type else school.school_type,
               "findings": findings, "history": history, "county_values": county_values, "r_ids": r_ids,
               "history_ids": history_ids,
               "r_names": dict(zip(r_ids, _r_names(result, folders))) if result else {},
               "area_names": _area_names(result, folders) if result else {},
               "per_school_rule": bool(result and result.resource and result.resource.per_school_rule),
               "can_edit": viewer.access.can_edit_school(school), "quality_year": _school_quality_year(session, school)}
    data = {"school_id": school.code, "name": school.name, "years": [{"year": r.year, "status": r.status} for r in rows],
            "units": [u.model_dump(mode="json") for u in units], "findings": findings}
    return render(request, "school.html", context, data)


def _school_quality_year(session: Session, school) -> int | None:
    """The newest year whose stored quality analysis has the school's figures (the page links it)."""
    from junheng.web.routes.quality import school_quality_year

    return school_quality_year(session, school)


@router.get("/standards/{standard_id}")
def standard_page(standard_id: str, request: Request, viewer: Viewer = Depends(current_viewer)):
    # the id names a standard of the catalogue or of the workspace's standards/ folder, never a
    # file of the server (junheng.toml, junheng.db, ../…, /etc/…): those are not found, not read
    folders = [standards_folder(request)]
    std = find_standard_by_id(standard_id, folders)
    if std is None:
        raise HTTPException(status_code=404, detail=f"没有这个标准;可用的标准:{'、'.join(available_ids(folders))}")
    areas = [(std.area_label(a), [(i, rule_text(i)) for i in std.by_area(a)]) for a in std.areas]
    data = {"id": std.id, "name": std.name,
            "indicators": [{"id": i.id, "name": i.name, "rule": rule_text(i), "responsible": list(i.responsible)}
                           for i in std.indicators.values()]}
    return render(request, "standard.html", {"viewer": viewer, "std": std, "areas": areas}, data)

"""County review: the school-years waiting for the county admin (approve, return with a comment,
reopen approved ones), all through audited workflow transitions (`repo.transition`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.data.catalog import catalog
from junheng.data.importer import validate_rows
from junheng.data.problems import DatasetInvalid
from junheng.engine.wording import num
from junheng.errors import JunhengError
from junheng.monitor.rules import rules_for
from junheng.schoolyear import label as school_year_label
from junheng.standards.loader import DEFAULT_STANDARD, find_standard_by_id, load_standard
from junheng.standards.model import Standard
from junheng.store import repo
from junheng.store.models import OrgNode, School, SchoolYear
from junheng.store.repo import StoreError
from junheng.web.app import templates
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, county_for, current_viewer, monitor_config
from junheng.web.params import YEAR_MAX, YEAR_MIN, Year, parse_int
from junheng.web.routes.editing import (
    base_context,
    form_data,
    local_time,
    problem_text,
    saved_redirect,
    school_year_specs,
    shown,
    with_message,
)

router = APIRouter(include_in_schema=False)

# The values a reviewer looks at first, in this order (labels and units from the catalogue);
# only those of the school's own segments (`school_year_specs`): pupils, classes and teachers,
# then what the county's standard reads of the school: its school-wide facilities (the shared
# per-student resources), its special rooms, and the school's public funds when it reads them.
BASE_FIELDS = ("students_primary", "students_junior", "classes_primary", "classes_junior", "teachers_primary",
               "teachers_junior")
FUNDS_FIELDS = ("public_funds",)


def key_fields(standard: Standard) -> tuple[str, ...]:
    shared = [ind.rule.resource for ind in standard.resource_indicators() if ind.rule.source == "shared"]
    rooms = [room.rooms_field for ind in standard.indicators_of_kind("school_rooms") for room in ind.rule.rooms.values()]
    read = standard.fields_read()["school_year"]
    return tuple(dict.fromkeys([*BASE_FIELDS, *shared, *rooms, *(f for f in FUNDS_FIELDS if f in read)]))


def _county_standard(request: Request, county: OrgNode) -> Standard:
    """The county's standard (the workspace's own standard files included), else the default."""
    from junheng.web.routes.pages import standards_folder

    try:
        found = find_standard_by_id(county.standard or DEFAULT_STANDARD, [standards_folder(request)])
    except JunhengError:  # a broken workspace standard is reported where it is evaluated, not here
        found = None
    return found if found is not None else load_standard(DEFAULT_STANDARD)
# A change beyond this share is marked for fields the warning rules (data_jump) do not bound
DEFAULT_JUMP = 0.30


def _jump_limits(request: Request, county: OrgNode) -> dict:
    """field → (drop, rise) of the county's data_jump warning rule: the same bounds the warnings
    page uses, so the review marks what the monitoring would raise."""
    try:
        rules = rules_for(county.code, county.standard, monitor_config(request).rules_dir)
    except JunhengError:  # a broken rules file is reported by the warnings pages, not here
        return {}
    out = {}
    for rule in rules.enabled("data_jump").values():
        for key, jump in rule.fields.items():
            out.setdefault(key, (jump.drop, jump.rise))
    return out


def _value_text(spec, value) -> str:
    if value is None:
        return "未填"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float)):
        return num(value, spec.unit if spec is not None else None)
    return str(value)


def _change(spec, key: str, value, before, limits: dict) -> dict | None:
    """The change from last year's approved value: text, and whether it is large (beyond the
    data_jump bounds, or DEFAULT_JUMP either way for fields they do not bound)."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (value, before))
    if not numbers:
        return None
    delta = value - before
    if before == 0:
        return {"text": "无变化" if delta == 0 else f"上年为 0,现为 {num(value, spec.unit if spec else None)}",
                "large": delta != 0, "share": None}
    share = delta / abs(before)
    drop, rise = limits.get(key, (DEFAULT_JUMP, DEFAULT_JUMP))
    large = (drop is not None and share < -drop) or (rise is not None and share > rise)
    if abs(share) < 0.0005:
        return {"text": "无变化", "large": False, "share": 0.0}
    # one bracket width in the column: full-width, whatever the unit before it (typography would
    # widen it after 人 but not after a bare number)
    text = f"{'+' if delta > 0 else ''}{num(delta, spec.unit if spec else None)}（{share * 100:+.1f}%）"
    limit = None
    if large:
        limit = f"下降不超过 {drop * 100:.0f}%" if share < 0 else f"增长不超过 {rise * 100:.0f}%"
    return {"text": text, "large": large, "share": share, "limit": limit}


def _details(request: Request, session: Session, county: OrgNode, items: list[dict]) -> None:
    """Each pending item's key values, their change from the school's last approved year and the
    notes the row raises: the import's rules run again on the stored row (all items in one
    validation), large changes, and key values left empty."""
    if not items:
        return
    limits = _jump_limits(request, county)
    fields = key_fields(_county_standard(request, county))
    ids = [i["school"].id for i in items]
    approved = session.execute(select(SchoolYear.school_id, SchoolYear.year, SchoolYear.values)
                               .where(SchoolYear.school_id.in_(ids), SchoolYear.status == "approved",
                                      SchoolYear.deleted_at.is_(None))).all()
    catalogue = catalog().table("school_year")
    rosters, rows = {}, []
    for item in items:
        school, row = item["school"], item["row"]
        values = row.values or {}
        specs = {f.key: f for f in school_year_specs(school, values)}
        earlier = [(y, v) for sid, y, v in approved if sid == school.id and y < row.year]
        previous_year, previous = max(earlier, key=lambda pair: pair[0]) if earlier else (None, {})
        shown_values, notes, empty = [], [], []
        for key in fields:
            spec = specs.get(key)
            if spec is None:
                continue
            value = values.get(key)
            if value is None:
                empty.append(spec.label)
            change = _change(spec, key, value, (previous or {}).get(key), limits) if previous_year else None
            if change and change["large"]:
                notes.append(f"{spec.label}比 {school_year_label(previous_year)}变化 {change['share'] * 100:+.1f}%"
                             + (f",超出合理范围({change['limit']})" if change.get("limit") else "")
                             + ",请核实。")
            shown_values.append({"label": spec.label, "value": _value_text(spec, value), "change": change})
        if empty:
            notes.append("未填写:" + "、".join(empty) + "。")
        item |= {"values": shown_values, "previous_year": previous_year, "notes": notes}
        rosters[school.code] = {"school_id": school.code, "school_name": school.name,
                                "county_code": county.code, "school_type": school.school_type}
        rows.append({"school_id": school.code, "year": str(row.year),
                     **{k: shown(catalogue.field(k) if k in specs else None, v) for k, v in values.items()
                        if k in specs}})
    try:
        validate_rows({"schools": list(rosters.values()), "school_year": rows})
    except DatasetInvalid as exc:
        for problem in exc.problems:
            index = problem.row - 2 if problem.table == "school_year" and problem.row is not None else None
            if index is not None and 0 <= index < len(items):
                label = f"{problem.column_label}:" if problem.column_label else ""
                items[index]["notes"].insert(0, f"{label}{problem_text(problem)}")


def _county(session: Session, viewer: Viewer, code: str, *, manage: bool) -> OrgNode:
    return county_for(session, viewer, code, manage="只有本县区的县级管理员可以审核学校数据。" if manage else None)


def _rows(session: Session, county: OrgNode) -> list[tuple[School, SchoolYear]]:
    return session.execute(
        select(School, SchoolYear).join(SchoolYear, SchoolYear.school_id == School.id)
        .where(School.county_id == county.id, School.deleted_at.is_(None), SchoolYear.deleted_at.is_(None))
        .order_by(SchoolYear.year.desc(), School.code)).all()


@router.get("/counties/{code}/review")
def review_page(code: str, request: Request, year: Year | None = None, error: str | None = None,
                viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    county = _county(session, viewer, code, manage=False)
    rows = _rows(session, county)
    years = sorted({r.year for _, r in rows})
    year = year if year in years else (years[-1] if years else None)

    def item(school: School, row: SchoolYear) -> dict:
        return {"school": school, "row": row, "key": f"{school.code}/{row.year}", "updated": local_time(row.updated_at)}

    submitted = [item(s, r) for s, r in rows if r.status == "submitted"]
    _details(request, session, county, submitted)
    returned = [item(s, r) for s, r in rows if r.status == "returned"]
    of_year = [item(s, r) for s, r in rows if r.year == year]
    schools = session.scalars(select(School).where(School.county_id == county.id, School.deleted_at.is_(None))
                              .order_by(School.code)).all()
    filled = {i["school"].id for i in of_year}
    context = base_context(viewer) | {
        "county": county, "year": year, "years": years, "submitted": submitted, "returned": returned,
        "drafts": [i for i in of_year if i["row"].status == "draft"],
        "approved": [i for i in of_year if i["row"].status == "approved"],
        "submitted_of_year": [i for i in of_year if i["row"].status == "submitted"],
        "returned_of_year": [i for i in of_year if i["row"].status == "returned"],
        "missing": [s for s in schools if s.id not in filled], "can_manage": viewer.access.can_manage_county(county),
        "error": error,
    }
    return templates.TemplateResponse(request, "review.html", context)


@router.post("/counties/{code}/review")
def review_many(code: str, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                session: Session = REQUEST_SESSION):
    """Approve several submitted school-years at once: all of them or none."""
    county = _county(session, viewer, code, manage=True)
    if form.get("action") != "approve":
        raise HTTPException(status_code=400, detail="未知的操作。")
    keys = [str(k) for k in form.getlist("items")]
    if not keys:
        return RedirectResponse(f"/counties/{county.code}/review", status_code=303)
    rows = []
    for key in keys:
        school_code, _, year = key.rpartition("/")
        school = session.scalar(select(School).where(School.code == school_code))
        if school is None or school.county_id != county.id:
            raise HTTPException(status_code=403, detail=f"{key} 不属于本县区。")
        number = parse_int(year, YEAR_MIN, YEAR_MAX)  # bounded: 2⁶³ never reaches the query
        if number is None:
            raise HTTPException(status_code=404, detail=f"没有 {key} 的记录(学年应为四位年份)。")
        row = session.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == number)
                             .with_for_update())
        if row is None or row.deleted or school.deleted:
            raise HTTPException(status_code=404, detail=f"没有 {key} 的记录(或已删除)。")
        rows.append((school, row))
    try:
        for school, row in rows:
            repo.transition(session, row, "approve", user=viewer.user, via="form")
        session.flush()
    except StoreError as exc:
        session.rollback()
        response = review_page(code, request, None, f"{school.name}:{exc.user_message()}(所选数据均未审核通过)",
                               viewer, session)
        response.status_code = 409
        return response
    return saved_redirect(session, with_message(f"/counties/{county.code}/review", "approved_many"))

"""A county's change log (filterable, exported as CSV) and soft delete / restore of schools and
school-years (county admin and admin; audited, restorable)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from junheng.spreadsheets import csv_row
from junheng.store import repo
from junheng.store.models import AuditEntry, OrgNode, School, SchoolYear, User
from junheng.web.app import templates
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, county_for, current_viewer
from junheng.web.files import download
from junheng.web.params import Page, Year, parse_int
from junheng.web.routes.editing import (
    ENTITY_LABELS,
    ENTITY_TABLES,
    LOCAL_TIME,
    META_FIELD_LABELS,
    VIA_LABELS,
    audit_field_label,
    base_context,
    entry_row,
    local_time,
    saved_redirect,
    with_message,
)

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100
FILTERS = ("school", "field", "user", "via", "entity", "date_from", "date_to")


def _county(session: Session, viewer: Viewer, code: str, *, manage: bool = False) -> OrgNode:
    return county_for(session, viewer, code, manage="只有本县区的县级管理员可以执行此操作。" if manage else None)


def _parse_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"


def _filtered(county: OrgNode, params: dict[str, str]) -> tuple[object, list[str]]:
    """The audit query with the page's filters, and notes about filters that were not understood."""
    query = select(AuditEntry).where(AuditEntry.county_id == county.id)
    notes = []
    if params.get("school"):
        code = params["school"]
        query = query.where(or_(and_(AuditEntry.entity == "school", AuditEntry.entity_key == code),
                                and_(AuditEntry.entity == "school_year",
                                     AuditEntry.entity_key.like(_like_prefix(code), escape="\\"))))
    if params.get("field"):
        query = query.where(AuditEntry.field == params["field"])
    if params.get("user"):
        if params["user"] == "system":
            query = query.where(AuditEntry.user_id.is_(None))
        elif (user_id := parse_int(params["user"], 1)) is not None:  # bounded: 2⁶³ never reaches the query
            query = query.where(AuditEntry.user_id == user_id)
    if params.get("via"):
        query = query.where(AuditEntry.via == params["via"])
    if params.get("entity"):
        query = query.where(AuditEntry.entity == params["entity"])
    for name, label, shift in (("date_from", "起始日期", 0), ("date_to", "截止日期", 1)):
        if not params.get(name):
            continue
        day = _parse_date(params[name])
        if day is None:
            notes.append(f"{label}“{params[name]}”不是有效日期(应为 2025-03-01 这样的格式),已忽略")
            continue
        # whole days in Beijing time: from 00:00 of the first day to 00:00 after the last
        bound = datetime.combine(day + timedelta(days=shift), time(), tzinfo=LOCAL_TIME).astimezone(timezone.utc)
        query = query.where(AuditEntry.at >= bound if shift == 0 else AuditEntry.at < bound)
    return query, notes


def _params(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "").strip() for k in FILTERS}


def _school_names(session: Session, county: OrgNode) -> dict[str, str]:
    return {s.code: s.name for s in session.scalars(select(School).where(School.county_id == county.id)
                                                    .order_by(School.code))}


def _rows(session: Session, entries, names: dict[str, str]) -> list[dict]:
    out = []
    for e in entries:
        row = entry_row(e, ENTITY_TABLES.get(e.entity))
        school = e.entity_key.split("/")[0] if e.entity in ("school", "school_year") else None
        row["name"] = names.get(school, "") if school else ""
        out.append(row)
    return out


@router.get("/counties/{code}/audit")
def audit_page(code: str, request: Request, page: Page = 1, viewer: Viewer = Depends(current_viewer),
               session: Session = REQUEST_SESSION):
    county = _county(session, viewer, code)
    params = _params(request)
    query, notes = _filtered(county, params)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page = max(1, page)
    entries = session.scalars(query.options(selectinload(AuditEntry.user))
                              .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    names = _school_names(session, county)
    fields = sorted(session.scalars(select(AuditEntry.field).where(AuditEntry.county_id == county.id).distinct()))
    user_ids = [u for u in session.scalars(select(AuditEntry.user_id).where(AuditEntry.county_id == county.id)
                                           .distinct()) if u is not None]
    users = session.scalars(select(User).where(User.id.in_(user_ids)).order_by(User.username)).all()
    query_string = urlencode({k: v for k, v in params.items() if v})
    context = base_context(viewer) | {
        "county": county, "params": params, "notes": notes, "rows": _rows(session, entries, names), "total": total,
        "page": page, "pages": max(1, -(-total // PAGE_SIZE)), "query_string": query_string,
        "schools": names, "fields": [(f, _field_label(f)) for f in fields], "users": users,
        "entities": ENTITY_LABELS, "vias": VIA_LABELS, "can_manage": viewer.access.can_manage_county(county),
    }
    return templates.TemplateResponse(request, "audit.html", context)


def _field_label(key: str) -> str:
    return META_FIELD_LABELS[key] if key in META_FIELD_LABELS else audit_field_label(None, key)


CSV_HEADER = ["时间(北京时间)", "用户", "方式", "对象类型", "对象", "学校名称", "字段", "字段名称", "原值", "新值", "备注"]


@router.get("/counties/{code}/audit.csv")
def audit_csv(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
              session: Session = REQUEST_SESSION):
    county = _county(session, viewer, code)
    query, _ = _filtered(county, _params(request))
    entries = session.scalars(query.options(selectinload(AuditEntry.user))
                              .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())).all()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for r in _rows(session, entries, _school_names(session, county)):
        # names, values and notes are typed by users: a formula-like text is written as text
        writer.writerow(csv_row([r["at"], r["user"], r["via"], r["entity"], r["entity_key"], r["name"], r["field"],
                                 r["label"], r["old"], r["new"], r["note"]]))
    name = f"{county.name}-修改记录.csv"
    return download(buffer.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8", name, f"{county.code}-audit.csv",
                    private=True)


# ---------------------------------------------------------------- soft delete and restore

@router.get("/counties/{code}/deleted")
def deleted_page(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
                 session: Session = REQUEST_SESSION):
    county = _county(session, viewer, code, manage=True)
    schools = session.scalars(select(School).where(School.county_id == county.id, School.deleted_at.is_not(None))
                              .order_by(School.code)).all()
    years = session.execute(select(School, SchoolYear).join(SchoolYear, SchoolYear.school_id == School.id)
                            .where(School.county_id == county.id, SchoolYear.deleted_at.is_not(None))
                            .order_by(School.code, SchoolYear.year)).all()
    context = base_context(viewer) | {
        "county": county, "schools": [{"school": s, "at": local_time(s.deleted_at)} for s in schools],
        "years": [{"school": s, "row": r, "at": local_time(r.deleted_at)} for s, r in years],
    }
    return templates.TemplateResponse(request, "deleted.html", context)


def _school_for_manage(session: Session, viewer: Viewer, code: str) -> School:
    school = repo.school_by_code(session, code)
    if not viewer.access.can_manage_county(school.county):
        raise HTTPException(status_code=403, detail="只有本县区的县级管理员可以删除或恢复学校数据。")
    return school


@router.post("/schools/{code}/delete")
def delete_school(code: str, viewer: Viewer = Depends(check_csrf), session: Session = REQUEST_SESSION):
    school = _school_for_manage(session, viewer, code)
    if school.deleted:
        raise HTTPException(status_code=409, detail="该学校已删除。")
    repo.soft_delete(session, school, user=viewer.user, via="form")
    return saved_redirect(session, with_message(f"/counties/{school.county.code}", "deleted"))


@router.post("/schools/{code}/restore")
def restore_school(code: str, viewer: Viewer = Depends(check_csrf), session: Session = REQUEST_SESSION):
    school = _school_for_manage(session, viewer, code)
    if not school.deleted:
        raise HTTPException(status_code=409, detail="该学校没有被删除。")
    repo.soft_delete(session, school, user=viewer.user, via="form", restore=True)
    return saved_redirect(session, with_message(f"/counties/{school.county.code}/deleted", "restored"))


def _year_row(session: Session, school: School, year: int) -> SchoolYear:
    row = session.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == year))
    if row is None:
        raise HTTPException(status_code=404, detail="没有该学年的记录。")
    return row


@router.post("/schools/{code}/years/{year}/delete")
def delete_school_year(code: str, year: Year, viewer: Viewer = Depends(check_csrf),
                       session: Session = REQUEST_SESSION):
    school = _school_for_manage(session, viewer, code)
    row = _year_row(session, school, year)
    if row.deleted:
        raise HTTPException(status_code=409, detail="该学年的记录已删除。")
    if row.status in ("submitted", "approved"):
        raise HTTPException(status_code=409, detail="已提交或已审核的数据不能直接删除:请先退回或重新开放。")
    repo.soft_delete(session, row, user=viewer.user, via="form")
    return saved_redirect(session, with_message(f"/schools/{school.code}", "deleted"))


@router.post("/schools/{code}/years/{year}/restore")
def restore_school_year(code: str, year: Year, viewer: Viewer = Depends(check_csrf),
                        session: Session = REQUEST_SESSION):
    school = _school_for_manage(session, viewer, code)
    row = _year_row(session, school, year)
    if not row.deleted:
        raise HTTPException(status_code=409, detail="该学年的记录没有被删除。")
    repo.soft_delete(session, row, user=viewer.user, via="form", restore=True)
    return saved_redirect(session, with_message(f"/counties/{school.county.code}/deleted", "restored"))

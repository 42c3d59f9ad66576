"""County review: the school-years waiting for the county admin (approve, return with a comment,
reopen approved ones), all through audited workflow transitions (`repo.transition`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.store import repo
from junheng.store.models import OrgNode, School, SchoolYear
from junheng.store.repo import StoreError
from junheng.web.app import templates
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, county_for, current_viewer
from junheng.web.params import YEAR_MAX, YEAR_MIN, Year, parse_int
from junheng.web.routes.editing import (
    base_context,
    form_data,
    local_time,
    saved_redirect,
    with_message,
)

router = APIRouter(include_in_schema=False)


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
    returned = [item(s, r) for s, r in rows if r.status == "returned"]
    of_year = [item(s, r) for s, r in rows if r.year == year]
    schools = session.scalars(select(School).where(School.county_id == county.id, School.deleted_at.is_(None))
                              .order_by(School.code)).all()
    filled = {i["school"].id for i in of_year}
    context = base_context(viewer) | {
        "county": county, "year": year, "years": years, "submitted": submitted, "returned": returned,
        "drafts": [i for i in of_year if i["row"].status == "draft"],
        "approved": [i for i in of_year if i["row"].status == "approved"],
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

"""Indicator trends of a county or a school: charts and the year-on-year table, from
junheng.monitor (time_series, trend_view); `?fragment=1` is the part the county dashboard loads.
Every page answers `?format=json`; nothing here recomputes an indicator."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy.orm import Session

from junheng.monitor.series import trend_view
from junheng.monitor.service import time_series
from junheng.store import repo
from junheng.web.deps import REQUEST_SESSION, Viewer, county_for, current_viewer
from junheng.web.params import Year
from junheng.web.routes.editing import FLASH_MESSAGES
from junheng.web.routes.monitoring import SEGMENTS
from junheng.web.routes.pages import render

router = APIRouter(include_in_schema=False)

MESSAGES = FLASH_MESSAGES


def _context(viewer: Viewer, **extra) -> dict:
    return {"viewer": viewer, "flash_messages": MESSAGES, "segments": SEGMENTS, **extra}


@router.get("/counties/{code}/trends")
def county_trends(code: str, request: Request, year: Year | None = None, fragment: bool = False,
                  viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    """Trend charts and the year-on-year table of a county; `?fragment=1` is the part the
    county dashboard loads into its page (templates/_trends.html)."""
    county = county_for(session, viewer, code)
    view = trend_view(time_series(session, county.code), year=year)
    data = {"county_code": county.code, "county_name": county.name, **view}
    context = _context(viewer, county=county, trends=view, fragment=fragment,
                       base_url=f"/counties/{county.code}/trends")
    return render(request, "_trends.html" if fragment else "trends.html", context, data)


@router.get("/schools/{code}/trends")
def school_trends(code: str, request: Request, year: Year | None = None, fragment: bool = False,
                  viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    school = repo.school_by_code(session, code)
    if not viewer.access.can_read_school(school):
        raise HTTPException(status_code=403, detail="您没有权限查看该学校的数据。")
    view = trend_view(time_series(session, school.county.code, school_code=school.code), year=year,
                      school_id=school.code)
    data = {"school_id": school.code, "school_name": school.name, "county_code": school.county.code, **view}
    context = _context(viewer, school=school, county=school.county, trends=view, fragment=fragment,
                       base_url=f"/schools/{school.code}/trends")
    return render(request, "_trends.html" if fragment else "trends.html", context, data)

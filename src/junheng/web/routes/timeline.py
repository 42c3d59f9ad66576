"""A county's timeline (工作推进计划: its tasks and the milestones of its target years) and its
year-by-year plan of tasks and investment, from junheng.monitor.tasks."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from junheng.monitor.tasks import county_timeline, year_plan
from junheng.web.deps import REQUEST_SESSION, Viewer, current_viewer
from junheng.web.routes.editing import today
from junheng.web.routes.monitoring import readable_county, supervision_context
from junheng.web.routes.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/counties/{code}/timeline")
def timeline_page(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
                  session: Session = REQUEST_SESSION):
    county = readable_county(session, viewer, code)
    day = today()
    timeline = county_timeline(session, county.code, today=day)
    plan = year_plan(session, county.code)
    rows = [{"kind": "task", "sort": (t["start_date"] or t["deadline"] or "9999-12-31", t["deadline"] or "", t["id"]),
             **t} for t in timeline["items"]]
    rows += [{"kind": "milestone", "sort": (f"{m['year']}-12-31~", "", 0), "period": str(m["year"]), **m}
             for m in timeline["milestones"]]
    rows.sort(key=lambda r: r["sort"])
    for r in rows:
        r.pop("sort")
    context = supervision_context(viewer, county=county, timeline=timeline, plan=plan, rows=rows,
                       can_manage=viewer.access.can_manage_county(county))
    return render(request, "timeline.html", context, {"timeline": timeline, "plan": plan})

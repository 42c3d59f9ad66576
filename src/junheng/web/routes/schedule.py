"""The schedule of a city or province (创建进度): each county's path to its target year
(junheng.monitor.service.city_schedule), and the index of the areas a viewer may read."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.store.models import OrgNode
from junheng.web.deps import REQUEST_SESSION, Viewer, current_viewer
from junheng.web.routes.editing import today
from junheng.web.routes.monitoring import supervision_context
from junheng.web.routes.pages import render

router = APIRouter(include_in_schema=False)


def _schedule_roots(session: Session, viewer: Viewer) -> list[OrgNode]:
    """The highest nodes the viewer reads: provinces (or cities, counties) at the top of its grants."""
    if viewer.access.admin:
        nodes = session.scalars(select(OrgNode).where(OrgNode.parent_id.is_(None), OrgNode.deleted_at.is_(None))
                                .order_by(OrgNode.code)).all()
        return [n for n in nodes if n.kind != "county"] or list(nodes)
    ids = {g.org_node_id for g in viewer.user.grants if g.org_node_id is not None}
    nodes = session.scalars(select(OrgNode).where(OrgNode.id.in_(ids), OrgNode.deleted_at.is_(None))
                            .order_by(OrgNode.code)).all() if ids else []
    return list(nodes)


@router.get("/schedule")
def schedule_index(request: Request, viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    roots = _schedule_roots(session, viewer)
    if not roots:
        raise HTTPException(status_code=403, detail="您的账号不属于任何县区、市或省,没有可查看的创建进度。")
    if len(roots) == 1 and request.query_params.get("format") != "json":
        return RedirectResponse(f"/nodes/{roots[0].code}/schedule", status_code=303)
    data = {"nodes": [{"code": n.code, "name": n.name, "kind": n.kind} for n in roots]}
    return render(request, "schedule.html", supervision_context(viewer, roots=roots, schedule=None), data)


@router.get("/nodes/{code}/schedule")
def schedule_page(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
                  session: Session = REQUEST_SESSION):
    from junheng.monitor.schedule import ScheduleError
    from junheng.monitor.service import city_schedule

    node = session.scalar(select(OrgNode).where(OrgNode.code == code, OrgNode.deleted_at.is_(None)))
    if node is None:
        raise HTTPException(status_code=404, detail=f"没有代码为 {code} 的县区、市或省。")
    if not (viewer.access.admin or node.id in viewer.access.read_nodes):
        raise HTTPException(status_code=403, detail="您没有权限查看该地区的创建进度。")
    try:
        schedule = city_schedule(session, node.code, today=today())
    except ScheduleError as exc:
        raise HTTPException(status_code=404, detail=exc.user_message()) from None
    kinds = {"province": "省", "city": "市", "county": "县区"}
    return render(request, "schedule.html", supervision_context(viewer, node=node, schedule=schedule, roots=None,
                                                     kind_label=kinds.get(node.kind, "")), schedule)

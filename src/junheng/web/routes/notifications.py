"""Notification pages: the log of digests sent to the user's channels (an admin sees all of
them) and the user's own subscriptions (e-mail or webhook, minimum severity, county, kinds):
add, pause, resume. The work is junheng.monitor.notify's; `?format=json` as everywhere."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.monitor.notify import (
    CHANNEL_LABELS,
    FORMAT_LABELS,
    FORMATS,
    NotifyError,
    add_subscription,
    list_subscriptions,
    notification_log,
    set_subscription_active,
    subscription_json,
)
from junheng.monitor.rules import KIND_LABELS, SEVERITY_LABELS
from junheng.store.models import NotificationLog, NotificationSubscription, OrgNode, User
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, current_viewer, monitor_config
from junheng.web.params import RowId
from junheng.web.routes.editing import FLASH_MESSAGES, form_data, local_time, with_message
from junheng.web.routes.monitoring import SEGMENTS, SEVERITIES
from junheng.web.routes.pages import render

router = APIRouter(include_in_schema=False)

MESSAGES = FLASH_MESSAGES | {
    "subscribed": "已添加通知订阅。",
    "paused": "已暂停该订阅。",
    "resumed": "已恢复该订阅。",
}
STATUS_LABELS = {"sent": "已发送", "failed": "发送失败", "undeliverable": "无法送达"}  # of a sent digest


def _context(viewer: Viewer, **extra) -> dict:
    return {"viewer": viewer, "flash_messages": MESSAGES, "segments": SEGMENTS, **extra}


@router.get("/notifications")
def notifications_page(request: Request, status: str | None = None, viewer: Viewer = Depends(current_viewer),
                       session: Session = REQUEST_SESSION):
    """The digests sent to the user's channels (an admin sees every digest, including
    escalations nobody could receive)."""
    if status is not None and status not in STATUS_LABELS:
        raise HTTPException(status_code=400, detail=f"状态 {status} 无效:应为 sent、failed 或 undeliverable。")
    everyone = viewer.access.admin
    entries = notification_log(session, user=None if everyone else viewer.user, status=status, limit=200)
    users = {}
    if everyone:
        ids = {e["id"] for e in entries}
        if ids:
            users = {log_id: name for log_id, name in session.execute(
                select(NotificationLog.id, User.display_name).join(User, User.id == NotificationLog.user_id)
                .where(NotificationLog.id.in_(ids)))}
    for e in entries:
        e["user_name"] = users.get(e["id"]) if everyone else viewer.user.display_name
        e["created_local"] = local_time(datetime.fromisoformat(e["created_at"]))
        e["status_label"] = STATUS_LABELS.get(e["status"], e["status"])
    data = {"everyone": everyone, "status": status, "entries": entries}
    return render(request, "notifications.html", _context(viewer, entries=entries, everyone=everyone, status=status,
                                                          status_labels=STATUS_LABELS,
                                                          severity_labels=SEVERITY_LABELS), data)


def _subscriptions_page(request: Request, session: Session, viewer: Viewer, *, error: str | None = None,
                        values: dict | None = None, status_code: int = 200):
    settings = monitor_config(request)
    subs = [subscription_json(session, s) for s in list_subscriptions(session, viewer.user)]
    counties = viewer.access.readable_counties(session)
    data = {"subscriptions": subs, "allowed_webhook_hosts": list(settings.webhook_hosts),
            "counties": [{"code": c.code, "name": c.name} for c in counties]}
    if error:
        data["error"] = error
    context = _context(viewer, subscriptions=subs, counties=counties, error=error, values=values or {},
                       hosts=settings.webhook_hosts, formats=FORMATS, format_labels=FORMAT_LABELS,
                       channel_labels=CHANNEL_LABELS, severity_labels=SEVERITY_LABELS, severities=SEVERITIES,
                       kind_labels=KIND_LABELS, fill_only=bool(viewer.access.fill_schools) and not counties)
    return render(request, "notifications_subscriptions.html", context, data, status_code=status_code)


@router.get("/notifications/subscriptions")
def subscriptions_page(request: Request, viewer: Viewer = Depends(current_viewer),
                       session: Session = REQUEST_SESSION):
    """The user's own channels: e-mail or webhook, minimum severity, one county or all the
    counties (schools) the user may read, optionally some kinds of warning."""
    return _subscriptions_page(request, session, viewer)


@router.post("/notifications/subscriptions")
def subscribe(request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
              session: Session = REQUEST_SESSION):
    values = {"channel": str(form.get("channel", "")), "target": str(form.get("target", "")).strip(),
              "format": str(form.get("format", "markdown") or "markdown"),
              "min_severity": str(form.get("min_severity", "orange")), "county": str(form.get("county", "")),
              "kinds": [str(k) for k in form.getlist("kinds")]}
    county = values["county"] or None
    if county:
        node = session.scalar(select(OrgNode).where(OrgNode.code == county, OrgNode.kind == "county",
                                                    OrgNode.deleted_at.is_(None)))  # as repo.county_by_code
        if node is None or not viewer.access.can_read_county(node):
            raise HTTPException(status_code=403, detail=f"您没有权限订阅县区 {county} 的预警。")
    if not values["target"]:
        where = "电子邮件地址" if values["channel"] == "email" else "Webhook 地址"
        return _subscriptions_page(request, session, viewer, error=f"请填写{where}。", values=values, status_code=400)
    try:
        add_subscription(session, viewer.user, values["channel"], values["target"],
                         min_severity=values["min_severity"],
                         format=values["format"] if values["channel"] == "webhook" else "markdown",
                         county_code=county, kinds=values["kinds"] or None,
                         allowed_hosts=monitor_config(request).webhook_hosts)
    except NotifyError as exc:
        session.rollback()
        return _subscriptions_page(request, session, viewer, error=exc.user_message(), values=values,
                                   status_code=400)
    session.commit()
    return RedirectResponse(with_message("/notifications/subscriptions", "subscribed"), status_code=303)


@router.post("/notifications/subscriptions/{subscription_id}/{action}")
def pause_or_resume(subscription_id: RowId, action: str, request: Request, viewer: Viewer = Depends(check_csrf),
                    session: Session = REQUEST_SESSION):
    if action not in ("pause", "resume"):
        raise HTTPException(status_code=404)
    sub = session.get(NotificationSubscription, subscription_id)
    if sub is None or sub.user_id != viewer.user.id:
        raise HTTPException(status_code=404, detail=f"没有编号为 {subscription_id} 的订阅。")
    try:
        set_subscription_active(session, subscription_id, action == "resume", user=viewer.user,
                                allowed_hosts=monitor_config(request).webhook_hosts)
    except NotifyError as exc:
        session.rollback()
        return _subscriptions_page(request, session, viewer, error=f"无法恢复订阅 {subscription_id}:{exc.user_message()}",
                                   status_code=400)
    session.commit()
    return RedirectResponse(with_message("/notifications/subscriptions", "paused" if action == "pause" else "resumed"),
                            status_code=303)

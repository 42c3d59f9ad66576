"""Monitoring pages, part B: indicator trends (county and school), the enrolment forecast with
its own input upload (预测数据), the notification log and the user's subscriptions.

Every page answers `?format=json` with the data it shows and checks scope on the server. The
numbers come from junheng.monitor (time_series / trend_view, county_forecast / forecast_view,
notify); nothing here recomputes an indicator.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path, PurePosixPath

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.monitor.forecast import ForecastError, forecast_view
from junheng.monitor.inputs import (
    SHEETS,
    ForecastInputsInvalid,
    apply_forecast_inputs,
    forecast_inputs_summary,
    read_forecast_workbook,
    write_forecast_template,
)
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
from junheng.monitor.series import trend_view
from junheng.monitor.service import county_forecast, time_series
from junheng.store import repo
from junheng.store.models import NotificationLog, NotificationSubscription, OrgNode, User
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, county_for, current_viewer, monitor_config
from junheng.web.files import XLSX_TYPE, download, megabytes, save_upload, shown_name, written
from junheng.web.params import Count, RowId, Year
from junheng.web.routes.editing import FLASH_MESSAGES, form_data, local_time, with_message
from junheng.web.routes.pages import render
from junheng.web.routes.upload import upload_size_guard

router = APIRouter(include_in_schema=False)

MESSAGES = FLASH_MESSAGES | {
    "forecast_inputs": "预测数据已导入,预测已按新数据重新计算。",
    "subscribed": "已添加通知订阅。",
    "paused": "已暂停该订阅。",
    "resumed": "已恢复该订阅。",
}
STATUS_LABELS = {"sent": "已发送", "failed": "发送失败", "undeliverable": "无法送达"}
SEVERITIES = ("red", "orange", "yellow")
SEGMENTS = {"primary": "小学", "junior": "初中"}


def _readable_county(session: Session, viewer: Viewer, code: str) -> OrgNode:
    return county_for(session, viewer, code)


def _context(viewer: Viewer, **extra) -> dict:
    return {"viewer": viewer, "flash_messages": MESSAGES, "segments": SEGMENTS, **extra}


# ---------------------------------------------------------------- trends (county and school)


@router.get("/counties/{code}/trends")
def county_trends(code: str, request: Request, year: Year | None = None, fragment: bool = False,
                  viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    """Trend charts and the year-on-year table of a county; `?fragment=1` is the part the
    county dashboard loads into its page (templates/_trends.html)."""
    county = _readable_county(session, viewer, code)
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


# ---------------------------------------------------------------- forecast


def _forecast_page(request: Request, session: Session, viewer: Viewer, county: OrgNode, years: int | None,
                   *, error: str | None = None, problems: list[str] | None = None, status_code: int = 200):
    settings = monitor_config(request)
    message, view = None, None
    try:
        view = forecast_view(county_forecast(session, county.code, horizon=years, rules_dir=settings.rules_dir))
    except ForecastError as exc:
        message = exc.user_message()
    inputs = forecast_inputs_summary(session, county)
    can_manage = viewer.access.can_manage_county(county)
    context = _context(viewer, county=county, forecast=view, message=message, inputs=inputs, can_manage=can_manage,
                       horizon=years, error=error, problems=problems or [], sheets=SHEETS,
                       limit_mb=request.app.state.settings.upload_limit_bytes / 1024 / 1024)
    data = (view or {"county_code": county.code, "county_name": county.name, "detail": message}) | {"inputs": inputs}
    if error:
        data |= {"error": error, "problems": problems or []}
    return render(request, "forecast.html", context, data, status_code=status_code)


@router.get("/counties/{code}/forecast")
def forecast_page(code: str, request: Request, years: Count | None = None,
                  viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    """Projected students per grade and segment with the band, seat demand against capacity,
    projected school sizes and class sizes (G4/G5), items projected to fail."""
    county = _readable_county(session, viewer, code)
    if years is not None and not 1 <= years <= 10:
        raise HTTPException(status_code=400, detail=f"预测年数 years={years} 无效:应为 1 到 10 之间的整数。")
    return _forecast_page(request, session, viewer, county, years)


def _managed_county(session: Session, viewer: Viewer, code: str) -> OrgNode:
    return county_for(session, viewer, code, manage="只有本县区的县级管理员可以上传预测数据。")


@router.get("/counties/{code}/forecast-template.xlsx")
def forecast_template(code: str, viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    _managed_county(session, viewer, code)
    content = written(write_forecast_template, "forecast.xlsx")
    return download(content, XLSX_TYPE, "预测数据模板.xlsx", "forecast-template.xlsx")


@router.post("/counties/{code}/forecast/inputs")
def upload_forecast_inputs(code: str, request: Request, _guard=Depends(upload_size_guard), form=Depends(form_data),
                           viewer: Viewer = Depends(check_csrf), session: Session = REQUEST_SESSION):
    """The forecast-input workbook: checked whole, then imported (audited) or not at all."""
    county = _managed_county(session, viewer, code)
    upload = form.get("file")

    def refuse(message: str, status: int = 400, problems: list[str] | None = None):
        session.rollback()
        return _forecast_page(request, session, viewer, county, None, error=message, problems=problems,
                              status_code=status)

    if upload is None or isinstance(upload, str) or not upload.filename:
        return refuse("请选择要上传的预测数据工作簿(.xlsx,可先下载预测数据模板填写)。")
    shown = shown_name(upload.filename)
    if PurePosixPath(shown.lower()).suffix not in (".xlsx", ".xlsm"):
        return refuse(f"不支持“{shown}”:预测数据请上传 .xlsx 工作簿(按预测数据模板填写)。")
    limit = int(request.app.state.settings.upload_limit_bytes)
    with tempfile.TemporaryDirectory(prefix="junheng-forecast-") as tmp:
        path = Path(tmp) / "inputs.xlsx"
        size = save_upload(upload.file, path, limit)
        if size is None:
            return refuse(f"文件太大:上传文件不能超过 {megabytes(limit)}。", 413)
        if size == 0:
            return refuse(f"“{shown}”是空文件。")
        try:
            rows = read_forecast_workbook(path, shown)
            apply_forecast_inputs(session, county, rows, user=viewer.user, via="upload")
        except ForecastInputsInvalid as exc:
            header = exc.user_message().splitlines()[0].rstrip(":")
            return refuse(f"“{shown}”{header}。", 400, exc.problems)
    session.commit()
    return RedirectResponse(with_message(f"/counties/{county.code}/forecast", "forecast_inputs"), status_code=303)


# ---------------------------------------------------------------- notifications


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

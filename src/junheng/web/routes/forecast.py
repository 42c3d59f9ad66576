"""The enrolment forecast of a county (students per grade and segment with their band, seat
demand, projected school and class sizes, items projected to fail) and its own inputs: the
forecast template and the upload of filled-in forecast data (预测数据), checked whole and audited.
Every page answers `?format=json`; the numbers come from junheng.monitor (county_forecast, forecast_view)."""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
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
from junheng.monitor.service import county_forecast
from junheng.store.models import OrgNode
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, county_for, current_viewer, monitor_config
from junheng.web.files import XLSX_TYPE, download, megabytes, save_upload, shown_name, written
from junheng.web.params import Count
from junheng.web.routes.editing import FLASH_MESSAGES, form_data, with_message
from junheng.web.routes.monitoring import SEGMENTS
from junheng.web.routes.pages import render
from junheng.web.routes.upload import upload_size_guard

router = APIRouter(include_in_schema=False)

MESSAGES = FLASH_MESSAGES | {"forecast_inputs": "预测数据已导入,预测已按新数据重新计算。"}


def _context(viewer: Viewer, **extra) -> dict:
    return {"viewer": viewer, "flash_messages": MESSAGES, "segments": SEGMENTS, **extra}


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
    county = county_for(session, viewer, code)
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

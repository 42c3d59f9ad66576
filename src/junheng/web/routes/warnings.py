"""Warning pages: a county's warnings (filters by status, severity and kind; the numbers behind
each warning; the supervision task made from it) and making a supervision task from a warning.

Every page answers `?format=json` with the data it shows; the warnings themselves come from
junheng.monitor.warnings (docs/methods.md, "Monitoring pages (web)").
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.engine.wording import num
from junheng.monitor.observe import CV_LEVELS
from junheng.monitor.rules import KIND_LABELS, RulesError, rules_for, severity_legend
from junheng.monitor.tasks import TaskError, create_task_from_warning, task_json
from junheng.monitor.warnings import list_warnings, warning_counts, warning_json
from junheng.store.models import MonitorWarning, OrgNode, SupervisionTask
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, current_viewer, monitor_config
from junheng.web.params import RowId
from junheng.web.routes.editing import form_data, local_time, saved_redirect, today
from junheng.web.routes.monitoring import SEVERITIES, readable_county, supervision_context
from junheng.web.routes.pages import render

router = APIRouter(include_in_schema=False)

WARNING_STATUSES = {"open": "未解除", "resolved": "已解除", "all": "全部"}
DATA_STATE_ORDER = ("none", "draft", "returned", "submitted")  # a data warning's schools, by state
PAGE_SIZE = 100


def numbers_text(numbers: dict | None) -> list[str]:
    """The numbers behind a warning, as short Chinese phrases (the message has the whole story)."""
    n = numbers or {}
    unit = n.get("unit")
    cv = n.get("level") in CV_LEVELS

    def value(v) -> str:
        if isinstance(v, bool):
            return "是" if v else "否"
        if isinstance(v, (int, float)):
            return f"{v:.3f}" if cv else num(v, unit)
        return "—" if v is None else str(v)

    out = []
    if "value" in n and n.get("op"):
        out.append(f"{n.get('year') or ''}{' 年' if n.get('year') else ''}值 {value(n['value'])}".strip())
        if n.get("threshold") is not None:
            out.append(f"标准 {'≥' if n['op'] == '>=' else '≤'} {value(n['threshold'])}")
    elif n.get("level") == "school" and isinstance(n.get("value"), (int, float)) \
            and not isinstance(n.get("value"), bool) and n.get("unit"):
        out.append(f"差距 {value(n['value'])}")  # a school finding: what is missing (1 间), not a share
    elif "value" in n and "previous" in n:  # a data jump: raw field values
        out.append(f"{n.get('previous_year')} 年 {value(n['previous'])} → {n.get('year')} 年 {value(n['value'])}")
    if "previous" in n and n.get("op"):
        out.append(f"上年 {value(n['previous'])}")
    if n.get("current_value") is not None:
        out.append(f"现值 {value(n['current_value'])}")
    for key, label in (("shortfall", "差距"), ("headroom", "余量"), ("drop", "下降"), ("change", "变化")):
        if isinstance(n.get(key), (int, float)):
            sign = "+" if key == "change" else ""
            out.append(f"{label} {n[key] * 100:{sign}.1f}%")
    if n.get("projected_students"):
        out.append(f"预测在校生 {n['projected_students']}")
    if isinstance(n.get("schools_expected"), int):
        out.append(f"已审核 {n.get('schools_approved', 0)}/{n['schools_expected']} 所")
    if "due" in n:
        out.append(f"应于 {n['due']} 前审核通过")
    if isinstance(n.get("days_late"), int) and n["days_late"] > 0:
        out.append(f"逾期 {n['days_late']} 天")
    if isinstance(n.get("days_left"), int):
        out.append(f"期限 {n.get('deadline')}," + (f"逾期 {-n['days_left']} 天" if n["days_left"] < 0
                                                   else f"还剩 {n['days_left']} 天"))
    if "expected" in n and "failing" in n and n.get("expected") is not None:
        out.append(f"{n.get('year')} 年未达标 {n['failing']} 项,按期应不多于 {n['expected']} 项")
    return out


def _warning_tasks(session: Session, ids: list[int]) -> dict[int, SupervisionTask]:
    """The supervision task made from each warning (the newest, if a verified one was redone)."""
    if not ids:
        return {}
    rows = session.scalars(select(SupervisionTask).where(SupervisionTask.warning_id.in_(ids),
                                                         SupervisionTask.deleted_at.is_(None))
                           .order_by(SupervisionTask.id)).all()
    return {t.warning_id: t for t in rows}


def _warning_filters(request: Request) -> dict:
    params = request.query_params
    status = params.get("status") or "open"
    if status not in WARNING_STATUSES:
        raise HTTPException(status_code=400, detail=f"状态“{status}”无效,应为 open(未解除)、resolved(已解除)或 all(全部)。")
    severities = [s for s in params.getlist("severity") if s]
    bad = [s for s in severities if s not in SEVERITIES]
    if bad:
        raise HTTPException(status_code=400, detail=f"预警级别“{'、'.join(bad)}”无效,应为 red(红色)、orange(橙色)或 yellow(黄色)。")
    kind = params.get("kind") or None
    if kind is not None and kind not in KIND_LABELS:
        raise HTTPException(status_code=400, detail=f"预警类型“{kind}”无效,应为:"
                            + "、".join(f"{k}({v})" for k, v in KIND_LABELS.items()) + "。")
    try:
        page = max(1, int(params.get("page") or 1))
    except ValueError:
        raise HTTPException(status_code=400, detail="页码应为正整数。") from None
    return {"status": status, "severity": severities, "kind": kind, "page": page}


def _warnings_page(request: Request, session: Session, viewer: Viewer, county: OrgNode, filters: dict,
                   error: str | None = None, status_code: int = 200):
    rows = list_warnings(session, county.code, status=filters["status"], severities=filters["severity"] or None,
                         kinds=[filters["kind"]] if filters["kind"] else None)
    total = len(rows)
    start = (filters["page"] - 1) * PAGE_SIZE
    shown = rows[start:start + PAGE_SIZE]
    tasks = _warning_tasks(session, [w.id for w in shown])
    day = today()
    items = []
    for w in shown:
        item = warning_json(w)
        task = tasks.get(w.id)
        item["supervision_task"] = task_json(session, task, today=day) if task else None
        item["numbers_text"] = numbers_text(w.numbers)
        item["first_seen_local"] = local_time(w.first_seen_at)
        item["resolved_local"] = local_time(w.resolved_at)
        item["last_seen_local"] = local_time(w.last_seen_at)
        items.append(item)
    data = {"county_code": county.code, "county_name": county.name, "filters": filters,
            "counts": warning_counts(session, county.code), "total": total, "page_size": PAGE_SIZE,
            "warnings": items}
    can_manage = viewer.access.can_manage_county(county)
    context = supervision_context(viewer, county=county, data=data, items=items, filters=filters, error=error,
                       can_manage=can_manage, warning_statuses=WARNING_STATUSES, severities=SEVERITIES,
                       pages=max(1, -(-total // PAGE_SIZE)), legend=_legend(request, county),
                       data_states=DATA_STATE_ORDER)
    return render(request, "warnings.html", context, data, status_code=status_code)


def _legend(request: Request, county: OrgNode) -> dict[str, list[str]] | None:
    """What each colour means under the county's own rules (None: its rules file is malformed)."""
    try:
        return severity_legend(rules_for(county.code, county.standard, monitor_config(request).rules_dir))
    except RulesError:
        return None


@router.get("/counties/{code}/warnings")
def warnings_page(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
                  session: Session = REQUEST_SESSION):
    county = readable_county(session, viewer, code)
    return _warnings_page(request, session, viewer, county, _warning_filters(request))


@router.post("/warnings/{warning_id}/task")
def task_from_warning(warning_id: RowId, request: Request, form=Depends(form_data),
                      viewer: Viewer = Depends(check_csrf), session: Session = REQUEST_SESSION):
    warning = session.get(MonitorWarning, warning_id)
    if warning is None:
        raise HTTPException(status_code=404, detail=f"没有编号为 {warning_id} 的预警。")
    county = warning.county
    if not viewer.access.can_manage_county(county):
        raise HTTPException(status_code=403, detail="只有本县区的县级管理员可以生成督办任务。")
    fields = {}
    deadline = str(form.get("deadline") or "").strip()
    if deadline:
        fields["deadline"] = deadline
    try:
        task = create_task_from_warning(session, warning.id, user=viewer.user, via="form", **fields)
    except TaskError as exc:
        session.rollback()
        filters = {"status": "open", "severity": [], "kind": None, "page": 1}
        return _warnings_page(request, session, viewer, county, filters, error=exc.user_message(), status_code=409)
    return saved_redirect(session, f"/tasks/{task.id}?msg=task_from_warning")

"""Monitoring pages (issue 4, part A): a county's warnings, its supervision tasks (督办: list,
task page with status, comments and evidence files, create and edit forms), its timeline and
year-by-year plan, and the schedule of a city or province (each county's path to its target
year).

Every page answers `?format=json` with the data it shows. The work is done by the monitoring
services (junheng.monitor.warnings, .tasks, .service); who may do what with a task is
`junheng.monitor.tasks.task_rights` (docs/methods.md, "Monitoring pages (web)").
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.engine.wording import num
from junheng.monitor.rules import KIND_LABELS, SEVERITY_LABELS, RulesError, rules_for, severity_legend
from junheng.monitor.tasks import (
    AMOUNT_LIMIT_WAN,
    NOTE_REQUIRED,
    OWNER_MESSAGE,
    PLAN_YEARS,
    STATUS_LABELS,
    TRANSITION_LABELS,
    TaskError,
    add_attachment,
    add_comment,
    amount_ok,
    attachment_file,
    county_timeline,
    create_task,
    create_task_from_warning,
    delete_task,
    get_task,
    list_tasks,
    owner_choices,
    plan_year_ok,
    remove_attachment,
    safe_filename,
    set_status,
    task_json,
    task_rights,
    update_task,
    year_plan,
)
from junheng.monitor.warnings import list_warnings, warning_counts, warning_json
from junheng.standards.loader import DEFAULT_STANDARD, load_standard
from junheng.store import repo
from junheng.store.models import (
    TASK_STATUSES,
    AuditEntry,
    MonitorWarning,
    OrgNode,
    School,
    SupervisionTask,
    TaskAttachment,
    User,
)
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, county_for, current_viewer, monitor_config
from junheng.web.files import MULTIPART_SLACK, disposition, read_form
from junheng.web.params import RowId
from junheng.web.routes.editing import FLASH_MESSAGES, base_context, form_data, local_time, saved_redirect, today
from junheng.web.routes.pages import render

router = APIRouter(include_in_schema=False)

MESSAGES = FLASH_MESSAGES | {
    "task_created": "已新建督办任务。",
    "task_from_warning": "已由预警生成督办任务;请补充完成期限和负责人。",
    "task_saved": "任务已保存。",
    "task_deleted": "任务已删除。",
    "status_changed": "任务状态已更新。",
    "comment_added": "意见已添加。",
    "attachment_added": "佐证材料已上传。",
    "attachment_removed": "附件已移除(文件仍留存备查)。",
}
WARNING_STATUSES = {"open": "未解除", "resolved": "已解除", "all": "全部"}
DATA_STATE_ORDER = ("none", "draft", "returned", "submitted")  # a data warning's schools, by state
SEVERITIES = ("red", "orange", "yellow")
TASK_FILTERS = {"active": "未完成(未开始、进行中)", "overdue": "已逾期", **STATUS_LABELS, "all": "全部"}
PAGE_SIZE = 100
TASK_FIELD_LABELS = {
    "created": "新建", "status": "状态", "title": "任务名称", "description": "说明", "deadline": "完成期限",
    "start_date": "开始日期", "owner_id": "负责人(账号)", "owner_name": "负责人", "responsible": "责任单位",
    "indicator": "指标", "school_id": "学校", "amount_wan": "投资(万元)", "plan_year": "计划年度",
    "attachment": "佐证材料", "deleted_at": "删除",
}


def _context(viewer: Viewer, **extra) -> dict:
    return base_context(viewer) | {"flash_messages": MESSAGES, "severity_labels": SEVERITY_LABELS,
                                   "kind_labels": KIND_LABELS, "status_labels": STATUS_LABELS} | extra


def _readable_county(session: Session, viewer: Viewer, code: str) -> OrgNode:
    return county_for(session, viewer, code, read="您没有权限查看该县区的预警与督办。")


# ================================================================ warnings


def numbers_text(numbers: dict | None) -> list[str]:
    """The numbers behind a warning, as short Chinese phrases (the message has the whole story)."""
    n = numbers or {}
    unit = n.get("unit")
    cv = n.get("level") == "cv"

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
    context = _context(viewer, county=county, data=data, items=items, filters=filters, error=error,
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
    county = _readable_county(session, viewer, code)
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


# ================================================================ tasks: list


def _filled_schools(session: Session, viewer: Viewer, county: OrgNode) -> list[School]:
    if not viewer.access.fill_schools:
        return []
    return list(session.scalars(select(School).where(School.id.in_(viewer.access.fill_schools),
                                                     School.county_id == county.id).order_by(School.code)))


@router.get("/counties/{code}/tasks")
def tasks_page(code: str, request: Request, status: str | None = None, school: str | None = None,
               indicator: str | None = None, viewer: Viewer = Depends(current_viewer),
               session: Session = REQUEST_SESSION):
    county = repo.county_by_code(session, code)
    reader = viewer.access.can_read_county(county)
    own = _filled_schools(session, viewer, county)
    if not reader and not own:
        raise HTTPException(status_code=403, detail="您没有权限查看该县区的督办任务。")
    status = status or "active"
    if status not in TASK_FILTERS:
        raise HTTPException(status_code=400, detail=f"状态“{status}”无效,应为:"
                            + "、".join(f"{k}({v})" for k, v in TASK_FILTERS.items()) + "。")
    day = today()
    query = {"indicator": indicator or None}
    if status == "active":
        query["status"] = ["open", "in_progress"]
    elif status == "overdue":
        query["overdue_on"] = day
    elif status != "all":
        query["status"] = status
    if reader:
        tasks = list_tasks(session, county.code, school_code=school or None, **query)
    else:  # a school filler: the tasks of their own school(s) only
        codes = [s.code for s in own if not school or s.code == school]
        tasks = [t for c in codes for t in list_tasks(session, county.code, school_code=c, **query)]
    items = [task_json(session, t, today=day) for t in tasks]
    everything = list_tasks(session, county.code) if reader else \
        [t for s in own for t in list_tasks(session, county.code, school_code=s.code)]
    counts = {s: sum(1 for t in everything if t.status == s) for s in TASK_STATUSES}
    counts["overdue"] = sum(1 for t in everything if t.deadline and t.deadline < day
                            and t.status in ("open", "in_progress"))
    schools = list(session.scalars(select(School).where(School.county_id == county.id, School.deleted_at.is_(None))
                                   .order_by(School.code))) if reader else own
    data = {"county_code": county.code, "county_name": county.name,
            "filters": {"status": status, "school": school, "indicator": indicator}, "counts": counts,
            "tasks": items}
    context = _context(viewer, county=county, items=items, counts=counts, filters=data["filters"],
                       task_filters=TASK_FILTERS, schools=schools, reader=reader,
                       can_manage=viewer.access.can_manage_county(county))
    return render(request, "tasks.html", context, data)


# ================================================================ tasks: create and edit


def _county_users(session: Session, county: OrgNode) -> list[User]:
    """Who can be a task's owner: the store's one rule (`tasks.owner_choices`)."""
    return owner_choices(session, county)


def _indicator_choices(county: OrgNode) -> list[tuple[str, str]]:
    standard = load_standard(county.standard or DEFAULT_STANDARD)
    return [(i.id, f"{i.id} {i.name}") for i in standard.indicators.values()]


TASK_FORM_FIELDS = ("title", "description", "indicator", "school_code", "responsible", "owner_id", "owner_name",
                    "start_date", "deadline", "amount_wan", "plan_year")


def _form_values(task: SupervisionTask | None) -> dict[str, str]:
    if task is None:
        return {k: "" for k in TASK_FORM_FIELDS}
    return {"title": task.title, "description": task.description or "", "indicator": task.indicator or "",
            "school_code": task.school.code if task.school else "", "responsible": "、".join(task.responsible or []),
            "owner_id": str(task.owner_id or ""), "owner_name": task.owner_name or "",
            "start_date": task.start_date.isoformat() if task.start_date else "",
            "deadline": task.deadline.isoformat() if task.deadline else "",
            "amount_wan": num(task.amount_wan) if task.amount_wan is not None else "",
            "plan_year": str(task.plan_year or "")}


def _parse_task_form(form, owners: list[User]) -> tuple[dict[str, str], dict, dict[str, str]]:
    """Posted text → (shown values, fields for create/update_task, errors by field)."""
    shown = {k: str(form.get(k) or "").strip() for k in TASK_FORM_FIELDS}
    fields: dict = {}
    errors: dict[str, str] = {}
    for key in ("title", "description", "indicator", "school_code", "owner_name", "responsible"):
        fields[key] = shown[key]
    for key, label in (("start_date", "开始日期"), ("deadline", "完成期限")):
        text = shown[key]
        if not text:
            fields[key] = None
            continue
        try:
            fields[key] = date.fromisoformat(text)
        except ValueError:
            errors[key] = f"{label}“{text}”无效,应为 年-月-日,如 2025-06-30"
    # thousands separators as typed with either keyboard: 1,260 or 1，260
    amount = shown["amount_wan"].replace(",", "").replace("\uff0c", "").removesuffix("万元").strip()
    if amount:
        try:
            fields["amount_wan"] = float(amount)
            if not amount_ok(fields["amount_wan"]):  # 1e400 is inf, "nan" is NaN: refused too
                raise ValueError
        except ValueError:
            errors["amount_wan"] = (f"投资金额“{shown['amount_wan']}”无效,应为 0 到 {AMOUNT_LIMIT_WAN:,} 之间的数"
                                    "(单位:万元),如 630")
    else:
        fields["amount_wan"] = None
    if shown["plan_year"]:
        try:
            fields["plan_year"] = int(shown["plan_year"])
            if not plan_year_ok(fields["plan_year"]):
                raise ValueError
        except ValueError:
            errors["plan_year"] = (f"计划年度“{shown['plan_year']}”无效,应为 {PLAN_YEARS[0]}–{PLAN_YEARS[1]} "
                                   "之间的四位年份,如 2025")
    else:
        fields["plan_year"] = None
    if shown["owner_id"]:
        allowed = {str(u.id): u.id for u in owners}
        if shown["owner_id"] not in allowed:
            errors["owner_id"] = OWNER_MESSAGE
        else:
            fields["owner_id"] = allowed[shown["owner_id"]]
    else:
        fields["owner_id"] = None
    if not shown["title"]:
        errors["title"] = "请填写任务名称"
    return shown, fields, errors


def _task_form(request: Request, session: Session, viewer: Viewer, county: OrgNode, task: SupervisionTask | None,
               values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
               error: str | None = None, status_code: int = 200):
    owners = _county_users(session, county)
    schools = list(session.scalars(select(School).where(School.county_id == county.id, School.deleted_at.is_(None))
                                   .order_by(School.code)))
    indicators = _indicator_choices(county)
    values = values or _form_values(task)
    context = _context(viewer, county=county, task=task, values=values, errors=errors or {}, error=error,
                       owners=owners, schools=schools, indicators=indicators)
    data = {"county_code": county.code, "task_id": task.id if task else None, "values": values,
            "indicators": [i for i, _ in indicators],
            "schools": [{"school_id": s.code, "name": s.name} for s in schools],
            "owners": [{"id": u.id, "username": u.username, "name": u.display_name} for u in owners]}
    return render(request, "tasks_form.html", context, data, status_code=status_code)


def _managed_county(session: Session, viewer: Viewer, code: str) -> OrgNode:
    return county_for(session, viewer, code, read="只有本县区的县级管理员可以新建或修改督办任务。",
                      manage="只有本县区的县级管理员可以新建或修改督办任务。")


@router.get("/counties/{code}/tasks/new")
def new_task_page(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
                  session: Session = REQUEST_SESSION):
    return _task_form(request, session, viewer, _managed_county(session, viewer, code), None)


@router.post("/counties/{code}/tasks")
def create_task_post(code: str, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                     session: Session = REQUEST_SESSION):
    county = _managed_county(session, viewer, code)
    shown, fields, errors = _parse_task_form(form, _county_users(session, county))
    if errors:
        return _task_form(request, session, viewer, county, None, shown, errors,
                          "任务没有保存:请按提示修改标红的项目。", 400)
    title = fields.pop("title")
    fields = {k: v for k, v in fields.items() if v not in (None, "")}
    try:
        task = create_task(session, county.code, title=title, user=viewer.user, via="form", **fields)
    except TaskError as exc:
        session.rollback()
        return _task_form(request, session, viewer, county, None, shown, {}, f"任务没有保存:{exc.user_message()}", 400)
    return saved_redirect(session, f"/tasks/{task.id}?msg=task_created")


# ================================================================ one task


def _task_for(session: Session, viewer: Viewer, task_id: int):
    try:
        task = get_task(session, task_id)
    except TaskError:
        raise HTTPException(status_code=404, detail=f"没有编号为 {task_id} 的督办任务。") from None
    rights = task_rights(viewer.access, task)
    if not rights.read:
        raise HTTPException(status_code=403, detail="您没有权限查看该督办任务。")
    return task, rights


def _attachment_limit(request: Request) -> int:
    return monitor_config(request).attachment_limit_bytes


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


def _history(session: Session, task: SupervisionTask) -> list[dict]:
    entries = session.scalars(select(AuditEntry).where(AuditEntry.entity == "task",
                                                       AuditEntry.entity_key == str(task.id))
                              .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(200)).all()
    schools = {s.id: s.name for s in session.scalars(select(School).where(School.county_id == task.county_id))}

    def shown(field: str, value) -> str:
        if value is None or value == "":
            return "—"
        if field == "status":
            return STATUS_LABELS.get(value, value)
        if field == "school_id":
            return schools.get(value, str(value))
        if field == "owner_id":
            user = session.get(User, value)
            return user.display_name if user else str(value)
        if isinstance(value, list):
            return "、".join(str(v) for v in value)
        return str(value)

    return [{"at": local_time(e.at), "user": e.user.display_name if e.user else "系统", "field": e.field,
             "label": TASK_FIELD_LABELS.get(e.field, e.field), "old": shown(e.field, e.old),
             "new": shown(e.field, e.new), "note": e.note or ""} for e in entries]


def _task_page(request: Request, session: Session, viewer: Viewer, task: SupervisionTask, rights,
               error: str | None = None, status_code: int = 200):
    item = task_json(session, task, today=today(), details=True)
    for entry in item["comments"] + item["attachments"]:
        entry["created_local"] = local_time(datetime.fromisoformat(entry["created_at"]))
    transitions = [{"status": s, "label": TRANSITION_LABELS.get((task.status, s), STATUS_LABELS[s]),
                    "note_required": (task.status, s) in NOTE_REQUIRED} for s in rights.transitions]
    permissions = {"manage": rights.manage, "verify": rights.verify, "report": rights.report,
                   "comment": rights.comment, "attach": rights.attach,
                   "edit": rights.manage and task.status != "verified"}
    data = {"task": item, "transitions": transitions, "permissions": permissions}
    warning = session.get(MonitorWarning, task.warning_id) if task.warning_id else None
    context = _context(viewer, county=task.county, task=task, item=item, transitions=transitions,
                       permissions=permissions, history=_history(session, task), error=error,
                       warning=warning, limit=_megabytes(_attachment_limit(request)))
    return render(request, "tasks_detail.html", context, data, status_code=status_code)


@router.get("/tasks/{task_id}")
def task_page(task_id: RowId, request: Request, viewer: Viewer = Depends(current_viewer),
              session: Session = REQUEST_SESSION):
    task, rights = _task_for(session, viewer, task_id)
    return _task_page(request, session, viewer, task, rights)


@router.get("/tasks/{task_id}/edit")
def edit_task_page(task_id: RowId, request: Request, viewer: Viewer = Depends(current_viewer),
                   session: Session = REQUEST_SESSION):
    task, rights = _task_for(session, viewer, task_id)
    if not rights.manage:
        raise HTTPException(status_code=403, detail="只有本县区的县级管理员可以修改督办任务。")
    return _task_form(request, session, viewer, task.county, task)


@router.post("/tasks/{task_id}/edit")
def edit_task_post(task_id: RowId, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                   session: Session = REQUEST_SESSION):
    task, rights = _task_for(session, viewer, task_id)
    if not rights.manage:
        raise HTTPException(status_code=403, detail="只有本县区的县级管理员可以修改督办任务。")
    shown, fields, errors = _parse_task_form(form, _county_users(session, task.county))
    if errors:
        return _task_form(request, session, viewer, task.county, task, shown, errors,
                          "修改没有保存:请按提示修改标红的项目。", 400)
    try:
        update_task(session, task.id, user=viewer.user, via="form", **fields)
    except TaskError as exc:
        session.rollback()
        return _task_form(request, session, viewer, task.county, task, shown, {},
                          f"修改没有保存:{exc.user_message()}", 400)
    return saved_redirect(session, f"/tasks/{task.id}?msg=task_saved")


@router.post("/tasks/{task_id}/status")
def task_status_post(task_id: RowId, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                     session: Session = REQUEST_SESSION):
    task, rights = _task_for(session, viewer, task_id)
    target = str(form.get("status") or "")
    if target not in TASK_STATUSES:
        return _task_page(request, session, viewer, task, rights, f"状态“{target}”无效;可选:"
                          + "、".join(f"{s}({STATUS_LABELS[s]})" for s in TASK_STATUSES), 400)
    if target == task.status:
        return saved_redirect(session, f"/tasks/{task.id}")
    if (task.status, target) not in TRANSITION_LABELS:
        return _task_page(request, session, viewer, task, rights,
                          f"任务当前为“{STATUS_LABELS[task.status]}”,不能改为“{STATUS_LABELS[target]}”。", 409)
    if target not in rights.transitions:
        raise HTTPException(status_code=403, detail=_transition_refusal(task.status, target))
    try:
        set_status(session, task.id, target, user=viewer.user, via="form", note=str(form.get("note") or ""))
    except TaskError as exc:
        session.rollback()
        return _task_page(request, session, viewer, get_task(session, task_id), rights, exc.user_message(), 400)
    return saved_redirect(session, f"/tasks/{task.id}?msg=status_changed")


def _transition_refusal(current: str, target: str) -> str:
    if target == "verified" or current in ("done", "verified"):
        return "只有县级管理员、市/省督导或系统管理员可以核验、退回或重新开启任务。"
    return "只有县级管理员或任务所属学校的填报员可以改变该任务的办理状态。"


@router.post("/tasks/{task_id}/comments")
def task_comment_post(task_id: RowId, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                      session: Session = REQUEST_SESSION):
    task, rights = _task_for(session, viewer, task_id)
    if not rights.comment:
        raise HTTPException(status_code=403, detail="您只能查看该任务,不能添加意见。")
    try:
        add_comment(session, task.id, str(form.get("body") or ""), user=viewer.user)
    except TaskError as exc:
        session.rollback()
        return _task_page(request, session, viewer, task, rights, exc.user_message(), 400)
    return saved_redirect(session, f"/tasks/{task.id}?msg=comment_added#comments")


def attachment_task(task_id: RowId, viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    """The task evidence is attached to: the viewer is logged in (else to /login) and may attach
    to it (else 403), checked before a byte of the body is read."""
    task, rights = _task_for(session, viewer, task_id)
    if not rights.attach:
        raise HTTPException(status_code=403, detail="您只能查看该任务,不能上传佐证材料。")
    return task, rights


async def attachment_form(request: Request, _checked=Depends(attachment_task)):
    """The posted attachment form, read only after `attachment_task` and only up to the
    attachment limit: 413 as soon as more arrives, Content-Length or not."""
    limit = _attachment_limit(request)
    return await read_form(request, limit=limit + MULTIPART_SLACK, max_files=1,
                           too_large=f"附件太大:每个附件不能超过 {_megabytes(limit)}。")


@router.post("/tasks/{task_id}/attachments")
def task_attachment_post(task_id: RowId, request: Request, checked=Depends(attachment_task),
                         form=Depends(attachment_form), viewer: Viewer = Depends(check_csrf),
                         session: Session = REQUEST_SESSION):
    task, rights = checked
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return _task_page(request, session, viewer, task, rights, "请选择要上传的佐证材料文件。", 400)
    limit = _attachment_limit(request)
    if upload.size is not None and upload.size > limit:
        return _task_page(request, session, viewer, task, rights,
                          f"附件“{safe_filename(upload.filename)}”太大({_megabytes(upload.size)}):"
                          f"每个附件不能超过 {_megabytes(limit)}。", 413)
    try:
        add_attachment(session, Path(request.app.state.settings.uploads), task.id, upload.filename, upload.file,
                       user=viewer.user, via="form", limit_bytes=limit)
    except TaskError as exc:
        session.rollback()
        return _task_page(request, session, viewer, task, rights, f"附件没有上传:{exc.user_message()}", 400)
    return saved_redirect(session, f"/tasks/{task.id}?msg=attachment_added#attachments")


def _attachment(session: Session, task: SupervisionTask, attachment_id: int) -> TaskAttachment:
    attachment = session.get(TaskAttachment, attachment_id)
    if attachment is None or attachment.task_id != task.id or attachment.deleted_at is not None:
        raise HTTPException(status_code=404, detail="没有该附件。")
    return attachment


@router.get("/tasks/{task_id}/attachments/{attachment_id}")
def task_attachment_download(task_id: RowId, attachment_id: RowId, request: Request,
                             viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    task, _ = _task_for(session, viewer, task_id)
    _attachment(session, task, attachment_id)
    try:
        path, attachment = attachment_file(session, Path(request.app.state.settings.uploads), attachment_id)
    except TaskError as exc:
        raise HTTPException(status_code=404, detail=exc.user_message()) from None
    name = safe_filename(attachment.filename)  # names stored before they were normalised, too
    headers = disposition(name, f"attachment-{attachment.id}{Path(name).suffix.lower()}") | {
        "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=attachment.content_type, headers=headers)


@router.post("/tasks/{task_id}/attachments/{attachment_id}/delete")
def task_attachment_delete(task_id: RowId, attachment_id: RowId, viewer: Viewer = Depends(check_csrf),
                           session: Session = REQUEST_SESSION):
    task, rights = _task_for(session, viewer, task_id)
    if not rights.manage:
        raise HTTPException(status_code=403, detail="只有本县区的县级管理员可以移除附件。")
    _attachment(session, task, attachment_id)
    remove_attachment(session, attachment_id, user=viewer.user, via="form")
    return saved_redirect(session, f"/tasks/{task.id}?msg=attachment_removed#attachments")


@router.post("/tasks/{task_id}/delete")
def task_delete(task_id: RowId, viewer: Viewer = Depends(check_csrf), session: Session = REQUEST_SESSION):
    task, rights = _task_for(session, viewer, task_id)
    if not rights.manage:
        raise HTTPException(status_code=403, detail="只有本县区的县级管理员可以删除督办任务。")
    code = task.county.code
    delete_task(session, task.id, user=viewer.user, via="form")
    return saved_redirect(session, f"/counties/{code}/tasks?msg=task_deleted")


# ================================================================ timeline and year plan


@router.get("/counties/{code}/timeline")
def timeline_page(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
                  session: Session = REQUEST_SESSION):
    county = _readable_county(session, viewer, code)
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
    context = _context(viewer, county=county, timeline=timeline, plan=plan, rows=rows,
                       can_manage=viewer.access.can_manage_county(county))
    return render(request, "timeline.html", context, {"timeline": timeline, "plan": plan})


# ================================================================ city / province schedule


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
    return render(request, "schedule.html", _context(viewer, roots=roots, schedule=None), data)


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
    return render(request, "schedule.html", _context(viewer, node=node, schedule=schedule, roots=None,
                                                     kind_label=kinds.get(node.kind, "")), schedule)

"""Supervision task pages (督办): a county's task list, the create and edit forms, the task page
(status, comments, history, evidence files), and deleting a task. Evidence files themselves are
junheng.web.routes.task_attachments.

Every page answers `?format=json` with the data it shows. The work is done by junheng.monitor.tasks;
who may do what with a task is `junheng.monitor.tasks.task_rights`, the rule the CLI calls too
(docs/methods.md, "Monitoring pages (web)").
"""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.engine.wording import num
from junheng.monitor.tasks import (
    AMOUNT_LIMIT_WAN,
    COMMENT_REFUSAL,
    NOTE_REQUIRED,
    OWNER_MESSAGE,
    PLAN_YEARS,
    READ_REFUSAL,
    STATUS_LABELS,
    TRANSITION_LABELS,
    TaskError,
    add_comment,
    amount_ok,
    create_task,
    delete_task,
    get_task,
    list_tasks,
    owner_choices,
    plan_year_ok,
    set_status,
    task_json,
    task_rights,
    transition_refusal,
    update_task,
)
from junheng.standards.loader import DEFAULT_STANDARD, load_standard
from junheng.store import repo
from junheng.store.models import TASK_STATUSES, AuditEntry, MonitorWarning, OrgNode, School, SupervisionTask, User
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, county_for, current_viewer, monitor_config
from junheng.web.params import RowId
from junheng.web.routes.editing import form_data, local_time, saved_redirect, today
from junheng.web.routes.monitoring import supervision_context
from junheng.web.routes.pages import render

router = APIRouter(include_in_schema=False)

TASK_FILTERS = {"active": "未完成(未开始、进行中)", "overdue": "已逾期", **STATUS_LABELS, "all": "全部"}


TASK_FIELD_LABELS = {
    "created": "新建", "status": "状态", "title": "任务名称", "description": "说明", "deadline": "完成期限",
    "start_date": "开始日期", "owner_id": "负责人(账号)", "owner_name": "负责人", "responsible": "责任单位",
    "indicator": "指标", "school_id": "学校", "amount_wan": "投资(万元)", "plan_year": "计划年度",
    "attachment": "佐证材料", "deleted_at": "删除",
}


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
    context = supervision_context(viewer, county=county, items=items, counts=counts, filters=data["filters"],
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
    context = supervision_context(viewer, county=county, task=task, values=values, errors=errors or {}, error=error,
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


def task_for(session: Session, viewer: Viewer, task_id: int):
    try:
        task = get_task(session, task_id)
    except TaskError:
        raise HTTPException(status_code=404, detail=f"没有编号为 {task_id} 的督办任务。") from None
    rights = task_rights(viewer.access, task)
    if not rights.read:
        raise HTTPException(status_code=403, detail=READ_REFUSAL)
    return task, rights


def attachment_limit(request: Request) -> int:
    return monitor_config(request).attachment_limit_bytes


def size_text(size: int) -> str:
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


def render_task_page(request: Request, session: Session, viewer: Viewer, task: SupervisionTask, rights,
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
    context = supervision_context(viewer, county=task.county, task=task, item=item, transitions=transitions,
                       permissions=permissions, history=_history(session, task), error=error,
                       warning=warning, limit=size_text(attachment_limit(request)))
    return render(request, "tasks_detail.html", context, data, status_code=status_code)


@router.get("/tasks/{task_id}")
def task_page(task_id: RowId, request: Request, viewer: Viewer = Depends(current_viewer),
              session: Session = REQUEST_SESSION):
    task, rights = task_for(session, viewer, task_id)
    return render_task_page(request, session, viewer, task, rights)


@router.get("/tasks/{task_id}/edit")
def edit_task_page(task_id: RowId, request: Request, viewer: Viewer = Depends(current_viewer),
                   session: Session = REQUEST_SESSION):
    task, rights = task_for(session, viewer, task_id)
    if not rights.manage:
        raise HTTPException(status_code=403, detail="只有本县区的县级管理员可以修改督办任务。")
    return _task_form(request, session, viewer, task.county, task)


@router.post("/tasks/{task_id}/edit")
def edit_task_post(task_id: RowId, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                   session: Session = REQUEST_SESSION):
    task, rights = task_for(session, viewer, task_id)
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
    task, rights = task_for(session, viewer, task_id)
    target = str(form.get("status") or "")
    if target not in TASK_STATUSES:
        return render_task_page(request, session, viewer, task, rights, f"状态“{target}”无效;可选:"
                          + "、".join(f"{s}({STATUS_LABELS[s]})" for s in TASK_STATUSES), 400)
    if target == task.status:
        return saved_redirect(session, f"/tasks/{task.id}")
    if (task.status, target) not in TRANSITION_LABELS:
        return render_task_page(request, session, viewer, task, rights,
                          f"任务当前为“{STATUS_LABELS[task.status]}”,不能改为“{STATUS_LABELS[target]}”。", 409)
    if target not in rights.transitions:
        raise HTTPException(status_code=403, detail=transition_refusal(task.status, target))
    try:
        set_status(session, task.id, target, user=viewer.user, via="form", note=str(form.get("note") or ""))
    except TaskError as exc:
        session.rollback()
        return render_task_page(request, session, viewer, get_task(session, task_id), rights, exc.user_message(), 400)
    return saved_redirect(session, f"/tasks/{task.id}?msg=status_changed")


@router.post("/tasks/{task_id}/comments")
def task_comment_post(task_id: RowId, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                      session: Session = REQUEST_SESSION):
    task, rights = task_for(session, viewer, task_id)
    if not rights.comment:
        raise HTTPException(status_code=403, detail=COMMENT_REFUSAL)
    try:
        add_comment(session, task.id, str(form.get("body") or ""), user=viewer.user)
    except TaskError as exc:
        session.rollback()
        return render_task_page(request, session, viewer, task, rights, exc.user_message(), 400)
    return saved_redirect(session, f"/tasks/{task.id}?msg=comment_added#comments")


@router.post("/tasks/{task_id}/delete")
def task_delete(task_id: RowId, viewer: Viewer = Depends(check_csrf), session: Session = REQUEST_SESSION):
    task, rights = task_for(session, viewer, task_id)
    if not rights.manage:
        raise HTTPException(status_code=403, detail="只有本县区的县级管理员可以删除督办任务。")
    code = task.county.code
    delete_task(session, task.id, user=viewer.user, via="form")
    return saved_redirect(session, f"/counties/{code}/tasks?msg=task_deleted")

"""Supervision tasks (督办): create (by hand, from a warning or from a plan item), edit, move
through open → in progress → done → verified, comment, attach evidence; a county's timeline
(dates and work items, like seed 000 annex 2) and its year-by-year plan with amounts in 万元
summed per year (like seed 003).

Every change is written to the audit log (entity "task"). These are the functions the web
pages call; they raise TaskError with a Chinese message for anything a user got wrong.
"""

from __future__ import annotations

import hashlib
import math
import mimetypes
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO, Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from junheng import schoolyear
from junheng.engine.wording import num
from junheng.errors import JunhengError
from junheng.filenames import clean_name
from junheng.standards.loader import describe_known_ids, known_indicator_ids
from junheng.store.models import (
    TASK_STATUSES,
    AuditEntry,
    MonitorWarning,
    OrgNode,
    RoleGrant,
    School,
    SupervisionTask,
    TaskAttachment,
    TaskComment,
    User,
    utcnow,
)
from junheng.store.repo import CountyNotFound, county_by_code

STATUS_LABELS = {"open": "未开始", "in_progress": "进行中", "done": "已完成(待核验)", "verified": "已核验"}
SOURCE_LABELS = {"manual": "手工创建", "warning": "由预警生成", "plan": "由规划生成"}
TRANSITIONS = {  # from: allowed targets
    "open": ("in_progress", "done"),
    "in_progress": ("done", "open"),
    "done": ("verified", "in_progress"),
    "verified": ("in_progress",),
}
VERIFY_ROLES = ("admin", "supervisor", "county_admin")
ALLOWED_EXTENSIONS = {".pdf", ".ofd", ".jpg", ".jpeg", ".png", ".gif", ".webp", ".doc", ".docx", ".xls", ".xlsx",
                      ".ppt", ".pptx", ".wps", ".et", ".txt", ".csv", ".zip", ".rar", ".7z"}
DEFAULT_ATTACHMENT_LIMIT = 20 * 1024 * 1024
EDITABLE = ("title", "description", "deadline", "start_date", "owner_id", "owner_name", "responsible", "indicator",
            "school_code", "amount_wan", "plan_year")


# plausible ranges of a task's numbers (docs/methods.md, "Security decisions"): an investment is
# at most 10⁸ 万元 (10¹² 元, the ceiling of money in the data format), a plan year a year of the
# programme's horizon. Infinite and NaN values never reach the store (the pages could not show them).
AMOUNT_LIMIT_WAN = 100_000_000
PLAN_YEARS = (1990, 2100)


class TaskError(JunhengError):
    pass


def amount_ok(value) -> bool:
    """An investment in 万元: a finite number in 0..AMOUNT_LIMIT_WAN (not a bool)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and 0 <= value <= AMOUNT_LIMIT_WAN and math.isfinite(value))


def plan_year_ok(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and PLAN_YEARS[0] <= value <= PLAN_YEARS[1] and float(value).is_integer())


# ---------------------------------------------------------------- helpers


def _county(session: Session, code: str) -> OrgNode:
    """The store's one county look-up (a deleted county is not found), as a TaskError."""
    try:
        return county_by_code(session, code)
    except CountyNotFound as exc:
        raise TaskError(exc.user_message()) from None


def owner_choices(session: Session, county: OrgNode) -> list[User]:
    """Who can own a county's task: the active users with a grant on the county or one of its
    schools. The one owner rule: forms offer these, and `create_task`/`update_task` (every
    face: pages, command line) refuse any other owner."""
    school_ids = select(School.id).where(School.county_id == county.id)
    grants = session.scalars(select(RoleGrant).where(or_(RoleGrant.org_node_id == county.id,
                                                         RoleGrant.school_id.in_(school_ids)))).all()
    users = {g.user.id: g.user for g in grants if g.user.active}
    return sorted(users.values(), key=lambda u: u.username)


OWNER_MESSAGE = "负责人应从本县区的用户中选择"


def get_task(session: Session, task_id: int) -> SupervisionTask:
    task = session.get(SupervisionTask, task_id)
    if task is None or task.deleted_at is not None:
        raise TaskError(f"没有编号为 {task_id} 的督办任务")
    return task


def _audit(session: Session, task: SupervisionTask, field: str, old, new, *, user: User | None, via: str,
           note: str | None = None) -> None:
    session.add(AuditEntry(user_id=user.id if user else None, via=via, entity="task", entity_key=str(task.id),
                           county_id=task.county_id, field=field, old=_plain(old), new=_plain(new), note=note))


def _plain(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _default_responsible(county: OrgNode, indicator: str | None) -> list[str]:
    if indicator:
        from junheng.standards.loader import DEFAULT_STANDARD, load_standard

        standard = load_standard(county.standard or DEFAULT_STANDARD)
        if indicator in standard.indicators:
            return list(standard.indicators[indicator].responsible)
    return ["教体局"]


def _check(session: Session, county: OrgNode, values: dict) -> dict:
    """Validate and normalise editable fields; returns model attributes."""
    out = {}
    for key, value in values.items():
        if key == "title":
            value = (value or "").strip()
            if not value:
                raise TaskError("请填写任务名称")
            if len(value) > 300:
                raise TaskError("任务名称不能超过 300 个字")
            out["title"] = value
        elif key == "indicator":
            if value and value not in known_indicator_ids():
                raise TaskError(f"指标 {value} 无效(应为以下之一:{describe_known_ids()})")
            out["indicator"] = value or None
        elif key == "school_code":
            if value:
                school = session.scalar(select(School).where(School.code == value, School.deleted_at.is_(None)))
                if school is None or school.county_id != county.id:
                    raise TaskError(f"本县区没有学校标识码为 {value} 的学校")
                out["school_id"] = school.id
            else:
                out["school_id"] = None
        elif key in ("deadline", "start_date"):
            if isinstance(value, str) and value:
                try:
                    value = date.fromisoformat(value)
                except ValueError:
                    raise TaskError(f"日期 {value} 无效,应为 年-月-日,如 2025-06-30") from None
            out[key] = value or None
        elif key == "owner_id":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 0 < value < 2**31 or session.get(User, value) is None):
                raise TaskError(f"没有编号为 {value} 的用户")
            if value is not None and value not in {u.id for u in owner_choices(session, county)}:
                user = session.get(User, value)
                raise TaskError(f"{OWNER_MESSAGE}:{user.username} 不是{county.name}(或其学校)的在用账号")
            out["owner_id"] = value
        elif key == "responsible":
            items = [s.strip() for s in (value.split("、") if isinstance(value, str) else (value or [])) if s.strip()]
            out["responsible"] = items
        elif key == "amount_wan":
            if value is not None and not amount_ok(value):
                raise TaskError(f"投资金额(万元){value} 无效,应为 0 到 {AMOUNT_LIMIT_WAN:,} 之间的数")
            out["amount_wan"] = float(value) if value is not None else None
        elif key == "plan_year":
            if value is not None and not plan_year_ok(value):
                raise TaskError(f"计划年度 {value} 无效,应为 {PLAN_YEARS[0]}–{PLAN_YEARS[1]} 之间的四位年份")
            out["plan_year"] = int(value) if value is not None else None
        elif key in ("description", "owner_name"):
            out[key] = (value or "").strip() or None
        else:
            raise TaskError(f"不能修改任务的 {key}")
    return out


def _check_dates(start: date | None, end: date | None) -> None:
    if start and end and start > end:
        raise TaskError("开始日期不能晚于完成期限")


# ---------------------------------------------------------------- create, edit, status


def create_task(session: Session, county_code: str, *, title: str, user: User | None = None, via: str = "form",
                source: str = "manual", warning_id: int | None = None, plan_ref: str | None = None,
                **fields) -> SupervisionTask:
    """A new task. Fields: description, deadline, start_date, owner_id, owner_name, responsible
    (default: the standard's responsibility map for the indicator), indicator, school_code,
    amount_wan (万元), plan_year."""
    county = _county(session, county_code)
    values = _check(session, county, {"title": title, **fields})
    _check_dates(values.get("start_date"), values.get("deadline"))
    if "responsible" not in values or not values["responsible"]:
        values["responsible"] = _default_responsible(county, values.get("indicator"))
    task = SupervisionTask(county_id=county.id, status="open", source=source, warning_id=warning_id,
                           plan_ref=plan_ref, created_by=user.id if user else None, **values)
    session.add(task)
    session.flush()
    _audit(session, task, "created", None, task.title, user=user, via=via, note=SOURCE_LABELS.get(source))
    return task


def update_task(session: Session, task_id: int, *, user: User | None = None, via: str = "form",
                **fields) -> SupervisionTask:
    task = get_task(session, task_id)
    if task.status == "verified":
        raise TaskError("任务已核验,不能再修改;如需修改请先重新开启")
    values = _check(session, task.county, fields)
    _check_dates(values.get("start_date", task.start_date), values.get("deadline", task.deadline))
    if "responsible" in values and not values["responsible"]:  # emptied: back to the standard's map
        values["responsible"] = _default_responsible(task.county, values.get("indicator", task.indicator))
    for key, value in values.items():
        old = getattr(task, key)
        if old != value:
            _audit(session, task, key, old, value, user=user, via=via)
            setattr(task, key, value)
    task.updated_at = utcnow()
    session.flush()
    return task


def can_verify(session: Session, user: User | None, task: SupervisionTask) -> bool:
    if user is None:
        return True  # the command line is run by the server's operator
    from junheng.store.users import Access

    return _verifier(Access.of(session, user), task)


def _verifier(access, task: SupervisionTask) -> bool:
    """Admins, the task county's admins and the supervisors above it, each right checked on one
    grant (role and scope together: `Access.can_manage_county`, `Access.can_supervise_county`),
    never a role from one grant with the scope of another."""
    return access.can_manage_county(task.county) or access.can_supervise_county(task.county)


TRANSITION_LABELS = {("open", "in_progress"): "开始办理", ("open", "done"): "报告完成",
                     ("in_progress", "done"): "报告完成", ("in_progress", "open"): "改回未开始",
                     ("done", "verified"): "核验通过", ("done", "in_progress"): "退回整改",
                     ("verified", "in_progress"): "重新开启"}
NOTE_REQUIRED = {("done", "in_progress"), ("verified", "in_progress")}


@dataclass(frozen=True)
class TaskRights:
    """What one user may do with one task (docs/methods.md, "Monitoring pages", decision
    "who does what with a task").

    manage: the county's admins (and system admins) — edit, delete, every transition, remove
    attachments; verify: county admins, the supervisors above the county, admins — done →
    verified, return (done → in progress) and reopen (verified → in progress); report: the
    school filler of the task's school — open → in progress → done. Whoever manages, verifies
    or reports may comment and attach evidence; county viewers only read."""

    read: bool = False
    manage: bool = False
    verify: bool = False
    report: bool = False
    transitions: tuple[str, ...] = ()

    @property
    def comment(self) -> bool:
        return self.manage or self.verify or self.report

    @property
    def attach(self) -> bool:
        return self.comment


def task_rights(access, task: SupervisionTask) -> TaskRights:
    """The rights of a user (a junheng.store.users.Access) on a task."""
    manage = access.can_manage_county(task.county)
    verify = _verifier(access, task)
    report = task.school_id is not None and task.school_id in access.fill_schools
    read = manage or verify or report or access.can_read_county(task.county)
    allowed = []
    for target in TRANSITIONS[task.status]:
        if target == "verified":
            ok = verify
        elif manage:
            ok = True
        elif task.status in ("done", "verified"):
            ok = verify  # returning or reopening is the verifier's decision
        else:
            ok = report and target in ("in_progress", "done")
        if ok:
            allowed.append(target)
    return TaskRights(read=read, manage=manage, verify=verify, report=report, transitions=tuple(allowed))


def rights_of(session: Session, user: User, task: SupervisionTask) -> TaskRights:
    """`task_rights` of an account (the CLI's --user; a web request has its Access already)."""
    from junheng.store.users import Access

    return task_rights(Access.of(session, user), task)


# What a face says when the task's rights refuse a change (web pages and CLI alike)
READ_REFUSAL = "您没有权限查看该督办任务。"
COMMENT_REFUSAL = "您只能查看该任务,不能添加意见。"
ATTACH_REFUSAL = "您只能查看该任务,不能上传佐证材料。"


def transition_refusal(current: str, target: str) -> str:
    """Why someone without the right may not move a task from `current` to `target`."""
    if target == "verified" or current in ("done", "verified"):
        return "只有县级管理员、市/省督导或系统管理员可以核验、退回或重新开启任务。"
    return "只有县级管理员或任务所属学校的填报员可以改变该任务的办理状态。"


def status_refusal(rights: TaskRights, task: SupervisionTask, target: str) -> str | None:
    """Why these rights may not move the task to `target`, or None when they may. A target that is
    no status, the current one or no transition from it is not a question of rights: set_status
    says what is wrong with it."""
    if not rights.read:
        return READ_REFUSAL
    if target == task.status or target not in TRANSITIONS.get(task.status, ()):
        return None
    return None if target in rights.transitions else transition_refusal(task.status, target)


def set_status(session: Session, task_id: int, status: str, *, user: User | None = None, via: str = "form",
               note: str | None = None) -> SupervisionTask:
    """Move a task: open → in_progress → done → verified; done → in_progress (returned, with a
    note); verified → in_progress (reopened, with a note). Only county admins, supervisors and
    admins verify."""
    task = get_task(session, task_id)
    if status not in TASK_STATUSES:
        raise TaskError(f"状态 {status} 无效;可选:" + "、".join(f"{s}({STATUS_LABELS[s]})" for s in TASK_STATUSES))
    if status == task.status:
        return task
    if status not in TRANSITIONS[task.status]:
        raise TaskError(f"任务当前为“{STATUS_LABELS[task.status]}”,不能改为“{STATUS_LABELS[status]}”")
    if status == "verified" and not can_verify(session, user, task):
        raise TaskError("只有县级管理员、市/省督导或系统管理员可以核验任务")
    if task.status in ("done", "verified") and status == "in_progress" and not (note or "").strip():
        raise TaskError("退回或重新开启任务时请填写意见")
    old = task.status
    task.status = status
    now = utcnow()
    if status == "done":
        task.done_at = now
    if status == "verified":
        task.verified_at, task.verified_by = now, user.id if user else None
    if status in ("open", "in_progress"):
        task.verified_at = task.verified_by = None
    task.updated_at = now
    _audit(session, task, "status", old, status, user=user, via=via, note=note)
    if note and note.strip():
        session.add(TaskComment(task_id=task.id, user_id=user.id if user else None,
                                body=f"[{STATUS_LABELS[old]} → {STATUS_LABELS[status]}] {note.strip()}"))
    session.flush()
    return task


def delete_task(session: Session, task_id: int, *, user: User | None = None, via: str = "form") -> None:
    task = get_task(session, task_id)
    task.deleted_at = utcnow()
    _audit(session, task, "deleted_at", None, task.deleted_at.isoformat(), user=user, via=via, note="删除")


def create_task_from_warning(session: Session, warning_id: int, *, user: User | None = None, via: str = "form",
                             **fields) -> SupervisionTask:
    """A task prefilled from a warning: title, indicator, school, responsible departments."""
    warning = session.get(MonitorWarning, warning_id)
    if warning is None:
        raise TaskError(f"没有编号为 {warning_id} 的预警")
    if warning.resolved_at is not None:
        raise TaskError(f"预警 {warning_id}(“{warning.title}”)已解除,无需再生成督办任务")
    existing = session.scalar(select(SupervisionTask).where(SupervisionTask.warning_id == warning.id,
                                                            SupervisionTask.deleted_at.is_(None)))
    if existing is not None and existing.status != "verified":
        raise TaskError(f"该预警已有督办任务(编号 {existing.id}:{existing.title})")
    defaults = {"title": f"整改:{warning.title}", "description": warning.message, "indicator": warning.indicator,
                "school_code": warning.school.code if warning.school else None,
                "responsible": list(warning.responsible or [])}
    defaults.update(fields)
    title = defaults.pop("title")
    return create_task(session, warning.county.code, title=title, user=user, via=via, source="warning",
                       warning_id=warning.id, **defaults)


def _item(item, key: str, default=None):
    if isinstance(item, dict):
        return item.get(key, default)
    return getattr(item, key, default)


def create_tasks_from_plan(session: Session, county_code: str, items: Iterable, *, user: User | None = None,
                           via: str = "form", base_year: int | None = None, deadline_month_day: str = "12-31",
                           plan_ref: str | None = None) -> list[SupervisionTask]:
    """One task per plan item (a planner Action or a dict with the same keys: label, school_id,
    segment, quantity, unit, cost in 元, indicators, year or plan_year). The amount is cost/10,000
    万元; the deadline is the end of the item's calendar year."""
    tasks = []
    for n, item in enumerate(items, start=1):
        year = _item(item, "year")
        if year is None and _item(item, "plan_year") is not None and base_year is not None:
            year = base_year + int(_item(item, "plan_year")) - 1
        describe = getattr(item, "describe", None)
        title = describe() if callable(describe) else (
            f"{_item(item, 'school_name') or _item(item, 'school_id') or ''}:{_item(item, 'label', '')} "
            f"{_qty(_item(item, 'quantity'))} {_item(item, 'unit', '')}".strip())
        indicators = list(_item(item, "indicators") or [])
        cost = _item(item, "cost")
        month, day = (int(p) for p in deadline_month_day.split("-"))
        tasks.append(create_task(
            session, county_code, title=title, user=user, via=via, source="plan",
            plan_ref=f"{plan_ref or 'plan'}#{n}", indicator=indicators[0] if indicators else None,
            school_code=_item(item, "school_id"), amount_wan=round(cost / 10_000, 4) if cost else None,
            plan_year=year, deadline=date(year, month, day) if year else None,
            description=_item(item, "note")))
    return tasks


def _qty(q) -> str:
    return "" if q is None else num(q)  # as pages and reports write numbers: 300,000 元


# ---------------------------------------------------------------- comments and attachments


def add_comment(session: Session, task_id: int, body: str, *, user: User | None = None) -> TaskComment:
    task = get_task(session, task_id)
    body = (body or "").strip()
    if not body:
        raise TaskError("意见内容不能为空")
    comment = TaskComment(task_id=task.id, user_id=user.id if user else None, body=body)
    session.add(comment)
    task.updated_at = utcnow()
    session.flush()
    return comment


def safe_filename(name: str) -> str:
    """The uploaded name for display only (`junheng.filenames.clean_name`): no folders, no
    control, format or bidi characters (the extension stays what it looks like), NFC, at most
    255 characters with the extension kept."""
    return clean_name(name, fallback="附件", length=255)


def add_attachment(session: Session, uploads: Path, task_id: int, filename: str, data: bytes | BinaryIO, *,
                   user: User | None = None, via: str = "form",
                   limit_bytes: int = DEFAULT_ATTACHMENT_LIMIT) -> TaskAttachment:
    """Store an evidence file under <uploads>/tasks/<task id>/ with a generated name. Refuses
    unknown file types and files over `limit_bytes` (nothing is kept then)."""
    task = get_task(session, task_id)
    shown = safe_filename(filename)
    ext = Path(shown).suffix.lower()
    if ext not in ALLOWED_EXTENSIONS:
        raise TaskError(f"不支持的附件类型“{ext or '无扩展名'}”;可上传:{'、'.join(sorted(ALLOWED_EXTENSIONS))}")
    folder = Path(uploads) / "tasks" / str(task.id)
    folder.mkdir(parents=True, exist_ok=True)
    stored = f"{uuid.uuid4().hex}{ext}"
    target = folder / stored
    digest = hashlib.sha256()
    size = 0
    stream = data if hasattr(data, "read") else None
    try:
        with open(target, "xb") as out:
            chunks = iter(lambda: stream.read(1024 * 1024), b"") if stream is not None else [data]
            for chunk in chunks:
                size += len(chunk)
                if size > limit_bytes:
                    raise TaskError(f"附件超过大小上限 {limit_bytes // (1024 * 1024)} MB")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise TaskError("附件是空文件")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    attachment = TaskAttachment(task_id=task.id, user_id=user.id if user else None, filename=shown,
                                stored_name=f"tasks/{task.id}/{stored}",
                                content_type=mimetypes.guess_type(shown)[0] or "application/octet-stream",
                                size=size, sha256=digest.hexdigest())
    session.add(attachment)
    session.flush()
    _audit(session, task, "attachment", None, shown, user=user, via=via, note=f"{size} 字节,sha256 {digest.hexdigest()[:12]}")
    return attachment


def attachment_file(session: Session, uploads: Path, attachment_id: int) -> tuple[Path, TaskAttachment]:
    """The stored file of an attachment (for download), checked to lie inside the uploads folder."""
    attachment = session.get(TaskAttachment, attachment_id)
    if attachment is None or attachment.deleted_at is not None:
        raise TaskError(f"没有编号为 {attachment_id} 的附件")
    root = Path(uploads).resolve()
    path = (root / attachment.stored_name).resolve()
    if root not in path.parents or not path.is_file():
        raise TaskError("附件文件不存在")
    return path, attachment


def remove_attachment(session: Session, attachment_id: int, *, user: User | None = None, via: str = "form") -> None:
    """Soft delete: the file stays on disk (evidence is never destroyed), hidden from the task."""
    attachment = session.get(TaskAttachment, attachment_id)
    if attachment is None or attachment.deleted_at is not None:
        raise TaskError(f"没有编号为 {attachment_id} 的附件")
    attachment.deleted_at = utcnow()
    _audit(session, get_task(session, attachment.task_id), "attachment", attachment.filename, None,
           user=user, via=via, note="删除附件")


# ---------------------------------------------------------------- reading


def list_tasks(session: Session, county_code: str, *, status: str | list[str] | None = None,
               overdue_on: date | None = None, indicator: str | None = None, school_code: str | None = None,
               owner_id: int | None = None) -> list[SupervisionTask]:
    county = _county(session, county_code)
    query = select(SupervisionTask).where(SupervisionTask.county_id == county.id, SupervisionTask.deleted_at.is_(None))
    if status:
        query = query.where(SupervisionTask.status.in_([status] if isinstance(status, str) else status))
    if overdue_on is not None:
        query = query.where(SupervisionTask.deadline < overdue_on,
                            SupervisionTask.status.in_(("open", "in_progress")))
    if indicator:
        query = query.where(SupervisionTask.indicator == indicator)
    if school_code:
        query = query.join(School, School.id == SupervisionTask.school_id).where(School.code == school_code)
    if owner_id is not None:
        query = query.where(SupervisionTask.owner_id == owner_id)
    rows = session.scalars(query).all()
    return sorted(rows, key=lambda t: (t.deadline or date.max, t.id))


def task_json(session: Session, task: SupervisionTask, *, today: date | None = None, details: bool = False) -> dict:
    today = today or schoolyear.local_today()
    overdue = task.deadline is not None and task.deadline < today and task.status in ("open", "in_progress")
    out = {
        "id": task.id, "county_code": task.county.code, "county_name": task.county.name, "title": task.title,
        "description": task.description, "indicator": task.indicator,
        "school_id": task.school.code if task.school else None, "school_name": task.school.name if task.school else None,
        "responsible": task.responsible or [], "owner_id": task.owner_id,
        "owner_name": task.owner_name or (task.owner.display_name if task.owner else None),
        "start_date": _plain(task.start_date), "deadline": _plain(task.deadline),
        "period": period_label(task.start_date, task.deadline), "status": task.status,
        "status_label": STATUS_LABELS[task.status], "overdue": overdue, "source": task.source,
        "source_label": SOURCE_LABELS.get(task.source, task.source), "warning_id": task.warning_id,
        "plan_ref": task.plan_ref, "amount_wan": task.amount_wan, "plan_year": task.plan_year,
        "created_at": task.created_at.isoformat() if task.created_at else None,
        "done_at": task.done_at.isoformat() if task.done_at else None,
        "verified_at": task.verified_at.isoformat() if task.verified_at else None,
    }
    if details:
        comments = session.scalars(select(TaskComment).where(TaskComment.task_id == task.id)
                                   .order_by(TaskComment.created_at, TaskComment.id)).all()
        files = session.scalars(select(TaskAttachment).where(TaskAttachment.task_id == task.id,
                                                             TaskAttachment.deleted_at.is_(None))
                                .order_by(TaskAttachment.id)).all()
        out["comments"] = [{"id": c.id, "user": c.user.display_name if c.user else "系统", "body": c.body,
                            "created_at": c.created_at.isoformat()} for c in comments]
        out["attachments"] = [{"id": a.id, "filename": safe_filename(a.filename), "size": a.size, "content_type": a.content_type,
                               "sha256": a.sha256, "user": a.user.display_name if a.user else None,
                               "created_at": a.created_at.isoformat()} for a in files]
    return out


def period_label(start: date | None, end: date | None) -> str:
    """Dates as the seeds' plans write them: 2022.3, 2021.9–12, 2022.9–2023.7."""
    if start is None and end is None:
        return "—"
    if start is None or end is None:
        d = start or end
        return f"{d.year}.{d.month}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.year}.{start.month}"
    if start.year == end.year:
        return f"{start.year}.{start.month}–{end.month}"
    return f"{start.year}.{start.month}–{end.year}.{end.month}"


def county_timeline(session: Session, county_code: str, *, today: date | None = None) -> dict:
    """The county's milestones (基本均衡, target and certification years) and its work items in
    date order, each with its period (2021.9–12), status and who is responsible."""
    county = _county(session, county_code)
    today = today or schoolyear.local_today()
    tasks = list_tasks(session, county_code)
    items = sorted((task_json(session, t, today=today) for t in tasks),
                   key=lambda t: (t["start_date"] or t["deadline"] or "9999", t["deadline"] or "9999", t["id"]))
    milestones = []
    if county.basic_balance_year:
        milestones.append({"year": county.basic_balance_year, "label": "通过义务教育基本均衡国家认定"})
    if county.target_year:
        milestones.append({"year": county.target_year, "label": "计划通过义务教育优质均衡国家认定"})
    if county.certified_year:
        milestones.append({"year": county.certified_year, "label": "通过义务教育优质均衡国家认定"})
    done = sum(1 for t in tasks if t.status in ("done", "verified"))
    return {"county_code": county.code, "county_name": county.name, "milestones": sorted(milestones, key=lambda m: m["year"]),
            "items": items, "total": len(tasks), "done": done,
            "overdue": sum(1 for i in items if i["overdue"])}


def year_plan(session: Session, county_code: str) -> dict:
    """Work items by year (plan year, else the deadline's year) with their amounts in 万元 and the
    sum per year, like seed 003's 推进计划 ("投资630万元升级更新教学多媒体设备180台")."""
    tasks = list_tasks(session, county_code)
    years: dict[int | None, list[SupervisionTask]] = {}
    for task in tasks:
        year = task.plan_year or (task.deadline.year if task.deadline else None)
        years.setdefault(year, []).append(task)
    out = []
    for year in sorted(years, key=lambda y: (y is None, y or 0)):
        items = [task_json(session, t) for t in years[year]]
        total = round(sum(t.amount_wan or 0.0 for t in years[year]), 4)
        out.append({"year": year, "items": items, "total_wan": total,
                    "summary": _year_summary(years[year], total)})
    return {"county_code": county_code, "years": out,
            "total_wan": round(sum(y["total_wan"] for y in out), 4)}


def _year_summary(tasks: list[SupervisionTask], total: float) -> str:
    funded = [t for t in tasks if t.amount_wan]
    parts = [f"投资{_wan(t.amount_wan)}万元{t.title}" for t in funded]
    if not parts:
        return ""
    return ",".join(parts) + (f",合计{_wan(total)}万元" if len(parts) > 1 else "") + "。"


def _wan(value: float) -> str:
    return f"{int(value)}" if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")

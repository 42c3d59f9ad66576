"""Shared pieces of the editing pages (forms, review, upload, audit): catalogue fields as form
inputs, typed values back to text, posted text validated with the import's rules, changes
computed against one stored row, audit history, times and flash messages.

Which fields a form asks for: those the county's standard asks for
(`junheng.standards.fields.fields_for`; every catalogue field when the standard cannot be
read), so a county under basic-2012 fills in its own indicators and none of national-2017's.
A stored value of a field the form does not show is never touched by a save."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.data.catalog import FieldSpec, catalog
from junheng.data.importer import validate_rows
from junheng.data.problems import DatasetInvalid, Problem
from junheng.monitor.inputs import SHEETS
from junheng.monitor.tasks import STATUS_LABELS as TASK_STATUS_LABELS
from junheng.planner.costs import COST_LABELS
from junheng.standards.fields import fields_for
from junheng.standards.loader import DEFAULT_STANDARD, StandardError, find_standard_by_id, standard_name
from junheng.standards.model import Standard
from junheng import schoolyear
from junheng.schoolyear import LOCAL_TIME  # users read times in Beijing time; the store keeps UTC
from junheng.store import repo
from junheng.store.models import AuditEntry, OrgNode, School, SchoolYear, User
from junheng.store.repo import STATE_LABELS
from junheng.store.users import ROLE_LABELS
from junheng.web.app import templates
from junheng.web.deps import Viewer, current_viewer
from junheng.web.files import read_form
from junheng.web.routes.pages import standards_folder

VIA_LABELS = {"form": "表单", "upload": "上传", "api": "接口", "cli": "命令行", "system": "系统"}
ENTITY_LABELS = {"school": "学校", "school_year": "学校年度", "county_year": "县级年度", "quality": "质量监测",
                 "county": "县区", "city": "市", "province": "省", "user": "用户", "scenario": "情景",
                 "login": "登录", "task": "督办任务", "grade_enrolment": "分年级在校生数", "county_intake": "入学来源",
                 "housing_project": "住房项目"}
# fields that are not in the data format's catalogue: workflow, administration, saved scenarios
META_FIELD_LABELS = {"status": "审核状态", "deleted_at": "删除/恢复", "name": "名称", "province": "所属省",
                     "city": "所属市", "username": "用户名", "display_name": "显示名称", "active": "账号启用",
                     "password": "密码", "role_grant": "角色授权", "saved": "保存情景", "locked_until": "暂停登录至"}
# the audited fields of supervision tasks (junheng.monitor.tasks) and of the forecast's inputs
# (junheng.monitor.inputs: their sheets' column labels), by entity
ENTITY_FIELD_LABELS: dict[str, dict[str, str]] = {
    "task": {"created": "新建任务", "attachment": "佐证材料", "title": "任务名称", "description": "说明",
             "deadline": "完成期限", "start_date": "开始日期", "owner_id": "负责人(系统用户)",
             "owner_name": "负责人(姓名、职务)", "responsible": "责任单位", "indicator": "指标", "school_code": "学校",
             "amount_wan": "投资金额(万元)", "plan_year": "计划年度", "status": "任务状态", "deleted_at": "删除/恢复"},
    "grade_enrolment": {c.key: c.label for s in SHEETS if s.key == "grade_enrolment" for c in s.columns},
    "county_intake": {c.key: c.label for s in SHEETS if s.key == "intake" for c in s.columns},
    "housing_project": {"created": "新建住房项目",
                        **{c.key: c.label for s in SHEETS if s.key == "housing" for c in s.columns}},
}

# the county's cost table (单价表, routes/plan.py): each unit price by its Chinese name and unit
ENTITY_LABELS["costs"] = "单价表"
ENTITY_FIELD_LABELS["costs"] = {key: f"单价表:{label}" for key, label in COST_LABELS.items()}


def audit_field_label(entity: str | None, key: str) -> str:
    """The Chinese name of an audited field: the catalogue's label (the entity's own table
    first), the workflow and administration labels, then those of tasks and forecast inputs;
    the key itself only for a field nobody named (never expected)."""
    own = ENTITY_FIELD_LABELS.get(entity or "", {})
    if key in own:
        return own[key]
    spec = field_spec(ENTITY_TABLES[entity], key) if entity in ENTITY_TABLES else None
    spec = spec or catalog().find_field(key)
    if spec is not None:
        return spec.label
    if key in META_FIELD_LABELS:
        return META_FIELD_LABELS[key]
    for labels in ENTITY_FIELD_LABELS.values():
        if key in labels:
            return labels[key]
    return key

# Known flash messages (a code in ?msg=..., never free text from the URL)
FLASH_MESSAGES = {
    "saved": "已保存。",
    "nochange": "没有需要保存的修改。",
    "submitted": "已保存并提交审核。",
    "created": "已新建该学年的记录(草稿)。",
    "approved": "已审核通过。",
    "approved_many": "所选数据已全部审核通过。",
    "returned": "已退回,退回意见已记录。",
    "reopened": "已重新开放,可以修改。",
    "locked": "已保存并锁定。",
    "deleted": "已删除(可在“已删除的数据”中恢复)。",
    "restored": "已恢复。",
    "applied": "上传的数据已全部应用。",
}
templates.env.globals["flash_messages"] = FLASH_MESSAGES
# base.html names the user's roles on every page; pages whose context lacks the labels (e.g. the
# password page) would fail without this global
templates.env.globals.setdefault("role_labels", ROLE_LABELS)

# ---------------------------------------------------------------- field groups

SCHOOL_YEAR_GROUPS: list[tuple[str, str, tuple[str, ...]]] = [
    # (id, heading, key prefixes / keys); each field goes to the first group that claims it
    ("students", "学生与班级", ("students_", "classes_", "max_class_size_", "oversize_classes_")),
    ("teachers", "教师", ("teachers_", "teachers_above_qual_", "backbone_teachers_", "pe_art_teachers_",
                          "certified_teachers_", "mid_title_teachers_")),
    ("rooms", "专用教室", ("music_rooms", "music_room_min_area", "art_rooms", "art_room_min_area")),
    ("facilities", "校舍与设备", tuple(f"{key}{part}" for key in ("teaching_aux_area", "sports_area", "equipment_value",
                                                                   "multimedia_classrooms")
                                       for part in ("", "_primary", "_junior")) + ("computers", "books")),
    ("funds", "经费与管理", ("public_funds", "training_funds", "has_charter", "moral_rating")),
]
ALLOWANCE_GROUP = ("allowance", "放宽条款所需(可选)")
OTHER_GROUP = ("other", "其他")

COUNTY_YEAR_GROUPS: list[tuple[str, str, tuple[str, ...]]] = [
    ("quality", "教育质量", ("junior_consolidation_rate", "disabled_enrollment_rate", "informatization",
                             "teachers_ict_proficient", "curriculum_complete", "no_excess_burden",
                             "cohort_", "disabled_")),  # the counts Q1 and Q2 can be computed from
    ("recognition", "社会认可度", ("social_recognition_rate",)),
    ("veto", "一票否决事项(发生时选“是”)", ("veto_",)),
]
GUARANTEE_GROUP = ("guarantee", "政府保障程度")  # every field no other group claims
REPORTED_GROUP = ("reported", "报告项(不参与达标判定)")  # the standard's `reported` values

TABLE_KEYS = {"school_year": ("school_id", "year"), "county_year": ("county_code", "year")}


@dataclass
class FormField:
    spec: FieldSpec
    value: str = ""  # as shown in the input
    error: str | None = None
    history: list[dict] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def widget(self) -> str:
        return {"bool": "bool", "enum": "enum"}.get(self.spec.type, "text")

    @property
    def inputmode(self) -> str:
        return "numeric" if self.spec.type in ("count", "year") else "decimal"

    @property
    def unit(self) -> str:
        return self.spec.unit or ""

    @property
    def hint(self) -> str:
        return self.spec.note or ""


@dataclass
class FieldGroup:
    id: str
    title: str
    fields: list[FormField]


def _claimed(key: str, claims: tuple[str, ...]) -> bool:
    return any(key == c or (c.endswith("_") and key.startswith(c)) for c in claims)


def county_standard(request: Request, county: OrgNode | None) -> Standard | None:
    """The standard a county's data is entered for: its own (national-2017 when it names none),
    from the catalogue or the workspace's standards folder; None when that standard cannot be
    read (the forms then ask for every field: nothing the county may need is hidden)."""
    standard_id = (county.standard if county is not None else None) or DEFAULT_STANDARD
    try:
        return find_standard_by_id(standard_id, [standards_folder(request)])
    except (StandardError, OSError):
        return None


def asked_fields(table: str, standard: Standard | None) -> list[FieldSpec]:
    """The fields of `table` a county under `standard` is asked for, in catalogue order (every
    field without a standard)."""
    if standard is None:
        return list(catalog().table(table).fields)
    return fields_for(standard).get(table, [])


def school_year_specs(school: School, stored: dict, standard: Standard | None = None) -> list[FieldSpec]:
    """The school_year fields this school fills: those the county's standard asks for (every
    field when no standard is given) of its type's segments, plus a field of another segment
    that already holds a value (so it can be seen and cleared)."""
    cat = catalog()
    segments = set(cat.school_types[school.school_type].segments) if school.school_type in cat.school_types \
        else {"primary", "junior", "senior"}
    out = []
    for f in asked_fields("school_year", standard):
        if f.key in TABLE_KEYS["school_year"]:
            continue
        if f.segment and f.segment not in segments and stored.get(f.key) is None:
            continue
        out.append(f)
    return out


def county_year_specs(standard: Standard | None = None) -> list[FieldSpec]:
    """The county_year fields the county's standard asks for (every field without one)."""
    return [f for f in asked_fields("county_year", standard) if f.key not in TABLE_KEYS["county_year"]]


def group_school_year(fields: list[FormField]) -> list[FieldGroup]:
    groups = {gid: FieldGroup(gid, title, []) for gid, title, _ in SCHOOL_YEAR_GROUPS}
    groups[ALLOWANCE_GROUP[0]] = FieldGroup(*ALLOWANCE_GROUP, [])
    groups[OTHER_GROUP[0]] = FieldGroup(*OTHER_GROUP, [])
    for f in fields:
        if f.spec.allowance:
            groups[ALLOWANCE_GROUP[0]].fields.append(f)
            continue
        gid = next((g for g, _, claims in SCHOOL_YEAR_GROUPS if _claimed(f.key, claims)), OTHER_GROUP[0])
        groups[gid].fields.append(f)
    order = ["students", "teachers", "facilities", "rooms", "funds", ALLOWANCE_GROUP[0], OTHER_GROUP[0]]
    return [groups[g] for g in order if groups[g].fields]


def group_county_year(fields: list[FormField], standard: Standard | None = None) -> list[FieldGroup]:
    """The county form's groups; with a standard, the government group is named as the standard
    names that area and the values it reports without judging get a group of their own."""
    guarantee = GUARANTEE_GROUP[1]
    if standard is not None and standard.has_area("government_guarantee"):
        guarantee = standard.area_label("government_guarantee")
    reported = {value.field for value in standard.reported.values()} if standard is not None else set()
    groups = [FieldGroup(GUARANTEE_GROUP[0], guarantee, [])]
    groups += [FieldGroup(gid, title, []) for gid, title, _ in COUNTY_YEAR_GROUPS]
    groups.append(FieldGroup(*REPORTED_GROUP, []))
    for f in fields:
        if f.key in reported:
            groups[-1].fields.append(f)
            continue
        index = next((i + 1 for i, (_, _, claims) in enumerate(COUNTY_YEAR_GROUPS) if _claimed(f.key, claims)), 0)
        groups[index].fields.append(f)
    return [g for g in groups if g.fields]


# ---------------------------------------------------------------- values

def shown(spec: FieldSpec | None, value: Any) -> str:
    """A stored value as the text a form shows (and as a person would type it)."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)


def display(spec: FieldSpec | None, value: Any) -> str:
    """A value for reading (history, previews): enum labels, 是/否, 空 for nothing."""
    if value is None or value == "":
        return "(空)"
    if spec is not None and spec.type == "enum" and spec.values and value in spec.values:
        return spec.values[value]
    if spec is not None and spec.key == "school_type" and isinstance(value, str):
        return catalog().school_type_label(value)
    if spec is not None and spec.key == "standard" and isinstance(value, str):
        return standard_name(value)  # a county's standard by its name, as the admin chose it
    if isinstance(value, str) and value in STATE_LABELS:
        return STATE_LABELS[value]
    return shown(spec, value)


def field_spec(table: str, key: str) -> FieldSpec | None:
    try:
        return catalog().table(table).field(key)
    except KeyError:
        return None


def same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-9)
    return a == b


def posted_values(form, specs: list[FieldSpec]) -> dict[str, str]:
    return {f.key: str(form.get(f.key, "") or "").strip() for f in specs}


def problem_text(problem: Problem) -> str:
    text = f"取值“{problem.value}”" if problem.value else ""
    text += problem.message
    if problem.expected:
        text += f",应为{problem.expected}"
    return text


@dataclass
class Validation:
    values: dict[str, Any] | None  # typed values of the checked row when valid
    errors: dict[str, str]  # field key → message
    general: list[str]  # problems not tied to a field of the form


def validate_single(table: str, row: dict, context: dict[str, list[dict]], shown_keys: set[str]) -> Validation:
    """Validate one row of `table` (text as typed) with the import rules, alongside context rows
    (the school's roster row: segment and reference rules need it)."""
    try:
        dataset = validate_rows({**context, table: [row]})
    except DatasetInvalid as exc:
        errors: dict[str, str] = {}
        general = []
        for p in exc.problems:
            if p.table == table and p.column in shown_keys:
                errors.setdefault(p.column, problem_text(p))
            else:
                general.append(p.text(keys=False))
        return Validation(None, errors, general)
    frame = dataset.table(table)
    values = {key: repo.plain(frame[key].iloc[0]) for key in row if key in frame.columns}
    return Validation(values, {}, [])


def row_changes(entity: str, key: str, county_code: str, before: dict, after: dict) -> list[repo.Change]:
    """Changes from the stored values to the form's values. Unlike an upload (where an empty cell
    means "not given"), an emptied form field clears the stored value."""
    return [repo.Change(entity, key, county_code, k, before.get(k), v)
            for k, v in after.items() if not same(before.get(k), v)]


# ---------------------------------------------------------------- history and times

def local_time(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC
    return value.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M")


templates.env.filters["local_time"] = local_time


def user_label(user: User | None) -> str:
    return f"{user.display_name}({user.username})" if user else "系统"


def history_rows(session: Session, entity: str, key: str, table: str | None = None, limit: int = 500) -> list[dict]:
    """Audit entries of one stored row, newest first, ready to show."""
    entries = session.scalars(select(AuditEntry).where(AuditEntry.entity == entity, AuditEntry.entity_key == key)
                              .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)).all()
    return [entry_row(e, table) for e in entries]


def entry_row(e: AuditEntry, table: str | None) -> dict:
    spec = field_spec(table, e.field) if table else None
    if spec is None and e.entity in ENTITY_TABLES:
        spec = field_spec(ENTITY_TABLES[e.entity], e.field)
    label = spec.label if spec else audit_field_label(e.entity, e.field)
    if e.field == "deleted_at":
        old, new = ("已删除" if e.old else "正常"), ("已删除" if e.new else "正常")
    elif e.entity == "task" and e.field == "status":
        old, new = (TASK_STATUS_LABELS.get(v, display(None, v)) if isinstance(v, str) else display(None, v)
                    for v in (e.old, e.new))
    else:
        old, new = display(spec, e.old), display(spec, e.new)
    return {"id": e.id, "at": local_time(e.at), "user": user_label(e.user), "via": VIA_LABELS.get(e.via, e.via),
            "via_key": e.via, "entity": ENTITY_LABELS.get(e.entity, e.entity), "entity_key": e.entity_key,
            "field": e.field, "label": label, "old": old, "new": new, "note": e.note or ""}


ENTITY_TABLES = {"school": "schools", "school_year": "school_year", "county_year": "county_year",
                 "quality": "quality", "county": "counties"}


# ---------------------------------------------------------------- requests

async def form_data(request: Request, _viewer: Viewer = Depends(current_viewer)):
    """The posted form of a logged-in viewer (the body is never read for anyone else), at most
    1 MB (`read_form`; upload routes read theirs first with their own limit); parsed once per
    request, check_csrf reads the same cached form."""
    return await read_form(request)


def saved_redirect(session: Session, url: str) -> RedirectResponse:
    """Commit, then send the browser on (the saved data is visible to the page it goes to)."""
    session.commit()
    return RedirectResponse(url, status_code=303)


def safe_next(target: str | None, fallback: str) -> str:
    """`target` if it is a path on this site, else `fallback`: never //host, and nothing a browser
    reads as a host either (a backslash, as in /\\evil.com, or a control character)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return fallback
    return target


def with_message(path: str, code: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}msg={code}"


def school_for_read(session: Session, viewer, code: str) -> School:
    school = repo.school_by_code(session, code)
    if not viewer.access.can_read_school(school):
        raise HTTPException(status_code=403, detail="您没有权限查看该学校的数据。")
    return school


def school_year_row(session: Session, school: School, year: int, *, lock: bool = False) -> SchoolYear | None:
    query = select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == year)
    if lock:
        query = query.with_for_update()  # PostgreSQL: concurrent saves of one row queue up
    return session.scalar(query)


def check_year(year: int) -> None:
    if not 1900 <= year <= 2100:
        raise HTTPException(status_code=404)


def base_context(viewer) -> dict:
    return {"viewer": viewer, "role_labels": ROLE_LABELS, "state_labels": STATE_LABELS, "via_labels": VIA_LABELS}


def today() -> date:
    return schoolyear.local_today()  # the one clock (tests freeze it)

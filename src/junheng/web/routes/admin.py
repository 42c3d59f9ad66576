"""The 管理 pages: the organisation tree (system admin), schools' master data (system admin or
the county's admin) and user accounts (system admin: any role anywhere; county admin: school
fillers and viewers of its county), and the log of these changes.

The pages call `junheng.store.admin`, which validates, checks access again and writes every
change with its audit entries; a refused or invalid post changes nothing and shows the form again
with the messages beside the fields. Passwords are shown once, on the answer to the post that
set them (never in a URL, never cached).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from junheng.data.catalog import catalog
from junheng.schoolyear import current_school_year
from junheng.standards.loader import DEFAULT_STANDARD, builtin_ids, load_standard
from junheng.store import admin as store_admin
from junheng.store import repo
from junheng.store.admin import KIND_LABELS, FormInvalid
from junheng.store.models import ROLES, AuditEntry, OrgNode, School, SchoolYear, User
from junheng.store.users import MIN_PASSWORD_LENGTH, PASSWORD_RULES, ROLE_LABELS
from junheng.web.app import templates
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, current_viewer
from junheng.web.params import Page, RowId
from junheng.web.routes.editing import (
    ENTITY_LABELS,
    FormField,
    entry_row,
    form_data,
    history_rows,
    saved_redirect,
    shown,
    with_message,
)
from junheng.web.routes.pages import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100
ADMIN_ENTITIES = ("province", "city", "county", "school", "user", "login")  # login: lockouts
SCOPE_HINTS = {"admin": "不限范围(留空)", "supervisor": "县区、市或省的代码", "county_admin": "县区代码",
               "school_filler": "学校标识码", "viewer": "县区、市或省的代码"}


templates.env.globals["current_school_year"] = current_school_year  # county page: 填报 20XX 学年
templates.env.globals["password_rules"] = PASSWORD_RULES  # beside every field where a password is chosen
templates.env.globals["min_password_length"] = MIN_PASSWORD_LENGTH


# ---------------------------------------------------------------- access

def _can_administer(viewer: Viewer) -> bool:
    return viewer.access.admin or bool(viewer.access.manage_counties)


def _require_manager(viewer: Viewer) -> None:
    if not _can_administer(viewer):
        raise HTTPException(status_code=403, detail="您没有管理权限:管理页面供系统管理员和县级管理员使用。")


def _require_admin(viewer: Viewer) -> None:
    if not viewer.access.admin:
        raise HTTPException(status_code=403, detail="只有系统管理员可以新建或修改省、市、县区。")


def _county(session: Session, viewer: Viewer, code: str) -> OrgNode:
    county = repo.county_by_code(session, code)
    if not viewer.access.can_manage_county(county):
        raise HTTPException(status_code=403, detail=f"只有系统管理员或{county.name}的县级管理员可以管理该县区的学校和用户。")
    return county


def _node(session: Session, code: str) -> OrgNode:
    node = session.scalar(select(OrgNode).where(OrgNode.code == code))
    if node is None:
        raise HTTPException(status_code=404, detail=f"没有代码为 {code} 的省、市或县区。")
    return node


def _school(session: Session, viewer: Viewer, code: str) -> School:
    school = repo.school_by_code(session, code)
    if not viewer.access.can_manage_county(school.county):
        raise HTTPException(status_code=403, detail="只有系统管理员或本县区的县级管理员可以修改该学校的基本信息。")
    return school


def _user(session: Session, viewer: Viewer, user_id: int) -> User:
    user = store_admin.user_by_id(session, user_id)
    if user is None or not (viewer.access.admin or user in store_admin.users_in_scope(session, viewer.access)):
        raise HTTPException(status_code=404, detail="没有该用户,或该用户不在您的管理范围内。")
    return user


def _answer(response, status: int):
    response.status_code = status
    return response


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"  # a page showing a password once
    return response


def _text(form, *keys: str) -> dict[str, str]:
    return {k: str(form.get(k) or "").strip() for k in keys}


# ---------------------------------------------------------------- home: the tree and the counties

def _node_data(node: OrgNode, depth: int = 0, schools: int | None = None) -> dict:
    data = {"code": node.code, "name": node.name, "kind": node.kind,
            "kind_label": KIND_LABELS.get(node.kind, node.kind), "depth": depth,
            "parent": node.parent.code if node.parent else None}
    if node.kind == "county":
        data |= {a: getattr(node, a) for a in repo.COUNTY_ATTRIBUTES} | {"schools": schools or 0}
    return data


@router.get("/admin")
def admin_home(request: Request, viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    _require_manager(viewer)
    if viewer.access.admin:
        tree = store_admin.org_tree(session)
    else:
        managed = session.scalars(select(OrgNode).where(OrgNode.id.in_(viewer.access.manage_counties),
                                                        OrgNode.deleted_at.is_(None)).order_by(OrgNode.code))
        tree = [(c, 0) for c in managed]
    counts = store_admin.county_school_counts(session, [n.id for n, _ in tree if n.kind == "county"])
    nodes = [_node_data(n, depth, counts.get(n.id)) for n, depth in tree]
    users = session.scalar(select(func.count()).select_from(User)) if viewer.access.admin else None
    context = {"viewer": viewer, "nodes": nodes, "kind_labels": KIND_LABELS, "user_count": users,
               "is_admin": viewer.access.admin, "default_standard": DEFAULT_STANDARD}
    return render(request, "admin_home.html", context, {"nodes": nodes})


# ---------------------------------------------------------------- province, city, county

def _standards() -> list[tuple[str, str]]:
    return [(i, load_standard(i).name) for i in builtin_ids()]


def _org_form(request: Request, session: Session, viewer: Viewer, kind: str, values: dict[str, str],
              node: OrgNode | None = None, errors: dict | None = None, general: list | None = None,
              status: int = 200):
    context = {"viewer": viewer, "kind": kind, "kind_label": KIND_LABELS[kind], "node": node, "values": values,
               "errors": errors or {}, "general": general or [], "parents": store_admin.parent_choices(session, kind),
               "kind_labels": KIND_LABELS, "standards": _standards(), "default_standard": DEFAULT_STANDARD,
               "history": history_rows(session, kind, node.code, "counties" if kind == "county" else None, limit=100)
               if node is not None else []}
    data = {"kind": kind, "node": _node_data(node) if node is not None else None, "values": values,
            "errors": errors or {}, "general": general or []}
    return _answer(render(request, "admin_org_form.html", context, data), status)


def _node_values(node: OrgNode) -> dict[str, str]:
    values = {"code": node.code, "name": node.name, "parent": node.parent.code if node.parent else ""}
    if node.kind == "county":
        values |= {a: shown(None, getattr(node, a)) for a in repo.COUNTY_ATTRIBUTES}
    return values


ORG_KEYS = ("code", "name", "parent") + repo.COUNTY_ATTRIBUTES


@router.get("/admin/org/new")
def new_org_node(request: Request, kind: str = "province", parent: str = "", viewer: Viewer = Depends(current_viewer),
                 session: Session = REQUEST_SESSION):
    _require_admin(viewer)
    if kind not in KIND_LABELS:
        raise HTTPException(status_code=400, detail="类别应为 province(省)、city(市)或 county(县区)。")
    values = {"parent": parent}
    if kind == "county":
        values["standard"] = DEFAULT_STANDARD
    return _org_form(request, session, viewer, kind, values)


@router.post("/admin/org/new")
def create_org_node(request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                    session: Session = REQUEST_SESSION):
    _require_admin(viewer)
    kind = str(form.get("kind", ""))
    if kind not in KIND_LABELS:
        raise HTTPException(status_code=400, detail="类别应为 province(省)、city(市)或 county(县区)。")
    values = _text(form, *ORG_KEYS)
    try:
        node, _ = store_admin.save_org_node(session, viewer.access, kind, values)
    except FormInvalid as exc:
        session.rollback()
        return _org_form(request, session, viewer, kind, values, errors=exc.errors, general=exc.general,
                         status=exc.status)
    if kind == "county":  # next: its schools
        return saved_redirect(session, with_message(f"/admin/counties/{node.code}", "saved"))
    return saved_redirect(session, with_message("/admin", "saved") + f"#node-{node.code}")


@router.get("/admin/org/{code}")
def edit_org_node(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
                  session: Session = REQUEST_SESSION):
    _require_admin(viewer)
    node = _node(session, code)
    return _org_form(request, session, viewer, node.kind, _node_values(node), node)


@router.post("/admin/org/{code}")
def save_org_node(code: str, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                  session: Session = REQUEST_SESSION):
    _require_admin(viewer)
    node = _node(session, code)
    values = _text(form, *ORG_KEYS)
    values["code"] = node.code
    try:
        _, changed = store_admin.save_org_node(session, viewer.access, node.kind, values, node)
    except FormInvalid as exc:
        session.rollback()
        node = _node(session, code)
        return _org_form(request, session, viewer, node.kind, values, node, errors=exc.errors, general=exc.general,
                         status=exc.status)
    return saved_redirect(session, with_message(f"/admin/org/{node.code}", "saved" if changed else "nochange"))


# ---------------------------------------------------------------- a county: its schools

@router.get("/admin/counties/{code}")
def county_admin_page(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
                      session: Session = REQUEST_SESSION):
    county = _county(session, viewer, code)
    schools = session.scalars(select(School).where(School.county_id == county.id).order_by(School.code)).all()
    users = store_admin.users_in_scope(session, viewer.access, county)
    latest = session.scalar(select(func.max(SchoolYear.year)).where(  # the year the county is filling
        SchoolYear.school_id.in_([s.id for s in schools]), SchoolYear.deleted_at.is_(None)))
    context = {"viewer": viewer, "county": county, "schools": schools, "users": users,
               "type_labels": {k: t.label for k, t in catalog().school_types.items()}, "is_admin": viewer.access.admin,
               "fill_year": latest or current_school_year(), "default_standard": DEFAULT_STANDARD}
    data = {"county": _node_data(county, schools=len([s for s in schools if not s.deleted])),
            "schools": [{"school_id": s.code, "name": s.name, "school_type": s.school_type, "deleted": s.deleted}
                        for s in schools],
            "users": [u.username for u in users]}
    return render(request, "admin_county.html", context, data)


def _school_form(request: Request, session: Session, viewer: Viewer, county: OrgNode, values: dict[str, str],
                 school: School | None = None, errors: dict | None = None, general: list | None = None,
                 status: int = 200):
    errors = errors or {}
    history: dict[str, list[dict]] = {}
    rows = history_rows(session, "school", school.code, "schools", limit=200) if school is not None else []
    for h in rows:
        history.setdefault(h["field"], []).append(h)
    fields = [FormField(spec=f, value=values.get(f.key, ""), error=errors.get(f.key), history=history.get(f.key, []))
              for f in store_admin.school_fields()]
    context = {"viewer": viewer, "county": county, "school": school, "fields": fields, "errors": errors,
               "general": general or [], "history": rows}
    data = {"county": county.code, "school_id": school.code if school else None, "values": values,
            "errors": errors, "general": general or []}
    return _answer(render(request, "admin_school_form.html", context, data), status)


def _school_keys() -> list[str]:
    return [f.key for f in store_admin.school_fields()]


@router.get("/admin/counties/{code}/schools/new")
def new_school(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
               session: Session = REQUEST_SESSION):
    county = _county(session, viewer, code)
    return _school_form(request, session, viewer, county, {"ownership": "public"})


@router.post("/admin/counties/{code}/schools/new")
def create_school(code: str, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                  session: Session = REQUEST_SESSION):
    county = _county(session, viewer, code)
    values = _text(form, *_school_keys())
    try:
        school, _ = store_admin.save_school(session, viewer.access, county, values)
    except FormInvalid as exc:
        session.rollback()
        county = _county(session, viewer, code)
        return _school_form(request, session, viewer, county, values, errors=exc.errors, general=exc.general,
                            status=exc.status)
    return saved_redirect(session, with_message(f"/admin/counties/{county.code}", "saved") + f"#school-{school.code}")


@router.get("/admin/schools/{code}")
def edit_school(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
                session: Session = REQUEST_SESSION):
    school = _school(session, viewer, code)
    values = {k: shown(None, v) for k, v in store_admin.school_values(school).items()}
    return _school_form(request, session, viewer, school.county, values, school)


@router.post("/admin/schools/{code}")
def save_school(code: str, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                session: Session = REQUEST_SESSION):
    school = _school(session, viewer, code)
    values = _text(form, *_school_keys())
    values["school_id"] = school.code
    try:
        _, changed = store_admin.save_school(session, viewer.access, school.county, values, school)
    except FormInvalid as exc:
        session.rollback()
        school = _school(session, viewer, code)
        return _school_form(request, session, viewer, school.county, values, school, errors=exc.errors,
                            general=exc.general, status=exc.status)
    return saved_redirect(session, with_message(f"/admin/schools/{school.code}", "saved" if changed else "nochange"))


# ---------------------------------------------------------------- users

def _user_data(user: User, manageable: bool) -> dict:
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "active": user.active,
            "must_change_password": user.must_change_password, "manageable": manageable,
            "grants": [{"id": g.id, "role": g.role, "role_label": ROLE_LABELS.get(g.role, g.role),
                        "scope": (g.school.code if g.school else (g.org_node.code if g.org_node else None)),
                        "scope_name": store_admin.describe_scope(g.org_node, g.school)} for g in user.grants]}


@router.get("/admin/users")
def users_page(request: Request, county: str = "", viewer: Viewer = Depends(current_viewer),
               session: Session = REQUEST_SESSION):
    _require_manager(viewer)
    node = _county(session, viewer, county) if county else None
    users = store_admin.users_in_scope(session, viewer.access, node)
    rows = [_user_data(u, store_admin.can_manage_user(viewer.access, u)) for u in users]
    context = {"viewer": viewer, "rows": rows, "county": node, "is_admin": viewer.access.admin}
    return render(request, "admin_users.html", context, {"users": rows})


def _scope_options(session: Session, viewer: Viewer, county: OrgNode | None) -> list[tuple[str, str]]:
    """Suggestions for the scope field: the nodes and schools the manager may scope to."""
    access = viewer.access
    if access.admin:
        nodes = store_admin.org_nodes(session)
        query = select(School).where(School.deleted_at.is_(None)).order_by(School.code)
        if county is not None:
            query = query.where(School.county_id == county.id)
        schools = session.scalars(query.limit(2000)).all()
    else:
        nodes = [n for n in store_admin.org_nodes(session) if n.id in access.manage_counties]
        schools = session.scalars(select(School).where(School.county_id.in_(access.manage_counties),
                                                       School.deleted_at.is_(None)).order_by(School.code)).all()
    return [(n.code, f"{KIND_LABELS.get(n.kind, n.kind)} {n.name}") for n in nodes] + \
        [(s.code, f"学校 {s.name}") for s in schools]


USER_KEYS = ("username", "display_name", "role", "scope", "password_mode", "password", "password_repeat")


def _user_form(request: Request, session: Session, viewer: Viewer, values: dict[str, str], county: OrgNode | None,
               errors: dict | None = None, general: list | None = None, status: int = 200):
    roles = store_admin.grantable_roles(viewer.access)
    shown_values = {k: v for k, v in values.items() if not k.startswith("password") or k == "password_mode"}
    context = {"viewer": viewer, "values": shown_values, "errors": errors or {}, "general": general or [],
               "roles": roles, "scope_hints": SCOPE_HINTS, "county": county,
               "scope_options": _scope_options(session, viewer, county)}
    data = {"values": shown_values, "errors": errors or {}, "general": general or [], "roles": list(roles)}
    return _answer(render(request, "admin_user_form.html", context, data), status)


@router.get("/admin/users/new")
def new_user(request: Request, county: str = "", role: str = "", scope: str = "",
             viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    _require_manager(viewer)
    node = _county(session, viewer, county) if county else None
    values = {"role": role if role in ROLES else "", "scope": scope or (node.code if node else ""),
              "password_mode": "generate"}
    return _user_form(request, session, viewer, values, node)


@router.post("/admin/users/new")
def create_user_page(request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                     session: Session = REQUEST_SESSION):
    _require_manager(viewer)
    values = _text(form, *USER_KEYS, "county")
    node = _county(session, viewer, values["county"]) if values["county"] else None
    typed = values["password_mode"] == "typed"
    if typed and not values["password"]:
        return _user_form(request, session, viewer, values, node, errors={"password": "请输入密码,或选择“自动生成密码”"},
                          status=400)
    try:
        user, generated = store_admin.create_account(
            session, viewer.access, username=values["username"], display_name=values["display_name"],
            role=values["role"], scope_code=values["scope"], password=values["password"] if typed else "",
            password_repeat=values["password_repeat"] if typed else None)
    except FormInvalid as exc:
        session.rollback()
        return _user_form(request, session, viewer, values, node, errors=exc.errors, general=exc.general,
                          status=exc.status)
    session.commit()  # saved before the password is shown
    return _password_page(request, viewer, user, generated, created=True)


def _password_page(request: Request, viewer: Viewer, user: User, generated: str | None, *, created: bool):
    context = {"viewer": viewer, "user": user, "password": generated, "created": created}
    data = {"id": user.id, "username": user.username, "created": created, "password": generated}
    return _no_store(render(request, "admin_password.html", context, data))


def _user_page(request: Request, session: Session, viewer: Viewer, user: User, errors: dict | None = None,
               general: list | None = None, status: int = 200):
    manageable = store_admin.can_manage_user(viewer.access, user)
    entries = session.scalars(select(AuditEntry).options(selectinload(AuditEntry.user))
                              .where(AuditEntry.entity == "user", AuditEntry.entity_key == user.username)
                              .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(100)).all()
    context = {"viewer": viewer, "target": user, "manageable": manageable, "errors": errors or {},
               "general": general or [], "roles": store_admin.grantable_roles(viewer.access),
               "scope_hints": SCOPE_HINTS, "scope_options": _scope_options(session, viewer, None) if manageable else [],
               "history": [entry_row(e, None) for e in entries], "is_self": user.id == viewer.user.id}
    data = _user_data(user, manageable) | {"errors": errors or {}, "general": general or []}
    return _answer(render(request, "admin_user.html", context, data), status)


@router.get("/admin/users/{user_id}")
def user_page(user_id: RowId, request: Request, viewer: Viewer = Depends(current_viewer),
              session: Session = REQUEST_SESSION):
    _require_manager(viewer)
    return _user_page(request, session, viewer, _user(session, viewer, user_id))


def _user_action(request: Request, session: Session, viewer: Viewer, user_id: int, action):
    """Run one change of a user; refused or invalid: nothing saved, the page again with why."""
    _require_manager(viewer)
    user = _user(session, viewer, user_id)
    try:
        result = action(user)
    except FormInvalid as exc:
        session.rollback()
        return None, _user_page(request, session, viewer, _user(session, viewer, user_id), errors=exc.errors,
                                general=exc.general, status=exc.status)
    return (user, result), None


@router.post("/admin/users/{user_id}/active")
def user_active(user_id: RowId, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                session: Session = REQUEST_SESSION):
    wanted = str(form.get("action", ""))
    if wanted not in ("enable", "disable"):
        raise HTTPException(status_code=400, detail="未知的操作。")
    done, page = _user_action(request, session, viewer, user_id,
                              lambda u: store_admin.set_active(session, viewer.access, u, wanted == "enable"))
    return page or saved_redirect(session, with_message(f"/admin/users/{user_id}", "saved" if done[1] else "nochange"))


@router.post("/admin/users/{user_id}/password")
def user_password(user_id: RowId, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                  session: Session = REQUEST_SESSION):
    values = _text(form, "password_mode", "password", "password_repeat")
    typed = values["password_mode"] == "typed"
    if typed and not values["password"]:
        _require_manager(viewer)
        return _user_page(request, session, viewer, _user(session, viewer, user_id),
                          errors={"password": "请输入新密码,或选择“自动生成密码”"}, status=400)
    done, page = _user_action(request, session, viewer, user_id, lambda u: store_admin.reset_password(
        session, viewer.access, u, values["password"] if typed else "", values["password_repeat"] if typed else None))
    if page is not None:
        return page
    session.commit()
    return _password_page(request, viewer, done[0], done[1], created=False)


@router.post("/admin/users/{user_id}/grants")
def user_grant(user_id: RowId, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
               session: Session = REQUEST_SESSION):
    values = _text(form, "role", "scope")
    done, page = _user_action(request, session, viewer, user_id,
                              lambda u: store_admin.add_grant(session, viewer.access, u, values["role"],
                                                              values["scope"]))
    return page or saved_redirect(session, with_message(f"/admin/users/{user_id}", "saved"))


@router.post("/admin/users/{user_id}/grants/{grant_id}/delete")
def user_revoke(user_id: RowId, grant_id: RowId, request: Request, viewer: Viewer = Depends(check_csrf),
                session: Session = REQUEST_SESSION):
    done, page = _user_action(request, session, viewer, user_id,
                              lambda u: store_admin.remove_grant(session, viewer.access, u, grant_id))
    return page or saved_redirect(session, with_message(f"/admin/users/{user_id}", "saved"))


# ---------------------------------------------------------------- the log of administrative changes

@router.get("/admin/audit")
def admin_audit(request: Request, entity: str = "", page: Page = 1, viewer: Viewer = Depends(current_viewer),
                session: Session = REQUEST_SESSION):
    """System admin: every change of the tree, schools and users (or, with 全部, every change);
    county admin: those of its counties."""
    _require_manager(viewer)
    query = select(AuditEntry)
    if entity != "all":
        query = query.where(AuditEntry.entity.in_([entity] if entity in ADMIN_ENTITIES else ADMIN_ENTITIES))
    if not viewer.access.admin:
        query = query.where(AuditEntry.county_id.in_(viewer.access.manage_counties))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page = max(1, page)
    entries = session.scalars(query.options(selectinload(AuditEntry.user))
                              .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    rows = []
    for e in entries:
        row = entry_row(e, None)
        row["entity"] = ENTITY_LABELS.get(e.entity, e.entity)
        rows.append(row)
    context = {"viewer": viewer, "rows": rows, "total": total, "page": page,
               "pages": max(1, -(-total // PAGE_SIZE)), "entity": entity,
               "entities": {k: ENTITY_LABELS[k] for k in ADMIN_ENTITIES}}
    return render(request, "admin_audit.html", context, {"total": total, "page": page, "entries": rows})

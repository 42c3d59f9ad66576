"""Administration: the organisation tree (province, city, county), schools' master data and user
accounts, as the web's 管理 pages change them. Every change is audit entries (via="form"): who,
when, old and new; passwords never reach the log ("密码已重置" is recorded instead).

Values the interchange format knows (a county's attributes, a school's `schools` row) are checked
with the import's rules (`validate_rows`); codes follow the 6-digit administrative codes that
`repo.link_tree` derives cities and provinces from. Access is decided here as well as in the
routes: every writing function refuses (`NotAllowed`) before it changes anything.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from junheng.data.catalog import FieldSpec, catalog
from junheng.data.importer import validate_rows
from junheng.data.problems import DatasetInvalid, Problem
from junheng.errors import JunhengError
from junheng.store import repo
from junheng.store.models import (
    ROLES,
    AuditEntry,
    OrgNode,
    RoleGrant,
    School,
    SchoolYear,
    User,
    WebSession,
)
from junheng.store.users import (
    ROLE_LABELS,
    Access,
    check_password_strength,
    clear_login_failures,
    create_user,
    grant,
    new_password,
    set_password,
)

VIA = "form"
KIND_LABELS = {"province": "省", "city": "市", "county": "县区"}
PARENT_KINDS = {"province": (), "city": ("province",), "county": ("city", "province")}
CODE_RULES = {  # kind → (test of a 6-digit code, what it should look like)
    "province": (lambda c: c[2:] == "0000", "省级代码后四位为 0000,如 990000"),
    "city": (lambda c: c[2:4] != "00" and c[4:] == "00", "市级代码第 3–4 位不为 00、后两位为 00,如 990100"),
    "county": (lambda c: c[2:4] != "00" and c[4:] != "00", "县级代码第 3–4 位和后两位都不为 00,如 990102"),
}
NAME_LIMIT = 100
SCHOOL_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$")
USERNAME = re.compile(r"^[\w.@-]{2,64}$")  # \w: letters of any script, digits, underscore
SCHOOL_FORM_SKIP = ("county_code", "county_name")  # given by the county the school is in
# roles a county admin may hand out, within its county (viewer) or its schools (school filler)
COUNTY_ADMIN_GRANTS = ("school_filler", "viewer")


class FormInvalid(JunhengError):
    """A form that cannot be saved: messages per field (form key) and general ones."""

    status = 400

    def __init__(self, errors: dict[str, str] | None = None, general: list[str] | None = None):
        self.errors = dict(errors or {})
        self.general = list(general or [])
        super().__init__(self.user_message())

    def user_message(self) -> str:
        return "没有保存:" + ";".join(self.general + list(self.errors.values()))


class NotAllowed(FormInvalid):
    """The acting user may not make this change (HTTP 403); nothing was changed."""

    status = 403


def _problem_text(problem: Problem) -> str:
    text = f"取值“{problem.value}”" if problem.value else ""
    text += problem.message
    return text + (f",应为{problem.expected}" if problem.expected else "")


def operator_access() -> Access:
    """The server's operator at the command line: every right of a system admin, no account
    (its audit entries name no user; the command passes via="cli")."""
    return Access(user=None, admin=True)  # type: ignore[arg-type]


def _acting_id(access: Access) -> int | None:
    return access.user_id


def _audit(session: Session, access: Access, entity: str, key: str, county_id: int | None, field: str,
           old: Any, new: Any, note: str | None = None, *, via: str = VIA) -> None:
    session.add(AuditEntry(user_id=_acting_id(access), via=via, entity=entity, entity_key=key, county_id=county_id,
                           field=field, old=old, new=new, note=note))


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return repo._same(a, b)


# ================================================================ the organisation tree

def is_admin_code(code: str) -> bool:
    return len(code) == 6 and code.isdigit()


def org_nodes(session: Session) -> list[OrgNode]:
    return list(session.scalars(select(OrgNode).where(OrgNode.deleted_at.is_(None)).order_by(OrgNode.code)))


def org_tree(session: Session) -> list[tuple[OrgNode, int]]:
    """Every live node with its depth, parents before their children (codes in order);
    nodes whose parent is missing start a tree of their own."""
    nodes = org_nodes(session)
    ids = {n.id for n in nodes}
    children: dict[int | None, list[OrgNode]] = {}
    for n in nodes:
        children.setdefault(n.parent_id if n.parent_id in ids else None, []).append(n)
    out: list[tuple[OrgNode, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for n in sorted(children.get(parent, []), key=lambda n: (list(KIND_LABELS).index(n.kind), n.code)):
            out.append((n, depth))
            walk(n.id, depth + 1)

    walk(None, 0)
    return out


def parent_choices(session: Session, kind: str) -> list[OrgNode]:
    return [n for n in org_nodes(session) if n.kind in PARENT_KINDS.get(kind, ())]


def _code_problem(session: Session, kind: str, code: str) -> str | None:
    if not code:
        return "请填写 6 位行政区划代码"
    if not is_admin_code(code):
        return f"“{code}”不是 6 位数字的行政区划代码;{CODE_RULES[kind][1]}"
    if not CODE_RULES[kind][0](code):
        return f"“{code}”不是{KIND_LABELS[kind]}级代码:{CODE_RULES[kind][1]}"
    other = session.scalar(select(OrgNode).where(OrgNode.code == code))
    if other is not None:
        return f"代码 {code} 已被{KIND_LABELS.get(other.kind, other.kind)}“{other.name}”使用"
    return None


def _parent_problem(kind: str, code: str, parent: OrgNode) -> str | None:
    if parent.kind not in PARENT_KINDS[kind]:
        wanted = "或".join(KIND_LABELS[k] for k in PARENT_KINDS[kind]) or "无"
        return f"“{parent.name}”是{KIND_LABELS.get(parent.kind, parent.kind)},{KIND_LABELS[kind]}的上级应为{wanted}"
    if is_admin_code(code) and is_admin_code(parent.code):
        digits = 2 if parent.kind == "province" else 4
        if code[:digits] != parent.code[:digits]:
            return (f"代码 {code} 的前 {digits} 位应与所属{KIND_LABELS[parent.kind]}“{parent.name}”的代码 "
                    f"{parent.code} 的前 {digits} 位相同")
    return None


def save_org_node(session: Session, access: Access, kind: str, form: dict[str, str],
                  node: OrgNode | None = None) -> tuple[OrgNode, int]:
    """Create (node None) or change a province, city or county from a form's text; returns the
    node and the number of audited changes. Raises FormInvalid (nothing written) or NotAllowed."""
    if not access.admin:
        raise NotAllowed(general=["只有系统管理员可以新建或修改省、市、县区"])
    if kind not in KIND_LABELS or (node is not None and node.kind != kind):
        raise FormInvalid(general=[f"类别“{kind}”无效,应为省(province)、市(city)或县区(county)"])
    if node is not None and node.deleted:
        raise FormInvalid(general=[f"{node.name}已删除,不能修改"])
    text = {k: str(v or "").strip() for k, v in form.items()}
    errors: dict[str, str] = {}
    code = node.code if node is not None else text.get("code", "")
    if node is None and (problem := _code_problem(session, kind, code)):
        errors["code"] = problem
    name = text.get("name", "")
    if not name:
        errors["name"] = "请填写名称"
    elif len(name) > NAME_LIMIT:
        errors["name"] = f"名称过长({len(name)} 个字),应不超过 {NAME_LIMIT} 个字"
    parent = None
    parent_code = text.get("parent", "")
    if parent_code:
        parent = session.scalar(select(OrgNode).where(OrgNode.code == parent_code, OrgNode.deleted_at.is_(None)))
        if parent is None:
            errors["parent"] = f"没有代码为 {parent_code} 的省或市"
        elif "code" not in errors and (problem := _parent_problem(kind, code, parent)):
            errors["parent"] = problem
    elif kind != "province" and (node is None or node.parent_id is not None):
        errors["parent"] = "请选择所属" + "或".join(KIND_LABELS[k] for k in PARENT_KINDS[kind]) + \
            ("(还没有的话,请先新建)" if node is None else "")
    attributes: dict[str, Any] = {}
    if kind == "county":
        row = {"county_code": code or "000000", "county_name": name,
               **{k: text.get(k, "") for k in repo.COUNTY_ATTRIBUTES}}
        try:
            dataset = validate_rows({"counties": [row]})
        except DatasetInvalid as exc:
            for p in exc.problems:
                key = "name" if p.column == "county_name" else p.column
                if key in repo.COUNTY_ATTRIBUTES or key == "name":
                    errors.setdefault(key, _problem_text(p))
        else:
            frame = dataset.counties
            attributes = {k: repo.plain(frame[k].iloc[0]) if k in frame.columns else None
                          for k in repo.COUNTY_ATTRIBUTES}
    if errors:
        raise FormInvalid(errors)

    created = node is None
    old_parent = None if created or node.parent_id is None else session.get(OrgNode, node.parent_id)
    if created:
        node = OrgNode(kind=kind, code=code, name=name, parent_id=parent.id if parent else None)
        session.add(node)
        session.flush()
    county_id = node.id if kind == "county" else None
    note = f"新建{KIND_LABELS[kind]}" if created else None
    changes = 0

    def record(field: str, old: Any, new: Any) -> None:
        nonlocal changes
        if created and new is None or _same(old, new):
            return
        _audit(session, access, kind, code, county_id, field, old, new, note)
        changes += 1

    record("county_name" if kind == "county" else "name", None if created else node.name, name)
    node.name = name
    if parent is not None or old_parent is not None:
        # the field is the parent's kind: 所属市 / 所属省, named as people know them
        record((parent or old_parent).kind, old_parent.name if old_parent else None, parent.name if parent else None)
        node.parent_id = parent.id if parent else None
    for key, value in attributes.items():
        record(key, None if created else getattr(node, key), value)
        setattr(node, key, value)
    session.flush()
    return node, changes


def refused_changes(session: Session, access: Access, changes: Iterable[repo.Change]) -> list[repo.Change]:
    """The changes `access` could not make through the forms, in order. An upload (or any other
    bulk path) may change only what its user may change by form: a county's own attributes
    (name, 适用标准, the certification years, 常住人口) only the system admin (`save_org_node`);
    schools, county-years and quality rows the county's admins (and system admins); school-years
    those and the school's fillers."""
    if access.admin:
        return []
    changes = list(changes)
    counties: dict[str, bool] = {}
    schools: dict[str, School | None] = {}
    codes = {c.key.rsplit("/", 1)[0] for c in changes if c.entity == "school_year"}
    if codes:
        schools = {s.code: s for s in session.scalars(select(School).where(School.code.in_(codes)))}
    out = []
    for change in changes:
        if change.entity == "county":
            allowed = False
        else:
            if change.county_code not in counties:
                node = session.scalar(select(OrgNode).where(OrgNode.code == change.county_code))
                counties[change.county_code] = node is not None and access.can_manage_county(node)
            allowed = counties[change.county_code]
            if not allowed and change.entity == "school_year":
                school = schools.get(change.key.rsplit("/", 1)[0])
                allowed = school is not None and access.can_edit_school(school)
        if not allowed:
            out.append(change)
    return out


def _value_text(value: Any) -> str:
    return "空" if value is None or value == "" else str(value)


def refused_lines(changes: Iterable[repo.Change]) -> list[str]:
    """One line per refused change: what, its label, old → new (for an upload's preview)."""
    kinds = {"county": "县区", "school": "学校", "school_year": "学校年度", "county_year": "县级年度",
             "quality": "质量监测"}
    return [f"{kinds.get(c.entity, c.entity)} {c.key} “{c.label}”:{_value_text(c.old)} → {_value_text(c.new)}"
            for c in changes]


def refusal_message(changes: list[repo.Change]) -> str:
    """Why `refused_changes` cannot be applied, naming the fields (Chinese)."""
    county_fields = list(dict.fromkeys(c.label for c in changes if c.entity == "county"))
    other = [c for c in changes if c.entity != "county"]
    parts = []
    if county_fields:
        parts.append("县区名录中的" + "、".join(f"“{f}”" for f in county_fields) + "只有系统管理员可以修改"
                     "(在“管理”页该县区的“修改”中),不能通过上传修改;请把文件中这些单元格改回原值或清空"
                     "(空白单元格不会清除已存的值)后重新上传,或请系统管理员修改")
    if other:
        parts.append(f"另有 {len(other)} 项取值超出您的填报范围")
    return ";".join(parts)


# ================================================================ schools

def school_fields() -> list[FieldSpec]:
    """The `schools` fields a school's master-data form shows (the county is the page's)."""
    return [f for f in catalog().table("schools").fields if f.key not in SCHOOL_FORM_SKIP]


def school_values(school: School) -> dict[str, Any]:
    return {"school_id": school.code, "school_name": school.name, "school_type": school.school_type, **school.values}


def save_school(session: Session, access: Access, county: OrgNode, form: dict[str, str],
                school: School | None = None) -> tuple[School, int]:
    """Create (school None) or change a school's master data in a county, validated like an
    import of its `schools` row; returns the school and the number of audited changes."""
    if not access.can_manage_county(county):
        raise NotAllowed(general=[f"只有系统管理员或{county.name}的县级管理员可以新建或修改该县区的学校"])
    if county.kind != "county" or county.deleted:
        raise FormInvalid(general=[f"{county.name}不是(或已不再是)可用的县区,不能在其中新建或修改学校"])
    if school is not None and school.county_id != county.id:
        raise FormInvalid(general=[f"学校 {school.code} 不属于{county.name}"])
    if school is not None and school.deleted:
        raise FormInvalid(general=["该学校已删除,不能修改;请先在“已删除的数据”中恢复"])
    text = {k: str(v or "").strip() for k, v in form.items()}
    errors: dict[str, str] = {}
    general: list[str] = []
    code = school.code if school is not None else text.get("school_id", "")
    if school is None and code:
        existing = session.scalar(select(School).where(School.code == code))
        if not SCHOOL_CODE.match(code):
            errors["school_id"] = (f"“{code}”不能作为学校标识码:只能由字母、数字和 - _ . 组成(不含空格、汉字和斜杠),"
                                   "最长 64 位,如全国学校标识码 3799010201")
        elif existing is not None:
            errors["school_id"] = (f"学校标识码 {code} 已被{existing.county.name}的“{existing.name}”使用"
                                   + ("(该学校已删除,可在“已删除的数据”中恢复)" if existing.deleted else ""))
    keys = [f.key for f in school_fields() if f.key != "school_id"]
    posted = {k: text.get(k, "") for k in keys}
    rows = [{"school_id": code, "county_code": county.code, "county_name": county.name, **posted}]
    parent_code = posted.get("parent_school_id", "")
    if parent_code:
        parent = session.scalar(select(School).where(School.code == parent_code, School.county_id == county.id,
                                                     School.deleted_at.is_(None)))
        if parent_code == code:
            errors["parent_school_id"] = "不能把学校自己填为所属中心校"
        elif parent is None:
            errors["parent_school_id"] = (f"取值“{parent_code}”在{county.name}的学校中不存在,"
                                          "应为本县区已有学校的学校标识码")
        else:
            rows.append({"school_id": parent.code, "school_name": parent.name, "county_code": county.code,
                         "school_type": parent.school_type})
    tables: dict[str, list[dict]] = {"schools": rows}
    years: list[SchoolYear] = []
    if school is not None and posted.get("school_type") not in ("", school.school_type):
        # a new type must fit the school's stored years (no pupils in a segment it lacks)
        years = list(session.scalars(select(SchoolYear).where(SchoolYear.school_id == school.id,
                                                              SchoolYear.deleted_at.is_(None))
                                     .order_by(SchoolYear.year)))
        tables["school_year"] = [{"school_id": code, "year": y.year, **y.values} for y in years]
    typed: dict[str, Any] = {}
    try:
        dataset = validate_rows(tables)
    except DatasetInvalid as exc:
        for p in exc.problems:
            if p.table == "schools" and p.row == 2 and p.column in keys + ["school_id"]:
                errors.setdefault(p.column, _problem_text(p))
            elif p.table == "school_year" and p.row is not None and 0 <= p.row - 2 < len(years):
                general.append(f"与已有的 {years[p.row - 2].year} 学年数据不符:“{p.column_label}”{_problem_text(p)}")
            elif not (p.table == "schools" and p.row == 2):
                general.append(str(p))
    else:
        frame = dataset.schools
        typed = {k: repo.plain(frame[k].iloc[0]) if k in frame.columns else None for k in keys}
    if errors or general:
        raise FormInvalid(errors, general)

    created = school is None
    before = {} if created else school_values(school)
    changes = [repo.Change("school", code, county.code, k, before.get(k), v) for k, v in typed.items()
               if not (created and v is None) and not _same(before.get(k), v)]
    if created:  # name and type first: the row is created from them
        changes.sort(key=lambda c: c.field not in ("school_name", "school_type"))
    repo.apply(session, changes, user=access.user, via=VIA, note="新建学校" if created else None)
    return repo.school_by_code(session, code), len(changes)


# ================================================================ users and role grants

def describe_scope(node: OrgNode | None, school: School | None) -> str:
    if school is not None:
        return f"{school.name}({school.code})"
    if node is not None:
        return f"{node.name}({node.code})"
    return "全部"


def describe_grant(g: RoleGrant) -> str:
    """What the audit log records for a grant: role and scope, as people read them."""
    label = ROLE_LABELS.get(g.role, g.role)
    return label if g.role == "admin" else f"{label} · {describe_scope(g.org_node, g.school)}"


def _grant_county(node: OrgNode | None, school: School | None) -> int | None:
    if school is not None:
        return school.county_id
    if node is not None and node.kind == "county":
        return node.id
    return None


def user_county_id(user: User) -> int | None:
    """The county a user's audit entries belong to: the one county all its grants lie in."""
    counties = {_grant_county(g.org_node, g.school) for g in user.grants}
    return counties.pop() if len(counties) == 1 else None


def may_grant(access: Access, role: str, node: OrgNode | None, school: School | None) -> bool:
    """System admins grant any role anywhere; a county admin only school fillers of its schools
    and viewers of its county."""
    if access.admin:
        return True
    if role == "school_filler":
        return school is not None and school.county_id in access.manage_counties
    if role == "viewer":
        return node is not None and node.id in access.manage_counties
    return False


def can_manage_user(access: Access, user: User) -> bool:
    """A county admin manages a user only when every grant of that user is one it could give."""
    if access.admin:
        return True
    return bool(access.manage_counties) and bool(user.grants) and all(
        may_grant(access, g.role, g.org_node, g.school) for g in user.grants)


def grantable_roles(access: Access) -> tuple[str, ...]:
    return ROLES if access.admin else (COUNTY_ADMIN_GRANTS if access.manage_counties else ())


def users_in_scope(session: Session, access: Access, county: OrgNode | None = None) -> list[User]:
    """Users a manager sees: all (system admin), or those with a grant in its counties; with
    `county`, those with a grant in that county or one of its schools."""
    users = list(session.scalars(select(User).options(selectinload(User.grants).selectinload(RoleGrant.school),
                                                      selectinload(User.grants).selectinload(RoleGrant.org_node))
                                 .order_by(User.username)))
    if county is None and access.admin:
        return users
    counties = {county.id} if county is not None else set(access.manage_counties)
    return [u for u in users if any(_grant_county(g.org_node, g.school) in counties for g in u.grants)]


def _scope(session: Session, role: str, scope_code: str) -> tuple[OrgNode | None, School | None]:
    """The node or school a grant of `role` is scoped to; raises FormInvalid({"scope": ...})."""
    if role == "admin":
        if scope_code:
            raise FormInvalid({"scope": "系统管理员不限定范围,范围请留空"})
        return None, None
    if not scope_code:
        wanted = "学校标识码" if role == "school_filler" else ("县区代码" if role == "county_admin"
                                                              else "县区、市或省的代码")
        raise FormInvalid({"scope": f"{ROLE_LABELS[role]}须指定范围:请填写{wanted}"})
    if role == "school_filler":
        school = session.scalar(select(School).where(School.code == scope_code, School.deleted_at.is_(None)))
        if school is None:
            raise FormInvalid({"scope": f"没有学校标识码为“{scope_code}”的学校;学校填报员的范围应为一所学校的学校标识码"})
        return None, school
    node = session.scalar(select(OrgNode).where(OrgNode.code == scope_code, OrgNode.deleted_at.is_(None)))
    if node is None:
        raise FormInvalid({"scope": f"没有代码为“{scope_code}”的县区、市或省"})
    if role == "county_admin" and node.kind != "county":
        raise FormInvalid({"scope": f"“{node.name}”是{KIND_LABELS.get(node.kind, node.kind)};县级管理员的范围应为一个县区"})
    return node, None


def _refuse_grant(access: Access, role: str) -> NotAllowed:
    if role not in grantable_roles(access):
        return NotAllowed({"role": f"您不能授予“{ROLE_LABELS.get(role, role)}”角色;县级管理员只能添加"
                                   "本县区的学校填报员和只读用户"})
    return NotAllowed({"scope": "超出您的管理范围:县级管理员只能把学校填报员限定在本县区的学校、"
                                "把只读用户限定在本县区"})


def _check_password(password: str, repeat: str | None, errors: dict[str, str], username: str) -> None:
    try:
        check_password_strength(password, username)
    except JunhengError as exc:
        errors["password"] = exc.user_message()
        return
    if repeat is not None and repeat != password:
        errors["password_repeat"] = "两次输入的密码不一致"


def create_account(session: Session, access: Access, *, username: str, display_name: str = "", role: str,
                   scope_code: str = "", password: str = "", password_repeat: str | None = None,
                   via: str = VIA) -> tuple[User, str | None]:
    """A new user with one role grant; returns the user and the generated password (None when
    the manager typed one). The password is shown once and never stored or logged in clear. The
    one path for every face (管理 pages, `junheng users add` via="cli")."""
    if not grantable_roles(access):
        raise NotAllowed(general=["只有系统管理员和县级管理员可以添加用户"])
    username, display_name, scope_code = username.strip(), display_name.strip(), scope_code.strip()
    errors: dict[str, str] = {}
    if not USERNAME.match(username):
        errors["username"] = ("用户名应为 2–64 个字符,可用汉字、字母、数字和 . _ - @,不能有空格"
                              if username else "请填写用户名")
    elif session.scalar(select(User).where(User.username == username)) is not None:
        errors["username"] = f"用户名 {username} 已存在,请换一个"
    if len(display_name) > NAME_LIMIT:
        errors["display_name"] = f"显示名称过长,应不超过 {NAME_LIMIT} 个字"
    node = school = None
    if role not in ROLES:
        errors["role"] = "请选择角色:" + "、".join(ROLE_LABELS[r] for r in grantable_roles(access))
    else:
        try:
            node, school = _scope(session, role, scope_code)
        except FormInvalid as exc:
            errors |= exc.errors
    if password:
        _check_password(password, password_repeat, errors, username)
    if errors:
        raise FormInvalid(errors)
    if not may_grant(access, role, node, school) or role not in grantable_roles(access):
        raise _refuse_grant(access, role)
    generated = None if password else new_password(username)
    # chosen by the manager (generated or typed): the user chooses their own at the first login
    user = create_user(session, username, password or generated, display_name=display_name or None, role=role,
                       scope_code=scope_code or None, must_change_password=True)
    session.expire(user, ["grants"])
    county_id = user_county_id(user)
    note = "新建用户"
    _audit(session, access, "user", username, county_id, "username", None, username, note, via=via)
    _audit(session, access, "user", username, county_id, "display_name", None, user.display_name, note, via=via)
    _audit(session, access, "user", username, _grant_county(node, school), "role_grant", None,
           describe_grant(user.grants[0]), "授予角色", via=via)
    _audit(session, access, "user", username, county_id, "password", None, None,
           "设置初始密码(自动生成)" if generated else "设置初始密码(管理员输入)", via=via)
    session.flush()
    return user, generated


def _managed(access: Access, user: User) -> None:
    if not can_manage_user(access, user):
        raise NotAllowed(general=[f"您不能管理用户 {user.username}:县级管理员只能管理仅在本县区担任学校填报员或只读用户的账号"])


def _end_sessions(session: Session, user: User) -> None:
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))


def set_active(session: Session, access: Access, user: User, active: bool, *, via: str = VIA) -> bool:
    """Disable (every login ends at once) or enable an account; False when nothing changed.
    The one path for every face (管理 pages via="form", `junheng users disable` via="cli")."""
    _managed(access, user)
    if not active and user.id == _acting_id(access):
        raise FormInvalid(general=["不能停用自己的账号"])
    if user.active == active:
        return False
    _audit(session, access, "user", user.username, user_county_id(user), "active", user.active, active,
           "启用账号" if active else "停用账号", via=via)
    user.active = active
    if not active:
        _end_sessions(session, user)
    session.flush()
    return True


def reset_password(session: Session, access: Access, user: User, password: str = "",
                   password_repeat: str | None = None, *, via: str = VIA) -> str | None:
    """A new password (typed, or generated and returned to be shown once); the user's logins end.
    The one path for every face (管理 pages, `junheng users reset-password` via="cli")."""
    _managed(access, user)
    if user.id == _acting_id(access):
        raise FormInvalid(general=["请在“修改密码”页面修改自己的密码"])
    errors: dict[str, str] = {}
    if password:
        _check_password(password, password_repeat, errors, user.username)
    if errors:
        raise FormInvalid(errors)
    generated = None if password else new_password(user.username)
    # every login ends and every API token is revoked; the user chooses their own at the next login
    revoked = set_password(session, user, password or generated, must_change=True)
    clear_login_failures(session, user.username)  # a locked-out user can log in with the new password
    _audit(session, access, "user", user.username, user_county_id(user), "password", None, None,
           ("密码已重置(自动生成)" if generated else "密码已重置(管理员输入)")
           + (f";已撤销其 API 令牌 {revoked} 个" if revoked else ""), via=via)
    session.flush()
    return generated


def add_grant(session: Session, access: Access, user: User, role: str, scope_code: str = "") -> RoleGrant:
    _managed(access, user)
    scope_code = scope_code.strip()
    if role not in ROLES:
        raise FormInvalid({"role": "请选择角色:" + "、".join(ROLE_LABELS[r] for r in grantable_roles(access))})
    node, school = _scope(session, role, scope_code)
    if not may_grant(access, role, node, school):
        raise _refuse_grant(access, role)
    for g in user.grants:
        if g.role == role and g.org_node_id == (node.id if node else None) and \
                g.school_id == (school.id if school else None):
            raise FormInvalid({"role": f"{user.username} 已有该角色:{describe_grant(g)}"})
    row = grant(session, user, role, scope_code or None)
    session.expire(user, ["grants"])
    _audit(session, access, "user", user.username, _grant_county(node, school), "role_grant", None,
           describe_grant(row), "授予角色")
    session.flush()
    return row


def remove_grant(session: Session, access: Access, user: User, grant_id: int) -> None:
    _managed(access, user)
    row = next((g for g in user.grants if g.id == grant_id), None)
    if row is None:
        raise FormInvalid(general=[f"用户 {user.username} 没有编号为 {grant_id} 的角色"])
    if len(user.grants) == 1:
        raise FormInvalid(general=["每个用户至少保留一个角色;不再使用的账号请停用"])
    if row.role == "admin" and user.id == access.user_id:
        raise FormInvalid(general=["不能撤销自己的系统管理员角色"])
    _audit(session, access, "user", user.username, _grant_county(row.org_node, row.school), "role_grant",
           describe_grant(row), None, "撤销角色")
    session.delete(row)
    session.flush()
    session.expire(user, ["grants"])


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def county_school_counts(session: Session, counties: Iterable[int] | None = None) -> dict[int, int]:
    query = select(School.county_id, func.count()).where(School.deleted_at.is_(None)).group_by(School.county_id)
    if counties is not None:
        query = query.where(School.county_id.in_(list(counties)))
    return dict(session.execute(query).all())

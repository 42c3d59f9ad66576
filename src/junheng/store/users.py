"""Users, roles scoped to the organisation tree, sessions and API tokens.

Access is decided here, on the server, for every request: the web pages and the API ask
`Access` whether the current user may read or write a county or a school.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from junheng.errors import JunhengError
from junheng.store.models import (
    ROLES,
    ApiToken,
    OrgNode,
    RoleGrant,
    School,
    User,
    WebSession,
    utcnow,
)

ROLE_LABELS = {
    "admin": "系统管理员",
    "supervisor": "市/省督导",
    "county_admin": "县级管理员",
    "school_filler": "学校填报员",
    "viewer": "只读用户",
}
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()


class UserError(JunhengError):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_password() -> str:
    return secrets.token_urlsafe(9)


def create_user(session: Session, username: str, password: str, *, display_name: str | None = None,
                role: str, scope_code: str | None = None) -> User:
    if session.scalar(select(User).where(User.username == username)):
        raise UserError(f"用户名 {username} 已存在")
    check_password_strength(password)
    user = User(username=username, display_name=display_name or username, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    grant(session, user, role, scope_code)
    return user


def grant(session: Session, user: User, role: str, scope_code: str | None) -> RoleGrant:
    if role not in ROLES:
        raise UserError(f"角色 {role} 无效;可选:" + "、".join(f"{r}({ROLE_LABELS[r]})" for r in ROLES))
    node = school = None
    if role == "admin":
        if scope_code:
            raise UserError("系统管理员不限定范围,请不要指定 --scope")
    elif not scope_code:
        raise UserError(f"角色 {ROLE_LABELS[role]} 须指定范围(--scope):县区代码、市/省代码或学校标识码")
    elif role == "school_filler":
        school = session.scalar(select(School).where(School.code == scope_code))
        if school is None:
            raise UserError(f"学校填报员的范围应为学校标识码;没有学校 {scope_code}")
    else:
        node = session.scalar(select(OrgNode).where(OrgNode.code == scope_code))
        if node is None:
            raise UserError(f"没有代码为 {scope_code} 的县区、市或省")
        if role == "county_admin" and node.kind != "county":
            raise UserError("县级管理员的范围应为一个县区")
    row = RoleGrant(user_id=user.id, role=role, org_node_id=node.id if node else None,
                    school_id=school.id if school else None)
    session.add(row)
    session.flush()
    return row


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        _hasher.hash(password)  # same work either way: no user enumeration by timing
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def change_password(session: Session, user: User, old: str, new: str) -> None:
    if authenticate(session, user.username, old) is None:
        raise UserError("原密码不正确")
    check_password_strength(new)
    user.password_hash = hash_password(new)
    for s in session.scalars(select(WebSession).where(WebSession.user_id == user.id)):
        session.delete(s)  # other logins end with the old password


def start_session(session: Session, user: User) -> tuple[str, WebSession]:
    """A new login: returns the cookie value (only its digest is stored) and the session."""
    token = secrets.token_urlsafe(32)
    row = WebSession(id=_digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(24),
                     expires_at=utcnow() + SESSION_LIFETIME)
    session.add(row)
    return token, row


def session_for(session: Session, token: str | None) -> WebSession | None:
    if not token:
        return None
    # the user and their grants in the same round trips: every page needs them (Access.of)
    row = session.get(WebSession, _digest(token), options=[joinedload(WebSession.user).selectinload(User.grants)])
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=utcnow().tzinfo)
    if expires < utcnow() or not row.user.active:
        session.delete(row)
        return None
    return row


def end_session(session: Session, token: str | None) -> None:
    row = session.get(WebSession, _digest(token)) if token else None
    if row is not None:
        session.delete(row)


def create_token(session: Session, user: User, name: str) -> str:
    token = "jh_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=_digest(token)))
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
                         .options(joinedload(ApiToken.user).selectinload(User.grants)))
    if row is None or not row.user.active:
        return None
    return row.user


def list_tokens(session: Session) -> list[ApiToken]:
    """Every API token (revoked ones too: they stay as a record); only digests are stored."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def revoke_token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise UserError(f"没有编号为 {token_id} 的 API 令牌;用 junheng tokens list 查看")
    if row.revoked_at is not None:
        raise UserError(f"API 令牌 {token_id}({row.name})已于 {row.revoked_at:%Y-%m-%d %H:%M} 撤销")
    row.revoked_at = utcnow()
    return row


# ---------------------------------------------------------------- access


def _subtree_ids(session: Session, root_id: int) -> set[int]:
    nodes = session.execute(select(OrgNode.id, OrgNode.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for node_id, parent_id in nodes:
        children.setdefault(parent_id, []).append(node_id)
    out, stack = set(), [root_id]
    while stack:
        current = stack.pop()
        out.add(current)
        stack += children.get(current, [])
    return out


@dataclass
class Access:
    """What one user may do. Built once per request from the user's role grants."""

    user: User
    admin: bool = False
    read_nodes: set[int] = field(default_factory=set)  # org nodes (and everything below) readable
    manage_counties: set[int] = field(default_factory=set)  # counties whose data and users it manages
    fill_schools: set[int] = field(default_factory=set)  # schools it may edit

    @classmethod
    def of(cls, session: Session, user: User) -> "Access":
        access = cls(user=user)
        for g in user.grants:
            if g.role == "admin":
                access.admin = True
            elif g.role == "school_filler" and g.school_id is not None:
                access.fill_schools.add(g.school_id)
            elif g.org_node_id is not None:
                access.read_nodes |= _subtree_ids(session, g.org_node_id)
                if g.role == "county_admin":
                    access.manage_counties.add(g.org_node_id)
        return access

    @property
    def roles(self) -> list[str]:
        return [g.role for g in self.user.grants]

    def can_read_county(self, county: OrgNode) -> bool:
        return self.admin or county.id in self.read_nodes

    def can_manage_county(self, county: OrgNode) -> bool:
        return self.admin or county.id in self.manage_counties

    def can_read_school(self, school: School) -> bool:
        return self.admin or school.id in self.fill_schools or school.county_id in self.read_nodes

    def can_edit_school(self, school: School) -> bool:
        return self.admin or school.id in self.fill_schools or school.county_id in self.manage_counties

    def readable_counties(self, session: Session) -> list[OrgNode]:
        query = select(OrgNode).where(OrgNode.kind == "county", OrgNode.deleted_at.is_(None)).order_by(OrgNode.code)
        counties = session.scalars(query).all()
        return [c for c in counties if self.can_read_county(c)]

    def home(self, session: Session) -> str:
        """Where this user starts: their school form, their county, or the city overview."""
        if self.fill_schools and not self.read_nodes and not self.admin:
            school = session.get(School, sorted(self.fill_schools)[0])
            return f"/schools/{school.code}"
        counties = self.readable_counties(session)
        if len(counties) == 1 and not self.admin:
            return f"/counties/{counties[0].code}"
        return "/overview"

"""Users, roles scoped to the organisation tree, sessions and API tokens.

Access is decided here, on the server, for every request: the web pages and the API ask
`Access` whether the current user may read or write a county or a school.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from junheng.errors import JunhengError
from junheng.store.models import (
    ROLES,
    ApiToken,
    LoginThrottle,
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


# ---------------------------------------------------------------- login throttling
# After LOGIN_FAILURE_LIMIT wrong passwords within LOGIN_WINDOW, for one account (the username as
# typed, whether it exists or not: the answer never tells which) or from one client address,
# every login of that account or from that address is refused for LOGIN_LOCKOUT, the right
# password too; each lock is an audit entry (entity "login"). The counts live in the database
# (`login_throttle`), so several workers count the same failures.

LOGIN_FAILURE_LIMIT = 10
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_LOCKOUT = timedelta(minutes=15)
THROTTLE_LABELS = {"account": "账号", "address": "来源地址"}


def login_keys(username: str, address: str | None) -> list[tuple[str, str]]:
    """The throttle rows one login attempt counts against: its account and its client address."""
    return [("account", (username or "").strip().casefold()[:255]), ("address", (address or "unknown")[:255])]


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC


def login_locked_until(session: Session, keys: list[tuple[str, str]], now: datetime | None = None) -> datetime | None:
    """When the latest running lock of any of `keys` ends (None: logins are accepted)."""
    now = now or utcnow()
    ends = [_aware(row.locked_until) for row in session.scalars(select(LoginThrottle).where(
        or_(*(and_(LoginThrottle.scope == scope, LoginThrottle.key == key) for scope, key in keys))))
        if row.locked_until is not None]
    running = [end for end in ends if end > now]
    return max(running) if running else None


def _count_failure(session: Session, scope: str, key: str, now: datetime) -> LoginThrottle:
    """One more failure of (scope, key), counted by UPDATE … SET failures = failures + 1 so that
    two workers at once both count (the row is locked until commit)."""
    where = (LoginThrottle.scope == scope, LoginThrottle.key == key)
    # a new window when the old one is over and no lock is running
    session.execute(update(LoginThrottle).where(*where, LoginThrottle.window_start <= now - LOGIN_WINDOW,
                                                or_(LoginThrottle.locked_until.is_(None),
                                                    LoginThrottle.locked_until <= now))
                    .values(failures=0, window_start=now, locked_until=None)
                    .execution_options(synchronize_session=False))
    counted = session.execute(update(LoginThrottle).where(*where).values(failures=LoginThrottle.failures + 1)
                              .execution_options(synchronize_session=False))
    if counted.rowcount == 0:
        try:
            with session.begin_nested():
                session.add(LoginThrottle(scope=scope, key=key, failures=1, window_start=now))
        except IntegrityError:  # another worker inserted it first
            session.execute(update(LoginThrottle).where(*where).values(failures=LoginThrottle.failures + 1)
                            .execution_options(synchronize_session=False))
    return session.scalar(select(LoginThrottle).where(*where).execution_options(populate_existing=True))


def record_login_failure(session: Session, username: str, address: str | None,
                         now: datetime | None = None) -> datetime | None:
    """Count a failed login against its account and its address; when either reaches the limit,
    lock it (audited) and return when the lock ends (None: not locked)."""
    now = now or utcnow()
    until = None
    for scope, key in login_keys(username, address):
        row = _count_failure(session, scope, key, now)
        locked = _aware(row.locked_until)
        if row.failures >= LOGIN_FAILURE_LIMIT and (locked is None or locked <= now):
            row.locked_until = locked = now + LOGIN_LOCKOUT
            _audit_lockout(session, scope, key, username, address, row.failures, locked)
        if locked is not None and locked > now:
            until = max(until, locked) if until else locked
    session.flush()
    return until


def _audit_lockout(session: Session, scope: str, key: str, username: str, address: str | None, failures: int,
                   until: datetime) -> None:
    from junheng.store.admin import user_county_id
    from junheng.store.models import AuditEntry

    user = session.scalar(select(User).where(User.username == (username or "").strip())) \
        if scope == "account" else None
    minutes = int(LOGIN_WINDOW.total_seconds() // 60)
    session.add(AuditEntry(
        user_id=user.id if user else None, via="system", entity="login", entity_key=f"{scope}:{key}"[:128],
        county_id=user_county_id(user) if user else None, field="locked_until", old=None,
        new=until.isoformat(),
        note=(f"{THROTTLE_LABELS[scope]}“{key}”{minutes} 分钟内登录失败 {failures} 次,暂停登录 "
              f"{int(LOGIN_LOCKOUT.total_seconds() // 60)} 分钟(最后一次:用户名“{(username or '').strip()[:64]}”,"
              f"来源地址 {address or 'unknown'})")))


def clear_login_failures(session: Session, username: str) -> None:
    """A successful login (or a password reset) forgets the account's failures; an address's
    failures are not forgotten by one account's success."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.scope == "account",
                                                LoginThrottle.key == login_keys(username, None)[0][1]))


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
    """What one user may do. Built once per request from the user's role grants.

    Every right is the union over grants of what *one* grant gives — its role over its scope —
    never a role taken from one grant applied to the scope of another: a viewer of county A who
    supervises city B reads A but supervises (verifies A's tasks, …) only the counties of B."""

    user: User
    admin: bool = False
    read_nodes: set[int] = field(default_factory=set)  # org nodes (and everything below) readable
    manage_counties: set[int] = field(default_factory=set)  # counties whose data and users it manages
    fill_schools: set[int] = field(default_factory=set)  # schools it may edit
    supervise_nodes: set[int] = field(default_factory=set)  # nodes under a supervisor grant

    @classmethod
    def of(cls, session: Session, user: User) -> "Access":
        access = cls(user=user)
        for g in user.grants:
            if g.role == "admin":
                access.admin = True
            elif g.role == "school_filler" and g.school_id is not None:
                access.fill_schools.add(g.school_id)
            elif g.org_node_id is not None:
                below = _subtree_ids(session, g.org_node_id)
                access.read_nodes |= below
                if g.role == "county_admin":
                    access.manage_counties.add(g.org_node_id)
                elif g.role == "supervisor":
                    access.supervise_nodes |= below
        return access

    @property
    def roles(self) -> list[str]:
        return [g.role for g in self.user.grants]

    def can_read_county(self, county: OrgNode) -> bool:
        return self.admin or county.id in self.read_nodes

    def can_manage_county(self, county: OrgNode) -> bool:
        return self.admin or county.id in self.manage_counties

    def can_supervise_county(self, county: OrgNode) -> bool:
        """A supervisor grant on the county or a city/province above it (or a system admin)."""
        return self.admin or county.id in self.supervise_nodes

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

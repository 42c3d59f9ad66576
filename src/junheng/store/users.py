"""Users, roles scoped to the organisation tree, sessions and API tokens.

Access is decided here, on the server, for every request: the web pages and the API ask
`Access` whether the current user may read or write a county or a school.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, bindparam, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

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
_hasher = PasswordHasher()


class UserError(JunhengError):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# ---------------------------------------------------------------- password policy
# One rule for every password a person chooses (the password change page, the administrators'
# forms, `junheng init --password`, `junheng users add|reset-password --password`): at least
# MIN_PASSWORD_LENGTH characters, not only digits, not one character repeated, not the username
# nor containing it (case-insensitive; usernames of 3 characters or more), and not in the list of
# common passwords shipped with the package (store/common_passwords.txt). Generated passwords
# (new_password) pass the same rule.

MIN_PASSWORD_LENGTH = 10
PASSWORD_RULES = f"密码要求:至少 {MIN_PASSWORD_LENGTH} 位,不能全是数字,不能包含用户名,不能是常见密码"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The common-password list, read once (case-folded; # starts a comment line)."""
    text = resources.files("junheng.store").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why `password` is refused (in Chinese, with what is expected), or None if it is accepted."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"密码太短:至少 {MIN_PASSWORD_LENGTH} 位(现为 {len(password)} 位)。{PASSWORD_RULES}"
    if password.isdigit():
        return f"密码不能全是数字:请加入字母或符号。{PASSWORD_RULES}"
    if len(set(password)) == 1:
        return f"密码不能由同一个字符重复组成。{PASSWORD_RULES}"
    name = (username or "").strip().casefold()
    folded = password.casefold()
    if name and (folded == name or (len(name) >= 3 and name in folded)):
        return f"密码不能是用户名,也不能包含用户名“{username.strip()}”。{PASSWORD_RULES}"
    if folded in common_passwords():
        return f"这是一个常见密码,很容易被猜中:请换一个只有您知道的密码。{PASSWORD_RULES}"
    return None


def check_password_strength(password: str, username: str | None = None) -> None:
    """Raise UserError saying why `password` is refused for `username` (see password_problem)."""
    problem = password_problem(password, username)
    if problem:
        raise UserError(problem)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Generated passwords are read off a screen and typed: no look-alike characters (0 O o, 1 l I i)
# and no punctuation but the hyphens between groups, never at either end.
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"


def new_password(username: str | None = None) -> str:
    """A random password that passes the policy for `username`: three groups of four characters
    from PASSWORD_ALPHABET joined by hyphens (like "Kp7x-Rm4q-Z9hT", about 69 bits), with a
    letter and a digit."""
    while True:
        chars = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(12))
        password = "-".join(chars[i:i + 4] for i in range(0, 12, 4))
        if (any(c.isdigit() for c in chars) and any(c.isalpha() for c in chars)
                and password_problem(password, username) is None):
            return password


def create_user(session: Session, username: str, password: str, *, display_name: str | None = None,
                role: str, scope_code: str | None = None, must_change_password: bool = False) -> User:
    """A new user with one role grant. `must_change_password`: the password was chosen by someone
    else (generated, or typed by an administrator) and must be changed at the first login."""
    if session.scalar(select(User).where(User.username == username)):
        raise UserError(f"用户名 {username} 已存在")
    check_password_strength(password, username)
    user = User(username=username, display_name=display_name or username, password_hash=hash_password(password),
                must_change_password=must_change_password)
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


def set_password(session: Session, user: User, password: str, *, must_change: bool) -> int:
    """Give `user` a new password (already checked by the caller); every login of theirs ends and
    every API token of theirs is revoked (a token lives as long as the password it was issued
    under). `must_change`: someone else chose it. Returns how many tokens were revoked."""
    user.password_hash = hash_password(password)
    user.must_change_password = must_change
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    revoked = session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                              .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
    session.flush()
    return revoked.rowcount or 0


def change_password(session: Session, user: User, old: str, new: str) -> int:
    """The user's own change: the old password proves it is them; the new one must pass the
    policy and differ from the old. Ends every login and revokes every token (set_password)."""
    if authenticate(session, user.username, old) is None:
        raise UserError("原密码不正确")
    check_password_strength(new, user.username)
    if new == old:
        raise UserError("新密码不能与原密码相同")
    return set_password(session, user, new, must_change=False)


def start_session(session: Session, user: User) -> tuple[str, WebSession]:
    """A new login: returns the cookie value (only its digest is stored) and the session."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    # expired logins go here, in the login's own transaction: the request that meets an expired
    # cookie is sent to /login and rolled back, so its delete in session_for is not kept
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    row = WebSession(id=_digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(24),
                     expires_at=now + SESSION_LIFETIME)
    session.add(row)
    return token, row


@dataclass(frozen=True)
class GrantRef:
    """One role grant as a request needs it (Access): its role and its scope's ids."""

    role: str
    org_node_id: int | None
    school_id: int | None


@dataclass(frozen=True)
class Identity:
    """Who a request acts as, read in one Core query per request (no ORM objects): the user's
    few columns, their grants and, for a browser session, its CSRF token. Nothing of it is kept
    between requests: logout, revocation, a password change, a disabled user or a changed grant
    is seen by the very next request, in every worker."""

    user_id: int
    username: str
    display_name: str
    must_change_password: bool
    grants: tuple[GrantRef, ...]
    csrf_token: str = ""  # a browser session's; "" for API tokens


_USERS, _GRANTS = User.__table__, RoleGrant.__table__
_SESSIONS, _TOKENS = WebSession.__table__, ApiToken.__table__
_USER_COLUMNS = (_USERS.c.id, _USERS.c.username, _USERS.c.display_name, _USERS.c.active,
                 _USERS.c.must_change_password, _GRANTS.c.role, _GRANTS.c.org_node_id, _GRANTS.c.school_id)
_SESSION_QUERY = (select(_SESSIONS.c.csrf_token, _SESSIONS.c.expires_at, *_USER_COLUMNS)
                  .select_from(_SESSIONS.join(_USERS, _USERS.c.id == _SESSIONS.c.user_id)
                               .outerjoin(_GRANTS, _GRANTS.c.user_id == _USERS.c.id))
                  .where(_SESSIONS.c.id == bindparam("digest")).order_by(_GRANTS.c.id))
_TOKEN_QUERY = (select(_TOKENS.c.name, _TOKENS.c.revoked_at, _TOKENS.c.expires_at, _TOKENS.c.scope, *_USER_COLUMNS)
                .select_from(_TOKENS.join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
                             .outerjoin(_GRANTS, _GRANTS.c.user_id == _USERS.c.id))
                .where(_TOKENS.c.token_hash == bindparam("digest")).order_by(_GRANTS.c.id))


def _identity(rows: list, csrf_token: str = "") -> Identity:
    first = rows[0]
    grants = tuple(GrantRef(r.role, r.org_node_id, r.school_id) for r in rows if r.role is not None)
    return Identity(user_id=first.id, username=first.username, display_name=first.display_name,
                    must_change_password=bool(first.must_change_password), grants=grants, csrf_token=csrf_token)


def session_identity(session: Session, token: str | None) -> Identity | None:
    """The browser session of cookie value `token`: who it is (None: no such login, expired, or
    of a disabled user; an expired one is deleted). One query, read on every request."""
    if not token:
        return None
    digest = _digest(token)
    rows = session.connection().execute(_SESSION_QUERY, {"digest": digest}).all()
    if not rows:
        return None
    first = rows[0]
    if _aware(first.expires_at) < utcnow() or not first.active:
        session.execute(delete(WebSession).where(WebSession.id == digest))
        return None
    return _identity(rows, first.csrf_token)


def session_for(session: Session, token: str | None) -> WebSession | None:
    """The browser session's row (ORM), by the same rule as session_identity."""
    if session_identity(session, token) is None:
        return None
    return session.get(WebSession, _digest(token))


def end_session(session: Session, token: str | None) -> None:
    row = session.get(WebSession, _digest(token)) if token else None
    if row is not None:
        session.delete(row)


# ---------------------------------------------------------------- API tokens
# A token has a scope (read: GET/HEAD/OPTIONS only; read-write: everything its user may do) and an
# expiry (DEFAULT_TOKEN_DAYS unless chosen; tokens from before migration 0005 have none and are
# read-write). Revoked, expired or unknown tokens and tokens of disabled users are refused (401);
# a read token asking to write is refused (403). `token_user` is the one rule: the API's
# dependency (web/deps.api_viewer) calls it for every request that carries a token.

TOKEN_SCOPES = {"read": "只读", "read-write": "读写"}
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3650
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_BEIJING = ZoneInfo("Asia/Shanghai")


class TokenRefused(UserError):
    """A token that may not be used for this request; `status` is 401 (not a usable token) or
    403 (a read-only token asked to write)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def _beijing(value: datetime) -> str:
    return _aware(value).astimezone(_BEIJING).strftime("%Y-%m-%d %H:%M")


def create_token(session: Session, user: User, name: str, *, scope: str = "read-write",
                 days: int = DEFAULT_TOKEN_DAYS) -> str:
    """A new token for `user` (returned once; only its digest is stored)."""
    if scope not in TOKEN_SCOPES:
        raise UserError(f"令牌权限“{scope}”无效;可选:read(只读)或 read-write(读写)")
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise UserError(f"令牌有效天数应为 1–{MAX_TOKEN_DAYS} 天(现为 {days})")
    token = "jh_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=_digest(token), scope=scope,
                         expires_at=utcnow() + timedelta(days=days)))
    return token


def token_state(row: ApiToken, now: datetime | None = None) -> str:
    """有效, 已过期 or 已撤销, with the date."""
    if row.revoked_at is not None:
        return f"已撤销({_beijing(row.revoked_at)})"
    if row.expires_at is not None and _aware(row.expires_at) <= (now or utcnow()):
        return f"已过期({_beijing(row.expires_at)})"
    return "有效"


def token_identity(session: Session, token: str, *, write: bool, now: datetime | None = None) -> Identity:
    """Who a request carrying `token` acts as; TokenRefused (401/403, in Chinese) otherwise.
    `write`: the request may change something (any method but GET, HEAD, OPTIONS). One query
    (the token, its user and their grants as plain columns), read on every request."""
    rows = session.connection().execute(_TOKEN_QUERY, {"digest": _digest(token)}).all()
    if not rows:
        raise TokenRefused("API 令牌无效:请检查请求头 Authorization: Bearer <令牌>", 401)
    row = rows[0]
    if row.revoked_at is not None:
        raise TokenRefused(f"API 令牌“{row.name}”已于 {_beijing(row.revoked_at)}(北京时间)撤销,"
                           "请向管理员申请新的令牌", 401)
    if row.expires_at is not None and _aware(row.expires_at) <= (now or utcnow()):
        raise TokenRefused(f"API 令牌“{row.name}”已于 {_beijing(row.expires_at)}(北京时间)过期,"
                           "请向管理员申请新的令牌(junheng tokens create)", 401)
    if not row.active:
        raise TokenRefused(f"API 令牌“{row.name}”所属的用户已停用", 401)
    if write and row.scope != "read-write":
        raise TokenRefused(f"API 令牌“{row.name}”只有读取权限(read),不能修改数据;需要写入时请向管理员申请"
                           "读写令牌(junheng tokens create … --scope read-write)", 403)
    return _identity(rows)


def token_user(session: Session, token: str, *, write: bool, now: datetime | None = None) -> User:
    """The user (ORM) of `token`, by the one rule of token_identity."""
    return session.get(User, token_identity(session, token, write=write, now=now).user_id)


def user_for_token(session: Session, token: str, *, write: bool = False) -> User | None:
    """The token's user, or None when it may not be used (see token_user)."""
    try:
        return token_user(session, token, write=write)
    except TokenRefused:
        return None


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


_TREE_QUERY = select(OrgNode.__table__.c.id, OrgNode.__table__.c.parent_id)


def _children(session: Session) -> dict[int | None, list[int]]:
    children: dict[int | None, list[int]] = {}
    for node_id, parent_id in session.execute(_TREE_QUERY).all():
        children.setdefault(parent_id, []).append(node_id)
    return children


def _subtree_ids(session: Session, root_id: int, children: dict[int | None, list[int]] | None = None) -> set[int]:
    children = _children(session) if children is None else children
    out, stack = set(), [root_id]
    while stack:
        current = stack.pop()
        out.add(current)
        stack += children.get(current, [])
    return out


class Access:
    """What one user may do. Built once per request from the user's role grants.

    Every right is the union over grants of what *one* grant gives — its role over its scope —
    never a role taken from one grant applied to the scope of another: a viewer of county A who
    supervises city B reads A but supervises (verifies A's tasks, …) only the counties of B.

    `user` is the ORM User; built from an Identity (the web's per-request look-up) it is read
    from the database only when something asks for it (a write naming its author)."""

    def __init__(self, user: User | None = None, *, admin: bool = False, grants: tuple[GrantRef, ...] = (),
                 user_id: int | None = None, session: Session | None = None) -> None:
        self._user, self._session = user, session
        self.user_id = user.id if user is not None else user_id
        self.grants = grants
        self.admin = admin
        self.read_nodes: set[int] = set()  # org nodes (and everything below) readable
        self.manage_counties: set[int] = set()  # counties whose data and users it manages
        self.fill_schools: set[int] = set()  # schools it may edit
        self.supervise_nodes: set[int] = set()  # nodes under a supervisor grant

    @property
    def user(self) -> User | None:
        if self._user is None and self.user_id is not None and self._session is not None:
            self._user = self._session.get(User, self.user_id)
        return self._user

    @classmethod
    def of(cls, session: Session, user: User) -> "Access":
        grants = tuple(GrantRef(g.role, g.org_node_id, g.school_id) for g in user.grants)
        return cls._build(cls(user=user, grants=grants), session)

    @classmethod
    def of_identity(cls, session: Session, identity: Identity) -> "Access":
        """The same rights as `of`, from the request's Identity (no ORM objects)."""
        return cls._build(cls(grants=identity.grants, user_id=identity.user_id, session=session), session)

    @staticmethod
    def _build(access: "Access", session: Session) -> "Access":
        children = None  # the organisation tree, read once for all the grants that need it
        for g in access.grants:
            if g.role == "admin":
                access.admin = True
            elif g.role == "school_filler" and g.school_id is not None:
                access.fill_schools.add(g.school_id)
            elif g.org_node_id is not None:
                children = _children(session) if children is None else children
                below = _subtree_ids(session, g.org_node_id, children)
                access.read_nodes |= below
                if g.role == "county_admin":
                    access.manage_counties.add(g.org_node_id)
                elif g.role == "supervisor":
                    access.supervise_nodes |= below
        return access

    @property
    def roles(self) -> list[str]:
        return [g.role for g in self.grants]

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

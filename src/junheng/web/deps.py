"""Request dependencies: database session, the logged-in user and what they may do, CSRF."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Iterator

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from junheng.monitor.config import MonitorSettings, monitor_settings
from junheng.store import repo
from junheng.store.models import OrgNode, User
from junheng.store.users import READ_METHODS, Access, Identity, TokenRefused, session_identity, token_identity
from junheng.web.files import read_form

SESSION_COOKIE = "junheng_session"
PASSWORD_CHANGE_PATH = "/account/password"
PASSWORD_CHANGE_MESSAGE = ("您的密码由管理员设置或自动生成,请先修改为只有您自己知道的密码,"
                           "然后才能继续使用本系统。")


class LoginRequired(Exception):
    """Raised for pages: the handler sends the browser to the login page."""


class PasswordChangeRequired(Exception):
    """Raised for pages while the user's password was chosen by someone else
    (User.must_change_password): the handler sends the browser to PASSWORD_CHANGE_PATH (303), or
    answers 403 with PASSWORD_CHANGE_MESSAGE where JSON is wanted."""


def db_session(request: Request) -> Iterator[Session]:
    """The request's unit of work, committed (or rolled back) when the handler returns."""
    with request.app.state.db.session() as session:
        yield session


# Handlers take `session: Session = REQUEST_SESSION`. Scope "function": the session is committed
# before the response is sent (FastAPI's default would commit after sending it), so a browser
# following a redirect, or a client reading right after a write, sees the write.
REQUEST_SESSION = Depends(db_session, scope="function")


@dataclass
class Viewer:
    """The request's user: who (Identity, read in one query per request, nothing kept between
    requests) and what they may do (Access). `user` is the ORM User, read only when a handler asks
    for it (a write naming its author)."""

    identity: Identity
    access: Access

    @property
    def user(self) -> User:
        return self.access.user

    @property
    def user_id(self) -> int:
        return self.identity.user_id

    @property
    def display_name(self) -> str:
        return self.identity.display_name

    @property
    def csrf_token(self) -> str:
        return self.identity.csrf_token  # "" for API tokens


def viewer_of(session: Session, identity: Identity) -> Viewer:
    return Viewer(identity=identity, access=Access.of_identity(session, identity))


def logged_in_viewer(request: Request, session: Session = REQUEST_SESSION) -> Viewer:
    """The logged-in user, even one who must still change their password: only for the password
    change page and logout. Every other page depends on `current_viewer`."""
    identity = session_identity(session, request.cookies.get(SESSION_COOKIE))
    if identity is None:
        raise LoginRequired()
    return viewer_of(session, identity)


def current_viewer(request: Request, session: Session = REQUEST_SESSION) -> Viewer:
    viewer = logged_in_viewer(request, session)
    if viewer.identity.must_change_password:
        raise PasswordChangeRequired()
    return viewer


def api_viewer(request: Request, session: Session = REQUEST_SESSION) -> Viewer:
    """API clients send `Authorization: Bearer <token>`; a logged-in browser may use its session.

    The one rule of every /api/v1 route: a token is checked by users.token_identity (unknown,
    revoked, expired or of a disabled user: 401; read-only asking to write: 403); a browser
    session must be of a user who has chosen their own password (403 otherwise) and, to write,
    carry the page's CSRF token."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        try:
            identity = token_identity(session, header[7:].strip(), write=request.method not in READ_METHODS)
        except TokenRefused as refused:
            raise HTTPException(status_code=refused.status, detail=refused.user_message()) from None
        return viewer_of(session, identity)
    identity = session_identity(session, request.cookies.get(SESSION_COOKIE))
    if identity is None:
        raise HTTPException(status_code=401, detail="请先登录或提供 API 令牌(Authorization: Bearer ...)")
    if identity.must_change_password:
        raise HTTPException(status_code=403, detail=PASSWORD_CHANGE_MESSAGE + f"(网页:{PASSWORD_CHANGE_PATH})")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        # a browser session writing through the API must prove it is the page, not another site
        token = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(token, identity.csrf_token):
            raise HTTPException(status_code=403, detail="缺少或错误的 X-CSRF-Token")
    return viewer_of(session, identity)


async def _csrf(request: Request, viewer: Viewer) -> Viewer:
    form = await read_form(request)  # at most 1 MB (the form a route has read already, if any)
    if not hmac.compare_digest(str(form.get("csrf_token", "")), viewer.csrf_token):
        raise HTTPException(status_code=403, detail="表单已过期或来源不明(CSRF 校验失败),请刷新页面后重试")
    return viewer


async def check_csrf(request: Request, viewer: Viewer = Depends(current_viewer)) -> Viewer:
    """Every form post carries the session's CSRF token."""
    return await _csrf(request, viewer)


async def check_csrf_logged_in(request: Request, viewer: Viewer = Depends(logged_in_viewer)) -> Viewer:
    """`check_csrf` for the two posts a user who must change their password may make: the
    password change and logout."""
    return await _csrf(request, viewer)


def monitor_config(request: Request) -> MonitorSettings:
    """The workspace's monitoring settings ([monitor], [smtp], [webhook] of junheng.toml: rules,
    attachment limit, webhook hosts), read once per application; tests may set
    `app.state.monitor_settings`."""
    state = request.app.state
    if getattr(state, "monitor_settings", None) is None:
        state.monitor_settings = monitor_settings(state.settings.folder)
    return state.monitor_settings


def county_for(session: Session, viewer: Viewer, code: str, *, manage: str | None = None,
               read: str = "您没有权限查看该县区。") -> OrgNode:
    """The county `code` if the viewer may read it, else HTTP 403 saying `read`; with `manage`
    (what to say to those refused) only if the viewer also manages it. Checked on the server for
    every page: hiding a link is not access control."""
    try:
        county = repo.county_by_code(session, code)  # the store's one look-up: a deleted county is not found
    except repo.CountyNotFound as exc:
        raise HTTPException(status_code=404, detail=exc.user_message() + "。") from None
    if not viewer.access.can_read_county(county):
        raise HTTPException(status_code=403, detail=read)
    if manage is not None and not viewer.access.can_manage_county(county):
        raise HTTPException(status_code=403, detail=manage)
    return county

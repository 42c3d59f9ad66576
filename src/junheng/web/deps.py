"""Request dependencies: database session, the logged-in user and what they may do, CSRF."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Iterator

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from junheng.monitor.config import MonitorSettings, monitor_settings
from junheng.store import repo
from junheng.store.models import OrgNode, User, WebSession
from junheng.store.users import Access, session_for, user_for_token

SESSION_COOKIE = "junheng_session"


class LoginRequired(Exception):
    """Raised for pages: the handler sends the browser to the login page."""


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
    user: User
    access: Access
    web_session: WebSession | None  # None for API tokens

    @property
    def csrf_token(self) -> str:
        return self.web_session.csrf_token if self.web_session else ""


def current_viewer(request: Request, session: Session = REQUEST_SESSION) -> Viewer:
    web_session = session_for(session, request.cookies.get(SESSION_COOKIE))
    if web_session is None:
        raise LoginRequired()
    return Viewer(user=web_session.user, access=Access.of(session, web_session.user), web_session=web_session)


def api_viewer(request: Request, session: Session = REQUEST_SESSION) -> Viewer:
    """API clients send `Authorization: Bearer <token>`; a logged-in browser may use its session."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = user_for_token(session, header[7:].strip())
        if user is None:
            raise HTTPException(status_code=401, detail="令牌无效或已撤销")
        return Viewer(user=user, access=Access.of(session, user), web_session=None)
    web_session = session_for(session, request.cookies.get(SESSION_COOKIE))
    if web_session is None:
        raise HTTPException(status_code=401, detail="请先登录或提供 API 令牌(Authorization: Bearer ...)")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        # a browser session writing through the API must prove it is the page, not another site
        token = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(token, web_session.csrf_token):
            raise HTTPException(status_code=403, detail="缺少或错误的 X-CSRF-Token")
    return Viewer(user=web_session.user, access=Access.of(session, web_session.user), web_session=web_session)


async def check_csrf(request: Request, viewer: Viewer = Depends(current_viewer)) -> Viewer:
    """Every form post carries the session's CSRF token."""
    form = await request.form()
    if not hmac.compare_digest(str(form.get("csrf_token", "")), viewer.csrf_token):
        raise HTTPException(status_code=403, detail="表单已过期或来源不明(CSRF 校验失败),请刷新页面后重试")
    return viewer


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
    county = repo.county_by_code(session, code)
    if not viewer.access.can_read_county(county):
        raise HTTPException(status_code=403, detail=read)
    if manage is not None and not viewer.access.can_manage_county(county):
        raise HTTPException(status_code=403, detail=manage)
    return county

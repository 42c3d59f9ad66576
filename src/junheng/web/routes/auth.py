"""Login, logout and password change."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from junheng.store.models import utcnow
from junheng.store.users import (
    Access,
    UserError,
    authenticate,
    change_password,
    clear_login_failures,
    end_session,
    login_keys,
    login_locked_until,
    record_login_failure,
    start_session,
)
from junheng.web.app import templates
from junheng.web.deps import REQUEST_SESSION, SESSION_COOKIE, Viewer, check_csrf, current_viewer
from junheng.web.routes.editing import local_time

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # only local paths: an open redirect would let a phishing link borrow our login page
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login")
def login_page(request: Request, next: str | None = None):
    return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": None})


def _throttled(request: Request, next: str, until: datetime):
    """HTTP 429: too many failed logins for this account or from this address (users.py,
    "login throttling"); says when to try again, in Beijing time, and in Retry-After."""
    now = utcnow()
    wait = max(1, int((until - now).total_seconds() + 59) // 60)
    message = (f"登录失败次数过多,为保护账号已暂停登录:请在 {local_time(until)}(北京时间,约 {wait} 分钟后)再试。"
               "如忘记密码,请联系管理员重置。")
    return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": message},
                                      status_code=429,
                                      headers={"Retry-After": str(max(1, int((until - now).total_seconds())))})


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),
          session: Session = REQUEST_SESSION):
    address = request.client.host if request.client else None
    until = login_locked_until(session, login_keys(username, address))
    if until is not None:  # refused before the password is even checked
        return _throttled(request, next, until)
    user = authenticate(session, username.strip(), password)
    if user is None:
        until = record_login_failure(session, username, address)
        session.commit()  # counted whichever worker answers the next attempt
        if until is not None:
            return _throttled(request, next, until)
        return templates.TemplateResponse(request, "login.html",
                                          {"next": _safe_next(next), "error": "用户名或密码不正确,或账号已停用"},
                                          status_code=401)
    clear_login_failures(session, username)
    token, _ = start_session(session, user)
    session.commit()  # saved before the browser follows the redirect, not after the response
    target = _safe_next(next)
    if target == "/":
        target = Access.of(session, user).home(session)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=request.app.state.settings.secure_cookies, max_age=12 * 3600)
    return response


@router.post("/logout")
def logout(request: Request, viewer: Viewer = Depends(check_csrf), session: Session = REQUEST_SESSION):
    end_session(session, request.cookies.get(SESSION_COOKIE))
    session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/account/password")
def password_page(request: Request, viewer: Viewer = Depends(current_viewer)):
    return templates.TemplateResponse(request, "password.html", {"viewer": viewer, "error": None, "done": False})


@router.post("/account/password")
def password_change(request: Request, old: str = Form(""), new: str = Form(""), repeat: str = Form(""),
                    viewer: Viewer = Depends(check_csrf), session: Session = REQUEST_SESSION):
    error = None
    if new != repeat:
        error = "两次输入的新密码不一致"
    else:
        try:
            change_password(session, session.merge(viewer.user), old, new)
        except UserError as exc:
            error = exc.user_message()
    if error:
        return templates.TemplateResponse(request, "password.html", {"viewer": viewer, "error": error, "done": False},
                                          status_code=400)
    session.commit()
    response = RedirectResponse("/login", status_code=303)  # every session ended: log in with the new one
    response.delete_cookie(SESSION_COOKIE)
    return response

"""Login, logout and password change."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from junheng.store.users import (
    Access,
    UserError,
    authenticate,
    change_password,
    end_session,
    start_session,
)
from junheng.web.app import templates
from junheng.web.deps import REQUEST_SESSION, SESSION_COOKIE, Viewer, check_csrf, current_viewer

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # only local paths: an open redirect would let a phishing link borrow our login page
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login")
def login_page(request: Request, next: str | None = None):
    return templates.TemplateResponse(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),
          session: Session = REQUEST_SESSION):
    user = authenticate(session, username.strip(), password)
    if user is None:
        return templates.TemplateResponse(request, "login.html",
                                          {"next": _safe_next(next), "error": "用户名或密码不正确,或账号已停用"},
                                          status_code=401)
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

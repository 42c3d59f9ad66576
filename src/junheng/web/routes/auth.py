"""Login, logout and password change."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request
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
from junheng.web.deps import (
    PASSWORD_CHANGE_MESSAGE,
    PASSWORD_CHANGE_PATH,
    REQUEST_SESSION,
    SESSION_COOKIE,
    Viewer,
    check_csrf_logged_in,
    logged_in_viewer,
)
from junheng.web.routes.editing import local_time, safe_next

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # only local paths: an open redirect would let a phishing link borrow our login page
    return safe_next(target, "/")


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


CROSS_SITE_MESSAGE = ("登录请求来自其他网站(来源 {origin} 与本站 {host} 不符),已拒绝:"
                      "请直接在本站的登录页面输入用户名和密码。")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _netloc(scheme: str, netloc: str) -> str:
    """host[:port] case-folded, without the scheme's default port."""
    value = netloc.strip().casefold()
    default = _DEFAULT_PORTS.get(scheme)
    return value[:-len(default) - 1] if default and value.endswith(":" + default) else value


def _browser_origin(request: Request) -> tuple[str, str] | None:
    """(scheme, netloc) of the page that sent this post, as the browser says (Origin, or Referer
    when there is no Origin); None when neither is sent."""
    origin = request.headers.get("origin")
    if origin is None:
        origin = request.headers.get("referer")
    if origin is None:
        return None
    parts = urlsplit(origin.strip())
    return (parts.scheme.casefold(), parts.netloc) if parts.scheme and parts.netloc else ("", origin.strip())


def cross_site(request: Request) -> str | None:
    """The foreign origin of a post sent from another site (login CSRF), or None.

    The origin (Origin, else Referer) must name this site: its host[:port] equal to the Host the
    request was sent to (or, behind a reverse proxy that rewrites Host, X-Forwarded-Host; a page
    of another site cannot set that header on a form post). A post with neither header (a client
    that is not a browser, or a browser that strips them) is accepted: a forged login needs the
    victim's browser, and browsers send Origin with every cross-site POST."""
    origin = _browser_origin(request)
    if origin is None:
        return None
    scheme, netloc = origin
    if scheme not in _DEFAULT_PORTS:  # Origin: null (a sandboxed frame, a data: page), or garbage
        return netloc or "null"
    own = [request.headers.get("host", "")] + [h.split(",")[0] for h in
                                               request.headers.getlist("x-forwarded-host")]
    wanted = _netloc(scheme, netloc)
    return None if any(h and _netloc(scheme, h) == wanted for h in own) else f"{scheme}://{netloc}"


def secure_cookie(request: Request) -> bool:
    """The session cookie's Secure flag: the `secure_cookies` setting when it is set (true or
    false); unset (the default), Secure whenever the login arrived over HTTPS, as the server sees
    it (uvicorn honours X-Forwarded-Proto from a trusted proxy) or as the browser says (Origin or
    Referer https://…, which a TLS-terminating proxy passes on). Plain http (the demo on
    127.0.0.1, or a site without TLS, where browsers refuse Secure cookies) gets no Secure flag."""
    setting = request.app.state.settings.secure_cookies
    if setting is not None:
        return bool(setting)
    origin = _browser_origin(request)
    return request.url.scheme == "https" or (origin is not None and origin[0] == "https")


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),
          session: Session = REQUEST_SESSION):
    foreign = cross_site(request)
    if foreign is not None:  # refused before anything is looked up or counted
        raise HTTPException(status_code=403, detail=CROSS_SITE_MESSAGE.format(
            origin=foreign[:200], host=request.headers.get("host", "")[:200]))
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
    if user.must_change_password:  # every other page would send them there anyway
        target = PASSWORD_CHANGE_PATH
    elif target == "/":
        target = Access.of(session, user).home(session)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=secure_cookie(request), max_age=12 * 3600)
    return response


@router.post("/logout")
def logout(request: Request, viewer: Viewer = Depends(check_csrf_logged_in), session: Session = REQUEST_SESSION):
    end_session(session, request.cookies.get(SESSION_COOKIE))
    session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _password_context(viewer: Viewer, error: str | None) -> dict:
    return {"viewer": viewer, "error": error, "done": False,
            "required": PASSWORD_CHANGE_MESSAGE if viewer.user.must_change_password else None}


@router.get("/account/password")
def password_page(request: Request, viewer: Viewer = Depends(logged_in_viewer)):
    return templates.TemplateResponse(request, "password.html", _password_context(viewer, None))


@router.post("/account/password")
def password_change(request: Request, old: str = Form(""), new: str = Form(""), repeat: str = Form(""),
                    viewer: Viewer = Depends(check_csrf_logged_in), session: Session = REQUEST_SESSION):
    error = None
    if new != repeat:
        error = "两次输入的新密码不一致"
    else:
        try:
            change_password(session, session.merge(viewer.user), old, new)
        except UserError as exc:
            error = exc.user_message()
    if error:
        return templates.TemplateResponse(request, "password.html", _password_context(viewer, error),
                                          status_code=400)
    session.commit()
    response = RedirectResponse("/login", status_code=303)  # every session ended: log in with the new one
    response.delete_cookie(SESSION_COOKIE)
    return response

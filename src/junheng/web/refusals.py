"""What a refused or missing page tells a person: who they are logged in as, what the page
needs, and the ways on (home, back, logout) — with the site's navigation, like every page.

The exception handlers of junheng.web.app render error.html with `error_context`; the
logged-in user is looked up again from the session cookie, read only (the request's own unit
of work has been rolled back by then)."""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlsplit

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.store.models import OrgNode, School
from junheng.store.users import ROLE_LABELS, session_identity

COUNTY_PATH = re.compile(r"^/counties/([^/?#]+)")
SCHOOL_PATH = re.compile(r"^/schools/([^/?#]+)")
ASK = "如需开通,请联系本县区的县级管理员或系统管理员。"


@contextmanager
def page_viewer(request: Request) -> Iterator[tuple[Session | None, object | None]]:
    """(session, viewer) of the logged-in user, or (None, None); the session stays open while
    the page is rendered and writes nothing (an expired login is deleted at the next login)."""
    from junheng.web.deps import SESSION_COOKIE, viewer_of

    token = request.cookies.get(SESSION_COOKIE)
    database = getattr(request.app.state, "db", None)
    if not token or database is None:
        yield None, None
        return
    session = database._sessions()
    try:
        try:
            identity = session_identity(session, token)
            viewer = None if identity is None or identity.must_change_password else viewer_of(session, identity)
        except Exception:  # the page that says "refused" must never fail itself: no navigation then
            viewer = None
        yield session, viewer
    finally:
        session.rollback()  # read only: nothing of an error page is ever written
        session.close()


def grant_lines(viewer) -> list[str]:
    """The user's roles, each with what it covers: 学校填报员(测试学校P1)."""
    out = []
    for g in viewer.user.grants:
        label = ROLE_LABELS.get(g.role, g.role)
        scope = g.school.name if g.school is not None else (g.org_node.name if g.org_node is not None else None)
        out.append(f"{label}({scope})" if scope else label)
    return out or ["没有任何角色"]


def _named(session: Session, model, code: str):
    try:
        return session.scalar(select(model).where(model.code == code))
    except Exception:
        return None


def page_needs(session: Session | None, path: str) -> str | None:
    """What the refused page needs, in a sentence, said from its address (the county or school
    it belongs to); None when the address says nothing."""
    if path.startswith("/admin"):
        return "此页面需要系统管理员或县级管理员权限。"
    if session is not None and (match := COUNTY_PATH.match(path)):
        county = _named(session, OrgNode, match.group(1))
        if county is not None:
            return (f"此页面需要能查看{county.name}的账号:该县区的县级管理员或只读用户,"
                    "或所在市、省的督导。")
    if session is not None and (match := SCHOOL_PATH.match(path)):
        school = _named(session, School, match.group(1))
        if school is not None:
            county = school.county.name if school.county is not None else "所属县区"
            return f"此页面需要{school.name}的学校填报员,或能查看{county}的账号。"
    return None


def back_link(request: Request) -> str | None:
    """The page the user came from, if it is a page of this site (never another host)."""
    referer = request.headers.get("referer")
    if not referer:
        return None
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != request.url.netloc:
        return None
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target \
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target) or parts.path == request.url.path:
        return None
    return target


def error_context(request: Request, session: Session | None, viewer, status: int, message: str,
                  detail_given: bool) -> dict:
    context = {"status": status, "message": message, "viewer": viewer, "back": back_link(request),
               "role_labels": ROLE_LABELS}
    if viewer is not None:
        context["logged_in_as"] = {"name": viewer.display_name, "username": viewer.identity.username,
                                   "grants": grant_lines(viewer)}
    if status == 403:
        # the route's words say what was refused; "只有…可以…" says what is needed too, else the address does
        needs = None if detail_given and message.startswith("只有") else page_needs(session, request.url.path)
        context["needs"] = needs or ("" if detail_given else "此页面需要其他角色的权限。")
        context["ask"] = ASK
    return context

"""Signing in and out: a failed login, the `next` redirect guard, the password change (a wrong
old password refused; success ends every session of the user), and session expiry (set in the
store, no sleeping). The world: tests/web/web_world.py (`web_world`, SQLite)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import builders
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from web_world import COUNTY, PASSWORD

from junheng.store.models import User, WebSession, utcnow
from junheng.store.users import authenticate
from junheng.web.deps import SESSION_COOKIE

NEW_PASSWORD = "Jh-2026-kT9#qL"  # satisfies a strict policy (≥ 10 characters, mixed), not the username


def sessions_of(world, username: str) -> int:
    with world.database.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        return s.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == user.id))


def password_hash_of(world, username: str) -> str:
    with world.database.session() as s:
        return s.scalar(select(User.password_hash).where(User.username == username))


def is_logged_out(response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/login?next=")


# ---------------------------------------------------------------- failed login


@pytest.mark.parametrize("username, password", [("viewer", "wrong-password"), ("nobody", PASSWORD), ("viewer", "")])
def test_a_failed_login_is_401_in_chinese_and_starts_no_session(web_world, username, password):
    client = TestClient(web_world.app())
    before = sessions_of(web_world, "viewer")
    response = client.post("/login", data={"username": username, "password": password, "next": "/overview"},
                           follow_redirects=False)
    assert response.status_code == 401
    assert "用户名或密码不正确" in builders.plain(response.text)
    assert SESSION_COOKIE not in response.cookies
    assert sessions_of(web_world, "viewer") == before
    assert is_logged_out(client.get("/overview", follow_redirects=False))  # still nobody


def test_a_good_login_goes_to_the_users_home_and_the_session_works(web_world):
    client = TestClient(web_world.app())
    response = client.post("/login", data={"username": "viewer", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/counties/{COUNTY}"
    assert client.get(f"/counties/{COUNTY}", follow_redirects=False).status_code == 200


# ---------------------------------------------------------------- the `next` guard

HOSTILE_NEXT = [
    "//evil.com", "//evil.com/counties", "https://evil.com", "http://evil.com/login", "HTTPS://evil.com",
    "/\\evil.com", "\\\\evil.com", "/\\/evil.com", "\\/evil.com", "/\t/evil.com", "/\n/evil.com",
    "%2F%2Fevil.com", "https:%2F%2Fevil.com", "javascript:alert(1)", "evil.com", " //evil.com",
]


def is_local(location: str) -> bool:
    """A redirect the browser resolves on this site: a path, no scheme or host, and nothing a
    browser would turn into one (a backslash, a control character)."""
    parts = urlsplit(location)
    return (location.startswith("/") and not location.startswith("//") and not parts.scheme and not parts.netloc
            and "\\" not in location and not any(ord(c) < 0x20 for c in location))


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_next_never_leaves_the_site(web_world, target):
    client = TestClient(web_world.app())
    response = client.post("/login", data={"username": "viewer", "password": PASSWORD, "next": target},
                           follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert is_local(location), f"next={target!r} redirected to {location!r}"
    # refused targets (another host, a backslash or a control character a browser may read as
    # one) fall back to the user's home, not on Starlette's percent-encoding of the Location
    assert location == f"/counties/{COUNTY}"


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com", "HTTPS://evil.com"])
def test_the_login_page_does_not_carry_a_hostile_next(web_world, target):
    page = TestClient(web_world.app()).get("/login", params={"next": target})
    assert page.status_code == 200
    assert "evil.com" not in page.text


def test_a_local_next_is_honoured(web_world):
    client = TestClient(web_world.app())
    bounced = client.get(f"/counties/{COUNTY}/audit", follow_redirects=False)
    assert bounced.status_code == 303 and bounced.headers["location"] == f"/login?next=/counties/{COUNTY}/audit"
    response = client.post("/login", data={"username": "county", "password": PASSWORD,
                                           "next": f"/counties/{COUNTY}/audit"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/counties/{COUNTY}/audit"


# ---------------------------------------------------------------- password change


def test_a_wrong_old_password_is_refused_and_changes_nothing(web_world):
    client = web_world.login("viewer")
    before = password_hash_of(web_world, "viewer")
    response = client.post("/account/password", {"old": "not-my-password", "new": NEW_PASSWORD,
                                                  "repeat": NEW_PASSWORD})
    assert response.status_code == 400
    assert "原密码不正确" in builders.plain(response.text)
    assert password_hash_of(web_world, "viewer") == before
    assert client.get("/account/password").status_code == 200  # still logged in
    with web_world.database.session() as s:
        assert authenticate(s, "viewer", PASSWORD) is not None
        assert authenticate(s, "viewer", NEW_PASSWORD) is None


def test_a_mismatched_repeat_is_refused(web_world):
    client = web_world.login("viewer")
    before = password_hash_of(web_world, "viewer")
    response = client.post("/account/password", {"old": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD + "x"})
    assert response.status_code == 400 and "两次输入的新密码不一致" in builders.plain(response.text)
    assert password_hash_of(web_world, "viewer") == before


def test_a_password_change_ends_every_session_of_the_user(web_world):
    here, elsewhere = web_world.login("viewer"), web_world.login("viewer")  # two browsers
    bystander = web_world.login("county")
    assert sessions_of(web_world, "viewer") == 2
    response = here.post("/account/password", {"old": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert sessions_of(web_world, "viewer") == 0
    for browser in (here, elsewhere):
        assert is_logged_out(browser.get("/account/password", follow_redirects=False))
    assert bystander.get("/account/password").status_code == 200  # another user's session is untouched
    fresh = TestClient(web_world.app())
    old = fresh.post("/login", data={"username": "viewer", "password": PASSWORD}, follow_redirects=False)
    assert old.status_code == 401
    new = fresh.post("/login", data={"username": "viewer", "password": NEW_PASSWORD}, follow_redirects=False)
    assert new.status_code == 303


# ---------------------------------------------------------------- session expiry


def _expire(world, username: str, when) -> None:
    with world.database.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        for row in s.scalars(select(WebSession).where(WebSession.user_id == user.id)):
            row.expires_at = when


def test_an_expired_session_goes_to_the_login_page(web_world):
    client = web_world.login("viewer")
    assert client.get("/account/password").status_code == 200
    _expire(web_world, "viewer", utcnow() - timedelta(seconds=1))
    response = client.get(f"/counties/{COUNTY}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/login?next=/counties/{COUNTY}"
    assert client.get(f"/counties/{COUNTY}", params={"format": "json"}).status_code == 401
    # a post with the expired session changes nothing either
    before = web_world.snapshot()
    refused = client.post(f"/counties/{COUNTY}/years/{builders.YEAR}", {"social_recognition_rate": "91.5"})
    assert is_logged_out(refused)
    assert web_world.snapshot() == before
    # the expired login is removed by the next login (of anyone), not kept for ever
    web_world.login("admin")
    assert sessions_of(web_world, "viewer") == 0


def test_a_session_not_yet_expired_still_works(web_world):
    client = web_world.login("viewer")
    _expire(web_world, "viewer", utcnow() + timedelta(minutes=1))
    assert client.get("/account/password").status_code == 200
    assert sessions_of(web_world, "viewer") == 1


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com", "/\\evil.com", "/\t/evil.com", "evil.com"])
def test_the_review_forms_next_never_leaves_the_site(web_world, target):
    """The approve button's `next` (back to the dashboard) goes through the same guard."""
    web_world.set_status("P1", "submitted")
    county = web_world.login("county")
    response = county.post(f"/schools/P1/years/{builders.YEAR}/workflow", {"action": "approve", "next": target})
    assert response.status_code == 303
    assert response.headers["location"] == f"/schools/P1/years/{builders.YEAR}?msg=approved"
    assert web_world.school_year("P1").status == "approved"


def test_the_review_forms_local_next_is_honoured(web_world):
    web_world.set_status("P1", "submitted")
    county = web_world.login("county")
    response = county.post(f"/schools/P1/years/{builders.YEAR}/workflow",
                           {"action": "approve", "next": f"/counties/{COUNTY}"})
    assert response.status_code == 303 and response.headers["location"] == f"/counties/{COUNTY}?msg=approved"

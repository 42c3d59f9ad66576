"""Issue 11, accounts: a password someone else chose must be changed before any page (forced
change), /login refuses cross-site posts, the session cookie is Secure over HTTPS, and API
tokens carry a scope (read or read-write), an expiry and die with their user's password."""

from __future__ import annotations

import re
from datetime import timedelta

import builders
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from web_world import COUNTY, CSRF, PASSWORD, login

from junheng.store.models import ApiToken, AuditEntry, LoginThrottle, User, WebSession, utcnow
from junheng.store.users import create_token, set_password
from junheng.web.app import create_app
from junheng.workspace import Settings

NEW_PASSWORD = "本人的新密码-2025"


def _force(world, username: str, password: str = PASSWORD) -> None:
    with world.database.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        set_password(s, user, password, must_change=True)


def _user(world, username: str) -> User:
    with world.database.session() as s:
        return s.scalar(select(User).where(User.username == username))


def _count(world, model, *where) -> int:
    with world.database.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


# ---------------------------------------------------------------- forced change at first login


def test_a_reset_password_must_be_changed_before_any_page(web_world):
    admin = web_world.login("admin")
    target = _user(web_world, "county").id
    reset = admin.post(f"/admin/users/{target}/password", {"password_mode": "generate"})
    assert reset.status_code == 200
    generated = re.search(r'<code id="new-password">([^<]+)</code>', reset.text).group(1)
    assert _user(web_world, "county").must_change_password

    client = TestClient(web_world.app())
    logged = client.post("/login", data={"username": "county", "password": generated}, follow_redirects=False)
    assert logged.status_code == 303 and logged.headers["location"] == "/account/password"
    for page in (f"/counties/{COUNTY}", "/overview", "/admin", f"/schools/P1/years/{builders.YEAR}", "/"):
        answer = client.get(page, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/account/password", page
    assert client.get(f"/counties/{COUNTY}?format=json").status_code == 403
    assert "请先修改" in client.get(f"/counties/{COUNTY}?format=json").json()["detail"]
    api = client.get("/api/v1/me")  # the session is refused by the API too, in Chinese
    assert api.status_code == 403 and "修改为只有您自己知道的密码" in api.json()["detail"]
    assert client.get("/static/app.css").status_code == 200

    page = client.get("/account/password")
    assert page.status_code == 200
    assert "请先修改为只有您自己知道的密码" in builders.plain(page.text) and 'id="must-change"' in page.text
    csrf = CSRF.search(page.text).group(1)
    # a form post elsewhere is refused as any page is (and changes nothing)
    before = _count(web_world, AuditEntry)
    refused = client.post(f"/schools/P1/years/{builders.YEAR}", data={"csrf_token": csrf}, follow_redirects=False)
    assert refused.status_code == 303 and _count(web_world, AuditEntry) == before
    # a weak new password is refused with the rule, the flag stays
    weak = client.post("/account/password", data={"csrf_token": csrf, "old": generated, "new": "woaini1314",
                                                   "repeat": "woaini1314"}, follow_redirects=False)
    assert weak.status_code == 400 and "常见密码" in builders.plain(weak.text)
    assert _user(web_world, "county").must_change_password
    same = client.post("/account/password", data={"csrf_token": csrf, "old": generated, "new": generated,
                                                  "repeat": generated}, follow_redirects=False)
    assert same.status_code == 400 and "不能与原密码相同" in builders.plain(same.text)

    changed = client.post("/account/password", data={"csrf_token": csrf, "old": generated, "new": NEW_PASSWORD,
                                                     "repeat": NEW_PASSWORD}, follow_redirects=False)
    assert changed.status_code == 303 and changed.headers["location"] == "/login"
    assert not _user(web_world, "county").must_change_password
    again = login(web_world.app(), "county", NEW_PASSWORD)
    assert again.get(f"/counties/{COUNTY}?format=json").status_code == 200


def test_a_forced_user_may_log_out(web_world):
    _force(web_world, "viewer")
    client = login(web_world.app(), "viewer")  # the helper reads the CSRF token from the password page
    assert client.post("/logout").status_code == 303
    assert client.get("/account/password", follow_redirects=False).headers["location"].startswith("/login")


def test_accounts_made_by_a_manager_are_forced_and_the_admin_sees_it(web_world):
    admin = web_world.login("admin")
    made = admin.post("/admin/users/new", {"username": "new_viewer", "role": "viewer", "scope": COUNTY,
                                           "password_mode": "typed", "password": "管理员设的-2025",
                                           "password_repeat": "管理员设的-2025"})
    assert made.status_code == 200
    assert _user(web_world, "new_viewer").must_change_password  # typed by the admin: they know it too
    user_id = _user(web_world, "new_viewer").id
    assert 'id="must-change"' in admin.get(f"/admin/users/{user_id}").text
    listed = {u["username"]: u["must_change_password"] for u in admin.get("/admin/users?format=json").json()["users"]}
    assert listed["new_viewer"] is True and listed["county"] is False


def test_a_manager_typed_password_follows_the_policy(web_world):
    admin = web_world.login("admin")
    before = _count(web_world, User)
    for password, words in (("new_viewer-1", "包含用户名"), ("qwertyuiop", "常见密码"), ("short", "至少 10 位")):
        response = admin.post("/admin/users/new", {"username": "new_viewer", "role": "viewer", "scope": COUNTY,
                                                   "password_mode": "typed", "password": password,
                                                   "password_repeat": password})
        assert response.status_code == 400 and words in builders.plain(response.text), password
    target = _user(web_world, "viewer").id
    reset = admin.post(f"/admin/users/{target}/password", {"password_mode": "typed", "password": "viewer2025ab",
                                                           "password_repeat": "viewer2025ab"})
    assert reset.status_code == 400 and "包含用户名" in builders.plain(reset.text)
    assert _count(web_world, User) == before and not _user(web_world, "viewer").must_change_password


# ---------------------------------------------------------------- login from another site


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://testserver.evil.example"},
    {"Referer": "https://evil.example/login"},  # no Origin: the Referer decides
    {"Origin": "http://evil.example", "Referer": "http://testserver/login"},  # Origin wins
])
def test_login_posts_from_another_site_are_refused_and_count_nothing(web_world, headers):
    client = TestClient(web_world.app())
    response = client.post("/login", data={"username": "county", "password": PASSWORD}, headers=headers,
                           follow_redirects=False)
    assert response.status_code == 403
    assert "登录请求来自其他网站" in builders.plain(response.text) and "set-cookie" not in response.headers
    wrong = client.post("/login", data={"username": "county", "password": "wrong"}, headers=headers)
    assert wrong.status_code == 403
    assert _count(web_world, WebSession) == 0 and _count(web_world, LoginThrottle) == 0


@pytest.mark.parametrize("headers", [
    {},  # neither header (a client that is not a browser): accepted
    {"Origin": "http://testserver"},
    {"Origin": "http://TestServer:80"},  # case and the default port do not matter
    {"Referer": "http://testserver/login?next=/overview"},
    {"Origin": "https://junheng.example.cn", "X-Forwarded-Host": "junheng.example.cn"},  # behind a proxy
])
def test_login_posts_from_the_site_itself_are_accepted(web_world, headers):
    client = TestClient(web_world.app())
    response = client.post("/login", data={"username": "county", "password": PASSWORD}, headers=headers,
                           follow_redirects=False)
    assert response.status_code == 303 and "junheng_session=" in response.headers["set-cookie"]


# ---------------------------------------------------------------- the Secure flag


def _cookie(app, base: str = "http://testserver", **headers) -> str:
    client = TestClient(app, base_url=base)
    response = client.post("/login", data={"username": "county", "password": PASSWORD}, headers=headers,
                           follow_redirects=False)
    assert response.status_code == 303
    return response.headers["set-cookie"].lower()


def test_the_session_cookie_is_secure_over_https_by_default(web_world):
    app = web_world.app()
    assert web_world.settings.secure_cookies is None  # the default: auto
    assert "; secure" not in _cookie(app)  # plain http (the demo on 127.0.0.1)
    assert "; secure" in _cookie(app, "https://testserver")
    assert "; secure" in _cookie(app, origin="https://testserver")  # TLS ended by a proxy: the browser says https
    forced_on = create_app(Settings(database_url=web_world.database.url, secret_key="k",
                                    uploads=web_world.settings.uploads, secure_cookies=True), web_world.database)
    assert "; secure" in _cookie(forced_on)
    forced_off = create_app(Settings(database_url=web_world.database.url, secret_key="k",
                                     uploads=web_world.settings.uploads, secure_cookies=False), web_world.database)
    assert "; secure" not in _cookie(forced_off, "https://testserver")


def test_the_workspace_setting_reads_true_false_auto_and_refuses_anything_else(tmp_path, monkeypatch):
    from junheng.workspace import Workspace, WorkspaceError

    monkeypatch.delenv("JUNHENG_SECURE_COOKIES", raising=False)
    workspace = Workspace(tmp_path)
    workspace.create()
    assert workspace.settings().secure_cookies is None
    for text, value in (("true", True), ("false", False), ('"auto"', None)):
        workspace.config_path.write_text(f'secret_key = "k"\nsecure_cookies = {text}\n', encoding="utf-8")
        assert workspace.settings().secure_cookies is value
    monkeypatch.setenv("JUNHENG_SECURE_COOKIES", "yes")
    assert workspace.settings().secure_cookies is True
    monkeypatch.setenv("JUNHENG_SECURE_COOKIES", "maybe")
    with pytest.raises(WorkspaceError, match="应为 true、false 或 auto"):
        workspace.settings()


# ---------------------------------------------------------------- API tokens


def _token(world, username: str, **options) -> str:
    with world.database.session() as s:
        return create_token(s, s.scalar(select(User).where(User.username == username)), "测试", **options)


def _put(client: TestClient, token: str):
    return client.put(f"/api/v1/schools/P1/years/{builders.YEAR}", headers={"Authorization": f"Bearer {token}"},
                      json={"values": {"teachers": 41}})


def test_a_read_token_reads_and_is_refused_every_write(web_world):
    client = TestClient(web_world.app())
    read = _token(web_world, "county", scope="read")
    headers = {"Authorization": f"Bearer {read}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.get(f"/api/v1/schools/P1/years/{builders.YEAR}", headers=headers).status_code == 200
    before = _count(web_world, AuditEntry)
    refused = _put(client, read)
    assert refused.status_code == 403 and "只有读取权限" in refused.json()["detail"]
    # every write route of the API, whatever its body: the rule is in the dependency they all share
    writes = [(method.upper(), path) for path, operations in web_world.app().openapi()["paths"].items()
              for method in operations if method.upper() in ("POST", "PUT", "PATCH", "DELETE")]
    assert len(writes) >= 4
    for method, path in writes:
        url = re.sub(r"\{year\}", str(builders.YEAR), re.sub(r"\{code\}", "P1" if "/schools/" in path else COUNTY, path))
        answer = client.request(method, url, headers=headers, json={})
        assert answer.status_code == 403 and "只有读取权限" in answer.json()["detail"], (method, path)
    assert _count(web_world, AuditEntry) == before
    writer = {"Authorization": f"Bearer {_token(web_world, 'county', scope='read-write')}"}
    written = client.post(f"/api/v1/counties/{COUNTY}/evaluations", headers=writer, json={"year": builders.YEAR})
    assert written.status_code == 201, written.text


def test_an_expired_token_answers_401_in_chinese(web_world):
    token = _token(web_world, "county", scope="read-write", days=1)
    client = TestClient(web_world.app())
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with web_world.database.session() as s:
        row = s.scalar(select(ApiToken).order_by(ApiToken.id.desc()))
        row.expires_at = utcnow() - timedelta(minutes=1)
    answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and "过期" in answer.json()["detail"] and answer.headers["www-authenticate"]
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer jh_nope"}).json()["detail"].startswith(
        "API 令牌无效")


def test_tokens_are_revoked_when_the_password_is_reset_or_changed(web_world):
    client = TestClient(web_world.app())
    first, second = _token(web_world, "county", scope="read-write"), _token(web_world, "county")
    other = _token(web_world, "viewer")
    me = lambda token: client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})  # noqa: E731
    assert me(first).status_code == me(second).status_code == 200
    admin = web_world.login("admin")
    county_session = web_world.login("county")
    target = _user(web_world, "county").id
    assert admin.post(f"/admin/users/{target}/password", {"password_mode": "generate"}).status_code == 200
    for token in (first, second):
        answer = me(token)
        assert answer.status_code == 401 and "撤销" in answer.json()["detail"]
    assert me(other).status_code == 200  # another user's token is untouched
    assert county_session.get("/account/password", follow_redirects=False).status_code == 303  # logged out
    [entry] = [e for e in web_world.audit(entity="user", field="password") if e.entity_key == "county"]
    assert entry.note == "密码已重置(自动生成);已撤销其 API 令牌 2 个"

    # the user's own change revokes theirs too
    viewer = web_world.login("viewer")
    assert viewer.post("/account/password", {"old": PASSWORD, "new": NEW_PASSWORD,
                                             "repeat": NEW_PASSWORD}).status_code == 303
    assert me(other).status_code == 401


def test_a_forced_users_token_still_works(web_world):
    """Tokens are issued deliberately by an administrator to another system: the forced change
    guards the password (which someone else knows), not the token."""
    token = _token(web_world, "county")
    with web_world.database.session() as s:
        s.scalar(select(User).where(User.username == "county")).must_change_password = True
    client = TestClient(web_world.app())
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_changed_grant_or_a_disabled_user_counts_from_the_very_next_request(web_world):
    """Who a request acts as is read from the database on every request (one query, nothing kept
    between requests): a grant taken away or a user disabled in another unit of work (another
    worker, the command line) is seen by the next page view and the next API call."""
    from junheng.store.models import RoleGrant

    token = _token(web_world, "county")
    browser = web_world.login("county")
    client = TestClient(web_world.app())
    me = lambda: client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})  # noqa: E731
    assert browser.get(f"/counties/{COUNTY}").status_code == 200
    assert me().json()["roles"] == ["county_admin"]
    target = _user(web_world, "county").id
    with web_world.database.session() as s:
        for grant in s.scalars(select(RoleGrant).where(RoleGrant.user_id == target)):
            s.delete(grant)
    assert browser.get(f"/counties/{COUNTY}").status_code == 403
    assert me().status_code == 200 and me().json()["roles"] == []
    with web_world.database.session() as s:
        s.get(User, target).active = False
    assert browser.get(f"/counties/{COUNTY}", follow_redirects=False).status_code in (302, 303)
    assert me().status_code == 401 and "停用" in me().json()["detail"]

"""Issue 11 #13: brute-force protection of /login. After 10 failed logins in 15 minutes for one
account, or from one client address, every login of it is answered 429 with a Chinese message
saying when to try again (the right password too) for 15 minutes; each lock is in the audit log.
The counts are in the database, so several workers (applications) count the same failures."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from web_world import PASSWORD, login

from junheng.store.models import AuditEntry, LoginThrottle, User, WebSession
from junheng.web.app import create_app


def _attempt(app, username: str, password: str, address: str = "10.0.0.1"):
    client = TestClient(app, client=(address, 50000))
    return client.post("/login", data={"username": username, "password": password}, follow_redirects=False)


def _sessions(world) -> int:
    with world.database.session() as s:
        return s.scalar(select(func.count()).select_from(WebSession))


def _lockouts(world) -> list[AuditEntry]:
    with world.database.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.entity == "login").order_by(AuditEntry.id)))


def test_ten_wrong_passwords_lock_the_account_whatever_the_address(web_world):
    app = web_world.app()
    for n in range(9):
        response = _attempt(app, "county", "wrong-password", f"10.0.1.{n}")
        assert response.status_code == 401 and "用户名或密码不正确" in response.text
    tenth = _attempt(app, "county", "wrong-password", "10.0.1.9")
    assert tenth.status_code == 429
    assert "登录失败次数过多" in tenth.text and "北京时间" in tenth.text and "Traceback" not in tenth.text
    assert re.search(r"请在 \d{4}-\d{2}-\d{2} \d{2}:\d{2}", tenth.text)
    assert 0 < int(tenth.headers["retry-after"]) <= 15 * 60
    sessions = _sessions(web_world)
    right = _attempt(app, "county", PASSWORD, "10.0.1.10")  # the right password, from elsewhere: refused too
    assert right.status_code == 429 and "set-cookie" not in right.headers
    assert _sessions(web_world) == sessions  # no login was started
    assert _attempt(app, "admin", PASSWORD, "10.0.1.10").status_code == 303  # other accounts are not locked

    (entry,) = _lockouts(web_world)
    with web_world.database.session() as s:
        county_user = s.scalar(select(User).where(User.username == "county"))
    assert (entry.via, entry.entity_key, entry.field, entry.user_id) == ("system", "account:county", "locked_until",
                                                                        county_user.id)
    assert entry.county_id is not None and "登录失败 10 次" in entry.note and entry.new
    log = login(app, "admin").get("/admin/audit", params={"entity": "login"}).text  # 管理操作记录
    assert "暂停登录至" in log and "account:county" in log


def test_ten_failures_from_one_address_lock_that_address(web_world):
    app = web_world.app()
    for n in range(9):
        assert _attempt(app, f"guess{n}", "x", "10.0.2.1").status_code == 401  # unknown accounts count too
    assert _attempt(app, "guess9", "x", "10.0.2.1").status_code == 429
    assert _attempt(app, "admin", PASSWORD, "10.0.2.1").status_code == 429
    assert _attempt(app, "admin", PASSWORD, "10.0.2.2").status_code == 303
    assert [e.entity_key for e in _lockouts(web_world)] == ["address:10.0.2.1"]


def test_the_lock_ends_after_fifteen_minutes_and_a_success_forgets_the_account(web_world):
    app = web_world.app()
    for n in range(10):
        _attempt(app, "school", "wrong", f"10.0.3.{n}")
    assert _attempt(app, "school", PASSWORD, "10.0.3.20").status_code == 429
    with web_world.database.session() as s:  # sixteen minutes later
        for row in s.scalars(select(LoginThrottle)):
            row.window_start -= timedelta(minutes=16)
            if row.locked_until is not None:
                row.locked_until -= timedelta(minutes=16)
    assert _attempt(app, "school", PASSWORD, "10.0.3.20").status_code == 303
    with web_world.database.session() as s:
        assert s.scalar(select(func.count()).select_from(LoginThrottle).where(LoginThrottle.scope == "account")) == 0
    for n in range(9):  # a fresh window: nine more failures are only failures
        assert _attempt(app, "school", "wrong", f"10.0.4.{n}").status_code == 401


def test_several_workers_count_the_same_failures(web_world):
    workers = [create_app(web_world.settings, web_world.database) for _ in range(2)]
    answers = [_attempt(workers[n % 2], "viewer", "wrong", f"10.0.5.{n}").status_code for n in range(10)]
    assert answers == [401] * 9 + [429]
    assert _attempt(workers[0], "viewer", PASSWORD, "10.0.5.99").status_code == 429
    assert _attempt(workers[1], "viewer", PASSWORD, "10.0.5.99").status_code == 429

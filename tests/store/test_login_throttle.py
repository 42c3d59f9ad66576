"""Issue 11 #13, in the store: failed logins are counted in the database (table login_throttle,
migration 0004), so that several workers — here two engines, and ten threads at once — count the
same failures and lock at the tenth (SQLite and PostgreSQL)."""

import threading

from sqlalchemy import func, select

from junheng.store.db import Database
from junheng.store.models import AuditEntry, LoginThrottle, utcnow
from junheng.store.users import (
    LOGIN_FAILURE_LIMIT,
    LOGIN_LOCKOUT,
    clear_login_failures,
    login_keys,
    login_locked_until,
    record_login_failure,
)


def test_two_workers_count_the_same_failures_and_lock_at_the_tenth(database):
    other = Database(database.url)  # a second worker's engine on the same store
    now = utcnow()
    try:
        for n in range(LOGIN_FAILURE_LIMIT - 1):
            with (database if n % 2 else other).session() as s:
                assert record_login_failure(s, "xian", f"10.0.0.{n}", now) is None
        with other.session() as s:
            until = record_login_failure(s, "Xian", "10.0.0.99", now)  # the username as typed, case-folded
        assert until == now + LOGIN_LOCKOUT
        with database.session() as s:
            assert login_locked_until(s, login_keys(" XIAN ", "192.0.2.1"), now) == until
            assert login_locked_until(s, login_keys("xian", "192.0.2.1"), now + LOGIN_LOCKOUT) is None
            assert login_locked_until(s, login_keys("shi", "10.0.0.1"), now) is None
            (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.entity == "login")).all()
            assert entry.entity_key == "account:xian" and entry.user_id is None  # no such user: locked all the same
            clear_login_failures(s, "XIAN")
        with database.session() as s:
            assert login_locked_until(s, login_keys("xian", "192.0.2.1"), now) is None
    finally:
        other.engine.dispose()


def test_failures_at_the_same_moment_are_all_counted(database):
    engines = [database, Database(database.url)]
    start = threading.Barrier(LOGIN_FAILURE_LIMIT)
    errors = []

    def fail(n: int) -> None:
        try:
            start.wait()
            with engines[n % 2].session() as s:
                record_login_failure(s, "shi", f"10.1.0.{n}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fail, args=(n,)) for n in range(LOGIN_FAILURE_LIMIT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engines[1].engine.dispose()
    assert errors == []
    with database.session() as s:
        row = s.scalar(select(LoginThrottle).where(LoginThrottle.scope == "account", LoginThrottle.key == "shi"))
        assert row.failures == LOGIN_FAILURE_LIMIT and row.locked_until is not None
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "login")) == 1

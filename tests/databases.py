"""Scratch stores for the tests: a SQLite file in a folder, or a fresh database on the PostgreSQL
server at JUNHENG_TEST_POSTGRES_URL (127.0.0.1:5432 by default), dropped afterwards. Used by the
`database` fixture (tests/conftest.py) and by the module-scoped worlds of the web tests."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from junheng.store.db import Database

POSTGRES_ADMIN_URL = os.environ.get("JUNHENG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
KINDS = ["sqlite", "postgresql"]  # the `params` of the fixtures that run on both


_TEMPLATES: dict[str, str] = {}  # kind → a store migrated once per test process, copied for each test


def _sqlite_template() -> str:
    """A SQLite file at the newest schema, made once per process (migrating costs ~0.25 s a test)."""
    if "sqlite" not in _TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="junheng-template-"))
        template = Database(f"sqlite:///{folder / 'junheng.db'}")
        template.migrate()
        with template.engine.connect() as conn:  # everything in the main file, nothing in the WAL
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        template.engine.dispose()
        atexit.register(shutil.rmtree, folder, True)
        _TEMPLATES["sqlite"] = str(folder / "junheng.db")
    return _TEMPLATES["sqlite"]


def _admin():
    return create_engine("postgresql+psycopg://" + POSTGRES_ADMIN_URL.removeprefix("postgresql://"),
                         isolation_level="AUTOCOMMIT")


def _url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _postgres_template(admin) -> str:
    """A PostgreSQL database at the newest schema, made once per process and dropped at its end;
    each test gets a new database copied from it (CREATE DATABASE … TEMPLATE: about half the time
    of migrating one). Each test's database has a name of its own: caches keyed by the database's
    address (junheng.store.evaluations) never see another test's rows."""
    if "postgresql" not in _TEMPLATES:
        name = f"junheng_template_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        template = Database(_url(name))
        template.migrate()
        template.engine.dispose()  # a template must have no connections while it is copied

        def drop() -> None:
            engine = _admin()
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()

        atexit.register(drop)
        _TEMPLATES["postgresql"] = name
    return _TEMPLATES["postgresql"]


@contextmanager
def scratch_database(kind: str, folder: Path) -> Iterator[Database]:
    """An empty store of `kind` at the newest schema, copied from one migrated once per process
    ("sqlite": folder/junheng.db; "postgresql": a new database, dropped afterwards). Skips the
    test when no PostgreSQL server answers, except in CI, where that is an error. (The migrations
    themselves are tested from each revision in tests/store.)"""
    if kind == "sqlite":
        shutil.copyfile(_sqlite_template(), Path(folder) / "junheng.db")
        database = Database(f"sqlite:///{Path(folder) / 'junheng.db'}")
        try:
            yield database
        finally:
            database.engine.dispose()
        return
    admin = _admin()
    name = f"junheng_test_{uuid.uuid4().hex[:12]}"
    try:
        template = _postgres_template(admin)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    except Exception as exc:  # no server here
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    database = Database(_url(name))
    try:
        yield database
    finally:
        database.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

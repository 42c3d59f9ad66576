"""Scratch stores for the tests: a SQLite file in a folder, or a fresh database on the PostgreSQL
server at JUNHENG_TEST_POSTGRES_URL (127.0.0.1:5432 by default), dropped afterwards. Used by the
`database` fixture (tests/conftest.py) and by the module-scoped worlds of the web tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from junheng.store.db import Database

POSTGRES_ADMIN_URL = os.environ.get("JUNHENG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
KINDS = ["sqlite", "postgresql"]  # the `params` of the fixtures that run on both


@contextmanager
def scratch_database(kind: str, folder: Path) -> Iterator[Database]:
    """A migrated store of `kind` ("sqlite": folder/junheng.db; "postgresql": a new database),
    disposed (and dropped) afterwards. Skips the test when no PostgreSQL server answers, except
    in CI, where that is an error."""
    if kind == "sqlite":
        database = Database(f"sqlite:///{Path(folder) / 'junheng.db'}")
        database.migrate()
        try:
            yield database
        finally:
            database.engine.dispose()
        return
    admin = create_engine("postgresql+psycopg://" + POSTGRES_ADMIN_URL.removeprefix("postgresql://"),
                          isolation_level="AUTOCOMMIT")
    name = f"junheng_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server here
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    database = Database(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        database.migrate()
        yield database
    finally:
        database.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

"""The engine's backends for the cross-backend tests (tests/engine/test_backends.py): one of each
per test session, PostgreSQL at the test server (tests/databases.py) in a schema of its own and
Spark in local[2] mode, started once (its JVM costs seconds). A backend this machine lacks is
skipped, except in CI, where that is an error."""

from __future__ import annotations

import contextlib
import os

import pytest
from databases import POSTGRES_ADMIN_URL

from junheng.engine.backends import BackendError, open_backend


@contextlib.contextmanager
def _session_backend(name: str, **settings):
    stack = contextlib.ExitStack()
    try:
        backend = stack.enter_context(open_backend(name, **settings))
    except BackendError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"{name} 后端不可用:{exc}")
    with stack:
        yield backend


@pytest.fixture(scope="session")
def postgres_backend():
    with _session_backend("postgres", database_url=POSTGRES_ADMIN_URL) as backend:
        yield backend


@pytest.fixture(scope="session")
def spark_backend():
    with _session_backend("spark") as backend:
        yield backend


@pytest.fixture(scope="session")
def duckdb_backend():
    """The Ibis DuckDB backend (not the embedded default, None): the generic path of Tables."""
    import ibis

    backend = ibis.duckdb.connect()
    yield backend
    backend.disconnect()

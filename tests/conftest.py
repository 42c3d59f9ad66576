"""Shared test set-up: tests/builders.py on the path, a private query cache, and the `database`
fixture that runs store tests on both SQLite and the real PostgreSQL server."""

import os
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

# tests/builders.py is shared by the test packages
sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("JUNHENG_CACHE_DIR", str(Path(__file__).parent.parent / ".pytest_cache" / "junheng"))

from junheng.store.db import Database  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get("JUNHENG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _postgres_database():
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    admin_url = "postgresql+psycopg://" + POSTGRES_ADMIN_URL.removeprefix("postgresql://")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = f"junheng_test_{uuid.uuid4().hex[:12]}"
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server here
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    return admin, name, url


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'junheng.db'}")
        db.migrate()
        yield db
        db.engine.dispose()
        return
    admin, name, url = _postgres_database()
    db = Database(url)
    db.migrate()
    yield db
    db.engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()

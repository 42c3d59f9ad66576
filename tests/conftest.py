"""Shared test set-up: tests/builders.py on the path, a private query cache, and the `database`
fixture that runs store tests on both SQLite and the real PostgreSQL server."""

import os
import sys
from pathlib import Path

import pytest

# tests/builders.py (and tests/databases.py) are shared by the test packages
sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("JUNHENG_CACHE_DIR", str(Path(__file__).parent.parent / ".pytest_cache" / "junheng"))

from databases import KINDS, scratch_database  # noqa: E402


@pytest.fixture(params=KINDS)
def database(request, tmp_path):
    with scratch_database(request.param, tmp_path) as db:
        yield db

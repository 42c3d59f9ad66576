"""Shared test set-up: tests/builders.py on the path, a private query cache, and the `database`
fixture that runs store tests on both SQLite and the real PostgreSQL server."""

import os
import sys
from datetime import date
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


# ---------------------------------------------------------------- the clock

FROZEN_TODAY = date(2026, 12, 1)  # the 2026—2027 school year, in its autumn


@pytest.fixture(scope="module")
def frozen_clock():
    """Today frozen at FROZEN_TODAY (Beijing time) for a test module, through the product's one
    clock `junheng.schoolyear.local_today` (the school year under way, the pages' deadlines,
    overdue tasks, schedules). Module scope, so that module-scoped worlds and servers built by
    the module see it too; tests/web/conftest.py turns it on for every web test."""
    from junheng import schoolyear

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(schoolyear, "local_today", lambda: FROZEN_TODAY)
        yield FROZEN_TODAY

"""Shared fixtures of the web tests. Fixtures of the JSON API tests are prefixed `api_`.

The API world: province 测试省 → city 测试市 (990100) with counties A (990101) and B (990102),
and a second city 另一市 (990200) with county C (990201), imported approved; one user per role
with an API token (admin; supervisor of 测试市; county_admin, viewer of A; school_filler of A's
first school). School codes differ per county (A-P1, B-P1, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import builders
import pandas as pd
import pytest
from databases import KINDS, scratch_database
from sqlalchemy import func, select

from junheng.data.dataset import Dataset
from junheng.store import repo
from junheng.store.db import Database
from junheng.store.models import (
    AuditEntry,
    CountyYear,
    EvaluationRun,
    School,
    SchoolYear,
    User,
)
from junheng.store.users import create_token, grant
from junheng.workspace import Settings

API_YEAR = builders.YEAR
API_CITY, API_A, API_B, API_C = "990100", "990101", "990102", "990201"
API_SCHOOLS = {  # county → (school code, type)
    API_A: [("A-P1", "primary"), ("A-P2", "primary"), ("A-J1", "junior"), ("A-N1", "nine_year")],
    API_B: [("B-P1", "primary"), ("B-J1", "junior")],
    API_C: [("C-P1", "primary"), ("C-J1", "junior")],
}
API_COUNTY_NAMES = {API_A: "甲县", API_B: "乙县", API_C: "丙县"}
API_CITIES = {API_A: "测试市", API_B: "测试市", API_C: "另一市"}
API_ROLES = {  # username → (role, scope)
    "admin": ("admin", None),
    "supervisor": ("supervisor", API_CITY),
    "county_admin": ("county_admin", API_A),
    "school_filler": ("school_filler", "A-P1"),
    "viewer": ("viewer", API_A),
}


def api_dataset() -> Dataset:
    schools, years, county_years, quality, counties = [], [], [], [], []
    for code, members in API_SCHOOLS.items():
        for school_id, school_type in members:
            schools.append(builders.school(school_id, school_type, county_code=code,
                                           county_name=API_COUNTY_NAMES[code]))
            years.append(builders.school_year(school_id, school_type, students=600))
        county_years.append({**builders.county_year(), "county_code": code})
        quality += [{**row, "county_code": code} for row in builders.quality()]
        counties.append({"county_code": code, "county_name": API_COUNTY_NAMES[code], "city": API_CITIES[code],
                         "province": "测试省", "standard": "national-2017", "target_year": 2026})
    return Dataset.from_frames(source="tests", schools=pd.DataFrame(schools), school_year=pd.DataFrame(years),
                               county_year=pd.DataFrame(county_years), quality=pd.DataFrame(quality),
                               counties=pd.DataFrame(counties))


def api_settings(tmp_path, database: Database) -> Settings:
    return Settings(database_url=database.url, secret_key="test-secret", uploads=tmp_path / "uploads")


def api_add_user(session, username: str, role: str, scope: str | None) -> User:
    """A user without a usable password (tokens only): argon2 hashing would cost 0.1 s each."""
    user = User(username=username, display_name=f"{username}(测试)", password_hash="!")
    session.add(user)
    session.flush()
    grant(session, user, role, scope)
    return user


@dataclass
class ApiWorld:
    database: Database
    settings: Settings
    tokens: dict[str, str] = field(default_factory=dict)  # username → bearer token
    baseline: dict = field(default_factory=dict)  # (kind, key) → (values, status, version)
    current: dict | None = None  # the `statuses` of the last reset; None once a write may have changed rows
    audit_mark: int = 0  # a test's first audit entry id - 1 (tests that look at the audit log set it)

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"} if username in self.tokens else {}

    def client(self):
        from fastapi.testclient import TestClient

        from junheng.web.app import create_app

        return TestClient(create_app(self.settings, self.database))

    def snapshot(self) -> dict:
        """Everything a write could change: yearly values, statuses, versions, audit, runs."""
        with self.database.session() as s:
            rows = {("school_year", f"{r.school.code}/{r.year}"): (r.values, r.status, r.version, r.status_note)
                    for r in s.scalars(select(SchoolYear))}
            rows |= {("county_year", f"{r.county.code}/{r.year}"): (r.values, r.status, r.version, r.status_note)
                     for r in s.scalars(select(CountyYear))}
            rows["audit"] = s.scalar(select(func.count()).select_from(AuditEntry))
            rows["runs"] = s.scalar(select(func.count()).select_from(EvaluationRun))
            rows["schools"] = sorted((x.code, x.name, x.school_type, str(x.values)) for x in s.scalars(select(School)))
            return rows

    def ensure(self, statuses: dict[tuple[str, str], str] | None = None) -> None:
        """`reset(statuses)` unless the rows are known to be in that state already."""
        if self.current != (statuses or {}):
            self.reset(statuses)

    def reset(self, statuses: dict[tuple[str, str], str] | None = None) -> None:
        """Back to the imported values; every row approved unless `statuses` says otherwise
        (test set-up only: written directly, not audited)."""
        statuses = statuses or {}
        self.current = statuses
        with self.database.session() as s:
            for r in s.scalars(select(SchoolYear)):
                key = ("school_year", f"{r.school.code}/{r.year}")
                values, _, version = self.baseline[key]
                r.values, r.status, r.version, r.status_note = dict(values), statuses.get(key, "approved"), version, None
            for r in s.scalars(select(CountyYear)):
                key = ("county_year", f"{r.county.code}/{r.year}")
                values, _, version = self.baseline[key]
                r.values, r.status, r.version, r.status_note = dict(values), statuses.get(key, "approved"), version, None


def api_build_world(database: Database, tmp_path) -> ApiWorld:
    with database.session() as s:
        repo.import_dataset(s, api_dataset(), user=None, via="cli", note="测试数据", status="approved")
    world = ApiWorld(database=database, settings=api_settings(tmp_path, database))
    with database.session() as s:
        for username, (role, scope) in API_ROLES.items():
            world.tokens[username] = create_token(s, api_add_user(s, username, role, scope), "测试")
        for r in s.scalars(select(SchoolYear)):
            world.baseline[("school_year", f"{r.school.code}/{r.year}")] = (dict(r.values), r.status, r.version)
        for r in s.scalars(select(CountyYear)):
            world.baseline[("county_year", f"{r.county.code}/{r.year}")] = (dict(r.values), r.status, r.version)
    world.current = {}  # everything approved, as imported
    return world


# ---------------------------------------------------------------- databases for the API tests

@pytest.fixture(scope="module", params=KINDS)
def api_module_world(request, tmp_path_factory) -> ApiWorld:
    """One API world per test module and database (SQLite and PostgreSQL): for tests that
    restore what they change (`world.reset`), such as the access matrix."""
    tmp_path = tmp_path_factory.mktemp("api")
    with scratch_database(request.param, tmp_path) as database:
        yield api_build_world(database, tmp_path)


@pytest.fixture
def api_world(database, tmp_path) -> ApiWorld:
    """A fresh API world per test, on SQLite and on PostgreSQL (the `database` fixture)."""
    return api_build_world(database, tmp_path)


# ---------------------------------------------------------------- the web pages (forms, review, upload, audit)
# Fixtures prefixed `web_`; the world itself lives in tests/web/web_world.py (logged-in clients
# with their CSRF token: `web_world.login("county")`).

import sys as _sys  # noqa: E402
from pathlib import Path as _Path  # noqa: E402

_sys.path.insert(0, str(_Path(__file__).parent))
from web_world import WebWorld, web_build_world, web_template_database  # noqa: E402

# the browser tests' fixtures: `chromium` (Debian's Chromium, or a skip) and `browser` (one per module)
from browser import browser, chromium  # noqa: E402,F401


@pytest.fixture(scope="module", autouse=True)
def _web_clock(frozen_clock):
    """Every web test sees the same today (tests/conftest.py `frozen_clock`): the dashboard's
    year to fill in, deadlines, overdue tasks and schedules never depend on the day the suite
    runs."""
    return frozen_clock


@pytest.fixture(scope="session")
def web_template(tmp_path_factory):
    """The web world's database, built once per test session."""
    return web_template_database(tmp_path_factory.mktemp("web-template"))


@pytest.fixture
def web_world(tmp_path, web_template) -> WebWorld:
    """A fresh SQLite store (a copy of the template) with two counties and one user per role
    who can log in."""
    world = web_build_world(tmp_path, web_template)
    yield world
    world.database.engine.dispose()

"""A small world for the web page tests (forms, review, upload, audit): builders' county 990001
(P1, P2, P3, J1, J2, N1; year 2024) imported approved, a second county 990002 with one school
Q1, and one user per role who can log in with PASSWORD (the `web_world` fixture, SQLite; the
same world on any store, PostgreSQL too, with `web_world_on(database, folder)`).

The pieces serve the other web worlds too: `seed_store` (data imported approved, users who log
in with PASSWORD), `web_settings`, and `login(app, username)` (a `WebClient` with its CSRF token)."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import builders
import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from junheng.data.dataset import Dataset
from junheng.store import repo
from junheng.store.db import Database
from junheng.store.models import AuditEntry, CountyYear, OrgNode, QualityRow, School, SchoolYear, User
from junheng.store.users import grant, hash_password
from junheng.web.app import create_app
from junheng.workspace import Settings

PASSWORD = "password123"
COUNTY, OTHER_COUNTY = builders.COUNTY, "990002"
YEAR = builders.YEAR
ROLE_OF_NAME = {"admin": "admin", "supervisor": "supervisor", "county": "county_admin", "viewer": "viewer",
                "school": "school_filler"}


def role_users(**scopes: str | None) -> dict[str, tuple[str, str | None]]:
    """username → (role, scope) for test users named after their role, in the order given:
    admin, supervisor, county (county_admin), viewer, school (school_filler), each optionally
    prefixed `other_` or `far_` (a second one out of the first one's reach)."""
    return {name: (ROLE_OF_NAME[name.removeprefix("other_").removeprefix("far_")], scope)
            for name, scope in scopes.items()}


WEB_USERS = role_users(admin=None, county=COUNTY, school="P1", viewer=COUNTY, other_county=OTHER_COUNTY,
                       other_school="Q1")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@lru_cache(maxsize=1)
def password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 costs ~0.1 s: hash once, share between users


def web_dataset() -> Dataset:
    schools = [builders.school(i, t) for i, t in builders.default_schools()]
    schools.append(builders.school("Q1", "primary", county_code=OTHER_COUNTY, county_name="另一县"))
    years = [builders.school_year(s["school_id"], s["school_type"]) for s in schools]
    county_years = [builders.county_year(), {**builders.county_year(), "county_code": OTHER_COUNTY}]
    return Dataset.from_frames(source="tests", schools=pd.DataFrame(schools), school_year=pd.DataFrame(years),
                               county_year=pd.DataFrame(county_years), quality=pd.DataFrame(builders.quality()))


class WebClient:
    """A logged-in browser: a TestClient with the session's CSRF token at hand."""

    def __init__(self, client: TestClient, csrf: str):
        self.client, self.csrf = client, csrf

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict | None = None, *, csrf: bool = True, files=None, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf)
        kwargs.setdefault("follow_redirects", False)
        return self.client.post(url, data=data, files=files, **kwargs)


def login(app, username: str, password: str = PASSWORD) -> WebClient:
    """Log `username` in on `app` through the login form; the client with its CSRF token."""
    client = TestClient(app)
    response = client.post("/login", data={"username": username, "password": password}, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get("/account/password")  # a cheap page (the home page evaluates the county)
    match = CSRF.search(page.text)
    assert match, "no CSRF token on the page after login"
    return WebClient(client, match.group(1))


def add_users(session, users: dict[str, tuple[str, str | None]]) -> None:
    """One user per `users` entry (username → (role, scope)) who can log in with PASSWORD."""
    for username, (role, scope) in users.items():
        user = User(username=username, display_name=f"{username}(测试)", password_hash=password_hash())
        session.add(user)
        session.flush()
        grant(session, user, role, scope)


def seed_store(database: Database, datasets: Dataset | list[Dataset], users: dict) -> None:
    """Import the dataset(s) approved (as `junheng import` does), then add the users (see
    `add_users`)."""
    with database.session() as s:
        for dataset in [datasets] if isinstance(datasets, Dataset) else datasets:
            repo.import_dataset(s, dataset, user=None, via="cli", note="测试数据", status="approved")
    with database.session() as s:
        add_users(s, users)


def web_settings(database: Database, uploads: Path, **extra) -> Settings:
    """The web app's settings for a test store: a fixed secret key, uploads kept in `uploads`."""
    return Settings(database_url=database.url, secret_key="test-secret", uploads=uploads, **extra)


@dataclass
class WebWorld:
    database: Database
    settings: Settings

    def app(self):
        if not hasattr(self, "_app"):
            self._app = create_app(self.settings, self.database)  # one app per world; a client per user
        return self._app

    def login(self, username: str) -> WebClient:
        return login(self.app(), username)

    # ------------------------------------------------------------ looking at the store

    def school_year(self, code: str, year: int = YEAR) -> SchoolYear | None:
        with self.database.session() as s:
            school = s.scalar(select(School).where(School.code == code))
            return s.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == year))

    def county_year(self, code: str = COUNTY, year: int = YEAR) -> CountyYear | None:
        with self.database.session() as s:
            county = repo.county_by_code(s, code)
            return s.scalar(select(CountyYear).where(CountyYear.county_id == county.id, CountyYear.year == year))

    def audit(self, **where) -> list[AuditEntry]:
        with self.database.session() as s:
            query = select(AuditEntry).options(selectinload(AuditEntry.user)).order_by(AuditEntry.id)
            for key, value in where.items():
                query = query.where(getattr(AuditEntry, key) == value)
            return list(s.scalars(query))

    def audit_count(self) -> int:
        with self.database.session() as s:
            return s.scalar(select(func.count()).select_from(AuditEntry))

    def snapshot(self) -> dict:
        """Every stored value, status and version (schools, counties and their attributes,
        school-, county-year and quality rows), and the audit log's size."""
        with self.database.session() as s:
            out = {("school_year", f"{r.school.code}/{r.year}"): (r.values, r.status, r.version, r.deleted_at)
                   for r in s.scalars(select(SchoolYear))}
            out |= {("county_year", f"{r.county.code}/{r.year}"): (r.values, r.status, r.version)
                    for r in s.scalars(select(CountyYear))}
            out |= {("school", x.code): (x.name, x.school_type, x.values, x.deleted_at)
                    for x in s.scalars(select(School))}
            out |= {("county", c.code): (c.name, c.parent_id, *(getattr(c, a) for a in repo.COUNTY_ATTRIBUTES))
                    for c in s.scalars(select(OrgNode))}
            out |= {("quality", f"{q.county_id}/{q.year}/{q.subject}"): (q.level, q.inter_school_diff_rate,
                                                                          q.deleted_at)
                    for q in s.scalars(select(QualityRow))}
            out["audit"] = s.scalar(select(func.count()).select_from(AuditEntry))
            return out

    def set_status(self, code: str, status: str, year: int = YEAR) -> None:
        """Test set-up: put a school-year into a workflow state directly (not audited)."""
        with self.database.session() as s:
            school = s.scalar(select(School).where(School.code == code))
            row = s.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == year))
            row.status = status


def web_world_on(database: Database, folder: Path, users: dict | None = None) -> WebWorld:
    """The same world on any migrated, empty store (SQLite or PostgreSQL: `scratch_database`):
    the web dataset imported approved and `users` (WEB_USERS by default) who log in with PASSWORD;
    uploads kept in folder/uploads."""
    seed_store(database, web_dataset(), WEB_USERS if users is None else users)
    return WebWorld(database, web_settings(database, folder / "uploads", upload_limit_bytes=2 * 1024 * 1024))


def web_template_database(folder: Path) -> Path:
    """Build the world's database once (import, users); tests start from copies of the file."""
    path = folder / "template.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    seed_store(database, web_dataset(), WEB_USERS)
    database.engine.dispose()  # the last connection closed: the WAL is folded into the file
    return path


def web_build_world(tmp_path: Path, template: Path | None = None) -> WebWorld:
    if template is None:
        template = web_template_database(tmp_path)
    shutil.copyfile(template, tmp_path / "junheng.db")
    database = Database(f"sqlite:///{tmp_path / 'junheng.db'}")
    return WebWorld(database, web_settings(database, tmp_path / "uploads", upload_limit_bytes=2 * 1024 * 1024))

"""The pages' access-control matrix: every HTML route (GET page, download and POST form handler
of `app.routes` outside /api/v1) × every role × own and other county, in one table, as the
API's matrix does (tests/web/test_access_matrix.py). A route added without an entry here fails
`test_every_page_route_has_an_entry`.

The world (tests/web/web_world.py): county 990001 (P1, P2, P3, J1, J2, N1) and county 990002
(Q1), imported approved; users admin, supervisor (of 990001), county (county_admin of 990001),
viewer (of 990001), school (school_filler of P1), and anonymous (no session). "own" addresses
county 990001 (school P1, its task, upload, scenario, user); "other" addresses county 990002
(school Q1, ...), out of everyone's scope but the system admin's. Each county has a survey
(`_survey_world`: open, codes issued, three responses submitted, scored); the public survey page
/s/<key> is reached by the own county's survey's public key, with no login and no county scope.

Outcomes: OK (2xx, or a 303 that does not go to /login), 403, 404 (the page hides that the
thing exists), LOGIN (303 to /login?next=...). Every refusal is a Chinese page; a refused write
(POST) leaves every table of the store unchanged (a full dump of every table before and after).

The whole matrix runs on SQLite (the store is restored from a copy after each allowed write);
the form saves, the upload apply and the trend page run on PostgreSQL too."""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from databases import scratch_database
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_world import COUNTY, OTHER_COUNTY, YEAR, WebWorld, login, role_users, web_world_on

from junheng.monitor.tasks import create_task
from junheng.store import repo
from junheng.store.db import Database
from junheng.store.models import (
    Base,
    CountyYear,
    MonitorWarning,
    TaskAttachment,
    NotificationSubscription,
    QualityRow,
    RoleGrant,
    School,
    SchoolYear,
    Survey,
    User,
    utcnow,
)
from junheng.store.users import grant
from junheng.survey import collection
from junheng.survey.questionnaire import default_questionnaires
from junheng.survey.settings import default_settings
from junheng.web.routes.forms import _quality_version
from junheng.web.routes.survey_public import response_token
from junheng.web.routes.surveys import plan_for

ROLES = ["admin", "supervisor", "county", "viewer", "school", "anonymous"]  # county: county_admin, school: filler
USERS = role_users(admin=None, supervisor=COUNTY, county=COUNTY, viewer=COUNTY, school="P1",
                   other_county=OTHER_COUNTY)
OK, FORBIDDEN, NOT_FOUND, LOGIN = "ok", "403", "404", "login"
CJK = re.compile(r"[\u4e00-\u9fff]")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NEW_PASSWORD = "Jh-2026-kT9#qL"  # satisfies a strict password policy (≥ 10 characters, mixed)
SCOPES = ("own", "other")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---------------------------------------------------------------- the world


@dataclass
class Matrix:
    """The world, with one logged-in client per role and, per scope, the things the addresses
    name (county, school, task, attachment, warning, upload, scenario, user, grant)."""

    world: WebWorld
    folder: Path
    kind: str
    clients: dict[str, object] = field(default_factory=dict)
    ids: dict[str, dict[str, str]] = field(default_factory=dict)
    pristine: Path | None = None
    dirty: bool = False
    serials: int = 0

    def serial(self) -> int:
        """1, 2, 3, ...: values the store does not hold yet (PostgreSQL keeps earlier allowed writes)."""
        self.serials += 1
        return self.serials

    @property
    def database(self) -> Database:
        return self.world.database

    def client(self, role: str):
        return self.clients[role]

    def dump(self) -> dict:
        """Every row of every table, in primary-key order."""
        out = {}
        with self.database.engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
        return out

    def files(self) -> dict[str, bytes]:
        """The files a write could add or change: uploads, attachments, scenarios, cost tables."""
        out = {}
        for sub in ("uploads", "scenarios", "costs"):
            base = self.folder / sub
            if base.is_dir():
                out |= {str(p.relative_to(self.folder)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}
        return out

    def keep(self) -> None:
        """SQLite: remember the store and the files as they are (the state each case starts from)."""
        self.database.engine.dispose()  # folds the WAL into the file
        self.pristine = self.folder / "pristine"
        shutil.rmtree(self.pristine, ignore_errors=True)
        self.pristine.mkdir()
        shutil.copyfile(self.folder / "db" / "junheng.db", self.pristine / "junheng.db")
        for sub in ("uploads", "scenarios", "costs"):
            if (self.folder / sub).is_dir():
                shutil.copytree(self.folder / sub, self.pristine / sub)

    def restore(self) -> None:
        """Back to the remembered state after a write that may have changed it (SQLite only)."""
        if not self.dirty or self.pristine is None:
            return
        self.database.engine.dispose()
        db = self.folder / "db" / "junheng.db"
        for extra in ("-wal", "-shm"):
            Path(f"{db}{extra}").unlink(missing_ok=True)
        shutil.copyfile(self.pristine / "junheng.db", db)
        for sub in ("uploads", "scenarios", "costs"):
            shutil.rmtree(self.folder / sub, ignore_errors=True)
            if (self.pristine / sub).is_dir():
                shutil.copytree(self.pristine / sub, self.folder / sub)
        self.dirty = False

    # ------------------------------------------------------------ set-up helpers (written directly)

    def set_school_year(self, code: str, status: str) -> int:
        """Put `code`'s school-year of YEAR into `status`; its version."""
        with self.database.session() as s:
            row = s.scalar(select(SchoolYear).join(SchoolYear.school).where(SchoolYear.year == YEAR)
                           .where(SchoolYear.school.has(code=code)))
            row.status = status
            return row.version

    def set_county_year(self, code: str, status: str) -> int:
        with self.database.session() as s:
            county = repo.county_by_code(s, code)
            row = s.scalar(select(CountyYear).where(CountyYear.county_id == county.id, CountyYear.year == YEAR))
            row.status = status
            return row.version

    def quality_form(self, code: str) -> dict:
        """The quality form as the page posts it, with the first subject's level changed (or, for
        a county without quality rows, one subject added)."""
        with self.database.session() as s:
            county = repo.county_by_code(s, code)
            rows = s.scalars(select(QualityRow).where(QualityRow.county_id == county.id, QualityRow.year == YEAR,
                                                      QualityRow.deleted_at.is_(None))
                             .order_by(QualityRow.subject)).all()
            version = _quality_version(rows)
            subjects = [q.subject for q in rows]
            levels = [str(q.level) for q in rows]
            rates = [str(q.inter_school_diff_rate) for q in rows]
        existing = ["1"] * len(subjects)
        if subjects:
            levels[0] = "2" if levels[0] != "2" else "3"
        else:
            subjects, levels, rates, existing = ["语文"], ["3"], ["0.1"], ["0"]
        return {"quality_version": version, "subject": subjects, "level": levels, "rate": rates, "existing": existing}

    def set_values(self, code: str, **values) -> None:
        """Change `code`'s approved values of YEAR directly (test set-up, not audited)."""
        with self.database.session() as s:
            row = s.scalar(select(SchoolYear).where(SchoolYear.year == YEAR, SchoolYear.school.has(code=code)))
            row.values = {**row.values, **values}

    def workbook(self, code: str, school: str, value: float) -> bytes:
        """The county's current data (as the admin downloads it) with `school`'s sports area changed."""
        response = self.client("admin").get(f"/counties/{code}/current-data.xlsx")
        assert response.status_code == 200, response.text
        book = openpyxl.load_workbook(io.BytesIO(response.content))
        sheet = book["学校年度数据"]
        header = [c.value for c in sheet[1]]
        column = header.index("体育运动场馆面积")
        for row in sheet.iter_rows(min_row=2):
            if row[0].value == school:
                row[column].value = value
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    def new_upload(self, scope: str) -> tuple[str, str]:
        """A preview uploaded by the admin (one draft value changed): its id and fingerprint."""
        code, school = self.ids[scope]["county"], self.ids[scope]["school"]
        self.set_school_year(school, "draft")
        content = self.workbook(code, school, 12345.5 + self.serial())
        response = self.client("admin").post(f"/counties/{code}/upload", files={"file": ("数据.xlsx", content, XLSX)})
        assert response.status_code == 303, response.text
        upload_id = response.headers["location"].rsplit("/", 1)[1]
        page = self.client("admin").get(response.headers["location"])
        fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', page.text)
        assert fingerprint, page.text
        return upload_id, fingerprint.group(1)

    def subscription_of(self, username: str) -> int:
        with self.database.session() as s:
            user = s.scalar(select(User).where(User.username == username))
            sub = NotificationSubscription(user_id=user.id, channel="email", target=f"{username}@example.cn")
            s.add(sub)
            s.flush()
            return sub.id


    # ------------------------------------------------------------ the surveys

    @property
    def secret(self) -> str:
        return self.world.settings.secret_key

    def set_survey(self, scope: str, **columns) -> None:
        """Set columns of the scope's survey directly (test set-up, not audited)."""
        with self.database.session() as s:
            survey = s.get(Survey, int(self.ids[scope]["survey"]))
            for name, value in columns.items():
                setattr(survey, name, value)

    def survey_code(self, scope: str, group: str = "parents") -> str:
        """A new unused code of the scope's survey (one more per quota; a plain code exists only at
        its issuance) in a quota that is not full."""
        with self.database.session() as s:
            survey = collection.survey_by_id(s, int(self.ids[scope]["survey"]))
            issued = collection.issue_codes(s, survey, secret=self.secret, extra=1)
            return next(code for quota, code in issued if quota.group == group)

    def survey_response(self, scope: str) -> tuple[dict, dict[str, str]]:
        """A new partial response (started from a new code): the page's hidden fields (r, t) and
        every shown question answered with its first option (as the page posts them)."""
        code = self.survey_code(scope)
        with self.database.session() as s:
            survey = collection.survey_by_id(s, int(self.ids[scope]["survey"]))
            response = collection.start_or_resume(s, survey, code, secret=self.secret)
            s.flush()
            hidden = {"r": str(response.id), "t": response_token(self.secret, survey.public_key, response.id)}
            answers = {f"q_{item}": option for item, option in survey_answers(survey, response).items()}
        return hidden, answers


def survey_answers(survey: Survey, response) -> dict[str, str]:
    """Every shown question of the response's questionnaire answered with its first option."""
    q = collection.questionnaire(survey, response.questionnaire)
    return {item["id"]: options[0] for item in collection.shown_items(q) if (options := collection.options_of(q, item))}


def _survey_world(database: Database, code: str, school: str, secret: str) -> dict[str, str]:
    """The county's survey (made from its sampling plan, as the page makes one, but with small
    quotas: parents of `school` 6, teachers county-wide 4): open, codes issued, three responses
    submitted (two parents, a teacher) and scored once. Its ids: survey, key (the public key),
    result."""
    from junheng.survey.service import score_survey

    with database.session() as s:
        county = repo.county_by_code(s, code)
        county.resident_population = 400_000  # the sampling plan's population (POST /counties/{code}/surveys)
        s.flush()
        survey = collection.create_survey(s, code, YEAR, title="矩阵调查", questionnaires=default_questionnaires(),
                                          settings=default_settings(), user=None, via="cli",
                                          plan=plan_for(s, county, YEAR).to_json())
        collection.set_quotas(s, survey, [collection.QuotaRow("parents", school, 6),
                                          collection.QuotaRow("teachers", None, 4)])
        collection.open_survey(s, survey, user=None, via="cli")
        issued = collection.issue_codes(s, survey, secret=secret)
        parents = [c for q, c in issued if q.group == "parents"][:2]
        teachers = [c for q, c in issued if q.group == "teachers"][:1]
        for plain_code in parents + teachers:
            response = collection.start_or_resume(s, survey, plain_code, secret=secret)
            collection.submit(s, survey, response, survey_answers(survey, response),
                              now=response.started_at + timedelta(minutes=10))  # not too fast
        result = score_survey(s, survey, user=None, via="cli")
        return {"survey": str(survey.id), "key": survey.public_key, "result": str(result.id)}


def _build(database: Database, folder: Path, kind: str) -> Matrix:
    world = web_world_on(database, folder, USERS)
    matrix = Matrix(world, folder, kind)
    app = world.app()
    for role in ROLES:
        matrix.clients[role] = TestClient(app) if role == "anonymous" else login(app, role)
    for scope, code, school in (("own", COUNTY, "P1"), ("other", OTHER_COUNTY, "Q1")):
        ids = {"county": code, "school": school, "year": str(YEAR)}
        with database.session() as s:
            county = repo.county_by_code(s, code)
            warning = MonitorWarning(key=f"test/{code}", county_id=county.id, kind="indicator", rule_id="test",
                                     severity="red", indicator="G4", year=YEAR, title="测试预警", message="测试预警说明")
            s.add(warning)
            s.flush()
            ids["warning"] = str(warning.id)
            ids["task"] = str(create_task(s, code, title="测试任务", user=None, via="cli").id)
            member = s.scalar(select(User).where(User.username == ("viewer" if scope == "own" else "other_county")))
            ids["user"] = str(member.id)
            ids["grant"] = str(s.scalar(select(RoleGrant.id).where(RoleGrant.user_id == member.id)))
        admin = matrix.client("admin")
        response = admin.post(f"/tasks/{ids['task']}/attachments",
                              files={"file": ("佐证.pdf", b"%PDF-1.4 test evidence", "application/pdf")})
        assert response.status_code == 303, response.text
        with database.session() as s:
            attachment = select(TaskAttachment.id).where(TaskAttachment.task_id == int(ids["task"]))
            ids["attachment"] = str(s.scalar(attachment))
        matrix.ids[scope] = ids
        ids["upload"], _ = matrix.new_upload(scope)
        scenario = folder / "scenarios" / code
        scenario.mkdir(parents=True, exist_ok=True)
        (scenario / "测试情景.yaml").write_text(
            f"name: 测试情景\nchanges:\n  - type: add_building\n    school_id: {school}\n    music_rooms: 1\n", "utf-8")
        ids["scenario"] = "测试情景"
        matrix.set_school_year(school, "approved")
        ids |= _survey_world(database, code, school, matrix.secret)
    return matrix


@pytest.fixture(scope="module")
def matrix(tmp_path_factory) -> Matrix:
    folder = tmp_path_factory.mktemp("page-matrix")
    (folder / "db").mkdir()
    database = Database(f"sqlite:///{folder / 'db' / 'junheng.db'}")
    database.migrate()
    built = _build(database, folder, "sqlite")
    built.keep()
    yield built
    database.engine.dispose()


@pytest.fixture(scope="module")
def pg_matrix(tmp_path_factory) -> Matrix:
    folder = tmp_path_factory.mktemp("page-matrix-pg")
    with scratch_database("postgresql", folder / "db") as database:
        yield _build(database, folder, "postgresql")


# ---------------------------------------------------------------- the table

LOGGED_IN = ("admin", "supervisor", "county", "viewer", "school")
READ = ("admin", "supervisor", "county", "viewer")  # a county's readers
MANAGE = ("admin", "county")  # those who manage a county's data


def allow(*allowed: str, refused: str = FORBIDDEN, **exceptions: str) -> dict[str, str]:
    """role → outcome: OK for `allowed`, `refused` for the other logged-in roles, LOGIN for
    anonymous, except what `exceptions` says."""
    out = {role: OK if role in allowed else refused for role in LOGGED_IN} | {"anonymous": LOGIN}
    return out | exceptions


EVERYONE = allow(*LOGGED_IN)
ONLY_ADMIN = allow("admin")
PUBLIC = {role: OK for role in ROLES}


@dataclass(frozen=True)
class Page:
    """One route: its address per scope ({county}, {school}, {task}, ... filled from the world's
    ids), the outcome per role for each scope (`other` None: the route has no county scope),
    and for writes the form (`form(matrix, scope, role)` sets the rows up so that an allowed
    role's post succeeds and returns (url, data, files))."""

    method: str
    route: str
    own: dict[str, str]
    other: dict[str, str] | None = None
    url: str | None = None  # default: the route with the ids filled in
    form: Callable | None = None
    also_ok: tuple[int, ...] = ()  # answers that still mean "allowed" (the form itself refused: 400)
    postgres: bool = False  # in the PostgreSQL subset too

    @property
    def name(self) -> str:
        return f"{self.method} {self.route}"

    def address(self, matrix: Matrix, scope: str) -> str:
        return (self.url or self.route).format(**matrix.ids[scope])


def get(route: str, own: dict, other: dict | None = ONLY_ADMIN, url: str | None = None, **extra) -> Page:
    return Page("GET", route, own, other, url, **extra)


def post(route: str, own: dict, other: dict | None = ONLY_ADMIN, form: Callable | None = None, **extra) -> Page:
    return Page("POST", route, own, other, form=form, **extra)


def data(**values) -> Callable:
    """A fixed form body."""
    return lambda m, scope, role: (None, dict(values), None)


def _school_year_save(m: Matrix, scope: str, role: str):
    version = m.set_school_year(m.ids[scope]["school"], "draft")
    return None, {"version": str(version), "sports_area": str(7777.5 + m.serial()), "action": "save"}, None


def _school_year_approve(m: Matrix, scope: str, role: str):
    m.set_school_year(m.ids[scope]["school"], "submitted")
    return None, {"action": "approve"}, None


def _county_year_save(m: Matrix, scope: str, role: str):
    version = m.set_county_year(m.ids[scope]["county"], "draft")
    return None, {"version": str(version), "social_recognition_rate": str(80 + m.serial() % 19), "action": "save"}, None


def _quality_save(m: Matrix, scope: str, role: str):
    m.set_county_year(m.ids[scope]["county"], "draft")
    return None, m.quality_form(m.ids[scope]["county"]), None


def _review(m: Matrix, scope: str, role: str):
    m.set_school_year(m.ids[scope]["school"], "submitted")
    return None, {"action": "approve", "items": f"{m.ids[scope]['school']}/{YEAR}"}, None


def _upload(m: Matrix, scope: str, role: str):
    content = m.workbook(m.ids[scope]["county"], m.ids[scope]["school"], 12345.5)
    return None, {}, {"file": ("数据.xlsx", content, XLSX)}


def _upload_apply(m: Matrix, scope: str, role: str):
    upload_id, fingerprint = m.new_upload(scope)
    return f"/counties/{m.ids[scope]['county']}/upload/{upload_id}/apply", {"fingerprint": fingerprint}, None


def _draft_school_year(m: Matrix, scope: str, role: str):
    m.set_school_year(m.ids[scope]["school"], "draft")  # submitted or approved rows cannot be deleted
    return None, {}, None


def _deleted_school(m: Matrix, scope: str, role: str):
    with m.database.session() as s:
        school = s.scalar(select(School).where(School.code == m.ids[scope]["school"]))
        school.deleted_at = utcnow()
    return None, {}, None


def _deleted_school_year(m: Matrix, scope: str, role: str):
    with m.database.session() as s:
        row = s.scalar(select(SchoolYear).where(SchoolYear.year == YEAR,
                                                SchoolYear.school.has(code=m.ids[scope]["school"])))
        row.deleted_at = utcnow()
    return None, {}, None


def _plan_save(m: Matrix, scope: str, role: str):
    m.set_values(m.ids[scope]["school"], sports_area=100.0)  # a shortfall: the plan has actions to save
    return None, {**PLAN, "name": "矩阵方案"}, None


def _costs_save(m: Matrix, scope: str, role: str):
    """The county's unit prices: the defaults, one changed (the county has no table yet)."""
    from junheng.planner.costs import COST_ITEMS, example_costs

    prices = example_costs().unit_costs
    form = {f"unit_costs.{key}": str(getattr(prices, key)) for key in COST_ITEMS}
    return None, form | {"unit_costs.multimedia_classroom": "80000", "version": "none"}, None


def _second_grant(m: Matrix, scope: str, role: str):
    """A second role of the user (a user keeps at least one): the one the post removes."""
    with m.database.session() as s:
        user = s.get(User, int(m.ids[scope]["user"]))
        extra_role, where = ("viewer", m.ids[scope]["county"]) if scope == "other" else ("school_filler", "P2")
        extra = grant(s, user, extra_role, where)
        s.flush()
        grant_id = extra.id
    return f"/admin/users/{m.ids[scope]['user']}/grants/{grant_id}/delete", {}, None


def _new_user(m: Matrix, scope: str, role: str):
    code = m.ids[scope]["county"]
    return None, {"county": code, "username": f"new_{role}_{scope}", "display_name": "新用户", "role": "viewer",
                  "scope": code, "password_mode": "auto"}, None


def _subscribe(m: Matrix, scope: str, role: str):
    return None, {"channel": "email", "target": f"{role}-{scope}@example.cn", "min_severity": "orange",
                  "county": m.ids[scope]["county"]}, None


def _pause(m: Matrix, scope: str, role: str):
    owner = role if scope == "own" and role != "anonymous" else "other_county"
    return f"/notifications/subscriptions/{m.subscription_of(owner)}/pause", {}, None


def _forecast_inputs(m: Matrix, scope: str, role: str):
    template = m.client("admin").get(f"/counties/{m.ids[scope]['county']}/forecast-template.xlsx")
    assert template.status_code == 200
    return None, {}, {"file": ("预测数据.xlsx", template.content, XLSX)}


def _attachment(m: Matrix, scope: str, role: str):
    return None, {}, {"file": ("佐证2.pdf", b"%PDF-1.4 more evidence", "application/pdf")}


SURVEY_BASE = "http://survey.example.test"
SURVEY_MAPPING = """\
identity:
  column: "1、您的身份是"
  values: {家长: parents, 教师: teachers, 社会人士: public}
items: ["2、您对立德树人是否满意", "3、您对减负是否满意"]
"""
SURVEY_EXPORT = [  # a 问卷星 export (CSV) the mapping reads, as tests/web/test_survey_pages.py's
    ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、您的身份是", "2、您对立德树人是否满意",
     "3、您对减负是否满意"],
    ["1", "2024/11/03 12:00:00", "120秒", "手机提交", "直接访问", "36.112.10.1(山东-济南)", "家长", "满意", "不满意"],
    ["2", "2024/11/03 12:05:30", "95秒", "微信", "N/A", "36.112.10.2(山东-济南)", "教师", "不了解", "满意"],
]


def _survey_open(m: Matrix, scope: str, role: str):
    m.set_survey(scope, status="draft")  # an open survey answers "unchanged" and changes nothing
    return None, {}, None


def _survey_close(m: Matrix, scope: str, role: str):
    m.set_survey(scope, status="open")
    return None, {}, None


def _survey_apply(m: Matrix, scope: str, role: str):
    from datetime import timedelta

    from junheng.store.models import utcnow

    m.set_county_year(m.ids[scope]["county"], "draft")  # an approved county-year is locked
    # only a closed survey's result, scored after the close, can be applied (the set-up scored it)
    m.set_survey(scope, status="closed", closed_at=utcnow() - timedelta(days=1))
    return None, {"result_id": m.ids[scope]["result"]}, None


def _survey_import(m: Matrix, scope: str, role: str):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(SURVEY_EXPORT)
    return None, {}, {"export": ("答卷.csv", buffer.getvalue().encode("utf-8"), "text/csv"),
                      "mapping": ("对应.yaml", SURVEY_MAPPING.encode("utf-8"), "application/x-yaml")}


def _survey_start(m: Matrix, scope: str, role: str):
    return None, {"code": m.survey_code(scope)}, None


def _survey_save(m: Matrix, scope: str, role: str):
    hidden, answers = m.survey_response(scope)
    return None, hidden | dict(list(answers.items())[:2]), None


def _survey_submit(m: Matrix, scope: str, role: str):
    hidden, answers = m.survey_response(scope)
    return None, hidden | answers | {"confirm": "1"}, None


QUALITY_CUTS = "subject,grade,level_2,level_3,level_4\n数学,8,3,5,9\n"


def _quality_import(m: Matrix, scope: str, role: str):
    """A scores file of the scope's school (three students) and its cut scores; the county-year
    open (an approved one locks its quality rows)."""
    code, school = m.ids[scope]["county"], m.ids[scope]["school"]
    m.set_county_year(code, "draft")
    rows = "".join(f"{code},{school},{YEAR},8,数学,s{i},{score}\n" for i, score in enumerate((4, 6, 8), 1))
    scores = "county_code,school_id,year,grade,subject,student_key,score\n" + rows
    return None, {}, {"scores": ("成绩.csv", scores.encode("utf-8"), "text/csv"),
                      "cuts": ("分数线.csv", QUALITY_CUTS.encode("utf-8"), "text/csv")}


PLAN = {"year": str(YEAR), "mode": "both", "budget": "", "budget_kind": "per_year", "years": "1"}
OWN_SCHOOL = allow(*READ, "school")  # a school's own filler reads it as the county's readers do
MANAGE_OWN = allow(*MANAGE)
USER_PAGES = allow(*MANAGE)  # a county admin manages the users of its county
USER_PAGES_OTHER = allow("admin", refused=FORBIDDEN, county=NOT_FOUND)  # others' users do not exist for it

PAGES = [
    # signing in and the account
    get("/login", PUBLIC, None),
    post("/login", PUBLIC, None, form=data(username="viewer", password="password123")),
    post("/logout", EVERYONE, None, form=data()),
    get("/account/password", EVERYONE, None),
    post("/account/password", EVERYONE, None, form=data(old="password123", new=NEW_PASSWORD, repeat=NEW_PASSWORD)),
    # reading
    get("/", EVERYONE, None),
    get("/overview", EVERYONE, None),
    get("/counties/{code}", allow(*READ), url="/counties/{county}"),
    get("/schools/{code}", OWN_SCHOOL, url="/schools/{school}"),
    get("/standards/{standard_id}", EVERYONE, None, url="/standards/national-2017"),
    # school-year forms
    get("/schools/{code}/years/new", OWN_SCHOOL, url="/schools/{school}/years/new?year=2027"),  # 2030 has not begun: 400
    get("/schools/{code}/years/{year}", OWN_SCHOOL, url="/schools/{school}/years/{year}"),
    post("/schools/{code}/years/{year}", allow("admin", "county", "school"), form=_school_year_save,
         url="/schools/{school}/years/{year}", postgres=True),
    post("/schools/{code}/years/{year}/workflow", MANAGE_OWN, form=_school_year_approve,
         url="/schools/{school}/years/{year}/workflow"),
    # county-year and quality forms
    get("/counties/{code}/years/{year}", allow(*READ), url="/counties/{county}/years/{year}"),
    post("/counties/{code}/years/{year}", MANAGE_OWN, form=_county_year_save, url="/counties/{county}/years/{year}",
         postgres=True),
    post("/counties/{code}/years/{year}/workflow", MANAGE_OWN, form=data(action="reopen"),
         url="/counties/{county}/years/{year}/workflow"),
    post("/counties/{code}/years/{year}/quality", MANAGE_OWN, form=_quality_save,
         url="/counties/{county}/years/{year}/quality", postgres=True),
    # review
    get("/counties/{code}/review", allow(*READ), url="/counties/{county}/review"),
    post("/counties/{code}/review", MANAGE_OWN, form=_review, url="/counties/{county}/review"),
    # upload and downloads of the county's data
    get("/counties/{code}/upload", MANAGE_OWN, url="/counties/{county}/upload"),
    post("/counties/{code}/upload", MANAGE_OWN, form=_upload, url="/counties/{county}/upload"),
    get("/counties/{code}/upload/{upload_id}", MANAGE_OWN, url="/counties/{county}/upload/{upload}"),
    post("/counties/{code}/upload/{upload_id}/apply", MANAGE_OWN, form=_upload_apply, postgres=True),
    get("/counties/{code}/upload-template.xlsx", MANAGE_OWN, url="/counties/{county}/upload-template.xlsx"),
    get("/counties/{code}/current-data.xlsx", MANAGE_OWN, url="/counties/{county}/current-data.xlsx"),
    # audit log, deletion and restore
    get("/counties/{code}/audit", allow(*READ), url="/counties/{county}/audit"),
    get("/counties/{code}/audit.csv", allow(*READ), url="/counties/{county}/audit.csv"),
    get("/counties/{code}/deleted", MANAGE_OWN, url="/counties/{county}/deleted"),  # the list with 恢复 buttons
    post("/schools/{code}/delete", MANAGE_OWN, form=data(), url="/schools/{school}/delete"),
    post("/schools/{code}/restore", MANAGE_OWN, form=_deleted_school, url="/schools/{school}/restore"),
    post("/schools/{code}/years/{year}/delete", MANAGE_OWN, form=_draft_school_year,
         url="/schools/{school}/years/{year}/delete"),
    post("/schools/{code}/years/{year}/restore", MANAGE_OWN, form=_deleted_school_year,
         url="/schools/{school}/years/{year}/restore"),
    # administration
    get("/admin", allow(*MANAGE), None),
    get("/admin/org/new", ONLY_ADMIN, None),
    post("/admin/org/new", ONLY_ADMIN, None, form=data(kind="province", code="980000", name="新建省")),
    get("/admin/org/{code}", ONLY_ADMIN, url="/admin/org/{county}"),
    post("/admin/org/{code}", ONLY_ADMIN, url="/admin/org/{county}", form=data(name="改名县", standard="national-2017"),
         also_ok=(400,)),
    get("/admin/counties/{code}", MANAGE_OWN, url="/admin/counties/{county}"),
    get("/admin/counties/{code}/schools/new", MANAGE_OWN, url="/admin/counties/{county}/schools/new"),
    post("/admin/counties/{code}/schools/new", MANAGE_OWN, url="/admin/counties/{county}/schools/new",
         form=data(school_id="NEW9", school_name="新建第九小学", school_type="primary")),
    get("/admin/schools/{code}", MANAGE_OWN, url="/admin/schools/{school}"),
    post("/admin/schools/{code}", MANAGE_OWN, url="/admin/schools/{school}",
         form=data(school_name="改名小学", school_type="primary")),
    get("/admin/users", allow(*MANAGE), url="/admin/users?county={county}"),
    get("/admin/users/new", MANAGE_OWN, url="/admin/users/new?county={county}"),
    post("/admin/users/new", MANAGE_OWN, form=_new_user),
    get("/admin/users/{user_id}", USER_PAGES, USER_PAGES_OTHER, url="/admin/users/{user}"),
    post("/admin/users/{user_id}/active", USER_PAGES, USER_PAGES_OTHER, url="/admin/users/{user}/active",
         form=data(action="disable")),
    post("/admin/users/{user_id}/password", USER_PAGES, USER_PAGES_OTHER, url="/admin/users/{user}/password",
         form=data(password_mode="auto")),
    post("/admin/users/{user_id}/grants", USER_PAGES, USER_PAGES_OTHER, url="/admin/users/{user}/grants",
         form=lambda m, scope, role: (None, {"role": "viewer", "scope": m.ids[scope]["county"]}, None),
         also_ok=(400,)),
    post("/admin/users/{user_id}/grants/{grant_id}/delete", USER_PAGES, USER_PAGES_OTHER, form=_second_grant),
    get("/admin/audit", allow(*MANAGE), None),
    # planner and scenarios
    get("/counties/{code}/plan", allow(*READ), url="/counties/{county}/plan"),
    get("/counties/{code}/plan.xlsx", allow(*READ), url="/counties/{county}/plan.xlsx"),
    get("/counties/{code}/plan.json", allow(*READ), url="/counties/{county}/plan.json"),
    post("/counties/{code}/plan/save", MANAGE_OWN, url="/counties/{county}/plan/save", form=_plan_save),
    get("/counties/{code}/scenarios", allow(*READ), url="/counties/{county}/scenarios"),
    get("/counties/{code}/scenarios/{key}", allow(*READ), url="/counties/{county}/scenarios/{scenario}"),
    get("/counties/{code}/costs", allow(*READ), url="/counties/{county}/costs"),
    post("/counties/{code}/costs", MANAGE_OWN, url="/counties/{county}/costs", form=_costs_save),
    # reports
    get("/counties/{code}/report.{fmt}", allow(*READ), url="/counties/{county}/report.html"),
    get("/overview/report.{fmt}", allow(*READ), None, url="/overview/report.html"),
    # monitoring: warnings, tasks, timeline, schedule
    get("/counties/{code}/warnings", allow(*READ), url="/counties/{county}/warnings"),
    post("/warnings/{warning_id}/task", MANAGE_OWN, url="/warnings/{warning}/task", form=data()),
    get("/counties/{code}/tasks", allow(*READ, "school"), url="/counties/{county}/tasks"),
    get("/counties/{code}/tasks/new", MANAGE_OWN, url="/counties/{county}/tasks/new"),
    post("/counties/{code}/tasks", MANAGE_OWN, url="/counties/{county}/tasks", form=data(title="矩阵任务")),
    get("/tasks/{task_id}", allow(*READ), url="/tasks/{task}"),
    get("/tasks/{task_id}/edit", MANAGE_OWN, url="/tasks/{task}/edit"),
    post("/tasks/{task_id}/edit", MANAGE_OWN, url="/tasks/{task}/edit", form=data(title="改过的任务")),
    post("/tasks/{task_id}/status", MANAGE_OWN, url="/tasks/{task}/status", form=data(status="in_progress")),
    post("/tasks/{task_id}/comments", allow(*MANAGE, "supervisor"), url="/tasks/{task}/comments",
         form=data(body="请尽快办理")),
    post("/tasks/{task_id}/attachments", allow(*MANAGE, "supervisor"), url="/tasks/{task}/attachments",
         form=_attachment),
    get("/tasks/{task_id}/attachments/{attachment_id}", allow(*READ), url="/tasks/{task}/attachments/{attachment}"),
    post("/tasks/{task_id}/attachments/{attachment_id}/delete", MANAGE_OWN,
         url="/tasks/{task}/attachments/{attachment}/delete", form=data()),
    post("/tasks/{task_id}/delete", MANAGE_OWN, url="/tasks/{task}/delete", form=data()),
    get("/counties/{code}/timeline", allow(*READ), url="/counties/{county}/timeline"),
    get("/schedule", allow(*READ), None),
    get("/nodes/{code}/schedule", allow(*READ), url="/nodes/{county}/schedule"),
    # trends and forecast
    get("/counties/{code}/trends", allow(*READ), url="/counties/{county}/trends", postgres=True),
    get("/schools/{code}/trends", OWN_SCHOOL, url="/schools/{school}/trends"),
    get("/counties/{code}/forecast", allow(*READ), url="/counties/{county}/forecast"),
    get("/counties/{code}/forecast-template.xlsx", MANAGE_OWN, url="/counties/{county}/forecast-template.xlsx"),
    post("/counties/{code}/forecast/inputs", MANAGE_OWN, url="/counties/{county}/forecast/inputs",
         form=_forecast_inputs, also_ok=(400,)),
    # notifications
    get("/notifications", EVERYONE, None),
    get("/notifications/subscriptions", EVERYONE, None),
    post("/notifications/subscriptions", allow(*READ), form=_subscribe),
    post("/notifications/subscriptions/{subscription_id}/{action}", EVERYONE,
         allow(refused=NOT_FOUND), form=_pause),
    # the social recognition survey: the county's surveys (read as the county, acted on by its managers)
    get("/counties/{code}/surveys", allow(*READ), url="/counties/{county}/surveys"),
    post("/counties/{code}/surveys", MANAGE_OWN, url="/counties/{county}/surveys",
         form=data(year=str(YEAR), title="矩阵新调查")),
    get("/surveys/{survey_id}", allow(*READ), url="/surveys/{survey}"),
    post("/surveys/{survey_id}/open", MANAGE_OWN, url="/surveys/{survey}/open", form=_survey_open),
    post("/surveys/{survey_id}/close", MANAGE_OWN, url="/surveys/{survey}/close", form=_survey_close),
    post("/surveys/{survey_id}/score", MANAGE_OWN, url="/surveys/{survey}/score", form=data()),
    post("/surveys/{survey_id}/apply", MANAGE_OWN, url="/surveys/{survey}/apply", form=_survey_apply),
    post("/surveys/{survey_id}/codes", MANAGE_OWN, url="/surveys/{survey}/codes",
         form=data(base_url=SURVEY_BASE, format="xlsx", extra="1")),  # every quota has its codes: one more each
    post("/surveys/{survey_id}/import", MANAGE_OWN, url="/surveys/{survey}/import", form=_survey_import),
    get("/surveys/{survey_id}/responses.{fmt}", allow(*READ), url="/surveys/{survey}/responses.csv"),
    get("/surveys/{survey_id}/plan.{fmt}", allow(*READ), url="/surveys/{survey}/plan.xlsx"),
    # 教育质量监测 from student scores: read as the county (a school by its filler too), imported by its managers
    get("/counties/{code}/quality", allow(*READ), url="/counties/{county}/quality"),
    post("/counties/{code}/quality", MANAGE_OWN, url="/counties/{county}/quality", form=_quality_import),
    get("/schools/{code}/quality", OWN_SCHOOL, url="/schools/{school}/quality"),
    # the public survey page: no login, reached by the survey's public key (no county scope)
    get("/s/{key}", PUBLIC, None),
    post("/s/{key}/start", PUBLIC, None, form=_survey_start),
    post("/s/{key}/save", PUBLIC, None, form=_survey_save),
    post("/s/{key}/submit", PUBLIC, None, form=_survey_submit),
    get("/s/{key}/thanks", PUBLIC, None),
]
PAGE_BY_NAME = {p.name: p for p in PAGES}


# ---------------------------------------------------------------- running a case


def outcome(response, page: Page) -> str:
    status = response.status_code
    if status == 303 and response.headers["location"].startswith("/login?next="):
        return LOGIN
    if status in (403, 404):
        return str(status)
    if status < 400 or status in page.also_ok:
        return OK
    return f"HTTP {status}: {page_text(response.text)[:400]}"


def page_text(html: str) -> str:
    """The words of a page's main part (for failure messages)."""
    main = html.split("<main", 1)[-1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)).strip()


def run_case(m: Matrix, page: Page, scope: str, role: str) -> None:
    expected = (page.own if scope == "own" else page.other)[role]
    client = m.client(role)
    http = client.client if hasattr(client, "csrf") else client  # a WebClient (logged in) or a TestClient
    m.restore()
    cookies = dict(http.cookies)  # /login, /logout and a password change replace the session cookie
    try:
        _request_and_check(m, page, scope, role, expected, client, http)
    finally:
        http.cookies.clear()
        http.cookies.update(cookies)


def _request_and_check(m: Matrix, page: Page, scope: str, role: str, expected: str, client, http) -> None:
    if page.method == "POST":
        m.dirty = True  # the set-up (and an allowed write) changes the store: the next case restores it
        posted_url, data, files = page.form(m, scope, role) if page.form else (None, {}, None)
        url = posted_url or page.address(m, scope)
        if role != "anonymous" and hasattr(client, "csrf"):
            data = {**data, "csrf_token": client.csrf}
        before, files_before = m.dump(), m.files()
        response = http.post(url, data=data, files=files, follow_redirects=False)
    else:
        url = page.address(m, scope)
        response = http.get(url, follow_redirects=False)
    got = outcome(response, page)
    assert got == expected, f"{role} on {page.method} {url} ({scope}): expected {expected}, got {got}"
    if expected in (FORBIDDEN, NOT_FOUND):
        assert CJK.search(response.text), f"{role} on {url}: the refusal is not explained in Chinese"
    if page.method == "POST" and expected != OK:
        assert m.dump() == before, f"a refused post ({role} on {url}) changed the database"
        assert m.files() == files_before, f"a refused post ({role} on {url}) changed the workspace's files"
    elif page.method == "POST" and response.status_code < 400:  # allowed and done: it did something
        assert (m.dump(), m.files()) != (before, files_before), f"{role} on {url}: an allowed post changed nothing"


CASES = [(page, scope, role) for page in PAGES for scope in (SCOPES if page.other is not None else ("own",))
         for role in ROLES]


@pytest.mark.parametrize("page, scope, role", CASES,
                         ids=[f"{p.method}-{p.route}-{scope}-{role}" for p, scope, role in CASES])
def test_every_role_on_every_page(matrix, page, scope, role):
    run_case(matrix, page, scope, role)


PG_CASES = [c for c in CASES if c[0].postgres]


@pytest.mark.parametrize("page, scope, role", PG_CASES,
                         ids=[f"{p.method}-{p.route}-{scope}-{role}" for p, scope, role in PG_CASES])
def test_form_saves_upload_apply_and_trends_on_postgresql(pg_matrix, page, scope, role):
    run_case(pg_matrix, page, scope, role)


def _page_routes(routes, prefix: str = ""):
    """(method, path) of every route the app serves outside /api/v1 (FastAPI 0.16x nests the
    included routers: walked recursively)."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _page_routes(route.original_router.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            path = prefix + route.path
            if not path.startswith("/api/"):
                for method in sorted(route.methods - {"HEAD"}):
                    yield method, path


def test_every_page_route_has_an_entry(matrix):
    """A route added to the app without a row in PAGES fails here (and one removed, too)."""
    served = set(_page_routes(matrix.world.app().routes))
    assert served, "no page routes found: the route walk no longer matches FastAPI's router"
    tabled = {(p.method, p.route) for p in PAGES}
    assert served - tabled == set(), "routes without an entry in the access matrix"
    assert tabled - served == set(), "entries for routes the app no longer has"
    assert len(PAGES) == len(tabled)

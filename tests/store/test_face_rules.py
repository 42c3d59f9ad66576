"""Issue 13, item 3: rules below the faces. Each rule is asked through the web form, the JSON
API (a token) and the command line side by side on one store: every face refuses the same case
with the store's one message and changes nothing. And `junheng users` changes are audited like
the 管理 pages' (via="cli")."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import builders
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))  # the web tests' world builders

from web_world import COUNTY, OTHER_COUNTY, WEB_USERS, YEAR, WebWorld, seed_store, web_dataset, web_settings  # noqa: E402

from junheng.cli import app as cli_app  # noqa: E402
from junheng.monitor.tasks import OWNER_MESSAGE  # noqa: E402
from junheng.services import init_workspace, open_database  # noqa: E402
from junheng.store import repo  # noqa: E402
from junheng.store.models import AuditEntry, CountyYear, OrgNode, School, SchoolYear, SupervisionTask, User, utcnow  # noqa: E402
from junheng.store.users import create_token  # noqa: E402


@pytest.fixture
def faces(tmp_path):
    """One workspace store reached by the three faces: the web app, the API and the CLI."""
    root = tmp_path / "ws"
    init_workspace(root, admin="operator", password="工作区管理员-口令-2025")
    database, _ = open_database(root)
    seed_store(database, web_dataset(), WEB_USERS)
    world = WebWorld(database, web_settings(database, tmp_path / "uploads"))
    world.root = root
    with database.session() as s:
        world.tokens = {name: create_token(s, s.scalar(select(User).where(User.username == name)), "测试")
                        for name in ("school", "county")}
    yield world
    database.engine.dispose()


def api(world, name: str):
    client = world.login(name).client
    client.headers["Authorization"] = f"Bearer {world.tokens[name]}"
    client.cookies.clear()  # the token alone
    return client


def cli(world, *arguments: str):
    return CliRunner().invoke(cli_app, [*arguments, "-w", str(world.root)], terminal_width=250)


def cli_message(result) -> str:
    assert result.exit_code != 0 and "Traceback" not in result.output
    return result.exception.user_message()


def said(text: str) -> str:
    return "".join(builders.plain(text).split())


# ---------------------------------------------------------------- submit precondition


def test_submitting_without_student_counts_is_refused_by_form_api_and_upload_path_alike(faces):
    year = YEAR + 1
    with faces.database.session() as s:  # a draft of next year holding no student counts
        school = s.scalar(select(School).where(School.code == "P1"))
        s.add(SchoolYear(school_id=school.id, year=year, values={"sports_area": 100.0}, status="draft"))
    before = faces.snapshot()
    with faces.database.session() as s:
        school = s.scalar(select(School).where(School.code == "P1"))
        with pytest.raises(repo.SubmitIncomplete) as store:
            repo.check_submittable(school, year, {"sports_area": 100.0})
    message = store.value.user_message()
    assert "还不能提交审核" in message and "在校生" in message

    form = faces.login("school").post(f"/schools/P1/years/{year}", {"version": "1", "action": "submit"})
    assert form.status_code == 400 and said(message) in said(form.text)

    answer = api(faces, "school").post(f"/api/v1/schools/P1/years/{year}/submit", json={})
    assert answer.status_code == 422 and answer.json()["detail"] == message
    assert {e["field"] for e in answer.json()["errors"]} == {"students_primary"}

    # the store's transition itself refuses, so any other path (upload's "submit after", demo) does
    with faces.database.session() as s:
        row = s.scalar(select(SchoolYear).join(School).where(School.code == "P1", SchoolYear.year == year))
        with pytest.raises(repo.SubmitIncomplete):
            repo.transition(s, row, "submit", user=None, via="cli")
        s.rollback()
    assert faces.snapshot() == before


# ---------------------------------------------------------------- writability


def test_a_locked_row_is_refused_by_form_and_api_with_one_message(faces):
    faces.set_status("P1", "submitted")
    before = faces.snapshot()
    with faces.database.session() as s:
        school = s.scalar(select(School).where(School.code == "P1"))
        row = s.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == YEAR))
        version = row.version
        with pytest.raises(repo.NotWritable) as store:
            repo.check_writable(s, school, YEAR, row, version=version)
    message = store.value.user_message()
    assert store.value.reason == "locked" and "已锁定" in message

    form = faces.login("county").post(f"/schools/P1/years/{YEAR}", {"version": str(version), "action": "save",
                                                                    "sports_area": "1"})
    assert form.status_code == 409 and said(message) in said(form.text)
    answer = api(faces, "county").put(f"/api/v1/schools/P1/years/{YEAR}",
                                      json={"values": {"sports_area": 1}, "version": version})
    assert answer.status_code == 409 and answer.json()["detail"] == message
    assert faces.snapshot() == before


def test_a_stale_version_and_a_deleted_row_are_refused_alike(faces):
    faces.set_status("P1", "draft")
    with faces.database.session() as s:
        school = s.scalar(select(School).where(School.code == "P1"))
        row = s.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == YEAR))
        stale = row.version + 5
        with pytest.raises(repo.NotWritable) as store:
            repo.check_writable(s, school, YEAR, row, version=stale)
    message = store.value.user_message()
    assert store.value.reason == "stale"
    before = faces.snapshot()
    form = faces.login("county").post(f"/schools/P1/years/{YEAR}", {"version": str(stale), "action": "save",
                                                                    "sports_area": "1"})
    assert form.status_code == 409 and said(message) in said(form.text) and "载入最新数据" in form.text
    answer = api(faces, "county").put(f"/api/v1/schools/P1/years/{YEAR}",
                                      json={"values": {"sports_area": 1}, "version": stale})
    assert answer.status_code == 409 and answer.json()["detail"] == message
    assert faces.snapshot() == before

    # a deleted county-year row: the county form (which did not check it before) and the API agree
    with faces.database.session() as s:
        county = repo.county_by_code(s, COUNTY)
        row = s.scalar(select(CountyYear).where(CountyYear.county_id == county.id, CountyYear.year == YEAR))
        row.status, row.deleted_at = "draft", utcnow()
        version = row.version
    before = faces.snapshot()
    with faces.database.session() as s:
        county = repo.county_by_code(s, COUNTY)
        row = s.scalar(select(CountyYear).where(CountyYear.county_id == county.id, CountyYear.year == YEAR))
        with pytest.raises(repo.NotWritable) as store:
            repo.check_writable(s, county, YEAR, row, version=version)
    message = store.value.user_message()
    assert store.value.reason == "deleted"
    form = faces.login("county").post(f"/counties/{COUNTY}/years/{YEAR}", {"version": str(version), "action": "save"})
    assert form.status_code == 409 and said(message) in said(form.text)
    answer = api(faces, "county").put(f"/api/v1/counties/{COUNTY}/years/{YEAR}",
                                      json={"values": {"junior_consolidation_rate": 99.0}, "version": version})
    assert answer.status_code == 409 and answer.json()["detail"] == message
    assert faces.snapshot() == before


# ---------------------------------------------------------------- task owner


def _tasks(world) -> int:
    with world.database.session() as s:
        return s.scalar(select(func.count()).select_from(SupervisionTask))


def test_a_task_owner_from_another_county_is_refused_by_form_and_cli(faces):
    with faces.database.session() as s:
        outsider = s.scalar(select(User).where(User.username == "other_school")).id
    form = faces.login("county").post(f"/counties/{COUNTY}/tasks", {"title": "补齐体育场馆",
                                                                   "owner_id": str(outsider)})
    assert form.status_code == 400 and OWNER_MESSAGE in builders.plain(form.text)
    refused = cli(faces, "tasks", "add", COUNTY, "--title", "补齐体育场馆", "--owner-account", "other_school")
    assert OWNER_MESSAGE in cli_message(refused)
    assert _tasks(faces) == 0
    # the county's own user is accepted on the command line, as on the page
    done = cli(faces, "tasks", "add", COUNTY, "--title", "补齐体育场馆", "--owner-account", "school")
    assert done.exit_code == 0, done.output
    with faces.database.session() as s:
        task = s.scalar(select(SupervisionTask))
        assert task.owner.username == "school"


# ---------------------------------------------------------------- users: one path, audited


def test_users_disable_on_the_command_line_goes_through_the_admin_function_and_is_audited(faces):
    with faces.database.session() as s:
        mark = s.scalar(select(func.max(AuditEntry.id)))
    done = cli(faces, "users", "disable", "viewer")
    assert done.exit_code == 0, done.output
    with faces.database.session() as s:
        assert s.scalar(select(User).where(User.username == "viewer")).active is False
        entries = s.scalars(select(AuditEntry).where(AuditEntry.id > mark)).all()
        assert [(e.via, e.entity, e.entity_key, e.field, e.old, e.new, e.note, e.user_id) for e in entries] == [
            ("cli", "user", "viewer", "active", True, False, "停用账号", None)]
        assert entries[0].county_id == repo.county_by_code(s, COUNTY).id  # the county's log shows it
    again = cli(faces, "users", "disable", "viewer")  # nothing to change: said so, nothing logged
    assert again.exit_code == 0 and "未改变" in "".join(again.output.split())
    with faces.database.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.id > mark)) == 1

    # the web admin's disable writes the same entry, via="form"
    admin = faces.login("admin")
    with faces.database.session() as s:
        target = s.scalar(select(User).where(User.username == "other_county")).id
    assert admin.post(f"/admin/users/{target}/active", {"action": "disable"}).status_code == 303
    with faces.database.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.entity_key == "other_county")
                          .order_by(AuditEntry.id.desc())).first()
        assert (entry.via, entry.field, entry.old, entry.new, entry.note) == ("form", "active", True, False, "停用账号")


def test_users_reset_password_on_the_command_line_uses_the_admin_function(faces):
    with faces.database.session() as s:
        mark = s.scalar(select(func.max(AuditEntry.id)))
    done = cli(faces, "users", "reset-password", "school")
    assert done.exit_code == 0, done.output
    with faces.database.session() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.id > mark)).all()
        assert [(e.via, e.field, e.user_id) for e in entries] == [("cli", "password", None)]
        assert entries[0].note.startswith("密码已重置(自动生成);已撤销其 API 令牌 1 个")
    unknown = cli(faces, "users", "disable", "nobody")
    assert "没有用户 nobody" in cli_message(unknown)


# ---------------------------------------------------------------- county look-up


def test_a_deleted_county_is_not_found_on_any_face(faces):
    with faces.database.session() as s:
        s.scalar(select(OrgNode).where(OrgNode.code == OTHER_COUNTY)).deleted_at = utcnow() - timedelta(days=1)
    message = f"没有县区代码为 {OTHER_COUNTY} 的县区"
    with faces.database.session() as s:
        with pytest.raises(repo.CountyNotFound) as store:
            repo.county_by_code(s, OTHER_COUNTY)
        assert store.value.user_message() == message
        assert repo.county_by_code(s, OTHER_COUNTY, deleted=True).code == OTHER_COUNTY  # for a restore
    page = faces.login("admin").get(f"/counties/{OTHER_COUNTY}/tasks")
    assert page.status_code == 404 and message in builders.plain(page.text)
    with faces.database.session() as s:
        token = create_token(s, s.scalar(select(User).where(User.username == "admin")), "测试")
    client = faces.login("admin").client
    client.cookies.clear()
    answer = client.get(f"/api/v1/counties/{OTHER_COUNTY}/years/{YEAR}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404 and answer.json()["detail"] == message
    assert message in cli_message(cli(faces, "tasks", "list", OTHER_COUNTY))
    assert message in cli_message(cli(faces, "tasks", "add", OTHER_COUNTY, "--title", "任务"))
    assert _tasks(faces) == 0

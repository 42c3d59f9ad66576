"""Issue 13, item 3: who may change a supervision task is one rule (`monitor.tasks.task_rights`)
that the web pages and `junheng tasks status|comment|attach --user` both ask. The same account is
refused on both faces with the same words (and the task is unchanged), an account with the right
succeeds on both."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))  # the web tests' world builders

from web_world import COUNTY, WEB_USERS, WebWorld, seed_store, web_dataset, web_settings  # noqa: E402

from junheng.cli import app as cli_app  # noqa: E402
from junheng.monitor.tasks import COMMENT_REFUSAL, READ_REFUSAL, create_task, transition_refusal  # noqa: E402
from junheng.services import init_workspace, open_database  # noqa: E402
from junheng.store.models import SupervisionTask, TaskComment  # noqa: E402
from junheng.typography import typeset  # noqa: E402


@pytest.fixture
def faces(tmp_path):
    """One workspace store reached by the web app and the CLI, with a task of school P1 (whose
    filler is `school`; `viewer` reads the county; `other_school` fills a school of another county)."""
    root = tmp_path / "ws"
    init_workspace(root, admin="operator", password="工作区管理员-口令-2025")
    database, _ = open_database(root)
    seed_store(database, web_dataset(), WEB_USERS)
    world = WebWorld(database, web_settings(database, tmp_path / "uploads"))
    world.root = root
    with database.session() as s:
        world.task_id = create_task(s, COUNTY, title="补足音乐专用教室", school_code="P1", via="cli").id
    yield world
    database.engine.dispose()


def cli(world, *arguments: str):
    return CliRunner().invoke(cli_app, [*arguments, "-w", str(world.root)], terminal_width=250)


def shows(page, status_code: int, message: str) -> bool:
    """The page has the status and says the message (typeset for the page: full-width punctuation)."""
    return page.status_code == status_code and typeset(message) in page.text


def refusal(result) -> str:
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    return result.exception.user_message()


def status(world) -> str:
    with world.database.session() as s:
        return s.get(SupervisionTask, world.task_id).status


def comments(world) -> int:
    with world.database.session() as s:
        return s.scalar(select(func.count()).select_from(TaskComment).where(TaskComment.task_id == world.task_id))


def test_a_county_viewer_may_not_move_a_task_on_the_web_nor_on_the_command_line(faces):
    message = transition_refusal("open", "in_progress")
    page = faces.login("viewer").post(f"/tasks/{faces.task_id}/status", {"status": "in_progress"})
    assert shows(page, 403, message)
    assert message.rstrip("。") in refusal(cli(faces, "tasks", "status", str(faces.task_id), "in_progress",
                                               "--user", "viewer"))
    assert status(faces) == "open"


def test_an_account_of_another_county_may_not_even_read_the_task(faces):
    page = faces.login("other_school").post(f"/tasks/{faces.task_id}/status", {"status": "in_progress"})
    assert shows(page, 403, READ_REFUSAL)
    assert READ_REFUSAL.rstrip("。") in refusal(cli(faces, "tasks", "status", str(faces.task_id), "done",
                                                    "--user", "other_school"))
    assert READ_REFUSAL.rstrip("。") in refusal(cli(faces, "tasks", "comment", str(faces.task_id), "看看",
                                                    "--user", "other_school"))
    assert status(faces) == "open" and comments(faces) == 0


def test_the_school_filler_reports_progress_on_both_faces_but_verifies_on_neither(faces):
    page = faces.login("school").post(f"/tasks/{faces.task_id}/status", {"status": "in_progress"})
    assert page.status_code == 303 and status(faces) == "in_progress"
    done = cli(faces, "tasks", "status", str(faces.task_id), "done", "--user", "school")
    assert done.exit_code == 0 and "现为“已完成(待核验)”" in done.output and status(faces) == "done"

    message = transition_refusal("done", "verified")
    page = faces.login("school").post(f"/tasks/{faces.task_id}/status", {"status": "verified"})
    assert shows(page, 403, message)
    assert message.rstrip("。") in refusal(cli(faces, "tasks", "status", str(faces.task_id), "verified",
                                               "--user", "school"))
    assert status(faces) == "done"
    verified = cli(faces, "tasks", "status", str(faces.task_id), "verified", "--user", "county")
    assert verified.exit_code == 0 and status(faces) == "verified"


def test_comments_follow_the_same_rights(faces):
    page = faces.login("viewer").post(f"/tasks/{faces.task_id}/comments", {"body": "请加快进度"})
    assert shows(page, 403, COMMENT_REFUSAL)
    assert COMMENT_REFUSAL.rstrip("。") in refusal(cli(faces, "tasks", "comment", str(faces.task_id), "请加快进度",
                                                       "--user", "viewer"))
    assert comments(faces) == 0
    page = faces.login("school").post(f"/tasks/{faces.task_id}/comments", {"body": "已联系施工单位"})
    assert page.status_code == 303
    said = cli(faces, "tasks", "comment", str(faces.task_id), "已进场施工", "--user", "school")
    assert said.exit_code == 0 and comments(faces) == 2


def test_without_user_the_operator_acts(faces):
    """No --user: the server's operator (no account, as before): nothing to refuse."""
    done = cli(faces, "tasks", "status", str(faces.task_id), "done")
    assert done.exit_code == 0 and status(faces) == "done"

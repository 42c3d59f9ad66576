"""`junheng init|users|tokens` and the account rules of issue 11: passwords chosen on the command
line follow the policy (refused: a Chinese message, a non-zero exit, nothing saved); passwords set
for someone else must be changed at the first login; a reset ends the user's logins and revokes
their tokens; tokens have a scope and an expiry, shown by `tokens list`."""

from __future__ import annotations

import re
from datetime import timedelta

import builders
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from junheng.cli import app as cli_app
from junheng.errors import JunhengError
from junheng.services import init_workspace, open_database
from junheng.store.models import ApiToken, AuditEntry, User, WebSession, utcnow
from junheng.store.users import UserError, authenticate, start_session, token_user

ADMIN_PASSWORD = "工作区管理员-口令-2025"


@pytest.fixture
def workspace(tmp_path):
    root = tmp_path / "ws"
    init_workspace(root, admin="admin", password=ADMIN_PASSWORD)
    yield root


def _run(*arguments: str):
    return CliRunner().invoke(cli_app, list(arguments), terminal_width=250)


def _said(result) -> str:
    """The command's output without the line breaks and spaces rich puts in at 80 columns."""
    return "".join(result.output.split())


def _user(root, username: str) -> User | None:
    database, _ = open_database(root)
    try:
        with database.session() as s:
            return s.scalar(select(User).where(User.username == username))
    finally:
        database.engine.dispose()


def test_a_weak_password_is_refused_by_the_real_command_and_nothing_is_saved(workspace):
    done = builders.run_junheng("users", "add", "xian", "--role", "admin", "--password", "woaini1314",
                                "-w", str(workspace))
    assert done.returncode != 0 and "常见密码" in done.stderr and "Traceback" not in done.stderr
    assert _user(workspace, "xian") is None


@pytest.mark.parametrize(("password", "words"), [("short-1", "至少 10 位"), ("1234567890", "不能全是数字"),
                                                  ("xian-2025-abc", "包含用户名")])
def test_users_add_applies_the_policy(workspace, password, words):
    result = _run("users", "add", "xian", "--role", "admin", "--password", password, "-w", str(workspace))
    assert result.exit_code != 0 and isinstance(result.exception, JunhengError)  # the admin pages' own check
    assert words in result.exception.user_message()
    assert _user(workspace, "xian") is None


def test_users_add_goes_through_the_admin_function_and_is_audited(workspace):
    """The 管理 pages' `create_account`: the same checks and the same audit entries, via="cli"
    (the password never logged)."""
    assert _run("users", "add", "xian", "--role", "county_admin", "--scope", "990001",
                "-w", str(workspace)).exit_code != 0  # no such county: refused as on the page
    assert _user(workspace, "xian") is None
    assert _run("users", "add", "xian", "--role", "admin", "--name", "县管理员", "-w", str(workspace)).exit_code == 0
    database, _ = open_database(workspace)
    try:
        with database.session() as s:
            entries = s.scalars(select(AuditEntry).where(AuditEntry.entity == "user",
                                                         AuditEntry.entity_key == "xian")).all()
            assert {e.field for e in entries} >= {"username", "role_grant", "password"}
            assert {e.via for e in entries} == {"cli"} and all(e.user_id is None for e in entries)
            assert all(e.new is None for e in entries if e.field == "password")
    finally:
        database.engine.dispose()


def test_init_with_a_weak_password_is_refused(tmp_path):
    with pytest.raises(UserError, match="常见密码"):
        init_workspace(tmp_path / "ws", admin="admin", password="password123")


def test_init_forces_a_generated_password_and_keeps_a_chosen_one(tmp_path, workspace):
    assert _user(workspace, "admin").must_change_password is False  # chosen by the person running init
    _, generated = init_workspace(tmp_path / "other", admin="root", password=None)
    assert generated and _user(tmp_path / "other", "root").must_change_password is True


def test_users_added_from_the_command_line_must_change_their_password(workspace):
    added = _run("users", "add", "xian", "--role", "admin", "-w", str(workspace))
    assert added.exit_code == 0 and "首次登录时须先修改密码" in _said(added)
    assert re.search(r"密码\S只显示这一次\S:[A-Za-z2-9]{4}-[A-Za-z2-9]{4}-[A-Za-z2-9]{4}该用户", _said(added))
    assert _user(workspace, "xian").must_change_password
    typed = _run("users", "add", "shi", "--role", "admin", "--password", "运维设的初始口令-1", "-w", str(workspace))
    assert typed.exit_code == 0 and _user(workspace, "shi").must_change_password
    listed = _run("users", "list", "-w", str(workspace))
    assert "待本人修改初始密码" in _said(listed)


def test_reset_password_ends_logins_revokes_tokens_and_is_audited(workspace):
    assert _run("tokens", "create", "admin", "--name", "同步", "--scope", "read-write",
                "-w", str(workspace)).exit_code == 0
    database, _ = open_database(workspace)
    with database.session() as s:
        start_session(s, s.scalar(select(User).where(User.username == "admin")))
    reset = _run("users", "reset-password", "admin", "-w", str(workspace))
    assert reset.exit_code == 0 and "API令牌1个已撤销" in _said(reset)
    new = re.search(r"新密码\S只显示这一次\S:(\S+?)。", _said(reset)).group(1)
    with database.session() as s:
        user = s.scalar(select(User).where(User.username == "admin"))
        assert user.must_change_password and authenticate(s, "admin", new) is not None
        assert authenticate(s, "admin", ADMIN_PASSWORD) is None
        assert s.scalar(select(func.count()).select_from(WebSession)) == 0
        assert all(t.revoked_at is not None for t in s.scalars(select(ApiToken)))
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.entity == "user", AuditEntry.field == "password"))
        assert (entry.via, entry.note) == ("cli", "密码已重置(自动生成);已撤销其 API 令牌 1 个")
        assert new not in str(entry.note)
    weak = _run("users", "reset-password", "admin", "--password", "qwertyuiop", "-w", str(workspace))
    assert weak.exit_code != 0 and "常见密码" in weak.exception.user_message()
    unknown = _run("users", "reset-password", "nobody", "-w", str(workspace))
    assert unknown.exit_code != 0 and "没有用户 nobody" in unknown.exception.user_message()
    database.engine.dispose()


def test_tokens_have_a_scope_and_an_expiry_shown_by_list(workspace):
    made = _run("tokens", "create", "admin", "--name", "只读同步", "--days", "30", "-w", str(workspace))
    assert made.exit_code == 0 and "只读" in _said(made) and "有效期至" in _said(made)
    token = re.search(r"jh_[A-Za-z0-9_-]{20,}", made.output).group(0)
    database, _ = open_database(workspace)
    with database.session() as s:
        row = s.scalar(select(ApiToken))
        assert row.scope == "read"
        assert timedelta(days=29, hours=23) < row.expires_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None) \
            <= timedelta(days=30)
        assert token_user(s, token, write=False).username == "admin"
        row.expires_at = utcnow() - timedelta(days=1)
    listed = _run("tokens", "list", "-w", str(workspace))
    assert listed.exit_code == 0
    assert "read(只读)" in _said(listed) and "已过期" in _said(listed)
    database.engine.dispose()
    for arguments, words in ((["--scope", "write"], "--scope 的取值“write”无效"), (["--days", "0"], "1–3650"),
                             (["--days", "4000"], "1–3650")):
        refused = _run("tokens", "create", "admin", "--name", "x", *arguments, "-w", str(workspace))
        assert refused.exit_code != 0 and words in refused.exception.user_message(), arguments
    database, _ = open_database(workspace)
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(ApiToken)) == 1  # nothing made by a refused command
    database.engine.dispose()

"""`junheng tokens create|list|revoke`: a token is printed once, works as its user on the API,
is listed without its secret and stops working when revoked."""

from __future__ import annotations

import re

import builders
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from junheng.cli import app as cli_app
from junheng.services import init_workspace, open_database
from junheng.web.app import create_app


def test_tokens_are_created_listed_and_revoked_from_the_command_line(tmp_path):
    workspace = tmp_path / "ws"
    init_workspace(workspace, admin="admin", password="Api-tokens-test-2024")
    # the real command once (a fresh process, as an administrator runs it) ...
    created = builders.run_junheng("tokens", "create", "admin", "--name", "市级平台同步", "-w", str(workspace))
    assert created.returncode == 0, created.stderr
    token = re.search(r"jh_[A-Za-z0-9_-]{20,}", created.stdout).group(0)
    assert "只显示这一次" in created.stdout

    database, settings = open_database(workspace)
    client = TestClient(create_app(settings, database))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).json()["roles"] == ["admin"]

    # ... the other sub-commands in this process (each fresh process costs seconds)
    runner = CliRunner()
    listed = runner.invoke(cli_app, ["tokens", "list", "-w", str(workspace)], terminal_width=200)
    assert listed.exit_code == 0 and "市级平台同步" in listed.output and "有效" in listed.output
    assert token not in listed.output and token[3:20] not in listed.output

    revoked = runner.invoke(cli_app, ["tokens", "revoke", "1", "-w", str(workspace)])
    assert revoked.exit_code == 0 and "已撤销" in revoked.output
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    again = runner.invoke(cli_app, ["tokens", "revoke", "1", "-w", str(workspace)])
    assert again.exit_code != 0 and "已于" in str(again.exception)
    unknown = runner.invoke(cli_app, ["tokens", "create", "nobody", "--name", "x", "-w", str(workspace)])
    assert unknown.exit_code != 0 and "没有用户 nobody" in str(unknown.exception)
    database.engine.dispose()

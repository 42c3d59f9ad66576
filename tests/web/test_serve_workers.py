"""`junheng serve`: one worker process per CPU core unless --workers says otherwise; a single
process builds the app itself (warmed at start-up), several import it from the workspace."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from junheng.cli import workspace as workspace_cli
from junheng.cli.workspace import default_workers


def test_default_workers_is_the_cores_this_process_may_use(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert default_workers(None) == 3
    assert default_workers(1) == 1 and default_workers(5) == 5  # --workers overrides
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(200)), raising=False)
    assert default_workers(None) == 64  # never more than --workers accepts


@pytest.fixture
def served(monkeypatch, tmp_path):
    from junheng import services
    from junheng.monitor import scheduler
    from junheng.store.db import Database
    from junheng.web import serving
    from junheng.workspace import Settings

    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    database.migrate()
    settings = Settings(database_url=database.url, secret_key="s", uploads=tmp_path / "uploads")
    calls = []
    monkeypatch.setattr(services, "open_database", lambda *a, **k: (database, settings))
    monkeypatch.setattr(workspace_cli, "_check_port_free", lambda host, port: None)
    monkeypatch.setattr(serving, "run", lambda target, **options: calls.append((target, options)))
    monkeypatch.setattr(scheduler, "start_scheduler", lambda *a, **k: None)
    yield calls
    database.engine.dispose()


def test_serve_starts_one_worker_per_core_by_default(served, monkeypatch, tmp_path):
    from junheng.cli import app

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    result = CliRunner().invoke(app, ["serve", "-w", str(tmp_path)])
    assert result.exit_code == 0, result.output
    target, options = served[-1]
    assert target == "junheng.web.app:create_app_from_environment" and options["workers"] == 2
    assert options["factory"] is True


def test_serve_on_one_core_or_with_one_worker_builds_a_warmed_app(served, monkeypatch, tmp_path):
    from fastapi.testclient import TestClient

    from junheng.cli import app

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    result = CliRunner().invoke(app, ["serve", "-w", str(tmp_path)])
    assert result.exit_code == 0, result.output
    web_app, options = served[-1]
    assert options.get("workers", 1) == 1
    with TestClient(web_app):  # its start-up warms the caches (an empty store: nothing to evaluate)
        assert web_app.state.warmed["templates"] > 20 and web_app.state.warmed["counties"] == 0
    result = CliRunner().invoke(app, ["serve", "--workers", "3", "-w", str(tmp_path)])
    assert served[-1][1]["workers"] == 3


def test_serve_help_says_the_default():
    from junheng.cli import app

    result = CliRunner().invoke(app, ["serve", "--help"])
    said = "".join(ch for ch in result.output if ch not in " \n│")
    assert "缺省为本机的CPU核数" in said


def test_workers_accept_connections_that_send_at_once():
    """Several workers share a socket uvicorn binds itself: without TCP_NODELAY on it, each
    keep-alive request after the first waits ~40 ms for the client's delayed ACK (uvicorn #3149).
    What the listener has, the connections it accepts inherit (Linux)."""
    import socket

    import uvicorn

    from junheng.web.serving import no_delay

    config = uvicorn.Config("junheng.web.app:create_app_from_environment", factory=True, workers=2,
                            host="127.0.0.1", port=0)
    with config.bind_socket() as listener:
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0  # uvicorn's own: Nagle on
        no_delay(listener).listen()
        with socket.create_connection(listener.getsockname()):
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0

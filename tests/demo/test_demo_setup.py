"""The demo and set-up as a new user meets them (issue 12): a re-run keeps the accounts and their
passwords (reset only on request, and said); generated passwords are easy to read and type; the
generated junheng.toml documents its settings; `make demo` takes PORT= and HOST=; a taken port is
a Chinese message; PDF's missing LibreOffice is said up front."""

from __future__ import annotations

import io
import re
import socket
import subprocess
import tomllib
from dataclasses import fields
from datetime import date
from pathlib import Path

from rich.console import Console
from sqlalchemy import func, select

import builders
from junheng.demo.synthetic import generate_county
from junheng.monitor.config import MonitorSettings, monitor_settings
from junheng.services import init_workspace, load_demo_into_store, open_database, pdf_hint
from junheng.store.models import AuditEntry, User, WebSession
from junheng.store.users import (
    PASSWORD_ALPHABET,
    authenticate,
    change_password,
    new_password,
    password_problem,
    start_session,
)

REPO = Path(__file__).resolve().parents[2]
LOOK_ALIKES = set("0Oo1lIi")


def test_generated_passwords_have_no_look_alikes_and_no_punctuation_at_the_ends():
    for username in ("admin", "county", "school", None):
        for _ in range(300):
            password = new_password(username)
            assert re.fullmatch(r"[^-]{4}-[^-]{4}-[^-]{4}", password), password
            chars = password.replace("-", "")
            assert set(chars) <= set(PASSWORD_ALPHABET) and not set(chars) & LOOK_ALIKES, password
            assert any(c.isdigit() for c in chars) and any(c.isalpha() for c in chars), password
            assert password_problem(password, username) is None
    assert not set(PASSWORD_ALPHABET) & LOOK_ALIKES and PASSWORD_ALPHABET.isalnum()


def _small_demo():
    """The demo county's latest complete year only (fast), as the browser tests store it."""
    dataset = generate_county(2024, today=date(2026, 12, 1))
    year = int(dataset.county_year["year"].max())
    for table in ("school_year", "county_year", "quality"):
        frame = getattr(dataset, table)
        setattr(dataset, table, frame[frame["year"] == year].reset_index(drop=True))
    return dataset


def _passwords(loaded) -> dict[str, str | None]:
    return {a.username: a.password for a in loaded.accounts}


def test_a_re_run_keeps_every_account_and_password_and_a_reset_is_asked_for(tmp_path):
    root, dataset = tmp_path / "ws", _small_demo()
    first = load_demo_into_store(root, dataset, Console(file=io.StringIO()))
    assert {a.state for a in first.accounts} == {"new"}
    created = _passwords(first)
    assert set(created) == {"admin", "supervisor", "county", "school", "viewer"} and all(created.values())
    database, _ = open_database(root, migrate=False)
    with database.session() as session:
        for username, password in created.items():
            user = authenticate(session, username, password)
            assert user is not None and not user.must_change_password  # the demo's accounts log straight in
        # one user has chosen their own password meanwhile, another is logged in
        change_password(session, session.scalar(select(User).where(User.username == "county")),
                        created["county"], "县里自己的密码-2026")
        start_session(session, session.scalar(select(User).where(User.username == "school")))

    again = load_demo_into_store(root, dataset, Console(file=io.StringIO()))
    assert {a.state for a in again.accounts} == {"kept"} and not any(_passwords(again).values())
    with database.session() as session:
        assert authenticate(session, "county", "县里自己的密码-2026") is not None
        for username in ("admin", "supervisor", "school", "viewer"):
            assert authenticate(session, username, created[username]) is not None
        assert session.scalar(select(func.count()).select_from(WebSession)) == 1  # the login stands

    reset = load_demo_into_store(root, dataset, Console(file=io.StringIO()), reset_passwords=True)
    assert {a.state for a in reset.accounts} == {"reset"}
    fresh = _passwords(reset)
    with database.session() as session:
        for username, password in fresh.items():
            assert password and password != created[username]
            assert authenticate(session, username, password) is not None
            assert authenticate(session, username, created[username]) is None
        assert authenticate(session, "county", "县里自己的密码-2026") is None
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0  # every login ended
        notes = session.scalars(select(AuditEntry.note).where(AuditEntry.entity == "user",
                                                              AuditEntry.field == "password")).all()
        assert sum("junheng demo --reset-passwords" in (n or "") for n in notes) == 5
    database.engine.dispose()


def test_the_demo_keeps_an_admin_made_by_init(tmp_path):
    root = tmp_path / "ws"
    init_workspace(root, admin="admin", password="管理员自己的密码-2026")
    loaded = load_demo_into_store(root, _small_demo(), Console(file=io.StringIO()))
    states = {a.username: a.state for a in loaded.accounts}
    assert states == {"admin": "kept", "supervisor": "new", "county": "new", "school": "new", "viewer": "new"}
    database, _ = open_database(root, migrate=False)
    with database.session() as session:
        assert authenticate(session, "admin", "管理员自己的密码-2026") is not None
    database.engine.dispose()


def test_the_pdf_hint_is_given_only_without_libreoffice(tmp_path, monkeypatch):
    monkeypatch.setenv("JUNHENG_SOFFICE", str(tmp_path / "missing"))
    hint = pdf_hint()
    assert hint and "LibreOffice" in hint and "bash scripts/install-system-deps.sh" in hint
    soffice = tmp_path / "soffice"
    soffice.write_text("#!/bin/sh\n", "utf-8")
    monkeypatch.setenv("JUNHENG_SOFFICE", str(soffice))
    assert pdf_hint() is None


# ---------------------------------------------------------------- junheng.toml


def _uncommented(text: str, *, skip=("database_url", "site_url", "host", "username", "sender")) -> str:
    """The generated settings with every table and key uncommented (but the examples that are no default)."""
    out = []
    for line in text.splitlines():
        found = re.match(r"# (\[\w+\]|(\w+) = .*)$", line)
        if found and found.group(2) not in skip:
            out.append(found.group(1))
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def test_a_new_workspace_documents_its_settings_at_their_defaults(tmp_path):
    root = tmp_path / "ws"
    init_workspace(root, admin="admin", password="管理员自己的密码-2026")
    text = (root / "junheng.toml").read_text("utf-8")
    for table, keys in {"monitor": ("enabled", "schedule", "timezone", "rules_dir", "site_url", "attachment_limit_mb"),
                        "smtp": ("host", "port", "security"),
                        "webhook": ("timeout", "allowed_hosts", "internal_hosts"),
                        "uploads": ("keep_days",)}.items():
        assert f"# [{table}]" in text
        for key in keys:
            assert re.search(rf"^# {key} = ", text, re.M), key
    assert "secure_cookies" in text
    config = tomllib.loads(text)
    assert set(config) == {"secret_key"}  # everything else is commented out: the code's defaults apply
    defaults = MonitorSettings()
    uncommented = _uncommented(text)
    (root / "junheng.toml").write_text(uncommented, "utf-8")
    parsed = tomllib.loads(uncommented)
    assert {"monitor", "smtp", "webhook", "uploads"} <= set(parsed)
    assert parsed["uploads"]["keep_days"] == defaults.upload_keep_days and parsed["monitor"]["schedule"] == defaults.schedule
    written = monitor_settings(root)
    for field in fields(MonitorSettings):
        if field.name not in ("root", "rules_dir", "uploads"):
            assert getattr(written, field.name) == getattr(defaults, field.name), field.name
    assert written.rules_dir == root / "monitor-rules"
    # a table appended to the generated file (as the docs and the backup tests do) is no duplicate
    init_workspace(tmp_path / "other", admin="admin", password="管理员自己的密码-2026")
    with open(tmp_path / "other" / "junheng.toml", "a", encoding="utf-8") as config_file:
        config_file.write('\n[monitor]\nschedule = "0 7 * * *"\n')
    assert monitor_settings(tmp_path / "other").schedule == "0 7 * * *"


# ---------------------------------------------------------------- make demo, serve


def test_make_demo_takes_port_host_and_demo_arguments():
    result = subprocess.run(["make", "-n", "demo", "PORT=8123", "HOST=0.0.0.0", "DEMO_ARGS=--reset-passwords"],
                            cwd=REPO, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(re.search(r"junheng demo --workspace \S+ --host 0.0.0.0 --port 8123 --reset-passwords$", line) for line in lines)
    assert any(re.search(r"junheng serve --workspace \S+ --host 0.0.0.0 --port 8123$", line) for line in lines)
    default = subprocess.run(["make", "-n", "demo"], cwd=REPO, capture_output=True, text=True, check=False,
                             timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert re.search(r"junheng serve --workspace \S+ --host 127.0.0.1 --port 8000$", default.stdout, re.M), default.stdout


def test_serve_on_a_taken_port_says_so_in_chinese(tmp_path):
    root = tmp_path / "ws"
    init_workspace(root, admin="admin", password="管理员自己的密码-2026")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = builders.run_junheng("serve", "-w", str(root), "--port", str(port))
    assert result.returncode == 1, result.stderr
    assert f"端口 {port} 已被其他程序占用" in result.stderr and f"--port {port + 1}" in result.stderr
    assert "Traceback" not in result.stderr and "Errno" not in result.stderr


def test_serve_on_an_address_not_of_this_machine_says_so_in_chinese(tmp_path):
    root = tmp_path / "ws"
    init_workspace(root, admin="admin", password="管理员自己的密码-2026")
    result = builders.run_junheng("serve", "-w", str(root), "--host", "192.0.2.1", "--port", "8000")
    assert result.returncode == 1, result.stderr
    assert "无法在 192.0.2.1:8000 上启动网站" in result.stderr and "Traceback" not in result.stderr

"""Backup and restore (junheng.store.backup): a backup taken while the store is in use restores
into a new workspace with identical evaluations, audit log, rows and files (SQLite and
PostgreSQL); a restore refuses a non-empty target, a tampered archive and hostile members
before writing anything."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import sqlite3
import tarfile
import tomllib
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, select, text

import builders
from builders import run_junheng
from databases import POSTGRES_ADMIN_URL
from junheng import services
from junheng.engine.evaluate import evaluate_dataset
from junheng.monitor.tasks import add_attachment, add_comment, create_task
from junheng.store import repo
from junheng.store.backup import MANIFEST, BackupError, backup_workspace, restore_workspace, verify_archive
from junheng.store.db import Database
from junheng.store.models import AuditEntry, Base, TaskComment
from junheng.workspace import Workspace

PASSWORD = "Backup-test-passphrase-2024"
WORKBOOK = b"PK\x03\x04 an uploaded workbook, kept byte for byte \x00\xff"
EVIDENCE = b"%PDF-1.4 evidence of the new sports ground \x00\x01\x02"


# ---------------------------------------------------------------- a workspace with data


def build_workspace(root: Path, database_url: str | None) -> tuple[Path, int]:
    """A workspace with approved data, a stored evaluation, a task with an attachment, an uploaded
    workbook, a saved scenario, a cost table and a warning rule file."""
    services.init_workspace(root, admin="admin", password=PASSWORD, database_url=database_url)
    database, settings = services.open_database(root)
    try:
        with database.session() as s:
            repo.import_dataset(s, builders.dataset(), user=None, via="cli", status="approved")
        with database.session() as s:
            task = create_task(s, builders.COUNTY, title="补足体育运动场馆面积", via="cli")
            add_attachment(s, settings.uploads, task.id, "验收报告.pdf", EVIDENCE, via="cli")
            add_comment(s, task.id, "已开工")
            task_id = task.id
        with database.session() as s:
            services.evaluate_stored(s, builders.COUNTY, builders.YEAR)
    finally:
        database.engine.dispose()
    (settings.uploads / "3f2a9c.xlsx").write_bytes(WORKBOOK)
    (settings.uploads / "3f2a9c.json").write_text(json.dumps({"id": "3f2a9c", "county": builders.COUNTY}), "utf-8")
    (root / "scenarios" / builders.COUNTY).mkdir(parents=True)
    (root / "scenarios" / builders.COUNTY / "新建体育馆.yaml").write_text("name: 新建体育馆\n", "utf-8")
    (root / "costs").mkdir()
    (root / "costs" / f"{builders.COUNTY}.yaml").write_text("sports_area: 3000\n", "utf-8")
    (root / "monitor-rules").mkdir()
    (root / "monitor-rules" / f"{builders.COUNTY}.yaml").write_text("extends: default\n", "utf-8")
    with open(root / "junheng.toml", "a", encoding="utf-8") as config:
        config.write('\n[monitor]\nschedule = "0 7 * * *"\n')
    return root, task_id


def workspace_files(root: Path) -> dict[str, bytes]:
    """Every file of a workspace but its database and settings (compared on their own)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith("junheng.")}


def settings_without_url(root: Path) -> dict:
    config = tomllib.loads((root / "junheng.toml").read_text("utf-8"))
    config.pop("database_url", None)
    return config


def store_state(url: str) -> dict:
    """The evaluation (stored and recomputed), the audit log and every table's rows."""
    database = Database(url)
    try:
        with database.session() as s:
            tables = {t.name: [tuple(r) for r in s.execute(select(t).order_by(*t.primary_key.columns))]
                      for t in Base.metadata.sorted_tables}
            audit = [tuple(r) for r in s.execute(select(AuditEntry.__table__).order_by(AuditEntry.id))]
            comments = list(s.scalars(select(TaskComment.body).order_by(TaskComment.id)))
        with database.session() as s:
            result, run, _ = services.evaluate_stored(s, builders.COUNTY, builders.YEAR)
            fresh = evaluate_dataset(repo.load_dataset(s, [builders.COUNTY]), county=builders.COUNTY,
                                     year=builders.YEAR)[0]
        return {"tables": tables, "audit": audit, "comments": comments, "run": run.id,
                "evaluation": json.dumps(result.to_json(), sort_keys=True, ensure_ascii=False),
                "recomputed": json.dumps(fresh.to_json(), sort_keys=True, ensure_ascii=False)}
    finally:
        database.engine.dispose()


@contextmanager
def empty_postgres_database():
    """A new, empty database on the test server (dropped afterwards)."""
    admin = create_engine("postgresql+psycopg://" + POSTGRES_ADMIN_URL.removeprefix("postgresql://"),
                          isolation_level="AUTOCOMMIT")
    name = f"junheng_restore_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def restore_target(kind: str):
    if kind == "sqlite":
        yield None
    else:
        with empty_postgres_database() as url:
            yield url


# ---------------------------------------------------------------- the round trip


def test_a_backup_taken_while_the_store_is_in_use_restores_identically(database, tmp_path):
    kind = "sqlite" if database.url.startswith("sqlite") else "postgresql"
    root, task_id = build_workspace(tmp_path / "ws", database.url)

    # A writer that has committed since the last checkpoint (SQLite: the change is in the WAL
    # only) and another with a transaction still open while the backup runs.
    live = Database(database.url)
    if kind == "sqlite":
        db_file = Path(database.url.removeprefix("sqlite:///"))
        checkpoint = sqlite3.connect(db_file)  # everything so far into junheng.db itself
        checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        checkpoint.close()

        @event.listens_for(live.engine, "connect")
        def _no_checkpoints(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")
    with live.session() as s:
        add_comment(s, task_id, "已竣工,待核验")
    pending = live.engine.connect()
    transaction = pending.begin()
    pending.execute(TaskComment.__table__.insert().values(task_id=task_id, body="尚未提交的意见"))

    try:
        if kind == "sqlite":  # what a file copy of the live database would have kept
            assert db_file.with_name(db_file.name + "-wal").stat().st_size > 0
            shutil.copyfile(db_file, tmp_path / "copied.db")
            copied = sqlite3.connect(tmp_path / "copied.db")
            assert [body for (body,) in copied.execute("SELECT body FROM task_comments")] == ["已开工"]
            copied.close()
        summary = backup_workspace(root, tmp_path / "backup.tar.gz")
    finally:
        transaction.rollback()
        pending.close()
        live.engine.dispose()

    assert summary.database_kind == kind
    manifest = verify_archive(tmp_path / "backup.tar.gz")
    assert manifest["database_kind"] == kind and manifest["schema_revision"] == summary.schema_revision
    assert {"junheng_version", "created_at"} <= set(manifest)
    names = {f["path"] for f in manifest["files"]}
    assert {"workspace/junheng.toml", "workspace/uploads/3f2a9c.xlsx", "workspace/costs/990001.yaml",
            f"workspace/scenarios/990001/新建体育馆.yaml", "workspace/monitor-rules/990001.yaml"} <= names
    assert any(n.startswith("workspace/uploads/tasks/1/") and n.endswith(".pdf") for n in names)

    with restore_target(kind) as target_url:
        restored = restore_workspace(tmp_path / "backup.tar.gz", tmp_path / "restored", database_url=target_url)
        new_root = tmp_path / "restored"
        new_settings = Workspace(new_root).settings()
        assert new_settings.database_url == (target_url or f"sqlite:///{(new_root / 'junheng.db').resolve()}")
        assert new_settings.secret_key == Workspace(root).settings().secret_key
        assert settings_without_url(new_root) == settings_without_url(root)
        assert workspace_files(new_root) == workspace_files(root)
        assert restored.schema_to == summary.schema_revision

        original, copy = store_state(database.url), store_state(new_settings.database_url)
        assert copy["audit"] == original["audit"]
        assert copy["tables"] == original["tables"]
        assert copy["run"] == original["run"]  # the stored evaluation is found again, not recomputed
        assert copy["evaluation"] == original["evaluation"] == copy["recomputed"] == original["recomputed"]
        assert "已竣工,待核验" in copy["comments"] and "尚未提交的意见" not in copy["comments"]

        # the restored workspace opens with the current version and its attachment downloads
        database2, _ = services.open_database(new_root)
        try:
            from junheng.monitor.tasks import attachment_file
            from junheng.store.models import TaskAttachment

            with database2.session() as s:
                attachment = s.scalars(select(TaskAttachment)).one()
                path, _ = attachment_file(s, new_root / "uploads", attachment.id)
                assert path.read_bytes() == EVIDENCE
                assert hashlib.sha256(EVIDENCE).hexdigest() == attachment.sha256
        finally:
            database2.engine.dispose()


def test_a_backup_of_an_older_schema_is_migrated_to_the_newest_on_restore(tmp_path):
    from alembic import command
    from alembic.script import ScriptDirectory

    from junheng.store.db import alembic_config

    root = tmp_path / "ws"
    services.init_workspace(root, admin="admin", password=PASSWORD)
    script = ScriptDirectory.from_config(alembic_config(None))
    head = script.get_current_head()
    previous = script.get_revision(head).down_revision
    engine = Database(Workspace(root).settings().database_url).engine
    command.downgrade(alembic_config(engine), previous)
    engine.dispose()
    backup_workspace(root, tmp_path / "old.tar.gz")
    assert verify_archive(tmp_path / "old.tar.gz")["schema_revision"] == previous
    summary = restore_workspace(tmp_path / "old.tar.gz", tmp_path / "restored")
    assert (summary.schema_from, summary.schema_to) == (previous, head)


# ---------------------------------------------------------------- refusals


@pytest.fixture(scope="module")
def sqlite_backup(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("backup")
    build_workspace(folder / "ws", None)
    backup_workspace(folder / "ws", folder / "good.tar.gz")
    return folder / "good.tar.gz"


def read_members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def write_archive(path: Path, members: dict[str, bytes], extra: list[tarfile.TarInfo] = (),
                  manifest_extra: list[dict] = ()) -> Path:
    """An archive of `members` (manifest.json rewritten with their real checksums unless it is
    given), plus raw `extra` headers."""
    members = dict(members)
    manifest = json.loads(members.pop(MANIFEST))
    listed = {f["path"] for f in manifest["files"]}
    manifest["files"] = [f for f in manifest["files"] if f["path"] in members] + list(manifest_extra)
    for name, data in members.items():
        if name not in listed:
            manifest["files"].append({"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.size else None)
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def assert_nothing_written(tmp_path: Path, target: Path, before: set[str] | None = None):
    if before is None:
        assert not target.exists()
    else:
        assert {p.name for p in target.iterdir()} == before
    assert not [p for p in target.parent.iterdir() if ".restoring-" in p.name]


def test_a_non_empty_workspace_is_refused(sqlite_backup, tmp_path):
    target = tmp_path / "existing"
    target.mkdir()
    (target / "notes.txt").write_text("keep me", "utf-8")
    with pytest.raises(BackupError, match="不是空的"):
        restore_workspace(sqlite_backup, target)
    assert_nothing_written(tmp_path, target, {"notes.txt"})
    assert (target / "notes.txt").read_text("utf-8") == "keep me"


def test_an_empty_folder_is_a_valid_target(sqlite_backup, tmp_path):
    target = tmp_path / "empty"
    target.mkdir()
    restore_workspace(sqlite_backup, target)
    assert (target / "junheng.db").is_file() and (target / "uploads" / "3f2a9c.xlsx").read_bytes() == WORKBOOK


def test_a_tampered_member_is_refused_by_its_checksum(sqlite_backup, tmp_path):
    members = read_members(sqlite_backup)
    members["workspace/uploads/3f2a9c.xlsx"] = WORKBOOK.replace(b"byte", b"BYTE")  # same size
    path = tmp_path / "tampered.tar.gz"
    with tarfile.open(path, "w:gz") as tar:  # the original manifest, one member changed
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(BackupError, match="校验失败.*3f2a9c.xlsx"):
        restore_workspace(path, tmp_path / "restored")
    assert_nothing_written(tmp_path, tmp_path / "restored")


def test_a_truncated_or_corrupted_archive_is_refused(sqlite_backup, tmp_path):
    data = sqlite_backup.read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 3] ^= 0xFF
    (tmp_path / "flipped.tar.gz").write_bytes(bytes(flipped))
    for name in ("cut.tar.gz", "flipped.tar.gz"):
        with pytest.raises(BackupError):
            restore_workspace(tmp_path / name, tmp_path / "restored")
        assert_nothing_written(tmp_path, tmp_path / "restored")


def _link(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize("hostile,reason", [
    ({"workspace/../../evil.txt": b"owned"}, r"\.\."),
    ({"workspace/uploads/../../../evil.txt": b"owned"}, r"\.\."),
    ({"/tmp/evil.txt": b"owned"}, "绝对路径"),
    ({"workspace/junheng.db": b"not the database"}, "数据库文件同名"),
    ({"elsewhere/evil.txt": b"owned"}, "不是 junheng 备份的成员"),
    ([_link("workspace/uploads/link", tarfile.SYMTYPE, "/etc/passwd")], "符号链接"),
    ([_link("workspace/uploads/hard", tarfile.LNKTYPE, "workspace/junheng.toml")], "硬链接"),
    ([_link("workspace/uploads/dev", tarfile.CHRTYPE)], "设备文件"),
    ([_link("workspace/uploads/fifo", tarfile.FIFOTYPE)], "管道文件"),
])
def test_hostile_members_are_refused_before_anything_is_written(sqlite_backup, tmp_path, hostile, reason):
    members = read_members(sqlite_backup)
    if isinstance(hostile, dict):
        path = write_archive(tmp_path / "hostile.tar.gz", {**members, **hostile})
    else:
        path = write_archive(tmp_path / "hostile.tar.gz", members, extra=hostile)
    with pytest.raises(BackupError, match=reason):
        restore_workspace(path, tmp_path / "restored")
    assert_nothing_written(tmp_path, tmp_path / "restored")
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()


def test_a_manifest_naming_a_path_outside_is_refused(sqlite_backup, tmp_path):
    members = read_members(sqlite_backup)
    path = write_archive(tmp_path / "m.tar.gz", members,
                         manifest_extra=[{"path": "workspace/../x", "size": 1, "sha256": "0" * 64}])
    with pytest.raises(BackupError, match=r"\.\."):
        restore_workspace(path, tmp_path / "restored")
    assert_nothing_written(tmp_path, tmp_path / "restored")


def test_the_unpacked_size_is_bounded(sqlite_backup, tmp_path):
    with pytest.raises(BackupError, match="超过上限"):
        restore_workspace(sqlite_backup, tmp_path / "restored", max_bytes=100_000)
    assert_nothing_written(tmp_path, tmp_path / "restored")


def test_a_backup_never_overwrites_and_a_postgres_backup_needs_a_database(sqlite_backup, tmp_path):
    with pytest.raises(BackupError, match="已存在"):
        backup_workspace(sqlite_backup.parent / "ws", sqlite_backup)
    with pytest.raises(BackupError, match="不能恢复到 PostgreSQL"):
        restore_workspace(sqlite_backup, tmp_path / "r", database_url="postgresql://postgres@127.0.0.1/x")
    assert_nothing_written(tmp_path, tmp_path / "r")


# ---------------------------------------------------------------- the commands


def test_the_commands_back_up_and_restore_and_refuse_in_chinese(tmp_path):
    root, _ = build_workspace(tmp_path / "ws", None)
    out = tmp_path / "备份.tar.gz"
    done = run_junheng("backup", "-w", str(root), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "已备份工作区" in done.stdout and "妥善保管" in done.stdout
    done = run_junheng("restore", str(out), "-w", str(tmp_path / "new"))
    assert done.returncode == 0, done.stderr
    assert "已恢复工作区" in done.stdout
    assert workspace_files(tmp_path / "new") == workspace_files(root)
    listed = run_junheng("users", "list", "-w", str(tmp_path / "new"))
    assert listed.returncode == 0 and "admin" in listed.stdout

    again = run_junheng("restore", str(out), "-w", str(tmp_path / "new"))
    assert again.returncode != 0 and "不是空的" in again.stderr
    assert "Traceback" not in again.stderr + again.stdout
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"not a backup at all")
    refused = run_junheng("restore", str(bad), "-w", str(tmp_path / "other"))
    assert refused.returncode != 0 and "不是完整有效的 junheng 备份文件" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout and not (tmp_path / "other").exists()

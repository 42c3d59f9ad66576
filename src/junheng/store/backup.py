"""Backup and restore of a workspace (`junheng backup` / `junheng restore`).

A backup is one `.tar.gz` file:

    database/junheng.db        SQLite: a copy made by SQLite's online backup API (consistent
                               even while the server writes; WAL folded in, journal mode DELETE)
    database/junheng.pgdump    PostgreSQL: `pg_dump --format=custom` of one snapshot
    workspace/junheng.toml     the settings, secret key included
    workspace/uploads/...      uploaded workbooks, task attachments (uploads/tasks/<id>/...)
    workspace/scenarios/...    saved scenarios, cost tables (costs/), warning rules
    workspace/costs/...        (monitor-rules/ or the configured [monitor] rules_dir) and the
    workspace/standards/...    workspace's own standard files, when the folders exist
    manifest.json              format, junheng version, Alembic revision, database kind,
                               created_at and every member's size and sha256

The database is snapshotted first and the files after: a file is written before the row that
refers to it is committed, so every file the snapshot refers to is in the backup.

A file copy of a live SQLite database in WAL mode misses the transactions still in
junheng.db-wal; that is why the SQLite backup API is used.

Restore writes only into an empty (or absent) workspace folder and an empty database. It reads
the archive twice: the first pass checks every member (no absolute paths, no "..", no links or
device files, a bounded total size and member count) and every checksum against the manifest
before anything is written; the second pass writes into a staging folder beside the target,
checking each checksum again, restores the database (the SQLite file, or `pg_restore` into the
empty target database), migrates it to the newest schema and only then moves the staging folder
into place.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import IO, Callable, Iterator

from junheng.database_urls import shown_url
from junheng.errors import JunhengError
from junheng.workspace import CONFIG_FILE, DATABASE_FILE, RULES_FOLDER, UPLOADS_FOLDER, Workspace, resolve

FORMAT = "junheng-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FILES_PREFIX = "workspace"
DATABASE_MEMBERS = {"sqlite": "database/junheng.db", "postgresql": "database/junheng.pgdump"}
# The workspace folders that hold a deployment's own files (beside junheng.toml and the database).
FOLDERS = (UPLOADS_FOLDER, "scenarios", "costs", RULES_FOLDER, "standards")
# Never restored from an archive's workspace/ part: the database files are the database member's.
RESERVED = {DATABASE_FILE, f"{DATABASE_FILE}-wal", f"{DATABASE_FILE}-shm", f"{DATABASE_FILE}-journal"}

MAX_UNPACKED_BYTES = 20 * 1024 ** 3  # the most a restore unpacks (database and files together)
MAX_MEMBERS = 200_000
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
CHUNK = 1024 * 1024


class BackupError(JunhengError):
    pass


@dataclass
class BackupSummary:
    path: Path
    database_kind: str
    schema_revision: str
    files: int
    bytes: int
    notes: list[str] = field(default_factory=list)


@dataclass
class RestoreSummary:
    workspace: Path
    database_kind: str
    database_url: str  # without password
    schema_from: str
    schema_to: str
    files: int
    bytes: int
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- progress


class _Steps:
    """A transient rich progress display on `console`, or nothing (console None)."""

    def __init__(self, console):
        self._progress = None
        if console is not None:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            class Amount(DownloadColumn):  # nothing for a step of unknown size
                def render(self, task):
                    return super().render(task) if task.total is not None else ""

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                      Amount(binary_units=True), TimeElapsedColumn(),
                                      console=console, transient=True)

    def __enter__(self):
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()

    def step(self, description: str, total: int | None = None) -> Callable[[int], None]:
        """Start a step; returns advance(n bytes)."""
        if self._progress is None:
            return lambda n: None
        for task in self._progress.tasks:  # one visible step at a time
            if not task.finished:
                self._progress.update(task.id, completed=task.total or 0, total=task.total or 0, visible=False)
        task_id = self._progress.add_task(description, total=total)
        return lambda n: self._progress.advance(task_id, n)


# ---------------------------------------------------------------- helpers


def _kind(url: str) -> str:
    if url.startswith("sqlite"):
        return "sqlite"
    if url.startswith("postgresql"):
        return "postgresql"
    raise BackupError(f"不支持的数据库地址 {shown_url(url)}:只支持 sqlite:/// 和 postgresql://")


def _sqlite_path(url: str) -> Path:
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"数据库地址 {url} 不是一个 SQLite 文件")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL for pg_dump/pg_restore/psql (driver name dropped) and the environment that carries
    its password, so the password never appears in a process list."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    env = {"PGCONNECT_TIMEOUT": os.environ.get("PGCONNECT_TIMEOUT", "15")}
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _first_line(exc: BaseException) -> str:
    """The driver's own first line of an error (not SQLAlchemy's wrapping)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"找不到 {name}:PostgreSQL 工作区的备份和恢复需要 PostgreSQL 客户端工具"
                          f"(Debian/Ubuntu:apt-get install postgresql-client,版本不低于数据库服务器)")
    return found


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, errors="replace",
                          check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout or "").strip()
        raise BackupError(f"{what}失败(退出码 {done.returncode}):{detail[-1500:]}")


def _known_revisions() -> tuple[set[str], set[str]]:
    """(every revision the installed migrations know, the heads)."""
    from alembic.script import ScriptDirectory

    from junheng.store.db import alembic_config

    script = ScriptDirectory.from_config(alembic_config(None))
    return {r.revision for r in script.walk_revisions()}, set(script.get_heads())


class _HashingReader:
    """Reads `size` bytes of a file for tarfile, hashing and reporting progress as it goes."""

    def __init__(self, handle: IO[bytes], advance: Callable[[int], None]):
        self._handle = handle
        self._advance = advance
        self.digest = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self._handle.read(n)
        self.digest.update(data)
        self._advance(len(data))
        return data


# ---------------------------------------------------------------- backup


def _workspace_files(workspace: Workspace, settings, exclude: set[Path],
                     scratch: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """(archive name, path) of every regular file of the workspace's own folders and its
    settings (not `exclude`, nothing under `scratch`), and notes on what was left out."""
    root = workspace.root.resolve()
    notes: list[str] = []
    folders: list[Path] = [Path(settings.uploads)] + [
        workspace.root / name for name in FOLDERS if name != UPLOADS_FOLDER]
    folders.append(workspace.rules_dir)  # [monitor] rules_dir may name another folder of the workspace
    files: list[tuple[str, Path]] = [(f"{FILES_PREFIX}/{CONFIG_FILE}", workspace.config_path)]
    seen: set[str] = {files[0][0]}
    for folder in folders:
        if not folder.exists():
            continue
        resolved = folder.resolve()
        if resolved != root and root not in resolved.parents:
            notes.append(f"文件夹 {folder} 在工作区之外,没有备份(请另行备份)")
            continue
        if folder.is_symlink() or not folder.is_dir():
            notes.append(f"{folder} 是链接或不是文件夹,没有备份")
            continue
        for current, dirs, names in os.walk(resolved, followlinks=False):
            if Path(current) == scratch or scratch in Path(current).parents:
                dirs[:] = []
                continue
            dirs.sort()
            for name in sorted(names):
                path = Path(current) / name
                relative = path.relative_to(root).as_posix()
                arcname = f"{FILES_PREFIX}/{relative}"
                if arcname in seen or path in exclude or name in RESERVED and Path(current) == root:
                    continue
                if path.is_symlink() or not path.is_file():
                    notes.append(f"{relative} 是链接或特殊文件,没有备份")
                    continue
                problem = _name_problem(arcname)
                if problem:
                    notes.append(f"{relative}:{problem},没有备份")
                    continue
                seen.add(arcname)
                files.append((arcname, path))
    return files, notes


def _snapshot_sqlite(url: str, target: Path) -> str:
    """Copy the live database with the SQLite backup API (one step: one consistent read
    transaction; writers go on meanwhile in WAL mode); returns its Alembic revision."""
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"找不到数据库文件 {source_path}")
    try:
        source = sqlite3.connect(str(source_path), timeout=60)
        try:
            copy = sqlite3.connect(str(target))
            try:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                check = copy.execute("PRAGMA quick_check").fetchone()[0]
                if check != "ok":
                    raise BackupError(f"数据库文件 {source_path} 已损坏({check}),无法备份")
                try:
                    revision = copy.execute("SELECT version_num FROM alembic_version").fetchone()
                except sqlite3.OperationalError:
                    revision = None
            finally:
                copy.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise BackupError(f"无法读取数据库 {source_path}:{exc}") from None
    if not revision:
        raise BackupError(f"数据库 {source_path} 还没有初始化(没有数据库结构版本),无需备份")
    return str(revision[0])


def _snapshot_postgresql(url: str, target: Path) -> str:
    """pg_dump (custom format) of one exported snapshot, read in the same transaction as the
    Alembic revision it records."""
    from sqlalchemy import text

    from junheng.store.db import make_engine

    pg_dump = _tool("pg_dump")
    connection_url, env = _libpq(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
                try:
                    with conn.begin_nested():
                        revision = conn.scalar(text("SELECT version_num FROM alembic_version"))
                except Exception:  # noqa: BLE001 - no alembic_version table
                    revision = None
                if not revision:
                    raise BackupError(f"数据库 {shown_url(url)} 还没有初始化(没有数据库结构版本),无需备份")
                # pg_dump imports the snapshot while this transaction holds it open
                _run([pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={target}",
                      f"--dbname={connection_url}"], env, "pg_dump 导出数据库")
    except BackupError:
        raise
    except Exception as exc:  # noqa: BLE001 - connection problems
        raise BackupError(f"无法连接数据库 {shown_url(url)}:{_first_line(exc)}") from None
    finally:
        engine.dispose()
    return str(revision)


def backup_workspace(workspace_path: Path | None, out: Path, *, console=None,
                     now: datetime | None = None) -> BackupSummary:
    """Write a backup of the workspace to `out` (a new .tar.gz file)."""
    from junheng import __version__

    workspace = resolve(workspace_path)
    settings = workspace.settings()
    if not workspace.initialised:
        raise BackupError(f"{workspace.root} 没有工作区配置文件 {CONFIG_FILE},无法备份设置")
    out = Path(out)
    if not (out.name.endswith(".tar.gz") or out.name.endswith(".tgz")):
        raise BackupError(f"备份文件名应以 .tar.gz 结尾,例如 junheng-备份-{datetime.now():%Y%m%d}.tar.gz")
    if out.exists():
        raise BackupError(f"{out} 已存在:备份不会覆盖已有文件,请换一个文件名")
    if not out.parent.is_dir():
        raise BackupError(f"输出文件夹 {out.parent} 不存在")
    kind = _kind(settings.database_url)
    created = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)

    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".junheng-backup-") as scratch, _Steps(console) as steps:
        dump = Path(scratch) / "database"
        steps.step("正在复制数据库(一致快照)")
        if kind == "sqlite":
            revision = _snapshot_sqlite(settings.database_url, dump)
        else:
            revision = _snapshot_postgresql(settings.database_url, dump)
        members = [(DATABASE_MEMBERS[kind], dump)]
        files, notes = _workspace_files(workspace, settings, exclude={out.resolve()}, scratch=Path(scratch).resolve())
        if not workspace._config().get("secret_key"):
            notes.append("密钥来自环境变量 JUNHENG_SECRET_KEY,不在备份中:恢复后请同样设置该环境变量")
        members += files
        sizes = {name: path.stat().st_size for name, path in members}
        advance = steps.step("正在打包文件", total=sum(sizes.values()))
        partial = Path(scratch) / "backup.tar.gz"
        entries = []
        try:
            with tarfile.open(partial, "w:gz", format=tarfile.PAX_FORMAT) as tar:
                for name, path in members:
                    with open(path, "rb") as handle:
                        size = os.fstat(handle.fileno()).st_size
                        info = tarfile.TarInfo(name)
                        info.size, info.mode, info.mtime = size, 0o600, int(path.stat().st_mtime)
                        reader = _HashingReader(handle, advance)
                        try:
                            tar.addfile(info, reader)
                        except OSError as exc:  # tarfile: "unexpected end of data"
                            raise BackupError(f"文件 {path} 在备份期间被改动({exc}),请重试") from None
                    entries.append({"path": name, "size": size, "sha256": reader.digest.hexdigest()})
                manifest = {
                    "format": FORMAT, "format_version": FORMAT_VERSION, "junheng_version": __version__,
                    "schema_revision": revision, "database_kind": kind, "database_member": DATABASE_MEMBERS[kind],
                    "created_at": created.isoformat(timespec="seconds"),
                    "workspace": str(workspace.root.resolve()), "files": entries,
                }
                data = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(data), 0o600, int(created.timestamp())
                tar.addfile(info, io.BytesIO(data))
            with open(partial, "rb+") as handle:
                os.fsync(handle.fileno())
            os.chmod(partial, 0o600)  # it holds the secret key and every record
            if out.exists():
                raise BackupError(f"{out} 已存在:备份不会覆盖已有文件,请换一个文件名")
            os.replace(partial, out)
        except OSError as exc:
            raise BackupError(f"无法写入备份文件 {out}:{exc.strerror or exc}") from None
    return BackupSummary(path=out, database_kind=kind, schema_revision=revision, files=len(files),
                         bytes=sum(e["size"] for e in entries), notes=notes)


# ---------------------------------------------------------------- reading an archive


TYPE_NAMES = {tarfile.SYMTYPE: "符号链接", tarfile.LNKTYPE: "硬链接", tarfile.CHRTYPE: "设备文件",
              tarfile.BLKTYPE: "设备文件", tarfile.FIFOTYPE: "管道文件", tarfile.CONTTYPE: "特殊文件",
              tarfile.GNUTYPE_SPARSE: "稀疏文件"}


def _name_problem(name: str) -> str | None:
    """Why a member name may not be unpacked (None: it may)."""
    if not name:
        return "名称为空"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "是绝对路径"
    if "\\" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "名称含反斜杠或控制字符"
    parts = name.split("/")
    if ".." in parts:
        return "含 ..(指向备份之外)"
    if any(p in ("", ".") for p in parts):
        return "路径格式不规范"
    if len(name.encode("utf-8")) > 1024:
        return "路径过长"
    if name == MANIFEST:
        return None
    if name in DATABASE_MEMBERS.values():
        return None
    if parts[0] != FILES_PREFIX or len(parts) < 2:
        return "不是 junheng 备份的成员"
    if parts[1] in RESERVED:
        return "与数据库文件同名"
    return None


@dataclass
class _Member:
    name: str
    size: int
    sha256: str


def _members(archive: Path, max_bytes: int, advance: Callable[[int], None],
             sink: Callable[[str], IO[bytes] | None] | None = None) -> Iterator[tuple[_Member, bytes | None]]:
    """Every regular file of the archive, checked and hashed as it is read (streaming, forward
    only). `sink(name)` may return a file to copy the member into. Yields (member, the manifest's
    bytes when the member is the manifest)."""
    seen: set[str] = set()
    total = 0
    count = 0
    try:
        with tarfile.open(archive, "r|gz") as tar:
            for info in tar:
                count += 1
                if count > MAX_MEMBERS:
                    raise BackupError(f"备份文件成员过多(超过 {MAX_MEMBERS} 个),拒绝恢复")
                name = info.name.rstrip("/") if info.isdir() else info.name
                problem = _name_problem(name) if not info.isdir() else _dir_problem(name)
                if problem:
                    raise BackupError(f"备份文件中的成员 {name!r} {problem},拒绝恢复(可能是恶意构造的文件)")
                if info.isdir():
                    continue
                if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                    what = TYPE_NAMES.get(info.type, f"特殊成员(类型 {info.type!r})")
                    raise BackupError(f"备份文件中的成员 {name!r} 是{what},拒绝恢复(可能是恶意构造的文件)")
                if name in seen:
                    raise BackupError(f"备份文件中的成员 {name!r} 出现了不止一次,拒绝恢复")
                seen.add(name)
                total += info.size
                if total > max_bytes:
                    raise BackupError(f"备份文件解压后超过上限 {max_bytes / 1024 ** 3:.1f} GB,拒绝恢复")
                if name == MANIFEST and info.size > MAX_MANIFEST_BYTES:
                    raise BackupError("备份文件的清单 manifest.json 过大,拒绝恢复")
                source = tar.extractfile(info)
                digest = hashlib.sha256()
                kept = bytearray() if name == MANIFEST else None
                target = sink(name) if sink is not None and name != MANIFEST else None
                read = 0
                try:
                    for chunk in iter(lambda: source.read(CHUNK), b""):
                        read += len(chunk)
                        digest.update(chunk)
                        if kept is not None:
                            kept += chunk
                        if target is not None:
                            target.write(chunk)
                        if kept is None:
                            advance(len(chunk))
                finally:
                    if target is not None:
                        target.close()
                if read != info.size:
                    raise BackupError(f"备份文件不完整:成员 {name} 被截断")
                yield _Member(name, info.size, digest.hexdigest()), (bytes(kept) if kept is not None else None)
    except BackupError:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise BackupError(f"无法读取备份文件 {archive}:{exc.strerror}") from None
        raise BackupError(f"{archive} 不是完整有效的 junheng 备份文件(已损坏或被截断:{exc})") from None
    except Exception as exc:  # zlib.error and friends: a corrupted compressed stream
        raise BackupError(f"{archive} 不是完整有效的 junheng 备份文件(已损坏:{exc})") from None


def _dir_problem(name: str) -> str | None:
    """Folder members are allowed (and skipped: folders are made for the files in them)."""
    return None if name in (FILES_PREFIX, "database") else _name_problem(name)


def _parse_manifest(data: bytes | None) -> dict:
    if data is None:
        raise BackupError("备份文件中没有清单 manifest.json:这不是 junheng 备份文件")
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"备份文件的清单 manifest.json 无法读取:{exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("备份文件的清单不是 junheng 备份清单")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"备份格式版本 {manifest.get('format_version')} 不受本程序支持(支持 {FORMAT_VERSION}),"
                          "请用更新版本的 junheng 恢复")
    kind = manifest.get("database_kind")
    if kind not in DATABASE_MEMBERS or manifest.get("database_member") != DATABASE_MEMBERS[kind]:
        raise BackupError("备份清单中的数据库类型无效")
    files = manifest.get("files")
    if not isinstance(files, list) or not all(
            isinstance(f, dict) and isinstance(f.get("path"), str) and isinstance(f.get("size"), int)
            and isinstance(f.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", f["sha256"]) for f in files):
        raise BackupError("备份清单中的文件列表格式无效")
    for entry in files:
        problem = _name_problem(entry["path"])
        if problem or entry["path"] == MANIFEST:
            raise BackupError(f"备份清单中的文件 {entry['path']!r} {problem or '名称无效'},拒绝恢复")
    if not isinstance(manifest.get("schema_revision"), str):
        raise BackupError("备份清单中没有数据库结构版本")
    return manifest


def verify_archive(archive: Path, *, max_bytes: int = MAX_UNPACKED_BYTES, console=None) -> dict:
    """Check every member and every checksum of a backup without writing anything; returns its
    manifest. Raises BackupError naming the first problem."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"找不到备份文件 {archive}")
    with _Steps(console) as steps:
        advance = steps.step("正在校验备份文件")  # the unpacked size is known only from the manifest, read last
        found: dict[str, _Member] = {}
        manifest_bytes = None
        for member, data in _members(archive, max_bytes, advance):
            if data is not None:
                manifest_bytes = data
            else:
                found[member.name] = member
    manifest = _parse_manifest(manifest_bytes)
    _compare(manifest, found)
    known, heads = _known_revisions()
    if manifest["schema_revision"] not in known:
        raise BackupError(f"备份的数据库结构版本 {manifest['schema_revision']} 比本程序新(本程序最新为 "
                          f"{'、'.join(sorted(heads))}):请先升级 junheng(备份来自 junheng "
                          f"{manifest.get('junheng_version', '?')})再恢复")
    return manifest


def _compare(manifest: dict, found: dict[str, _Member]) -> None:
    listed = {f["path"]: f for f in manifest["files"]}
    if len(listed) != len(manifest["files"]):
        raise BackupError("备份清单中有重复的文件")
    for name, member in found.items():
        entry = listed.get(name)
        if entry is None:
            raise BackupError(f"备份文件中的 {name} 不在清单中(备份文件被改动过),拒绝恢复")
        if entry["size"] != member.size or entry["sha256"] != member.sha256:
            raise BackupError(f"校验失败:{name} 与清单中的校验和不符(备份文件已损坏或被改动),拒绝恢复")
    missing = sorted(set(listed) - set(found))
    if missing:
        raise BackupError(f"备份文件不完整:缺少清单中的 {'、'.join(missing[:5])}" + (" 等" if len(missing) > 5 else ""))
    if manifest["database_member"] not in found:
        raise BackupError("备份文件中没有数据库")
    if f"{FILES_PREFIX}/{CONFIG_FILE}" not in found:
        raise BackupError(f"备份文件中没有工作区设置 {CONFIG_FILE}")


# ---------------------------------------------------------------- restore


def _empty_folder_problem(target: Path) -> str | None:
    if not target.exists() and not target.is_symlink():
        return None
    if target.is_symlink() or not target.is_dir():
        return f"{target} 已存在且不是文件夹"
    if any(target.iterdir()):
        return f"目标工作区 {target} 不是空的"
    return None


def _postgres_is_empty(url: str) -> None:
    """Refuse a target PostgreSQL database that cannot be reached or holds anything."""
    from sqlalchemy import text

    from junheng.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            held = conn.scalar(text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
                "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"))
    except Exception as exc:  # noqa: BLE001 - cannot connect
        first = _first_line(exc)
        raise BackupError(f"无法连接目标数据库 {shown_url(url)}:{first}。请先创建一个空数据库"
                          "(如 createdb 库名),再恢复") from None
    finally:
        engine.dispose()
    if held:
        raise BackupError(f"目标数据库 {shown_url(url)} 不是空的(已有 {held} 个表、视图或序列):"
                          "恢复只写入空数据库,不会覆盖已有数据。请新建一个空数据库")


def _with_database_url(text: str, url: str | None) -> str:
    """junheng.toml with its top-level database_url set to `url` (removed when None), every other
    setting unchanged (checked by reading both back)."""
    lines = text.splitlines()
    out: list[str] = []
    header_at = None
    for line in lines:
        stripped = line.strip()
        if header_at is None and stripped.startswith("["):
            header_at = len(out)
        if header_at is None and re.match(r"database_url\s*=", stripped):
            continue
        out.append(line)
    if url is not None:
        out.insert(header_at if header_at is not None else len(out), f"database_url = {json.dumps(url)}")
    result = "\n".join(out) + "\n"
    try:
        before, after = tomllib.loads(text), tomllib.loads(result)
    except tomllib.TOMLDecodeError as exc:
        raise BackupError(f"备份中的 {CONFIG_FILE} 无法读取:{exc}") from None
    before.pop("database_url", None)
    if after.pop("database_url", None) != url or after != before:
        raise BackupError(f"无法改写备份中 {CONFIG_FILE} 的 database_url,请检查该文件")
    return result


def _revision(url: str) -> str:
    from sqlalchemy import text

    from junheng.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.scalar(text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


def restore_workspace(archive: Path, workspace_path: Path, *, database_url: str | None = None, console=None,
                      max_bytes: int = MAX_UNPACKED_BYTES) -> RestoreSummary:
    """Restore a backup into a new, empty workspace (and, for PostgreSQL, an empty database)."""
    from junheng.store.db import Database

    archive = Path(archive)
    target = Path(workspace_path)
    problem = _empty_folder_problem(target)
    if problem:
        raise BackupError(f"{problem}:恢复只写入新的空工作区,不会覆盖已有数据。请指定一个不存在的或空的文件夹")
    manifest = verify_archive(archive, max_bytes=max_bytes, console=console)
    kind = manifest["database_kind"]
    notes: list[str] = []

    # the target database
    sqlite_target: Path | None = None
    if database_url is not None:
        wanted = _kind(database_url)
        if wanted != kind:
            names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
            raise BackupError(f"备份来自 {names[kind]} 数据库,不能恢复到 {names[wanted]} 数据库 {shown_url(database_url)}")
        if kind == "sqlite":
            sqlite_target = _sqlite_path(database_url).resolve()
            if sqlite_target.exists():
                raise BackupError(f"数据库文件 {sqlite_target} 已存在:恢复不会覆盖已有数据库,请指定一个新文件")
            if not sqlite_target.parent.is_dir():
                raise BackupError(f"数据库文件夹 {sqlite_target.parent} 不存在")
    elif kind == "postgresql":
        raise BackupError("这是 PostgreSQL 工作区的备份:请用 --database-url postgresql://用户@主机/库名 "
                          "指定一个空的 PostgreSQL 数据库")
    if kind == "postgresql":
        pg_restore = _tool("pg_restore")
        _postgres_is_empty(database_url)
    if os.environ.get("JUNHENG_DATABASE_URL"):
        notes.append("环境变量 JUNHENG_DATABASE_URL 已设置:它优先于恢复的工作区设置中的数据库地址")

    total = sum(f["size"] for f in manifest["files"])
    parent = target.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(parent).free
    if free < total + 64 * 1024 * 1024:
        raise BackupError(f"磁盘空间不足:恢复需要约 {total / 1024 ** 2:.0f} MB,{parent} 只剩 {free / 1024 ** 2:.0f} MB")

    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.restoring-"))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)  # as a folder made by mkdir (mkdtemp makes 0700)
    created_sqlite = False
    database_written = False
    try:
        dump = staging / ".database"
        listed = {f["path"]: f for f in manifest["files"]}

        def sink(name: str):
            if name not in listed:
                raise BackupError(f"备份文件在恢复期间被改动({name} 不在清单中),已停止,没有写入工作区")
            if name == manifest["database_member"]:
                path = dump
            else:
                relative = PurePosixPath(name).relative_to(FILES_PREFIX)
                path = staging.joinpath(*relative.parts)
                if staging.resolve() not in path.resolve().parents:
                    raise BackupError(f"备份文件中的成员 {name!r} 指向工作区之外,拒绝恢复")
                path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "xb")
            os.chmod(path, 0o600)
            return handle

        found: dict[str, _Member] = {}
        with _Steps(console) as steps:
            advance = steps.step("正在写入文件", total=total)
            for member, data in _members(archive, max_bytes, advance, sink):
                if data is None:
                    found[member.name] = member
            # the archive was read again: it must still be what was verified
            _compare(manifest, found)

            config = staging / CONFIG_FILE
            if kind == "postgresql":
                restored_url = database_url
            else:
                restored_url = f"sqlite:///{sqlite_target}" if sqlite_target is not None else None
            config.write_text(_with_database_url(config.read_text("utf-8"), restored_url), encoding="utf-8")
            os.chmod(config, 0o600)  # the secret key
            (staging / "uploads").mkdir(exist_ok=True)

            steps.step("正在恢复数据库")
            if kind == "sqlite":
                final = sqlite_target or (staging / DATABASE_FILE)
                if sqlite_target is not None:
                    with open(dump, "rb") as source, open(final, "xb") as copy:
                        created_sqlite = True
                        shutil.copyfileobj(source, copy, CHUNK)
                    dump.unlink()
                else:
                    dump.rename(final)
                url = f"sqlite:///{final}"
            else:
                connection_url, env = _libpq(database_url)
                _run([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                      f"--dbname={connection_url}", str(dump)], env, "pg_restore 恢复数据库")
                database_written = True
                dump.unlink()
                url = database_url
            steps.step("正在升级数据库结构")
            database = Database(url)
            try:
                database.migrate()
            finally:
                database.engine.dispose()
            schema_to = _revision(url)
        try:
            os.rename(staging, target)  # replaces an empty target folder; refuses a non-empty one
        except OSError:
            raise BackupError(f"{target} 在恢复期间被写入了文件:恢复已停止,请指定一个新的空文件夹") from None
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if created_sqlite and sqlite_target is not None:
            sqlite_target.unlink(missing_ok=True)
        if database_written:
            message = exc.user_message() if isinstance(exc, JunhengError) else f"{type(exc).__name__}: {exc}"
            raise BackupError(f"{message}。目标数据库 {shown_url(database_url)} 已写入恢复的数据,"
                              "再次恢复前请清空它或新建一个空数据库") from exc
        raise
    if kind == "sqlite" and sqlite_target is None:
        url = f"sqlite:///{(target / DATABASE_FILE).resolve()}"
    return RestoreSummary(workspace=target, database_kind=kind, database_url=shown_url(url),
                          schema_from=manifest["schema_revision"], schema_to=schema_to,
                          files=len(manifest["files"]) - 1, bytes=total, notes=notes)

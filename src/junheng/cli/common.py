"""What the command modules share: the two consoles, the common options and small helpers.

Only typer and rich are imported here: `junheng --help` imports every command module.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

console = Console()
# soft_wrap: one problem per line even when piped (rich would cut Chinese lines at 80 columns)
err_console = Console(stderr=True, soft_wrap=True)

WORKSPACE_OPTION = typer.Option(None, "--workspace", "-w", help="工作区文件夹;缺省为环境变量 JUNHENG_WORKSPACE 或当前文件夹")
USER_OPTION = typer.Option(None, "--user", "-u", help="以该用户名义操作(记入审计日志)")


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    xlsx = "xlsx"


def print_warnings(warnings: list[str]) -> None:
    """A dataset's warnings on stderr, one 提示 line each."""
    from rich.markup import escape

    for warning in warnings:
        err_console.print(f"[yellow]提示:[/] {escape(warning)}", highlight=False)


def open_workspace_database(workspace: Optional[Path]):
    """The workspace's database (junheng.store.db.Database)."""
    from junheng.services import open_database

    database, _ = open_database(workspace)
    return database


def user_named(session, username: str, error: type[Exception] | None = None):
    """The account called `username`; else `error` (UserError unless the command group has its own
    error class), naming the command that lists the accounts."""
    from sqlalchemy import select

    from junheng.store.models import User

    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        if error is None:
            from junheng.store.users import UserError as error
        raise error(f"没有用户 {username}(见 junheng users list)")
    return user


def date_option(value: Optional[str], name: str):
    """An option's 年-月-日 text as a date (None when not given); a usage error otherwise."""
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("应为 年-月-日,如 2025-06-30", param_hint=name) from None


def beijing(iso: str) -> str:
    """A stored time (ISO, UTC) as Beijing time, "2025-06-30 14:05"."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    when = datetime.fromisoformat(iso)
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC
    return when.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


def write_output(out: Path, text: str) -> None:
    """The whole file or nothing: written beside it, then moved into place; a Chinese error when
    it cannot be written."""
    import os

    from junheng.errors import JunhengError

    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise JunhengError(f"无法写入输出文件“{out}”({exc.strerror})") from None


def emit(out: Optional[Path], *, data=None, render=None, width: int = 160) -> None:
    """A command's result: `data` as JSON, or the tables `render(console)` prints, to the screen or
    (plain text, no colours) to the file `out`."""
    import json
    from io import StringIO

    from rich.markup import escape

    if data is not None:
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        if out is None:
            print(text, end="")
            return
        write_output(out, text)
    else:
        if out is None:
            render(console)
            return
        buffer = StringIO()
        render(Console(file=buffer, width=width, color_system=None, soft_wrap=True))
        write_output(out, buffer.getvalue())
    console.print(f"已写出:{escape(str(out))}", highlight=False)

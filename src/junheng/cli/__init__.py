"""The `junheng` command: thin wrappers that parse arguments and call the services.

One module per command group (users, tokens, tasks, notify, standards, uploads) and per family of
top-level commands (datasets, workspace, monitor, reports, planning); `common` holds the consoles,
shared options and helpers; `chinese` makes typer's help and usage errors Chinese. Heavy imports
(ibis, pandas, openpyxl, SQLAlchemy) happen inside commands so that `--help` stays fast.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from pathlib import Path

import typer
from rich.markup import escape

from junheng.cli import (
    datasets,
    monitor,
    notify,
    planning,
    quality,
    reports,
    standards,
    survey,
    tasks,
    tokens,
    uploads,
    users,
    workspace,
)
from junheng.cli.chinese import ChineseTyper, install, print_usage_error
from junheng.cli.common import console, err_console
from junheng.errors import JunhengError

__all__ = ["app", "console", "err_console", "main"]

install()  # typer's help and usage errors in Chinese (junheng.cli.chinese)

app = ChineseTyper(
    help="均衡 junheng:县域义务教育优质均衡发展督导评估系统。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# The help lists commands in this order: the top-level families, then the groups.
for family in (datasets, workspace, monitor, reports, planning, quality):
    app.add_typer(family.commands)  # no name: their commands are junheng's own
for name, module in (("standards", standards), ("users", users), ("tokens", tokens), ("uploads", uploads),
                     ("tasks", tasks), ("notify", notify), ("survey", survey)):
    app.add_typer(module.group, name=name)


def _is_usage_error(exc) -> bool:
    # Typer vendors its own click; match its exceptions by class name rather than import a private module.
    return "ClickException" in {cls.__name__ for cls in type(exc).__mro__}


def main() -> None:
    """Entry point: users see Chinese messages and an exit code, never a traceback."""
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except JunhengError as exc:
        err_console.print(f"[red]错误:[/]{escape(exc.user_message())}", highlight=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("已取消。")
        sys.exit(130)
    except Exception as exc:  # usage errors and anything unexpected
        if _is_usage_error(exc):
            print_usage_error(exc, err_console)
            sys.exit(exc.exit_code)
        if os.environ.get("JUNHENG_DEBUG"):
            raise
        log = Path(tempfile.gettempdir()) / "junheng-error.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        err_console.print(
            f"[red]程序内部错误[/]:{type(exc).__name__}。这不是您的数据问题,请把 {log} 发给开发人员。",
            highlight=False,
        )
        sys.exit(3)

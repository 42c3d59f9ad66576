"""`junheng standards`: the built-in evaluation standards (list, show)."""

from __future__ import annotations

import typer

from junheng.cli.chinese import ChineseTyper
from junheng.cli.common import console

group = ChineseTyper(help="查看评估标准。", no_args_is_help=True)


@group.command("list")
def standards_list() -> None:
    """列出内置的评估标准。"""
    from junheng.reports.standards import print_standard_list

    print_standard_list(console)


@group.command("show")
def standards_show(standard_id: str = typer.Argument(..., help="标准:标准标识(如 national-2017)或标准文件路径")) -> None:
    """显示一个标准的全部指标、达标值和责任单位。"""
    from junheng.reports.standards import print_standard
    from junheng.standards.loader import load_standard

    print_standard(console, load_standard(standard_id))

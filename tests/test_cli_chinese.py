"""The command line speaks Chinese throughout (issue 12): every command's `--help` and every kind of
usage error, with no English left from typer, click or pydantic (junheng.cli.chinese)."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

import builders
from junheng.cli import app as cli_app

# What typer, click and pydantic write in English (help pages, usage errors); none may reach a user.
ENGLISH = (
    "Usage", "Options", "Arguments", "Commands", "Error", "Show this message", "default:", "[default", "required",
    "Missing", "No such", "Invalid value", "Got unexpected", "Input should", "Try '", "for help", "Did you mean",
    "requires an argument", "does not take a value", "is not one of", "Value error", "Aborted", "Possible options",
    "<int", "<float", "<str", "<path", "<bool", "<text", " range>", "[OPTIONS]", "COMMAND", "[ARGS]", "x>=", "<=x",
    "valid integer", "valid number", "greater than", "less than", "Choose from",
)

CJK = re.compile(r"[\u4e00-\u9fff]")


def english_in(text: str) -> list[str]:
    return [phrase for phrase in ENGLISH if phrase in text]


def _commands(command, path=()):
    """(path, click command) for the app, every group and every command under it."""
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


ALL = list(_commands(typer.main.get_command(cli_app)))


def _run(*arguments: str):
    # wide: rich cuts long help lines, and a phrase cut in two would escape the check
    return CliRunner().invoke(cli_app, list(arguments), prog_name="junheng", env={"COLUMNS": "250"})


def test_the_walk_finds_every_command():
    paths = {" ".join(p) for p, _ in ALL}
    assert {"", "evaluate", "demo", "serve", "tasks", "tasks list", "users add", "notify subscribe",
            "tokens revoke", "uploads clean", "standards show"} <= paths
    assert len(paths) > 35


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=lambda p: " ".join(p) or "junheng")
def test_every_help_page_is_chinese(path):
    result = _run(*path, "--help")
    assert result.exit_code == 0, result.output
    out = result.output
    assert not english_in(out), (english_in(out), out)
    assert f"用法:junheng {' '.join(path)}".rstrip() in out
    assert "显示帮助并退出" in out
    assert "选项" in out  # the panel title


@pytest.mark.parametrize("path,command", ALL, ids=[" ".join(p) or "junheng" for p, _ in ALL])
def test_every_command_argument_and_option_is_explained_in_chinese(path, command):
    assert command.help and CJK.search(command.help), path
    for param in command.params:
        assert param.help and CJK.search(param.help), (path, param.name)


def test_help_texts_keep_their_brackets():
    """typer reads help as rich markup: "[uploads] keep_days" lost its "[uploads]"."""
    out = _run("uploads", "clean", "--help").output
    assert "[uploads] keep_days" in out


def test_types_ranges_defaults_and_required_in_chinese():
    out = _run("forecast", "--help").output
    assert re.search(r"--years\s+-n\s+<整数> \[取值 1–10\]", out), out
    assert "<路径>" in out and "<table|json|xlsx>" in out and "[缺省:table]" in out
    assert "COUNTY" in out and "[必填]" in out
    flags = _run("watch", "--help").output
    assert re.search(r"--no-notify\s+只更新预警", flags), flags  # a flag takes no value: no type shown


def test_the_installed_command_prints_chinese_help():
    """The console script (a fresh process, its entry point) as a user runs it."""
    for arguments in (("--help",), ("forecast", "--help"), ("tasks",)):
        result = builders.run_junheng(*arguments)
        out = result.stdout + result.stderr
        assert "用法:junheng" in out and "显示帮助并退出" in out, out
        assert not english_in(out), (english_in(out), out)
        assert "错误" not in out  # `junheng tasks` alone shows the group's help, not an empty error


USAGE_ERRORS = [
    # missing argument: its Chinese name, its name in the usage line, what is expected, the usage line
    (["evaluate"], ["缺少参数:数据集(DATASET),应为 CSV 文件夹、XLSX 工作簿或 Parquet 文件夹", "用法:junheng evaluate [选项] [DATASET]"]),
    (["forecast"], ["缺少参数:县区代码(COUNTY)", "用法:junheng forecast [选项] COUNTY"]),
    (["users", "add", "bob"], ["缺少必填的选项 --role", "admin、supervisor"]),
    (["evaluate", "x", "--bogus"], ["没有选项 --bogus", "运行 junheng evaluate --help 查看用法"]),
    (["evaluate", "x", "--countyy", "1"], ["没有选项 --countyy", "是否要输入", "--county?"]),
    (["evaluate", "x", "--year", "abc"], ["选项 --year(学年)的取值“abc”无效:应为整数"]),
    (["uploads", "clean", "--days", "x"], ["选项 --days(保留天数)的取值“x”无效:应为不小于 0 的数"]),
    (["forecast", "140599", "-n", "50"], ["选项 --years(预测年数)的取值“50”无效:应为 1–10 之间的整数"]),
    (["serve", "--port", "70000"], ["选项 --port(端口)的取值“70000”无效:应为 1–65535 之间的整数"]),
    (["evaluate", "x", "--format", "pdf"], ["选项 --format(输出格式)的取值无效:“pdf”不是可选值;可选:table、json、xlsx"]),
    (["tokens", "revoke", "abc"], ["参数 令牌编号(TOKEN_ID)的取值“abc”无效:应为整数"]),
    (["template", "out.txt"], ["参数 空白填报模板文件(OUT)的取值无效:模板文件名应以 .xlsx 结尾"]),
    (["evaluate", "x", "y", "z"], ["多余的参数:y z", "用法:junheng evaluate [选项] [DATASET]"]),
    (["evaluate", "x", "--year"], ["选项 --year 后面缺少取值,应为整数", "junheng evaluate --help"]),
    (["watch", "--list=3"], ["选项 --list 是开关,后面不能跟取值", "junheng watch --help"]),
    (["tasks", "--"], ["缺少命令:junheng tasks 后面应写一个命令", "list、add、status"]),
    (["evaluat"], ["没有命令 evaluat(是否要输入 evaluate?)"]),
    (["tasks", "lst"], ["没有命令 lst(是否要输入 list?)", "运行 junheng tasks --help"]),
    (["tasks", "zzz"], ["没有命令 zzz。可用的命令:list、add"]),
]


@pytest.mark.parametrize("arguments,fragments", USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_usage_errors_in_process(arguments, fragments):
    """typer's own error path (CliRunner runs the app standalone) prints the same Chinese message."""
    result = _run(*arguments)
    assert result.exit_code == 2, result.output
    out = result.output
    assert "错误:" in out
    for fragment in fragments:
        assert fragment in out, out
    assert not english_in(out), (english_in(out), out)


@pytest.mark.parametrize("arguments,fragments", USAGE_ERRORS[::3], ids=[" ".join(a) for a, _ in USAGE_ERRORS[::3]])
def test_usage_errors_from_the_console_script(arguments, fragments):
    """The entry point (junheng.cli.main): Chinese on stderr, exit 2, nothing on stdout, no traceback."""
    result = builders.run_junheng(*arguments)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("错误:"), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert not english_in(result.stderr) and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_path_pydantic_refuses_is_named_in_chinese():
    result = _run("check", "a\x00b")
    assert result.exit_code == 2, result.output
    assert "参数 数据集(DATASET)的取值" in result.output and not english_in(result.output), result.output

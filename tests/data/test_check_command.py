"""`junheng check` and `junheng template` as a user runs them: messages and exit codes.

The commands run in-process through the console entry point (`junheng.cli:main`, which turns
errors into a message and an exit code); one test runs the installed command for real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from dataset_files import write_csv_folder

from junheng import cli

JUNHENG = Path(sys.executable).with_name("junheng")


@pytest.fixture
def junheng(monkeypatch, capsys):
    """Run `junheng ARGS...` through its entry point; returns (exit code, stdout, stderr)."""
    for console in (cli.console, cli.err_console):
        monkeypatch.setattr(console, "width", 1000)  # one problem per line, unwrapped

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["junheng", *args])
        try:
            cli.main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_check_passes_good_data(tmp_path, tables, junheng):
    code, out, err = junheng("check", str(write_csv_folder(tmp_path / "d", tables)))
    assert code == 0, err
    assert "校验通过" in out and "6 所学校" in out


def test_check_lists_every_problem_and_fails(tmp_path, tables, junheng):
    tables["school_year"][5]["teachers_primary"] = "-3"
    tables["quality"][0]["level"] = "9"
    code, _, err = junheng("check", str(write_csv_folder(tmp_path / "d", tables)))
    assert code == 1
    assert "数据校验未通过,共 2 个问题" in err
    assert "学校年度数据(school_year) 第7行 列“小学专任教师数”(teachers_primary):取值“-3”无效" in err
    assert "质量监测(quality) 第2行 列“学业水平”(level):取值“9”无效" in err


def test_check_of_a_missing_path_is_a_message_not_a_traceback(tmp_path, junheng):
    code, _, err = junheng("check", str(tmp_path / "nowhere"))
    assert code == 1
    assert "找不到数据集" in err and "Traceback" not in err


def test_template_command_writes_drop_downs(tmp_path, junheng):
    out = tmp_path / "模板.xlsx"
    code, _, err = junheng("template", str(out))
    assert code == 0, err
    sheet = openpyxl.load_workbook(out)["学校名录"]
    lists = [v.formula1 for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert '"是,否"' in lists and any("教学点" in formula for formula in lists)


def test_the_installed_command_reports_bad_data(tmp_path, tables):
    tables["schools"][0]["school_type"] = "大学"
    folder = write_csv_folder(tmp_path / "d", tables)
    result = subprocess.run([str(JUNHENG), "check", str(folder)], capture_output=True, text=True, timeout=60, check=False,
                            env={**os.environ, "COLUMNS": "1000"})
    assert result.returncode == 1
    assert "学校名录(schools) 第2行 列“学校类型”(school_type):取值“大学”无效" in result.stderr
    assert "Traceback" not in result.stderr

"""`junheng plan` and `junheng scenario` as a user meets them: table, JSON and workbook output,
saving a plan as a scenario and evaluating it, Chinese messages and non-zero exits for bad
input, never a traceback."""

from __future__ import annotations

import json

import builders
import pytest
from builders import run_junheng
from openpyxl import load_workbook

from junheng.data.writer import write_dataset_csv


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A county failing only the primary R5 CV (P1's sports ground is three times the others')."""
    schools, years = builders.passing_rows()
    next(r for r in years if r["school_id"] == "P1")["sports_area"] *= 3
    path = tmp_path_factory.mktemp("plan") / "data"
    write_dataset_csv(builders.dataset(schools, years), path)
    return path


def test_plan_json_is_the_contract(folder):
    result = run_junheng("plan", str(folder), "--format", "json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    for key in ("actions", "total_cost", "lower_bound", "gap", "policy_items", "verification"):
        assert key in plan
    assert plan["status"] == "pass"
    assert plan["verification"]["verdict"] == "pass"
    assert plan["total_cost"] >= plan["lower_bound"]
    assert {a["kind"] for a in plan["actions"]} == {"build_sports_area"}


def test_plan_table_workbook_and_scenario(folder, tmp_path):
    book, scenarios = tmp_path / "方案.xlsx", tmp_path / "情景"
    result = run_junheng("plan", str(folder), "-o", str(book), "--save-scenario", "扩建操场", "--scenarios-dir",
                         str(scenarios))
    assert result.returncode == 0, result.stderr
    assert "缺什么补什么" in result.stdout and "评估引擎核验" in result.stdout and "示例单价" in result.stdout
    wb = load_workbook(book)
    assert {"方案汇总", "行动清单", "按学校汇总", "缺口分析", "需政策解决事项", "核验结果"} <= set(wb.sheetnames)
    rows = list(wb["行动清单"].iter_rows(min_row=3, values_only=True))
    assert rows and all(r[3] == "新建、扩建体育运动场地" and r[7] > 0 and r[9] == builders.YEAR + 1 for r in rows)
    assert (scenarios / "扩建操场.yaml").exists()

    compared = run_junheng("scenario", str(folder), "扩建操场", "--scenarios-dir", str(scenarios), "-f", "json")
    assert compared.returncode == 0, compared.stderr
    doc = json.loads(compared.stdout)
    assert doc["before"]["verdict"] == "fail" and doc["after"]["verdict"] == "pass"


def test_infeasible_plan_is_explained_not_raised(folder):
    result = run_junheng("plan", str(folder), "--budget", "1000", "--mode", "build")
    assert result.returncode == 0, result.stderr
    assert "无法制定达标方案" in result.stdout and "预算不足" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("arguments,fragments", [
    (["plan"], ["缺少参数:数据集(DATASET)"]),
    (["plan", "{folder}", "--budget", "-5"], ["预算不能为负数"]),
    (["plan", "{folder}", "--budget", "很多"], ["预算", "无法识别"]),
    (["plan", "{folder}", "--county", "000000"], ["没有县区 000000"]),
    (["plan", "{folder}", "--costs", "{tmp}/bad.yaml"], ["单价表", "teacher_per_year"]),
    (["plan", "{folder}", "--mode", "magic"], ["--mode"]),
    (["plan", "{folder}", "-f", "xlsx"], ["-o"]),
    (["plan", "{folder}", "-o", "{tmp}/plan.pdf"], [".xlsx"]),
    (["scenario", "{folder}", "没有这个情景", "--scenarios-dir", "{tmp}"], ["找不到情景"]),
    (["scenario", "{folder}", "{tmp}/bad-scenario.yaml"], ["情景文件", "changes"]),
])
def test_bad_input_gets_a_chinese_message(folder, tmp_path, monkeypatch, capsys, arguments, fragments):
    """In process, through the same entry point as the installed command (main): the message and
    the exit code; the real command's handling is exercised by the tests above."""
    from junheng import cli

    (tmp_path / "bad.yaml").write_text("unit_costs: {teacher_per_year: -1}\n", encoding="utf-8")
    (tmp_path / "bad-scenario.yaml").write_text("name: x\n", encoding="utf-8")
    monkeypatch.setattr("sys.argv", ["junheng", *[a.format(folder=folder, tmp=tmp_path) for a in arguments]])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code != 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    for fragment in fragments:
        assert fragment in captured.err, captured.err


def test_write_costs_template(tmp_path, monkeypatch, capsys):
    from junheng import cli

    monkeypatch.setattr("sys.argv", ["junheng", "plan", "--write-costs", str(tmp_path / "单价表.yaml")])
    cli.main()
    assert "已生成示例单价表" in capsys.readouterr().out
    assert "示例" in (tmp_path / "单价表.yaml").read_text(encoding="utf-8")

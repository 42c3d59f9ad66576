"""The command as a user meets it: Chinese messages, exit codes, no traceback, the demo."""

import json
import re

import pandas as pd
import pytest

import builders
from builders import run_junheng
from junheng.data.writer import write_dataset_csv
from junheng.schoolyear import current_school_year, label


@pytest.fixture(scope="module")
def county_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("county") / "data"
    write_dataset_csv(builders.dataset(), folder)
    return folder


def assert_user_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.mark.parametrize("arguments,fragments", [
    (["evaluate"], ["缺少参数:数据集(DATASET),应为 CSV 文件夹、XLSX 工作簿或 Parquet 文件夹", "用法:junheng evaluate [选项] [DATASET]"]),
    (["evaluate", "x", "--format", "pdf"], ["--format", "“pdf”不是可选值", "table、json、xlsx"]),
    (["evaluat"], ["没有命令 evaluat", "evaluate"]),
    (["evaluate", "x", "--bogus"], ["没有选项 --bogus"]),
    (["evaluate", "x", "--year", "abc"], ["--year", "应为整数"]),
    (["template", "out.txt"], [".xlsx"]),
    (["standards", "show", "atlantis"], ["没有这个标准", "national-2017"]),
    (["evaluate", "/nonexistent/data"], ["/nonexistent/data"]),
])
def test_bad_usage_gets_a_chinese_message_and_a_non_zero_exit(arguments, fragments):
    assert_user_error(run_junheng(*arguments), *fragments)


def test_evaluate_unknown_county_lists_what_is_there(county_folder):
    result = run_junheng("evaluate", str(county_folder), "--county", "000000")
    assert_user_error(result, "县区 000000", builders.COUNTY)


def test_evaluate_xlsx_needs_an_output_file(county_folder):
    assert_user_error(run_junheng("evaluate", str(county_folder), "--format", "xlsx"), "-o")


def test_evaluate_table_report_starts_with_the_verdict(county_folder):
    result = run_junheng("evaluate", str(county_folder), "-c", builders.COUNTY, "-y", str(builders.YEAR))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("结论:达标") < out.index("资源配置") < out.index("政府保障程度")
    assert "national-2017" in out


def test_evaluate_json_to_stdout_is_the_contract(county_folder):
    result = run_junheng("evaluate", str(county_folder), "-c", builders.COUNTY, "-y", str(builders.YEAR), "-f", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "pass" and doc["county_code"] == builders.COUNTY
    # without a full selection the shape is a list, whatever the data holds
    many = json.loads(run_junheng("evaluate", str(county_folder), "-f", "json").stdout)
    assert isinstance(many, list) and len(many) == 1


def test_evaluate_failing_county_names_failing_units_and_gaps(tmp_path):
    schools, years = builders.passing_rows({"P2": {"sports_area": 100.0, "equipment_value": 1000.0}})
    write_dataset_csv(builders.dataset(schools, years), tmp_path / "data")
    result = run_junheng("evaluate", str(tmp_path / "data"), "-c", builders.COUNTY, "-y", str(builders.YEAR))
    assert result.returncode == 0, result.stderr
    assert "结论:未达标" in result.stdout
    assert "测试学校P2" in result.stdout and "需增加体育运动场馆面积" in result.stdout


def test_demo_generates_evaluates_and_labels_synthetic_data(tmp_path):
    result = run_junheng("demo", "--workspace", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "合成数据" in result.stdout and "结论:" in result.stdout
    assert re.search(r"预警巡检:当前未解除的预警 [1-9]\d* 条", result.stdout)  # the warning pages have content
    assert (tmp_path / "demo-data" / "schools.csv").exists()
    # alive today: three complete school years and the current one in progress
    current = current_school_year()
    doc = json.loads((tmp_path / "demo-result.json").read_text("utf-8"))
    assert doc["synthetic"] is True and "合成数据" in doc["county_name"]
    assert doc["year"] == current - 1 and doc["coverage"]["complete"] is True  # the latest complete year
    assert re.search(rf"{label(current)}填报中:已审核 \d+/78 所", result.stdout), result.stdout
    again = run_junheng("evaluate", str(tmp_path / "demo-data"), "-f", "json")
    assert again.returncode == 0, again.stderr
    by_year = {r["year"]: r for r in json.loads(again.stdout)}
    assert set(by_year) == set(range(current - 3, current + 1))
    assert by_year[current]["verdict"] == "incomplete" and by_year[current - 1]["verdict"] == "fail"


def test_demo_region_shows_a_summary(tmp_path):
    result = run_junheng("demo", "--workspace", str(tmp_path), "--counties", "3")
    assert result.returncode == 0, result.stderr
    assert re.search(r"评估结论\(3 个县区,\d{4}—\d{4} 学年\):(达标|未达标|数据不全,无法判定) \d 个", result.stdout), result.stdout
    assert "评估结果汇总" not in result.stdout  # the table of every county is asked for with --verbose
    verbose = run_junheng("demo", "--workspace", str(tmp_path), "--counties", "3", "--verbose")
    assert verbose.returncode == 0, verbose.stderr
    assert "评估结果汇总(3 个县区年度)" in verbose.stdout
    summary = verbose.stdout.split("评估结果汇总", 1)[1]
    assert "国家标准" in summary and "national-2017" not in summary  # the standard by its name


def test_standards_list_and_show():
    listed = run_junheng("standards", "list")
    assert listed.returncode == 0 and all(s in listed.stdout for s in ("national-2017", "shandong", "shanxi", "hebei"))
    shown = run_junheng("standards", "show", "shandong")
    assert shown.returncode == 0 and "8000" in shown.stdout and "4年288学时" in shown.stdout


def test_markup_like_text_in_data_is_shown_not_interpreted(tmp_path):
    schools, years = builders.passing_rows({"P2": {"sports_area": 100.0}})
    schools[1]["school_name"] = "[/oops][red]学校"
    write_dataset_csv(builders.dataset(schools, years), tmp_path / "data")
    result = run_junheng("evaluate", str(tmp_path / "data"), "-c", builders.COUNTY, "-y", str(builders.YEAR))
    assert result.returncode == 0, result.stderr
    assert "[/oops][red]学校" in result.stdout
    bad = tmp_path / "data" / "school_year.csv"
    frame = pd.read_csv(bad, dtype=str, encoding="utf-8-sig")
    frame.loc[0, "sports_area"] = "[/oops]"
    frame.to_csv(bad, index=False, encoding="utf-8")
    failed = run_junheng("check", str(tmp_path / "data"))
    assert_user_error(failed, "[/oops]")


# ---------------------------------------------------------------- `junheng tasks list -w 工作区`, as the README writes it


def _tasks_workspace(tmp_path, counties: dict[str, str]):
    """A workspace with the test county's data under each code given, and one task in each (code → title)."""
    from junheng.monitor.tasks import create_task
    from junheng.services import init_workspace, open_database
    from junheng.store import repo

    root = tmp_path / "ws"
    init_workspace(root, admin="admin", password="管理员自己的密码-2026")
    database, _ = open_database(root)
    for code, title in counties.items():
        schools, years = builders.passing_rows()
        for row in schools:
            row["county_code"] = code
            row["school_id"] = f"{code}{row['school_id']}"
        for row in years:
            row["school_id"] = f"{code}{row['school_id']}"
        dataset = builders.dataset(schools, years)
        dataset.county_year["county_code"] = code
        dataset.quality["county_code"] = code
        with database.session() as session:
            repo.import_dataset(session, dataset, user=None, via="cli", status="approved")
            create_task(session, code, title=title, via="cli")
    database.engine.dispose()
    return root


class _Ran:
    def __init__(self, completed):
        self.exit_code, self.output = completed.returncode, completed.stdout + completed.stderr


def _tasks(*arguments: str):
    """The real command in a fresh process: a console made by an earlier in-process test keeps its
    width, and a narrow table would cut the titles this test looks for."""
    return _Ran(builders.run_junheng("tasks", "list", *arguments))


def test_tasks_list_without_a_county_lists_the_workspaces_counties(tmp_path):
    root = _tasks_workspace(tmp_path, {"990001": "城关小学扩建运动场", "990002": "新建风雨操场"})
    everything = _tasks("-w", str(root))
    assert everything.exit_code == 0, everything.output
    assert "城关小学扩建运动场" in everything.output and "新建风雨操场" in everything.output
    assert "(990001)" in everything.output and "(990002)" in everything.output  # each county under its name
    one = _tasks("990002", "-w", str(root))
    assert one.exit_code == 0 and "新建风雨操场" in one.output and "城关小学扩建运动场" not in one.output


def test_tasks_list_in_a_one_county_workspace_is_that_county(tmp_path):
    root = _tasks_workspace(tmp_path, {"990001": "城关小学扩建运动场"})
    result = _tasks("-w", str(root))
    assert result.exit_code == 0 and "城关小学扩建运动场" in result.output
    assert "(990001)" not in result.output  # no heading for the only county


def test_tasks_list_in_an_empty_workspace_and_with_a_bad_status(tmp_path):
    from junheng.services import init_workspace

    init_workspace(tmp_path / "empty", admin="admin", password="管理员自己的密码-2026")
    empty = _tasks("-w", str(tmp_path / "empty"))
    assert empty.exit_code == 0 and "工作区中还没有县区" in empty.output
    bad = run_junheng("tasks", "list", "-w", str(tmp_path / "empty"), "--status", "closed")
    assert_user_error(bad, "--status 的取值“closed”无效", "open(未开始)", "verified(已核验)")


def test_error_messages_keep_their_square_brackets(tmp_path):
    """Messages naming a junheng.toml table ("[uploads] keep_days") are printed as written, not read as markup."""
    (tmp_path / "junheng.toml").write_text('secret_key = "x"\n[uploads]\nkeep_days = -1\n', encoding="utf-8")
    result = run_junheng("uploads", "clean", "-w", str(tmp_path))
    assert_user_error(result, "[uploads] keep_days 应为正数")

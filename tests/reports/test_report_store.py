"""`junheng report` and `junheng report-city` on a workspace store (no DATASET): the same approved
data gives the same numbers as the dataset path; Chinese errors for an unknown county, a year
with nothing approved, or an ambiguous request. Runs on SQLite and PostgreSQL (`database`)."""

from __future__ import annotations

import builders
import openpyxl
import pandas as pd
import pytest
from report_files import docx_text
from reports_helpers import assert_user_error, run_junheng
from sqlalchemy import select

from junheng.data.dataset import Dataset
from junheng.data.writer import write_dataset_csv
from junheng.services import init_workspace
from junheng.store import repo
from junheng.store.models import School, SchoolYear

OTHER = "990002"
FAILING_UNITS = ("P1", "P2", "P3", "N1")


def two_counties() -> Dataset:
    """The builders county with R2 failing in its primary units and J2 short of sports area,
    plus a passing copy of it under another code; both in 测试市."""
    overrides = {s: {"backbone_teachers_primary": 0} for s in FAILING_UNITS}
    overrides["J2"] = {"sports_area": 8.0 * 1000}
    schools, years = builders.passing_rows(overrides)
    base = builders.dataset(schools, years)
    passing = builders.dataset()
    other_schools = passing.schools.assign(school_id="X" + passing.schools["school_id"], county_code=OTHER,
                                           county_name="另一县")
    other_years = passing.school_year.assign(school_id="X" + passing.school_year["school_id"])
    counties = pd.DataFrame({"county_code": [builders.COUNTY, OTHER], "county_name": ["测试县", "另一县"],
                             "city": ["测试市", "测试市"], "province": ["测试省", "测试省"],
                             "target_year": [2025, 2027]})
    return Dataset.from_frames(
        source="tests", schools=pd.concat([base.schools, other_schools]),
        school_year=pd.concat([base.school_year, other_years]), counties=counties,
        county_year=pd.concat([base.county_year, base.county_year.assign(county_code=OTHER)]),
        quality=pd.concat([base.quality, base.quality.assign(county_code=OTHER)]))


@pytest.fixture
def workspace(database, tmp_path):
    """A workspace on the test database holding two_counties() approved; the same data as CSV."""
    root = tmp_path / "ws"
    init_workspace(root, admin="admin", password="report-store-pass-1", database_url=database.url)
    dataset = two_counties()
    with database.session() as s:
        repo.import_dataset(s, dataset, user=None, via="cli", note="测试数据", status="approved")
    folder = tmp_path / "csv"
    write_dataset_csv(dataset, folder)
    return root, folder, database


def cells(path) -> dict[str, list[tuple]]:
    workbook = openpyxl.load_workbook(path)
    return {name: [tuple(row) for row in workbook[name].iter_rows(values_only=True)] for name in workbook.sheetnames}


def test_the_store_report_has_the_numbers_of_the_dataset_report(workspace, tmp_path):
    root, folder, _ = workspace
    from_store, from_file = tmp_path / "库.xlsx", tmp_path / "文件.xlsx"
    done = run_junheng("report", "-w", str(root), "-c", builders.COUNTY, "-y", str(builders.YEAR),
                       "-o", str(from_store))
    assert done.returncode == 0, done.stderr
    assert "已审核数据" in done.stderr and "未达标" in done.stderr
    done = run_junheng("report", str(folder), "-c", builders.COUNTY, "-y", str(builders.YEAR), "-o", str(from_file))
    assert done.returncode == 0, done.stderr
    store_cells, file_cells = cells(from_store), cells(from_file)
    assert list(store_cells) == list(file_cells)
    assert {"学校资源配置明细", "差异系数", "整改需求"} <= set(store_cells)
    for sheet in file_cells:
        assert store_cells[sheet] == file_cells[sheet], sheet
    gaps = [row for row in store_cells["整改需求"] if any(isinstance(v, str) and "R2" in v for v in row)]
    assert gaps  # the failing indicator and its gaps are there, not an empty report


def test_the_store_report_in_word_names_the_county_and_its_verdict(workspace, tmp_path):
    root, _, _ = workspace
    done = run_junheng("report", "--store", "-w", str(root), "-c", builders.COUNTY, "-f", "docx", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = list(tmp_path.glob("*.docx"))
    assert [p.name for p in written] == [f"测试县{builders.YEAR}学年义务教育优质均衡发展自评报告.docx"]
    text = docx_text(written[0].read_bytes())
    assert "测试县" in text and "自评结论:未达标" in text and "R2" in text


def _unapprove_xp1(database) -> None:
    with database.session() as s:
        school = s.scalar(select(School).where(School.code == "XP1"))
        s.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id)).status = "submitted"


def test_only_approved_data_counts_and_an_incomplete_year_says_so_first(workspace, tmp_path):
    """A school-year sent back is left out of the store's report, as on the web page; the year is
    then incomplete: refused without --allow-incomplete, and with it stated on the first page."""
    root, _, database = workspace
    _unapprove_xp1(database)
    out = tmp_path / "另一县.xlsx"
    refused = run_junheng("report", "-w", str(root), "-c", OTHER, "-o", str(out))
    assert_user_error(refused, "数据不完整", "已审核 5/6 所学校", "测试学校P1", "--allow-incomplete")
    assert not out.exists()
    done = run_junheng("report", "-w", str(root), "-c", OTHER, "-o", str(out), "--allow-incomplete")
    assert done.returncode == 0, done.stderr
    assert "数据不完整" in done.stderr
    sheets = cells(out)
    names = " ".join(str(v) for row in sheets["学校资源配置明细"] for v in row if v)
    assert "测试学校P2" in names and "测试学校P1" not in names  # XP1 of 另一县 is named 测试学校P1
    assert any("测试学校P1" in str(v) and "XP1" in str(row) for row in sheets["数据完整性"] for v in row)
    word = tmp_path / "另一县.docx"
    done = run_junheng("report", "-w", str(root), "-c", OTHER, "-o", str(word), "--allow-incomplete")
    text = docx_text(word.read_bytes())
    assert text.index("数据不完整") < text.index("基本情况")  # before anything else is said
    assert "临时结果:基于 5/6 所学校" in text and "全县应有义务教育学校6所,已纳入本次评估的5所" in text
    assert "自评结论:数据不完整,暂不作出结论" in text and "自评结论:达标" not in text


def test_the_city_summary_leaves_out_a_county_whose_year_is_incomplete(workspace, tmp_path):
    root, _, database = workspace
    _unapprove_xp1(database)
    out = tmp_path / "市.xlsx"
    done = run_junheng("report-city", "-w", str(root), "--city", "测试市", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "另一县" in done.stderr and "数据不完整,未列入汇总" in done.stderr
    overview = [row[1] for row in cells(out)["总览"] if row[1] in ("测试县", "另一县")]
    assert overview == ["测试县"]


def test_the_dataset_report_of_an_incomplete_year_is_refused_without_the_flag(workspace, tmp_path):
    _, folder, _ = workspace
    years = pd.read_csv(folder / "school_year.csv", dtype=str)
    years[years["school_id"] != "XP2"].to_csv(folder / "school_year.csv", index=False)
    refused = run_junheng("report", str(folder), "-c", OTHER, "-y", str(builders.YEAR), cwd=tmp_path)
    assert_user_error(refused, "数据不完整", "5/6", "测试学校P2", "--allow-incomplete")
    done = run_junheng("report", str(folder), "-c", OTHER, "-y", str(builders.YEAR), "--allow-incomplete",
                       "-f", "docx", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "临时结果" in docx_text(next(tmp_path.glob("*.docx")).read_bytes())


@pytest.mark.parametrize("arguments,fragments", [
    (["-c", "999999"], ["没有县区代码为 999999 的县区"]),
    (["-c", builders.COUNTY, "-y", "2019"], ["2019—2020 学年没有已审核的学校数据", str(builders.YEAR)]),
    ([], ["多个县区", "--county", builders.COUNTY, OTHER]),
    (["-c", builders.COUNTY, "--standard", "shandong"], ["--standard", "数据集"]),
])
def test_bad_store_requests_get_a_chinese_message(workspace, tmp_path, arguments, fragments):
    root, _, _ = workspace
    assert_user_error(run_junheng("report", "-w", str(root), *arguments, cwd=tmp_path), *fragments)
    assert not list(tmp_path.glob("*.docx"))


def test_a_dataset_and_a_workspace_together_is_refused(workspace, tmp_path):
    root, folder, _ = workspace
    assert_user_error(run_junheng("report", str(folder), "-w", str(root), cwd=tmp_path), "只指定一个数据来源")


def test_without_a_workspace_the_message_says_what_to_give(tmp_path):
    assert_user_error(run_junheng("report", cwd=tmp_path), "不是 junheng 工作区", "数据集")


def test_the_city_summary_from_the_store(workspace, tmp_path):
    root, folder, _ = workspace
    from_store, from_file = tmp_path / "库.xlsx", tmp_path / "文件.xlsx"
    done = run_junheng("report-city", "-w", str(root), "--city", "测试市", "-o", str(from_store))
    assert done.returncode == 0, done.stderr
    done = run_junheng("report-city", str(folder), "--city", "测试市", "-o", str(from_file))
    assert done.returncode == 0, done.stderr
    store_cells, file_cells = cells(from_store), cells(from_file)
    overview = [row for row in store_cells["总览"] if row[1] in ("测试县", "另一县")]
    assert [row[1] for row in overview] == ["测试县", "另一县"]
    assert [row[2] for row in overview] == ["未达标", "达标"]
    for sheet in file_cells:
        assert store_cells[sheet] == file_cells[sheet], sheet
    by_code = run_junheng("report-city", "-w", str(root), "--city", "990000", "-f", "xlsx", cwd=tmp_path)
    assert_user_error(by_code, "没有代码或名称为“990000”的市或省", "测试市")
    assert_user_error(run_junheng("report-city", "-w", str(root), "-y", "2019", cwd=tmp_path),
                      "2019—2020 学年都没有完整的已审核数据")

"""The result workbook: sheets, the engine's numbers in the cells, shading, missing data, printing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import builders
import openpyxl
import pandas as pd
import pytest
from reports_helpers import run_junheng

from junheng.data.dataset import Dataset
from junheng.data.writer import write_dataset_csv
from junheng.demo.synthetic import generate_county
from junheng.engine.evaluate import evaluate_dataset
from junheng.reports.xlsx import write_results_xlsx

R_IDS = [f"R{i}" for i in range(1, 8)]
CORE_SHEETS = ["总览", "资源配置", "学校学段明细", "差异系数", "政府保障程度", "教育质量", "社会认可度"]
HEADER_ROW, FIRST_DATA_ROW = 3, 4
UNMET_RGB = "FFC7CE"
MISSING_RGB = "FFEB9C"


def failing_results():
    """No primary backbone teachers: R2 fails in every primary unit; J2 is short of sports area."""
    overrides = {s: {"backbone_teachers_primary": 0} for s in ("P1", "P2", "P3", "N1")}
    overrides["J2"] = {"sports_area": 8.0 * 1000}  # 8.0 m² per student against 10.2: 78%, not compliant
    schools, years = builders.passing_rows(overrides)
    return evaluate_dataset(builders.dataset(schools, years))


def incomplete_results():
    schools = [builders.school("P1"), builders.school("J1", "junior")]
    years = [builders.school_year("P1", students=300), builders.school_year("J1", "junior", students=200)]
    del years[0]["equipment_value"]
    dataset = Dataset.from_frames(source="tests", schools=pd.DataFrame(schools), school_year=pd.DataFrame(years))
    return evaluate_dataset(dataset)


def write(results, tmp_path: Path, name: str = "结果.xlsx") -> openpyxl.Workbook:
    path = tmp_path / name
    write_results_xlsx(results, path)
    return openpyxl.load_workbook(path)


def headers(sheet) -> list[str]:
    return [c.value for c in sheet[HEADER_ROW]]


def column_of(sheet, header: str) -> int:
    """1-based column of a header (R headers are "R1\\n<name>")."""
    for index, value in enumerate(headers(sheet), start=1):
        if value == header or (isinstance(value, str) and value.split("\n")[0] == header):
            return index
    raise AssertionError(f"no column {header!r} in {sheet.title}: {headers(sheet)}")


def data_rows(sheet) -> list[tuple]:
    return [row for row in sheet.iter_rows(min_row=FIRST_DATA_ROW) if any(c.value is not None for c in row)]


def unit_row(sheet, school_id: str, segment_label: str) -> tuple:
    id_col, seg_col = column_of(sheet, "学校标识码"), column_of(sheet, "学段")
    rows = [r for r in data_rows(sheet) if r[id_col - 1].value == school_id and r[seg_col - 1].value == segment_label]
    assert len(rows) == 1, (school_id, segment_label)
    return rows[0]


def fill_rgb(cell) -> str | None:
    if cell.fill is None or cell.fill.fill_type != "solid":
        return None
    return str(cell.fill.fgColor.rgb)[-6:]


@pytest.fixture(scope="module")
def failing(tmp_path_factory):
    results = failing_results()
    return results, write(results, tmp_path_factory.mktemp("xlsx"))


def test_the_workbook_has_the_core_sheets_in_order_and_no_empty_optional_ones(failing):
    results, workbook = failing
    assert results[0].missing_inputs == []
    assert workbook.sheetnames == CORE_SHEETS


def test_missing_inputs_get_their_own_sheet_and_are_written_as_missing(tmp_path):
    results = incomplete_results()
    workbook = write(results, tmp_path)
    assert workbook.sheetnames == CORE_SHEETS + ["缺失数据"]
    missing = workbook["缺失数据"]
    assert len(data_rows(missing)) == len(results[0].missing_inputs)
    first = data_rows(missing)[0]
    assert [c.value for c in first[2:8]] == ["R6", "学校年度数据(school_year)", "equipment_value", "教学仪器设备值",
                                              "P1", "测试学校P1"]
    row = unit_row(workbook["学校学段明细"], "P1", "小学")
    r6 = row[column_of(workbook["学校学段明细"], "R6") - 1]
    assert r6.value == "数据缺失" and fill_rgb(r6) == MISSING_RGB
    compliant = row[column_of(workbook["学校学段明细"], "是否达标") - 1]
    assert compliant.value == "数据缺失"
    overview = data_rows(workbook["总览"])[0]
    assert overview[column_of(workbook["总览"], "结论") - 1].value == "数据不全,无法判定"


def test_a_units_r_values_are_the_engines_numbers(failing):
    results, workbook = failing
    sheet = workbook["学校学段明细"]
    for unit in results[0].resource.units:
        row = unit_row(sheet, unit.school_id, {"primary": "小学", "junior": "初中"}[unit.segment])
        for rid in R_IDS:
            cell = row[column_of(sheet, rid) - 1]
            assert cell.value == pytest.approx(unit.indicators[rid].value, rel=1e-12), (unit.school_id, rid)
            assert cell.number_format == "0.00"
        assert row[column_of(sheet, "学生数") - 1].value == unit.students
        assert row[column_of(sheet, "达标项数") - 1].value == unit.met_count


def test_a_nine_year_schools_split_values_are_written_per_segment(failing):
    results, workbook = failing
    sheet = workbook["学校学段明细"]
    engine = {u.segment: u for u in results[0].resource.units if u.school_id == "N1"}
    for segment, label in (("primary", "小学"), ("junior", "初中")):
        r6 = unit_row(sheet, "N1", label)[column_of(sheet, "R6") - 1].value
        assert r6 == pytest.approx(engine[segment].indicators["R6"].value)
    assert engine["primary"].indicators["R6"].value != engine["junior"].indicators["R6"].value


def test_unmet_cells_are_shaded_and_met_cells_are_not(failing):
    _, workbook = failing
    sheet = workbook["学校学段明细"]
    p1 = unit_row(sheet, "P1", "小学")
    assert p1[column_of(sheet, "R2") - 1].value == 0
    assert fill_rgb(p1[column_of(sheet, "R2") - 1]) == UNMET_RGB
    assert fill_rgb(p1[column_of(sheet, "R1") - 1]) is None
    j2 = unit_row(sheet, "J2", "初中")
    assert fill_rgb(j2[column_of(sheet, "R5") - 1]) == UNMET_RGB
    assert j2[column_of(sheet, "是否达标") - 1].value == "未达标"
    assert fill_rgb(j2[column_of(sheet, "是否达标") - 1]) == UNMET_RGB


def test_the_cv_sheet_shows_an_undefined_cv_as_unmet(failing):
    results, workbook = failing
    sheet = workbook["差异系数"]
    primary = next(r for r in data_rows(sheet) if r[column_of(sheet, "学段") - 1].value == "小学")
    r2 = primary[column_of(sheet, "R2") - 1]
    assert results[0].resource.cv["primary"]["R2"].value is None
    assert r2.value == "无定义" and fill_rgb(r2) == UNMET_RGB
    r1 = primary[column_of(sheet, "R1") - 1]
    assert r1.value == pytest.approx(results[0].resource.cv["primary"]["R1"].value)
    assert primary[column_of(sheet, "上限") - 1].value == 0.5


def test_the_resource_sheet_counts_units_meeting_each_threshold(failing):
    results, workbook = failing
    sheet = workbook["资源配置"]
    rows = {(r[column_of(sheet, "学段") - 1].value, r[column_of(sheet, "指标") - 1].value): r for r in data_rows(sheet)}
    assert len(rows) == 14
    r2 = rows[("小学", "R2")]
    primary_units = [u for u in results[0].resource.units if u.segment == "primary"]
    assert r2[column_of(sheet, "评估单位数") - 1].value == len(primary_units)
    assert r2[column_of(sheet, "达到达标值单位数") - 1].value == 0
    assert r2[column_of(sheet, "未达到单位数") - 1].value == len(primary_units)
    r1 = rows[("初中", "R1")]
    junior_r1 = results[0].resource.cv["junior"]["R1"]
    assert r1[column_of(sheet, "县域值") - 1].value == pytest.approx(junior_r1.county_value)
    assert r1[column_of(sheet, "达标值") - 1].value == 5.3


def test_item_sheets_list_every_indicator_with_its_conclusion(failing):
    results, workbook = failing
    for sheet_name, area, count in (("政府保障程度", "government_guarantee", 15), ("教育质量", "education_quality", 9),
                                    ("社会认可度", "social_recognition", 1)):
        sheet = workbook[sheet_name]
        rows = data_rows(sheet)
        assert [r[column_of(sheet, "指标") - 1].value for r in rows] == list(results[0].item_area(area).indicators)
        assert len(rows) == count
        assert all(r[column_of(sheet, "结论") - 1].value == "达标" for r in rows)
        assert all(r[column_of(sheet, "责任单位") - 1].value for r in rows)
    s1 = data_rows(workbook["社会认可度"])[0]
    assert s1[column_of(workbook["社会认可度"], "县域值") - 1].value == 90.0


def test_a_failing_item_names_its_failing_schools(tmp_path):
    schools, years = builders.passing_rows({"P2": {"max_class_size_primary": 52, "oversize_classes_primary": 3}})
    result = evaluate_dataset(builders.dataset(schools, years))[0]
    assert result.item_area("government_guarantee").indicators["G5"].met is False
    sheet = write([result], tmp_path)["政府保障程度"]
    g5 = next(r for r in data_rows(sheet) if r[column_of(sheet, "指标") - 1].value == "G5")
    assert g5[column_of(sheet, "结论") - 1].value == "未达标"
    assert fill_rgb(g5[column_of(sheet, "结论") - 1]) == UNMET_RGB
    assert "测试学校P2" in g5[column_of(sheet, "未达标学校") - 1].value


def test_every_sheet_is_set_up_for_printing(failing):
    _, workbook = failing
    for sheet in workbook.worksheets:
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_A4)
        assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
        assert int(sheet.page_setup.fitToWidth) == 1 and int(sheet.page_setup.fitToHeight) == 0
        assert sheet.print_title_rows == "$1:$3"
        assert sheet.freeze_panes is not None and sheet.freeze_panes.endswith(str(FIRST_DATA_ROW))
        header = sheet.cell(HEADER_ROW, 1)
        assert header.font.bold and header.border.left.style == "thin"
        assert all(sheet.column_dimensions[c].width for c in "ABC")


def test_the_title_names_county_year_and_standard(failing):
    _, workbook = failing
    for sheet in workbook.worksheets:
        title = sheet.cell(1, 1).value
        assert sheet.title in title and "测试县" in title and "990001" in title, title
        assert "2024—2025学年" in title and "national-2017" in title


def test_several_county_years_share_one_workbook_with_county_and_year_columns(tmp_path):
    results = evaluate_dataset(generate_county(3, today=date(2026, 12, 1)))  # 2026 in progress too
    assert len(results) > 1
    workbook = write(results, tmp_path)
    overview = workbook["总览"]
    rows = data_rows(overview)
    assert [r[column_of(overview, "年度") - 1].value for r in rows] == [r.year for r in results]
    assert all(r[column_of(overview, "备注") - 1].value == "合成数据,仅供演示" for r in rows)
    assert "合成数据" in overview.cell(2, 1).value
    for name in CORE_SHEETS[1:]:
        assert headers(workbook[name])[:2] == ["县区", "年度"], name
    units = workbook["学校学段明细"]
    assert len(data_rows(units)) == sum(len(r.resource.units) for r in results)
    years_in_units = {r[column_of(units, "年度") - 1].value for r in data_rows(units)}
    assert years_in_units == {r.year for r in results}
    last = results[-1]
    unit = last.resource.units[0]
    matching = [r for r in data_rows(units) if r[column_of(units, "年度") - 1].value == last.year
                and r[column_of(units, "学校标识码") - 1].value == unit.school_id
                and r[column_of(units, "学段") - 1].value == {"primary": "小学", "junior": "初中"}[unit.segment]]
    assert len(matching) == 1
    assert matching[0][column_of(units, "R4") - 1].value == pytest.approx(unit.indicators["R4"].value)


def test_the_command_writes_the_workbook(tmp_path):
    folder = tmp_path / "dataset"
    write_dataset_csv(builders.dataset(), folder)
    out = tmp_path / "评估结果.xlsx"
    completed = run_junheng("evaluate", str(folder), "--format", "xlsx", "-o", str(out))
    assert completed.returncode == 0, completed.stderr + completed.stdout
    workbook = openpyxl.load_workbook(out)
    assert workbook.sheetnames == CORE_SHEETS
    overview = data_rows(workbook["总览"])[0]
    assert overview[column_of(workbook["总览"], "结论") - 1].value == "达标"

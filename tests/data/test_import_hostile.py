"""Files made to break the importer (issue 11): every one is imported as the person sees it or
refused with a message naming the table or sheet, the cell and what was expected; reading stays
within bounds whatever range a file declares; never a traceback."""

from __future__ import annotations

import contextlib
import re
import signal
import tracemalloc
import zipfile
from datetime import datetime
from pathlib import Path

import builders
import openpyxl
import pytest
from dataset_files import assert_names, only_problem, problems_of, write_csv_folder, write_workbook
from openpyxl.styles import PatternFill

from junheng.data import workbook as reader
from junheng.data.catalog import catalog
from junheng.data.importer import load_dataset, validate_rows
from junheng.data.problems import DatasetInvalid, DatasetUnreadable


def edit(path: Path, change) -> Path:
    workbook = openpyxl.load_workbook(path)
    change(workbook)
    workbook.save(path)
    return path


def rewrite_sheets(path: Path, change) -> Path:
    """Change the XML of every worksheet part (what openpyxl cannot write, such as cached values)."""
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            if name.startswith("xl/worksheets/sheet"):
                data = change(data.decode("utf-8")).encode("utf-8")
            target.writestr(name, data)
    return path


def column_letter(sheet, header: str) -> str:
    return next(cell.column_letter for cell in sheet[1] if cell.value == header)


@contextlib.contextmanager
def bounded(megabytes: int = 64, runaway_seconds: int = 60):
    """Reading must follow the cells in the file, not the range it declares: Python memory stays
    small. The alarm only turns a runaway read (minutes, gigabytes) into a failure instead of a
    stalled suite; it is not a timing assertion."""
    def runaway(signum, frame):
        raise AssertionError("读取没有结束:工作表声明的范围被逐格读取了")

    previous = signal.signal(signal.SIGALRM, runaway)
    signal.alarm(runaway_seconds)
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert peak < megabytes * 2**20, f"读取时占用了 {peak / 2**20:.0f} MB"


# --- #4 the used range and the cell count are bounded ---------------------------------------------


@pytest.mark.parametrize("cell", ["XFD1048576", "XFD2", "A1048576"])
def test_a_value_far_outside_the_data_is_refused_naming_the_cell(tmp_path, tables, cell):
    path = edit(write_workbook(tmp_path / "d.xlsx", tables), lambda book: book["学校名录"].__setitem__(cell, "x"))
    with zipfile.ZipFile(path) as archive:  # a tiny file holding one far cell
        assert path.stat().st_size < 50_000
        assert f'r="{cell}"' in archive.read("xl/worksheets/sheet1.xml").decode()
    with bounded():
        problem = only_problem(path)
    assert_names(problem, table="schools")
    text = str(problem)
    assert f"工作表“学校名录”的单元格 {cell} 有内容" in text and "超出了可导入的范围" in text, text


def test_formatted_empty_cells_far_away_do_not_count_as_data(tmp_path, tables):
    def far_formatting(book):
        sheet = book["学校年度数据"]
        sheet["XFD1048576"].fill = PatternFill("solid", fgColor="FFFF00")  # a styled cell with no value
        sheet["Z9999"] = "   "  # blanks only
    path = edit(write_workbook(tmp_path / "d.xlsx", tables), far_formatting)
    with bounded():
        dataset = load_dataset(path)
    assert len(dataset.school_year) == len(tables["school_year"])
    assert not [w for w in dataset.warnings if "未命名列" in w]


def test_the_number_of_cells_read_is_bounded(tmp_path, tables, monkeypatch):
    monkeypatch.setattr(reader, "MAX_WORKBOOK_CELLS", 60)
    with pytest.raises(DatasetUnreadable) as caught:
        load_dataset(write_workbook(tmp_path / "d.xlsx", tables))
    text = caught.value.user_message()
    assert "单元格太多" in text and "超过 60 个" in text and re.search(r"工作表“[^”]+”的 [A-Z]+\d+", text), text


def test_a_sheet_whose_data_extent_is_too_large_is_refused(tmp_path, tables, monkeypatch):
    monkeypatch.setattr(reader, "MAX_SHEET_EXTENT", 20)
    problem = next(p for p in problems_of(write_workbook(tmp_path / "d.xlsx", tables)) if p.table == "school_year")
    assert "工作表“学校年度数据”的数据范围 A1:" in str(problem) and "超出了可导入的范围" in str(problem)


def test_a_workbook_part_that_unpacks_too_large_is_refused_before_reading(tmp_path, tables, monkeypatch):
    monkeypatch.setattr(reader, "MAX_PART_BYTES", 1000)
    with pytest.raises(DatasetUnreadable, match=r"解压后.*超过"):
        load_dataset(write_workbook(tmp_path / "d.xlsx", tables))


# --- #8 formulas without a computed value ---------------------------------------------------------


def _formula_in_teaching_area(book):
    sheet = book["学校年度数据"]
    sheet[f"{column_letter(sheet, '教学及辅助用房面积')}2"] = "=1+1"  # openpyxl saves no cached result


def test_a_formula_without_a_computed_value_is_refused_naming_the_cell(tmp_path, tables):
    path = edit(write_workbook(tmp_path / "d.xlsx", tables), _formula_in_teaching_area)
    letter = column_letter(openpyxl.load_workbook(path)["学校年度数据"], "教学及辅助用房面积")
    problem = only_problem(path)
    assert_names(problem, table="school_year", row=2, column="teaching_aux_area")
    assert (f"工作表“学校年度数据”的单元格 {letter}2 是公式但没有计算结果,请用 Excel/WPS 打开并保存后再上传"
            in str(problem)), str(problem)


def test_a_formula_with_its_computed_value_reads_the_value(tmp_path, tables):
    path = edit(write_workbook(tmp_path / "d.xlsx", tables), _formula_in_teaching_area)
    rewrite_sheets(path, lambda xml: xml.replace("<f>1+1</f><v></v>", "<f>1+1</f><v>2</v>"))
    assert load_dataset(path).school_year["teaching_aux_area"].iloc[0] == 2.0


# --- #9 merged cells ------------------------------------------------------------------------------


def test_merged_header_cells_are_refused_naming_the_range(tmp_path, tables):
    path = edit(write_workbook(tmp_path / "d.xlsx", tables), lambda book: book["学校年度数据"].merge_cells("C1:D1"))
    problem = only_problem(path)
    assert_names(problem, table="school_year", row=1)
    assert "工作表“学校年度数据”的 C1:D1 是合并单元格" in str(problem) and "取消合并" in str(problem)


def test_merged_data_cells_are_refused_naming_the_range(tmp_path, tables):
    path = edit(write_workbook(tmp_path / "d.xlsx", tables), lambda book: book["学校名录"].merge_cells("E3:E4"))
    problem = only_problem(path)
    assert_names(problem, table="schools", row=3, column="school_type")
    assert "E3:E4 是合并单元格" in str(problem)


# --- #10 hidden sheets and copies of a table ------------------------------------------------------


def _stale_hidden_original_and_an_edited_copy(book):
    original = book["学校年度数据"]
    copy = book.copy_worksheet(original)
    copy.title = "学校年度数据 (2)"
    column = column_letter(original, "小学在校生数")
    original[f"{column}2"] = 1  # the stale figure
    original.sheet_state = "hidden"


def test_a_hidden_stale_sheet_is_skipped_and_the_visible_copy_is_read(tmp_path, tables):
    path = edit(write_workbook(tmp_path / "d.xlsx", tables), _stale_hidden_original_and_an_edited_copy)
    dataset = load_dataset(path)
    assert dataset.school_year["students_primary"].iloc[0] == tables["school_year"][0]["students_primary"]
    assert any("已跳过隐藏的工作表“学校年度数据”" in w for w in dataset.warnings), dataset.warnings
    assert any("工作表“学校年度数据 (2)”作为学校年度数据导入" in w for w in dataset.warnings)


def test_a_very_hidden_sheet_is_skipped_with_a_note(tmp_path, tables):
    def very_hidden_copy(book):
        copy = book.copy_worksheet(book["质量监测"])
        copy.title = "quality"
        copy["D2"] = "不是等级"
        copy.sheet_state = "veryHidden"
    dataset = load_dataset(edit(write_workbook(tmp_path / "d.xlsx", tables), very_hidden_copy))
    assert len(dataset.quality) == len(tables["quality"])
    assert any("已跳过深度隐藏(veryHidden)的工作表“quality”" in w for w in dataset.warnings), dataset.warnings


@pytest.mark.parametrize("copy_name", ["学校年度数据 (2)", "学校年度数据(3)", "学校年度数据 - 副本"])
def test_a_visible_copy_beside_its_table_is_refused_as_ambiguous(tmp_path, tables, copy_name):
    def visible_copy(book):
        book.copy_worksheet(book["学校年度数据"]).title = copy_name
    problem = only_problem(edit(write_workbook(tmp_path / "d.xlsx", tables), visible_copy))
    assert_names(problem, table="school_year")
    assert f"工作表“学校年度数据”和工作表“{copy_name}”都对应这张表,无法确定导入哪一个" in str(problem), str(problem)


def test_a_required_table_only_in_a_hidden_sheet_says_so(tmp_path, tables):
    path = edit(write_workbook(tmp_path / "d.xlsx", tables),
                lambda book: setattr(book["学校名录"], "sheet_state", "hidden"))
    problem = only_problem(path)
    assert_names(problem, table="schools")
    assert "缺少这张表" in str(problem) and "“学校名录”是隐藏的工作表" in str(problem)


# --- headers with units ---------------------------------------------------------------------------


@pytest.mark.parametrize("header", [
    "教学及辅助用房面积(平方米)", "教学及辅助用房面积（平方米）", "教学及辅助用房面积 (m²)", "教学及辅助用房面积(m2)",
    "teaching_aux_area(㎡)",
])
def test_a_header_with_its_unit_is_understood(tmp_path, tables, header):
    def with_unit(book):
        sheet = book["学校年度数据"]
        sheet[f"{column_letter(sheet, '教学及辅助用房面积')}1"] = header
        sheet[f"{column_letter(sheet, '小学在校生数')}1"] = "小学在校生数(人)"
    dataset = load_dataset(edit(write_workbook(tmp_path / "d.xlsx", tables), with_unit))
    assert dataset.school_year["teaching_aux_area"].tolist() == [r["teaching_aux_area"] for r in tables["school_year"]]
    assert dataset.school_year["students_primary"].iloc[0] == tables["school_year"][0]["students_primary"]
    assert dataset.warnings == []


def test_a_header_with_another_unit_is_refused(tmp_path, tables):
    def in_ten_thousands(book):
        sheet = book["学校年度数据"]
        sheet[f"{column_letter(sheet, '教学仪器设备值')}1"] = "教学仪器设备值(万元)"
    problem = only_problem(edit(write_workbook(tmp_path / "d.xlsx", tables), in_ten_thousands))
    assert_names(problem, table="school_year", row=1, column="equipment_value", value="教学仪器设备值(万元)")
    assert "单位“万元”" in str(problem) and "元" in (problem.expected or "")


# --- text length ----------------------------------------------------------------------------------


def test_text_fields_declare_their_length_limit():
    names = catalog().table("schools").field("school_name")
    assert names.max_length == 200
    assert all(f.max_length for t in catalog().tables.values() for f in t.fields
               if f.type in ("text", "school_ref", "county_ref"))


def test_a_text_longer_than_its_limit_is_refused(tmp_path, tables):
    tables["schools"][1]["school_name"] = "校" * 201
    tables["schools"][2]["school_name"] = "校" * 200
    problem = only_problem(write_workbook(tmp_path / "d.xlsx", tables))
    assert_names(problem, table="schools", row=3, column="school_name")
    assert "超过 200 个字符" in str(problem) and "共 201 个字符" in str(problem)
    assert len(str(problem)) < 300  # the value is not quoted whole


def test_forms_get_the_same_length_limit():
    school = {"school_id": "A", "school_name": "名" * 5000, "county_code": "1", "school_type": "小学"}
    with pytest.raises(DatasetInvalid) as caught:
        validate_rows({"schools": [school]})
    assert [p.column for p in caught.value.problems] == ["school_name"]


# --- files that are not what their name says ------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_csv_is_named_as_such(tmp_path, tables, encoding):
    folder = write_csv_folder(tmp_path / "d", tables)
    (folder / "quality.csv").write_bytes((folder / "quality.csv").read_text("utf-8-sig").encode(encoding))
    problem = only_problem(folder)
    assert_names(problem, table="quality")
    assert "UTF-16" in str(problem) and "GBK" not in str(problem) and "CSV UTF-8" in str(problem), str(problem)


def test_a_csv_that_is_really_a_workbook_is_named_as_such(tmp_path, tables):
    folder = write_csv_folder(tmp_path / "d", tables)
    write_workbook(folder / "quality.csv", {"quality": tables["quality"]})
    problem = only_problem(folder)
    assert_names(problem, table="quality")
    assert "其实是 Excel 工作簿(.xlsx)" in str(problem) and "GBK" not in str(problem), str(problem)


def test_a_csv_that_is_really_an_old_excel_file_is_named_as_such(tmp_path, tables):
    folder = write_csv_folder(tmp_path / "d", tables)
    (folder / "quality.csv").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 4)
    problem = only_problem(folder)
    assert "旧版 Excel(.xls)" in str(problem) and "GBK" not in str(problem), str(problem)


def test_a_gbk_csv_is_still_named_gbk_and_other_bytes_are_not_guessed(tmp_path, tables):
    folder = write_csv_folder(tmp_path / "d", tables)
    (folder / "quality.csv").write_bytes(b"county_code,year\n" + b"\x80\xff\xfe\x81" * 8)
    problem = only_problem(folder)
    assert "不是 UTF-8 编码" in str(problem) and "GBK" not in str(problem), str(problem)


@pytest.mark.parametrize(("content", "says"), [
    (b"school_id,school_name\n1,\xe7\x94\xb2\n", "内容是纯文本(可能是改了扩展名的 CSV 文件)"),
    ("school_id,school_name\n".encode("utf-16"), "UTF-16 编码的文本"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "旧版 Excel(.xls)文件"),
    (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "网页(HTML)"),
    (b'<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"></Workbook>',
     "Excel 2003 XML 表格"),
    (b"", "空文件"),
])
def test_an_xlsx_that_is_not_a_workbook_names_what_it_is(tmp_path, content, says):
    path = tmp_path / "data.xlsx"
    path.write_bytes(content)
    with pytest.raises(DatasetUnreadable) as caught:
        load_dataset(path)
    assert "不是 .xlsx 工作簿" in caught.value.user_message() and says in caught.value.user_message()


def test_an_xlsx_that_is_a_zip_of_csv_files_says_so(tmp_path):
    path = tmp_path / "data.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("schools.csv", "school_id\n")
    with pytest.raises(DatasetUnreadable, match="ZIP 压缩包"):
        load_dataset(path)


@pytest.mark.parametrize("name", ["data.xls", "data.csv", "data"])
def test_a_renamed_workbook_is_read_as_the_workbook_it_is(tmp_path, tables, name):
    path = write_workbook(tmp_path / "book.xlsx", tables).rename(tmp_path / name)
    dataset = load_dataset(path)
    assert len(dataset.schools) == len(tables["schools"])
    assert any(f"“{name}”" in w and "内容是 .xlsx 工作簿" in w for w in dataset.warnings), dataset.warnings


# --- a year formatted as a date -------------------------------------------------------------------


@pytest.mark.parametrize("number_format", ["yyyy", 'yyyy"年"', "[$-804]yyyy"])
def test_a_year_cell_formatted_as_a_date_reads_as_its_year(tmp_path, tables, number_format):
    def year_as_date(book):
        sheet = book["学校年度数据"]
        cell = sheet[f"{column_letter(sheet, '学年')}2"]
        cell.value = datetime(builders.YEAR, 1, 1)
        cell.number_format = number_format
    dataset = load_dataset(edit(write_workbook(tmp_path / "d.xlsx", tables), year_as_date))
    assert dataset.school_year["year"].iloc[0] == builders.YEAR

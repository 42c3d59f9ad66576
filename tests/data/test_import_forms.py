"""The forms the format accepts: keys or Chinese labels everywhere, the usual ways of writing
booleans, levels and percents, Excel's typed cells, the template's notes row, metadata."""

from __future__ import annotations

import builders
import openpyxl
import pytest
from dataset_files import only_problem, write_csv_folder, write_workbook

from junheng.data.catalog import catalog
from junheng.data.dataset import PANDAS_DTYPES
from junheng.data.importer import NOTES_MARKER, load_dataset


def test_chinese_file_names_headers_and_enum_labels(tmp_path, tables):
    for row in tables["schools"]:
        row["school_type"] = catalog().table("schools").field("school_type").values[row["school_type"]]
        row["locale"] = "镇区"
        row["boarding"] = "否"
    tables["school_year"][0]["moral_rating"] = "优秀"
    dataset = load_dataset(write_csv_folder(tmp_path / "d", tables, labels=True, bom=False))
    assert dataset.schools["school_type"].tolist() == ["primary", "junior", "nine_year", "primary",
                                                       "teaching_point", "special"]
    assert set(dataset.schools["locale"]) == {"town"}
    assert dataset.schools["boarding"].tolist() == [False] * 6
    assert dataset.school_year["moral_rating"].iloc[0] == "excellent"
    assert dataset.warnings == []


def test_columns_follow_the_catalogue_dtypes(tmp_path, tables):
    dataset = load_dataset(write_csv_folder(tmp_path / "d", tables))
    for name in dataset.TABLES:
        for f in catalog().table(name).fields:
            assert str(dataset.table(name)[f.key].dtype) == str(pd_dtype(PANDAS_DTYPES[f.type])), (name, f.key)


def pd_dtype(name):
    import pandas as pd

    return pd.api.types.pandas_dtype(name)


@pytest.mark.parametrize(("written", "meaning"), [
    ("yes", True), ("No", False), ("TRUE", True), ("false", False), ("1", True), ("0", False),
    ("是", True), ("否", False),
])
def test_booleans(tmp_path, tables, written, meaning):
    tables["county_year"][0]["four_unified"] = written
    assert load_dataset(write_csv_folder(tmp_path / "d", tables)).county_year["four_unified"].tolist() == [meaning]


@pytest.mark.parametrize(("written", "level"), [
    ("Ⅲ", 3), ("III", 3), ("iii", 3), ("3", 3), ("Ⅲ级", 3), ("Ⅳ", 4), ("IV", 4), ("1", 1), ("Ⅰ", 1), ("2.0", 2),
])
def test_levels(tmp_path, tables, written, level):
    tables["quality"][0]["level"] = written
    assert load_dataset(write_csv_folder(tmp_path / "d", tables)).quality["level"].iloc[0] == level


def test_enum_keys_ignore_case_and_headers_ignore_spaces(tmp_path, tables):
    folder = write_csv_folder(tmp_path / "d", tables)
    text = (folder / "schools.csv").read_text("utf-8-sig")
    text = text.replace("school_type", " School_Type ").replace(",junior,", ",JUNIOR,")
    (folder / "schools.csv").write_text(text, encoding="utf-8")
    assert load_dataset(folder).schools["school_type"].iloc[1] == "junior"


def test_counts_written_as_integral_floats(tmp_path, tables):
    tables["school_year"][0]["students_primary"] = "200.0"
    assert load_dataset(write_csv_folder(tmp_path / "d", tables)).school_year["students_primary"].iloc[0] == 200


def test_blank_rows_are_skipped_and_row_numbers_stay_as_the_sheet_shows(tmp_path, tables):
    folder = write_csv_folder(tmp_path / "d", tables)
    lines = (folder / "quality.csv").read_text("utf-8-sig").splitlines()
    lines[2:2] = ["", ",,,,"]  # two empty rows after the first data row
    lines[-1] = f"{builders.COUNTY},{builders.YEAR},科学,9,0.08"  # the last row: sheet row 6
    (folder / "quality.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    problem = only_problem(folder)
    assert (problem.table, problem.row, problem.column, problem.value) == ("quality", 6, "level", "9")


def test_the_template_notes_row_is_skipped_in_csv_too(tmp_path, tables):
    folder = write_csv_folder(tmp_path / "d", tables)
    lines = (folder / "quality.csv").read_text("utf-8-sig").splitlines()
    lines.insert(1, f"{NOTES_MARKER}必填,,,,")
    lines[2] = lines[2].replace(",3,", ",7,")  # first data row: sheet row 3
    (folder / "quality.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    problem = only_problem(folder)
    assert (problem.row, problem.column, problem.value) == (3, "level", "7")


def test_unknown_columns_are_kept_with_a_warning(tmp_path, tables):
    for i, row in enumerate(tables["schools"]):
        row["校长"] = f"校长{i}"
    dataset = load_dataset(write_csv_folder(tmp_path / "d", tables))
    assert dataset.schools["校长"].tolist() == [f"校长{i}" for i in range(6)]
    assert len(dataset.warnings) == 1 and "未识别的列“校长”" in dataset.warnings[0]
    assert "学校名录:" in dataset.warnings[0] and "schools" not in dataset.warnings[0]


def test_unknown_files_and_sheets_are_warned_about(tmp_path, tables):
    folder = write_csv_folder(tmp_path / "d", tables)
    (folder / "教师名单.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert any("教师名单.csv" in w for w in load_dataset(folder).warnings)
    book = write_workbook(tmp_path / "d.xlsx", tables)
    workbook = openpyxl.load_workbook(book)
    workbook.create_sheet("草稿")["A1"] = "x"
    workbook.save(book)
    assert any("未识别的工作表“草稿”" in w for w in load_dataset(book).warnings)


def test_a_workbook_with_excel_typed_cells(tmp_path, tables):
    tables["school_year"][0]["students_primary"] = 200.0  # Excel's numbers are floats
    tables["county_year"][0]["four_unified"] = True  # an Excel TRUE
    path = write_workbook(tmp_path / "d.xlsx", tables, labels=False)  # sheet names and headers as keys
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["county_year"]
    column = [c.value for c in sheet[1]].index("training_completion_rate") + 1
    sheet.cell(2, column).value = 0.95  # typed as 95% in Excel: stored as 0.95, shown as 95%
    sheet.cell(2, column).number_format = "0%"
    workbook.save(path)
    dataset = load_dataset(path)
    assert dataset.school_year["students_primary"].iloc[0] == 200
    assert dataset.county_year["four_unified"].tolist() == [True]
    assert dataset.county_year["training_completion_rate"].iloc[0] == 95.0


def test_a_workbook_with_the_notes_row_numbers_rows_from_three(tmp_path, tables):
    tables["school_year"][1]["teachers_junior"] = -1
    problem = only_problem(write_workbook(tmp_path / "d.xlsx", tables, notes_row=True))
    assert (problem.table, problem.row, problem.column, problem.value) == ("school_year", 4, "teachers_junior", "-1")


def test_synthetic_label_from_metadata_yaml(tmp_path, tables):
    folder = write_csv_folder(tmp_path / "d", tables)
    assert load_dataset(folder).synthetic is False
    (folder / "metadata.yaml").write_text("synthetic: true\ndescription: 合成数据\n", encoding="utf-8")
    assert load_dataset(folder).synthetic is True


def test_synthetic_label_from_a_metadata_sheet(tmp_path, tables):
    path = write_workbook(tmp_path / "d.xlsx", tables)
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.create_sheet("元数据")
    sheet.append(["项目", "取值"])
    sheet.append(["synthetic", "是"])
    workbook.save(path)
    assert load_dataset(path).synthetic is True


def test_an_unreadable_synthetic_label_is_a_problem(tmp_path, tables):
    folder = write_csv_folder(tmp_path / "d", tables)
    (folder / "metadata.yaml").write_text("synthetic: maybe\n", encoding="utf-8")
    problem = only_problem(folder)
    assert problem.table == "metadata" and problem.value == "maybe" and "synthetic" in str(problem)


def test_a_demo_sized_county_loads_whole_and_the_same_every_time(tmp_path):
    """A demo-sized county (80 schools, 3 years) loads completely, and a second load (from the
    cache) gives exactly the same tables. Its speed goal (well under half a second) is measured by
    bench/import_speed.py, not asserted here: wall-clock limits fail on a busy machine."""
    kinds = ["primary"] * 50 + ["junior"] * 15 + ["nine_year"] * 8 + ["teaching_point"] * 6 + ["special"]
    schools = [builders.school(f"S{i:03d}", t) for i, t in enumerate(kinds)]
    years = [builders.school_year(s["school_id"], s["school_type"], year=y) for y in (2022, 2023, 2024) for s in schools]
    folder = write_csv_folder(tmp_path / "demo", {
        "schools": schools, "school_year": years,
        "county_year": [builders.county_year(y) for y in (2022, 2023, 2024)], "quality": builders.quality(),
    })
    first = load_dataset(folder)
    assert len(first.schools) == 80 and sorted(first.schools["school_type"].unique()) == sorted(set(kinds))
    assert len(first.school_year) == 240 and sorted(first.school_year["year"].unique()) == [2022, 2023, 2024]
    assert first.school_year.groupby("year").size().tolist() == [80, 80, 80]
    assert list(first.county_year["year"]) == [2022, 2023, 2024]
    again = load_dataset(folder)
    for table in ("schools", "school_year", "county_year", "quality"):
        assert again.table(table).equals(first.table(table)), table


def test_in_memory_rows_get_the_same_rules_as_files():
    from junheng.data.importer import validate_rows
    from junheng.data.problems import DatasetInvalid

    school = {"school_id": "A", "school_name": "甲", "county_code": "1", "school_type": "小学"}
    row = {"school_id": "A", "year": "2024", "students_primary": "500", "teachers_primary": 30,
           "teachers_above_qual_primary": 31, "students_junior": "3", "migrant_share": 0.5}
    with pytest.raises(DatasetInvalid) as info:
        validate_rows({"schools": [school], "school_year": [row]})
    assert {p.column for p in info.value.problems} == {"students_junior", "teachers_above_qual_primary", "migrant_share"}
    ok = validate_rows({"county_year": [{"county_code": "1", "year": 2024, "training_completion_rate": "100%"}]})
    assert ok.county_year["training_completion_rate"].tolist() == [100.0]

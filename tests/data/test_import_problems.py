"""Each kind of invalid input is reported with table, spreadsheet row, column (key and label),
the bad value and what was expected; everything wrong is reported in one go."""

from __future__ import annotations

import builders
import pytest
from dataset_files import (
    assert_names,
    only_problem,
    problems_of,
    sheet_row,
    write_csv_folder,
    write_workbook,
)

from junheng.data.importer import load_dataset
from junheng.data.problems import DatasetInvalid, DatasetUnreadable, Problem


def test_the_valid_fixture_loads(tmp_path, tables):
    dataset = load_dataset(write_csv_folder(tmp_path / "d", tables))
    assert len(dataset.schools) == 6 and len(dataset.school_year) == 6
    assert dataset.warnings == []


# --- tables and columns ------------------------------------------------------------------------


def test_missing_required_table_in_a_folder(tmp_path, tables):
    del tables["schools"]
    problems = problems_of(write_csv_folder(tmp_path / "d", tables))
    assert len(problems) == 1
    assert_names(problems[0], table="schools")
    assert "缺少这张表" in str(problems[0]) and "schools.csv" in str(problems[0])


def test_missing_required_table_in_a_workbook(tmp_path, tables):
    del tables["school_year"]
    problem = only_problem(write_workbook(tmp_path / "d.xlsx", tables))
    assert_names(problem, table="school_year")
    assert "缺少这张表" in str(problem) and "“学校年度数据”的工作表" in str(problem)


def test_optional_tables_may_be_missing(tmp_path, tables):
    for name in ("counties", "county_year", "quality"):
        del tables[name]
    dataset = load_dataset(write_csv_folder(tmp_path / "d", tables))
    assert dataset.county_year.empty and "veto_fraud" in dataset.county_year.columns


def test_missing_required_column(tmp_path, tables):
    for row in tables["schools"]:
        del row["school_type"]
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert_names(problem, table="schools", column="school_type")
    assert problem.row is None and "缺少必填列" in str(problem)


def test_a_header_row_with_no_known_column_is_one_problem(tmp_path, tables):
    tables["quality"] = [{"地区": "x", "分数": 1}]
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert_names(problem, table="quality")
    assert "没有识别出任何列名" in str(problem)


def test_two_columns_for_one_field(tmp_path, tables):
    folder = write_csv_folder(tmp_path / "d", tables)
    (folder / "quality.csv").write_text("county_code,县区代码,year,subject,level,inter_school_diff_rate\n"
                                        "990001,990001,2024,语文,3,0.1\n", encoding="utf-8")
    problem = only_problem(folder)
    assert_names(problem, table="quality", row=1, column="county_code", value="县区代码")
    assert "第1列和第2列" in str(problem)


def test_required_value_empty(tmp_path, tables):
    tables["schools"][2]["school_name"] = ""
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert_names(problem, table="schools", row=sheet_row(2), column="school_name")
    assert problem.value is None and "必填项未填写" in str(problem)


# --- types and ranges --------------------------------------------------------------------------


@pytest.mark.parametrize(("table", "column", "bad"), [
    ("school_year", "teachers_primary", "-3"),
    ("school_year", "teachers_primary", "12.5"),
    ("school_year", "students_primary", "两百"),
    ("school_year", "sports_area", "-1"),
    ("school_year", "sports_area", "1,200"),
    ("school_year", "year", "24"),
    ("school_year", "year", "2024年"),
    ("schools", "build_year", "1850"),
    ("quality", "inter_school_diff_rate", "1.5"),
    ("quality", "level", "5"),
    ("quality", "level", "优秀"),
    ("schools", "school_type", "高中"),
    ("school_year", "moral_rating", "很好"),
    ("schools", "boarding", "可能"),
    ("county_year", "junior_consolidation_rate", "101"),
    ("county_year", "social_recognition_rate", "-5%"),
])
def test_invalid_values(tmp_path, tables, table, column, bad):
    row = 1 if table == "school_year" else 0
    tables[table][row][column] = bad
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert_names(problem, table=table, row=sheet_row(row), column=column, value=bad)
    assert "无效" in problem.message and problem.expected


def test_the_message_reads_as_one_chinese_line(tmp_path, tables):
    tables["school_year"][5]["teachers_primary"] = "-3"
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert str(problem) == "学校年度数据(school_year) 第7行 列“小学专任教师数”(teachers_primary):取值“-3”无效,应为非负整数(单位:人)"


def test_a_fraction_in_a_percent_field_is_an_error_not_a_guess(tmp_path, tables):
    tables["county_year"][0]["training_completion_rate"] = "0.95"
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert_names(problem, table="county_year", row=2, column="training_completion_rate", value="0.95")
    assert "小数形式的比例" in problem.message and "95" in problem.expected


def test_a_percent_column_written_as_fractions_flags_its_ones_too(tmp_path, tables):
    tables["county_year"] = [builders.county_year(2023, junior_consolidation_rate="0.97"),
                             builders.county_year(2024, junior_consolidation_rate="1")]
    problems = problems_of(write_csv_folder(tmp_path / "d", tables))
    assert [(p.row, p.value) for p in problems] == [(2, "0.97"), (3, "1")]
    assert "本列所有取值都在 0 到 1 之间" in str(problems[1])


def test_percent_accepts_a_trailing_sign_and_whole_numbers(tmp_path, tables):
    tables["county_year"] = [builders.county_year(2023, junior_consolidation_rate="97%",
                                                  social_recognition_rate="0.5%", hs_quota_ratio="55 \uff05"),
                             builders.county_year(2024, junior_consolidation_rate="1",
                                                  social_recognition_rate="88", hs_quota_ratio="60")]
    dataset = load_dataset(write_csv_folder(tmp_path / "d", tables))
    assert dataset.county_year["junior_consolidation_rate"].tolist() == [97.0, 1.0]
    assert dataset.county_year["social_recognition_rate"].tolist() == [0.5, 88.0]
    assert dataset.county_year["hs_quota_ratio"].tolist() == [55.0, 60.0]  # a full-width ％ too


# --- keys and references -----------------------------------------------------------------------


def test_duplicate_single_key(tmp_path, tables):
    tables["schools"].append(dict(tables["schools"][0], school_name="另一所学校"))
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert_names(problem, table="schools", row=8, column="school_id", value="P1")
    assert "与第2行相同" in str(problem)


def test_duplicate_composite_key(tmp_path, tables):
    tables["school_year"].append(dict(tables["school_year"][1]))
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert_names(problem, table="school_year", row=8, value="J1 / 2024")
    assert "与第3行" in str(problem) and "学校标识码+学年" in str(problem)


def test_school_year_of_an_unknown_school(tmp_path, tables):
    tables["school_year"][2]["school_id"] = "X9"
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert_names(problem, table="school_year", row=4, column="school_id", value="X9")
    assert "在学校名录中不存在" in str(problem)


def test_unknown_central_school_of_a_teaching_point(tmp_path, tables):
    tables["schools"][4]["parent_school_id"] = "C9"
    problems = problems_of(write_csv_folder(tmp_path / "d", tables))
    assert len(problems) == 2
    assert_names(problems[0], table="schools", row=6, column="parent_school_id", value="C9")
    # ... and its school-year row says why it cannot be placed
    assert_names(problems[1], table="school_year", row=6, column="school_id", value="T1")
    assert "所属中心校“C9”在学校名录中不存在" in str(problems[1])


@pytest.mark.parametrize("table", ["county_year", "quality"])
def test_unknown_county(tmp_path, tables, table):
    tables[table][0]["county_code"] = "123456"
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert_names(problem, table=table, row=2, column="county_code", value="123456")
    assert "在县区名录中不存在" in str(problem)


def test_a_school_of_a_county_absent_from_the_county_list_is_refused(tmp_path, tables):
    """With a 县区名录 the county a school names must be in it: else the county would be evaluated
    without its standard, name and population (the web upload refuses it as another county's)."""
    for table in ("schools", "school_year", "county_year", "quality"):
        for row in tables[table]:
            if "county_code" in row:
                row["county_code"] = "990009"
    problems = problems_of(write_csv_folder(tmp_path / "d", tables))
    assert problems and all(p.value == "990009" and "在县区名录中不存在" in str(p) for p in problems)
    assert_names(problems[0], table="schools", row=2, column="county_code", value="990009")


def test_without_a_county_list_the_schools_name_the_counties(tmp_path, tables):
    del tables["counties"]
    tables["county_year"][0]["county_code"] = "123456"
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert "在学校名录中不存在" in str(problem)


def test_an_empty_county_list_is_no_list(tmp_path, tables):
    folder = write_csv_folder(tmp_path / "d", tables)
    (folder / "counties.csv").write_text("county_code,county_name\n", encoding="utf-8")  # the header alone
    assert len(load_dataset(folder).schools) == len(tables["schools"])


def test_a_county_known_only_from_the_county_list_is_known(tmp_path, tables):
    tables["counties"].append({"county_code": "990002", "county_name": "邻县"})
    tables["county_year"].append(builders.county_year(2024, county_code="990002"))
    assert len(load_dataset(write_csv_folder(tmp_path / "d", tables)).county_year) == 2


def test_unknown_standard(tmp_path, tables):
    tables["counties"][0]["standard"] = "guangdong"
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert_names(problem, table="counties", row=2, column="standard", value="guangdong")
    assert "national-2017" in problem.expected


# --- consistency within a row ------------------------------------------------------------------


def test_a_part_larger_than_its_whole(tmp_path, tables):
    tables["school_year"][0]["teachers_above_qual_primary"] = 25  # teachers_primary is 20
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert_names(problem, table="school_year", row=2, column="teachers_above_qual_primary", value="25")
    assert "“小学专任教师数”的取值“20”" in str(problem)


def test_junior_students_in_a_primary_school(tmp_path, tables):
    tables["school_year"][0]["students_junior"] = 30
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert_names(problem, table="school_year", row=2, column="students_junior", value="30")
    assert "学校类型为“小学”,没有初中学段" in str(problem)


def test_zero_in_a_missing_segment_is_fine_and_special_schools_have_junior(tmp_path, tables):
    tables["school_year"][0]["students_junior"] = 0
    tables["school_year"][5] |= {"students_junior": 12, "teachers_junior": 3}  # E1: special
    load_dataset(write_csv_folder(tmp_path / "d", tables))


def test_senior_students_in_a_nine_year_school(tmp_path, tables):
    tables["school_year"][2]["students_senior"] = 100
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert_names(problem, table="school_year", row=4, column="students_senior", value="100")


@pytest.mark.parametrize(("largest", "count", "why"), [
    (40, 2, "不应有超标班额班级"),
    (52, 0, "至少有 1 个超标班额班级"),
])
def test_oversize_class_count_must_agree_with_the_largest_class(tmp_path, tables, largest, count, why):
    tables["school_year"][0] |= {"max_class_size_primary": largest, "oversize_classes_primary": count}
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert_names(problem, table="school_year", row=2, column="oversize_classes_primary", value=str(count))
    assert f"“小学最大班额”(max_class_size_primary)的取值“{largest}”" in str(problem) and why in str(problem)


# --- all at once, and how the list reads -------------------------------------------------------


def test_problems_in_several_tables_are_reported_together(tmp_path, tables):
    tables["schools"][1]["school_type"] = "大学"
    tables["school_year"][0]["teachers_primary"] = "-3"
    tables["school_year"][3]["school_id"] = "X1"
    tables["county_year"][0]["hs_quota_ratio"] = "0.6"
    tables["quality"][2]["level"] = "Ⅴ"
    with pytest.raises(DatasetInvalid) as caught:
        load_dataset(write_csv_folder(tmp_path / "d", tables))
    found = [(p.table, p.row, p.column) for p in caught.value.problems]
    assert found == [
        ("schools", 3, "school_type"),
        ("school_year", 2, "teachers_primary"),
        ("school_year", 5, "school_id"),
        ("county_year", 2, "hs_quota_ratio"),
        ("quality", 4, "level"),
    ]
    message = caught.value.user_message()
    assert message.startswith("数据校验未通过,共 5 个问题(学校名录 1 个,学校年度数据 2 个,县级年度数据 1 个,质量监测 1 个):")
    assert all(f"{n}. " in message for n in range(1, 6))


def test_a_long_list_lists_everything_with_a_summary():
    problems = [Problem("school_year", "学校年度数据", row, "teachers_primary", "小学专任教师数", "-1", "非负整数", "无效")
                for row in range(2, 32)]
    message = DatasetInvalid(problems, ["提示一条"]).user_message()
    assert "共 30 个问题" in message
    assert "问题最多的列:学校年度数据·小学专任教师数(teachers_primary) 30 个" in message
    assert message.count("取值“-1”无效") == 30
    assert " 1. " in message and "30. " in message
    assert message.endswith("另有 1 条提示:\n  - 提示一条")


# --- files that cannot be datasets --------------------------------------------------------------


def test_a_path_that_does_not_exist(tmp_path):
    with pytest.raises(DatasetUnreadable, match="找不到数据集"):
        load_dataset(tmp_path / "nowhere")


@pytest.mark.parametrize(("name", "content", "says"), [
    ("broken.xlsx", b"PK\x03\x04 cut off before its directory", "文件已损坏或不是 .xlsx 格式"),  # text: see test_import_hostile
    ("old.xls", b"\xd0\xcf\x11\xe0", "另存为"),
    ("schools.csv", b"school_id\n", "单个 CSV 文件"),
    ("notes.txt", b"hello", "无法识别"),
])
def test_files_that_are_not_datasets(tmp_path, name, content, says):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DatasetUnreadable, match=says):
        load_dataset(path)


def test_a_csv_saved_as_gbk_names_the_encoding(tmp_path, tables):
    folder = write_csv_folder(tmp_path / "d", tables)
    text = (folder / "quality.csv").read_text("utf-8-sig")
    (folder / "quality.csv").write_bytes(text.encode("gbk"))
    problem = only_problem(folder)
    assert_names(problem, table="quality")
    assert "不是 UTF-8 编码" in str(problem) and "CSV UTF-8" in str(problem)


def test_a_csv_row_longer_than_its_header(tmp_path, tables):
    folder = write_csv_folder(tmp_path / "d", tables)
    with (folder / "quality.csv").open("a", encoding="utf-8") as handle:
        handle.write("990001,2024,英语,3,0.1,多余\n")
    problem = only_problem(folder)
    assert_names(problem, table="quality")
    assert "多于表头的 5 列" in str(problem)


def test_two_files_for_one_table(tmp_path, tables):
    folder = write_csv_folder(tmp_path / "d", tables)
    (folder / "质量监测.csv").write_bytes((folder / "quality.csv").read_bytes())
    problem = only_problem(folder)
    assert_names(problem, table="quality")
    assert "文件“quality.csv”和文件“质量监测.csv”都对应这张表" in str(problem)

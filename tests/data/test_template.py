"""The fill-in template: what a county sees, and that what it fills in imports as it is; the
columns follow the county's standard (national-2017 without one, basic-2012 its own)."""

from __future__ import annotations

import openpyxl
import pytest
from builders import run_junheng
from dataset_files import columns_of, problems_of

from junheng.data.catalog import catalog
from junheng.data.dataset import Dataset
from junheng.data.importer import NOTES_MARKER, load_dataset
from junheng.data.template import FIRST_DATA_ROW, write_template
from junheng.standards.fields import fields_for
from junheng.standards.loader import load_standard

NATIONAL = fields_for(load_standard("national-2017"))


def write_for(path, standard_id: str):
    """The template as the faces write it: the fields a county under that standard is asked for."""
    std = load_standard(standard_id)
    write_template(path, fields_for(std), std)
    return path


@pytest.fixture(scope="module")
def template_path(tmp_path_factory):
    return write_for(tmp_path_factory.mktemp("template") / "模板.xlsx", "national-2017")


def validations(sheet) -> dict[str, tuple[str, str | None, str]]:
    """Column letter → (type, formula1, range) of each data validation."""
    found = {}
    for validation in sheet.data_validations.dataValidation:
        ranges = str(validation.sqref)
        found[ranges.split(":")[0].rstrip("0123456789")] = (validation.type, validation.formula1, ranges)
    return found


def test_one_sheet_per_table_after_the_instructions(template_path):
    workbook = openpyxl.load_workbook(template_path)
    assert workbook.sheetnames == ["填写说明"] + [catalog().table(name).label for name in Dataset.TABLES]
    assert "national-2017" in workbook["填写说明"]["A2"].value  # the standard it was made for
    instructions = "\n".join(str(v) for row in workbook["填写说明"].iter_rows(values_only=True) for v in row if v)
    for name in Dataset.TABLES:
        assert catalog().table(name).label in instructions and name in instructions


def test_headers_notes_and_layout(template_path):
    sheet = openpyxl.load_workbook(template_path)["学校年度数据"]
    shown = NATIONAL["school_year"]
    assert [c.value for c in sheet[1]] == [f.label for f in shown]
    assert all(c.font.b and c.alignment.wrap_text for c in sheet[1])
    notes = [c.value for c in sheet[2]]
    assert notes[0].startswith(NOTES_MARKER + "必填")
    oversize = notes[[f.key for f in shown].index("oversize_classes_primary")]
    assert oversize.startswith("选填") and "非负整数(单位:个)" in oversize and "班额超过45人" in oversize
    assert sheet.freeze_panes == f"A{FIRST_DATA_ROW}"
    assert sheet.column_dimensions["A"].width >= 12


def test_drop_downs_for_enums_and_booleans(template_path):
    workbook = openpyxl.load_workbook(template_path)
    schools = validations(workbook["学校名录"])
    assert schools["E"] == ("list", '"小学,初级中学,九年一贯制学校,十二年一贯制学校,完全中学,教学点,特殊教育学校"', "E3:E5000")
    assert schools["H"] == ("list", '"是,否"', "H3:H5000")  # 是否寄宿制
    assert "A" not in schools  # free text
    school_year = validations(workbook["学校年度数据"])
    moral = openpyxl.utils.get_column_letter([f.key for f in NATIONAL["school_year"]].index("moral_rating") + 1)
    assert school_year[moral][1] == '"优秀,良好,合格,不合格"'
    assert school_year["C"][0] == "whole"  # 小学在校生数: a count


def test_the_empty_template_says_what_is_missing(template_path):
    problems = problems_of(template_path)
    assert [(p.table, p.row, p.column) for p in problems] == [("schools", None, None), ("school_year", None, None)]
    assert all("没有数据" in str(p) for p in problems)


def fill(template_path, out, tables: dict[str, list[dict]]):
    """Type rows into the template as a person would: Chinese labels from the drop-downs."""
    workbook = openpyxl.load_workbook(template_path)
    for name, rows in tables.items():
        spec = catalog().table(name)
        sheet = workbook[spec.label]
        column = {cell.value: cell.column for cell in sheet[1]}  # the template's own columns
        for offset, row in enumerate(rows):
            for key in columns_of(rows):
                value = row.get(key)
                f = spec.field(key)
                if f.type == "enum" and value is not None:
                    value = f.values[value]
                elif f.type == "bool" and value is not None:
                    value = "是" if value else "否"
                sheet.cell(FIRST_DATA_ROW + offset, column[f.label]).value = value
    workbook.save(out)
    return out


def test_a_filled_template_loads(template_path, tmp_path, tables):
    dataset = load_dataset(fill(template_path, tmp_path / "filled.xlsx", tables))
    assert dataset.warnings == []
    assert dataset.schools["school_type"].tolist() == [s["school_type"] for s in tables["schools"]]
    assert dataset.county_year["four_unified"].tolist() == [True]
    assert dataset.quality["level"].tolist() == [3, 4, 3]


def test_a_mistake_in_a_filled_template_is_placed_on_its_sheet_row(template_path, tmp_path, tables):
    tables["school_year"][0]["students_junior"] = 40  # P1 is a primary school
    problems = problems_of(fill(template_path, tmp_path / "filled.xlsx", tables))
    assert [(p.table, p.row, p.column, p.value) for p in problems] == [("school_year", 3, "students_junior", "40")]


def test_a_basic_2012_template_asks_for_its_own_fields(tmp_path):
    path = tmp_path / "基本均衡.xlsx"
    write_for(path, "basic-2012")
    workbook = openpyxl.load_workbook(path)
    assert "质量监测" not in workbook.sheetnames  # basic-2012 reads no quality monitoring
    assert "basic-2012" in workbook["填写说明"]["A2"].value
    school_year = [c.value for c in workbook["学校年度数据"][1]]
    assert {"教学用计算机台数", "图书册数", "小学中级及以上专业技术职务专任教师数"} <= set(school_year)
    assert "小学县级及以上骨干教师数" not in school_year and "音乐专用教室数" not in school_year
    county_year = [c.value for c in workbook["县级年度数据"][1]]
    assert county_year == ["县区代码", "年度", "县级人民政府推进义务教育均衡发展工作评估得分", "学校均达到省定办学基本标准",
                           "公众满意度"]
    rules = "\n".join(str(row[0]) for row in workbook["填写说明"].iter_rows(values_only=True) if row[0])
    assert "校际差异率" not in rules  # only said where such a column is shown


def test_a_filled_basic_2012_template_loads(tmp_path, tables):
    path = tmp_path / "基本均衡.xlsx"
    write_for(path, "basic-2012")
    asked = {name: {f.key for f in shown} for name, shown in fields_for(load_standard("basic-2012")).items()}
    rows = {name: [{k: v for k, v in row.items() if k in asked[name]} for row in table_rows]
            for name, table_rows in tables.items() if name in asked}
    for row in rows["school_year"]:
        row["computers"] = 30
    dataset = load_dataset(fill(path, tmp_path / "filled.xlsx", rows))
    assert dataset.warnings == []
    assert dataset.school_year["computers"].tolist() == [30] * len(rows["school_year"])


def test_without_fields_every_catalogue_field_is_listed(tmp_path):
    path = tmp_path / "全部.xlsx"
    write_template(path)
    workbook = openpyxl.load_workbook(path)
    assert workbook["填写说明"]["A1"].value == "数据填报模板"  # made for no standard in particular
    for name in Dataset.TABLES:
        spec = catalog().table(name)
        assert [c.value for c in workbook[spec.label][1]] == [f.label for f in spec.fields]
    national = {f.label for f in NATIONAL["school_year"]}
    assert national < {c.value for c in workbook["学校年度数据"][1]}  # more than any one standard asks


def template_command(tmp_path, *options):
    """`junheng template` run as a user runs it (a fresh process: the entry point's error handling)."""
    out = tmp_path / "模板.xlsx"
    return out, run_junheng("template", str(out), *options)


def test_the_template_command_writes_national_2017s_by_default(tmp_path):
    out, result = template_command(tmp_path)
    assert result.returncode == 0, result.stderr
    workbook = openpyxl.load_workbook(out)
    assert "national-2017" in workbook["填写说明"]["A2"].value
    assert [c.value for c in workbook["学校年度数据"][1]] == [f.label for f in NATIONAL["school_year"]]


@pytest.mark.parametrize("option", ["--standard", "-s"])
def test_the_template_command_follows_the_standard_asked_for(tmp_path, option):
    out, result = template_command(tmp_path, option, "basic-2012")
    assert result.returncode == 0, result.stderr
    workbook = openpyxl.load_workbook(out)
    assert "basic-2012" in workbook["填写说明"]["A2"].value
    school_year = {c.value for c in workbook["学校年度数据"][1]}
    assert "教学用计算机台数" in school_year
    assert not any("县级及以上骨干教师数" in label for label in school_year)


def test_the_template_command_refuses_an_unknown_standard_in_chinese(tmp_path):
    out, result = template_command(tmp_path, "--standard", "no-such-standard")
    assert result.returncode == 1
    assert "没有这个标准" in result.stderr and "national-2017" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not out.exists()

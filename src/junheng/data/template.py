"""The fill-in template: an empty workbook a county fills in and imports as it is.

Everything in it comes from the format catalogue: one sheet per table (Chinese names),
Chinese headers, a notes row under the header saying per column whether it is required,
its unit and what to write, drop-downs for enums and 是/否, number checks for numeric
columns, and a first sheet explaining the whole. The importer skips the notes row.

Which columns: those the caller gives, table by table. The faces pass the fields a county
under its standard is asked for (`junheng.standards.fields.fields_for`, national-2017's by
default) and that standard for the title; without fields every field of the catalogue is
listed. The data package does not read standards itself (tests/test_layout.py); the importer
reads a workbook with any subset of the catalogue's columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from junheng.data.catalog import FieldSpec, TableSpec, catalog
from junheng.data.dataset import catalogue_fields
from junheng.data.importer import INSTRUCTIONS_SHEET, NOTES_MARKER, YEAR_RANGE
from junheng.data.writer import writing_to
from junheng.spreadsheets import save_workbook

FIRST_DATA_ROW = 3  # row 1: headers, row 2: notes
LAST_DATA_ROW = 5000  # drop-downs and number checks reach this far
TEXT_TYPES = ("text", "school_ref", "county_ref")  # kept as text in Excel: codes keep leading zeros
LEVEL_CHOICES = ("Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ")

HEADER_FILL = "DDEBF7"  # light blue
REQUIRED_FILL = "FCE4D6"  # light orange: required columns
NOTES_COLOUR = "595959"


class NamedStandard(Protocol):
    """What the template says of the standard it was made for (a `Standard` is one)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


def write_template(path: Path, fields: dict[str, list[FieldSpec]] | None = None,
                   standard: NamedStandard | None = None) -> None:
    """Write the empty fill-in workbook to `path` (.xlsx): one sheet per table of `fields` with
    those columns (every catalogue field when None), titled for `standard` when given (the
    standard the fields were chosen for: `fields_for(standard)`)."""
    import openpyxl

    fields = fields if fields is not None else catalogue_fields()
    workbook = openpyxl.Workbook()
    _write_instructions(workbook.active, standard, fields)
    for name, shown in fields.items():
        _write_table_sheet(workbook.create_sheet(), catalog().table(name), shown)
    path = Path(path)
    with writing_to(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        save_workbook(workbook, path)  # text cells as text (junheng.spreadsheets)


# ---------------------------------------------------------------------------------------------
# The instructions sheet


GENERAL_RULES = (
    "每张表一个工作表。请不要修改工作表名称和第1行的列名;不需要的选填列可以留空,也可以删除。",
    f"第2行(以“{NOTES_MARKER}”开头)是每一列的填写说明,导入时自动跳过。请从第{FIRST_DATA_ROW}行起填写数据。",
    "表头为橙色的列必须填写;蓝色的列选填。空单元格表示缺少该项数据,不要填“无”“/”“-”等符号。",
    "带下拉箭头的单元格请从下拉列表中选择;“是/否”列选择“是”或“否”。",
    "人数、班级数、教室数填非负整数;面积(m²)和金额(元)填非负数,不要带单位。",
    "百分数填 0 到 100 之间的数,如 95 或 95%;不要填 0.95。",
    "学年填学年开始的年份:2024 表示 2024—2025 学年。",
    "学校标识码、县区代码按文本填写,前导 0 会保留;同一所学校在各表中的学校标识码必须一致。",
    "填好后可用命令“junheng check 文件名.xlsx”校验,所有问题(表、行、列、取值、应填内容)会一次列出。",
)
RATE01_RULE = "{labels}填 0 到 1 之间的小数。"  # added after the percent rule when such a column is shown


def _general_rules(fields: dict[str, list[FieldSpec]]) -> list[str]:
    rules = list(GENERAL_RULES)
    fractions = [f.label for shown in fields.values() for f in shown if f.type == "rate01"]
    if fractions:
        at = next(i for i, rule in enumerate(rules) if rule.startswith("百分数"))
        rules[at] += RATE01_RULE.format(labels="、".join(dict.fromkeys(fractions)))
    return rules


def _write_instructions(sheet, std: NamedStandard | None, fields: dict[str, list[FieldSpec]]) -> None:
    from openpyxl.styles import Alignment, Font

    sheet.title = INSTRUCTIONS_SHEET
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 16
    sheet.column_dimensions["C"].width = 10
    sheet.column_dimensions["D"].width = 30
    sheet.column_dimensions["E"].width = 60
    if std is not None:
        sheet.append([f"{std.name} 数据填报模板"])
        sheet.append([f"适用标准:{std.name},标准标识 {std.id}。本模板只列出该标准评估所需的数据项和各县区都要填写的基本信息。"])
    else:
        sheet.append(["数据填报模板"])
        sheet.append(["本模板列出数据格式中的全部数据项(不限于某一评估标准);不需要的选填列可以留空。"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    sheet.append(["填写要求"])
    sheet.cell(sheet.max_row, 1).font = Font(bold=True)
    for number, rule in enumerate(_general_rules(fields), 1):
        sheet.append([f"{number}. {rule}"])
    sheet.append([])
    sheet.append(["工作表", "英文名(CSV 文件名)", "是否必填", "每行填写", "内容"])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for name, shown in fields.items():
        spec = catalog().table(name)
        sheet.append([spec.label, spec.name, "选填" if spec.optional_table else "必填", spec.description or "",
                      _table_contents(spec, shown)])
        sheet.cell(sheet.max_row, 5).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.append([])
    sheet.append(["说明:本模板由 junheng 根据数据格式自动生成;也可以改用 CSV 文件夹(每张表一个 CSV,文件名为英文名)。"])


def _table_contents(spec: TableSpec, shown: list[FieldSpec]) -> str:
    required = [f.label for f in shown if f.required]
    text = f"共 {len(shown)} 列,其中必填:" + "、".join(required) + "。"
    if len(spec.key) > 1:
        text += "同一" + "+".join(spec.field(k).label for k in spec.key) + "只能有一行。"
    return text


# ---------------------------------------------------------------------------------------------
# One sheet per table


def _write_table_sheet(sheet, spec: TableSpec, shown: list[FieldSpec]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet.title = spec.label
    sheet.append([f.label for f in shown])
    sheet.append([(NOTES_MARKER if i == 0 else "") + _column_note(spec, f) for i, f in enumerate(shown)])
    for column, f in enumerate(shown, 1):
        letter = get_column_letter(column)
        header = sheet.cell(1, column)
        header.font = Font(bold=True)
        header.fill = PatternFill("solid", fgColor=REQUIRED_FILL if f.required else HEADER_FILL)
        header.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        notes = sheet.cell(2, column)
        notes.font = Font(italic=True, size=9, color=NOTES_COLOUR)
        notes.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[letter].width = _column_width(f)
        if f.type in TEXT_TYPES:
            sheet.column_dimensions[letter].number_format = "@"
        validation = _validation(f)
        if validation is not None:
            sheet.add_data_validation(validation)
            validation.add(f"{letter}{FIRST_DATA_ROW}:{letter}{LAST_DATA_ROW}")
    sheet.row_dimensions[1].height = 32
    sheet.row_dimensions[2].height = 96
    sheet.freeze_panes = f"A{FIRST_DATA_ROW}"


def _column_note(spec: TableSpec, f: FieldSpec) -> str:
    parts = ["必填" if f.required else "选填", _expected_choice(f)]
    if f.note:
        parts.append(f.note)
    if spec.key == (f.key,):
        parts.append("不可重复")
    return "。".join(parts) + f"。(键:{f.key})"


def _expected_choice(f: FieldSpec) -> str:
    """What to write, worded for someone choosing from the drop-down."""
    if f.type == "enum":
        assert f.values is not None
        return "从下拉列表选择:" + "、".join(f.values.values())
    if f.type == "bool":
        return "从下拉列表选择:是、否"
    if f.type == "level":
        return "从下拉列表选择:" + "、".join(LEVEL_CHOICES)
    return f.describe_expected()


def _column_width(f: FieldSpec) -> float:
    """Wide enough for the header (a Chinese character is about two widths), within bounds."""
    width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in f.label) + 4
    return float(min(max(width, 12), 30))


def _validation(f: FieldSpec):
    """A drop-down for choices, a number check for numbers, nothing for free text."""
    from openpyxl.worksheet.datavalidation import DataValidation

    low, high = YEAR_RANGE
    choices = {
        "enum": tuple((f.values or {}).values()),
        "bool": ("是", "否"),
        "level": LEVEL_CHOICES,
    }.get(f.type)
    if choices:
        return DataValidation(
            type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True,
            showErrorMessage=True, errorTitle="取值无效", error="请从下拉列表中选择:" + "、".join(choices),
        )
    numeric = {
        "count": ("whole", "greaterThanOrEqual", "0", None),
        "year": ("whole", "between", str(low), str(high)),
        "number": ("decimal", "greaterThanOrEqual", "0", None),
        "percent": ("decimal", "between", "0", "100"),
        "rate01": ("decimal", "between", "0", "1"),
    }.get(f.type)
    if numeric:
        kind, operator, first, second = numeric
        return DataValidation(
            type=kind, operator=operator, formula1=first, formula2=second, allow_blank=True,
            showErrorMessage=True, errorTitle="取值无效", error=f"{f.label}应为{f.describe_expected()}",
        )
    return None

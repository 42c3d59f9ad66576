"""Reading a dataset: files and sheets → columns of stripped text (Arrow arrays: fast for a whole
nation, cheap for a county), with their spreadsheet row numbers.

A folder of CSV files, one workbook (through `junheng.data.workbook`: visible sheets only, the
cells really in the file, within limits; formulas never computed and merged cells refused, naming
the cells), a folder of Parquet tables (through `junheng.data.parquet`: partitioned by province
and year, every column turned into the text a CSV cell holds), or the metadata beside them
(metadata.yaml or metadata.json, a 元数据 sheet). A file is judged by its
content, not only its name. Problems are collected, not raised, so that all of them are shown.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import yaml

from junheng import safe_yaml
from junheng.data.catalog import TableSpec, catalog
from junheng.data.cells import ARROW
from junheng.data.names import header_field, normalise_name, table_spec
from junheng.data.problems import DatasetUnreadable, Problem
from junheng.data.workbook import SheetCells, Workbook, coordinate, decodes_as_gbk, file_kind, not_a_workbook


# The on-disk layout, shared with the writer and the template.
NOTES_MARKER = "【填写说明】"  # first cell of the template's notes row (row 2), skipped on import
INSTRUCTIONS_SHEET = "填写说明"  # the template's explanation sheet, not a table
METADATA_FILE = "metadata.yaml"
METADATA_SHEETS = ("元数据", "metadata")
METADATA_HEADER_KEYS = {"项目", "键", "key", "名称"}  # an optional header row of the metadata sheet
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


@dataclass
class RawTable:
    """One table as read: every cell as stripped text ("" when empty), data rows only."""

    spec: TableSpec
    source: str  # the file or sheet, as the user knows it
    header: list[str]
    columns: list  # by position in the sheet: cells of `ops` (pyarrow.ChunkedArray for ARROW)
    rows: np.ndarray  # spreadsheet row number of each data row
    notes: bool = False  # row 2 is the template's notes row (skipped)
    ops: object = ARROW  # junheng.data.cells: how the columns are held and worked on


@dataclass
class Sources:
    """What reading found: tables (None when present but unreadable), metadata, problems."""

    kind: str  # "folder" (CSV files), "parquet" (Parquet tables in a folder), "workbook" or "rows"
    tables: dict[str, RawTable | None] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # table → the file or sheet it came from
    metadata: dict = field(default_factory=dict)
    metadata_source: str = ""
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    hidden: dict[str, list[str]] = field(default_factory=dict)  # table → hidden sheets that name it


def read_sources(path: Path) -> Sources:
    """A folder of CSV files or one workbook; a file is judged by its content, not only its name."""
    if not path.exists():
        raise DatasetUnreadable(f"找不到数据集“{path}”:应为包含各表 CSV 文件的文件夹,或一个 .xlsx 工作簿")
    if path.is_dir():
        from junheng.data import parquet

        if refusal := parquet.inner_folder_refusal(path):
            raise DatasetUnreadable(refusal)
        return _read_folder(path)
    suffix = path.suffix.lower()
    try:
        kind = file_kind(path)
    except PermissionError:
        raise DatasetUnreadable(f"无法打开“{path}”:没有读取权限,或文件正被其他程序占用") from None
    except OSError as exc:
        raise DatasetUnreadable(f"无法读取“{path}”({exc.strerror or exc})") from None
    if suffix in WORKBOOK_SUFFIXES:
        if kind != "xlsx":
            raise DatasetUnreadable(not_a_workbook(path, kind))
        return _read_workbook(path)
    if kind == "xlsx":  # a workbook renamed (.xls, .csv, no extension): read what it is, and say so
        return _read_workbook(path, note=(
            f"“{path.name}”的扩展名是{f' {suffix} ' if suffix else '空的'},但内容是 .xlsx 工作簿:"
            "已按 .xlsx 工作簿读取(建议把扩展名改为 .xlsx)"
        ))
    if suffix == ".xls" and kind in ("html", "text", "utf16", "xml2003"):
        raise DatasetUnreadable(
            f"“{path}”的扩展名是 .xls,但内容不是 Excel 文件,而是{_what_it_is(kind)}:"
            "请在 Excel 中打开,“另存为” .xlsx 工作簿后再导入"
        )
    if suffix == ".xls":
        raise DatasetUnreadable(f"“{path}”是旧版 Excel(.xls)文件,不受支持:请在 Excel 中“另存为” .xlsx 工作簿后再导入")
    if suffix == ".csv":
        raise DatasetUnreadable(
            f"“{path}”是单个 CSV 文件:数据集应为一个文件夹,其中每张表一个 CSV(如 schools.csv、school_year.csv),"
            "请导入该文件夹"
        )
    raise DatasetUnreadable(f"无法识别“{path}”:数据集应为包含各表 CSV 文件的文件夹,或一个 .xlsx 工作簿")


def record_table(found: Sources, spec: TableSpec, source: str, read: Callable[[], RawTable | None]) -> None:
    if spec.name in found.tables:
        found.problems.append(table_problem(spec, f"{found.sources[spec.name]}和{source}都对应这张表,请只保留一个"))
        return
    found.sources[spec.name] = source
    found.tables[spec.name] = read()


def _read_folder(folder: Path) -> Sources:
    """CSV files, or Parquet tables (`junheng.data.parquet`: a folder or a .parquet file per table)."""
    from junheng.data import parquet

    found = Sources(kind="folder")
    budget = parquet.Budget()
    csv_tables = 0
    for file in sorted(folder.iterdir()):
        if file.name.startswith((".", "~$")):  # hidden and Excel lock files
            continue
        if parquet.read_entry(file, found, budget) or file.is_dir():
            continue
        if file.name.lower() == METADATA_FILE:
            if found.metadata_source:
                found.problems.append(metadata_problem(None, f"{found.metadata_source}和文件“{file.name}”都是元数据,请只保留一个"))
                continue
            found.metadata = _read_metadata_file(file, found.problems)
            found.metadata_source = f"文件“{file.name}”"
            continue
        spec = table_spec(file.stem) if file.suffix.lower() == ".csv" else None
        if spec is None:
            found.warnings.append(_unknown_file_note(file))
            continue
        csv_tables += 1
        record_table(found, spec, f"文件“{file.name}”", lambda f=file, s=spec: _read_csv(f, s, found.problems))
    if found.tables and not csv_tables:
        found.kind = "parquet"
    return found


def _unknown_file_note(file: Path) -> str:
    if file.suffix.lower() in WORKBOOK_SUFFIXES:
        return f"文件夹中的工作簿“{file.name}”已忽略:要导入工作簿,请直接指定该文件而不是文件夹"
    return f"文件夹中的“{file.name}”不是可识别的数据表(应为表名.csv,如 schools.csv 或 学校名录.csv),已忽略"


_WHAT_IT_IS = {
    "xlsx": "Excel 工作簿(.xlsx)", "zip": "ZIP 压缩包", "xls": "旧版 Excel(.xls)文件",
    "xml2003": "Excel 2003 XML 表格",
    "utf16": "UTF-16 编码的文本(Excel 的“Unicode 文本”)", "html": "网页(HTML)", "text": "文本",
    "binary": "二进制文件",
}


def _what_it_is(kind: str) -> str:
    what = _WHAT_IT_IS[kind]
    return f" {what}" if what[0].isascii() else what  # a space between Chinese and Latin text


_CSV_UTF8 = "UTF-8 编码的 CSV:在 Excel 中“另存为”时选择“CSV UTF-8(逗号分隔)”"


def _read_csv(file: Path, spec: TableSpec, problems: list[Problem]) -> RawTable | None:
    source = f"文件“{file.name}”"
    try:
        kind = file_kind(file)
        if kind == "utf16":
            problems.append(table_problem(spec, f"{source}是 UTF-16 编码(Excel 的“Unicode 文本”),不是 UTF-8", _CSV_UTF8))
            return None
        if kind in ("xlsx", "zip", "xls", "xml2003", "html"):
            problems.append(table_problem(
                spec, f"{source}其实是{_what_it_is(kind)},不是 CSV 文本(扩展名被改成了 .csv)",
                _CSV_UTF8 + ";工作簿也可以直接导入(指定该 .xlsx 文件,而不是文件夹)",
            ))
            return None
        columns = _csv_columns(file)
    except UnicodeDecodeError:
        guess = "(可能是 Excel 默认保存的 GBK 编码)" if decodes_as_gbk(file) else ",也无法识别为其他常见编码"
        problems.append(table_problem(spec, f"{source}不是 UTF-8 编码{guess}", _CSV_UTF8))
        return None
    except pd.errors.ParserError as exc:
        problems.append(table_problem(spec, f"{source}无法按 CSV 解析:{_csv_error_text(exc)}"))
        return None
    except OSError as exc:
        problems.append(table_problem(spec, f"{source}无法读取({exc.strerror or exc})"))
        return None
    return raw_table(spec, source, columns)


def _csv_columns(file: Path) -> list[pa.ChunkedArray]:
    """Every column of a CSV file as text, header row included.

    Arrow reads well-formed files fast (a nation's school_year has 600,000 rows). Anything it
    refuses (short rows, blank lines, bad encoding) goes through pandas, which pads short rows,
    keeps blank lines so row numbers stay true, and names encoding errors precisely.
    """
    try:
        return _csv_columns_arrow(file)
    except (pa.ArrowInvalid, UnicodeDecodeError, csv.Error):
        pass
    try:
        grid = pd.read_csv(
            file, header=None, dtype=str, keep_default_na=False, na_filter=False,
            skip_blank_lines=False, encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError:
        return []
    return [pa.chunked_array([pa.array(grid[column], pa.string())]).fill_null("") for column in grid.columns]


def _csv_columns_arrow(file: Path) -> list[pa.ChunkedArray]:
    with file.open(encoding="utf-8-sig", newline="") as handle:
        first = next(csv.reader(handle), None)
    if first is None:
        return []
    table = pa_csv.read_csv(
        file,
        read_options=pa_csv.ReadOptions(autogenerate_column_names=True),
        parse_options=pa_csv.ParseOptions(ignore_empty_lines=False, newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(column_types={f"f{i}": pa.string() for i in range(len(first))}),
    )
    return table.columns


def _csv_error_text(exc: Exception) -> str:
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if match:
        expected, line, saw = match.groups()
        return f"第{line}行有 {saw} 个单元格,多于表头的 {expected} 列(可能是某个取值中含有未加引号的逗号)"
    return str(exc)


def _read_workbook(path: Path, note: str | None = None) -> Sources:
    """Visible sheets only, each read within the bounds of `junheng.data.workbook`."""
    found = Sources(kind="workbook")
    if note:
        found.warnings.append(note)
    with Workbook(path) as workbook:
        try:
            tables, metadata = _sheets_by_table(workbook.worksheets, found)
            _read_metadata_sheets(workbook, metadata, found)
            for name, sheets in tables.items():
                _read_table_sheets(workbook, catalog().table(name), sheets, found)
        except DatasetUnreadable:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged sheet inside an otherwise valid zip
            raise DatasetUnreadable(
                f"读取工作簿“{path}”时出错:文件可能已损坏({type(exc).__name__}),请用 Excel 打开后重新保存"
            ) from None
    return found


# A copy of a sheet as Excel, WPS and LibreOffice name it: 学校年度数据 (2), 学校年度数据(2), 学校年度数据 - 副本.
COPY_SUFFIX = re.compile(
    r"(?P<base>.+?)\s*(?:[(（]\s*\d+\s*[)）]|[-_—\s]*(?:副本|copy)\s*(?:[(（]?\s*\d+\s*[)）]?)?)", re.IGNORECASE,
)


def _copy_of(title: str) -> TableSpec | None:
    match = COPY_SUFFIX.fullmatch(title)
    return table_spec(match["base"]) if match else None


def _sheets_by_table(sheets: list, found: Sources) -> tuple[dict[str, list[tuple[object, bool]]], list]:
    """Visible sheets by the table they hold (with whether the sheet is a copy by name), and the
    visible metadata sheets. Hidden sheets are skipped, each with a note."""
    tables: dict[str, list[tuple[object, bool]]] = {}
    metadata = []
    for sheet in sheets:
        title = sheet.title.strip()
        if title == INSTRUCTIONS_SHEET:
            continue
        is_metadata = normalise_name(title) in METADATA_SHEETS
        spec = None if is_metadata else table_spec(title)
        copy = None if is_metadata or spec else _copy_of(title)
        if sheet.sheet_state != "visible":
            found.warnings.append(_hidden_note(sheet))
            if spec or copy:
                found.hidden.setdefault((spec or copy).name, []).append(sheet.title)
        elif is_metadata:
            metadata.append(sheet)
        elif spec or copy:
            tables.setdefault((spec or copy).name, []).append((sheet, spec is None))
        else:
            found.warnings.append(f"未识别的工作表“{sheet.title}”(工作表名应为表名,如 学校名录 或 schools),已忽略")
    return tables, metadata


def _hidden_note(sheet) -> str:
    if sheet.sheet_state == "veryHidden":
        return f"已跳过深度隐藏(veryHidden)的工作表“{sheet.title}”:它在 Excel 中看不到,不导入"
    return f"已跳过隐藏的工作表“{sheet.title}”:隐藏的工作表不导入(如需导入,请在 Excel 中取消隐藏)"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "、".join(items[:-1]) + "和" + items[-1]


def _read_table_sheets(workbook: Workbook, spec: TableSpec, sheets: list[tuple[object, bool]], found: Sources) -> None:
    sources = [f"工作表“{sheet.title}”" for sheet, _ in sheets]
    found.sources[spec.name] = _and(sources)
    if len(sheets) > 1:  # e.g. 学校年度数据 and 学校年度数据 (2): which one was meant cannot be known
        found.tables[spec.name] = None
        found.problems.append(table_problem(
            spec, f"{_and(sources)}都对应这张表,无法确定导入哪一个:请只保留一个可见的工作表(删除或隐藏其余的)",
        ))
        return
    sheet, copy = sheets[0]
    if copy:
        found.warnings.append(f"工作表“{sheet.title}”作为{spec.label}导入:"
                              f"工作簿中没有名为“{spec.label}”的可见工作表")
    found.tables[spec.name] = _read_table_sheet(workbook, sheet, spec, found.problems)


def _read_table_sheet(workbook: Workbook, sheet, spec: TableSpec, problems: list[Problem]) -> RawTable | None:
    cells = workbook.read(sheet)
    if cells.refusal:
        problems.append(table_problem(spec, cells.refusal))
        return None
    columns = [pa.chunked_array([pa.array(column, pa.string())]) for column in cells.columns()]
    raw = raw_table(spec, f"工作表“{sheet.title}”", columns)
    structural = _formula_problems(spec, raw, cells) + _merge_problems(spec, raw, cells)
    if structural:  # the values as read would be wrong (empty, shifted): refuse the sheet
        problems += structural
        return None
    return raw


def _read_metadata_sheets(workbook: Workbook, sheets: list, found: Sources) -> None:
    if len(sheets) > 1:
        found.problems.append(metadata_problem(None, f"{_and([f'工作表“{s.title}”' for s in sheets])}都是元数据,请只保留一个"))
        return
    for sheet in sheets:
        cells = workbook.read(sheet)
        if cells.refusal:
            found.problems.append(metadata_problem(None, cells.refusal))
            return
        columns = list(cells.columns())[:2]
        found.metadata = _metadata_from_rows([[column[i].strip() for column in columns] for i in range(cells.height)])
        found.metadata_source = f"工作表“{sheet.title}”"


STRUCTURE_PROBLEMS_SHOWN = 20  # formulas or merges per sheet; the rest are counted (one fix mends them all)


def _formula_problems(spec: TableSpec, raw: RawTable, cells: SheetCells) -> list[Problem]:
    """Cells holding a formula no spreadsheet ever computed: read, they would be empty."""
    keys = [header_field(spec, header)[0] for header in raw.header]
    fix = "是公式但没有计算结果,请用 Excel/WPS 打开并保存后再上传"
    problems = []
    for row, column in cells.formulas[:STRUCTURE_PROBLEMS_SHOWN]:
        key = keys[column - 1] if column <= len(keys) else None
        problems.append(Problem(spec.name, spec.label, row, key, spec.field(key).label if key else None, None, None,
                                f"工作表“{cells.title}”的单元格 {coordinate(row, column)} {fix}"))
    if len(cells.formulas) > STRUCTURE_PROBLEMS_SHOWN:
        more = len(cells.formulas) - STRUCTURE_PROBLEMS_SHOWN
        problems.append(table_problem(spec, f"工作表“{cells.title}”中另有 {more} 个单元格{fix}"))
    return problems


def _merge_problems(spec: TableSpec, raw: RawTable, cells: SheetCells) -> list[Problem]:
    """Merged cells in the header shift the columns; in the data, they empty all but one cell."""
    keys = [header_field(spec, header)[0] for header in raw.header]
    problems = []
    merged = [m for m in cells.merged if not (raw.notes and m[1] == m[3] == 2)]  # the notes row is not read
    for ref, min_row, min_col, _max_row, _max_col in merged[:STRUCTURE_PROBLEMS_SHOWN]:
        key = keys[min_col - 1] if min_col <= len(keys) else None
        if min_row == 1:
            message = f"工作表“{cells.title}”的 {ref} 是合并单元格:表头合并会使其后的列与列名对不上"
            expected = "每个列名单独占一个单元格:请取消合并,在每一列的第1行各写一个列名"
        else:
            message = f"工作表“{cells.title}”的 {ref} 是合并单元格:合并后只有左上角的单元格有值,其余单元格会被读作空"
            expected = "未合并的单元格:请取消合并,在每个单元格中填写各自的取值"
        problems.append(Problem(spec.name, spec.label, min_row, key, spec.field(key).label if key else None,
                                None, expected, message))
    if len(merged) > STRUCTURE_PROBLEMS_SHOWN:
        more = len(merged) - STRUCTURE_PROBLEMS_SHOWN
        problems.append(table_problem(spec, f"工作表“{cells.title}”中另有 {more} 处合并单元格,请全部取消合并"))
    return problems


def raw_table(spec: TableSpec, source: str, columns: list, ops=ARROW) -> RawTable:
    """Header row, notes row and blank rows split off; spreadsheet row numbers kept. `columns`
    are cells of `ops` (junheng.data.cells: Arrow arrays, or lists of str for a few rows)."""
    columns = [ops.trim(column) for column in columns]
    height = ops.size(columns[0]) if columns else 0
    header = [ops.item(column, 0) for column in columns] if height else []
    start = 1  # first data row, 0-based: the header is row 1
    if height > 1 and any(ops.item(column, 1).startswith(NOTES_MARKER) for column in columns):
        start = 2  # the template's notes row (its marker stays findable if columns were moved)
    body = [ops.tail(column, start) for column in columns]
    rows = np.arange(start + 1, height + 1)
    filled = np.zeros(len(rows), dtype=bool)
    for column in body:
        filled |= ops.filled(column)
    if not filled.all():
        body = [ops.keep(column, filled) for column in body]
        rows = rows[filled]
    return RawTable(spec=spec, source=source, header=header, columns=body, rows=rows, notes=start == 2, ops=ops)


def filled_cells(cells: pa.ChunkedArray) -> np.ndarray:
    return ARROW.filled(cells)


# ---------------------------------------------------------------------------------------------
# Metadata: metadata.yaml in a folder, a 元数据 sheet in a workbook


def _read_metadata_file(file: Path, problems: list[Problem]) -> dict:
    try:
        if file.stat().st_size > safe_yaml.MAX_BYTES:
            raise safe_yaml.UnsafeYaml(f"文件过大,最多 {safe_yaml.MAX_BYTES // 1024 // 1024} MB")
        data = safe_yaml.load(file.read_text("utf-8-sig"))  # bounded: no aliases (the alias bomb), nesting
    except safe_yaml.UnsafeYaml as exc:
        problems.append(metadata_problem(None, f"文件“{file.name}”不予接受:{exc.problem}"))
        return {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(metadata_problem(None, f"文件“{file.name}”无法读取或不是合法的 YAML({type(exc).__name__})"))
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(metadata_problem(None, f"文件“{file.name}”应为“键: 值”形式的映射"))
        return {}
    return {str(key).strip(): value for key, value in data.items()}


def _metadata_from_rows(grid: list[list[str]]) -> dict:
    """Key/value rows (column A, column B); an optional header row is skipped."""
    metadata = {}
    for row in grid:
        if not row or not row[0] or row[0] in METADATA_HEADER_KEYS:
            continue
        metadata[row[0]] = row[1] if len(row) > 1 else ""
    return metadata


def metadata_problem(value: str | None, message: str, expected: str | None = None) -> Problem:
    return Problem("metadata", "元数据", None, "synthetic" if value is not None else None,
                   "合成数据标记" if value is not None else None, value, expected, message)


def table_problem(spec: TableSpec, message: str, expected: str | None = None) -> Problem:
    return Problem(spec.name, spec.label, None, None, None, None, expected, message)


def missing_or_empty_tables(found: Sources) -> list[Problem]:
    problems = []
    if found.kind == "rows":  # in-memory rows: the caller validates just the tables it gives
        return problems
    for spec in catalog().tables.values():
        if spec.optional_table:
            continue
        if spec.name not in found.tables:
            where = {
                "folder": f"请在文件夹中提供 {spec.name}.csv(或 {spec.label}.csv)",
                "parquet": f"请在文件夹中提供 Parquet 表 {spec.name}(文件夹 {spec.name}/ 或文件 {spec.name}.parquet)",
            }.get(found.kind, f"请在工作簿中添加名为“{spec.label}”的工作表")
            if spec.name in found.hidden:
                hidden = "”“".join(found.hidden[spec.name])
                where = f"工作簿中的“{hidden}”是隐藏的工作表,隐藏的工作表不导入:请在 Excel 中取消隐藏后再导入"
            problems.append(table_problem(spec, f"缺少这张表(必需):{where}"))
        elif (raw := found.tables[spec.name]) is not None and len(raw.rows) == 0:
            problems.append(table_problem(spec, f"没有数据:这张表必须填写({spec.description or '至少一行'})"))
    return problems

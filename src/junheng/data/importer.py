"""Import a dataset (a folder of CSV files or one XLSX workbook) and validate all of it.

Reading turns every table into columns of stripped text with their spreadsheet row numbers
(a workbook through `junheng.data.workbook`: visible sheets only, the cells really in the file,
within limits; formulas never computed and merged cells refused, naming the cells);
parsing turns each column into its catalogue type with vectorised Arrow and numpy operations
(a national dataset has hundreds of thousands of rows); cross-checks then look across columns
and tables. Every problem is collected before anything fails, so the person fixing the data
sees all of it at once. Problem objects are built only for bad cells.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import yaml

from junheng import safe_yaml
from junheng.amounts import NOT_PLAIN, parse_amount
from junheng.data.catalog import FieldSpec, TableSpec, catalog
from junheng.data.dataset import Dataset, conform
from junheng.data.problems import DatasetInvalid, DatasetUnreadable, Problem
from junheng.data.workbook import SheetCells, Workbook, coordinate, decodes_as_gbk, file_kind, not_a_workbook
from junheng.data.workbook import number_text as _number_text

# The on-disk layout, shared with the writer and the template.
NOTES_MARKER = "【填写说明】"  # first cell of the template's notes row (row 2), skipped on import
INSTRUCTIONS_SHEET = "填写说明"  # the template's explanation sheet, not a table
METADATA_FILE = "metadata.yaml"
METADATA_SHEETS = ("元数据", "metadata")
METADATA_HEADER_KEYS = {"项目", "键", "key", "名称"}  # an optional header row of the metadata sheet
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")

BOOL_WORDS = {
    "是": True, "否": False, "yes": True, "no": False, "true": True, "false": False,
    "1": True, "0": False, "1.0": True, "0.0": False,
}
LEVEL_WORDS = {
    "1": 1, "2": 2, "3": 3, "4": 4, "Ⅰ": 1, "Ⅱ": 2, "Ⅲ": 3, "Ⅳ": 4, "I": 1, "II": 2, "III": 3, "IV": 4,
}
YEAR_RANGE = (1900, 2100)


def load_dataset(path: Path) -> Dataset:
    """Read and validate a dataset; raise DatasetInvalid listing every problem, or
    DatasetUnreadable when the path cannot be opened as a dataset at all."""
    path = Path(path)
    return _validated(_read_sources(path), source=str(path))


def validate_rows(rows: dict[str, list[dict]], source: str = "表单") -> Dataset:
    """Validate in-memory rows (table key → rows of {field key: value}) with exactly the rules of
    `load_dataset`: web forms and API writes use this. Values may be text as typed or numbers;
    None or "" is empty. Problems count rows from 2, as if row 1 were a header."""
    found = Sources(kind="rows")
    for name, table_rows in rows.items():
        spec = _table_spec(name)
        if spec is None:
            raise ValueError(f"unknown table {name}")
        keys = list(dict.fromkeys(k for row in table_rows for k in row)) or list(spec.key)
        grid = [[key for key in keys]] + [[_as_text(row.get(key)) for key in keys] for row in table_rows]
        columns = [pa.chunked_array([pa.array([line[i] for line in grid], pa.string())]) for i in range(len(keys))]
        _record_table(found, spec, source, lambda spec=spec, columns=columns: _raw_table(spec, source, columns))
    return _validated(found, source=source)


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return _number_text(value)
    return str(value)


def _validated(found: "Sources", source: str) -> Dataset:
    problems = list(found.problems)
    tables: dict[str, ParsedTable] = {}
    for name, raw in found.tables.items():
        if raw is None:  # present but unreadable: its problem is already recorded
            continue
        parsed, table_problems = _parse_table(raw, found.warnings)
        problems += table_problems
        tables[name] = parsed
    problems += _missing_or_empty_tables(found)
    for check in CROSS_CHECKS:
        problems += check(tables)
    synthetic = _synthetic_flag(found.metadata, found.metadata_source, problems)
    if problems:
        raise DatasetInvalid(sorted(problems, key=_problem_order), found.warnings)
    return Dataset(
        **{name: parsed.frame for name, parsed in tables.items()},
        source=source, synthetic=synthetic, warnings=found.warnings,
    )


# ---------------------------------------------------------------------------------------------
# Reading: files and sheets → columns of stripped text (Arrow arrays: fast for a whole nation,
# cheap for a county)


@dataclass
class RawTable:
    """One table as read: every cell as stripped text ("" when empty), data rows only."""

    spec: TableSpec
    source: str  # the file or sheet, as the user knows it
    header: list[str]
    columns: list[pa.ChunkedArray]  # by position in the sheet
    rows: np.ndarray  # spreadsheet row number of each data row
    notes: bool = False  # row 2 is the template's notes row (skipped)


@dataclass
class Sources:
    """What reading found: tables (None when present but unreadable), metadata, problems."""

    kind: str  # "folder" or "workbook"
    tables: dict[str, RawTable | None] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # table → the file or sheet it came from
    metadata: dict = field(default_factory=dict)
    metadata_source: str = ""
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    hidden: dict[str, list[str]] = field(default_factory=dict)  # table → hidden sheets that name it


def _read_sources(path: Path) -> Sources:
    """A folder of CSV files or one workbook; a file is judged by its content, not only its name."""
    if not path.exists():
        raise DatasetUnreadable(f"找不到数据集“{path}”:应为包含各表 CSV 文件的文件夹,或一个 .xlsx 工作簿")
    if path.is_dir():
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


@lru_cache(maxsize=1)
def _table_names() -> dict[str, str]:
    """Normalised file/sheet name (table key or Chinese label) → table key."""
    names = {}
    for spec in catalog().tables.values():
        names[_normalise_name(spec.name)] = spec.name
        names[_normalise_name(spec.label)] = spec.name
    return names


def _normalise_name(name: str) -> str:
    """Names match after dropping whitespace and quotes, keys case-insensitively."""
    return re.sub(r"[\s\"'“”‘’]+", "", str(name)).lower()


def _table_spec(name: str) -> TableSpec | None:
    key = _table_names().get(_normalise_name(name))
    return catalog().table(key) if key else None


def _record_table(found: Sources, spec: TableSpec, source: str, read: Callable[[], RawTable | None]) -> None:
    if spec.name in found.tables:
        found.problems.append(_table_problem(spec, f"{found.sources[spec.name]}和{source}都对应这张表,请只保留一个"))
        return
    found.sources[spec.name] = source
    found.tables[spec.name] = read()


def _read_folder(folder: Path) -> Sources:
    found = Sources(kind="folder")
    for file in sorted(folder.iterdir()):
        if file.is_dir() or file.name.startswith((".", "~$")):  # hidden and Excel lock files
            continue
        if file.name.lower() == METADATA_FILE:
            found.metadata = _read_metadata_file(file, found.problems)
            found.metadata_source = f"文件“{file.name}”"
            continue
        spec = _table_spec(file.stem) if file.suffix.lower() == ".csv" else None
        if spec is None:
            found.warnings.append(_unknown_file_note(file))
            continue
        _record_table(found, spec, f"文件“{file.name}”", lambda f=file, s=spec: _read_csv(f, s, found.problems))
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
            problems.append(_table_problem(spec, f"{source}是 UTF-16 编码(Excel 的“Unicode 文本”),不是 UTF-8", _CSV_UTF8))
            return None
        if kind in ("xlsx", "zip", "xls", "xml2003", "html"):
            problems.append(_table_problem(
                spec, f"{source}其实是{_what_it_is(kind)},不是 CSV 文本(扩展名被改成了 .csv)",
                _CSV_UTF8 + ";工作簿也可以直接导入(指定该 .xlsx 文件,而不是文件夹)",
            ))
            return None
        columns = _csv_columns(file)
    except UnicodeDecodeError:
        guess = "(可能是 Excel 默认保存的 GBK 编码)" if decodes_as_gbk(file) else ",也无法识别为其他常见编码"
        problems.append(_table_problem(spec, f"{source}不是 UTF-8 编码{guess}", _CSV_UTF8))
        return None
    except pd.errors.ParserError as exc:
        problems.append(_table_problem(spec, f"{source}无法按 CSV 解析:{_csv_error_text(exc)}"))
        return None
    except OSError as exc:
        problems.append(_table_problem(spec, f"{source}无法读取({exc.strerror or exc})"))
        return None
    return _raw_table(spec, source, columns)


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
    return _table_spec(match["base"]) if match else None


def _sheets_by_table(sheets: list, found: Sources) -> tuple[dict[str, list[tuple[object, bool]]], list]:
    """Visible sheets by the table they hold (with whether the sheet is a copy by name), and the
    visible metadata sheets. Hidden sheets are skipped, each with a note."""
    tables: dict[str, list[tuple[object, bool]]] = {}
    metadata = []
    for sheet in sheets:
        title = sheet.title.strip()
        if title == INSTRUCTIONS_SHEET:
            continue
        is_metadata = _normalise_name(title) in METADATA_SHEETS
        spec = None if is_metadata else _table_spec(title)
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
        found.problems.append(_table_problem(
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
        problems.append(_table_problem(spec, cells.refusal))
        return None
    columns = [pa.chunked_array([pa.array(column, pa.string())]) for column in cells.columns()]
    raw = _raw_table(spec, f"工作表“{sheet.title}”", columns)
    structural = _formula_problems(spec, raw, cells) + _merge_problems(spec, raw, cells)
    if structural:  # the values as read would be wrong (empty, shifted): refuse the sheet
        problems += structural
        return None
    return raw


def _read_metadata_sheets(workbook: Workbook, sheets: list, found: Sources) -> None:
    if len(sheets) > 1:
        found.problems.append(_metadata_problem(None, f"{_and([f'工作表“{s.title}”' for s in sheets])}都是元数据,请只保留一个"))
        return
    for sheet in sheets:
        cells = workbook.read(sheet)
        if cells.refusal:
            found.problems.append(_metadata_problem(None, cells.refusal))
            return
        columns = list(cells.columns())[:2]
        found.metadata = _metadata_from_rows([[column[i].strip() for column in columns] for i in range(cells.height)])
        found.metadata_source = f"工作表“{sheet.title}”"


STRUCTURE_PROBLEMS_SHOWN = 20  # formulas or merges per sheet; the rest are counted (one fix mends them all)


def _formula_problems(spec: TableSpec, raw: RawTable, cells: SheetCells) -> list[Problem]:
    """Cells holding a formula no spreadsheet ever computed: read, they would be empty."""
    keys = [_header_field(spec, header)[0] for header in raw.header]
    fix = "是公式但没有计算结果,请用 Excel/WPS 打开并保存后再上传"
    problems = []
    for row, column in cells.formulas[:STRUCTURE_PROBLEMS_SHOWN]:
        key = keys[column - 1] if column <= len(keys) else None
        problems.append(Problem(spec.name, spec.label, row, key, spec.field(key).label if key else None, None, None,
                                f"工作表“{cells.title}”的单元格 {coordinate(row, column)} {fix}"))
    if len(cells.formulas) > STRUCTURE_PROBLEMS_SHOWN:
        more = len(cells.formulas) - STRUCTURE_PROBLEMS_SHOWN
        problems.append(_table_problem(spec, f"工作表“{cells.title}”中另有 {more} 个单元格{fix}"))
    return problems


def _merge_problems(spec: TableSpec, raw: RawTable, cells: SheetCells) -> list[Problem]:
    """Merged cells in the header shift the columns; in the data, they empty all but one cell."""
    keys = [_header_field(spec, header)[0] for header in raw.header]
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
        problems.append(_table_problem(spec, f"工作表“{cells.title}”中另有 {more} 处合并单元格,请全部取消合并"))
    return problems


def _raw_table(spec: TableSpec, source: str, columns: list[pa.ChunkedArray]) -> RawTable:
    """Header row, notes row and blank rows split off; spreadsheet row numbers kept."""
    columns = [pc.utf8_trim_whitespace(column) for column in columns]
    height = len(columns[0]) if columns else 0
    header = [column[0].as_py() for column in columns] if height else []
    start = 1  # first data row, 0-based: the header is row 1
    if height > 1 and any(column[1].as_py().startswith(NOTES_MARKER) for column in columns):
        start = 2  # the template's notes row (its marker stays findable if columns were moved)
    body = [column.slice(start) for column in columns]
    rows = np.arange(start + 1, height + 1)
    filled = np.zeros(len(rows), dtype=bool)
    for column in body:
        filled |= _filled(column)
    if not filled.all():
        keep = pa.array(filled)
        body = [column.filter(keep) for column in body]
        rows = rows[filled]
    return RawTable(spec=spec, source=source, header=header, columns=body, rows=rows, notes=start == 2)


def _filled(cells: pa.ChunkedArray) -> np.ndarray:
    return pc.not_equal(cells, "").to_numpy(zero_copy_only=False).astype(bool)


# ---------------------------------------------------------------------------------------------
# Metadata: metadata.yaml in a folder, a 元数据 sheet in a workbook


def _read_metadata_file(file: Path, problems: list[Problem]) -> dict:
    try:
        if file.stat().st_size > safe_yaml.MAX_BYTES:
            raise safe_yaml.UnsafeYaml(f"文件过大,最多 {safe_yaml.MAX_BYTES // 1024 // 1024} MB")
        data = safe_yaml.load(file.read_text("utf-8-sig"))  # bounded: no aliases (the alias bomb), nesting
    except safe_yaml.UnsafeYaml as exc:
        problems.append(_metadata_problem(None, f"文件“{file.name}”不予接受:{exc.problem}"))
        return {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(_metadata_problem(None, f"文件“{file.name}”无法读取或不是合法的 YAML({type(exc).__name__})"))
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(_metadata_problem(None, f"文件“{file.name}”应为“键: 值”形式的映射"))
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


def _synthetic_flag(metadata: dict, source: str, problems: list[Problem]) -> bool:
    value = metadata.get("synthetic")
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    flag = BOOL_WORDS.get(str(value).strip().lower())
    if flag is None:
        problems.append(_metadata_problem(str(value), f"无效({source})", "是/否 或 true/false"))
        return False
    return flag


def _metadata_problem(value: str | None, message: str, expected: str | None = None) -> Problem:
    return Problem("metadata", "元数据", None, "synthetic" if value is not None else None,
                   "合成数据标记" if value is not None else None, value, expected, message)


# ---------------------------------------------------------------------------------------------
# Parsing: text columns → typed columns, with a problem for every bad cell


QUOTED_LENGTH = 80  # a longer bad value is quoted by its beginning and its length


@dataclass
class ParsedTable:
    spec: TableSpec
    frame: pd.DataFrame  # conformed: every catalogue column with its dtype, then extra columns
    text: dict[str, pa.ChunkedArray]  # the stripped text as written, by key, for columns in the file
    rows: np.ndarray  # spreadsheet row of each frame row

    def numbers(self, key: str) -> np.ndarray:
        """A numeric column as float64, NaN where missing (comparisons with NaN are false)."""
        return self.frame[key].to_numpy(dtype="float64", na_value=np.nan)

    def written(self, key: str, i: int) -> str:
        return str(self.text[key][i].as_py())

    def problem(self, i: int, key: str | None, message: str, expected: str | None = None,
                value: str | None = None, with_value: bool = True) -> Problem:
        """A problem at positional row i; the value defaults to the cell's text as written."""
        label = self.spec.field(key).label if key else None
        if with_value and value is None and key is not None:
            value = self.written(key, i)
        if value is not None and len(value) > QUOTED_LENGTH:
            value = f"{value[:QUOTED_LENGTH // 2]}…(共 {len(value)} 个字符)"
        return Problem(self.spec.name, self.spec.label, int(self.rows[i]), key, label, value, expected, message)


@dataclass
class Invalid:
    """Cells of one column that failed in one way."""

    mask: np.ndarray
    message: str
    expected: str
    with_value: bool = True  # False when the cell is empty: there is no value to quote


Parsed = tuple[pd.api.extensions.ExtensionArray, list[Invalid]]
Parser = Callable[[FieldSpec, pa.ChunkedArray, np.ndarray], Parsed]


def _parse_table(raw: RawTable, warnings: list[str]) -> tuple[ParsedTable, list[Problem]]:
    spec = raw.spec
    columns, extras, problems = _match_columns(raw, warnings)
    data: dict[str, object] = {}
    text: dict[str, pa.ChunkedArray] = {}
    failures: list[tuple[FieldSpec, Invalid]] = []
    for f in spec.fields:
        if f.key not in columns:
            continue
        cells = raw.columns[columns[f.key]]
        present = _filled(cells)
        data[f.key], invalid = PARSERS[f.type](f, cells, present)
        text[f.key] = cells
        failures += [(f, each) for each in invalid]
        if f.required:
            failures.append((f, Invalid(~present, "必填项未填写", f.describe_expected(), with_value=False)))
    for name, position in extras.items():
        data[name] = _text_values(raw.columns[position])
    frame = conform(spec, pd.DataFrame(data, index=pd.RangeIndex(len(raw.rows))))
    parsed = ParsedTable(spec, frame, text, raw.rows)
    for f, invalid in failures:
        problems += [parsed.problem(i, f.key, invalid.message, invalid.expected, with_value=invalid.with_value)
                     for i in np.flatnonzero(invalid.mask)]
    return parsed, problems


@cache
def _field_names(table: str) -> dict[str, str]:
    """Normalised header (key or Chinese label) → field key."""
    names = {}
    for f in catalog().table(table).fields:
        names[_normalise_name(f.key)] = f.key
        names[_normalise_name(f.label)] = f.key
    return names


# A header may carry its unit: 教学及辅助用房面积(平方米), 教学及辅助用房面积（m²）, 小学在校生数(人).
UNIT_HEADER = re.compile(r"(?P<label>.+?)[(（](?P<unit>[^()（）]+)[)）]")
UNIT_WORDS = {  # the catalogue's unit → how people write it (compared after lower-casing)
    "m²": {"m²", "m2", "㎡", "m^2", "平方米", "平米", "sqm"},
    "元": {"元", "人民币元", "人民币", "rmb"},
    "人": {"人", "名"},
    "个": {"个"},
    "间": {"间", "个"},
    "%": {"%", "％", "百分比", "百分数"},
}


def _header_field(spec: TableSpec, header: str) -> tuple[str | None, str | None]:
    """The field a header names — its key or label, optionally followed by the field's unit (or
    key) in ASCII or full-width parentheses — and, when the parentheses give another unit
    (万元 for 元), that unit: such a column is not read, since its numbers would be misread."""
    lookup = _field_names(spec.name)
    name = _normalise_name(header)
    key = lookup.get(name)
    match = None if key or not name else UNIT_HEADER.fullmatch(name)
    if match is None or lookup.get(match["label"]) is None:
        return key, None
    f = spec.field(lookup[match["label"]])
    unit = match["unit"]
    if unit == f.key.lower() or (f.unit and unit in UNIT_WORDS.get(f.unit, {f.unit.lower()})):
        return f.key, None
    return (f.key, unit) if f.unit else (None, None)  # no unit to contradict: an unknown column, as before


def _match_columns(raw: RawTable, warnings: list[str]) -> tuple[dict[str, int], dict[str, int], list[Problem]]:
    """Header cells → field positions; unknown columns become extras (kept, with a warning)."""
    spec = raw.spec
    columns: dict[str, int] = {}
    extras: dict[str, int] = {}
    problems: list[Problem] = []
    notes: list[str] = []
    wrong_units: set[str] = set()
    for position, header in enumerate(raw.header):
        key, wrong_unit = _header_field(spec, header)
        if wrong_unit is not None:
            f = spec.field(key)
            wrong_units.add(key)
            problems.append(Problem(
                spec.name, spec.label, 1, key, f.label, header,
                f"列名“{f.label}”或“{f.label}({f.unit})”,取值按{f.unit}填写",
                f"是第{position + 1}列的列名,其中的单位“{wrong_unit}”与这一列的单位({f.unit})不符,数值无法换算",
            ))
        elif key in columns:
            problems.append(Problem(
                spec.name, spec.label, 1, key, spec.field(key).label, header, None,
                f"列重复:第{columns[key] + 1}列和第{position + 1}列都对应这一列,请只保留一列",
            ))
        elif key is not None:
            columns[key] = position
        elif header:
            name = header if header not in extras else f"{header}(第{position + 1}列)"
            extras[name] = position
            notes.append(f"{spec.label}:未识别的列“{header}”(第{position + 1}列),已原样保留,不参与评估")
        elif _filled(raw.columns[position]).any():
            name = f"未命名列{position + 1}"
            extras[name] = position
            notes.append(f"{spec.label}:第{position + 1}列有数据但没有列名,已保留为“{name}”,不参与评估")
    if not any(raw.header):
        if len(raw.rows):
            problems.append(_table_problem(spec, f"{raw.source}第1行是空的,应为表头{_HEADER_HINT}"))
    elif not columns and not wrong_units:
        problems.append(_table_problem(spec, f"{raw.source}第1行应为表头,但没有识别出任何列名{_HEADER_HINT}"))
    else:
        warnings += notes
        problems += [
            Problem(spec.name, spec.label, None, f.key, f.label, None, None,
                    f"缺少必填列:请在第1行加上列名“{f.label}”(或 {f.key})")
            for f in spec.fields if f.required and f.key not in columns and f.key not in wrong_units
        ]
    return columns, extras, problems


_HEADER_HINT = "(列名可用英文键或中文名,如 school_id 或 学校标识码)"


def _table_problem(spec: TableSpec, message: str, expected: str | None = None) -> Problem:
    return Problem(spec.name, spec.label, None, None, None, None, expected, message)


# Column parsers: (field, stripped text cells, which cells are non-empty) → a typed pandas array
# (NA where empty or bad) and the cells that failed, by kind of failure.

NUMBER_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
PERCENT_SIGN = "[%\uff05]$"  # a trailing % or full-width ％


def _nulled(cells: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.if_else(pc.equal(cells, ""), None, cells)


def _text_values(cells: pa.ChunkedArray):
    return pd.array(_nulled(cells), dtype="string")


def _parse_text(f: FieldSpec, cells: pa.ChunkedArray, present: np.ndarray) -> Parsed:
    if f.max_length is None:
        return _text_values(cells), []
    long = pc.greater(pc.utf8_length(cells), f.max_length).to_numpy(zero_copy_only=False).astype(bool)
    return _text_values(cells), [Invalid(long, f"过长(超过 {f.max_length} 个字符)", f"不超过 {f.max_length} 个字符的{f.label}")]


def _numbers(cells: pa.ChunkedArray) -> np.ndarray:
    """float64, NaN for empty cells, non-numbers and infinities."""
    text = _nulled(cells)
    try:
        numbers = pc.cast(text, pa.float64())
    except pa.ArrowInvalid:  # some cell is not a number: convert only those that look like one
        numbers = pc.cast(pc.if_else(pc.match_substring_regex(text, NUMBER_PATTERN), text, None), pa.float64())
    values = numbers.to_numpy()
    return np.where(np.isfinite(values), values, np.nan)


def _integral(numbers: np.ndarray) -> np.ndarray:
    return (numbers == np.floor(numbers)) & (np.abs(numbers) < 2**53)


def _checked(f: FieldSpec, numbers: np.ndarray, ok: np.ndarray, present: np.ndarray, integer: bool) -> Parsed:
    if integer:
        values = pd.arrays.IntegerArray(np.where(ok, numbers, 0).astype(np.int64), ~ok)
    else:
        values = pd.arrays.FloatingArray(np.where(ok, numbers, 0.0), ~ok)
    return values, [Invalid(present & ~ok, "无效", f.describe_expected())]


def _bounded(f: FieldSpec, numbers: np.ndarray, ok: np.ndarray, present: np.ndarray, integer: bool) -> Parsed:
    """`_checked` with the field's plausible bound (format.yaml `limits`): a value above it is
    refused as such, with the bound named."""
    if f.maximum is None:
        return _checked(f, numbers, ok, present, integer)
    too_big = ok & (numbers > f.maximum)
    values, invalid = _checked(f, numbers, ok & ~too_big, present & ~too_big, integer)
    bound = f"{f.maximum:,.0f}".replace(",", "")
    return values, invalid + [Invalid(too_big, "超出合理范围", f"不超过 {bound}{f.unit or ''} 的数")]


def _parse_count(f: FieldSpec, cells: pa.ChunkedArray, present: np.ndarray) -> Parsed:
    numbers = _numbers(cells)
    return _bounded(f, numbers, (numbers >= 0) & _integral(numbers), present, integer=True)


def _parse_number(f: FieldSpec, cells: pa.ChunkedArray, present: np.ndarray) -> Parsed:
    if f.unit == "元":
        cells = _amount_cells(cells)
    numbers = _numbers(cells)
    return _bounded(f, numbers, numbers >= 0, present, integer=False)


def _amount_cells(cells: pa.ChunkedArray) -> pa.ChunkedArray:
    """A 元 field's cells with amounts as people write them (7,181,900, 8.86万, 1.2亿元) turned
    into plain numbers by the one reader of amounts (`junheng.amounts.parse_amount`, also the
    planner's budget); plain numbers untouched, anything else left to be refused as it was."""
    hint = pc.fill_null(pc.match_substring_regex(cells, NOT_PLAIN), False).to_numpy(zero_copy_only=False)
    if not hint.any():
        return cells
    values = cells.to_pylist()
    for i in np.flatnonzero(hint):
        amount = parse_amount(values[i])
        if amount is not None:
            values[i] = repr(amount)
    return pa.chunked_array([pa.array(values, pa.string())])


def _parse_year(f: FieldSpec, cells: pa.ChunkedArray, present: np.ndarray) -> Parsed:
    numbers = _numbers(cells)
    low, high = YEAR_RANGE
    return _checked(f, numbers, _integral(numbers) & (numbers >= low) & (numbers <= high), present, integer=True)


def _parse_rate01(f: FieldSpec, cells: pa.ChunkedArray, present: np.ndarray) -> Parsed:
    numbers = _numbers(cells)
    return _checked(f, numbers, (numbers >= 0) & (numbers <= 1), present, integer=False)


def _parse_percent(f: FieldSpec, cells: pa.ChunkedArray, present: np.ndarray) -> Parsed:
    """0–100 with an optional %. Fractions are errors, not guesses: 0.95 is flagged, and when a
    whole column lies in [0, 1] its 1s are fractions (100%) too. A written % sign is never a fraction."""
    signed = pc.match_substring_regex(cells, PERCENT_SIGN).to_numpy(zero_copy_only=False).astype(bool)
    numbers = _numbers(pc.utf8_trim_whitespace(pc.replace_substring_regex(cells, PERCENT_SIGN, "")))
    in_range = (numbers >= 0) & (numbers <= 100)
    plain = in_range & ~signed
    fraction = plain & (numbers > 0) & (numbers < 1)
    written = numbers[in_range]
    all_fractions = written.size > 0 and (written <= 1).all() and (written > 0).any()
    ones = plain & (numbers == 1) if all_fractions else np.zeros(len(numbers), dtype=bool)
    ok = in_range & ~fraction & ~ones
    return pd.arrays.FloatingArray(np.where(ok, numbers, 0.0), ~ok), [
        Invalid(present & ~in_range, "无效", f.describe_expected()),
        Invalid(fraction, "像是小数形式的比例", "0 到 100 的百分数:95% 请填 95,不要填 0.95"),
        Invalid(ones, "像是小数形式的比例(本列所有取值都在 0 到 1 之间)", "0 到 100 的百分数:100% 请填 100,不要填 1"),
    ]


def _lookup(words: pa.ChunkedArray, table: dict) -> tuple[np.ndarray, np.ndarray]:
    """Each word's value in `table` (an object array) and which words were found."""
    index = pc.fill_null(pc.index_in(words, value_set=pa.array(list(table), pa.string())), -1).to_numpy()
    found = index >= 0
    return np.array(list(table.values()), dtype=object)[np.where(found, index, 0)], found


def _parse_bool(f: FieldSpec, cells: pa.ChunkedArray, present: np.ndarray) -> Parsed:
    values, found = _lookup(pc.utf8_lower(cells), BOOL_WORDS)
    return pd.arrays.BooleanArray(values.astype(bool), ~found), _unmatched(f, found, present)


def _parse_enum(f: FieldSpec, cells: pa.ChunkedArray, present: np.ndarray) -> Parsed:
    assert f.values is not None
    words = {**{key.lower(): key for key in f.values}, **{label.lower(): key for key, label in f.values.items()}}
    values, found = _lookup(pc.utf8_lower(cells), words)
    return pd.array(np.where(found, values, None), dtype="string"), _unmatched(f, found, present)


def _parse_level(f: FieldSpec, cells: pa.ChunkedArray, present: np.ndarray) -> Parsed:
    """1–4, Ⅰ–Ⅳ, I–IV, with or without 级; Excel's 3.0 too."""
    words = pc.utf8_trim_whitespace(pc.replace_substring_regex(pc.utf8_upper(cells), "级$", ""))
    values, found = _lookup(words, LEVEL_WORDS)
    numbers = _numbers(cells)
    numeric = np.isin(numbers, [1.0, 2.0, 3.0, 4.0])
    levels = np.where(found, values, np.where(numeric, numbers, 0)).astype(np.int64)
    found |= numeric
    return pd.arrays.IntegerArray(levels, ~found), _unmatched(f, found, present)


def _unmatched(f: FieldSpec, found: np.ndarray, present: np.ndarray) -> list[Invalid]:
    return [Invalid(present & ~found, "无效", f.describe_expected())]


PARSERS: dict[str, Parser] = {
    "text": _parse_text, "school_ref": _parse_text, "county_ref": _parse_text,
    "count": _parse_count, "number": _parse_number, "year": _parse_year, "percent": _parse_percent,
    "rate01": _parse_rate01, "bool": _parse_bool, "enum": _parse_enum, "level": _parse_level,
}


def _missing_or_empty_tables(found: Sources) -> list[Problem]:
    problems = []
    if found.kind == "rows":  # in-memory rows: the caller validates just the tables it gives
        return problems
    for spec in catalog().tables.values():
        if spec.optional_table:
            continue
        if spec.name not in found.tables:
            where = (f"请在文件夹中提供 {spec.name}.csv(或 {spec.label}.csv)" if found.kind == "folder"
                     else f"请在工作簿中添加名为“{spec.label}”的工作表")
            if spec.name in found.hidden:
                hidden = "”“".join(found.hidden[spec.name])
                where = f"工作簿中的“{hidden}”是隐藏的工作表,隐藏的工作表不导入:请在 Excel 中取消隐藏后再导入"
            problems.append(_table_problem(spec, f"缺少这张表(必需):{where}"))
        elif (raw := found.tables[spec.name]) is not None and len(raw.rows) == 0:
            problems.append(_table_problem(spec, f"没有数据:这张表必须填写({spec.description or '至少一行'})"))
    return problems


# ---------------------------------------------------------------------------------------------
# Cross-checks: across columns of a row and across tables. Each sees only values that parsed
# (bad cells are already reported and are NA here), so one mistake is reported once.


def _bool_mask(series: pd.Series) -> np.ndarray:
    """True where true; missing counts as false. A fresh array (pandas may hand out read-only views)."""
    return np.array(series.to_numpy(dtype=bool, na_value=False))


def _duplicate_keys(tables: dict[str, ParsedTable]) -> list[Problem]:
    problems = []
    for parsed in tables.values():
        key = list(parsed.spec.key)
        if any(k not in parsed.text for k in key):
            continue
        keys = parsed.frame[key]
        later = _bool_mask(keys.duplicated(keep="first"))
        if not later.any():
            continue
        later &= _bool_mask(keys.notna().all(axis=1))  # an empty key is reported as empty, not as a repeat
        first_row = pd.Series(parsed.rows, index=keys.index).groupby([keys[k] for k in key]).transform("first")
        problems += [_duplicate_problem(parsed, key, i, int(first_row.iat[i])) for i in np.flatnonzero(later)]
    return problems


def _duplicate_problem(parsed: ParsedTable, key: list[str], i: int, first_row: int) -> Problem:
    if len(key) == 1:
        return parsed.problem(i, key[0], f"重复:与第{first_row}行相同", "在本表中不重复")
    names = "+".join(parsed.spec.field(k).label for k in key)
    value = " / ".join(parsed.written(k, i) for k in key)
    return parsed.problem(i, None, f"重复:与第{first_row}行的 {names} 相同", f"每个 {names} 组合只有一行",
                          value=value)


def _arrow(values: pd.Series) -> pa.ChunkedArray:
    array = pa.array(values, type=pa.string(), from_pandas=True)
    return array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])


def _isin(values: pd.Series, known: pa.Array) -> np.ndarray:
    """Which values are in `known` (missing values are not). Arrow does this in C; pandas'
    isin on Arrow strings loops in Python, which takes seconds on a nation."""
    return pc.is_in(_arrow(values), value_set=known).to_numpy(zero_copy_only=False).astype(bool)


def _known(columns: list[pd.Series]) -> pa.Array:
    chunks = [chunk for column in columns for chunk in _arrow(column).chunks]
    return pc.unique(pa.chunked_array(chunks, type=pa.string()).drop_null())


def _known_school_ids(tables: dict[str, ParsedTable]) -> pa.Array | None:
    schools = tables.get("schools")
    if schools is None or "school_id" not in schools.text:
        return None  # no roster to check against: its absence is reported already
    return _known([schools.frame["school_id"]])


def _county_roster(tables: dict[str, ParsedTable]) -> bool:
    """A 县区名录 with rows (a template's sheet left empty is no list)."""
    return "counties" in tables and "county_code" in tables["counties"].text and len(tables["counties"].frame) > 0


def _known_county_codes(tables: dict[str, ParsedTable]) -> pa.Array | None:
    """The counties a dataset may name: those of its 县区名录 when it has one (a county missing
    from it would be evaluated without its standard, name and population, and an upload of it
    is refused on the web), else those its schools name."""
    names = ("counties",) if _county_roster(tables) else ("schools",)
    sources = [tables[name].frame["county_code"] for name in names if name in tables and "county_code" in tables[name].text]
    return _known(sources) if sources else None


def _unknown_references(tables: dict[str, ParsedTable]) -> list[Problem]:
    known = {"school_ref": _known_school_ids(tables), "county_ref": _known_county_codes(tables)}
    wording = {"school_ref": "在学校名录中不存在",
               "county_ref": "在县区名录中不存在" if _county_roster(tables) else "在学校名录中不存在"}
    problems = []
    for parsed in tables.values():
        for f in parsed.spec.fields:
            if f.type not in known or known[f.type] is None or f.key not in parsed.text:
                continue
            values = parsed.frame[f.key]
            unknown = _bool_mask(values.notna()) & ~_isin(values, known[f.type])
            problems += [parsed.problem(i, f.key, wording[f.type], f.describe_expected()) for i in np.flatnonzero(unknown)]
    return problems


def _unknown_standards(tables: dict[str, ParsedTable]) -> list[Problem]:
    from junheng.standards.loader import builtin_ids

    counties = tables.get("counties")
    if counties is None or "standard" not in counties.text:
        return []
    ids = builtin_ids()
    values = counties.frame["standard"]
    unknown = _bool_mask(values.notna() & ~values.isin(ids))
    expected = "已知的标准标识之一:" + "、".join(ids)
    return [counties.problem(i, "standard", "不是已知的评估标准", expected) for i in np.flatnonzero(unknown)]


def _at_most(tables: dict[str, ParsedTable]) -> list[Problem]:
    """A part cannot exceed its whole (backbone teachers ≤ teachers, ...)."""
    problems = []
    for parsed in tables.values():
        for f in parsed.spec.fields:
            if not f.at_most or f.key not in parsed.text or f.at_most not in parsed.text:
                continue
            whole = parsed.spec.field(f.at_most)
            for i in np.flatnonzero(parsed.numbers(f.key) > parsed.numbers(whole.key)):
                problems.append(parsed.problem(
                    i, f.key, f"大于同一行“{whole.label}”的取值“{parsed.written(whole.key, i)}”",
                    f"不超过{whole.label}",
                ))
    return problems


def _roster_of_rows(tables: dict[str, ParsedTable], parsed: ParsedTable) -> tuple[pd.DataFrame, np.ndarray] | None:
    """The roster (first row of each school_id) and each row's position in it (-1: unknown)."""
    schools = tables.get("schools")
    if schools is None or not {"school_id", "school_type"} <= schools.text.keys() or "school_id" not in parsed.text:
        return None
    roster = schools.frame.dropna(subset=["school_id"]).drop_duplicates("school_id").reset_index(drop=True)
    positions = pc.index_in(_arrow(parsed.frame["school_id"]), value_set=_arrow(roster["school_id"]))
    return roster, pc.fill_null(positions, -1).to_numpy()


def _segments_of_school_type(tables: dict[str, ParsedTable]) -> list[Problem]:
    """Students, classes or teachers in a segment the school type does not have."""
    cat = catalog()
    problems = []
    for parsed in tables.values():
        segment_fields = [f for f in parsed.spec.fields if f.segment and f.key in parsed.text]
        found = _roster_of_rows(tables, parsed) if segment_fields else None
        if found is None:
            continue
        roster, positions = found
        types = np.append(roster["school_type"].to_numpy(dtype=object, na_value=None), None)[positions]
        lacking = {  # rows whose school type lacks the segment
            segment: np.isin(types, [name for name, t in cat.school_types.items() if segment not in t.segments])
            for segment in {f.segment for f in segment_fields}
        }
        for f in segment_fields:
            for i in np.flatnonzero(lacking[f.segment] & (np.nan_to_num(parsed.numbers(f.key)) != 0)):
                school_type = cat.school_types[types[i]]
                problems.append(parsed.problem(
                    i, f.key, f"无效:学校类型为“{school_type.label}”,没有{cat.segment_label(f.segment)}学段",
                    "留空或填 0",
                ))
    return problems


def _oversize_classes(tables: dict[str, ParsedTable]) -> list[Problem]:
    """A count of classes above the limit must agree with the largest class, when both are given."""
    problems = []
    for parsed in tables.values():
        for f in parsed.spec.fields:
            if f.counts_classes_above is None or f.key not in parsed.text or f.largest_field not in parsed.text:
                continue
            limit, largest = f.counts_classes_above, parsed.spec.field(f.largest_field)
            count, size = parsed.numbers(f.key), parsed.numbers(largest.key)
            disagreements = [
                ((size <= limit) & (count > 0), f"最大班额不超过{limit}人,不应有超标班额班级", "0"),
                ((size > limit) & (count == 0), f"最大班额超过{limit}人,至少有 1 个超标班额班级", "至少为 1"),
            ]
            for mask, reason, expected in disagreements:
                for i in np.flatnonzero(mask):
                    problems.append(parsed.problem(
                        i, f.key,
                        f"与同一行“{largest.label}”({largest.key})的取值“{parsed.written(largest.key, i)}”不符:{reason}",
                        expected,
                    ))
    return problems


def _orphan_teaching_points(tables: dict[str, ParsedTable]) -> list[Problem]:
    """School-year rows of teaching points whose central school is not in the roster."""
    school_year = tables.get("school_year")
    found = _roster_of_rows(tables, school_year) if school_year is not None else None
    if found is None or "parent_school_id" not in tables["schools"].text:
        return []
    roster, positions = found
    parents = roster["parent_school_id"]
    orphan = (_bool_mask(roster["school_type"] == "teaching_point") & _bool_mask(parents.notna())
              & ~_isin(parents, _known([roster["school_id"]])))
    rows = np.flatnonzero(np.append(orphan, False)[positions])
    return [
        school_year.problem(
            i, "school_id", f"是教学点,其所属中心校“{parents.iat[positions[i]]}”在学校名录中不存在",
            "学校名录中已有的中心校(请补全中心校或更正学校名录的所属中心校)",
        )
        for i in rows
    ]


CROSS_CHECKS: list[Callable[[dict[str, ParsedTable]], list[Problem]]] = [
    _duplicate_keys, _unknown_references, _unknown_standards, _at_most, _segments_of_school_type,
    _oversize_classes, _orphan_teaching_points,
]


def _problem_order(problem: Problem) -> tuple:
    """Tables in catalogue order, then rows as the sheet shows them, then columns left to right."""
    order = list(Dataset.TABLES)
    table = order.index(problem.table) if problem.table in order else len(order)
    column = 10_000
    if problem.table in catalog().tables and problem.column is not None:
        keys = catalog().table(problem.table).keys
        column = keys.index(problem.column) if problem.column in keys else column
    return table, problem.row or 0, column

"""Reading XLSX workbooks within bounds, and telling what a file really is.

A worksheet declares a used range (its `dimension`) and may hold a cell anywhere up to XFD1048576.
Reading by the declared range, or filling every row out to its last cell, turns a 39 KB file into
17 billion cells. Here reading follows the cells actually written in the file, one row element at
a time: nothing is materialised for empty space, formatted but empty cells are not data, and every
limit below is checked while streaming, so a hostile file is refused at the first cell past a
limit, with that cell named.

What the limits bound:

- MAX_PART_BYTES: the unpacked size of one part of the package (a sheet, the shared strings),
  checked from the ZIP directory before anything is parsed — a compressed bomb is refused unread;
- MAX_WORKBOOK_CELLS: the cell elements read in one workbook (formatted empty cells included: they
  cost reading time too);
- MAX_SHEET_ROWS, MAX_SHEET_COLUMNS: where a cell with content may be;
- MAX_SHEET_EXTENT: rows × columns of one sheet's data range (A1 to the last row and column with
  content), which is what the importer lays out as columns.

They are generous for a province's data in one workbook (a county has a few hundred rows); a
national dataset belongs in CSV files, which do not need this.

A sheet read here also reports what reading cannot decide alone: cells holding a formula whose
result was never computed (a program wrote the formula and no spreadsheet ever saved it), and
merged ranges that touch the data. The importer refuses both, naming the cells.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from junheng.data.problems import DatasetUnreadable

MAX_PART_BYTES = 256 * 1024 * 1024
MAX_WORKBOOK_CELLS = 5_000_000
MAX_SHEET_ROWS = 500_000
MAX_SHEET_COLUMNS = 500
MAX_SHEET_EXTENT = 10_000_000

EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384  # a sheet cannot be larger

SNIFF_BYTES = 4096
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old Office documents (.xls, .doc)


# ---------------------------------------------------------------------------------------------
# What a file really is (by its content, not its name)


def file_kind(path: Path) -> str:
    """"xlsx", "zip" (a ZIP that is not a workbook), "xls" (an old Office file), "xml2003" (Excel
    2003 XML), "utf16" (UTF-16 text), "html", "text", "empty" or "binary"."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if not head:
        return "empty"
    if head.startswith(b"PK"):
        return _zip_kind(path)
    if head.startswith(OLE_MAGIC):
        return "xls"
    if _utf16(head):
        return "utf16"
    start, lower = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower(), head.lower()
    if start.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in lower:
        return "xml2003"
    markup = start.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml"))
    if markup and (b"<html" in lower or b"<table" in lower):
        return "html"
    if b"\x00" in head:
        return "binary"
    return "text"


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "binary"  # a damaged or truncated ZIP
    return "xlsx" if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names) else "zip"


def _utf16(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    sample = head[: len(head) - len(head) % 2]
    if len(sample) < 4:
        return False
    even, odd = sample[0::2].count(0), sample[1::2].count(0)  # ASCII in UTF-16 is every other byte NUL
    return max(even, odd) >= len(sample) // 2 * 0.3 and min(even, odd) <= len(sample) // 2 * 0.05


def decodes_as_gbk(path: Path, limit: int = 1 << 20) -> bool:
    """Whether the start of a file is valid GB18030 (which GBK is part of)."""
    with path.open("rb") as handle:
        data = handle.read(limit)
    try:
        codecs.getincrementaldecoder("gb18030")().decode(data, final=len(data) < limit)
    except UnicodeDecodeError:
        return False
    return True


KIND_WORDS = {
    "xls": "旧版 Excel(.xls)文件",
    "xml2003": "Excel 2003 XML 表格(旧格式)",
    "utf16": "UTF-16 编码的文本(如 Excel“Unicode 文本”)",
    "html": "网页(HTML)格式的表格(一些系统导出的“Excel 文件”其实是网页)",
    "text": "纯文本(可能是改了扩展名的 CSV 文件)",
    "zip": "ZIP 压缩包,但不是 Excel 工作簿",
    "empty": "空文件",
}
KIND_FIXES = {
    "xls": "请在 Excel 中打开,“另存为” .xlsx 工作簿后再导入",
    "xml2003": "请在 Excel 中打开,“另存为” .xlsx 工作簿后再导入",
    "utf16": "请在 Excel 中打开,“另存为” .xlsx 工作簿后再导入",
    "html": "请在 Excel 中打开,“另存为” .xlsx 工作簿后再导入",
    "text": "若是 CSV,请把它作为数据集文件夹中的一张表导入;或在 Excel 中打开后“另存为” .xlsx",
    "zip": "若其中是各表的 CSV 文件,请解压后导入该文件夹",
    "empty": "请重新导出或保存数据",
}


def not_a_workbook(path: Path, kind: str) -> str:
    if kind in KIND_WORDS:
        return f"无法打开工作簿“{path}”:文件不是 .xlsx 工作簿,其内容是{KIND_WORDS[kind]}:{KIND_FIXES[kind]}"
    return f"无法打开工作簿“{path}”:文件已损坏或不是 .xlsx 格式,请用 Excel 打开后重新保存为 .xlsx"


# ---------------------------------------------------------------------------------------------
# Opening a workbook


@dataclass
class Budget:
    """Cells read so far in one workbook."""

    cells: int = 0


class Workbook:
    """An open workbook in openpyxl's read-only mode (sheets are read on demand, never whole)."""

    def __init__(self, path: Path):
        import openpyxl

        self.path = path
        self.budget = Budget()
        self._check_sizes()
        self._handle = path.open("rb")  # a handle: openpyxl would refuse a path without .xlsx
        try:
            self.book = openpyxl.load_workbook(self._handle, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for damaged workbooks
            self._handle.close()
            raise DatasetUnreadable(
                f"无法打开工作簿“{path}”:文件已损坏或不是 .xlsx 格式({type(exc).__name__}),"
                "请用 Excel 打开后重新保存为 .xlsx"
            ) from None
        self._formats: dict[int, str] = {}

    def _check_sizes(self) -> None:
        try:
            with zipfile.ZipFile(self.path) as archive:
                parts = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise DatasetUnreadable(
                f"无法打开工作簿“{self.path}”:文件已损坏或不是 .xlsx 格式({type(exc).__name__}),"
                "请用 Excel 打开后重新保存为 .xlsx"
            ) from None
        for part in parts:
            if part.file_size > MAX_PART_BYTES:
                raise DatasetUnreadable(
                    f"工作簿“{self.path}”中的“{part.filename}”解压后有 {_size(part.file_size)},"
                    f"超过可导入的上限 {_size(MAX_PART_BYTES)}:请删除不需要的内容,或分表、分县区导入"
                )

    @property
    def worksheets(self) -> list:
        return self.book.worksheets

    def close(self) -> None:
        self.book.close()
        self._handle.close()

    def __enter__(self) -> "Workbook":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def number_format(self, style_id: int) -> str:
        """The number format of a cell style (cached: a sheet uses a handful of styles)."""
        found = self._formats.get(style_id)
        if found is None:
            from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE

            try:
                number = self.book._cell_styles[style_id].numFmtId
                found = (BUILTIN_FORMATS.get(number, "General") if number < BUILTIN_FORMATS_MAX_SIZE
                         else self.book._number_formats[number - BUILTIN_FORMATS_MAX_SIZE])
            except (IndexError, AttributeError, TypeError):
                found = "General"
            self._formats[style_id] = found
        return found

    def read(self, sheet) -> "SheetCells":
        return read_sheet(self, sheet)


def amount(n: int, unit: str = "") -> str:
    """500000 行 → 50 万行: limits as a Chinese reader says them."""
    return f"{n // 10_000} 万{unit}" if n >= 10_000 and n % 10_000 == 0 else f"{n} {unit}".rstrip()


def _size(n: int) -> str:
    if n >= 2**30:
        return f"{n / 2**30:.1f} GB"
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{max(1, round(n / 1024))} KB"


# ---------------------------------------------------------------------------------------------
# Reading one sheet


@dataclass
class SheetCells:
    """The cells of a sheet that hold something, as the text a person would type for them."""

    title: str
    height: int = 0  # last row with content
    width: int = 0  # last column with content
    by_column: dict[int, tuple[list[int], list[str]]] = field(default_factory=dict)  # column → rows, texts
    formulas: list[tuple[int, int]] = field(default_factory=list)  # (row, column): formula never computed
    merged: list[tuple[str, int, int, int, int]] = field(default_factory=list)  # ref, rows and columns spanned
    refusal: str | None = None  # why the sheet cannot be imported at all (a limit passed)

    def columns(self) -> Iterator[list[str]]:
        """Each column of the data range A1:(width, height), "" where empty; one at a time."""
        for column in range(1, self.width + 1):
            cells = [""] * self.height
            rows, texts = self.by_column.get(column, ((), ()))
            for row, text in zip(rows, texts):
                cells[row - 1] = text
            yield cells


def coordinate(row: int, column: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(column)}{row}"


def read_sheet(workbook: Workbook, sheet) -> SheetCells:
    """Stream a sheet's cells. Raises DatasetUnreadable when the workbook's cell budget is passed;
    a sheet that passes a sheet limit comes back with `refusal` set and no cells."""
    found = SheetCells(title=sheet.title)
    limit = _limits()
    last_row, last_column = min(limit.rows, EXCEL_ROWS), min(limit.columns, EXCEL_COLUMNS)
    by_column = found.by_column
    with workbook.book._archive.open(sheet._worksheet_path) as source:
        parser = _parser(workbook, source)
        for row_number, cells in parser.parse():
            workbook.budget.cells += len(cells) + 1
            if workbook.budget.cells > limit.cells:
                raise DatasetUnreadable(
                    f"工作簿“{workbook.path}”中的单元格太多:读到工作表“{sheet.title}”的 "
                    f"{coordinate(row_number, cells[-1]['column'] if cells else 1)} 时已超过 {amount(limit.cells, '个')}"
                    "(包括只设置了格式的空单元格):请删除不需要的行和列,或分表、分县区导入"
                )
            for cell in cells:
                value = cell["value"]
                if "formula_without_value" in cell:
                    text = ""
                elif value is None:
                    continue  # empty, or formatted only: not data, wherever it is
                elif isinstance(value, str):
                    text = value
                    if not text.strip():
                        continue
                else:
                    style = cell["style_id"]
                    text = cell_text(value, workbook.number_format(style) if style else "General")
                row, column = cell["row"], cell["column"]
                if row > last_row or column > last_column:
                    return SheetCells(title=sheet.title, refusal=(
                        f"工作表“{sheet.title}”的单元格 {coordinate(row, column)} 有内容,超出了可导入的范围"
                        f"(最多 {amount(limit.rows, '行')}、{amount(limit.columns, '列')}):"
                        "请删除表格以外的多余内容(或清除该单元格)后再导入"
                    ))
                if row > found.height:
                    found.height = row
                if column > found.width:
                    found.width = column
                if text:
                    rows, texts = by_column.setdefault(column, ([], []))
                    rows.append(row)
                    texts.append(text)
                else:
                    found.formulas.append((row, column))
        merges = parser.merged_cells.mergeCell if parser.merged_cells is not None else []
    if found.height * found.width > limit.extent:
        corner = coordinate(found.height, found.width)
        return SheetCells(title=sheet.title, refusal=(
            f"工作表“{sheet.title}”的数据范围 A1:{corner} 有 {found.height} 行、{found.width} 列,"
            f"超出了可导入的范围(行数×列数不超过 {amount(limit.extent)}):"
            "请删除表格以外的多余内容,或分表、分县区导入"
        ))
    found.merged = _merges_in_data(merges, found)
    return found


@dataclass(frozen=True)
class _Limits:
    cells: int
    rows: int
    columns: int
    extent: int


def _limits() -> _Limits:
    """The limits as they are now (read at call time, so they can be lowered for a test)."""
    return _Limits(MAX_WORKBOOK_CELLS, MAX_SHEET_ROWS, MAX_SHEET_COLUMNS, MAX_SHEET_EXTENT)


def _merges_in_data(merges, found: SheetCells) -> list[tuple[str, int, int, int, int]]:
    from openpyxl.utils import range_boundaries

    inside = []
    for merge in merges:
        try:
            min_col, min_row, max_col, max_row = range_boundaries(str(merge.ref))
        except (ValueError, TypeError):
            continue
        if min_row <= found.height and min_col <= found.width and (max_row > min_row or max_col > min_col):
            inside.append((str(merge.ref), min_row, min_col, max_row, max_col))
    return inside


def _parser(workbook: Workbook, source):
    """openpyxl's own sheet parser (styles, shared strings, dates as Excel stores them), noting
    formulas that carry no computed value."""
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    class Parser(WorkSheetParser):
        def parse_cell(self, element):
            cell = super().parse_cell(element)
            if element.find(FORMULA_TAG) is not None:
                cached = element.find(VALUE_TAG)
                # A computed empty text is <v></v> with t="str"; an empty number is no result at all.
                if cached is None or (not cached.text and element.get("t") != "str"):
                    cell["formula_without_value"] = True
            return cell

    book = workbook.book
    return Parser(source, book.shared_strings, data_only=True, epoch=book.epoch,
                  date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)


# ---------------------------------------------------------------------------------------------
# A cell as text


def cell_text(value, number_format: str = "General") -> str:
    """A cell as the text a person would type for it (what the sheet shows)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if "%" in (number_format or ""):
            # Typing 95% in Excel stores 0.95 shown as 95%: take what the user sees, not a guess.
            return number_text(round(value * 100, 10)) + "%"
        return number_text(value)
    if isinstance(value, (datetime, date)):
        digits = year_digits(number_format)
        if digits:  # a date shown as its year (yyyy): the year is what the sheet shows
            return str(value.year) if digits >= 3 else f"{value.year % 100:02d}"
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, (time, timedelta)):
        return str(value)
    return str(value)


def number_text(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))  # Excel stores 12 as 12.0; ids and counts read as written
    return str(value)


_FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|[_*].|\[[^\]]*\]|\s')  # literals, padding, [$-804], spaces


def year_digits(number_format: str) -> int:
    """How many year digits a date format shows when it shows nothing but the year (else 0):
    yyyy, yyyy"年", [$-804]yyyy, e (Excel's year in some locales)."""
    first = (number_format or "").split(";")[0]
    bare = _FORMAT_NOISE.sub("", first).lower()
    if re.fullmatch(r"y+", bare):
        return len(bare) if len(bare) <= 2 else 4
    if bare == "e":
        return 4
    return 0

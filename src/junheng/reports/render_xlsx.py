"""ReportDocument → Excel: every table of the report as one sheet, formatted for printing.

Uses the result workbook's sheet writer (xlsx.py): title and legend rows, frozen header row and
first columns, units in the headers, unrounded values shown with two decimals (CVs three),
unmet values shaded red and missing data written "数据缺失" and shaded yellow, landscape A4 fit
to the page width with the header rows repeated on every printed page. A table's note is
written under it.
"""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from junheng.reports import xlsx
from junheng.reports.document import ReportDocument, Table, typeset_document
from junheng.spreadsheets import save_workbook

INVALID_SHEET_CHARACTERS = re.compile(r"[\[\]:*?/\\]")
MAX_SHEET_NAME = 31
WIDTH_BUDGET = 16  # Excel characters per unit of relative column width (capped below)
MIN_WIDTH, MAX_WIDTH = 6.0, 60.0


def sheet_names(tables: list[Table]) -> list[str]:
    names: list[str] = []
    for table in tables:
        base = INVALID_SHEET_CHARACTERS.sub("_", table.sheet or table.title)[:MAX_SHEET_NAME] or "表"
        name, n = base, 2
        while name in names:
            suffix = f"_{n}"
            name, n = base[: MAX_SHEET_NAME - len(suffix)] + suffix, n + 1
        names.append(name)
    return names


def column_widths(table: Table) -> list[float]:
    widths = []
    for column in table.columns:
        header = max(xlsx.display_width(part) for part in column.label.split("\n")) / 2 + 2
        widths.append(min(MAX_WIDTH, max(MIN_WIDTH, column.width * WIDTH_BUDGET * 0.75, header)))
    return widths


def sheet_table(table: Table, name: str) -> xlsx.SheetTable:
    columns = [xlsx.Column(c.label, w) for c, w in zip(table.columns, column_widths(table))]
    rows = [[xlsx.Cell(cell.sheet_value, cell.shade, cell.number_format) for cell in row] for row in table.rows]
    return xlsx.SheetTable(name, columns, rows, frozen_columns=min(table.frozen_columns, len(columns)))


def write_note(ws, table: Table, width: int, rows: int) -> None:
    row = xlsx.FIRST_DATA_ROW + rows + 1
    cell = ws.cell(row, 1, table.note)
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    cell.font = Font(italic=True, size=9)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    total = sum(ws.column_dimensions[get_column_letter(i)].width or 8 for i in range(1, width + 1))
    ws.row_dimensions[row].height = xlsx.line_count(table.note, total) * xlsx.LINE_HEIGHT
    ws.print_area = f"A{xlsx.TITLE_ROW}:{get_column_letter(width)}{row}"


def render_xlsx(report: ReportDocument) -> bytes:
    """Every table of the report, one sheet each, as the bytes of an .xlsx file."""
    report = typeset_document(report)
    tables = [t for t in report.tables() if t.in_workbook]
    workbook = Workbook()
    workbook.remove(workbook.active)
    for table, name in zip(tables, sheet_names(tables)):
        sheet = sheet_table(table, name)
        ws = xlsx.write_sheet(workbook, sheet, f"{table.caption} · {report.scope}", report.synthetic)
        if table.note:
            write_note(ws, table, len(sheet.columns), len(sheet.rows))
    if not tables:
        workbook.create_sheet("报告")
    workbook.properties.title = report.title
    workbook.properties.subject = report.scope
    workbook.properties.creator = "junheng"
    buffer = io.BytesIO()
    save_workbook(workbook, buffer)  # school names stay text, never formulas (junheng.spreadsheets)
    return buffer.getvalue()

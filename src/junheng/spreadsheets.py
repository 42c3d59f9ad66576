"""Cells of the CSV and XLSX files junheng writes are data, never formulas (issue 11, defect 14).

A school named `=HYPERLINK("http://…","点此")` must not become a live formula in a download that
a supervisor opens in Excel or WPS (formula injection: links that leak data, DDE, a changed
number). Every writer of the product goes through this module:

- XLSX (`save_workbook` for normal workbooks, `literal_row` for write-only ones): every text
  cell is stored as a string (inline string, data type "s"), so no text is ever a formula or an
  error value; a text that a spreadsheet would take for a formula when typed (starting with
  = + - @, tab or CR) also carries Excel's quote prefix, so editing the cell keeps it text.
  The text itself is unchanged: a workbook read back (openpyxl, the importer) gives exactly
  what was written. Numbers stay numbers.
- CSV for people (`csv_cell`, `csv_row`; e.g. the change log audit.csv): such a text is written
  with a leading apostrophe (the OWASP advice), which Excel and WPS show as text. A text that
  is a plain number ("-5", "+3.5", "1e3") is left alone: it cannot do harm and stays a number.
- The interchange-format CSV (data/writer.py, read back by the importer) is written verbatim,
  by decision: an apostrophe there would change the data on the way back (see docs/methods.md,
  "Downloads and formula injection").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# a plain decimal number, signed or not ("-5", "+3.50", ".5", "1e-3"): no formula
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# texts openpyxl would store as error values rather than strings
_ERROR_CODES = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))


def looks_like_formula(value: Any) -> bool:
    """True for a text a spreadsheet would evaluate (or start evaluating) when it reads it."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value)


# ---------------------------------------------------------------- CSV read by people


def csv_cell(value: Any) -> Any:
    """A value for a CSV meant for people: a formula-like text gets a leading apostrophe."""
    return "'" + value if looks_like_formula(value) else value


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


# ---------------------------------------------------------------- XLSX


def _literal(cell) -> None:
    if isinstance(cell.value, str):
        cell.data_type = "s"  # never "f" (formula) or "e" (error), whatever the text begins with
        if looks_like_formula(cell.value):
            cell.quotePrefix = True


def literal_cells(workbook) -> None:
    """Every text cell of a (normal) workbook stored as text: call before saving."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                _literal(cell)


def save_workbook(workbook, target: Path | str | IO[bytes]) -> None:
    """`workbook.save(target)` with every text cell stored as text (`literal_cells`)."""
    literal_cells(workbook)
    workbook.save(target)


def literal_row(sheet, values: Iterable[Any]) -> list[Any]:
    """A row for a write-only sheet's `append`: the texts openpyxl would not store as plain
    strings (formula-like, error codes) become string cells; everything else is unchanged."""
    from openpyxl.cell import WriteOnlyCell

    row = []
    for value in values:
        if isinstance(value, str) and (value.startswith(FORMULA_STARTS) or value in _ERROR_CODES):
            cell = WriteOnlyCell(sheet, value)
            _literal(cell)
            row.append(cell)
        else:
            row.append(value)
    return row

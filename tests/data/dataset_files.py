"""Dataset files for import tests: a small valid dataset as rows, written as a CSV folder or a
workbook, so each test breaks exactly one thing and checks how it is reported."""

from __future__ import annotations

import csv
from pathlib import Path

import builders
import openpyxl
import pytest

from junheng.data.catalog import catalog
from junheng.data.importer import NOTES_MARKER, load_dataset
from junheng.data.problems import DatasetInvalid, Problem

Tables = dict[str, list[dict]]


def valid_tables() -> Tables:
    """Every table, every school type that matters for the checks; everything valid."""
    kinds = [("P1", "primary"), ("J1", "junior"), ("N1", "nine_year"), ("C1", "primary"),
             ("T1", "teaching_point"), ("E1", "special")]
    schools = [builders.school(i, t, parent_school_id="C1" if t == "teaching_point" else None) for i, t in kinds]
    school_years = [builders.school_year(i, t, students=200) for i, t in kinds]
    return {
        "schools": schools,
        "counties": [{"county_code": builders.COUNTY, "county_name": "测试县", "standard": "national-2017",
                      "basic_balance_year": 2015, "target_year": 2026}],
        "school_year": school_years,
        "county_year": [builders.county_year()],
        "quality": builders.quality(),
    }


def sheet_row(index: int, notes_row: bool = False) -> int:
    """Spreadsheet row of the index-th data row (the header is row 1)."""
    return index + (3 if notes_row else 2)


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def columns_of(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(key for row in rows for key in row))


def write_csv_folder(folder: Path, tables: Tables, *, labels: bool = False, bom: bool = True) -> Path:
    """One CSV per table; file names and headers are keys, or Chinese labels with labels=True."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        spec = catalog().table(name)
        columns = columns_of(rows)
        header = [spec.field(c).label if labels and c in spec.keys else c for c in columns]
        path = folder / f"{spec.label if labels else name}.csv"
        with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows([cell_text(row.get(c)) for c in columns] for row in rows)
    return folder


def write_workbook(path: Path, tables: Tables, *, notes_row: bool = False, labels: bool = True) -> Path:
    """One sheet per table, cells typed as Excel would type them (numbers, booleans)."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in tables.items():
        spec = catalog().table(name)
        sheet = workbook.create_sheet(spec.label if labels else name)
        columns = columns_of(rows)
        sheet.append([spec.field(c).label if labels and c in spec.keys else c for c in columns])
        if notes_row:
            sheet.append([NOTES_MARKER + "说明"] + ["说明"] * (len(columns) - 1))
        for row in rows:
            sheet.append([row.get(c) for c in columns])
    workbook.save(path)
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(DatasetInvalid) as caught:
        load_dataset(path)
    return caught.value.problems


def only_problem(path: Path) -> Problem:
    problems = problems_of(path)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def assert_names(problem: Problem, *, table: str, row: int | None = None, column: str | None = None,
                 value: str | None = None) -> None:
    """The message names the table, the spreadsheet row, the column (key and label) and the value."""
    text = str(problem)
    spec = catalog().table(table)
    assert f"{spec.label}({table})" in text, text
    assert problem.table == table and problem.table_label == spec.label
    if row is not None:
        assert problem.row == row and f"第{row}行" in text, text
    if column is not None:
        label = spec.field(column).label
        assert problem.column == column and f"列“{label}”({column})" in text, text
    if value is not None:
        assert problem.value == value and f"“{value}”" in text, text

"""Import a dataset (a folder of CSV files or one XLSX workbook, or in-memory rows) and validate
all of it: the orchestrator of reading, parsing and cross-checks.

Reading (`junheng.data.reading`) turns every table into columns of stripped text with their
spreadsheet row numbers; parsing (`junheng.data.parsing`) turns each column into its catalogue
type; cross-checks (`junheng.data.crosschecks`) then look across columns and tables. Every
problem is collected before anything fails, so the person fixing the data sees all of it at once.
"""

from __future__ import annotations

from pathlib import Path

from junheng.data.catalog import catalog
from junheng.data.cells import ARROW, PLAIN
from junheng.data.crosschecks import CROSS_CHECKS
from junheng.data.dataset import Dataset, _empty_table
from junheng.data.names import table_spec
from junheng.data.parsing import YEAR_RANGE, ParsedTable, parse_table, synthetic_flag
from junheng.data.problems import DatasetInvalid, Problem
from junheng.data.reading import (  # the on-disk layout, shared with the writer and the template
    INSTRUCTIONS_SHEET,
    METADATA_FILE,
    METADATA_SHEETS,
    NOTES_MARKER,
    Sources,
    missing_or_empty_tables,
    raw_table,
    read_sources,
    record_table,
)
from junheng.data.workbook import number_text as _number_text

__all__ = ["INSTRUCTIONS_SHEET", "METADATA_FILE", "METADATA_SHEETS", "NOTES_MARKER", "YEAR_RANGE",
           "PLAIN_ROWS", "load_dataset", "validate_rows", "validate_rows_with"]


def load_dataset(path: Path) -> Dataset:
    """Read and validate a dataset; raise DatasetInvalid listing every problem, or
    DatasetUnreadable when the path cannot be opened as a dataset at all."""
    path = Path(path)
    return _validated(read_sources(path), source=str(path))


# Up to this many rows in all (a form or API save: one row and its roster context), the cells are
# held as Python lists (junheng.data.cells.PLAIN) instead of Arrow arrays: the same rules, without
# the set-up of Arrow kernels made for a nation's 600,000 rows. Above it, Arrow is cheaper.
PLAIN_ROWS = 50


def validate_rows(rows: dict[str, list[dict]], source: str = "表单") -> Dataset:
    """Validate in-memory rows (table key → rows of {field key: value}) with exactly the rules of
    `load_dataset`: web forms and API writes use this. Values may be text as typed or numbers;
    None or "" is empty. Problems count rows from 2, as if row 1 were a header."""
    ops = PLAIN if sum(len(table_rows) for table_rows in rows.values()) <= PLAIN_ROWS else ARROW
    return validate_rows_with(rows, ops, source)


def validate_rows_with(rows: dict[str, list[dict]], ops, source: str = "表单") -> Dataset:
    """`validate_rows` with the cells held as `ops` says (junheng.data.cells.ARROW or PLAIN):
    both give the same Dataset or the same problems (tests/data/test_scalar_rules.py)."""
    found = Sources(kind="rows")
    for name, table_rows in rows.items():
        spec = table_spec(name)
        if spec is None:
            raise ValueError(f"unknown table {name}")
        keys = list(dict.fromkeys(k for row in table_rows for k in row)) or list(spec.key)
        columns = [ops.column([key] + [_as_text(row.get(key)) for row in table_rows]) for key in keys]
        record_table(found, spec, source, lambda spec=spec, columns=columns: raw_table(spec, source, columns, ops))
    return _validated(found, source=source)


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return _number_text(value)
    return str(value)


def _validated(found: Sources, source: str) -> Dataset:
    problems = list(found.problems)
    tables: dict[str, ParsedTable] = {}
    for name, raw in found.tables.items():
        if raw is None:  # present but unreadable: its problem is already recorded
            continue
        parsed, table_problems = parse_table(raw, found.warnings)
        problems += table_problems
        tables[name] = parsed
    problems += missing_or_empty_tables(found)
    for check in CROSS_CHECKS:
        problems += check(tables)
    synthetic = synthetic_flag(found.metadata, found.metadata_source, problems)
    if problems:
        raise DatasetInvalid(sorted(problems, key=_problem_order), found.warnings)
    return Dataset(
        # a table not given is the catalogue's empty frame, shared (pandas copies on write): a
        # deep copy of ~50 typed columns costs as much as validating a form row
        **{name: _empty_table(name).copy(deep=False) for name in Dataset.TABLES if name not in tables},
        **{name: parsed.frame for name, parsed in tables.items()},
        source=source, synthetic=synthetic, warnings=found.warnings,
    )


def _problem_order(problem: Problem) -> tuple:
    """Tables in catalogue order, then rows as the sheet shows them, then columns left to right."""
    order = list(Dataset.TABLES)
    table = order.index(problem.table) if problem.table in order else len(order)
    column = 10_000
    if problem.table in catalog().tables and problem.column is not None:
        keys = catalog().table(problem.table).keys
        column = keys.index(problem.column) if problem.column in keys else column
    return table, problem.row or 0, column

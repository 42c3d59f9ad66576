"""The engine's result tables as plain Python values, one county-year at a time.

A nation's tables hold hundreds of thousands of rows. Turning every row into a dict cost more
than the SQL that made them, so each table is converted column by column, once (Arrow →
Python lists), and the assembly gets one county-year's slice of the columns. A row becomes a
dict only where the assembly needs one: a failing school, a missing input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from junheng.engine.wording import clean

Pair = tuple[str, int]
KEYS = ("county_code", "year")


def plain_arrow(table: pa.Table) -> pa.Table:
    """Columns as the assembly reads them: DECIMAL (how DuckDB types some literals) as float,
    NaN as null (a value is known or it is not)."""
    columns = []
    for column in table.columns:
        if pa.types.is_decimal(column.type):
            column = column.cast(pa.float64())
        if pa.types.is_floating(column.type) and column.null_count < len(column):
            column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


class Columns(dict):
    """A table's columns as Python lists, each converted from Arrow when first read: a county's
    failing rows read only some of a wide table's columns, and most rows none of the rest."""

    def __init__(self, table: pa.Table | None = None):
        super().__init__()
        self._table = table
        self.order: tuple[str, ...] = tuple(table.column_names) if table is not None else ()
        self.names = frozenset(self.order)

    def __missing__(self, name: str) -> list:
        if name not in self.names:
            raise KeyError(name)
        values = self[name] = self._table.column(name).to_pylist()
        return values


class Row(Mapping):
    """One row of a table, read from its columns on demand."""

    __slots__ = ("_columns", "_i")

    def __init__(self, columns: Columns, i: int):
        self._columns, self._i = columns, i

    def __getitem__(self, name: str):
        return self._columns[name][self._i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns.order)

    def __len__(self) -> int:
        return len(self._columns.names)


class Rows:
    """One county-year's rows of a table: its columns' slices, rows on demand."""

    __slots__ = ("_columns", "_start", "_stop")

    def __init__(self, columns: Columns, start: int = 0, stop: int = 0):
        self._columns, self._start, self._stop = columns, start, stop

    def __len__(self) -> int:
        return self._stop - self._start

    def has(self, name: str) -> bool:
        return name in self._columns.names

    def column(self, name: str) -> list:
        return self._columns[name][self._start:self._stop]

    def row(self, k: int) -> Row:
        return Row(self._columns, self._start + k)

    def __iter__(self) -> Iterator[Row]:
        return (self.row(k) for k in range(len(self)))


EMPTY = Rows(Columns())


class Grouped:
    """A table's rows grouped by county and year; within a group in `order` (or, without one,
    in the order the backend gave them: the sort is stable)."""

    def __init__(self, table, order: tuple[str, ...] = ()):
        table = as_arrow(table)
        if table.num_rows:
            table = table.take(pc.sort_indices(table, [(k, "ascending") for k in (*KEYS, *order)]))
        self._columns = Columns(plain_arrow(table))
        self._bounds: dict[Pair, tuple[int, int]] = {}
        counties = self._columns["county_code"] if "county_code" in self._columns.names else []
        years = self._columns["year"] if "year" in self._columns.names else []
        start = 0
        for i in range(1, len(counties) + 1):
            if i == len(counties) or counties[i] != counties[start] or years[i] != years[start]:
                self._bounds[(str(counties[start]), int(years[start]))] = (start, i)
                start = i

    def get(self, pair: Pair) -> Rows:
        bounds = self._bounds.get(pair)
        return Rows(self._columns, *bounds) if bounds else Rows(self._columns)

    def one(self, pair: Pair) -> dict | None:
        """The group's single row (a county-level table) as a dict, None without one."""
        rows = self.get(pair)
        return dict(rows.row(0)) if len(rows) else None


class SchoolYearLookup:
    """The raw school_year rows, found by school and year: only read to name a missing input, so
    the index is built on the first question and a row is converted only when asked for."""

    def __init__(self, table):
        self._table = plain_arrow(as_arrow(table))
        self._index: dict[tuple[str, int], int] | None = None

    def row(self, school_id: str, year: int) -> dict:
        if self._index is None:
            ids, years = self._table.column("school_id").to_pylist(), self._table.column("year").to_pylist()
            self._index = {(str(s), int(y)): i for i, (s, y) in enumerate(zip(ids, years))
                           if s is not None and y is not None}
        i = self._index.get((school_id, year))
        if i is None:
            return {}
        return {key: clean(value) for key, value in self._table.slice(i, 1).to_pylist()[0].items()}


def as_arrow(table) -> pa.Table:
    """An Arrow table as it is; a pandas frame (callers that still hold one) converted, without
    this module importing pandas."""
    return table if isinstance(table, pa.Table) else pa.Table.from_pandas(table, preserve_index=False)

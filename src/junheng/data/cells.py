"""The two ways of holding a column of cells while a dataset is validated, behind one set of
operations, so that every rule (junheng.data.parsing, junheng.data.crosschecks) is written once
and runs on either.

- `ARROW`: columns are Arrow arrays of text, operations are Arrow compute kernels. Made for
  imports (a nation's school_year has 600,000 rows); each call costs some microseconds of set-up.
- `PLAIN`: columns are Python lists of str, operations plain Python. Made for the few rows of a
  form or API save (`junheng.data.importer.validate_rows`), where the set-up of the kernels and of
  pandas frames cost more than the validation itself.

Both answer with numpy arrays (masks, numbers, positions) and pandas extension arrays (the typed
columns of the `Dataset`), so the rules above them cannot tell which one they run on. They agree
on every input (tests/data/test_scalar_rules.py checks that with random and hostile rows): the
same whitespace is trimmed, the same text is a number, the same letters fold to lower or upper
case (text that is not ASCII is folded by the Arrow kernel itself, one cell at a time).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

NUMBER_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _python_pattern(pattern: str) -> re.Pattern:
    """An RE2 pattern (as Arrow reads it) for Python's re: ASCII classes, and `$` at the very end
    only (Python's `$` also matches before a final newline)."""
    return re.compile(pattern.replace("$", r"\Z"), re.ASCII)


class ArrowCells:
    """Columns as pyarrow.ChunkedArray of str ("" when empty, never null)."""

    name = "arrow"

    @staticmethod
    def column(values: list[str]) -> pa.ChunkedArray:
        return pa.chunked_array([pa.array(values, pa.string())])

    @staticmethod
    def size(cells: pa.ChunkedArray) -> int:
        return len(cells)

    @staticmethod
    def item(cells: pa.ChunkedArray, i: int) -> str:
        return str(cells[i].as_py())

    @staticmethod
    def tail(cells: pa.ChunkedArray, start: int) -> pa.ChunkedArray:
        return cells.slice(start)

    @staticmethod
    def keep(cells: pa.ChunkedArray, mask: np.ndarray) -> pa.ChunkedArray:
        return cells.filter(pa.array(mask))

    @staticmethod
    def trim(cells: pa.ChunkedArray) -> pa.ChunkedArray:
        return pc.utf8_trim_whitespace(cells)

    @staticmethod
    def filled(cells: pa.ChunkedArray) -> np.ndarray:
        return pc.not_equal(cells, "").to_numpy(zero_copy_only=False).astype(bool)

    @staticmethod
    def lower(cells: pa.ChunkedArray) -> pa.ChunkedArray:
        return pc.utf8_lower(cells)

    @staticmethod
    def upper(cells: pa.ChunkedArray) -> pa.ChunkedArray:
        return pc.utf8_upper(cells)

    @staticmethod
    def length(cells: pa.ChunkedArray) -> np.ndarray:
        return pc.utf8_length(cells).to_numpy(zero_copy_only=False)

    @staticmethod
    def matches(cells: pa.ChunkedArray, pattern: str) -> np.ndarray:
        """Where `pattern` is found in the cell (a search, not a full match)."""
        return pc.fill_null(pc.match_substring_regex(cells, pattern), False).to_numpy(zero_copy_only=False).astype(bool)

    @staticmethod
    def remove(cells: pa.ChunkedArray, pattern: str) -> pa.ChunkedArray:
        return pc.replace_substring_regex(cells, pattern, "")

    @staticmethod
    def numbers(cells: pa.ChunkedArray) -> np.ndarray:
        """float64, NaN for empty cells, non-numbers and infinities."""
        text = pc.if_else(pc.equal(cells, ""), None, cells)
        try:
            numbers = pc.cast(text, pa.float64())
        except pa.ArrowInvalid:  # some cell is not a number: convert only those that look like one
            numbers = pc.cast(pc.if_else(pc.match_substring_regex(text, NUMBER_PATTERN), text, None), pa.float64())
        values = numbers.to_numpy()
        return np.where(np.isfinite(values), values, np.nan)

    @staticmethod
    def index_in(cells: pa.ChunkedArray, words: list[str]) -> np.ndarray:
        """Each cell's position in `words`, -1 where it is none of them."""
        return pc.fill_null(pc.index_in(cells, value_set=pa.array(words, pa.string())), -1).to_numpy()

    @staticmethod
    def values(cells: pa.ChunkedArray) -> list[str]:
        return cells.to_pylist()

    @staticmethod
    def text(cells: pa.ChunkedArray):
        """The typed column of a text field: pandas string, NA where empty."""
        return pd.array(pc.if_else(pc.equal(cells, ""), None, cells), dtype="string")

    # ---- typed text columns (pandas string arrays), for the cross-checks

    @staticmethod
    def _arrow(values) -> pa.ChunkedArray:
        array = pa.array(values, type=pa.string(), from_pandas=True)
        return array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])

    @classmethod
    def known(cls, columns: list) -> pa.Array:
        """The distinct values of some text columns (missing values left out)."""
        chunks = [chunk for column in columns for chunk in cls._arrow(column).chunks]
        return pc.unique(pa.chunked_array(chunks, type=pa.string()).drop_null())

    @classmethod
    def isin(cls, values, known: pa.Array) -> np.ndarray:
        """Which values are in `known` (missing values are not). Arrow does this in C; pandas'
        isin on Arrow strings loops in Python, which takes seconds on a nation."""
        return pc.is_in(cls._arrow(values), value_set=known).to_numpy(zero_copy_only=False).astype(bool)

    @classmethod
    def positions(cls, values, among) -> np.ndarray:
        """Each value's position in `among` (a text column without repeats), -1 where absent."""
        return pc.fill_null(pc.index_in(cls._arrow(values), value_set=cls._arrow(among)), -1).to_numpy()

    @staticmethod
    def firsts(values) -> np.ndarray:
        """Positions of the first occurrence of each value present, in order."""
        series = pd.Series(values)
        kept = series.dropna().drop_duplicates()
        return kept.index.to_numpy()

    @staticmethod
    def repeats(columns: list) -> tuple[np.ndarray, np.ndarray]:
        """For key columns: which rows repeat an earlier row's complete key, and for every row
        the position of the first row with its key (meaningful where it repeats)."""
        keys = pd.DataFrame({i: column for i, column in enumerate(columns)})
        later = np.array(keys.duplicated(keep="first").to_numpy(dtype=bool))
        if not later.any():
            return later, np.zeros(len(later), dtype=np.int64)
        later &= np.array(keys.notna().all(axis=1).to_numpy(dtype=bool))  # an empty key is no repeat
        first = pd.Series(np.arange(len(keys)), index=keys.index).groupby([keys[k] for k in keys]).transform("first")
        return later, first.to_numpy(dtype=np.int64, na_value=-1)


_NUMBER = _python_pattern(NUMBER_PATTERN)
_FOLD_CACHE = 4096  # distinct non-ASCII words folded by Arrow (bool and enum labels repeat)


@lru_cache(maxsize=_FOLD_CACHE)
def _arrow_lower(text: str) -> str:
    return pc.utf8_lower(pa.scalar(text, pa.string())).as_py()


@lru_cache(maxsize=_FOLD_CACHE)
def _arrow_upper(text: str) -> str:
    return pc.utf8_upper(pa.scalar(text, pa.string())).as_py()


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern:
    return _python_pattern(pattern)


def _plain_number(text: str) -> float:
    if not text or _NUMBER.match(text) is None:
        return math.nan
    value = float(text)
    return value if math.isfinite(value) else math.nan


class PlainCells:
    """Columns as Python lists of str ("" when empty). Python's str.strip() trims exactly the
    characters Arrow's utf8_trim_whitespace does; upper and lower case of ASCII text agree; other
    text is folded by the Arrow kernel (Unicode's special cases differ between the two)."""

    name = "plain"

    @staticmethod
    def column(values: list[str]) -> list[str]:
        return list(values)

    @staticmethod
    def size(cells: list[str]) -> int:
        return len(cells)

    @staticmethod
    def item(cells: list[str], i: int) -> str:
        return cells[i]

    @staticmethod
    def tail(cells: list[str], start: int) -> list[str]:
        return cells[start:]

    @staticmethod
    def keep(cells: list[str], mask: np.ndarray) -> list[str]:
        return [cell for cell, kept in zip(cells, mask) if kept]

    @staticmethod
    def trim(cells: list[str]) -> list[str]:
        return [cell.strip() for cell in cells]

    @staticmethod
    def filled(cells: list[str]) -> np.ndarray:
        return np.array([cell != "" for cell in cells], dtype=bool)

    @staticmethod
    def lower(cells: list[str]) -> list[str]:
        return [cell.lower() if cell.isascii() else _arrow_lower(cell) for cell in cells]

    @staticmethod
    def upper(cells: list[str]) -> list[str]:
        return [cell.upper() if cell.isascii() else _arrow_upper(cell) for cell in cells]

    @staticmethod
    def length(cells: list[str]) -> np.ndarray:
        return np.array([len(cell) for cell in cells], dtype=np.int64)

    @staticmethod
    def matches(cells: list[str], pattern: str) -> np.ndarray:
        compiled = _compiled(pattern)
        return np.array([compiled.search(cell) is not None for cell in cells], dtype=bool)

    @staticmethod
    def remove(cells: list[str], pattern: str) -> list[str]:
        compiled = _compiled(pattern)
        return [compiled.sub("", cell) for cell in cells]

    @staticmethod
    def numbers(cells: list[str]) -> np.ndarray:
        return np.array([_plain_number(cell) for cell in cells], dtype=np.float64)

    @staticmethod
    def index_in(cells: list[str], words: list[str]) -> np.ndarray:
        where = {word: i for i, word in reversed(list(enumerate(words)))}  # the first of equal words
        return np.array([where.get(cell, -1) for cell in cells], dtype=np.int64)

    @staticmethod
    def values(cells: list[str]) -> list[str]:
        return list(cells)

    @staticmethod
    def text(cells: list[str]):
        return string_array([cell if cell != "" else None for cell in cells])

    # ---- typed text columns (pandas string arrays), for the cross-checks

    @staticmethod
    def _objects(values) -> list:
        return [None if value is pd.NA or value is None else value for value in values]

    @classmethod
    def known(cls, columns: list) -> set:
        return {value for column in columns for value in cls._objects(column) if value is not None}

    @classmethod
    def isin(cls, values, known: set) -> np.ndarray:
        return np.array([value is not None and value in known for value in cls._objects(values)], dtype=bool)

    @classmethod
    def positions(cls, values, among) -> np.ndarray:
        where: dict = {}
        for i, value in enumerate(cls._objects(among)):
            where.setdefault(value, i)
        return np.array([where.get(value, -1) if value is not None else -1 for value in cls._objects(values)],
                        dtype=np.int64)

    @classmethod
    def firsts(cls, values) -> np.ndarray:
        seen: set = set()
        firsts = []
        for i, value in enumerate(cls._objects(values)):
            if value is not None and value not in seen:
                seen.add(value)
                firsts.append(i)
        return np.array(firsts, dtype=np.int64)

    @classmethod
    def repeats(cls, columns: list) -> tuple[np.ndarray, np.ndarray]:
        keys = list(zip(*(cls._objects(column) for column in columns)))
        first: dict = {}
        later = np.zeros(len(keys), dtype=bool)
        positions = np.zeros(len(keys), dtype=np.int64)
        for i, key in enumerate(keys):
            if any(part is None for part in key):
                continue
            if key in first:
                later[i] = True
            positions[i] = first.setdefault(key, i)
        return later, positions


def string_array(values: list):
    """A pandas string array (the "string" dtype, Arrow-backed) of Python str or None, made the
    cheapest way: pd.array(values, dtype="string") costs four times as much for a form's cell."""
    return pd.arrays.ArrowStringArray(pa.array(values, pa.large_string()))


ARROW = ArrowCells()
PLAIN = PlainCells()

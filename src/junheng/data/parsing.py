"""Parsing a dataset: text columns → typed columns of the catalogue, with a problem for every bad
cell. Vectorised (numpy masks over the cells' operations of junheng.data.cells: Arrow kernels for
an import, where a national dataset has hundreds of thousands of rows; plain Python for the few
rows of a form save), each rule written once for both.

Problem objects are built only for bad cells; a bad cell is NA in the parsed frame, so the
cross-checks after it (junheng.data.crosschecks) never report the same mistake again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from junheng.amounts import NOT_PLAIN, parse_amount
from junheng.data.catalog import FieldSpec, TableSpec, catalog
from junheng.data.cells import ARROW, NUMBER_PATTERN, string_array  # noqa: F401 - NUMBER_PATTERN re-exported
from junheng.data.dataset import PANDAS_DTYPES
from junheng.data.names import header_field
from junheng.data.problems import Problem
from junheng.data.reading import RawTable, metadata_problem, table_problem


# What the types accept, as format.yaml `types` declares it (numeric ranges are copied into each
# FieldSpec: low, high, integer).
BOOL_WORDS: dict[str, bool] = dict(catalog().types["bool"].words or {})
LEVEL_WORDS: dict[str, int] = dict(catalog().types["level"].words or {})
LEVEL_NUMBERS: list[float] = list(catalog().types["level"].numbers)
YEAR_RANGE = (int(catalog().types["year"].min), int(catalog().types["year"].max))


QUOTED_LENGTH = 80  # a longer bad value is quoted by its beginning and its length


@dataclass
class ParsedTable:
    spec: TableSpec
    arrays: dict[str, object]  # the typed column of each column in the file (pandas arrays), extras too
    text: dict[str, object]  # the stripped text as written, by key, for columns in the file (cells of `ops`)
    rows: np.ndarray  # spreadsheet row of each frame row
    ops: object = ARROW  # junheng.data.cells: how `text` is held and worked on

    @cached_property
    def frame(self) -> pd.DataFrame:
        """Conformed: every catalogue column with its dtype, then the extra columns."""
        return frame_of(self.spec, self.arrays, len(self.rows))

    def numbers(self, key: str) -> np.ndarray:
        """A numeric column as float64, NaN where missing (comparisons with NaN are false)."""
        return np.asarray(self.arrays[key].to_numpy(dtype="float64", na_value=np.nan))

    def written(self, key: str, i: int) -> str:
        return self.ops.item(self.text[key], i)

    def problem(self, i: int, key: str | None, message: str, expected: str | None = None,
                value: str | None = None, with_value: bool = True) -> Problem:
        """A problem at positional row i; the value defaults to the cell's text as written."""
        label = self.spec.field(key).label if key else None
        if with_value and value is None and key is not None:
            value = self.written(key, i)
        if value is not None and len(value) > QUOTED_LENGTH:
            value = f"{value[:QUOTED_LENGTH // 2]}…(共 {len(value)} 个字符)"
        return Problem(self.spec.name, self.spec.label, int(self.rows[i]), key, label, value, expected, message)


def frame_of(spec: TableSpec, arrays: dict[str, object], height: int) -> pd.DataFrame:
    """The catalogue's columns in order with their dtypes (all-NA where not given), then extras:
    one frame made from its arrays at once (inserting columns one by one, or building a frame
    and converting it, costs more than validating a form row)."""
    columns = [arrays[f.key] if f.key in arrays else _missing(PANDAS_DTYPES[f.type], height) for f in spec.fields]
    keys = [f.key for f in spec.fields]
    extras = [name for name in arrays if name not in spec.keys]
    return pd.DataFrame._from_arrays(columns + [arrays[name] for name in extras], pd.Index(keys + extras),
                                     pd.RangeIndex(height), verify_integrity=False)


def _missing(dtype: str, height: int):
    """An all-NA column of `dtype`, from its parts (pd.array([NA, …], dtype) costs more)."""
    mask = np.ones(height, dtype=bool)
    match dtype:
        case "Int64":
            return pd.arrays.IntegerArray(np.zeros(height, dtype=np.int64), mask)
        case "Float64":
            return pd.arrays.FloatingArray(np.zeros(height, dtype=np.float64), mask)
        case "boolean":
            return pd.arrays.BooleanArray(np.zeros(height, dtype=bool), mask)
        case _:
            return string_array([None] * height)


@dataclass
class Invalid:
    """Cells of one column that failed in one way."""

    mask: np.ndarray
    message: str
    expected: str
    with_value: bool = True  # False when the cell is empty: there is no value to quote


Parsed = tuple[pd.api.extensions.ExtensionArray, list[Invalid]]
Parser = Callable[..., Parsed]


def parse_table(raw: RawTable, warnings: list[str]) -> tuple[ParsedTable, list[Problem]]:
    spec, ops = raw.spec, raw.ops
    columns, extras, problems = _match_columns(raw, warnings)
    arrays: dict[str, object] = {}
    text: dict[str, object] = {}
    failures: list[tuple[FieldSpec, Invalid]] = []
    for f in spec.fields:
        if f.key not in columns:
            continue
        cells = raw.columns[columns[f.key]]
        present = ops.filled(cells)
        arrays[f.key], invalid = PARSERS[f.type](f, cells, present, ops)
        text[f.key] = cells
        failures += [(f, each) for each in invalid]
        if f.required:
            failures.append((f, Invalid(~present, "必填项未填写", f.describe_expected(), with_value=False)))
    for name, position in extras.items():
        arrays[name] = ops.text(raw.columns[position])
    parsed = ParsedTable(spec, arrays, text, raw.rows, ops)
    for f, invalid in failures:
        problems += [parsed.problem(i, f.key, invalid.message, invalid.expected, with_value=invalid.with_value)
                     for i in np.flatnonzero(invalid.mask)]
    return parsed, problems


def _match_columns(raw: RawTable, warnings: list[str]) -> tuple[dict[str, int], dict[str, int], list[Problem]]:
    """Header cells → field positions; unknown columns become extras (kept, with a warning)."""
    spec = raw.spec
    columns: dict[str, int] = {}
    extras: dict[str, int] = {}
    problems: list[Problem] = []
    notes: list[str] = []
    wrong_units: set[str] = set()
    for position, header in enumerate(raw.header):
        key, wrong_unit = header_field(spec, header)
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
        elif raw.ops.filled(raw.columns[position]).any():
            name = f"未命名列{position + 1}"
            extras[name] = position
            notes.append(f"{spec.label}:第{position + 1}列有数据但没有列名,已保留为“{name}”,不参与评估")
    if not any(raw.header):
        if len(raw.rows):
            problems.append(table_problem(spec, f"{raw.source}第1行是空的,应为表头{_HEADER_HINT}"))
    elif not columns and not wrong_units:
        problems.append(table_problem(spec, f"{raw.source}第1行应为表头,但没有识别出任何列名{_HEADER_HINT}"))
    else:
        warnings += notes
        problems += [
            Problem(spec.name, spec.label, None, f.key, f.label, None, None,
                    f"缺少必填列:请在第1行加上列名“{f.label}”(或 {f.key})")
            for f in spec.fields if f.required and f.key not in columns and f.key not in wrong_units
        ]
    return columns, extras, problems


_HEADER_HINT = "(列名可用英文键或中文名,如 school_id 或 学校标识码)"


# Column parsers: (field, stripped text cells, which cells are non-empty, the cells' operations)
# → a typed pandas array (NA where empty or bad) and the cells that failed, by kind of failure.
# Written once for both ways of holding cells (junheng.data.cells): imports and form rows.

PERCENT_SIGN = "[%\uff05]$"  # a trailing % or full-width ％


def _parse_text(f: FieldSpec, cells, present: np.ndarray, ops) -> Parsed:
    if f.max_length is None:
        return ops.text(cells), []
    long = ops.length(cells) > f.max_length
    return ops.text(cells), [Invalid(long, f"过长(超过 {f.max_length} 个字符)", f"不超过 {f.max_length} 个字符的{f.label}")]


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


def _within(f: FieldSpec, numbers: np.ndarray) -> np.ndarray:
    """Numbers the field's type accepts (format.yaml `types`: min, max, integer); NaN never."""
    ok = ~np.isnan(numbers)
    if f.low is not None:
        ok &= numbers >= f.low
    if f.high is not None:
        ok &= numbers <= f.high
    if f.integer:
        ok &= _integral(numbers)
    return ok


def _parse_number(f: FieldSpec, cells, present: np.ndarray, ops) -> Parsed:
    """count, number, year, rate01: a number within the type's range, at most the field's bound."""
    if f.type == "number" and f.unit == "元":
        cells = _amount_cells(cells, ops)
    numbers = ops.numbers(cells)
    return _bounded(f, numbers, _within(f, numbers), present, integer=f.integer)


def _amount_cells(cells, ops):
    """A 元 field's cells with amounts as people write them (7,181,900, 8.86万, 1.2亿元) turned
    into plain numbers by the one reader of amounts (`junheng.amounts.parse_amount`, also the
    planner's budget); plain numbers untouched, anything else left to be refused as it was."""
    hint = ops.matches(cells, NOT_PLAIN)
    if not hint.any():
        return cells
    values = ops.values(cells)
    for i in np.flatnonzero(hint):
        amount = parse_amount(values[i])
        if amount is not None:
            values[i] = repr(amount)
    return ops.column(values)


def _parse_percent(f: FieldSpec, cells, present: np.ndarray, ops) -> Parsed:
    """0–100 with an optional %. Fractions are errors, not guesses: 0.95 is flagged, and when a
    whole column lies in [0, 1] its 1s are fractions (100%) too. A written % sign is never a fraction."""
    signed = ops.matches(cells, PERCENT_SIGN)
    numbers = ops.numbers(ops.trim(ops.remove(cells, PERCENT_SIGN)))
    in_range = _within(f, numbers)
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


def _lookup(words, table: dict, ops) -> tuple[np.ndarray, np.ndarray]:
    """Each word's value in `table` (an object array) and which words were found."""
    index = ops.index_in(words, list(table))
    found = index >= 0
    return np.array(list(table.values()), dtype=object)[np.where(found, index, 0)], found


def _parse_bool(f: FieldSpec, cells, present: np.ndarray, ops) -> Parsed:
    values, found = _lookup(ops.lower(cells), BOOL_WORDS, ops)
    return pd.arrays.BooleanArray(values.astype(bool), ~found), _unmatched(f, found, present)


def _parse_enum(f: FieldSpec, cells, present: np.ndarray, ops) -> Parsed:
    assert f.values is not None
    words = {**{key.lower(): key for key in f.values}, **{label.lower(): key for key, label in f.values.items()}}
    values, found = _lookup(ops.lower(cells), words, ops)
    return string_array(np.where(found, values, None)), _unmatched(f, found, present)


def _parse_level(f: FieldSpec, cells, present: np.ndarray, ops) -> Parsed:
    """1–4, Ⅰ–Ⅳ, I–IV, with or without 级; Excel's 3.0 too."""
    words = ops.trim(ops.remove(ops.upper(cells), "级$"))
    values, found = _lookup(words, LEVEL_WORDS, ops)
    numbers = ops.numbers(cells)
    numeric = np.isin(numbers, LEVEL_NUMBERS)
    levels = np.where(found, values, np.where(numeric, numbers, 0)).astype(np.int64)
    found |= numeric
    return pd.arrays.IntegerArray(levels, ~found), _unmatched(f, found, present)


def _unmatched(f: FieldSpec, found: np.ndarray, present: np.ndarray) -> list[Invalid]:
    return [Invalid(present & ~found, "无效", f.describe_expected())]


PARSERS: dict[str, Parser] = {
    "text": _parse_text, "school_ref": _parse_text, "county_ref": _parse_text,
    "count": _parse_number, "number": _parse_number, "year": _parse_number, "percent": _parse_percent,
    "rate01": _parse_number, "bool": _parse_bool, "enum": _parse_enum, "level": _parse_level,
}


# Metadata values (metadata.yaml, the 元数据 sheet)


def synthetic_flag(metadata: dict, source: str, problems: list[Problem]) -> bool:
    value = metadata.get("synthetic")
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    flag = BOOL_WORDS.get(str(value).strip().lower())
    if flag is None:
        problems.append(metadata_problem(str(value), f"无效({source})", "是/否 或 true/false"))
        return False
    return flag

"""Parsing a dataset: text columns → typed columns of the catalogue (vectorised Arrow and numpy:
a national dataset has hundreds of thousands of rows), with a problem for every bad cell.

Problem objects are built only for bad cells; a bad cell is NA in the parsed frame, so the
cross-checks after it (junheng.data.crosschecks) never report the same mistake again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from junheng.amounts import NOT_PLAIN, parse_amount
from junheng.data.catalog import FieldSpec, TableSpec
from junheng.data.dataset import conform
from junheng.data.names import header_field
from junheng.data.problems import Problem
from junheng.data.reading import RawTable, filled_cells, metadata_problem, table_problem


BOOL_WORDS = {
    "是": True, "否": False, "yes": True, "no": False, "true": True, "false": False,
    "1": True, "0": False, "1.0": True, "0.0": False,
}
LEVEL_WORDS = {
    "1": 1, "2": 2, "3": 3, "4": 4, "Ⅰ": 1, "Ⅱ": 2, "Ⅲ": 3, "Ⅳ": 4, "I": 1, "II": 2, "III": 3, "IV": 4,
}
YEAR_RANGE = (1900, 2100)


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


def parse_table(raw: RawTable, warnings: list[str]) -> tuple[ParsedTable, list[Problem]]:
    spec = raw.spec
    columns, extras, problems = _match_columns(raw, warnings)
    data: dict[str, object] = {}
    text: dict[str, pa.ChunkedArray] = {}
    failures: list[tuple[FieldSpec, Invalid]] = []
    for f in spec.fields:
        if f.key not in columns:
            continue
        cells = raw.columns[columns[f.key]]
        present = filled_cells(cells)
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
        elif filled_cells(raw.columns[position]).any():
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

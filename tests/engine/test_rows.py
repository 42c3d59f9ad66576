"""How the assembly reads the engine's tables (junheng.engine.rows) and the helpers a nation's
evaluation relies on for speed: the same answers as the plain ways they replace."""

import gc
import math

import pandas as pd
import pyarrow as pa
import pytest

from junheng.data.dataset import column_values
from junheng.engine.evaluate import paused_collector
from junheng.engine.rows import EMPTY, Grouped, SchoolYearLookup


def _table() -> pa.Table:
    return pa.table({
        "county_code": ["B", "A", "B", "A", "A"],
        "year": [2024, 2024, 2023, 2024, 2023],
        "school_id": ["b1", "a2", "b0", "a1", "a0"],
        "value": pa.array([1.0, float("nan"), None, 2.5, 3.0], pa.float64()),
        "amount": pa.array([1, 2, 3, 4, 5], pa.decimal128(10, 2)),
    })


def test_groups_hold_each_county_years_rows_in_the_backends_order():
    grouped = Grouped(_table())
    a = grouped.get(("A", 2024))
    assert len(a) == 2
    assert a.column("school_id") == ["a2", "a1"]  # stable: the order the backend gave
    assert [r["school_id"] for r in a] == ["a2", "a1"]
    assert grouped.get(("B", 2023)).column("school_id") == ["b0"]
    assert len(grouped.get(("C", 2024))) == 0 and list(grouped.get(("C", 2024))) == []


def test_groups_can_be_ordered_within_a_county_year():
    grouped = Grouped(_table(), order=("school_id",))
    assert grouped.get(("A", 2024)).column("school_id") == ["a1", "a2"]


def test_values_are_plain_python_nan_as_missing_decimal_as_float():
    rows = Grouped(_table()).get(("A", 2024))
    first = rows.row(0)
    assert first["value"] is None  # NaN: not known
    assert isinstance(first["amount"], float) and first["amount"] == 2.0
    assert rows.row(1)["value"] == 2.5
    assert rows.has("value") and not rows.has("nothing")


def test_one_row_per_county_year_and_none_without():
    grouped = Grouped(pa.table({"county_code": ["A"], "year": [2024], "x": [1]}))
    assert grouped.one(("A", 2024)) == {"county_code": "A", "year": 2024, "x": 1}
    assert grouped.one(("A", 2023)) is None


def test_empty_tables_and_pandas_frames_are_read_too():
    frame = pd.DataFrame({"county_code": pd.Series(["A"], dtype="string"), "year": pd.Series([2024], dtype="Int64"),
                          "v": pd.Series([None], dtype="Float64")})
    assert Grouped(frame).get(("A", 2024)).row(0) == {"county_code": "A", "year": 2024, "v": None}
    empty = Grouped(pa.table({"county_code": pa.array([], pa.string()), "year": pa.array([], pa.int64())}))
    assert len(empty.get(("A", 2024))) == 0
    assert len(EMPTY) == 0


def test_school_year_lookup_finds_a_row_by_school_and_year_as_plain_values():
    frame = pd.DataFrame({"school_id": pd.Series(["S1", "S1", "S2"], dtype="string"),
                          "year": pd.Series([2023, 2024, 2024], dtype="Int64"),
                          "sports_area": pd.Series([1.5, None, 2.0], dtype="Float64")})
    lookup = SchoolYearLookup(frame)
    assert lookup.row("S1", 2024) == {"school_id": "S1", "year": 2024, "sports_area": None}
    assert lookup.row("S1", 2023)["sports_area"] == 1.5
    assert lookup.row("S9", 2024) == {}


def test_column_values_are_python_values_with_none():
    assert column_values(pd.Series([1, None], dtype="Int64")) == [1, None]
    assert column_values(pd.Series(["x", None], dtype="string")) == ["x", None]
    assert column_values(pd.Series([True, None], dtype="boolean")) == [True, None]
    values = column_values(pd.Series([0.5, None], dtype="Float64"))
    assert values[0] == 0.5 and values[1] is None and not any(isinstance(v, float) and math.isnan(v) for v in values)


def test_paused_collector_restores_the_collector_and_leaves_nothing_frozen():
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with paused_collector():
        assert not gc.isenabled()
        made = [[i] for i in range(1000)]  # noqa: F841 (objects made while paused)
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen  # aged into the oldest generation, not frozen for good
    gc.disable()
    try:
        with paused_collector():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_paused_collector_leaves_what_someone_else_froze_frozen():
    keep = [object() for _ in range(10)]  # noqa: F841
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with paused_collector():
            pass
        assert gc.get_freeze_count() == before
    finally:
        gc.unfreeze()

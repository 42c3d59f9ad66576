"""One declaration of the rules, two ways of running them (issue 17): `validate_rows` holds a
form's few cells as Python lists (junheng.data.cells.PLAIN) and an import's as Arrow arrays
(ARROW). Both must give the same Dataset (values, dtypes, columns, warnings) or the same refusal
(the same problems, text and order), whatever the rows hold.

Hypothesis runs derandomized with a bounded number of examples; to hunt for new cases:
JUNHENG_FUZZ_EXAMPLES=3000 JUNHENG_FUZZ_RANDOM=1 pytest tests/data/test_scalar_rules.py
"""

from __future__ import annotations

import os

import builders
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from dataset_files import valid_tables
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from junheng.data import cells
from junheng.data.catalog import catalog
from junheng.data.cells import ARROW, PLAIN
from junheng.data.importer import PLAIN_ROWS, validate_rows, validate_rows_with
from junheng.data.parsing import BOOL_WORDS, YEAR_RANGE
from junheng.data.problems import DatasetInvalid

SAME = settings(max_examples=int(os.environ.get("JUNHENG_FUZZ_EXAMPLES", 200)), deadline=None,
                derandomize=not os.environ.get("JUNHENG_FUZZ_RANDOM"), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def outcome(rows: dict, ops):
    """What validating gives, in comparable form: the frames and warnings, or the refusal."""
    try:
        dataset = validate_rows_with(rows, ops)
    except DatasetInvalid as exc:
        return "refused", exc.problems, exc.warnings, exc.user_message()
    except Exception as exc:  # noqa: BLE001 - the same failure, whatever it is
        return "raised", type(exc).__name__, str(exc)
    return "valid", dataset, dataset.warnings, dataset.synthetic


def assert_same(rows: dict) -> str:
    arrow, plain = outcome(rows, ARROW), outcome(rows, PLAIN)
    assert arrow[0] == plain[0], (arrow, plain)
    if arrow[0] != "valid":
        assert arrow == plain
        return arrow[0]
    a, b = arrow[1], plain[1]
    assert arrow[2:] == plain[2:]
    for name in a.TABLES:
        fa, fb = a.table(name), b.table(name)
        assert list(fa.columns) == list(fb.columns), name
        assert list(map(str, fa.dtypes)) == list(map(str, fb.dtypes)), name
        assert fa.equals(fb), (name, fa.to_dict("records"), fb.to_dict("records"))
    return "valid"


# ---------------------------------------------------------------- hostile rows

HOSTILE = ["", " ", "  7 ", "\u3000", "\t1\n", "1e400", "-1e400", "1e308", "1e-400", "nan", "NaN", "inf", "-inf",
           "Infinity", "-0", "0", "1", "1.0", "0.0", "0.5", "0.95", "1.5", "100", "100%", "95％", "120%", "0.5%",
           "12 %", "%", "9" * 40, "1_000", "1,000", "7,181,900", "8.86万", "1.2亿元", "300 元", "万", "0x10", "١٢",
           "１２", "+1", "+.5e-3", "5.", ".5", "1e5", "1E+05", "1.5e", "是", "否", "YES", "True", "fAlSe", "Ⅲ", "ⅲ",
           "3级", "iv", "IV级", "4.0", "2024", "2024.0", "1899", "2101", "2024年", "小学", "PRIMARY", "城区", "Urban",
           "İ", "ß", "x" * 201, "测" * 250, "a\nb", "\u202e12", "😀", "=1+1", "None", "null", "【填写说明】x",
           "national-2017", "unknown-standard", builders.COUNTY, "P1", "C1", "T1", "ZZ"]

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)  # lone surrogates are no UTF-8
PAD = st.sampled_from(["", " ", "\t", "\n", "\u3000", "\xa0", "\x1c", "\u2028", "\u200b", "\ufeff"])
VALUE = st.one_of(
    st.sampled_from(HOSTILE), TEXT, st.builds(lambda a, v, b: a + v + b, PAD, st.sampled_from(HOSTILE), PAD), st.none(), st.booleans(),
    st.integers(min_value=-10**30, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 2, 45, 46, 50, 51, 1_000_000, 1_000_001, 1e7, 1e12, 2.5]),
)
TABLES = ("schools", "counties", "school_year", "county_year", "quality")


def _base() -> dict[str, list[dict]]:
    tables = valid_tables()
    return {name: [dict(row) for row in rows] for name, rows in tables.items()}


@st.composite
def rows_of_a_save(draw) -> dict[str, list[dict]]:
    """A few tables of the valid dataset (as a form or the API sends them: text or numbers),
    then corrupted: cells replaced, keys dropped or added, rows repeated, emptied or removed."""
    base = _base()
    names = draw(st.lists(st.sampled_from(TABLES), min_size=1, max_size=5, unique=True))
    rows = {}
    for name in names:
        table = base[name]
        count = draw(st.integers(min_value=0, max_value=min(4, len(table))))
        rows[name] = [dict(row) for row in table[:count]]
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        name = draw(st.sampled_from(names))
        table = rows[name]
        spec = catalog().table(name)
        action = draw(st.sampled_from(["set", "set", "set", "set", "drop", "extra", "repeat", "empty", "label"]))
        if not table and action != "repeat":
            continue
        if action == "repeat":
            table.append(dict(draw(st.sampled_from(table or base[name]))))
            continue
        row = draw(st.sampled_from(table))
        key = draw(st.sampled_from(spec.keys))
        if action == "set":
            row[key] = draw(VALUE)
        elif action == "drop":
            row.pop(key, None)
        elif action == "extra":
            row[draw(st.sampled_from(["备注", "", " ", "unknown", "小学在校生数(万人)", "teaching_aux_area(平方米)"]))] = draw(VALUE)
        elif action == "empty":
            row.clear()
            row.update({k: "" for k in spec.key})
        elif action == "label":  # the key's Chinese label as well (a repeated column) or instead
            row[spec.field(key).label] = row.pop(key, draw(VALUE)) if draw(st.booleans()) else draw(VALUE)
    return rows


@SAME
@given(rows_of_a_save())
@example({"school_year": [builders.school_year("P1") | {"students_junior": 3, "sports_area": "1e308"}],
          "schools": [builders.school("P1")]})
@example({"county_year": [builders.county_year(training_completion_rate="0.5", social_recognition_rate=1)]})
@example({"county_year": [builders.county_year(training_completion_rate="\t95\n", layout_reasonable="\x1c是\u3000")]})
@example({"county_year": [builders.county_year(training_completion_rate=1, social_recognition_rate="1%")]})
@example({"quality": [{"county_code": "1", "year": 2024, "subject": "语文", "level": "İV", "inter_school_diff_rate": "nan"}]})
@example({"schools": [builders.school("A"), builders.school("A"), {"school_id": "", "school_name": "x"}]})
@example({"schools": [builders.school("T", "teaching_point", parent_school_id="NOPE")],
          "school_year": [builders.school_year("T", "teaching_point")]})
@example({"counties": [{"county_code": "1", "standard": "nope"}], "schools": [builders.school("A") | {"county_code": "2"}]})
def test_plain_and_arrow_cells_give_the_same_result(rows):
    event(assert_same(rows))


# ---------------------------------------------------------------- known rows


def _text(row: dict) -> dict:
    return {k: "" if v is None else str(v) for k, v in row.items()}


def test_a_valid_school_year_row_reads_the_same_either_way():
    rows = {"schools": [_text(builders.school("P1"))], "school_year": [_text(builders.school_year("P1"))]}
    assert assert_same(rows) == "valid"
    dataset = validate_rows(rows)
    frame = dataset.school_year
    assert frame["year"].tolist() == [2024] and str(frame["year"].dtype) == "Int64"
    assert frame["students_primary"].tolist() == [1000] and frame["has_charter"].tolist() == [True]
    assert frame["moral_rating"].tolist() == ["good"] and str(frame["moral_rating"].dtype) == "string"
    assert len(dataset.county_year) == 0 and list(dataset.county_year.columns) == catalog().table("county_year").keys


def test_bad_cells_of_one_row_are_refused_with_the_same_problems():
    row = _text(builders.school_year("P1")) | {"year": "x", "students_junior": "3", "teachers_above_qual_primary": "99999",
                                               "sports_area": "1e308", "has_charter": "maybe"}
    rows = {"schools": [_text(builders.school("P1"))], "school_year": [row]}
    assert assert_same(rows) == "refused"
    with pytest.raises(DatasetInvalid) as caught:
        validate_rows(rows)
    assert [(p.column, p.message) for p in caught.value.problems] == [
        ("year", "无效"),
        ("students_junior", "无效:学校类型为“小学”,没有初中学段"),
        ("teachers_above_qual_primary", "大于同一行“小学专任教师数”的取值“100”"),
        ("sports_area", "超出合理范围"),
        ("has_charter", "无效"),
    ]


def test_a_column_of_fractions_is_judged_as_a_column_either_way():
    rows = {"county_year": [builders.county_year(training_completion_rate=v) for v in (1, 0.5)]}
    rows["county_year"][1]["year"] = 2025
    assert assert_same(rows) == "refused"
    with pytest.raises(DatasetInvalid) as caught:
        validate_rows(rows)
    messages = [p.message for p in caught.value.problems if p.column == "training_completion_rate"]
    assert messages == ["像是小数形式的比例(本列所有取值都在 0 到 1 之间)", "像是小数形式的比例"]


def test_a_form_save_runs_no_arrow_kernel(monkeypatch):
    """A one-row save is validated on Python lists; above PLAIN_ROWS rows, on Arrow arrays."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("an Arrow kernel ran")

    for name in ("trim", "numbers", "lower", "matches", "index_in", "known", "isin", "repeats"):
        monkeypatch.setattr(cells.ArrowCells, name, staticmethod(refuse))
    rows = {"schools": [_text(builders.school("P1"))], "school_year": [_text(builders.school_year("P1"))]}
    assert validate_rows(rows).school_year["students_primary"].tolist() == [1000]
    many = {"schools": [_text(builders.school(f"S{i}")) for i in range(PLAIN_ROWS + 1)]}
    with pytest.raises(AssertionError, match="Arrow kernel"):
        validate_rows(many)


def test_many_rows_give_the_same_result_either_way():
    tables = valid_tables()
    tables["school_year"] = tables["school_year"] * 10  # repeats: duplicate keys
    assert sum(map(len, tables.values())) > PLAIN_ROWS
    assert assert_same(tables) == "refused"
    del tables["school_year"]
    assert assert_same(tables) == "valid"


# ---------------------------------------------------------------- the cells' operations agree


def _every_character() -> list[str]:
    return [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def test_python_trims_exactly_the_whitespace_arrow_trims():
    chars = _every_character()
    padded = [f"{c}x{c}" for c in chars]
    assert PLAIN.trim(padded) == pc.utf8_trim_whitespace(pa.array(padded)).to_pylist()


def test_case_folding_agrees_with_arrow():
    chars = _every_character()
    for fold, kernel in ((PLAIN.lower, pc.utf8_lower), (PLAIN.upper, pc.utf8_upper)):
        assert fold(chars) == kernel(pa.array(chars)).to_pylist()


@given(st.lists(st.one_of(st.sampled_from(HOSTILE), TEXT), max_size=6))
@SAME
def test_numbers_and_patterns_agree_with_arrow(texts):
    texts = [t.strip() for t in texts]
    column = ARROW.column(texts)
    assert np.array_equal(PLAIN.numbers(texts), ARROW.numbers(column), equal_nan=True)
    for pattern in ("[%\uff05]$", "级$", "[,，元万亿]", cells.NUMBER_PATTERN):
        assert PLAIN.matches(texts, pattern).tolist() == ARROW.matches(column, pattern).tolist()
        assert PLAIN.remove(texts, pattern) == ARROW.values(ARROW.remove(column, pattern))
    assert PLAIN.length(texts).tolist() == ARROW.length(column).tolist()


# ---------------------------------------------------------------- the rules are declared once


def test_the_types_accept_what_format_yaml_declares():
    types = catalog().types
    year = catalog().table("school_year").field("year")
    assert (year.low, year.high, year.integer) == (types["year"].min, types["year"].max, True)
    assert YEAR_RANGE == (1900, 2100)
    assert BOOL_WORDS == types["bool"].words and BOOL_WORDS["是"] is True
    rate = catalog().table("quality").field("inter_school_diff_rate")
    assert (rate.low, rate.high, rate.integer) == (0, 1, False)
    assert all(f.low == 0 and f.integer for t in catalog().tables.values() for f in t.fields if f.type == "count")


def test_a_declared_range_is_what_both_ways_enforce(monkeypatch):
    """Narrow the year's declared range: both ways refuse the year that is now outside it."""
    school_year = catalog().table("school_year")
    narrowed = tuple(f.model_copy(update={"high": 2020.0}) if f.key == "year" else f for f in school_year.fields)
    monkeypatch.setitem(catalog().tables, "school_year", school_year.model_copy(update={"fields": narrowed}))
    rows = {"school_year": [{"school_id": "P1", "year": "2024"}]}
    for ops in (ARROW, PLAIN):
        with pytest.raises(DatasetInvalid) as caught:
            validate_rows_with(rows, ops)
        assert [(p.column, p.message) for p in caught.value.problems] == [("year", "无效")]

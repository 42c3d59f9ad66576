"""County-year rates computed from counts before evaluation (docs/methods.md, "初中三年巩固率 (Q1)
and 残疾儿童少年入学率 (Q2) from counts").

The format declares each derivation as data (format.yaml `derived`, junheng.data.catalog.Derivation):
a percent field of county_year and the counts of the same row it is computed from. For every
county-year row whose inputs are all given and whose denominator is above 0 the target takes the
computed value (unrounded) and the value's source says how it was computed (Dataset.value_sources,
shown by every face after "数据来源:"); the typed value, if any, is kept in the source's details and
flagged when it is further off than the derivation's tolerance. Partial counts or a denominator of 0
leave the typed value standing, with a warning. The rows are few (one per county and year): plain
Python over the rows, no expression engine.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import pyarrow as pa

from junheng.data.catalog import Derivation, catalog
from junheng.data.dataset import Dataset
from junheng.engine.tolerance import EPS
from junheng.engine.wording import num

Pair = tuple[str, int]


@dataclass
class Outcome:
    """What one derivation gives for one county-year row."""

    value: float | None = None  # the computed value, when it is used
    source: dict | None = None  # its ValueSource (as a dict), when it is used
    warnings: list[str] = field(default_factory=list)


@dataclass
class Derived:
    """A dataset with its derivations applied, and the warnings per county-year and target field."""

    dataset: Dataset
    notes: dict[Pair, list[tuple[str, str]]] = field(default_factory=dict)
    county_year: pa.Table | None = None  # the derived county_year as Arrow: what the engine reads

    def warnings(self, pair: Pair, fields: set[str] | None = None) -> list[str]:
        """The warnings of a county-year, only of the targets in `fields` when given (the fields
        the evaluating standard reads: a rate it does not judge is not worth a line)."""
        return [text for target, text in self.notes.get(pair, []) if fields is None or target in fields]


def _present(value) -> bool:
    # pandas' NA is recognised by its type's name: a row from a frame may hold it, and this module
    # does not import pandas for that
    return (value is not None and not (isinstance(value, float) and math.isnan(value))
            and type(value).__name__ != "NAType")


def _label(key: str) -> str:
    return catalog().field_label(key, "county_year")


def _term(d: Derivation, key: str) -> str:
    return d.terms.get(key) or _label(key)


def _side(d: Derivation, terms, row: dict | None) -> str:
    """One side of the formula: `该届初三在校生 1,180 人`, or `(初一入学 1,200 + 转入 20 − 转出 15)`;
    without a row, the names alone in brackets (`(初一入学 + 转入 − 转出)`)."""
    parts = [(sign, key) for sign, keys in (("+", terms.plus), ("−", terms.minus)) for key in keys]

    def one(key: str) -> str:
        return _term(d, key) if row is None else f"{_term(d, key)} {num(row[key])}"

    text = one(parts[0][1]) + "".join(f" {sign} {one(key)}" for sign, key in parts[1:])
    if len(parts) > 1 or row is None:
        return f"({text})"
    unit = catalog().table("county_year").field(parts[0][1]).unit
    return text + (f" {unit}" if row is not None and unit else "")


def _formula(d: Derivation, row: dict, value: float) -> str:
    text = f"{_side(d, d.numerator, row)} ÷ {_side(d, d.denominator, row)} = {num(value, '%')}"
    return text.replace(" (", "(").replace(") ", ")")  # full-width brackets carry their own space


def _sum(terms, row: dict) -> float:
    return float(sum(row[k] for k in terms.plus) - sum(row[k] for k in terms.minus))


def derive(d: Derivation, row: dict) -> Outcome:
    """Apply one derivation to one county_year row (a dict by field key, missing values None/NaN)."""
    name = _label(d.target)
    typed = float(row[d.target]) if _present(row.get(d.target)) else None
    typed_text = (f",评估采用填报值 {num(typed, '%')}" if typed is not None
                  else f",且未填报{name}")
    given = [k for k in d.inputs if _present(row.get(k))]
    if not given:
        return Outcome()  # the rate is typed, as it always could be
    missing = [k for k in d.inputs if k not in given]
    if missing:
        return Outcome(warnings=[f"由{d.basis}计算{name}缺少{'、'.join(_label(k) for k in missing)}{typed_text}"])
    values = {k: int(row[k]) for k in d.inputs}
    denominator = _sum(d.denominator, values)
    if denominator <= 0:
        return Outcome(warnings=[f"{name}无法由{d.basis}计算:计算基数{_side(d, d.denominator, None)}为 "
                                 f"{num(denominator)}{typed_text}"])
    value = d.scale * _sum(d.numerator, values) / denominator
    label = f"由{d.basis}计算:{_formula(d, values, value)}"
    warnings = []
    if typed is not None and abs(typed - value) > d.tolerance + EPS:
        label += f";填报值 {num(typed, '%')} 与计算值不符,未采用"
        warnings.append(f"{name}填报为 {num(typed, '%')},由{d.basis}计算为 {num(value, '%')},评估采用计算值")
    if value > 100 + EPS:
        label += ";超过 100%,请核对人数"
        warnings.append(f"{name}由{d.basis}计算为 {num(value, '%')},超过 100%,不合常理,请核对"
                        + "、".join(_label(k) for k in d.inputs))
    details = {**values, "numerator": _sum(d.numerator, values), "denominator": denominator, "computed": value,
               "typed": typed}
    source = {"kind": "computed", "ref": f"county_year:{d.target}", "label": label, "details": details}
    return Outcome(value=value, source=source, warnings=warnings)


def apply_derivations(dataset: Dataset) -> Derived:
    """The dataset with every derivation applied to its county_year rows (a new Dataset; the one
    given is not changed, nor returned copied when no row has any input of a derivation)."""
    derivations = list(catalog().derived.values())
    table = dataset.arrow("county_year")
    inputs = [k for d in derivations for k in d.inputs if k in table.column_names]
    if not table.num_rows or not inputs or all(table.column(k).null_count == table.num_rows for k in inputs):
        return Derived(dataset, county_year=table)
    sources = {pair: dict(fields) for pair, fields in dataset.value_sources.items()}
    notes: dict[Pair, list[tuple[str, str]]] = {}
    columns = ["county_code", "year", *dict.fromkeys(k for d in derivations for k in (d.target, *d.inputs))]
    targets = {d.target: table.column(d.target).to_pylist() for d in derivations}
    for i, row in enumerate(table.select(columns).to_pylist()):
        pair = (str(row["county_code"]), int(row["year"]))
        for d in derivations:
            outcome = derive(d, row)
            notes.setdefault(pair, []).extend((d.target, w) for w in outcome.warnings)
            if outcome.value is not None:
                targets[d.target][i] = outcome.value
                sources.setdefault(pair, {})[d.target] = outcome.source
    for target, values in targets.items():
        at = table.schema.get_field_index(target)
        table = table.set_column(at, table.schema.field(at), pa.array(values, type=table.schema.field(at).type))
    notes = {pair: lines for pair, lines in notes.items() if lines}
    derived = dataclasses.replace(dataset.with_tables(county_year=table), value_sources=sources)
    return Derived(derived, notes, county_year=table)

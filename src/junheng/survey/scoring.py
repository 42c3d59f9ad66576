"""Survey rates and their confidence intervals (docs/methods.md, "社会认可度 (S1): rates and intervals").

Two tables go in:

    responses: response_id int64, group string, school_id string (nullable) — valid respondents only
    answers:   response_id int64, item string, outcome int8 (1 recognising, 0 counted, not recognising);
               answers excluded from the denominator (不了解, blank, not shown) are absent

A domain's rate (overall, a group, a school, an item, a group × item) pools its respondents:
R = Σy_i / Σx_i with y_i a respondent's recognising answers and x_i the counted ones. The interval
is the ratio estimator's, linearised, with respondents as clusters:

    var(R) = n/(n−1) · Σ(y_i − R·x_i)² / (Σx_i)²,   CI = R ± z·se clipped to [0, 1]

over the n respondents with x_i > 0. With fixed group weights the overall rate is Σ W_h R_h and
its variance Σ W_h² var(R_h) (stratified by group).

The computation is a handful of Ibis group-bys executed where the tables are (DuckDB by default):
respondent sums first, then per domain n, Σy, Σx, Σy², Σx², Σxy, from which
Σ(y−Rx)² = Σy² − 2RΣxy + R²Σx² is evaluated exactly in integers. Nothing loops over answers in Python.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Mapping

import pandas as pd
import pyarrow as pa

from junheng.errors import JunhengError
from junheng.survey.groups import GROUPS, group_label

if TYPE_CHECKING:
    import ibis

# Bounds on what a user's data may hold (a province is about 2 million responses).
MAX_RESPONSES = 20_000_000
MAX_ANSWERS = 500_000_000
MAX_ITEMS = 1_000
MAX_SCHOOLS = 200_000
MAX_ITEM_LENGTH = 500
MAX_SCHOOL_ID_LENGTH = 100
CONFIDENCE_RANGE = (0.5, 0.999)

RESPONSES_SCHEMA = pa.schema([("response_id", pa.int64()), ("group", pa.string()), ("school_id", pa.string())])
ANSWERS_SCHEMA = pa.schema([("response_id", pa.int64()), ("item", pa.string()), ("outcome", pa.int8())])

# The kinds of domain in the one result table of the computation.
CELL, ITEM = "cell", "item"
SUMS = ("n", "sy", "sx", "syy", "sxx", "sxy")


class SurveyScoreError(JunhengError):
    """The survey's tables or scoring settings cannot be scored (the message says what and where)."""


@dataclass(frozen=True)
class Rate:
    """A domain's recognition rate (0–1) with its interval; rate and interval None without counted answers,
    interval None with fewer than two respondents."""

    rate: float | None
    ci_low: float | None
    ci_high: float | None
    respondents: int = 0  # respondents with at least one counted answer in the domain
    answers: int = 0  # counted answers (recognising or not)
    recognising: int = 0  # recognising answers
    se: float | None = None  # standard error of the rate

    def to_json(self) -> dict[str, Any]:
        return {"rate": self.rate, "ci_low": self.ci_low, "ci_high": self.ci_high, "se": self.se,
                "respondents": self.respondents, "answers": self.answers, "recognising": self.recognising}


EMPTY = Rate(None, None, None)


@dataclass
class SurveyScore:
    """Every rate of a survey. `overall` is the pooled rate, or the weighted one when `weighted`
    (then `pooled` keeps the pooled rate and `weights` the normalised weights)."""

    overall: Rate
    groups: dict[str, Rate] = field(default_factory=dict)
    items: dict[str, Rate] = field(default_factory=dict)
    schools: dict[str, Rate] = field(default_factory=dict)
    group_items: dict[str, dict[str, Rate]] = field(default_factory=dict)
    weighted: bool = False
    confidence: float = 0.95
    pooled: Rate | None = None
    weights: dict[str, float] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "overall": self.overall.to_json(),
            "weighted": self.weighted,
            "confidence": self.confidence,
            "pooled": self.pooled.to_json() if self.pooled is not None else None,
            "weights": dict(self.weights) if self.weights is not None else None,
            "groups": {g: {"label": group_label(g), **r.to_json()} for g, r in self.groups.items()},
            "items": {i: r.to_json() for i, r in self.items.items()},
            "schools": {s: r.to_json() for s, r in self.schools.items()},
            "group_items": {g: {i: r.to_json() for i, r in items.items()} for g, items in self.group_items.items()},
        }


# ---------------------------------------------------------------------------------------------
# Public entry points


def score(responses, answers, *, group_weights: Mapping[str, float] | None = None,
          confidence: float = 0.95) -> SurveyScore:
    """All rates of a survey from its two tables.

    `responses` and `answers` are Ibis tables (on one backend; they run there), or pandas/pyarrow
    tables (then they go to an embedded DuckDB, as `score_frames`).
    """
    if not _is_ibis(responses) or not _is_ibis(answers):
        if _is_ibis(responses) or _is_ibis(answers):
            raise SurveyScoreError("答卷表和回答表须同为 Ibis 表,或同为数据表(pandas/pyarrow)。")
        return score_frames(responses, answers, group_weights=group_weights, confidence=confidence)
    z = _z(confidence)
    weights = _check_weights(group_weights)
    responses = _conform(responses, RESPONSES_SCHEMA, "答卷表(responses)")
    answers = _conform(answers, ANSWERS_SCHEMA, "回答表(answers)")
    _check_rows(_rows(_checks_expr(responses).to_pyarrow()))
    sums = _rows(_sums_expr(responses, answers).to_pyarrow())
    return _assemble(sums, z, confidence, weights)


def score_frames(responses_df, answers_df, *, group_weights: Mapping[str, float] | None = None,
                 confidence: float = 0.95, backend=None) -> SurveyScore:
    """`score` on pandas DataFrames or pyarrow Tables, registered on the engine's backend
    (embedded DuckDB unless `backend`, an Ibis backend, is given); the compiled SQL is cached."""
    from junheng.engine.backend import Tables

    z = _z(confidence)
    weights = _check_weights(group_weights)
    tables = Tables(backend=backend, prefix="junheng_survey_")
    tables.put("responses", _arrow(responses_df, RESPONSES_SCHEMA, "答卷表(responses)"))
    tables.put("answers", _arrow(answers_df, ANSWERS_SCHEMA, "回答表(answers)"))
    key = _code_fingerprint()
    checks = tables.execute(f"survey-checks|{key}",
                            lambda: _checks_expr(tables.table("responses")))
    _check_rows(_frame_rows(checks))
    sums = tables.execute(f"survey-sums|{key}",
                          lambda: _sums_expr(tables.table("responses"), tables.table("answers")))
    return _assemble(_frame_rows(sums), z, confidence, weights)


def rate_from_sums(n: int, sy: int, sx: int, syy: int, sxx: int, sxy: int, z: float) -> Rate:
    """A domain's Rate from its respondent sums: n respondents with x_i > 0, Σy, Σx, Σy², Σx², Σxy."""
    if not sx:
        return Rate(None, None, None, respondents=int(n or 0), answers=0, recognising=0)
    n, sy, sx, syy, sxx, sxy = (int(v) for v in (n, sy, sx, syy, sxx, sxy))
    rate = sy / sx
    if n <= 1:
        return Rate(rate, None, None, respondents=n, answers=sx, recognising=sy)
    # Σ(y − Rx)² · (Σx)² with R = Σy/Σx, exactly in integers: no cancellation, never negative.
    residual = max(0, syy * sx * sx - 2 * sy * sxy * sx + sy * sy * sxx)
    variance = float(Fraction(n * residual, (n - 1) * sx ** 4))
    se = math.sqrt(variance)
    return Rate(rate, max(0.0, rate - z * se), min(1.0, rate + z * se), respondents=n, answers=sx,
                recognising=sy, se=se)


# ---------------------------------------------------------------------------------------------
# Settings and input checks


def _z(confidence: float) -> float:
    low, high = CONFIDENCE_RANGE
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not math.isfinite(confidence) \
            or not low <= confidence <= high:
        raise SurveyScoreError(f"置信水平(confidence)应为 {low} 到 {high} 之间的小数(如 0.95),"
                               f"现为 {confidence!r}。")
    return NormalDist().inv_cdf(1 - (1 - float(confidence)) / 2)


def _check_weights(weights: Mapping[str, float] | None) -> dict[str, float] | None:
    if weights is None:
        return None
    if not isinstance(weights, Mapping) or not weights:
        raise SurveyScoreError("组别权重(group_weights)应为“组别: 权重”的对照表,且至少列出一个组别。")
    out = {}
    for group, weight in weights.items():
        if group not in GROUPS:
            raise SurveyScoreError(f"组别权重中的组别“{group}”不是已知组别;应为 {'、'.join(GROUPS)} 之一。")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) \
                or weight < 0:
            raise SurveyScoreError(f"组别“{group_label(group)}”({group})的权重应为不小于 0 的数,现为 {weight!r}。")
        out[group] = float(weight)
    if sum(out.values()) <= 0:
        raise SurveyScoreError("组别权重之和应大于 0。")
    return out


def _is_ibis(table) -> bool:
    try:
        import ibis.expr.types as ir
    except ImportError:  # pragma: no cover - ibis is a dependency
        return False
    return isinstance(table, ir.Table)


def _conform(table: "ibis.Table", schema: pa.Schema, what: str) -> "ibis.Table":
    """The table's contract columns, cast to the contract's types."""
    missing = [f.name for f in schema if f.name not in table.columns]
    if missing:
        raise SurveyScoreError(f"{what}缺少列:{'、'.join(missing)};应有列 {'、'.join(schema.names)}。")
    import ibis

    return table.select(**{f.name: table[f.name].cast(ibis.dtype(f.type)) for f in schema})


def _arrow(data, schema: pa.Schema, what: str) -> pa.Table:
    if isinstance(data, pd.DataFrame):
        columns = list(data.columns)
        get = lambda name: data[name]  # noqa: E731
    elif isinstance(data, pa.Table):
        columns = data.column_names
        get = lambda name: data.column(name)  # noqa: E731
    else:
        raise SurveyScoreError(f"{what}应为数据表(pandas DataFrame 或 pyarrow Table)。")
    missing = [f.name for f in schema if f.name not in columns]
    if missing:
        raise SurveyScoreError(f"{what}缺少列:{'、'.join(missing)};应有列 {'、'.join(schema.names)}。")
    if len(data) > (MAX_RESPONSES if schema is RESPONSES_SCHEMA else MAX_ANSWERS):
        limit = MAX_RESPONSES if schema is RESPONSES_SCHEMA else MAX_ANSWERS
        raise SurveyScoreError(f"{what}有 {len(data):,} 行,超过上限 {limit:,} 行。")
    fields, arrays = [], []
    for f in schema:
        column = get(f.name)
        try:
            array = column if isinstance(column, (pa.Array, pa.ChunkedArray)) else pa.array(
                column, from_pandas=True)
            target = f.type
            if pa.types.is_string(f.type) and pa.types.is_dictionary(array.type) \
                    and pa.types.is_string(array.type.value_type):
                # dictionary-encoded text (a pandas Categorical) stays encoded: DuckDB groups its codes
                target = pa.dictionary(pa.int32(), pa.string())
            arrays.append(array.cast(target))
            fields.append(pa.field(f.name, target))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError) as exc:
            raise SurveyScoreError(f"{what}的列 {f.name} 应为{_type_name(f.type)},有不能转换的值"
                                   f"({type(exc).__name__})。") from None
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _type_name(dtype: pa.DataType) -> str:
    return "整数" if pa.types.is_integer(dtype) else "文字"


def _checks_expr(responses: "ibis.Table") -> "ibis.Table":
    """One row: the responses' rows, identified rows and distinct ids (duplicates count twice in rates)."""
    r = responses
    return r.aggregate(rows=r.count(), ids=r.response_id.count(), distinct_ids=r.response_id.nunique())


def _check_rows(rows: list[dict[str, Any]]) -> None:
    c = {k: int(v or 0) for k, v in (rows[0] if rows else {}).items()}
    problems = []
    if c.get("rows", 0) > MAX_RESPONSES:
        problems.append(f"答卷表有 {c['rows']:,} 行,超过上限 {MAX_RESPONSES:,}")
    if c.get("rows", 0) != c.get("ids", 0):
        problems.append(f"答卷表有 {c['rows'] - c['ids']} 行没有答卷编号(response_id)")
    if c.get("ids", 0) != c.get("distinct_ids", 0):
        problems.append(f"答卷表的答卷编号(response_id)有重复({c['ids'] - c['distinct_ids']} 行)")
    if problems:
        raise SurveyScoreError("不能计算满意度:" + ";".join(problems) + "。")


# ---------------------------------------------------------------------------------------------
# The computation


def _sums_expr(responses: "ibis.Table", answers: "ibis.Table") -> "ibis.Table":
    """The two group-bys everything else is summed from, as one table (kind, grp, key, rows, bad, n, Σ…):

    - kind "cell": respondents by group × school (key: school_id, null for none): n respondents
      with x_i > 0, Σy, Σx, Σy², Σx², Σxy over the respondent sums y_i, x_i (0 for a respondent
      without counted answers), and all rows; overall, group and school sums add these up;
    - kind "item": answers of valid respondents by group × item (grp: the group's index in GROUPS,
      as text; key: item): one answer per
      respondent and item, so x_i = 1, y_i = outcome: n = Σx = Σx² = answers, Σy = Σy² = Σxy =
      recognising answers; `bad` counts outcomes other than 0 and 1.
    """
    import ibis

    r, a = responses, answers
    outcome = a.outcome.cast("int64")
    per = a.group_by("response_id").aggregate(y=outcome.sum(), x=a.count())
    joined = r.left_join(per, r.response_id == per.response_id)
    people = joined.select(r.group, r.school_id, y=per.y.fill_null(0), x=per.x.fill_null(0))
    cells = people.group_by(["group", "school_id"]).aggregate(
        rows=people.count(), bad=ibis.literal(0, "int64"), n=(people.x > 0).cast("int64").sum(),
        sy=people.y.sum(), sx=people.x.sum(), syy=(people.y * people.y).sum(), sxx=(people.x * people.x).sum(),
        sxy=(people.x * people.y).sum())

    # The group travels through the 50-million-row join as a small integer, not as text (a third faster).
    code = ibis.cases(*((r.group == g, i) for i, g in enumerate(GROUPS)), else_=-1).cast("int8")
    valid = a.inner_join(r.select("response_id", group_code=code), "response_id")
    valid_outcome = valid.outcome.cast("int64")
    items = valid.group_by(["group_code", "item"]).aggregate(
        rows=valid.count(), bad=(valid.outcome.isnull() | ~valid.outcome.isin([0, 1])).cast("int64").sum(),
        sy=valid_outcome.sum())
    items = items.select("item", "rows", "bad", group=items.group_code.cast("string"), n=items.rows, sy=items.sy,
                         sx=items.rows, syy=items.sy, sxx=items.rows, sxy=items.sy)

    def shaped(t, kind: str, key: str):
        return t.select(kind=ibis.literal(kind), grp=t.group, key=t[key],
                        **{c: t[c].cast("int64") for c in ("rows", "bad", *SUMS)})

    return ibis.union(shaped(cells, CELL, "school_id"), shaped(items, ITEM, "item"), distinct=False)


class _Sums:
    """Additive respondent sums of a domain."""

    __slots__ = SUMS

    def __init__(self) -> None:
        for s in SUMS:
            setattr(self, s, 0)

    def add(self, row: Mapping[str, Any]) -> None:
        for s in SUMS:
            setattr(self, s, getattr(self, s) + int(row[s] or 0))

    def rate(self, z: float) -> Rate:
        return rate_from_sums(*(getattr(self, s) for s in SUMS), z=z)


def _assemble(rows: list[dict[str, Any]], z: float, confidence: float,
              weights: dict[str, float] | None) -> SurveyScore:
    _check_domains(rows)
    overall, groups, schools, items, group_items = _Sums(), {}, {}, {}, {}
    for row in rows:
        if row["kind"] == CELL:
            overall.add(row)
            groups.setdefault(row["grp"], _Sums()).add(row)
            if row["key"] is not None:
                schools.setdefault(row["key"], _Sums()).add(row)
        else:
            items.setdefault(row["key"], _Sums()).add(row)
            group = GROUPS[int(row["grp"])]  # a code ≥ 0: _check_domains refused unknown groups
            group_items.setdefault(group, {}).setdefault(row["key"], _Sums()).add(row)
    order = {g: i for i, g in enumerate(GROUPS)}
    group_rates = {g: groups[g].rate(z) for g in sorted(groups, key=order.__getitem__)}
    result = SurveyScore(
        overall=overall.rate(z),
        groups=group_rates,
        items={i: items[i].rate(z) for i in sorted(items, key=natural_key)},
        schools={s: schools[s].rate(z) for s in sorted(schools, key=natural_key)},
        group_items={g: {i: group_items[g][i].rate(z) for i in sorted(group_items[g], key=natural_key)}
                     for g in sorted(group_items, key=order.__getitem__)},
        confidence=float(confidence),
    )
    if weights is not None:
        result.pooled = result.overall
        result.weights = _normalised(weights, group_rates)
        result.overall = weighted_rate(group_rates, result.weights, z)
        result.weighted = True
    return result


def _check_domains(rows: list[dict[str, Any]]) -> None:
    """What the tables must not hold, read off the group-bys' keys and counts."""
    problems = []
    cells = [row for row in rows if row["kind"] == CELL]
    answers = [row for row in rows if row["kind"] == ITEM]
    if n := sum(int(row["rows"]) for row in cells if row["grp"] is None):
        problems.append(f"答卷表有 {n} 行没有组别(group)")
    unknown = sorted({row["grp"] for row in cells if row["grp"] is not None and row["grp"] not in GROUPS})
    if unknown:
        n = sum(int(row["rows"]) for row in cells if row["grp"] in unknown)
        problems.append(f"答卷表有 {n} 行的组别不是已知组别(“{'”“'.join(unknown[:5])}”);"
                        f"组别应为 {'、'.join(GROUPS)} 之一")
    long_ids = [row["key"] for row in cells if row["key"] is not None and len(row["key"]) > MAX_SCHOOL_ID_LENGTH]
    if long_ids:
        problems.append(f"答卷表有学校代码(school_id)超过 {MAX_SCHOOL_ID_LENGTH} 个字符(如“{long_ids[0][:20]}…”)")
    if n := sum(int(row["rows"]) for row in answers if row["key"] is None):
        problems.append(f"回答表有 {n} 行没有题目(item)")
    long_items = [row["key"] for row in answers if row["key"] is not None and len(row["key"]) > MAX_ITEM_LENGTH]
    if long_items:
        problems.append(f"回答表有题目(item)超过 {MAX_ITEM_LENGTH} 个字符(如“{long_items[0][:20]}…”)")
    if n := sum(int(row["bad"] or 0) for row in answers):
        problems.append(f"回答表有 {n} 行的结果(outcome)不是 1(认可)或 0(不认可);"
                        "不计入分母的回答(如“不了解”)应不列入回答表")
    if (n := len({row["key"] for row in answers})) > MAX_ITEMS:
        problems.append(f"回答表有 {n:,} 道不同的题目,超过上限 {MAX_ITEMS:,}")
    if (n := len({row["key"] for row in cells})) > MAX_SCHOOLS + 1:
        problems.append(f"答卷表有 {n:,} 所不同的学校,超过上限 {MAX_SCHOOLS:,}")
    if problems:
        raise SurveyScoreError("不能计算满意度:" + ";".join(problems) + "。")


def _normalised(weights: dict[str, float], groups: dict[str, Rate]) -> dict[str, float]:
    absent = [g for g in weights if groups.get(g, EMPTY).rate is None]
    if absent:
        raise SurveyScoreError("组别权重列出的组别在有效答卷中没有计入的回答:"
                               + "、".join(f"{group_label(g)}({g})" for g in absent)
                               + ";请去掉这些组别的权重,或补充它们的答卷。")
    unweighted = [g for g, r in groups.items() if r.rate is not None and g not in weights]
    if unweighted:
        raise SurveyScoreError("以下组别有有效答卷,但组别权重中没有它们的权重:"
                               + "、".join(f"{group_label(g)}({g})" for g in unweighted)
                               + ";请为每个有答卷的组别给出权重(可为 0)。")
    total = sum(weights.values())
    return {g: weights[g] / total for g in groups if g in weights}


def weighted_rate(groups: Mapping[str, Rate], weights: Mapping[str, float], z: float) -> Rate:
    """Σ W_h R_h with variance Σ W_h² var(R_h) (stratified by group); `weights` normalised, each
    weighted group with a rate. No interval when a weighted group has no variance (one respondent)."""
    rate = sum(w * groups[g].rate for g, w in weights.items())
    counts = dict(respondents=sum(groups[g].respondents for g in weights),
                  answers=sum(groups[g].answers for g in weights),
                  recognising=sum(groups[g].recognising for g in weights))
    if any(groups[g].se is None for g, w in weights.items() if w > 0):
        return Rate(rate, None, None, **counts)
    se = math.sqrt(sum(w * w * groups[g].se ** 2 for g, w in weights.items() if w > 0))
    return Rate(rate, max(0.0, rate - z * se), min(1.0, rate + z * se), se=se, **counts)


# ---------------------------------------------------------------------------------------------
# Helpers


def natural_key(text: str) -> tuple:
    """"2、…" before "10、…": digits compare as numbers."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part)


@lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    """This module's source: a changed computation never runs an old compiled query from the cache."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


def _frame_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


__all__ = ["Rate", "SurveyScore", "SurveyScoreError", "score", "score_frames", "rate_from_sums", "weighted_rate",
           "RESPONSES_SCHEMA", "ANSWERS_SCHEMA"]


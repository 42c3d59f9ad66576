"""Achievement levels (学业水平 Ⅰ–Ⅳ) from scores and cut scores, as Ibis expressions.

Each score gets the level of its subject's and grade's cuts (a score equal to a cut is in the
higher level; below level_2 is level 1). Level shares are counted per school and per county ×
subject × grade. The county's level is, by default, the level of the pooled county mean score;
the setting `share_of_students` gives instead the highest level L such that the share of the
county's students at level L or above is at least the configured share.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from junheng.engine.tolerance import EPS
from junheng.quality import KEYS, QualityError, execute
from junheng.quality.cuts import CutScores

if TYPE_CHECKING:
    import ibis.expr.types as ir

LEVELS = (1, 2, 3, 4)
LEVEL_NAMES = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ"}
SHARE_COLUMNS = tuple(f"level_{n}" for n in LEVELS)


def level_case(value: "ir.NumericValue", cuts: "ir.Table", eps: float = 0.0) -> "ir.IntegerValue":
    """The level (1–4) of `value` against the joined cut columns cut_2..cut_4 (a value at a cut is in
    the higher level). A score is compared as given; a computed mean with `eps` for binary noise."""
    value = value + eps if eps else value
    return ibis.cases(
        (value >= cuts.cut_4, 4),
        (value >= cuts.cut_3, 3),
        (value >= cuts.cut_2, 2),
        else_=1,
    ).cast("int64")


_CUT_COLUMNS = ("cut_subject", "cut_grade", "cut_2", "cut_3", "cut_4")


def _cut_table(cuts: CutScores) -> "ir.Table":
    """The cuts with column names of their own (the shares have level_1..level_4)."""
    return cuts.table().rename(cut_subject="subject", cut_grade="grade", cut_2="level_2", cut_3="level_3",
                               cut_4="level_4")


def missing_cuts(scores: "ir.Table", cuts: CutScores) -> list[tuple[str, int]]:
    """The (subject, grade) pairs of the scores that have no cut scores."""
    pairs = scores.select("subject", grade=scores.grade.cast("int64")).distinct()
    table = _cut_table(cuts)
    missing = pairs.anti_join(table, [pairs.subject == table.cut_subject, pairs.grade == table.cut_grade])
    frame = execute(missing.order_by(["subject", "grade"]))
    return [(str(s), int(g)) for s, g in zip(frame["subject"], frame["grade"])]


def with_levels(scores: "ir.Table", cuts: CutScores) -> "ir.Table":
    """The scores with a `level` column (int64, 1–4); refuses scores whose subject and grade have no cuts."""
    missing = missing_cuts(scores, cuts)
    if missing:
        listed = "、".join(f"{s} {g} 年级" for s, g in missing[:20]) + ("等" if len(missing) > 20 else "")
        raise QualityError(f"分数线文件{'“' + cuts.source + '”' if cuts.source else ''}中缺少 {len(missing)} "
                           f"个学科年级的分数线:{listed};请在分数线文件中补上(学科名称须与成绩中的一致)")
    table = _cut_table(cuts)
    joined = scores.inner_join(table, [scores.subject == table.cut_subject,
                                       scores.grade.cast("int64") == table.cut_grade])
    return joined.mutate(level=level_case(joined.score, joined)).drop(*_CUT_COLUMNS)


def level_counts(leveled: "ir.Table") -> dict[str, "ir.Scalar"]:
    """The aggregations count_1..count_4 (students at each level), for a group-by's pass."""
    return {f"count_{lv}": (leveled.level == lv).cast("int64").sum() for lv in LEVELS}


def _with_shares(grouped: "ir.Table") -> "ir.Table":
    total = grouped.students.cast("float64").nullif(0)
    return grouped.mutate(**{f"level_{lv}": grouped[f"count_{lv}"].cast("float64") / total for lv in LEVELS})


def level_shares(leveled: "ir.Table", by: tuple[str, ...] | list[str]) -> "ir.Table":
    """Per group of `by`: students and the share at each level (level_1..level_4, summing to 1)."""
    return _with_shares(leveled.group_by(list(by)).aggregate(students=leveled.count(), **level_counts(leveled)))


def school_level_shares(leveled: "ir.Table") -> "ir.Table":
    """Level shares per school of each county × subject × grade."""
    return level_shares(leveled, [*KEYS, "school_id"])


def county_levels(school: "ir.Table", cuts: CutScores, *, method: str = "mean_score",
                  share: float | None = None) -> "ir.Table":
    """Per county × subject × grade, from the per-school table (KEYS, n, school_mean, count_1..count_4:
    `analysis.school_table`): students, the pooled mean, the level shares and the county's `level`
    by `method` (`mean_score`: the level of the mean; `share_of_students`: the highest level reached
    by at least `share` of the students)."""
    n = school.n.cast("float64")
    out = school.group_by(list(KEYS)).aggregate(
        students=school.n.sum().cast("int64"),
        mean=(n * school.school_mean).sum() / n.sum().nullif(0),
        **{f"count_{lv}": school[f"count_{lv}"].sum() for lv in LEVELS},
    )
    out = _with_shares(out)
    if method == "mean_score":
        table = _cut_table(cuts)
        out = out.inner_join(table, [out.subject == table.cut_subject, out.grade.cast("int64") == table.cut_grade])
        out = out.mutate(level=level_case(out.mean, out, eps=EPS)).drop(*_CUT_COLUMNS)
    elif method == "share_of_students":
        if share is None or not 0 < share <= 1:
            raise QualityError(f"县区学业水平按学生占比认定时,占比应在 0 到 1 之间(含 1),实际为 {share}")
        need = ibis.literal(float(share), type="float64") * out.students.cast("float64") - EPS  # counts, not rounded shares
        at_least = {lv: sum((out[f"count_{m}"] for m in LEVELS if m >= lv), ibis.literal(0, type="int64"))
                    for lv in (2, 3, 4)}
        out = out.mutate(level=ibis.cases(
            (at_least[4].cast("float64") >= need, 4),
            (at_least[3].cast("float64") >= need, 3),
            (at_least[2].cast("float64") >= need, 2),
            else_=1,
        ).cast("int64"))
    else:
        raise QualityError(f"县区学业水平的认定方法“{method}”无效;可用:mean_score、share_of_students")
    return out.drop(*(f"count_{lv}" for lv in LEVELS))

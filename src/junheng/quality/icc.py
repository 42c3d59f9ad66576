"""The 校际差异率 (inter-school difference rate): the share of score variance between schools.

The default method `icc1_anova` is the intraclass correlation ICC(1) of the one-way random
effects model by its ANOVA estimator for unequal school sizes, per county × subject × grade
(schools j = 1..k with nⱼ students, N = Σnⱼ, school means ȳⱼ, county mean ȳ):

    MSB = Σ nⱼ(ȳⱼ − ȳ)² / (k − 1)          MSW = ΣΣ (y − ȳⱼ)² / (N − k)
    n₀  = (N − Σnⱼ²/N) / (k − 1)           ICC = (MSB − MSW) / (MSB + (n₀ − 1)·MSW)

with σ²_b = (MSB − MSW)/n₀ (between schools) and σ²_w = MSW (within). The interval is the F-based
one of Shrout & Fleiss (1979) / McGraw & Wong (1996, case 1) with n₀ for the group size:
F = MSB/MSW, F_L = F / F_{1−α/2}(k−1, N−k), F_U = F · F_{1−α/2}(N−k, k−1),
ICC_L = (F_L − 1)/(F_L + n₀ − 1), ICC_U = (F_U − 1)/(F_U + n₀ − 1).

The sums of squares come from ONE group-by over the scores (per school n, mean and the centred
within sum Σ(y − ȳⱼ)² = n·var_pop; `school_stats`, cached on the backend) and one aggregation of
that per-school table per county (the county mean by a window over the schools), never Σy² − nȳ²
in floating point. A method of the registry reads that per-school table, not the scores. The estimate is
reported raw: a negative value (schools more alike than chance) stays negative and is read as 0
for the threshold. Only the F quantiles are computed in Python, on the small per-county result.

A standard names the method (`difference_rate.method`); METHODS maps each name to its function,
so a province that defines the rate otherwise adds a function here and names it in its file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import ibis

from junheng.quality import KEYS, QualityError, execute

if TYPE_CHECKING:
    import ibis.expr.types as ir

Key = tuple[str, str, int]  # county_code, subject, grade


@dataclass(frozen=True)
class TopSchool:
    school_id: str
    students: int
    mean: float
    contribution: float  # nⱼ(ȳⱼ − ȳ)²
    share: float | None  # of the between-school sum of squares

    def to_json(self) -> dict:
        return {"school_id": self.school_id, "students": self.students, "mean": self.mean,
                "contribution": self.contribution, "share": self.share}


@dataclass(frozen=True)
class RateEstimate:
    """The 校际差异率 of one county × subject × grade, with what it was computed from."""

    students: int  # N
    schools: int  # k
    mean: float | None  # ȳ, the pooled mean
    icc: float | None  # raw (may be negative); None with `reason`
    icc_ci: tuple[float, float] | None
    between_variance: float | None  # σ²_b = (MSB − MSW)/n₀ (negative when ICC is)
    within_variance: float | None  # σ²_w = MSW
    msb: float | None = None
    msw: float | None = None
    n0: float | None = None
    f: float | None = None  # MSB/MSW
    top_schools: tuple[TopSchool, ...] = field(default=())
    reason: str | None = None  # why there is no ICC (or no interval)
    method: str = "icc1_anova"
    confidence: float = 0.95

    @property
    def rate(self) -> float | None:
        """The value judged against the threshold: the ICC, a negative one read as 0."""
        return None if self.icc is None else max(self.icc, 0.0)


def school_stats(scores: "ir.Table", **extra: "ir.Scalar") -> "ir.Table":
    """The one group-by over the scores: per school n, mean and the centred within sum of squares
    (n·var_pop), plus any `extra` aggregations of the same pass (the level counts of the analysis)."""
    score = scores.score.cast("float64")
    return scores.group_by([*KEYS, "school_id"]).aggregate(
        n=score.count(),
        school_mean=score.mean(),
        ss_within=score.var(how="pop") * score.count().cast("float64"),
        **extra,
    )


def county_anova(school: "ir.Table") -> "ir.Table":
    """Per county × subject × grade: N, k, ȳ, MSB, MSW, n₀, F, ICC and the variance components."""
    n = school.n.cast("float64")
    window = ibis.window(group_by=list(KEYS))
    grand = (n * school.school_mean).sum().over(window) / n.sum().over(window).nullif(0)
    school = school.mutate(grand_mean=grand)
    n = school.n.cast("float64")
    per = school.mutate(between=n * (school.school_mean - school.grand_mean) ** 2)
    agg = per.group_by(list(KEYS)).aggregate(
        students=per.n.sum().cast("int64"),
        schools=per.count().cast("int64"),
        mean=per.grand_mean.max(),  # the same on every row of the group
        ss_between=per.between.sum(),
        ss_within=per.ss_within.sum(),
        sum_n2=(per.n.cast("float64") ** 2).sum(),
    )
    big_n = agg.students.cast("float64")
    k = agg.schools.cast("float64")
    msb = agg.ss_between / (k - 1).nullif(0)
    msw = agg.ss_within / (big_n - k).nullif(0)
    n0 = (big_n - agg.sum_n2 / big_n.nullif(0)) / (k - 1).nullif(0)
    out = agg.mutate(msb=msb, msw=msw, n0=n0)
    return out.mutate(
        f=out.msb / out.msw.nullif(0),
        icc=(out.msb - out.msw) / (out.msb + (out.n0 - 1) * out.msw).nullif(0),
        between_variance=(out.msb - out.msw) / out.n0.nullif(0),
        within_variance=out.msw,
    )


def top_schools(school: "ir.Table", top: int) -> "ir.Table":
    """The `top` schools of each county × subject × grade with the largest nⱼ(ȳⱼ − ȳ)²."""
    n = school.n.cast("float64")
    window = ibis.window(group_by=list(KEYS))
    grand = (n * school.school_mean).sum().over(window) / n.sum().over(window).nullif(0)
    per = school.mutate(contribution=n * (school.school_mean - grand) ** 2)
    per = per.mutate(total=per.contribution.sum().over(ibis.window(group_by=list(KEYS))))
    ranked = per.mutate(rank=ibis.row_number().over(
        ibis.window(group_by=list(KEYS), order_by=[ibis.desc(per.contribution), per.school_id])))
    best = ranked.filter(ranked["rank"] < top)
    return best.select(*KEYS, "school_id", "n", "school_mean", "contribution", "rank",
                       share=best.contribution / best.total.nullif(0))


def _number(value) -> float | None:
    import pandas as pd

    return None if value is None or pd.isna(value) else float(value)


def f_interval(f: float, df1: float, df2: float, n0: float, confidence: float) -> tuple[float, float]:
    """The F-based interval of ICC(1) (Shrout & Fleiss 1979; McGraw & Wong 1996, case 1)."""
    from scipy.stats import f as f_dist

    alpha = 1 - confidence
    f_low = f / f_dist.ppf(1 - alpha / 2, df1, df2)
    f_high = f * f_dist.ppf(1 - alpha / 2, df2, df1)
    return (f_low - 1) / (f_low + n0 - 1), (f_high - 1) / (f_high + n0 - 1)


def icc1_anova(school: "ir.Table", *, confidence: float = 0.95, top: int = 5) -> dict[Key, RateEstimate]:
    """ICC(1) by the one-way ANOVA estimator per county × subject × grade, from the per-school
    table of `school_stats` (KEYS, school_id, n, school_mean, ss_within)."""
    frame = execute(county_anova(school))
    best = execute(top_schools(school, top)) if top > 0 else None
    tops: dict[Key, list[TopSchool]] = {}
    if best is not None:
        best = best.sort_values([*KEYS, "rank"])
        for row in best.itertuples(index=False):
            tops.setdefault((str(row.county_code), str(row.subject), int(row.grade)), []).append(TopSchool(
                school_id=str(row.school_id), students=int(row.n), mean=float(row.school_mean),
                contribution=float(row.contribution), share=_number(row.share)))
    out: dict[Key, RateEstimate] = {}
    for row in frame.itertuples(index=False):
        key = (str(row.county_code), str(row.subject), int(row.grade))
        students, schools = int(row.students), int(row.schools)
        msb, msw, n0, f = _number(row.msb), _number(row.msw), _number(row.n0), _number(row.f)
        icc = _number(row.icc)
        reason = None
        ci = None
        if schools < 2:
            reason = f"只有 {schools} 所学校,无法计算校际差异率(至少需要 2 所学校)"
            icc = None
        elif students - schools < 1:
            reason = "每所学校只有一名学生,无法估计校内方差(学生数须多于学校数)"
            icc = None
        elif icc is None:
            reason = "全部成绩相同,校际差异率无定义"
        elif f is None:
            reason = "各校校内成绩完全相同(校内方差为 0),无法计算置信区间"
        else:
            low, high = f_interval(f, schools - 1, students - schools, n0, confidence)
            ci = (float(low), float(high))
        no_icc = icc is None
        out[key] = RateEstimate(
            students=students, schools=schools, mean=_number(row.mean), icc=icc, icc_ci=ci,
            between_variance=None if no_icc else _number(row.between_variance),
            within_variance=None if no_icc else _number(row.within_variance),
            msb=msb, msw=msw, n0=n0, f=f, top_schools=tuple(tops.get(key, ())), reason=reason,
            method="icc1_anova", confidence=confidence)
    return out


# name → function of the per-school table (school_stats) with keyword arguments confidence and top;
# the names are the standard model's DIFFERENCE_RATE_METHODS (a test ties the two lists)
Method = Callable[..., dict[Key, RateEstimate]]
METHODS: dict[str, Method] = {"icc1_anova": icc1_anova}


def rate_method(name: str) -> Method:
    """The registered function of a method name; QualityError naming the known ones otherwise."""
    function = METHODS.get(name)
    if function is None:
        raise QualityError(f"校际差异率的计算方法“{name}”无效;可用:{'、'.join(METHODS)}")
    return function


def difference_rates(scores: "ir.Table", *, method: str = "icc1_anova", confidence: float = 0.95,
                     top: int = 5) -> dict[Key, RateEstimate]:
    """The 校际差异率 of every county × subject × grade of `scores` by the named method (the
    per-school table is computed once and kept on the backend while the method reads it twice)."""
    function = rate_method(method)
    with school_stats(scores).cache() as school:
        return function(school, confidence=confidence, top=top)

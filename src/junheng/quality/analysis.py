"""The analysis of a scores table: per county × subject × grade, the level and the 校际差异率.

`analyse(scores, cuts, settings=…)` gives one CountySubjectGrade per key "county/subject/grade"
(e.g. "140599/数学/8"): students, schools, the pooled mean, the ICC raw and as judged (a negative
ICC read as 0), its interval, the between- and within-school variances, the county's level and
its level shares, the schools that contribute most to the between-school variance, the method.
The settings come from the standard's `quality_monitoring` rule (QualitySettings.from_standard).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from junheng.quality import KEYS, QualityError, execute
from junheng.quality.cuts import CutScores
from junheng.quality.icc import METHODS, RateEstimate, TopSchool, rate_method, school_stats
from junheng.quality.levels import LEVELS, SHARE_COLUMNS, county_levels, level_counts, with_levels

if TYPE_CHECKING:
    import ibis.expr.types as ir

MAX_TOP_SCHOOLS = 50


@dataclass(frozen=True)
class QualitySettings:
    """How the figures are computed: the 校际差异率's method and confidence, the county level rule
    (`mean_score` or `share_of_students` with `level_share`) and how many schools to list."""

    method: str = "icc1_anova"
    confidence: float = 0.95
    county_level: str = "mean_score"
    level_share: float | None = None
    top_schools: int = 5

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise QualityError(f"校际差异率的计算方法“{self.method}”无效;可用:{'、'.join(METHODS)}")
        if not 0.5 < self.confidence < 1:
            raise QualityError(f"置信水平应在 0.5 到 1 之间(不含),实际为 {self.confidence}")
        if self.county_level not in ("mean_score", "share_of_students"):
            raise QualityError(f"县区学业水平的认定方法“{self.county_level}”无效;可用:mean_score、share_of_students")
        if self.county_level == "share_of_students" and (self.level_share is None or not 0 < self.level_share <= 1):
            raise QualityError(f"按学生占比认定县区学业水平时,占比应在 0 到 1 之间(含 1),实际为 {self.level_share}")
        if not 0 <= self.top_schools <= MAX_TOP_SCHOOLS:
            raise QualityError(f"列出的学校数应在 0 到 {MAX_TOP_SCHOOLS} 之间,实际为 {self.top_schools}")

    @classmethod
    def from_rule(cls, rule: Any, top_schools: int = 5) -> "QualitySettings":
        """From a standard's `quality_monitoring` rule (difference_rate and county_level)."""
        return cls(method=rule.difference_rate.method, confidence=rule.difference_rate.confidence,
                   county_level=rule.county_level.method, level_share=rule.county_level.share,
                   top_schools=top_schools)

    @classmethod
    def from_standard(cls, standard: Any, top_schools: int = 5) -> "QualitySettings":
        """From the standard's first `quality_monitoring` indicator; the defaults when it has none."""
        rules = standard.indicators_of_kind("quality_monitoring")
        return cls.from_rule(rules[0].rule, top_schools) if rules else cls(top_schools=top_schools)


@dataclass(frozen=True)
class CountySubjectGrade:
    county_code: str
    subject: str
    grade: int
    year: int | None
    students: int
    schools: int
    mean: float | None
    icc: float | None  # raw; negative shown as such
    icc_ci: tuple[float, float] | None
    between_variance: float | None
    within_variance: float | None
    level: int
    level_shares: dict[str, float]  # level_1..level_4
    top_schools: tuple[TopSchool, ...]
    method: str
    confidence: float
    level_method: str
    reason: str | None = None

    @property
    def key(self) -> str:
        return f"{self.county_code}/{self.subject}/{self.grade}"

    @property
    def difference_rate(self) -> float | None:
        """The 校际差异率 as judged against the threshold: the ICC, a negative one read as 0."""
        return None if self.icc is None else max(self.icc, 0.0)

    def to_json(self) -> dict:
        return {
            "county_code": self.county_code, "subject": self.subject, "grade": self.grade, "year": self.year,
            "students": self.students, "schools": self.schools, "mean": self.mean,
            "icc": self.icc, "icc_ci": list(self.icc_ci) if self.icc_ci is not None else None,
            "difference_rate": self.difference_rate,
            "between_variance": self.between_variance, "within_variance": self.within_variance,
            "level": self.level, "level_shares": dict(self.level_shares),
            "top_schools": [s.to_json() for s in self.top_schools],
            "method": self.method, "confidence": self.confidence, "level_method": self.level_method,
            "reason": self.reason,
        }


def school_table(scores: "ir.Table", cuts: CutScores) -> "ir.Table":
    """The one group-by over the scores both figures are computed from: per school of each county ×
    subject × grade n, mean, the centred within sum of squares and the students at each level."""
    leveled = with_levels(scores, cuts)
    return school_stats(leveled, **level_counts(leveled))


def _years(scores: "ir.Table") -> list[int]:
    frame = execute(scores.select(year=scores.year.cast("int64")).distinct().order_by("year"))
    return [int(y) for y in frame["year"]]


def one_year(scores: "ir.Table", year: int | None = None) -> tuple["ir.Table", int]:
    """The scores of one year and that year: `year`, or the table's only year. A table with
    several years needs `year`; an empty table, or a year it does not have, is refused."""
    years = _years(scores)
    if year is not None:
        if year not in years:
            raise QualityError(f"成绩中没有 {year} 年度的数据;有:{'、'.join(map(str, years)) or '无'}")
        return scores.filter(scores.year.cast("int64") == year), year
    if len(years) > 1:
        raise QualityError(f"成绩包含多个年度({'、'.join(map(str, years))}),请指定一个年度(--year)")
    if not years:
        raise QualityError("成绩表中没有任何成绩")
    return scores, years[0]


def analyse(scores: "ir.Table", cuts: CutScores, *, settings: QualitySettings | None = None,
            year: int | None = None) -> dict[str, CountySubjectGrade]:
    """Levels and 校际差异率 of every county × subject × grade of one year of `scores`
    (columns county_code, school_id, year, grade, subject, student, score).

    A table with several years needs `year`; scores without cut scores for their subject and
    grade are refused (QualityError), as is an empty table.
    """
    scores, year = one_year(scores, year)
    with school_table(scores, cuts).cache() as school:  # the one pass over the scores
        return analyse_schools(school, cuts, settings=settings, year=year)


def analyse_schools(school: "ir.Table", cuts: CutScores, *, settings: QualitySettings | None = None,
                    year: int) -> dict[str, CountySubjectGrade]:
    """`analyse` from the per-school table of one year's scores (`school_table`): a caller that
    also shows every school's figures computes that table once."""
    settings = settings or QualitySettings()
    levels = execute(county_levels(school, cuts, method=settings.county_level, share=settings.level_share))
    rates: dict[tuple, RateEstimate] = rate_method(settings.method)(
        school, confidence=settings.confidence, top=settings.top_schools)
    out: dict[str, CountySubjectGrade] = {}
    for row in levels.sort_values(list(KEYS)).itertuples(index=False):
        key = (str(row.county_code), str(row.subject), int(row.grade))
        rate = rates[key]
        result = CountySubjectGrade(
            county_code=key[0], subject=key[1], grade=key[2], year=year,
            students=int(row.students), schools=rate.schools, mean=float(row.mean),
            icc=rate.icc, icc_ci=rate.icc_ci, between_variance=rate.between_variance,
            within_variance=rate.within_variance, level=int(row.level),
            level_shares={col: float(getattr(row, col)) for col in SHARE_COLUMNS},
            top_schools=rate.top_schools, method=rate.method, confidence=rate.confidence,
            level_method=settings.county_level, reason=rate.reason)
        out[result.key] = result
    return out


def to_json(results: dict[str, CountySubjectGrade]) -> dict[str, dict]:
    """The results as JSON-ready dicts under their keys."""
    return {key: result.to_json() for key, result in results.items()}


__all__ = ["LEVELS", "CountySubjectGrade", "QualitySettings", "analyse", "analyse_schools", "one_year", "to_json"]

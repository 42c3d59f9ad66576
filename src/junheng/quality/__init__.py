"""教育质量监测 (Q9) from student-level scores: the quality analytics capability (issue 15).

- `scores`: the scores import (CSV/XLSX/Parquet streamed into DuckDB, student keys pseudonymised),
  giving an Ibis table of county_code, school_id, year, grade, subject, student, score;
- `cuts`: the cut scores per subject and grade (CSV or YAML), validated;
- `levels`: each score's level (Ⅰ–Ⅳ), level shares per school and per county, the county level;
- `icc`: the 校际差异率 as ICC(1) (one-way ANOVA estimator for unequal school sizes) with its
  F-based interval, the variance components and the schools that contribute most; the methods
  a standard may name (`difference_rate.method`) are a registry there;
- `analysis`: `analyse(scores, cuts, settings=…)`, one result per county × subject × grade.

Everything is computed as Ibis expressions on the scores table (no Python loop over rows), so
the same code runs on DuckDB today and on PostgreSQL or Spark later.
"""

from __future__ import annotations

from junheng.errors import JunhengError


class QualityError(JunhengError):
    """Bad input to the quality analytics (cut scores, settings, scores without cuts); the message
    is complete Chinese: what, where, what was expected."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        text = message if not self.problems else message + "\n" + "\n".join(
            f"  {i}. {p}" for i, p in enumerate(self.problems, 1))
        super().__init__(text)


KEYS = ("county_code", "subject", "grade")  # one result per county × subject × grade


def execute(expr):
    """Run an Ibis expression on its table's backend (the memtables of tests: the default DuckDB)
    and hand the small result back as pandas with nullable dtypes (junheng.engine.backend)."""
    from junheng.engine.backend import to_pandas

    return to_pandas(expr.to_pyarrow())

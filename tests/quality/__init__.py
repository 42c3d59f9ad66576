"""Tests of junheng.quality (issue 15); `scores_table` builds the scores table shape of
junheng.quality.scores (county_code, school_id, year, grade, subject, student, score) in memory."""

from __future__ import annotations


def scores_table(rows=None, *, frame=None):
    """An Ibis memtable of scores from (county_code, school_id, score) rows or a pandas frame with
    at least those columns (year 2024, grade 8, subject 数学 and numbered students by default)."""
    import ibis
    import pandas as pd

    if frame is None:
        frame = pd.DataFrame(list(rows), columns=["county_code", "school_id", "score"])
    frame = frame.copy()
    defaults = {"year": 2024, "grade": 8, "subject": "数学"}
    for column, value in defaults.items():
        frame[column] = frame[column].fillna(value) if column in frame else value
    if "student" not in frame:
        frame["student"] = [f"p{i:07d}" for i in range(len(frame))]
    frame = frame.astype({"county_code": str, "school_id": str, "year": "int64", "grade": "int64",
                          "subject": str, "student": str, "score": "float64"})
    return ibis.memtable(frame[["county_code", "school_id", "year", "grade", "subject", "student", "score"]])

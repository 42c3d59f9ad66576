"""Warnings keep one identity per condition across runs: a certified county's R5 falls year on
year (decline in year 2, breach in year 3), is fixed (resolved), and nothing is duplicated by
running the watch again (SQLite and PostgreSQL)."""

from datetime import date

from sqlalchemy import func, select

from junheng.monitor.warnings import list_warnings
from junheng.store.models import MonitorWarning
from monitor_helpers import COUNTY, change, county_row, store, watch, year_dataset

CERTIFIED = county_row(certified_year=2021)
R5_KEY = f"{COUNTY}|breach|breach|R5/unit/P1/primary/-"
DECLINE_KEY = f"{COUNTY}|decline|decline|R5/unit/P1/primary/-"


def _p1_sports(area: float) -> dict:
    return {"P1": {"sports_area": area}}  # P1: 1,000 primary pupils, R5 = area / 1000 (threshold 7.5)


def _by_key(database) -> dict[str, MonitorWarning]:
    with database.session() as s:
        return {w.key: w for w in s.scalars(select(MonitorWarning))}


def test_decline_then_breach_then_resolved_and_never_duplicated(database):
    store(database, year_dataset(2022, _p1_sports(9000.0), CERTIFIED))
    first = watch(database, date(2022, 12, 15))
    kinds = {w.kind for c in first.counties for w in c.changes.new}
    assert kinds <= {"margin"}, kinds  # Q1 98% against 95% and the like are close to their line, nothing fails

    # year 2: R5 of P1 falls from 9.0 to 8.0 m²: worse than last year, still above 7.5
    store(database, year_dataset(2023, _p1_sports(8000.0), CERTIFIED))
    watch(database, date(2023, 12, 15))
    warnings = _by_key(database)
    assert DECLINE_KEY in warnings and warnings[DECLINE_KEY].resolved_at is None
    assert warnings[DECLINE_KEY].severity == "orange"
    assert warnings[DECLINE_KEY].numbers["previous"] == 9.0 and warnings[DECLINE_KEY].numbers["value"] == 8.0
    assert "不下滑" in warnings[DECLINE_KEY].message
    assert warnings[DECLINE_KEY].responsible == ["教体局"]
    assert R5_KEY not in warnings

    # year 3: 6.0 m², below the threshold and below 85% of it: the unit fails, a red breach
    store(database, year_dataset(2024, _p1_sports(6000.0), CERTIFIED))
    third = watch(database, date(2024, 12, 15))
    warnings = _by_key(database)
    breach = warnings[R5_KEY]
    assert breach.resolved_at is None and breach.severity == "red" and breach.indicator == "R5"
    assert breach.numbers["value"] == 6.0 and breach.numbers["threshold"] == 7.5 and breach.year == 2024
    assert breach.numbers["school_id"] == "P1" and breach.segment == "primary" and breach.school_id is not None
    assert "6 m²" in breach.message and "7.50 m²" in breach.message
    # the same decline condition (worse again) is the same warning, now worsened
    assert warnings[DECLINE_KEY].occurrence == 1 and warnings[DECLINE_KEY].worsened_count == 1
    assert any(w.key == R5_KEY for c in third.counties for w in c.changes.new)

    # running again changes nothing: still one warning per condition, nothing new or worsened
    again = watch(database, date(2024, 12, 15))
    assert again.totals()["new"] == again.totals()["worsened"] == again.totals()["resolved"] == 0
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(MonitorWarning).where(MonitorWarning.key == R5_KEY)) == 1
        open_r5 = list_warnings(s, COUNTY, indicator="R5", kinds=["breach"])
        assert [w.key for w in open_r5] == [R5_KEY]

    # fixed: the county restores the sports ground; breach and decline are resolved
    change(database, year_dataset(2024, _p1_sports(9000.0), CERTIFIED))
    fixed = watch(database, date(2024, 12, 20))
    warnings = _by_key(database)
    assert warnings[R5_KEY].resolved_at is not None and warnings[DECLINE_KEY].resolved_at is not None
    assert {w.key for c in fixed.counties for w in c.changes.resolved} >= {R5_KEY, DECLINE_KEY}
    with database.session() as s:
        assert list_warnings(s, COUNTY, indicator="R5", kinds=["breach"]) == []
        assert len(list_warnings(s, COUNTY, status="resolved", indicator="R5", kinds=["breach"])) == 1

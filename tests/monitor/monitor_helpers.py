"""Fixtures for the monitoring tests: a certified test county stored year by year."""

from __future__ import annotations

from datetime import date

import builders
from junheng.monitor.config import MonitorSettings
from junheng.monitor.service import run_watch
from junheng.store import repo

COUNTY = builders.COUNTY


def county_row(**extra) -> dict:
    row = {"county_code": COUNTY, "county_name": "测试县", "city": "测试市", "province": "测试省",
           "standard": "national-2017", "basic_balance_year": 2015}
    row.update(extra)
    return row


def year_dataset(year: int, overrides: dict[str, dict] | None = None, county: dict | None = None,
                 schools: list[tuple[str, str]] | None = None):
    """One year of the passing test county (builders), with per-school overrides."""
    overrides = overrides or {}
    roster = schools or builders.default_schools()
    school_rows = [builders.school(i, t) for i, t in roster]
    years = [builders.school_year(i, t, year=year, **overrides.get(i, {})) for i, t in roster]
    return builders.dataset(school_rows, years, [builders.county_year(year=year)], builders.quality(year=year),
                            counties=[county or county_row()])


def store(database, dataset, status: str = "approved") -> None:
    with database.session() as s:
        repo.import_dataset(s, dataset, user=None, via="cli", status=status)


def change(database, dataset) -> None:
    """Overwrite stored values (approved rows too), as a county admin correcting data would."""
    with database.session() as s:
        repo.apply(s, repo.diff(s, dataset), user=None, via="cli", locked_ok=True)


def settings(tmp_path=None, **extra) -> MonitorSettings:
    return MonitorSettings(root=None, rules_dir=(tmp_path / "monitor-rules") if tmp_path else None,
                           uploads=(tmp_path / "uploads") if tmp_path else None, **extra)


def watch(database, today: date, tmp_path=None, **kwargs):
    return run_watch(database, kwargs.pop("settings", None) or settings(tmp_path), today=today, **kwargs)


# ---------------------------------------------------------------- a known progression
# One primary school (P1, grades 1–6) and one junior school (J1, grades 7–9). Births of year b
# enter grade 1 in b + 6, every pupil moves up a grade each year, and 90% of grade 6 goes on to
# grade 7 (the rest leave the county): the forecast must reproduce these counts exactly.

BIRTHS = {b: 100 for b in range(2000, 2015)} | {2015: 120, 2016: 130, 2017: 140, 2018: 150, 2019: 160, 2020: 170}
HISTORY = (2021, 2022, 2023)


def known_count(year: int, grade: int) -> float:
    if grade <= 6:
        return BIRTHS[year - (grade - 1) - 6]
    return 0.9 * known_count(year - (grade - 6), 6)


def known_grades() -> dict:
    return {"P1": {t: {g: known_count(t, g) for g in range(1, 7)} for t in HISTORY},
            "J1": {t: {g: known_count(t, g) for g in range(7, 10)} for t in HISTORY}}


def progression_dataset(county: dict | None = None):
    grades = known_grades()
    schools = [builders.school("P1", "primary"), builders.school("J1", "junior")]
    rows = []
    for t in HISTORY:
        rows.append(builders.school_year("P1", "primary", students=int(sum(grades["P1"][t].values())), year=t))
        rows.append(builders.school_year("J1", "junior", students=int(sum(grades["J1"][t].values())), year=t))
    return builders.dataset(schools, rows, [builders.county_year(year=t) for t in HISTORY],
                            [q for t in HISTORY for q in builders.quality(year=t)],
                            counties=[county or county_row(target_year=2030)])

"""School years: which calendar year a "year" is, how it is written, and which one is under way.

A year in junheng (`year` in every table) is the calendar year in which the school year
starts: 2025 is the school year 2025—2026, from 1 September 2025 to 31 August 2026. Data of a
school year are due by the date the warning rules give (`data_not_approved.due`, 30 November
of its first calendar year by default).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

LOCAL_TIME = ZoneInfo("Asia/Shanghai")  # 北京时间: users read times and school years turn over in it
START_MONTH = 9


def school_year_of(day: date | datetime) -> int:
    """The school year a date falls in (a datetime is read in Beijing time)."""
    if isinstance(day, datetime):
        day = (day if day.tzinfo else day.replace(tzinfo=timezone.utc)).astimezone(LOCAL_TIME).date()
    return day.year if day.month >= START_MONTH else day.year - 1


def local_today() -> date:
    """Today's date in Beijing time: the clock of everything that depends on today (the school
    year under way, the web pages' deadlines, overdue tasks, schedules). Tests freeze it by
    monkeypatching this function (tests/web/conftest.py)."""
    return datetime.now(LOCAL_TIME).date()


def current_school_year(today: date | None = None) -> int:
    """The school year under way today (Beijing time)."""
    return school_year_of(today or local_today())


def label(year: int | None, *, suffix: bool = True) -> str:
    """2025 → "2025—2026 学年", the one way a school year is written for people."""
    if year is None:
        return "—"
    return f"{year}—{year + 1}" + (" 学年" if suffix else "")

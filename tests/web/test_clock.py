"""The pages read today from one clock, `junheng.schoolyear.local_today`, frozen for every web
test (tests/web/conftest.py): what a page shows never depends on the day the suite runs."""

from __future__ import annotations

from datetime import date

import builders
from web_world import COUNTY

from junheng import schoolyear
from junheng.schoolyear import current_school_year
from junheng.web.routes import editing


def test_the_web_tests_run_on_the_frozen_day(frozen_clock):
    assert frozen_clock == date(2026, 12, 1)
    assert schoolyear.local_today() == frozen_clock
    assert editing.today() == frozen_clock  # the pages' today is the same clock
    assert current_school_year() == 2026


def test_a_task_page_is_overdue_by_the_clock_not_by_the_calendar(web_world, monkeypatch):
    county = web_world.login("county")
    created = county.post(f"/counties/{COUNTY}/tasks", {"title": "补足体育运动场馆面积", "deadline": "2027-01-15"})
    assert created.status_code == 303, created.text
    task = created.headers["location"].split("?")[0]
    assert "已逾期" not in county.get(task).text  # 2026-12-01: not yet due
    monkeypatch.setattr(schoolyear, "local_today", lambda: date(2027, 2, 1))
    assert "已逾期" in builders.plain(county.get(task).text)
    listed = county.get(f"/counties/{COUNTY}/tasks", params={"format": "json", "status": "all"}).json()
    assert [t["overdue"] for t in listed["tasks"]] == [True]


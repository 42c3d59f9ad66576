"""Stored evaluations are found again without reloading the county, and never outlive the data
they were computed from (SQLite and PostgreSQL)."""

import pytest
from sqlalchemy import select

import builders
from junheng import services
from junheng.store import repo
from junheng.store.models import SchoolYear


def _county_with_one_draft(database):
    """An approved county whose school P1 has been reopened as a draft for editing."""
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli", status="approved")
        row = s.scalars(select(SchoolYear).join(SchoolYear.school).where(SchoolYear.year == builders.YEAR)).first()
        repo.transition(s, row, "reopen", user=None, via="form")
        return row.id


def _no_reload(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the county was loaded again")
    monkeypatch.setattr(repo, "load_dataset", refuse)


def test_saving_a_draft_does_not_make_the_dashboard_evaluate_again(database, monkeypatch):
    row_id = _county_with_one_draft(database)
    with database.session() as s:
        _, first, _ = services.evaluate_stored(s, builders.COUNTY, builders.YEAR)
    with database.session() as s:
        row = s.get(SchoolYear, row_id)
        key = f"{row.school.code}/{row.year}"
        changes = [repo.Change("school_year", key, builders.COUNTY, "sports_area",
                               row.values["sports_area"], row.values["sports_area"] + 1)]
        repo.apply(s, changes, user=None, via="form")
    _no_reload(monkeypatch)
    with database.session() as s:
        _, again, _ = services.evaluate_stored(s, builders.COUNTY, builders.YEAR)
    assert again.id == first.id


@pytest.mark.parametrize("change", ["approve", "delete", "county_value"])
def test_changes_that_feed_the_evaluation_are_seen(database, monkeypatch, change):
    row_id = _county_with_one_draft(database)
    with database.session() as s:
        _, first, _ = services.evaluate_stored(s, builders.COUNTY, builders.YEAR)
    with database.session() as s:
        row = s.get(SchoolYear, row_id)
        if change == "approve":
            repo.transition(s, row, "submit", user=None, via="form")
            repo.transition(s, row, "approve", user=None, via="form")
        elif change == "delete":
            other = s.scalars(select(SchoolYear).where(SchoolYear.id != row_id,
                                                      SchoolYear.status == "approved")).first()
            repo.soft_delete(s, other, user=None, via="form")
        else:
            # county-year values feed approved-data evaluations whatever the school-years' state
            repo.apply(s, [repo.Change("county_year", f"{builders.COUNTY}/{builders.YEAR}", builders.COUNTY,
                                       "teacher_avg_salary", 9000.0, 8000.0)], user=None, via="form", locked_ok=True)
    with database.session() as s:
        _, again, _ = services.evaluate_stored(s, builders.COUNTY, builders.YEAR)
    assert again.id != first.id and again.inputs_version != first.inputs_version

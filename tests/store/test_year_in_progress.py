"""A new school year as it happens in the store: partial approval never decides a verdict
(SQLite and PostgreSQL, the `database` fixture)."""

import builders
import pandas as pd
from sqlalchemy import select

from junheng.data.dataset import Dataset
from junheng.engine.evaluate import evaluate_dataset
from junheng.services import evaluate_stored
from junheng.store import repo
from junheng.store.models import CountyYear, School, SchoolYear

NEW = builders.YEAR + 1


def _new_year_rows() -> Dataset:
    """Next year's rows of every school, P1's far below R1–R3 (partial figures would fail)."""
    schools = [builders.school(i, t) for i, t in builders.default_schools()]
    years = [builders.school_year(s["school_id"], s["school_type"], year=NEW) for s in schools]
    years[0] |= {"teachers_above_qual_primary": 0, "backbone_teachers_primary": 0, "pe_art_teachers_primary": 0}
    return Dataset.from_frames(source="tests", schools=pd.DataFrame(schools), school_year=pd.DataFrame(years),
                               county_year=pd.DataFrame([builders.county_year(year=NEW)]),
                               quality=pd.DataFrame(builders.quality(year=NEW)))


def _approve(session, codes, year=NEW):
    rows = session.scalars(select(SchoolYear).join(School).where(School.code.in_(codes), SchoolYear.year == year))
    for row in rows:
        repo.transition(session, row, "submit", user=None, via="form")
        repo.transition(session, row, "approve", user=None, via="form")


def test_partial_approval_leaves_the_county_on_its_complete_year(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli", status="approved")
        repo.import_dataset(s, _new_year_rows(), user=None, via="upload")  # drafts
    with database.session() as s:
        before, _, _ = evaluate_stored(s, builders.COUNTY)
        _approve(s, ["P1"])
    with database.session() as s:
        result, run, years = evaluate_stored(s, builders.COUNTY)
        assert (result.year, result.verdict) == (builders.YEAR, before.verdict) == (builders.YEAR, "pass")
        assert years == [builders.YEAR, NEW]
        partial, _, _ = evaluate_stored(s, builders.COUNTY, NEW)
        assert partial.verdict == "incomplete" and partial.failing_items()  # P1 fails, yet no "fail"
        c = partial.coverage
        assert (c.schools_expected, c.schools_included, c.basis) == (6, 1, "store")
        assert c.not_approved == {"draft": 5} and sorted(c.schools_missing) == ["J1", "J2", "N1", "P2", "P3"]
        assert c.county_year is False and c.county_year_status == "draft"
        progress = repo.year_progress(s, repo.county_by_code(s, builders.COUNTY))
        assert progress.latest_complete == builders.YEAR
        assert [(y, cov.fraction()) for y, cov in progress.in_progress] == [(NEW, "1/6")]

    with database.session() as s:
        _approve(s, ["P2", "P3", "J1", "J2", "N1"])
    with database.session() as s:
        almost, _, _ = evaluate_stored(s, builders.COUNTY)
        assert almost.year == builders.YEAR  # every school in, the county-level row still a draft
        county_row = s.scalar(select(CountyYear).where(CountyYear.year == NEW))
        repo.transition(s, county_row, "submit", user=None, via="form")
        repo.transition(s, county_row, "approve", user=None, via="form")
    with database.session() as s:
        done, _, _ = evaluate_stored(s, builders.COUNTY)
        assert done.year == NEW and done.complete
        engine = evaluate_dataset(_new_year_rows())[0]  # the same data as a file
        assert done.verdict == engine.verdict == "fail"
        assert done.failing_items() == engine.failing_items()


def test_a_closed_school_still_counts_for_the_years_it_reported(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli", status="approved")
    with database.session() as s:
        before, _, _ = evaluate_stored(s, builders.COUNTY)
        repo.soft_delete(s, repo.school_by_code(s, "P3"), user=None, via="form")
    with database.session() as s:
        after, _, _ = evaluate_stored(s, builders.COUNTY)
        assert after.coverage.complete and after.coverage.schools_expected == 6
        assert after.verdict == before.verdict and len(after.resource.units) == len(before.resource.units)


def test_a_school_registered_this_year_does_not_reopen_past_years(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli", status="approved")
        extra = builders.dataset(schools=[builders.school("P9")], school_years=[], county_years=[], quality_rows=[])
        repo.import_dataset(s, extra, user=None, via="form")  # registered today, no data yet
    with database.session() as s:
        result, _, _ = evaluate_stored(s, builders.COUNTY, builders.YEAR)
        assert result.coverage.complete and result.coverage.schools_expected == 6

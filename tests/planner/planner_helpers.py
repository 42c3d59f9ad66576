"""Small hand-made counties for the planner tests (on top of tests/builders.py)."""

from __future__ import annotations

import builders

from junheng.planner.county import select_county_year


def primary_county(rows: dict[str, dict], students: dict[str, int], county_years=None):
    """Primary schools only (no junior segment: junior CVs are not applicable)."""
    schools = [builders.school(sid, "primary") for sid in rows]
    years = [builders.school_year(sid, "primary", students=students[sid], **rows[sid]) for sid in rows]
    return builders.dataset(schools, years, county_years=county_years)


def before(dataset):
    return select_county_year(dataset).evaluate()


def unit_met(result, school_id: str, segment: str, indicator: str):
    unit = next(u for u in result.resource.units if u.school_id == school_id and u.segment == segment)
    return unit.indicators[indicator].met

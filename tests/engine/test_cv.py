"""The student-weighted coefficient of variation, on the public worked example and by its properties."""

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import builders
from junheng.engine.resources import compute_resources
from junheng.standards.loader import load_standard

NATIONAL = load_standard("national-2017")


def engine_cv(students: list[int], equipment: list[float]) -> float | None:
    """The engine's primary R6 CV for primary schools with these students and equipment (元)."""
    schools = [builders.school(f"S{i}", "primary") for i in range(len(students))]
    years = [builders.school_year(f"S{i}", "primary", students=n, equipment_value=v)
             for i, (n, v) in enumerate(zip(students, equipment))]
    tables = compute_resources(builders.dataset(schools, years), NATIONAL)
    row = tables.cv[(tables.cv.segment == "primary") & (tables.cv.indicator == "R6")].iloc[0]
    return None if pd.isna(row["value"]) else float(row["value"])


def test_public_worked_example():
    # Five primary schools (official explanation of the method): county value 1913/302 = 6.334,
    # S = 3.264, CV = 0.515 (published 0.52), where an unweighted CV would give 0.489.
    students = [45, 37, 89, 76, 55]
    books = [279, 137, 935, 160, 402]
    schools = [builders.school(f"S{i}", "primary") for i in range(5)]
    years = [builders.school_year(f"S{i}", "primary", students=n, equipment_value=float(b))
             for i, (n, b) in enumerate(zip(students, books))]
    tables = compute_resources(builders.dataset(schools, years), NATIONAL)
    row = tables.cv[(tables.cv.segment == "primary") & (tables.cv.indicator == "R6")].iloc[0]
    assert row["county_value"] == pytest.approx(1913 / 302)
    assert row["value"] == pytest.approx(0.515, abs=5e-4)
    assert not row["met"]  # 0.515 > 0.50: the weighted CV fails where the unweighted 0.489 would pass
    values = [b / n for b, n in zip(books, students)]
    mean = sum(values) / 5
    unweighted = math.sqrt(sum((v - mean) ** 2 for v in values) / 5) / mean
    assert unweighted == pytest.approx(0.489, abs=5e-4)


def test_cv_undefined_when_county_value_is_zero():
    assert engine_cv([100, 200], [0.0, 0.0]) is None


def test_cv_limit_is_inclusive():
    # two equal schools with values a and b: CV = |a-b|/(a+b); 3 and 1 give exactly 0.5
    cv = engine_cv([100, 100], [300.0, 100.0])
    assert cv == pytest.approx(0.5)
    schools = [builders.school(f"S{i}", "primary") for i in range(2)]
    years = [builders.school_year("S0", "primary", students=100, equipment_value=300_000.0),
             builders.school_year("S1", "primary", students=100, equipment_value=100_000.0)]
    tables = compute_resources(builders.dataset(schools, years), NATIONAL)
    assert bool(tables.cv.set_index(["segment", "indicator"]).loc[("primary", "R6"), "met"])


PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
schools_strategy = st.lists(
    st.tuples(st.integers(min_value=1, max_value=3000), st.floats(min_value=1.0, max_value=1e7)),
    min_size=2, max_size=8,
)


@PROPERTY_SETTINGS
@given(schools_strategy, st.floats(min_value=0.01, max_value=1000.0))
def test_cv_unchanged_when_every_resource_is_scaled(rows, factor):
    students = [n for n, _ in rows]
    resources = [r for _, r in rows]
    assert engine_cv(students, [r * factor for r in resources]) == pytest.approx(
        engine_cv(students, resources), rel=1e-9, abs=1e-12)


@PROPERTY_SETTINGS
@given(schools_strategy, st.integers(min_value=1, max_value=3000))
def test_adding_a_school_at_the_county_value_never_raises_the_cv(rows, new_students):
    students = [n for n, _ in rows]
    resources = [r for _, r in rows]
    county_value = sum(resources) / sum(students)
    before = engine_cv(students, resources)
    after = engine_cv(students + [new_students], resources + [county_value * new_students])
    assert after <= before + 1e-12


@PROPERTY_SETTINGS
@given(st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=8),
       st.floats(min_value=0.5, max_value=10000.0))
def test_cv_is_zero_when_all_schools_are_equal(students, per_student):
    assert engine_cv(students, [n * per_student for n in students]) == pytest.approx(0.0, abs=1e-9)

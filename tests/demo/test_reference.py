"""The NumPy reference for R1–R7: the standard's worked example, the split rule, and agreement
with the engine on generated data (the same cross-check bench/nation.py runs at scale)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from junheng.data.dataset import Dataset
from junheng.demo.reference import reference_resources
from junheng.demo.synthetic import generate_county, generate_region
from junheng.engine.resources import compute_resources
from junheng.standards.loader import load_standard

STANDARD = load_standard("national-2017")
TODAY = date(2026, 12, 1)  # complete years 2023–2025 and 2026 in progress: the engine agrees on both
KEYS = ["county_code", "year", "school_id", "segment"]


def _dataset(schools: list[dict], rows: list[dict]) -> Dataset:
    schools = pd.DataFrame([{"county_code": "999999", "school_name": s["school_id"], **s} for s in schools])
    return Dataset.from_frames(schools=schools, school_year=pd.DataFrame([{"year": 2024, **r} for r in rows]))


def test_worked_example_of_the_standard():
    """standard.md: students 45, 37, 89, 76, 55 and books 279, 137, 935, 160, 402 give a county
    value of 1913/302 = 6.334 and a weighted CV of 0.515 (the unweighted one would be 0.489)."""
    students, books = [45, 37, 89, 76, 55], [279, 137, 935, 160, 402]
    ids = [f"s{i}" for i in range(5)]
    data = _dataset(
        [{"school_id": i, "school_type": "primary"} for i in ids],
        [{"school_id": i, "students_primary": n, "equipment_value": b} for i, n, b in zip(ids, students, books)],
    )
    cv = reference_resources(data, STANDARD).cv.set_index("indicator")
    assert cv.loc["R6", "county_value"] == pytest.approx(1913 / 302)
    assert cv.loc["R6", "value"] == pytest.approx(0.515, abs=5e-4)
    assert np.isnan(cv.loc["R1", "value"])  # no teacher data: undefined


def test_shared_facilities_are_split_by_weighted_students():
    data = _dataset(
        [{"school_id": "a", "school_type": "nine_year"}, {"school_id": "b", "school_type": "twelve_year"}],
        [
            {"school_id": "a", "students_primary": 100, "students_junior": 100, "teaching_aux_area": 1050,
             "sports_area": 2100, "sports_area_junior": 1500},
            {"school_id": "b", "students_primary": 100, "students_junior": 100, "students_senior": 100,
             "teaching_aux_area": 3420},
        ],
    )
    units = reference_resources(data, STANDARD).units.set_index(["school_id", "segment"])
    assert units.loc[("a", "primary"), "R4"] == pytest.approx(1050 / 2.1 / 100)
    assert units.loc[("a", "junior"), "R4"] == pytest.approx(1050 * 1.1 / 2.1 / 100)
    assert units.loc[("a", "junior"), "R5"] == pytest.approx(15.0)  # explicit per-segment value
    assert units.loc[("b", "primary"), "R4"] == pytest.approx(3420 / 3.42 / 100)  # senior takes its share
    assert ("b", "senior") not in units.index


def _assert_engine_agrees(dataset: Dataset) -> None:
    engine = compute_resources(dataset, STANDARD)
    ref = reference_resources(dataset, STANDARD)
    units = engine.units.merge(ref.units, on=KEYS, suffixes=("_engine", "_ref"), validate="one_to_one")
    assert len(units) == len(engine.units) == len(ref.units)
    for ind in STANDARD.resource_indicators():
        np.testing.assert_allclose(units[f"{ind.id}_engine"], units[f"{ind.id}_ref"], rtol=1e-9)
    assert (units["compliant_engine"].astype(bool) == units["compliant_ref"].astype(bool)).all()
    cv = engine.cv.merge(ref.cv, on=["county_code", "year", "segment", "indicator"], validate="one_to_one")
    assert len(cv) == len(engine.cv) == len(ref.cv)
    np.testing.assert_allclose(cv["value_x"], cv["value_y"], rtol=1e-9)
    np.testing.assert_allclose(cv["county_value_x"], cv["county_value_y"], rtol=1e-9)


@pytest.mark.parametrize("profile", ["realistic", "passing"])
def test_engine_agrees_with_the_reference_on_the_demo_county(profile):
    _assert_engine_agrees(generate_county(profile=profile, today=TODAY))


def test_engine_agrees_with_the_reference_on_a_region():
    _assert_engine_agrees(generate_region(20))


def test_engine_agrees_with_the_reference_under_basic_2012():
    """basic-2012 (eight indicators, no per-school rule): the same units and CVs, and no unit is
    judged by either. The demo data lacks basic-2012's own fields; they are added here."""
    basic = load_standard("basic-2012")
    dataset = generate_region(6, 3)
    sy = dataset.school_year
    rng = np.random.default_rng(1)
    pupils = sy["students_primary"].fillna(0) + sy["students_junior"].fillna(0)
    sy["computers"] = np.round(rng.uniform(5, 15, len(sy)) * pupils / 100)
    sy["books"] = np.round(rng.uniform(15, 40, len(sy)) * pupils)
    for segment in ("primary", "junior"):
        sy[f"mid_title_teachers_{segment}"] = np.floor(sy[f"teachers_{segment}"] * rng.uniform(0.3, 0.7, len(sy)))
    engine = compute_resources(dataset, basic)
    ref = reference_resources(dataset, basic)
    units = engine.units.merge(ref.units, on=KEYS, suffixes=("_engine", "_ref"), validate="one_to_one")
    assert len(units) == len(engine.units) == len(ref.units) > 0
    for ind in basic.resource_indicators():
        np.testing.assert_allclose(units[f"{ind.id}_engine"], units[f"{ind.id}_ref"], rtol=1e-9)
    assert ref.units["compliant"].isna().all() and ref.units["met_count"].isna().all()
    assert engine.units["compliant"].isna().all()
    cv = engine.cv.merge(ref.cv, on=["county_code", "year", "segment", "indicator"], validate="one_to_one")
    pairs = engine.units[["county_code", "segment"]].drop_duplicates()
    assert len(cv) == len(engine.cv) == len(ref.cv) == len(pairs) * len(basic.resource_indicators())
    assert cv["value_y"].notna().all()
    np.testing.assert_allclose(cv["value_x"], cv["value_y"], rtol=1e-9)

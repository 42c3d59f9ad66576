"""The synthetic data generator: determinism, scale, consistency with the interchange format,
the two profiles (realistic fails a designed handful of items, passing passes everything) and
the years of a demo that is alive today (complete years and a year in progress)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from junheng.data.catalog import catalog
from junheng.demo.reference import reference_resources
from junheng.demo.synthetic import (
    IN_PROGRESS_SHARE,
    SYNTHETIC_LABEL,
    demo_years,
    generate_county,
    generate_region,
    in_progress_states,
)
from junheng.engine.coverage import dataset_coverage
from junheng.schoolyear import current_school_year
from junheng.standards.fields import fields_for
from junheng.standards.loader import load_standard

STANDARD = load_standard("national-2017")
TODAY = date(2026, 12, 1)  # school year 2026 (2026—2027) under way: 2023–2025 complete
EVALUATION_YEAR = 2025  # the last complete year: the designed shortfalls are anchored on it
# Optional per-segment facility fields: the generator leaves them empty (the split rule applies).
SPLIT_OVERRIDES = {
    f"{resource}_{segment}"
    for resource in ("teaching_aux_area", "sports_area", "equipment_value", "multimedia_classrooms")
    for segment in ("primary", "junior")
}
NUMERIC_TYPES = ("count", "number", "percent", "rate01", "level", "year")


@pytest.fixture(scope="module")
def realistic():
    return generate_county(today=TODAY)


@pytest.fixture(scope="module")
def passing():
    return generate_county(profile="passing", today=TODAY)


@pytest.fixture(scope="module")
def region():
    return generate_region(50)


# --------------------------------------------------------------------------- format consistency


def consistency_problems(dataset) -> list[str]:
    """Everything the import validation checks that generated data could get wrong, driven by
    the format catalogue: keys, references, segments of school types, at_most relations,
    value ranges, oversize counts against largest classes, classes against pupils."""
    cat = catalog()
    problems: list[str] = []
    schools, sy = dataset.schools, dataset.school_year

    def check(condition, message: str) -> None:
        """Count the rows where `condition` is false or unknown."""
        bad = int((~pd.Series(condition).astype("boolean").fillna(False)).sum())
        if bad:
            problems.append(f"{message}: {bad} rows")

    check(~schools["school_id"].duplicated(), "duplicate school_id")
    check(~sy[["school_id", "year"]].duplicated(), "duplicate school_year key")
    check(~dataset.county_year[["county_code", "year"]].duplicated(), "duplicate county_year key")
    check(~dataset.quality[["county_code", "year", "subject"]].duplicated(), "duplicate quality key")
    check(sy["school_id"].isin(schools["school_id"]), "school_year without school")
    check(schools["county_code"].isin(dataset.counties["county_code"]), "school of unknown county")
    check(dataset.county_year["county_code"].isin(dataset.counties["county_code"]), "county_year of unknown county")

    for name in ("schools", "school_year", "counties", "county_year", "quality"):
        table, spec = dataset.table(name), cat.table(name)
        for f in spec.fields:
            col = table[f.key]
            if f.required:
                check(col.notna(), f"{name}.{f.key} required")
            if f.type not in NUMERIC_TYPES:
                if f.type == "enum":
                    check(col.isna() | col.isin(list(f.values)), f"{name}.{f.key} not an enum key")
                continue
            values = pd.to_numeric(col, errors="coerce")
            present = values.notna()
            if f.type in ("count", "number"):
                check(~present | (values >= 0), f"{name}.{f.key} negative")
            if f.type == "percent":
                check(~present | values.between(0, 100), f"{name}.{f.key} outside 0–100")
                check(~present | ~((values > 0) & (values < 1)), f"{name}.{f.key} looks like a fraction")
            if f.type == "rate01":
                check(~present | values.between(0, 1), f"{name}.{f.key} outside 0–1")
            if f.type == "level":
                check(~present | values.between(1, 4), f"{name}.{f.key} outside 1–4")
            if f.at_most:
                other = pd.to_numeric(table[f.at_most], errors="coerce")
                check(~present | other.isna() | (values <= other), f"{name}.{f.key} > {f.at_most}")

    joined = sy.merge(schools[["school_id", "school_type"]], on="school_id")
    spec = cat.table("school_year")
    generated = {f.key for f in fields_for(STANDARD)["school_year"]}  # other standards' fields stay empty
    for f in spec.fields:
        if f.segment is None or f.allowance or f.key in SPLIT_OVERRIDES:
            continue
        if f.key not in generated:
            check(joined[f.key].isna(), f"{f.key} filled, though national-2017 does not read it")
            continue
        has = joined["school_type"].map(lambda t, s=f.segment: s in cat.school_types[t].segments)
        check(has | joined[f.key].isna(), f"{f.key} filled for a school type without {f.segment}")
        check(~has | joined[f.key].notna(), f"{f.key} missing for a school type with {f.segment}")
        if f.counts_classes_above is not None:
            largest = joined[f.largest_field]
            count = joined[f.key]
            both = largest.notna() & count.notna()
            check(~both | ((count > 0) == (largest > f.counts_classes_above)), f"{f.key} disagrees with {f.largest_field}")
            segment = f.segment
            check(~both | (count <= joined[f"classes_{segment}"]), f"{f.key} > classes_{segment}")

    for segment in ("primary", "junior"):
        n, classes, largest = (joined[f"{k}_{segment}"] for k in ("students", "classes", "max_class_size"))
        present = n.notna()
        check(~present | (n > 0), f"students_{segment} zero")
        check(~present | ((classes >= 1) & (classes <= n)), f"classes_{segment} out of range")
        average = n / classes
        check(~present | ((largest >= np.ceil(average - 1e-9)) & (largest <= n)), f"max_class_size_{segment} implausible")

    points = schools[schools["school_type"] == "teaching_point"]
    parents = schools.set_index("school_id").reindex(points["parent_school_id"])
    check(points["parent_school_id"].notna(), "teaching point without central school")
    check(parents["school_type"].to_numpy() == "primary", "central school is not a primary school")
    check(parents["county_code"].to_numpy() == points["county_code"].to_numpy(), "central school in another county")
    check(schools["parent_school_id"].isna() | (schools["school_type"] == "teaching_point"), "parent on a non teaching point")
    return problems


def test_consistency_check_catches_broken_data():
    broken = generate_county(profile="passing", today=TODAY)
    sy = broken.school_year
    sy.loc[0, "backbone_teachers_primary"] = sy.loc[0, "teachers_primary"] + 1
    sy.loc[1, "max_class_size_primary"] = 60  # no oversize classes recorded
    junior_only = sy["school_id"].isin(broken.schools.loc[broken.schools["school_type"] == "junior", "school_id"])
    sy.loc[junior_only.idxmax(), "students_primary"] = 10
    broken.county_year.loc[0, "migrant_public_ratio"] = 0.9
    problems = "\n".join(consistency_problems(broken))
    for expected in ("backbone_teachers_primary > teachers_primary", "oversize_classes_primary disagrees",
                     "students_primary filled for a school type without primary", "migrant_public_ratio looks like a fraction"):
        assert expected in problems


def test_demo_county_is_consistent_with_the_format(realistic, passing):
    assert consistency_problems(realistic) == []
    assert consistency_problems(passing) == []


def test_region_is_consistent_with_the_format(region):
    assert consistency_problems(region) == []


@pytest.mark.parametrize("seed", [0, 1, 99])
def test_other_seeds_are_consistent(seed):
    assert consistency_problems(generate_county(seed, today=TODAY)) == []
    assert consistency_problems(generate_region(5, seed)) == []


# --------------------------------------------------------------------------- determinism and labels


def _frames(dataset):
    return [dataset.table(name) for name in dataset.TABLES]


def test_same_seed_gives_identical_frames():
    for a, b in zip(_frames(generate_county(11, today=TODAY)), _frames(generate_county(11, today=TODAY))):
        pd.testing.assert_frame_equal(a, b)
    for a, b in zip(_frames(generate_region(8, 3)), _frames(generate_region(8, 3))):
        pd.testing.assert_frame_equal(a, b)


def test_different_seed_gives_different_data():
    assert not generate_county(11, today=TODAY).school_year.equals(generate_county(12, today=TODAY).school_year)
    assert not generate_region(8, 3).school_year.equals(generate_region(8, 4).school_year)


def test_synthetic_flag_and_label(realistic, region):
    for dataset in (realistic, region):
        assert dataset.synthetic is True
        for column in ("county_name", "city", "province"):
            assert dataset.counties[column].str.contains(SYNTHETIC_LABEL, regex=False).all()
        assert dataset.schools["county_name"].str.contains(SYNTHETIC_LABEL, regex=False).all()
    named = generate_county(county_name="某县", today=TODAY)
    assert named.counties["county_name"].iloc[0] == "某县" + SYNTHETIC_LABEL


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError):
        generate_county(profile="perfect")


# --------------------------------------------------------------------------- scale


def _last_year(dataset) -> pd.DataFrame:
    """The rows of the last complete year (the evaluation year)."""
    sy = dataset.school_year
    return sy[sy["year"] == dataset.county_year["year"].max()].merge(dataset.schools, on="school_id")


def test_demo_county_has_the_scale_of_seed_003(realistic, passing):
    for dataset in (realistic, passing):
        counts = dataset.schools["school_type"].value_counts()
        assert counts["primary"] == 44 and counts["junior"] == 21 and counts["special"] == 1
        assert 3 <= counts["nine_year"] <= 4 and counts["twelve_year"] == 1
        assert 5 <= counts["teaching_point"] <= 8 and counts.get("complete_middle", 0) <= 1
        last = _last_year(dataset)
        assert 13_000 <= last["students_primary"].sum() <= 14_200
        assert 6_500 <= last["students_junior"].sum() <= 7_100
        special = last[last["school_type"] == "special"]
        assert 60 <= special[["students_primary", "students_junior"]].sum(axis=1).iloc[0] <= 95
        points = last[last["school_type"] == "teaching_point"]
        assert (points["students_primary"] < 50).any() and (points["students_primary"] < 100).all()
        assert (last.loc[last["school_type"] == "twelve_year", "students_senior"] > 0).all()
        assert sorted(dataset.school_year["year"].unique()) == [2023, 2024, 2025, 2026]
        assert list(dataset.county_year["year"]) == [2023, 2024, 2025]
        assert last["year"].iloc[0] == EVALUATION_YEAR
        county = dataset.counties.iloc[0]
        assert county["standard"] == "national-2017" and county["basic_balance_year"] == 2014
        assert county["target_year"] == 2026 and 340_000 <= county["resident_population"] <= 380_000


def test_demo_county_mixes_urban_town_and_rural_schools(realistic):
    last = _last_year(realistic)
    primary = last[last["school_type"] == "primary"]
    by_locale = primary.groupby("locale")["students_primary"].median()
    assert by_locale["urban"] > by_locale["town"] > by_locale["rural"]
    assert last["students_primary"].max() > 2000  # one very large county-town school


def test_region_scale(region):
    assert len(region.counties) == 50
    assert region.counties["county_code"].is_unique
    assert region.counties["county_code"].str.fullmatch(r"\d{6}").all()
    assert region.counties["county_name"].iloc[0] == "合成县0001" + SYNTHETIC_LABEL
    assert 50 * 72 * 0.9 <= len(region.schools) <= 50 * 72 * 1.1
    assert region.school_year["year"].unique().tolist() == [2024]
    per_county = region.schools.groupby("county_code")["school_type"]
    assert (per_county.apply(lambda t: (t == "special").sum()) == 1).all()
    assert (per_county.apply(lambda t: (t == "primary").sum()) >= 1).all()
    assert set(region.schools["school_type"]) == set(catalog().school_types)
    assert region.counties["city"].nunique() == round(50 / 9)
    assert len(region.county_year) == 50 and region.quality["county_code"].nunique() == 50


def test_region_respects_n_cities():
    region = generate_region(30, n_cities=3)
    assert region.counties["city"].nunique() == 3
    assert region.counties["county_code"].str[:4].nunique() == 3


# --------------------------------------------------------------------------- profiles


def _resources(dataset):
    return reference_resources(dataset, STANDARD)


def _cv_over(cv: pd.DataFrame) -> pd.DataFrame:
    return cv[~(cv["value"] <= cv["segment"].map(STANDARD.cv_limits))]


def _school_failures(dataset) -> dict[str, pd.DataFrame]:
    """Per school and year: G3 rooms, G4 size, G5 classes, G12 certification, Q4, Q6, Q3."""
    sy = dataset.school_year.merge(dataset.schools, on="school_id")
    rooms = STANDARD.indicator("G3").rule
    g3_scope = sy["school_type"].isin(STANDARD.indicator("G3").school_types)
    classes = sy[["classes_primary", "classes_junior"]].fillna(0).sum(axis=1)
    needed = np.maximum(rooms.min_rooms, np.ceil(classes / rooms.classes_per_room))
    g3_ok = pd.Series(True, index=sy.index)
    for room in rooms.rooms.values():
        g3_ok &= (sy[room.rooms_field] >= needed) & (sy[room.area_field] >= room.min_area)
    size_limits = STANDARD.indicator("G4").rule.limits
    compulsory = sy[["students_primary", "students_junior"]].fillna(0).sum(axis=1)
    g4_ok = ~(compulsory > sy["school_type"].map(size_limits).astype(float))
    class_limits = STANDARD.indicator("G5").rule.limits
    g5_ok = pd.Series(True, index=sy.index)
    for segment, limit in class_limits.items():
        g5_ok &= ~(sy[f"max_class_size_{segment}"] > limit).fillna(False)
    teachers = sy[["teachers_primary", "teachers_junior"]].fillna(0).sum(axis=1)
    certified = sy[["certified_teachers_primary", "certified_teachers_junior"]].fillna(0).sum(axis=1)
    return {
        "G3": sy[g3_scope & ~g3_ok.fillna(False)],
        "G4": sy[~g4_ok],
        "G5": sy[~g5_ok],
        "G12": sy[certified < teachers],
        "Q3": sy[~sy["has_charter"].fillna(False)],
        "Q4": sy[~(sy["training_funds"] >= 0.05 * sy["public_funds"])],
        "Q6": sy[~sy["moral_rating"].isin(["excellent", "good"])],
    }


def _county_checks():
    """(indicator, check) for every check on a county_year row."""
    for ind in STANDARD.indicators.values():
        if ind.rule.kind == "county_checks":
            yield from ((ind.id, check) for check in ind.rule.checks.values())
        elif ind.rule.kind == "school_checks":
            yield from ((ind.id, check) for check in ind.rule.county_checks.values())


def _county_check_ok(check, row) -> bool:
    if check.ratio:
        value = check.ratio.scale * getattr(row, check.ratio.numerator) / getattr(row, check.ratio.denominator)
    else:
        value = getattr(row, check.field)
    if check.op == "is_true":
        return bool(value)
    assert check.op == ">=", check.op
    return value >= (check.threshold if check.threshold is not None else getattr(row, check.ref_field))


def _county_failures(dataset) -> set[str]:
    """County-level G, Q and S items, veto and Q9, over every year."""
    failed = set()
    for row in dataset.county_year.itertuples():
        failed |= {ind_id for ind_id, check in _county_checks() if not _county_check_ok(check, row)}
        if any(getattr(row, flag) for flag in STANDARD.veto):
            failed.add("veto")
    rule = STANDARD.indicator("Q9").rule
    quality = dataset.quality
    if ((quality["level"] < rule.min_level) | (quality["inter_school_diff_rate"] >= rule.max_diff_rate)).any():
        failed.add("Q9")
    return failed


def test_realistic_fails_a_designed_handful(realistic):
    res = _resources(realistic)
    last = EVALUATION_YEAR
    units = res.units[res.units["year"] == last]
    noncompliant = units[~units["compliant"].astype(bool)]
    assert 3 <= len(noncompliant) <= 8
    assert len(noncompliant) / len(units) < 0.1  # most units comply
    over = _cv_over(res.cv[res.cv["year"] == last])
    assert 1 <= len(over) <= 2
    assert ("junior", "R5") in set(zip(over["segment"], over["indicator"]))

    schools = _school_failures(realistic)
    at_last = {key: frame[frame["year"] == last] for key, frame in schools.items()}
    assert len(at_last["G4"]) == 1 and at_last["G4"]["school_type"].iloc[0] == "primary"
    assert 1 <= len(at_last["G5"]) <= 4 and (at_last["G5"]["locale"] == "urban").all()
    assert 1 <= len(at_last["G3"]) <= 8
    for key in ("G12", "Q3", "Q4", "Q6"):
        assert at_last[key].empty, key
    assert _county_failures(realistic) == {"G11"}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_realistic_failures_do_not_depend_on_the_seed(seed):
    dataset = generate_county(seed, today=TODAY)
    res = _resources(dataset)
    units = res.units[res.units["year"] == EVALUATION_YEAR]
    assert 3 <= (~units["compliant"].astype(bool)).sum() <= 8
    over = _cv_over(res.cv[res.cv["year"] == EVALUATION_YEAR])
    assert ("junior", "R5") in set(zip(over["segment"], over["indicator"])) and len(over) <= 2
    failures = _school_failures(dataset)
    assert all(not failures[key][failures[key]["year"] == EVALUATION_YEAR].empty for key in ("G3", "G4", "G5"))
    assert _county_failures(dataset) == {"G11"}


@pytest.mark.parametrize("seed", [2024, 5, 6])
def test_passing_passes_everything_with_margin_in_every_year(seed):
    dataset = generate_county(seed, profile="passing", today=TODAY)
    res = _resources(dataset)
    units = res.units
    assert units["compliant"].astype(bool).all()
    for ind in STANDARD.resource_indicators():
        threshold = units["segment"].map(ind.thresholds)
        assert (units[ind.id] >= 1.2 * threshold).all(), ind.id
    assert (res.cv["value"] < 0.25).all()
    assert all(frame.empty for frame in _school_failures(dataset).values())
    assert _county_failures(dataset) == set()
    cy = dataset.county_year
    assert (cy["training_completion_rate"] == 100).all()
    assert (cy["nearby_enrollment_rate_urban"] == 100).all() and (cy["nearby_enrollment_rate_town"] == 100).all()
    assert (cy["social_recognition_rate"] == 92).all()
    assert (dataset.quality["level"] >= 3).all() and (dataset.quality["inter_school_diff_rate"] < 0.15).all()


def test_passing_has_the_same_schools_as_realistic(realistic, passing):
    columns = ["school_id", "school_type", "locale", "parent_school_id"]
    pd.testing.assert_frame_equal(realistic.schools[columns], passing.schools[columns])


def test_region_mixes_ready_and_failing_counties(region):
    res = _resources(region)
    assert 0.8 < res.units["compliant"].astype(bool).mean() < 1.0
    units_ok = res.units.groupby("county_code")["compliant"].all()
    cv_ok = (res.cv["value"] <= res.cv["segment"].map(STANDARD.cv_limits)).groupby(res.cv["county_code"]).all()
    resources_ok = units_ok & cv_ok
    assert 0.1 < resources_ok.mean() < 0.6
    assert cv_ok.mean() < 1.0  # some counties have the junior sports-ground gap
    joined = region.school_year.merge(region.schools, on="school_id")
    in_units = joined[joined["school_type"] != "special"]
    assert res.units["students"].sum() == in_units[["students_primary", "students_junior"]].sum().sum()


# --------------------------------------------------------------------------- a demo alive today


def test_the_demo_has_three_complete_years_and_the_current_one_in_progress(realistic):
    assert demo_years(TODAY) == ((2023, 2024, 2025), 2026)
    sy, n_schools = realistic.school_year, len(realistic.schools)
    rows = sy.groupby("year").size().to_dict()
    assert rows == {2023: n_schools, 2024: n_schools, 2025: n_schools, 2026: round(IN_PROGRESS_SHARE * n_schools)}
    assert 2026 not in set(realistic.county_year["year"]) and 2026 not in set(realistic.quality["year"])
    for year in (2023, 2024, 2025):
        coverage = dataset_coverage(realistic, "140599", year)
        assert coverage.complete and coverage.schools_included == coverage.schools_expected == n_schools
    partial = dataset_coverage(realistic, "140599", 2026)
    assert not partial.complete and partial.county_year is False
    assert partial.schools_included == round(IN_PROGRESS_SHARE * n_schools) < partial.schools_expected == n_schools
    # the year in progress follows the evaluation year: the same schools, a year of drift on
    joined = sy.pivot(index="school_id", columns="year", values="students_primary").dropna(subset=[2026])
    assert len(joined) > 10 and (abs(joined[2026] / joined[2025] - 1) < 0.1).all()


def test_the_years_follow_today():
    assert demo_years(date(2026, 8, 31)) == ((2022, 2023, 2024), 2025)  # a school year starts 1 September
    assert demo_years(date(2026, 9, 1)) == ((2023, 2024, 2025), 2026)
    later = generate_county(today=date(2027, 10, 8))
    assert sorted(later.school_year["year"].unique()) == [2024, 2025, 2026, 2027]
    assert list(later.county_year["year"]) == [2024, 2025, 2026]
    # without a date: the school year under way now (Beijing time)
    now = current_school_year()
    assert int(generate_county().school_year["year"].max()) == now
    assert int(generate_county().county_year["year"].max()) == now - 1


def test_the_demo_is_deterministic_for_a_seed_and_a_school_year():
    """Any day of the same school year gives the same data; the seed decides the rest."""
    same = generate_county(5, today=date(2026, 9, 1)), generate_county(5, today=date(2027, 8, 31))
    for a, b in zip(*map(_frames, same)):
        pd.testing.assert_frame_equal(a, b)
    assert not generate_county(5, today=TODAY).school_year.equals(generate_county(6, today=TODAY).school_year)


def test_explicit_years_are_all_complete():
    dataset = generate_county(years=(2022, 2023, 2024))
    assert dataset.school_year.groupby("year").size().tolist() == [len(dataset.schools)] * 3
    assert list(dataset.county_year["year"]) == [2022, 2023, 2024]
    assert all(dataset_coverage(dataset, "140599", y).complete for y in (2022, 2023, 2024))
    with pytest.raises(ValueError):
        generate_county(years=(2024,), today=TODAY)
    with pytest.raises(ValueError):
        generate_county(years=())


def test_states_of_the_year_in_progress_are_a_deterministic_mix(realistic):
    ids = realistic.school_year.loc[realistic.school_year["year"] == 2026, "school_id"]
    states = in_progress_states(ids, 2026)
    assert states == in_progress_states(list(reversed(ids.tolist())), 2026)
    counts = pd.Series(states).value_counts().to_dict()
    assert set(counts) == {"approved", "submitted", "draft"}
    assert counts["approved"] == round(0.5 * len(ids)) and counts["submitted"] == round(0.3 * len(ids))

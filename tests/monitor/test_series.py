"""Time series: every indicator per unit, school and county as tidy rows across years, and the
year-on-year table with the direction of each change."""

import builders
from junheng.engine.evaluate import evaluate_dataset
from junheng.monitor.series import series_rows, year_on_year


def test_series_rows_and_year_on_year_changes():
    schools = [builders.school(i, t) for i, t in builders.default_schools()]
    rows = []
    for year, p1 in ((2023, {"sports_area": 12000.0, "max_class_size_primary": 40}),
                     (2024, {"sports_area": 9000.0, "max_class_size_primary": 44})):
        rows += [builders.school_year(s["school_id"], s["school_type"], year=year, **(p1 if s["school_id"] == "P1" else {}))
                 for s in schools]
    dataset = builders.dataset(schools, rows, [builders.county_year(year=y) for y in (2023, 2024)],
                               [q for y in (2023, 2024) for q in builders.quality(year=y)])
    results = evaluate_dataset(dataset)
    series = series_rows(results, dataset)
    levels = {r["level"] for r in series}
    assert levels == {"unit", "cv", "county_value", "county", "school"}
    r5 = [r for r in series if r["ident"] == "R5/unit/P1/primary/-"]
    assert [(r["year"], r["value"], r["threshold"], r["met"], r["unit"]) for r in r5] == [
        (2023, 12.0, 7.5, True, "m²"), (2024, 9.0, 7.5, True, "m²")]
    table = {(r["ident"], r["year"]): r for r in year_on_year(series)}
    change = table[("R5/unit/P1/primary/-", 2024)]
    assert (change["previous_value"], change["change"], change["direction"]) == (12.0, -3.0, "worse")
    assert change["relative_change"] == -0.25 and change["direction_label"] == "下滑"
    cv = table[("R5/cv/-/primary/-", 2024)]
    assert cv["op"] == "<=" and cv["direction"] == "worse" and cv["value"] > cv["previous_value"]
    g5 = table[("G5/school/P1/primary/-", 2024)]
    assert (g5["previous_value"], g5["value"], g5["threshold"], g5["direction"]) == (40, 44, 45, "worse")
    g4 = table[("G4/school/P1/-/-", 2024)]
    assert g4["value"] == 1000 and g4["direction"] == "same"
    s1 = table[("S1/county/-/-/rate", 2024)]
    assert s1["value"] == 90.0 and s1["direction"] == "same" and s1["responsible"] == ["人大办", "政协办", "教体局"]
    assert series_rows(results, dataset, indicators={"R5"}, levels={"unit"}, school_id="P1") == r5

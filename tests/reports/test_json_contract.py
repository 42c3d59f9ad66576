"""The public JSON contract (data-format.md, "Evaluation output"): every result the engine and the
`junheng evaluate --format json` command produce validates against the published JSON Schema,
and the schema is strict enough to reject documents that break the contract."""

from __future__ import annotations

import copy
import json
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path

import builders
import pandas as pd
import pytest
from jsonschema import Draft202012Validator
from reports_helpers import run_junheng

from junheng.data.dataset import Dataset
from junheng.data.writer import write_dataset_csv
from junheng.demo.synthetic import generate_county
from junheng.engine.evaluate import evaluate_dataset

R_IDS = [f"R{i}" for i in range(1, 8)]


@lru_cache(maxsize=1)
def contract_schema() -> dict:
    text = resources.files("junheng").joinpath("schemas/evaluation.schema.json").read_text("utf-8")
    return json.loads(text)


def validator() -> Draft202012Validator:
    return Draft202012Validator(contract_schema())


def contract_errors(document: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(document)]


def only_result(dataset: Dataset, **selection):
    results = evaluate_dataset(dataset, **selection)
    assert len(results) == 1
    return results[0]


# ---------------------------------------------------------------------------------------------
# Datasets that exercise every shape of the contract


def incomplete_dataset() -> Dataset:
    """Two schools, no county data, one facility value missing: nothing fails, much is missing."""
    schools = [builders.school("P1"), builders.school("J1", "junior")]
    years = [builders.school_year("P1", students=300), builders.school_year("J1", "junior", students=200)]
    del years[0]["equipment_value"]
    return Dataset.from_frames(source="tests", schools=pd.DataFrame(schools), school_year=pd.DataFrame(years))


def failing_dataset() -> Dataset:
    """No primary backbone teachers anywhere: R2 fails in every primary unit and its CV is undefined."""
    schools, years = builders.passing_rows({s: {"backbone_teachers_primary": 0} for s in ("P1", "P2", "P3", "N1")})
    return builders.dataset(schools, years)


def primary_only_dataset() -> Dataset:
    """No junior unit at all: the junior CVs are not applicable but still present."""
    schools = [builders.school("P1"), builders.school("P2")]
    years = [builders.school_year("P1", students=500), builders.school_year("P2", students=800)]
    return builders.dataset(schools, years)


def vetoed_dataset() -> Dataset:
    return builders.dataset(county_years=[builders.county_year(veto_key_schools=True, veto_fraud=True)])


def test_the_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(contract_schema())
    assert contract_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert contract_schema()["$id"]


@pytest.mark.parametrize(
    ("make_dataset", "verdict"),
    [
        (builders.dataset, "pass"),
        (incomplete_dataset, "incomplete"),
        (failing_dataset, "fail"),
        (primary_only_dataset, "pass"),
        (vetoed_dataset, "fail"),
    ],
    ids=["passing", "incomplete", "failing", "primary-only", "vetoed"],
)
def test_engine_results_satisfy_the_contract(make_dataset, verdict):
    result = only_result(make_dataset())
    document = result.to_json()
    assert contract_errors(document) == []
    assert document["verdict"] == verdict


def test_missing_inputs_appear_as_null_in_the_contract():
    document = only_result(incomplete_dataset()).to_json()
    assert contract_errors(document) == []
    resource = document["areas"]["resource_allocation"]
    p1 = next(u for u in resource["units"] if u["school_id"] == "P1")
    assert p1["indicators"]["R6"] == {**p1["indicators"]["R6"], "value": None, "met": None}
    assert p1["compliant"] is None
    assert resource["cv"]["primary"]["R6"]["met"] is None
    assert document["areas"]["government_guarantee"]["indicators"]["G1"]["met"] is None
    assert document["areas"]["social_recognition"]["met"] is None


def test_an_undefined_cv_is_null_and_not_met():
    cv = only_result(failing_dataset()).to_json()["areas"]["resource_allocation"]["cv"]["primary"]["R2"]
    assert cv["value"] is None and cv["met"] is False


def test_triggered_vetoes_are_listed_by_key():
    document = only_result(vetoed_dataset()).to_json()
    assert contract_errors(document) == []
    assert sorted(document["veto"]["triggered"]) == ["veto_fraud", "veto_key_schools"]


@pytest.mark.parametrize("standard", ["shandong", "shanxi", "hebei"])
def test_provincial_standards_satisfy_the_contract(standard):
    document = only_result(builders.dataset(), standard=standard).to_json()
    assert contract_errors(document) == []
    assert document["standard"] == standard


def test_the_synthetic_county_satisfies_the_contract():
    results = evaluate_dataset(generate_county(7, profile="realistic", today=date(2026, 12, 1)))
    assert [r.year for r in results] == [2023, 2024, 2025, 2026]  # three complete years, one in progress
    for result in results:
        document = result.to_json()
        assert contract_errors(document) == []
        assert document["synthetic"] is True
        units = document["areas"]["resource_allocation"]["units"]
        if document["coverage"]["complete"]:
            assert len(units) > 50
        else:  # the year in progress: provisional, on the units of the schools that have a row
            assert document["year"] == 2026 and document["verdict"] == "incomplete"
            assert 0 < len(units) < 50


def test_the_contract_survives_a_json_round_trip():
    document = only_result(failing_dataset()).to_json()
    assert contract_errors(json.loads(json.dumps(document, ensure_ascii=False))) == []


# ---------------------------------------------------------------------------------------------
# The schema is not vacuous: documents that break the contract are rejected


@pytest.fixture(scope="module")
def valid_document() -> dict:
    return only_result(builders.dataset()).to_json()


def broken(document: dict, change) -> dict:
    copied = copy.deepcopy(document)
    change(copied)
    return copied


def first_unit(doc: dict) -> dict:
    return doc["areas"]["resource_allocation"]["units"][0]


BREAKAGES = {
    "no verdict": lambda d: d.pop("verdict"),
    "verdict outside the enum": lambda d: d.update(verdict="passed"),
    "year as text": lambda d: d.update(year="2024"),
    "county_code as number": lambda d: d.update(county_code=990001),
    "no standard": lambda d: d.pop("standard"),
    "unit lacking R7": lambda d: first_unit(d)["indicators"].pop("R7"),
    "unit with an R8": lambda d: first_unit(d)["indicators"].update(R8=first_unit(d)["indicators"]["R1"]),
    "unit threshold null": lambda d: first_unit(d)["indicators"]["R1"].update(threshold=None),
    "unit value as text": lambda d: first_unit(d)["indicators"]["R1"].update(value="8.00"),
    "unit met as text": lambda d: first_unit(d)["indicators"]["R1"].update(met="达标"),
    "segment outside the enum": lambda d: first_unit(d).update(segment="senior"),
    "students as float": lambda d: first_unit(d).update(students=1000.5),
    "no met_count": lambda d: first_unit(d).pop("met_count"),
    "no compliant": lambda d: first_unit(d).pop("compliant"),
    "no junior cv": lambda d: d["areas"]["resource_allocation"]["cv"].pop("junior"),
    "cv lacking R4": lambda d: d["areas"]["resource_allocation"]["cv"]["primary"].pop("R4"),
    "cv without limit": lambda d: d["areas"]["resource_allocation"]["cv"]["primary"]["R1"].pop("limit"),
    "resource met as text": lambda d: d["areas"]["resource_allocation"].update(met="true"),
    "no G15": lambda d: d["areas"]["government_guarantee"]["indicators"].pop("G15"),
    "no Q9": lambda d: d["areas"]["education_quality"]["indicators"].pop("Q9"),
    "no S1": lambda d: d["areas"]["social_recognition"]["indicators"].pop("S1"),
    "item without met": lambda d: d["areas"]["government_guarantee"]["indicators"]["G3"].pop("met"),
    "no social recognition area": lambda d: d["areas"].pop("social_recognition"),
    "unknown veto key": lambda d: d["veto"].update(triggered=["veto_bribery"]),
    "veto without triggered": lambda d: d["veto"].pop("triggered"),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES), ids=list(BREAKAGES))
def test_the_schema_rejects_a_document_that_breaks_the_contract(valid_document, breakage):
    assert contract_errors(valid_document) == []
    assert contract_errors(broken(valid_document, BREAKAGES[breakage])) != []


def test_the_schema_accepts_extra_fields(valid_document):
    extended = broken(valid_document, lambda d: d.update(client_note="任意附加字段", areas={
        **d["areas"], "resource_allocation": {**d["areas"]["resource_allocation"], "extra": [1, 2]}}))
    assert contract_errors(extended) == []


# ---------------------------------------------------------------------------------------------
# The real command: `junheng evaluate DATASET --format json -o out.json`

TWO_YEARS = (2023, 2024)


def two_year_dataset() -> Dataset:
    schools = [builders.school(i, t) for i, t in builders.default_schools()]
    years = [builders.school_year(s["school_id"], s["school_type"], year=y) for y in TWO_YEARS for s in schools]
    years[0]["equipment_value"] = None  # the first year is incomplete
    county_years = [builders.county_year(year=y) for y in TWO_YEARS]
    quality_rows = [row for y in TWO_YEARS for row in builders.quality(year=y)]
    return builders.dataset(schools, years, county_years, quality_rows)


@pytest.fixture(scope="module")
def csv_dataset(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("contract") / "dataset"
    write_dataset_csv(two_year_dataset(), folder)
    return folder


def run_evaluate(folder: Path, out: Path, *selection: str):
    return run_junheng("evaluate", str(folder), "--format", "json", "-o", str(out), *selection)


def test_the_command_writes_an_array_of_contract_results_for_several_county_years(csv_dataset, tmp_path):
    out = tmp_path / "out.json"
    completed = run_evaluate(csv_dataset, out)
    assert completed.returncode == 0, completed.stderr + completed.stdout
    documents = json.loads(out.read_text("utf-8"))
    assert isinstance(documents, list) and len(documents) == len(TWO_YEARS)
    for document in documents:
        assert contract_errors(document) == []
    assert [(d["county_code"], d["year"]) for d in documents] == [(builders.COUNTY, y) for y in TWO_YEARS]
    assert [d["verdict"] for d in documents] == ["incomplete", "pass"]


def test_the_command_writes_one_object_for_one_selected_county_year(csv_dataset, tmp_path):
    out = tmp_path / "out.json"
    completed = run_evaluate(csv_dataset, out, "--county", builders.COUNTY, "--year", "2024")
    assert completed.returncode == 0, completed.stderr + completed.stdout
    document = json.loads(out.read_text("utf-8"))
    assert isinstance(document, dict)
    assert contract_errors(document) == []
    assert (document["county_code"], document["year"], document["verdict"]) == (builders.COUNTY, 2024, "pass")


def units_by_key(document: dict) -> dict[tuple[str, str], dict]:
    return {(u["school_id"], u["segment"]): u for u in document["areas"]["resource_allocation"]["units"]}


def test_the_command_agrees_with_the_engine(csv_dataset, tmp_path):
    """Going through CSV files and the importer gives the same contract values as the frames."""
    out = tmp_path / "out.json"
    completed = run_evaluate(csv_dataset, out, "--county", builders.COUNTY, "--year", "2023")
    assert completed.returncode == 0, completed.stderr + completed.stdout
    from_command = json.loads(out.read_text("utf-8"))
    from_engine = only_result(two_year_dataset(), county=builders.COUNTY, year=2023).to_json()
    assert from_command["verdict"] == from_engine["verdict"] == "incomplete"
    command_units, engine_units = units_by_key(from_command), units_by_key(from_engine)
    assert command_units.keys() == engine_units.keys()
    for key, unit in engine_units.items():
        for r in R_IDS:
            expected = unit["indicators"][r]["value"]
            got = command_units[key]["indicators"][r]["value"]
            if expected is None:
                assert got is None, (key, r)
            else:
                assert got == pytest.approx(expected), (key, r)

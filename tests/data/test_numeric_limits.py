"""Every count and number has a plausible bound (format.yaml `limits`), so that no accepted value
can overflow a computation (issue 11 #6: 1e308 m², once approved, made every page 500)."""

from __future__ import annotations

import builders
import pytest
from dataset_files import assert_names, only_problem, write_csv_folder

from junheng.data.catalog import catalog
from junheng.data.importer import validate_rows
from junheng.data.problems import DatasetInvalid
from junheng.engine.evaluate import evaluate_dataset


def test_every_count_and_number_field_has_a_bound():
    unbounded = [(t.name, f.key) for t in catalog().tables.values() for f in t.fields
                 if f.type in ("count", "number") and f.maximum is None]
    assert unbounded == []
    area = catalog().table("school_year").field("teaching_aux_area")
    assert area.maximum == 1e7 and catalog().table("school_year").field("public_funds").maximum == 1e12


@pytest.mark.parametrize("value", ["1e308", "10000001", "1e400"])
def test_an_implausible_area_is_refused_with_the_bound_named(tmp_path, tables, value):
    tables["school_year"][0]["teaching_aux_area"] = value
    problem = only_problem(write_csv_folder(tmp_path / "d", tables))
    assert_names(problem, table="school_year", row=2, column="teaching_aux_area")
    text = str(problem)
    assert ("超出合理范围" in text and "不超过 10000000m²" in text) or "无效" in text  # 1e400 is no finite number


def test_the_bound_itself_is_accepted_and_evaluates(tmp_path):
    schools, years = builders.passing_rows({"P1": {"teaching_aux_area": 1e7, "equipment_value": 1e12,
                                                   "sports_area": 1e7}})
    rows = {"schools": schools, "school_year": years, "county_year": [builders.county_year()],
            "quality": builders.quality()}
    dataset = validate_rows({k: [{c: ("" if v is None else str(v)) for c, v in r.items()} for r in rs]
                             for k, rs in rows.items()})
    result = evaluate_dataset(dataset)[0]  # no OverflowError anywhere in the explanation
    assert result.verdict in ("pass", "fail")


def test_forms_share_the_bound():
    row = {k: str(v) for k, v in builders.school_year("P1").items()} | {"sports_area": "1e308"}
    with pytest.raises(DatasetInvalid) as caught:
        validate_rows({"schools": [{k: str(v) for k, v in builders.school("P1").items()}], "school_year": [row]})
    assert any("超出合理范围" in str(p) for p in caught.value.problems)

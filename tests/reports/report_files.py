"""Helpers shared by the report tests: reading the tables and text of a generated Word file, and
small datasets with a known failing item, missing data or a veto."""

from __future__ import annotations

import io

import builders
import pandas as pd
from docx import Document
from docx.oxml.ns import qn
from docx.table import Table as DocxTable

from junheng.data.dataset import Dataset
from junheng.engine.evaluate import evaluate_dataset

ZERO_WIDTH = "\u200b"
SEGMENT_LABELS = {"primary": "小学", "junior": "初中"}


FOLD = str.maketrans({"\uff08": "(", "\uff09": ")", "\uff0c": ",", "\uff1a": ":", "\uff1b": ";", ZERO_WIDTH: None})


def plain(text: str) -> str:
    """Text as a test compares it: no zero-width spaces, full-width punctuation folded to ASCII
    (the reports print Chinese punctuation; the engine writes ASCII)."""
    return text.translate(FOLD)


def open_docx(data: bytes):
    return Document(io.BytesIO(data))


def docx_tables(data: bytes) -> dict[str, list[list[str]]]:
    """Every table of the document by its caption (the paragraph before it), rows of cell texts
    (the header row first)."""
    document = open_docx(data)
    tables: dict[str, list[list[str]]] = {}
    caption = ""
    for child in document.element.body.iterchildren():
        if child.tag == qn("w:p"):
            text = "".join(t.text or "" for t in child.iter(qn("w:t"))).strip()
            if text:
                caption = plain(text)
        elif child.tag == qn("w:tbl"):
            table = DocxTable(child, document)
            tables[caption] = [[plain(cell.text) for cell in row.cells] for row in table.rows]
    return tables


def table_titled(tables: dict[str, list[list[str]]], title: str) -> list[list[str]]:
    found = [rows for caption, rows in tables.items() if plain(title) in caption]
    assert len(found) == 1, (title, list(tables))
    return found[0]


def docx_text(data: bytes) -> str:
    document = open_docx(data)
    return plain("\n".join(p.text for p in document.paragraphs))


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    header, *body = rows
    return [dict(zip(header, row)) for row in body]


# ---------------------------------------------------------------------------------------------
# Small datasets (tests/builders.py: everything passes; break one thing)


def failing_small():
    """R2 fails in every primary unit (no backbone teachers); J2 is short of sports area."""
    overrides = {s: {"backbone_teachers_primary": 0} for s in ("P1", "P2", "P3", "N1")}
    overrides["J2"] = {"sports_area": 8.0 * 1000}
    schools, years = builders.passing_rows(overrides)
    dataset = builders.dataset(schools, years)
    return evaluate_dataset(dataset)[0], dataset


def incomplete_small():
    """P1 lacks its equipment value and the county its social recognition rate."""
    schools = [builders.school("P1"), builders.school("J1", "junior")]
    years = [builders.school_year("P1", students=300), builders.school_year("J1", "junior", students=200)]
    del years[0]["equipment_value"]
    county = builders.county_year()
    del county["social_recognition_rate"]
    dataset = Dataset.from_frames(source="tests", schools=pd.DataFrame(schools), school_year=pd.DataFrame(years),
                                  county_year=pd.DataFrame([county]), quality=pd.DataFrame(builders.quality()))
    return evaluate_dataset(dataset)[0], dataset


def vetoed_small():
    """Everything met, but the county admitted pupils by examination."""
    dataset = builders.dataset(county_years=[builders.county_year(veto_exam_admission=True)])
    return evaluate_dataset(dataset)[0], dataset


def approve_all(s) -> None:
    """Every stored school-year and county-year approved (a report from the store reads approved data)."""
    from sqlalchemy import select

    from junheng.store.models import CountyYear, SchoolYear

    for row in [*s.scalars(select(SchoolYear)), *s.scalars(select(CountyYear))]:
        row.status = "approved"


def stored_report(database, fmt: str) -> bytes:
    """The county report of builders' county-year from the store, in `fmt`."""
    from junheng.reports.store import county_report_stored

    with database.session() as s:
        report, _ = county_report_stored(s, builders.COUNTY, fmt, year=builders.YEAR)
    return report.content

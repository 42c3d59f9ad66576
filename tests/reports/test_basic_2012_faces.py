"""The terminal report (`junheng evaluate`) and the result workbook follow the result's own standard
(issue 13): under basic-2012 they show B1–B8 with their names, per segment the eight CVs and the
综合差异系数 against its limit, BG1/BG2 and the public satisfaction marked 不参与判定, and nothing of
national-2017 (R1…, 社会认可度, 一票否决, the 6-of-7 rule). A workbook of results under both
standards holds each result's own indicators.

The county is the hand-made one of tests/engine/test_basic_2012.py (two primary schools, a
nine-year school, a junior school)."""

from __future__ import annotations

import io
import re

import builders
import openpyxl
import pytest
from reports_helpers import run_junheng
from rich.console import Console

from junheng.data.writer import write_dataset_csv
from junheng.engine.evaluate import evaluate_dataset
from junheng.engine.wording import num
from junheng.reports.terminal import print_result
from junheng.reports.xlsx import write_results_xlsx
from junheng.standards.loader import load_standard

BASIC = load_standard("basic-2012")
NATIONAL = load_standard("national-2017")
HEADER_ROW, FIRST_DATA_ROW = 3, 4
NATIONAL_ONLY = ("R1", "R7", "社会认可度", "教育质量", "一票否决", "申请前提", "/7", "7 项")

def county(j1: dict | None = None, **county_fields):
    return builders.basic_2012_dataset(j1=j1, **county_fields)


UNEQUAL_JUNIOR = builders.BASIC_2012_UNEQUAL_J1


@pytest.fixture(scope="module")
def result():
    [r] = evaluate_dataset(county(), standard=BASIC)
    return r


@pytest.fixture(scope="module")
def failing():
    [r] = evaluate_dataset(county(UNEQUAL_JUNIOR, basic_gov_score=80.0), standard=BASIC)
    assert r.resource.composite_cv["junior"].met is False and r.item("BG1").met is False
    return r


def terminal_text(r) -> str:
    buffer = io.StringIO()
    print_result(Console(file=buffer, width=250, color_system=None), r)
    return buffer.getvalue()


def cv_text(value: float) -> str:
    return num(value, digits=3)


# ---------------------------------------------------------------- terminal


def test_the_terminal_report_shows_the_basic_standard(result):
    text = terminal_text(result)
    for ind in BASIC.indicators.values():
        assert ind.name in text, ind.id
    for area in BASIC.areas.values():
        assert area.label in text
    assert "两个方面" in text and "不逐校判定" in text
    for word in NATIONAL_ONLY:
        assert word not in text, word
    assert re.search(r"公众满意度\(不参与判定\):93\.50%", builders.plain(text))


def test_the_terminal_cv_table_has_every_cv_and_the_composite_per_segment(result):
    text = terminal_text(result)
    res = result.resource
    for segment, label in (("primary", "小学"), ("junior", "初中")):
        line = next(ln for ln in text.splitlines() if ln.strip("│ ").startswith(label) and "综合" not in ln
                    and "/" in ln)
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        assert cells[0] == label
        assert cells[1:9] == [cv_text(res.cv[segment][i].value) for i in result.resource_ids()]
        composite = res.composite_cv[segment]
        assert cells[9] == f"{cv_text(composite.value)}/{num(composite.limit)} 达标"


def test_the_terminal_report_names_a_failing_composite_and_bg1(failing):
    text = terminal_text(failing)
    junior = failing.resource.composite_cv["junior"]
    assert f"初中综合差异系数 {cv_text(junior.value)}/0.55 未达标" in text
    assert "综合差异系数未达标学段的各项差异系数与主要来源" in text
    assert "结论:未达标" in text and "BG1 " + BASIC.indicator("BG1").name in text
    assert "未达标指标:" in text and "BG1" in text.split("未达标指标:")[1].splitlines()[0]


def test_junheng_evaluate_with_the_basic_standard(tmp_path):
    folder = tmp_path / "dataset"
    folder.mkdir()
    write_dataset_csv(county(), folder)
    done = run_junheng("evaluate", str(folder), "--standard", "basic-2012")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "综合差异系数" in done.stdout and BASIC.indicator("B8").name in done.stdout
    assert "R1" not in done.stdout and "社会认可度" not in done.stdout


# ---------------------------------------------------------------- workbook


def sheet_rows(sheet) -> list[list]:
    return [[c.value for c in row] for row in sheet.iter_rows(min_row=FIRST_DATA_ROW)]


def headers(sheet) -> list[str]:
    return [c.value for c in sheet[HEADER_ROW]]


def workbook(results, tmp_path):
    path = tmp_path / "结果.xlsx"
    write_results_xlsx(results, path)
    return openpyxl.load_workbook(path)


def test_the_workbook_has_the_basic_standards_sheets_and_columns(result, tmp_path):
    book = workbook([result], tmp_path)
    gov = BASIC.area_label("government_guarantee")
    assert book.sheetnames == ["总览", BASIC.area_label("resource_allocation"), "学校学段明细", "差异系数", gov]
    everything = " ".join(str(c.value) for ws in book for row in ws.iter_rows() for c in row if c.value is not None)
    for word in NATIONAL_ONLY:
        assert word not in everything, word
    overview = book["总览"]
    assert "县域义务教育均衡发展督导评估" in overview.cell(1, 1).value
    assert "达标单位数" not in headers(overview) and "一票否决" not in headers(overview)
    assert headers(overview)[5:7] == [BASIC.area_label("resource_allocation"), gov]
    [row] = sheet_rows(overview)
    assert "公众满意度:93.50%" in row and row[headers(overview).index("结论")] == "达标"
    units = book["学校学段明细"]
    assert [h.split("\n")[1] for h in headers(units) if h and h.startswith("B")] == \
        [ind.name for ind in BASIC.resource_indicators()]
    assert "达标项数" not in headers(units) and "是否达标" not in headers(units)
    items = sheet_rows(book[gov])
    assert [(r[2], r[3]) for r in items] == [("BG1", BASIC.indicator("BG1").name), ("BG2", BASIC.indicator("BG2").name)]


def test_the_cv_sheet_has_every_cv_and_the_composite_per_segment(result, tmp_path):
    sheet = workbook([result], tmp_path)["差异系数"]
    head = headers(sheet)
    assert head[3:11] == result.resource_ids()
    assert head[11:14] == ["综合差异系数", "综合差异系数上限", "结论"] and "上限" not in head
    rows = {r[2]: r for r in sheet_rows(sheet)}
    for segment, label in (("primary", "小学"), ("junior", "初中")):
        row = rows[label]
        cvs = result.resource.cv[segment]
        assert row[3:11] == pytest.approx([cvs[i].value for i in result.resource_ids()])
        composite = result.resource.composite_cv[segment]
        assert row[11] == pytest.approx(composite.value) and row[12] == composite.limit and row[13] == "达标"


def test_a_failing_composite_is_shaded_and_judged_in_the_workbook(failing, tmp_path):
    sheet = workbook([failing], tmp_path)["差异系数"]
    junior = next(r for r in sheet.iter_rows(min_row=FIRST_DATA_ROW) if r[2].value == "初中")
    assert junior[13].value == "未达标"
    assert junior[11].fill.fgColor.rgb.endswith("FFC7CE")


def test_one_workbook_with_both_standards_keeps_each_results_own_items(result, tmp_path):
    [national] = evaluate_dataset(county(), standard=NATIONAL)
    book = workbook([national, result], tmp_path)
    assert {"政府保障程度", "教育质量", "社会认可度"} <= set(book.sheetnames)
    overview = book["总览"]
    head = headers(overview)
    assert "资源配置" in head and "社会认可度" in head and "达标单位数" in head
    basic_row = next(r for r in sheet_rows(overview) if r[3].endswith("(basic-2012)"))
    assert basic_row[head.index("社会认可度")] == "—" and basic_row[head.index("达标单位数")] == "—"
    units = book["学校学段明细"]
    ids = [h.split("\n")[0] for h in headers(units) if h and "\n" in h]
    assert ids == national.resource_ids() + result.resource_ids()
    rows = sheet_rows(units)
    first, width = 7, len(national.resource_ids())
    n = len(national.resource.units)
    assert len(rows) == n + len(result.resource.units)
    for row in rows[:n]:  # the national result's units: its R values (or 数据缺失), no B column
        assert "—" not in row[first:first + width]
        assert set(row[first + width:first + width + len(result.resource_ids())]) == {"—"}
    for row in rows[n:]:
        assert set(row[first:first + width]) == {"—"}
        assert all(isinstance(v, (int, float)) for v in row[first + width:first + width + len(result.resource_ids())])
    cv_rows = sheet_rows(book["差异系数"])
    assert len(cv_rows) == 4

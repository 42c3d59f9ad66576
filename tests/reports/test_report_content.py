"""The county self-evaluation report: its numbers are the engine's, its failing items are the
engine's, missing data is named, and the Word, HTML and Excel forms hold the same content.
(The PDF route through LibreOffice is tested in test_report_pdf.py.)"""

from __future__ import annotations

import io
import re
from datetime import date

import openpyxl
import pytest
from docx.oxml.ns import qn
from report_files import (
    SEGMENT_LABELS,
    as_dicts,
    docx_tables,
    docx_text,
    failing_small,
    incomplete_small,
    open_docx,
    plain,
    table_titled,
    vetoed_small,
)

from junheng.demo.synthetic import generate_county
from junheng.engine.evaluate import evaluate_dataset
from junheng.reports import charts
from junheng.reports.api import county_report
from junheng.reports.county import build_county_report
from junheng.reports.document import ReportDocument, chinese_number, typeset
from junheng.reports.inputs import MonitoringWarning, PlanAction, RemediationPlan, Remediation, SupervisionTask
from junheng.reports.render_docx import render_docx
from junheng.reports.render_html import render_html
from junheng.reports.render_xlsx import render_xlsx

R_IDS = [f"R{i}" for i in range(1, 8)]
ITEM_AREAS = ("government_guarantee", "education_quality", "social_recognition")
FAILS = "此项我县暂不达标。"
OPEN, CLOSE = "\uff08", "\uff09"  # full-width parentheses


@pytest.fixture(scope="module")
def demo():
    """The realistic demo county (fails R and G items by design in its last complete year, 2025,
    as `junheng demo` makes it on 2026-12-01), its report as Word bytes."""
    dataset = generate_county(2024, today=date(2026, 12, 1))
    result = evaluate_dataset(dataset, county="140599", year=2025)[0]
    document = build_county_report(result, dataset)
    return result, dataset, document, render_docx(document)


# ---------------------------------------------------------------------------------------------
# Chinese numbering and punctuation


def test_chinese_numbers_and_heading_numbering():
    assert [chinese_number(n) for n in (1, 9, 10, 11, 15, 20, 21, 99)] == [
        "一", "九", "十", "十一", "十五", "二十", "二十一", "九十九"]
    doc = ReportDocument(title="t")
    numbers = [doc.heading(level, "x").number for level in (1, 2, 2, 3, 3, 2, 1, 2)]
    assert numbers == ["一、", f"{OPEN}一{CLOSE}", f"{OPEN}二{CLOSE}", "1.", "2.", f"{OPEN}三{CLOSE}", "二、",
                       f"{OPEN}一{CLOSE}"]


def test_typeset_uses_chinese_punctuation_in_chinese_text_only():
    assert typeset("小学为5.48人,初中(上限0.5);标准:是") == f"小学为5.48人\uff0c初中{OPEN}上限0.5{CLOSE}\uff1b标准\uff1a是"
    assert typeset("R4(m²)") == "R4(m²)"
    assert typeset("school_year.students_primary (x, y)") == "school_year.students_primary (x, y)"


def test_names_from_the_data_are_printed_as_written(demo):
    result, _, document, data = demo
    assert "(" in result.county_name  # the synthetic label uses ASCII parentheses
    text = "\n".join(p.text for p in open_docx(data).paragraphs)
    assert result.county_name in text


# ---------------------------------------------------------------------------------------------
# Failing items: exactly the engine's


@pytest.mark.parametrize("make", [failing_small, incomplete_small, vetoed_small])
def test_the_report_lists_exactly_the_engines_failing_items(make):
    result, dataset = make()
    failing = result.failing_items()
    document = build_county_report(result, dataset, with_charts=False)
    table = document.table_of("failing_items")
    if failing:
        assert [row[0].text for row in table.rows] == failing
    else:
        assert table is None
    text = plain(document.text())
    # one "此项我县暂不达标" per failing indicator, in the seed-003 style (第X条 … 此项我县暂不达标。)
    assert text.count(FAILS) == len(failing)
    conclusion = re.search(r"共有(\d+)项指标未达到标准:([^。]*)。", text)
    if failing:
        assert conclusion is not None and int(conclusion.group(1)) == len(failing)
        assert conclusion.group(2).split("、") == failing
    else:
        assert conclusion is None


def test_demo_county_failing_items_in_the_word_file(demo):
    result, _, _, data = demo
    failing = result.failing_items()
    assert failing  # the realistic profile fails by design
    rows = table_titled(docx_tables(data), "未达标指标一览")
    assert [row[0] for row in rows[1:]] == failing
    text = docx_text(data)
    assert text.count(FAILS) == len(failing)
    for n, area in enumerate(ITEM_AREAS):
        for item in result.item_area(area).indicators.values():
            assert item.name in text


def test_a_veto_fails_the_county_and_is_shown(tmp_path):
    result, dataset = vetoed_small()
    assert result.verdict == "fail" and result.failing_items() == []
    document = build_county_report(result, dataset, with_charts=False)
    veto = document.table_of("veto")
    states = {row[0].text: row[1].text for row in veto.rows}
    assert states["以考试方式招生"].startswith("有")
    assert "一票否决" in document.text()


# ---------------------------------------------------------------------------------------------
# Every number in the Word tables is the engine's number


def two(value: float) -> str:
    return f"{value:,.2f}"  # thousands separated, as the engine's explanations (3,135.13 元)


def test_unit_table_numbers_are_the_engines(demo):
    result, _, _, data = demo
    engine = result.to_json()["areas"]["resource_allocation"]
    rows = as_dicts(table_titled(docx_tables(data), "资源配置指标明细"))
    assert len(rows) == len(engine["units"])
    by_key = {(r["学校名称"], r["学段"]): r for r in rows}
    for unit in engine["units"]:
        row = by_key[(unit["school_name"], SEGMENT_LABELS[unit["segment"]])]
        assert row["学生数(人)"] == f"{unit['students']:,}"
        for rid in R_IDS:
            header = next(h for h in row if h.startswith(rid + "("))
            assert row[header] == two(unit["indicators"][rid]["value"]), (unit["school_name"], rid)
        assert row["达标项数"] == str(unit["met_count"])
        assert row["结论"] == {True: "达标", False: "未达标", None: "数据缺失"}[unit["compliant"]]


def test_cv_table_numbers_are_the_engines(demo):
    result, _, _, data = demo
    engine = result.to_json()["areas"]["resource_allocation"]["cv"]
    rows = as_dicts(table_titled(docx_tables(data), "校际差异系数计算表"))
    assert len(rows) == 14
    for row in rows:
        segment = {"小学": "primary", "初中": "junior"}[row["学段"]]
        rid = row["指标"].split(" ")[0]
        cv = engine[segment][rid]
        assert row["差异系数CV"] == f"{cv['value']:.3f}"
        assert row["县域值X̄"] == two(cv["county_value"])
        assert row["标准差S"] == two(cv["value"] * cv["county_value"])
        assert row["上限"] == f"{cv['limit']:.2f}"
        assert row["结论"] == ("达标" if cv["met"] else "未达标")
        assert row["学生数(人)"] == f"{cv['students']:,}" and row["评估单位数"] == str(cv["units"])


def test_resource_summary_numbers_are_the_engines(demo):
    result, _, _, data = demo
    engine = result.to_json()["areas"]["resource_allocation"]
    rows = as_dicts(table_titled(docx_tables(data), "资源配置指标县域总体情况"))
    assert len(rows) == 14
    for row in rows:
        segment = {"小学": "primary", "初中": "junior"}[row["学段"]]
        rid = row["指标"].split(" ")[0]
        cv = engine["cv"][segment][rid]
        units = [u for u in engine["units"] if u["segment"] == segment]
        assert row["县域值"] == two(cv["county_value"])
        assert row["差异系数"] == f"{cv['value']:.3f}"
        reached = sum(u["indicators"][rid]["met"] is True for u in units)
        assert row["达到标准值的单位"] == f"{reached}/{len(units)}"
        assert float(row["标准值"].replace(",", "")) == units[0]["indicators"][rid]["threshold"]


def expected_amount(value: float, unit: str | None) -> str:
    text = f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"
    return text + {"m²": "平方米"}.get(unit or "", unit or "")


def test_item_tables_show_the_engines_values_and_verdicts(demo):
    result, _, _, data = demo
    engine = result.to_json()["areas"]
    tables = docx_tables(data)
    for area, title in (("government_guarantee", "政府保障程度指标自评情况"), ("education_quality", "教育质量指标自评情况"),
                        ("social_recognition", "社会认可度指标自评情况")):
        rows = as_dicts(table_titled(tables, title))
        items = engine[area]["indicators"]
        assert [r["指标"].split(" ")[0] for r in rows] == list(items)
        for row in rows:
            item = items[row["指标"].split(" ")[0]]
            assert row["结论"] == {True: "达标", False: "未达标", None: "数据缺失"}[item["met"]]
            value = item["value"]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                assert row["县域值"] == expected_amount(value, item["unit"])
            for check in item["checks"]:
                if isinstance(check["value"], float) and not isinstance(check["value"], bool):
                    assert expected_amount(check["value"], check["unit"]) in row["县域值"]


def test_gap_totals_add_up_the_engines_unit_gaps(demo):
    result, _, document, _ = demo
    totals = document.table_of("gap_totals")
    expected: dict[tuple[str, str], float] = {}
    for unit in result.resource.units:
        if unit.compliant is False:
            for rid, ind in unit.indicators.items():
                if ind.met is False and ind.gap:
                    key = (rid, ind.gap.what)
                    expected[key] = expected.get(key, 0) + ind.gap.amount
    shown = {(row[0].text, row[1].text): row[3].value for row in totals.rows}
    for key, amount in expected.items():
        assert shown[key] == pytest.approx(amount)


# ---------------------------------------------------------------------------------------------
# Layout of the Word file


def test_word_layout_fonts_numbering_headers_landscape_and_charts(demo):
    result, _, _, data = demo
    document = open_docx(data)
    fonts = {name: document.styles[name].element.rPr.rFonts.get(qn("w:eastAsia"))
             for name in ("Normal", "Heading 1", "Heading 2", "Report Table Text")}
    assert fonts == {"Normal": "仿宋", "Heading 1": "黑体", "Heading 2": "楷体", "Report Table Text": "宋体"}
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:2] == ["一、基本情况", "二、资源配置"]
    assert f"{OPEN}一{CLOSE}各项指标情况" in headings
    for title in ("三、政府保障程度", "四、教育质量", "五、社会认可度", "六、研判结论", "七、问题与整改"):
        assert title in headings
    assert "附表" in headings and any("数据来源与计算方法" in h for h in headings)
    # every table repeats its header row on each page and keeps rows whole
    for table in document.tables:
        first = table.rows[0]._tr.trPr
        assert first is not None and first.find(qn("w:tblHeader")) is not None
    orientations = [s.orientation for s in document.sections]
    assert orientations[0] == 0 and 1 in orientations  # portrait body, landscape appendix
    assert len(document.inline_shapes) == 8  # R1–R7 distributions and the CV chart
    footer = document.sections[0].footer.paragraphs[0]._p.xml
    assert "PAGE" in footer
    text = docx_text(data)
    assert "第一条" in text and "第十五条" in text
    assert "CV = S ÷ X̄" in text and "Σ" in text  # the method is stated


# ---------------------------------------------------------------------------------------------
# Missing data: named, never blank, never a crash


def test_missing_inputs_are_written_as_missing_with_the_item_named():
    result, dataset = incomplete_small()
    assert result.verdict == "incomplete"
    document = build_county_report(result, dataset, with_charts=False)
    units = document.table_of("unit_values")
    p1 = next(row for row in units.rows if row[1].text == "测试学校P1")
    r6 = p1[5 + R_IDS.index("R6")]
    assert r6.text == "数据缺失" and r6.shade == "missing"
    missing = document.table_of("missing")
    listed = {(row[0].text, row[1].text, row[3].text) for row in missing.rows}
    # named, never by the field's internal key (equipment_value, social_recognition_rate)
    assert [c.header for c in missing.columns] == ["指标", "学校", "数据表", "缺少的数据"]
    assert not [cell.text for row in missing.rows for cell in row if re.search(r"[a-z]+_[a-z]+", cell.text)]
    assert ("R6", "测试学校P1", "教学仪器设备值") in listed
    assert any(row[0].text == "S1" for row in missing.rows)
    text = plain(document.text())
    assert "此项因数据缺失,暂无法判定。" in text
    assert "数据不全,暂无法判定" in text
    data = render_docx(document)
    assert "数据缺失" in "".join(c for rows in docx_tables(data).values() for row in rows for c in row)
    render_html(document)
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(document)))
    sheet = workbook["学校资源配置明细"]
    values = [c for row in sheet.iter_rows(min_row=4) for c in row if c.value == "数据缺失"]
    assert values and all(str(c.fill.fgColor.rgb).endswith("FFEB9C") for c in values)


def test_report_without_the_dataset_takes_the_basic_facts_from_the_result():
    result, _ = failing_small()
    document = build_county_report(result, None, with_charts=False)
    basic = document.table_of("basic")
    assert basic.note and "未提供数据集" in basic.note
    total = basic.rows[-1]
    assert total[0].text == "合计"
    assert int(total[2].text.replace(",", "")) == sum(u.students for u in result.resource.units if u.segment == "primary")
    render_docx(document)


# ---------------------------------------------------------------------------------------------
# 问题与整改: engine gaps always; plan, tasks and warnings when given


def test_remediation_shows_plan_tasks_and_warnings_only_when_given():
    result, dataset = failing_small()
    bare = build_county_report(result, dataset, with_charts=False)
    assert bare.table_of("gaps") is not None
    assert all(bare.table_of(k) is None for k in ("plan", "tasks", "warnings"))
    remediation = Remediation(
        plan=RemediationPlan(title="整改方案", actions=[
            PlanAction(indicator="R2", action="评选县级骨干教师", quantity=12, unit="人", cost_wan_yuan=6.5, year=2025,
                       responsible=["教体局"]),
            PlanAction(indicator="R5", school_name="测试学校J2", action="扩建运动场", quantity=2200, unit="m²",
                       cost_wan_yuan=180, year=2026)]),
        tasks=[SupervisionTask(title="J2 运动场扩建立项", indicator="R5", responsible=["教体局", "住建局"])],
        warnings=[MonitoringWarning(message="P1 骨干教师数连续两年下降", indicator="R2")],
    )
    full = build_county_report(result, dataset, remediation=remediation, with_charts=False)
    plan = full.table_of("plan")
    assert [row[2].text for row in plan.rows] == ["评选县级骨干教师", "扩建运动场"]
    assert plan.rows[0][4].value == 6.5 and plan.rows[1][5].text == "2026"
    assert "计划投资186.50万元" in plain(full.text())
    assert full.table_of("tasks").rows[0][0].text == "J2 运动场扩建立项"
    assert full.table_of("warnings").rows[0][2].text == "P1 骨干教师数连续两年下降"


# ---------------------------------------------------------------------------------------------
# HTML and Excel forms


def test_html_is_one_escaped_file_with_the_same_content(demo):
    result, dataset, document, _ = demo
    html = render_html(document).decode("utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in html
    assert result.county_name in html and "资源配置" in html and "研判结论" in html
    assert html.count("data:image/png;base64,") == 8
    assert html.count("<table") == len(document.tables())
    assert "thead" in html and "@page landscape" in html

    dataset.schools.loc[dataset.schools.index[0], "school_name"] = "<b>某小学</b>"
    hostile = evaluate_dataset(dataset, county="140599", year=2025)[0]
    text = render_html(build_county_report(hostile, dataset, with_charts=False)).decode("utf-8")
    assert "<b>某小学</b>" not in text and "&lt;b&gt;某小学&lt;/b&gt;" in text


def test_excel_has_every_table_as_a_printable_sheet(demo):
    result, _, document, _ = demo
    workbook = openpyxl.load_workbook(io.BytesIO(render_xlsx(document)))
    assert len(workbook.sheetnames) == len(document.tables())
    sheet = workbook["学校资源配置明细"]
    assert sheet.freeze_panes == "C4" and sheet.print_title_rows == "$1:$3"
    headers = [c.value for c in sheet[3]]
    assert "R4(m²)" in headers
    units = {(u.school_name, SEGMENT_LABELS[u.segment]): u for u in result.resource.units}
    r1 = headers.index("R1(人)")
    shaded = 0
    for row in sheet.iter_rows(min_row=4, values_only=False):
        if row[1].value is None or (row[1].value, row[3].value) not in units:
            continue
        unit = units[(row[1].value, row[3].value)]
        for k, rid in enumerate(R_IDS):
            cell = row[r1 + k]
            assert cell.value == pytest.approx(unit.indicators[rid].value, rel=1e-12)
            if unit.indicators[rid].met is False:
                assert str(cell.fill.fgColor.rgb).endswith("FFC7CE")
                shaded += 1
    assert shaded > 0


# ---------------------------------------------------------------------------------------------
# Services and charts


def test_county_report_service_returns_a_named_download(demo):
    result, dataset, _, _ = demo
    report = county_report(result, "xlsx", dataset=dataset)
    assert report.filename.endswith("2025学年义务教育优质均衡发展自评报告.xlsx")
    assert report.media_type.startswith("application/vnd.openxmlformats")
    assert report.content[:2] == b"PK"


def test_charts_need_a_cjk_font_and_say_how_to_install_one(monkeypatch):
    assert charts.cjk_font_family()
    monkeypatch.setenv("JUNHENG_CJK_FONT", "/nonexistent/font.ttc")
    charts.cjk_font_family.cache_clear()
    try:
        with pytest.raises(charts.ChartFontMissing, match="fonts-noto-cjk"):
            charts.cjk_font_family()
    finally:
        monkeypatch.delenv("JUNHENG_CJK_FONT")
        charts.cjk_font_family.cache_clear()
    assert charts.cjk_font_family()

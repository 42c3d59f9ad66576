"""The county report as a clerk reads it (issue 12): sentences that follow from each indicator's
status and rule (never "均达到标准值 … 此项我县暂不达标" unexplained), a title broken on purpose,
a 落款 with the issuing body and the date, no internal codes (standard id, software version,
generator description) in the body, and table columns wide enough for their numbers."""

from __future__ import annotations

import re
from datetime import date

import builders
import pytest
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from report_files import open_docx, plain

from junheng import __version__, schoolyear
from junheng.demo.synthetic import generate_county
from junheng.engine.evaluate import evaluate_dataset
from junheng.reports import narrative as words
from junheng.reports.county import build_county_report, resource_overview
from junheng.reports.document import Cell, Column, ReportDocument, Table, typeset_document
from junheng.reports.render_docx import cell_extent, column_widths, render_docx, text_em
from junheng.reports.render_html import render_html

FAILS = "此项我县暂不达标。"
PASSES = "此项我县达标。"


def evaluate(school_years=None, schools=None, county_years=None):
    dataset = builders.dataset(schools=schools, school_years=school_years, county_years=county_years)
    return evaluate_dataset(dataset)[0], dataset


def default_years(**per_school):
    """The passing rows of the default schools, with overrides per school id."""
    return [builders.school_year(i, t, **per_school.get(i, {})) for i, t in builders.default_schools()]


@pytest.fixture(scope="module")
def demo():
    dataset = generate_county(2024, today=date(2026, 12, 1))
    result = evaluate_dataset(dataset, county="140599", year=2025)[0]
    document = build_county_report(result, dataset, with_charts=False, generated=date(2026, 12, 1))
    return result, dataset, document


def findings(document: ReportDocument) -> list[str]:
    """The finding paragraphs (each ends with its verdict sentence), typeset-folded."""
    return [plain(p) for p in document.text().splitlines() if p.endswith(("此项我县达标。", FAILS, "暂无法判定。"))]


# ---------------------------------------------------------------------------------------------
# Sentences that follow from the status and the rule


def test_a_failing_r_indicator_with_a_passing_county_mean_says_why_it_fails():
    # P1, a small school, has no backbone teacher: it fails as a unit (R2 0 < 85% of 1), the
    # primary county mean (1.94) and the CV (0.18) pass — R2 fails only by the per-unit rule
    years = default_years()
    years[0] = builders.school_year("P1", students=100, backbone_teachers_primary=0)
    result, dataset = evaluate(years)
    assert result.failing_items() == ["R2"]
    text = plain(words.r_finding(result, "R2"))
    assert "均达到标准值" in text and text.endswith(FAILS)
    assert ("全县平均达到标准值,但有1个学校(学段)本项未达到标准值且为未达标单位;"
            "按“每个学校(学段)均须达标”(7项指标中至少6项达到标准值、其余不低于标准值的85%)的要求,此项我县暂不达标。") in text
    assert "校际差异系数不超过上限" not in text  # the CV is within its limit: not named as a cause


def test_the_resource_overview_says_what_counts_when_every_county_mean_passes():
    years = default_years()
    years[0] = builders.school_year("P1", students=100, backbone_teachers_primary=0)
    result, _ = evaluate(years)
    text = plain(resource_overview(result, result.failing_items()))
    assert text.startswith("资源配置方面共有7项指标,各项指标的县域值(全县平均)均达到标准值,但1个学校(学段)未达标。"
                           "按“每个学校(学段)均须达标(7项指标中至少6项达到标准值、其余不低于标准值的85%)”的要求,"
                           "我县6项达标、1项暂不达标(R2)。"), text


def test_a_cv_over_its_limit_is_named_as_the_reason():
    # J1 has far more sports area than the other junior units: every unit passes, the CV fails
    years = default_years(J1={"sports_area": 100.0 * 1000})
    result, _ = evaluate(years)
    assert result.failing_items() == ["R5"]
    assert all(u.compliant for u in result.resource.units)
    cv = result.resource.cv["junior"]["R5"]
    text = plain(words.r_finding(result, "R5"))
    assert (f"全县平均达到标准值,但初中校际差异系数{cv.value:.3f}超过上限0.45;按“校际差异系数不超过上限”的要求,"
            "此项我县暂不达标。") in text
    assert "未达标单位" not in text
    overview = plain(resource_overview(result, result.failing_items()))
    assert "但1项校际差异系数超过上限。按“校际差异系数不超过上限”的要求,我县6项达标、1项暂不达标(R5)" in overview


def test_a_unit_below_the_threshold_that_still_complies_passes_and_says_so():
    years = default_years(P1={"backbone_teachers_primary": 9})  # 0.9 per hundred: ≥ 85% of 1
    result, _ = evaluate(years)
    assert "R2" not in result.failing_items()
    text = plain(words.r_finding(result, "R2"))
    assert text.endswith(PASSES) and "仍为达标单位" in text and "但有" not in text


def test_all_units_reaching_the_threshold_is_said_plainly():
    result, _ = evaluate()
    text = plain(words.r_finding(result, "R1"))
    assert "评估单位全部达到标准值" in text and "个评估单位中" not in text and text.endswith(PASSES)
    assert plain(resource_overview(result, [])).startswith("资源配置方面共有7项指标,我县7项达标")


def test_a_school_level_item_with_its_county_check_met_names_the_per_school_rule():
    # Q3: every school has a charter (per school) and the county is informatised (county check)
    years = default_years(P1={"has_charter": False})
    result, _ = evaluate(years)
    item = result.item_area("education_quality").indicators["Q3"]
    assert item.met is False
    text = plain(words.item_finding(result, item))
    assert "其中1所未达标:测试学校P1" in text
    assert text.endswith("学校管理与教学信息化达到标准,但有1所学校未达到要求;按“每所学校均须达到”的要求,此项我县暂不达标。"), text


def test_a_school_level_item_failing_only_by_its_county_check_says_so():
    result, _ = evaluate(county_years=[builders.county_year(informatization=False)])
    item = result.item_area("education_quality").indicators["Q3"]
    assert item.met is False
    text = plain(words.item_finding(result, item))
    assert "均达到要求" in text
    assert text.endswith("各学校均达到要求,但学校管理与教学信息化未达到标准,此项我县暂不达标。"), text


def test_a_school_level_item_without_county_checks_names_the_rule_once():
    years = default_years(J2={"max_class_size_junior": 56, "oversize_classes_junior": 3})
    result, _ = evaluate(years)
    item = result.item_area("government_guarantee").indicators["G5"]
    assert item.met is False
    text = plain(words.item_finding(result, item))
    assert text.count("测试学校J2") == 1 and "有1所学校未达到要求" not in text
    assert text.endswith("按“每所学校均须达到”的要求,此项我县暂不达标。"), text


def test_no_finding_of_the_demo_county_contradicts_its_verdict(demo):
    _, _, document = demo
    found = findings(document)
    assert len(found) >= 30
    for text in found:
        if text.endswith(FAILS) and ("均达到标准值" in text or "均达到要求" in text):
            assert "但" in text and "的要求," in text, text  # the reason it fails after all
        if text.endswith(PASSES):
            assert "未达标单位" not in text and "超过上限" not in text, text


# ---------------------------------------------------------------------------------------------
# Title, 落款, no internal codes


def test_the_title_is_broken_after_the_county_name(demo):
    result, _, document = demo
    assert document.title_parts == (result.county_name, "义务教育优质均衡发展自评报告")
    title = open_docx(render_docx(document)).paragraphs[0]
    assert title.style.name == "Title"
    assert len(title._p.findall(f".//{qn('w:br')}")) == 1  # one deliberate line break
    assert title.text == f"{result.county_name}\n义务教育优质均衡发展自评报告"
    html = render_html(document).decode("utf-8")
    assert f'<h1 class="title">{result.county_name}<br>义务教育优质均衡发展自评报告</h1>' in html


def test_a_county_name_too_long_for_the_title_line_gets_a_smaller_title():
    from junheng.reports.render_docx import TITLE_SIZE, title_size

    width = 442.0  # A4 text width in points
    assert title_size(("测试县", "义务教育优质均衡发展自评报告"), width) == TITLE_SIZE
    long = ("某某某某满族蒙古族回族自治县人民政府辖区",)  # 20 characters: 440 pt at 22 pt
    size = title_size((long[0] + "一",), width)
    assert size.pt < TITLE_SIZE.pt and text_em(long[0] + "一") * size.pt <= width


def signature_paragraphs(data: bytes):
    document = open_docx(data)
    return [p for p in document.paragraphs if p.alignment == WD_ALIGN_PARAGRAPH.RIGHT and p.text.strip()]


def test_the_report_ends_its_body_with_a_signature_and_the_date(demo):
    result, _, document = demo
    data = render_docx(document)
    signed = signature_paragraphs(data)
    assert [p.text for p in signed] == [f"{result.county_name}人民政府", "2026年12月1日"]
    # right after 问题与整改, before the appendices (the landscape 附表 section)
    paragraphs = [p.text for p in open_docx(data).paragraphs]
    assert paragraphs.index("2026年12月1日") < paragraphs.index("附表")
    assert paragraphs.index("七、问题与整改") < paragraphs.index(f"{result.county_name}人民政府")
    html = render_html(document).decode("utf-8")
    assert '<p class="signature">2026年12月1日</p>' in html


def test_the_signature_takes_the_issuer_given_and_today_in_beijing(monkeypatch):
    result, dataset = evaluate()
    monkeypatch.setattr(schoolyear, "local_today", lambda: date(2027, 3, 9))
    document = build_county_report(result, dataset, with_charts=False, issuer="测试县人民政府教育督导室")
    signed = signature_paragraphs(render_docx(document))
    assert [p.text for p in signed] == ["测试县人民政府教育督导室", "2027年3月9日"]


def test_no_standard_id_software_version_or_generator_text_in_the_body(demo):
    result, _, document = demo
    text = document.text()
    assert result.standard == "national-2017"
    assert result.standard not in text and "标准标识" not in text
    assert "junheng" not in text and __version__ not in text
    assert "synthetic:" not in text and "seed=" not in text
    assert "合成示范数据" in text  # the data source, in words
    assert result.standard_name in text
    # the generator is named in the document's properties only
    properties = open_docx(render_docx(document)).core_properties
    assert properties.comments == f"由 junheng {__version__} 生成"
    assert not [w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_.-]{2,}", text) if "_" in w or "-" in w], text


def test_a_dataset_is_named_by_its_file_name_not_its_path():
    from junheng.reports.county import source_text

    result, dataset = evaluate()
    result = result.model_copy(update={"source": "/srv/data/县区数据/2024 填报.xlsx", "synthetic": False})
    assert source_text(result, dataset) == "数据集“2024 填报.xlsx”"
    assert source_text(result.model_copy(update={"source": "数据库(已审核数据)"}), None) == "工作区数据库(已审核数据)"


# ---------------------------------------------------------------------------------------------
# Column widths from content


def numeric_table(columns: int, value: str = "3164.97", font: float = 10.5) -> Table:
    return Table(kind="t", title="t", sheet="t", columns=[Column(f"列{k}") for k in range(columns)],
                 rows=[[Cell(value, align="right") for _ in range(columns)] for _ in range(3)], font_size=font)


def test_cell_extent_keeps_numbers_and_short_words_whole():
    assert cell_extent("3164.97") == (text_em("3164.97"),) * 2
    assert cell_extent("未达标") == (3.0, 3.0)
    assert cell_extent("52/55")[0] == text_em("52/55")
    narrow, natural = cell_extent("R3 每百名学生拥有体育、艺术(美术、音乐)专任教师数(人)")
    assert narrow == 4.0 and natural > 20  # long text wraps, never narrower than 4 characters
    assert cell_extent("差异系数结论", header=True) == (2.0, 3)  # a header may take two lines


def test_column_widths_fit_every_number_and_fill_the_width():
    table = typeset_document(ReportDocument(title="t", blocks=[numeric_table(7)])).blocks[0]
    widths = column_widths(table, 442.0, 10.5)
    assert widths is not None and sum(widths) == pytest.approx(442.0)
    assert min(widths) >= text_em("3164.97") * 10.5 + 10.8  # the number and Word's cell margins


def test_the_demo_resource_table_gives_its_numbers_room(demo):
    _, _, document = demo
    table = typeset_document(document).table_of("resource_summary")
    widths = column_widths(table, 442.0, table.font_size)
    assert widths is not None
    for k, column in enumerate(table.columns):
        for row in table.rows:
            if re.fullmatch(r"[\d./]+", row[k].text) or row[k].text in ("达标", "未达标", "小学", "初中"):
                assert widths[k] >= text_em(row[k].text) * table.font_size + 10.8, (column.header, row[k].text)


def test_a_table_too_wide_for_a_portrait_page_gets_a_landscape_page():
    assert column_widths(numeric_table(14), 442.0, 10.5) is None  # 14 × 3164.97 cannot fit portrait
    document = ReportDocument(title="宽表")
    document.paragraph("前文。")
    document.table(numeric_table(14))
    document.paragraph("后文。")
    data = render_docx(document)
    docx = open_docx(data)
    assert [s.orientation for s in docx.sections] == [WD_ORIENT.PORTRAIT, WD_ORIENT.LANDSCAPE, WD_ORIENT.PORTRAIT]
    grid = [int(c.get(qn("w:w"))) / 20 for c in docx.tables[0]._tbl.tblGrid.findall(qn("w:gridCol"))]
    assert min(grid) >= text_em("3164.97") * 10.5 + 10.8
    assert sum(grid) <= 25.7 * 72 / 2.54 + 1  # within a landscape page's text width


def test_a_table_too_wide_even_for_landscape_is_set_smaller():
    from junheng.reports.render_docx import table_layout

    widths, size, turned = table_layout(numeric_table(16), 442.0, 728.5)
    assert turned and size < 10.5 and sum(widths) == pytest.approx(728.5)
    assert min(widths) >= text_em("3164.97") * size + 10.8
    # nothing fits at all: the smallest size, the page's width shared out
    widths, size, turned = table_layout(numeric_table(40), 442.0, 728.5)
    assert turned and sum(widths) == pytest.approx(728.5)


# ---------------------------------------------------------------------------------------------
# Numbers as the engine and the pages write them


def test_amounts_and_counts_are_thousands_separated_years_are_not(demo):
    result, _, document = demo
    assert words.amount(7181900) == "7,181,900" and words.amount(3135.126) == "3,135.13"
    assert words.fixed(3135.126) == "3,135.13" and words.threshold_text(2000) == "2,000"
    assert words.threshold_text(4.2) == "4.2" and words.cv_text(0.5681) == "0.568"
    basic = document.table_of("basic")
    students = basic.rows[-1][2].value + basic.rows[-1][3].value
    text = plain(document.text())
    assert f"在校生{students:,}人" in text and str(students) not in text  # 在校生20,400人
    assert basic.rows[-1][2].text == f"{basic.rows[-1][2].value:,}" and "," in basic.rows[-1][2].text
    assert "2025—2026学年" in text and "2,025" not in text  # a year is no amount

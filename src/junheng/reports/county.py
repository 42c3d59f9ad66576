"""The county self-evaluation report (自评报告) as a ReportDocument: `build_county_report`.

Input: one EvaluationResult (every number of the report comes from it), optionally the Dataset it
was computed from (for 基本情况: schools, students and teachers by school type) and optionally
the remediation plan, supervision tasks and warnings (inputs.py). Without the dataset the basic
facts are taken from the result's units; the store feeds its results the same way.

Sections, one module each: 基本情况 (county_basic), 资源配置 (county_resources), 政府保障程度,
教育质量, 社会认可度 (county_items; after 教育质量 its 教育质量监测 part, county_quality, and after
社会认可度 its 社会认可度调查 part, county_survey), 研判结论 (county_conclusion), 问题与整改
(county_remediation), then the landscape 附表 (county_appendix: per-school indicators,
school-level items, CV table, missing data) and the data sources and computation method
(county_method); their cells are county_cells. This module puts them in order and signs the report.
"""

from __future__ import annotations

from datetime import date

from junheng import schoolyear
from junheng.data.dataset import Dataset
from junheng.engine.result import EvaluationResult
from junheng.reports import narrative as words
from junheng.reports.county_appendix import (
    allowances_table,
    cv_table,
    missing_table,
    school_item_table,
    unit_values_table,
)
from junheng.reports.county_basic import (
    basic_paragraph,
    basic_table,
    county_facts,
    standard_paragraph,
    write_coverage,
)
from junheng.reports.county_cells import SHADES, count_cell, text_cell
from junheng.reports.county_conclusion import areas_table, failing_items_table, write_conclusion
from junheng.reports.county_items import write_item_section
from junheng.reports.county_method import method_paragraphs, source_text
from junheng.reports.county_quality import QualityEvidence, write_quality_section
from junheng.reports.county_remediation import write_remediation
from junheng.reports.county_resources import resource_overview, write_resource_section
from junheng.reports.county_survey import SurveyEvidence, write_survey_section
from junheng.reports.document import ReportDocument, Run
from junheng.reports.inputs import Remediation
from junheng.reports.xlsx import SYNTHETIC_NOTE, area_label, county_label, is_quality_standard, standard_named

# What other modules take from here (city.py builds its tables with the same cells and tables)
__all__ = ["REPORT_TITLE", "SHADES", "areas_table", "build_county_report", "chinese_date", "count_cell",
           "data_names", "default_issuer", "failing_items_table", "resource_overview", "source_text", "text_cell"]


def data_names(result: EvaluationResult, dataset: Dataset | None = None) -> set[str]:
    """County and school names as the data writes them (kept verbatim when typesetting)."""
    names = {result.county_name, result.county_code}
    names |= {u.school_name for u in result.resource.units} | {e.school_name for e in result.resource.excluded}
    for area in result.areas.items().values():
        for item in area.indicators.values():
            names |= {s.school_name for s in item.schools}
    names |= {m.school_name for m in result.missing_inputs if m.school_name}
    names |= {a.school_name for a in result.allowances_applied}
    if dataset is not None:
        schools = dataset.schools[dataset.schools["county_code"] == result.county_code]
        names |= {str(n) for n in schools["school_name"].dropna()}
        for key in ("city", "province"):
            value = dataset.county_attribute(result.county_code, key)
            if value is not None:
                names.add(str(value))
    return {n for n in names if n}


REPORT_TITLE = "义务教育优质均衡发展自评报告"
BASIC_REPORT_TITLE = "义务教育均衡发展自评报告"


def report_title(result: EvaluationResult) -> str:
    return REPORT_TITLE if is_quality_standard(result) else BASIC_REPORT_TITLE


def areas_words(result: EvaluationResult) -> str:
    """“资源配置、政府保障程度、教育质量和社会认可度”: the areas of the result's standard."""
    names = [area_label(result, a) for a in result.areas.present()]
    return "、".join(names[:-1]) + ("和" if len(names) > 1 else "") + names[-1] if names else ""


def default_issuer(result: EvaluationResult) -> str:
    """The county government: under the 督导评估办法 the county's people's government evaluates
    itself and applies to the city for assessment, so its self-evaluation report is its document."""
    return f"{county_label(result)}人民政府"


def chinese_date(day: date) -> str:
    """2026年12月1日 (Arabic numerals, as GB/T 9704 writes the date of a document)."""
    return f"{day.year}年{day.month}月{day.day}日"


def write_signature(doc: ReportDocument, issuer: str, day: date) -> None:
    """落款 at the end of the body, before the appendices: the issuing body over the date,
    right-aligned, with room above for the seal."""
    doc.paragraph("", style="plain")
    doc.paragraph(issuer, style="signature")
    doc.paragraph(chinese_date(day), style="signature")
    doc.protected.add(issuer)


def build_county_report(result: EvaluationResult, dataset: Dataset | None = None, *,
                        remediation: Remediation | None = None, with_charts: bool = True,
                        generated: date | None = None, issuer: str | None = None,
                        survey: SurveyEvidence | None = None,
                        quality: QualityEvidence | None = None) -> ReportDocument:
    """The self-evaluation report of one county-year as a ReportDocument. `issuer` is the body
    that signs it (落款; default: the county's 人民政府), `generated` its date (default: today in
    Beijing), `survey` the survey result behind the social recognition figure (county_survey),
    `quality` the analysis of student scores behind the quality monitoring figures (county_quality)."""
    failing = result.failing_items()
    name = county_label(result)
    generated = generated or schoolyear.local_today()
    title = report_title(result)
    doc = ReportDocument(
        title=f"{name}{title}",
        title_lines=(name, title),  # the county on line one, the kind of report on line two
        subtitle=f"\uff08{words.school_year_text(result.year)}\uff09",
        meta=[f"评估标准:{result.standard_name}"],
        warning="".join(filter(None, [
            f"【{SYNTHETIC_NOTE},不代表任何真实县区】" if result.synthetic else None,
            f"【数据不完整,临时结果:基于 {result.coverage.fraction()} 所学校,不作为全县评估结论】"
            if result.provisional and result.coverage else None])) or None,
        scope=f"{name}({result.county_code}) {words.school_year_text(result.year)} · 标准:{result.standard_name}",
        synthetic=result.synthetic,
    )
    doc.protected |= data_names(result, dataset)
    standard = standard_named(result.standard)
    basis = standard.source if standard else result.standard_name
    doc.paragraph(f"根据{basis}的要求,我县对照{result.standard_name}的评估指标,对{words.school_year_text(result.year)}"
                  f"全县义务教育学校的{areas_words(result)}进行了全面自查自评。现将自评情况报告如下。")

    write_coverage(doc, result)
    facts = county_facts(result, dataset)
    doc.heading(1, "基本情况")
    doc.paragraph(basic_paragraph(result, facts))
    doc.table(basic_table(facts))
    doc.paragraph(standard_paragraph(result))

    write_resource_section(doc, result, failing, with_charts)
    for area in result.areas.items():
        write_item_section(doc, result, area)
        write_quality_section(doc, result, area, quality)
        write_survey_section(doc, result, area, survey)
    write_conclusion(doc, result, failing)
    write_remediation(doc, result, failing, remediation)
    write_signature(doc, issuer or default_issuer(result), generated)

    doc.section("landscape")
    doc.heading(1, "附表", numbered=False)
    doc.table(unit_values_table(result), appendix=True)
    for table in (school_item_table(result, dataset), cv_table(result), missing_table(result), allowances_table(result)):
        if table is not None:
            doc.table(table, appendix=True)

    doc.section("portrait")
    doc.heading(1, "附件 数据来源与计算方法", numbered=False)
    for n, (lead, text) in enumerate(method_paragraphs(result, dataset), start=1):
        doc.paragraph(Run(f"{n}.{lead}", bold=True), text)
    return doc

"""政府保障程度, 教育质量, 社会认可度 of the county report: one table and one finding per indicator
of an item area, with the standard each indicator is held to in words."""

from __future__ import annotations

from junheng.engine.result import EvaluationResult, ItemResult
from junheng.reports import narrative as words
from junheng.reports.county_cells import SHADES, status_cell, text_cell, verdict_runs
from junheng.reports.document import Cell, Column, ReportDocument, Run, Table
from junheng.reports.xlsx import MISSING_TEXT, area_label


def item_standard_text(result: EvaluationResult, item: ItemResult) -> str:
    texts = []
    for c in item.checks:
        if c.comparison == "为“是”":
            text = "是"
        elif words.is_number(c.threshold):
            ref = words.ref_label(result, item, c)
            bound = words.amount(c.threshold, c.unit)
            text = f"{c.comparison}{ref}({bound})" if ref else f"{c.comparison}{bound}"
        elif c.threshold is None:
            ref = words.ref_label(result, item, c)
            text = f"{c.comparison}{ref}" if ref else f"{c.comparison}标准值({MISSING_TEXT})"
        else:
            text = f"{c.threshold}" if c.comparison in ("属于", "达到") else f"{c.comparison}{c.threshold}"
        texts.append((c.label, text))
    distinct = list(dict.fromkeys(t for _, t in texts))
    body = distinct[0] if len(distinct) == 1 and (len(texts) == 1 or item.id == "Q9") else ";".join(
        f"{label}{'' if t.startswith(('不', '低', '高')) else ':'}{t}" for label, t in texts)
    if item.schools_checked is not None:
        return "逐校检查" + (f";{body}" if body else "")
    return body or "见指标"


def item_table(result: EvaluationResult, area: str, first_article: int = 1) -> Table:
    columns = [Column("条", 1.3), Column("指标", 5.0), Column("县域值", 2.6), Column("标准", 2.4), Column("结论", 1.0)]
    rows = []
    for n, item in enumerate(result.item_area(area).indicators.values(), start=first_article):
        rows.append([
            text_cell(words.article(n), "center"), text_cell(f"{item.id} {item.name}"),
            Cell(words.item_value_text(item), value=item.value if words.is_number(item.value) else None,
                 shade=SHADES.get(item.met) if item.met is not True else None),
            text_cell(item_standard_text(result, item)), status_cell(item.met),
        ])
    label = area_label(result, area)
    return Table(kind=f"items_{area}", title=f"{label}指标自评情况", columns=columns, rows=rows,
                 sheet=label[:31], frozen_columns=2)


def item_overview(result: EvaluationResult, area: str) -> str:
    total, met, not_met, missing = words.area_counts(result, area)
    items = result.item_area(area).indicators
    text = f"{area_label(result, area)}方面共有{total}项指标,我县{met}项达标"
    if not_met:
        text += f"、{not_met}项暂不达标({'、'.join(i for i, it in items.items() if it.met is False)})"
    if missing:
        text += f"、{missing}项数据缺失({'、'.join(i for i, it in items.items() if it.met is None)})"
    return text + "。"


def write_item_section(doc: ReportDocument, result: EvaluationResult, area: str) -> None:
    doc.heading(1, area_label(result, area))
    doc.paragraph(item_overview(result, area))
    doc.table(item_table(result, area))
    for n, item in enumerate(result.item_area(area).indicators.values(), start=1):
        doc.paragraph(Run(words.article(n), bold=True), f" “{words.item_requirement(item)}”", style="quote")
        doc.paragraph(*verdict_runs(words.item_finding(result, item)))

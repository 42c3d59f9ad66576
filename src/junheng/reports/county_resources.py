"""资源配置 of the county report: the summary of the unit-level indicators, the units that do not
comply, the CVs over their limit and who drives them, the overview paragraph and one finding per
indicator (with its distribution chart), and the per-school rule's numbers as the standard sets them."""

from __future__ import annotations

from junheng.engine.result import EvaluationResult
from junheng.reports import charts
from junheng.reports import narrative as words
from junheng.reports.county_cells import SHADES, count_cell, number_cell, status_cell, text_cell, verdict_runs
from junheng.reports.document import Cell, Column, ReportDocument, Run, Table
from junheng.reports.xlsx import (
    MISSING_TEXT,
    R_IDS,
    TWO_DECIMALS,
    indicator_name,
    indicator_unit,
    segment_label,
    segments_of,
    standard_named,
)
from junheng.standards.model import AREA_LABELS


def resource_summary_table(result: EvaluationResult, failing: list[str]) -> Table:
    columns = [Column("指标", 3.6), Column("学段", 0.8), Column("县域值", 1.1), Column("标准值", 0.9),
               Column("达到标准值的单位", 1.3), Column("差异系数", 1.0), Column("上限", 0.8),
               Column("差异系数结论", 1.0), Column("结论", 1.0)]
    rows = []
    for rid in R_IDS:
        status = words.r_status(result, rid, failing)
        unit = indicator_unit(result, rid)
        for segment in segments_of(result):
            f = words.segment_figures(result, rid, segment)
            cv = f.cv
            threshold = f.threshold
            county_met = None if f.county_value is None or threshold is None else f.county_value >= threshold - 1e-9
            reached = Cell(f"{f.reached}/{len(f.units)}", shade="unmet" if f.below else None, align="center")
            cv_value = (Cell(words.NOT_APPLICABLE, align="center") if not cv.applicable
                        else number_cell(cv.value, 3, cv.met) if cv.value is not None
                        else Cell("无定义" if cv.met is False else MISSING_TEXT, shade=SHADES.get(cv.met), align="center"))
            rows.append([
                text_cell(f"{rid} {indicator_name(result, rid)}" + (f"({unit})" if unit else "")),
                text_cell(segment_label(segment), "center"),
                number_cell(f.county_value, 2, county_met) if cv.applicable else Cell(words.NOT_APPLICABLE, align="center"),
                Cell(words.threshold_text(threshold), value=threshold, align="right"),
                reached, cv_value, Cell(f"{cv.limit:.2f}", value=cv.limit, number_format=TWO_DECIMALS, align="right"),
                Cell(words.NOT_APPLICABLE, align="center") if not cv.applicable else status_cell(cv.met),
                status_cell(status),
            ])
    return Table(kind="resource_summary", title="资源配置指标县域总体情况", columns=columns, rows=rows,
                 sheet="资源配置汇总", note="县域值为全县该学段资源总量除以学生总数(按学生数加权);“达到标准值的单位”为本项达到标准值的评估单位数/评估单位总数。",
                 frozen_columns=2)


def noncompliant_table(result: EvaluationResult) -> Table | None:
    units = [u for u in result.resource.units if u.compliant is not True]
    if not units:
        return None
    units.sort(key=lambda u: (u.compliant is None, u.segment != "primary", u.met_count, u.school_id))
    columns = [Column("学校", 3.0), Column("学段", 0.9), Column("学生数", 1.1, "人"), Column("达标项数", 1.1),
               Column("未达标原因", 5.6), Column("需补足", 3.4)]
    rows = [[text_cell(u.school_name), text_cell(segment_label(u.segment), "center"), count_cell(u.students),
             Cell(f"{u.met_count}/7" if u.compliant is not None else MISSING_TEXT, shade=SHADES.get(u.compliant),
                  align="center"),
             text_cell(words.unit_reason_text(u)), text_cell(words.unit_gap_text(u))] for u in units]
    return Table(kind="noncompliant_units", title="未达标或无法判定的学校(学段)", columns=columns, rows=rows,
                 sheet="未达标单位", font_size=9.0)


def cv_contributors_table(result: EvaluationResult) -> Table | None:
    rows = []
    for segment in segments_of(result):
        for rid in R_IDS:
            cv = result.resource.cv[segment][rid]
            if cv.met is not False:
                continue
            who = ";".join(f"{c['school_name']} {words.fixed(c['value'])}"
                           f"({c['direction']},占加权方差{c['share_of_variance']:.0%})" for c in cv.largest_contributors)
            rows.append([text_cell(segment_label(segment), "center"), text_cell(rid, "center"),
                         number_cell(cv.value, 3, False) if cv.value is not None else Cell("无定义", shade="unmet"),
                         Cell(f"{cv.limit:.2f}", value=cv.limit, align="right"),
                         number_cell(cv.county_value), text_cell(who or (cv.note or ""))])
    if not rows:
        return None
    columns = [Column("学段", 0.8), Column("指标", 0.8), Column("差异系数", 1.0), Column("上限", 0.8),
               Column("县域值", 1.0), Column("偏离县域值最大的学校", 7.0)]
    return Table(kind="cv_failing", title="超过上限的差异系数及主要来源", columns=columns, rows=rows,
                 sheet="差异系数超限", font_size=9.0)


def resource_overview(result: EvaluationResult, failing: list[str]) -> str:
    total, met, not_met, missing = words.area_counts(result, "resource_allocation", failing)
    res = result.resource
    cvs = [c for seg in res.cv.values() for c in seg.values() if c.applicable]
    text = f"资源配置方面共有{total}项指标"
    if not_met:
        # the county values are not the criterion: say what is (the per-unit rule and the CVs)
        over = [c for c in cvs if c.met is False]
        causes = ([f"{res.noncompliant_units}个学校(学段)未达标"] if res.noncompliant_units else []) + (
            [f"{len(over)}项校际差异系数超过上限"] if over else [])
        rules = ([f"每个学校(学段)均须达标(7项指标中至少{per_school_min_met(result)}项达到标准值、其余不低于标准值的{per_school_floor(result)})"]
                 if res.noncompliant_units else []) + (["校际差异系数不超过上限"] if over else [])
        lead = "各项指标的县域值(全县平均)均达到标准值,但" if all_county_values_reach(result) else ""
        text += (f",{lead}{'、'.join(causes)}。按“{'、'.join(rules)}”的要求,我县{met}项达标、{not_met}项暂不达标"
                 f"({'、'.join(r for r in R_IDS if r in failing)})")
    else:
        text += f",我县{met}项达标"
    if missing:
        text += f"、{missing}项数据缺失"
    text += (f"。全县参加评估的学校(学段)单位{len(res.units)}个(一贯制学校按小学、初中学段分别计),其中达标{res.compliant_units}个、"
             f"未达标{res.noncompliant_units}个")
    unknown = len(res.units) - res.compliant_units - res.noncompliant_units
    if unknown:
        text += f"、无法判定{unknown}个"
    text += f";{len(cvs)}项校际差异系数中{sum(c.met is True for c in cvs)}项在限值以内。"
    if res.excluded:
        text += f"另有{len(res.excluded)}个学段未纳入评估(见附表说明)。"
    return text + ("资源配置达标。" if res.met is True else "资源配置暂不达标。" if res.met is False else "资源配置因数据缺失暂无法判定。")


def all_county_values_reach(result: EvaluationResult) -> bool:
    """Every applicable R indicator's county value (X̄) reaches its threshold in every segment."""
    for rid in R_IDS:
        for segment in segments_of(result):
            f = words.segment_figures(result, rid, segment)
            if not f.cv.applicable:
                continue
            if f.county_value is None or f.threshold is None or f.county_value < f.threshold - 1e-9:
                return False
    return True


def write_resource_section(doc: ReportDocument, result: EvaluationResult, failing: list[str], with_charts: bool) -> None:
    doc.heading(1, AREA_LABELS["resource_allocation"])
    doc.paragraph(resource_overview(result, failing))
    doc.table(resource_summary_table(result, failing))
    doc.heading(2, "各项指标情况")
    for n, rid in enumerate(R_IDS, start=1):
        doc.paragraph(Run(words.article(n), bold=True), f" “{words.r_requirement(result, rid)}”", style="quote")
        doc.paragraph(*verdict_runs(words.r_finding(result, rid, failing)))
        if with_charts:
            png = charts.indicator_distribution_chart(result, rid)
            if png is not None:
                zeros = charts.zero_value_units(result, rid)
                doc.figure(png, f"{rid} {indicator_name(result, rid)}各评估单位分布",
                           note=f"蓝色为达到标准值,橙色为未达到但不低于标准值的{per_school_floor(result)},红色为低于标准值的{per_school_floor(result)}"
                                + (f";斜线框并标“0”的为数值为0的单位({zeros}个)" if zeros else "") + "。")
    doc.heading(2, "未达标学校(学段)")
    table = noncompliant_table(result)
    if table is None:
        doc.paragraph("全县参加评估的学校(学段)单位全部达标。")
    else:
        failing_units = sum(u.compliant is False for u in result.resource.units)
        doc.paragraph(f"按“7项指标中至少{per_school_min_met(result)}项达到标准值、其余不低于标准值的{per_school_floor(result)}”的规则,"
                      f"全县有{failing_units}个学校(学段)单位未达标" +
                      (f"、{len(table.rows) - failing_units}个因数据缺失无法判定" if len(table.rows) > failing_units else "")
                      + ",明细如下。")
        doc.table(table)
    doc.heading(2, "校际差异系数")
    doc.paragraph(cv_paragraph(result))
    if with_charts:
        png = charts.cv_chart(result)
        if png is not None:
            doc.figure(png, "资源配置指标校际差异系数")
    contributors = cv_contributors_table(result)
    if contributors is not None:
        doc.table(contributors)


def cv_paragraph(result: EvaluationResult) -> str:
    parts = []
    for segment in segments_of(result):
        cvs = result.resource.cv[segment]
        applicable = [c for c in cvs.values() if c.applicable]
        if not applicable:
            parts.append(f"本县无{segment_label(segment)}学段评估单位,{segment_label(segment)}差异系数不适用")
            continue
        limit = applicable[0].limit
        over = [rid for rid in R_IDS if cvs[rid].met is False]
        unknown = [rid for rid in R_IDS if cvs[rid].applicable and cvs[rid].met is None]
        values = "、".join(f"{rid} {words.cv_text(cvs[rid].value)}" for rid in R_IDS if cvs[rid].applicable)
        text = f"{segment_label(segment)}(上限{limit:.2f}):{values}"
        text += (f",其中{'、'.join(over)}超过上限" if over else ",均在上限以内") if not unknown else f",{'、'.join(unknown)}数据缺失无法判定"
        parts.append(text)
    return ("校际差异系数按学生数加权计算(计算方法见附件)。" + ";".join(parts) + "。")


def per_school_min_met(result: EvaluationResult) -> int:
    standard = standard_named(result.standard)
    return standard.per_school_rule.min_met if standard else 6


def per_school_floor(result: EvaluationResult) -> str:
    standard = standard_named(result.standard)
    return f"{(standard.per_school_rule.floor_ratio if standard else 0.85):.0%}"

"""资源配置 of the county report: the summary of the unit-level indicators, the units that do not
comply, the CVs over their limit and who drives them, the overview paragraph and one finding per
indicator (with its distribution chart), and the per-school rule's numbers as the standard sets them."""

from __future__ import annotations

from junheng.engine.result import EvaluationResult
from junheng.reports import charts
from junheng.reports import narrative as words
from junheng.reports.narrative import per_school_floor, per_school_min_met
from junheng.reports.county_cells import SHADES, count_cell, number_cell, status_cell, text_cell, verdict_runs
from junheng.reports.document import Cell, Column, ReportDocument, Run, Table
from junheng.reports.xlsx import (
    MISSING_TEXT,
    TWO_DECIMALS,
    area_label,
    indicator_name,
    indicator_unit,
    r_thresholds_exist,
    segment_label,
    segments_of,
)

COMPOSITE_WORDS = "计入综合差异系数"  # a CV without a limit of its own (judged through the composite)


def resource_summary_table(result: EvaluationResult, failing: list[str]) -> Table:
    columns = [Column("指标", 3.6), Column("学段", 0.8), Column("县域值", 1.1), Column("标准值", 0.9),
               Column("达到标准值的单位", 1.3), Column("差异系数", 1.0), Column("上限", 0.8),
               Column("差异系数结论", 1.0), Column("结论", 1.0)]
    rows = []
    judged = r_thresholds_exist(result)
    for rid in result.resource_ids():
        status = words.r_status(result, rid, failing)
        unit = indicator_unit(result, rid)
        for segment in segments_of(result):
            f = words.segment_figures(result, rid, segment)
            cv = f.cv
            threshold = f.threshold
            county_met = None if f.county_value is None or threshold is None else f.county_value >= threshold - 1e-9
            reached = Cell(f"{f.reached}/{len(f.units)}", shade="unmet" if f.below else None, align="center") \
                if judged else Cell("—", align="center")
            cv_value = (Cell(words.NOT_APPLICABLE, align="center") if not cv.applicable
                        else number_cell(cv.value, 3, cv.met) if cv.value is not None
                        else Cell("无定义" if cv.met is False else MISSING_TEXT, shade=SHADES.get(cv.met), align="center"))
            rows.append([
                text_cell(f"{rid} {indicator_name(result, rid)}" + (f"({unit})" if unit else "")),
                text_cell(segment_label(segment), "center"),
                number_cell(f.county_value, 2, county_met if judged else True) if cv.applicable
                else Cell(words.NOT_APPLICABLE, align="center"),
                Cell(words.threshold_text(threshold), value=threshold, align="right") if judged else Cell("—", align="center"),
                reached, cv_value, limit_cell(cv),
                Cell(words.NOT_APPLICABLE, align="center") if not cv.applicable
                else status_cell(cv.met) if cv.limit is not None else text_cell(COMPOSITE_WORDS, "center"),
                status_cell(status),
            ])
    label = area_label(result, "resource_allocation")
    note = ("县域值为全县该学段资源总量除以学生总数(按学生数加权);“达到标准值的单位”为本项达到标准值的评估单位数/评估单位总数。"
            if judged else "县域值为全县该学段资源总量除以学生总数(按学生数加权);本标准不逐校判定,各项差异系数取平均值为"
            "各学段综合差异系数,与其上限比较。")
    return Table(kind="resource_summary", title=f"{label}指标县域总体情况", columns=columns, rows=rows,
                 sheet=f"{label}汇总", note=note, frozen_columns=2)


def limit_cell(cv) -> Cell:
    if cv.limit is None:
        return Cell("—", align="center")
    return Cell(f"{cv.limit:.2f}", value=cv.limit, number_format=TWO_DECIMALS, align="right")


def composite_table(result: EvaluationResult) -> Table | None:
    """Per segment the 综合差异系数 (the mean of its CVs) against its limit."""
    composite = result.resource.composite_cv
    if not composite:
        return None
    columns = [Column("学段", 0.8), Column("差异系数项数", 1.1), Column("综合差异系数", 1.2), Column("上限", 0.8),
               Column("结论", 1.0)]
    rows = [[text_cell(segment_label(seg), "center"), count_cell(c.indicators),
             number_cell(c.value, 3, c.met) if c.value is not None else Cell(MISSING_TEXT, shade="missing", align="center"),
             Cell(f"{c.limit:.2f}", value=c.limit, number_format=TWO_DECIMALS, align="right"), status_cell(c.met)]
            for seg, c in composite.items()]
    return Table(kind="composite_cv", title="综合差异系数", columns=columns, rows=rows, sheet="综合差异系数",
                 note="综合差异系数为该学段各项校际差异系数的平均值。")


def noncompliant_table(result: EvaluationResult) -> Table | None:
    if not r_thresholds_exist(result):  # no unit is judged one by one
        return None
    units = [u for u in result.resource.units if u.compliant is not True]
    if not units:
        return None
    units.sort(key=lambda u: (u.compliant is None, u.segment != "primary", u.met_count, u.school_id))
    columns = [Column("学校", 3.0), Column("学段", 0.9), Column("学生数", 1.1, "人"), Column("达标项数", 1.1),
               Column("未达标原因", 5.6), Column("需补足", 3.4)]
    rows = [[text_cell(u.school_name), text_cell(segment_label(u.segment), "center"), count_cell(u.students),
             Cell(f"{u.met_count}/{len(u.indicators)}" if u.compliant is not None else MISSING_TEXT,
                  shade=SHADES.get(u.compliant),
                  align="center"),
             text_cell(words.unit_reason_text(u)), text_cell(words.unit_gap_text(u))] for u in units]
    return Table(kind="noncompliant_units", title="未达标或无法判定的学校(学段)", columns=columns, rows=rows,
                 sheet="未达标单位", font_size=9.0)


def cv_contributors_table(result: EvaluationResult) -> Table | None:
    """The CVs over their limit; under a composite limit, every CV of a segment whose composite
    is over its limit."""
    rows = []
    composite = result.resource.composite_cv or {}
    for segment in segments_of(result):
        failing_segment = segment in composite and composite[segment].met is False
        for rid in result.resource_ids():
            cv = result.resource.cv[segment][rid]
            if cv.met is not False and not (failing_segment and cv.applicable):
                continue
            who = ";".join(f"{c['school_name']} {words.fixed(c['value'])}"
                           f"({c['direction']},占加权方差{c['share_of_variance']:.0%})" for c in cv.largest_contributors)
            rows.append([text_cell(segment_label(segment), "center"), text_cell(rid, "center"),
                         number_cell(cv.value, 3, False) if cv.value is not None else Cell("无定义", shade="unmet"),
                         limit_cell(cv),
                         number_cell(cv.county_value), text_cell(who or (cv.note or ""))])
    if not rows:
        return None
    columns = [Column("学段", 0.8), Column("指标", 0.8), Column("差异系数", 1.0), Column("上限", 0.8),
               Column("县域值", 1.0), Column("偏离县域值最大的学校", 7.0)]
    title = "综合差异系数超过上限的学段各项差异系数及主要来源" if composite else "超过上限的差异系数及主要来源"
    return Table(kind="cv_failing", title=title, columns=columns, rows=rows,
                 sheet="差异系数超限", font_size=9.0)


def resource_overview(result: EvaluationResult, failing: list[str]) -> str:
    if not r_thresholds_exist(result):
        return _overview_without_units(result, failing)
    total, met, not_met, missing = words.area_counts(result, "resource_allocation", failing)
    res = result.resource
    cvs = [c for seg in res.cv.values() for c in seg.values() if c.applicable]
    text = f"{area_label(result, 'resource_allocation')}方面共有{total}项指标"
    if not_met:
        # the county values are not the criterion: say what is (the per-unit rule and the CVs)
        over = [c for c in cvs if c.met is False]
        causes = ([f"{res.noncompliant_units}个学校(学段)未达标"] if res.noncompliant_units else []) + (
            [f"{len(over)}项校际差异系数超过上限"] if over else [])
        rules = ([f"每个学校(学段)均须达标({total}项指标中至少{per_school_min_met(result)}项达到标准值、其余不低于标准值的{per_school_floor(result)})"]
                 if res.noncompliant_units else []) + (["校际差异系数不超过上限"] if over else [])
        lead = "各项指标的县域值(全县平均)均达到标准值,但" if all_county_values_reach(result) else ""
        text += (f",{lead}{'、'.join(causes)}。按“{'、'.join(rules)}”的要求,我县{met}项达标、{not_met}项暂不达标"
                 f"({'、'.join(r for r in result.resource_ids() if r in failing)})")
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
    return text + area_verdict(result)


def area_verdict(result: EvaluationResult) -> str:
    label, met = area_label(result, "resource_allocation"), result.resource.met
    return f"{label}达标。" if met is True else f"{label}暂不达标。" if met is False else f"{label}因数据缺失暂无法判定。"


def _overview_without_units(result: EvaluationResult, failing: list[str]) -> str:
    """A standard that judges no unit one by one: the units counted, the CVs and their composite."""
    total, met, not_met, missing = words.area_counts(result, "resource_allocation", failing)
    res = result.resource
    text = f"{area_label(result, 'resource_allocation')}方面共有{total}项指标,各项按学生数加权计算校际差异系数"
    if res.composite_cv:
        text += f",各学段取其平均值为综合差异系数({words.composite_limits_text(result)})"
    text += f"。全县参加评估的学校(学段)单位{len(res.units)}个(一贯制学校按小学、初中学段分别计,不逐校判定)"
    if res.composite_cv:
        text += ";" + "、".join(words.composite_phrase(result, s) for s in res.composite_cv)
    text += "。"
    if not_met:
        text += f"我县{met}项达标、{not_met}项暂不达标({'、'.join(r for r in result.resource_ids() if r in failing)})。"
    if res.excluded:
        text += f"另有{len(res.excluded)}个学段未纳入评估(见附表说明)。"
    return text + area_verdict(result)


def all_county_values_reach(result: EvaluationResult) -> bool:
    """Every applicable unit-level indicator's county value (X̄) reaches its threshold in every segment."""
    for rid in result.resource_ids():
        for segment in segments_of(result):
            f = words.segment_figures(result, rid, segment)
            if not f.cv.applicable:
                continue
            if f.county_value is None or f.threshold is None or f.county_value < f.threshold - 1e-9:
                return False
    return True


def write_resource_section(doc: ReportDocument, result: EvaluationResult, failing: list[str], with_charts: bool) -> None:
    judged = r_thresholds_exist(result)
    doc.heading(1, area_label(result, "resource_allocation"))
    doc.paragraph(resource_overview(result, failing))
    doc.table(resource_summary_table(result, failing))
    doc.heading(2, "各项指标情况")
    for n, rid in enumerate(result.resource_ids(), start=1):
        doc.paragraph(Run(words.article(n), bold=True), f" “{words.r_requirement(result, rid)}”", style="quote")
        doc.paragraph(*verdict_runs(words.r_finding(result, rid, failing)))
        if with_charts:
            png = charts.indicator_distribution_chart(result, rid)
            if png is not None:
                zeros = charts.zero_value_units(result, rid)
                colours = (f"蓝色为达到标准值,橙色为未达到但不低于标准值的{per_school_floor(result)},红色为低于标准值的"
                           f"{per_school_floor(result)}") if judged else "各评估单位按数值由低到高排列,不逐校判定"
                doc.figure(png, f"{rid} {indicator_name(result, rid)}各评估单位分布",
                           note=colours + (f";斜线框并标“0”的为数值为0的单位({zeros}个)" if zeros else "") + "。")
    if judged:  # a standard that judges no unit one by one has no such section
        write_noncompliant(doc, result)
    doc.heading(2, "校际差异系数")
    doc.paragraph(cv_paragraph(result))
    composite = composite_table(result)
    if composite is not None:
        doc.table(composite)
    if with_charts:
        png = charts.cv_chart(result)
        if png is not None:
            doc.figure(png, f"{area_label(result, 'resource_allocation')}指标校际差异系数")
    contributors = cv_contributors_table(result)
    if contributors is not None:
        doc.table(contributors)


def write_noncompliant(doc: ReportDocument, result: EvaluationResult) -> None:
    doc.heading(2, "未达标学校(学段)")
    table = noncompliant_table(result)
    if table is None:
        doc.paragraph("全县参加评估的学校(学段)单位全部达标。")
        return
    failing_units = sum(u.compliant is False for u in result.resource.units)
    doc.paragraph(f"按“{len(result.resource_ids())}项指标中至少{per_school_min_met(result)}项达到标准值、其余不低于标准值的"
                  f"{per_school_floor(result)}”的规则,全县有{failing_units}个学校(学段)单位未达标" +
                  (f"、{len(table.rows) - failing_units}个因数据缺失无法判定" if len(table.rows) > failing_units else "")
                  + ",明细如下。")
    doc.table(table)


def cv_paragraph(result: EvaluationResult) -> str:
    parts = []
    for segment in segments_of(result):
        cvs = result.resource.cv[segment]
        applicable = [c for c in cvs.values() if c.applicable]
        if not applicable:
            parts.append(f"本县无{segment_label(segment)}学段评估单位,{segment_label(segment)}差异系数不适用")
            continue
        ids = [rid for rid in result.resource_ids() if rid in cvs]
        limit = applicable[0].limit
        values = "、".join(f"{rid} {words.cv_text(cvs[rid].value)}" for rid in ids if cvs[rid].applicable)
        if limit is None:  # judged through the segment's composite
            parts.append(f"{segment_label(segment)}:{values};" + words.composite_phrase(result, segment))
            continue
        over = [rid for rid in ids if cvs[rid].met is False]
        unknown = [rid for rid in ids if cvs[rid].applicable and cvs[rid].met is None]
        text = f"{segment_label(segment)}(上限{limit:.2f}):{values}"
        text += (f",其中{'、'.join(over)}超过上限" if over else ",均在上限以内") if not unknown else f",{'、'.join(unknown)}数据缺失无法判定"
        parts.append(text)
    return ("校际差异系数按学生数加权计算(计算方法见附件)。" + ";".join(parts) + "。")


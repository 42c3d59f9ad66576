"""研判结论 of the county report: the verdict, the areas, the failing items, the veto checks and the
application precondition."""

from __future__ import annotations

from junheng.engine.result import EvaluationResult
from junheng.reports import narrative as words
from junheng.reports.county_cells import SHADES, count_cell, status_cell, text_cell
from junheng.reports.document import Cell, Column, ReportDocument, Run, Table
from junheng.reports.xlsx import area_label


def areas_table(result: EvaluationResult, failing: list[str]) -> Table:
    columns = [Column("方面", 2.0), Column("指标数", 1.0), Column("达标", 1.0), Column("未达标", 1.0),
               Column("数据缺失", 1.0), Column("结论", 1.2)]
    rows = []
    for area in result.areas.present():
        total, met, not_met, missing = words.area_counts(result, area, failing)
        rows.append([text_cell(area_label(result, area)), count_cell(total), count_cell(met),
                     Cell(str(not_met), value=not_met, shade="unmet" if not_met else None, align="right"),
                     Cell(str(missing), value=missing, shade="missing" if missing else None, align="right"),
                     status_cell(result.areas[area].met)])
    title = words.areas_title(len(result.areas.present()))
    return Table(kind="areas", title=f"{title}自评结论", columns=columns, rows=rows, sheet=title)


def failing_items_table(result: EvaluationResult, failing: list[str]) -> Table | None:
    if not failing:
        return None
    columns = [Column("编号", 0.8), Column("指标", 4.0), Column("方面", 1.4), Column("未达标情况", 6.0)]
    rows = [[text_cell(i, "center"), text_cell(words.indicator_title(result, i)), text_cell(words.area_of(result, i)),
             text_cell(words.failing_reason(result, i))] for i in failing]
    return Table(kind="failing_items", title="未达标指标一览", columns=columns, rows=rows, sheet="未达标指标",
                 font_size=9.0)


def veto_table(result: EvaluationResult) -> Table:
    columns = [Column("一票否决事项(评估前三年内)", 4.0), Column("情况", 2.0)]
    rows = [[text_cell(label), Cell(state, shade=SHADES.get(met), align="center")]
            for label, state, met in words.veto_lines(result)]
    return Table(kind="veto", title="一票否决事项核查", columns=columns, rows=rows, sheet="一票否决")


def write_conclusion(doc: ReportDocument, result: EvaluationResult, failing: list[str]) -> None:
    doc.heading(1, "研判结论")
    verdict_colour = {"pass": "green", "fail": "red", "incomplete": "amber"}[result.verdict]
    doc.paragraph(Run(words.verdict_paragraph(result), bold=True, color=verdict_colour))  # type: ignore[arg-type]
    doc.table(areas_table(result, failing))
    table = failing_items_table(result, failing)
    if table is not None:
        doc.table(table)
    vetoes = words.veto_lines(result)
    triggered = [label for label, _, met in vetoes if met is False]
    unfilled = [label for label, _, met in vetoes if met is None]
    if vetoes:  # a standard without veto items (basic-2012) has no such check
        text = "一票否决核查:"
        if triggered:
            text += "存在" + "、".join(triggered) + "情形,按规定实行一票否决。"
        elif unfilled:
            text += "、".join(unfilled) + "未填报,须补充后方可作出结论。"
        else:
            text += "评估前三年内未发现" + "、".join(label for label, _, _ in vetoes) + "等情形。"
        doc.paragraph(text)
        doc.table(veto_table(result))
    reported = words.reported_sentence(result)
    if reported:
        doc.paragraph(f"报告事项:{reported}")
    if result.precondition is not None:
        state = {True: "满足", False: "不满足", None: "无法核实"}[result.precondition.met]
        doc.paragraph(f"申请前提(不计入评估结论):{result.precondition.note}。申请前提{state}。")
    if result.missing_inputs:
        doc.paragraph(f"数据缺失:共{len(result.missing_inputs)}项,逐项列于附表“缺失数据清单”,补齐后重新评估。")

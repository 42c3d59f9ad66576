"""问题与整改 of the county report: the gaps to close (per school, per CV, per item) and their totals,
the remediation plan, the open supervision tasks and the warnings."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from junheng.engine.result import EvaluationResult
from junheng.reports import narrative as words
from junheng.reports.county_cells import count_cell, text_cell
from junheng.reports.document import Cell, Column, ReportDocument, Run, Table
from junheng.reports.inputs import Remediation
from junheng.reports.xlsx import TWO_DECIMALS, gap_text, indicator_unit, segment_label, segments_of


@dataclass
class GapRow:
    indicator: str
    where: str
    current: str
    needed: str
    note: str
    what: str | None = None
    unit: str | None = None
    amount: float | None = None


def gap_rows(result: EvaluationResult, failing: list[str]) -> list[GapRow]:
    rows: list[GapRow] = []
    for unit in sorted(result.resource.units, key=lambda u: (u.segment != "primary", u.school_id)):
        if unit.compliant is not False:
            continue
        for rid, ind in unit.indicators.items():
            if ind.met is not False:
                continue
            measure = indicator_unit(result, rid)
            current = f"{words.fixed(ind.value)}{words.unit_word(measure)}(标准值{words.threshold_text(ind.threshold)})"
            rows.append(GapRow(rid, words.unit_label(unit), current, gap_text(ind.gap) if ind.gap else "",
                               ind.gap.note or "" if ind.gap else "", ind.gap.what if ind.gap else None,
                               ind.gap.unit if ind.gap else None, ind.gap.amount if ind.gap else None))
    composite = result.resource.composite_cv or {}
    for segment in segments_of(result):
        c = composite.get(segment)
        if c is not None and c.met is False:
            value = words.cv_text(c.value) if c.value is not None else "无定义"
            rows.append(GapRow("—", f"全县{segment_label(segment)}", f"综合差异系数{value}(上限{c.limit:.2f})",
                               "缩小校际差距,使综合差异系数降至上限以内",
                               "差异系数较大的指标:" + "、".join(
                                   rid for rid, cv in sorted(result.resource.cv[segment].items(),
                                                             key=lambda kv: -(kv[1].value or 0))[:3])))
        for rid in result.resource_ids():
            cv = result.resource.cv[segment][rid]
            if cv.met is False:
                who = "、".join(c["school_name"] for c in cv.largest_contributors)
                rows.append(GapRow(rid, f"全县{segment_label(segment)}", f"差异系数{words.cv_text(cv.value)}(上限{cv.limit:.2f})",
                                   "缩小校际差距,使差异系数降至上限以内",
                                   f"偏离县域值最大的学校:{who}" if who else (cv.note or "")))
    for area in result.areas.items().values():
        for item in area.indicators.values():
            if item.met is not False:
                continue
            schools = [s for s in item.schools if s.met is False]
            for s in schools:
                rows.append(GapRow(item.id, s.school_name, s.detail, gap_text(s.gap), "",
                                   s.gap.what if s.gap else None, s.gap.unit if s.gap else None,
                                   s.gap.amount if s.gap else None))
            if not schools or item.gap is not None:
                current = ";".join(f"{c.label}{words.check_value(c)}" for c in item.checks if c.met is False)
                rows.append(GapRow(item.id, "全县", current or item.explanation, gap_text(item.gap) if item.gap else "",
                                   "", item.gap.what if item.gap else None, item.gap.unit if item.gap else None,
                                   item.gap.amount if item.gap else None))
    return rows


def gaps_table(rows: list[GapRow]) -> Table:
    columns = [Column("指标", 0.7), Column("学校(学段)", 3.0), Column("现状", 3.6), Column("需补足", 3.0),
               Column("说明", 3.6)]
    body = [[text_cell(r.indicator, "center"), text_cell(r.where), text_cell(r.current), text_cell(r.needed),
             text_cell(r.note)] for r in rows]
    return Table(kind="gaps", title="问题清单及需补足的差距", columns=columns, rows=body, sheet="整改需求", font_size=9.0)


def gap_totals_table(rows: list[GapRow]) -> Table | None:
    totals: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in rows:
        if r.what and r.amount is not None:
            totals[(r.indicator, r.what, r.unit or "")].append(r.amount)
    if not totals:
        return None
    columns = [Column("指标", 0.8), Column("需补足内容", 4.0), Column("涉及学校(学段)数", 1.5), Column("合计", 1.8)]
    body = [[text_cell(i, "center"), text_cell(what), count_cell(len(amounts)),
             Cell(f"{words.amount(sum(amounts))} {unit}".strip(), value=round(sum(amounts), 2), align="right")]
            for (i, what, unit), amounts in totals.items()]
    return Table(kind="gap_totals", title="需补足差距汇总(缺什么补什么)", columns=columns, rows=body, sheet="整改需求汇总",
                 note="按学校逐项相加;一贯制学校共用设施的差距为全校需增加的数量。")


def write_remediation(doc: ReportDocument, result: EvaluationResult, failing: list[str],
                      remediation: Remediation | None) -> None:
    doc.heading(1, "问题与整改")
    doc.heading(2, "存在的主要问题")
    rows = gap_rows(result, failing)
    if not failing:
        doc.paragraph("经自评,各项指标均未发现不达标情况。" + (
            "今后将持续开展年度监测,确保各项指标不下滑、不反弹。" if result.verdict == "pass"
            else "部分指标因数据缺失暂无法判定,须尽快补齐数据后重新评估。"))
    else:
        for n, indicator in enumerate(failing, start=1):
            doc.paragraph(Run(f"{n}.{indicator} {words.indicator_title(result, indicator)}。", bold=True),
                          words.failing_reason(result, indicator) + "。")
        if rows:
            doc.table(gaps_table(rows))
        totals = gap_totals_table(rows)
        if totals is not None:
            doc.table(totals)
    remediation = remediation or Remediation()
    plan = remediation.plan
    if plan is not None and plan.actions:
        doc.heading(2, "整改措施")
        cost = sum(a.cost_wan_yuan or 0 for a in plan.actions)
        years = sorted({a.year for a in plan.actions if a.year})
        text = f"按照《{plan.title}》,共安排整改措施{len(plan.actions)}项"
        if cost:
            text += f",计划投资{words.amount(round(cost, 2))}万元"
        if years:
            text += f",于{years[0]}年至{years[-1]}年完成" if len(years) > 1 else f",于{years[0]}年完成"
        doc.paragraph(text + "。")
        doc.table(plan_table(plan))
    if remediation.tasks:
        doc.heading(2, "督办任务")
        doc.paragraph(f"目前尚未办结的督办任务{len(remediation.tasks)}项,明细如下。")
        doc.table(tasks_table(remediation))
    if remediation.warnings:
        doc.heading(2, "监测预警")
        doc.paragraph(f"年度监测发出预警{len(remediation.warnings)}条,明细如下。")
        doc.table(warnings_table(remediation))


def plan_table(plan) -> Table:
    columns = [Column("指标", 0.8), Column("学校", 2.6), Column("整改措施", 5.0), Column("数量", 1.2),
               Column("投资", 1.2, "万元"), Column("完成年度", 1.0), Column("责任单位", 2.0)]
    rows = []
    for a in plan.actions:
        quantity = f"{words.amount(a.quantity)}{a.unit or ''}" if a.quantity is not None else "—"
        rows.append([text_cell(a.indicator, "center"), text_cell(a.school_name or "全县"), text_cell(a.action),
                     Cell(quantity, value=a.quantity, align="right"),
                     Cell(words.amount(a.cost_wan_yuan) if a.cost_wan_yuan is not None else "—", value=a.cost_wan_yuan,
                          number_format=TWO_DECIMALS, align="right"),
                     Cell(str(a.year) if a.year else "—", value=a.year, align="center"),
                     text_cell("、".join(a.responsible))])
    return Table(kind="plan", title="整改措施、投资和完成年度", columns=columns, rows=rows, sheet="整改计划", font_size=9.0)


def tasks_table(remediation: Remediation) -> Table:
    columns = [Column("任务", 5.0), Column("指标", 0.8), Column("责任单位", 2.2), Column("完成时限", 1.4),
               Column("状态", 1.0)]
    rows = [[text_cell(t.title), text_cell(t.indicator or "—", "center"), text_cell("、".join(t.responsible)),
             text_cell(t.due.isoformat() if t.due else "—", "center"), text_cell(t.status, "center")]
            for t in remediation.tasks]
    return Table(kind="tasks", title="未办结的督办任务", columns=columns, rows=rows, sheet="督办任务")


def warnings_table(remediation: Remediation) -> Table:
    columns = [Column("级别", 0.9), Column("指标", 0.8), Column("预警内容", 6.0), Column("发出日期", 1.4)]
    rows = [[text_cell(w.level, "center"), text_cell(w.indicator or "—", "center"), text_cell(w.message),
             text_cell(w.raised.isoformat() if w.raised else "—", "center")] for w in remediation.warnings]
    return Table(kind="warnings", title="监测预警", columns=columns, rows=rows, sheet="监测预警")

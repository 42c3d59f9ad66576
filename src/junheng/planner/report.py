"""The plan and the scenario comparison for people: the terminal (rich) and the plan workbook
(XLSX: per school the actions, quantities, cost and year)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from junheng.engine.wording import num
from junheng.planner.county import SEGMENT_LABELS
from junheng.planner.errors import PlannerError
from junheng.planner.result import MODE_LABELS, RULE_LABELS, Plan, item_labels
from junheng.planner.scenario import CHANGE_LABELS, ScenarioResult
from junheng.schoolyear import label as school_year_label
from junheng.spreadsheets import save_workbook

STATUS_STYLE = {"pass": "bold green", "partial": "bold yellow", "infeasible": "bold red", "unverified": "bold red"}
MET_TEXT = {True: ("达标", "green"), False: ("未达标", "red"), None: ("数据缺失", "yellow")}
SYNTHETIC_NOTE = "【合成数据,仅供演示,不代表任何真实县区】"


def _row(table: Table, *cells) -> None:
    table.add_row(*(Text(c) if isinstance(c, str) else c for c in cells))


def _yuan(amount: float | None) -> str:
    return "—" if amount is None else f"{amount:,.0f} 元"


def _met(met: bool | None) -> Text:
    text, style = MET_TEXT[met]
    return Text(text, style=style)


def _amount(amount: float, unit: str) -> str:
    return f"{amount:,.0f} {unit}" if unit == "元" else f"{num(amount)} {unit}"


def _seg(segment: str | None) -> str:
    return SEGMENT_LABELS.get(segment, "") if segment else "全校"


# ---------------------------------------------------------------- terminal: plan


def print_plan(console: Console, plan: Plan, *, all_gaps: bool = False) -> None:
    console.print(_header(plan))
    if plan.reasons:
        console.print(_reasons(plan))
    if plan.status in ("pass", "partial", "unverified"):
        console.print(_summary(plan))
        if plan.moves:
            console.print(_moves(plan))
        if any(a.kind != "rotate_teachers" for a in plan.actions):
            console.print(_actions(plan))
        console.print(_verification(plan))
    console.print(_gaps(plan, all_gaps))
    if plan.policy_items:
        console.print(_policy(plan))
    console.print(Panel(Group(*(Text(f"· {n}") for n in plan.notes)), title="说明", expand=False))


def _header(plan: Plan) -> Panel:
    lines = [
        Text.assemble(("方案结论:", "bold"), (plan.status_label, STATUS_STYLE[plan.status])),
        Text(f"县区:{plan.county_name}({plan.county_code})    数据学年:{school_year_label(plan.year)}    标准:{plan.standard}"),
        Text(plan.message if plan.status != "infeasible" else "原因见下。"),
    ]
    if plan.coverage is not None and not plan.coverage.complete:
        lines.insert(0, Text(f"临时方案:{plan.coverage.statement()}", style="bold red"))
    if plan.synthetic:
        lines.insert(0, Text(SYNTHETIC_NOTE, style="bold magenta"))
    if plan.costs.get("example"):
        lines.append(Text("注意:费用按示例单价计算,请用 --costs 指定本县实际单价表", style="yellow"))
    return Panel(Group(*lines), title="缺什么补什么:达标方案", expand=False)


def _reasons(plan: Plan) -> Panel:
    title = "无法达标的原因" if plan.status == "infeasible" else "说明"
    return Panel(Group(*(Text(f"· {r}") for r in plan.reasons)), title=title, expand=False,
                 border_style="red" if plan.status in ("infeasible", "unverified") else "yellow")


def _summary(plan: Plan) -> Table:
    table = Table(title="费用汇总", title_justify="left", show_header=False)
    table.add_column("项目")
    table.add_column("金额", justify="right")
    _row(table, "方案总费用(方案期内)", _yuan(plan.total_cost))
    _row(table, "费用下限(任何达标方案都不低于此数)", _yuan(plan.lower_bound))
    if plan.gap is not None:
        _row(table, "方案比费用下限多", f"{_yuan(plan.gap_amount)}({plan.gap:.2%})")
    if plan.integral_bound is not None:
        _row(table, "整数方案的最优值下界(计算方法:混合整数规划)", _yuan(plan.integral_bound))
    if plan.recurring_cost:
        _row(table, "新增教师每年人员经费(方案期后持续支出)", _yuan(plan.recurring_cost))
    for y in plan.cost_by_year if plan.years > 1 or plan.budget else []:
        budget = f"(预算 {_yuan(y.budget)})" if y.budget is not None else ""
        _row(table, f"第 {y.plan_year} 年({y.year} 年)支出{budget}", _yuan(y.amount))
    return table


def _moves(plan: Plan) -> Table:
    table = Table(title=f"交流轮岗(共 {sum(m.count for m in plan.moves)} 人次)", title_justify="left")
    for col in ("派出学校", "接收学校", "学段", "教师类别", "人数"):
        table.add_column(col, justify="right" if col == "人数" else "left")
    for m in plan.moves:
        _row(table, m.from_school_name, m.to_school_name, SEGMENT_LABELS[m.segment], m.kind_label, str(m.count))
    return table


def _actions(plan: Plan) -> Table:
    actions = [a for a in plan.actions if a.kind != "rotate_teachers"]
    table = Table(title=f"行动清单(按学校,交流轮岗以外的 {len(actions)} 项行动)", title_justify="left", show_lines=False)
    for col in ("学校", "学段", "行动", "数量", "费用", "年份", "说明"):
        table.add_column(col, justify="right" if col in ("数量", "费用") else "left", overflow="fold")
    for a in sorted(actions, key=lambda a: (a.school_id, a.plan_year, a.kind)):
        qty = f"{a.quantity:,.0f} {a.unit}" if a.unit == "元" else f"{num(a.quantity)} {a.unit}"
        target = f" → {a.to_school_name}" if a.to_school_id else ""
        _row(table, a.school_name + target, _seg(a.segment), a.label, qty, _yuan(a.cost), str(a.year or ""),
             a.note or "")
    return table


def _verification(plan: Plan) -> Table:
    v = plan.verification_summary
    table = Table(title=f"评估引擎核验(方案实施后的数据,结论:{_verdict(v.verdict)})", title_justify="left")
    table.add_column("事项")
    table.add_column("实施前")
    table.add_column("实施后")
    labels = item_labels(plan)
    for key, met in v.items.items():
        before = plan.before.items.get(key) if plan.before else None
        table.add_row(Text(labels.get(key, key)), _met(before), _met(met))
    return table


def _verdict(verdict: str) -> str:
    return {"pass": "达标", "fail": "未达标", "incomplete": "数据不全"}[verdict]


def _gaps(plan: Plan, all_lines: bool) -> Group:
    parts = []
    totals = Table(title="缺口分析:全县合计(方案实施前)", title_justify="left")
    for col in ("指标", "缺什么", "合计", "涉及学校"):
        totals.add_column(col, justify="right" if col in ("合计", "涉及学校") else "left")
    for t in plan.gaps.totals:
        _row(totals, t.indicator, t.what, _amount(t.amount, t.unit), str(t.schools) if t.schools else "—")
    parts.append(totals if plan.gaps.totals else Text("缺口分析:方案实施前没有学校层面的缺口"
                                                      "(差异系数见下表,所需投入由方案确定)。"))
    lines = [g for g in plan.gaps.lines if all_lines or g.status == "failing"]
    if lines:
        table = Table(title="缺口分析:逐校", title_justify="left")
        for col in ("指标", "学校", "学段", "缺什么", "数量", "状态"):
            table.add_column(col, justify="right" if col == "数量" else "left", overflow="fold")
        for g in lines:
            _row(table, g.indicator, g.school_name or "全县", _seg(g.segment) if g.school_id else "", g.what,
                 _amount(g.amount, g.unit), "未达标" if g.status == "failing" else "接近达标线")
        parts.append(table)
    near = sum(1 for g in plan.gaps.lines if g.status == "near")
    if near and not all_lines:
        parts.append(Text(f"另有 {near} 项接近达标线(余量不足 {plan.gaps.near_margin:.0%}),见 JSON 或工作簿。"))
    cv = [c for c in plan.gaps.cv if c.met is not True or c.near]
    if cv:
        table = Table(title="差异系数(未达标或接近上限)", title_justify="left")
        for col in ("学段", "指标", "差异系数", "上限", "结论"):
            table.add_column(col)
        for c in cv:
            table.add_row(SEGMENT_LABELS[c.segment], c.indicator, "—" if c.value is None else f"{c.value:.3f}",
                          f"{c.limit:g}", _met(c.met))
        parts.append(table)
    return Group(*parts)


def _policy(plan: Plan) -> Table:
    table = Table(title="需政策解决事项(不能通过建设、购置、招聘或交流解决)", title_justify="left", show_lines=True)
    for col in ("指标", "名称", "状态", "责任单位", "说明"):
        table.add_column(col, overflow="fold")
    for p in plan.policy_items:
        _row(table, p.id, p.name, _met(p.met), "、".join(p.responsible), "; ".join(filter(None, [p.explanation, p.note])))
    return table


# ---------------------------------------------------------------- terminal: scenario


def print_scenario(console: Console, result: ScenarioResult, *, changed_only: bool = False) -> None:
    s = result.scenario
    lines = [Text.assemble(("情景:", "bold"), s.name),
             Text(f"县区:{result.county_name}({result.county_code})    数据学年:{result.year}—{result.year + 1}")]
    if s.description:
        lines.append(Text(s.description))
    if result.before.synthetic:
        lines.insert(0, Text(SYNTHETIC_NOTE, style="bold magenta"))
    lines.append(Text("变更:" + ";".join(f"{i + 1}. {CHANGE_LABELS[c.type]}{_change_text(c)}"
                                          for i, c in enumerate(s.changes))))
    console.print(Panel(Group(*lines), title="情景模拟:变更前后对比", expand=False))
    table = Table(title="评估结果对比(加粗为有变化的项目)", title_justify="left")
    for col in ("项目", "变更前", "变更后"):
        table.add_column(col, overflow="fold")
    for row in result.rows:
        if changed_only and not row.changed and row.key != "verdict":
            continue
        style = "bold" if row.changed else ""
        before = Text(row.before, style=MET_TEXT[row.before_met][1] if row.before_met is not None else "")
        after = Text(row.after, style=(MET_TEXT[row.after_met][1] if row.after_met is not None else "") + " " + style)
        table.add_row(Text(row.label, style=style), before, after)
    console.print(table)


def _change_text(change) -> str:
    if change.type == "open_school":
        return f" {change.school_name}"
    if change.type == "merge_schools":
        return f" {'、'.join(change.schools)} 并入 {change.into}"
    if change.type == "change_enrolment":
        what = change.students if change.students is not None else (
            f"{change.change:+d} 人" if change.change is not None else f"{change.percent:+g}%")
        return f" {change.school_id or '全部学校'} {SEGMENT_LABELS.get(change.segment, '各学段')} {what}"
    if change.type == "add_building":
        return f" {change.school_id}"
    if change.type == "set_fields":
        return f" {change.school_id or '县级数据'}:{'、'.join(change.fields)}"
    if change.type == "apply_plan":
        return f"({len(change.actions)} 项行动)" if change.actions is not None else f" {change.plan}"
    return ""


# ---------------------------------------------------------------- workbook


def write_plan_xlsx(plan: Plan, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDEBF7")

    def sheet(title: str, headers: list[str], rows: list[list], widths: list[int] | None = None):
        ws = wb.create_sheet(title)
        ws.append([f"{plan.county_name}({plan.county_code}) {plan.year}学年 达标方案" + (
            " " + SYNTHETIC_NOTE if plan.synthetic else "")])
        ws["A1"].font = bold
        ws.append(headers)
        for cell in ws[2]:
            cell.font, cell.fill = bold, head_fill
        for r in rows:
            ws.append(r)
        for i, w in enumerate(widths or [16] * len(headers), start=1):
            ws.column_dimensions[ws.cell(row=2, column=i).column_letter].width = w
        for row in ws.iter_rows(min_row=3):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = "A3"
        return ws

    summary = [["方案结论", plan.status_label], ["概要", plan.message], ["方案模式", MODE_LABELS.get(plan.mode, plan.mode)],
               ["达标要求", RULE_LABELS.get(plan.rule, plan.rule)], ["方案年限", plan.years], ["方案总费用(元)", plan.total_cost],
               ["费用下限(元)", plan.lower_bound], ["比费用下限多(元)", plan.gap_amount],
               ["比费用下限多(%)", None if plan.gap is None else round(plan.gap * 100, 4)],
               ["新增教师每年人员经费(元)", plan.recurring_cost], ["单价", plan.costs.get("label")]]
    summary += [[f"第 {y.plan_year} 年({y.year})支出(元)", y.amount] for y in plan.cost_by_year]
    summary += [[f"第 {y.plan_year} 年预算(元)", y.budget] for y in plan.cost_by_year if y.budget is not None]
    summary += [["无法达标的原因" if plan.status == "infeasible" else "说明", r] for r in plan.reasons]
    summary += [["注", n] for n in plan.notes]
    sheet("方案汇总", ["项目", "内容"], summary, [28, 100])
    del wb["Sheet"]

    rows = []
    for a in sorted(plan.actions, key=lambda a: (a.school_id, a.plan_year, a.kind)):
        rows.append([a.school_id, a.school_name, _seg(a.segment), a.label, a.quantity, a.unit, a.unit_cost, a.cost,
                     a.plan_year, a.year, a.to_school_name or "", "、".join(a.indicators), a.note or ""])
    sheet("行动清单", ["学校标识码", "学校名称", "学段", "行动", "数量", "单位", "单价(元)", "费用(元)", "方案第几年",
                    "年份", "接收学校", "针对指标", "说明"], rows, [14, 28, 8, 26, 10, 6, 12, 14, 10, 8, 24, 14, 50])

    by_school: dict[str, list] = {}
    for a in plan.actions:
        entry = by_school.setdefault(a.school_id, [a.school_id, a.school_name, 0, 0.0, set()])
        entry[2] += 1
        entry[3] += a.cost
        entry[4].add(a.label)
    sheet("按学校汇总", ["学校标识码", "学校名称", "行动数", "费用合计(元)", "行动"],
          [[e[0], e[1], e[2], round(e[3], 2), "、".join(sorted(e[4]))] for e in by_school.values()],
          [14, 28, 8, 16, 80])
    sheet("交流轮岗", ["派出学校", "接收学校", "学段", "教师类别", "人数"],
          [[m.from_school_name, m.to_school_name, SEGMENT_LABELS[m.segment], m.kind_label, m.count] for m in plan.moves],
          [28, 28, 8, 20, 8])
    sheet("缺口分析", ["指标", "学校标识码", "学校名称", "学段", "缺什么", "数量", "单位", "状态", "当前值", "达标值", "说明"],
          [[g.indicator, g.school_id or "", g.school_name or "全县", _seg(g.segment) if g.school_id else "", g.what,
            g.amount, g.unit, "未达标" if g.status == "failing" else "接近达标线", g.value, g.threshold, g.note or ""]
           for g in plan.gaps.lines], [8, 14, 28, 8, 26, 12, 6, 12, 12, 10, 50])
    sheet("缺口汇总", ["指标", "缺什么", "合计", "单位", "涉及学校数"],
          [[t.indicator, t.what, t.amount, t.unit, t.schools] for t in plan.gaps.totals], [8, 30, 14, 8, 12])
    sheet("差异系数", ["学段", "指标", "差异系数(实施前)", "上限", "结论"],
          [[SEGMENT_LABELS[c.segment], c.indicator, c.value, c.limit, MET_TEXT[c.met][0]] for c in plan.gaps.cv],
          [8, 8, 18, 8, 10])
    sheet("需政策解决事项", ["指标", "名称", "状态", "责任单位", "说明", "备注"],
          [[p.id, p.name, MET_TEXT[p.met][0], "、".join(p.responsible), p.explanation, p.note or ""]
           for p in plan.policy_items], [8, 40, 10, 24, 60, 40])
    if plan.verification_summary:
        v, labels = plan.verification_summary, item_labels(plan)
        sheet("核验结果", ["事项", "实施前", "实施后"],
              [[labels.get(k, k), MET_TEXT[plan.before.items.get(k) if plan.before else None][0], MET_TEXT[m][0]]
               for k, m in v.items.items()] + [["评估结论", _verdict(plan.before.verdict) if plan.before else "",
                                                _verdict(v.verdict)]], [30, 12, 12])
    if not path.parent.exists():
        raise PlannerError(f"输出文件夹 {path.parent} 不存在")
    try:
        save_workbook(wb, path)  # school names and notes stay text, never formulas (junheng.spreadsheets)
    except PermissionError:
        raise PlannerError(f"无法写入 {path}:文件可能正被 Excel 打开,请关闭后重试") from None

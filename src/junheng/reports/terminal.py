"""The zh-CN terminal report (rich): verdict first, then the areas of the result's standard, the
failing units and items with their gaps, then what is missing.

Everything follows the result's own standard: its areas and their names, its unit-level
indicators (`resource_ids()`), whether units are judged one by one (a per-school rule) and
whether the CVs are judged each against a limit or by their mean (综合差异系数); the values it
reports without judging them stand beside the verdict, marked 不参与判定."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from junheng.engine.result import EvaluationResult, Gap
from junheng.engine.wording import met_word, num
from junheng.reports.narrative import areas_title
from junheng.reports.xlsx import (
    REPORTED_NOTE,
    area_label,
    evaluation_title,
    plain_value,
    r_thresholds_exist,
)
from junheng.schoolyear import label as school_year_label

VERDICT_STYLE = {"pass": "bold green", "fail": "bold red", "incomplete": "bold yellow"}
MET_STYLE = {True: "green", False: "red", None: "yellow"}
SEGMENTS = {"primary": "小学", "junior": "初中"}
SYNTHETIC_NOTE = "【合成数据,仅供演示,不代表任何真实县区】"
MAX_MISSING_SHOWN = 30


def _add_row(table: Table, *cells) -> None:
    """Cells as plain Text: school names and data must never be read as rich markup."""
    table.add_row(*(Text(c) if isinstance(c, str) else c for c in cells))


def _met(met: bool | None) -> Text:
    return Text(met_word(met), style=MET_STYLE[met])


def _gap(gap: Gap | None) -> str:
    if gap is None:
        return ""
    text = f"{gap.what} {num(gap.amount)} {gap.unit}".rstrip()
    return text + (f"({gap.note})" if gap.note else "")


def _header(r: EvaluationResult) -> Panel:
    lines = [
        Text.assemble(("结论:", "bold"), (r.verdict_label, VERDICT_STYLE[r.verdict])),
        Text(f"县区:{r.county_name}({r.county_code})    学年:{school_year_label(r.year, suffix=False)}"),
        Text(f"评估标准:{r.standard_name}({r.standard})"),
    ]
    if r.provisional:
        lines.insert(1, Text(r.coverage.statement(), style="bold red"))
    if r.synthetic:
        lines.append(Text(SYNTHETIC_NOTE, style="bold magenta"))
    if r.veto.triggered:
        lines.append(Text("一票否决:" + "、".join(r.veto.labels.get(k, k) for k in r.veto.triggered), style="bold red"))
    elif r.veto.missing:
        lines.append(Text(f"一票否决事项有 {len(r.veto.missing)} 项未填报", style="yellow"))
    elif r.veto.labels:  # a standard without veto items (basic-2012) has no such line
        lines.append(Text("一票否决事项:无", style="green"))
    if r.precondition:
        style = MET_STYLE[r.precondition.met]
        lines.append(Text(f"申请前提(不计入结论):{r.precondition.note}", style=style))
    for reported in r.reported:
        lines.append(Text(f"{reported.label}({REPORTED_NOTE}):{plain_value(reported.value, reported.unit)}"))
    if r.verdict == "fail":
        lines.append(Text("未达标指标:" + ("、".join(r.failing_items()) or "(见一票否决)"), style="red"))
    if r.verdict == "incomplete" and r.missing_inputs:
        lines.append(Text(f"缺少 {len(r.missing_inputs)} 项数据,补齐后方可判定(见文末清单)", style="yellow"))
    return Panel(Group(*lines), title=evaluation_title([r]).removesuffix("督导评估") + "评估", expand=False)


def _resource_summary(r: EvaluationResult) -> str:
    res = r.resource
    if r_thresholds_exist(r):
        text = f"评估单位 {len(res.units)} 个,达标 {res.compliant_units} 个,未达标 {res.noncompliant_units} 个;"
    else:
        text = f"评估单位 {len(res.units)} 个(不逐校判定);"
    if res.composite_cv:
        return text + ";".join(f"{SEGMENTS.get(seg, seg)}综合差异系数 {_cv_number(c.value)}/{num(c.limit)} "
                               f"{met_word(c.met)}" for seg, c in res.composite_cv.items())
    cvs = [c for seg in res.cv.values() for c in seg.values() if c.applicable]
    return text + f"差异系数 {sum(c.met is True for c in cvs)}/{len(cvs)} 项达标"


def _cv_number(value: float | None) -> str:
    return num(value, digits=3) if value is not None else "数据缺失"


def _areas(r: EvaluationResult) -> Table:
    present = r.areas.present()
    table = Table(title=areas_title(len(present)) + (f"(临时结果,基于 {r.coverage.fraction()} 所学校)"
                                                     if r.provisional else ""),
                  title_justify="left")
    for col in ("方面", "结论", "情况"):
        table.add_column(col, overflow="fold")

    def judged(met: bool | None) -> Text:  # a provisional result judges no area of the county
        return Text("临时", style="yellow") if r.provisional else _met(met)

    if r.resource is not None:
        _add_row(table, area_label(r, "resource_allocation"), judged(r.resource.met), _resource_summary(r))
    for area in r.areas.items():
        items = r.item_area(area).indicators.values()
        _add_row(table, area_label(r, area), judged(r.item_area(area).met),
                      f"{sum(i.met is True for i in items)}/{len(items)} 项达标"
                      + (f",{sum(i.met is False for i in items)} 项未达标" if any(i.met is False for i in items) else "")
                      + (f",{sum(i.met is None for i in items)} 项数据缺失" if any(i.met is None for i in items) else ""))
    return table


def _cv_table(r: EvaluationResult) -> Table | None:
    """Segment × indicator CVs; under a composite limit the CVs stand without a limit of their
    own and the last column is the segment's 综合差异系数 against its limit."""
    if r.resource is None:
        return None
    table = Table(title="校际差异系数(按学生数加权)", title_justify="left")
    table.add_column("学段", overflow="fold")
    ids = r.resource_ids()
    composite = r.resource.composite_cv or {}
    for i in ids:
        table.add_column(i, justify="right", overflow="fold")
    if composite:
        table.add_column("综合差异系数", justify="right", overflow="fold")
    for seg, items in r.resource.cv.items():
        cells = []
        for i in ids:
            c = items.get(i)
            if c is None or not c.applicable:
                cells.append(Text("—"))
            elif c.limit is None:
                cells.append(Text(_cv_number(c.value)))
            else:
                cells.append(Text(f"{num(c.value, digits=3)}/{num(c.limit)}", style=MET_STYLE[c.met]))
        if composite:
            c = composite.get(seg)
            cells.append(Text(f"{_cv_number(c.value)}/{num(c.limit)} {met_word(c.met)}", style=MET_STYLE[c.met])
                         if c is not None else Text("—"))
        _add_row(table, SEGMENTS.get(seg, seg), *cells)
    names = ";".join(f"{i} {_indicator_name(r, i)}" for i in ids)
    if composite:
        table.caption = ("各项为差异系数;综合差异系数为各项的平均值,单元格为“综合差异系数/上限”,红色为超过上限。\n"
                         + names)
    else:
        table.caption = "单元格为“差异系数/上限”;红色为超过上限\n" + names
    return table


def _indicator_name(r: EvaluationResult, indicator_id: str) -> str:
    from junheng.reports.xlsx import indicator_name

    return indicator_name(r, indicator_id)


def _failing_units(r: EvaluationResult) -> Table | None:
    if not r_thresholds_exist(r):  # no unit is judged one by one: none fails
        return None
    units = [u for u in r.resource.units if u.compliant is not True]
    if not units:
        return None
    table = Table(title=f"未达标或无法判定的学校学段({len(units)} 个)", title_justify="left", show_lines=True)
    for col in ("学校", "学段", "学生数", "达标项", "问题", "需补足"):
        table.add_column(col, overflow="fold")
    for u in sorted(units, key=lambda u: (u.compliant is None, u.segment, u.met_count)):
        gaps = [f"{i}:{_gap(ind.gap)}" for i, ind in u.indicators.items() if ind.gap]
        _add_row(table, u.school_name, SEGMENTS.get(u.segment, u.segment), str(u.students),
                      f"{u.met_count}/{len(u.indicators)}" if u.compliant is not None else "数据缺失",
                      "\n".join(u.reasons) or "数据缺失", "\n".join(gaps))
    return table


def _cv_failures(r: EvaluationResult) -> Table | None:
    """The CVs over their limit (or not judged) and the schools furthest from the county value;
    under a composite limit, every CV of a segment whose composite is over its limit (or
    cannot be computed)."""
    if r.resource is None:
        return None
    composite = r.resource.composite_cv
    if composite:
        rows = [(seg, i, c) for seg, items in r.resource.cv.items() if seg in composite
                and composite[seg].met is not True for i, c in items.items() if c.applicable]
        title = "综合差异系数未达标学段的各项差异系数与主要来源"
    else:
        rows = [(seg, i, c) for seg, items in r.resource.cv.items() for i, c in items.items() if c.met is not True]
        title = "差异系数未达标项与主要来源"
    if not rows:
        return None
    table = Table(title=title, title_justify="left", show_lines=True)
    for col in ("学段", "指标", "差异系数", "上限", "县域均值", "偏离最大的学校"):
        table.add_column(col, overflow="fold")
    for seg, i, c in rows:
        who = "\n".join(f"{x['school_name']} {num(x['value'])}({x['direction']},占方差 {x['share_of_variance']:.0%})"
                        for x in c.largest_contributors)
        _add_row(table, SEGMENTS.get(seg, seg), i, Text(num(c.value, digits=3), style=MET_STYLE[c.met]),
                 num(c.limit) if c.limit is not None else "—", num(c.county_value), who or (c.note or ""))
    return table


def _items(r: EvaluationResult, area: str) -> Table:
    table = Table(title=area_label(r, area), title_justify="left", show_lines=True)
    for col in ("指标", "结论", "说明", "需补足", "责任单位"):
        table.add_column(col, overflow="fold")
    for item in r.item_area(area).indicators.values():
        explanation = item.explanation
        details = [f"·{s.school_name}:{s.detail}" + (f"({_gap(s.gap)})" if s.gap else "")
                   for s in item.schools[:8]]
        if len(item.schools) > 8:
            details.append(f"·……另有 {len(item.schools) - 8} 所,完整清单见 xlsx 或 json 输出")
        gap = _gap(item.gap)
        _add_row(table, f"{item.id} {item.name}", _met(item.met), "\n".join([explanation] + details), gap,
                      "、".join(item.responsible) if item.met is not True else "")
    return table


def _missing(r: EvaluationResult) -> Panel | None:
    if not r.missing_inputs:
        return None
    lines = [m.describe() for m in r.missing_inputs[:MAX_MISSING_SHOWN]]
    if len(r.missing_inputs) > MAX_MISSING_SHOWN:
        lines.append(f"……共 {len(r.missing_inputs)} 项,完整清单见 --format json 或 xlsx 输出")
    return Panel(Text("\n".join(lines)), title="缺失数据(指标:学校 字段)", border_style="yellow", expand=False)


def _allowances(r: EvaluationResult) -> Panel | None:
    if not r.allowances_applied:
        return None
    lines = [f"{a.indicator} {a.school_name}:{a.label}({a.detail})" for a in r.allowances_applied]
    return Panel(Text("\n".join(lines)), title="已适用的放宽条款", expand=False)


def print_result(console: Console, r: EvaluationResult) -> None:
    parts = [_header(r), _areas(r), _cv_table(r), _cv_failures(r), _failing_units(r)]
    parts += [_items(r, area) for area in r.areas.items()]
    parts += [_allowances(r), _missing(r)]
    if r.warnings:
        parts.append(Panel(Text("\n".join(r.warnings[:20])), title="提示", border_style="dim", expand=False))
    for part in parts:
        if part is not None:
            console.print(part)


def print_summary(console: Console, results: list[EvaluationResult]) -> None:
    table = Table(title=f"评估结果汇总({len(results)} 个县区年度)", title_justify="left")
    for col in ("县区代码", "县区", "学年", "标准", "结论", "未达标指标", "缺失数据项"):
        table.add_column(col, overflow="fold")
    for r in results:
        failing = r.failing_items()
        _add_row(table, r.county_code, r.county_name, str(r.year), r.standard_name,
                      Text(r.verdict_label, style=VERDICT_STYLE[r.verdict]),
                      "、".join(failing[:8]) + ("…" if len(failing) > 8 else ""), str(len(r.missing_inputs)))
    console.print(table)
    if any(r.synthetic for r in results):
        console.print(Text(SYNTHETIC_NOTE, style="bold magenta"))
    console.print("查看某个县区的详细结果:junheng evaluate 数据集 --county 县区代码 --year 学年")


def print_results(console: Console, results: list[EvaluationResult]) -> None:
    if len(results) == 1:
        print_result(console, results[0])
    else:
        print_summary(console, results)

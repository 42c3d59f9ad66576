"""Terminal output of the monitoring commands (watch, forecast, tasks), in Chinese."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from junheng.monitor.forecast import SEGMENT_LABELS, CountyForecast
from junheng.monitor.rules import KIND_LABELS, SEVERITY_LABELS
from junheng.monitor.service import WatchReport
from junheng.monitor.tasks import STATUS_LABELS

SEVERITY_STYLE = {"red": "bold red", "orange": "dark_orange", "yellow": "yellow"}


def print_watch(console: Console, report: WatchReport) -> None:
    table = Table(title=f"预警巡检 {report.today.isoformat()}(运行编号 {report.run_id})", title_justify="left")
    for col in ("县区", "新增", "加重", "反弹", "解除", "当前 红/橙/黄", "未执行的规则"):
        table.add_column(col, overflow="fold")
    for c in report.counties:
        counts = c.open_counts
        skipped = ";".join(f"{k}:{v}" for k, v in c.skipped.items())
        table.add_row(escape(f"{c.county_name}({c.county_code})"), str(len(c.changes.new)),
                      str(len(c.changes.worsened)), str(len(c.changes.reopened)), str(len(c.changes.resolved)),
                      f"[red]{counts.get('red', 0)}[/]/[dark_orange]{counts.get('orange', 0)}[/]/"
                      f"[yellow]{counts.get('yellow', 0)}[/]", escape(skipped) or "—")
    console.print(table)
    totals = report.totals()
    sent = report.notifications
    console.print(
        f"合计:新增 {totals['new']},加重 {totals['worsened']},反弹 {totals['reopened']},解除 {totals['resolved']},"
        f"当前未解除 {totals['open']}。通知:已发送 {sent.get('sent', 0)} 份,失败 {sent.get('failed', 0)} 份,"
        f"无法送达 {sent.get('undeliverable', 0)} 份。", highlight=False)


def print_warnings(console: Console, rows: list[dict]) -> None:
    if not rows:
        console.print("没有未解除的预警。")
        return
    table = Table(title="未解除的预警", title_justify="left")
    for col in ("编号", "级别", "类型", "县区", "预警", "责任单位", "首次发现"):
        table.add_column(col, overflow="fold")
    for w in rows:
        style = SEVERITY_STYLE.get(w["severity"], "")
        table.add_row(str(w["id"]), f"[{style}]{SEVERITY_LABELS.get(w['severity'])}[/]",
                      KIND_LABELS.get(w["kind"], w["kind"]), escape(w["county_name"] or ""),
                      escape(f"{w['title']}\n{w['message']}"), escape("、".join(w["responsible"])),
                      (w["first_seen_at"] or "")[:10])
    console.print(table)


def _band(b: dict) -> str:
    return f"{b['mid']}({b['low']}–{b['high']})"


def print_forecast(console: Console, forecast: CountyForecast) -> None:
    data = forecast.to_json()
    console.print(f"[bold]{escape(forecast.county_name)} 入学与学位预测[/](基于 {forecast.base_year} 年已审核数据,"
                  f"括号内为低位–高位区间)", highlight=False)
    table = Table(title="全县学位需求", title_justify="left")
    for col in ("年份", "学段", "在校生(需求)", "学位容量", "学位缺口", "较基年新增需求"):
        table.add_column(col)
    for s in data["seats"]:
        table.add_row(str(s["year"]), s["segment_label"], _band(s["demand"]),
                      "—" if s["capacity"] is None else str(s["capacity"]), _band(s["shortfall"]), _band(s["additional"]))
    console.print(table)
    failing = data["failing_items"].get("mid", {})
    if failing:
        risk = Table(title="预计不达标的指标(中位预测,办学条件保持不变)", title_justify="left")
        risk.add_column("年份")
        risk.add_column("不达标指标")
        for year, items in failing.items():
            risk.add_row(year, "、".join(items) or "无")
        console.print(risk)
    schools = Table(title="各校在校生预测(中位)", title_justify="left")
    schools.add_column("学校", overflow="fold")
    schools.add_column("方法")
    for year in forecast.years:
        schools.add_column(str(year))
    for s in forecast.schools:
        cells = []
        for year in forecast.years:
            segs = s.segments.get(year, {})
            cells.append(" ".join(f"{SEGMENT_LABELS[k][0]}{v.mid:.0f}" for k, v in segs.items()) or "—")
        schools.add_row(escape(s.school_name), "分年级" if s.method == "cohort" else "按学段", *cells)
    console.print(schools)
    for note in forecast.notes:
        console.print(f"[yellow]说明:[/]{escape(note)}", highlight=False)


def print_tasks(console: Console, rows: list[dict]) -> None:
    if not rows:
        console.print("没有督办任务。")
        return
    table = Table(title="督办任务", title_justify="left")
    for col in ("编号", "任务", "指标", "学校", "责任单位", "负责人", "期限", "状态", "投资(万元)"):
        table.add_column(col, overflow="fold")
    for t in rows:
        status = STATUS_LABELS[t["status"]] + ("[red](逾期)[/]" if t["overdue"] else "")
        table.add_row(str(t["id"]), escape(t["title"]), t["indicator"] or "—", escape(t["school_name"] or "—"),
                      escape("、".join(t["responsible"])), escape(t["owner_name"] or "—"), t["deadline"] or "—",
                      status, "—" if t["amount_wan"] is None else f"{t['amount_wan']:g}")
    console.print(table)


def print_timeline(console: Console, timeline: dict) -> None:
    console.print(f"[bold]{escape(timeline['county_name'])} 工作推进计划[/](共 {timeline['total']} 项,"
                  f"完成 {timeline['done']} 项,逾期 {timeline['overdue']} 项)", highlight=False)
    for m in timeline["milestones"]:
        console.print(f"  {m['year']} 年:{escape(m['label'])}", highlight=False)
    table = Table(show_header=True)
    for col in ("时间", "工作内容", "责任单位", "状态"):
        table.add_column(col, overflow="fold")
    for item in timeline["items"]:
        table.add_row(item["period"], escape(item["title"]), escape("、".join(item["responsible"])),
                      STATUS_LABELS[item["status"]])
    console.print(table)


def print_year_plan(console: Console, plan: dict) -> None:
    for year in plan["years"]:
        label = f"{year['year']} 年" if year["year"] else "未定年度"
        console.print(f"[bold]{label}[/]:合计 {year['total_wan']:g} 万元", highlight=False)
        for item in year["items"]:
            amount = f"投资 {item['amount_wan']:g} 万元 " if item["amount_wan"] else ""
            console.print(f"  - {amount}{escape(item['title'])}({STATUS_LABELS[item['status']]})", highlight=False)
    console.print(f"总计 {plan['total_wan']:g} 万元", highlight=False)

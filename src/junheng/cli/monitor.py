"""Monitoring commands: the watch run (预警巡检) and the enrolment forecast."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from junheng.cli.chinese import ChineseTyper
from junheng.cli.common import WORKSPACE_OPTION, OutputFormat, console, date_option, err_console

commands = ChineseTyper()  # top-level commands: junheng.cli adds them without a group name


@commands.command()
def watch(
    workspace: Optional[Path] = WORKSPACE_OPTION,
    county: Optional[list[str]] = typer.Option(None, "--county", "-c", help="只巡检这些县区(可重复);缺省为全部"),
    today: Optional[str] = typer.Option(None, "--today", help="按这一天巡检(年-月-日);缺省为今天"),
    no_notify: bool = typer.Option(False, "--no-notify", help="只更新预警,不发送通知"),
    show: bool = typer.Option(False, "--list", help="列出全部未解除的预警"),
    check: bool = typer.Option(False, "--check-rules", help="只校验预警规则文件"),
) -> None:
    """运行一次全部预警规则(可重复运行,适合 cron 定时调用),更新预警并发送通知摘要。"""
    from junheng.monitor.config import monitor_settings
    from junheng.monitor.rules import check_rules_dir

    settings = monitor_settings(workspace)
    if check:
        files = check_rules_dir(settings.rules_dir)
        console.print(f"预警规则文件校验通过:{len(files)} 个文件。", highlight=False)
        return
    from junheng.monitor.service import run_watch
    from junheng.monitor.terminal import print_warnings, print_watch
    from junheng.monitor.warnings import list_warnings, warning_json
    from junheng.services import open_database

    day = date_option(today, "--today")
    check_rules_dir(settings.rules_dir)  # refuse malformed rules before touching the database
    database, _ = open_database(workspace)
    report = run_watch(database, settings, today=day, county_codes=county or None, notify=not no_notify)
    print_watch(console, report)
    if show:
        with database.session() as session:
            rows = [warning_json(w) for w in list_warnings(session, None, county_ids=None)
                    if not county or w.county.code in county]
        print_warnings(console, rows)


@commands.command()
def forecast(
    county: str = typer.Argument(..., help="县区代码"),
    years: Optional[int] = typer.Option(None, "--years", "-n", min=1, max=10, help="预测年数;缺省按预警规则(5 年)"),
    grades: Optional[Path] = typer.Option(None, "--grades", help="先导入分年级在校生数(CSV/XLSX:学校标识码、学年、年级、在校生数)"),
    intake: Optional[Path] = typer.Option(None, "--intake", help="先导入出生人口/幼儿园毕业人数(CSV/XLSX:县区代码、年份、出生人口、幼儿园毕业人数)"),
    housing: Optional[Path] = typer.Option(None, "--housing", help="先导入住房项目(CSV/XLSX:县区代码、项目名称、交付年份、学校标识码、新增小学生数、新增初中生数)"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="输出格式(table 或 json)"),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="JSON 输出文件"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """按年级递进预测各校在校生、学位需求与办学条件指标(含区间)。"""
    import json

    from junheng.monitor import service as monitor
    from junheng.monitor.config import monitor_settings
    from junheng.services import open_database

    if fmt == OutputFormat.xlsx:
        raise typer.BadParameter("预测只支持 table 或 json", param_hint="--format")
    settings = monitor_settings(workspace)
    database, _ = open_database(workspace)
    with database.session() as session:
        if grades:
            n = monitor.import_grade_enrolment(session, monitor.read_rows(grades, monitor.GRADE_COLUMNS,
                                                                          ("school_id", "year", "grade", "students")))
            err_console.print(f"已导入分年级在校生数:{n} 项变更", highlight=False)
        if intake:
            n = monitor.import_intake(session, monitor.read_rows(intake, monitor.INTAKE_COLUMNS, ("county_code", "year")))
            err_console.print(f"已导入入学来源数据:{n} 项变更", highlight=False)
        if housing:
            rows = monitor.read_rows(housing, monitor.HOUSING_COLUMNS, ("county_code", "name", "year_ready"))
            for r in rows:
                monitor.add_housing_project(session, r["county_code"], r["name"], r["year_ready"],
                                            primary_pupils=r.get("primary_pupils") or 0,
                                            junior_pupils=r.get("junior_pupils") or 0,
                                            school_code=r.get("school_id"), note=r.get("note"), via="cli")
            err_console.print(f"已导入住房项目:{len(rows)} 个", highlight=False)
    from junheng.monitor.forecast import SCENARIOS

    with database.session() as session:  # the table shows the mid scenario's items; JSON has all three
        result = monitor.county_forecast(session, county, horizon=years, rules_dir=settings.rules_dir,
                                         scenarios=SCENARIOS if fmt == OutputFormat.json else ("mid",))
    if fmt == OutputFormat.json:
        text = json.dumps(result.to_json(), ensure_ascii=False, indent=2)
        if out:
            out.write_text(text, encoding="utf-8")
            console.print(f"已写入预测结果:{escape(str(out))}", highlight=False)
        else:
            console.out(text, highlight=False)
        return
    from junheng.monitor.terminal import print_forecast

    print_forecast(console, result)

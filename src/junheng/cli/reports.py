"""Report commands: the county self-evaluation report (自评报告) and the city summary, over junheng.reports."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from junheng.cli.chinese import ChineseTyper
from junheng.cli.common import WORKSPACE_OPTION, console, err_console

commands = ChineseTyper()  # top-level commands: junheng.cli adds them without a group name


class ReportFormat(str, Enum):
    docx = "docx"
    pdf = "pdf"
    html = "html"
    xlsx = "xlsx"


def _report_source(dataset: Optional[Path], store: bool, workspace: Optional[Path], standard: Optional[str]) -> bool:
    """True: the report is made from the workspace store (no DATASET, or --store)."""
    from junheng.reports.api import ReportError

    if dataset is not None and (store or workspace is not None):
        raise ReportError("请只指定一个数据来源:数据集(DATASET),或工作区(--store / --workspace),不能同时指定")
    if dataset is None and standard is not None:
        raise ReportError("从工作区生成报告时使用县区设定的适用标准(与网站一致),--standard 只能与数据集一起使用")
    return dataset is None


@commands.command()
def report(
    dataset: Optional[Path] = typer.Argument(
        None, metavar="DATASET", help="数据集:CSV 文件夹或 XLSX 工作簿;不指定则用工作区中已审核的数据"),
    county: Optional[str] = typer.Option(None, "--county", "-c", help="县区代码;数据集(或工作区)只有一个县区时可省略"),
    year: Optional[int] = typer.Option(None, "--year", "-y", help="学年(开始年份);不指定则取该县区数据完整的最近一个学年"),
    standard: Optional[str] = typer.Option(
        None, "--standard", "-s", help="标准标识或标准文件;不指定则用县区名录中的适用标准,缺省为 national-2017"
    ),
    fmt: Optional[ReportFormat] = typer.Option(
        None, "--format", "-f", help="报告格式:docx(Word)、pdf、html、xlsx(全部表格);不指定则按输出文件扩展名,缺省 docx"
    ),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="输出文件;不指定则在当前文件夹按县区和学年命名"),
    store: bool = typer.Option(False, "--store", help="用工作区数据库中已审核的数据(与网站显示的评估相同)"),
    allow_incomplete: bool = typer.Option(
        False, "--allow-incomplete", help="数据不完整的学年也生成临时报告(首页注明数据不完整和缺少的学校)"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """生成县域义务教育优质均衡发展自评报告(Word、PDF、HTML 或 Excel)。"""
    if _report_source(dataset, store, workspace, standard):
        from junheng.reports.store import county_report_workspace

        path = county_report_workspace(workspace, county=county, year=year, fmt=fmt.value if fmt else None,
                                       out=out, say=_say, allow_incomplete=allow_incomplete)
        console.print(f"已生成自评报告:{escape(str(path))}", highlight=False, soft_wrap=True)
        return
    from junheng.reports.api import county_report_file

    path = county_report_file(dataset, county=county, year=year, standard=standard,
                              fmt=fmt.value if fmt else None, out=out, say=_say, allow_incomplete=allow_incomplete)
    console.print(f"已生成自评报告:{escape(str(path))}", highlight=False, soft_wrap=True)


@commands.command("report-city")
def report_city(
    dataset: Optional[Path] = typer.Argument(
        None, metavar="DATASET", help="数据集:CSV 文件夹或 XLSX 工作簿(含多个县区);不指定则用工作区中已审核的数据"),
    city: Optional[str] = typer.Option(
        None, "--city", help="所属市(县区名录中的名称;工作区中为市或省的代码或名称);不指定则汇总全部县区"),
    year: Optional[int] = typer.Option(None, "--year", "-y", help="学年(开始年份);不指定则取最近一年"),
    standard: Optional[str] = typer.Option(None, "--standard", "-s", help="标准标识或标准文件(统一指定时使用)"),
    fmt: Optional[ReportFormat] = typer.Option(
        None, "--format", "-f", help="报告格式:docx、pdf、html、xlsx;不指定则按输出文件扩展名,缺省 docx"
    ),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="输出文件;不指定则在当前文件夹按市和学年命名"),
    store: bool = typer.Option(False, "--store", help="用工作区数据库中已审核的数据(与网站显示的评估相同)"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """生成市(或省)汇总报告:各县区结论、未达标指标、计划认定年份和进展。"""
    if _report_source(dataset, store, workspace, standard):
        from junheng.reports.store import city_report_workspace

        path = city_report_workspace(workspace, area=city, year=year, fmt=fmt.value if fmt else None, out=out,
                                     say=_say)
        console.print(f"已生成汇总报告:{escape(str(path))}", highlight=False, soft_wrap=True)
        return
    from junheng.reports.api import city_report_file

    path = city_report_file(dataset, year=year, city=city, standard=standard,
                            fmt=fmt.value if fmt else None, out=out, say=_say)
    console.print(f"已生成汇总报告:{escape(str(path))}", highlight=False, soft_wrap=True)


def _say(message: str) -> None:
    err_console.print(escape(message), highlight=False)

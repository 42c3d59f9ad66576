"""Commands on a dataset file: check it, write the blank template, evaluate it, convert it, make the demo."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from junheng.cli.chinese import ChineseTyper
from junheng.cli.common import WORKSPACE_OPTION, OutputFormat, console, err_console, print_warnings

commands = ChineseTyper()  # top-level commands: junheng.cli adds them without a group name


@commands.command()
def check(dataset: Path = typer.Argument(..., help="数据集:CSV 文件夹或 XLSX 工作簿")) -> None:
    """只校验数据集,列出全部问题(表、行、列、取值、应填内容)。"""
    from junheng.data.importer import load_dataset

    data = load_dataset(dataset)
    print_warnings(data.warnings)
    pairs = data.county_year_pairs()
    console.print(
        f"[green]校验通过[/]:{len(data.schools)} 所学校,{len(data.school_year)} 条学校年度数据,"
        f"{len(pairs)} 个县区年度。",
        highlight=False,
    )


@commands.command()
def template(
    out: Path = typer.Argument(..., help="空白填报模板文件:要生成的 .xlsx 文件"),
    standard: Optional[str] = typer.Option(
        None, "--standard", "-s", help="标准标识或标准文件;模板只列出该标准所需的数据项,缺省为 national-2017"
    ),
) -> None:
    """生成空白填报模板:中文表头、每列填写说明、枚举下拉选项。"""
    if out.suffix.lower() != ".xlsx":
        raise typer.BadParameter("模板文件名应以 .xlsx 结尾", param_hint="OUT")
    from junheng.data.template import write_template
    from junheng.standards.fields import fields_for
    from junheng.standards.loader import DEFAULT_STANDARD, load_standard

    std = load_standard(standard or DEFAULT_STANDARD)  # a bad id or file: StandardError, shown in Chinese by the CLI
    write_template(out, fields_for(std), std)
    console.print(f"已生成填报模板:{escape(str(out))}", highlight=False)


@commands.command()
def evaluate(
    ctx: typer.Context,
    dataset: Optional[Path] = typer.Argument(
        None, help="数据集:CSV 文件夹、XLSX 工作簿或 Parquet 文件夹(加 --all 时可不指定:评估工作区中已审核的数据)"),
    county: Optional[str] = typer.Option(None, "--county", "-c", help="县区代码;不指定则评估全部县区"),
    year: Optional[int] = typer.Option(None, "--year", "-y", help="学年(开始年份);不指定则评估全部年度"),
    standard: Optional[str] = typer.Option(
        None, "--standard", "-s", help="标准标识或标准文件;不指定则用县区名录中的适用标准,缺省为 national-2017"
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="输出格式"),
    out: Optional[Path] = typer.Option(
        None, "--output", "-o",
        help="输出文件(json/xlsx);json 不指定则打印到屏幕。同时指定 --county 和 --year 时 JSON 为一个对象,否则为数组",
    ),
    backend: Optional[str] = typer.Option(
        None, "--backend", metavar="duckdb|postgres|spark",
        help="计算后端:duckdb(进程内)、postgres(在 PostgreSQL 数据库中计算)、spark(Spark 集群或本地);"
             "缺省取环境变量 JUNHENG_BACKEND,再缺省为 duckdb",
    ),
    database_url: Optional[str] = typer.Option(
        None, "--database-url", help="postgres 后端的数据库地址;缺省取环境变量 JUNHENG_DATABASE_URL"),
    spark_url: Optional[str] = typer.Option(
        None, "--spark-url", help="spark 后端的集群地址(spark://… 或 Spark Connect 的 sc://…);缺省为本机 local[2]"),
    all_: bool = typer.Option(
        False, "--all", help="评估全部县区和年度:分批计算,结果写入 -o 指定的文件夹(Parquet 文件和汇总表),中断后重新运行即接着算"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
    chunk: int = typer.Option(200, "--chunk", min=1, max=5000, help="与 --all 一起:每批计算的县区年度数"),
    restart: bool = typer.Option(False, "--restart", help="与 --all 一起:清空输出文件夹中上次的结果,重新计算"),
) -> None:
    """评估县域义务教育优质均衡发展的全部指标并给出结论;加 --all 评估全部县区年度(可中断续算)。"""
    from junheng.services import BackendChoice, evaluate_dataset_file, write_results

    choice = BackendChoice(backend, database_url, spark_url)
    if all_:
        if county is not None or year is not None:
            raise typer.BadParameter("--all 评估全部县区和年度,不能同时指定 --county 或 --year", param_hint="--all")
        from junheng.cli.runs import evaluate_all

        evaluate_all(dataset, workspace, out, standard=standard, chunk=chunk, restart=restart, backend=choice)
        return
    if dataset is None:  # optional only for --all: a missing dataset is a missing argument (usage shown)
        from typer._click.exceptions import MissingParameter  # the click typer runs on (its own copy)

        raise MissingParameter(ctx=ctx, param=next(p for p in ctx.command.params if p.name == "dataset"))
    results = evaluate_dataset_file(dataset, county=county, year=year, standard=standard, console=err_console,
                                    backend=choice)
    write_results(results, fmt.value, out, console, single=county is not None and year is not None)


class DatasetFormat(str, Enum):
    parquet = "parquet"
    csv = "csv"
    xlsx = "xlsx"


@commands.command()
def convert(
    dataset: Path = typer.Argument(..., help="数据集:CSV 文件夹、XLSX 工作簿或 Parquet 文件夹"),
    out: Path = typer.Option(..., "--output", "-o", help="输出:文件夹(parquet、csv)或 .xlsx 文件"),
    to: DatasetFormat = typer.Option(DatasetFormat.parquet, "--to", "-t", help="目标格式"),
) -> None:
    """转换数据集格式(先完整校验):Parquet(按省份、年度分区)、CSV 文件夹或 XLSX 工作簿。"""
    from junheng.data.importer import load_dataset
    from junheng.data.parquet import write_dataset_parquet
    from junheng.data.writer import write_dataset_csv, write_dataset_xlsx

    if out.absolute() == dataset.absolute():
        raise typer.BadParameter("输出应是另一个文件夹或文件,不能覆盖要转换的数据集", param_hint="--output")
    if to is DatasetFormat.xlsx and out.suffix.lower() != ".xlsx":
        raise typer.BadParameter("XLSX 工作簿的文件名应以 .xlsx 结尾", param_hint="--output")
    data = load_dataset(dataset)
    print_warnings(data.warnings)
    if to is DatasetFormat.parquet:
        files = write_dataset_parquet(data, out)
        console.print(f"已写入 Parquet 数据集:{escape(str(out))}({files} 个文件)", highlight=False)
    elif to is DatasetFormat.csv:
        write_dataset_csv(data, out)
        console.print(f"已写入 CSV 数据集:{escape(str(out))}", highlight=False)
    else:
        write_dataset_xlsx(data, out)
        console.print(f"已写入 XLSX 工作簿:{escape(str(out))}", highlight=False)


@commands.command()
def demo(
    workspace: Path = typer.Option(Path("."), "--workspace", "-w", help="生成示范数据的文件夹"),
    counties: int = typer.Option(1, "--counties", "-n", min=1, help="县区个数(大于 1 时生成合成的市/省)"),
    seed: int = typer.Option(2024, "--seed", help="随机种子(相同种子生成相同数据)"),
    reset_passwords: bool = typer.Option(
        False, "--reset-passwords", help="重新生成全部示范账号的密码(缺省:已有的账号保留原密码)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="在终端显示完整的评估结果(缺省只显示摘要)"),
    host: str = typer.Option("127.0.0.1", "--host", help="网站的监听地址(用于提示;make demo 把同一地址交给 junheng serve)"),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="网站的端口(用于提示;make demo 把同一端口交给 junheng serve)"),
) -> None:
    """生成合成示范县(或市/省)数据集并评估,载入工作区并为每种角色建一个账号。数据为合成数据,仅供演示。"""
    from junheng.services import run_demo

    run_demo(workspace, counties=counties, seed=seed, console=console, verbose=verbose,
             reset_passwords=reset_passwords, host=host, port=port)

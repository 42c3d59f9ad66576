"""Commands on a dataset file: check it, write the blank template, evaluate it, make the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from junheng.cli.chinese import ChineseTyper
from junheng.cli.common import OutputFormat, console, err_console

commands = ChineseTyper()  # top-level commands: junheng.cli adds them without a group name


@commands.command()
def check(dataset: Path = typer.Argument(..., help="数据集:CSV 文件夹或 XLSX 工作簿")) -> None:
    """只校验数据集,列出全部问题(表、行、列、取值、应填内容)。"""
    from junheng.data.importer import load_dataset

    data = load_dataset(dataset)
    for warning in data.warnings:
        err_console.print(f"[yellow]提示:[/] {escape(warning)}", highlight=False)
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
    dataset: Path = typer.Argument(..., help="数据集:CSV 文件夹或 XLSX 工作簿"),
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
) -> None:
    """评估县域义务教育优质均衡发展的全部指标并给出结论。"""
    from junheng.services import evaluate_dataset_file, write_results

    results = evaluate_dataset_file(dataset, county=county, year=year, standard=standard, console=err_console)
    write_results(results, fmt.value, out, console, single=county is not None and year is not None)


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

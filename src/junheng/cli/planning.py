"""Planning commands over junheng.planner: the remediation plan and the what-if scenario."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from junheng.cli.chinese import ChineseTyper
from junheng.cli.common import OutputFormat, console, err_console

commands = ChineseTyper()  # top-level commands: junheng.cli adds them without a group name


class PlanMode(str, Enum):
    both = "both"
    build = "build"
    rotation = "rotation"


class TableOrJson(str, Enum):
    table = "table"
    json = "json"


@commands.command()
def plan(
    dataset: Optional[Path] = typer.Argument(None, metavar="DATASET", help="数据集:CSV 文件夹或 XLSX 工作簿"),
    county: Optional[str] = typer.Option(None, "--county", "-c", help="县区代码;数据集只有一个县区时可不指定"),
    year: Optional[int] = typer.Option(None, "--year", "-y", help="学年(开始年份);不指定则用数据完整的最近一个学年"),
    budget: Optional[str] = typer.Option(
        None, "--budget", "-b", help="每年预算上限(元),如 5000000 或 500万;分年预算用逗号分隔,如 300万,400万,500万"),
    years: int = typer.Option(1, "--years", min=1, help="方案年限(分几年实施)"),
    mode: PlanMode = typer.Option(PlanMode.both, "--mode", "-m",
                                  help="rotation:只交流轮岗;build:只补充投入;both:先交流轮岗、再补充投入"),
    minimum: bool = typer.Option(False, "--minimum", help="按“7项中至少6项达标、其余不低于85%”的最低要求规划(默认7项全部达标)"),
    costs: Optional[Path] = typer.Option(None, "--costs", help="本县单价表(YAML);不指定则用示例单价"),
    standard: Optional[str] = typer.Option(None, "--standard", "-s", help="标准标识或标准文件"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="输出格式"),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="输出文件(.json 或 .xlsx;表格格式加 -o X.xlsx 同时写工作簿)"),
    save_scenario: Optional[str] = typer.Option(None, "--save-scenario", help="把方案保存为情景(名称)"),
    scenarios_dir: Path = typer.Option(Path("scenarios"), "--scenarios-dir", help="情景文件夹"),
    write_costs: Optional[Path] = typer.Option(None, "--write-costs", help="生成示例单价表(YAML)供修改,然后退出"),
    all_gaps: bool = typer.Option(False, "--all-gaps", help="表格中也列出接近达标线的项目"),
    allow_incomplete: bool = typer.Option(
        False, "--allow-incomplete", help="数据不完整的学年也制定临时方案(方案首行注明数据不完整)"),
) -> None:
    """缺什么补什么:交流轮岗和最低费用的达标方案,并经评估引擎核验。"""
    from junheng.planner.errors import PlannerError
    from junheng.planner.service import (
        check_output,
        plan_dataset_file,
        save_plan_as_scenario,
        write_costs_template,
        write_plan,
    )

    if write_costs is not None:
        console.print(f"已生成示例单价表:{escape(str(write_costs_template(write_costs)))}(请按本县实际单价修改)",
                      highlight=False)
        return
    if dataset is None:
        raise PlannerError("缺少参数:数据集(DATASET),应为 CSV 文件夹或 XLSX 工作簿。运行 junheng plan --help 查看用法。")
    check_output(fmt.value, out)
    result = plan_dataset_file(dataset, county=county, year=year, standard=standard, costs=costs, mode=mode.value,
                               minimum=minimum, budget=budget, years=years, console=err_console,
                               allow_incomplete=allow_incomplete)
    write_plan(result, fmt.value, out, console, all_gaps=all_gaps)
    if save_scenario:
        path = save_plan_as_scenario(result, save_scenario, scenarios_dir)
        err_console.print(f"已把方案保存为情景:{escape(str(path))}", highlight=False)


@commands.command()
def scenario(
    dataset: Path = typer.Argument(..., help="数据集:CSV 文件夹或 XLSX 工作簿"),
    name: str = typer.Argument(..., metavar="SCENARIO", help="情景名称(情景文件夹中的 名称.yaml)或情景文件路径"),
    county: Optional[str] = typer.Option(None, "--county", "-c", help="县区代码;不指定则用情景中或数据集中唯一的县区"),
    year: Optional[int] = typer.Option(None, "--year", "-y", help="学年;不指定则用情景中的或最近一年"),
    scenarios_dir: Path = typer.Option(Path("scenarios"), "--scenarios-dir", help="情景文件夹"),
    save: bool = typer.Option(False, "--save", help="把情景文件保存到情景文件夹(按情景名称)"),
    standard: Optional[str] = typer.Option(None, "--standard", "-s", help="标准标识或标准文件"),
    fmt: TableOrJson = typer.Option(TableOrJson.table, "--format", "-f", help="输出格式"),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="JSON 输出文件"),
    changed_only: bool = typer.Option(False, "--changed-only", help="只列出有变化的项目"),
) -> None:
    """情景模拟:在某年数据上施加变更(新建、撤并学校,调整在校生,新增建设,执行方案),对比变更前后的评估结果。"""
    from junheng.planner.service import (
        check_scenario_output,
        scenario_for_file,
        write_scenario,
    )

    check_scenario_output(fmt.value, out)
    result = scenario_for_file(dataset, name, county=county, year=year, folder=scenarios_dir, standard=standard,
                               save=save)
    write_scenario(result, fmt.value, out, console, changed_only=changed_only)
    if save:
        err_console.print(f"已保存情景“{escape(result.scenario.name)}”到 {escape(str(scenarios_dir))}", highlight=False)

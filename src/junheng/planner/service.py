"""Planner services shared by the faces (the CLI `junheng plan` / `junheng scenario` and the web
plan pages): each takes plain arguments, returns a Plan or ScenarioResult (both with
`to_json()`), and raises PlannerError subclasses with Chinese messages for bad input.

`plan_county(dataset, county=..., year=..., budget=parse_budget(text), ...)` gives the plan
(`plan.to_json()` for the page), `save_plan_as_scenario(plan, name, folder)` is the "save as
scenario" button, `list_saved_scenarios(folder)` and `scenario_for(dataset, name, folder=...)`
the scenario list and comparison. A county whose standard the planner cannot plan for is
refused by `make_plan` (UnsupportedStandard); `planning_refusal` says so before any work."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from junheng.amounts import parse_amount
from junheng.data.dataset import Dataset
from junheng.planner.costs import load_costs, write_example_costs
from junheng.planner.county import resolve_standard
from junheng.planner.errors import PlannerError
from junheng.planner.plan import PlanOptions, make_plan
from junheng.planner.result import Plan
from junheng.planner.support import supports
from junheng.planner.scenario import (
    DEFAULT_DIR,
    Scenario,
    ScenarioResult,
    list_scenarios,
    load_scenario,
    plan_as_scenario,
    run_scenario,
    save_scenario,
)


def parse_budget(text: str | float | list | None) -> list[float] | None:
    """"5000000", "500万", "1.2亿", or one figure per year: "300万,400万,500万" (also ;/、)."""
    if text is None or text == "":
        return None
    if isinstance(text, (int, float)):
        return [float(text)]
    if isinstance(text, list):
        return [v for item in text for v in parse_budget(item)]
    raw = str(text).strip()
    whole = parse_amount(raw)  # one amount, thousands separated or not: 5,000,000 or 5,000,000 元
    if whole is not None:
        return _non_negative([whole], text)
    out = []
    for part in re.split(r"[,\uff0c;\uff1b、/]", raw):  # one figure per year: ASCII or full-width separators
        value = parse_amount(part)  # the one reader of amounts (junheng.amounts), as every 元 field
        if value is None:
            raise PlannerError(f"预算“{text}”无法识别:请写金额(元),如 5000000、500万、1.2亿;"
                               "分年预算用逗号分隔,如 300万,400万,500万")
        out.append(value)
    return _non_negative(out, text)


def _non_negative(out: list[float], text) -> list[float]:
    if any(v < 0 for v in out):
        raise PlannerError(f"预算不能为负数:{text}")
    return out


def planning_refusal(dataset: Dataset, county: str, standard: str | None = None) -> str | None:
    """The sentence refusing to plan for the county's standard, or None when it can be planned
    for (the same check `make_plan` makes)."""
    return supports(resolve_standard(dataset, county, standard))


def plan_county(dataset: Dataset, *, county: str | None = None, year: int | None = None,
                standard: str | None = None, costs: Path | str | None = None, mode: str = "both",
                minimum: bool = False, budget=None, years: int = 1, time_limit: float = 60.0) -> Plan:
    options = PlanOptions(mode=mode, rule="minimum" if minimum else "all", budget=parse_budget(budget),
                          years=years, time_limit=time_limit)
    return make_plan(dataset, county=county, year=year, standard=standard, costs=load_costs(costs), options=options)


def plan_dataset_file(path: Path, *, console: Console | None = None, **kwargs) -> Plan:
    """`plan_county` on a dataset file; every option and the cost file are checked before the
    data is read, so a mistake there is reported at once."""
    from junheng.data.importer import load_dataset

    options = PlanOptions(mode=kwargs.pop("mode", "both"), rule="minimum" if kwargs.pop("minimum", False) else "all",
                          budget=parse_budget(kwargs.pop("budget", None)), years=kwargs.pop("years", 1),
                          time_limit=kwargs.pop("time_limit", 60.0))
    options.check()
    costs = load_costs(kwargs.pop("costs", None))
    dataset = load_dataset(path)
    if console is not None:
        for warning in dataset.warnings:
            console.print(f"[yellow]提示:[/] {escape(warning)}", highlight=False)
    return make_plan(dataset, costs=costs, options=options, **kwargs)


def check_output(fmt: str, out: Path | None) -> None:
    """The output choice, checked before any work is done."""
    if fmt == "xlsx" and out is None:
        raise PlannerError("输出为 xlsx 时请用 -o 指定文件名,例如 -o 达标方案.xlsx")
    if out is not None:
        if fmt == "json":
            pass
        elif out.suffix.lower() != ".xlsx":
            raise PlannerError(f"输出文件 {out} 应以 .xlsx 结尾" if fmt == "xlsx"
                               else "表格输出只能另存为 .xlsx 工作簿;要写 JSON 请加 --format json")
        if not out.parent.exists():
            raise PlannerError(f"输出文件夹 {out.parent} 不存在")


def write_plan(plan: Plan, fmt: str, out: Path | None, console: Console, *, all_gaps: bool = False) -> None:
    """table: print (and also write the workbook when -o ends in .xlsx); json: print or write;
    xlsx: write the workbook."""
    from junheng.planner.report import print_plan, write_plan_xlsx

    check_output(fmt, out)
    if fmt == "json":
        text = json.dumps(plan.to_json(), ensure_ascii=False, indent=2)
        if out is None:
            console.out(text, highlight=False)
            return
        _write_text(out, text)
        console.print(f"已写入方案(JSON):{escape(str(out))}", highlight=False)
        return
    if out is not None:  # a workbook (checked above)
        if fmt != "xlsx":
            print_plan(console, plan, all_gaps=all_gaps)
        write_plan_xlsx(plan, out)
        console.print(f"已写入方案工作簿:{escape(str(out))}", highlight=False)
        return
    print_plan(console, plan, all_gaps=all_gaps)


def save_plan_as_scenario(plan: Plan, name: str, folder: Path | str = DEFAULT_DIR) -> Path:
    if not plan.actions:
        raise PlannerError("方案没有任何行动,无需保存为情景")
    return save_scenario(plan_as_scenario(plan, name), folder)


def scenario_for(dataset: Dataset, scenario: str | Path | Scenario, *, county: str | None = None,
                 year: int | None = None, folder: Path | str = DEFAULT_DIR, standard: str | None = None,
                 save: bool = False) -> ScenarioResult:
    """Evaluate a scenario (a Scenario, a saved name or a file) before and after; `save` keeps it
    in `folder` under its name."""
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, folder)
    result = run_scenario(dataset, loaded, county=county, year=year, standard=standard)
    if save:
        save_scenario(loaded, folder)
    return result


def scenario_for_file(path: Path, scenario: str | Path, **kwargs) -> ScenarioResult:
    from junheng.data.importer import load_dataset

    loaded = load_scenario(scenario, kwargs.get("folder", DEFAULT_DIR))  # before the data is read
    return scenario_for(load_dataset(path), loaded, **kwargs)


def write_scenario(result: ScenarioResult, fmt: str, out: Path | None, console: Console, *,
                   changed_only: bool = False) -> None:
    from junheng.planner.report import print_scenario

    check_scenario_output(fmt, out)
    if fmt == "json":
        text = json.dumps(result.to_json(), ensure_ascii=False, indent=2)
        if out is None:
            console.out(text, highlight=False)
            return
        _write_text(out, text)
        console.print(f"已写入情景对比(JSON):{escape(str(out))}", highlight=False)
        return
    print_scenario(console, result, changed_only=changed_only)


def check_scenario_output(fmt: str, out: Path | None) -> None:
    if fmt not in ("table", "json"):
        raise PlannerError("情景对比可输出 table 或 json")
    if out is not None and fmt != "json":
        raise PlannerError("表格输出不写文件;要写文件请加 --format json")
    if out is not None and not out.parent.exists():
        raise PlannerError(f"输出文件夹 {out.parent} 不存在")


def list_saved_scenarios(folder: Path | str = DEFAULT_DIR) -> list[dict]:
    return list_scenarios(folder)


def write_costs_template(path: Path) -> Path:
    return write_example_costs(path)


def _write_text(out: Path, text: str) -> None:
    if not out.parent.exists():
        raise PlannerError(f"输出文件夹 {out.parent} 不存在")
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise PlannerError(f"无法写入 {out}:{exc.strerror}") from None

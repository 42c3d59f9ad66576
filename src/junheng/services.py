"""Application services shared by the faces (CLI now; web, planner and reports later):
load → evaluate → write, and the demo."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from junheng.data.dataset import Dataset
from junheng.engine.result import EvaluationResult
from junheng.errors import JunhengError


class OutputError(JunhengError):
    pass


def evaluate_loaded(dataset: Dataset, *, county: str | None = None, year: int | None = None,
                    standard: str | None = None, console: Console | None = None) -> list[EvaluationResult]:
    """Evaluate with a progress bar when several county-years are selected."""
    from junheng.engine.evaluate import evaluate_dataset, select_pairs

    total = len(select_pairs(dataset, county, year))
    if total == 1 or console is None:
        return evaluate_dataset(dataset, county=county, year=year, standard=standard)
    with Progress(TextColumn("评估中"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("evaluate", total=total)
        return evaluate_dataset(dataset, county=county, year=year, standard=standard,
                                on_progress=lambda n: progress.advance(task, n))


def evaluate_dataset_file(path: Path, *, county: str | None = None, year: int | None = None,
                          standard: str | None = None, console: Console | None = None) -> list[EvaluationResult]:
    from junheng.data.importer import load_dataset

    dataset = load_dataset(path)
    if console is not None:
        for warning in dataset.warnings:
            console.print(f"[yellow]提示:[/] {escape(warning)}", highlight=False)
    return evaluate_loaded(dataset, county=county, year=year, standard=standard, console=console)


def results_json(results: list[EvaluationResult], single: bool):
    """The contract object when one county-year was asked for (`single`), else a list of them,
    so a client knows the shape from its own request."""
    docs = [r.to_json() for r in results]
    return docs[0] if single and len(docs) == 1 else docs


def write_results(results: list[EvaluationResult], fmt: str, out: Path | None, console: Console,
                  single: bool = False) -> None:
    if fmt == "json":
        text = json.dumps(results_json(results, single), ensure_ascii=False, indent=2)
        if out is None:
            console.out(text, highlight=False)
            return
        _write_text(out, text)
        console.print(f"已写入评估结果(JSON):{escape(str(out))}", highlight=False)
    elif fmt == "xlsx":
        from junheng.reports.xlsx import write_results_xlsx

        if out is None:
            raise OutputError("输出为 xlsx 时请用 -o 指定文件名,例如 -o 评估结果.xlsx")
        if out.suffix.lower() != ".xlsx":
            raise OutputError(f"输出文件 {out} 应以 .xlsx 结尾")
        _ensure_parent(out)
        try:
            write_results_xlsx(results, out)
        except PermissionError:
            raise OutputError(f"无法写入 {out}:文件可能正被 Excel 打开,请关闭后重试") from None
        console.print(f"已写入评估结果工作簿:{escape(str(out))}", highlight=False)
    else:
        from junheng.reports.terminal import print_results

        print_results(console, results)


def _ensure_parent(out: Path) -> None:
    if not out.parent.exists():
        raise OutputError(f"输出文件夹 {out.parent} 不存在")


def _write_text(out: Path, text: str) -> None:
    _ensure_parent(out)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"无法写入 {out}:{exc.strerror}") from None


def run_demo(workspace: Path, *, counties: int, seed: int, console: Console) -> list[EvaluationResult]:
    """Generate a synthetic county (or region), write it as a dataset, evaluate it, show it."""
    from junheng.data.writer import write_dataset_csv
    from junheng.demo.synthetic import generate_county, generate_region
    from junheng.reports.terminal import print_results

    workspace.mkdir(parents=True, exist_ok=True)
    folder = workspace / "demo-data"
    if counties == 1:
        dataset = generate_county(seed)
    else:
        dataset = generate_region(counties, seed)
    write_dataset_csv(dataset, folder)
    console.print(f"[magenta]已生成合成示范数据(仅供演示,不代表任何真实县区):{escape(str(folder))}[/]", highlight=False)
    # Evaluate what was written, through the same import and validation a county's data goes through.
    results = evaluate_dataset_file(folder, console=console)
    latest = max(r.year for r in results)
    shown = [r for r in results if r.year == latest] if counties == 1 else results
    print_results(console, shown)
    out = workspace / "demo-result.json"
    out.write_text(json.dumps(results_json(shown, single=counties == 1), ensure_ascii=False, indent=2), encoding="utf-8")
    console.print(f"评估结果(JSON):{escape(str(out))}", highlight=False)
    console.print(f"再次评估:junheng evaluate {escape(str(folder))}"
                  + (f" --county {shown[0].county_code} --year {latest}" if counties == 1 else ""), highlight=False)
    return results

"""`junheng evaluate --all`: every county and year of a dataset or of the workspace's store,
evaluated in chunks into a folder of Parquet parts, resumable (junheng.runs.region)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from junheng.cli.common import console, err_console, print_warnings


def evaluate_all(dataset: Optional[Path], workspace: Optional[Path], out: Optional[Path], *,
                 standard: Optional[str], chunk: int, restart: bool, backend: Any = None) -> None:
    """Run the region on the chosen backend (junheng.services.BackendChoice) and print its summary."""
    from junheng.engine.backends import backend_name, open_backend
    from junheng.engine.evaluate import select_pairs
    from junheng.runs.region import RunError, run_all
    from junheng.services import BackendChoice

    choice = backend or BackendChoice()
    backend_name(choice.name)  # an unknown backend is refused before the data is read
    if out is None:
        raise RunError("评估全部县区(--all)时请用 -o 指定输出文件夹(结果写为 Parquet 文件)")
    data, source = _region(dataset, workspace)
    total = len(select_pairs(data, None, None))
    with open_backend(choice.name, database_url=choice.database_url, spark_url=choice.spark_url) as engine, \
            Progress(TextColumn("评估全部县区年度"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                     console=err_console, transient=True) as progress:
        task = progress.add_task("all", total=total)
        outcome = run_all(data, out, source=source, standard=standard, backend=engine, chunk=chunk,
                          restart=restart, on_progress=lambda n: progress.advance(task, n))
    print_summary(outcome)


def _region(dataset: Optional[Path], workspace: Optional[Path]):
    """The data of the run: the dataset file or folder, else the workspace store's approved data."""
    if dataset is not None:
        from junheng.data.importer import load_dataset

        data = load_dataset(dataset)
        print_warnings(data.warnings)
        return data, str(dataset)
    from junheng.services import open_database
    from junheng.store import repo

    database, settings = open_database(workspace)
    with database.session() as session:
        return repo.load_dataset(session), f"工作区 {settings.folder}(已审核数据)"


def print_summary(outcome) -> None:
    from junheng.runs.region import VERDICT_LABELS

    summary = outcome.summary
    reused = f",沿用上次已完成的 {outcome.reused} 个" if outcome.reused else ""
    console.print(f"已评估 {summary.counties} 个县区的 {summary.county_years} 个县区年度"
                  f"(本次计算 {outcome.computed} 个{reused}),结果在 {escape(str(outcome.folder))}", highlight=False)
    verdicts = Table(title="结论", title_justify="left")
    verdicts.add_column("结论")
    verdicts.add_column("县区年度数", justify="right")
    for verdict, label in VERDICT_LABELS.items():
        verdicts.add_row(label, f"{summary.verdicts.get(verdict, 0):,}")
    console.print(verdicts)
    if summary.failing:
        failing = Table(title="未达标指标(按未达标的县区年度数)", title_justify="left")
        failing.add_column("指标", overflow="fold")
        failing.add_column("县区年度数", justify="right")
        for row in summary.failing:
            failing.add_row(escape(row["name"]), f"{row['county_years']:,}")
        console.print(failing)

"""`junheng quality`: 教育质量监测 from a file of student scores, without a workspace — each county ×
subject × grade's level (Ⅰ–Ⅳ) and level shares, and its 校际差异率 (ICC(1)) with interval."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from junheng.cli.chinese import ChineseTyper
from junheng.cli.common import USER_OPTION, WORKSPACE_OPTION, emit, err_console

commands = ChineseTyper()  # top-level commands: junheng.cli adds them without a group name


class QualityFormat(str, Enum):
    table = "table"
    json = "json"


@commands.command()
def quality(
    scores: Path = typer.Argument(..., metavar="SCORES", help="学生成绩文件:.csv、.xlsx 或 .parquet"),
    cuts: Path = typer.Option(..., "--cuts", help="分数线文件(.csv 或 .yaml):学科、年级、Ⅱ级、Ⅲ级、Ⅳ级"),
    year: Optional[int] = typer.Option(None, "--year", "-y", help="年度;成绩只有一个年度时可不指定"),
    standard: Optional[str] = typer.Option(
        None, "--standard", "-s", help="标准标识或标准文件(校际差异率的计算方法和县区水平的认定方法);缺省为 national-2017"),
    top: int = typer.Option(5, "--top", min=0, max=50, help="每个学科年级列出对校际差异贡献最大的学校数"),
    fmt: QualityFormat = typer.Option(QualityFormat.table, "--format", "-f", help="输出格式:table(表格)或 json"),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="输出文件;不指定则打印到屏幕"),
    apply: bool = typer.Option(
        False, "--apply", help="导入工作区:保存分析结果,写入各县区该年度的质量监测结果(记入审计日志,评估注明来源)"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
    user: Optional[str] = USER_OPTION,
) -> None:
    """教育质量监测:各县区、学科、年级的学业水平(Ⅰ–Ⅳ级)及各级占比,校际差异率(ICC)及其置信区间;加 --apply 导入工作区。"""
    import secrets

    from junheng.quality.analysis import QualitySettings, analyse, to_json
    from junheng.quality.cuts import read_cuts
    from junheng.quality.scores import read_scores
    from junheng.standards.loader import DEFAULT_STANDARD, load_standard

    cut_scores = read_cuts(cuts)  # before the scores: a bad cut file costs no import
    if apply:
        if standard is not None:
            from junheng.quality import QualityError

            raise QualityError("导入工作区时按各县区适用的标准计算,不能再用 --standard 指定标准")
        _apply(scores, cut_scores, year=year, workspace=workspace, user=user, fmt=fmt, out=out)
        return
    settings = QualitySettings.from_standard(load_standard(standard or DEFAULT_STANDARD), top_schools=top)
    table = read_scores(scores, key=secrets.token_hex(32))  # pseudonyms mean nothing after this run
    results = analyse(table, cut_scores, settings=settings, year=year)
    if fmt is QualityFormat.json:
        emit(out, data=to_json(results))
    else:
        emit(out, render=lambda to: print_results(to, results, settings))


def _apply(scores: Path, cuts, *, year, workspace, user, fmt, out) -> None:
    """The scores into the workspace (junheng.quality.service.import_scores): every county of the
    file in one transaction, refused whole; `--user` acts with that account's rights."""
    from junheng.cli.common import user_named
    from junheng.quality.analysis import QualitySettings, to_json
    from junheng.quality.service import import_scores
    from junheng.services import open_database
    from junheng.store.users import Access

    database, settings = open_database(workspace)
    with database.session() as session:
        acting = user_named(session, user) if user else None
        outcome = import_scores(session, settings, scores, cuts, user=acting, via="cli", year=year,
                                access=Access.of(session, acting) if acting else None)
        counties = [(a.county.name, a.county.code) for a in outcome.analyses]
        names = {(a.county.code, s["school_id"]): s["school_name"] for a in outcome.analyses
                 for entry in a.results.values() for s in entry["school_figures"]}
        shown = QualitySettings(**outcome.analyses[0].settings) if outcome.analyses else QualitySettings()
    if fmt is QualityFormat.json:
        emit(out, data=to_json(outcome.results))
    else:
        emit(out, render=lambda to: print_results(to, outcome.results, shown, names))
    err_console.print(f"已导入工作区:{outcome.year} 年度 {len(counties)} 个县区"
                      f"({'、'.join(f'{name}({code})' for name, code in counties)}),"
                      f"质量监测结果变更 {outcome.changes} 项。")
    for note in outcome.notes:
        err_console.print(note)


def _number(value, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def print_results(out, results: dict, settings, names: dict | None = None) -> None:
    """The results as a Chinese table, one row per county × subject × grade, then the notes;
    `names`: (county, school id) → school name, when the schools are known (a workspace import)."""
    from rich.table import Table
    from rich.text import Text

    from junheng.quality.levels import LEVEL_NAMES
    from junheng.standards.model import DIFFERENCE_RATE_METHODS, county_level_text

    level = f"{settings.confidence * 100:g}%"
    how = county_level_text(settings.county_level, settings.level_share)
    out.print(Text("教育质量监测:学业水平与校际差异率", style="bold"))
    out.print(Text(f"校际差异率:{DIFFERENCE_RATE_METHODS[settings.method]};负值照实列出,与标准比较时按 0 计。"))
    out.print(Text(f"县区学业水平:{how}。"))
    table = Table(title_justify="left")
    for name, justify in (("县区", "left"), ("学科", "left"), ("年级", "right"), ("学生数", "right"),
                          ("学校数", "right"), ("平均分", "right"), ("水平", "center"),
                          ("Ⅰ/Ⅱ/Ⅲ/Ⅳ级占比", "right"), ("校际差异率", "right"), (f"{level} 置信区间", "right")):
        table.add_column(name, justify=justify, overflow="fold")  # a narrow terminal wraps, never cuts
    notes = []
    for result in results.values():
        ci = "—" if result.icc_ci is None else f"{_number(result.icc_ci[0])} 至 {_number(result.icc_ci[1])}"
        shares = "/".join(f"{result.level_shares[f'level_{lv}'] * 100:.0f}" for lv in (1, 2, 3, 4)) + "%"
        table.add_row(Text(result.county_code), Text(result.subject), str(result.grade), f"{result.students:,}",
                      f"{result.schools:,}", _number(result.mean, 1), f"{LEVEL_NAMES[result.level]}级", shares,
                      _number(result.icc), ci)
        where = f"{result.county_code} {result.subject} {result.grade} 年级"
        if result.reason:
            notes.append(f"{where}:{result.reason}")
        if result.between_variance is not None:
            note = f"{where}:校间方差 {_number(result.between_variance, 2)},校内方差 {_number(result.within_variance, 2)}"
            if result.top_schools:
                note += ";对校际差异贡献最大的学校:" + "、".join(
                    f"{(names or {}).get((result.county_code, s.school_id), s.school_id)}({_percent(s.share)})"
                    for s in result.top_schools)
            notes.append(note)
    out.print(table)
    for note in notes:
        out.print(Text(note))

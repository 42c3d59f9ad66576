"""The report services every face calls: the CLI's report commands and the web's download buttons.

In memory (for a web page or the store):

    county_report(result, "pdf", dataset=dataset)          -> RenderedReport(filename, media_type, content)
    city_report(results, "xlsx", dataset=dataset, city=…)  -> RenderedReport

From a dataset file or folder (the CLI):

    county_report_file(path, county=…, year=…, fmt="docx", out=None)  -> Path written
    city_report_file(path, year=…, city=…, fmt="pdf", out=None)        -> Path written

Formats: docx (Word), pdf (the Word document converted by LibreOffice), html (one file, charts
embedded), xlsx (every table of the report, one sheet each).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal

from junheng.data.dataset import Dataset
from junheng.engine.result import EvaluationResult
from junheng.errors import JunhengError
from junheng.reports.document import ReportDocument
from junheng.reports.inputs import Remediation
from junheng.schoolyear import label as school_year_label

if TYPE_CHECKING:
    from junheng.reports.county_quality import QualityEvidence
    from junheng.reports.county_survey import SurveyEvidence

ReportFormat = Literal["docx", "pdf", "html", "xlsx"]
FORMATS: tuple[str, ...] = ("docx", "pdf", "html", "xlsx")
MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMAT_NAMES = {"docx": "Word 文档", "pdf": "PDF", "html": "网页(HTML)", "xlsx": "Excel 工作簿"}
UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\s]+')


class ReportError(JunhengError):
    pass


@dataclass(frozen=True)
class RenderedReport:
    filename: str  # a suggested file name (Chinese, no directory)
    media_type: str
    content: bytes

    def write(self, path: Path) -> Path:
        path = Path(path)
        if not path.parent.exists():
            raise ReportError(f"输出文件夹 {path.parent} 不存在")
        try:
            path.write_bytes(self.content)
        except PermissionError:
            raise ReportError(f"无法写入 {path}:文件可能正被其他程序打开,请关闭后重试") from None
        except OSError as exc:
            raise ReportError(f"无法写入 {path}:{exc.strerror}") from None
        return path


def check_format(fmt: str) -> str:
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ReportError(f"不支持的报告格式 {fmt};可选:{'、'.join(FORMATS)}")
    return fmt


def render(document: ReportDocument, fmt: str) -> bytes:
    """A built report in one format."""
    fmt = check_format(fmt)
    if fmt == "html":
        from junheng.reports.render_html import render_html

        return render_html(document)
    if fmt == "xlsx":
        from junheng.reports.render_xlsx import render_xlsx

        return render_xlsx(document)
    from junheng.reports.render_docx import render_docx

    docx = render_docx(document)
    if fmt == "docx":
        return docx
    from junheng.reports.pdf import docx_to_pdf

    return docx_to_pdf(docx)


def safe_filename(name: str) -> str:
    return UNSAFE_FILENAME.sub("_", name).strip("_") or "报告"


def county_report(result: EvaluationResult, fmt: str, *, dataset: Dataset | None = None,
                  remediation: Remediation | None = None, issuer: str | None = None,
                  survey: SurveyEvidence | None = None, quality: QualityEvidence | None = None) -> RenderedReport:
    """The self-evaluation report of one county-year. `dataset` (optional) gives 基本情况;
    `remediation` (optional) adds the plan, supervision tasks and warnings to 问题与整改;
    `issuer` (optional) is the body named in the 落款 (default: the county's 人民政府);
    `survey` (optional) the survey result behind the social recognition figure; `quality`
    (optional) the analysis of student scores behind the quality monitoring figures."""
    from junheng.reports.county import build_county_report

    fmt = check_format(fmt)
    document = build_county_report(result, dataset, remediation=remediation, with_charts=fmt != "xlsx",
                                   issuer=issuer, survey=survey, quality=quality)
    from junheng.reports.xlsx import is_quality_standard

    kind = "优质均衡" if is_quality_standard(result) else "均衡"
    name = f"{result.county_name or result.county_code}{result.year}学年义务教育{kind}发展自评报告"
    return RenderedReport(f"{safe_filename(name)}.{fmt}", MEDIA_TYPES[fmt], render(document, fmt))


def city_report(results: list[EvaluationResult], fmt: str, *, dataset: Dataset | None = None, city: str | None = None,
                history: list[EvaluationResult] | None = None) -> RenderedReport:
    """The summary report of several counties in one year (the latest year in `results`);
    `history` (earlier years' results) adds the progress over time."""
    from junheng.reports.city import build_city_report

    fmt = check_format(fmt)
    if not results:
        raise ReportError("没有可汇总的县区评估结果")
    document = build_city_report(results, dataset, city=city, history=history, with_charts=fmt != "xlsx")
    year = max(r.year for r in results)
    name = document.title.replace("县域义务教育优质均衡发展评估汇总报告", "") + f"{year}学年优质均衡发展评估汇总报告"
    return RenderedReport(f"{safe_filename(name)}.{fmt}", MEDIA_TYPES[fmt], render(document, fmt))


# ---------------------------------------------------------------------------------------------
# From a dataset on disk (the CLI; the store will call county_report/city_report directly)


def target_path(out: Path | None, report: RenderedReport) -> Path:
    """Where to write: the suggested name in the current folder (or in `out` when it is a
    folder); `out` without a suffix gets the format's."""
    if out is None:
        return Path.cwd() / report.filename
    if out.is_dir():
        return out / report.filename
    if not out.suffix:
        return out.with_name(out.name + Path(report.filename).suffix)
    return out


def resolve_format(fmt: str | None, out: Path | None) -> str:
    """--format, else the output file's suffix, else docx; the two must agree when both given."""
    suffix = (out.suffix.lower().lstrip(".") if out is not None and out.suffix and not out.is_dir() else None)
    if fmt is None:
        if suffix is None:
            return "docx"
        if suffix not in FORMATS:
            raise ReportError(f"无法从文件名 {out.name} 判断报告格式;请用 --format 指定({'、'.join(FORMATS)})")
        return suffix
    fmt = check_format(fmt)
    if suffix is not None and suffix != fmt:
        raise ReportError(f"输出文件 {out.name} 的扩展名与格式 {fmt} 不一致,应以 .{fmt} 结尾")
    return fmt


def choose_county_year(dataset: Dataset, county: str | None, year: int | None) -> tuple[str, int]:
    from junheng.engine.evaluate import select_pairs

    pairs = select_pairs(dataset, county, year)
    counties = sorted({c for c, _ in pairs})
    if len(counties) > 1:
        listed = "、".join(f"{c}({dataset.county_name(c)})" for c in counties[:20])
        raise ReportError(f"数据集中有多个县区,请用 --county 指定一个:{listed}")
    chosen = counties[0]
    if year is not None:
        return chosen, year
    from junheng.engine.coverage import default_year

    return chosen, default_year(dataset, chosen, sorted(y for c, y in pairs if c == chosen))


Say = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def county_report_file(dataset_path: Path, *, county: str | None = None, year: int | None = None,
                       standard: str | None = None, fmt: str | None = None, out: Path | None = None,
                       say: Say = _quiet, allow_incomplete: bool = False) -> Path:
    """Load, validate and evaluate a dataset (folder of CSV or workbook), write one county's
    report; returns the path written (default: the suggested name in the current folder). An
    incomplete year is refused unless `allow_incomplete` (the report then says so first)."""
    from junheng.reports.store import refuse_incomplete

    from junheng.data.importer import load_dataset
    from junheng.engine.evaluate import evaluate_dataset

    fmt = resolve_format(fmt, out)
    dataset = load_dataset(Path(dataset_path))
    for warning in dataset.warnings:
        say(f"提示:{warning}")
    county, year = choose_county_year(dataset, county, year)
    result = evaluate_dataset(dataset, county=county, year=year, standard=standard)[0]
    if not allow_incomplete:
        refuse_incomplete(result)
    if result.provisional:
        say(f"注意:{result.coverage.statement()}")
    say(f"正在生成{FORMAT_NAMES[fmt]}:{result.county_name}({county}){school_year_label(year)},结论:{result.verdict_label}"
        + ("(PDF 由 LibreOffice 转换,约需数秒)" if fmt == "pdf" else ""))
    report = county_report(result, fmt, dataset=dataset)
    return report.write(target_path(out, report))


def counties_of_city(dataset: Dataset, city: str | None) -> set[str] | None:
    if city is None:
        return None
    counties = dataset.counties
    chosen = set(counties.loc[counties["city"] == city, "county_code"].dropna().astype(str)) if len(counties) else set()
    if not chosen:
        cities = sorted(set(counties["city"].dropna().astype(str))) if len(counties) else []
        listed = "、".join(cities[:30]) or "无(县区名录未填写所属市)"
        raise ReportError(f"县区名录中没有所属市为“{city}”的县区。数据集中的市:{listed}")
    return chosen


def _only(dataset: Dataset, counties: set[str] | None) -> Dataset:
    """The dataset restricted to some counties (all of it when `counties` is None)."""
    if counties is None:
        return dataset
    schools = dataset.schools[dataset.schools["county_code"].isin(counties)]
    return Dataset(
        schools=schools, school_year=dataset.school_year[dataset.school_year["school_id"].isin(schools["school_id"])],
        counties=dataset.counties, county_year=dataset.county_year[dataset.county_year["county_code"].isin(counties)],
        quality=dataset.quality[dataset.quality["county_code"].isin(counties)], source=dataset.source,
        synthetic=dataset.synthetic, warnings=list(dataset.warnings),
    )


def city_report_file(dataset_path: Path, *, year: int | None = None, city: str | None = None,
                     standard: str | None = None, fmt: str | None = None, out: Path | None = None,
                     say: Say = _quiet) -> Path:
    """Evaluate every county of a dataset (or of one city in it) and write the summary report;
    earlier years in the dataset give the progress over time."""
    from junheng.data.importer import load_dataset
    from junheng.engine.evaluate import evaluate_dataset

    fmt = resolve_format(fmt, out)
    dataset = load_dataset(Path(dataset_path))
    for warning in dataset.warnings:
        say(f"提示:{warning}")
    chosen = counties_of_city(dataset, city)
    pairs = [(c, y) for c, y in dataset.county_year_pairs() if chosen is None or c in chosen]
    if year is None:
        if not pairs:
            raise ReportError("数据集中没有学校年度数据")
        year = max(y for _, y in pairs)
    pairs = [(c, y) for c, y in pairs if y <= year]
    if not any(y == year for _, y in pairs):
        raise ReportError(f"数据集中没有{city or ''} {year} 年的学校年度数据")
    say(f"正在评估 {len({c for c, _ in pairs})} 个县区……")
    wanted = set(pairs)
    results = [r for r in evaluate_dataset(_only(dataset, chosen), standard=standard)
               if (r.county_code, r.year) in wanted]
    # a county speaks in the summary only for its complete years (partial data never do)
    for r in results:
        if r.year == year and not r.complete:
            say(f"提示:{r.county_name}({r.county_code}){school_year_label(year)}的数据不完整"
                f"(已纳入 {r.coverage.fraction()} 所学校),未列入汇总")
    current = [r for r in results if r.year == year and r.complete]
    history = [r for r in results if r.year < year and r.complete]
    if not current:
        raise ReportError(f"数据集中{city or ''}{school_year_label(year)}没有数据完整的县区,无法生成汇总报告")
    say(f"正在生成{FORMAT_NAMES[fmt]}:{len(current)} 个县区{school_year_label(year)}" + ("(PDF 由 LibreOffice 转换)" if fmt == "pdf" else ""))
    report = city_report(current, fmt, dataset=dataset, city=city, history=history)
    return report.write(target_path(out, report))

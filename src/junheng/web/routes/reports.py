"""Report downloads: a county's self-evaluation report and the summary of the counties a user
may read, as Word, PDF, Excel or an HTML view, from the same stored evaluation the pages show
(junheng.reports.store over junheng.services.evaluate_stored).

    GET /counties/{code}/report.{fmt}?year=Y   fmt: docx, pdf, xlsx, html (html opens in the browser)
    GET /overview/report.{fmt}?year=Y          the counties the viewer can read; year: newest when omitted

The routes are plain `def`: FastAPI runs them in a worker thread, so LibreOffice's few seconds
for a PDF do not block other requests.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response
from sqlalchemy.orm import Session

from junheng.reports.api import RenderedReport, check_format
from junheng.reports.charts import ChartFontMissing
from junheng.reports.pdf import PdfConversionFailed, PdfUnavailable
from junheng.reports.store import city_report_stored, county_report_stored
from junheng.store import repo
from junheng.web.deps import REQUEST_SESSION, Viewer, current_viewer
from junheng.web.files import download
from junheng.web.params import YEAR_MAX, YEAR_MIN, parse_int

router = APIRouter(include_in_schema=False)

PDF_MISSING = ("服务器上没有安装 LibreOffice,暂时无法生成 PDF 报告。请先下载 Word 版本,"
               "或请系统管理员运行 scripts/install-system-deps.sh 安装 LibreOffice 和中文字体。")
FONT_MISSING = "服务器上没有可用于报告图表的中文字体,暂时无法生成报告。请系统管理员运行 scripts/install-system-deps.sh 安装中文字体。"


def parse_year(year: str | None) -> int | None:
    if year is None or not year.strip():
        return None
    number = parse_int(year, YEAR_MIN, YEAR_MAX)  # ASCII digits only: "²".isdigit() is true, int("²") fails
    if number is None:
        raise HTTPException(status_code=400, detail=f"学年“{year}”有误:应为学年的开始年份,例如 2024")
    return number


def report_download(report: RenderedReport, fallback: str) -> Response:
    """The HTML report opens in the browser; the others download."""
    return download(report.content, report.media_type, report.filename, fallback,
                    inline=report.filename.endswith(".html"), private=True)


def rendering(build):
    """Run a report build; missing system software becomes a Chinese error page (503), a failed
    conversion a 500, instead of a traceback."""
    try:
        return build()
    except PdfUnavailable:
        raise HTTPException(status_code=503, detail=PDF_MISSING) from None
    except ChartFontMissing:
        raise HTTPException(status_code=503, detail=FONT_MISSING) from None
    except PdfConversionFailed as exc:
        raise HTTPException(status_code=500, detail=f"{exc.user_message()}请稍后重试,或先下载 Word 版本。") from None


@router.get("/counties/{code}/report.{fmt}")
def county_report_download(code: str, fmt: str, year: str | None = None, viewer: Viewer = Depends(current_viewer),
                           session: Session = REQUEST_SESSION):
    try:
        county = repo.county_by_code(session, code)
    except repo.StoreError as exc:
        raise HTTPException(status_code=404, detail=exc.user_message()) from None
    if not viewer.access.can_read_county(county):
        raise HTTPException(status_code=403, detail="您没有权限下载该县区的自评报告。")
    fmt = check_format(fmt)
    wanted = parse_year(year)
    report, result = rendering(lambda: county_report_stored(session, county.code, fmt, year=wanted, user=viewer.user))
    session.commit()  # an evaluation run stored on the way is saved before the file is sent
    return report_download(report, f"{county.code}-{result.year}-report.{fmt}")


@router.get("/overview/report.{fmt}")
def city_report_download(fmt: str, year: str | None = None, viewer: Viewer = Depends(current_viewer),
                         session: Session = REQUEST_SESSION):
    counties = viewer.access.readable_counties(session)
    if not counties:
        raise HTTPException(status_code=403, detail="您没有可查看的县区,无法生成汇总报告。")
    fmt = check_format(fmt)
    wanted = parse_year(year)
    done = rendering(lambda: city_report_stored(session, counties, fmt, year=wanted, user=viewer.user))
    session.commit()
    return report_download(done.report, f"summary-{done.year}-report.{fmt}")

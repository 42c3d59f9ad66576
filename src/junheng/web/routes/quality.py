"""The 教育质量监测 pages (issue 15): a county's stored analysis of student scores and a school's
figures in it, both answering `?format=json` (routes.pages.render).

    GET  /counties/{code}/quality?year=   the newest analysis of the county-year: per subject × grade
                                          the county's level and how it is read, level shares, the
                                          校际差异率 (ICC) with its interval against the standard's
                                          threshold, variances, histogram, the schools contributing
                                          most, whether it was written into the evaluation (Q9), and
                                          the data basis; managers also get the upload form
    POST /counties/{code}/quality         a scores file (CSV/XLSX/Parquet) and a cut-score file
                                          (CSV/YAML): `quality.service.import_scores`, all or nothing
    GET  /schools/{code}/quality?year=    the school beside its county: students, mean, level shares,
                                          histogram (share of students per bin), its contribution

The upload is checked (the viewer manages the county) before a byte of the body is read, and the
body only up to the upload limit (`files.read_form`); the files are kept under generated names in
a temporary folder of the workspace's uploads folder and removed whatever happens. Messages name
the user's files, never the server's paths. The numbers come from the stored analysis as computed
(`QualityAnalysis.results`); nothing is recomputed here.
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from junheng.data.problems import DatasetInvalid
from junheng.engine.tolerance import EPS
from junheng.errors import JunhengError
from junheng.quality import QualityError
from junheng.quality.cuts import MAX_BYTES as MAX_CUTS_BYTES
from junheng.quality.levels import LEVEL_NAMES, LEVELS
from junheng.quality.service import QualityAccessDenied, analysis_json, analysis_years, import_scores, latest_analysis
from junheng.standards.model import DIFFERENCE_RATE_METHODS, county_level_text
from junheng.store.models import OrgNode, QualityAnalysis, School, User
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, county_for, current_viewer
from junheng.web.files import MULTIPART_SLACK, megabytes, read_form, saved_upload, with_user_file_names
from junheng.web.params import Year, parse_int
from junheng.web.routes.editing import FLASH_MESSAGES, VIA_LABELS, county_standard, local_time, school_for_read, \
    user_label, with_message
from junheng.web.routes.pages import render

router = APIRouter(include_in_schema=False)

MESSAGES = FLASH_MESSAGES | {"quality_imported": "学生成绩已导入,教育质量监测结果已计算并保存。"}
SCORE_KINDS = (".csv", ".xlsx", ".parquet")
CUT_KINDS = (".csv", ".yaml", ".yml")
MANAGE_REFUSAL = "只有本县区的县级管理员或系统管理员可以导入学生成绩。"
LISTED = re.compile(r"^\s*(?:\d+\.|-)?\s*")  # a listed problem's number or dash (the page's list numbers them)
SCHOOL_PAGE_ONLY = ("shares", "county_shares", "shares_chart", "histogram_chart")  # not in the school's JSON
LEVEL_LABELS = [f"{LEVEL_NAMES[n]}级" for n in LEVELS]


# ---------------------------------------------------------------- the standard and the links


def quality_rule(request: Request, county: OrgNode):
    """The county's standard's quality monitoring rule (min_level, max_diff_rate), or None (no
    such indicator, or a standard that cannot be read)."""
    std = county_standard(request, county)
    found = std.indicators_of_kind("quality_monitoring") if std is not None else []
    return found[0].rule if found else None


def quality_monitored(request: Request, county: OrgNode) -> bool:
    """Whether the county's pages link its quality page: its standard monitors quality (an
    unreadable standard hides nothing)."""
    std = county_standard(request, county)
    return std is None or bool(std.indicators_of_kind("quality_monitoring"))


def school_quality_year(session: Session, school: School) -> int | None:
    """The newest year whose analysis has figures of the school (its page links the quality page)."""
    for year in analysis_years(session, school.county):
        analysis = latest_analysis(session, school.county, year)
        if analysis is not None and _school_entries(analysis, school.code):
            return year
    return None


# ---------------------------------------------------------------- numbers as the pages write them


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _decimals(value: float | None, digits: int = 3) -> str:
    """An ICC or a bound of its interval: always `digits` decimals (-1.000, 0.650), — without one."""
    return "—" if value is None else f"{value:.{digits}f}"


def _edge(value: float) -> str:
    return f"{round(value, 1):g}"


def _bins(entry: dict) -> list[str]:
    edges = (entry.get("histogram") or {}).get("edges") or []
    return [f"{_edge(low)}–{_edge(high)}" for low, high in zip(edges, edges[1:])]


def _shares(level_shares: dict) -> list[float | None]:
    return [_percent(level_shares.get(f"level_{n}")) for n in LEVELS]


def _shares_chart(rows: list[tuple[str, dict]]) -> dict:
    return {"kind": "shares", "rows": [name for name, _ in rows],
            "levels": LEVEL_LABELS, "values": [_shares(shares) for _, shares in rows]}


def _histogram_chart(entry: dict, series: list[dict], unit: str) -> dict:
    return {"kind": "histogram", "bins": _bins(entry), "unit": unit, "series": series}


# ---------------------------------------------------------------- the county page


def _entry_view(entry: dict, rule, settings: dict) -> dict:
    rate, icc, level = entry.get("difference_rate"), entry.get("icc"), entry.get("level")
    threshold = rule.max_diff_rate if rule is not None else None
    counts = (entry.get("histogram") or {}).get("counts") or []
    return entry | {
        "level_name": LEVEL_LABELS[level - 1] if level in LEVELS else "—",
        "level_met": None if rule is None or level is None else level >= rule.min_level,
        "level_method_text": county_level_text(entry.get("level_method") or "", settings.get("level_share")),
        "shares_percent": _shares(entry.get("level_shares") or {}),
        "icc_text": _decimals(icc), "icc_negative": icc is not None and icc < 0,
        "ci_text": (f"{_decimals(entry['icc_ci'][0])} 至 {_decimals(entry['icc_ci'][1])}"
                    if entry.get("icc_ci") else None),
        "threshold": threshold, "rate_met": None if rate is None or threshold is None else rate < threshold - EPS,
        "top": [s | {"share_percent": _percent(s.get("share"))} for s in entry.get("top_schools") or []],
        "shares_chart": _shares_chart([("全县", entry.get("level_shares") or {})]),
        "histogram_chart": _histogram_chart(entry, [{"name": "全县", "data": counts}], "人"),
    }


def _basis(session: Session, analysis: QualityAnalysis) -> dict:
    settings = analysis.settings or {}
    method = settings.get("method")
    user = session.get(User, analysis.computed_by) if analysis.computed_by else None
    confidence = settings.get("confidence")
    return {"source_name": analysis.source_name, "computed_at": local_time(analysis.computed_at),
            "rows": analysis.rows, "method": DIFFERENCE_RATE_METHODS.get(method, method),
            "confidence": f"{confidence * 100:g}%" if confidence is not None else "—",
            "by": user_label(user) if user else "命令行或系统", "via": VIA_LABELS.get(analysis.via, analysis.via)}


def _county_page(request: Request, session: Session, viewer: Viewer, county: OrgNode, year: int | None, *,
                 error: str | None = None, problems: list[str] | None = None, status_code: int = 200):
    years = analysis_years(session, county)
    shown = year if year is not None else (years[0] if years else None)
    analysis = latest_analysis(session, county, shown) if shown is not None else None
    rule = quality_rule(request, county)
    entries = [_entry_view(e, rule, analysis.settings or {}) for _, e in sorted(analysis.results.items())] \
        if analysis is not None else []
    limit = int(request.app.state.settings.upload_limit_bytes)
    context = {"viewer": viewer, "flash_messages": MESSAGES, "county": county, "years": years, "year": shown,
               "analysis": analysis, "entries": entries, "rule": rule,
               "min_level_name": LEVEL_LABELS[rule.min_level - 1] if rule is not None else None,
               "basis": _basis(session, analysis) if analysis is not None else None,
               "can_manage": viewer.access.can_manage_county(county), "error": error, "problems": problems or [],
               "limit": megabytes(limit), "cuts_limit": megabytes(MAX_CUTS_BYTES)}
    data = analysis_json(analysis, county) if analysis is not None else {
        "county_code": county.code, "county_name": county.name, "year": shown, "years": years,
        "detail": "还没有导入该学年的学生成绩。"}
    data |= {"years": years}
    if error:
        data |= {"error": error, "problems": problems or []}
    return render(request, "quality_county.html", context, data, status_code=status_code)


@router.get("/counties/{code}/quality")
def county_quality(code: str, request: Request, year: Year | None = None, viewer: Viewer = Depends(current_viewer),
                   session: Session = REQUEST_SESSION):
    return _county_page(request, session, viewer, county_for(session, viewer, code), year)


# ---------------------------------------------------------------- the upload


def managed_county(code: str, viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION) -> OrgNode:
    """The county scores are imported into: the viewer manages it, checked before the body is read."""
    return county_for(session, viewer, code, manage=MANAGE_REFUSAL)


async def scores_form(request: Request, _county: OrgNode = Depends(managed_county)):
    """The posted scores and cut-score files, read only after `managed_county` and only up to the
    upload limit plus the cut-score file's: 413 in Chinese beyond it."""
    limit = int(request.app.state.settings.upload_limit_bytes)
    return await read_form(request, limit=limit + MAX_CUTS_BYTES + MULTIPART_SLACK, max_files=2,
                           too_large=f"文件太大:成绩文件不能超过 {megabytes(limit)}。")


def _refusal(exc: JunhengError, folder: Path, names: dict[Path, str]) -> tuple[str, list[str]]:
    """The error's Chinese message with the user's file names for the server's paths: its first
    line, and the problems listed below it."""
    message = exc.user_message(keys=False) if isinstance(exc, DatasetInvalid) else exc.user_message()
    message = with_user_file_names(message, folder, names)
    first, *rest = message.splitlines()
    return first.rstrip(":"), [LISTED.sub("", line) for line in rest if line.strip()]


@router.post("/counties/{code}/quality")
def import_quality(code: str, request: Request, county: OrgNode = Depends(managed_county),
                   form=Depends(scores_form), viewer: Viewer = Depends(check_csrf),
                   session: Session = REQUEST_SESSION):
    settings = request.app.state.settings
    uploads = Path(settings.uploads)
    uploads.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="quality-", dir=uploads))
    names: dict[Path, str] = {}
    try:
        try:
            scores, shown = saved_upload(form.get("scores"), folder, secrets.token_hex(8), SCORE_KINDS,
                                         int(settings.upload_limit_bytes), "成绩文件")
            names[scores] = shown
            cuts, cuts_shown = saved_upload(form.get("cuts"), folder, secrets.token_hex(8), CUT_KINDS,
                                            MAX_CUTS_BYTES, "分数线文件")
            names[cuts] = cuts_shown
            year_text = str(form.get("year") or "").strip()
            year = parse_int(year_text, 1990, 2100) if year_text else None
            if year_text and year is None:
                raise QualityError(f"学年“{year_text[:20]}”无效:应为 1990 到 2100 之间的年份(学年开始的年份),或不填")
            outcome = import_scores(session, settings, scores, cuts, user=viewer.user, via="upload",
                                    access=viewer.access, only_county=county, source_name=shown, year=year)
        except JunhengError as exc:
            session.rollback()
            error, problems = _refusal(exc, folder, names)
            return _county_page(request, session, viewer, county, None, error=f"没有导入任何成绩:{error}",
                                problems=problems, status_code=403 if isinstance(exc, QualityAccessDenied) else 400)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    session.commit()
    return RedirectResponse(with_message(f"/counties/{county.code}/quality?year={outcome.year}", "quality_imported"),
                            status_code=303)


# ---------------------------------------------------------------- the school page


def _school_entries(analysis: QualityAnalysis, school_code: str) -> list[tuple[dict, dict]]:
    """(entry, the school's figures in it) for each subject × grade the school has figures in."""
    out = []
    for _, entry in sorted(analysis.results.items()):
        mine = next((s for s in entry.get("school_figures") or [] if s.get("school_id") == school_code), None)
        if mine is not None:
            out.append((entry, mine))
    return out


def _school_view(entry: dict, mine: dict, school: School) -> dict:
    label = entry["label"]
    county_counts = (entry.get("histogram") or {}).get("counts") or []
    total = sum(county_counts)
    own = mine.get("histogram") or []
    # among the schools contributing most, when there is a between-school difference to contribute to
    top = next((s for s in entry.get("top_schools") or [] if s.get("school_id") == school.code and s.get("share")),
               None)
    return {
        "label": label, "subject": entry.get("subject"), "grade": entry.get("grade"),
        "students": mine.get("students"), "mean": mine.get("mean"),
        "county_students": entry.get("students"), "county_mean": entry.get("mean"),
        "county_schools": entry.get("schools"),
        "shares": _shares(mine.get("level_shares") or {}), "county_shares": _shares(entry.get("level_shares") or {}),
        "level_shares": mine.get("level_shares"), "county_level_shares": entry.get("level_shares"),
        "histogram": own, "county_histogram": county_counts, "bins": _bins(entry),
        "top": top | {"share_percent": _percent(top.get("share"))} if top else None,
        "shares_chart": _shares_chart([(school.name, mine.get("level_shares") or {}),
                                       ("全县", entry.get("level_shares") or {})]),
        "histogram_chart": _histogram_chart(entry, [
            {"name": school.name, "data": [_percent(n / mine["students"]) if mine.get("students") else None
                                            for n in own]},
            {"name": "全县", "data": [_percent(n / total) if total else None for n in county_counts]}], "%"),
    }


@router.get("/schools/{code}/quality")
def school_quality(code: str, request: Request, year: Year | None = None, viewer: Viewer = Depends(current_viewer),
                   session: Session = REQUEST_SESSION):
    school = school_for_read(session, viewer, code)
    county = school.county
    years = analysis_years(session, county)
    shown = year if year is not None else (school_quality_year(session, school) or (years[0] if years else None))
    analysis = latest_analysis(session, county, shown) if shown is not None else None
    entries = [_school_view(e, mine, school) for e, mine in _school_entries(analysis, school.code)] \
        if analysis is not None else []
    context = {"viewer": viewer, "school": school, "county": county, "years": years, "year": shown,
               "analysis": analysis, "entries": entries,
               "basis": _basis(session, analysis) if analysis is not None else None}
    data = {"school_id": school.code, "school_name": school.name, "county_code": county.code, "year": shown,
            "years": years, "analysis_id": analysis.id if analysis is not None else None,
            "source_name": analysis.source_name if analysis is not None else None,
            "results": [{k: v for k, v in e.items() if k not in SCHOOL_PAGE_ONLY} for e in entries]}
    if not entries:
        data["detail"] = "该学年的学生成绩中没有本校的成绩。" if analysis is not None else "还没有导入本校所在县区的学生成绩。"
    return render(request, "quality_school.html", context, data)

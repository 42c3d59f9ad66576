"""The social recognition survey in the platform, for bureau staff (issue 14, item 7): a county's
surveys and one survey's page with its actions.

    GET  /counties/{code}/surveys             the county's surveys; county admins: a form to create one
    POST /counties/{code}/surveys             create a survey of a year from the sampling plan
    GET  /surveys/{id}                        status, quotas, import, result, exclusions, downloads
    POST /surveys/{id}/open | /close          open or close it for answers
    POST /surveys/{id}/codes                  issue one-time codes: the code sheet (XLSX / PDF) IS the issuance
    POST /surveys/{id}/import                 a 问卷星 export (XLSX / CSV) with its column mapping (YAML)
    POST /surveys/{id}/score                  compute the result (kept; not yet the county-year's value)
    POST /surveys/{id}/apply                  make a result the county-year's social recognition rate
    GET  /surveys/{id}/responses.{csv|xlsx}   the anonymised response table
    GET  /surveys/{id}/plan.{xlsx|pdf}        the sampling plan the quotas came from

Rights are the county's, through the one rule (`deps.county_for`): whoever may read the county
reads its surveys, their results and downloads; every action (a POST) is for those who manage the
county (its county admin, system admins), with the page's CSRF token. Every page answers
`?format=json` with the data it shows. The work is junheng.survey (collection, results and
service); this module only reads requests and shows outcomes. A refused action changes nothing:
the request's unit of work is rolled back.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.engine.wording import num
from junheng.errors import JunhengError
from junheng.schoolyear import current_school_year
from junheng.schoolyear import label as school_year_label
from junheng.store import repo
from junheng.store.models import OrgNode, Survey, SurveyResult
from junheng.survey import collection
from junheng.survey.groups import GROUPS, group_label
from junheng.web.app import templates
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, county_for, current_viewer
from junheng.web.files import MULTIPART_SLACK, XLSX_TYPE, download, megabytes, read_form, saved_upload, \
    with_user_file_names
from junheng.web.params import RowId, parse_int
from junheng.web.routes.editing import form_data, local_time, with_message
from junheng.web.routes.pages import render

router = APIRouter(include_in_schema=False)

READ_REFUSAL = "您没有权限查看该县区的问卷调查。"
MANAGE_REFUSAL = "只有本县区的县级管理员(或系统管理员)可以管理问卷调查。"
MAX_BASE_URL = 200
MAX_EXTRA_CODES = 1000  # extra codes per quota from the page (lost sheets)
MAX_MAPPING_BYTES = 1024 * 1024  # a column mapping is a few KB (as junheng.survey.settings reads files)
EXPORT_KINDS = (".xlsx", ".csv")
MAPPING_KINDS = (".yaml", ".yml")
CODE_SHEET_FORMATS = {"xlsx": XLSX_TYPE, "pdf": "application/pdf"}
PLAN_FORMATS = {"xlsx": XLSX_TYPE, "pdf": "application/pdf"}
RESPONSE_FORMATS = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_TYPE}
MESSAGES = {
    "created": "已创建调查(未开放)。下一步:生成访问码单,然后开放调查。",
    "opened": "调查已开放,持访问码的人员可以作答。",
    "closed": "调查已结束,不再接受作答。",
    "unchanged": "调查状态未改变。",
    "imported": "已导入问卷星答卷。",
    "scored": "已计算调查结果。",
    "applied": "已将调查结果设为本县该学年的社会认可度指标值(记入修改记录)。",
}


# ---------------------------------------------------------------- numbers as the pages write them


def rate_text(rate: float | None) -> str:
    """A rate (0–1) as a percent with two decimals: 87.34% (— without a rate)."""
    return "—" if rate is None else num(rate * 100, "%")


def interval_text(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "—"
    return f"{num(low * 100, '%')}—{num(high * 100, '%')}"


templates.env.filters["survey_rate"] = rate_text
templates.env.filters["survey_interval"] = lambda r: interval_text((r or {}).get("ci_low"), (r or {}).get("ci_high"))


# ---------------------------------------------------------------- access


def _survey(session: Session, survey_id: int) -> Survey:
    try:
        return collection.survey_by_id(session, survey_id)
    except collection.SurveyNotFound:
        raise HTTPException(status_code=404, detail=f"没有编号为 {survey_id} 的调查。") from None


def survey_for(session: Session, viewer: Viewer, survey_id: int, *, manage: bool = False) -> tuple[Survey, OrgNode]:
    """The survey and its county if the viewer may read the county (403 otherwise); with `manage`
    only if the viewer also manages it: the county's one rule, `deps.county_for`."""
    survey = _survey(session, survey_id)
    county = session.get(OrgNode, survey.county_id)
    county = county_for(session, viewer, county.code, read=READ_REFUSAL, manage=MANAGE_REFUSAL if manage else None)
    return survey, county


def area_name(county: OrgNode) -> str:
    """What the county's standard calls the area a survey's rate feeds (社会认可度)."""
    from junheng.standards.loader import DEFAULT_STANDARD, load_standard
    from junheng.survey.results import SURVEY_AREA

    try:
        return load_standard(county.standard or DEFAULT_STANDARD).area_label(SURVEY_AREA)
    except JunhengError:
        return "社会认可度"


def _secret(request: Request) -> str:
    return request.app.state.settings.secret_key


def _refusal(exc: JunhengError) -> str:
    return exc.user_message()


# ---------------------------------------------------------------- what the pages show


def _latest_result(session: Session, survey: Survey) -> SurveyResult | None:
    return session.scalar(select(SurveyResult).where(SurveyResult.survey_id == survey.id)
                          .order_by(SurveyResult.id.desc()).limit(1))


def _sources(session: Session, county: OrgNode) -> dict[tuple[str, int], dict[str, dict]]:
    from junheng.store.value_sources import value_sources

    return value_sources(session, [county])


def _standing(sources: dict, county: OrgNode, survey: Survey) -> dict:
    """Whether the survey's result is the county-year's social recognition value now: "current"
    (applied and the field's latest change), "typed" (a value typed over it), or None."""
    for source in sources.get((county.code, survey.year), {}).values():
        if source.get("ref") != f"survey:{survey.id}":
            continue
        if source.get("kind") == "survey":
            return {"state": "current", "label": "是(当前取值来自本调查)", "result_id": source["details"].get("result_id")}
        return {"state": "typed", "label": "否(其后已人工录入):" + source.get("label", "")}
    return {"state": None, "label": "否"}


def _progress(session: Session, survey: Survey) -> dict:
    """Quota progress: per quota, per group and per school (or 全县), submitted / planned."""
    rows = collection.quota_status(session, survey)
    by_group: dict[str, dict] = {}
    by_school: dict[str, dict] = {}
    quotas = []
    for r in rows:
        label = group_label(r.quota.group)
        school = r.quota.school.name if r.quota.school is not None else "全县"
        quotas.append({"group": label, "school": school, "planned": r.quota.size, "submitted": r.submitted,
                       "partial": r.partial, "codes": r.codes, "codes_used": r.codes_used,
                       "full": r.submitted >= r.quota.size})
        for table, key in ((by_group, r.quota.group), (by_school, school)):
            entry = table.setdefault(key, {"planned": 0, "submitted": 0, "partial": 0, "codes": 0})
            entry["planned"] += r.quota.size
            entry["submitted"] += r.submitted
            entry["partial"] += r.partial
            entry["codes"] += r.codes
    order = {g: i for i, g in enumerate(GROUPS)}
    groups = [{"group": group_label(g), **v} for g, v in sorted(by_group.items(), key=lambda kv: order.get(kv[0], 99))]
    schools = [{"school": s, **v} for s, v in sorted(by_school.items(), key=lambda kv: (kv[0] == "全县", kv[0]))]
    total = {k: sum(v[k] for v in by_group.values()) for k in ("planned", "submitted", "partial", "codes")}
    from junheng.survey.service import imported_count

    imported = imported_count(session, survey)
    return {"quotas": quotas, "groups": groups, "schools": schools, "total": total, "imported": imported}


def _summary(result: SurveyResult | None) -> dict | None:
    if result is None:
        return None
    from junheng.survey.service import result_summary

    return result_summary(result)


def _result_json(result: SurveyResult | None, summary: dict | None) -> dict | None:
    if result is None:
        return None
    return {"id": result.id, "computed_at": result.computed_at.isoformat() if result.computed_at else None,
            "rate": result.rate, "ci_low": result.ci_low, "ci_high": result.ci_high,
            "respondents": result.respondents, "answers": result.answers, "applied": result.audit_id is not None,
            "summary": summary}


def survey_row(session: Session, survey: Survey, county: OrgNode, sources: dict) -> dict:
    """One survey as the county's list shows it."""
    rows = collection.quota_status(session, survey)
    result = _latest_result(session, survey)
    return {"id": survey.id, "title": survey.title, "year": survey.year, "year_label": school_year_label(survey.year),
            "status": survey.status, "status_label": collection.STATUS_LABELS.get(survey.status, survey.status),
            "submitted": sum(r.submitted for r in rows), "planned": sum(r.quota.size for r in rows),
            "result": None if result is None else {
                "id": result.id, "rate": result.rate, "ci_low": result.ci_low, "ci_high": result.ci_high,
                "respondents": result.respondents, "computed": local_time(result.computed_at)},
            "standing": _standing(sources, county, survey)}


# ---------------------------------------------------------------- the county's surveys


def _years(session: Session, county: OrgNode) -> list[int]:
    """The years a survey can be created for: those with school data, and the current school year."""
    years = set(repo.year_progress(session, county).coverage)
    years.add(current_school_year())
    return sorted(years, reverse=True)


def _county_page(request: Request, session: Session, viewer: Viewer, county: OrgNode, *, error: str | None = None,
                 values: dict | None = None, status_code: int = 200):
    surveys = list(session.scalars(select(Survey).where(Survey.county_id == county.id, Survey.deleted_at.is_(None))
                                   .order_by(Survey.year.desc(), Survey.id.desc())))
    sources = _sources(session, county)
    rows = [survey_row(session, s, county, sources) for s in surveys]
    can_manage = viewer.access.can_manage_county(county)
    years = _years(session, county) if can_manage else []
    with_data = sorted(repo.year_progress(session, county).coverage) if can_manage else []
    default = with_data[-1] if with_data else (years[0] if years else "")  # the latest year with school data
    values = values or {"year": str(default), "title": ""}
    from junheng.survey.questionnaire import default_questionnaires

    questionnaires = [{"id": q.id, "title": q.title, "audiences": [group_label(g) for g in q.audiences],
                       "scored": len(q.scored_items)} for q in default_questionnaires().values()] if can_manage else []
    context = {"viewer": viewer, "county": county, "surveys": rows, "can_manage": can_manage, "years": years,
               "values": values, "error": error, "questionnaires": questionnaires,
               "flash_messages": MESSAGES}
    data = {"county_code": county.code, "county_name": county.name, "surveys": rows, "error": error}
    return render(request, "surveys.html", context, data, status_code=status_code)


@router.get("/counties/{code}/surveys")
def county_surveys(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
                   session: Session = REQUEST_SESSION):
    county = county_for(session, viewer, code, read=READ_REFUSAL)
    return _county_page(request, session, viewer, county)


def plan_for(session: Session, county: OrgNode, year: int):
    """The sampling plan of the county's stored roster for `year` (its school data; the latest
    complete year when `year` has none), with the default survey settings. The population is the
    county's 常住人口: a SurveyError saying where to enter it when it is missing."""
    from junheng.survey.sampling import dataset_years, plan_from_dataset
    from junheng.survey.settings import default_settings

    dataset = repo.load_dataset(session, [county.code])
    if dataset.county_attribute(county.code, "resident_population") is None:
        raise collection.SurveyError(
            f"缺少{county.name}的常住人口,无法确定样本量(约为常住人口的 1.5‰,至少 600 人)。请系统管理员在"
            f"「管理」→ 县区“{county.name}”的设置中填写“常住人口(人)”,或在上传的县区名录中填写“常住人口”列,然后再创建调查。")
    years = dataset_years(dataset, county.code) if not dataset.schools.empty else []
    return plan_from_dataset(dataset, county.code, year=year if year in years else None, settings=default_settings())


@router.post("/counties/{code}/surveys")
def create_survey_post(code: str, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                       session: Session = REQUEST_SESSION):
    county = county_for(session, viewer, code, read=READ_REFUSAL, manage=MANAGE_REFUSAL)
    values = {"year": str(form.get("year") or "").strip(), "title": str(form.get("title") or "").strip()}
    year = parse_int(values["year"], 1990, 2100)
    if year is None:
        return _county_page(request, session, viewer, county, values=values, status_code=400,
                            error=f"学年“{values['year'][:20]}”有误:应为学年的开始年份,例如 {current_school_year()}。")
    if len(values["title"]) > collection.MAX_TITLE:
        return _county_page(request, session, viewer, county, values=values, status_code=400,
                            error=f"调查标题太长:不能超过 {collection.MAX_TITLE} 个字。")
    from junheng.survey.questionnaire import default_questionnaires
    from junheng.survey.sampling import SamplingError
    from junheng.survey.settings import default_settings

    try:
        plan = plan_for(session, county, year)
        plan_data = plan.to_json()
        survey = collection.create_survey(session, county.code, year, title=values["title"],
                                          questionnaires=default_questionnaires(), settings=default_settings(),
                                          user=viewer.user, via="form", plan=plan_data)
        collection.set_quotas(session, survey, collection.quota_rows_from_plan(plan_data))
    except (collection.SurveyError, SamplingError) as exc:
        session.rollback()
        return _county_page(request, session, viewer, county, values=values, status_code=400,
                            error=f"调查没有创建:{_refusal(exc)}")
    session.commit()
    return RedirectResponse(with_message(f"/surveys/{survey.id}", "created"), status_code=303)


# ---------------------------------------------------------------- one survey


def _survey_page(request: Request, session: Session, viewer: Viewer, survey: Survey, county: OrgNode, *,
                 error: str | None = None, error_at: str | None = None, status_code: int = 200,
                 base_url: str | None = None):
    can_manage = viewer.access.can_manage_county(county)
    progress = _progress(session, survey)
    result = _latest_result(session, survey)
    summary = _summary(result)
    sources = _sources(session, county)
    standing = _standing(sources, county, survey)
    indicator_name = area_name(county)
    from junheng.survey.results import incomplete_reason

    incomplete = incomplete_reason(survey, result) if result is not None and result.rate is not None else None
    questionnaires = [{"id": qid, "title": q.get("title") or qid, "audiences": [group_label(g) for g in q.get("audiences") or []],
                       "scored": [i for i in collection.items_of(q) if i.get("scored", True)]}
                      for qid, q in sorted((survey.questionnaires or {}).items())]
    row = survey_row(session, survey, county, sources)
    context = {"viewer": viewer, "county": county, "survey": survey, "row": row, "can_manage": can_manage,
               "progress": progress, "result": result, "summary": summary, "standing": standing,
               "indicator_name": indicator_name, "questionnaires": questionnaires, "error": error,
               "incomplete": incomplete, "error_at": error_at, "flash_messages": MESSAGES, "has_plan": bool(survey.plan),
               "base_url": base_url if base_url is not None else str(request.base_url).rstrip("/"),
               "upload_limit": megabytes(_export_limit(request)), "public_path": f"/s/{survey.public_key}",
               "status_labels": collection.STATUS_LABELS}
    data = {"id": survey.id, "county_code": county.code, "title": survey.title, "year": survey.year,
            "status": survey.status, "status_label": row["status_label"], "public_path": f"/s/{survey.public_key}",
            "progress": progress, "result": _result_json(result, summary), "standing": standing,
            "applicable": result is not None and result.rate is not None and incomplete is None,
            "not_applicable_because": incomplete,
            "questionnaires": [{"id": q["id"], "title": q["title"], "items": len(q["scored"])} for q in questionnaires],
            "error": error}
    return render(request, "surveys_detail.html", context, data, status_code=status_code)


@router.get("/surveys/{survey_id}")
def survey_page(survey_id: RowId, request: Request, viewer: Viewer = Depends(current_viewer),
                session: Session = REQUEST_SESSION):
    survey, county = survey_for(session, viewer, survey_id)
    return _survey_page(request, session, viewer, survey, county)


def _action(request: Request, session: Session, viewer: Viewer, survey: Survey, county: OrgNode, work, message: str,
            at: str, status_code: int = 409):
    """Run `work()`; a refusal (JunhengError) rolls everything back and shows the page with it."""
    try:
        outcome = work()
    except JunhengError as exc:
        session.rollback()
        status = getattr(exc, "status", None)
        return _survey_page(request, session, viewer, survey, county, error=_refusal(exc), error_at=at,
                            status_code=status if status in (400, 409) else status_code)
    session.commit()
    code = message if not callable(message) else message(outcome)
    return RedirectResponse(with_message(f"/surveys/{survey.id}", code), status_code=303)


@router.post("/surveys/{survey_id}/open")
def open_post(survey_id: RowId, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
              session: Session = REQUEST_SESSION):
    survey, county = survey_for(session, viewer, survey_id, manage=True)
    return _action(request, session, viewer, survey, county,
                   lambda: collection.open_survey(session, survey, user=viewer.user, via="form"),
                   lambda changed: "opened" if changed else "unchanged", "status")


@router.post("/surveys/{survey_id}/close")
def close_post(survey_id: RowId, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
               session: Session = REQUEST_SESSION):
    survey, county = survey_for(session, viewer, survey_id, manage=True)
    return _action(request, session, viewer, survey, county,
                   lambda: collection.close_survey(session, survey, user=viewer.user, via="form"),
                   lambda changed: "closed" if changed else "unchanged", "status")


@router.post("/surveys/{survey_id}/score")
def score_post(survey_id: RowId, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
               session: Session = REQUEST_SESSION):
    survey, county = survey_for(session, viewer, survey_id, manage=True)
    from junheng.survey.service import score_survey

    return _action(request, session, viewer, survey, county, lambda: score_survey(session, survey, user=viewer.user, via="form"),
                   "scored", "result", 400)


@router.post("/surveys/{survey_id}/apply")
def apply_post(survey_id: RowId, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
               session: Session = REQUEST_SESSION):
    survey, county = survey_for(session, viewer, survey_id, manage=True)
    from junheng.survey.results import apply_result

    wanted = parse_int(form.get("result_id"), 1)
    result = session.get(SurveyResult, wanted) if wanted is not None else _latest_result(session, survey)
    if result is None or result.survey_id != survey.id:
        return _survey_page(request, session, viewer, survey, county, status_code=400, error_at="apply",
                            error="没有可设为指标值的调查结果:请先点击“计算调查结果”。")
    return _action(request, session, viewer, survey, county,
                   lambda: apply_result(session, result, user=viewer.user, via="form"), "applied", "apply")


# ---------------------------------------------------------------- codes: the sheet is the issuance


def clean_base_url(value: str) -> str:
    """The survey site's public address printed in the QR codes, checked (http(s), a host, no
    query or fragment, no blanks, at most MAX_BASE_URL characters)."""
    value = (value or "").strip()
    parts = urlsplit(value) if len(value) <= MAX_BASE_URL else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment \
            or any(ch.isspace() or ord(ch) < 0x20 for ch in value):
        raise collection.SurveyError(
            f"调查网站地址“{value[:MAX_BASE_URL]}”无效:应为问卷页面对外的地址,如 https://survey.example.gov.cn"
            f"(以 http:// 或 https:// 开头,不含空格和 ? #,不超过 {MAX_BASE_URL} 个字符)")
    return value.rstrip("/")


@router.post("/surveys/{survey_id}/codes")
def codes_post(survey_id: RowId, request: Request, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
               session: Session = REQUEST_SESSION):
    """Issue the codes and send their sheet: the plain codes exist only in this file. If the file
    cannot be made, nothing is kept (the request's unit of work rolls back)."""
    survey, county = survey_for(session, viewer, survey_id, manage=True)
    from junheng.survey import codes as code_tools

    fmt = str(form.get("format") or "xlsx")
    raw_url = str(form.get("base_url") or "")[:MAX_BASE_URL + 1]
    extra = parse_int(form.get("extra") or "0", 0, MAX_EXTRA_CODES)

    def refuse(message: str, status: int = 400):
        session.rollback()
        return _survey_page(request, session, viewer, survey, county, error=message, error_at="codes",
                            status_code=status, base_url=raw_url.strip())

    if fmt not in CODE_SHEET_FORMATS:
        return refuse("访问码单的格式应为 Excel(xlsx)或 PDF。")
    if extra is None:
        return refuse(f"补发的访问码数应为 0 到 {MAX_EXTRA_CODES} 之间的整数。")
    try:
        base = clean_base_url(raw_url)
        issued = collection.issue_codes(session, survey, secret=_secret(request), extra=extra)
    except JunhengError as exc:
        return refuse(_refusal(exc), 409 if isinstance(exc, collection.SurveyNotOpen) else 400)
    if not issued:
        return refuse("每个名额都已生成访问码:如需补发(如访问码单丢失),请填写“每个名额补发”的份数。", 409)
    sections: dict[int, list] = {}
    titles: dict[int, str] = {}
    for quota, code in issued:
        titles[quota.id] = collection.quota_title(quota)
        school = quota.school.name if quota.school is not None else "全县"
        sections.setdefault(quota.id, []).append(code_tools.SheetCode(
            code, group_label(quota.group), school, code_tools.link(base, survey.public_key, code)))
    to_pdf = None
    if fmt == "pdf":
        from junheng.reports.pdf import docx_to_pdf as to_pdf
    from junheng.web.routes.reports import rendering

    with tempfile.TemporaryDirectory(prefix="junheng-codes-") as tmp:
        path = Path(tmp) / f"codes.{fmt}"
        rendering(lambda: code_tools.write_code_sheets(
            path, survey_title=survey.title, survey_link=code_tools.link(base, survey.public_key),
            sections=[code_tools.SheetSection(titles[q], rows) for q, rows in sections.items()], to_pdf=to_pdf))
        content = path.read_bytes()
    session.commit()  # the codes are kept once their sheet exists
    return download(content, CODE_SHEET_FORMATS[fmt], f"{survey.title}-访问码单-{len(issued)}个.{fmt}",
                    f"survey-{survey.id}-codes.{fmt}", private=True)


# ---------------------------------------------------------------- import of a 问卷星 export


def _export_limit(request: Request) -> int:
    from junheng.survey.exports import MAX_FILE_BYTES

    return min(int(request.app.state.settings.upload_limit_bytes), MAX_FILE_BYTES)


def import_survey(survey_id: RowId, viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    """The survey a file is imported into: checked (the viewer manages its county) before a byte
    of the body is read."""
    return survey_for(session, viewer, survey_id, manage=True)


async def import_form(request: Request, _checked=Depends(import_survey)):
    """The posted export and mapping, read only after `import_survey` and only up to the upload
    limit (the export's) plus the mapping's: 413 in Chinese beyond it."""
    limit = _export_limit(request) + MAX_MAPPING_BYTES
    return await read_form(request, limit=limit + MULTIPART_SLACK, max_files=2,
                           too_large=f"文件太大:问卷星导出文件不能超过 {megabytes(_export_limit(request))}。")


@router.post("/surveys/{survey_id}/import")
def import_post(survey_id: RowId, request: Request, checked=Depends(import_survey), form=Depends(import_form),
                viewer: Viewer = Depends(check_csrf), session: Session = REQUEST_SESSION):
    survey, county = checked
    from junheng.survey.exports import load_mapping
    from junheng.survey.service import import_responses

    folder = Path(tempfile.mkdtemp(prefix="junheng-survey-import-"))
    names: dict[Path, str] = {}
    try:
        try:
            export, shown = saved_upload(form.get("export"), folder, "export", EXPORT_KINDS,
                                         _export_limit(request), "问卷星导出文件")
            names[export] = shown
            mapping_path, names[mapping_path] = saved_upload(form.get("mapping"), folder, "mapping", MAPPING_KINDS,
                                                             MAX_MAPPING_BYTES, "列对应文件")
            mapping = load_mapping(mapping_path)
            import_responses(session, survey, export, mapping, secret=_secret(request), user=viewer.user,
                             via="upload")
        except JunhengError as exc:
            session.rollback()
            message = with_user_file_names(_refusal(exc), folder, names)
            return _survey_page(request, session, viewer, survey, county, status_code=400, error_at="import",
                                error=f"没有导入任何答卷:{message}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    session.commit()
    return RedirectResponse(with_message(f"/surveys/{survey.id}", "imported"), status_code=303)


# ---------------------------------------------------------------- downloads


@router.get("/surveys/{survey_id}/responses.{fmt}")
def responses_download(survey_id: RowId, fmt: str, viewer: Viewer = Depends(current_viewer),
                       session: Session = REQUEST_SESSION):
    """The anonymised response table (no codes, no address hashes): what the result was computed from."""
    survey, county = survey_for(session, viewer, survey_id)
    if fmt not in RESPONSE_FORMATS:
        raise HTTPException(status_code=404, detail="答卷表可下载为 CSV(.csv)或 Excel(.xlsx)。")
    from junheng.survey.service import responses_table, write_responses

    columns, rows = responses_table(session, survey)
    with tempfile.TemporaryDirectory(prefix="junheng-responses-") as tmp:
        path = Path(tmp) / f"responses.{fmt}"
        write_responses(path, columns, rows)
        content = path.read_bytes()
    return download(content, RESPONSE_FORMATS[fmt], f"{survey.title}-答卷(匿名).{fmt}",
                    f"survey-{survey.id}-responses.{fmt}", private=True)


def stored_plan(data: dict[str, Any]):
    """The SamplingPlan a survey froze (its `plan`, SamplingPlan.to_json()), for the plan files."""
    from junheng.survey.sampling import Band, SamplingPlan, SchoolQuota

    s = data.get("settings") or {}
    return SamplingPlan(
        county_code=data["county_code"], county_name=data["county_name"], year=int(data["year"]),
        population=int(data["population"]), per_mille=s.get("per_mille"), minimum=s.get("minimum"),
        parents_min_share=s.get("parents_min_share"), student_min_grade=s.get("student_min_grade"),
        active_groups=tuple(s.get("groups") or ()), total=int(data["total"]), groups=dict(data["groups"]),
        locale_basis=data["locale_basis"], locale_shares=dict(data.get("locale_shares") or {}),
        locales={k: dict(v.get("groups") or {}) for k, v in (data.get("locales") or {}).items()},
        grade_bands=[Band(b.get("name") or "", int(b["from"]), int(b["to"])) for b in data.get("grade_bands") or []],
        schools=[SchoolQuota(school_id=x["school_id"], school_name=x["school_name"], school_type=x["school_type"],
                             locale=x["locale"], students=int(x["students"]),
                             eligible_students=float(x["eligible_students"]), quotas=dict(x["quotas"]),
                             grade_bands=dict(x.get("grade_bands") or {}),
                             teaching_points=[(t["school_id"], t["school_name"]) for t in x.get("teaching_points") or []])
                 for x in data.get("schools") or []],
        county_wide=dict(data.get("county_wide") or {}), public_by_locale=dict(data.get("public_by_locale") or {}),
        notes=list(data.get("notes") or []))


@router.get("/surveys/{survey_id}/plan.{fmt}")
def plan_download(survey_id: RowId, fmt: str, viewer: Viewer = Depends(current_viewer),
                  session: Session = REQUEST_SESSION):
    survey, county = survey_for(session, viewer, survey_id)
    if fmt not in PLAN_FORMATS:
        raise HTTPException(status_code=404, detail="抽样方案可下载为 Excel(.xlsx)或 PDF(.pdf)。")
    if not survey.plan:
        raise HTTPException(status_code=404, detail="这个调查不是按抽样方案创建的,没有抽样方案可下载。")
    from junheng.reports.pdf import docx_to_pdf
    from junheng.survey.plan_files import plan_bytes
    from junheng.web.routes.reports import rendering

    try:
        plan = stored_plan(survey.plan)
    except (KeyError, TypeError, ValueError):
        raise HTTPException(status_code=500, detail="调查保存的抽样方案格式有误,无法生成文件。") from None
    content = rendering(lambda: plan_bytes(plan, fmt, to_pdf=docx_to_pdf))
    return download(content, PLAN_FORMATS[fmt], f"{plan.title}.{fmt}", f"survey-{survey.id}-plan.{fmt}", private=True)

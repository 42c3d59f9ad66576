"""The public survey page (issue 14, collection): /s/<public_key>, no login, phone first.

A respondent enters the one-time code of their card (or opens the card's QR link, which fills it
in), answers the questionnaire on one page, and submits; survey.js saves every answer as it is
chosen (POST /s/<key>/save), and without JavaScript the submit button saves everything. A reload
resumes the partial response: its id and token are in a signed HttpOnly cookie (path /s/<key>),
or the code is entered again. Unanswered questions are allowed (blank: excluded from the rates)
but the page asks to confirm first.

The page has no session, so the save and submit posts carry the response's token (an HMAC of
the response under the workspace secret, in the page): another site cannot forge them. Starts
and saves are rate limited per client address (kept only as a keyed hash) and per survey, in
the database (junheng.survey.collection.allowed): over the limit, a Chinese 429 page. Every
input is bounded: the code (32 characters), item ids and options (64), the body (64 KB).

The routes are the same in the full site and in the survey-only process (`junheng serve --only
survey`, junheng.web.survey_app).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from junheng.store.db import Database
from junheng.store.models import School
from junheng.survey import collection as c
from junheng.survey.groups import group_label
from junheng.web.app import templates
from junheng.web.files import read_form

router = APIRouter(include_in_schema=False)

COOKIE = "junheng_survey"
COOKIE_DAYS = 30
BODY_LIMIT = 64 * 1024
MAX_FIELDS = c.MAX_ITEMS + 10
ANSWER_PREFIX = "q_"
Key = Annotated[str, Path(min_length=8, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]


def _database(request: Request) -> Database:
    return request.app.state.db


def _secret(request: Request) -> str:
    return request.app.state.settings.secret_key


def _limits(request: Request) -> c.RateLimits:
    return getattr(request.app.state, "survey_limits", None) or c.RateLimits()


def _ip_hash(request: Request) -> str | None:
    from junheng.survey.privacy import keyed_hash

    address = request.client.host if request.client else None
    return keyed_hash(_secret(request), address) if address else None  # as the imports hash 来自IP


def response_token(secret: str, public_key: str, response_id: int) -> str:
    """The response's token: proves a save or submit comes from the page that holds it."""
    message = f"survey-response:{public_key}:{response_id}".encode()
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()[:40]


def _secure(request: Request) -> bool:
    setting = getattr(request.app.state.settings, "secure_cookies", None)
    return request.url.scheme == "https" if setting is None else bool(setting)


def _page(request: Request, name: str, context: dict, status: int = 200, headers: dict | None = None) -> Response:
    response = templates.TemplateResponse(request, name, context, status_code=status, headers=headers)
    response.headers["Cache-Control"] = "no-store"  # answers and codes are never kept by caches
    return response


def message_page(request: Request, title: str, message: str, status: int = 200, *,
                 survey_title: str | None = None, key: str | None = None, headers: dict | None = None) -> Response:
    return _page(request, "survey_message.html", {"title": title, "message": message, "status": status,
                                                  "survey_title": survey_title, "key": key}, status, headers)


TITLES = {404: "未找到调查", 409: "无法继续", 400: "请求有误", 429: "请稍后再试", 403: "无法提交"}


def _refused(request: Request, exc: c.SurveyError, *, survey_title: str | None = None, key: str | None = None):
    title = {c.SurveyNotOpen: "调查未开放", c.QuotaFull: "名额已满", c.CodeUsed: "已经提交过",
             c.AlreadySubmitted: "已经提交过"}.get(type(exc), TITLES.get(exc.status, "无法继续"))
    return message_page(request, title, exc.user_message(), exc.status, survey_title=survey_title, key=key)


def _too_many(request: Request, *, json: bool = False) -> Response:
    message = "提交过于频繁,请稍等一分钟后再试。"
    if json:
        return JSONResponse({"detail": message}, status_code=429, headers={"Retry-After": "60"})
    return message_page(request, "请稍后再试", message, 429, headers={"Retry-After": "60"})


def _rate_ok(request: Request, key: str, what: str) -> bool:
    """Count this request against its limits, in a unit of work of its own (a refused request
    still counts)."""
    with _database(request).session() as session:
        survey = c.survey_by_key(session, key)
        return c.allowed(session, survey, what, _ip_hash(request), _limits(request))


def _cookie_response(request: Request, key: str) -> tuple[int, str] | None:
    value = request.cookies.get(COOKIE, "")
    rid, _, token = value.partition(".")
    if not rid.isdigit() or len(rid) > 18 or not token:
        return None
    if not hmac.compare_digest(token, response_token(_secret(request), key, int(rid))):
        return None
    return int(rid), token


def _set_cookie(request: Request, response: Response, key: str, response_id: int) -> None:
    response.set_cookie(COOKIE, f"{response_id}.{response_token(_secret(request), key, response_id)}",
                        max_age=COOKIE_DAYS * 86400, path=f"/s/{key}", httponly=True, samesite="lax",
                        secure=_secure(request))


def _clear_cookie(response: Response, key: str) -> None:
    response.delete_cookie(COOKIE, path=f"/s/{key}")


def _form_context(request: Request, session, survey, response, *, confirm: list[dict] | None = None,
                  error: str | None = None) -> dict:
    q = c.questionnaire(survey, response.questionnaire)
    items = []
    for number, item in enumerate(c.shown_items(q), start=1):
        items.append({"id": item["id"], "field": ANSWER_PREFIX + item["id"], "number": number,
                      "text": item.get("text", item["id"]), "topic": item.get("topic"),
                      "options": c.options_of(q, item), "answer": (response.answers or {}).get(item["id"])})
    school = session.get(School, response.school_id).name if response.school_id else None
    return {"survey": survey, "questionnaire": q, "items": items, "response_id": response.id,
            "token": response_token(_secret(request), survey.public_key, response.id),
            "group": group_label(response.group), "school": school, "confirm": confirm, "error": error,
            "answered": sum(1 for i in items if i["answer"]), "total": len(items)}


@router.get("/s/{key}")
def survey_page(request: Request, key: Key):
    typed = request.query_params.get("c", "")[:32]
    with _database(request).session() as session:
        try:
            survey = c.survey_by_key(session, key)
        except c.SurveyNotFound as exc:
            return _refused(request, exc)
        if survey.status != "open":
            message = ("本调查尚未开始,请在调查开始后再扫码或打开链接作答。" if survey.status == "draft"
                       else "本调查已经结束,感谢您的关注。")
            return message_page(request, "调查未开放", message, survey_title=survey.title, key=key)
        found = _cookie_response(request, key)
        response = c.response_for_page(session, survey, found[0]) if found else None
        if response is not None and response.submitted_at is None:
            return _page(request, "survey_form.html", _form_context(request, session, survey, response))
        page = _page(request, "survey_code.html", {"survey": survey, "code": typed, "error": None})
        if found:
            _clear_cookie(page, key)  # a submitted or unknown response: start again from the code
        return page


@router.post("/s/{key}/start")
async def survey_start(request: Request, key: Key):
    try:
        if not _rate_ok(request, key, "start"):
            return _too_many(request)
    except c.SurveyNotFound as exc:
        return _refused(request, exc)
    form = await read_form(request, limit=BODY_LIMIT, max_fields=10)
    typed = str(form.get("code", ""))
    database = _database(request)
    try:
        with database.session() as session:
            survey = c.survey_by_key(session, key)
            response = c.start_or_resume(session, survey, typed, secret=_secret(request), ip_hash=_ip_hash(request))
            response_id = response.id
    except (c.CodeRefused, c.CodeUsed, c.QuotaFull) as exc:
        with database.session() as session:
            survey = c.survey_by_key(session, key)
            if isinstance(exc, c.CodeRefused):
                return _page(request, "survey_code.html", {"survey": survey, "code": typed[:32],
                                                           "error": exc.user_message()}, exc.status)
            return _refused(request, exc, survey_title=survey.title, key=key)
    except c.SurveyError as exc:
        return _refused(request, exc, key=key)
    redirect = RedirectResponse(f"/s/{key}", status_code=303)
    _set_cookie(request, redirect, key, response_id)
    return redirect


def _answers(form) -> dict[str, str]:
    return {name[len(ANSWER_PREFIX):]: str(value) for name, value in form.multi_items()
            if name.startswith(ANSWER_PREFIX)}


def _posted_response(session, request: Request, key: str, form):
    """The survey and the response a save or submit names, if its token is right (else 403)."""
    survey = c.survey_by_key(session, key)
    rid = str(form.get("r", ""))
    token = str(form.get("t", ""))
    if not rid.isdigit() or len(rid) > 18 or not hmac.compare_digest(
            token, response_token(_secret(request), key, int(rid))):
        raise c.SurveyError("页面已过期或来源不明,请重新打开调查链接并输入访问码后继续作答。")
    response = c.response_for_page(session, survey, int(rid))
    if response is None:
        raise c.SurveyError("没有找到您的答卷,请重新打开调查链接并输入访问码。")
    return survey, response


class _Forbidden(c.SurveyError):
    status = 403


@router.post("/s/{key}/save")
async def survey_save(request: Request, key: Key):
    """survey.js: the answers so far (JSON answer: how many are answered)."""
    try:
        if not _rate_ok(request, key, "save"):
            return _too_many(request, json=True)
    except c.SurveyNotFound as exc:
        return JSONResponse({"detail": exc.user_message()}, status_code=404)
    form = await read_form(request, limit=BODY_LIMIT, max_fields=MAX_FIELDS)
    try:
        with _database(request).session() as session:
            try:
                survey, response = _posted_response(session, request, key, form)
            except c.SurveyError as exc:
                raise _Forbidden(exc.user_message()) from None
            c.save_answers(session, survey, response, _answers(form))
            q = c.questionnaire(survey, response.questionnaire)
            shown = c.shown_items(q)
            answered = sum(1 for item in shown if (response.answers or {}).get(item["id"]))
    except c.SurveyError as exc:
        return JSONResponse({"detail": exc.user_message()}, status_code=exc.status)
    return JSONResponse({"saved": True, "answered": answered, "total": len(shown)},
                        headers={"Cache-Control": "no-store"})


@router.post("/s/{key}/submit")
async def survey_submit(request: Request, key: Key):
    try:
        if not _rate_ok(request, key, "save"):
            return _too_many(request)
    except c.SurveyNotFound as exc:
        return _refused(request, exc)
    form = await read_form(request, limit=BODY_LIMIT, max_fields=MAX_FIELDS)
    database = _database(request)
    survey_title = None
    try:
        with database.session() as session:
            try:
                survey, response = _posted_response(session, request, key, form)
            except c.SurveyError as exc:
                raise _Forbidden(exc.user_message()) from None
            survey_title = survey.title
            c.save_answers(session, survey, response, _answers(form))
            missing = c.unanswered(survey, response)
            if missing and form.get("confirm") != "1":
                # saved, not submitted: ask whether to submit with these questions blank
                numbers = {item["id"]: n for n, item in enumerate(c.shown_items(
                    c.questionnaire(survey, response.questionnaire)), start=1)}
                confirm = [{"number": numbers.get(item["id"]), "text": item.get("text", item["id"]),
                            "field": ANSWER_PREFIX + item["id"]} for item in missing]
                return _page(request, "survey_form.html", _form_context(request, session, survey, response, confirm=confirm))
            c.submit(session, survey, response)
    except c.AnswerRefused as exc:
        return _refused(request, exc, survey_title=survey_title, key=key)
    except c.SurveyError as exc:
        return _refused(request, exc, survey_title=survey_title, key=key)
    redirect = RedirectResponse(f"/s/{key}/thanks", status_code=303)
    _clear_cookie(redirect, key)
    return redirect


@router.get("/s/{key}/thanks")
def survey_thanks(request: Request, key: Key):
    with _database(request).session() as session:
        try:
            survey = c.survey_by_key(session, key)
        except c.SurveyNotFound as exc:
            return _refused(request, exc)
        return _page(request, "survey_thanks.html", {"survey": survey})

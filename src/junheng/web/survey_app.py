"""The survey-only application (`junheng serve --only survey`): the public survey pages and
nothing else, so that a county can put this one process in front of the internet while the
platform stays on the bureau's intranet.

It serves /s/<key> (code entry, the questionnaire, saving, submitting, thanks) and the three
static files those pages use. There is no login, no administration, no /api, no county page, no
API documentation, no scheduler: every other address is a Chinese 404. The security headers,
the body ceiling and the Chinese error pages are those of the full site (junheng.web.app).
"""

from __future__ import annotations

from http import HTTPStatus
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from junheng.errors import JunhengError
from junheng.store.db import Database
from junheng.web.app import DEFAULT_MESSAGES, JunhengApp
from junheng.web.files import BodyLimitMiddleware
from junheng.workspace import Settings

STATIC_FILES = {"survey.css": "text/css", "survey.js": "text/javascript", "favicon.svg": "image/svg+xml"}


def create_survey_app(settings: Settings, database: Database | None = None) -> FastAPI:
    from junheng.web.routes import survey_public

    app = JunhengApp(title="均衡 junheng 问卷调查", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.db = database or Database(settings.database_url)
    app.add_middleware(BodyLimitMiddleware)
    app.include_router(survey_public.router)
    static = resources.files("junheng.web").joinpath("static")

    @app.get("/static/{name}", include_in_schema=False)
    def static_file(name: str):
        if name not in STATIC_FILES:
            raise StarletteHTTPException(status_code=404)
        return FileResponse(str(static.joinpath(name)), media_type=STATIC_FILES[name],
                            headers={"Cache-Control": "public, max-age=3600"})

    def page(request: Request, status: int, message: str):
        return survey_public.message_page(request, survey_public.TITLES.get(status, "出错了"), message, status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail
        if status_phrase(exc.status_code) == detail or not isinstance(detail, str):
            detail = DEFAULT_MESSAGES.get(exc.status_code, f"请求未能完成(HTTP {exc.status_code})")
        if exc.status_code == 404:
            detail = "页面不存在:本网站只提供问卷调查页面,请检查链接或重新扫描二维码。"
        if request.url.path.endswith("/save"):
            return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)
        response = page(request, exc.status_code, detail)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return await _http_error(request, StarletteHTTPException(status_code=404))

    @app.exception_handler(JunhengError)
    async def _user_error(request: Request, exc: JunhengError):
        return page(request, getattr(exc, "status", 400), exc.user_message())

    return app


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def create_survey_app_from_environment() -> FastAPI:
    """The app for `junheng serve --only survey --workers N` (each worker builds its own)."""
    import os
    from pathlib import Path

    from junheng.services import open_database

    workspace = os.environ.get("JUNHENG_WORKSPACE")
    database, settings = open_database(Path(workspace) if workspace else None, migrate=False)
    return create_survey_app(settings, database)

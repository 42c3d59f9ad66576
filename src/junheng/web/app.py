"""The web application: server-rendered pages (zh-CN) and the JSON API, over the store."""

from __future__ import annotations

from contextlib import asynccontextmanager
from http import HTTPStatus
from importlib import resources

import jinja2
import markupsafe
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from junheng.engine.wording import num
from junheng.errors import JunhengError
from junheng.schoolyear import label as school_year_label
from junheng.store.db import Database
from junheng.typography import typeset_html
from junheng.web.assets import StaticAssets
from junheng.web.deps import PASSWORD_CHANGE_MESSAGE, PASSWORD_CHANGE_PATH, LoginRequired, PasswordChangeRequired
from junheng.web.files import BodyLimitMiddleware
from junheng.web.security import AllowOptions, SecurityHeaders
from junheng.workspace import Settings

PACKAGE = resources.files("junheng.web")


FRAGMENT_MARK = "<!--junheng-fragment:{}-->"


class _ChineseTemplate(jinja2.Template):
    """Pages show Chinese punctuation in Chinese text (junheng.typography); the templates and the
    messages are written with ASCII marks, and form values and data attributes stay untouched.

    A page may hold fragments rendered (and typeset) before: `{{ fragment("name") }}` leaves a
    comment that typesetting passes over, replaced afterwards by the context's
    `fragments["name"]` (web/routes/pages.py keeps a stored run's fragments, so a page view
    renders and typesets only the rest)."""

    def render(self, *args, **kwargs) -> str:
        html = typeset_html(super().render(*args, **kwargs))
        fragments = (args[0] if args and isinstance(args[0], dict) else kwargs).get("fragments") or {}
        for name, text in fragments.items():
            html = html.replace(FRAGMENT_MARK.format(name), text, 1)
        return html


def _fragment(name: str) -> markupsafe.Markup:
    return markupsafe.Markup(FRAGMENT_MARK.format(name))


def _environment() -> jinja2.Environment:
    """The one Jinja environment of the site. Templates are compiled once per process and never
    checked for changes (auto_reload off) unless JUNHENG_TEMPLATE_RELOAD=1 (editing templates
    on a development server); `warm_templates` compiles them all at start-up."""
    import os

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(PACKAGE.joinpath("templates"))),
                              autoescape=jinja2.select_autoescape(), auto_reload=os.environ.get("JUNHENG_TEMPLATE_RELOAD") == "1",
                              cache_size=-1)  # every template kept (there are a few dozen)


templates = Jinja2Templates(env=_environment())
templates.env.template_class = _ChineseTemplate
templates.env.globals["fragment"] = _fragment
ASSETS = StaticAssets(directory=str(PACKAGE.joinpath("static")))  # one per process: hashes and gzip kept
templates.env.globals["static"] = ASSETS.url  # {{ static("app.css") }} → /static/app.css?v=<hash>
# Pages and JSON are compressed for clients that accept gzip (a county page: 38 KB → 5 KB) at a
# moderate level (about 0.3 ms for a page); static files come compressed already (web.assets),
# and files that are compressed by nature are sent as they are.
GZIP_LEVEL = 5
NOT_COMPRESSED = DEFAULT_EXCLUDED_CONTENT_TYPES + (
    "application/pdf", "application/octet-stream",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
DEFAULT_MESSAGES = {  # Chinese for the errors Starlette raises itself (unknown path, wrong method, ...)
    400: "请求格式有误", 401: "请先登录", 403: "没有权限", 404: "未找到该地址或资源",
    405: "该地址不支持此请求方法", 413: "上传的内容过大", 415: "不支持的内容类型",
}
templates.env.filters["schoolyear"] = school_year_label  # 2025 → 2025—2026 学年, the one way it is written
templates.env.filters["num"] = num  # numbers as the reports write them: 1 人, 37100 元, 4.50 m²


class JunhengApp(FastAPI):
    """FastAPI with the security headers and the OPTIONS answer (junheng.web.security) around
    everything, Starlette's ServerErrorMiddleware included: an unexpected 500 carries them too."""

    def build_middleware_stack(self):
        return SecurityHeaders(AllowOptions(super().build_middleware_stack(), lambda: self.router.routes))


def warm_templates() -> int:
    """Compile every template of the site now (each is compiled once per process and kept)."""
    names = templates.env.list_templates(extensions=["html"])
    for name in names:
        templates.env.get_template(name)
    return len(names)


def warm_up(app: FastAPI, *, budget_s: float = 20.0) -> dict:
    """What a server process prepares before it answers anyone, so that no user's request pays
    for it: the modules a request imports, the data format catalogue and the standards, every
    template compiled, and from the store each county's current evaluation, its year progress
    and its page's result fragments (junheng.store.evaluations.warm; a run not stored yet is
    evaluated and stored, within `budget_s`). Returns what was done (for the log and the tests)."""
    import time

    started = time.monotonic()
    import junheng.data.importer  # noqa: F401 (a save's validation)
    import junheng.engine.evaluate  # noqa: F401 (an evaluation not stored yet)
    from junheng.data.catalog import catalog
    from junheng.standards.loader import available_ids, find_standard_by_id
    from junheng.store.evaluations import evaluate_stored, warm
    from junheng.store.models import OrgNode
    from junheng.web.routes.pages import result_fragments, standards_folder_of

    catalog()
    folders = [standards_folder_of(app.state.settings)]
    for standard_id in available_ids(folders):
        find_standard_by_id(standard_id, folders)
    done = {"templates": warm_templates(), "static_files": ASSETS.warm()}
    done |= warm(app.state.db, budget_s=budget_s)
    from sqlalchemy import select

    from junheng.engine.evaluate import NothingToEvaluate

    fragments = 0
    with app.state.db.session() as session:
        for county in session.scalars(select(OrgNode).where(OrgNode.kind == "county", OrgNode.deleted_at.is_(None))
                                      .order_by(OrgNode.code)):
            if time.monotonic() - started > budget_s:
                break
            try:
                result, run, _ = evaluate_stored(session, county.code)
            except NothingToEvaluate:
                continue
            result_fragments(str(app.state.db.url), folders[0], county, result, run)
            fragments += 1
    done["fragments"] = fragments
    done["seconds"] = round(time.monotonic() - started, 2)
    return done


def _lifespan(warm: bool):
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if warm:
            import logging

            import anyio.to_thread

            done = await anyio.to_thread.run_sync(warm_up, app)
            app.state.warmed = done
            logging.getLogger("junheng.web").info("warmed up: %s", done)
        yield

    return lifespan


def create_app(settings: Settings, database: Database | None = None, *, warm: bool = False) -> FastAPI:
    """The site. With `warm` (what `junheng serve` asks for) the process prepares its caches at
    start-up (`warm_up`), before the server accepts connections."""
    # The API documentation is our own page (api_docs.html): Swagger UI served from /static/vendor
    # with its settings in static/api-docs.js, not FastAPI's page, which loads Swagger UI from a CDN
    # (absent on a closed county intranet) and starts it with an inline script (refused by the CSP).
    app = JunhengApp(title="均衡 junheng API", version="1", docs_url=None,
                     openapi_url="/api/v1/openapi.json", redoc_url=None, lifespan=_lifespan(warm))
    app.state.settings = settings
    app.state.db = database or Database(settings.database_url)
    app.state.warmed = None
    app.add_middleware(BodyLimitMiddleware)  # one ceiling on every body, also those FastAPI reads itself
    from junheng.web.profiling import RequestProfiler, profile_folder

    if profile_folder() is not None:  # bench/load.py --profile: CPU profile of every request (pyinstrument)
        app.add_middleware(RequestProfiler, folder=profile_folder())
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=GZIP_LEVEL,
                       exclude_content_types=NOT_COMPRESSED)
    app.mount("/static", ASSETS, name="static")

    from junheng.web.routes import (  # data entry, review, upload, audit log
        admin,
        api,
        api_values,
        audit,
        auth,
        forms,
        pages,
        plan,
        reports,
        review,
        upload,
    )

    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(forms.router)
    app.include_router(review.router)
    app.include_router(upload.router)
    app.include_router(audit.router)
    app.include_router(api_values.router)
    app.include_router(admin.router)
    app.include_router(plan.router)  # 整改规划 (planner) and saved scenarios
    app.include_router(reports.router)  # report downloads (Word, PDF, Excel, HTML)
    from junheng.web.routes import (  # monitoring: one module per resource
        forecast,
        notifications,
        schedule,
        task_attachments,
        tasks,
        timeline,
        trends,
    )
    from junheng.web.routes import warnings as warning_pages  # not the standard library's warnings

    app.include_router(warning_pages.router)  # a county's warnings; a task made from a warning
    app.include_router(tasks.router)  # supervision tasks: list, forms, the task page
    app.include_router(task_attachments.router)  # a task's evidence files
    app.include_router(timeline.router)  # a county's timeline and year plan
    app.include_router(schedule.router)  # the city / province schedule
    app.include_router(trends.router)  # indicator trends of a county or school
    app.include_router(forecast.router)  # the enrolment forecast and its inputs
    app.include_router(notifications.router)  # the notification log and subscriptions
    from junheng.web.routes import survey_public

    app.include_router(survey_public.router)  # the public survey pages /s/<key> (also alone: web.survey_app)
    from junheng.web.routes import surveys

    app.include_router(surveys.router)  # a county's surveys and a survey's page (bureau staff)
    from junheng.web.routes import quality

    app.include_router(quality.router)  # 教育质量监测 from student scores: county and school pages, the upload

    @app.get("/api/v1/docs", include_in_schema=False, response_class=HTMLResponse)
    def api_docs(request: Request):
        return templates.TemplateResponse(request, "api_docs.html", {"openapi_url": app.openapi_url})

    def error_page(request: Request, status: int, message: str, given: bool = True) -> HTMLResponse:
        """error.html with the site's navigation, who is logged in, what a refused page needs and
        the ways on (home, back, logout): junheng.web.refusals."""
        from junheng.web.refusals import error_context, page_viewer

        with page_viewer(request) as (session, viewer):
            context = error_context(request, session, viewer, status, message, given)
            return templates.TemplateResponse(request, "error.html", context, status_code=status)

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.query_params.get("format") == "json"

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired):
        if wants_json(request):
            return JSONResponse({"detail": "请先登录"}, status_code=401)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(PasswordChangeRequired)  # a password someone else chose: change it first
    async def _password_change(request: Request, exc: PasswordChangeRequired):
        if wants_json(request):
            return JSONResponse({"detail": PASSWORD_CHANGE_MESSAGE}, status_code=403)
        return RedirectResponse(PASSWORD_CHANGE_PATH, status_code=303)

    @app.exception_handler(JunhengError)
    async def _user_error(request: Request, exc: JunhengError):
        from junheng.store.repo import CountyNotFound

        status = 404 if isinstance(exc, CountyNotFound) else 400  # the store's one county look-up
        if wants_json(request):
            return JSONResponse({"detail": exc.user_message()}, status_code=status)
        return error_page(request, status, exc.user_message())

    @app.exception_handler(StarletteHTTPException)  # also FastAPI's HTTPException, a subclass
    async def _http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail
        if detail == HTTPStatus(exc.status_code).phrase:  # Starlette's English default, e.g. "Not Found"
            detail = DEFAULT_MESSAGES.get(exc.status_code, f"请求未能完成(HTTP {exc.status_code})")
        if wants_json(request):
            return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)
        given = exc.detail != HTTPStatus(exc.status_code).phrase and isinstance(detail, str)
        messages = {403: "您没有权限访问此页面。", 404: "页面不存在。"}
        message = detail if given and exc.status_code != 404 else messages.get(exc.status_code, str(detail))
        return error_page(request, exc.status_code, message, given)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        """A page's address that cannot name anything (/tasks/9223372036854775808, /tasks/abc) is
        404; a bad query or form value 422, both in Chinese (the API answers its own 422s)."""
        from junheng.web.params import PARAM_LABELS
        from junheng.web.routes.api_common import request_errors

        if any(e["loc"][:1] == ("path",) for e in exc.errors()):
            return await _http_error(request, StarletteHTTPException(status_code=404))
        refused = request_errors(exc)
        if wants_json(request):
            return refused.response()
        said = ";".join(f"{PARAM_LABELS.get(e['field'], e['field'] or '')}{e['message']}" for e in refused.errors)
        return error_page(request, 422, f"请求参数有误:{said}。")

    return app


def create_app_from_environment() -> FastAPI:
    """The app for `junheng serve --workers N`: each worker process builds its own app from the
    workspace that `serve` names in JUNHENG_WORKSPACE (the database is already migrated)."""
    import os
    from pathlib import Path

    from junheng.services import open_database

    workspace = os.environ.get("JUNHENG_WORKSPACE")
    database, settings = open_database(Path(workspace) if workspace else None, migrate=False)
    return create_app(settings, database, warm=True)

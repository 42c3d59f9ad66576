"""The web application: server-rendered pages (zh-CN) and the JSON API, over the store."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from junheng.engine.wording import num
from junheng.errors import JunhengError
from junheng.store.db import Database
from junheng.web.deps import LoginRequired
from junheng.workspace import Settings

PACKAGE = resources.files("junheng.web")
templates = Jinja2Templates(directory=str(PACKAGE.joinpath("templates")))
templates.env.filters["num"] = num  # numbers as the reports write them: 1 人, 37100 元, 4.50 m²


def create_app(settings: Settings, database: Database | None = None) -> FastAPI:
    app = FastAPI(title="均衡 junheng API", version="1", docs_url="/api/v1/docs",
                  openapi_url="/api/v1/openapi.json", redoc_url=None)
    app.state.settings = settings
    app.state.db = database or Database(settings.database_url)
    app.mount("/static", StaticFiles(directory=str(PACKAGE.joinpath("static"))), name="static")

    from junheng.web.routes import (  # data entry, review, upload, audit log
        api,
        api_values,
        audit,
        auth,
        forms,
        pages,
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

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.query_params.get("format") == "json"

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired):
        if wants_json(request):
            return JSONResponse({"detail": "请先登录"}, status_code=401)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(JunhengError)
    async def _user_error(request: Request, exc: JunhengError):
        if wants_json(request):
            return JSONResponse({"detail": exc.user_message()}, status_code=400)
        return templates.TemplateResponse(request, "error.html", {"status": 400, "message": exc.user_message()},
                                          status_code=400)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        if wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        messages = {403: "您没有权限访问此页面。", 404: "页面不存在。"}
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code not in (404,) else messages.get(
            exc.status_code, str(exc.detail))
        return templates.TemplateResponse(request, "error.html", {"status": exc.status_code, "message": message},
                                          status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = [{"field": ".".join(str(p) for p in e["loc"][1:]), "message": e["msg"]} for e in exc.errors()]
        return JSONResponse({"detail": "请求参数有误", "errors": errors}, status_code=422)

    return app

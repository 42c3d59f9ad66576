"""The survey-only process (`junheng serve --only survey`, junheng.web.survey_app): the public
survey pages and their three static files, nothing else — no login, no administration, no API,
no county pages, no API documentation — with the site's security headers and Chinese errors;
`serve --only survey` runs it without the scheduler."""

from __future__ import annotations

import builders
import pytest
from test_survey_public import survey_store

from junheng.web.security import PAGE_POLICY

CLOSED_PATHS = ["/", "/login", "/logout", "/admin", "/admin/users", "/overview", f"/counties/{builders.COUNTY}",
                "/schools/P1", "/api/v1/counties", f"/api/v1/counties/{builders.COUNTY}", "/api/v1/docs",
                "/api/v1/openapi.json", "/openapi.json", "/docs", "/redoc", "/account/password", "/upload",
                "/tasks", "/static/app.js", "/static/app.css", "/static/vendor/echarts.min.js",
                "/static/../app.py", "/static/survey.js/../app.js"]


def route_paths(app) -> list[str]:
    """Every path the app routes (included routers opened; the survey router has no prefix)."""
    found = []
    for route in app.routes:
        inner = getattr(route, "original_router", None)
        found += [r.path for r in inner.routes] if inner is not None else [route.path]
    return sorted(set(found))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    found = survey_store(tmp_path_factory.mktemp("survey-only"))
    yield found
    found.database.engine.dispose()


@pytest.mark.parametrize("path", CLOSED_PATHS)
def test_everything_but_the_survey_is_404(store, path):
    client = store.client()
    for method in ("GET", "POST"):
        answer = client.request(method, path, follow_redirects=False)
        assert answer.status_code in (404, 405), (method, path, answer.status_code)
        if answer.status_code == 404 and method == "GET":
            assert "只提供问卷调查页面" in builders.plain(answer.text)
            assert "/login" not in answer.text and "/admin" not in answer.text
        assert answer.headers["content-security-policy"] == PAGE_POLICY


def test_the_survey_pages_and_their_files_are_served_with_the_headers(store):
    client = store.client()
    page = client.get(f"/s/{store.key}")
    assert page.status_code == 200 and 'id="code-form"' in page.text
    assert page.headers["content-security-policy"] == PAGE_POLICY and page.headers["x-frame-options"] == "DENY"
    for name in ("survey.css", "survey.js", "favicon.svg"):
        assert client.get(f"/static/{name}").status_code == 200, name
    assert "<script>" not in page.text and " style=" not in page.text  # no inline script or style
    assert client.app.openapi_url is None and client.app.docs_url is None
    paths = route_paths(client.app)
    assert paths == ["/s/{key}", "/s/{key}/save", "/s/{key}/start", "/s/{key}/submit", "/s/{key}/thanks",
                     "/static/{name}"]


def test_serve_only_survey_runs_the_survey_app_without_the_scheduler(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from junheng import services
    from junheng.cli import app
    from junheng.cli import workspace as workspace_cli
    from junheng.monitor import scheduler
    from junheng.store.db import Database
    from junheng.web import serving
    from junheng.workspace import Settings

    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    settings = Settings(database_url=database.url, secret_key="s", uploads=tmp_path / "uploads")
    served, started = [], []
    monkeypatch.setattr(services, "open_database", lambda *a, **k: (database, settings))
    monkeypatch.setattr(workspace_cli, "_check_port_free", lambda host, port: None)
    monkeypatch.setattr(serving, "run", lambda target, **options: served.append(target))
    monkeypatch.setattr(scheduler, "start_scheduler", lambda *a, **k: started.append(1))
    result = CliRunner().invoke(app, ["serve", "--only", "survey", "--workers", "1", "-w", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "只提供问卷页面" in builders.plain(result.output) and not started
    routes = route_paths(served[0])
    assert "/s/{key}" in routes and "/login" not in routes and not any(p.startswith("/api") for p in routes)
    result = CliRunner().invoke(app, ["serve", "--only", "survey", "--workers", "2", "-w", str(tmp_path)])
    assert served[1] == "junheng.web.survey_app:create_survey_app_from_environment" and not started
    refused = CliRunner().invoke(app, ["serve", "--only", "admin", "-w", str(tmp_path)])
    assert refused.exit_code == 2
    database.engine.dispose()

"""Security headers on every face (junheng.web.security): pages, the API, static files, error
pages (a 500 too), redirects and the API documentation carry a Content-Security-Policy without
inline script, X-Frame-Options, Referrer-Policy and X-Content-Type-Options; the HTML report
opened in the browser gets a policy that allows its own inline style and no script. No template
and no rendered page holds an inline script, an on* handler, a javascript: URL or a style
attribute (the small behaviours live in static/app.js, behind data attributes).

The world: web_world's county 990001 (SQLite)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from web_world import COUNTY, YEAR

from junheng.store.models import School, User
from junheng.store.users import create_token
from junheng.web.security import DOCUMENT_POLICY, PAGE_POLICY

WEB = resources.files("junheng.web")
TEMPLATES = Path(str(WEB.joinpath("templates")))
STATIC = Path(str(WEB.joinpath("static")))
FIXED = {"x-frame-options": "DENY", "referrer-policy": "same-origin", "x-content-type-options": "nosniff"}


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        assert name not in out, f"directive {name} given twice"
        out[name] = values
    return out


def assert_secured(response, policy: str = PAGE_POLICY) -> None:
    for name, value in FIXED.items():
        assert response.headers.get(name) == value, (response.url, name, response.headers.get(name))
    assert response.headers.get("content-security-policy") == policy, response.url
    assert len(response.headers.get_list("content-security-policy")) == 1


# ---------------------------------------------------------------- the policy itself


def test_the_page_policy_allows_scripts_from_our_files_only():
    found = directives(PAGE_POLICY)
    assert found["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no host
    assert found["default-src"] == ["'self'"]
    assert found["object-src"] == ["'none'"]
    assert found["base-uri"] == ["'self'"]
    assert found["frame-ancestors"] == ["'none'"]
    assert found["form-action"] == ["'self'"]
    # <style> elements only from files; inline style attributes for ECharts' own tooltip DOM
    assert found["style-src"] == ["'self'"]
    assert found["style-src-attr"] == ["'unsafe-inline'"]
    assert not any("http" in v or v == "*" for values in found.values() for v in values)


def test_the_document_policy_allows_its_inline_style_and_no_script():
    found = directives(DOCUMENT_POLICY)
    assert found["default-src"] == ["'none'"]
    assert "script-src" not in found  # falls back to default-src 'none'
    assert found["style-src"] == ["'unsafe-inline'"]
    assert found["img-src"] == ["data:"]
    assert found["frame-ancestors"] == ["'none'"]
    assert found["form-action"] == ["'none'"]


# ---------------------------------------------------------------- every face carries the headers


def test_pages_redirects_and_error_pages(web_world):
    anonymous = TestClient(web_world.app())
    redirect = anonymous.get(f"/counties/{COUNTY}", follow_redirects=False)
    assert redirect.status_code == 303 and redirect.headers["location"].startswith("/login")
    assert_secured(redirect)
    assert_secured(anonymous.get("/login"))
    county = web_world.login("county")
    page = county.get(f"/counties/{COUNTY}")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert_secured(page)
    missing = county.get("/no-such-page")
    assert missing.status_code == 404 and "页面不存在" in missing.text
    assert_secured(missing)
    unknown = county.get("/schools/NOSUCH")  # the store's refusal, on the error page
    assert unknown.status_code == 400 and "error" in unknown.text
    assert_secured(unknown)
    refused = web_world.login("school").get(f"/counties/{COUNTY}/review")
    assert refused.status_code == 403
    assert_secured(refused)


def test_api_responses_success_and_error(web_world):
    with web_world.database.session() as s:
        token = create_token(s, s.scalar(select(User).where(User.username == "county")), "测试")
    client = TestClient(web_world.app())
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "county"
    assert_secured(me)
    anonymous = client.get("/api/v1/me")
    assert anonymous.status_code == 401 and anonymous.json()["detail"].startswith("请先登录")
    assert_secured(anonymous)
    assert_secured(client.get("/api/v1/openapi.json"))


def test_static_files(web_world):
    client = TestClient(web_world.app())
    for path in ("/static/app.js", "/static/app.css", "/static/vendor/echarts/echarts.min.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_secured(response)
    missing = client.get("/static/no-such-file.js")
    assert missing.status_code == 404
    assert_secured(missing)


def test_an_unexpected_server_error_carries_them_too(web_world):
    app = web_world.app()

    @app.get("/__test_boom", include_in_schema=False)
    def boom():
        raise RuntimeError("boom")

    response = TestClient(app, raise_server_exceptions=False).get("/__test_boom")
    assert response.status_code == 500
    assert_secured(response)


def test_the_html_report_keeps_its_inline_style_under_its_own_policy(web_world):
    response = web_world.login("county").get(f"/counties/{COUNTY}/report.html?year={YEAR}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert response.headers["content-disposition"].startswith("inline")
    assert "<style>" in response.text  # a standalone document with its own stylesheet
    assert_secured(response, DOCUMENT_POLICY)
    assert "<script" not in response.text.lower()


def test_a_route_s_own_policy_is_kept(web_world):
    """A response that sets a Content-Security-Policy itself keeps it (added, never doubled)."""
    from fastapi.responses import PlainTextResponse

    app = web_world.app()

    @app.get("/__test_own_policy", include_in_schema=False)
    def own():
        return PlainTextResponse("x", headers={"Content-Security-Policy": "default-src 'none'"})

    response = TestClient(app).get("/__test_own_policy")
    assert response.headers.get_list("content-security-policy") == ["default-src 'none'"]
    assert response.headers["x-frame-options"] == "DENY"


# ---------------------------------------------------------------- the API documentation works offline


def test_the_api_docs_load_swagger_ui_from_our_own_files(web_world):
    client = TestClient(web_world.app())
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert_secured(docs)
    assert "http://" not in docs.text and "https://" not in docs.text  # no CDN: county intranets are closed
    sources = re.findall(r'(?:src|href)="(/static/[^"]+)"', docs.text)
    paths = {source.split("?v=", 1)[0] for source in sources}  # versioned URLs (web.assets)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in paths and "/static/api-docs.js" in paths
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert_no_inline_behaviour(docs.text, "/api/v1/docs")


# ---------------------------------------------------------------- no inline script in our markup


class InlineFinder(HTMLParser):
    """Collects inline scripts, on* attributes, javascript: URLs and style attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name == "style":
                self.found.append(f"<{tag} style=…>")
            if value and re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")
        if tag == "script":
            if not dict(attrs).get("src"):
                self.found.append("<script> without src")
            self.in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.found.append(f"<script> body: {data.strip()[:40]}")


def inline_behaviour(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


def assert_no_inline_behaviour(html: str, where: str) -> None:
    assert inline_behaviour(html) == [], where


def test_the_finder_finds_what_it_looks_for():
    """The scan below would catch each kind it is meant to catch."""
    found = inline_behaviour('<form onsubmit="return confirm(1)"><a href=" JavaScript:x">a</a><p style="x">'
                             '<script>alert(1)</script><script src="/static/app.js"></script>')
    assert found == ["<form onsubmit=…>", "<a href=javascript:…>", "<p style=…>", "<script> without src",
                     "<script> body: alert(1)"]


TEMPLATE_FILES = sorted(TEMPLATES.glob("**/*.html"))


def test_the_templates_folder_is_scanned():
    names = {p.name for p in TEMPLATE_FILES}
    assert {"base.html", "county.html", "review.html", "school.html", "forecast.html"} <= names


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: p.name)
def test_no_template_holds_an_inline_script_handler_or_style(path):
    text = path.read_text("utf-8")
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)  # Jinja comments
    assert inline_behaviour(text) == [], path.name
    # and nothing that the parser might not see as an attribute (inside Jinja expressions, etc.)
    assert not re.search(r"\son[a-z]+\s*=", text, re.I), path.name
    assert "javascript:" not in text.lower(), path.name


def test_the_script_files_the_pages_name_exist():
    for path in TEMPLATE_FILES:
        for source in re.findall(r'<script src="/static/([^"]+)"', path.read_text("utf-8")):
            assert (STATIC / source).is_file(), (path.name, source)


def rendered_pages(world) -> dict[str, str]:
    county = world.login("county")
    with world.database.session() as s:
        school, draft = [x.code for x in s.scalars(select(School).where(School.code != "Q1").order_by(School.code))][:2]
    world.set_status(school, "submitted")  # the review page lists it, with its select-all checkbox
    world.set_status(draft, "draft")  # its form offers the deletion
    pages = {
        "county": f"/counties/{COUNTY}", "school": f"/schools/{school}",
        "school year form": f"/schools/{draft}/years/{YEAR}", "county year form": f"/counties/{COUNTY}/years/{YEAR}",
        "review": f"/counties/{COUNTY}/review", "forecast": f"/counties/{COUNTY}/forecast",
        "trends": f"/counties/{COUNTY}/trends", "overview": "/overview", "error": "/no-such-page",
    }
    out = {name: county.get(url) for name, url in pages.items()}
    for name, response in out.items():
        assert response.status_code == (404 if name == "error" else 200), (name, response.text[:300])
    out = {name: r.text for name, r in out.items()}
    out["login"] = TestClient(world.app()).get("/login").text
    return out


def test_rendered_pages_hold_no_inline_behaviour_and_load_app_js(web_world):
    pages = rendered_pages(web_world)
    for name, html in pages.items():
        assert_no_inline_behaviour(html, name)
        assert re.search(r'<script src="/static/app\.js\?v=[0-9a-f]{12}" defer></script>', html), name
    # the behaviours moved to data attributes
    assert 'data-select-all="items"' in pages["review"]
    assert 'data-require-checked="items" data-require-message="请先勾选要审核通过的数据"' in pages["review"]
    assert f'data-open-path="/counties/{COUNTY}/years/"' in pages["county year form"]
    assert "data-confirm=" in pages["school"] and "data-confirm=" in pages["school year form"]


class ConfirmForms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "form" and "data-confirm" in dict(attrs):
            self.forms.append(dict(attrs))


def test_a_hostile_school_name_stays_text_in_the_confirm_question(web_world):
    name = 'X" onmouseover="alert(1)" data-x=\'<img src=x onerror=alert(2)>'
    with web_world.database.session() as s:
        school = s.scalars(select(School).order_by(School.code)).first()
        school.name, code = name, school.code
    web_world.set_status(code, "draft")  # its year form offers the deletion
    county = web_world.login("county")
    for url, expected in [(f"/schools/{code}", f"确定删除学校“{name}”吗?删除后不参与评估,可在“已删除的数据”中恢复。"),
                          (f"/schools/{code}/years/{YEAR}", None)]:
        html = county.get(url).text
        parser = ConfirmForms()
        parser.feed(html)
        assert len(parser.forms) == 1, url
        form = parser.forms[0]
        assert set(form) <= {"method", "action", "class", "data-confirm"}, form  # no attribute smuggled in
        assert name in form["data-confirm"]
        if expected is not None:
            assert form["data-confirm"] == expected
        assert_no_inline_behaviour(html, url)

"""Integers beyond what the database holds never reach it (issue 11, defect 15).

Every route of the app with an integer in its path or query (found by walking app.routes, so a
new route is covered without editing this file) gets 2⁶³ and 99999999999999999999 there, as the
admin, who passes every permission check: the answer is a refusal in Chinese (404 for a page's
address, 422 otherwise), never a 500. Integers that handlers read themselves (form fields,
filters) and a lone surrogate in a JSON value are checked by explicit cases below.
"""

from __future__ import annotations

import re
import typing

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from web_world import COUNTY, CSRF, PASSWORD, YEAR

from junheng.store.db import Database
from junheng.web.app import create_app
from junheng.workspace import Settings

HUGE = (2**63, 99999999999999999999)
CJK = re.compile(r"[\u4e00-\u9fff]")
SCHOOL = "P1"


def app_routes(routes) -> typing.Iterator[APIRoute]:
    """Every APIRoute of the app, through included routers."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from app_routes(route.original_router.routes)
        elif isinstance(route, APIRoute):
            yield route


def int_params(dependant) -> list[tuple[str, str]]:
    """(location, name) of every integer path or query parameter, the route's dependencies' too."""
    out = []
    for location, params in (("path", dependant.path_params), ("query", dependant.query_params)):
        for p in params:
            if _is_int(p.field_info.annotation):
                out.append((location, p.name))
    for sub in dependant.dependencies:
        out += [x for x in int_params(sub) if x not in out]
    return out


def _is_int(annotation) -> bool:
    if annotation is int:
        return True
    return any(_is_int(a) for a in typing.get_args(annotation))


def _routes_with_ints() -> list[tuple[str, str, str, str]]:
    app = create_app(Settings(database_url="sqlite://", secret_key="x", uploads="/nonexistent"), Database("sqlite://"))
    cases = []
    for route in app_routes(app.routes):
        for location, name in int_params(route.dependant):
            for method in sorted(route.methods - {"HEAD"}):
                cases.append((method, route.path, location, name))
    return cases


ROUTES = _routes_with_ints()


def test_the_routes_with_integers_are_found():
    """The walk finds the routes the issue names (a walk finding nothing would pass every case)."""
    paths = {path for _, path, _, _ in ROUTES}
    for expected in ("/schools/{code}/years/{year}", "/counties/{code}/years/{year}", "/tasks/{task_id}",
                     "/tasks/{task_id}/attachments/{attachment_id}", "/admin/users/{user_id}", "/counties/{code}/audit",
                     "/warnings/{warning_id}/task", "/notifications/subscriptions/{subscription_id}/{action}",
                     "/api/v1/schools/{code}/years/{year}", "/counties/{code}/review"):
        assert expected in paths
    assert len(ROUTES) >= 45


def _upper_bound(field_info) -> int | None:
    """The `le` a parameter's type declares (junheng.web.params), through an Optional too."""
    metadata = list(field_info.metadata)
    for arg in typing.get_args(field_info.annotation):
        for extra in getattr(arg, "__metadata__", ()):
            metadata += getattr(extra, "metadata", [extra])
    bounds = [m.le for m in metadata if hasattr(m, "le") and m.le is not None]
    return min(bounds) if bounds else None


def test_every_integer_parameter_has_a_bounded_type():
    """A bare `int` is refused here even where the handler happens not to reach the database."""
    app = create_app(Settings(database_url="sqlite://", secret_key="x", uploads="/nonexistent"), Database("sqlite://"))
    unbounded = []
    for route in app_routes(app.routes):
        for params in (route.dependant.path_params, route.dependant.query_params):
            for p in params:
                if _is_int(p.field_info.annotation):
                    bound = _upper_bound(p.field_info)
                    if bound is None or bound > 2**63 - 1:
                        unbounded.append((route.path, p.name))
    assert unbounded == []


def _default(name: str, path: str) -> str:
    if name == "code":
        return SCHOOL if path.startswith(("/schools", "/api/v1/schools")) else COUNTY
    if name == "action":
        return "pause"
    if name in ("year", "prefill"):
        return str(YEAR)
    return "1"


def _url(path: str, location: str, name: str, value: int) -> str:
    names = re.findall(r"{(\w+)}", path)
    url = path
    for n in names:
        url = url.replace("{" + n + "}", str(value) if (location == "path" and n == name) else _default(n, path))
    return url + (f"?{name}={value}" if location == "query" else "")


@pytest.fixture(scope="module")
def admin(tmp_path_factory, web_template):
    from web_world import web_build_world

    world = web_build_world(tmp_path_factory.mktemp("bounded"), web_template)
    client = TestClient(world.app(), raise_server_exceptions=False)
    assert client.post("/login", data={"username": "admin", "password": PASSWORD},
                       follow_redirects=False).status_code == 303
    csrf = CSRF.search(client.get("/account/password").text).group(1)
    yield client, csrf
    world.database.engine.dispose()


def _send(client, csrf: str, method: str, url: str, **extra):
    if url.startswith("/api/"):
        headers = {"X-CSRF-Token": csrf}
        body = {"values": {"students_primary": 1}} if method == "PUT" else None
        return client.request(method, url, headers=headers, json=body, follow_redirects=False)
    if method == "GET":
        return client.get(url, follow_redirects=False)
    return client.request(method, url, data={"csrf_token": csrf, **extra}, follow_redirects=False)


@pytest.mark.parametrize("value", HUGE, ids=["2**63", "20 nines"])
@pytest.mark.parametrize(("method", "path", "location", "name"), ROUTES,
                         ids=[f"{m} {p} {n}" for m, p, _, n in ROUTES])
def test_an_integer_beyond_the_database_is_refused_in_chinese(admin, method, path, location, name, value):
    client, csrf = admin
    response = _send(client, csrf, method, _url(path, location, name, value))
    assert response.status_code < 500, response.text[:500]
    expected = 404 if location == "path" and not path.startswith("/api/") else 422
    assert response.status_code == expected, response.text[:500]
    assert CJK.search(response.text), response.text[:500]
    assert "Traceback" not in response.text and "Input should be" not in response.text


def test_a_page_address_with_a_huge_number_is_a_chinese_404_page(admin):
    client, _ = admin
    response = client.get(f"/tasks/{2**63}")
    assert response.status_code == 404 and "页面不存在" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_a_huge_query_number_is_a_chinese_422_naming_the_parameter(admin):
    client, _ = admin
    page = client.get(f"/counties/{COUNTY}/audit?page={2**63}")
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "页码" in page.text and "1000000" in page.text
    api = client.get(f"/api/v1/schools/{SCHOOL}/years/{2**63}")
    assert api.status_code == 422 and api.json()["detail"] == "请求参数有误"
    assert api.json()["errors"] == [{"field": "year", "message": "应不大于 2100", "expected": None, "value": None}]


# ---------------------------------------------------------------- integers handlers read themselves

FORM_CASES = [  # (method, url, form data): numbers in form fields and filters
    ("GET", f"/counties/{COUNTY}/audit?user={2**63}", {}),
    ("GET", f"/counties/{COUNTY}/audit?user=%C2%B2", {}),  # "²": isdigit() but no int
    ("GET", f"/counties/{COUNTY}/warnings?page={2**63}", {}),
    ("GET", f"/counties/{COUNTY}/report.docx?year={2**63}", {}),
    ("GET", f"/counties/{COUNTY}/report.docx?year=%C2%B2", {}),
    ("POST", f"/counties/{COUNTY}/review", {"action": "approve", "items": [f"P1/{2**63}"]}),
    ("POST", f"/counties/{COUNTY}/review", {"action": "approve", "items": [f"P1/{10**20 - 1}"]}),
    ("POST", f"/schools/{SCHOOL}/years/{YEAR}", {"version": str(2**63), "action": "save"}),
    ("POST", f"/counties/{COUNTY}/years/{YEAR}", {"version": str(2**63), "action": "save"}),
    ("POST", f"/counties/{COUNTY}/tasks", {"title": "大数", "plan_year": str(2**63), "amount_wan": "1"}),
    ("POST", f"/counties/{COUNTY}/tasks", {"title": "大数", "owner_id": str(2**63)}),
    ("POST", f"/admin/users/1/grants", {"role": "viewer", "scope": str(2**63)}),
]


@pytest.mark.parametrize(("method", "url", "data"), FORM_CASES, ids=[f"{m} {u}" for m, u, _ in FORM_CASES])
def test_numbers_in_forms_and_filters_never_give_500(admin, method, url, data):
    client, csrf = admin
    response = _send(client, csrf, method, url, **data)
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        assert CJK.search(response.text), response.text[:500]


def test_a_review_of_a_huge_year_finds_no_record_and_approves_nothing(admin):
    client, csrf = admin
    before = client.get(f"/api/v1/schools/{SCHOOL}/years/{YEAR}").json()
    response = _send(client, csrf, "POST", f"/counties/{COUNTY}/review?format=json", action="approve",
                     items=[f"P1/{YEAR}", f"P1/{2**63}"])
    assert response.status_code == 404
    assert response.json()["detail"] == f"没有 P1/{2**63} 的记录(学年应为四位年份)。"
    assert client.get(f"/api/v1/schools/{SCHOOL}/years/{YEAR}").json() == before


# ---------------------------------------------------------------- a lone surrogate in a JSON value


@pytest.mark.parametrize("body", [
    '{"values": {"students_primary": "\\ud800"}}',
    '{"values": {"\\ud800": 1}}',
    '{"values": {"students_primary": 1}, "version": 99999999999999999999}',
])
def test_a_lone_surrogate_or_a_huge_version_in_a_put_is_a_chinese_422(admin, body):
    client, csrf = admin
    before = client.get(f"/api/v1/schools/{SCHOOL}/years/{YEAR}").json()
    response = client.put(f"/api/v1/schools/{SCHOOL}/years/{YEAR}", content=body.encode(),
                          headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text[:500]
    assert response.json()["detail"] == "请求参数有误"
    assert all(CJK.search(e["message"]) for e in response.json()["errors"]), response.text
    assert client.get(f"/api/v1/schools/{SCHOOL}/years/{YEAR}").json() == before  # nothing written


def test_a_lone_surrogate_in_a_return_note_is_a_chinese_422_and_returns_nothing(admin):
    client, csrf = admin
    before = client.get(f"/api/v1/schools/{SCHOOL}/years/{YEAR}").json()
    response = client.post(f"/api/v1/schools/{SCHOOL}/years/{YEAR}/return", content=b'{"note": "\\ud800"}',
                           headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "note" and "代理码位" in response.json()["errors"][0]["message"]
    assert client.get(f"/api/v1/schools/{SCHOOL}/years/{YEAR}").json() == before

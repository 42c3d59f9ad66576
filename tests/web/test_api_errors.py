"""The API's answers to a body that is not JSON, and OPTIONS on every face.

A malformed JSON body, a body that is not UTF-8, NaN/Infinity, a nesting too deep, or a body sent
with another Content-Type, on any /api/v1 write, gets the documented 422
(`{"detail": "请求参数有误", "errors": [{"field", "message", "expected", "value"}]}`) in Chinese,
saying where the JSON breaks, and nothing is written. OPTIONS answers 204 with `Allow` listing
every method of the path (junheng.web.security.AllowOptions); an unknown path stays 404.

The world: the API world (tests/web/conftest.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from conftest import API_A
from sqlalchemy import select

from junheng.store.models import User
from junheng.store.users import create_token

SCHOOL_YEAR = "/api/v1/schools/A-P1/years/2024"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def writers(api_module_world) -> dict[str, str]:
    """Read-write tokens of the county admin and the system admin (the world's own may read only)."""
    with api_module_world.database.session() as s:
        return {name: create_token(s, s.scalar(select(User).where(User.username == name)), "读写测试",
                                   scope="read-write") for name in ("county_admin", "admin")}


@pytest.fixture
def world(api_module_world, writers):
    api_module_world.ensure({("school_year", "A-P1/2024"): "draft"})  # writable: a refusal is the body's
    api_module_world.writers = writers
    return api_module_world


def auth(world, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.writers[username]}"}


def put(world, body: bytes, headers: dict | None = None, username: str = "county_admin"):
    with world.client() as client:
        return client.put(SCHOOL_YEAR, content=body, headers={**auth(world, username), **(headers or {})})


def only_error(response) -> str:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"] == "请求参数有误"
    assert len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert set(error) == {"field", "message", "expected", "value"}
    assert error["field"] is None and "JSON" in error["expected"]
    assert not re.search(r"[A-Za-z]{5,} [a-z]{3,}", error["message"]), error  # no English sentence
    return error["message"]


@pytest.mark.parametrize("body, fragment", [
    (b'{"values": {', "请求体不是有效的 JSON:第 1 行第 13 列有误"),
    (b'\n{"values": {"sports_area": 1,}}', "请求体不是有效的 JSON:第 2 行第 30 列有误"),
    (b"", None),  # answered by the route: 缺少请求体
    (b"\xff\xfe{}", "请求体不是 UTF-8 编码的文本(第 1 个字节无法解码)"),
    (b'{"values": {"sports_area": NaN}}', "NaN 不是 JSON 数值"),
    (b'{"values": {"sports_area": -Infinity}}', "-Infinity 不是 JSON 数值"),
    (b"[" * 100_000 + b"]" * 100_000, "嵌套层次过深"),  # FastAPI alone: a bare English 400
])
def test_a_body_that_is_not_json_is_the_documented_422(world, body, fragment):
    before = world.snapshot()
    response = put(world, body, JSON)
    if fragment is None:
        assert response.status_code == 422
        assert response.json()["errors"][0]["message"] == "缺少请求体(JSON 对象)"
    else:
        assert fragment in only_error(response)
    assert world.snapshot() == before


@pytest.mark.parametrize("content_type, said", [
    ("text/plain", "收到的是“text/plain”"),
    ("application/x-www-form-urlencoded", "收到的是“application/x-www-form-urlencoded”"),
    ("multipart/form-data; boundary=x", "收到的是“multipart/form-data; boundary=x”"),
    (None, "请求没有 Content-Type"),
])
def test_another_content_type_is_named(world, content_type, said):
    before = world.snapshot()
    headers = {"Content-Type": content_type} if content_type else {}
    message = only_error(put(world, b'{"values": {"sports_area": 10241.7}}', headers))
    assert message.startswith("请求体应为 JSON,请求头应为 Content-Type: application/json")
    assert said in message
    assert world.snapshot() == before


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "application/merge-patch+json"])
def test_json_with_its_content_types_is_still_accepted(world, content_type):
    response = put(world, b'{"values": {"sports_area": 10241.7}}', {"Content-Type": content_type})
    assert response.status_code == 200, response.text
    assert response.json()["values"]["sports_area"] == 10241.7
    world.current = None  # written: the next test resets


def test_every_api_write_refuses_malformed_json_in_chinese(world):
    """Every operation of /api/v1 that takes a body (the OpenAPI document lists them), with any
    path parameters: the body is refused before anything else is looked at."""
    before = world.snapshot()
    with world.client() as client:
        spec = client.get("/api/v1/openapi.json").json()
        writes = [(path, method) for path, item in spec["paths"].items() for method, op in item.items()
                  if method in ("post", "put", "patch") and "requestBody" in op]
        assert len(writes) >= 3, writes  # school year, county year, evaluations at least
        for path, method in writes:
            url = re.sub(r"\{[^}]+\}", lambda m: "2024" if m.group() == "{year}" else API_A, path)
            response = client.request(method.upper(), url, content=b'{"year": 2024,', headers={
                **auth(world, "admin"), **JSON})
            assert "请求体不是有效的 JSON:第 1 行第 15 列有误" in only_error(response), (method, path)
    assert world.snapshot() == before


def test_an_evaluation_without_a_body_still_runs(world):
    with world.client() as client:
        response = client.post(f"/api/v1/counties/{API_A}/evaluations", headers=auth(world, "admin"))
    assert response.status_code == 201, response.text


# ---------------------------------------------------------------- OPTIONS


def allow(response) -> set[str]:
    assert response.status_code == 204, (response.status_code, response.text[:200])
    assert response.content == b""
    return {m.strip() for m in response.headers["allow"].split(",")}


def test_options_lists_every_method_of_the_path(world):
    before = world.snapshot()
    with world.client() as client:
        assert allow(client.options(SCHOOL_YEAR)) == {"GET", "HEAD", "PUT", "OPTIONS"}  # two routes of one path
        assert allow(client.options(f"/api/v1/counties/{API_A}/evaluations")) == {"GET", "HEAD", "POST", "OPTIONS"}
        assert allow(client.options("/login")) == {"GET", "HEAD", "POST", "OPTIONS"}
        assert allow(client.options(f"/counties/{API_A}")) == {"GET", "HEAD", "OPTIONS"}
        assert allow(client.options("/static/app.css")) == {"GET", "HEAD", "OPTIONS"}
        response = client.options("/api/v1/me")
        assert allow(response) == {"GET", "HEAD", "OPTIONS"}
        assert response.headers["x-frame-options"] == "DENY"  # the security headers too
    assert world.snapshot() == before  # nothing ran


def test_options_on_an_unknown_path_is_404(world):
    with world.client() as client:
        api = client.options("/api/v1/no-such-thing")
        assert api.status_code == 404 and api.json()["detail"] == "未找到该地址或资源"
        page = client.options("/no-such-page")
        assert page.status_code == 404 and "页面不存在" in page.text
        static = client.options("/static/no-such-file.css")
        assert static.status_code == 404


def test_other_methods_still_answer_405_with_allow(world):
    with world.client() as client:
        response = client.delete(SCHOOL_YEAR, headers=auth(world, "admin"))
    assert response.status_code == 405
    assert response.json()["detail"] == "该地址不支持此请求方法"
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "HEAD", "PUT", "OPTIONS"}  # not only GET


# ---------------------------------------------------------------- HEAD


def test_head_is_the_get_without_its_body_and_with_the_same_permission_check(world):
    before = world.snapshot()
    with world.client() as client:
        got = client.get(SCHOOL_YEAR, headers=auth(world, "admin"))
        head = client.head(SCHOOL_YEAR, headers=auth(world, "admin"))
        assert head.status_code == got.status_code == 200 and head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert int(head.headers["content-length"]) == len(got.content)
        assert head.headers["x-frame-options"] == "DENY"
        assert client.head(SCHOOL_YEAR).status_code == 401  # no token: refused as the GET is
        assert client.head("/login").status_code == 200
        assert client.head(f"/counties/{API_A}", follow_redirects=False).status_code == 303  # not logged in
        assert client.head("/api/v1/no-such-thing").status_code == 404
        assert client.head("/static/app.css").status_code == 200  # the static files answer HEAD themselves
        assert client.head(f"/api/v1/counties/{API_A}/upload").status_code in (404, 405)  # no GET: not a GET
    assert world.snapshot() == before  # a HEAD changes nothing

"""The API's access-control matrix: every role × every endpoint, allowed and refused, on SQLite
and PostgreSQL. Refused requests answer 401/403 and change nothing in the database.

Roles (tests/web/conftest.py): admin; supervisor of city 990100 (counties A and B); county_admin
and viewer of county A; school_filler of school A-P1. County B is outside the county admin's
scope, school A-P2 is the filler's neighbour, county C lies in another city.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def _web_conftest():
    """tests/web/conftest.py as pytest loaded it (`import conftest` would find tests/conftest.py)."""
    path = str(Path(__file__).with_name("conftest.py"))
    return next(m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == path)


API_A, API_B, API_C = _web_conftest().API_A, _web_conftest().API_B, _web_conftest().API_C
API_ROLES, API_YEAR = _web_conftest().API_ROLES, _web_conftest().API_YEAR

ROLES = list(API_ROLES)
EVERYONE = set(ROLES)
READ_A = {"admin", "supervisor", "county_admin", "viewer"}
READ_B = {"admin", "supervisor"}
ONLY_ADMIN = {"admin"}
CJK = re.compile(r"[\u4e00-\u9fff]")
Y = API_YEAR


def sy(code: str) -> tuple[str, str]:
    return ("school_year", f"{code}/{Y}")


def cy(code: str) -> tuple[str, str]:
    return ("county_year", f"{code}/{Y}")


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    allowed: frozenset
    body: dict | None = None
    pre: dict = field(default_factory=dict)  # row → status before the request (others approved)
    ok: int = 200

    @property
    def write(self) -> bool:
        return self.method != "GET"


def case(name, method, path, allowed, body=None, pre=None, ok=200) -> Case:
    return Case(name, method, "/api/v1" + path, frozenset(allowed), body, pre or {}, ok)


SAVE = {"values": {"sports_area": 7777.5}}
SAVE_COUNTY = {"values": {"social_recognition_rate": 91.5}}
NOTE = {"note": "请核对体育运动场馆面积"}

CASES = [
    # reading
    case("me", "GET", "/me", EVERYONE),
    case("tree", "GET", "/tree", EVERYONE),
    case("counties", "GET", "/counties", EVERYONE),
    case("county-A", "GET", f"/counties/{API_A}", READ_A),
    case("county-B", "GET", f"/counties/{API_B}", READ_B),
    case("county-C", "GET", f"/counties/{API_C}", ONLY_ADMIN),
    case("schools-of-A", "GET", f"/counties/{API_A}/schools", READ_A),
    case("schools-of-B", "GET", f"/counties/{API_B}/schools", READ_B),
    case("school-A-P1", "GET", "/schools/A-P1", EVERYONE),
    case("school-A-P2", "GET", "/schools/A-P2", READ_A),
    case("school-B-P1", "GET", "/schools/B-P1", READ_B),
    case("values-A-P1", "GET", f"/schools/A-P1/years/{Y}", EVERYONE),
    case("values-A-P2", "GET", f"/schools/A-P2/years/{Y}", READ_A),
    case("values-B-P1", "GET", f"/schools/B-P1/years/{Y}", READ_B),
    case("county-values-A", "GET", f"/counties/{API_A}/years/{Y}", READ_A),
    case("county-values-B", "GET", f"/counties/{API_B}/years/{Y}", READ_B),
    case("evaluation-A", "GET", f"/counties/{API_A}/evaluation?year={Y}", READ_A),
    case("evaluation-B", "GET", f"/counties/{API_B}/evaluation", READ_B),
    case("evaluation-C", "GET", f"/counties/{API_C}/evaluation", ONLY_ADMIN),
    case("runs-A", "GET", f"/counties/{API_A}/evaluations", READ_A),
    case("runs-B", "GET", f"/counties/{API_B}/evaluations", READ_B),
    # writing values (rows are drafts, so only the scope decides)
    case("save-A-P1", "PUT", f"/schools/A-P1/years/{Y}", {"admin", "county_admin", "school_filler"}, SAVE,
         {sy("A-P1"): "draft"}),
    case("save-A-P2", "PUT", f"/schools/A-P2/years/{Y}", {"admin", "county_admin"}, SAVE, {sy("A-P2"): "draft"}),
    case("save-B-P1", "PUT", f"/schools/B-P1/years/{Y}", ONLY_ADMIN, SAVE, {sy("B-P1"): "draft"}),
    case("save-county-A", "PUT", f"/counties/{API_A}/years/{Y}", {"admin", "county_admin"}, SAVE_COUNTY,
         {cy(API_A): "draft"}),
    case("save-county-B", "PUT", f"/counties/{API_B}/years/{Y}", ONLY_ADMIN, SAVE_COUNTY, {cy(API_B): "draft"}),
    # the workflow of school data
    case("submit-A-P1", "POST", f"/schools/A-P1/years/{Y}/submit", {"admin", "county_admin", "school_filler"},
         pre={sy("A-P1"): "draft"}),
    case("submit-A-P2", "POST", f"/schools/A-P2/years/{Y}/submit", {"admin", "county_admin"},
         pre={sy("A-P2"): "draft"}),
    case("submit-B-P1", "POST", f"/schools/B-P1/years/{Y}/submit", ONLY_ADMIN, pre={sy("B-P1"): "draft"}),
    case("approve-A-P1", "POST", f"/schools/A-P1/years/{Y}/approve", {"admin", "county_admin"},
         pre={sy("A-P1"): "submitted"}),
    case("return-A-P1", "POST", f"/schools/A-P1/years/{Y}/return", {"admin", "county_admin"}, NOTE,
         {sy("A-P1"): "submitted"}),
    case("reopen-A-P1", "POST", f"/schools/A-P1/years/{Y}/reopen", {"admin", "county_admin"}),
    case("approve-B-P1", "POST", f"/schools/B-P1/years/{Y}/approve", ONLY_ADMIN, pre={sy("B-P1"): "submitted"}),
    case("return-B-P1", "POST", f"/schools/B-P1/years/{Y}/return", ONLY_ADMIN, NOTE, {sy("B-P1"): "submitted"}),
    case("reopen-B-P1", "POST", f"/schools/B-P1/years/{Y}/reopen", ONLY_ADMIN),
    # the workflow of county data
    case("submit-county-A", "POST", f"/counties/{API_A}/years/{Y}/submit", {"admin", "county_admin"},
         pre={cy(API_A): "draft"}),
    case("approve-county-A", "POST", f"/counties/{API_A}/years/{Y}/approve", {"admin", "county_admin"},
         pre={cy(API_A): "submitted"}),
    case("return-county-A", "POST", f"/counties/{API_A}/years/{Y}/return", {"admin", "county_admin"}, NOTE,
         {cy(API_A): "submitted"}),
    case("reopen-county-A", "POST", f"/counties/{API_A}/years/{Y}/reopen", {"admin", "county_admin"}),
    case("reopen-county-B", "POST", f"/counties/{API_B}/years/{Y}/reopen", ONLY_ADMIN),
    # running evaluations
    case("evaluate-A", "POST", f"/counties/{API_A}/evaluations", {"admin", "supervisor", "county_admin"},
         {"year": Y}, ok=201),
    case("evaluate-B", "POST", f"/counties/{API_B}/evaluations", {"admin", "supervisor"}, ok=201),
    case("evaluate-C", "POST", f"/counties/{API_C}/evaluations", ONLY_ADMIN, ok=201),
]


@pytest.fixture(scope="module")
def world(api_module_world):
    return api_module_world


@pytest.fixture(scope="module")
def client(world):
    return world.client()


@pytest.mark.parametrize("role", ROLES + ["anonymous"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_role_on_every_endpoint(world, client, case: Case, role: str):
    world.ensure(case.pre)
    before = world.snapshot() if case.write else None
    response = client.request(case.method, case.path, json=case.body, headers=world.headers(role))
    if case.write and response.status_code < 400:
        world.current = None  # rows changed: the next case resets them
    expected = 401 if role == "anonymous" else (case.ok if role in case.allowed else 403)
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert CJK.search(response.json()["detail"])
        if case.write:
            assert world.snapshot() == before, "a refused write changed the database"
    elif case.write and case.method in ("PUT", "POST") and case.ok == 200:
        after = world.snapshot()
        assert after != before and after["audit"] > before["audit"], "an allowed write left no audited change"


def test_a_revoked_or_unknown_token_is_401(world, client):
    from sqlalchemy import select

    from junheng.store.models import ApiToken, User
    from junheng.store.users import create_token, revoke_token

    with world.database.session() as s:
        user = s.scalar(select(User).where(User.username == "county_admin"))
        token = create_token(s, user, "即将撤销")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with world.database.session() as s:
        revoke_token(s, s.scalar(select(ApiToken.id).where(ApiToken.name == "即将撤销")))
    world.reset({sy("A-P1"): "draft"})
    world.current = None
    before = world.snapshot()
    for bad, words in ((headers, "API 令牌“即将撤销”已于"), ({"Authorization": "Bearer jh_not-a-token"}, "API 令牌无效")):
        response = client.put(f"/api/v1/schools/A-P1/years/{Y}", json=SAVE, headers=bad)
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert response.json()["detail"].startswith(words)
    assert world.snapshot() == before


@pytest.mark.parametrize("role, counties", [
    ("admin", [API_A, API_B, API_C]), ("supervisor", [API_A, API_B]), ("county_admin", [API_A]),
    ("viewer", [API_A]), ("school_filler", []),
])
def test_lists_show_only_what_the_role_may_read(world, client, role, counties):
    headers = world.headers(role)
    listed = [c["code"] for c in client.get("/api/v1/counties", headers=headers).json()]
    assert listed == counties

    def leaves(nodes):
        return [code for n in nodes for code in ([n["code"]] if n["kind"] == "county" else leaves(n["children"]))]

    tree = client.get("/api/v1/tree", headers=headers).json()
    assert sorted(leaves(tree)) == counties
    if role == "supervisor":  # the city shows under its province, holding only its counties
        assert [n["kind"] for n in tree] == ["province"] and tree[0]["children"][0]["code"] == "990100"
    me = client.get("/api/v1/me", headers=headers).json()
    assert me["fill_schools"] == (["A-P1"] if role == "school_filler" else [])
    assert me["manage_counties"] == ([API_A] if role == "county_admin" else [])
    if API_A in counties:
        schools = client.get(f"/api/v1/counties/{API_A}/schools", headers=headers).json()
        editable = {s["school_id"] for s in schools if s["can_edit"]}
        assert editable == ({"A-P1", "A-P2", "A-J1", "A-N1"} if role in ("admin", "county_admin") else set())


def test_a_unknown_code_is_404_for_everyone_with_a_token(world, client):
    for role in ROLES:
        for path in ("/counties/999999", "/schools/NOPE", "/counties/999999/schools", "/schools/NOPE/years/2024"):
            response = client.get("/api/v1" + path, headers=world.headers(role))
            assert response.status_code == 404 and response.json()["detail"].startswith("没有")

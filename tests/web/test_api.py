"""The JSON API's behaviour (/api/v1) on SQLite and PostgreSQL: writes validated like an import
and audited, locks and versions, the workflow, evaluation runs, session + CSRF, the OpenAPI
document. Access by role is tested in test_access_matrix.py."""

from __future__ import annotations

import json
import re
import sys
from importlib import resources
from pathlib import Path

import builders
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import func, select

from junheng.data.importer import validate_rows
from junheng.engine.evaluate import evaluate_dataset
from junheng.store import repo
from junheng.store.models import AuditEntry, School, SchoolYear, User, WebSession
from junheng.store.users import hash_password


def _web_conftest():
    path = str(Path(__file__).with_name("conftest.py"))
    return next(m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == path)


A = _web_conftest().API_A
Y = builders.YEAR
CJK = re.compile(r"[\u4e00-\u9fff]")
P1 = f"/api/v1/schools/A-P1/years/{Y}"
COUNTY_A = f"/api/v1/counties/{A}/years/{Y}"
KEY = ("school_year", f"A-P1/{Y}")


@pytest.fixture(scope="module")
def world(api_module_world):
    return api_module_world


@pytest.fixture(scope="module")
def client(world):
    return world.client()


@pytest.fixture
def draft(world):
    """A-P1 and county A as editable drafts, everything else approved, as imported."""
    world.reset({KEY: "draft", ("county_year", f"{A}/{Y}"): "draft"})
    world.current = None  # the test changes rows
    with world.database.session() as s:
        world.audit_mark = s.scalar(select(func.max(AuditEntry.id))) or 0
    return world


def stored(world, code="A-P1", year=Y) -> SchoolYear:
    with world.database.session() as s:
        school = s.scalar(select(School).where(School.code == code))
        return s.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == year))


def api_audit(world, key=f"A-P1/{Y}") -> list[AuditEntry]:
    """The API's audit entries of one row since the test began (the `draft` fixture marks it)."""
    with world.database.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.via == "api", AuditEntry.entity_key == key,
                                                       AuditEntry.id > world.audit_mark).order_by(AuditEntry.id)))


# ---------------------------------------------------------------- writing values


def test_a_save_is_validated_like_an_import_and_refused_whole(draft, client):
    before = draft.snapshot()
    response = client.put(P1, headers=draft.headers("school_filler"), json={"values": {
        "sports_area": -5, "has_charter": "也许", "students_junior": 30, "teachers_primary": "很多",
        "training_funds": 1000.0,  # valid, but the save is refused whole
    }})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("数据校验未通过") and "未做任何修改" in body["detail"]
    by_field = {e["field"]: e for e in body["errors"]}
    assert set(by_field) == {"sports_area", "has_charter", "students_junior", "teachers_primary"}
    assert "没有初中学段" in by_field["students_junior"]["message"]  # the roster row is checked too
    assert by_field["has_charter"]["expected"].startswith("是/否")
    assert by_field["has_charter"]["value"] == "也许"
    assert all(CJK.search(e["message"]) and e["expected"] for e in body["errors"])
    assert draft.snapshot() == before


def test_percent_fractions_and_types_are_refused_in_chinese(draft, client):
    headers = draft.headers("county_admin")
    response = client.put(COUNTY_A, headers=headers, json={"values": {"social_recognition_rate": 0.9}})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "social_recognition_rate"
    assert "0.95" in response.json()["errors"][0]["expected"]
    response = client.put(P1, headers=headers, json={"values": {"sports_area": [1, 2]}, "versio": 3})
    assert response.status_code == 422 and response.json()["detail"] == "请求参数有误"
    assert {(e["field"], e["message"]) for e in response.json()["errors"]} == {
        ("sports_area", "取值类型不对:应为文本、数字、true/false 或 null"), ("versio", "不是可用的参数")}
    response = client.put(P1, headers=headers | {"Content-Type": "application/json"}, content=b"{not json")
    assert response.status_code == 422 and response.json()["errors"][0]["message"] == "请求体不是有效的 JSON:第 1 行第 2 列有误"
    response = client.put(P1, headers=headers)
    assert response.status_code == 422 and response.json()["errors"][0]["message"].startswith("缺少请求体")


def test_unknown_fields_identity_fields_and_empty_saves_are_refused(draft, client):
    headers = draft.headers("school_filler")
    response = client.put(P1, headers=headers, json={"values": {"playground": 1, "school_id": "B-P1", "year": 2020}})
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors["playground"] == "不是学校年度数据的字段"
    assert "由请求地址确定" in errors["school_id"] and "由请求地址确定" in errors["year"]
    assert client.put(P1, headers=headers, json={"values": {}}).status_code == 422
    assert client.put(P1, headers=headers, json={"values": {"sports_area": 1, "体育运动场馆面积": 2}}).status_code == 422


def test_a_save_changes_only_the_given_fields_each_audited_via_api(draft, client):
    before = stored(draft)
    response = client.put(P1, headers=draft.headers("school_filler"),
                          json={"values": {"sports_area": 7777.5, "教学仪器设备值": "123456"}, "version": before.version})
    assert response.status_code == 200, response.text
    body = response.json()
    assert {(c["field"], c["label"], c["new"]) for c in body["changes"]} == {
        ("sports_area", "体育运动场馆面积", 7777.5), ("equipment_value", "教学仪器设备值", 123456.0)}
    assert body["version"] == before.version + 1 and body["status"] == "draft"
    after = stored(draft)
    assert after.values == {**before.values, "sports_area": 7777.5, "equipment_value": 123456.0}
    entries = api_audit(draft)
    assert sorted((e.field, e.old, e.new) for e in entries) == [
        ("equipment_value", before.values["equipment_value"], 123456.0),
        ("sports_area", before.values["sports_area"], 7777.5)]
    with draft.database.session() as s:
        filler = s.scalar(select(User).where(User.username == "school_filler"))
        assert {e.user_id for e in entries} == {filler.id}
        # the roster row given for validation is never written
        assert s.scalar(select(AuditEntry).where(AuditEntry.via == "api", AuditEntry.entity != "school_year")) is None
    again = client.put(P1, headers=draft.headers("school_filler"), json={"values": {"sports_area": "7777.5"}})
    assert again.status_code == 200 and again.json()["changes"] == [] and again.json()["version"] == after.version
    assert client.get(P1, headers=draft.headers("viewer")).json()["values"]["sports_area"] == 7777.5


def test_null_clears_a_value_and_the_clearing_is_audited(draft, client):
    response = client.put(P1, headers=draft.headers("county_admin"), json={"values": {"training_funds": None}})
    assert response.status_code == 200
    assert response.json()["changes"][0] | {"old": None} == {"field": "training_funds", "label": "教师培训经费",
                                                              "old": None, "new": None}
    assert "training_funds" not in response.json()["values"]
    assert [(e.field, e.new) for e in api_audit(draft)] == [("training_funds", None)]


def test_submitted_and_approved_rows_are_locked(world, client):
    for status, word in (("approved", "已审核"), ("submitted", "已提交待审核")):
        world.reset({KEY: status})
        before = world.snapshot()
        response = client.put(P1, headers=world.headers("county_admin"), json={"values": {"sports_area": 1}})
        assert response.status_code == 409
        assert f"{word},已锁定" in response.json()["detail"] and "退回或重新开放" in response.json()["detail"]
        assert world.snapshot() == before


def test_a_stale_version_is_refused_and_nothing_is_overwritten(draft, client):
    version = client.get(P1, headers=draft.headers("school_filler")).json()["version"]
    first = client.put(P1, headers=draft.headers("county_admin"), json={"values": {"sports_area": 5000}, "version": version})
    assert first.status_code == 200
    before = draft.snapshot()
    late = client.put(P1, headers=draft.headers("school_filler"), json={"values": {"sports_area": 6000}, "version": version})
    assert late.status_code == 409 and "已被他人修改" in late.json()["detail"]
    assert draft.snapshot() == before and stored(draft).values["sports_area"] == 5000


def test_a_new_year_is_created_as_a_draft(draft, client):
    row = builders.school_year("A-P1", "primary", students=600, year=Y + 1)
    values = {k: v for k, v in row.items() if k not in ("school_id", "year")}
    path = f"/api/v1/schools/A-P1/years/{Y + 1}"
    assert client.get(path, headers=draft.headers("school_filler")).status_code == 404
    assert client.put(path, headers=draft.headers("school_filler"), json={"values": values, "version": 3}).status_code == 409
    response = client.put(path, headers=draft.headers("school_filler"), json={"values": values, "version": 0})
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "draft" and len(response.json()["changes"]) == len(values)
    assert client.get(path, headers=draft.headers("viewer")).json()["values"]["sports_area"] == values["sports_area"]
    years = client.get("/api/v1/schools/A-P1", headers=draft.headers("viewer")).json()["years"]
    assert [(y["year"], y["status"]) for y in years] == [(Y, "draft"), (Y + 1, "draft")]
    with draft.database.session() as s:  # tidy up for the next tests of this module
        new = s.scalar(select(SchoolYear).where(SchoolYear.year == Y + 1))
        s.delete(new)


def test_the_county_year_is_read_and_written_by_the_county_admin(draft, client):
    headers = draft.headers("county_admin")
    response = client.put(COUNTY_A, headers=headers, json={"values": {"social_recognition_rate": "91.5%",
                                                                      "veto_fraud": "否"}})
    assert response.status_code == 200, response.text
    assert [(c["field"], c["new"]) for c in response.json()["changes"]] == [("social_recognition_rate", 91.5)]
    assert client.get(COUNTY_A, headers=draft.headers("viewer")).json()["values"]["social_recognition_rate"] == 91.5
    assert [e.field for e in api_audit(draft, f"{A}/{Y}")] == ["social_recognition_rate"]
    assert client.get(f"/api/v1/counties/{A}/years/1999", headers=headers).status_code == 404


# ---------------------------------------------------------------- workflow


def test_the_workflow_through_the_api(draft, client):
    filler, admin = draft.headers("school_filler"), draft.headers("county_admin")
    go = lambda action, headers, **body: client.post(f"{P1}/{action}", headers=headers, json=body or None)
    assert go("submit", filler).json()["status"] == "submitted"
    assert client.put(P1, headers=filler, json={"values": {"sports_area": 1}}).status_code == 409
    assert go("approve", filler).status_code == 403
    response = go("reopen", admin)
    assert response.status_code == 409 and response.json()["detail"] == "当前状态为“已提交”,不能重新开放"
    missing_note = go("return", admin)
    assert missing_note.status_code == 422 and missing_note.json()["errors"][0]["field"] == "note"
    returned = go("return", admin, note="体育场馆面积与上年差异过大,请核实")
    assert returned.json()["status"] == "returned" and returned.json()["status_note"].startswith("体育场馆")
    assert client.get(P1, headers=filler).json()["status_note"].startswith("体育场馆")
    assert client.put(P1, headers=filler, json={"values": {"sports_area": 7200}}).status_code == 200
    assert go("submit", filler).status_code == 200
    assert go("approve", admin, note="已核实").json()["status"] == "approved"
    assert go("approve", admin).status_code == 409
    assert client.get(P1, headers=filler).json()["locked"] is True
    version = client.get(P1, headers=filler).json()["version"]
    assert go("reopen", admin, version=version + 1).status_code == 409
    assert go("reopen", admin, version=version).json()["status"] == "draft"
    statuses = [(e.old, e.new) for e in api_audit(draft) if e.field == "status"]
    assert statuses == [("draft", "submitted"), ("submitted", "returned"), ("returned", "submitted"),
                        ("submitted", "approved"), ("approved", "draft")]


def test_the_county_year_workflow(draft, client):
    admin = draft.headers("county_admin")
    for action, status in (("submit", "submitted"), ("approve", "approved"), ("reopen", "draft")):
        response = client.post(f"{COUNTY_A}/{action}", headers=admin)
        assert response.status_code == 200 and response.json()["status"] == status
    assert client.post(f"/api/v1/counties/{A}/years/1999/submit", headers=admin).status_code == 404


# ---------------------------------------------------------------- evaluation


def test_running_an_evaluation_returns_201_and_reuses_unchanged_inputs(world, client):
    world.ensure({})
    headers = world.headers("supervisor")
    first = client.post(f"/api/v1/counties/{A}/evaluations", headers=headers, json={"year": Y})
    assert first.status_code == 201, first.text
    run = first.json()
    # every school and county row is the builders' passing row, all approved: the data imply 达标,
    # as the engine says of the same dataset
    expected = evaluate_dataset(_web_conftest().api_dataset(), county=A, year=Y)[0]
    assert expected.verdict == "pass"
    assert (run["verdict"], run["verdict_label"], run["year"]) == ("pass", "达标", Y)
    second = client.post(f"/api/v1/counties/{A}/evaluations", headers=headers)
    assert second.status_code == 201 and second.json()["run_id"] == run["run_id"] and second.json()["reused"]
    result = client.get(run["result_url"], headers=world.headers("viewer"))
    assert result.status_code == 200 and result.json()["run"]["id"] == run["run_id"]
    schema = json.loads(resources.files("junheng").joinpath("schemas/evaluation.schema.json").read_text("utf-8"))
    assert list(Draft202012Validator(schema).iter_errors(result.json())) == []
    assert result.json()["county_code"] == A and result.json()["verdict"] == run["verdict"]
    runs = client.get(f"/api/v1/counties/{A}/evaluations", headers=world.headers("viewer")).json()
    assert run["run_id"] in [r["run_id"] for r in runs]
    missing = client.post(f"/api/v1/counties/{A}/evaluations", headers=headers, json={"year": 2030})
    assert missing.status_code == 404 and "2030" in missing.json()["detail"]
    assert client.get(f"/api/v1/counties/{A}/evaluation?year=2030", headers=headers).status_code == 404


def test_a_preview_evaluation_includes_unapproved_data(draft, client):
    headers = draft.headers("county_admin")
    client.put(P1, headers=headers, json={"values": {"sports_area": 100}})  # a draft: not in the approved run
    approved = client.post(f"/api/v1/counties/{A}/evaluations", headers=headers).json()
    preview = client.post(f"/api/v1/counties/{A}/evaluations", headers=headers, json={"approved_only": False}).json()
    assert preview["approved_only"] is False and preview["run_id"] != approved["run_id"]
    assert preview["inputs_version"] != approved["inputs_version"]


# ---------------------------------------------------------------- sessions, documents, internals


def test_a_browser_session_reads_and_needs_the_csrf_header_to_write(draft, client):
    with draft.database.session() as s:
        s.scalar(select(User).where(User.username == "county_admin")).password_hash = hash_password("password123")
    browser = draft.client()
    login = browser.post("/login", data={"username": "county_admin", "password": "password123"}, follow_redirects=False)
    assert login.status_code == 303
    assert browser.get("/api/v1/me").json()["username"] == "county_admin"
    before = draft.snapshot()
    refused = browser.put(P1, json={"values": {"sports_area": 1}})
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    assert draft.snapshot() == before
    with draft.database.session() as s:
        user_id = s.scalar(select(User.id).where(User.username == "county_admin"))
        csrf = s.scalars(select(WebSession.csrf_token).where(WebSession.user_id == user_id)).first()
    assert browser.put(P1, json={"values": {"sports_area": 1}}, headers={"X-CSRF-Token": csrf}).status_code == 200


def test_the_openapi_document_is_chinese_typed_and_free_of_secrets(client):
    document = client.get("/api/v1/openapi.json").json()
    operations = [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()
                  if path.startswith("/api/v1")]
    assert len(operations) == 21
    for path, method, op in operations:
        assert CJK.search(op["summary"]), (path, method)
        assert {"401", "403", "404"} <= set(op["responses"]), (path, method)
    put = document["paths"]["/api/v1/schools/{code}/years/{year}"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/ValuesIn")
    assert put["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ValidationErrorOut")
    schemas = document["components"]["schemas"]
    assert schemas["ValuesIn"]["additionalProperties"] is False
    text = json.dumps(schemas).lower()
    for secret in ("password", "token_hash", "csrf", "secret"):
        assert secret not in text
    assert "API令牌" in document["components"]["securitySchemes"]
    assert client.get("/api/v1/docs").status_code == 200


def test_the_row_diff_gives_exactly_what_repo_diff_gives(draft):
    with draft.database.session() as s:
        school = s.scalar(select(School).where(School.code == "A-J1"))
        row = s.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id))
        roster = {"school_id": "A-J1", "school_name": school.name, "county_code": A, "county_name": "甲县",
                  "school_type": school.school_type, **school.values}
        values = {**row.values, "sports_area": 1234.5, "moral_rating": "excellent", "school_name": None}
        values.pop("school_name")
        dataset = validate_rows({"schools": [roster | {"locale": "rural"}],
                                 "school_year": [{"school_id": "A-J1", "year": Y, **values}]})
        assert repo.diff(s, dataset, whole_store=False) == repo.diff(s, dataset)
        assert {(c.entity, c.field) for c in repo.diff(s, dataset, whole_store=False)} == {
            ("school", "locale"), ("school_year", "sports_area"), ("school_year", "moral_rating")}


def test_saves_at_the_same_time_are_serialised(api_world):
    """A fresh world per database (the `database` fixture): two saves with the same version,
    one wins and the other gets 409; two saves of different fields both land."""
    import threading

    world = api_world
    world.reset({KEY: "draft"})
    headers = world.headers("school_filler")
    clients = [world.client(), world.client()]
    version = clients[0].get(P1, headers=headers).json()["version"]

    def race(bodies: list[dict]) -> list[int]:
        barrier, statuses = threading.Barrier(2), [0, 0]

        def save(i: int) -> None:
            barrier.wait()
            statuses[i] = clients[i].put(P1, headers=headers, json=bodies[i]).status_code

        threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        return statuses

    statuses = race([{"values": {"sports_area": 5001}, "version": version},
                     {"values": {"sports_area": 5002}, "version": version}])
    assert sorted(statuses) == [200, 409]
    row = stored(world)
    assert row.version == version + 1 and row.values["sports_area"] == (5001 if statuses[0] == 200 else 5002)
    assert race([{"values": {"teaching_aux_area": 4321}}, {"values": {"equipment_value": 654321}}]) == [200, 200]
    row = stored(world)
    assert row.values["teaching_aux_area"] == 4321 and row.values["equipment_value"] == 654321
    assert row.version == version + 3


def test_unknown_paths_and_methods_answer_in_chinese(client):
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json() == {"detail": "未找到该地址或资源"}
    wrong_method = client.delete("/api/v1/me")
    assert wrong_method.status_code == 405 and CJK.search(wrong_method.json()["detail"])
    page = client.get("/no-such-page")
    assert page.status_code == 404 and "页面不存在" in page.text

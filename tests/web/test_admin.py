"""The 管理 pages and junheng.store.admin: the organisation tree, schools' master data and user
accounts, on SQLite and PostgreSQL (the `database` fixture). Access is checked on the server
(a supervisor writes nothing; a county admin only school fillers and viewers of its county),
refused or invalid writes change nothing, and every change is in the audit log without any
password."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import builders
import pandas as pd
import pytest
from sqlalchemy import func, select
from web_world import PASSWORD, WebClient, login, password_hash, role_users, seed_store, web_settings

from junheng.data.dataset import Dataset
from junheng.store import admin as store_admin
from junheng.store import repo
from junheng.store.db import Database
from junheng.store.models import AuditEntry, OrgNode, RoleGrant, School, User, WebSession
from junheng.store.users import Access, authenticate, grant
from junheng.web.app import create_app
from junheng.workspace import Settings

PROVINCE, CITY, A, B = "990000", "990100", "990101", "990102"
USERS = role_users(admin=None, supervisor=CITY, county=A, school="A-P1", viewer=A, other_county=B)


def dataset() -> Dataset:
    schools = [builders.school("A-P1", "primary", county_code=A, county_name="甲县"),
               builders.school("A-J1", "junior", county_code=A, county_name="甲县"),
               builders.school("B-P1", "primary", county_code=B, county_name="乙县")]
    years = [builders.school_year(s["school_id"], s["school_type"]) for s in schools]
    counties = [{"county_code": code, "county_name": name, "city": "测试市", "province": "测试省",
                 "standard": "national-2017"} for code, name in ((A, "甲县"), (B, "乙县"))]
    return Dataset.from_frames(source="tests", schools=pd.DataFrame(schools), school_year=pd.DataFrame(years),
                               counties=pd.DataFrame(counties))


@dataclass
class World:
    database: Database
    settings: Settings

    def app(self):
        if not hasattr(self, "_app"):
            self._app = create_app(self.settings, self.database)
        return self._app

    def login(self, username: str, password: str = PASSWORD) -> WebClient:
        return login(self.app(), username, password)

    def access(self, session, username: str) -> Access:
        return Access.of(session, session.scalar(select(User).where(User.username == username)))

    def snapshot(self) -> dict:
        """Everything administration could change."""
        with self.database.session() as s:
            return {
                "nodes": sorted((n.code, n.kind, n.name, n.parent_id, n.standard, n.target_year, n.certified_year)
                                for n in s.scalars(select(OrgNode))),
                "schools": sorted((x.code, x.county_id, x.name, x.school_type, json.dumps(x.values, sort_keys=True))
                                  for x in s.scalars(select(School))),
                "users": sorted((u.username, u.display_name, u.active, u.password_hash)
                                for u in s.scalars(select(User))),
                "grants": sorted((g.user_id, g.role, g.org_node_id, g.school_id) for g in s.scalars(select(RoleGrant))),
                "audit": s.scalar(select(func.count()).select_from(AuditEntry)),
            }

    def audit(self, **where) -> list[AuditEntry]:
        with self.database.session() as s:
            query = select(AuditEntry).order_by(AuditEntry.id)
            for key, value in where.items():
                query = query.where(getattr(AuditEntry, key) == value)
            return list(s.scalars(query))

    def node(self, code: str) -> OrgNode | None:
        with self.database.session() as s:
            return s.scalar(select(OrgNode).where(OrgNode.code == code))

    def user(self, username: str) -> User | None:
        with self.database.session() as s:
            return s.scalar(select(User).where(User.username == username))


@pytest.fixture
def world(database, tmp_path) -> World:
    seed_store(database, dataset(), USERS)
    return World(database, web_settings(database, tmp_path / "up"))


def user_id(world: World, username: str) -> int:
    return world.user(username).id


def shown_password(html: str) -> str:
    return re.search(r'<code id="new-password">([^<]+)</code>', html).group(1)


# ---------------------------------------------------------------- the organisation tree

def test_the_tree_is_built_with_administrative_codes_and_every_field_is_audited(world):
    with world.database.session() as s:
        admin = world.access(s, "admin")
        province, _ = store_admin.save_org_node(s, admin, "province", {"code": "980000", "name": "示范省"})
        city, _ = store_admin.save_org_node(s, admin, "city", {"code": "980100", "name": "示范市", "parent": "980000"})
        county, changes = store_admin.save_org_node(s, admin, "county", {
            "code": "980102", "name": "示范县", "parent": "980100", "standard": "shandong", "target_year": "2027",
            "certified_year": "", "resident_population": "350000"})
        assert changes == 5  # name, city, standard, target year, population (empty ones are not changes)
        assert (county.parent_id, city.parent_id, province.parent_id) == (city.id, province.id, None)
        assert (county.standard, county.target_year, county.certified_year, county.resident_population) == \
            ("shandong", 2027, None, 350000)
    entries = world.audit(entity="county", entity_key="980102")
    assert {(e.field, e.old, e.new) for e in entries} == {
        ("county_name", None, "示范县"), ("city", None, "示范市"), ("standard", None, "shandong"),
        ("target_year", None, 2027), ("resident_population", None, 350000)}
    assert all(e.via == "form" and e.user_id == user_id(world, "admin") and e.note == "新建县区" for e in entries)
    assert all(e.county_id == world.node("980102").id for e in entries)  # in the county's own log
    assert {(e.field, e.new) for e in world.audit(entity="city")} == {("name", "示范市"), ("province", "示范省")}
    # an edit records old and new of what changed only
    with world.database.session() as s:
        node = s.scalar(select(OrgNode).where(OrgNode.code == "980102"))
        _, changes = store_admin.save_org_node(s, world.access(s, "admin"), "county", {
            "name": "示范县", "parent": "980100", "standard": "shandong", "target_year": "2027",
            "certified_year": "2026", "resident_population": "350000"}, node)
        assert changes == 1
    assert [(e.field, e.old, e.new, e.note) for e in world.audit(entity="county", field="certified_year")] == [
        ("certified_year", None, 2026, None)]


BAD_TREE_INPUT = [  # kind, form, the field blamed, words of its message
    ("province", {"code": "98000", "name": "省"}, "code", "不是 6 位数字"),
    ("province", {"code": "980100", "name": "省"}, "code", "不是省级代码"),
    ("city", {"code": "970100", "name": "市", "parent": PROVINCE}, "parent", "前 2 位应与所属省"),
    ("county", {"code": "990200", "name": "县", "parent": CITY}, "code", "不是县区级代码"),
    ("county", {"code": "990201", "name": "县", "parent": CITY}, "parent", "前 4 位应与所属市"),
    ("county", {"code": "990105", "name": "县"}, "parent", "请选择所属"),
    ("county", {"code": A, "name": "县", "parent": CITY}, "code", "已被县区“甲县”使用"),
    ("county", {"code": "990105", "name": "县", "parent": CITY, "standard": "guangdong"}, "standard",
     "不是已知的评估标准"),
    ("county", {"code": "990105", "name": "县", "parent": CITY, "target_year": "二〇二七"}, "target_year",
     "四位年份"),
    ("city", {"code": "990200", "name": "", "parent": PROVINCE}, "name", "请填写名称"),
]


def test_bad_tree_input_is_refused_with_a_chinese_message_and_nothing_changes(world):
    before = world.snapshot()
    for kind, form, field, words in BAD_TREE_INPUT:
        with world.database.session() as s:
            with pytest.raises(store_admin.FormInvalid) as caught:
                store_admin.save_org_node(s, world.access(s, "admin"), kind, form)
        assert words in caught.value.errors.get(field, ""), (form, caught.value.errors)
    assert world.snapshot() == before


def test_the_tree_form_shows_errors_beside_the_fields_and_only_the_system_admin_writes(world):
    admin = world.login("admin")
    page = admin.get(f"/admin/org/new?kind=county&parent={CITY}")
    assert page.status_code == 200 and 'name="standard"' in page.text and "national-2017" in page.text
    before = world.snapshot()
    bad = admin.post("/admin/org/new", {"kind": "county", "code": "990105", "name": "丙县", "parent": CITY,
                                        "standard": "national-2017", "target_year": "20277"})
    assert bad.status_code == 400
    assert 'id="err-target_year"' in bad.text and "四位年份" in bad.text and 'value="丙县"' in bad.text
    assert world.snapshot() == before
    for username in ("supervisor", "county", "viewer", "school"):
        client = world.login(username)
        refused = client.post("/admin/org/new", {"kind": "province", "code": "980000", "name": "省"})
        assert refused.status_code == 403, username
        assert client.post(f"/admin/org/{A}", {"name": "改名", "parent": CITY}).status_code == 403
        assert client.get("/admin/org/new?kind=province").status_code == 403
    assert world.snapshot() == before
    made = admin.post("/admin/org/new", {"kind": "county", "code": "990105", "name": "丙县", "parent": CITY,
                                         "standard": "national-2017", "target_year": "2027"})
    assert made.status_code == 303 and made.headers["location"].startswith("/admin/counties/990105")
    assert world.node("990105").parent_id == world.node(CITY).id
    tree = admin.get("/admin?format=json").json()["nodes"]
    assert [(n["code"], n["depth"]) for n in tree] == [(PROVINCE, 0), (CITY, 1), (A, 2), (B, 2), ("990105", 2)]


def test_supervisors_and_readers_have_no_admin_pages_and_no_admin_link(world):
    for username in ("supervisor", "viewer", "school"):
        client = world.login(username)
        for url in ("/admin", "/admin/users", f"/admin/counties/{A}", "/admin/audit", "/admin/users/new"):
            assert client.get(url).status_code == 403, (username, url)
        assert 'id="nav-admin"' not in client.get("/account/password").text
    for username in ("admin", "county"):
        assert 'id="nav-admin"' in world.login(username).get("/account/password").text


# ---------------------------------------------------------------- schools

def test_a_county_admin_creates_and_edits_a_school_validated_like_an_import(world):
    county = world.login("county")
    page = county.get(f"/admin/counties/{A}/schools/new")
    assert page.status_code == 200 and "学校类型" in page.text and "所属中心校" in page.text
    before = world.snapshot()
    bad = county.post(f"/admin/counties/{A}/schools/new", {
        "school_id": "A P9", "school_name": "", "school_type": "高中", "boarding": "也许", "build_year": "1850"})
    assert bad.status_code == 400
    for key, words in (("school_id", "不能作为学校标识码"), ("school_name", "必填"), ("school_type", "以下之一:小学、初级中学"),
                       ("boarding", "是/否"), ("build_year", "四位年份")):
        assert re.search(rf'id="err-{key}"[^>]*>[^<]*{re.escape(words)}', builders.plain(bad.text)), key
    taken = county.post(f"/admin/counties/{A}/schools/new", {"school_id": "B-P1", "school_name": "重复",
                                                             "school_type": "primary"})
    assert taken.status_code == 400 and "已被乙县的“测试学校B-P1”使用" in taken.text
    assert world.snapshot() == before

    made = county.post(f"/admin/counties/{A}/schools/new", {
        "school_id": "A-T1", "school_name": "甲县某教学点", "school_type": "teaching_point", "locale": "rural",
        "ownership": "public", "boarding": "否", "parent_school_id": "A-P1"})
    assert made.status_code == 303, made.text
    with world.database.session() as s:
        school = repo.school_by_code(s, "A-T1")
        assert (school.county.code, school.name, school.school_type) == (A, "甲县某教学点", "teaching_point")
        assert school.values == {"locale": "rural", "ownership": "public", "boarding": False,
                                 "parent_school_id": "A-P1"}
    entries = world.audit(entity="school", entity_key="A-T1")
    assert {e.field for e in entries} == {"school_name", "school_type", "locale", "ownership", "boarding",
                                          "parent_school_id"}
    assert all(e.note == "新建学校" and e.county_id == world.node(A).id and e.via == "form" for e in entries)

    edited = county.post("/admin/schools/A-T1", {"school_name": "甲县某教学点", "school_type": "teaching_point",
                                                 "locale": "town", "ownership": "public", "boarding": "是",
                                                 "parent_school_id": ""})
    assert edited.status_code == 303
    changed = [(e.field, e.old, e.new) for e in world.audit(entity="school", entity_key="A-T1")[len(entries):]]
    assert sorted(changed) == [("boarding", False, True), ("locale", "rural", "town"),
                               ("parent_school_id", "A-P1", None)]
    history = county.get("/admin/schools/A-T1")
    assert "<td>城乡分类</td><td>乡村</td><td>镇区</td>" in history.text  # the field's history, in labels
    # the county page offers the new school's first year
    dashboard = county.get(f"/counties/{A}")
    assert "/schools/A-T1/years/" in dashboard.text


def test_a_school_type_that_does_not_fit_the_stored_years_is_refused(world):
    admin = world.login("admin")
    before = world.snapshot()
    response = admin.post("/admin/schools/A-P1", {"school_name": "测试学校A-P1", "school_type": "junior",
                                                  "locale": "town", "ownership": "public"})
    assert response.status_code == 400
    assert f"与已有的 {builders.YEAR} 学年数据不符" in response.text and "没有小学学段" in response.text
    assert world.snapshot() == before


def test_schools_of_another_county_are_out_of_reach(world):
    county = world.login("county")
    before = world.snapshot()
    assert county.post(f"/admin/counties/{B}/schools/new", {"school_id": "B-P9", "school_name": "乙县新校",
                                                            "school_type": "primary"}).status_code == 403
    assert county.post("/admin/schools/B-P1", {"school_name": "改名", "school_type": "primary"}).status_code == 403
    assert county.get(f"/admin/counties/{B}").status_code == 403
    supervisor = world.login("supervisor")
    assert supervisor.post(f"/admin/counties/{A}/schools/new", {"school_id": "A-P9", "school_name": "新校",
                                                                "school_type": "primary"}).status_code == 403
    assert world.snapshot() == before


# ---------------------------------------------------------------- users

def test_a_county_admin_adds_a_school_filler_whose_password_is_shown_once_and_never_logged(world):
    county = world.login("county")
    form = county.get(f"/admin/users/new?county={A}")
    assert form.status_code == 200
    roles = re.findall(r'<option value="(\w+)"', form.text.split('id="f-role"')[1].split("</select>")[0])
    assert roles == ["school_filler", "viewer"]
    made = county.post("/admin/users/new", {"username": "填报员甲", "display_name": "甲县一小填报员",
                                            "role": "school_filler", "scope": "A-P1", "password_mode": "generate",
                                            "county": A})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    password = shown_password(made.text)
    assert len(password) >= 10
    first = world.login("填报员甲", password).get("/schools/A-P1/years/2024", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/account/password"  # their own password first
    entries = world.audit(entity="user", entity_key="填报员甲")
    assert {(e.field, e.new) for e in entries} == {
        ("username", "填报员甲"), ("display_name", "甲县一小填报员"),
        ("role_grant", "学校填报员 · 测试学校A-P1(A-P1)"), ("password", None)}
    assert all(e.county_id == world.node(A).id and e.user_id == user_id(world, "county") for e in entries)
    assert "设置初始密码(自动生成)" in {e.note for e in entries}
    everything = json.dumps([(e.old, e.new, e.note) for e in world.audit()], ensure_ascii=False)
    assert password not in everything and world.user("填报员甲").password_hash not in everything
    # the county's own change log lists the new account
    log = county.get(f"/counties/{A}/audit?entity=user")
    assert "填报员甲" in log.text and "角色授权" in log.text
    # listed in scope, with the users of its county only
    listed = {u["username"] for u in county.get("/admin/users?format=json").json()["users"]}
    assert listed == {"county", "school", "viewer", "填报员甲"}


def test_a_county_admin_cannot_create_users_beyond_its_county_or_role(world):
    county = world.login("county")
    before = world.snapshot()
    for role, scope, words in [
        ("county_admin", A, "不能授予“县级管理员”"), ("admin", "", "不能授予“系统管理员”"),
        ("supervisor", CITY, "不能授予“市/省督导”"),  # roles a county admin may not give
        ("school_filler", "B-P1", "超出您的管理范围"), ("viewer", B, "超出您的管理范围"),
        ("viewer", CITY, "超出您的管理范围"),  # scopes outside its county
    ]:
        response = county.post("/admin/users/new", {"username": "越权用户", "role": role, "scope": scope,
                                                    "password_mode": "generate"})
        assert response.status_code == 403 and words in response.text, (role, scope)
    assert world.snapshot() == before and world.user("越权用户") is None


def test_bad_user_input_is_explained_beside_the_field(world):
    admin = world.login("admin")
    before = world.snapshot()
    cases = [
        ({"username": "a", "role": "viewer", "scope": A}, "username", "2–64 个字符"),
        ({"username": "school", "role": "viewer", "scope": A}, "username", "已存在"),
        ({"username": "新用户", "role": "county_admin", "scope": CITY}, "scope", "县级管理员的范围应为一个县区"),
        ({"username": "新用户", "role": "school_filler", "scope": "NOPE"}, "scope", "没有学校标识码为“NOPE”"),
        ({"username": "新用户", "role": "admin", "scope": A}, "scope", "不限定范围"),
        ({"username": "新用户", "role": "viewer", "scope": A, "password_mode": "typed", "password": "short",
          "password_repeat": "short"}, "password", "至少 10 位"),
        ({"username": "新用户", "role": "viewer", "scope": A, "password_mode": "typed", "password": "longenough1",
          "password_repeat": "different1"}, "password_repeat", "不一致"),
    ]
    for form, key, words in cases:
        response = admin.post("/admin/users/new", form)
        assert response.status_code == 400, form
        assert re.search(rf'id="err-{key}"[^>]*>[^<]*{re.escape(words)}', response.text), (form, key)
        assert "longenough1" not in response.text  # a typed password is never sent back
    assert world.snapshot() == before


def test_the_system_admin_creates_any_role_with_a_typed_password(world):
    admin = world.login("admin")
    made = admin.post("/admin/users/new", {"username": "city_sup", "display_name": "市督导", "role": "supervisor",
                                           "scope": CITY, "password_mode": "typed", "password": "督导密码-城市-2024",
                                           "password_repeat": "督导密码-城市-2024"})
    assert made.status_code == 200 and 'id="typed-password"' in made.text and "督导密码-城市-2024" not in made.text
    # the typed password logs in; a password the admin chose must be changed before any page
    assert world.login("city_sup", "督导密码-城市-2024").get(f"/counties/{B}?format=json").status_code == 403
    grant_entry = world.audit(entity="user", entity_key="city_sup", field="role_grant")[0]
    assert grant_entry.new == "市/省督导 · 测试市(990100)" and grant_entry.county_id is None
    assert admin.post("/admin/users/new", {"username": "second_admin", "role": "admin",
                                           "password_mode": "generate"}).status_code == 200


def test_disable_enable_and_reset_password_end_logins_and_are_audited(world):
    county = world.login("county")
    filler = world.login("school")
    target = user_id(world, "school")
    assert county.post(f"/admin/users/{target}/active", {"action": "disable"}).status_code == 303
    assert filler.get("/schools/A-P1", follow_redirects=False).status_code == 303  # the login has ended
    assert not world.user("school").active
    with world.database.session() as s:
        assert authenticate(s, "school", PASSWORD) is None
        assert s.scalar(select(func.count()).select_from(WebSession).where(WebSession.user_id == target)) == 0
    assert county.post(f"/admin/users/{target}/active", {"action": "enable"}).status_code == 303
    assert [(e.old, e.new, e.note) for e in world.audit(entity="user", field="active")] == [
        (True, False, "停用账号"), (False, True, "启用账号")]
    reset = county.post(f"/admin/users/{target}/password", {"password_mode": "generate"})
    assert reset.status_code == 200 and reset.headers["cache-control"] == "no-store"
    password = shown_password(reset.text)
    with world.database.session() as s:
        assert authenticate(s, "school", PASSWORD) is None and authenticate(s, "school", password) is not None
    [entry] = world.audit(entity="user", field="password")
    assert (entry.old, entry.new, entry.note) == (None, None, "密码已重置(自动生成)")
    assert password not in json.dumps([(e.old, e.new, e.note) for e in world.audit()], ensure_ascii=False)


def test_grants_are_added_and_removed_within_reach(world):
    county = world.login("county")
    target = user_id(world, "school")
    assert county.post(f"/admin/users/{target}/grants", {"role": "school_filler", "scope": "A-J1"}).status_code == 303
    assert county.post(f"/admin/users/{target}/grants", {"role": "viewer", "scope": A}).status_code == 303
    before = world.snapshot()
    duplicate = county.post(f"/admin/users/{target}/grants", {"role": "viewer", "scope": A})
    assert duplicate.status_code == 400 and "已有该角色" in duplicate.text
    beyond = county.post(f"/admin/users/{target}/grants", {"role": "school_filler", "scope": "B-P1"})
    assert beyond.status_code == 403
    assert county.post(f"/admin/users/{target}/grants", {"role": "county_admin", "scope": A}).status_code == 403
    assert world.snapshot() == before
    with world.database.session() as s:
        grants = s.scalars(select(RoleGrant).where(RoleGrant.user_id == target).order_by(RoleGrant.id)).all()
        ids = [g.id for g in grants]
    for grant_id in ids[:-1]:
        assert county.post(f"/admin/users/{target}/grants/{grant_id}/delete").status_code == 303
    before = world.snapshot()
    last = county.post(f"/admin/users/{target}/grants/{ids[-1]}/delete")
    assert last.status_code == 400 and "至少保留一个角色" in last.text
    assert world.snapshot() == before
    notes = [(e.note, e.new or e.old) for e in world.audit(entity="user", field="role_grant")
             if e.entity_key == "school"]
    assert [n for n, _ in notes] == ["授予角色", "授予角色", "撤销角色", "撤销角色"]


def test_users_beyond_a_county_admin_are_not_theirs_to_change(world):
    county = world.login("county")
    before = world.snapshot()
    for username in ("other_county", "supervisor", "admin"):
        target = user_id(world, username)
        assert county.get(f"/admin/users/{target}").status_code == 404  # not in its scope at all
        assert county.post(f"/admin/users/{target}/active", {"action": "disable"}).status_code == 404
        assert county.post(f"/admin/users/{target}/password", {"password_mode": "generate"}).status_code == 404
    # a user of its county who also has a role elsewhere is shown, not managed
    admin = world.login("admin")
    viewer = user_id(world, "viewer")
    assert admin.post(f"/admin/users/{viewer}/grants", {"role": "viewer", "scope": B}).status_code == 303
    before = world.snapshot()
    page = county.get(f"/admin/users/{viewer}")
    assert page.status_code == 200 and "您只能查看" in page.text
    assert county.post(f"/admin/users/{viewer}/active", {"action": "disable"}).status_code == 403
    assert world.snapshot() == before


def test_an_admin_cannot_lock_itself_out(world):
    admin = world.login("admin")
    me = user_id(world, "admin")
    before = world.snapshot()
    assert admin.post(f"/admin/users/{me}/active", {"action": "disable"}).status_code == 400
    assert admin.post(f"/admin/users/{me}/grants", {"role": "viewer", "scope": A}).status_code == 303
    with world.database.session() as s:
        admin_grant = s.scalar(select(RoleGrant).where(RoleGrant.user_id == me, RoleGrant.role == "admin")).id
    refused = admin.post(f"/admin/users/{me}/grants/{admin_grant}/delete")
    assert refused.status_code == 400 and "不能撤销自己的系统管理员角色" in refused.text
    assert world.user("admin").active and world.snapshot()["audit"] == before["audit"] + 1


def test_writes_need_the_csrf_token(world):
    admin = world.login("admin")
    before = world.snapshot()
    for url, form in (("/admin/org/new", {"kind": "province", "code": "980000", "name": "省"}),
                      ("/admin/users/new", {"username": "x_user", "role": "viewer", "scope": A}),
                      (f"/admin/users/{user_id(world, 'school')}/active", {"action": "disable"})):
        assert admin.post(url, form, csrf=False).status_code == 403
    assert world.snapshot() == before


# ---------------------------------------------------------------- first run, the chain, the log

def test_an_empty_install_shows_the_first_steps_and_a_new_county_offers_its_forms(database, tmp_path):
    with database.session() as s:
        user = User(username="admin", display_name="系统管理员", password_hash=password_hash())
        s.add(user)
        s.flush()
        grant(s, user, "admin", None)
    world = World(database, Settings(database_url=database.url, secret_key="k", uploads=tmp_path / "up"))
    admin = world.login("admin")
    overview = admin.get("/overview")
    assert 'id="first-run"' in overview.text and 'href="/admin"' in overview.text
    assert 'id="first-steps"' in admin.get("/admin").text
    for form in ({"kind": "province", "code": "980000", "name": "示范省"},
                 {"kind": "city", "code": "980100", "name": "示范市", "parent": "980000"},
                 {"kind": "county", "code": "980102", "name": "示范县", "parent": "980100",
                  "standard": "national-2017"}):
        assert admin.post("/admin/org/new", form).status_code == 303
    assert admin.post("/admin/counties/980102/schools/new", {"school_id": "S1", "school_name": "示范小学",
                                                              "school_type": "primary"}).status_code == 303
    assert 'id="first-run"' not in admin.get("/overview").text
    dashboard = admin.get("/counties/980102")
    assert dashboard.status_code == 200
    year = re.search(r'href="/counties/980102/years/(\d{4})" id="link-county-year"', dashboard.text).group(1)
    assert f'href="/schools/S1/years/new?year={year}"' in dashboard.text and f"填报 {year}—{int(year) + 1} 学年" in dashboard.text
    assert admin.get(f"/counties/980102/years/{year}").status_code == 200
    opened = admin.get(f"/schools/S1/years/new?year={year}", follow_redirects=True)
    assert opened.status_code == 200 and "尚未填报" in opened.text
    log = admin.get("/admin/audit").text
    for words in ("示范省", "示范市", "示范县", "示范小学", "新建县区", "新建学校"):
        assert words in log
    fields = [(e["entity_key"], e["field"]) for e in admin.get("/admin/audit?format=json").json()["entries"]]
    assert sorted(fields) == sorted([("980000", "name"), ("980100", "name"), ("980100", "province"),
                                     ("980102", "county_name"), ("980102", "city"), ("980102", "standard"),
                                     ("S1", "school_name"), ("S1", "school_type")])


def test_the_admin_log_of_a_county_admin_holds_its_counties_only(world):
    admin = world.login("admin")
    assert admin.post("/admin/users/new", {"username": "乙县查看", "role": "viewer", "scope": B,
                                           "password_mode": "generate"}).status_code == 200
    assert admin.post("/admin/users/new", {"username": "甲县查看", "role": "viewer", "scope": A,
                                           "password_mode": "generate"}).status_code == 200
    keys = {e["entity_key"] for e in world.login("county").get("/admin/audit?format=json").json()["entries"]}
    assert keys == {"甲县查看", A, "A-P1", "A-J1"}  # its users, and its county and schools as imported
    keys = {e["entity_key"] for e in admin.get("/admin/audit?format=json").json()["entries"]}
    assert {"甲县查看", "乙县查看"} <= keys

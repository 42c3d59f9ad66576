"""The county's cost table page (单价表, /counties/{code}/costs), on SQLite and PostgreSQL (the
`database` fixture): every unit price with its Chinese label and unit beside the built-in
default, for everyone who may read the plan; the county admin (and the system admin) edits it;
a save is checked field by field (finite, in range, named in Chinese) with nothing written on
any error, written atomically as the YAML the planner reads (through the cost-file loader),
audited per price, and the plan is computed with the new prices at once."""

from __future__ import annotations

import os
import re
from pathlib import Path

import builders
import pytest
from sqlalchemy import func, select
from test_plan_page import COUNTY, PLAN, World, plan_options

from junheng.planner.costs import COST_ITEMS, TEACHER_ITEMS, example_costs, load_costs, write_example_costs
from junheng.store.models import AuditEntry

COSTS = f"/counties/{COUNTY}/costs"
VERSION = re.compile(r'name="version" value="([^"]+)"')


@pytest.fixture
def world(database, tmp_path) -> World:
    return World(database, tmp_path)


def costs_file(world: World) -> Path:
    return world.root / "costs" / f"{COUNTY}.yaml"


def default_form(**changes) -> dict:
    """The form as the page fills it for a county without a table: the defaults."""
    prices = example_costs().unit_costs
    form = {f"unit_costs.{key}": str(getattr(prices, key)) for key in COST_ITEMS}
    return form | {"version": "none"} | changes


def cost_audit(world: World) -> list[AuditEntry]:
    with world.database.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.entity == "costs").order_by(AuditEntry.id)))


def audit_count(world: World) -> int:
    with world.database.session() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry))


def visible(html: str) -> str:
    """The page's text as read (no tags, attributes or scripts), typeset as `builders.plain`."""
    return builders.plain(re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", "", html, flags=re.S)))


def version_of(page_text: str) -> str:
    return VERSION.search(page_text).group(1)


# ---------------------------------------------------------------- who sees what


def test_every_reader_of_the_plan_sees_each_price_with_its_label_unit_and_default(world):
    defaults = example_costs()
    for username in ("county", "admin", "supervisor", "viewer"):
        page = world.login(username).get(COSTS)
        assert page.status_code == 200, username
        text = builders.plain(page.text)
        for key, item in COST_ITEMS.items():
            row = page.text[page.text.index(f'data-key="unit_costs.{key}"'):]
            row = builders.plain(row[:row.index("</tr>")])
            value = getattr(defaults.unit_costs, key)
            assert builders.plain(item.label) in row and item.unit in row, (username, key, row)
            assert f"{value:,.0f}" in row if value >= 1 else str(value) in row
        for item in TEACHER_ITEMS.values():
            assert builders.plain(item.label) in text
        assert "本县尚未设置单价表" in text
        editable = username in ("county", "admin")
        assert ('id="costs-form"' in page.text) is editable, username
        assert ("只有本县区的县级管理员可以修改单价表" in text) is not editable
    data = world.login("viewer").get(COSTS, params={"format": "json"}).json()
    assert data["own"] is False and data["costs"]["unit_costs"] == data["default"]["unit_costs"]
    assert world.login("school").get(COSTS).status_code == 403


def test_the_plan_page_links_the_cost_table(world):
    page = world.login("viewer").get(PLAN, params=plan_options(run="1"))
    assert f'href="/counties/{COUNTY}/costs" id="link-costs"' in page.text
    example = builders.plain(page.text[page.text.index('id="example-costs"'):])
    assert "示例单价" in example and "由县级管理员" in example


# ---------------------------------------------------------------- saving


def test_a_county_admin_sets_its_prices_the_plan_uses_them_and_each_change_is_audited(world):
    county = world.login("county")
    before = county.get(PLAN, params=plan_options(format="json")).json()
    room = next(a for a in before["actions"] if a["kind"] == "add_multimedia_classrooms")
    assert room["unit_cost"] == 60000 and before["costs"]["example"] is True
    form = default_form(**{"unit_costs.multimedia_classroom": "8.5万", "unit_costs.teacher_per_year": "120,000",
                           "teacher_per_year_by_kind.backbone": "130000", "description": "2025 年本县造价信息"})
    saved = county.post(COSTS, form)
    assert saved.status_code == 303 and saved.headers["location"] == f"{COSTS}?saved=1", saved.text
    # the file is the YAML the planner reads, through the loader that checks every cost file
    table = load_costs(costs_file(world))
    assert table.example is False and table.description == "2025 年本县造价信息"
    assert table.unit_costs.multimedia_classroom == 85000 and table.unit_costs.teacher_per_year == 120000
    assert table.teacher_cost("backbone") == 130000 and table.teacher_cost("pe_art") == 120000
    assert table.unit_costs.sports_area == example_costs().unit_costs.sports_area  # the others unchanged
    assert not [p for p in costs_file(world).parent.iterdir() if p.name != f"{COUNTY}.yaml"]  # no temporary left
    # one audit entry per changed entry, old → new, by the county admin, on the county's log
    entries = {e.field: (e.old, e.new) for e in cost_audit(world)}
    assert entries == {"example": (True, False), "unit_costs.multimedia_classroom": (60000, 85000),
                       "unit_costs.teacher_per_year": (110000, 120000),
                       "teacher_per_year_by_kind.backbone": (None, 130000)}
    assert all(e.via == "form" and e.entity_key == COUNTY for e in cost_audit(world))
    log = county.get(f"/counties/{COUNTY}/audit", params={"entity": "costs"}).text
    rows = visible(log[log.index("<tbody"):])
    assert builders.plain("单价表:建设一间网络多媒体教室") in rows and re.search(r"85,?000", rows) and "unit_costs" not in rows
    # the page shows the county's prices; the plan is computed with them at once
    page = builders.plain(county.get(saved.headers["location"]).text)
    assert "已保存单价表" in page and "2025 年本县造价信息" in page and "本县尚未设置单价表" not in page
    after = county.get(PLAN, params=plan_options(format="json")).json()
    room = next(a for a in after["actions"] if a["kind"] == "add_multimedia_classrooms")
    assert room["unit_cost"] == 85000 and room["cost"] == 85000 * room["quantity"]
    assert after["costs"]["example"] is False
    assert 'id="example-costs"' not in county.get(PLAN, params=plan_options(run="1")).text
    # the same form again changes nothing: no write, no audit entry
    stamp = costs_file(world).stat().st_mtime_ns
    form["version"] = version_of(county.get(COSTS).text)
    again = county.post(COSTS, form)
    assert again.status_code == 303 and again.headers["location"].endswith("msg=nochange")
    assert len(cost_audit(world)) == 4 and costs_file(world).stat().st_mtime_ns == stamp


BAD_PRICES = [  # (field, typed, words of the message)
    ("unit_costs.teaching_aux_area", "abc", ["新建、扩建教学及辅助用房", "“abc”不是有效的数字", "元/m²"]),
    ("unit_costs.sports_area", "-350", ["新建、扩建体育运动场地", "应在 0 到 20,000 元/m² 之间", "-350 元/m²"]),
    ("unit_costs.music_room", "inf", ["新建一间音乐专用教室", "不是有效的数字"]),
    ("unit_costs.art_room", "nan", ["新建一间美术专用教室", "不是有效的数字"]),
    ("unit_costs.teacher_per_year", "1e9", ["新增一名专任教师的年人员经费", "不是有效的数字"]),
    ("unit_costs.teaching_aux_area", "350000", ["应在 0 到 50,000 元/m² 之间", "350,000 元/m²", "单位是否有误"]),
    ("unit_costs.class_split", "", ["增设一个班级以拆分大班额", "请填写单价", "元/班"]),
    ("unit_costs.equipment", "3万", ["购置教学仪器设备", "元/元", "如 1 或 1.1"]),
    ("unit_costs.equipment", "11", ["应在 0 到 10 元/元 之间"]),
    ("teacher_per_year_by_kind.pe_art", "300万", ["新增体育、艺术专任教师的年人员经费", "应在 0 到 2,000,000"]),
    ("description", "说" * 201, ["单价来源说明", "不能超过 200 个字"]),
]


@pytest.mark.parametrize("field,typed,words", BAD_PRICES)
def test_a_bad_price_is_refused_in_chinese_beside_its_field_and_nothing_is_saved(world, field, typed, words):
    county = world.login("county")
    before = audit_count(world)
    response = county.post(COSTS, default_form(**{field: typed, "unit_costs.multimedia_classroom": "70000"}))
    assert response.status_code == 400
    text = builders.plain(response.text)
    assert "没有保存" in text and all(builders.plain(w) in text for w in words), text[:2000]
    if field != "description":
        field_id = field.replace(".", "-").replace("_", "-")
        assert f'id="err-{field_id}"' in response.text and f'aria-describedby="err-{field_id}"' in response.text
    assert 'value="70000"' in response.text  # what was typed comes back
    assert not costs_file(world).exists() and audit_count(world) == before


def test_a_form_opened_before_another_save_is_refused(world):
    county, admin = world.login("county"), world.login("admin")
    stale = version_of(county.get(COSTS).text)
    assert admin.post(COSTS, default_form(**{"unit_costs.art_room": "450000"})).status_code == 303
    content, entries = costs_file(world).read_bytes(), len(cost_audit(world))
    refused = county.post(COSTS, default_form(**{"unit_costs.art_room": "500000", "version": stale}))
    assert refused.status_code == 409 and "已被他人修改" in builders.plain(refused.text)
    assert costs_file(world).read_bytes() == content and len(cost_audit(world)) == entries
    assert load_costs(costs_file(world)).unit_costs.art_room == 450000


def test_school_limits_and_other_entries_of_the_file_are_kept(world):
    path = costs_file(world)
    path.parent.mkdir(parents=True)
    write_example_costs(path)
    text = path.read_text("utf-8").replace("example: true", "example: false").replace(
        "max_new_teachers: null", "max_new_teachers: 5").replace(
        "schools: {}", 'schools:\n  "G-P2": {sports_land: false}').replace("new_room_area: {}", "new_room_area: {music: 100}")
    path.write_text(text, "utf-8")
    county = world.login("county")
    page = county.get(COSTS)
    assert "1 所学校有逐校限制" in builders.plain(page.text)
    form = default_form(**{"unit_costs.sports_area": "400", "version": version_of(page.text)})
    assert county.post(COSTS, form).status_code == 303
    table = load_costs(path)
    assert table.unit_costs.sports_area == 400
    limits = table.limits("G-P2")
    assert limits.sports_land is False and limits.max_new_teachers == 5  # the school overrides only its own entry
    assert table.new_room_area == {"music": 100} and table.school_defaults.max_new_teachers == 5


def test_a_broken_file_is_shown_and_replaced_keeping_a_copy(world):
    path = costs_file(world)
    path.parent.mkdir(parents=True)
    path.write_text("unit_costs: {teacher_per_year: -1}\n", "utf-8")
    county = world.login("county")
    page = county.get(COSTS)
    problem = builders.plain(page.text[page.text.index('id="costs-problem"'):])
    assert "本县单价表文件有误" in problem and "新增一名专任教师的年人员经费" in problem
    assert county.post(COSTS, default_form(version=version_of(page.text))).status_code == 303
    assert load_costs(path).unit_costs.teacher_per_year == example_costs().unit_costs.teacher_per_year
    assert path.with_name(path.name + ".bak").read_text("utf-8") == "unit_costs: {teacher_per_year: -1}\n"
    assert [e.field for e in cost_audit(world)] == ["example"]


def test_a_failed_write_leaves_the_old_file_and_no_audit_entry(world, monkeypatch):
    county = world.login("county")
    assert county.post(COSTS, default_form(**{"unit_costs.art_room": "450000"})).status_code == 303
    content, entries = costs_file(world).read_bytes(), len(cost_audit(world))

    def no_room(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_room)
    form = default_form(**{"unit_costs.art_room": "500000", "version": version_of(county.get(COSTS).text)})
    response = county.post(COSTS, form)
    assert response.status_code == 500 and "单价表没有修改" in builders.plain(response.text)
    assert costs_file(world).read_bytes() == content and len(cost_audit(world)) == entries
    assert sorted(p.name for p in costs_file(world).parent.iterdir()) == [f"{COUNTY}.yaml"]  # temporary removed


def test_only_those_who_manage_the_county_may_save(world):
    before = audit_count(world)
    for username in ("supervisor", "viewer", "school"):
        refused = world.login(username).post(COSTS, default_form())
        assert refused.status_code == 403, username
    assert "县级管理员" in builders.plain(world.login("viewer").post(COSTS, default_form()).text)
    assert world.login("county").post(COSTS, default_form(), csrf=False).status_code == 403
    assert not costs_file(world).exists() and audit_count(world) == before

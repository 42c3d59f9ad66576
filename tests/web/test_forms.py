"""The data-entry pages: a school's yearly form (validation, audit, optimistic locking, scope,
CSRF, workflow), the county's yearly form and quality rows, review, audit log, soft delete."""

from __future__ import annotations

import builders
import csv
import io
import re

import pytest
from sqlalchemy import select
from web_world import COUNTY, YEAR

from junheng.store.models import School

FORM = f"/schools/P1/years/{YEAR}"


def version_of(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def field_html(html: str, key: str) -> str:
    """The markup of one field's block on the form."""
    start = html.index(f'id="field-{key}"')
    end = html.find('id="field-', start + 10)
    return html[start:end if end > 0 else len(html)]


@pytest.fixture
def draft(web_world):
    web_world.set_status("P1", "draft")
    return web_world


def test_a_bad_value_is_shown_beside_its_field_and_nothing_is_saved(draft):
    school = draft.login("school")
    page = school.get(FORM)
    assert page.status_code == 200 and "学生与班级" in page.text and "放宽条款所需(可选)" in builders.plain(page.text)
    before = draft.snapshot()
    response = school.post(FORM, {"version": version_of(page.text), "action": "save", "students_primary": "一千",
                                  "sports_area": "15000", "backbone_teachers_primary": "99999"})
    assert response.status_code == 400
    students = field_html(response.text, "students_primary")
    assert "field-error" in students and "无效" in students and "非负整数" in students
    assert 'value="一千"' in students  # what was typed stays in the form
    backbone = field_html(response.text, "backbone_teachers_primary")
    assert "大于同一行" in backbone and "小学专任教师数" in backbone
    assert 'value="15000"' in field_html(response.text, "sports_area")
    assert "没有保存" in response.text
    assert draft.snapshot() == before


def test_a_good_value_is_saved_with_one_audit_entry(draft):
    school = draft.login("school")
    page = school.get(FORM)
    old = draft.school_year("P1")
    form = {"version": version_of(page.text), "action": "save", "sports_area": "23456.5",
            "moral_rating": "excellent", "has_charter": "是",
            "students_junior": "500"}  # a primary school has no junior segment: not on its form, ignored
    response = school.post(FORM, form)
    assert response.status_code == 303 and response.headers["location"].endswith("msg=saved")
    row = draft.school_year("P1")
    assert row.values["sports_area"] == 23456.5 and row.values["moral_rating"] == "excellent"
    assert "students_junior" not in row.values
    assert row.version == old.version + 1 and row.status == "draft"
    entries = draft.audit(via="form", entity="school_year")
    assert {(e.field, e.old, e.new) for e in entries} == {
        ("sports_area", old.values["sports_area"], 23456.5), ("moral_rating", "good", "excellent")}
    assert all(e.entity_key == f"P1/{YEAR}" and e.user.username == "school" for e in entries)
    shown = school.get(FORM + "?msg=saved")
    assert "已保存" in shown.text
    assert "历史(" in builders.plain(field_html(shown.text, "sports_area")) and "23456.5" in field_html(shown.text, "sports_area")


def test_an_emptied_field_clears_the_stored_value(draft):
    school = draft.login("school")
    version = version_of(school.get(FORM).text)
    assert school.post(FORM, {"version": version, "action": "save", "art_room_min_area": ""}).status_code == 303
    assert draft.school_year("P1").values.get("art_room_min_area") is None
    [entry] = draft.audit(field="art_room_min_area", via="form")
    assert entry.old == 95.0 and entry.new is None


def test_a_stale_form_is_refused(draft):
    school, county = draft.login("school"), draft.login("county")
    stale = version_of(school.get(FORM).text)
    assert county.post(FORM, {"version": stale, "action": "save", "sports_area": "20000"}).status_code == 303
    before = draft.snapshot()
    response = school.post(FORM, {"version": stale, "action": "save", "sports_area": "30000"})
    assert response.status_code == 409 and "已被他人修改" in response.text and "载入最新数据" in response.text
    assert 'value="30000"' in field_html(response.text, "sports_area")
    assert draft.snapshot() == before and draft.school_year("P1").values["sports_area"] == 20000


def test_a_school_filler_cannot_touch_another_school(draft):
    draft.set_status("P2", "draft")
    school = draft.login("school")
    before = draft.snapshot()
    for code in ("P2", "Q1"):
        assert school.get(f"/schools/{code}/years/{YEAR}").status_code == 403
        response = school.post(f"/schools/{code}/years/{YEAR}", {"version": "2", "action": "save",
                                                                 "sports_area": "1"})
        assert response.status_code == 403
        assert school.post(f"/schools/{code}/years/{YEAR}/workflow", {"action": "submit"}).status_code == 403
    assert school.post(f"/schools/P1/years/{YEAR}/workflow", {"action": "approve"}).status_code == 403
    assert draft.snapshot() == before


def test_a_viewer_sees_the_form_read_only_and_cannot_post(draft):
    viewer = draft.login("viewer")
    page = viewer.get(FORM)
    assert page.status_code == 200 and "保存草稿" not in page.text and "只有查看权限" in page.text
    before = draft.snapshot()
    assert viewer.post(FORM, {"version": version_of(page.text), "sports_area": "1"}).status_code == 403
    assert draft.snapshot() == before


def test_a_post_without_the_csrf_token_is_refused(draft):
    school = draft.login("school")
    version = version_of(school.get(FORM).text)
    before = draft.snapshot()
    assert school.post(FORM, {"version": version, "sports_area": "1"}, csrf=False).status_code == 403
    response = school.post(FORM, {"version": version, "sports_area": "1", "csrf_token": "forged"})
    assert response.status_code == 403 and "CSRF" in response.text
    assert draft.snapshot() == before


def test_submit_locks_and_the_county_approves_returns_and_reopens(draft):
    school, county = draft.login("school"), draft.login("county")
    version = version_of(school.get(FORM).text)
    response = school.post(FORM, {"version": version, "action": "submit", "sports_area": "21000"})
    assert response.status_code == 303 and draft.school_year("P1").status == "submitted"
    page = school.get(FORM)
    assert "等待县级管理员审核" in page.text and "提交审核</button>" not in page.text
    before = draft.snapshot()
    refused = school.post(FORM, {"version": version_of(page.text), "action": "save", "sports_area": "1"})
    assert refused.status_code == 409 and "已锁定" in refused.text and draft.snapshot() == before

    assert county.post(f"{FORM}/workflow", {"action": "return", "note": ""}).status_code == 400
    assert county.post(f"{FORM}/workflow", {"action": "return", "note": "体育场馆面积请按新测量填写"}).status_code == 303
    row = draft.school_year("P1")
    assert row.status == "returned" and row.status_note == "体育场馆面积请按新测量填写"
    assert "体育场馆面积请按新测量填写" in school.get(FORM).text
    version = version_of(school.get(FORM).text)
    assert school.post(FORM, {"version": version, "action": "submit", "sports_area": "21500"}).status_code == 303
    assert county.post(f"{FORM}/workflow", {"action": "approve"}).status_code == 303
    assert draft.school_year("P1").status == "approved"
    assert "已审核通过,已锁定" in builders.plain(school.get(FORM).text)
    assert county.post(f"{FORM}/workflow", {"action": "reopen"}).status_code == 303
    assert draft.school_year("P1").status == "draft"
    statuses = [(e.old, e.new) for e in draft.audit(field="status", entity_key=f"P1/{YEAR}")]
    assert statuses[-5:] == [("draft", "submitted"), ("submitted", "returned"), ("returned", "submitted"),
                             ("submitted", "approved"), ("approved", "draft")]


def test_a_new_year_is_created_by_its_first_save(web_world):
    school = web_world.login("school")
    start = school.get(f"/schools/P1/years/new?year={YEAR + 1}", follow_redirects=False)
    assert start.status_code == 303 and start.headers["location"] == f"/schools/P1/years/{YEAR + 1}?prefill={YEAR}"
    page = school.get(start.headers["location"])
    assert page.status_code == 200 and "还没有记录" in page.text and "预填" in page.text
    assert version_of(page.text) == "0"
    missing = school.post(f"/schools/P1/years/{YEAR + 1}", {"version": "0", "action": "submit", "sports_area": "100"})
    assert missing.status_code == 400 and "提交审核前请填写" in field_html(missing.text, "students_primary")
    assert web_world.school_year("P1", YEAR + 1) is None
    saved = school.post(f"/schools/P1/years/{YEAR + 1}", {"version": "0", "action": "save", "students_primary": "990"})
    assert saved.status_code == 303
    row = web_world.school_year("P1", YEAR + 1)
    assert row.status == "draft" and row.values == {"students_primary": 990}
    created = web_world.audit(entity_key=f"P1/{YEAR + 1}")
    assert [(e.field, e.old, e.new) for e in created] == [("status", None, "draft"), ("students_primary", None, 990)]
    assert web_world.login("viewer").get(f"/schools/P1/years/{YEAR + 2}").status_code == 404


def test_the_dashboard_counts_only_approved_data(draft):
    county = draft.login("county")
    data = county.get(f"/counties/{COUNTY}?format=json").json()
    schools = {u["school_id"] for u in data["areas"]["resource_allocation"]["units"]}
    assert "P1" not in schools  # a draft does not count
    assert "已审核 5 所" in county.get(f"/counties/{COUNTY}").text
    school = draft.login("school")
    version = version_of(school.get(FORM).text)
    assert school.post(FORM, {"version": version, "action": "submit"}).status_code == 303
    page = county.get(f"/counties/{COUNTY}")
    assert 'id="pending"' in page.text and "待审核的学校数据" in page.text
    response = county.post(f"{FORM}/workflow", {"action": "approve", "next": f"/counties/{COUNTY}?year={YEAR}"})
    assert response.headers["location"] == f"/counties/{COUNTY}?year={YEAR}&msg=approved"
    assert "已审核 6 所" in county.get(response.headers["location"]).text
    data = county.get(f"/counties/{COUNTY}?format=json").json()
    assert "P1" in {u["school_id"] for u in data["areas"]["resource_allocation"]["units"]}


def test_review_is_for_the_county_admin_of_that_county(draft):
    draft.set_status("P1", "submitted")
    before = draft.snapshot()
    for username in ("school", "viewer", "other_county"):
        client = draft.login(username)
        assert client.post(f"{FORM}/workflow", {"action": "approve"}).status_code == 403
        assert client.post(f"/counties/{COUNTY}/review", {"action": "approve", "items": [f"P1/{YEAR}"]}
                           ).status_code == 403
    other = draft.login("other_county")  # its own county's page cannot approve another county's school
    assert other.post("/counties/990002/review", {"action": "approve", "items": [f"P1/{YEAR}"]}).status_code == 403
    assert draft.snapshot() == before
    county = draft.login("county")
    page = county.get(f"/counties/{COUNTY}/review")
    assert page.status_code == 200 and f'data-key="P1/{YEAR}"' in page.text
    draft.set_status("P2", "submitted")
    response = county.post(f"/counties/{COUNTY}/review", {"action": "approve", "items": [f"P1/{YEAR}", f"P2/{YEAR}"]})
    assert response.status_code == 303
    assert draft.school_year("P1").status == draft.school_year("P2").status == "approved"


def test_a_bulk_approval_is_all_or_nothing(draft):
    draft.set_status("P1", "submitted")  # P2 stays approved: approving it again is refused
    county = draft.login("county")
    before = draft.snapshot()
    response = county.post(f"/counties/{COUNTY}/review", {"action": "approve", "items": [f"P1/{YEAR}", f"P2/{YEAR}"]})
    assert response.status_code == 409 and "均未审核通过" in response.text
    assert draft.snapshot() == before


def test_the_county_year_form_validates_audits_and_locks(web_world):
    county, viewer = web_world.login("county"), web_world.login("viewer")
    url = f"/counties/{COUNTY}/years/{YEAR}"
    page = county.get(url)
    assert page.status_code == 200 and "一票否决事项" in page.text and "已锁定" in page.text  # imported approved
    assert viewer.get(url).status_code == 200
    assert viewer.post(url, {"version": version_of(page.text), "social_recognition_rate": "50"}).status_code == 403
    assert county.post(f"{url}/workflow", {"action": "reopen"}).status_code == 303
    page = county.get(url)
    before = web_world.snapshot()
    bad = county.post(url, {"version": version_of(page.text), "action": "save", "social_recognition_rate": "0.9",
                            "four_unified": "否"})
    assert bad.status_code == 400 and "小数形式" in field_html(bad.text, "social_recognition_rate")
    assert web_world.snapshot() == before
    good = county.post(url, {"version": version_of(page.text), "action": "lock", "social_recognition_rate": "88.5",
                             "four_unified": "否"})
    assert good.status_code == 303
    row = web_world.county_year()
    assert row.values["social_recognition_rate"] == 88.5 and row.values["four_unified"] is False
    assert row.status == "approved"
    assert {e.field for e in web_world.audit(entity="county_year", via="form")} >= {
        "social_recognition_rate", "four_unified", "status"}


def test_quality_rows_are_edited_added_and_deleted_with_audit(web_world):
    county = web_world.login("county")
    url = f"/counties/{COUNTY}/years/{YEAR}"
    county.post(f"{url}/workflow", {"action": "reopen"})
    page = county.get(url).text
    version = re.search(r'name="quality_version" value="([^"]+)"', page).group(1)
    # stored: 数学 4 0.12, 科学 3 0.08, 语文 3 0.10 (ordered by subject); two blank rows for new subjects
    rows = {"subject": ["数学", "科学", "语文", "英语", ""], "level": ["4", "3", "2", "3", ""],
            "rate": ["0.12", "0.08", "0.10", "1.5", ""], "existing": ["1", "1", "1", "0", "0"]}
    before = web_world.snapshot()  # taken before the bad post: the refusal must leave it as it was
    bad = county.post(f"{url}/quality", {**rows, "quality_version": version})
    assert bad.status_code == 400 and "0 到 1 之间的小数" in bad.text
    assert web_world.snapshot() == before
    rows["rate"][3] = "0.11"
    good = county.post(f"{url}/quality", {**rows, "quality_version": version, "delete": ["1"]})
    assert good.status_code == 303
    entries = {(e.entity_key.split("/", 2)[2], e.field, e.old, e.new)
               for e in web_world.audit(entity="quality", via="form")}
    assert ("语文", "level", 3, 2) in entries and ("英语", "level", None, 3) in entries
    assert any(k == "科学" and f == "deleted_at" for k, f, _, _ in entries)
    stale = county.post(f"{url}/quality", {**rows, "quality_version": version})
    assert stale.status_code == 409


def test_the_audit_log_filters_and_exports_csv_with_bom(draft):
    school = draft.login("school")
    version = version_of(school.get(FORM).text)
    school.post(FORM, {"version": version, "action": "save", "sports_area": "24680"})
    county = draft.login("county")
    page = county.get(f"/counties/{COUNTY}/audit?school=P1&via=form")
    assert page.status_code == 200 and "24680" in page.text and "体育运动场馆面积" in page.text
    assert "共 1 条" in page.text
    assert "共 0 条" in county.get(f"/counties/{COUNTY}/audit?school=P2&via=form").text
    assert "共 0 条" in county.get(f"/counties/{COUNTY}/audit?via=form&date_to=2000-01-01").text
    assert "不是有效日期" in county.get(f"/counties/{COUNTY}/audit?date_from=bad").text
    export = county.get(f"/counties/{COUNTY}/audit.csv?school=P1&via=form")
    assert export.status_code == 200 and export.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][0].startswith("时间") and len(rows) == 2 and rows[1][6] == "sports_area" and rows[1][9] == "24680"
    assert school.get(f"/counties/{COUNTY}/audit").status_code == 403  # a school filler reads no county log
    assert draft.login("other_county").get(f"/counties/{COUNTY}/audit.csv").status_code == 403


def test_soft_delete_and_restore_are_audited_and_for_the_county_admin(draft):
    school, county = draft.login("school"), draft.login("county")
    before = draft.snapshot()
    assert school.post(f"/schools/P1/years/{YEAR}/delete").status_code == 403
    assert school.post("/schools/P1/delete").status_code == 403
    assert draft.login("other_county").post("/schools/P1/delete").status_code == 403
    assert draft.snapshot() == before
    assert county.post(f"/schools/P2/years/{YEAR}/delete").status_code == 409  # approved: reopen first
    assert county.post(f"/schools/P1/years/{YEAR}/delete").status_code == 303
    assert county.post("/schools/J1/delete").status_code == 303
    page = county.get(f"/counties/{COUNTY}/deleted")
    assert "测试学校J1" in page.text and f"{YEAR}—{YEAR + 1}" in page.text
    assert "测试学校J1" not in county.get(f"/counties/{COUNTY}").text.split("<h2>学校</h2>")[1]
    locked = school.post(FORM, {"version": "3", "action": "save", "sports_area": "1"})
    assert locked.status_code == 409 and "已删除" in locked.text
    assert county.post(f"/schools/P1/years/{YEAR}/restore").status_code == 303
    assert county.post("/schools/J1/restore").status_code == 303
    assert draft.school_year("P1").deleted_at is None
    with draft.database.session() as s:
        assert s.scalar(select(School).where(School.code == "J1")).deleted_at is None
    notes = [(e.entity, e.entity_key, e.note) for e in draft.audit(field="deleted_at")]
    assert notes == [("school_year", f"P1/{YEAR}", "删除"), ("school", "J1", "删除"),
                     ("school_year", f"P1/{YEAR}", "恢复"), ("school", "J1", "恢复")]


def test_a_school_filler_is_not_offered_the_county_pages_it_may_not_open(draft):
    school, county = draft.login("school"), draft.login("county")
    for path in ("/schools/P1", f"/schools/P1/years/{YEAR}", "/schools/P1/trends"):
        page = school.get(path)
        assert page.status_code == 200
        assert f'href="/counties/{COUNTY}"' not in page.text  # the county's name, not a link to a 403
        assert f'href="/counties/{COUNTY}"' in county.get(path).text
    header = school.get("/schools/P1").text.split("</h1>", 1)[1].split("</p>", 1)[0]
    assert "小学" in header and "primary" not in header  # the school type by its Chinese name

"""Monitoring pages, part B: trend charts and year-on-year tables (county and school), the
enrolment forecast page with its own input upload (预测数据), the notification log and the
subscription page (webhook hosts restricted) — scope checked on the server, JSON for each page.

The world is tests/web/web_world.py's (county 990001 with P1…N1 in 2024, county 990002 with
Q1, one user per role) plus an approved 2023 in which P1 had more sports area, and a
supervisor of 990001."""

from __future__ import annotations

import re

import builders
import io
import sys
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))
from web_world import WebWorld, password_hash, web_build_world, web_template_database  # noqa: E402

from junheng.monitor.notify import add_subscription  # noqa: E402
from junheng.store.models import (  # noqa: E402
    AuditEntry,
    CountyIntake,
    GradeEnrolment,
    HousingProject,
    MonitorWarning,
    NotificationItem,
    NotificationLog,
    NotificationSubscription,
    User,
)
from junheng.store.users import grant  # noqa: E402
from monitor_helpers import store, year_dataset  # noqa: E402

COUNTY, OTHER = "990001", "990002"
P1_SPORTS_2023 = 20000.0  # 2024 (builders' default) has 15840 m²: R5 of P1 falls year on year


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("monitor-web")
    path = web_template_database(folder)
    from junheng.store.db import Database

    database = Database(f"sqlite:///{path}")
    store(database, year_dataset(2023, {"P1": {"sports_area": P1_SPORTS_2023}}))
    with database.session() as s:
        user = User(username="supervisor", display_name="督导(测试)", password_hash=password_hash())
        s.add(user)
        s.flush()
        grant(s, user, "supervisor", COUNTY)
    database.engine.dispose()
    return path


@pytest.fixture
def world(tmp_path, template) -> WebWorld:
    world = web_build_world(tmp_path, template)
    yield world
    world.database.engine.dispose()


def _json(client, url: str, status: int = 200):
    response = client.get(url + ("&" if "?" in url else "?") + "format=json")
    assert response.status_code == status, (url, response.status_code, response.text[:500])
    return response.json()


# ---------------------------------------------------------------- trends


def test_county_and_school_trends(world):
    county = world.login("county")
    # the dashboard and the school page carry the placeholder the script fills
    page = county.get(f"/counties/{COUNTY}").text
    assert f'data-trends-src="/counties/{COUNTY}/trends?fragment=1&amp;year=2024"' in page
    # the script and the ECharts it loads by their versioned URLs (web/assets.py)
    assert re.search(r'<script src="/static/trends\.js\?v=[0-9a-f]{12}" '
                     r'data-echarts="/static/vendor/echarts/echarts\.min\.js\?v=[0-9a-f]{12}" defer>', page)
    assert 'data-trends-src="/schools/P1/trends?fragment=1"' in county.get("/schools/P1").text

    data = _json(county, f"/counties/{COUNTY}/trends")
    assert data["years"] == [2023, 2024] and data["year"] == 2024 and data["previous_year"] == 2023
    charts = {c["id"]: c for c in data["charts"]}
    assert {"trend-cv-primary", "trend-mean-primary", "trend-cv-junior", "trend-mean-junior"} <= set(charts)
    cv = charts["trend-cv-primary"]
    assert cv["mark"] == 0.5 and [s["name"] for s in cv["series"]] == [f"R{i}" for i in range(1, 8)]
    assert all(len(s["data"]) == 2 for s in cv["series"])
    r5 = next(s for s in cv["series"] if s["name"] == "R5")
    assert r5["data"][1] < r5["data"][0]  # P1 came down to the others: the primary R5 CV fell
    change = next(r for r in data["changes"] if r["ident"] == "R5/cv/-/primary/-")
    assert change["direction"] == "better" and change["previous_value"] == pytest.approx(r5["data"][0], abs=1e-4)
    assert all(r["level"] in ("cv", "county_value", "county") for r in data["changes"])
    worse = {r["ident"]: r for r in data["worse_schools"]}
    p1 = worse["R5/unit/P1/primary/-"]
    assert (p1["previous_value"], p1["value"], p1["direction_label"]) == (20.0, pytest.approx(15.84), "下滑")
    assert p1["where"] == "测试学校P1(小学)" and data["worse_school_total"] >= 1

    fragment = county.get(f"/counties/{COUNTY}/trends?fragment=1&year=2024")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'id="trend-changes"' in fragment.text and "data-trend-chart=" in fragment.text
    assert "2024—2025 学年与 2023—2024 学年比较" in fragment.text and "测试学校P1(小学)" in builders.plain(fragment.text)
    full = county.get(f"/counties/{COUNTY}/trends")
    assert "<html" in full.text and "/static/vendor/echarts/echarts.min.js" in full.text

    # the school filler of P1 sees P1's trend, nothing of other schools
    school = world.login("school")
    data = _json(school, "/schools/P1/trends")
    assert data["school_id"] == "P1" and data["years"] == [2023, 2024]
    assert [c["id"] for c in data["charts"]] == ["trend-unit-primary"]
    assert {r["school_id"] for r in data["changes"]} == {"P1"}
    r5 = next(r for r in data["changes"] if r["ident"] == "R5/unit/P1/primary/-")
    assert r5["direction"] == "worse" and r5["change"] == pytest.approx(-4.16)
    share = next(s for s in data["charts"][0]["series"] if s["name"] == "R5")["data"]
    assert share == [pytest.approx(20.0 / 7.5 * 100, abs=0.01), pytest.approx(15.84 / 7.5 * 100, abs=0.01)]
    assert "测试学校P1(小学)" in builders.plain(school.get("/schools/P1/trends?fragment=1").text)

    # scope is checked on the server
    assert school.get(f"/counties/{COUNTY}/trends?format=json").status_code == 403
    assert school.get("/schools/P2/trends?format=json").status_code == 403
    assert world.login("other_county").get(f"/counties/{COUNTY}/trends?fragment=1").status_code == 403
    assert world.login("other_school").get("/schools/P1/trends").status_code == 403
    for reader in ("viewer", "supervisor", "admin"):
        assert _json(world.login(reader), f"/counties/{COUNTY}/trends")["years"] == [2023, 2024]


# ---------------------------------------------------------------- forecast


def _workbook(sheets: dict[str, list[list]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


GRADES = [["学校标识码", "学年", "年级", "在校生数"]] + [
    [school, year, grade, 1000 // 6] for school in ("P1", "P2", "P3") for year in (2023, 2024) for grade in range(1, 7)]
INTAKE = [["年份", "出生人口"]] + [[year, 600] for year in range(2015, 2024)]
HOUSING = [["项目名称", "交付年份", "学校标识码", "新增小学生数", "新增初中生数"], ["滨河新城", 2026, "P1", 300, 0]]


def _counts(world) -> tuple:
    with world.database.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (GradeEnrolment, CountyIntake,
                                                                            HousingProject, AuditEntry))


def test_forecast_page_and_its_inputs(world):
    county = world.login("county")
    data = _json(county, f"/counties/{COUNTY}/forecast?years=3")
    assert data["base_year"] == 2024 and data["years"] == [2025, 2026, 2027]
    assert data["grades"] == [] and {s["method"] for s in data["schools"]} == {"segment"}
    primary = next(s for s in data["segments"] if s["segment"] == "primary")
    assert primary["base_students"] == 4000 and primary["capacity"] == 100 * 45  # 4 × 25 classes of at most 45
    assert primary["chart"]["years"] == [2024, 2025, 2026, 2027] and primary["chart"]["mid"][0] == 4000
    for row in primary["rows"]:
        assert row["demand"]["low"] <= row["demand"]["mid"] <= row["demand"]["high"]
    assert set(data["failing_items"]) == {"mid", "low", "high"} and data["inputs"]["housing"] == []
    assert {r["indicator"] for r in data["sizes"]} == {"G4", "G5"}
    page = county.get(f"/counties/{COUNTY}/forecast").text
    assert 'id="forecast-upload"' in page and "data-forecast-chart=" in page and 'id="seats"' in page

    # the template: its own workbook, not the interchange format's
    template = county.get(f"/counties/{COUNTY}/forecast-template.xlsx")
    assert template.status_code == 200 and template.headers["content-type"].startswith(
        "application/vnd.openxmlformats")
    names = openpyxl.load_workbook(io.BytesIO(template.content)).sheetnames
    assert names == ["填写说明", "分年级在校生数", "入学来源", "住房项目"]

    # a workbook with any problem imports nothing and says where
    before = _counts(world)
    bad = _workbook({"分年级在校生数": GRADES + [["Q1", 2024, 1, 10], ["P1", 2024, 10, "many"]],
                     "入学来源": INTAKE, "住房项目": HOUSING})
    response = county.post(f"/counties/{COUNTY}/forecast/inputs", files={"file": ("预测.xlsx", bad)})
    assert response.status_code == 400
    assert "第 39 行“年级”:“10”应为 1–9 的年级" in builders.plain(response.text)
    assert "第 39 行“在校生数”:“many”应为非负整数" in builders.plain(response.text)
    assert _counts(world) == before
    bad = _workbook({"分年级在校生数": GRADES + [["Q1", 2024, 1, 10]]})
    response = county.post(f"/counties/{COUNTY}/forecast/inputs", files={"file": ("预测.xlsx", bad)})
    assert response.status_code == 400 and "学校标识码“Q1”属于其他县区" in response.text
    assert _counts(world) == before
    response = county.post(f"/counties/{COUNTY}/forecast/inputs", files={"file": ("预测.xlsx", b"not a workbook")})
    assert response.status_code == 400 and "不是有效的 Excel 工作簿" in response.text
    response = county.post(f"/counties/{COUNTY}/forecast/inputs", files={"file": ("预测.xlsx", _workbook({"Sheet9": []}))})
    assert response.status_code == 400 and "中没有数据" in response.text
    misnamed = _workbook({"分年级人数": GRADES, "入学来源": [["年份", "出生人口", "死亡人口"], [2020, 500, 3]]})
    response = county.post(f"/counties/{COUNTY}/forecast/inputs", files={"file": ("预测.xlsx", misnamed)})
    assert response.status_code == 400 and "未识别的工作表“分年级人数”" in response.text
    assert "工作表“入学来源”中有未识别的列 死亡人口" in response.text and _counts(world) == before
    response = county.post(f"/counties/{COUNTY}/forecast/inputs", files={"file": ("预测.csv", b"a,b")})
    assert response.status_code == 400 and "请上传 .xlsx 工作簿" in response.text
    huge = b"x" * (world.settings.upload_limit_bytes + 1)
    response = county.post(f"/counties/{COUNTY}/forecast/inputs", files={"file": ("预测.xlsx", huge)})
    assert response.status_code == 413 and _counts(world) == before
    assert county.post(f"/counties/{COUNTY}/forecast/inputs", csrf=False,
                       files={"file": ("预测.xlsx", bad)}).status_code == 403

    # a good one: imported (audited as uploads), and the forecast now runs by cohort
    good = _workbook({"分年级在校生数": GRADES, "入学来源": INTAKE, "住房项目": HOUSING})
    response = county.post(f"/counties/{COUNTY}/forecast/inputs", files={"file": ("预测.xlsx", good)})
    assert response.status_code == 303 and response.headers["location"] == f"/counties/{COUNTY}/forecast?msg=forecast_inputs"
    assert "预测数据已导入" in county.get(response.headers["location"]).text
    grades, intake, housing, audit = _counts(world)
    assert (grades, intake, housing) == (36, 9, 1) and audit > before[3]
    assert {e.via for e in world.audit(entity="housing_project")} == {"upload"}
    data = _json(county, f"/counties/{COUNTY}/forecast?years=3")
    assert [g["grade"] for g in data["grades"]] == [1, 2, 3, 4, 5, 6]
    assert {s["school_id"]: s["method"] for s in data["schools"]}["P1"] == "cohort"
    assert data["entry_method"] == "intake" and data["entry_sources"] == ["出生人口"]
    assert data["inputs"]["housing"] == [{"name": "滨河新城", "year_ready": 2026, "school_id": "P1",
                                          "primary_pupils": 300, "junior_pupils": 0, "note": None}]
    p1 = next(s for s in data["schools"] if s["school_id"] == "P1")
    assert p1["years"]["2026"]["primary"]["mid"] - p1["years"]["2025"]["primary"]["mid"] >= 250  # the new houses
    # the same workbook again changes nothing (same grades, same year, same project name)
    county.post(f"/counties/{COUNTY}/forecast/inputs", files={"file": ("预测.xlsx", good)})
    assert _counts(world) == (grades, intake, housing, audit)

    # scope: readers see the forecast; only the county admin uploads
    viewer = world.login("viewer")
    assert "id=\"forecast-upload\"" not in viewer.get(f"/counties/{COUNTY}/forecast").text
    assert viewer.post(f"/counties/{COUNTY}/forecast/inputs", files={"file": ("预测.xlsx", good)}).status_code == 403
    assert viewer.get(f"/counties/{COUNTY}/forecast-template.xlsx").status_code == 403
    assert _json(world.login("supervisor"), f"/counties/{COUNTY}/forecast")["base_year"] == 2024
    for outsider in ("other_county", "school"):
        assert world.login(outsider).get(f"/counties/{COUNTY}/forecast?format=json").status_code == 403
    assert county.get(f"/counties/{COUNTY}/forecast?years=40&format=json").status_code == 400


def test_forecast_inputs_out_of_range_are_refused_not_500(world):
    """Issue 11 #11 (the other monitoring forms): counts of people beyond any county (1e20 pupils
    overflowed the store's integers: HTTP 500) are refused with the cell named; nothing is stored."""
    county = world.login("county")
    before = _counts(world)
    bad = _workbook({"分年级在校生数": [GRADES[0], ["P1", 2024, 1, 10 ** 12]],
                     "入学来源": [INTAKE[0], [2020, 1e20]],
                     "住房项目": [HOUSING[0], ["滨河新城", 2026, "P1", 1e20, "1e400"]]})
    response = county.post(f"/counties/{COUNTY}/forecast/inputs", files={"file": ("预测.xlsx", bad)})
    assert response.status_code == 400 and "Traceback" not in response.text
    text = builders.plain(response.text)
    assert "工作表“分年级在校生数”第 2 行“在校生数”:“1000000000000”超出合理范围" in text
    assert "工作表“入学来源”第 2 行“出生人口”" in text and "工作表“住房项目”第 2 行“新增小学生数”" in text
    assert "“1e400”应为非负整数" in text
    assert _counts(world) == before
    with world.database.session() as s:
        from junheng.monitor.service import MonitorError, add_housing_project

        with pytest.raises(MonitorError, match="新增学生数"):
            add_housing_project(s, COUNTY, "滨河新城", 2026, primary_pupils=10 ** 20, via="cli")
        with pytest.raises(MonitorError, match="交付年份"):
            add_housing_project(s, COUNTY, "滨河新城", 10 ** 20, via="cli")
        s.rollback()
    assert _counts(world) == before


def test_forecast_and_trends_without_data_say_why(world):
    other = world.login("other_county")
    with world.database.session() as s:  # Q1's only year back to draft: nothing approved to project from
        from junheng.store.models import SchoolYear

        for row in s.scalars(select(SchoolYear)):
            if row.school.code == "Q1":
                row.status = "draft"
    data = _json(other, f"/counties/{OTHER}/forecast")
    assert "没有已审核的学校年度数据" in data["detail"]
    assert "没有已审核的学校年度数据" in other.get(f"/counties/{OTHER}/forecast").text
    assert _json(other, f"/counties/{OTHER}/trends")["years"] == []
    assert "还没有已审核的数据" in other.get(f"/counties/{OTHER}/trends?fragment=1").text


# ---------------------------------------------------------------- notifications


def test_subscriptions_page_refuses_disallowed_webhook_hosts(world, tmp_path):
    county = world.login("county")
    page = county.get("/notifications/subscriptions").text
    assert "qyapi.weixin.qq.com、oapi.dingtalk.com" in page and 'id="subscribe-form"' in page

    def subscribe(client, **fields):
        data = {"channel": "webhook", "format": "markdown", "min_severity": "orange", "county": ""} | fields
        return client.post("/notifications/subscriptions", data)

    def stored() -> list[tuple]:
        with world.database.session() as s:
            return [(x.channel, x.target, x.active) for x in s.scalars(select(NotificationSubscription))]

    response = subscribe(county, target="http://127.0.0.1:9/robot")
    assert response.status_code == 400 and "Webhook 主机“127.0.0.1:9”不在允许的列表中" in response.text
    assert 'value="http://127.0.0.1:9/robot"' in response.text  # the form keeps what was typed
    response = subscribe(county, target="https://qyapi.weixin.qq.com.evil.example/cgi-bin/webhook/send?key=1")
    assert response.status_code == 400 and stored() == []
    assert subscribe(county, target="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1",
                     county=COUNTY, kinds="breach").status_code == 303
    assert subscribe(county, channel="email", target="xian@example.gov.cn", min_severity="red").status_code == 303
    assert subscribe(county, channel="email", target="").status_code == 400
    assert subscribe(county, target="https://oapi.dingtalk.com/robot/send?access_token=t", county=OTHER).status_code == 403
    assert county.post("/notifications/subscriptions", {"channel": "email", "target": "a@b.cn"},
                       csrf=False).status_code == 403
    assert len(stored()) == 2

    data = _json(county, "/notifications/subscriptions")
    assert data["allowed_webhook_hosts"] == ["qyapi.weixin.qq.com", "oapi.dingtalk.com"]
    webhook = next(s for s in data["subscriptions"] if s["channel"] == "webhook")
    assert webhook["target"] == "https://qyapi.weixin.qq.com/…" and "k1" not in str(data)  # the robot key is not shown
    assert (webhook["county_code"], webhook["kinds"], webhook["active"]) == (COUNTY, ["breach"], True)
    assert data["counties"] == [{"code": COUNTY, "name": "测试县"}]

    # pause and resume one's own subscription, never someone else's
    sub_id = webhook["id"]
    assert county.post(f"/notifications/subscriptions/{sub_id}/pause").status_code == 303
    assert ("webhook", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1", False) in stored()
    assert world.login("viewer").post(f"/notifications/subscriptions/{sub_id}/resume").status_code == 404
    assert county.post(f"/notifications/subscriptions/{sub_id}/resume").status_code == 303
    assert all(active for _, _, active in stored())

    # a school filler may subscribe to their school's warnings, with no county to choose
    school = world.login("school")
    assert _json(school, "/notifications/subscriptions")["counties"] == []
    assert "本人负责的学校" in school.get("/notifications/subscriptions").text
    assert subscribe(school, channel="email", target="p1@example.cn").status_code == 303
    assert subscribe(school, channel="email", target="p1@example.cn", county=COUNTY).status_code == 403

    # the workspace may allow more hosts: 127.0.0.1 for a local receiver
    (tmp_path / "junheng.toml").write_text('[webhook]\nallowed_hosts = ["http://127.0.0.1:8080"]\n', encoding="utf-8")
    fresh = WebWorld(world.database, world.settings)  # a new application reads the workspace again
    admin = fresh.login("admin")
    assert "http://127.0.0.1:8080" in _json(admin, "/notifications/subscriptions")["allowed_webhook_hosts"]
    assert subscribe(admin, target="http://127.0.0.1:8080/hook", format="json").status_code == 303


def test_subscriptions_refuse_e_mail_header_injection(world):
    """Issue 11 #12 on the web: one plain address per subscription, nothing stored otherwise."""
    county = world.login("county")

    def state():
        with world.database.session() as s:
            return (s.scalar(select(func.count()).select_from(NotificationSubscription)),
                    s.scalar(select(func.count()).select_from(AuditEntry)))

    before = state()
    for target, why in (("xian@example.gov.cn\r\nBcc: evil@example.com", "不能包含换行符"),
                        ("xian@example.gov.cn, evil@example.com", "只能填写一个地址"),
                        ("xian@example.gov.cn;evil@example.com", "只能填写一个地址"),
                        ("县管理员 <xian@example.gov.cn>", "不带姓名")):
        response = county.post("/notifications/subscriptions", {"channel": "email", "target": target,
                                                                "min_severity": "orange", "county": ""})
        assert response.status_code == 400 and why in builders.plain(response.text), target
        assert "Traceback" not in response.text
    assert state() == before
    ok = county.post("/notifications/subscriptions", {"channel": "email", "target": " xian@example.gov.cn ",
                                                      "min_severity": "orange", "county": ""})
    assert ok.status_code == 303
    with world.database.session() as s:
        assert [x.target for x in s.scalars(select(NotificationSubscription))] == ["xian@example.gov.cn"]


def test_notification_log_page(world):
    with world.database.session() as s:
        county_user = s.scalar(select(User).where(User.username == "county"))
        viewer_user = s.scalar(select(User).where(User.username == "viewer"))
        county_id = s.scalar(select(User).where(User.username == "county")).grants[0].org_node_id
        warnings = [MonitorWarning(key=f"w{n}", county_id=county_id, kind="breach", rule_id="breach", severity=sev,
                                   title=f"预警{n}", message="…") for n, sev in ((1, "red"), (2, "yellow"))]
        s.add_all(warnings)
        s.flush()
        mine = add_subscription(s, county_user, "email", "xian@example.gov.cn")
        theirs = add_subscription(s, viewer_user, "email", "v@example.gov.cn")
        s.add(NotificationLog(run_id="r1", subscription_id=mine.id, user_id=county_user.id, channel="email",
                              target="xian@example.gov.cn", subject="【均衡预警】测试县 2 条预警(红色 1 条、黄色 1 条)",
                              body="…", status="sent", warning_count=2,
                              items=[NotificationItem(warning_id=warnings[0].id, occurrence=1, worsened_count=0, severity="red",
                                                      reason="new"),
                                     NotificationItem(warning_id=warnings[1].id, occurrence=1, worsened_count=1,
                                                      severity="yellow", reason="worsened")]))
        s.add(NotificationLog(run_id="r1", subscription_id=theirs.id, user_id=viewer_user.id, channel="email",
                              target="v@example.gov.cn", subject="【均衡预警】另一份", body="…", status="failed",
                              error="邮件发送失败:连接被拒绝", warning_count=0))
        s.add(NotificationLog(run_id="r1", subscription_id=None, user_id=None, channel="none", target="县级管理员",
                              subject="【均衡预警】无法送达", body="…", status="undeliverable",
                              error="测试县逾期督办任务无法提醒:县级管理员没有订阅任何通知渠道", warning_count=0))

    county = world.login("county")
    data = _json(county, "/notifications")
    assert data["everyone"] is False and [e["subject"] for e in data["entries"]] == [
        "【均衡预警】测试县 2 条预警(红色 1 条、黄色 1 条)"]
    entry = data["entries"][0]
    assert entry["status_label"] == "已发送" and [i["reason_label"] for i in entry["items"]] == ["新", "加重"]
    page = county.get("/notifications").text
    assert "红色 1" in page and "黄色 1" in page and "另一份" not in page

    admin = world.login("admin")
    data = _json(admin, "/notifications")
    assert data["everyone"] is True and len(data["entries"]) == 3
    assert [e["subject"] for e in _json(admin, "/notifications?status=undeliverable")["entries"]] == ["【均衡预警】无法送达"]
    assert "县级管理员没有订阅任何通知渠道" in admin.get("/notifications?status=undeliverable").text
    assert admin.get("/notifications?status=bogus&format=json").status_code == 400
    anonymous = world.app()
    from fastapi.testclient import TestClient

    assert TestClient(anonymous).get("/notifications?format=json").status_code == 401
    assert "预警通知订阅" in admin.get("/overview").text

"""Monitoring pages, part A: a county's warnings (with "生成督办任务"), supervision tasks (list,
task page, create/edit form, status transitions by role, comments, evidence files), the county
timeline with its year plan, and the city schedule — HTML and `?format=json`, access checked on
the server for every role (SQLite and PostgreSQL).

The world: 测试省 → 测试市 (991100) with 甲县 (991101; target 2026; three items failing in 2023
and 2024, so it is behind its path, and school A-P1's sports ground too small in 2024) and 乙县
(991102, passing), and 另一市 (991200) with 丙县 (991201). One watch run (2025-01-10) stores the
warnings. Users: admin; supervisor of 测试市; county admin and viewer of 甲县; school fillers of
A-P1 and A-J1; county admin of 乙县; supervisor of 另一市.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import builders
import pytest
from databases import KINDS, scratch_database
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from junheng.monitor.config import monitor_settings as monitor_config_of
from junheng.monitor.service import run_watch
from junheng.store.db import Database
from junheng.monitor.tasks import TaskError, create_task, set_status, update_task
from junheng.store.models import AuditEntry, MonitorWarning, SupervisionTask, TaskAttachment, TaskComment, User
from junheng.store.users import grant
from junheng.web.app import create_app
from monitor_helpers import settings as monitor_settings

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))
from web_world import WebClient, add_users, login, role_users, seed_store, web_settings  # noqa: E402

CITY, OTHER_CITY = "991100", "991200"
A, B, C = "991101", "991102", "991201"
TODAY = date(2025, 1, 10)
FAILING = {"training_completion_rate": 90.0, "rotated_backbone_teachers": 5, "social_recognition_rate": 80.0}
ATTACHMENT_LIMIT = 64 * 1024
USERS = role_users(admin=None, supervisor=CITY, county=A, viewer=A, school="A-P1", other_school="A-J1",
                   other_county=B, far_supervisor=OTHER_CITY)


def _county(code: str, name: str, city: str, target: int, years: dict[int, dict], schools: list[tuple[str, str]],
            school_overrides: dict[tuple[str, int], dict] | None = None):
    overrides = school_overrides or {}
    school_rows = [builders.school(i, t, county_code=code, county_name=name) for i, t in schools]
    rows = [builders.school_year(i, t, year=y, **overrides.get((i, y), {})) for y in years for i, t in schools]
    county_years = [builders.county_year(year=y, county_code=code, **over) for y, over in years.items()]
    quality = [dict(q, county_code=code) for y in years for q in builders.quality(year=y)]
    counties = [{"county_code": code, "county_name": name, "city": city, "province": "测试省",
                 "standard": "national-2017", "target_year": target, "basic_balance_year": 2015}]
    return builders.dataset(school_rows, rows, county_years, quality, counties)


def _datasets():
    small_ground = {"sports_area": 1000 * 1.32 * 5.0}  # 5 m² per pupil, the line is 7.5
    yield _county(A, "甲县", "测试市", 2026, {2023: FAILING, 2024: FAILING},
                  [("A-P1", "primary"), ("A-P2", "primary"), ("A-J1", "junior")], {("A-P1", 2024): small_ground})
    yield _county(B, "乙县", "测试市", 2027, {2024: {}}, [("B-P1", "primary")])
    yield _county(C, "丙县", "另一市", 2028, {2024: {}}, [("C-P1", "primary")])


class World:
    def __init__(self, database: Database, tmp: Path):
        self.database = database
        self.uploads = tmp / "uploads"
        self.settings = web_settings(database, self.uploads)
        self.app = create_app(self.settings, database)
        # the workspace's [monitor] attachment_limit_mb, small for the size-limit test
        self.app.state.monitor_settings = replace(monitor_config_of(config={}), attachment_limit_bytes=ATTACHMENT_LIMIT)
        self._clients: dict[str, WebClient] = {}

    def login(self, username: str) -> WebClient:
        if username not in self._clients:
            self._clients[username] = login(self.app, username)
        return self._clients[username]

    def warning(self, **where) -> MonitorWarning:
        with self.database.session() as s:
            query = select(MonitorWarning)
            for key, value in where.items():
                query = query.where(getattr(MonitorWarning, key) == value)
            return s.scalars(query).one()

    def task_count(self) -> int:
        with self.database.session() as s:
            return s.scalar(select(func.count()).select_from(SupervisionTask))

    def new_task(self, **fields) -> int:
        """A task made through the form by 甲县's county admin; returns its id."""
        data = {"title": "测试任务", **fields}
        response = self.login("county").post(f"/counties/{A}/tasks", data)
        assert response.status_code == 303, response.text
        return int(response.headers["location"].split("/")[2].split("?")[0])


def _build(database: Database, tmp: Path) -> World:
    seed_store(database, list(_datasets()), USERS)
    run_watch(database, monitor_settings(), today=TODAY, notify=False)
    return World(database, tmp)


@pytest.fixture(scope="module", params=KINDS)
def world(request, tmp_path_factory) -> World:
    tmp = tmp_path_factory.mktemp("monitor-web")
    with scratch_database(request.param, tmp) as database:
        yield _build(database, tmp)


# ---------------------------------------------------------------- access


def test_every_page_checks_scope_on_the_server(world):
    school_task = world.new_task(title="城关小学扩建运动场", indicator="R5", school_code="A-P1")
    pages = {  # url → users who may open it (everyone else: 403)
        f"/counties/{A}/warnings": {"admin", "supervisor", "county", "viewer"},
        f"/counties/{A}/tasks": {"admin", "supervisor", "county", "viewer", "school", "other_school"},
        f"/counties/{A}/tasks/new": {"admin", "county"},
        f"/tasks/{school_task}": {"admin", "supervisor", "county", "viewer", "school"},
        f"/tasks/{school_task}/edit": {"admin", "county"},
        f"/counties/{A}/timeline": {"admin", "supervisor", "county", "viewer"},
        f"/nodes/{CITY}/schedule": {"admin", "supervisor"},
        f"/nodes/{A}/schedule": {"admin", "supervisor", "county", "viewer"},
    }
    for url, allowed in pages.items():
        for username in USERS:
            client = world.login(username)
            html = client.get(url)
            data = client.get(url, params={"format": "json"})
            if username in allowed:
                assert html.status_code == 200, (url, username, html.text[:300])
                assert "<html" in html.text and data.headers["content-type"].startswith("application/json")
            else:
                assert (html.status_code, data.status_code) == (403, 403), (url, username)
                assert "权限" in data.json()["detail"] or "只有" in data.json()["detail"]
    anonymous = TestClient(world.app)
    assert anonymous.get(f"/counties/{A}/warnings", follow_redirects=False).status_code == 303
    assert anonymous.get(f"/tasks/{school_task}", params={"format": "json"}).status_code == 401

    # the school filler sees the tasks of its own school only
    own = world.login("school").get(f"/counties/{A}/tasks", params={"format": "json", "status": "all"}).json()
    assert own["tasks"] and {t["school_id"] for t in own["tasks"]} == {"A-P1"}
    other = world.login("other_school").get(f"/counties/{A}/tasks", params={"format": "json", "status": "all"}).json()
    assert all(t["school_id"] == "A-J1" for t in other["tasks"])
    assert world.login("school").get(f"/counties/{B}/tasks").status_code == 403
    assert world.login("school").get("/schedule").status_code == 403


# ---------------------------------------------------------------- warnings


def test_warnings_page_shows_severity_numbers_departments_and_filters(world):
    client = world.login("county")
    data = client.get(f"/counties/{A}/warnings", params={"format": "json"}).json()
    assert data["county_name"] == "甲县" and data["filters"]["status"] == "open"
    by_indicator = {(w["kind"], w["indicator"], w["school_id"]): w for w in data["warnings"]}
    s1 = by_indicator[("breach", "S1", None)]
    assert s1["severity"] == "red" and s1["responsible"] == ["人大办", "政协办", "教体局"] and s1["open"]
    assert s1["numbers"]["value"] == 80.0 and "2024 年值 80%" in s1["numbers_text"]
    assert any(t.startswith("标准 ≥ 85") for t in s1["numbers_text"])
    r5 = next(w for w in data["warnings"] if w["kind"] == "breach" and w["indicator"] == "R5"
              and w["school_id"] == "A-P1")
    assert r5["school_name"] == "测试学校A-P1" and r5["first_seen_at"] and r5["resolved_at"] is None
    assert r5["severity"] == "orange"  # 88% of the line: the school still complies overall (tolerated)
    assert r5["numbers_text"] == ["2024 年值 6.60 m²", "标准 ≥ 7.50 m²", "差距 12.0%"]
    schedule = by_indicator[("schedule", None, None)]
    assert schedule["severity"] == "orange" and "按期推进 2024—2025 学年应不多于 2 项" in schedule["message"]
    counts = data["counts"]
    assert counts["red"] == sum(1 for w in data["warnings"] if w["severity"] == "red") == 3
    assert data["total"] == len(data["warnings"]) == sum(counts.values())

    orange = client.get(f"/counties/{A}/warnings", params={"format": "json", "severity": "orange"}).json()
    assert orange["warnings"] and {w["severity"] for w in orange["warnings"]} == {"orange"}
    kinds = client.get(f"/counties/{A}/warnings", params={"format": "json", "kind": "schedule"}).json()
    assert [w["kind"] for w in kinds["warnings"]] == ["schedule"]
    assert client.get(f"/counties/{A}/warnings", params={"format": "json", "status": "resolved"}).json()["total"] == 0

    html = client.get(f"/counties/{A}/warnings").text
    assert 'class="sev red"' in html and "人大办、政协办、教体局" in html and "生成督办任务" in html
    assert "生成督办任务" not in world.login("viewer").get(f"/counties/{A}/warnings").text
    assert "生成督办任务" not in world.login("supervisor").get(f"/counties/{A}/warnings").text

    bad = client.get(f"/counties/{A}/warnings", params={"severity": "purple", "format": "json"})
    assert bad.status_code == 400 and "预警级别“purple”无效" in bad.json()["detail"]
    assert client.get(f"/counties/{A}/warnings", params={"status": "x"}).status_code == 400


def test_create_a_task_from_a_warning(world):
    g9 = world.warning(kind="breach", indicator="G9")
    before = world.task_count()
    assert world.login("viewer").post(f"/warnings/{g9.id}/task").status_code == 403
    assert world.login("supervisor").post(f"/warnings/{g9.id}/task").status_code == 403
    assert world.login("county").post(f"/warnings/{g9.id}/task", csrf=False).status_code == 403
    assert world.task_count() == before

    response = world.login("county").post(f"/warnings/{g9.id}/task", {"deadline": "2025-06-30"})
    assert response.status_code == 303 and response.headers["location"].endswith("?msg=task_from_warning")
    page = world.login("county").get(response.headers["location"])
    assert "已由预警生成督办任务" in page.text
    task = world.login("county").get(response.headers["location"].split("?")[0], params={"format": "json"}).json()
    item = task["task"]
    assert item["title"].startswith("整改:") and item["indicator"] == "G9" and item["source"] == "warning"
    assert item["warning_id"] == g9.id and item["deadline"] == "2025-06-30"
    assert item["responsible"] == ["教体局", "人社局"]  # G9's departments in the standard's map
    assert task["permissions"]["manage"] and "in_progress" in [t["status"] for t in task["transitions"]]

    warnings = world.login("county").get(f"/counties/{A}/warnings", params={"format": "json"}).json()["warnings"]
    linked = next(w for w in warnings if w["id"] == g9.id)
    assert linked["supervision_task"]["id"] == item["id"] and linked["supervision_task"]["status"] == "open"

    again = world.login("county").post(f"/warnings/{g9.id}/task")
    assert again.status_code == 409 and "该预警已有督办任务" in again.text
    assert world.task_count() == before + 1
    assert world.login("county").post("/warnings/999999/task").status_code == 404

    # a resolved warning needs no rectification: no task
    jump = world.warning(kind="data_jump")
    with world.database.session() as s:
        s.get(MonitorWarning, jump.id).resolved_at = jump.last_seen_at
    try:
        resolved = world.login("county").post(f"/warnings/{jump.id}/task")
        assert resolved.status_code == 409 and "已解除,无需再生成督办任务" in builders.plain(resolved.text)
        assert world.task_count() == before + 1
    finally:
        with world.database.session() as s:
            s.get(MonitorWarning, jump.id).resolved_at = None


# ---------------------------------------------------------------- tasks


def test_task_form_validates_and_saves_nothing_on_error(world):
    client = world.login("county")
    before = world.task_count()
    bad = client.post(f"/counties/{A}/tasks", {"title": "运动场改造", "amount_wan": "六百", "deadline": "2025-13-01",
                                                "plan_year": "25"})
    assert bad.status_code == 400
    assert "投资金额“六百”无效" in bad.text and "完成期限“2025-13-01”无效" in bad.text and "计划年度“25”无效" in bad.text
    assert 'value="运动场改造"' in bad.text  # what was typed comes back
    other_school = client.post(f"/counties/{A}/tasks", {"title": "x", "school_code": "B-P1"})
    assert other_school.status_code == 400 and "本县区没有学校标识码为 B-P1 的学校" in other_school.text
    late_start = client.post(f"/counties/{A}/tasks", {"title": "x", "start_date": "2025-09-01",
                                                      "deadline": "2025-03-01"})
    assert late_start.status_code == 400 and "开始日期不能晚于完成期限" in late_start.text
    assert client.post(f"/counties/{A}/tasks", {"title": "  "}).status_code == 400
    assert world.task_count() == before
    assert world.login("viewer").post(f"/counties/{A}/tasks", {"title": "x"}).status_code == 403
    assert world.login("other_county").post(f"/counties/{A}/tasks", {"title": "x"}).status_code == 403
    assert world.task_count() == before

    task_id = world.new_task(title="新建午亭小学", indicator="G4", amount_wan="1,260", plan_year="2025",
                             start_date="2025-03-01", deadline="2025-12-31", owner_name="李校长")
    item = client.get(f"/tasks/{task_id}", params={"format": "json"}).json()["task"]
    assert item["amount_wan"] == 1260 and item["plan_year"] == 2025 and item["period"] == "2025.3–12"
    assert item["responsible"] == ["教体局", "住建局", "自然资源局"] and item["owner_name"] == "李校长"

    edited = client.post(f"/tasks/{task_id}/edit", {"title": "新建午亭小学(一期)", "indicator": "G4",
                                                    "deadline": "2025-11-30", "responsible": "教体局、住建局",
                                                    "amount_wan": "1\uff0c800万元", "plan_year": "2025"})
    assert edited.status_code == 303
    item = client.get(f"/tasks/{task_id}", params={"format": "json"}).json()["task"]
    assert (item["title"], item["deadline"], item["responsible"], item["amount_wan"]) == \
        ("新建午亭小学(一期)", "2025-11-30", ["教体局", "住建局"], 1800)  # a full-width thousands comma
    assert item["start_date"] is None  # an emptied field clears the stored value
    history = client.get(f"/tasks/{task_id}").text
    assert "修改记录" in history and "新建午亭小学(一期)" in builders.plain(history)


def test_task_numbers_are_finite_and_in_plausible_ranges(world):
    """Issue 11 #11: 1e400 (inf) was accepted as an investment, and the task JSON, the county's
    task list and the timeline then answered 500."""
    client = world.login("county")
    kept = world.new_task(title="多媒体设备更新", amount_wan="630", plan_year="2025")
    with world.database.session() as s:
        audit_before = s.scalar(select(func.count()).select_from(AuditEntry))
    before = world.task_count()
    for amount in ("1e400", "inf", "-inf", "nan", "Infinity", "1e9", "-1"):
        response = client.post(f"/counties/{A}/tasks", {"title": "巨额投资", "amount_wan": amount})
        assert response.status_code == 400, amount
        assert f"投资金额“{amount}”无效" in response.text and "100,000,000" in response.text
        edit = client.post(f"/tasks/{kept}/edit", {"title": "多媒体设备更新", "amount_wan": amount})
        assert edit.status_code == 400 and "Traceback" not in edit.text
    for year in ("99999999999999999999", "1e4", "3000", "-2025"):
        response = client.post(f"/counties/{A}/tasks", {"title": "远期任务", "plan_year": year})
        assert response.status_code == 400 and f"计划年度“{year}”无效" in response.text
    assert world.task_count() == before
    with world.database.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
        for amount in (float("inf"), float("nan"), 1e300, -0.5, True):  # the command line and plans
            with pytest.raises(TaskError, match="投资金额"):
                create_task(s, A, title="x", amount_wan=amount, via="cli")
        with pytest.raises(TaskError, match="计划年度"):
            create_task(s, A, title="x", plan_year=float("inf"), via="cli")
        with pytest.raises(TaskError, match="投资金额"):
            update_task(s, kept, amount_wan=float("inf"), via="cli")
        s.rollback()
    assert client.get(f"/tasks/{kept}", params={"format": "json"}).json()["task"]["amount_wan"] == 630
    for url in (f"/counties/{A}/tasks", f"/counties/{A}/timeline", f"/tasks/{kept}"):
        assert client.get(url, params={"format": "json"}).status_code == 200, url
        assert client.get(url).status_code == 200, url


def test_status_transitions_follow_roles(world):
    task_id = world.new_task(title="补足A-P1体育运动场馆面积", indicator="R5", school_code="A-P1",
                             deadline="2025-08-31")
    url = f"/tasks/{task_id}"

    def status(username: str, target: str, note: str = ""):
        return world.login(username).post(f"{url}/status", {"status": target, "note": note})

    def current() -> str:
        return world.login("admin").get(url, params={"format": "json"}).json()["task"]["status"]

    assert status("viewer", "in_progress").status_code == 403
    assert status("other_school", "in_progress").status_code == 403
    assert status("supervisor", "in_progress").status_code == 403
    assert status("school", "verified").status_code == 409  # not a step from 未开始
    school_view = world.login("school").get(url, params={"format": "json"}).json()
    assert [t["status"] for t in school_view["transitions"]] == ["in_progress", "done"]
    assert school_view["permissions"] == {"manage": False, "verify": False, "report": True, "comment": True,
                                          "attach": True, "edit": False}
    assert status("school", "in_progress").status_code == 303 and current() == "in_progress"
    assert status("school", "done").status_code == 303 and current() == "done"

    refused = status("school", "verified")
    assert refused.status_code == 403 and "市/省督导" in refused.text
    no_note = status("supervisor", "in_progress")
    assert no_note.status_code == 400 and "请填写意见" in no_note.text and current() == "done"
    assert status("supervisor", "in_progress", "运动场尚未验收,请补充竣工验收材料").status_code == 303
    assert current() == "in_progress"
    assert status("school", "done").status_code == 303
    assert status("supervisor", "verified").status_code == 303 and current() == "verified"

    item = world.login("viewer").get(url, params={"format": "json"}).json()["task"]
    assert item["verified_at"] and any("运动场尚未验收" in c["body"] for c in item["comments"])
    locked = world.login("county").post(f"{url}/edit", {"title": "改名"})
    assert locked.status_code == 400 and "已核验,不能再修改" in builders.plain(locked.text)
    assert status("county", "in_progress").status_code == 400  # reopening needs a note
    assert status("county", "in_progress", "复查发现问题").status_code == 303 and current() == "in_progress"
    assert status("county", "bogus").status_code == 400
    # the supervisor of another city cannot even see it
    assert status("far_supervisor", "done").status_code == 403


def test_task_rights_come_from_one_grant_role_and_scope_together(world):
    """Issue 11 #7: a viewer of 甲县 who supervises 另一市 reads 甲县's tasks but may not verify,
    return, comment on or attach evidence to them (its supervisor grant covers 丙县 only)."""
    with world.database.session() as s:
        add_users(s, {"mixed": ("viewer", A)})
        grant(s, s.scalar(select(User).where(User.username == "mixed")), "supervisor", OTHER_CITY)
    task_id = world.new_task(title="混合授权:补足运动场", school_code="A-P1")
    url = f"/tasks/{task_id}"
    assert world.login("school").post(f"{url}/status", {"status": "done"}).status_code == 303
    mixed = world.login("mixed")
    view = mixed.get(url, params={"format": "json"}).json()
    assert view["transitions"] == [] and not any(view["permissions"].values())

    def state():
        with world.database.session() as s:
            task = s.get(SupervisionTask, task_id)
            return (task.status, task.verified_by,
                    s.scalar(select(func.count()).select_from(TaskComment).where(TaskComment.task_id == task_id)),
                    s.scalar(select(func.count()).select_from(TaskAttachment)),
                    s.scalar(select(func.count()).select_from(AuditEntry)))

    before = state()
    files_before = sorted(p.name for p in world.uploads.rglob("*")) if world.uploads.exists() else []
    refused = [mixed.post(f"{url}/status", {"status": "verified"}),
               mixed.post(f"{url}/status", {"status": "in_progress", "note": "退回"}),
               mixed.post(f"{url}/comments", {"body": "已核查"}),
               mixed.post(f"{url}/attachments", files={"file": ("核查记录.pdf", b"%PDF-1.4 x", "application/pdf")})]
    for response in refused:
        assert response.status_code == 403 and "Traceback" not in response.text
    assert "只有县级管理员、市/省督导或系统管理员" in refused[0].text
    assert state() == before
    assert (sorted(p.name for p in world.uploads.rglob("*")) if world.uploads.exists() else []) == files_before

    # under its supervisor grant the same user verifies 丙县's task
    with world.database.session() as s:
        other = create_task(s, C, title="丙县:功能室建设", via="cli")
        set_status(s, other.id, "done", via="cli")
        other_id = other.id
    rights = mixed.get(f"/tasks/{other_id}", params={"format": "json"}).json()["permissions"]
    assert rights["verify"] and rights["comment"] and not rights["manage"]
    assert mixed.post(f"/tasks/{other_id}/status", {"status": "verified"}).status_code == 303


def test_comments_and_evidence_files(world):
    task_id = world.new_task(title="功能室建设", indicator="R4", school_code="A-P1")
    url = f"/tasks/{task_id}"
    assert world.login("viewer").post(f"{url}/comments", {"body": "看看"}).status_code == 403
    assert world.login("school").post(f"{url}/comments", {"body": "   "}).status_code == 400
    assert world.login("school").post(f"{url}/comments", {"body": "已开工,预计六月完成。"}).status_code == 303

    pdf = b"%PDF-1.4 evidence " + b"x" * 1000
    done = world.login("school").post(f"{url}/attachments", files={"file": ("竣工验收报告.pdf", pdf, "application/pdf")})
    assert done.status_code == 303 and done.headers["location"].endswith("#attachments")
    item = world.login("county").get(url, params={"format": "json"}).json()["task"]
    assert [c["body"] for c in item["comments"]] == ["已开工,预计六月完成。"]
    (attachment,) = item["attachments"]
    assert attachment["filename"] == "竣工验收报告.pdf" and attachment["size"] == len(pdf)

    download = world.login("viewer").get(f"{url}/attachments/{attachment['id']}")
    assert download.status_code == 200 and download.content == pdf
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert world.login("other_school").get(f"{url}/attachments/{attachment['id']}").status_code == 403
    other_task = world.new_task(title="另一个任务")
    assert world.login("county").get(f"/tasks/{other_task}/attachments/{attachment['id']}").status_code == 404

    with world.database.session() as s:
        stored_before = s.scalar(select(func.count()).select_from(TaskAttachment))
    files_before = sorted(p.name for p in (world.uploads / "tasks").rglob("*"))
    too_big = b"0" * (ATTACHMENT_LIMIT + 1)
    refused = world.login("school").post(f"{url}/attachments", files={"file": ("照片.jpg", too_big, "image/jpeg")})
    assert refused.status_code == 413 and "每个附件不能超过 64 KB" in refused.text
    huge = world.login("school").post(f"{url}/attachments",
                                      files={"file": ("照片.jpg", b"0" * (ATTACHMENT_LIMIT + 70 * 1024), "image/jpeg")})
    assert huge.status_code == 413
    exe = world.login("school").post(f"{url}/attachments", files={"file": ("setup.exe", b"MZ", "application/x-msdos")})
    assert exe.status_code == 400 and "不支持的附件类型“.exe”" in exe.text
    assert world.login("viewer").post(f"{url}/attachments",
                                      files={"file": ("a.pdf", pdf, "application/pdf")}).status_code == 403
    with world.database.session() as s:
        assert s.scalar(select(func.count()).select_from(TaskAttachment)) == stored_before
    assert sorted(p.name for p in (world.uploads / "tasks").rglob("*")) == files_before  # nothing left behind

    assert world.login("school").post(f"{url}/attachments/{attachment['id']}/delete").status_code == 403
    assert world.login("county").post(f"{url}/attachments/{attachment['id']}/delete").status_code == 303
    assert world.login("county").get(url, params={"format": "json"}).json()["task"]["attachments"] == []


def test_task_list_filters_and_delete(world):
    task_id = world.new_task(title="逾期的任务", school_code="A-P2", deadline="2024-06-30")
    client = world.login("county")
    overdue = client.get(f"/counties/{A}/tasks", params={"format": "json", "status": "overdue"}).json()
    assert task_id in [t["id"] for t in overdue["tasks"]] and all(t["overdue"] for t in overdue["tasks"])
    assert overdue["counts"]["overdue"] >= 1
    by_school = client.get(f"/counties/{A}/tasks", params={"format": "json", "school": "A-P2", "status": "all"}).json()
    assert by_school["tasks"] and {t["school_id"] for t in by_school["tasks"]} == {"A-P2"}
    assert client.get(f"/counties/{A}/tasks", params={"status": "later"}).status_code == 400
    assert "逾期的任务" in client.get(f"/counties/{A}/tasks").text

    assert world.login("viewer").post(f"/tasks/{task_id}/delete").status_code == 403
    deleted = client.post(f"/tasks/{task_id}/delete")
    assert deleted.status_code == 303 and deleted.headers["location"] == f"/counties/{A}/tasks?msg=task_deleted"
    assert client.get(f"/tasks/{task_id}").status_code == 404


# ---------------------------------------------------------------- timeline and schedule


def test_timeline_and_year_plan(world):
    first = world.new_task(title="投资630万元升级更新教学多媒体设备180台", amount_wan="630", plan_year="2023",
                           start_date="2023-03-01", deadline="2023-12-31")
    second = world.new_task(title="投资130万元建设三个课堂", amount_wan="130", plan_year="2023",
                            start_date="2023-09-01", deadline="2024-07-31")
    data = world.login("supervisor").get(f"/counties/{A}/timeline", params={"format": "json"}).json()
    timeline, plan = data["timeline"], data["plan"]
    assert [m["year"] for m in timeline["milestones"]] == [2015, 2026]
    periods = {i["id"]: i["period"] for i in timeline["items"]}
    assert periods[first] == "2023.3–12" and periods[second] == "2023.9–2024.7"
    year_2023 = next(y for y in plan["years"] if y["year"] == 2023)
    assert {first, second} <= {i["id"] for i in year_2023["items"]}
    assert year_2023["total_wan"] == sum(i["amount_wan"] or 0 for i in year_2023["items"]) >= 760
    assert plan["total_wan"] == sum(y["total_wan"] for y in plan["years"])

    html = world.login("viewer").get(f"/counties/{A}/timeline").text
    assert "计划通过义务教育优质均衡国家认定" in html and "2023.9–2024.7" in html
    assert "投资630万元升级更新教学多媒体设备180台" in html and 'id="plan-total"' in html
    assert "+ 新建督办任务" not in html


def test_city_schedule_page(world):
    client = world.login("supervisor")
    redirect = client.get("/schedule", follow_redirects=False)
    assert redirect.status_code == 303 and redirect.headers["location"] == f"/nodes/{CITY}/schedule"
    data = client.get(f"/nodes/{CITY}/schedule", params={"format": "json"}).json()
    assert data["node_name"] == "测试市" and data["kind"] == "city"
    rows = {r["county_code"]: r for r in data["counties"]}
    assert set(rows) == {A, B}
    assert rows[A]["status"] == "behind" and rows[A]["severity"] == "orange" and rows[A]["failing_count"] == 3
    assert rows[A]["expected_failing"] == 2 and rows[A]["target_year"] == 2026
    assert rows[A]["warning_id"] == world.warning(kind="schedule").id
    assert rows[B]["status"] == "ready" and rows[B]["failing_count"] == 0
    assert data["summary"]["behind"] == 1

    html = client.get(f"/nodes/{CITY}/schedule").text
    assert "进度滞后" in html and "甲县" in html and "乙县" in html and "丙县" not in html
    province = world.login("admin").get("/schedule", params={"format": "json"}).json()
    assert [n["kind"] for n in province["nodes"]] == ["province"]
    assert world.login("admin").get(f"/nodes/{province['nodes'][0]['code']}/schedule",
                                    params={"format": "json"}).json()["summary"]["total"] == 3
    assert world.login("admin").get("/nodes/000000/schedule").status_code == 404
    assert 'href="/schedule"' in world.login("supervisor").get("/overview").text


def test_county_and_school_pages_link_the_monitoring_pages(world):
    county_page = world.login("viewer").get(f"/counties/{A}").text
    for link in (f"/counties/{A}/warnings", f"/counties/{A}/tasks", f"/counties/{A}/timeline"):
        assert f'href="{link}"' in county_page
    school_page = world.login("school").get("/schools/A-P1").text
    assert f'href="/counties/{A}/tasks?school=A-P1&amp;status=all"' in school_page

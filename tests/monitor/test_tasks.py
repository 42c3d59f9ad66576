"""Supervision tasks: create (by hand, from a warning, from plan items), status flow, comments,
evidence files kept safely, the county timeline and year plan, and overdue escalation
(SQLite and PostgreSQL)."""

from datetime import date

import pytest
from sqlalchemy import select

from junheng.monitor.notify import notification_log
from junheng.monitor.tasks import (
    TaskError,
    add_attachment,
    add_comment,
    attachment_file,
    county_timeline,
    create_task,
    create_task_from_warning,
    create_tasks_from_plan,
    list_tasks,
    period_label,
    set_status,
    task_json,
    update_task,
    year_plan,
)
from junheng.monitor.warnings import list_warnings
from junheng.store.models import AuditEntry, MonitorWarning, OrgNode, School
from junheng.store.users import create_user
from monitor_helpers import watch

COUNTY = "990001"


def _county(s, target_year=2027):
    county = OrgNode(kind="county", code=COUNTY, name="测试县", target_year=target_year, basic_balance_year=2016)
    s.add(county)
    s.flush()
    s.add(School(code="P1", county_id=county.id, name="测试县城关小学", school_type="primary", values={}))
    s.flush()
    return county


def test_task_life_cycle_comments_and_evidence(database, tmp_path):
    uploads = tmp_path / "uploads"
    with database.session() as s:
        _county(s)
        filler = create_user(s, "tianbao", "password-1", role="viewer", scope_code=COUNTY)
        admin = create_user(s, "xian", "password-2", role="county_admin", scope_code=COUNTY)
        task = create_task(s, COUNTY, title="  城关小学扩建运动场  ", indicator="R5", school_code="P1",
                           deadline="2025-08-31", start_date=date(2025, 3, 1), amount_wan=120, plan_year=2025,
                           owner_name="李校长")
        assert task.title == "城关小学扩建运动场" and task.responsible == ["教体局"]  # R5: the standard's map
        g1 = create_task(s, COUNTY, title="修编学校布局规划", indicator="G1", deadline=date(2025, 12, 31))
        assert g1.responsible == ["发改局", "教体局", "住建局", "自然资源局"]
        with pytest.raises(TaskError, match="指标 R9 无效"):
            create_task(s, COUNTY, title="x", indicator="R9")
        with pytest.raises(TaskError, match="本县区没有学校标识码为 X9"):
            create_task(s, COUNTY, title="x", school_code="X9")
        with pytest.raises(TaskError, match="开始日期不能晚于完成期限"):
            update_task(s, task.id, start_date=date(2025, 9, 1))
        update_task(s, task.id, deadline=date(2025, 9, 30), user=admin)

        set_status(s, task.id, "in_progress")
        with pytest.raises(TaskError, match="不能改为“已核验”"):
            set_status(s, task.id, "verified")
        set_status(s, task.id, "done")
        with pytest.raises(TaskError, match="只有县级管理员"):
            set_status(s, task.id, "verified", user=filler)
        with pytest.raises(TaskError, match="请填写意见"):
            set_status(s, task.id, "in_progress", user=admin)
        set_status(s, task.id, "in_progress", user=admin, note="缺少竣工验收材料")
        set_status(s, task.id, "done")
        set_status(s, task.id, "verified", user=admin)
        with pytest.raises(TaskError, match="已核验,不能再修改"):
            update_task(s, task.id, title="改名")
        add_comment(s, task.id, "运动场已完工,待验收。", user=filler)
        with pytest.raises(TaskError, match="不能为空"):
            add_comment(s, task.id, "   ")

        evidence = add_attachment(s, uploads, task.id, "../../etc/竣工验收报告.pdf", b"%PDF-1.4 evidence", user=admin,
                                  limit_bytes=1024)
        assert evidence.filename == "竣工验收报告.pdf" and evidence.size == 17
        path, row = attachment_file(s, uploads, evidence.id)
        assert path.read_bytes() == b"%PDF-1.4 evidence" and uploads.resolve() in path.parents
        assert path.name != "竣工验收报告.pdf" and path.parent.name == str(task.id)
        with pytest.raises(TaskError, match="超过大小上限"):
            add_attachment(s, uploads, task.id, "big.pdf", b"x" * 2048, limit_bytes=1024)
        with pytest.raises(TaskError, match="不支持的附件类型"):
            add_attachment(s, uploads, task.id, "run.sh", b"#!/bin/sh")
        assert len(list((uploads / "tasks" / str(task.id)).iterdir())) == 1  # refused files leave nothing

        details = task_json(s, task, details=True)
        assert details["status"] == "verified" and details["period"] == "2025.3–9"
        assert [c["body"] for c in details["comments"]] == ["[已完成(待核验) → 进行中] 缺少竣工验收材料",
                                                           "运动场已完工,待验收。"]
        assert [a["filename"] for a in details["attachments"]] == ["竣工验收报告.pdf"]
        fields = {e.field for e in s.scalars(select(AuditEntry).where(AuditEntry.entity == "task"))}
        assert {"created", "deadline", "status", "attachment"} <= fields


def test_timeline_year_plan_and_tasks_from_warnings_and_plans(database):
    with database.session() as s:
        county = _county(s)
        create_task(s, COUNTY, title="研究制定创建实施方案", start_date=date(2021, 6, 1), deadline=date(2021, 6, 30))
        create_task(s, COUNTY, title="全县学校摸底自查", start_date=date(2021, 9, 1), deadline=date(2021, 12, 31))
        create_task(s, COUNTY, title="组织指导学校整改", start_date=date(2022, 9, 1), deadline=date(2023, 7, 31))
        # seed 003, 2023: 630 + 130 + 50 = 810 万元 in that year's items
        for title, amount in (("升级更新教学多媒体设备180台", 630), ("建设三个课堂", 130), ("配置餐具消毒设施", 50)):
            create_task(s, COUNTY, title=title, amount_wan=amount, plan_year=2023, deadline=date(2023, 12, 31))
        items = [{"label": "新建、扩建体育运动场地", "school_id": "P1", "school_name": "测试县城关小学", "quantity": 800,
                  "unit": "m²", "cost": 1_200_000.0, "indicators": ["R5"], "year": 2024},
                 {"label": "购置教学仪器设备", "school_id": "P1", "quantity": 300000, "unit": "元", "cost": 300_000.0,
                  "indicators": ["R6"], "plan_year": 2, "note": "规划生成"}]
        planned = create_tasks_from_plan(s, COUNTY, items, base_year=2023, plan_ref="plan-2024")
        assert [t.title for t in planned] == ["测试县城关小学:新建、扩建体育运动场地 800 m²", "P1:购置教学仪器设备 300,000 元"]  # thousands separated, as pages write amounts
        assert [(t.amount_wan, t.plan_year, t.deadline, t.source) for t in planned] == [
            (120.0, 2024, date(2024, 12, 31), "plan"), (30.0, 2024, date(2024, 12, 31), "plan")]

        warning = MonitorWarning(key=f"{COUNTY}|breach|breach|R5/unit/P1/primary/-", county_id=county.id,
                                 school_id=s.scalar(select(School.id)), kind="breach", rule_id="breach",
                                 severity="red", indicator="R5", title="R5 城关小学生均体育运动场馆面积未达标",
                                 message="……", numbers={}, responsible=["教体局"], badness=0.2, peak_badness=0.2)
        s.add(warning)
        s.flush()
        from_warning = create_task_from_warning(s, warning.id, deadline=date(2024, 10, 1), owner_name="王科长")
        assert from_warning.title == "整改:R5 城关小学生均体育运动场馆面积未达标"
        assert (from_warning.indicator, from_warning.school.code, from_warning.source) == ("R5", "P1", "warning")
        with pytest.raises(TaskError, match="该预警已有督办任务"):
            create_task_from_warning(s, warning.id)

        timeline = county_timeline(s, COUNTY, today=date(2024, 1, 1))
        assert [i["period"] for i in timeline["items"][:3]] == ["2021.6", "2021.9–12", "2022.9–2023.7"]
        assert [m["year"] for m in timeline["milestones"]] == [2016, 2027]
        assert timeline["overdue"] == 6  # the 2021–2023 items are not done by 2024

        plan = year_plan(s, COUNTY)
        by_year = {y["year"]: y for y in plan["years"]}
        assert by_year[2023]["total_wan"] == 810
        assert by_year[2023]["summary"] == ("投资630万元升级更新教学多媒体设备180台,投资130万元建设三个课堂,"
                                            "投资50万元配置餐具消毒设施,合计810万元。")
        assert by_year[2024]["total_wan"] == 150 and plan["total_wan"] == 960
    assert period_label(date(2024, 2, 1), date(2024, 12, 31)) == "2024.2–12"


def test_overdue_task_escalates_to_the_county_admin(database):
    with database.session() as s:
        _county(s)
        create_user(s, "xian", "password-2", role="county_admin", scope_code=COUNTY)  # no channel subscribed
        task_id = create_task(s, COUNTY, title="补齐音乐专用教室", indicator="G3", deadline=date(2025, 5, 31),
                              responsible="教体局、财政局").id
    watch(database, date(2025, 6, 10))
    with database.session() as s:
        (warning,) = list_warnings(s, COUNTY, kinds=["task"])
        assert warning.severity == "red" and warning.escalate_to == "county_admin" and warning.task_id == task_id
        assert warning.responsible == ["教体局", "财政局"] and "已逾期 10 天" in warning.message
        log = notification_log(s)
        assert len(log) == 1 and log[0]["status"] == "undeliverable"
        assert "县级管理员没有订阅任何通知渠道" in log[0]["error"]
    watch(database, date(2025, 6, 11))  # logged once, not every run
    with database.session() as s:
        assert len(notification_log(s)) == 1
        set_status(s, task_id, "done")
        assert [t.id for t in list_tasks(s, COUNTY, overdue_on=date(2025, 6, 11))] == []
    watch(database, date(2025, 6, 12))
    with database.session() as s:
        assert list_warnings(s, COUNTY, kinds=["task"]) == []

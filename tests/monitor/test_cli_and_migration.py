"""The commands (`junheng tasks`, `watch`, `forecast`) on a workspace, and the 0002 migration
down and up again on both databases."""

import json

import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

from junheng import cli
from junheng.services import init_workspace, open_database
from junheng.store.db import alembic_config
from monitor_helpers import BIRTHS, COUNTY, progression_dataset, store

MONITOR_TABLES = {"warnings", "supervision_tasks", "task_comments", "task_attachments", "notification_subscriptions",
                  "notification_log", "notification_items", "grade_enrolment", "county_intake", "housing_projects"}


def test_commands_on_a_workspace(tmp_path, monkeypatch):
    workspace = tmp_path / "ws"
    init_workspace(workspace, admin="admin", password="password-123")
    database, _ = open_database(workspace)
    store(database, progression_dataset())
    monkeypatch.setattr(cli.console, "width", 250)
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(cli.app, [*args, "--workspace", str(workspace)])
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    out = run("tasks", "add", COUNTY, "--title", "城关小学新建风雨操场", "--deadline", "2024-03-31", "--indicator",
              "R5", "--school", "P1", "--amount", "120", "--plan-year", "2024", "--owner", "李校长")
    assert "已新建督办任务 1:城关小学新建风雨操场" in out
    run("tasks", "add", COUNTY, "--title", "购置教学仪器", "--deadline", "2024-12-31", "--amount", "35.5")
    (workspace / "evidence.pdf").write_bytes(b"%PDF evidence")
    assert "已上传附件 evidence.pdf" in run("tasks", "attach", "1", str(workspace / "evidence.pdf"))
    out = run("watch", "--today", "2024-04-02", "--list")
    assert "预警巡检 2024-04-02" in out and "督办任务已逾期:城关小学新建风雨操场" in out and "红色" in out
    assert "已逾期 2 天" in out
    plan = run("tasks", "plan", COUNTY)
    assert "2024 年:合计 155.5 万元" in plan and "投资 120 万元 城关小学新建风雨操场" in plan
    assert "2024.3" in run("tasks", "timeline", COUNTY)
    assert "现为“已完成(待核验)”" in run("tasks", "status", "1", "done")
    assert "城关小学新建风雨操场" in run("tasks", "list", COUNTY, "--status", "done")

    births = tmp_path / "births.csv"
    births.write_text("县区代码,年份,出生人口\n" + "".join(f"{COUNTY},{b},{n}\n" for b, n in BIRTHS.items()),
                      encoding="utf-8")
    out = run("forecast", COUNTY, "--years", "3", "--intake", str(births), "--format", "json", "--output",
              str(tmp_path / "forecast.json"))
    data = json.loads((tmp_path / "forecast.json").read_text("utf-8"))
    assert data["base_year"] == 2023 and data["years"] == [2024, 2025, 2026]
    assert set(data["failing_items"]) == {"mid", "low", "high"}
    demand = {(s["year"], s["segment"]): s["demand"] for s in data["seats"]}
    assert demand[(2024, "primary")]["low"] <= demand[(2024, "primary")]["mid"] <= demand[(2024, "primary")]["high"]
    assert data["entry"]["method"] == "intake"  # births were imported by --intake
    table = run("forecast", COUNTY, "--years", "3")
    assert "全县学位需求" in table and "各校在校生预测(中位)" in table

    broken = runner.invoke(cli.app, ["tasks", "status", "1", "verified", "--user", "nobody", "--workspace", str(workspace)])
    assert broken.exit_code != 0 and "没有用户 nobody" in str(broken.exception)


def test_the_migration_goes_down_and_up(database):
    from alembic import command

    assert MONITOR_TABLES <= set(inspect(database.engine).get_table_names())
    config = alembic_config(database.engine)
    command.downgrade(config, "0001")
    assert not MONITOR_TABLES & set(inspect(database.engine).get_table_names())
    command.upgrade(config, "head")
    assert MONITOR_TABLES <= set(inspect(database.engine).get_table_names())


def test_scheduler_runs_the_watch_on_the_workspace_schedule(tmp_path):
    from junheng.monitor.config import MonitorConfigError, monitor_settings
    from junheng.monitor.scheduler import JOB_ID, start_scheduler, trigger

    (tmp_path / "junheng.toml").write_text('secret_key = "x"\n[monitor]\nschedule = "15 7 * * 1-5"\n'
                                           'timezone = "Asia/Shanghai"\n[smtp]\nhost = "smtp.example.com"\n'
                                           'security = "starttls"\n', encoding="utf-8")
    settings = monitor_settings(tmp_path)
    assert settings.rules_dir == tmp_path / "monitor-rules" and settings.smtp.port == 587
    scheduler = start_scheduler(object(), settings=settings)
    try:
        job = scheduler.get_job(JOB_ID)
        assert job.max_instances == 1
        fire = job.next_run_time  # the job waits for its first turn: nothing runs during the test
        assert (fire.hour, fire.minute) == (7, 15) and fire.weekday() < 5
    finally:
        scheduler.shutdown(wait=False)
    with pytest.raises(MonitorConfigError, match="不是有效的 cron 表达式"):
        trigger(monitor_settings(config={"monitor": {"schedule": "every morning"}}))
    assert start_scheduler(object(), settings=monitor_settings(config={"monitor": {"enabled": False}})) is None


def test_only_one_watch_runs_at_a_time_in_a_workspace(tmp_path):
    import fcntl

    from junheng.monitor.config import MonitorSettings
    from junheng.monitor.service import WatchBusy, run_watch

    settings = MonitorSettings(root=tmp_path, rules_dir=tmp_path / "monitor-rules")
    with open(tmp_path / ".monitor.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a watch from cron is running
        with pytest.raises(WatchBusy, match="另一个预警巡检正在运行") as caught:
            run_watch(None, settings)  # refused before the database is touched
        assert caught.value.exit_code == 75

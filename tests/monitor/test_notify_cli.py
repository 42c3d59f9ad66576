"""`junheng notify subscribe / list / unsubscribe / log` on a workspace: subscriptions made and
paused from the command line, webhook hosts checked against the workspace's allowed list, and
every refusal a Chinese message with a non-zero exit code."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

import builders
from junheng import cli
from junheng.services import init_workspace, open_database
from junheng.store.models import NotificationLog, NotificationSubscription, OrgNode
from junheng.store.users import create_user
from monitor_helpers import COUNTY


def _workspace(tmp_path):
    workspace = tmp_path / "ws"
    init_workspace(workspace, admin="admin", password="password-123")
    database, _ = open_database(workspace)
    with database.session() as s:
        s.add_all([OrgNode(kind="county", code=COUNTY, name="测试县"), OrgNode(kind="county", code="990002",
                                                                             name="另一县")])
        s.flush()
        create_user(s, "xian", "password-1", display_name="县管理员", role="county_admin", scope_code=COUNTY)
    return workspace, database


def test_subscribe_list_unsubscribe(tmp_path, monkeypatch):
    workspace, database = _workspace(tmp_path)
    monkeypatch.setattr(cli.console, "width", 250)
    monkeypatch.delenv("JUNHENG_WEBHOOK_ALLOWED_HOSTS", raising=False)
    runner = CliRunner()

    def run(*args, ok: bool = True):
        result = runner.invoke(cli.app, ["notify", *args, "--workspace", str(workspace)])
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
            return result.output
        assert result.exit_code != 0, result.output
        return result.exception.user_message()

    out = run("subscribe", "xian", "xian@example.gov.cn", "--min-severity", "red", "--county", COUNTY)
    assert "已为 xian 添加通知订阅 1:电子邮件 xian@example.gov.cn,红色及以上,测试县。" in out
    out = run("subscribe", "xian", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET", "--kind", "breach",
              "--kind", "decline")
    assert "添加通知订阅 2:群机器人(Webhook) https://qyapi.weixin.qq.com/…" in out and "SECRET" not in out

    # refusals: a host the workspace does not allow, a county the user cannot read, unknown values
    assert "Webhook 主机“127.0.0.1:9000”不在允许的列表中" in run("subscribe", "xian", "http://127.0.0.1:9000/hook",
                                                                ok=False)
    assert "无权查看另一县" in run("subscribe", "xian", "a@example.cn", "--county", "990002", ok=False)
    assert "没有用户 nobody" in run("subscribe", "nobody", "a@example.cn", ok=False)
    assert "最低预警级别" in run("subscribe", "xian", "a@example.cn", "--min-severity", "purple", ok=False)
    assert "预警类型 weather 无效" in run("subscribe", "xian", "a@example.cn", "--kind", "weather", ok=False)
    # one plain address (issue 11 #12): no header of its own, no list
    assert "不能包含换行符" in run("subscribe", "xian", "a@example.cn\r\nBcc: b@example.cn", ok=False)
    assert "只能填写一个地址" in run("subscribe", "xian", "a@example.cn,b@example.cn", ok=False)
    with database.session() as s:
        assert len(s.scalars(select(NotificationSubscription)).all()) == 2

    # the workspace allows a local receiver
    config = workspace / "junheng.toml"
    config.write_text(config.read_text("utf-8") + '\n[webhook]\nallowed_hosts = ["http://127.0.0.1:9000"]\n', encoding="utf-8")
    assert "添加通知订阅 3" in run("subscribe", "xian", "http://127.0.0.1:9000/hook", "--format", "json")

    table = run("list")
    assert "xian@example.gov.cn" in table and "SECRET" not in table and "https://qyapi.weixin.qq.com/…" in table
    assert "不达标、下滑" in table and "测试县" in table and table.count("有效") == 3
    assert "127.0.0.1" not in run("list", "--user", "admin") and "没有通知订阅" in run("list", "--user", "admin")

    assert "已停用通知订阅 3" in run("unsubscribe", "3")
    with database.session() as s:
        assert [x.active for x in s.scalars(select(NotificationSubscription).order_by(NotificationSubscription.id))] \
            == [True, True, False]
    assert "已停用" in run("list")
    # resuming checks the host again: without 127.0.0.1 in the list it stays paused
    config.write_text(config.read_text("utf-8").replace('allowed_hosts = ["http://127.0.0.1:9000"]', "allowed_hosts = []"),
                      encoding="utf-8")
    assert "不在允许的列表中" in run("unsubscribe", "3", "--resume", ok=False)
    with database.session() as s:
        assert s.get(NotificationSubscription, 3).active is False
    assert "已恢复通知订阅 1" in run("unsubscribe", "1", "--resume")
    assert "没有编号为 99 的订阅" in run("unsubscribe", "99", ok=False)

    assert "还没有通知记录" in run("log")
    with database.session() as s:
        s.add(NotificationLog(run_id="r1", subscription_id=1, user_id=s.get(NotificationSubscription, 1).user_id,
                              channel="email", target="xian@example.gov.cn", subject="【均衡预警】测试县 1 条预警(红色 1 条)",
                              body="…", status="failed", error="邮件发送失败:连接被拒绝", warning_count=1))
    out = run("log", "--user", "xian")
    assert "【均衡预警】测试县 1 条预警(红色 1 条)" in out and "发送失败:邮件发送失败:连接被拒绝" in out


def test_the_real_command_says_why_in_chinese(tmp_path):
    workspace, _ = _workspace(tmp_path)
    result = builders.run_junheng("notify", "subscribe", "xian", "https://hooks.example.com/x", "--workspace",
                                  str(workspace))
    assert result.returncode == 1
    assert "错误:" in result.stderr and "Webhook 主机“hooks.example.com”不在允许的列表中" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout

"""`junheng notify`: warning notification subscriptions (e-mail, webhook) and the sending log."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from junheng.cli.chinese import ChineseTyper
from junheng.cli.common import WORKSPACE_OPTION, beijing, console, open_workspace_database, user_named

group = ChineseTyper(help="预警通知订阅:添加、列出、停用(电子邮件或群机器人 Webhook),查看发送记录。",
                     no_args_is_help=True)


@group.command("subscribe")
def notify_subscribe(
    username: str = typer.Argument(..., help="用户名(通知按该用户的查看范围发送)"),
    target: str = typer.Argument(..., help="通知地址:电子邮件地址,或群机器人 Webhook 地址(http:// 或 https://)"),
    channel: Optional[str] = typer.Option(None, "--channel", help="email 或 webhook;缺省按地址判断"),
    fmt: str = typer.Option("markdown", "--format", "-f",
                            help="群机器人消息格式:markdown(企业微信)、dingtalk(钉钉)、text(两者均可)、json"),
    min_severity: str = typer.Option("orange", "--min-severity", "-s", help="最低预警级别:red、orange 或 yellow"),
    county: Optional[str] = typer.Option(None, "--county", "-c", help="只订阅该县区;缺省为该用户可查看的全部县区"),
    kind: Optional[list[str]] = typer.Option(None, "--kind", help="只订阅这些预警类型(可重复),如 breach、decline、task"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """为用户添加通知订阅(Webhook 只能发往允许的主机:企业微信、钉钉,以及 junheng.toml 中 webhook 表 allowed_hosts 所列主机)。"""
    from junheng.monitor.config import monitor_settings
    from junheng.monitor.notify import NotifyError, add_subscription, subscription_json

    settings = monitor_settings(workspace)
    chosen = channel or ("webhook" if re.match(r"(?i)https?://", target.strip()) else "email")
    with open_workspace_database(workspace).session() as session:
        user = user_named(session, username, NotifyError)
        sub = add_subscription(session, user, chosen, target, min_severity=min_severity, format=fmt,
                               county_code=county, kinds=kind or None, allowed_hosts=settings.webhook_hosts)
        row = subscription_json(session, sub)
    console.print(f"已为 {escape(username)} 添加通知订阅 {row['id']}:{row['channel_label']} {escape(row['target'])},"
                  f"{row['min_severity_label']}及以上,{escape(row['county_name'] or '全部可查看的县区')}。", highlight=False)


@group.command("list")
def notify_list(
    user: Optional[str] = typer.Option(None, "--user", "-u", help="只列出该用户的订阅"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """列出通知订阅(Webhook 地址只显示主机,不显示密钥)。"""
    from rich.table import Table

    from junheng.monitor.notify import NotifyError, list_subscriptions, subscription_json

    with open_workspace_database(workspace).session() as session:
        who = user_named(session, user, NotifyError) if user else None
        rows = [subscription_json(session, s) for s in list_subscriptions(session, who)]
    if not rows:
        console.print("没有通知订阅。")
        return
    table = Table(title="通知订阅", title_justify="left")
    for col in ("编号", "用户", "渠道", "地址", "格式", "最低级别", "县区", "预警类型", "状态"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(str(r["id"]), escape(r["user"]), r["channel_label"], escape(r["target"]), r["format"] or "—",
                      r["min_severity_label"], escape(r["county_name"] or "全部"), "、".join(r["kind_labels"]) or "全部",
                      "有效" if r["active"] else "已停用")
    console.print(table)


@group.command("unsubscribe")
def notify_unsubscribe(
    subscription_id: int = typer.Argument(..., help="订阅编号(见 junheng notify list)"),
    resume: bool = typer.Option(False, "--resume", help="恢复已停用的订阅"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """停用一个通知订阅(记录保留;--resume 恢复)。"""
    from junheng.monitor.config import monitor_settings
    from junheng.monitor.notify import set_subscription_active

    settings = monitor_settings(workspace)
    with open_workspace_database(workspace).session() as session:
        set_subscription_active(session, subscription_id, resume, allowed_hosts=settings.webhook_hosts)
    console.print(f"已{'恢复' if resume else '停用'}通知订阅 {subscription_id}。", highlight=False)


@group.command("log")
def notify_log(
    user: Optional[str] = typer.Option(None, "--user", "-u", help="只列出发给该用户的通知"),
    limit: int = typer.Option(30, "--limit", "-n", min=1, help="最多列出多少条"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """最近发送的通知摘要(已发送、发送失败、无法送达)。"""
    from rich.table import Table

    from junheng.monitor.notify import NotifyError, notification_log

    with open_workspace_database(workspace).session() as session:
        who = user_named(session, user, NotifyError) if user else None
        rows = notification_log(session, user=who, limit=limit)
    if not rows:
        console.print("还没有通知记录。")
        return
    labels = {"sent": "已发送", "failed": "发送失败", "undeliverable": "无法送达"}
    table = Table(title="通知记录", title_justify="left")
    for col in ("时间", "渠道", "地址", "主题", "状态"):
        table.add_column(col, overflow="fold")
    for r in rows:
        state = labels.get(r["status"], r["status"]) + (f":{r['error']}" if r["error"] else "")
        table.add_row(beijing(r["created_at"]), r["channel"], escape(r["target"]), escape(r["subject"]), escape(state))
    console.print(table)

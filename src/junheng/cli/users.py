"""`junheng users`: accounts and their roles, through the web admin's own functions (store.admin)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from junheng.cli.chinese import ChineseTyper
from junheng.cli.common import WORKSPACE_OPTION, console, user_named

group = ChineseTyper(help="管理用户(添加、列出、重置密码、停用)。", no_args_is_help=True)


@group.command("add")
def users_add(
    username: str = typer.Argument(..., help="用户名"),
    role: str = typer.Option(..., "--role", help="admin、supervisor、county_admin、school_filler 或 viewer"),
    scope: Optional[str] = typer.Option(None, "--scope", help="范围:县区代码、市/省代码或学校标识码"),
    name: Optional[str] = typer.Option(None, "--name", help="显示名称"),
    password: Optional[str] = typer.Option(None, "--password", help="密码;不指定则自动生成并显示一次"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """添加用户并授予一个角色(首次登录时须先改为本人的密码)。"""
    from junheng.services import open_database
    from junheng.store import admin

    database, _ = open_database(workspace)
    with database.session() as session:
        # the web admin's own function: same checks, same audit entries (via="cli", no acting
        # account); the password is the operator's choice, so the user changes it at first login
        _, generated = admin.create_account(session, admin.operator_access(), username=username,
                                            display_name=name or "", role=role, scope_code=scope or "",
                                            password=password or "", via="cli")
    secret = generated or password
    console.print(f"已添加用户 {escape(username)}。" + ("" if password else f"密码(只显示这一次):{escape(secret)}")
                  + "该用户首次登录时须先修改密码。", highlight=False)


@group.command("reset-password")
def users_reset_password(
    username: str = typer.Argument(..., help="用户名"),
    password: Optional[str] = typer.Option(None, "--password", help="新密码;不指定则自动生成并显示一次"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """重置用户的密码:其登录全部退出、API 令牌全部撤销,下次登录须先改为本人的密码。"""
    from sqlalchemy import select

    from junheng.services import open_database
    from junheng.store import admin
    from junheng.store.models import ApiToken

    database, _ = open_database(workspace)
    with database.session() as session:
        user = user_named(session, username)
        live = sum(1 for t in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                                     ApiToken.revoked_at.is_(None))))
        # the web admin's own function: same rules, same audit entry (via="cli", no acting account)
        secret = admin.reset_password(session, admin.operator_access(), user, password or "", via="cli") or password
        revoked = live
    console.print(f"已重置用户 {escape(username)} 的密码" + ("。" if password else f",新密码(只显示这一次):{escape(secret)}。")
                  + f"其原有登录已全部退出{f',API 令牌 {revoked} 个已撤销' if revoked else ''};下次登录时须先修改密码。",
                  highlight=False)


@group.command("list")
def users_list(workspace: Optional[Path] = WORKSPACE_OPTION) -> None:
    """列出用户、角色和范围。"""
    from rich.table import Table
    from sqlalchemy import select

    from junheng.services import open_database
    from junheng.store.models import User
    from junheng.store.users import ROLE_LABELS

    database, _ = open_database(workspace)
    table = Table(title="用户", title_justify="left")
    for col in ("用户名", "名称", "角色与范围", "状态"):
        table.add_column(col, overflow="fold")
    with database.session() as session:
        for user in session.scalars(select(User).order_by(User.username)):
            grants = "、".join(
                ROLE_LABELS[g.role] + (f"({(g.org_node or g.school).name})" if (g.org_node or g.school) else "")
                for g in user.grants)
            state = ("正常(待本人修改初始密码)" if user.must_change_password else "正常") if user.active else "已停用"
            table.add_row(escape(user.username), escape(user.display_name), escape(grants), state)
    console.print(table)


@group.command("disable")
def users_disable(username: str = typer.Argument(..., help="用户名"), workspace: Optional[Path] = WORKSPACE_OPTION) -> None:
    """停用用户(立即退出其所有登录;记录保留)。"""
    from junheng.services import open_database
    from junheng.store import admin

    database, _ = open_database(workspace)
    with database.session() as session:
        user = user_named(session, username)
        # the web admin's own function: its rules and its audit entry (via="cli")
        changed = admin.set_active(session, admin.operator_access(), user, False, via="cli")
    console.print(f"已停用用户 {escape(username)}。" if changed else f"用户 {escape(username)} 已是停用状态,未改变。",
                  highlight=False)

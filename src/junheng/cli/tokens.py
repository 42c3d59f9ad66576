"""`junheng tokens`: API tokens for other systems calling /api/v1."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from junheng.cli.chinese import ChineseTyper
from junheng.cli.common import WORKSPACE_OPTION, beijing, console, user_named

group = ChineseTyper(help="管理 API 令牌(供其他系统调用 /api/v1;令牌的权限与其用户相同)。", no_args_is_help=True)


@group.command("create")
def tokens_create(
    username: str = typer.Argument(..., help="令牌所属的用户名;令牌的权限范围与该用户相同"),
    name: str = typer.Option(..., "--name", help="令牌用途,如“市级平台同步”"),
    scope: str = typer.Option("read", "--scope", help="权限:read(只读,缺省)或 read-write(读写,可修改数据)"),
    days: int = typer.Option(90, "--days", help="有效天数(1–3650,缺省 90 天)"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """为用户生成一个 API 令牌(只显示这一次,请妥善保存;该用户的密码被重置或修改时自动撤销)。"""
    from datetime import timedelta

    from junheng.services import open_database
    from junheng.store.models import utcnow
    from junheng.store.users import MAX_TOKEN_DAYS, TOKEN_SCOPES, UserError, create_token

    if scope not in TOKEN_SCOPES:  # before the workspace is opened: nothing is touched
        raise UserError(f"--scope 的取值“{scope}”无效:应为 read(只读)或 read-write(读写)")
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise UserError(f"--days 的取值 {days} 无效:有效天数应为 1–{MAX_TOKEN_DAYS}")

    database, _ = open_database(workspace)
    with database.session() as session:
        user = user_named(session, username)
        if not user.active:
            raise UserError(f"用户 {username} 已停用,不能生成令牌")
        token = create_token(session, user, name.strip() or "API", scope=scope, days=days)
    until = beijing((utcnow() + timedelta(days=days)).isoformat())
    console.print(f"已为用户 {escape(username)} 生成 API 令牌“{escape(name)}”({TOKEN_SCOPES[scope]},"
                  f"有效期至 {until}(北京时间))。令牌(只显示这一次):", highlight=False)
    console.out(token, highlight=False)
    console.print("调用时使用请求头:Authorization: Bearer <令牌>", highlight=False)


@group.command("list")
def tokens_list(workspace: Optional[Path] = WORKSPACE_OPTION) -> None:
    """列出 API 令牌(编号、用户、用途、状态;不显示令牌本身)。"""
    from rich.table import Table

    from junheng.services import open_database
    from junheng.store.users import TOKEN_SCOPES, list_tokens, token_state

    database, _ = open_database(workspace)
    table = Table(title="API 令牌(时间为北京时间)", title_justify="left")
    for col in ("编号", "用户", "用途", "权限", "创建时间", "有效期至", "状态"):
        table.add_column(col, overflow="fold")
    with database.session() as session:
        for row in list_tokens(session):
            expires = beijing(row.expires_at.isoformat()) if row.expires_at else "不限期(0005 之前生成)"
            table.add_row(str(row.id), escape(row.user.username), escape(row.name),
                          f"{row.scope}({TOKEN_SCOPES.get(row.scope, row.scope)})",
                          beijing(row.created_at.isoformat()), expires, token_state(row))
    console.print(table)


@group.command("revoke")
def tokens_revoke(token_id: int = typer.Argument(..., help="令牌编号(见 junheng tokens list)"),
                  workspace: Optional[Path] = WORKSPACE_OPTION) -> None:
    """撤销一个 API 令牌(立即失效;记录保留)。"""
    from junheng.services import open_database
    from junheng.store.users import revoke_token

    database, _ = open_database(workspace)
    with database.session() as session:
        row = revoke_token(session, token_id)
        name = row.name
    console.print(f"已撤销 API 令牌 {token_id}({escape(name)})。", highlight=False)

"""The `junheng` command: thin wrappers that parse arguments and call the services.

Heavy imports (ibis, pandas, openpyxl) happen inside commands so that `--help` stays fast.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import traceback
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from junheng import schoolyear
from junheng.cli_chinese import ChineseTyper, install, print_usage_error
from junheng.errors import JunhengError

install()  # typer's help and usage errors in Chinese (junheng.cli_chinese)

app = ChineseTyper(
    help="均衡 junheng:县域义务教育优质均衡发展督导评估系统。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
standards_app = ChineseTyper(help="查看评估标准。", no_args_is_help=True)
app.add_typer(standards_app, name="standards")
users_app = ChineseTyper(help="管理用户(添加、列出、重置密码、停用)。", no_args_is_help=True)
app.add_typer(users_app, name="users")
tokens_app = ChineseTyper(help="管理 API 令牌(供其他系统调用 /api/v1;令牌的权限与其用户相同)。", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")

WORKSPACE_OPTION = typer.Option(None, "--workspace", "-w", help="工作区文件夹;缺省为环境变量 JUNHENG_WORKSPACE 或当前文件夹")

console = Console()
# soft_wrap: one problem per line even when piped (rich would cut Chinese lines at 80 columns)
err_console = Console(stderr=True, soft_wrap=True)


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    xlsx = "xlsx"


@standards_app.command("list")
def standards_list() -> None:
    """列出内置的评估标准。"""
    from junheng.reports.standards import print_standard_list

    print_standard_list(console)


@standards_app.command("show")
def standards_show(standard_id: str = typer.Argument(..., help="标准:标准标识(如 national-2017)或标准文件路径")) -> None:
    """显示一个标准的全部指标、达标值和责任单位。"""
    from junheng.reports.standards import print_standard
    from junheng.standards.loader import load_standard

    print_standard(console, load_standard(standard_id))


@app.command()
def check(dataset: Path = typer.Argument(..., help="数据集:CSV 文件夹或 XLSX 工作簿")) -> None:
    """只校验数据集,列出全部问题(表、行、列、取值、应填内容)。"""
    from junheng.data.importer import load_dataset

    data = load_dataset(dataset)
    for warning in data.warnings:
        err_console.print(f"[yellow]提示:[/] {escape(warning)}", highlight=False)
    pairs = data.county_year_pairs()
    console.print(
        f"[green]校验通过[/]:{len(data.schools)} 所学校,{len(data.school_year)} 条学校年度数据,"
        f"{len(pairs)} 个县区年度。",
        highlight=False,
    )


@app.command()
def template(out: Path = typer.Argument(..., help="空白填报模板文件:要生成的 .xlsx 文件")) -> None:
    """生成空白填报模板:中文表头、每列填写说明、枚举下拉选项。"""
    if out.suffix.lower() != ".xlsx":
        raise typer.BadParameter("模板文件名应以 .xlsx 结尾", param_hint="OUT")
    from junheng.data.template import write_template

    write_template(out)
    console.print(f"已生成填报模板:{escape(str(out))}", highlight=False)


@app.command()
def evaluate(
    dataset: Path = typer.Argument(..., help="数据集:CSV 文件夹或 XLSX 工作簿"),
    county: Optional[str] = typer.Option(None, "--county", "-c", help="县区代码;不指定则评估全部县区"),
    year: Optional[int] = typer.Option(None, "--year", "-y", help="学年(开始年份);不指定则评估全部年度"),
    standard: Optional[str] = typer.Option(
        None, "--standard", "-s", help="标准标识或标准文件;不指定则用县区名录中的适用标准,缺省为 national-2017"
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="输出格式"),
    out: Optional[Path] = typer.Option(
        None, "--output", "-o",
        help="输出文件(json/xlsx);json 不指定则打印到屏幕。同时指定 --county 和 --year 时 JSON 为一个对象,否则为数组",
    ),
) -> None:
    """评估县域义务教育优质均衡发展的全部指标并给出结论。"""
    from junheng.services import evaluate_dataset_file, write_results

    results = evaluate_dataset_file(dataset, county=county, year=year, standard=standard, console=err_console)
    write_results(results, fmt.value, out, console, single=county is not None and year is not None)


@app.command()
def demo(
    workspace: Path = typer.Option(Path("."), "--workspace", "-w", help="生成示范数据的文件夹"),
    counties: int = typer.Option(1, "--counties", "-n", min=1, help="县区个数(大于 1 时生成合成的市/省)"),
    seed: int = typer.Option(2024, "--seed", help="随机种子(相同种子生成相同数据)"),
    reset_passwords: bool = typer.Option(
        False, "--reset-passwords", help="重新生成全部示范账号的密码(缺省:已有的账号保留原密码)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="在终端显示完整的评估结果(缺省只显示摘要)"),
    host: str = typer.Option("127.0.0.1", "--host", help="网站的监听地址(用于提示;make demo 把同一地址交给 junheng serve)"),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="网站的端口(用于提示;make demo 把同一端口交给 junheng serve)"),
) -> None:
    """生成合成示范县(或市/省)数据集并评估,载入工作区并为每种角色建一个账号。数据为合成数据,仅供演示。"""
    from junheng.services import run_demo

    run_demo(workspace, counties=counties, seed=seed, console=console, verbose=verbose,
             reset_passwords=reset_passwords, host=host, port=port)


def _is_usage_error(exc) -> bool:
    # Typer vendors its own click; match its exceptions by class name rather than import a private module.
    return "ClickException" in {cls.__name__ for cls in type(exc).__mro__}


@app.command()
def init(
    workspace: Optional[Path] = WORKSPACE_OPTION,
    admin: str = typer.Option("admin", "--admin", help="第一个系统管理员的用户名"),
    password: Optional[str] = typer.Option(None, "--password", help="管理员密码;不指定则自动生成并显示一次"),
    database_url: Optional[str] = typer.Option(None, "--database-url", help="数据库地址;缺省为工作区内的 SQLite 文件"),
) -> None:
    """创建工作区(数据库、上传文件夹、配置)和第一个系统管理员。"""
    from junheng.services import init_workspace

    root, generated = init_workspace(workspace, admin=admin, password=password, database_url=database_url)
    console.print(f"工作区已就绪:{escape(str(root.resolve()))}", highlight=False)
    if generated:
        console.print(f"管理员 {escape(admin)} 的密码(只显示这一次):[bold]{escape(generated)}[/]", highlight=False)


@users_app.command("add")
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


@users_app.command("reset-password")
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
        user = _cli_account(session, username)
        live = sum(1 for t in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                                     ApiToken.revoked_at.is_(None))))
        # the web admin's own function: same rules, same audit entry (via="cli", no acting account)
        secret = admin.reset_password(session, admin.operator_access(), user, password or "", via="cli") or password
        revoked = live
    console.print(f"已重置用户 {escape(username)} 的密码" + ("。" if password else f",新密码(只显示这一次):{escape(secret)}。")
                  + f"其原有登录已全部退出{f',API 令牌 {revoked} 个已撤销' if revoked else ''};下次登录时须先修改密码。",
                  highlight=False)


@users_app.command("list")
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


@users_app.command("disable")
def users_disable(username: str = typer.Argument(..., help="用户名"), workspace: Optional[Path] = WORKSPACE_OPTION) -> None:
    """停用用户(立即退出其所有登录;记录保留)。"""
    from junheng.services import open_database
    from junheng.store import admin

    database, _ = open_database(workspace)
    with database.session() as session:
        user = _cli_account(session, username)
        # the web admin's own function: its rules and its audit entry (via="cli")
        changed = admin.set_active(session, admin.operator_access(), user, False, via="cli")
    console.print(f"已停用用户 {escape(username)}。" if changed else f"用户 {escape(username)} 已是停用状态,未改变。",
                  highlight=False)


def _cli_account(session, username: str):
    from sqlalchemy import select

    from junheng.store.models import User
    from junheng.store.users import UserError

    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserError(f"没有用户 {username}(见 junheng users list)")
    return user


@tokens_app.command("create")
def tokens_create(
    username: str = typer.Argument(..., help="令牌所属的用户名;令牌的权限范围与该用户相同"),
    name: str = typer.Option(..., "--name", help="令牌用途,如“市级平台同步”"),
    scope: str = typer.Option("read", "--scope", help="权限:read(只读,缺省)或 read-write(读写,可修改数据)"),
    days: int = typer.Option(90, "--days", help="有效天数(1–3650,缺省 90 天)"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """为用户生成一个 API 令牌(只显示这一次,请妥善保存;该用户的密码被重置或修改时自动撤销)。"""
    from datetime import timedelta

    from sqlalchemy import select

    from junheng.services import open_database
    from junheng.store.models import User, utcnow
    from junheng.store.users import MAX_TOKEN_DAYS, TOKEN_SCOPES, UserError, create_token

    if scope not in TOKEN_SCOPES:  # before the workspace is opened: nothing is touched
        raise UserError(f"--scope 的取值“{scope}”无效:应为 read(只读)或 read-write(读写)")
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise UserError(f"--days 的取值 {days} 无效:有效天数应为 1–{MAX_TOKEN_DAYS}")

    database, _ = open_database(workspace)
    with database.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise UserError(f"没有用户 {username}")
        if not user.active:
            raise UserError(f"用户 {username} 已停用,不能生成令牌")
        token = create_token(session, user, name.strip() or "API", scope=scope, days=days)
    until = _beijing((utcnow() + timedelta(days=days)).isoformat())
    console.print(f"已为用户 {escape(username)} 生成 API 令牌“{escape(name)}”({TOKEN_SCOPES[scope]},"
                  f"有效期至 {until}(北京时间))。令牌(只显示这一次):", highlight=False)
    console.out(token, highlight=False)
    console.print("调用时使用请求头:Authorization: Bearer <令牌>", highlight=False)


@tokens_app.command("list")
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
            expires = _beijing(row.expires_at.isoformat()) if row.expires_at else "不限期(0005 之前生成)"
            table.add_row(str(row.id), escape(row.user.username), escape(row.name),
                          f"{row.scope}({TOKEN_SCOPES.get(row.scope, row.scope)})",
                          _beijing(row.created_at.isoformat()), expires, token_state(row))
    console.print(table)


@tokens_app.command("revoke")
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


@app.command()
def serve(
    workspace: Optional[Path] = WORKSPACE_OPTION,
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址"),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="端口"),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="工作进程数(多核服务器上可设为 CPU 核数;缺省 1)"),
) -> None:
    """启动网站(浏览器访问 http://地址:端口/)。"""
    import os

    import uvicorn

    from junheng.monitor.scheduler import start_scheduler
    from junheng.services import open_database
    from junheng.web.app import create_app
    from junheng.workspace import resolve

    database, settings = open_database(workspace)
    _check_port_free(host, port)  # before the scheduler starts: a taken port is a message, not uvicorn's traceback
    scheduler = start_scheduler(database, workspace)  # timed warnings (junheng.toml [monitor]), in this process only
    console.print(f"网站已启动:http://{host}:{port}/ (按 Ctrl+C 停止)", highlight=False)
    try:
        # Idle connections stay open 65 s (uvicorn's default is 5 s): a browser or client that
        # comes back after a few seconds' thought otherwise races the server closing its connection.
        options = {"host": host, "port": port, "log_level": "warning", "timeout_keep_alive": 65}
        if workers == 1:
            uvicorn.run(create_app(settings, database), **options)
        else:  # worker processes import the app themselves, from the workspace named here
            os.environ["JUNHENG_WORKSPACE"] = str(resolve(workspace).root)
            uvicorn.run("junheng.web.app:create_app_from_environment", factory=True, workers=workers, **options)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


class ServeError(JunhengError):
    pass


def _check_port_free(host: str, port: int) -> None:
    """Refuse, in Chinese, an address this machine cannot listen on (a port taken by another program,
    an address not of this machine)."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise ServeError(f"监听地址“{host}”无效:应为本机的地址,如 127.0.0.1(只允许本机访问)或 0.0.0.0(允许其他电脑访问)") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServeError(f"端口 {port} 已被其他程序占用(可能是另一个正在运行的 junheng serve):"
                                 f"换一个端口,如 junheng serve --port {port + 1}(make demo PORT={port + 1}),"
                                 "或先停止占用该端口的程序") from None
            raise ServeError(f"无法在 {host}:{port} 上启动网站:{exc.strerror or exc}。"
                             "监听地址应为本机的地址(如 127.0.0.1 或 0.0.0.0),端口 1024 以下需要管理员权限") from None


# ---------------------------------------------------------------- backup and restore (junheng.store.backup)


@app.command()
def backup(
    workspace: Optional[Path] = WORKSPACE_OPTION,
    out: Path = typer.Option(..., "--output", "-o", help="备份文件(.tar.gz);不会覆盖已有文件"),
) -> None:
    """备份工作区:数据库的一致快照(网站运行时也可备份)、上传文件与佐证材料、情景、单价表、预警规则、标准文件和设置,打包为一个带校验和的 .tar.gz 文件。"""
    from junheng.store.backup import backup_workspace

    summary = backup_workspace(workspace, out, console=err_console)
    for note in summary.notes:
        err_console.print(f"[yellow]提示:[/] {escape(note)}", highlight=False)
    kind = "SQLite" if summary.database_kind == "sqlite" else "PostgreSQL"
    console.print(f"已备份工作区到 {escape(str(summary.path))}:数据库({kind},结构版本 {summary.schema_revision})"
                  f"和 {summary.files} 个文件,共 {summary.bytes / 1024 / 1024:.1f} MB。",
                  highlight=False, soft_wrap=True)
    console.print("备份文件含全部数据和工作区密钥(secret_key),请像服务器本身一样妥善保管。", highlight=False)


@app.command()
def restore(
    archive: Path = typer.Argument(..., metavar="FILE", help="备份文件:junheng backup 生成的 .tar.gz 文件"),
    workspace: Path = typer.Option(..., "--workspace", "-w", help="新工作区文件夹(须不存在或为空)"),
    database_url: Optional[str] = typer.Option(
        None, "--database-url", help="恢复到的空数据库;PostgreSQL 备份必须指定,SQLite 备份缺省为新工作区内的文件"),
) -> None:
    """把备份恢复为一个新工作区(只写入空的文件夹和空数据库;先校验全部校验和),并升级到本程序的数据库结构。"""
    from junheng.store.backup import restore_workspace

    summary = restore_workspace(archive, workspace, database_url=database_url, console=err_console)
    for note in summary.notes:
        err_console.print(f"[yellow]提示:[/] {escape(note)}", highlight=False)
    kind = "SQLite" if summary.database_kind == "sqlite" else "PostgreSQL"
    schema = summary.schema_to if summary.schema_from == summary.schema_to else \
        f"{summary.schema_from} → {summary.schema_to}"
    console.print(f"已恢复工作区 {escape(str(summary.workspace))}:数据库({kind} {escape(summary.database_url)},"
                  f"结构版本 {schema})和 {summary.files} 个文件。", highlight=False, soft_wrap=True)
    console.print(f"启动网站:junheng serve --workspace {escape(str(summary.workspace))}", highlight=False)


# ---------------------------------------------------------------- uploads folder

uploads_app = ChineseTyper(help="上传文件夹:清理过期的上传文件。", no_args_is_help=True)
app.add_typer(uploads_app, name="uploads")


@uploads_app.command("clean")
def uploads_clean(
    workspace: Optional[Path] = WORKSPACE_OPTION,
    days: Optional[float] = typer.Option(None, "--days", min=0.0, help="保留天数;缺省为 junheng.toml 的 [uploads] keep_days(7 天)"),
) -> None:
    """清理上传文件夹:删除超过保留期限仍未应用的上传;已应用的上传删除文件和校验结果、保留应用记录;删除中断上传留下的临时文件。网站的定时任务每天也会执行。"""
    from junheng.monitor.config import monitor_settings
    from junheng.web.uploads import clean_uploads

    settings = monitor_settings(workspace)
    keep = settings.upload_keep_days if days is None else days
    report = clean_uploads(settings.uploads, keep_days=keep)
    console.print(f"已清理 {escape(str(settings.uploads))}(保留 {keep:g} 天):{report.summary()}。", highlight=False,
                  soft_wrap=True)


# ---------------------------------------------------------------- monitoring (watch, forecast, tasks)

tasks_app = ChineseTyper(help="督办任务:列出、新建、改状态、意见、附件、推进计划。", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")


def _date_option(value: Optional[str], name: str):
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("应为 年-月-日,如 2025-06-30", param_hint=name) from None


@app.command()
def watch(
    workspace: Optional[Path] = WORKSPACE_OPTION,
    county: Optional[list[str]] = typer.Option(None, "--county", "-c", help="只巡检这些县区(可重复);缺省为全部"),
    today: Optional[str] = typer.Option(None, "--today", help="按这一天巡检(年-月-日);缺省为今天"),
    no_notify: bool = typer.Option(False, "--no-notify", help="只更新预警,不发送通知"),
    show: bool = typer.Option(False, "--list", help="列出全部未解除的预警"),
    check: bool = typer.Option(False, "--check-rules", help="只校验预警规则文件"),
) -> None:
    """运行一次全部预警规则(可重复运行,适合 cron 定时调用),更新预警并发送通知摘要。"""
    from junheng.monitor.config import monitor_settings
    from junheng.monitor.rules import check_rules_dir

    settings = monitor_settings(workspace)
    if check:
        files = check_rules_dir(settings.rules_dir)
        console.print(f"预警规则文件校验通过:{len(files)} 个文件。", highlight=False)
        return
    from junheng.monitor.service import run_watch
    from junheng.monitor.terminal import print_warnings, print_watch
    from junheng.monitor.warnings import list_warnings, warning_json
    from junheng.services import open_database

    day = _date_option(today, "--today")
    check_rules_dir(settings.rules_dir)  # refuse malformed rules before touching the database
    database, _ = open_database(workspace)
    report = run_watch(database, settings, today=day, county_codes=county or None, notify=not no_notify)
    print_watch(console, report)
    if show:
        with database.session() as session:
            rows = [warning_json(w) for w in list_warnings(session, None, county_ids=None)
                    if not county or w.county.code in county]
        print_warnings(console, rows)


@app.command()
def forecast(
    county: str = typer.Argument(..., help="县区代码"),
    years: Optional[int] = typer.Option(None, "--years", "-n", min=1, max=10, help="预测年数;缺省按预警规则(5 年)"),
    grades: Optional[Path] = typer.Option(None, "--grades", help="先导入分年级在校生数(CSV/XLSX:学校标识码、学年、年级、在校生数)"),
    intake: Optional[Path] = typer.Option(None, "--intake", help="先导入出生人口/幼儿园毕业人数(CSV/XLSX:县区代码、年份、出生人口、幼儿园毕业人数)"),
    housing: Optional[Path] = typer.Option(None, "--housing", help="先导入住房项目(CSV/XLSX:县区代码、项目名称、交付年份、学校标识码、新增小学生数、新增初中生数)"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="输出格式(table 或 json)"),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="JSON 输出文件"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """按年级递进预测各校在校生、学位需求与办学条件指标(含区间)。"""
    import json

    from junheng.monitor import service as monitor
    from junheng.monitor.config import monitor_settings
    from junheng.services import open_database

    if fmt == OutputFormat.xlsx:
        raise typer.BadParameter("预测只支持 table 或 json", param_hint="--format")
    settings = monitor_settings(workspace)
    database, _ = open_database(workspace)
    with database.session() as session:
        if grades:
            n = monitor.import_grade_enrolment(session, monitor.read_rows(grades, monitor.GRADE_COLUMNS,
                                                                          ("school_id", "year", "grade", "students")))
            err_console.print(f"已导入分年级在校生数:{n} 项变更", highlight=False)
        if intake:
            n = monitor.import_intake(session, monitor.read_rows(intake, monitor.INTAKE_COLUMNS, ("county_code", "year")))
            err_console.print(f"已导入入学来源数据:{n} 项变更", highlight=False)
        if housing:
            rows = monitor.read_rows(housing, monitor.HOUSING_COLUMNS, ("county_code", "name", "year_ready"))
            for r in rows:
                monitor.add_housing_project(session, r["county_code"], r["name"], r["year_ready"],
                                            primary_pupils=r.get("primary_pupils") or 0,
                                            junior_pupils=r.get("junior_pupils") or 0,
                                            school_code=r.get("school_id"), note=r.get("note"), via="cli")
            err_console.print(f"已导入住房项目:{len(rows)} 个", highlight=False)
    from junheng.monitor.forecast import SCENARIOS

    with database.session() as session:  # the table shows the mid scenario's items; JSON has all three
        result = monitor.county_forecast(session, county, horizon=years, rules_dir=settings.rules_dir,
                                         scenarios=SCENARIOS if fmt == OutputFormat.json else ("mid",))
    if fmt == OutputFormat.json:
        text = json.dumps(result.to_json(), ensure_ascii=False, indent=2)
        if out:
            out.write_text(text, encoding="utf-8")
            console.print(f"已写入预测结果:{escape(str(out))}", highlight=False)
        else:
            console.out(text, highlight=False)
        return
    from junheng.monitor.terminal import print_forecast

    print_forecast(console, result)


def _tasks_session(workspace: Optional[Path]):
    from junheng.services import open_database

    database, _ = open_database(workspace)
    return database


def _cli_user(session, username: Optional[str]):
    if not username:
        return None
    from sqlalchemy import select

    from junheng.monitor.tasks import TaskError
    from junheng.store.models import User

    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise TaskError(f"没有用户 {username}")
    return user


USER_OPTION = typer.Option(None, "--user", "-u", help="以该用户名义操作(记入审计日志)")


@tasks_app.command("list")
def tasks_list(
    county: Optional[str] = typer.Argument(None, help="县区代码;缺省为工作区中的全部县区"),
    status: Optional[str] = typer.Option(
        None, "--status", help="只列出这一状态:open(未开始)、in_progress(进行中)、done(已完成)或 verified(已核验)"),
    overdue: bool = typer.Option(False, "--overdue", help="只列出逾期任务"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """列出督办任务:一个县区的,或(不指定县区时)工作区中每个县区的。"""
    from sqlalchemy import select

    from junheng.monitor.tasks import STATUS_LABELS, TaskError, list_tasks, task_json
    from junheng.monitor.terminal import print_tasks
    from junheng.store.models import OrgNode

    if status is not None and status not in STATUS_LABELS:
        raise TaskError(f"--status 的取值“{status}”无效:应为 "
                        + "、".join(f"{key}({label})" for key, label in STATUS_LABELS.items()))
    overdue_on = schoolyear.local_today() if overdue else None
    with _tasks_session(workspace).session() as session:
        if county is not None:
            rows = [task_json(session, t) for t in list_tasks(session, county, status=status, overdue_on=overdue_on)]
            print_tasks(console, rows)
            return
        counties = session.scalars(select(OrgNode).where(OrgNode.kind == "county").order_by(OrgNode.code)).all()
        if not counties:
            console.print("工作区中还没有县区(先载入数据,或在网站的「管理」中新建县区)。")
            return
        for node in counties:
            rows = [task_json(session, t) for t in list_tasks(session, node.code, status=status, overdue_on=overdue_on)]
            if len(counties) > 1:
                console.print(f"[bold]{escape(node.name)}({node.code})[/]", highlight=False)
            print_tasks(console, rows)


@tasks_app.command("add")
def tasks_add(
    county: str = typer.Argument(..., help="县区代码"),
    title: Optional[str] = typer.Option(None, "--title", "-t", help="任务名称(由预警生成时可省略)"),
    deadline: Optional[str] = typer.Option(None, "--deadline", help="完成期限(年-月-日)"),
    start: Optional[str] = typer.Option(None, "--start", help="开始日期(年-月-日)"),
    indicator: Optional[str] = typer.Option(None, "--indicator", help="指标,如 R5"),
    school: Optional[str] = typer.Option(None, "--school", help="学校标识码"),
    owner: Optional[str] = typer.Option(None, "--owner", help="负责人"),
    owner_account: Optional[str] = typer.Option(
        None, "--owner-account", help="负责人的用户名(须为本县区或其学校的在用账号,与网站相同)"),
    responsible: Optional[str] = typer.Option(None, "--responsible", help="责任单位,用顿号分隔;缺省按标准的责任分工"),
    amount: Optional[float] = typer.Option(None, "--amount", help="投资金额(万元)"),
    plan_year: Optional[int] = typer.Option(None, "--plan-year", help="计划年度"),
    from_warning: Optional[int] = typer.Option(None, "--from-warning", help="由这条预警(编号)生成"),
    user: Optional[str] = USER_OPTION,
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """新建督办任务(手工或由预警生成)。"""
    from junheng.monitor.tasks import TaskError, create_task, create_task_from_warning

    fields = {k: v for k, v in {
        "deadline": _date_option(deadline, "--deadline"), "start_date": _date_option(start, "--start"),
        "indicator": indicator, "school_code": school, "owner_name": owner, "responsible": responsible,
        "amount_wan": amount, "plan_year": plan_year}.items() if v is not None}
    with _tasks_session(workspace).session() as session:
        who = _cli_user(session, user)
        if owner_account is not None:  # the owner rule itself is the store's (tasks.owner_choices)
            fields["owner_id"] = _cli_user(session, owner_account).id
        if from_warning is not None:
            if title:
                fields["title"] = title
            task = create_task_from_warning(session, from_warning, user=who, via="cli", **fields)
            if task.county.code != county:
                raise TaskError(f"预警 {from_warning} 属于{task.county.name},不是县区 {county}")
        else:
            if not title:
                raise TaskError("请用 --title 填写任务名称")
            task = create_task(session, county, title=title, user=who, via="cli", **fields)
        console.print(f"已新建督办任务 {task.id}:{escape(task.title)}", highlight=False)


@tasks_app.command("status")
def tasks_status(
    task_id: int = typer.Argument(..., help="任务编号"),
    status: str = typer.Argument(..., help="新状态:open(未开始)、in_progress(进行中)、done(已完成)或 verified(已核验)"),
    note: Optional[str] = typer.Option(None, "--note", help="意见(退回或重新开启时必填)"),
    user: Optional[str] = USER_OPTION,
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """修改任务状态:未开始 → 进行中 → 已完成 → 已核验。"""
    from junheng.monitor.tasks import STATUS_LABELS, set_status

    with _tasks_session(workspace).session() as session:
        task = set_status(session, task_id, status, user=_cli_user(session, user), via="cli", note=note)
        console.print(f"任务 {task.id} 现为“{STATUS_LABELS[task.status]}”。", highlight=False)


@tasks_app.command("comment")
def tasks_comment(
    task_id: int = typer.Argument(..., help="任务编号"),
    text: str = typer.Argument(..., help="意见内容"),
    user: Optional[str] = USER_OPTION,
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """给任务添加意见。"""
    from junheng.monitor.tasks import add_comment

    with _tasks_session(workspace).session() as session:
        add_comment(session, task_id, text, user=_cli_user(session, user))
    console.print("已添加意见。")


@tasks_app.command("attach")
def tasks_attach(
    task_id: int = typer.Argument(..., help="任务编号"),
    file: Path = typer.Argument(..., help="佐证材料文件"),
    user: Optional[str] = USER_OPTION,
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """上传佐证材料(保存在工作区 uploads 文件夹,有大小上限)。"""
    from junheng.monitor.config import monitor_settings
    from junheng.monitor.tasks import TaskError, add_attachment

    settings = monitor_settings(workspace)
    if not file.is_file():
        raise TaskError(f"找不到文件 {file}")
    with _tasks_session(workspace).session() as session, open(file, "rb") as handle:
        attachment = add_attachment(session, settings.uploads, task_id, file.name, handle,
                                    user=_cli_user(session, user), via="cli",
                                    limit_bytes=settings.attachment_limit_bytes)
        console.print(f"已上传附件 {escape(attachment.filename)}({attachment.size} 字节)。", highlight=False)


@tasks_app.command("timeline")
def tasks_timeline(county: str = typer.Argument(..., help="县区代码"),
                   workspace: Optional[Path] = WORKSPACE_OPTION) -> None:
    """县区工作推进计划(时间、工作内容、责任单位、状态)。"""
    from junheng.monitor.tasks import county_timeline
    from junheng.monitor.terminal import print_timeline

    with _tasks_session(workspace).session() as session:
        print_timeline(console, county_timeline(session, county))


@tasks_app.command("plan")
def tasks_plan(county: str = typer.Argument(..., help="县区代码"),
               workspace: Optional[Path] = WORKSPACE_OPTION) -> None:
    """分年度任务与投资(万元,逐年合计)。"""
    from junheng.monitor.tasks import year_plan
    from junheng.monitor.terminal import print_year_plan

    with _tasks_session(workspace).session() as session:
        print_year_plan(console, year_plan(session, county))


# ---------------------------------------------------------------- notification subscriptions (junheng.monitor.notify)

notify_app = ChineseTyper(help="预警通知订阅:添加、列出、停用(电子邮件或群机器人 Webhook),查看发送记录。",
                         no_args_is_help=True)
app.add_typer(notify_app, name="notify")


@notify_app.command("subscribe")
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
    with _tasks_session(workspace).session() as session:
        user = _notify_user(session, username, NotifyError)
        sub = add_subscription(session, user, chosen, target, min_severity=min_severity, format=fmt,
                               county_code=county, kinds=kind or None, allowed_hosts=settings.webhook_hosts)
        row = subscription_json(session, sub)
    console.print(f"已为 {escape(username)} 添加通知订阅 {row['id']}:{row['channel_label']} {escape(row['target'])},"
                  f"{row['min_severity_label']}及以上,{escape(row['county_name'] or '全部可查看的县区')}。", highlight=False)


def _notify_user(session, username: str, error):
    from sqlalchemy import select

    from junheng.store.models import User

    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise error(f"没有用户 {username}(见 junheng users list)")
    return user


@notify_app.command("list")
def notify_list(
    user: Optional[str] = typer.Option(None, "--user", "-u", help="只列出该用户的订阅"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """列出通知订阅(Webhook 地址只显示主机,不显示密钥)。"""
    from rich.table import Table

    from junheng.monitor.notify import NotifyError, list_subscriptions, subscription_json

    with _tasks_session(workspace).session() as session:
        who = _notify_user(session, user, NotifyError) if user else None
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


@notify_app.command("unsubscribe")
def notify_unsubscribe(
    subscription_id: int = typer.Argument(..., help="订阅编号(见 junheng notify list)"),
    resume: bool = typer.Option(False, "--resume", help="恢复已停用的订阅"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """停用一个通知订阅(记录保留;--resume 恢复)。"""
    from junheng.monitor.config import monitor_settings
    from junheng.monitor.notify import set_subscription_active

    settings = monitor_settings(workspace)
    with _tasks_session(workspace).session() as session:
        set_subscription_active(session, subscription_id, resume, allowed_hosts=settings.webhook_hosts)
    console.print(f"已{'恢复' if resume else '停用'}通知订阅 {subscription_id}。", highlight=False)


@notify_app.command("log")
def notify_log(
    user: Optional[str] = typer.Option(None, "--user", "-u", help="只列出发给该用户的通知"),
    limit: int = typer.Option(30, "--limit", "-n", min=1, help="最多列出多少条"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """最近发送的通知摘要(已发送、发送失败、无法送达)。"""
    from rich.table import Table

    from junheng.monitor.notify import NotifyError, notification_log

    with _tasks_session(workspace).session() as session:
        who = _notify_user(session, user, NotifyError) if user else None
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
        table.add_row(_beijing(r["created_at"]), r["channel"], escape(r["target"]), escape(r["subject"]), escape(state))
    console.print(table)


def _beijing(iso: str) -> str:
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    when = datetime.fromisoformat(iso)
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC
    return when.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


def main() -> None:
    """Entry point: users see Chinese messages and an exit code, never a traceback."""
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except JunhengError as exc:
        err_console.print(f"[red]错误:[/]{escape(exc.user_message())}", highlight=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("已取消。")
        sys.exit(130)
    except Exception as exc:  # usage errors and anything unexpected
        if _is_usage_error(exc):
            print_usage_error(exc, err_console)
            sys.exit(exc.exit_code)
        if os.environ.get("JUNHENG_DEBUG"):
            raise
        log = Path(tempfile.gettempdir()) / "junheng-error.log"
        log.write_text(traceback.format_exc(), encoding="utf-8")
        err_console.print(
            f"[red]程序内部错误[/]:{type(exc).__name__}。这不是您的数据问题,请把 {log} 发给开发人员。",
            highlight=False,
        )
        sys.exit(3)


# ---------------------------------------------------------------------------------------------
# Reports (自评报告 and city summaries): thin wrappers over junheng.reports.api


class ReportFormat(str, Enum):
    docx = "docx"
    pdf = "pdf"
    html = "html"
    xlsx = "xlsx"


def _report_source(dataset: Optional[Path], store: bool, workspace: Optional[Path], standard: Optional[str]) -> bool:
    """True: the report is made from the workspace store (no DATASET, or --store)."""
    from junheng.reports.api import ReportError

    if dataset is not None and (store or workspace is not None):
        raise ReportError("请只指定一个数据来源:数据集(DATASET),或工作区(--store / --workspace),不能同时指定")
    if dataset is None and standard is not None:
        raise ReportError("从工作区生成报告时使用县区设定的适用标准(与网站一致),--standard 只能与数据集一起使用")
    return dataset is None


@app.command()
def report(
    dataset: Optional[Path] = typer.Argument(
        None, metavar="DATASET", help="数据集:CSV 文件夹或 XLSX 工作簿;不指定则用工作区中已审核的数据"),
    county: Optional[str] = typer.Option(None, "--county", "-c", help="县区代码;数据集(或工作区)只有一个县区时可省略"),
    year: Optional[int] = typer.Option(None, "--year", "-y", help="学年(开始年份);不指定则取该县区数据完整的最近一个学年"),
    standard: Optional[str] = typer.Option(
        None, "--standard", "-s", help="标准标识或标准文件;不指定则用县区名录中的适用标准,缺省为 national-2017"
    ),
    fmt: Optional[ReportFormat] = typer.Option(
        None, "--format", "-f", help="报告格式:docx(Word)、pdf、html、xlsx(全部表格);不指定则按输出文件扩展名,缺省 docx"
    ),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="输出文件;不指定则在当前文件夹按县区和学年命名"),
    store: bool = typer.Option(False, "--store", help="用工作区数据库中已审核的数据(与网站显示的评估相同)"),
    allow_incomplete: bool = typer.Option(
        False, "--allow-incomplete", help="数据不完整的学年也生成临时报告(首页注明数据不完整和缺少的学校)"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """生成县域义务教育优质均衡发展自评报告(Word、PDF、HTML 或 Excel)。"""
    if _report_source(dataset, store, workspace, standard):
        from junheng.reports.store import county_report_workspace

        path = county_report_workspace(workspace, county=county, year=year, fmt=fmt.value if fmt else None,
                                       out=out, say=_say, allow_incomplete=allow_incomplete)
        console.print(f"已生成自评报告:{escape(str(path))}", highlight=False, soft_wrap=True)
        return
    from junheng.reports.api import county_report_file

    path = county_report_file(dataset, county=county, year=year, standard=standard,
                              fmt=fmt.value if fmt else None, out=out, say=_say, allow_incomplete=allow_incomplete)
    console.print(f"已生成自评报告:{escape(str(path))}", highlight=False, soft_wrap=True)


@app.command("report-city")
def report_city(
    dataset: Optional[Path] = typer.Argument(
        None, metavar="DATASET", help="数据集:CSV 文件夹或 XLSX 工作簿(含多个县区);不指定则用工作区中已审核的数据"),
    city: Optional[str] = typer.Option(
        None, "--city", help="所属市(县区名录中的名称;工作区中为市或省的代码或名称);不指定则汇总全部县区"),
    year: Optional[int] = typer.Option(None, "--year", "-y", help="学年(开始年份);不指定则取最近一年"),
    standard: Optional[str] = typer.Option(None, "--standard", "-s", help="标准标识或标准文件(统一指定时使用)"),
    fmt: Optional[ReportFormat] = typer.Option(
        None, "--format", "-f", help="报告格式:docx、pdf、html、xlsx;不指定则按输出文件扩展名,缺省 docx"
    ),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="输出文件;不指定则在当前文件夹按市和学年命名"),
    store: bool = typer.Option(False, "--store", help="用工作区数据库中已审核的数据(与网站显示的评估相同)"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """生成市(或省)汇总报告:各县区结论、未达标指标、计划认定年份和进展。"""
    if _report_source(dataset, store, workspace, standard):
        from junheng.reports.store import city_report_workspace

        path = city_report_workspace(workspace, area=city, year=year, fmt=fmt.value if fmt else None, out=out,
                                     say=_say)
        console.print(f"已生成汇总报告:{escape(str(path))}", highlight=False, soft_wrap=True)
        return
    from junheng.reports.api import city_report_file

    path = city_report_file(dataset, year=year, city=city, standard=standard,
                            fmt=fmt.value if fmt else None, out=out, say=_say)
    console.print(f"已生成汇总报告:{escape(str(path))}", highlight=False, soft_wrap=True)


def _say(message: str) -> None:
    err_console.print(escape(message), highlight=False)


# ---------------------------------------------------------------- planning (junheng.planner)


class PlanMode(str, Enum):
    both = "both"
    build = "build"
    rotation = "rotation"


class TableOrJson(str, Enum):
    table = "table"
    json = "json"


@app.command()
def plan(
    dataset: Optional[Path] = typer.Argument(None, metavar="DATASET", help="数据集:CSV 文件夹或 XLSX 工作簿"),
    county: Optional[str] = typer.Option(None, "--county", "-c", help="县区代码;数据集只有一个县区时可不指定"),
    year: Optional[int] = typer.Option(None, "--year", "-y", help="学年(开始年份);不指定则用数据完整的最近一个学年"),
    budget: Optional[str] = typer.Option(
        None, "--budget", "-b", help="每年预算上限(元),如 5000000 或 500万;分年预算用逗号分隔,如 300万,400万,500万"),
    years: int = typer.Option(1, "--years", min=1, help="方案年限(分几年实施)"),
    mode: PlanMode = typer.Option(PlanMode.both, "--mode", "-m",
                                  help="rotation:只交流轮岗;build:只补充投入;both:先交流轮岗、再补充投入"),
    minimum: bool = typer.Option(False, "--minimum", help="按“7项中至少6项达标、其余不低于85%”的最低要求规划(默认7项全部达标)"),
    costs: Optional[Path] = typer.Option(None, "--costs", help="本县单价表(YAML);不指定则用示例单价"),
    standard: Optional[str] = typer.Option(None, "--standard", "-s", help="标准标识或标准文件"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="输出格式"),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="输出文件(.json 或 .xlsx;表格格式加 -o X.xlsx 同时写工作簿)"),
    save_scenario: Optional[str] = typer.Option(None, "--save-scenario", help="把方案保存为情景(名称)"),
    scenarios_dir: Path = typer.Option(Path("scenarios"), "--scenarios-dir", help="情景文件夹"),
    write_costs: Optional[Path] = typer.Option(None, "--write-costs", help="生成示例单价表(YAML)供修改,然后退出"),
    all_gaps: bool = typer.Option(False, "--all-gaps", help="表格中也列出接近达标线的项目"),
    allow_incomplete: bool = typer.Option(
        False, "--allow-incomplete", help="数据不完整的学年也制定临时方案(方案首行注明数据不完整)"),
) -> None:
    """缺什么补什么:交流轮岗和最低费用的达标方案,并经评估引擎核验。"""
    from junheng.planner.errors import PlannerError
    from junheng.planner.service import (
        check_output,
        plan_dataset_file,
        save_plan_as_scenario,
        write_costs_template,
        write_plan,
    )

    if write_costs is not None:
        console.print(f"已生成示例单价表:{escape(str(write_costs_template(write_costs)))}(请按本县实际单价修改)",
                      highlight=False)
        return
    if dataset is None:
        raise PlannerError("缺少参数:数据集(DATASET),应为 CSV 文件夹或 XLSX 工作簿。运行 junheng plan --help 查看用法。")
    check_output(fmt.value, out)
    result = plan_dataset_file(dataset, county=county, year=year, standard=standard, costs=costs, mode=mode.value,
                               minimum=minimum, budget=budget, years=years, console=err_console,
                               allow_incomplete=allow_incomplete)
    write_plan(result, fmt.value, out, console, all_gaps=all_gaps)
    if save_scenario:
        path = save_plan_as_scenario(result, save_scenario, scenarios_dir)
        err_console.print(f"已把方案保存为情景:{escape(str(path))}", highlight=False)


@app.command()
def scenario(
    dataset: Path = typer.Argument(..., help="数据集:CSV 文件夹或 XLSX 工作簿"),
    name: str = typer.Argument(..., metavar="SCENARIO", help="情景名称(情景文件夹中的 名称.yaml)或情景文件路径"),
    county: Optional[str] = typer.Option(None, "--county", "-c", help="县区代码;不指定则用情景中或数据集中唯一的县区"),
    year: Optional[int] = typer.Option(None, "--year", "-y", help="学年;不指定则用情景中的或最近一年"),
    scenarios_dir: Path = typer.Option(Path("scenarios"), "--scenarios-dir", help="情景文件夹"),
    save: bool = typer.Option(False, "--save", help="把情景文件保存到情景文件夹(按情景名称)"),
    standard: Optional[str] = typer.Option(None, "--standard", "-s", help="标准标识或标准文件"),
    fmt: TableOrJson = typer.Option(TableOrJson.table, "--format", "-f", help="输出格式"),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="JSON 输出文件"),
    changed_only: bool = typer.Option(False, "--changed-only", help="只列出有变化的项目"),
) -> None:
    """情景模拟:在某年数据上施加变更(新建、撤并学校,调整在校生,新增建设,执行方案),对比变更前后的评估结果。"""
    from junheng.planner.service import (
        check_scenario_output,
        scenario_for_file,
        write_scenario,
    )

    check_scenario_output(fmt.value, out)
    result = scenario_for_file(dataset, name, county=county, year=year, folder=scenarios_dir, standard=standard,
                               save=save)
    write_scenario(result, fmt.value, out, console, changed_only=changed_only)
    if save:
        err_console.print(f"已保存情景“{escape(result.scenario.name)}”到 {escape(str(scenarios_dir))}", highlight=False)

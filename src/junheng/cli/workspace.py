"""Commands on the workspace: create it (init), serve the web site, back it up and restore it."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from junheng.cli.chinese import ChineseTyper
from junheng.cli.common import WORKSPACE_OPTION, console, err_console
from junheng.errors import JunhengError

commands = ChineseTyper()  # top-level commands: junheng.cli adds them without a group name


@commands.command()
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


class ServeOnly(str, Enum):
    survey = "survey"


@commands.command()
def serve(
    workspace: Optional[Path] = WORKSPACE_OPTION,
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址"),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="端口"),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, max=64,
                                          help="工作进程数;缺省为本机的 CPU 核数(每个进程启动时先预热缓存,再开始接受访问)"),
    only: Optional[ServeOnly] = typer.Option(
        None, "--only", help="survey:只提供问卷调查页面(/s/…),不含登录、管理和接口,也不运行定时预警;可单独放在互联网上"),
) -> None:
    """启动网站(浏览器访问 http://地址:端口/)。"""
    import os
    from functools import partial

    from junheng.monitor.scheduler import start_scheduler
    from junheng.services import open_database
    from junheng.web import serving
    from junheng.web.app import create_app
    from junheng.workspace import resolve

    database, settings = open_database(workspace)
    workers = default_workers(workers)
    _check_port_free(host, port)  # before the scheduler starts: a taken port is a message, not uvicorn's traceback
    if only is ServeOnly.survey:  # the public survey pages alone (junheng.web.survey_app): no scheduler
        from junheng.web.survey_app import create_survey_app

        make, factory, scheduler = create_survey_app, "junheng.web.survey_app:create_survey_app_from_environment", None
        console.print(f"问卷调查服务已启动:http://{host}:{port}/s/调查链接码(只提供问卷页面;按 Ctrl+C 停止)",
                      highlight=False)
    else:
        make, factory = partial(create_app, warm=True), "junheng.web.app:create_app_from_environment"
        scheduler = start_scheduler(database, workspace)  # timed warnings (junheng.toml [monitor]), in this process only
        console.print(f"网站已启动:http://{host}:{port}/ (按 Ctrl+C 停止)", highlight=False)
    try:
        # Idle connections stay open 65 s (uvicorn's default is 5 s): a browser or client that
        # comes back after a few seconds' thought otherwise races the server closing its connection.
        options = {"host": host, "port": port, "log_level": "warning", "timeout_keep_alive": 65}
        if workers == 1:
            serving.run(make(settings, database), **options)
        else:  # worker processes import the app themselves, from the workspace named here
            os.environ["JUNHENG_WORKSPACE"] = str(resolve(workspace).root)
            serving.run(factory, factory=True, workers=workers, **options)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


class ServeError(JunhengError):
    pass


def default_workers(workers: int | None) -> int:
    """`--workers` as given, else one worker process per CPU core this process may run on. SQLite
    workspaces too: the store opens SQLite in WAL mode with a 30 s busy timeout
    (junheng.store.db), so several processes read at once and their writes wait for each other
    (on a local disk; SQLite's locking is not reliable on network file systems)."""
    import os

    if workers is not None:
        return workers
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 64))  # --workers allows at most 64


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


@commands.command()
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


@commands.command()
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

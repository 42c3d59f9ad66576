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

from junheng.errors import JunhengError

app = typer.Typer(
    help="均衡 junheng:县域义务教育优质均衡发展督导评估系统。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
standards_app = typer.Typer(help="查看评估标准。", no_args_is_help=True)
app.add_typer(standards_app, name="standards")
users_app = typer.Typer(help="管理用户(添加、列出、停用)。", no_args_is_help=True)
app.add_typer(users_app, name="users")

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
def standards_show(standard_id: str = typer.Argument(..., help="标准标识,如 national-2017,或标准文件路径")) -> None:
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
def template(out: Path = typer.Argument(..., help="要生成的空白填报模板(.xlsx)")) -> None:
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
) -> None:
    """生成合成示范县(或市/省)数据集并评估。数据为合成数据,仅供演示。"""
    from junheng.services import run_demo

    run_demo(workspace, counties=counties, seed=seed, console=console)


def _kinds(exc) -> set[str]:
    # Typer vendors its own click; match its exceptions by class name rather than import a private module.
    return {cls.__name__ for cls in type(exc).__mro__}


def _is_usage_error(exc) -> bool:
    return "ClickException" in _kinds(exc)


def usage_message(exc) -> str:
    """Usage errors in Chinese (the common ones; others keep the library's text)."""
    kinds = _kinds(exc)
    command = exc.ctx.command_path if getattr(exc, "ctx", None) else "junheng"
    hint = f"运行 {command} --help 查看用法。"
    param = getattr(exc, "param", None)
    name = (param.opts[0] if param is not None and param.opts and param.opts[0].startswith("-")
            else (param.name.upper() if param is not None else getattr(exc, "param_hint", "") or ""))
    if "MissingParameter" in kinds:
        return f"缺少参数 {name}。{hint}"
    if "NoSuchOption" in kinds:
        return f"没有选项 {exc.option_name}。{hint}"
    if "BadParameter" in kinds:
        return f"参数 {name} 的取值无效:{_translate(exc.message)}。{hint}"
    if "UsageError" in kinds:
        message = exc.message
        if message.startswith("No such command"):
            found = re.findall(r"'([^']+)'", message)
            guess = f"(是否要输入 {found[1]}?)" if len(found) > 1 else ""
            return f"没有命令 {found[0] if found else ''}{guess}。运行 junheng --help 查看全部命令。"
        if message.startswith("Got unexpected extra argument"):
            return f"多余的参数:{message.split('(')[-1].rstrip(')')}。{hint}"
        return f"命令用法有误:{message}。{hint}"
    return exc.format_message()


def _translate(message: str) -> str:
    choice = re.search(r"'([^']*)' is not one of (.*)\.", message)
    if choice:
        options = "、".join(re.findall(r"'([^']*)'", choice.group(2)))
        return f"“{choice.group(1)}”不是可选值;可选:{options}"
    bound = re.search(r"greater than or equal to (\S+)", message)
    if bound:
        return f"应不小于 {bound.group(1)}"
    if "valid integer" in message:
        return "应为整数"
    return message


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
    """添加用户并授予一个角色。"""
    from junheng.services import open_database
    from junheng.store.users import create_user, new_password

    database, _ = open_database(workspace)
    secret = password or new_password()
    with database.session() as session:
        create_user(session, username, secret, display_name=name, role=role, scope_code=scope)
    console.print(f"已添加用户 {escape(username)}。" + ("" if password else f"密码(只显示这一次):{escape(secret)}"),
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
            table.add_row(escape(user.username), escape(user.display_name), escape(grants), "正常" if user.active else "已停用")
    console.print(table)


@users_app.command("disable")
def users_disable(username: str = typer.Argument(..., help="用户名"), workspace: Optional[Path] = WORKSPACE_OPTION) -> None:
    """停用用户(立即退出其所有登录;记录保留)。"""
    from sqlalchemy import delete, select

    from junheng.services import open_database
    from junheng.store.models import User, WebSession
    from junheng.store.users import UserError

    database, _ = open_database(workspace)
    with database.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise UserError(f"没有用户 {username}")
        user.active = False
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    console.print(f"已停用用户 {escape(username)}。", highlight=False)


@app.command()
def serve(
    workspace: Optional[Path] = WORKSPACE_OPTION,
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址"),
    port: int = typer.Option(8000, "--port", help="端口"),
) -> None:
    """启动网站(浏览器访问 http://地址:端口/)。"""
    import uvicorn

    from junheng.services import open_database
    from junheng.web.app import create_app

    database, settings = open_database(workspace)
    console.print(f"网站已启动:http://{host}:{port}/ (按 Ctrl+C 停止)", highlight=False)
    uvicorn.run(create_app(settings, database), host=host, port=port, log_level="warning")


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
            err_console.print(f"[red]错误:[/]{escape(usage_message(exc))}", highlight=False)
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

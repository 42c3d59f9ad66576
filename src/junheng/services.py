"""Application services shared by the faces (the CLI and the web app): load → evaluate → write,
the demo, the workspace and its database; evaluations of stored data are junheng.store.evaluations'
(re-exported here for the faces)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from junheng.errors import JunhengError

if TYPE_CHECKING:  # annotations only: a county's evaluation imports the data layer when it loads
    from rich.console import Console

    from junheng.data.dataset import Dataset
    from junheng.engine.result import EvaluationResult

# Evaluations of stored data (junheng.store.evaluations) are re-exported for the faces, imported
# only when asked for: a dataset's evaluation from the command line never imports the store
# (SQLAlchemy and its models, about 0.3-0.6 s).
_FROM_EVALUATIONS = frozenset({"data_stamps", "evaluate_stored", "evaluate_stored_years", "stored_result", "year_progress"})


def __getattr__(name: str):
    if name in _FROM_EVALUATIONS:
        from junheng.store import evaluations

        return getattr(evaluations, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class OutputError(JunhengError):
    pass


@dataclass(frozen=True)
class BackendChoice:
    """Where the engine's table computations run (junheng.engine.backends): a backend name
    (None: JUNHENG_BACKEND, else duckdb) and its connection settings."""

    name: str | None = None
    database_url: str | None = None  # postgres: the store's URL (None: JUNHENG_DATABASE_URL)
    spark_url: str | None = None  # spark: a master URL or sc://… (None: local[2])


def evaluate_loaded(dataset: Dataset, *, county: str | None = None, year: int | None = None,
                    standard: str | None = None, console: Console | None = None,
                    backend: BackendChoice | None = None) -> list[EvaluationResult]:
    """Evaluate on the chosen backend, with a progress bar when several county-years are selected."""
    from junheng.engine.backends import open_backend
    from junheng.engine.evaluate import evaluate_dataset, select_pairs

    choice = backend or BackendChoice()
    total = len(select_pairs(dataset, county, year))
    with open_backend(choice.name, database_url=choice.database_url, spark_url=choice.spark_url) as engine:
        if total == 1 or console is None:
            return evaluate_dataset(dataset, county=county, year=year, standard=standard, backend=engine)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("评估中"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("evaluate", total=total)
            return evaluate_dataset(dataset, county=county, year=year, standard=standard, backend=engine,
                                    on_progress=lambda n: progress.advance(task, n))


def evaluate_dataset_file(path: Path, *, county: str | None = None, year: int | None = None,
                          standard: str | None = None, console: Console | None = None,
                          backend: BackendChoice | None = None) -> list[EvaluationResult]:
    from junheng.data.importer import load_dataset
    from junheng.engine.backends import backend_name

    if backend is not None:
        backend_name(backend.name)  # an unknown backend is refused before the dataset is read
    dataset = load_dataset(path)
    if console is not None:
        for warning in dataset.warnings:
            console.print(f"[yellow]提示:[/] {escape(warning)}", highlight=False)
    return evaluate_loaded(dataset, county=county, year=year, standard=standard, console=console, backend=backend)


def results_json(results: list[EvaluationResult], single: bool):
    """The contract object when one county-year was asked for (`single`), else a list of them,
    so a client knows the shape from its own request."""
    docs = [r.to_json() for r in results]
    return docs[0] if single and len(docs) == 1 else docs


def write_results(results: list[EvaluationResult], fmt: str, out: Path | None, console: Console,
                  single: bool = False) -> None:
    if fmt == "json":
        text = json.dumps(results_json(results, single), ensure_ascii=False, indent=2)
        if out is None:
            console.out(text, highlight=False)
            return
        _write_text(out, text)
        console.print(f"已写入评估结果(JSON):{escape(str(out))}", highlight=False)
    elif fmt == "xlsx":
        from junheng.reports.xlsx import write_results_xlsx

        if out is None:
            raise OutputError("输出为 xlsx 时请用 -o 指定文件名,例如 -o 评估结果.xlsx")
        if out.suffix.lower() != ".xlsx":
            raise OutputError(f"输出文件 {out} 应以 .xlsx 结尾")
        _ensure_parent(out)
        try:
            write_results_xlsx(results, out)
        except PermissionError:
            raise OutputError(f"无法写入 {out}:文件可能正被 Excel 打开,请关闭后重试") from None
        console.print(f"已写入评估结果工作簿:{escape(str(out))}", highlight=False)
    else:
        from junheng.reports.terminal import print_results

        print_results(console, results)


def _ensure_parent(out: Path) -> None:
    if not out.parent.exists():
        raise OutputError(f"输出文件夹 {out.parent} 不存在")


def _write_text(out: Path, text: str) -> None:
    _ensure_parent(out)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"无法写入 {out}:{exc.strerror}") from None


def run_demo(workspace: Path, *, counties: int, seed: int, console: Console,
             today: date | None = None, verbose: bool = False, reset_passwords: bool = False,
             host: str = "127.0.0.1", port: int = 8000) -> list[EvaluationResult]:
    """Generate a synthetic county (or region), write it as a dataset, evaluate it, load it into
    the workspace with one account per role, and print a short summary: the verdict, where the
    site is, the accounts, the next commands (the full result with `verbose`, and always in
    demo-result.json).

    The county is alive relative to `today` (Beijing time by default): three complete school
    years and the current one in progress (junheng.demo.synthetic.generate_county); the latest
    complete year is shown, and the year in progress as what it is. A region is one year, the
    latest complete one. A re-run keeps the accounts and their passwords (`reset_passwords`
    gives every demo account a new one); `host` and `port` are where `junheng serve` will listen."""
    from junheng.data.writer import write_dataset_csv
    from junheng.demo.synthetic import generate_county, generate_region
    from junheng.reports.terminal import print_results
    from junheng.schoolyear import current_school_year

    workspace.mkdir(parents=True, exist_ok=True)
    folder = workspace / "demo-data"
    if counties == 1:
        dataset = generate_county(seed, today=today)
    else:
        dataset = generate_region(counties, seed, year=current_school_year(today) - 1)
    write_dataset_csv(dataset, folder)
    console.print(f"[magenta]已生成合成示范数据(仅供演示,不代表任何真实县区):{escape(str(folder))}[/]", highlight=False)
    # Evaluate what was written, through the same import and validation a county's data goes through.
    results = evaluate_dataset_file(folder, console=console)
    latest = max(r.year for r in ([r for r in results if r.complete] or results))
    shown = [r for r in results if r.year == latest] if counties == 1 else results
    if verbose:
        print_results(console, shown)
    out = workspace / "demo-result.json"
    out.write_text(json.dumps(results_json(shown, single=counties == 1), ensure_ascii=False, indent=2), encoding="utf-8")
    loaded = load_demo_into_store(workspace, dataset, console, today=today, reset_passwords=reset_passwords)

    def say(text: str) -> None:  # one line each, whatever the terminal's width (rich would cut Chinese lines)
        console.print(text, highlight=False, soft_wrap=True)

    for line in demo_verdict_lines(shown):
        say(line)
    for year, coverage in loaded.progress.in_progress:
        say(year_in_progress_line(year, coverage))
    say(f"预警巡检:当前未解除的预警 {loaded.open_warnings} 条(网站“预警”页面;定时巡检见 junheng.toml 的 {escape('[monitor]')})")
    again = f"junheng evaluate {folder}" + (f" --county {shown[0].county_code} --year {latest}" if counties == 1 else "")
    say(f"完整评估结果:{escape(str(out))}(JSON);在终端查看:{escape(again)},或 junheng demo --verbose")
    pdf = pdf_hint()
    if pdf:
        say(f"[yellow]提示:[/]{escape(pdf)}")
    print_demo_accounts(console, loaded.accounts)
    ws = escape(str(workspace))
    say(f"[bold]网站:http://{escape(host)}:{port}/[/](make demo 随后自动启动;换端口:make demo PORT=8001)")
    say("下一步:")
    steps = [
        (f"junheng serve --workspace {ws} --host {escape(host)} --port {port}", "启动网站,用上面的账号登录"),
        (f"junheng report -w {ws} -f docx", "生成县域自评报告(Word;-f pdf 需 LibreOffice)"),
        (f"junheng watch -w {ws}", "运行一次预警巡检"),
        (f"junheng demo --workspace {ws} --reset-passwords", "忘记密码时:重新生成全部示范账号的密码"),
    ]
    width = max(len(command) for command, _ in steps)
    for command, what in steps:
        say(f"  {command.ljust(width)}  {what}")
    return results


def demo_verdict_lines(shown: list[EvaluationResult]) -> list[str]:
    """The verdict in one or two lines: the county's (its latest complete year), or a region's count."""
    from junheng.schoolyear import label

    if len(shown) == 1:
        r = shown[0]
        lines = [f"评估结论:{r.verdict_label}({escape(r.county_name)},{label(r.year)},{escape(r.standard_name)})"]
        failing = r.failing_items()
        if failing:
            lines.append("未达标指标:" + "、".join(failing))
        return lines
    counts: dict[str, int] = {}
    for r in shown:
        counts[r.verdict_label] = counts.get(r.verdict_label, 0) + 1
    return [f"评估结论({len(shown)} 个县区,{label(shown[0].year)}):"
            + "、".join(f"{verdict} {n} 个" for verdict, n in counts.items())]


def pdf_hint() -> str | None:
    """How to enable PDF reports, when this machine cannot make them (no LibreOffice)."""
    from junheng.reports.pdf import find_soffice

    if find_soffice() is not None:
        return None
    return ("本机未找到 LibreOffice,暂不能生成 PDF 报告(Word、Excel 和在线查看不受影响)。"
            "启用 PDF:运行 bash scripts/install-system-deps.sh(安装 LibreOffice 和中文字体,需要管理员权限)。")


def print_demo_accounts(console: Console, accounts: list[DemoAccount]) -> None:
    """The demo's accounts: new or reset passwords shown once; kept ones said to be unchanged."""
    from rich.table import Table

    shown = [a for a in accounts if a.password]
    if not shown:
        title = "示范账号(已存在,密码未改变)"
    elif len(shown) == len(accounts) and all(a.state == "reset" for a in accounts):
        title = "示范账号:已重新生成全部密码(只显示这一次;原有登录已退出)"
    else:
        title = "示范账号(新密码只显示这一次,请妥善保存)"
    table = Table(title=title, title_justify="left")
    for col in ("用户名", "角色", "范围", "密码"):
        table.add_column(col)
    for account in accounts:
        table.add_row(escape(account.username), escape(account.label), escape(account.scope),
                      escape(account.password) if account.password else "(未改变,沿用原密码)")
    console.print(table)


# ---------------------------------------------------------------- the store (web app, API)

def open_database(workspace_path: Path | None, *, migrate: bool = True):
    """The workspace's database, migrated to the newest schema (junheng.store.db.open_workspace_database)."""
    from junheng.store.db import open_workspace_database

    return open_workspace_database(workspace_path, migrate=migrate)


def init_workspace(workspace_path: Path | None, *, admin: str, password: str | None,
                   database_url: str | None = None) -> tuple[Path, str | None]:
    """Create (or complete) a workspace with its first admin; returns the generated password."""
    from sqlalchemy import select

    from junheng.store.models import User
    from junheng.store.users import create_user, new_password
    from junheng.workspace import resolve

    workspace = resolve(workspace_path)
    workspace.create(database_url)
    database, _ = open_database(workspace.root)
    generated = None
    with database.session() as session:
        if session.scalar(select(User).where(User.username == admin)) is None:
            generated = None if password else new_password(admin)
            # a generated password was shown on a terminal: the administrator chooses their own at the first login
            create_user(session, admin, password or generated, display_name="系统管理员", role="admin",
                        must_change_password=generated is not None)
    return workspace.root, generated


DEMO_USERS = (  # username, role, scope (None: the demo county / its first school / its city)
    ("admin", "admin", None, "系统管理员"),
    ("supervisor", "supervisor", "city", "市督导(示范)"),
    ("county", "county_admin", "county", "县教体局管理员(示范)"),
    ("school", "school_filler", "school", "学校填报员(示范)"),
    ("viewer", "viewer", "county", "只读用户(示范)"),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    label: str
    scope: str
    state: str  # "new", "reset" or "kept"
    password: str | None  # shown once: None when kept


@dataclass(frozen=True)
class DemoLoad:
    progress: object  # repo.YearProgress of the (first) county
    accounts: list[DemoAccount]
    open_warnings: int


DEMO_NOTE = "示范数据(合成)"


def year_in_progress_line(year: int, coverage) -> str:
    """"2026—2027 学年填报中:已审核 16/78 所(已提交 9 所、草稿 6 所、未填报 47 所;县级年度数据未填报)"."""
    from junheng.schoolyear import label
    from junheng.store.repo import STATE_LABELS

    order = ("submitted", "returned", "draft")  # nearest to approval first
    pending = sorted(coverage.not_approved.items(), key=lambda item: order.index(item[0]) if item[0] in order else 9)
    rest = [f"{STATE_LABELS.get(state, state)} {n} 所" for state, n in pending if n]
    if coverage.schools_without_data:
        rest.append(f"未填报 {coverage.schools_without_data} 所")
    notes = "、".join(rest)
    if not coverage.county_year:
        status = coverage.county_year_status
        county = "县级年度数据" + ("未填报" if status is None else f"未审核({STATE_LABELS.get(status, status)})")
        notes = f"{notes};{county}" if notes else county
    return (f"{label(year)}填报中:已审核 {coverage.fraction()} 所" + (f"({notes})" if notes else "")
            + ",数据完整前不作为全县结论")


def load_demo_into_store(workspace: Path, dataset: Dataset, console: Console, *, today: date | None = None,
                         reset_passwords: bool = False) -> DemoLoad:
    """Store the demo data with one user per role. A user who exists keeps their password (a
    re-run replaces nothing silently) unless `reset_passwords`: then every demo account gets a
    new one, its logins end and its tokens are revoked (store.users.set_password), in the audit
    log. The new passwords are returned once (DemoLoad.accounts), for the caller to print.

    The years before the current school year (of `today`, Beijing time by default) are stored
    approved, as a county's finished years are, so the dashboard shows a verdict. The rows of
    the current year stand as a county's do in its autumn (junheng.demo.synthetic.
    in_progress_states): some approved, some submitted, the others drafts; schools without a
    row have not started. Every state goes through the workflow (repo.transition), so the
    audit log reads as the year's history. Returns the first county's YearProgress, the
    accounts and the number of open warnings."""
    from dataclasses import replace

    from sqlalchemy import select

    from junheng.demo.synthetic import in_progress_states
    from junheng.schoolyear import current_school_year
    from junheng.store import repo
    from junheng.store.admin import user_county_id
    from junheng.store.models import AuditEntry, OrgNode, School, SchoolYear, User
    from junheng.store.users import create_user, new_password, set_password

    current = current_school_year(today)

    def years(frame, done: bool):
        return frame[(frame["year"] < current) == done].reset_index(drop=True)

    finished = replace(dataset, **{t: years(dataset.table(t), True) for t in ("school_year", "county_year", "quality")})
    filling = replace(dataset, **{t: years(dataset.table(t), False) for t in ("school_year", "county_year", "quality")})
    _, admin_password = init_workspace(workspace, admin="admin", password=None)  # a password when it made the admin
    database, _ = open_database(workspace, migrate=False)
    with database.session() as session:
        repo.import_dataset(session, finished, user=None, via="cli", note=DEMO_NOTE, status="approved")
        if len(filling.school_year) or len(filling.county_year):
            repo.import_dataset(session, filling, user=None, via="cli", note=DEMO_NOTE)  # new rows are drafts
            sy = filling.school_year
            for year in sorted(set(sy["year"].astype(int))):
                states = in_progress_states(sy.loc[sy["year"] == year, "school_id"], year)
                rows = session.execute(
                    select(School.code, SchoolYear).join(SchoolYear, SchoolYear.school_id == School.id)
                    .where(School.code.in_(list(states)), SchoolYear.year == year)).all()
                for code, row in sorted(rows, key=lambda r: r[0]):
                    if row.status != "draft" or states[code] == "draft":
                        continue  # a re-run leaves the workflow where it stands
                    repo.transition(session, row, "submit", user=None, via="cli", note=DEMO_NOTE)
                    if states[code] == "approved":
                        repo.transition(session, row, "approve", user=None, via="cli", note=DEMO_NOTE)
    with database.session() as session:
        county_code = dataset.schools["county_code"].iloc[0]
        county = repo.county_by_code(session, county_code)
        school = session.scalars(select(School).where(School.county_id == county.id).order_by(School.code)).first()
        city = session.get(OrgNode, county.parent_id) if county.parent_id else county
        scopes = {"county": county.code, "school": school.code, "city": city.code}
        accounts = []
        for username, role, scope, label in DEMO_USERS:
            user = session.scalar(select(User).where(User.username == username))
            where = scopes[scope] if scope else None
            if user is None:
                password, state = new_password(username), "new"
                user = create_user(session, username, password, display_name=label, role=role, scope_code=where)
            elif username == "admin" and admin_password:
                password, state = admin_password, "new"  # made just now by init_workspace
            elif reset_passwords:
                password, state = new_password(username), "reset"
                revoked = set_password(session, user, password, must_change=False)
                session.add(AuditEntry(user_id=None, via="cli", entity="user", entity_key=username,
                                       county_id=user_county_id(user), field="password", old=None, new=None,
                                       note="密码已重置(junheng demo --reset-passwords)"
                                       + (f";已撤销其 API 令牌 {revoked} 个" if revoked else "")))
            else:
                password, state = None, "kept"
            if password is not None:
                user.must_change_password = False  # the demo's accounts log straight in (its admin too, made by init)
            accounts.append(DemoAccount(username, label, where or "全部", state, password))
    # one warning run, as the server's schedule would do, so the warning pages have something to show
    from junheng.monitor.config import monitor_settings
    from junheng.monitor.service import run_watch

    report = run_watch(database, monitor_settings(workspace), notify=False)
    with database.session() as session:
        progress = repo.year_progress(session, repo.county_by_code(session, str(dataset.schools["county_code"].iloc[0])))
    return DemoLoad(progress=progress, accounts=accounts, open_warnings=report.totals()["open"])

"""`junheng survey`: the social recognition survey (社会认可度) — questionnaires, import and scoring of a
survey platform's export, and (other sections of this module) the sampling plan and the surveys of a
workspace. Each command is its own function; heavy imports happen inside them."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from junheng.cli.chinese import ChineseTyper
from junheng.cli.common import USER_OPTION, WORKSPACE_OPTION, console, emit

group = ChineseTyper(help="社会认可度问卷调查:问卷、抽样方案、导入问卷星数据、计算认可度。", no_args_is_help=True)


# ---------------------------------------------------------------- questionnaires and scoring (helper B)


class ScoreFormat(str, Enum):  # as the other commands name them (OutputFormat): table or json
    table = "table"
    json = "json"


@group.command("questionnaire")
def survey_questionnaire(
    out: Path = typer.Option(..., "--out", help="写入缺省问卷文件(society.yaml、staff.yaml、students.yaml)的文件夹"),
    force: bool = typer.Option(False, "--force", help="覆盖文件夹中已有的同名文件"),
) -> None:
    """写出缺省问卷(社会、校长教师、学生三份 YAML 文件),供县区复制修改。"""
    from junheng.survey.questionnaire import write_defaults

    written = write_defaults(out, overwrite=force)
    for path in written:
        console.print(f"已写出问卷:{escape(str(path))}", highlight=False)
    console.print("修改题目后请同时修改文件中的 version(版本);每次调查保存所用问卷的完整内容。", highlight=False)


@group.command("score")
def survey_score(
    export: Path = typer.Argument(..., help="问卷星导出的答卷数据(“按选项文本”的 .xlsx 或 .csv)"),
    mapping: Path = typer.Option(..., "--mapping", "-m", help="对照文件(YAML):身份题、计分题等所在的列"),
    settings: Optional[Path] = typer.Option(None, "--settings", "-s", help="县区的调查设置文件(YAML);缺省用内置设置"),
    fmt: ScoreFormat = typer.Option(ScoreFormat.table, "--format", "-f", help="输出格式:table(表格)或 json"),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="输出文件;不指定则打印到屏幕"),
) -> None:
    """从问卷星导出的答卷计算社会认可度:质量检查、总体与各类人员、各题的认可度及置信区间。"""
    from junheng.survey.checks import exclusions
    from junheng.survey.exports import load_mapping, read_export, score_report
    from junheng.survey.privacy import run_key
    from junheng.survey.settings import load_settings

    survey_settings = load_settings(settings)
    columns = load_mapping(mapping)
    imported = read_export(export, columns, survey_settings, key=run_key())  # hashes mean nothing after this run
    found = exclusions(imported, survey_settings)
    result = imported.score(survey_settings, found)
    report = score_report(imported, result, found)
    if fmt is ScoreFormat.json:
        emit(out, data=report)
    else:
        emit(out, render=lambda to: _print_score(to, report), width=140)


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _interval(rate: dict) -> str:
    if rate.get("ci_low") is None:
        return "—"
    return f"{_percent(rate['ci_low'])}–{_percent(rate['ci_high'])}"


def _print_score(out, report: dict) -> None:
    """The score as Chinese tables: overall with interval, groups, items weakest first, exclusions."""
    from rich.table import Table
    from rich.text import Text

    from junheng.survey.groups import group_label

    overall, level = report["overall"], f"{report['confidence'] * 100:g}%"
    counts = report["counts"]
    out.print(Text(f"社会认可度:{report['file']}", style="bold"))
    how = "按固定权重合并各类人员的认可度" if report["weighted"] else "合并全部有效答卷"
    out.print(Text(f"总体认可度 {_percent(overall['rate'])}({level} 置信区间 {_interval(overall)});{how}。"))
    out.print(Text(f"答卷 {counts['rows']:,} 份,有效 {counts['valid']:,} 份,排除 {counts['excluded']:,} 份;"
                   f"计入的回答 {overall['answers']:,} 个(“{'、'.join(report['scale']['excluded']) or '无'}”"
                   "和空白不计入)。"))

    groups = Table(title="各类人员", title_justify="left")
    for name, justify in (("类别", "left"), ("认可度", "right"), (f"{level} 置信区间", "right"),
                          ("有效答卷", "right"), ("计入的回答", "right")):
        groups.add_column(name, justify=justify)
    for key, rate in report["groups"].items():
        weight = (report.get("weights") or {}).get(key)
        label = group_label(key) + (f"(权重 {weight:.2f})" if weight is not None else "")
        groups.add_row(Text(label), _percent(rate["rate"]), _interval(rate), f"{rate['respondents']:,}",
                       f"{rate['answers']:,}")
    out.print(groups)

    items = Table(title="各题(认可度由低到高)", title_justify="left")
    for name, justify in (("题目", "left"), ("认可度", "right"), (f"{level} 置信区间", "right"), ("计入的回答", "right")):
        items.add_column(name, justify=justify)
    details = report["item_details"]
    for item in sorted(details, key=lambda i: (details[i]["rate"] is None, details[i]["rate"] or 0)):
        rate = details[item]
        items.add_row(Text(item), _percent(rate["rate"]), _interval(rate), f"{rate['answers']:,}")
    out.print(items)

    if report["schools"]:
        schools = Table(title="各学校(认可度由低到高)", title_justify="left")
        for name, justify in (("学校", "left"), ("认可度", "right"), (f"{level} 置信区间", "right"),
                              ("有效答卷", "right")):
            schools.add_column(name, justify=justify)
        found = report["schools"]
        for school in sorted(found, key=lambda s: (found[s]["rate"] is None, found[s]["rate"] or 0)):
            rate = found[school]
            schools.add_row(Text(school), _percent(rate["rate"]), _interval(rate), f"{rate['respondents']:,}")
        out.print(schools)

    for title, rows in (("排除的答卷", report["excluded"]), ("标记但仍计入的答卷", report["flagged"])):
        if not rows:
            continue
        table = Table(title=f"{title}({len(rows):,} 份)", title_justify="left")
        table.add_column("序号", justify="right")
        table.add_column("原因", justify="left")
        for row in rows[:MAX_SHOWN]:
            table.add_row(str(row["row"]), Text(row["reason"]))
        out.print(table)
        if len(rows) > MAX_SHOWN:
            out.print(Text(f"另有 {len(rows) - MAX_SHOWN:,} 份未显示;全部列表见 --format json。"))
    if not report["excluded"] and not report["flagged"]:
        out.print(Text("质量检查:没有排除或标记的答卷。"))


MAX_SHOWN = 200  # exclusions shown in the text format (JSON lists every one)


# ---------------------------------------------------------------- the sampling plan (helper C)


@group.command("plan")
def survey_plan(
    county: str = typer.Option(..., "--county", "-c", help="县区代码"),
    out: Path = typer.Option(..., "--output", "-o", help="输出文件:.xlsx(Excel)、.pdf、.docx(Word)或 .json"),
    year: Optional[int] = typer.Option(None, "--year", "-y", min=1900, max=2200,
                                       help="学年(开始年份),按该学年的在校生数分配;不指定则取数据完整的最近学年"),
    workspace: Optional[Path] = typer.Option(None, "--workspace", "-w",
                                             help="工作区文件夹(用其中已审核的数据);与 --dataset 二选一,缺省为工作区"),
    dataset: Optional[Path] = typer.Option(None, "--dataset", "-d", help="数据集:CSV 文件夹或 XLSX 工作簿"),
    population: Optional[int] = typer.Option(None, "--population", min=1, max=100_000_000,
                                             help="常住人口(人);不指定则用县区名录中的“常住人口”"),
    settings: Optional[Path] = typer.Option(None, "--settings", "-s", help="县区的调查设置文件(YAML);缺省用内置设置"),
    locale_shares: Optional[str] = typer.Option(
        None, "--locale-shares", help="常住人口的城乡比例,如 urban=0.3,town=0.3,rural=0.4;不指定则以在校生的城乡分布代替"),
) -> None:
    """生成社会认可度调查的抽样方案:样本总量、各类人员名额、各学校名额(可打印,每校一页)。"""
    from junheng.cli.common import err_console
    from junheng.schoolyear import label
    from junheng.reports.pdf import docx_to_pdf
    from junheng.survey.plan_files import FORMAT_NAMES, plan_bytes, plan_format
    from junheng.survey.sampling import SamplingError, parse_locale_shares, plan_from_dataset
    from junheng.survey.settings import load_settings

    fmt = plan_format(out)
    if dataset is not None and workspace is not None:
        raise SamplingError("请只指定一个数据来源:数据集(--dataset)或工作区(--workspace),不能同时指定")
    if not out.parent.exists():
        raise SamplingError(f"输出文件夹 {out.parent} 不存在")
    survey_settings = load_settings(settings)
    shares = parse_locale_shares(locale_shares) if locale_shares is not None else None
    if dataset is not None:
        from junheng.data.importer import load_dataset

        err_console.print(f"正在读取数据集 {escape(str(dataset))}……", highlight=False)
        plan = plan_from_dataset(load_dataset(dataset), county, year=year, population=population,
                                 settings=survey_settings, locale_shares=shares)
    else:
        plan = _plan_from_workspace(workspace, county, year, population, survey_settings, shares)
    err_console.print(f"正在生成抽样方案({FORMAT_NAMES[fmt]}):{escape(plan.county_name)}({escape(plan.county_code)})"
                      f"{label(plan.year)},常住人口 {plan.population} 人,学校 {len(plan.schools)} 所"
                      + ("(PDF 由 LibreOffice 转换,约需数秒)" if fmt == "pdf" else ""), highlight=False)
    data = plan_bytes(plan, fmt, to_pdf=docx_to_pdf)
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise SamplingError(f"无法写入 {out}:{exc.strerror}(文件可能正被其他程序打开)") from None
    console.print(f"已生成抽样方案:{escape(str(out))}(样本 {plan.total} 人,其中家长 {plan.groups['parents']} 人;"
                  f"学校 {len(plan.schools)} 所)", highlight=False, soft_wrap=True)


def _plan_from_workspace(workspace, county, year, population, survey_settings, shares):
    """The plan from the workspace's approved data (the store's own coverage picks the default year)."""
    from junheng.services import open_database
    from junheng.store import repo
    from junheng.survey.sampling import plan_from_dataset

    database, _ = open_database(workspace)
    try:
        with database.session() as session:
            node = repo.county_by_code(session, county)
            stored = repo.load_dataset(session, [node.code])
            return plan_from_dataset(stored, node.code, year=year, population=population,
                                     settings=survey_settings, locale_shares=shares)
    finally:
        database.engine.dispose()


# ---------------------------------------------------------------- surveys of a workspace: collection (helper D)

MAX_PLAN_BYTES = 20 * 1024 * 1024


def _acting_user(session, username, survey=None, *, county_code: str | None = None):
    """The user `--user` names, who must manage the county of the survey (or of `county_code`): the
    same grant rule as the web pages (junheng.store.users.Access). None without `--user` (the
    workspace's operator)."""
    from junheng.cli.common import user_named
    from junheng.store import repo
    from junheng.store.users import Access
    from junheng.survey import collection

    if not username:
        return None
    acting = user_named(session, username)
    county = collection.county_of(session, survey) if survey is not None else repo.county_by_code(session, county_code)
    if not Access.of(session, acting).can_manage_county(county):
        raise collection.SurveyError(f"用户 {username} 没有管理{county.name}({county.code})的权限,"
                                     "不能以该用户名义操作这次调查")
    return acting


def _read_plan(path: Path) -> dict:
    import json

    from junheng.survey.collection import SurveyError

    try:
        size = path.stat().st_size
        if size > MAX_PLAN_BYTES:
            raise SurveyError(f"抽样方案文件 {path} 太大:不能超过 {MAX_PLAN_BYTES // 1024 // 1024} MB")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SurveyError(f"无法读取抽样方案文件 {path}({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SurveyError(f"抽样方案文件 {path} 不是 JSON:请用 junheng survey plan -o 方案.json 生成") from None
    if not isinstance(data, dict):
        raise SurveyError(f"抽样方案文件 {path} 格式有误:应为 junheng survey plan 生成的 JSON 对象")
    return data


def _questionnaires_from(folder: Optional[Path]) -> dict:
    from junheng.survey.collection import SurveyError
    from junheng.survey.questionnaire import default_questionnaires, load_questionnaire

    if folder is None:
        return default_questionnaires()
    if not folder.is_dir():
        raise SurveyError(f"问卷文件夹 {folder} 不存在(可用 junheng survey questionnaire --out 文件夹 写出缺省问卷)")
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])[:50]
    if not files:
        raise SurveyError(f"问卷文件夹 {folder} 中没有问卷文件(.yaml)")
    found = {}
    for path in files:
        q = load_questionnaire(path)
        if q.id in found:
            raise SurveyError(f"问卷标识 {q.id} 重复:{path} 与另一个文件相同")
        found[q.id] = q
    return found


@group.command("create")
def survey_create(
    county: str = typer.Option(..., "--county", "-c", help="县区代码"),
    year: int = typer.Option(..., "--year", "-y", min=1990, max=2100, help="学年(开始年份)"),
    questionnaires: Optional[Path] = typer.Option(None, "--questionnaires", "-q",
                                                  help="问卷文件夹(YAML);缺省用内置的三份问卷"),
    settings: Optional[Path] = typer.Option(None, "--settings", "-s", help="县区的调查设置文件(YAML);缺省用内置设置"),
    plan: Optional[Path] = typer.Option(None, "--plan", "-p", help="抽样方案(junheng survey plan -o 方案.json 生成):按其名额建立配额"),
    title: Optional[str] = typer.Option(None, "--title", "-t", help="调查标题;缺省为“县区+年度+社会认可度调查”"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
    user: Optional[str] = USER_OPTION,
) -> None:
    """在工作区创建一次问卷调查(保存所用问卷和设置的完整内容),按抽样方案建立各类人员、各学校的名额。"""
    from junheng.services import open_database
    from junheng.survey import collection
    from junheng.survey.settings import load_settings

    frozen = _questionnaires_from(questionnaires)
    survey_settings = load_settings(settings)
    plan_data = _read_plan(plan) if plan is not None else None
    rows = collection.quota_rows_from_plan(plan_data) if plan_data is not None else []
    database, _ = open_database(workspace)
    with database.session() as session:
        acting = _acting_user(session, user, county_code=county)
        survey = collection.create_survey(session, county, year, title=title or "", questionnaires=frozen,
                                          settings=survey_settings, user=acting, via="cli", plan=plan_data)
        quotas = collection.set_quotas(session, survey, rows) if rows else []
        survey_id, survey_title, size = survey.id, survey.title, sum(q.size for q in quotas)
    console.print(f"已创建调查 {survey_id}:{escape(survey_title)}(未开放;问卷 {len(frozen)} 份,"
                  f"名额 {len(quotas)} 个,共 {size} 人)。", highlight=False, soft_wrap=True)
    if not quotas:
        console.print("未指定抽样方案(--plan):调查没有名额,不能生成访问码。", highlight=False)
    else:
        console.print(f"下一步:junheng survey codes {survey_id} -o 访问码.pdf --base-url https://调查网站地址 ,"
                      f"然后 junheng survey open {survey_id}", highlight=False, soft_wrap=True)


@group.command("open")
def survey_open(
    survey_id: int = typer.Argument(..., min=1, max=2**31 - 1, metavar="SURVEY_ID", help="调查编号(见 junheng survey status)"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
    user: Optional[str] = USER_OPTION,
) -> None:
    """开放调查:持访问码的人员可以开始作答(记入审计日志)。"""
    from junheng.services import open_database
    from junheng.survey import collection

    database, _ = open_database(workspace)
    with database.session() as session:
        survey = collection.survey_by_id(session, survey_id)
        changed = collection.open_survey(session, survey, user=_acting_user(session, user, survey), via="cli")
        survey_title, key = survey.title, survey.public_key
    console.print((f"已开放调查 {survey_id}:{escape(survey_title)}。" if changed else
                   f"调查 {survey_id} 已在进行中,未改变。") + f"调查页面:/s/{key}", highlight=False, soft_wrap=True)


@group.command("close")
def survey_close(
    survey_id: int = typer.Argument(..., min=1, max=2**31 - 1, metavar="SURVEY_ID", help="调查编号(见 junheng survey status)"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
    user: Optional[str] = USER_OPTION,
) -> None:
    """结束调查:不再接受作答和提交(已提交的答卷保留;记入审计日志)。"""
    from junheng.services import open_database
    from junheng.survey import collection

    database, _ = open_database(workspace)
    with database.session() as session:
        survey = collection.survey_by_id(session, survey_id)
        changed = collection.close_survey(session, survey, user=_acting_user(session, user, survey), via="cli")
        survey_title, status = survey.title, survey.status
    console.print(f"已结束调查 {survey_id}:{escape(survey_title)}。" if changed else
                  f"调查 {survey_id} {collection.STATUS_LABELS.get(status, status)},未改变。", highlight=False)


def _base_url(value: str) -> str:
    from urllib.parse import urlsplit

    from junheng.survey.collection import SurveyError

    value = (value or "").strip()
    parts = urlsplit(value)
    if len(value) > 200 or parts.scheme not in ("http", "https") or not parts.netloc or parts.query \
            or parts.fragment or any(ch.isspace() or ord(ch) < 0x20 for ch in value):
        raise SurveyError(f"--base-url“{value[:200]}”无效:应为问卷网站对外的地址,如 https://survey.example.gov.cn"
                          "(以 http:// 或 https:// 开头,不含空格和 ? #)")
    return value.rstrip("/")


@group.command("codes")
def survey_codes(
    survey_id: int = typer.Argument(..., min=1, max=2**31 - 1, metavar="SURVEY_ID", help="调查编号(见 junheng survey status)"),
    out: Path = typer.Option(..., "--output", "-o", help="访问码单:.pdf、.docx(每个名额一页,带二维码)或 .xlsx"),
    base_url: str = typer.Option(..., "--base-url", help="问卷网站对外的地址,如 https://survey.example.gov.cn(印在二维码中)"),
    extra: int = typer.Option(0, "--extra", min=0, max=100_000, help="每个名额另外补发的访问码数(如访问码单丢失)"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """生成一次性访问码并打印访问码单:每个名额(人员类别 × 学校)一页,每个访问码带链接和二维码,另有调查海报二维码。访问码只显示在这份文件中(数据库只保存其加密散列)。"""
    from junheng.services import open_database
    from junheng.survey import codes as code_tools
    from junheng.survey import collection
    from junheng.survey.groups import group_label

    link_base = _base_url(base_url)
    suffix = out.suffix.lower().lstrip(".")
    if suffix not in code_tools.SHEET_FORMATS:
        raise collection.SurveyError(f"不支持的文件类型“{out.suffix or '(无)'}”:访问码单可存为 .pdf、.docx 或 .xlsx")
    if not out.parent.exists():
        raise collection.SurveyError(f"输出文件夹 {out.parent} 不存在")
    if out.exists():
        raise collection.SurveyError(f"文件 {out} 已存在:访问码单含只显示一次的访问码,不覆盖已有文件,请换一个文件名")
    to_pdf = None
    if suffix == "pdf":
        from junheng.reports.pdf import docx_to_pdf as to_pdf
    database, settings = open_database(workspace)
    with database.session() as session:  # the codes are kept only if their sheet is written
        survey = collection.survey_by_id(session, survey_id)
        issued = collection.issue_codes(session, survey, secret=settings.secret_key, extra=extra)
        if not issued:
            raise collection.SurveyError(f"调查 {survey_id} 的每个名额都已生成访问码:如需补发,加 --extra 份数")
        sections: dict[int, list] = {}
        titles = {}
        for quota, code in issued:
            titles[quota.id] = collection.quota_title(quota)
            school = quota.school.name if quota.school is not None else "全县"
            sections.setdefault(quota.id, []).append(code_tools.SheetCode(
                code, group_label(quota.group), school, code_tools.link(link_base, survey.public_key, code)))
        try:
            code_tools.write_code_sheets(
                out, survey_title=survey.title, survey_link=code_tools.link(link_base, survey.public_key),
                sections=[code_tools.SheetSection(titles[qid], rows) for qid, rows in sections.items()], to_pdf=to_pdf)
        except OSError as exc:
            raise collection.SurveyError(f"无法写入 {out}:{exc.strerror}") from None
        survey_link = code_tools.link(link_base, survey.public_key)
    console.print(f"已生成 {len(issued)} 个访问码({len(sections)} 个名额),访问码单:{escape(str(out))}。"
                  "访问码只在这份文件中,请妥善保管、按名额分发。", highlight=False, soft_wrap=True)
    console.print(f"调查链接:{escape(survey_link)}", highlight=False, soft_wrap=True)


@group.command("status")
def survey_status(
    survey_id: Optional[int] = typer.Argument(None, min=1, max=2**31 - 1, metavar="[SURVEY_ID]",
                                              help="调查编号;不指定则列出工作区中的全部调查"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """调查的进度:各名额已提交 / 名额人数、作答中的份数、访问码已用 / 已发;不给编号则列出全部调查。"""
    from rich.table import Table
    from rich.text import Text
    from sqlalchemy import select

    from junheng.services import open_database
    from junheng.store.models import OrgNode, Survey
    from junheng.survey import collection

    database, _ = open_database(workspace)
    with database.session() as session:
        if survey_id is None:
            table = Table(title="问卷调查", title_justify="left")
            for name in ("编号", "县区", "年度", "标题", "状态", "已提交 / 名额"):
                table.add_column(name)
            for survey in session.scalars(select(Survey).where(Survey.deleted_at.is_(None)).order_by(Survey.id)):
                rows = collection.quota_status(session, survey)
                county = session.get(OrgNode, survey.county_id)
                table.add_row(str(survey.id), Text(county.name), str(survey.year), Text(survey.title),
                              collection.STATUS_LABELS.get(survey.status, survey.status),
                              f"{sum(r.submitted for r in rows)} / {sum(r.quota.size for r in rows)}")
            console.print(table)
            return
        survey = collection.survey_by_id(session, survey_id)
        rows = collection.quota_status(session, survey)
        console.print(Text(f"调查 {survey.id}:{survey.title}({collection.STATUS_LABELS.get(survey.status, survey.status)});"
                           f"调查页面 /s/{survey.public_key}"), soft_wrap=True)
        table = Table(title="各名额", title_justify="left")
        for name, justify in (("名额", "left"), ("问卷", "left"), ("已提交 / 名额", "right"), ("作答中", "right"),
                              ("访问码 已用 / 已发", "right"), ("备注", "left")):
            table.add_column(name, justify=justify)
        for row in rows:
            full = "已满" if row.submitted >= row.quota.size else ""
            title = (survey.questionnaires or {}).get(row.quota.questionnaire, {}).get("title", row.quota.questionnaire)
            table.add_row(Text(row.title), Text(title), f"{row.submitted} / {row.quota.size}",
                          str(row.partial), f"{row.codes_used} / {row.codes}", full)
        console.print(table)
        submitted, size = sum(r.submitted for r in rows), sum(r.quota.size for r in rows)
        console.print(f"合计:已提交 {submitted} / {size} 份,作答中 {sum(r.partial for r in rows)} 份。", highlight=False)


# ---------------------------------------------------------------- stored surveys: import, result, responses (helper E)


ResultFormat = ScoreFormat  # the same choice: table or json


@group.command("import")
def survey_import(
    export: Path = typer.Argument(..., help="问卷星导出的答卷数据(“按选项文本”的 .xlsx 或 .csv)"),
    survey_id: int = typer.Option(..., "--survey", min=1, max=2**31 - 1, help="调查编号(见 junheng survey status)"),
    mapping: Path = typer.Option(..., "--mapping", "-m", help="对照文件(YAML):身份题、计分题、学校所在的列"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
    user: Optional[str] = USER_OPTION,
) -> None:
    """把问卷星导出的答卷导入工作区中的调查(全部导入或全部不导入;同一份答卷不能导入两次;记入审计日志)。"""
    from junheng.services import open_database
    from junheng.survey import collection, service
    from junheng.survey.exports import load_mapping

    columns = load_mapping(mapping)
    database, settings = open_database(workspace)
    with database.session() as session:
        survey = collection.survey_by_id(session, survey_id)
        summary = service.import_responses(session, survey, export, columns, secret=settings.secret_key,
                                           user=_acting_user(session, user, survey), via="cli")
        total = service.imported_count(session, survey)
        survey_title = survey.title
    from junheng.survey.groups import group_label

    groups = "、".join(f"{group_label(g)} {n} 份" for g, n in summary.groups.items())
    console.print(f"已导入 {summary.rows} 份答卷到调查 {survey_id}:{escape(survey_title)}(序号 {summary.first_row}–"
                  f"{summary.last_row};{groups};注明学校的 {summary.with_school} 份)。本调查共导入 {total} 份。",
                  highlight=False, soft_wrap=True)
    console.print(f"下一步:junheng survey result {survey_id}(计算认可度;加 --apply 作为该县区该年度的社会认可度)",
                  highlight=False, soft_wrap=True)


@group.command("result")
def survey_result(
    survey_id: int = typer.Argument(..., min=1, max=2**31 - 1, metavar="SURVEY_ID", help="调查编号(见 junheng survey status)"),
    apply: bool = typer.Option(False, "--apply", help="把结果作为该县区该年度的社会认可度(记入审计日志,评估注明来源)"),
    fmt: ResultFormat = typer.Option(ResultFormat.table, "--format", "-f", help="输出格式:table(表格)或 json"),
    out: Optional[Path] = typer.Option(None, "--output", "-o", help="输出文件;不指定则打印到屏幕"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
    user: Optional[str] = USER_OPTION,
) -> None:
    """计算调查的结果(网页答卷和导入的答卷):质量检查,总体、各类人员、各题、各学校的认可度及置信区间;加 --apply 作为评估所用的社会认可度。"""
    from junheng.schoolyear import label as school_year_label
    from junheng.services import open_database
    from junheng.survey import collection, service
    from junheng.survey.results import apply_result

    if out is not None and not out.parent.exists():
        raise collection.SurveyError(f"输出文件夹 {out.parent} 不存在")
    database, _ = open_database(workspace)
    with database.session() as session:  # scoring and applying are one change: a refused apply keeps nothing
        survey = collection.survey_by_id(session, survey_id)
        acting = _acting_user(session, user, survey)
        result = service.score_survey(session, survey, user=acting, via="cli")
        if apply:
            apply_result(session, result, user=acting, via="cli")
        summary = service.result_summary(result)
        data = {"result_id": result.id, "applied": result.audit_id is not None, "field": result.field,
                **result.result}
        county = collection.county_of(session, survey)
        where = f"{county.name}({county.code}){school_year_label(survey.year)}"
    if fmt is ResultFormat.json:
        emit(out, data=data)
    else:
        emit(out, render=lambda to: _print_result(to, summary, where))


def _print_result(out, summary: dict, where: str) -> None:
    """A stored survey's result: overall with its interval, groups, items and schools weakest first, exclusions."""
    from rich.table import Table
    from rich.text import Text

    overall, counts, sources = summary["overall"], summary["counts"], summary["sources"]
    level = f"{(summary['confidence'] or 0.95) * 100:g}%"
    title = (summary.get("survey") or {}).get("title") or ""
    out.print(Text(f"调查 {summary['survey'].get('id')}:{title}(结果编号 {summary['result_id']})", style="bold"))
    how = "按固定权重合并各类人员的认可度" if summary["weighted"] else "合并全部有效答卷"
    out.print(Text(f"总体认可度 {_percent(overall['rate'])}({level} 置信区间 {_interval(overall)});{how}。"))
    out.print(Text(f"答卷 {counts.get('rows', 0):,} 份(网页 {sources.get('web', 0):,} 份,导入 {sources.get('import', 0):,} 份),"
                   f"有效 {counts.get('valid', 0):,} 份,排除 {counts.get('excluded', 0):,} 份;"
                   f"有效答卷 {overall['respondents']:,} 人,计入的回答 {overall['answers']:,} 个。"))
    if summary["applied"]:
        out.print(Text(f"已作为{where}的社会认可度({_percent(overall['rate'])});评估结果注明来源于本调查。"))
    else:
        out.print(Text("未写入评估数据;加 --apply 作为该县区该年度的社会认可度。"))

    def table(title: str, first: str, rows: list[dict], name: str, respondents: bool = True) -> None:
        if not rows:
            return
        shown = Table(title=title, title_justify="left")
        for column, justify in ((first, "left"), ("认可度", "right"), (f"{level} 置信区间", "right"),
                                *((("有效答卷", "right"),) if respondents else ()), ("计入的回答", "right")):
            shown.add_column(column, justify=justify)
        for row in rows:
            shown.add_row(Text(str(row[name])), _percent(row["rate"]), _interval(row),
                          *((f"{row['respondents']:,}",) if respondents else ()), f"{row['answers']:,}")
        out.print(shown)

    table("各类人员(认可度由低到高)", "类别", summary["groups"], "label")
    table("各题(认可度由低到高)", "题目", summary["items"], "label", respondents=False)
    table("各学校(认可度由低到高)", "学校", summary["schools"], "name")
    source_names = {"web": "网页", "import": "导入"}
    for title, rows in (("排除的答卷", summary["exclusions"]), ("标记但仍计入的答卷", summary["flagged"])):
        if not rows:
            continue
        shown = Table(title=f"{title}({len(rows):,} 份)", title_justify="left")
        shown.add_column("来源")
        shown.add_column("序号", justify="right")
        shown.add_column("原因")
        for row in rows[:MAX_SHOWN]:
            shown.add_row(source_names.get(row["source"], str(row["source"])), str(row["row"]), Text(row["reason"] or ""))
        out.print(shown)
        if len(rows) > MAX_SHOWN:
            out.print(Text(f"另有 {len(rows) - MAX_SHOWN:,} 份未显示;全部列表见 --format json。"))
    if not summary["exclusions"] and not summary["flagged"]:
        out.print(Text("质量检查:没有排除或标记的答卷。"))


@group.command("responses")
def survey_responses(
    survey_id: int = typer.Argument(..., min=1, max=2**31 - 1, metavar="SURVEY_ID", help="调查编号(见 junheng survey status)"),
    out: Path = typer.Option(..., "--output", "-o", help="答卷表:.csv(UTF-8,Excel 可直接打开)或 .xlsx"),
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """导出调查的匿名答卷表:序号、来源、人员类别、学校、提交时间、用时、各题答案、是否排除及原因(不含 IP 地址散列、访问码)。"""
    from junheng.services import open_database
    from junheng.survey import collection, service

    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise service.SurveyServiceError(f"不支持的文件类型“{out.suffix or '(无)'}”:答卷表可存为 .csv 或 .xlsx")
    database, _ = open_database(workspace)
    with database.session() as session:
        survey = collection.survey_by_id(session, survey_id)
        columns, rows = service.responses_table(session, survey)
    service.write_responses(out, columns, rows)
    console.print(f"已导出 {len(rows)} 份答卷:{escape(str(out))}(匿名:不含 IP 地址散列和访问码)。",
                  highlight=False, soft_wrap=True)

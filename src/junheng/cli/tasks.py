"""`junheng tasks`: supervision tasks (督办任务): list, add, status, comments, attachments, timeline, plan."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from junheng import schoolyear
from junheng.cli.chinese import ChineseTyper
from junheng.cli.common import (
    USER_OPTION,
    WORKSPACE_OPTION,
    console,
    date_option,
    open_workspace_database,
    user_named,
)

group = ChineseTyper(help="督办任务:列出、新建、改状态、意见、附件、推进计划。", no_args_is_help=True)


def acting_user(session, username: Optional[str]):
    """The account a --user names (None without --user: the operator, no account)."""
    if not username:
        return None
    from junheng.monitor.tasks import TaskError

    return user_named(session, username, TaskError)


def refuse_without_right(session, who, task_id: int, *, status: str | None = None, comment: bool = False,
                         attach: bool = False) -> None:
    """Refuse (TaskError, exit code 1) what the --user account may not do with the task, asking
    `junheng.monitor.tasks.task_rights` as the web pages do and with their words. Without --user
    the server's operator acts: no account, no rights to ask."""
    if who is None:
        return
    from junheng.monitor.tasks import (
        ATTACH_REFUSAL,
        COMMENT_REFUSAL,
        READ_REFUSAL,
        TaskError,
        get_task,
        rights_of,
        status_refusal,
    )

    task = get_task(session, task_id)
    rights = rights_of(session, who, task)
    refusal = (status_refusal(rights, task, status) if status is not None
               else READ_REFUSAL if not rights.read
               else COMMENT_REFUSAL if comment and not rights.comment
               else ATTACH_REFUSAL if attach and not rights.attach else None)
    if refusal:
        raise TaskError(f"用户 {who.username}:{refusal.rstrip('。')}")


@group.command("list")
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
    with open_workspace_database(workspace).session() as session:
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


@group.command("add")
def tasks_add(
    county: str = typer.Argument(..., help="县区代码"),
    title: Optional[str] = typer.Option(None, "--title", "-t", help="任务名称(由预警生成时可省略)"),
    deadline: Optional[str] = typer.Option(None, "--deadline", help="完成期限(年-月-日)"),
    start: Optional[str] = typer.Option(None, "--start", help="开始日期(年-月-日)"),
    indicator: Optional[str] = typer.Option(
        None, "--indicator", help="指标编号(县区适用标准中的指标,见 junheng standards show)"),
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
        "deadline": date_option(deadline, "--deadline"), "start_date": date_option(start, "--start"),
        "indicator": indicator, "school_code": school, "owner_name": owner, "responsible": responsible,
        "amount_wan": amount, "plan_year": plan_year}.items() if v is not None}
    with open_workspace_database(workspace).session() as session:
        who = acting_user(session, user)
        if owner_account is not None:  # the owner rule itself is the store's (tasks.owner_choices)
            fields["owner_id"] = user_named(session, owner_account, TaskError).id
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


@group.command("status")
def tasks_status(
    task_id: int = typer.Argument(..., help="任务编号"),
    status: str = typer.Argument(..., help="新状态:open(未开始)、in_progress(进行中)、done(已完成)或 verified(已核验)"),
    note: Optional[str] = typer.Option(None, "--note", help="意见(退回或重新开启时必填)"),
    user: Optional[str] = USER_OPTION,
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """修改任务状态:未开始 → 进行中 → 已完成 → 已核验。"""
    from junheng.monitor.tasks import STATUS_LABELS, set_status

    with open_workspace_database(workspace).session() as session:
        who = acting_user(session, user)
        refuse_without_right(session, who, task_id, status=status)
        task = set_status(session, task_id, status, user=who, via="cli", note=note)
        console.print(f"任务 {task.id} 现为“{STATUS_LABELS[task.status]}”。", highlight=False)


@group.command("comment")
def tasks_comment(
    task_id: int = typer.Argument(..., help="任务编号"),
    text: str = typer.Argument(..., help="意见内容"),
    user: Optional[str] = USER_OPTION,
    workspace: Optional[Path] = WORKSPACE_OPTION,
) -> None:
    """给任务添加意见。"""
    from junheng.monitor.tasks import add_comment

    with open_workspace_database(workspace).session() as session:
        who = acting_user(session, user)
        refuse_without_right(session, who, task_id, comment=True)
        add_comment(session, task_id, text, user=who)
    console.print("已添加意见。")


@group.command("attach")
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
    with open_workspace_database(workspace).session() as session, open(file, "rb") as handle:
        who = acting_user(session, user)
        refuse_without_right(session, who, task_id, attach=True)
        attachment = add_attachment(session, settings.uploads, task_id, file.name, handle, user=who, via="cli",
                                    limit_bytes=settings.attachment_limit_bytes)
        console.print(f"已上传附件 {escape(attachment.filename)}({attachment.size} 字节)。", highlight=False)


@group.command("timeline")
def tasks_timeline(county: str = typer.Argument(..., help="县区代码"),
                   workspace: Optional[Path] = WORKSPACE_OPTION) -> None:
    """县区工作推进计划(时间、工作内容、责任单位、状态)。"""
    from junheng.monitor.tasks import county_timeline
    from junheng.monitor.terminal import print_timeline

    with open_workspace_database(workspace).session() as session:
        print_timeline(console, county_timeline(session, county))


@group.command("plan")
def tasks_plan(county: str = typer.Argument(..., help="县区代码"),
               workspace: Optional[Path] = WORKSPACE_OPTION) -> None:
    """分年度任务与投资(万元,逐年合计)。"""
    from junheng.monitor.tasks import year_plan
    from junheng.monitor.terminal import print_year_plan

    with open_workspace_database(workspace).session() as session:
        print_year_plan(console, year_plan(session, county))

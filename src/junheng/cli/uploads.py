"""`junheng uploads`: the uploads folder (clean expired uploads)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from junheng.cli.chinese import ChineseTyper
from junheng.cli.common import WORKSPACE_OPTION, console

group = ChineseTyper(help="上传文件夹:清理过期的上传文件。", no_args_is_help=True)


@group.command("clean")
def uploads_clean(
    workspace: Optional[Path] = WORKSPACE_OPTION,
    days: Optional[float] = typer.Option(None, "--days", min=0.0, help="保留天数;缺省为 junheng.toml 的 [uploads] keep_days(7 天)"),
) -> None:
    """清理上传文件夹:删除超过保留期限仍未应用的上传;已应用的上传删除文件和校验结果、保留应用记录;删除中断上传留下的临时文件。网站的定时任务每天也会执行。"""
    from junheng.monitor.config import monitor_settings
    from junheng.store.uploads_folder import clean_uploads

    settings = monitor_settings(workspace)
    keep = settings.upload_keep_days if days is None else days
    report = clean_uploads(settings.uploads, keep_days=keep)
    console.print(f"已清理 {escape(str(settings.uploads))}(保留 {keep:g} 天):{report.summary()}。", highlight=False,
                  soft_wrap=True)

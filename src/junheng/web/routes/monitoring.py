"""What the monitoring pages share: the page context of the warning and supervision pages
(warnings, tasks, task_attachments, timeline, schedule) with their flash messages and labels, the
county look-up they read through, and the severities and segments as every monitoring page lists them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from junheng.monitor.rules import KIND_LABELS, SEVERITY_LABELS
from junheng.monitor.tasks import STATUS_LABELS
from junheng.store.models import OrgNode
from junheng.web.deps import Viewer, county_for
from junheng.web.routes.editing import FLASH_MESSAGES, base_context

SEVERITIES = ("red", "orange", "yellow")
SEGMENTS = {"primary": "小学", "junior": "初中"}

# The messages a redirect to a warning or task page may carry (?msg=...)
MESSAGES = FLASH_MESSAGES | {
    "task_created": "已新建督办任务。",
    "task_from_warning": "已由预警生成督办任务;请补充完成期限和负责人。",
    "task_saved": "任务已保存。",
    "task_deleted": "任务已删除。",
    "status_changed": "任务状态已更新。",
    "comment_added": "意见已添加。",
    "attachment_added": "佐证材料已上传。",
    "attachment_removed": "附件已移除(文件仍留存备查)。",
}


def supervision_context(viewer: Viewer, **extra) -> dict:
    """The template context of a warning, task, timeline or schedule page."""
    return base_context(viewer) | {"flash_messages": MESSAGES, "severity_labels": SEVERITY_LABELS,
                                   "kind_labels": KIND_LABELS, "status_labels": STATUS_LABELS} | extra


def readable_county(session: Session, viewer: Viewer, code: str) -> OrgNode:
    """The county `code`, if the viewer may read its warnings and tasks (else 403, 404)."""
    return county_for(session, viewer, code, read="您没有权限查看该县区的预警与督办。")

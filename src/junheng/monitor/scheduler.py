"""The timed watch inside the server (定时预警): an APScheduler background job that runs
`run_watch` on the workspace's cron schedule ([monitor] schedule, default "30 6 * * *",
timezone [monitor] timezone, default Asia/Shanghai). `junheng serve` starts it:

    from junheng.monitor.scheduler import start_scheduler
    scheduler = start_scheduler(database, workspace_path)   # None when [monitor] enabled = false
    ...
    if scheduler: scheduler.shutdown(wait=False)

Each run also removes abandoned uploads (`junheng.store.uploads_folder.clean_uploads`, after `[uploads]
keep_days`). The job never overlaps itself (max_instances=1, coalesced) and takes the workspace lock, so a
cron `junheng watch` at the same time simply waits for the next turn. Errors are logged, never
raised into the server.
"""

from __future__ import annotations

import logging
from pathlib import Path

from junheng.monitor.config import MonitorConfigError, MonitorSettings, monitor_settings

log = logging.getLogger("junheng.monitor")
JOB_ID = "junheng-watch"


def trigger(settings: MonitorSettings):
    from apscheduler.triggers.cron import CronTrigger

    try:
        return CronTrigger.from_crontab(settings.schedule, timezone=settings.timezone)
    except (ValueError, LookupError) as exc:
        raise MonitorConfigError(
            f"[monitor] schedule “{settings.schedule}” 不是有效的 cron 表达式(分 时 日 月 周,如 \"30 6 * * *\"):{exc}"
        ) from None


def watch_job(database, settings: MonitorSettings) -> None:
    from junheng.errors import JunhengError
    from junheng.monitor.service import run_watch

    try:
        report = run_watch(database, settings)
        log.info("预警巡检完成 %s: %s, 通知 %s", report.run_id, report.totals(), report.notifications)
    except JunhengError as exc:
        log.error("预警巡检未执行:%s", exc.user_message())
    except Exception:  # the server must keep running
        log.exception("预警巡检出错")
    clean_job(settings)


def clean_job(settings: MonitorSettings, now=None):
    """Remove abandoned uploads of the workspace (never raises into the server); the report."""
    if settings.uploads is None:
        return None
    from junheng.store.uploads_folder import clean_uploads

    try:
        report = clean_uploads(settings.uploads, now=now, keep_days=settings.upload_keep_days)
    except Exception:  # the server must keep running
        log.exception("清理过期上传文件出错")
        return None
    if report.removed or report.files_removed or report.leftovers:
        log.info("清理过期上传文件:%s", report.summary())
    return report


def start_scheduler(database, workspace_path: Path | None = None, *, settings: MonitorSettings | None = None):
    """Start the background scheduler; returns it (call .shutdown() on exit), or None when the
    workspace disables it. A bad schedule raises MonitorConfigError (Chinese) at start."""
    from apscheduler.schedulers.background import BackgroundScheduler

    settings = settings or monitor_settings(workspace_path)
    if not settings.enabled:
        return None
    scheduler = BackgroundScheduler(timezone=settings.timezone)
    scheduler.add_job(watch_job, trigger(settings), args=(database, settings), id=JOB_ID, max_instances=1,
                      coalesce=True, misfire_grace_time=3600, replace_existing=True)
    scheduler.start()
    return scheduler

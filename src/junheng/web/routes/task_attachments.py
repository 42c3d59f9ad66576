"""A supervision task's evidence files (佐证材料): upload (the size limit enforced while the body
is read), download, remove. Who may do so is the task's rights (junheng.monitor.tasks.task_rights).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from junheng.monitor.tasks import (
    ATTACH_REFUSAL,
    TaskError,
    add_attachment,
    attachment_file,
    remove_attachment,
    safe_filename,
)
from junheng.store.models import SupervisionTask, TaskAttachment
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, current_viewer
from junheng.web.files import MULTIPART_SLACK, disposition, read_form
from junheng.web.params import RowId
from junheng.web.routes.editing import saved_redirect
from junheng.web.routes.tasks import attachment_limit, render_task_page, size_text, task_for

router = APIRouter(include_in_schema=False)


def attachment_task(task_id: RowId, viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    """The task evidence is attached to: the viewer is logged in (else to /login) and may attach
    to it (else 403), checked before a byte of the body is read."""
    task, rights = task_for(session, viewer, task_id)
    if not rights.attach:
        raise HTTPException(status_code=403, detail=ATTACH_REFUSAL)
    return task, rights


async def attachment_form(request: Request, _checked=Depends(attachment_task)):
    """The posted attachment form, read only after `attachment_task` and only up to the
    attachment limit: 413 as soon as more arrives, Content-Length or not."""
    limit = attachment_limit(request)
    return await read_form(request, limit=limit + MULTIPART_SLACK, max_files=1,
                           too_large=f"附件太大:每个附件不能超过 {size_text(limit)}。")


@router.post("/tasks/{task_id}/attachments")
def task_attachment_post(task_id: RowId, request: Request, checked=Depends(attachment_task),
                         form=Depends(attachment_form), viewer: Viewer = Depends(check_csrf),
                         session: Session = REQUEST_SESSION):
    task, rights = checked
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return render_task_page(request, session, viewer, task, rights, "请选择要上传的佐证材料文件。", 400)
    limit = attachment_limit(request)
    if upload.size is not None and upload.size > limit:
        return render_task_page(request, session, viewer, task, rights,
                          f"附件“{safe_filename(upload.filename)}”太大({size_text(upload.size)}):"
                          f"每个附件不能超过 {size_text(limit)}。", 413)
    try:
        add_attachment(session, Path(request.app.state.settings.uploads), task.id, upload.filename, upload.file,
                       user=viewer.user, via="form", limit_bytes=limit)
    except TaskError as exc:
        session.rollback()
        return render_task_page(request, session, viewer, task, rights, f"附件没有上传:{exc.user_message()}", 400)
    return saved_redirect(session, f"/tasks/{task.id}?msg=attachment_added#attachments")


def _attachment(session: Session, task: SupervisionTask, attachment_id: int) -> TaskAttachment:
    attachment = session.get(TaskAttachment, attachment_id)
    if attachment is None or attachment.task_id != task.id or attachment.deleted_at is not None:
        raise HTTPException(status_code=404, detail="没有该附件。")
    return attachment


@router.get("/tasks/{task_id}/attachments/{attachment_id}")
def task_attachment_download(task_id: RowId, attachment_id: RowId, request: Request,
                             viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    task, _ = task_for(session, viewer, task_id)
    _attachment(session, task, attachment_id)
    try:
        path, attachment = attachment_file(session, Path(request.app.state.settings.uploads), attachment_id)
    except TaskError as exc:
        raise HTTPException(status_code=404, detail=exc.user_message()) from None
    name = safe_filename(attachment.filename)  # names stored before they were normalised, too
    headers = disposition(name, f"attachment-{attachment.id}{Path(name).suffix.lower()}") | {
        "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=attachment.content_type, headers=headers)


@router.post("/tasks/{task_id}/attachments/{attachment_id}/delete")
def task_attachment_delete(task_id: RowId, attachment_id: RowId, viewer: Viewer = Depends(check_csrf),
                           session: Session = REQUEST_SESSION):
    task, rights = task_for(session, viewer, task_id)
    if not rights.manage:
        raise HTTPException(status_code=403, detail="只有本县区的县级管理员可以移除附件。")
    _attachment(session, task, attachment_id)
    remove_attachment(session, attachment_id, user=viewer.user, via="form")
    return saved_redirect(session, f"/tasks/{task.id}?msg=attachment_removed#attachments")

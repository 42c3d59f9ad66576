"""Files in and out of the web app: downloads under their Chinese names, request bodies read
within a byte limit, uploaded files copied to disk within the size limit, names of uploaded files
made safe to show, and writers that need a path turned into bytes.

Request bodies (issue 11 #16). A body is never read before its route has authenticated the
viewer (and, for file uploads, checked that the viewer may upload there), and then only through
`read_form`, which counts the bytes as they arrive from the ASGI receive channel and stops at the
route's limit with HTTP 413 (Chinese), whether or not a Content-Length was sent (a chunked body
is counted the same). Ordinary form posts are limited to `FORM_LIMIT` (1 MB); the data upload,
the forecast-input upload and task attachments to their file limit plus `MULTIPART_SLACK`.
`BodyLimitMiddleware` adds one ceiling for every request of the app (the login form and the JSON
API included, whose bodies FastAPI reads itself).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from fastapi import HTTPException, Request, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from junheng.errors import JunhengError
from junheng.filenames import clean_name

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 1024 * 1024
FORM_LIMIT = 1024 * 1024  # an ordinary form post (no file), urlencoded or multipart
MULTIPART_SLACK = 64 * 1024  # boundaries, part headers and the small fields beside an uploaded file


def disposition(name: str, fallback: str, *, inline: bool = False) -> dict[str, str]:
    """The Chinese file name (RFC 5987) and an ASCII one for old clients."""
    kind = "inline" if inline else "attachment"
    fallback = re.sub(r'[^\x20-\x7e]|["\\]', "_", fallback) or "download"
    return {"Content-Disposition": f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(clean_name(name, fallback=fallback, length=255))}"}


def download(content: bytes, media_type: str, name: str, fallback: str, *, inline: bool = False,
             private: bool = False) -> Response:
    """`private`: never kept by caches (reports and data of a county)."""
    headers = disposition(name, fallback, inline=inline)
    if private:
        headers["Cache-Control"] = "no-store"
    return Response(content, media_type=media_type, headers=headers)


def written(write: Callable[[Path], object], filename: str) -> bytes:
    """The bytes a writer produces, for writers (openpyxl, python-docx) that want a path."""
    with tempfile.TemporaryDirectory(prefix="junheng-download-") as tmp:
        path = Path(tmp) / filename
        write(path)
        return path.read_bytes()


def shown_name(filename: str) -> str:
    """An uploaded file's name for display only, never used as a path (`junheng.filenames.clean_name`:
    no folders, no control, format or bidi characters, NFC, at most 120 characters, extension kept)."""
    return clean_name(filename)


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def save_upload(source, target: Path, limit: int) -> int | None:
    """Copy an uploaded file to `target` chunk by chunk. Returns its size, or None (and nothing
    left on disk) when it is larger than `limit` bytes."""
    size = 0
    with target.open("wb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > limit:
                break
            out.write(chunk)
    if size > limit:
        target.unlink(missing_ok=True)
        return None
    return size


# ---------------------------------------------------------------- request bodies within a limit


class UploadRefused(JunhengError):
    """An uploaded file missing, of another kind, empty or too large (the message says which)."""


def saved_upload(upload, folder: Path, name: str, kinds: tuple[str, ...], limit: int, what: str) -> tuple[Path, str]:
    """An uploaded form file copied to `folder` under our own name (`name` + its suffix, which the
    readers need) and the user's file name to show; UploadRefused (Chinese) when it is missing, of
    another kind than `kinds`, empty or larger than `limit`."""
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise UploadRefused(f"请选择{what}。")
    shown = shown_name(upload.filename)
    suffix = PurePosixPath(shown.lower()).suffix
    if suffix not in kinds:
        raise UploadRefused(f"{what}“{shown}”的类型不对:应为 {'、'.join(kinds)} 文件。")
    target = folder / f"{name}{suffix}"
    size = save_upload(upload.file, target, limit)
    if size is None:
        raise UploadRefused(f"{what}“{shown}”太大:不能超过 {megabytes(limit)}。")
    if size == 0:
        raise UploadRefused(f"{what}“{shown}”是空文件。")
    return target, shown


def with_user_file_names(message: str, folder: Path, names: dict[Path, str]) -> str:
    """A message about files `saved_upload` kept in `folder`, naming them as the user did
    (`names`: saved path → the user's file name) and never showing the server's paths."""
    for path, shown in names.items():
        message = message.replace(str(path), shown).replace(path.name, shown)
    return message.replace(str(folder) + "/", "").replace(str(folder), "")


def too_large_message(limit: int, what: str = "提交的内容") -> str:
    return f"{what}太大:不能超过 {megabytes(limit) if limit >= 1024 * 1024 else f'{limit // 1024} KB'}。"


class _CountedReceive:
    """An ASGI receive channel that counts the body bytes it passes on and raises HTTP 413 (with
    `message`) as soon as they exceed `limit`: a chunked body is stopped as it arrives."""

    def __init__(self, receive, limit: int, message: str):
        self.receive, self.limit, self.message, self.received = receive, limit, message, 0

    async def __call__(self):
        message = await self.receive()
        if message.get("type") == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise HTTPException(status_code=413, detail=self.message)
        return message


def declared_length(headers) -> int | None:
    value = headers.get("content-length")
    return int(value) if value and value.isdigit() else None


async def read_form(request: Request, *, limit: int = FORM_LIMIT, too_large: str | None = None,
                    max_files: int = 0, max_fields: int = 1000) -> FormData:
    """The posted form, read at most once per request and at most `limit` bytes of body (HTTP
    413 with `too_large`, Chinese, beyond it, before anything is kept); at most `max_files`
    files (ordinary forms: none). Call it only after the viewer is authenticated. Later calls
    (and Starlette's `request.form()`) return the same form."""
    cached = getattr(request, "_form", None)  # Starlette keeps the parsed form on the request
    if cached is not None:
        return cached
    message = too_large or too_large_message(limit)
    length = declared_length(request.headers)
    if length is not None and length > limit:
        raise HTTPException(status_code=413, detail=message)  # refused before a byte is read
    # Starlette's Request reads its body from `_receive`: count the bytes there, so the limit
    # holds for a body sent in chunks without Content-Length as well.
    request._receive = _CountedReceive(request.receive, limit, message)
    try:
        return await request.form(max_files=max_files, max_fields=max_fields, max_part_size=FORM_LIMIT)
    except StarletteHTTPException as exc:  # Starlette's own (English) refusals of a malformed form
        if exc.status_code != 400:
            raise
        raise HTTPException(status_code=400, detail=_form_refusal(str(exc.detail), max_files, max_fields)) from None


def _form_refusal(detail: str, max_files: int, max_fields: int) -> str:
    """Starlette's (English) reasons for refusing a form, in Chinese."""
    if detail.startswith("Too many files"):
        return (f"一次最多只能上传 {max_files} 个文件。" if max_files else
                "此表单不接受文件:请在相应的上传页面上传文件。")
    if detail.startswith("Too many fields"):
        return f"表单的项目太多(不超过 {max_fields} 项)。"
    if "exceeded maximum size" in detail:
        return f"表单中的某一项太长(每项不超过 {megabytes(FORM_LIMIT)})。"
    return "表单数据格式有误,无法读取:请刷新页面后重新提交。"


class BodyLimitMiddleware:
    """ASGI middleware: one ceiling on every request body of the app, whatever the route reads
    (the login form and JSON bodies are read by FastAPI itself, before any dependency). A
    multipart body may be as large as the largest file limit (`file_limit(scope)`, default: the
    data-upload and attachment limits of the app's settings) plus `MULTIPART_SLACK`; any other
    body `limit` bytes. Over the ceiling: HTTP 413 in Chinese, and reading stops at once.

    Add it in `create_app`: `app.add_middleware(BodyLimitMiddleware)`."""

    def __init__(self, app, *, limit: int = FORM_LIMIT, file_limit: Callable[[dict], int] | None = None):
        self.app, self.limit, self.file_limit = app, limit, file_limit or _largest_file_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        multipart = headers.get("content-type", "").lower().startswith("multipart/")
        # for files a backstop one slack above the routes' own limits, so that the upload and
        # attachment routes refuse first, with their own message ("文件太大:上传文件不能超过 …")
        nominal = self.file_limit(scope) if multipart else self.limit
        ceiling = nominal + 2 * MULTIPART_SLACK if multipart else nominal
        message = too_large_message(nominal, "请求内容")
        length = declared_length(headers)
        if length is not None and length > ceiling:
            return await _refuse(send, message)
        started = False

        async def watched_send(event):
            nonlocal started
            if event["type"] == "http.response.start":
                started = True
            await send(event)

        try:
            await self.app(scope, _CountedReceive(receive, ceiling, message), watched_send)
        except StarletteHTTPException as exc:  # raised by the counter outside the app's own handlers
            if started or exc.status_code != 413:
                raise
            await _refuse(send, message)


def _largest_file_limit(scope) -> int:
    app = scope.get("app")
    state = getattr(app, "state", None)
    settings = getattr(state, "settings", None)
    limits = [int(getattr(settings, "upload_limit_bytes", 20 * 1024 * 1024))]
    try:
        from junheng.web.deps import monitor_config

        limits.append(int(monitor_config(Request(scope)).attachment_limit_bytes))
    except Exception:  # no workspace settings (e.g. a bare test app): the upload limit alone
        pass
    return max(limits)


async def _refuse(send, message: str) -> None:
    body = json.dumps({"detail": message}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})

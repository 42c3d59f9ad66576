"""Issue 11 #16: request bodies are read only after the viewer is authenticated (and, for files,
may upload there), and only up to the route's limit, counted on the stream: a chunked body
without Content-Length is stopped at the limit (413 in Chinese), nothing is kept.

The requests are driven at the ASGI level (the test client would read a generator body whole
before the application sees it), with a receive channel that records how much the application
consumed."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import builders
import pytest
from fastapi import FastAPI, Form
from web_world import COUNTY

from junheng.monitor.config import MonitorSettings
from junheng.monitor.tasks import create_task
from junheng.web.app import create_app
from junheng.web.deps import SESSION_COOKIE
from junheng.web.files import FORM_LIMIT, MULTIPART_SLACK, BodyLimitMiddleware

BOUNDARY = "junhengtestboundary"
CHUNK = 64 * 1024


class Body:
    """A request body sent in chunks (more_body=True), counting what the application took."""

    def __init__(self, head: bytes, filler_chunks: int, tail: bytes = b""):
        self.parts = [head] + [b"0" * CHUNK] * filler_chunks + [tail]
        self.consumed = 0  # chunks handed to the application
        self.bytes = 0

    async def receive(self):
        if self.consumed < len(self.parts):
            part = self.parts[self.consumed]
            self.consumed += 1
            self.bytes += len(part)
            return {"type": "http.request", "body": part, "more_body": self.consumed < len(self.parts)}
        await asyncio.sleep(3600)  # never: the body is complete (a disconnect would come here)

    @property
    def total(self) -> int:
        return len(self.parts)


def multipart(csrf: str | None, filename: str = "数据.xlsx") -> tuple[bytes, bytes]:
    """The head (CSRF field and the file part's headers) and tail of a one-file multipart body."""
    head = b""
    if csrf is not None:
        head += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{csrf}\r\n").encode()
    head += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
             "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


def call(app, path: str, body: Body, *, cookie: str | None = None, content_type: str | None = None,
         length: int | None = None) -> tuple[int, dict, bytes]:
    headers = [(b"host", b"testserver"),
               (b"content-type", (content_type or f"multipart/form-data; boundary={BOUNDARY}").encode())]
    if cookie:
        headers.append((b"cookie", f"{SESSION_COOKIE}={cookie}".encode()))
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, body.receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, content


def session_of(client) -> str:
    return client.client.cookies[SESSION_COOKIE]


def kept_files(world) -> list[str]:
    uploads = world.settings.uploads
    return sorted(str(p.relative_to(uploads)) for p in uploads.rglob("*") if p.is_file()) if uploads.exists() else []


@pytest.fixture
def small(web_world):
    """The web world with a 256 KB upload limit and a 128 KB attachment limit."""
    app = create_app(replace(web_world.settings, upload_limit_bytes=256 * 1024), web_world.database)
    app.state.monitor_settings = MonitorSettings(attachment_limit_bytes=128 * 1024)
    web_world._app = app
    return web_world


UPLOAD = f"/counties/{COUNTY}/upload"


def test_no_cookie_is_sent_to_login_without_the_body_being_read(small):
    head, tail = multipart(None)
    body = Body(head, 3200, tail)  # a 200 MB body
    status, headers, _ = call(small.app(), UPLOAD, body)
    assert status == 303 and headers["location"].startswith("/login")
    assert body.consumed == 0  # not one chunk read
    assert kept_files(small) == []


def test_who_may_not_upload_here_is_refused_before_the_body_is_read(small):
    school, other = small.login("school"), small.login("other_county")
    for client in (school, other):
        head, tail = multipart(client.csrf)
        body = Body(head, 3200, tail)
        status, _, content = call(small.app(), UPLOAD, body, cookie=session_of(client))
        assert status == 403 and ("县级管理员" in content.decode() or "没有权限" in content.decode())
        assert body.consumed == 0
    assert kept_files(small) == []


def test_a_chunked_upload_over_the_limit_is_stopped_at_the_limit(small):
    county = small.login("county")
    head, tail = multipart(county.csrf)
    body = Body(head, 3200, tail)  # 200 MB in 64 KB chunks, no Content-Length
    status, _, content = call(small.app(), UPLOAD, body, cookie=session_of(county))
    assert status == 413 and "文件太大:上传文件不能超过 0.2 MB" in builders.plain(content.decode())
    limit_chunks = (256 * 1024 + MULTIPART_SLACK) // CHUNK + 2
    assert body.consumed <= limit_chunks < body.total  # reading stopped at the limit
    assert kept_files(small) == []
    # a declared Content-Length over the limit: refused before a byte is read
    body = Body(head, 3200, tail)
    status, _, _ = call(small.app(), UPLOAD, body, cookie=session_of(county), length=200 * 1024 * 1024)
    assert status == 413 and body.consumed == 0
    # within the limit, chunked as well: received and kept (an invalid workbook: 400, nothing kept)
    body = Body(head, 2, tail)
    status, _, content = call(small.app(), UPLOAD, body, cookie=session_of(county))
    assert status == 400 and "不是有效的" in builders.plain(content.decode())
    assert body.consumed == body.total and kept_files(small) == []


def test_a_forged_upload_is_refused_before_anything_is_kept(small):
    county = small.login("county")
    head, tail = multipart("not-the-token")
    status, _, content = call(small.app(), UPLOAD, Body(head, 2, tail), cookie=session_of(county))
    assert status == 403 and "CSRF" in content.decode()
    assert kept_files(small) == []


def _task(world) -> int:
    with world.database.session() as s:
        return create_task(s, COUNTY, title="新建风雨操场", via="cli").id


def test_an_attachment_over_its_limit_is_stopped_and_nothing_kept(small):
    task_id = _task(small)
    path = f"/tasks/{task_id}/attachments"
    head, tail = multipart(None, "验收报告.pdf")
    body = Body(head, 3200, tail)
    status, headers, _ = call(small.app(), path, body)
    assert status == 303 and headers["location"].startswith("/login") and body.consumed == 0
    viewer = small.login("viewer")  # may read the task, not attach to it
    head, tail = multipart(viewer.csrf, "验收报告.pdf")
    body = Body(head, 3200, tail)
    status, _, _ = call(small.app(), path, body, cookie=session_of(viewer))
    assert status == 403 and body.consumed == 0
    county = small.login("county")
    head, tail = multipart(county.csrf, "验收报告.pdf")
    body = Body(head, 3200, tail)
    status, _, content = call(small.app(), path, body, cookie=session_of(county))
    assert status == 413 and "附件太大:每个附件不能超过 128 KB" in builders.plain(content.decode())
    assert body.consumed <= (128 * 1024 + MULTIPART_SLACK) // CHUNK + 2
    assert kept_files(small) == []
    # within the limit: kept
    body = Body(head, 1, b"\r\n" + tail.lstrip(b"\r\n"))
    status, headers, _ = call(small.app(), path, body, cookie=session_of(county))
    assert status == 303, headers
    assert [f.split("/")[0] for f in kept_files(small)] == ["tasks"]


def test_an_ordinary_form_post_is_bounded_too(small):
    county = small.login("county")
    chunks = FORM_LIMIT // CHUNK + 40
    body = Body(f"csrf_token={county.csrf}&note=".encode(), chunks)
    status, _, content = call(small.app(), f"/schools/P1/years/{builders.YEAR}", body, cookie=session_of(county),
                              content_type="application/x-www-form-urlencoded")
    assert status == 413 and "不能超过 1.0 MB" in builders.plain(content.decode())
    assert body.consumed <= FORM_LIMIT // CHUNK + 2
    # and it is not read at all for a visitor without a session
    body = Body(b"csrf_token=x&note=", chunks)
    status, _, _ = call(small.app(), f"/schools/P1/years/{builders.YEAR}", body,
                        content_type="application/x-www-form-urlencoded")
    assert status == 303 and body.consumed == 0
    # a file sent to an ordinary form is refused in Chinese
    head, tail = multipart(county.csrf)
    status, _, content = call(small.app(), f"/schools/P1/years/{builders.YEAR}", Body(head, 1, tail),
                              cookie=session_of(county))
    assert status == 400 and "不接受文件" in builders.plain(content.decode())


def test_the_middleware_bounds_bodies_the_framework_reads_itself():
    """The login form (FastAPI's Form parameters) and JSON bodies are read before any dependency:
    BodyLimitMiddleware stops them at the app's ceiling."""
    app = FastAPI()
    seen = []

    @app.post("/login")
    def login(username: str = Form("")):
        seen.append(username)
        return {"ok": True}

    bounded = BodyLimitMiddleware(app, limit=FORM_LIMIT, file_limit=lambda scope: 128 * 1024)
    body = Body(b"username=zhang&x=", 3200)
    status, headers, content = call(bounded, "/login", body, content_type="application/x-www-form-urlencoded")
    assert status == 413 and "请求内容太大:不能超过 1.0 MB" in json.loads(content)["detail"]
    assert body.consumed <= FORM_LIMIT // CHUNK + 2 and seen == []
    head, tail = multipart(None)
    body = Body(head, 3200, tail)
    status, _, content = call(bounded, "/login", body)
    assert status == 413 and body.consumed <= (128 * 1024 + 2 * MULTIPART_SLACK) // CHUNK + 2
    body = Body(b"username=zhang", 0)
    status, _, _ = call(bounded, "/login", body, length=FORM_LIMIT + 1)
    assert status == 413 and body.consumed == 0
    assert call(bounded, "/login", Body(b"username=zhang", 0),
                content_type="application/x-www-form-urlencoded")[0] == 200 and seen == ["zhang"]

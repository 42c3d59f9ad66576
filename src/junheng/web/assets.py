"""The site's static files (/static: styles, scripts, ECharts and Swagger UI, served locally):
versioned URLs, long-lived caching and gzip compressed once per process.

Pages name a file with `{{ static("app.css") }}`, which gives `/static/app.css?v=<content hash>`:
a browser keeps such a response for a year (`immutable`), and a new release, whose file has a
new hash, is a new URL, so it is fetched at once. A request without the current version (an old
page, a script that loads a file itself) is answered with `no-cache` and an ETag: the browser
asks again each time and gets 304 while the file is unchanged.

Text files (scripts, styles, SVG, JSON, maps) are sent gzip-compressed to clients that accept it,
compressed at the highest level the first time they are asked for and then kept in memory (the
ECharts bundle is 1 MB, 340 KB compressed: compressing it for each request would cost ~30 ms)."""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
COMPRESSIBLE = (".js", ".css", ".svg", ".json", ".map", ".txt", ".html")
MIN_COMPRESS = 512  # bytes: smaller files are sent as they are


class StaticAssets(StaticFiles):
    def __init__(self, directory: str, **kwargs):
        super().__init__(directory=directory, **kwargs)
        self.root = Path(directory)
        self._versions: dict[str, tuple[str, float]] = {}  # path → (hash, mtime)
        self._gzipped: dict[str, tuple[bytes, str, float]] = {}  # path → (gzip bytes, hash, mtime)
        self._lock = threading.Lock()

    def version(self, path: str) -> str:
        """The first 12 hex digits of the file's SHA-256 (read again when its mtime changes)."""
        full = self.root / path
        mtime = full.stat().st_mtime
        known = self._versions.get(path)
        if known is None or known[1] != mtime:
            known = (hashlib.sha256(full.read_bytes()).hexdigest()[:12], mtime)
            with self._lock:
                self._versions[path] = known
        return known[0]

    def url(self, path: str) -> str:
        path = path.lstrip("/")
        try:
            return f"/static/{path}?v={self.version(path)}"
        except OSError:  # a file that is not there: the plain URL (answered 404 like any other)
            return f"/static/{path}"

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code not in (200, 304):
            return response
        relative = path.replace(os.sep, "/")
        try:
            current = self.version(relative)
        except OSError:
            return response
        query = dict(part.split("=", 1) for part in scope.get("query_string", b"").decode("latin-1").split("&")
                     if "=" in part)
        response.headers["cache-control"] = IMMUTABLE if query.get("v") == current else REVALIDATE
        if not isinstance(response, FileResponse) or not relative.endswith(COMPRESSIBLE):
            return response
        request_headers = Headers(scope=scope)
        if "gzip" not in request_headers.get("accept-encoding", ""):
            return response  # (the site's GZipMiddleware adds Vary: Accept-Encoding)
        body = self._gzip(relative, current)
        if body is None:
            return response
        etag = f'"{current}-gzip"'
        headers = {"cache-control": response.headers["cache-control"], "etag": etag, "vary": "Accept-Encoding",
                   "content-encoding": "gzip", "last-modified": response.headers.get("last-modified", "")}
        if etag in request_headers.get("if-none-match", ""):
            return Response(status_code=304, headers={k: v for k, v in headers.items() if k != "content-encoding"})
        media_type = response.media_type
        if scope["method"] == "HEAD":
            return Response(b"", headers=headers | {"content-length": str(len(body))}, media_type=media_type)
        return Response(body, headers=headers, media_type=media_type)

    def _gzip(self, relative: str, current: str) -> bytes | None:
        known = self._gzipped.get(relative)
        if known is not None and known[1] == current:
            return known[0]
        data = (self.root / relative).read_bytes()
        if len(data) < MIN_COMPRESS:
            return None
        body = gzip.compress(data, compresslevel=9, mtime=0)
        with self._lock:
            self._gzipped[relative] = (body, current, 0.0)
        return body

    def warm(self) -> int:
        """Hash and compress every text file now (at start-up, not on a user's first page)."""
        count = 0
        for full in self.root.rglob("*"):
            if full.is_file():
                relative = full.relative_to(self.root).as_posix()
                current = self.version(relative)
                if relative.endswith(COMPRESSIBLE):
                    self._gzip(relative, current)
                count += 1
        return count

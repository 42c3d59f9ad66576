"""Files in and out of the web app: downloads under their Chinese names, uploaded files copied
to disk within the size limit, and writers that need a path turned into bytes."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from fastapi import Response

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 1024 * 1024


def disposition(name: str, fallback: str, *, inline: bool = False) -> dict[str, str]:
    """The Chinese file name (RFC 5987) and an ASCII one for old clients."""
    kind = "inline" if inline else "attachment"
    return {"Content-Disposition": f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"}


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
    """An uploaded file's name for display only (never used as a path): no folders (Windows
    paths too), no control characters, shortened."""
    name = PurePosixPath(str(filename).replace("\\", "/")).name
    return re.sub(r"[\x00-\x1f]", "", name)[:120] or "未命名文件"


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

"""Names of uploaded files (data uploads, task attachments) made safe to show: they are only ever
displayed and sent back in Content-Disposition, never used as paths (files are stored under
generated names)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

# Characters that change how a name looks without being visible themselves: the bidi embeddings,
# overrides and isolates (U+202A–U+202E, U+2066–U+2069), the marks U+200E/U+200F/U+061C, and every
# other format character (category Cf: zero-width spaces and joiners, soft hyphen, BOM, ...),
# control characters (C0, DEL, C1: category Cc), line and paragraph separators, unassigned and
# private-use code points and lone surrogates.
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
NAME_LENGTH = 120


def clean_name(filename: str, *, fallback: str = "未命名文件", length: int = NAME_LENGTH) -> str:
    """An uploaded file's name for display only (never used as a path): the last component
    (Windows paths too), NFC-normalised, without control, format and bidi characters (so
    "report<U+202E>fdp.exe" shows as "reportfdp.exe", never as "reportexe.pdf"), other spaces made
    plain, no leading or trailing dots and spaces, at most `length` characters with the
    extension kept when shortened."""
    text = unicodedata.normalize("NFC", str(filename or ""))
    text = "".join(" " if unicodedata.category(c) == "Zs" else c for c in text
                   if unicodedata.category(c) not in _HIDDEN_CATEGORIES)
    name = PurePosixPath(text.replace("\\", "/")).name
    name = re.sub(r" {2,}", " ", name).strip(" .")
    if not name:
        return fallback
    if len(name) > length:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and 0 < len(ext) <= 16:
            name = stem[:length - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:length]
    return name

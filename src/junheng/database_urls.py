"""Database URLs as messages show them: without the password (the store's backups and the
engine's PostgreSQL backend both name the database they could not reach)."""

from __future__ import annotations

import re


def shown_url(url: str) -> str:
    """A database URL fit for messages (no password)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown without its credentials part
        return re.sub(r"//[^@/]*@", "//***@", url)

"""Student pseudonyms: a keyed hash of the student key, computed inside DuckDB.

A pseudonym is HMAC-SHA256 (RFC 2104) under the workspace secret (Settings.secret_key) of the
student key with a fixed domain prefix: its first 9 bytes (72 bits; RFC 2104 §5 allows
truncation) in base64, 12 characters. Twelve characters is what DuckDB stores inline (a longer
string costs another 16+ bytes per row, 10 million rows: 300 MB more); 50 million distinct keys
collide with odds about 3·10⁻⁷, 3 million (a province's grade) about 10⁻⁹. Equal keys give equal pseudonyms
under one secret, so a student's scores in several subjects and years stay linked within a
workspace; without the secret a pseudonym cannot be turned back into a key by trying every
学籍号. The prefix keeps these hashes apart from every other use of the same secret (sessions,
survey codes).

DuckDB has `sha256` over blobs but no HMAC, so HMAC is built from it: H((K⊕opad) ‖ H((K⊕ipad) ‖ m)),
the two padded keys computed here in Python and passed as query parameters (never written into
SQL text, which could end up in a log). `pseudonym` is the same function in plain Python, for tests
and for single values.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

BLOCK = 64  # SHA-256's block size in bytes
DIGEST_BYTES = 9  # the pseudonym: the HMAC's first 72 bits, as 12 base64 characters
LENGTH = 12
DOMAIN = "junheng/quality/student:"  # prefixed to every student key before hashing


def _key_bytes(secret: str) -> bytes:
    if not secret:
        raise ValueError("a pseudonym needs a non-empty secret")
    raw = secret.encode("utf-8")
    if len(raw) > BLOCK:
        raw = hashlib.sha256(raw).digest()
    return raw.ljust(BLOCK, b"\0")


def pads(secret: str) -> dict[str, bytes]:
    """The inner and outer padded keys (K⊕ipad, K⊕opad) as query parameters `inner`, `outer`."""
    key = _key_bytes(secret)
    return {"inner": bytes(b ^ 0x36 for b in key), "outer": bytes(b ^ 0x5C for b in key)}


def pseudonym(secret: str, student_key: str) -> str:
    """The pseudonym of one student key (the reference the SQL is tested against)."""
    message = (DOMAIN + student_key).encode("utf-8")
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest[:DIGEST_BYTES]).decode("ascii")


def pseudonym_sql(column: str) -> str:
    """SQL for the pseudonym of the VARCHAR expression `column`; run it with `pads(secret)` as
    the named parameters (sha256 gives hex; the first 9 bytes are 18 hex digits)."""
    inner = f"sha256($inner || encode('{DOMAIN}' || {column}))"
    return f"to_base64(unhex(left(sha256($outer || unhex({inner})), {2 * DIGEST_BYTES})))"


def run_secret() -> str:
    """A random secret for one stand-alone run: its pseudonyms mean nothing after the run."""
    return secrets.token_hex(32)

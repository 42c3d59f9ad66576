"""Personal data of the survey: collect the least (个人信息保护法).

No names or phone numbers are asked. An IP address (from a 问卷星 export or the survey page) is
needed only to find duplicate answers from one address, so it is replaced at once by a keyed hash
(HMAC-SHA256): equal addresses give equal hashes under one key, and without the key a hash cannot
be turned back into an address by trying all 2³² IPv4 addresses. The key is the workspace secret
(Settings.secret_key); the stand-alone `junheng survey score` uses a random key of the run
(`run_key`), so its hashes mean nothing after it ends.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Callable

BLOCK = 64  # SHA-256's block size in bytes


def keyed_hash(key: str, value: str) -> str:
    """HMAC-SHA256 of `value` under `key`, as 64 hex digits."""
    return hmac.new(key.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()


def keyed_hasher(key: str) -> Callable[[str], str]:
    """keyed_hash(key, ·) for many values: the same HMAC-SHA256 (RFC 2104) with the padded key's
    inner and outer hash states computed once (about 5x faster than hmac.new per value)."""
    raw = key.encode("utf-8")
    if len(raw) > BLOCK:
        raw = hashlib.sha256(raw).digest()
    raw = raw.ljust(BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in raw))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in raw))

    def digest(value: str) -> str:
        first = inner.copy()
        first.update(value.encode("utf-8"))
        second = outer.copy()
        second.update(first.digest())
        return second.hexdigest()

    return digest


def run_key() -> str:
    """A random key for one run (nothing is kept that would let hashes be compared later)."""
    return secrets.token_hex(32)

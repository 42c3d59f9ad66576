"""Student pseudonyms: HMAC-SHA256 built in DuckDB SQL equals Python's hmac, key by key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random

import duckdb
import pyarrow as pa
import pytest

from junheng.quality.pseudonyms import DOMAIN, LENGTH, pads, pseudonym, pseudonym_sql, run_secret


def _stdlib(secret: str, key: str) -> str:
    """The definition, written out with the standard library only."""
    digest = hmac.new(secret.encode("utf-8"), (DOMAIN + key).encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest[:9]).decode("ascii")


def _keys() -> list[str]:
    rng = random.Random(15)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz学生编号张王李赵一二三é ü-_/"
    keys = ["G110105200801011234", "L1234567890123", "2024-08-001", "学生一", "张三(借读)", "é", "x",
            "🙂", "0" * 64, "k" * 200]  # one past the 64-byte block boundary of the inner message
    keys += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(2000)]
    return keys


def _sql_pseudonyms(secret: str, keys: list[str]) -> list[str]:
    con = duckdb.connect()
    con.register("k", pa.table({"i": list(range(len(keys))), "student_key": keys}))
    rows = con.execute(f"SELECT {pseudonym_sql('student_key')} FROM k ORDER BY i", pads(secret)).fetchall()
    return [row[0] for row in rows]


@pytest.mark.parametrize("secret", [
    "workspace-secret", "密钥-工作区", "s" * 64, "long" * 40,  # shorter, exactly one block, hashed first
    run_secret(),
])
def test_sql_hmac_equals_python_hmac(secret):
    keys = _keys()
    assert _sql_pseudonyms(secret, keys) == [_stdlib(secret, k) for k in keys]
    assert [pseudonym(secret, k) for k in keys[:50]] == [_stdlib(secret, k) for k in keys[:50]]


def test_same_key_same_pseudonym_other_secret_other_pseudonym():
    keys = ["G1001", "G1002", "学生一"]
    first, again, other = _sql_pseudonyms("a", keys), _sql_pseudonyms("a", keys), _sql_pseudonyms("b", keys)
    assert first == again
    assert len(set(first)) == 3
    assert not set(first) & set(other)
    assert all(len(p) == LENGTH == 12 and len(base64.b64decode(p)) == 9 for p in first)


def test_the_secret_never_appears_in_the_sql_text():
    secret = "a-very-recognisable-secret"
    sql = pseudonym_sql("student_key")
    assert secret not in sql and "$inner" in sql and "$outer" in sql
    assert set(pads(secret)) == {"inner", "outer"}


def test_an_empty_secret_is_refused():
    with pytest.raises(ValueError):
        pads("")

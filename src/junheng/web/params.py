"""Integers and text that come from the web, bounded before they reach the store.

Every integer a route takes from a path, a query or a JSON body is declared with one of these
types, never a bare `int`: a number beyond what the database holds (SQLite INTEGER and
PostgreSQL BIGINT end at 2⁶³ − 1) would otherwise reach a query and fail there (HTTP 500).
Out of range, the request is refused before the handler runs: a page answers 404 for its
address (a path part) and 422 for a query parameter, the API 422 in Chinese (app.py and
api_common.request_errors). tests/web/test_bounded_integers.py sends 2⁶³ to every integer
parameter of every route.

Integers a handler reads itself (a form field, a filter in the query string) go through
`parse_int`, which has the same bounds and accepts ASCII digits only ("²".isdigit() is true, but
int("²") raises).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

INT64_MAX = 2**63 - 1  # the largest integer SQLite and PostgreSQL (BIGINT) store
YEAR_MIN, YEAR_MAX = 1900, 2100  # a school year is named by the calendar year it starts in
PAGE_MAX = 1_000_000  # pages of a list (the offset stays far below INT64_MAX)

RowId = Annotated[int, Field(ge=1, le=INT64_MAX)]  # a stored row's id: users, grants, tasks, warnings, ...
Year = Annotated[int, Field(ge=YEAR_MIN, le=YEAR_MAX)]  # a school year (2024 = 2024—2025 学年)
Page = Annotated[int, Field(ge=1, le=PAGE_MAX)]  # a page number, from 1
Version = Annotated[int, Field(ge=0, le=INT64_MAX)]  # a row's version as read (optimistic locking)
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]  # a count a handler checks further itself (e.g. forecast years)

_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_int(text: object, low: int = -INT64_MAX - 1, high: int = INT64_MAX) -> int | None:
    """`text` as an integer within [low, high], or None when it is not one (ASCII digits with an
    optional minus sign; surrounding blanks ignored)."""
    if text is None:
        return None
    value = str(text).strip()
    negative = value.startswith("-")
    if not _DIGITS.fullmatch(value.removeprefix("-")):
        return None
    number = -int(value[1:]) if negative else int(value)
    return number if low <= number <= high else None


# ---------------------------------------------------------------- text

_SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATE_MESSAGE = "含有无法保存的字符(不成对的 UTF-16 代理码位 U+D800–U+DFFF),请检查输入"


def _no_surrogates(text: str) -> str:
    """JSON may escape a lone surrogate ("\\ud800"); such a string is no text and cannot be
    stored (UTF-8 has no encoding for it)."""
    if _SURROGATE.search(text):
        raise ValueError(SURROGATE_MESSAGE)
    return text


def has_surrogates(text: str) -> bool:
    return bool(_SURROGATE.search(text))


Text = Annotated[str, AfterValidator(_no_surrogates)]  # every string of a JSON body


def text_of_at_most(max_length: int):
    """`Text` of at most `max_length` characters (the limit checked first: its message stays
    "过长(最多 … 个字)")."""
    return Annotated[str, StringConstraints(max_length=max_length), AfterValidator(_no_surrogates)]


# what the parameters are called on a page's error message ("页码应不大于 1000000")
PARAM_LABELS = {"year": "学年", "prefill": "预填学年", "page": "页码", "years": "预测年数", "user_id": "用户编号",
                "grant_id": "授权编号", "task_id": "任务编号", "attachment_id": "附件编号", "warning_id": "预警编号",
                "subscription_id": "订阅编号", "version": "版本号"}

"""What every /api/v1 module shares: the route class that turns errors into Chinese JSON (and
rolls back whatever the request had begun), object look-ups (unknown → 404), scope checks
(outside → 403) and a row-scoped diff of incoming values against the store.

Error bodies: `{"detail": "中文说明"}`, and for validation (422) also
`{"errors": [{"field": key, "message": ..., "expected": ..., "value": ...}]}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from junheng.data.catalog import catalog
from junheng.data.problems import DatasetInvalid, Problem
from junheng.engine.evaluate import NothingToEvaluate
from junheng.errors import JunhengError
from junheng.store import repo
from junheng.store.models import OrgNode, School
from junheng.store.repo import Change, StoreError
from junheng.store.users import Access
from junheng.web.params import SURROGATE_MESSAGE

LOCKED_STATES = repo.LOCKED_STATES  # the store's lock rule (repo.locks)


class ApiError(Exception):
    """An API refusal with its status and Chinese message (and field errors for 422)."""

    def __init__(self, status: int, detail: str, errors: list[dict] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"detail": self.detail}
        if self.errors is not None:
            body["errors"] = self.errors
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(body, status_code=self.status, headers=headers)


def forbidden(detail: str) -> ApiError:
    return ApiError(403, detail)


def not_found(detail: str) -> ApiError:
    return ApiError(404, detail)


def conflict(detail: str) -> ApiError:
    return ApiError(409, detail)


# ---------------------------------------------------------------- errors → JSON


def store_error(exc: StoreError) -> ApiError:
    """StoreError carries user errors of several kinds; the API tells them apart by status."""
    message = exc.user_message()
    if isinstance(exc, repo.NotWritable):
        return conflict(message)
    if isinstance(exc, repo.SubmitIncomplete):
        return ApiError(422, message, [{"field": key, "message": text, "expected": "在校生数(人)", "value": None}
                                       for key, text in exc.fields.items()])
    if isinstance(exc, repo.CountyNotFound) or message.startswith("没有"):
        return not_found(message)
    if "已锁定" in message or message.startswith("当前状态为"):
        return conflict(message)
    return ApiError(400, message)


def problems_error(exc: DatasetInvalid, table: str) -> ApiError:
    errors = [problem_json(p, table) for p in exc.problems]
    return ApiError(422, f"数据校验未通过(共 {len(errors)} 处问题),未做任何修改", errors)


def problem_json(problem: Problem, table: str) -> dict:
    where = "" if problem.table == table else f"{problem.table_label}:"  # e.g. the stored roster row
    label = f"“{problem.column_label}”" if problem.column_label else ""
    value = f"取值“{problem.value}”" if problem.value is not None else ""
    return {"field": problem.column, "message": f"{where}{label}{value}{problem.message}",
            "expected": problem.expected, "value": problem.value}


PYDANTIC_MESSAGES = {
    "missing": "缺少此项",
    "extra_forbidden": "不是可用的参数",
    "int_parsing": "应为整数", "int_type": "应为整数", "int_from_float": "应为整数", "int_parsing_size": "数值过大",
    "string_unicode": SURROGATE_MESSAGE,
    "bool_parsing": "应为 true 或 false", "bool_type": "应为 true 或 false",
    "string_type": "应为文本", "float_parsing": "应为数字", "float_type": "应为数字",
    "dict_type": "应为 JSON 对象", "model_type": "应为 JSON 对象", "model_attributes_type": "应为 JSON 对象",
    "json_invalid": "请求体不是有效的 JSON", "json_type": "请求体不是有效的 JSON",
    "greater_than_equal": "应不小于 {ge}", "less_than_equal": "应不大于 {le}",
    "greater_than": "应大于 {gt}", "less_than": "应小于 {lt}", "value_error": "{error}",
    "string_too_long": "过长(最多 {max_length} 个字)",
    "literal_error": "应为以下之一:{expected}",
}
SCALAR_MESSAGE = "取值类型不对:应为文本、数字、true/false 或 null"


def request_errors(exc: RequestValidationError) -> ApiError:
    """Pydantic's errors in Chinese; one entry per field (a scalar union reports each member)."""
    grouped: dict[tuple, list[dict]] = {}
    for error in exc.errors():
        grouped.setdefault(tuple(error["loc"]), []).append(error)
    # a value refused as such (a lone surrogate) rather than for its type: said so, not SCALAR_MESSAGE
    refused = {tuple(e["loc"][:3]): str(e["ctx"]["error"]) for e in exc.errors()
               if e["type"] == "value_error" and tuple(e["loc"][:2]) == ("body", "values") and len(e["loc"]) >= 3}
    errors = []
    for loc, items in grouped.items():
        parts = [str(p) for p in (loc[1:] if loc and loc[0] in ("body", "path", "query", "header") else loc)]
        error = items[0]
        if len(parts) >= 2 and parts[0] == "values":  # a value of the values object: name its field key
            parts, message = parts[1:2], refused.get(tuple(loc[:3]), SCALAR_MESSAGE)
        elif error["type"] in ("json_invalid", "json_type"):
            parts, message = [], PYDANTIC_MESSAGES[error["type"]]
        elif not parts and error["type"] == "missing":
            message = "缺少请求体(JSON 对象)"
        else:
            template = PYDANTIC_MESSAGES.get(error["type"])
            try:
                message = template.format(**(error.get("ctx") or {})) if template else error["msg"]
            except (KeyError, IndexError):
                message = template or error["msg"]
        # a key typed by the client is echoed; a lone surrogate in it is shown escaped (it has no UTF-8)
        field = ".".join(parts).encode("utf-8", "backslashreplace").decode("utf-8")
        entry = {"field": field or None, "message": message, "expected": None, "value": None}
        if entry not in errors:  # a union of scalar types reports once per member
            errors.append(entry)
    return ApiError(422, "请求参数有误", errors)


JSON_EXAMPLE = "一个 JSON 对象,UTF-8 编码,请求头 Content-Type: application/json(各接口的字段见 /api/v1/docs)"


def body_error(message: str) -> ApiError:
    return ApiError(422, "请求参数有误", [{"field": None, "message": message, "expected": JSON_EXAMPLE, "value": None}])


def _not_json_constant(name: str):
    raise ValueError(name)


async def json_body_refusal(request: Request) -> ApiError | None:
    """A request body that is not a JSON object as the API documents it, refused before FastAPI
    reads it (its own messages are English, and a deeply nested body gives it a bare 400): the
    documented 422 in Chinese, saying where the JSON breaks. An empty body is left to the route
    (optional for some, "缺少请求体" for the others)."""
    body = await request.body()  # kept by Starlette: the route reads the same bytes
    if not body:
        return None
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if not (media == "application/json" or (media.startswith("application/") and media.endswith("+json"))):
        said = f"收到的是“{content_type[:80]}”" if content_type else "请求没有 Content-Type"
        return body_error(f"请求体应为 JSON,请求头应为 Content-Type: application/json({said})")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return body_error(f"请求体不是 UTF-8 编码的文本(第 {exc.start + 1} 个字节无法解码),JSON 须用 UTF-8 编码")
    try:
        json.loads(text, parse_constant=_not_json_constant)
    except json.JSONDecodeError as exc:
        return body_error(f"请求体不是有效的 JSON:第 {exc.lineno} 行第 {exc.colno} 列有误")
    except ValueError as exc:  # NaN, Infinity: Python reads them, JSON has no such numbers
        return body_error(f"请求体不是有效的 JSON:{exc} 不是 JSON 数值(应为有限的数字,或 null)")
    except RecursionError:
        return body_error("请求体不是可接受的 JSON:嵌套层次过深")
    return None


class ApiRoute(APIRoute):
    """Every API error becomes JSON; a refused request leaves the database as it was.

    The session dependency commits when the request ends without an exception, and turning an
    exception into a response here ends it without one, so the session is rolled back first.
    A route that reads a JSON body refuses a body that is not one first (`json_body_refusal`)."""

    def get_route_handler(self) -> Callable:
        original = super().get_route_handler()
        reads_body = self.body_field is not None

        async def handler(request: Request) -> Response:
            try:
                if reads_body and (refused := await json_body_refusal(request)) is not None:
                    return refused.response()
                return await original(request)
            except Exception as exc:
                error = _as_api_error(exc)
                if error is None:
                    raise
                session = getattr(request.state, "api_session", None)
                if session is not None:
                    session.rollback()
                return error.response()

        return handler


def _as_api_error(exc: Exception) -> ApiError | None:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RequestValidationError):
        return request_errors(exc)
    if isinstance(exc, HTTPException):
        return ApiError(exc.status_code, exc.detail if isinstance(exc.detail, str) else "请求有误")
    if isinstance(exc, StoreError):
        return store_error(exc)
    if isinstance(exc, NothingToEvaluate):
        return not_found(exc.user_message())
    if isinstance(exc, JunhengError):
        return ApiError(400, exc.user_message())
    if isinstance(exc, IntegrityError):  # two clients created the same row at once
        return conflict("数据刚被他人同时修改,未保存;请重新读取后再试")
    return None


def remember_session(request: Request, session: Session) -> Session:
    request.state.api_session = session
    return session


# ---------------------------------------------------------------- look-ups and scope


def get_county(session: Session, code: str) -> OrgNode:
    """The store's one county look-up (a deleted county is not found), unknown → 404."""
    try:
        return repo.county_by_code(session, code)
    except repo.CountyNotFound as exc:
        raise not_found(exc.user_message()) from None


def get_school(session: Session, code: str) -> School:
    # with its county in the same query (every caller names or checks it)
    school = session.scalar(select(School).where(School.code == code, School.deleted_at.is_(None))
                            .options(joinedload(School.county)))
    if school is None:
        raise not_found(f"没有学校标识码为 {code} 的学校")
    return school


def read_county(access: Access, county: OrgNode) -> None:
    if not access.can_read_county(county):
        raise forbidden(f"无权访问县区 {county.code}")


def read_school(access: Access, school: School) -> None:
    if not access.can_read_school(school):
        raise forbidden(f"无权访问学校 {school.code}")


def ancestors_and_self(county: OrgNode) -> set[int]:
    out, node = set(), county
    while node is not None:
        out.add(node.id)
        node = node.parent
    return out


def can_run_evaluation(access: Access, county: OrgNode) -> bool:
    """Admins, the county's admins and supervisors over it start evaluations; viewers and
    school fillers read results only."""
    if access.admin or access.can_manage_county(county):
        return True
    above = ancestors_and_self(county)
    return any(g.role == "supervisor" and g.org_node_id in above for g in access.grants)


# ---------------------------------------------------------------- values in and out


def field_keys(table: str, values: dict[str, Any], identity: tuple[str, ...]) -> dict[str, Any]:
    """Incoming values keyed by field key (a Chinese column label is accepted like in a sheet);
    unknown fields and the row's identity fields are refused with every problem listed."""
    spec = catalog().table(table)
    by_label = {f.label: f.key for f in spec.fields}
    keys = {f.key for f in spec.fields}
    out, errors = {}, []
    for name, value in values.items():
        key = name.strip() if name.strip() in keys else by_label.get(name.strip())
        if key is None:
            errors.append({"field": name, "message": f"不是{spec.label}的字段", "value": None,
                           "expected": f"{spec.label}({table})的字段键或中文列名,见数据格式说明"})
        elif key in identity:
            errors.append({"field": key, "message": "由请求地址确定,不能在 values 中填写或修改", "value": None,
                           "expected": "从 values 中删去此项"})
        elif key in out:
            errors.append({"field": key, "message": "重复:字段键和中文列名指向同一字段", "value": None,
                           "expected": "每个字段只填一次"})
        else:
            out[key] = value
    if errors:
        raise ApiError(422, f"数据校验未通过(共 {len(errors)} 处问题),未做任何修改", errors)
    return out


def visible_values(values: dict) -> dict:
    return {k: v for k, v in values.items() if v is not None}


def merged(stored: dict, incoming: dict) -> tuple[dict, set[str]]:
    """The row as it will be stored, and the fields the request empties (null)."""
    row = visible_values(stored)
    erased = {k for k, v in incoming.items() if v is None or (isinstance(v, str) and not v.strip())}
    for key, value in incoming.items():
        if key in erased:
            row.pop(key, None)
        else:
            row[key] = value
    return row, {k for k in erased if stored.get(k) is not None}


def roster_rows(session: Session, school: School) -> list[dict]:
    """The school's roster row (and its central school's, for a teaching point), as stored, so
    validation checks segments against the school type exactly like an import does."""
    rows = [_roster_row(school)]
    parent_code = school.values.get("parent_school_id")
    if parent_code and parent_code != school.code:
        parent = session.scalar(select(School).where(School.code == parent_code))
        if parent is not None:
            rows.append(_roster_row(parent))
    return rows


def _roster_row(school: School) -> dict:
    return {"school_id": school.code, "school_name": school.name, "county_code": school.county.code,
            "county_name": school.county.name, "school_type": school.school_type,
            **visible_values(school.values)}


def change_json(change: Change) -> dict:
    return {"field": change.field, "label": change.label, "old": change.old, "new": change.new}

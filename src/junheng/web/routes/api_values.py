"""JSON API: reading and writing yearly values (school_year, county_year) and the approval
workflow. A write is validated with exactly the import's rules (`validate_rows`, with the
school's roster row so segments are checked against the school type), compared with the store
and applied through `repo.apply(via="api")`, one audit entry per changed value, all or nothing.
Submitted and approved rows are locked (409); a stale `version` is refused (409): both by the
store's one rule (`repo.check_writable`), which the forms call too. Submitting a school year
without its student counts is refused (422, `repo.check_submittable` inside `repo.transition`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from junheng.data.importer import validate_rows
from junheng.data.problems import DatasetInvalid
from junheng.store import repo
from junheng.store.models import CountyYear, OrgNode, School, SchoolYear
from junheng.store.repo import ACTION_LABELS, STATE_LABELS, Change, YearNotOpen
from junheng.web.deps import Viewer, api_viewer
from junheng.web.params import Year
from junheng.web.routes.api import api_db, bearer
from junheng.web.routes.api_common import (
    LOCKED_STATES,
    ApiError,
    ApiRoute,
    change_json,
    field_keys,
    forbidden,
    get_county,
    get_school,
    merged,
    not_found,
    problems_error,
    read_county,
    read_school,
    roster_rows,
    visible_values,
)
from junheng.web.schemas import (
    READ_RESPONSES,
    WRITE_RESPONSES,
    CountyYearOut,
    CountyYearWriteOut,
    SchoolYearOut,
    SchoolYearWriteOut,
    TransitionIn,
    TransitionOut,
    ValuesIn,
)

router = APIRouter(prefix="/api/v1", route_class=ApiRoute, dependencies=[Depends(bearer)])

# a bounded year (junheng.web.params): 2⁶³ is refused (422) before it reaches a query
YearPath = Annotated[Year, Path(description="学年(开始年份),2024 表示 2024—2025 学年")]


# ---------------------------------------------------------------- shared


def _school_year(session: Session, school: School, year: int, *, lock: bool = False) -> SchoolYear | None:
    where = (SchoolYear.school_id == school.id, SchoolYear.year == year)
    if lock:
        _lock(session, SchoolYear, where)
    return session.scalar(select(SchoolYear).where(*where).execution_options(populate_existing=lock))


def _county_year(session: Session, county: OrgNode, year: int, *, lock: bool = False) -> CountyYear | None:
    where = (CountyYear.county_id == county.id, CountyYear.year == year)
    if lock:
        _lock(session, CountyYear, where)
    return session.scalar(select(CountyYear).where(*where).execution_options(populate_existing=lock))


def _lock(session: Session, model, where) -> None:
    """Take the row's write lock before reading it for a change, so that two saves at once are
    serialised and the second sees the first (its version, its values): a no-op UPDATE locks
    the row on PostgreSQL and starts SQLite's write transaction (SELECT … FOR UPDATE would do
    nothing on SQLite, whose reads outside a write transaction may be stale by then)."""
    session.execute(update(model).where(*where).values(version=model.version))


def _state(row: SchoolYear | CountyYear) -> dict:
    return {"year": row.year, "status": row.status, "status_label": STATE_LABELS[row.status],
            "status_note": row.status_note, "locked": row.status in LOCKED_STATES, "version": row.version,
            "updated_at": row.updated_at, "values": visible_values(row.values)}


def _write(session: Session, viewer: Viewer, *, table: str, entity: str, key: str, county_code: str,
           stored: dict, incoming: dict, rows: dict[str, list[dict]], known: tuple) -> list[Change]:
    """Validate the row as it will be stored, then apply exactly its changes (audited). `known`:
    the county, school and row read (the row under its write lock), which `repo.apply` takes as
    they are instead of reading them again."""
    try:
        dataset = validate_rows(rows, source="API")
    except DatasetInvalid as exc:
        raise problems_error(exc, table) from None
    # only this row, against its stored values read above: the roster row is context for
    # validation and never written through here
    changes = repo.row_changes(dataset, entity, key, stored)
    _, erased = merged(stored, incoming)
    changes += [Change(entity, key, county_code, field, stored[field], None) for field in sorted(erased)]
    repo.apply(session, changes, user=viewer.user, via="api", known=known)
    session.commit()  # before answering: a client reading right after sees its write
    return changes


def _year_open(year: int) -> None:
    """The store's one rule (`repo.check_year_open`), asked before anything is read or made."""
    try:
        repo.check_year_open(year)
    except YearNotOpen as exc:
        raise ApiError(422, exc.user_message(), [{"field": "year", "message": exc.user_message(),
                                                  "expected": f"不晚于 {repo.last_open_year()} 的学年", "value": year}]) \
            from None


def _require_values(values: dict) -> None:
    if not values:
        raise ApiError(422, "没有要修改的字段", [{"field": "values", "message": "至少填写一个字段",
                                                 "expected": "{字段键: 取值}", "value": None}])


# ---------------------------------------------------------------- school_year


@router.get("/schools/{code}/years/{year}", response_model=SchoolYearOut, summary="读取学校某学年的填报数据",
            tags=["数据填报"], responses=READ_RESPONSES)
def get_school_year(code: str, year: YearPath, viewer: Viewer = Depends(api_viewer),
                    session: Session = Depends(api_db)):
    school = get_school(session, code)
    read_school(viewer.access, school)
    row = _school_year(session, school, year)
    if row is None or row.deleted_at is not None:
        raise not_found(f"学校 {code} 还没有 {year} 学年的数据")
    return SchoolYearOut(school_id=school.code, school_name=school.name, county_code=school.county.code, **_state(row))


@router.put("/schools/{code}/years/{year}", response_model=SchoolYearWriteOut, summary="修改学校某学年的填报数据",
            tags=["数据填报"], responses={**WRITE_RESPONSES, 201: {"model": SchoolYearWriteOut,
                                                                   "description": "新建了该学年的数据(草稿)"}})
def put_school_year(body: ValuesIn, response: Response, code: str, year: YearPath,
                    viewer: Viewer = Depends(api_viewer), session: Session = Depends(api_db)):
    """只修改 `values` 中列出的字段(null 表示清空),按与导入完全相同的规则校验整行(含学校类型与学段的一致性),
    每项修改记入审计日志。本校填报员、该县区的县级管理员和系统管理员可以修改;已提交或已审核的数据已锁定(409)。
    该学年还没有数据时新建为草稿(201)。"""
    school = get_school(session, code)
    if not viewer.access.can_edit_school(school):
        read_school(viewer.access, school)
        raise forbidden(f"无权修改学校 {code} 的数据(只有本校填报员和县级管理员可以修改)")
    incoming = field_keys("school_year", body.values, ("school_id", "year"))
    _require_values(incoming)
    _year_open(year)
    row = _school_year(session, school, year, lock=True)
    repo.check_writable(session, school, year, row, version=body.version, held=True)  # NotWritable → 409
    stored = dict(row.values) if row is not None else {}
    values, _ = merged(stored, incoming)
    rows = {"schools": roster_rows(session, school), "school_year": [{"school_id": school.code, "year": year, **values}]}
    changes = _write(session, viewer, table="school_year", entity="school_year", key=f"{school.code}/{year}",
                     county_code=school.county.code, stored=stored, incoming=incoming, rows=rows,
                     known=(school.county, school, row))
    saved = row if row is not None else _school_year(session, school, year)  # (`row` is the object apply changed)
    if saved is None:  # nothing to store (only empty values for a year without data)
        raise not_found(f"学校 {code} 还没有 {year} 学年的数据,清空不存在的数据没有意义")
    if row is None:
        response.status_code = 201
    return SchoolYearWriteOut(school_id=school.code, school_name=school.name, county_code=school.county.code,
                              changes=[change_json(c) for c in changes], **_state(saved))


# ---------------------------------------------------------------- county_year


@router.get("/counties/{code}/years/{year}", response_model=CountyYearOut, summary="读取县级某年度数据",
            tags=["数据填报"], responses=READ_RESPONSES)
def get_county_year(code: str, year: YearPath, viewer: Viewer = Depends(api_viewer),
                    session: Session = Depends(api_db)):
    county = get_county(session, code)
    read_county(viewer.access, county)
    row = _county_year(session, county, year)
    if row is None or row.deleted_at is not None:
        raise not_found(f"县区 {code} 还没有 {year} 年度的县级数据")
    return CountyYearOut(county_code=county.code, county_name=county.name, **_state(row))


@router.put("/counties/{code}/years/{year}", response_model=CountyYearWriteOut, summary="修改县级某年度数据",
            tags=["数据填报"], responses={**WRITE_RESPONSES, 201: {"model": CountyYearWriteOut,
                                                                   "description": "新建了该年度的县级数据(草稿)"}})
def put_county_year(body: ValuesIn, response: Response, code: str, year: YearPath,
                    viewer: Viewer = Depends(api_viewer), session: Session = Depends(api_db)):
    """规则同学校数据;该县区的县级管理员和系统管理员可以修改。"""
    county = get_county(session, code)
    if not viewer.access.can_manage_county(county):
        read_county(viewer.access, county)
        raise forbidden(f"无权修改县区 {code} 的县级数据(只有该县区的县级管理员可以修改)")
    incoming = field_keys("county_year", body.values, ("county_code", "year"))
    _require_values(incoming)
    _year_open(year)
    row = _county_year(session, county, year, lock=True)
    repo.check_writable(session, county, year, row, version=body.version, held=True)  # NotWritable → 409
    stored = dict(row.values) if row is not None else {}
    values, _ = merged(stored, incoming)
    rows = {"counties": [{"county_code": county.code, "county_name": county.name}],
            "county_year": [{"county_code": county.code, "year": year, **values}]}
    changes = _write(session, viewer, table="county_year", entity="county_year", key=f"{county.code}/{year}",
                     county_code=county.code, stored=stored, incoming=incoming, rows=rows, known=(county, row))
    saved = _county_year(session, county, year)
    if saved is None:
        raise not_found(f"县区 {code} 还没有 {year} 年度的县级数据,清空不存在的数据没有意义")
    if row is None:
        response.status_code = 201
    return CountyYearWriteOut(county_code=county.code, county_name=county.name,
                              changes=[change_json(c) for c in changes], **_state(saved))


# ---------------------------------------------------------------- workflow

ACTION_HELP = {
    "submit": "提交审核(本校填报员、县级管理员)。提交后数据锁定。",
    "approve": "审核通过(该县区的县级管理员)。通过后的数据用于评估并锁定。",
    "return": "退回修改(该县区的县级管理员),必须填写退回意见 `note`。",
    "reopen": "重新开放已审核的数据以便修改(该县区的县级管理员),状态回到草稿。",
}
COUNTY_ACTION_HELP = "县级数据的提交、审核、退回和重新开放都由该县区的县级管理员(或系统管理员)操作。"


def _transition(session: Session, viewer: Viewer, owner: School | OrgNode, year: int,
                row: SchoolYear | CountyYear | None, action: str, body: TransitionIn | None) -> TransitionOut:
    body = body or TransitionIn()
    if row is None or row.deleted_at is not None:
        raise not_found(f"{repo.row_label(owner, year)}还没有数据")
    if body.version is not None and body.version != row.version:
        repo.check_writable(session, owner, year, row, version=body.version)  # the store's stale message
    if action == "return" and not (body.note or "").strip():
        raise ApiError(422, "退回时请填写退回意见", [{"field": "note", "message": "退回时必填",
                                                     "expected": "退回意见,如需要更正的数据", "value": None}])
    repo.transition(session, row, action, user=viewer.user, via="api", note=body.note)
    session.commit()
    return TransitionOut(action=action, action_label=ACTION_LABELS[action], status=row.status,
                         status_label=STATE_LABELS[row.status], status_note=row.status_note, version=row.version)


def _school_action(action: str) -> Callable:
    def endpoint(code: str, year: YearPath, body: TransitionIn | None = None, viewer: Viewer = Depends(api_viewer),
                 session: Session = Depends(api_db)) -> TransitionOut:
        school = get_school(session, code)
        allowed = (viewer.access.can_edit_school(school) if action == "submit"
                   else viewer.access.can_manage_county(school.county))
        if not allowed:
            read_school(viewer.access, school)
            who = "本校填报员或县级管理员" if action == "submit" else "该县区的县级管理员"
            raise forbidden(f"无权{ACTION_LABELS[action]}学校 {code} 的数据(只有{who}可以操作)")
        row = _school_year(session, school, year, lock=True)
        return _transition(session, viewer, school, year, row, action, body)

    endpoint.__name__ = f"school_year_{action}"
    return endpoint


def _county_action(action: str) -> Callable:
    def endpoint(code: str, year: YearPath, body: TransitionIn | None = None, viewer: Viewer = Depends(api_viewer),
                 session: Session = Depends(api_db)) -> TransitionOut:
        county = get_county(session, code)
        if not viewer.access.can_manage_county(county):
            read_county(viewer.access, county)
            raise forbidden(f"无权{ACTION_LABELS[action]}县区 {code} 的县级数据(只有该县区的县级管理员可以操作)")
        row = _county_year(session, county, year, lock=True)
        return _transition(session, viewer, county, year, row, action, body)

    endpoint.__name__ = f"county_year_{action}"
    return endpoint


for _action in ("submit", "approve", "return", "reopen"):
    router.add_api_route(f"/schools/{{code}}/years/{{year}}/{_action}", _school_action(_action), methods=["POST"],
                         response_model=TransitionOut, summary=f"学校数据:{ACTION_LABELS[_action]}",
                         description=ACTION_HELP[_action], tags=["审核流程"], responses=WRITE_RESPONSES)
for _action in ("submit", "approve", "return", "reopen"):
    router.add_api_route(f"/counties/{{code}}/years/{{year}}/{_action}", _county_action(_action), methods=["POST"],
                         response_model=TransitionOut, summary=f"县级数据:{ACTION_LABELS[_action]}",
                         description=COUNTY_ACTION_HELP, tags=["审核流程"], responses=WRITE_RESPONSES)

"""JSON API under /api/v1 (OpenAPI at /api/v1/docs): who am I, the organisation tree, counties
and schools, evaluation results and runs. Data values and the workflow are in api_values.py.

Machine clients send `Authorization: Bearer <token>` (made with `junheng tokens create`) and act
with the token's user's scope; a logged-in browser may use its session (writes then need the
X-CSRF-Token header). Every endpoint checks the caller's scope on the server: outside it → 403,
unknown codes → 404, all errors as JSON with a Chinese `detail`.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPBearer
from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from junheng.data.catalog import catalog
from junheng.engine.result import VERDICT_LABELS
from junheng.services import evaluate_stored, year_progress
from junheng.store import repo
from junheng.store.models import EvaluationRun, OrgNode, School, SchoolYear
from junheng.store.repo import STATE_LABELS
from junheng.store.users import ROLE_LABELS
from junheng.web.deps import REQUEST_SESSION, Viewer, api_viewer
from junheng.web.params import Year
from junheng.web.routes.api_common import (
    ApiRoute,
    can_run_evaluation,
    forbidden,
    get_county,
    get_school,
    not_found,
    read_county,
    read_school,
    remember_session,
    visible_values,
)
from junheng.web.schemas import (
    READ_RESPONSES,
    WRITE_RESPONSES,
    CountyOut,
    EvaluationRunIn,
    EvaluationRunOut,
    MeOut,
    SchoolOut,
    TreeNodeOut,
    YearStatusOut,
)

# Declares the Bearer scheme for /api/v1/docs ("Authorize"); api_viewer does the checking.
bearer = HTTPBearer(auto_error=False, scheme_name="API令牌",
                    description="用 `junheng tokens create 用户名 --name 用途` 生成;请求头 Authorization: Bearer <令牌>")


def api_db(request: Request, session: Session = REQUEST_SESSION) -> Session:
    """The request's session, remembered so that a refused request can be rolled back."""
    return remember_session(request, session)


router = APIRouter(prefix="/api/v1", route_class=ApiRoute, dependencies=[Depends(bearer)])


# ---------------------------------------------------------------- users and the tree


@router.get("/me", response_model=MeOut, summary="当前用户及其权限范围", tags=["用户与组织"],
            responses=READ_RESPONSES)
def me(viewer: Viewer = Depends(api_viewer), session: Session = Depends(api_db)):
    access = viewer.access
    manage = session.scalars(select(OrgNode.code).where(OrgNode.id.in_(access.manage_counties))).all()
    fill = session.scalars(select(School.code).where(School.id.in_(access.fill_schools))).all()
    return MeOut(username=viewer.user.username, display_name=viewer.user.display_name, roles=access.roles,
                 role_labels=[ROLE_LABELS[r] for r in access.roles], manage_counties=sorted(manage),
                 fill_schools=sorted(fill))


def county_out(county: OrgNode) -> CountyOut:
    up, node = {}, county.parent
    while node is not None:
        up[node.kind] = node.name
        node = node.parent
    return CountyOut(code=county.code, name=county.name, standard=county.standard,
                     basic_balance_year=county.basic_balance_year, target_year=county.target_year,
                     certified_year=county.certified_year, resident_population=county.resident_population,
                     city=up.get("city"), province=up.get("province"))


@router.get("/tree", response_model=list[TreeNodeOut], summary="组织树:省 → 市 → 县区(仅限可访问的县区)",
            tags=["用户与组织"], responses=READ_RESPONSES)
def tree(viewer: Viewer = Depends(api_viewer), session: Session = Depends(api_db)):
    """省、市只作为可访问县区的上级出现;学校填报员不能查看县区,得到空列表(可填报的学校见 /me)。"""
    nodes: dict[int, TreeNodeOut] = {}
    roots: list[TreeNodeOut] = []
    for county in viewer.access.readable_counties(session):
        child = TreeNodeOut(kind="county", code=county.code, name=county.name, standard=county.standard,
                            target_year=county.target_year, certified_year=county.certified_year,
                            can_manage=viewer.access.can_manage_county(county))
        parent = county.parent
        while True:
            if parent is None:
                roots.append(child)
                break
            if parent.id in nodes:
                nodes[parent.id].children.append(child)
                break
            nodes[parent.id] = TreeNodeOut(kind=parent.kind, code=parent.code, name=parent.name, children=[child])
            child, parent = nodes[parent.id], parent.parent

    def ordered(items: list[TreeNodeOut]) -> list[TreeNodeOut]:
        for item in items:
            item.children = ordered(item.children)
        return sorted(items, key=lambda n: n.code)

    return ordered(roots)


@router.get("/counties", response_model=list[CountyOut], summary="可访问的县区", tags=["用户与组织"],
            responses=READ_RESPONSES)
def counties(viewer: Viewer = Depends(api_viewer), session: Session = Depends(api_db)):
    return [county_out(c) for c in viewer.access.readable_counties(session)]


@router.get("/counties/{code}", response_model=CountyOut, summary="县区信息", tags=["用户与组织"],
            responses=READ_RESPONSES)
def county(code: str, viewer: Viewer = Depends(api_viewer), session: Session = Depends(api_db)):
    node = get_county(session, code)
    read_county(viewer.access, node)
    return county_out(node)


# ---------------------------------------------------------------- schools


def _year_statuses(rows: list[SchoolYear]) -> list[YearStatusOut]:
    return [YearStatusOut(year=r.year, status=r.status, status_label=STATE_LABELS[r.status], version=r.version,
                          updated_at=r.updated_at) for r in sorted(rows, key=lambda r: r.year)]


def school_out(school: School, rows: list[SchoolYear], viewer: Viewer) -> SchoolOut:
    types = catalog().school_types
    return SchoolOut(school_id=school.code, school_name=school.name, county_code=school.county.code,
                     county_name=school.county.name, school_type=school.school_type,
                     school_type_label=types[school.school_type].label if school.school_type in types
                     else school.school_type,
                     attributes=visible_values(school.values), years=_year_statuses(rows),
                     can_edit=viewer.access.can_edit_school(school))


@router.get("/counties/{code}/schools", response_model=list[SchoolOut], summary="县区的学校名录",
            tags=["学校"], responses=READ_RESPONSES)
def county_schools(code: str, viewer: Viewer = Depends(api_viewer), session: Session = Depends(api_db)):
    node = get_county(session, code)
    read_county(viewer.access, node)
    schools = session.scalars(select(School).where(School.county_id == node.id, School.deleted_at.is_(None))
                              .order_by(School.code)).all()
    rows = session.scalars(select(SchoolYear).where(SchoolYear.school_id.in_([s.id for s in schools]),
                                                    SchoolYear.deleted_at.is_(None))).all()
    by_school: dict[int, list[SchoolYear]] = {}
    for row in rows:
        by_school.setdefault(row.school_id, []).append(row)
    return [school_out(s, by_school.get(s.id, []), viewer) for s in schools]


@router.get("/schools/{code}", response_model=SchoolOut, summary="学校信息及各学年审核状态", tags=["学校"],
            responses=READ_RESPONSES)
def school(code: str, viewer: Viewer = Depends(api_viewer), session: Session = Depends(api_db)):
    found = get_school(session, code)
    read_school(viewer.access, found)
    rows = session.scalars(select(SchoolYear).where(SchoolYear.school_id == found.id,
                                                    SchoolYear.deleted_at.is_(None))).all()
    return school_out(found, rows, viewer)


# ---------------------------------------------------------------- evaluation


@router.get("/counties/{code}/evaluation", summary="县区评估结果(JSON 约定格式)", tags=["评估"],
            responses=READ_RESPONSES)
def evaluation(code: str, year: Year | None = Query(None, description="学年;不填则为数据完整的最近一个学年"
                                                                    "(尚无完整学年时为有已审核数据的最近一年,结论为数据不完整)"),
               viewer: Viewer = Depends(api_viewer), session: Session = Depends(api_db)) -> dict:
    """返回 docs/json-contract.md 约定的评估结果对象(只用已审核数据,`coverage` 说明覆盖了哪些学校),
    另加 `run`:评估记录编号、数据指纹;`progress`:数据完整的学年和正在填报的学年。"""
    node = get_county(session, code)
    read_county(viewer.access, node)
    result, run, years = evaluate_stored(session, code, year, user_id=viewer.user_id)
    if year is not None and result.year != year:
        raise not_found(f"{node.name}没有 {year} 学年的已审核数据;可评估的学年:{'、'.join(map(str, years))}")
    progress = year_progress(session, node)
    return result.to_json() | {
        "run": {"id": run.id, "inputs_version": run.inputs_version, "approved_only": run.approved_only},
        "progress": {"complete_years": progress.complete_years,
                     "in_progress": [{"year": y, "schools_expected": c.schools_expected,
                                      "schools_included": c.schools_included, "county_year": c.county_year}
                                     for y, c in progress.in_progress]}}


@router.post("/counties/{code}/evaluations", status_code=201, response_model=EvaluationRunOut,
             summary="对县区运行一次评估", tags=["评估"], responses=WRITE_RESPONSES)
def run_evaluation(code: str, body: EvaluationRunIn | None = None, viewer: Viewer = Depends(api_viewer),
                   session: Session = Depends(api_db)):
    """系统管理员、该县区的县级管理员和上级督导可以运行评估。数据没有变化时沿用已有记录(`reused: true`)。
    `approved_only: false` 时包含未审核数据,结果仅供预览。"""
    body = body or EvaluationRunIn()
    node = get_county(session, code)
    read_county(viewer.access, node)
    if not can_run_evaluation(viewer.access, node):
        raise forbidden("只读用户和学校填报员不能运行评估;请查看已有的评估结果")
    before = session.scalar(select(func.max(EvaluationRun.id)).where(EvaluationRun.county_id == node.id)) or 0
    result, run, years = evaluate_stored(session, code, body.year, user_id=viewer.user_id,
                                         approved_only=body.approved_only)
    if body.year is not None and result.year != body.year:
        raise not_found(f"{node.name}没有 {body.year} 学年可评估的数据;可评估的学年:{'、'.join(map(str, years))}")
    out = EvaluationRunOut(run_id=run.id, county_code=code, year=run.year, standard=run.standard,
                           verdict=run.verdict, verdict_label=VERDICT_LABELS[run.verdict],
                           inputs_version=run.inputs_version, approved_only=run.approved_only,
                           reused=run.id <= before, created_at=run.created_at,
                           result_url=f"/api/v1/counties/{code}/evaluation?year={run.year}")
    session.commit()
    return out


@router.get("/counties/{code}/evaluations", response_model=list[EvaluationRunOut], summary="县区的评估记录",
            tags=["评估"], responses=READ_RESPONSES)
def evaluation_runs(code: str, viewer: Viewer = Depends(api_viewer), session: Session = Depends(api_db)):
    node = get_county(session, code)
    read_county(viewer.access, node)
    runs = session.scalars(select(EvaluationRun).options(defer(EvaluationRun.result))
                           .where(EvaluationRun.county_id == node.id).order_by(EvaluationRun.id.desc())).all()
    return [EvaluationRunOut(run_id=r.id, county_code=code, year=r.year, standard=r.standard, verdict=r.verdict,
                             verdict_label=VERDICT_LABELS[r.verdict], inputs_version=r.inputs_version,
                             approved_only=r.approved_only, reused=False, created_at=r.created_at,
                             result_url=f"/api/v1/counties/{code}/evaluation?year={r.year}") for r in runs]

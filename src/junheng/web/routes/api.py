"""JSON API under /api/v1 (OpenAPI at /api/v1/docs). Token or session authentication; every
endpoint checks the caller's scope on the server."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel
from sqlalchemy.orm import Session

from junheng.services import evaluate_stored
from junheng.store import repo
from junheng.web.deps import Viewer, api_viewer, db_session

router = APIRouter(prefix="/api/v1", tags=["v1"])


class CountyOut(BaseModel):
    code: str
    name: str
    standard: str | None
    target_year: int | None
    certified_year: int | None


class MeOut(BaseModel):
    username: str
    display_name: str
    roles: list[str]


@router.get("/me", response_model=MeOut, summary="当前用户")
def me(viewer: Viewer = Depends(api_viewer)):
    return MeOut(username=viewer.user.username, display_name=viewer.user.display_name, roles=viewer.access.roles)


@router.get("/counties", response_model=list[CountyOut], summary="可访问的县区")
def counties(viewer: Viewer = Depends(api_viewer), session: Session = Depends(db_session)):
    return [CountyOut(code=c.code, name=c.name, standard=c.standard, target_year=c.target_year,
                      certified_year=c.certified_year) for c in viewer.access.readable_counties(session)]


@router.get("/counties/{code}/evaluation", summary="县区评估结果(JSON 约定格式)")
def evaluation(code: str, year: int | None = None, viewer: Viewer = Depends(api_viewer),
               session: Session = Depends(db_session)) -> dict:
    county = repo.county_by_code(session, code)
    if not viewer.access.can_read_county(county):
        raise HTTPException(status_code=403, detail="无权访问该县区")
    result, run, _ = evaluate_stored(session, code, year, user=viewer.user)
    return result.to_json() | {"run": {"id": run.id, "inputs_version": run.inputs_version,
                                       "approved_only": run.approved_only}}

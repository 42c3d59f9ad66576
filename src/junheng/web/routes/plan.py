"""The planner in the web app (issue 6): a county's remediation plan (整改规划) on its stored,
approved data, the plan's downloads (the CLI's XLSX and JSON writers), "保存为方案" (the plan
saved as a named scenario) and the county's saved scenarios, each applied before and after.

Every page calls the planner's services (`junheng.planner.service`); nothing is recomputed here.
Planning takes seconds, so the handlers are plain `def` (FastAPI runs them in its threadpool).
Saved scenarios are YAML files of the workspace: `<workspace>/scenarios/<county code>/<name>.yaml`
(docs/methods.md, "Plan page and saved scenarios (web)").

The county's cost table (单价表, `<workspace>/costs/<county code>.yaml`) has its own page:
everyone who may read the plan sees the unit prices beside the built-in defaults; those who
manage the county edit them. A save is checked field by field (finite, within each price's
plausible range, named in Chinese), then written atomically through the loader that checks
every cost file, with one audit entry per changed price (entity "costs"); all or nothing.

Access: whoever may read the county (county admins, viewers, supervisors above it, the system
admin) sees plans, scenarios and unit prices; only those who manage the county (its county
admins and the system admin) save scenarios and edit the prices; school fillers get 403.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Mapping
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from junheng.amounts import AMOUNT, parse_amount
from junheng.data.dataset import Dataset
from junheng.engine.coverage import default_year
from junheng.errors import JunhengError
from junheng.planner.costs import (
    COST_ITEMS,
    COST_LABELS,
    MAX_DESCRIPTION,
    TEACHER_ITEMS,
    CostItem,
    CostTable,
    example_costs,
    load_costs,
    write_costs,
)
from junheng.planner.county import SEGMENT_LABELS
from junheng.planner.errors import CostFileError, PlannerError, ScenarioError, pydantic_problems
from junheng.planner.plan import MAX_YEARS, MODES, PlanOptions
from junheng.planner.result import MODE_LABELS, RULE_LABELS, Plan, item_labels
from junheng.planner.scenario import CHANGE_LABELS, check_name
from junheng.planner.support import UnsupportedStandard
from junheng.planner.service import (
    list_saved_scenarios,
    parse_budget,
    plan_county,
    planning_refusal,
    save_plan_as_scenario,
    scenario_for,
)
from junheng.schoolyear import LOCAL_TIME
from junheng.store import repo
from junheng.store.models import AuditEntry, OrgNode
from junheng.web.app import templates
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, county_for, current_viewer
from junheng.web.files import XLSX_TYPE, download, written
from junheng.web.routes.editing import form_data
from junheng.web.routes.pages import render

router = APIRouter(include_in_schema=False)

MODE_SHORT = {"both": "轮岗加投入", "build": "补充投入", "rotation": "交流轮岗"}
BUDGET_KINDS = {"per_year": "每年上限", "total": "方案期合计"}
PLAN_FIELDS = ("year", "mode", "budget", "budget_kind", "years", "minimum")
VERDICT_LABELS = {"pass": "达标", "fail": "未达标", "incomplete": "数据不全"}
FREE_LABELS = {"rotate_teachers": "交流轮岗", "divert_students": "分流学生", "rebalance_classes": "均衡编班"}
CACHE_SIZE = 8  # plans kept per process: the page, its downloads and "save" reuse one solve
UNPLANNABLE = 422  # the county's standard is not one the planner can plan for (the request is fine, the data not)



def _yuan(amount: float | None) -> str:
    return "—" if amount is None else f"{amount:,.0f} 元"


def _wan(amount: float | None) -> str:
    return "—" if amount is None else f"{amount / 10000:,.2f} 万元"


templates.env.filters["yuan"] = _yuan
templates.env.filters["wan"] = _wan


# ---------------------------------------------------------------- access, folders, data


def _county(session: Session, viewer: Viewer, code: str, *, manage: bool = False) -> OrgNode:
    return county_for(session, viewer, code, read="您没有权限查看该县区的整改规划和情景。",
                      manage="只有本县区的县级管理员(或系统管理员)可以保存情景;督导和只读用户可以查看方案和情景。"
                      if manage else None)


def _workspace(request: Request) -> Path:
    return request.app.state.settings.folder


def _safe(code: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]", "_", code) or "_"


def scenario_folder(request: Request, county: OrgNode) -> Path:
    return _workspace(request) / "scenarios" / _safe(county.code)


def costs_path(request: Request, county: OrgNode) -> Path:
    """Where the county's own cost table is (or would be): `<workspace>/costs/<county>.yaml`."""
    return _workspace(request) / "costs" / f"{_safe(county.code)}.yaml"


def _costs_file(request: Request, county: OrgNode) -> Path | None:
    """The county's own cost table when the workspace has one (`costs/<county>.yaml`)."""
    path = costs_path(request, county)
    return path if path.is_file() else None


def _stored(session: Session, county: OrgNode) -> tuple[Dataset, list[int]]:
    """The county's approved data, loaded as `services.evaluate_stored` loads it."""
    dataset = repo.load_dataset(session, [county.code], approved_only=True)
    years = sorted({y for c, y in dataset.county_year_pairs() if c == county.code})
    return dataset, years


def _default(dataset: Dataset, county: OrgNode, years: list[int]) -> int | None:
    return default_year(dataset, county.code, years) if years else None


# ---------------------------------------------------------------- the form


@dataclass(frozen=True)
class PlanRequest:
    year: int
    mode: str
    minimum: bool
    years: int
    budget: tuple[float, ...] | None  # per plan year, as the planner takes it
    budget_note: str | None = None  # how a total budget was spread over the years


def form_values(params: Mapping, years_available: list[int], default_year: int | None = None) -> dict[str, str]:
    """The form's fields as typed (defaults for those not given; the year: the latest complete one)."""
    values = {key: str(params.get(key, "") or "").strip() for key in PLAN_FIELDS}
    default_year = default_year if default_year is not None else (years_available[-1] if years_available else None)
    values["year"] = values["year"] or (str(default_year) if default_year is not None else "")
    values["mode"] = values["mode"] or "both"
    values["budget_kind"] = values["budget_kind"] or "per_year"
    values["years"] = values["years"] or "1"
    values["minimum"] = "1" if values["minimum"].lower() in ("1", "on", "true", "yes", "是") else ""
    return values


def parse_request(values: dict[str, str], years_available: list[int]) -> PlanRequest:
    """The form checked as a whole; a PlannerError names the field, what was typed and what is expected."""
    text = values["year"]
    if not re.fullmatch(r"\d{4}", text):
        raise PlannerError(f"学年“{text}”无效:应为学年开始的年份(四位数字),如 "
                           f"{years_available[-1] if years_available else 2024}")
    year = int(text)
    if year not in years_available:
        raise PlannerError(f"没有 {year} 学年的已审核学校数据,无法制定方案;可选学年:"
                           + ("、".join(str(y) for y in years_available) or "(无)"))
    mode = values["mode"]
    if mode not in MODES:
        raise PlannerError(f"方案模式“{mode}”无效:可选 " + "、".join(f"{m}({MODE_LABELS[m]})" for m in MODES))
    if not re.fullmatch(r"\d{1,2}", values["years"]) or not 1 <= int(values["years"]) <= MAX_YEARS:
        raise PlannerError(f"方案年限“{values['years']}”无效:应为 1 到 {MAX_YEARS} 的整数(年)")
    n_years = int(values["years"])
    kind = values["budget_kind"]
    if kind not in BUDGET_KINDS:
        raise PlannerError(f"预算口径“{kind}”无效:可选 每年上限(per_year)或 方案期合计(total)")
    budget = parse_budget(values["budget"]) if values["budget"] else None
    note = None
    if budget is not None and kind == "total":
        if len(budget) != 1:
            raise PlannerError(f"预算“{values['budget']}”:预算口径为“方案期合计”时只能填一个金额,如 3000万;"
                               "各年不同的预算请选“每年上限”,并用逗号分隔,每年一个数")
        total = budget[0]
        budget = [total / n_years] * n_years
        if n_years > 1:
            note = f"方案期合计预算 {total:,.0f} 元,按 {n_years} 年平均分配,每年 {total / n_years:,.0f} 元。"
    rule = "minimum" if values["minimum"] else "all"
    PlanOptions(mode=mode, rule=rule, budget=budget, years=n_years).check()  # the planner's own checks
    return PlanRequest(year=year, mode=mode, minimum=bool(values["minimum"]), years=n_years,
                       budget=tuple(budget) if budget is not None else None, budget_note=note)


def _query(values: dict[str, str]) -> str:
    return urlencode({k: v for k, v in values.items() if v})


# ---------------------------------------------------------------- planning (with a small cache)


@dataclass
class Planned:
    plan: Plan
    seconds: float  # wall time of the solve
    cached: bool = False


_PLANS: OrderedDict[tuple, Planned] = OrderedDict()
_LOCK = threading.Lock()


def plan_for(request: Request, county: OrgNode, dataset: Dataset, preq: PlanRequest) -> Planned:
    """`plan_county` on the stored data. The same inputs (data fingerprint, cost table, options)
    give the same plan, so the page, its downloads and "save" solve once."""
    costs = _costs_file(request, county)
    stamp = (costs.stat().st_mtime_ns, costs.stat().st_size) if costs else None
    key = (str(request.app.state.db.url), county.code, repo.inputs_version(dataset, county.code, preq.year),
           str(costs), stamp, preq)
    with _LOCK:
        hit = _PLANS.get(key)
        if hit is not None:
            _PLANS.move_to_end(key)
            return Planned(hit.plan, hit.seconds, cached=True)
    started = time.perf_counter()
    plan = plan_county(dataset, county=county.code, year=preq.year, costs=costs, mode=preq.mode,
                       minimum=preq.minimum, budget=list(preq.budget) if preq.budget else None, years=preq.years)
    planned = Planned(plan, round(time.perf_counter() - started, 2))
    with _LOCK:
        _PLANS[key] = planned
        while len(_PLANS) > CACHE_SIZE:
            _PLANS.popitem(last=False)
    return planned


def _item_names(plan: Plan) -> dict[str, str]:
    names = item_labels(plan)
    areas = (plan.verification or {}).get("areas", {})
    for area in ("government_guarantee", "education_quality"):
        for item_id, item in (areas.get(area) or {}).get("indicators", {}).items():
            names[item_id] = f"{item_id} {item.get('name', '')}"
    return names


def action_counts(plan: Plan) -> dict[str, int]:
    """The plan's counts, each of one thing, as every part of the page names them:
    `actions` every entry of the plan's `actions` (its JSON), of which `rotations` are teacher
    moves (交流轮岗, `people` persons in all) and `others` the rest (the rows of the action list,
    at `schools` schools), `paid` the actions that cost money (rotation, moving pupils and
    rebalancing classes cost nothing)."""
    others = [a for a in plan.actions if a.kind != "rotate_teachers"]
    return {"actions": len(plan.actions), "rotations": len(plan.actions) - len(others),
            "people": sum(m.count for m in plan.moves), "others": len(others),
            "schools": len({a.school_id for a in others}), "paid": sum(1 for a in plan.actions if a.cost)}


def actions_text(counts: dict[str, int]) -> str:
    """"45 项行动(交流轮岗 11 项、其他 34 项)": the count of a saved plan, as the page says it."""
    if not counts["rotations"]:
        return f"{counts['actions']} 项行动"
    return f"{counts['actions']} 项行动(交流轮岗 {counts['rotations']} 项、其他 {counts['others']} 项)"


def plan_view(plan: Plan) -> dict:
    """What the page shows beyond the plan itself: actions grouped per school, with subtotals."""
    schools: dict[str, dict] = {}
    for a in sorted((a for a in plan.actions if a.kind != "rotate_teachers"),
                    key=lambda a: (a.school_id, a.plan_year, a.kind)):
        group = schools.setdefault(a.school_id, {"id": a.school_id, "name": a.school_name, "actions": [], "cost": 0.0})
        quantity = f"{a.quantity:,.0f} {a.unit}" if a.unit == "元" else f"{_number(a.quantity)} {a.unit}"
        group["actions"].append({"action": a, "segment": SEGMENT_LABELS.get(a.segment, a.segment) if a.segment
                                 else "全校", "quantity": quantity})
        group["cost"] += a.cost
    return {"schools": list(schools.values()), "item_names": _item_names(plan),
            "action_cost": sum(a.cost for a in plan.actions), "counts": action_counts(plan),
            "free_labels": list(dict.fromkeys(FREE_LABELS.get(a.kind, a.label) for a in plan.actions if not a.cost))}


def _number(q: float) -> str:
    return f"{int(q):,}" if float(q).is_integer() else f"{q:,.2f}"


# ---------------------------------------------------------------- the plan page


def _page_context(viewer: Viewer, county: OrgNode, years: list[int], values: dict, request: Request) -> dict:
    return {"viewer": viewer, "county": county, "years_available": years, "values": values,
            "modes": MODE_LABELS, "rules": RULE_LABELS, "budget_kinds": BUDGET_KINDS, "max_years": MAX_YEARS,
            "can_save": viewer.access.can_manage_county(county), "query": _query(values),
            "saved_count": len(list(scenario_folder(request, county).glob("*.yaml"))),
            "verdict_labels": VERDICT_LABELS, "has_county_costs": _costs_file(request, county) is not None}


def _with_plan(context: dict, planned: Planned, preq: PlanRequest) -> dict:
    plan = planned.plan
    return context | {"plan": plan, "planned": planned, "preq": preq, "view": plan_view(plan),
                      "default_name": f"{plan.year}学年{MODE_SHORT[plan.mode]}方案"
                                      + (f"({plan.years}年)" if plan.years > 1 else "")}


def _commit_or_restore(session: Session, path: Path, previous: bytes | None) -> None:
    """Commit the audit entries of a file just written; if the commit fails, put the file back as
    it was (`previous`, or no file), so that the file and its audit trail agree."""
    try:
        session.commit()
    except Exception:
        if previous is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(previous)
        raise


def _error_response(request: Request, context: dict, message: str, status: int = 400):
    if request.query_params.get("format") == "json":
        return JSONResponse({"detail": message}, status_code=status)
    response = render(request, "plan.html", context | {"error": message})
    response.status_code = status
    return response


@router.get("/counties/{code}/plan")
def plan_page(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
              session: Session = REQUEST_SESSION):
    """The form; with `run` (the form's button) or `format=json` also the plan. JSON: the plan's
    JSON contract, as `junheng plan --format json` writes it."""
    county = _county(session, viewer, code)
    dataset, years = _stored(session, county)
    values = form_values(request.query_params, years, _default(dataset, county, years))
    context = _page_context(viewer, county, years, values, request)
    if not years:
        message = f"{county.name}还没有已审核的学校数据,无法制定方案。请先审核学校数据。"
        if request.query_params.get("format") == "json":
            return JSONResponse({"detail": message}, status_code=400)
        return render(request, "plan.html", context | {"message": message})
    refusal = planning_refusal(dataset, county.code)
    if refusal is not None:  # a standard the planner cannot plan for: said at once, no form
        return _error_response(request, context | {"years_available": []}, refusal, UNPLANNABLE)
    if not (request.query_params.get("run") or request.query_params.get("format") == "json"):
        return render(request, "plan.html", context)
    try:
        preq = parse_request(values, years)
        planned = plan_for(request, county, dataset, preq)
    except UnsupportedStandard as exc:
        return _error_response(request, context | {"years_available": []}, exc.user_message(), UNPLANNABLE)
    except JunhengError as exc:
        return _error_response(request, context, exc.user_message())
    response = render(request, "plan.html", _with_plan(context, planned, preq), planned.plan.to_json())
    response.headers["X-Solve-Seconds"] = f"{planned.seconds:.2f}"
    return response


def _download(request: Request, session: Session, viewer: Viewer, code: str) -> tuple[OrgNode, Plan]:
    county = _county(session, viewer, code)
    dataset, years = _stored(session, county)
    if not years:
        raise PlannerError(f"{county.name}还没有已审核的学校数据,无法制定方案")
    preq = parse_request(form_values(request.query_params, years, _default(dataset, county, years)), years)
    try:
        return county, plan_for(request, county, dataset, preq).plan
    except UnsupportedStandard as exc:
        raise HTTPException(status_code=UNPLANNABLE, detail=exc.user_message()) from None


@router.get("/counties/{code}/plan.xlsx")
def plan_xlsx(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
              session: Session = REQUEST_SESSION):
    """The plan workbook (the CLI's writer): per school the actions, quantities, cost and year."""
    from junheng.planner.report import write_plan_xlsx

    county, plan = _download(request, session, viewer, code)
    content = written(lambda path: write_plan_xlsx(plan, path), "plan.xlsx")
    return download(content, XLSX_TYPE, f"{county.name}{plan.year}学年达标方案.xlsx",
                    f"{county.code}-{plan.year}-plan.xlsx", private=True)


@router.get("/counties/{code}/plan.json")
def plan_json_file(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
                   session: Session = REQUEST_SESSION):
    """The plan JSON as a file, written as `junheng plan --format json -o` writes it."""
    county, plan = _download(request, session, viewer, code)
    text = json.dumps(plan.to_json(), ensure_ascii=False, indent=2)
    return download(text.encode("utf-8"), "application/json; charset=utf-8", f"{county.name}{plan.year}学年达标方案.json",
                    f"{county.code}-{plan.year}-plan.json", private=True)


# ---------------------------------------------------------------- save as scenario


@router.post("/counties/{code}/plan/save")
def save_scenario_post(code: str, request: Request, viewer: Viewer = Depends(check_csrf),
                       form=Depends(form_data), session: Session = REQUEST_SESSION):
    """保存为方案: the plan of the posted options (solved again only if not cached), written as a
    scenario file, with one audit entry; all or nothing."""
    county = _county(session, viewer, code, manage=True)
    dataset, years = _stored(session, county)
    values = form_values(form, years, _default(dataset, county, years))
    context = _page_context(viewer, county, years, values, request)
    name = str(form.get("name", "") or "").strip()
    overwrite = bool(form.get("overwrite"))
    try:
        preq = parse_request(values, years)
    except JunhengError as exc:
        return _error_response(request, context, exc.user_message())
    planned = None
    try:
        planned = plan_for(request, county, dataset, preq)
        if not name:
            raise ScenarioError("请填写情景名称(不超过 60 个字),如“2025年达标方案”")
        name = check_name(name)
        folder = scenario_folder(request, county)
        path = folder / f"{name}.yaml"
        if path.exists() and not overwrite:
            raise ScenarioError(f"已有名为“{name}”的情景:请换一个名称,或勾选“覆盖同名情景”")
        plan = planned.plan
        previous = path.read_bytes() if path.exists() else None
        session.add(AuditEntry(
            user_id=viewer.user.id, via="form", entity="scenario", entity_key=f"{county.code}/{name}"[:128],
            county_id=county.id, field="saved", old=None if previous is None else "(已覆盖原情景)",
            new=f"情景“{name}”:{plan.year}学年方案({plan.status_label}),{actions_text(action_counts(plan))},"
                f"合计 {_yuan(plan.total_cost)}", note=f"{MODE_LABELS[plan.mode]};{RULE_LABELS[plan.rule]}"))
        session.flush()
        written = save_plan_as_scenario(plan, name, folder)
    except JunhengError as exc:
        session.rollback()  # nothing half-saved: no audit entry without its file
        context = _with_plan(context, planned, preq) if planned is not None else context
        return _error_response(request, context | {"save_error": exc.user_message(), "save_name": name},
                               exc.user_message(), UNPLANNABLE if isinstance(exc, UnsupportedStandard) else 400)
    _commit_or_restore(session, written, previous)  # before the response: the list page must show it
    return RedirectResponse(f"/counties/{county.code}/scenarios?saved={quote(name)}", status_code=303)


# ---------------------------------------------------------------- saved scenarios


def _saved(folder: Path) -> list[dict]:
    """The folder's scenarios, each with the file's stem (its address in the URLs)."""
    out = []
    for entry in list_saved_scenarios(folder):
        path = Path(entry.pop("path"))
        out.append(entry | {"key": path.stem, "file": path.name})
    return out


def _scenario_file(folder: Path, key: str) -> Path:
    """A saved scenario by its file stem, found in the folder's listing (never a path built from the URL)."""
    if folder.is_dir():
        for path in folder.glob("*.yaml"):
            if path.stem == key:
                return path
    raise HTTPException(status_code=404, detail=f"找不到情景“{key}”")


@router.get("/counties/{code}/scenarios")
def scenarios_page(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
                   session: Session = REQUEST_SESSION):
    county = _county(session, viewer, code)
    scenarios = _saved(scenario_folder(request, county))
    saved = request.query_params.get("saved")
    saved = saved if saved in {s["key"] for s in scenarios} else None  # only a name that exists is echoed
    context = {"viewer": viewer, "county": county, "scenarios": scenarios, "saved": saved,
               "can_save": viewer.access.can_manage_county(county)}
    return render(request, "scenarios.html", context, {"county_code": county.code, "scenarios": scenarios})


@router.get("/counties/{code}/scenarios/{key}")
def scenario_apply(code: str, key: str, request: Request, viewer: Viewer = Depends(current_viewer),
                   session: Session = REQUEST_SESSION):
    """应用: the scenario on the county's stored approved data, the evaluation before and after
    side by side (`scenario_for`). Nothing is stored."""
    county = _county(session, viewer, code)
    path = _scenario_file(scenario_folder(request, county), key)
    dataset, years = _stored(session, county)
    year_text = (request.query_params.get("year") or "").strip()
    if year_text and not re.fullmatch(r"\d{4}", year_text):
        raise PlannerError(f"学年“{year_text}”无效:应为学年开始的年份(四位数字),如 {years[-1] if years else 2024}")
    if not years:
        raise PlannerError(f"{county.name}还没有已审核的学校数据,无法应用情景")
    started = time.perf_counter()
    result = scenario_for(dataset, path, county=county.code, year=int(year_text) if year_text else None)
    seconds = round(time.perf_counter() - started, 2)
    changed_only = request.query_params.get("changed") == "1"
    rows = [r for r in result.rows if r.changed or r.key == "verdict" or not changed_only]
    context = {"viewer": viewer, "county": county, "result": result, "rows": rows, "key": key,
               "changed_only": changed_only, "seconds": seconds, "change_labels": CHANGE_LABELS,
               "years_available": years, "changes": [_change_text(c) for c in result.scenario.changes]}
    return render(request, "scenario.html", context, result.to_json())


def _change_text(change) -> str:
    from junheng.planner.report import _change_text as text

    label = CHANGE_LABELS.get(change.type, change.type)
    if change.type == "apply_plan" and change.actions is not None:
        cost = sum(a.cost for a in change.actions)
        rotations = sum(1 for a in change.actions if a.kind == "rotate_teachers")
        counts = {"actions": len(change.actions), "rotations": rotations, "others": len(change.actions) - rotations}
        return f"{label}({actions_text(counts)},合计 {_yuan(cost)})"
    return label + text(change)



# ---------------------------------------------------------------- the cost table (单价表)

COSTS_READ = "您没有权限查看该县区的单价表。"
COSTS_MANAGE = "只有本县区的县级管理员(或系统管理员)可以修改单价表;督导和只读用户可以查看。"
COSTS_STALE = ("没有保存:在您打开此页面之后,单价表已被他人修改。请记下您填写的单价,"
               "点击“载入最新单价表”后重新填写。")
_COSTS_LOCK = threading.Lock()  # one save at a time per process: read, compare, write


@dataclass
class CurrentCosts:
    table: CostTable  # the county's table, or the built-in example when it has none (or it is broken)
    own: bool  # the county has a valid file of its own
    problem: str | None  # the county's file cannot be read: why (the example is shown instead)
    version: str  # fingerprint of the file as read ("none": no file), for stale forms
    modified: float | None = None  # the file's modification time


def current_costs(path: Path) -> CurrentCosts:
    if not path.is_file():
        return CurrentCosts(example_costs(), False, None, "none")
    content = path.read_bytes()
    version = hashlib.sha256(content).hexdigest()[:16]
    try:
        table = load_costs(path)
    except CostFileError as exc:
        return CurrentCosts(example_costs(), False, exc.user_message(), version, path.stat().st_mtime)
    return CurrentCosts(table, True, None, version, path.stat().st_mtime)


def _figure(value: float) -> str:
    """A price as a person types it back: 3500, 0.35, 1.1."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _shown_price(value: float | None, item: CostItem, unit: bool = True) -> str:
    """3,500 元/m² (the unit left out in the table, which has a unit column)."""
    if value is None:
        return "—"
    text = f"{int(value):,}" if float(value).is_integer() else f"{value:,.4f}".rstrip("0").rstrip(".")
    return f"{text} {item.unit}" if unit else text


def parse_price(text: str, item: CostItem) -> float:
    """A typed price: money as every 元 field reads it (`junheng.amounts`: 3500, 3,500, 0.35万),
    a factor (元/元) as a plain number; ValueError says what is wrong and what is expected."""
    raw = unicodedata.normalize("NFKC", text).strip()
    match = AMOUNT.fullmatch(raw)
    value = parse_amount(raw) if match and (item.money or not match.group(2)) else None
    if value is None:
        example = "1 或 1.1" if not item.money else "3500、3,500 或 0.35万"
        raise ValueError(f"“{text}”不是有效的数字,应填 {item.unit},如 {example}")
    if not (0 <= value <= item.maximum):
        raise ValueError(f"应在 0 到 {item.maximum:,.0f} {item.unit} 之间,填写的是 {_shown_price(value, item)}"
                         + ("(单位是否有误?)" if value > 0 else ""))
    return value


def cost_form_fields() -> list[tuple[str, CostItem, bool]]:
    """(form name, item, required) of every unit price on the page."""
    return [(f"unit_costs.{k}", i, True) for k, i in COST_ITEMS.items()] + \
        [(f"teacher_per_year_by_kind.{k}", i, False) for k, i in TEACHER_ITEMS.items()]


def _value_of(table: CostTable, name: str) -> float | None:
    section, key = name.split(".")
    if section == "unit_costs":
        return float(getattr(table.unit_costs, key))
    value = table.teacher_per_year_by_kind.get(key)
    return None if value is None else float(value)


def parse_cost_form(form: Mapping, base: CostTable) -> tuple[CostTable | None, dict[str, str], str]:
    """The posted prices over `base` (its school limits and other entries kept): the new table,
    or None with a Chinese message per field (label, what was typed, what is expected)."""
    errors: dict[str, str] = {}
    unit_costs: dict[str, float] = {}
    by_kind: dict[str, float] = {}
    for name, item, required in cost_form_fields():
        text = str(form.get(name, "") or "").strip()
        if not text:
            if required:
                errors[name] = f"{item.label}:请填写单价({item.unit})"
            continue
        try:
            value = parse_price(text, item)
        except ValueError as exc:
            errors[name] = f"{item.label}:{exc}"
            continue
        (unit_costs if name.startswith("unit_costs.") else by_kind)[name.split(".")[1]] = value
    description = " ".join(str(form.get("description", "") or "").split())
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = f"单价来源说明:不能超过 {MAX_DESCRIPTION} 个字,现有 {len(description)} 个字"
    if errors:
        return None, errors, description
    data = base.model_dump() | {"example": False, "description": description or None,
                                "unit_costs": unit_costs, "teacher_per_year_by_kind": by_kind,
                                "schools": {sid: limits.model_dump(exclude_unset=True)  # only what each school overrides
                                            for sid, limits in base.schools.items()}}
    try:
        return CostTable.model_validate(data), {}, description
    except ValidationError as exc:
        return None, {"": "单价表有误:" + pydantic_problems(exc, "单价表项目", COST_LABELS)}, description


def _cost_changes(before: CurrentCosts, after: CostTable) -> list[tuple[str, object, object]]:
    """(audit field, old, new) of every entry the save changes; from the example table when
    the county had none, so the audit shows each price the county set against the default."""
    changes = []
    if not before.own:
        changes.append(("example", True if before.problem is None else "(原单价表有误,已替换)", False))
    for name, _, _ in cost_form_fields():
        old, new = _value_of(before.table, name), _value_of(after, name)
        if old != new:
            changes.append((name, old, new))
    if (before.table.description or None) != (after.description or None) and before.own:
        changes.append(("description", before.table.description, after.description))
    return changes


def _costs_context(request: Request, viewer: Viewer, county: OrgNode, current: CurrentCosts,
                   values: Mapping | None = None, errors: dict[str, str] | None = None) -> dict:
    errors = errors or {}
    defaults = example_costs()
    rows = []
    for name, item, required in cost_form_fields():
        value, default = _value_of(current.table, name), _value_of(defaults, name)
        if name.startswith("teacher_per_year_by_kind.") and default is None:
            default = defaults.unit_costs.teacher_per_year
        typed = values.get(name, "") if values is not None else ("" if value is None else _figure(value))
        rows.append({"name": name, "id": name.replace(".", "-").replace("_", "-"), "item": item,
                     "required": required, "value": typed, "error": errors.get(name),
                     "shown": _shown_price(value, item, unit=False) if value is not None else "按新增专任教师年人员经费",
                     "default": _shown_price(default, item, unit=False),
                     "differs": value is not None and current.own and value != default})
    return {"viewer": viewer, "county": county, "current": current, "rows": rows, "errors": errors,
            "can_edit": viewer.access.can_manage_county(county),
            "description": values.get("description", "") if values is not None
            else (current.table.description or "") if current.own else "",
            "file_name": f"costs/{_safe(county.code)}.yaml", "saved": request.query_params.get("saved") == "1",
            "general": errors.get(""), "field_errors": [e for k, e in errors.items() if k],
            "modified": None if current.modified is None else
            datetime.fromtimestamp(current.modified, LOCAL_TIME).strftime("%Y-%m-%d %H:%M"),
            "limited_schools": len(current.table.schools)}


def _costs_data(county: OrgNode, current: CurrentCosts) -> dict:
    return {"county_code": county.code, "own": current.own, "problem": current.problem,
            "costs": current.table.model_dump(mode="json"),
            "default": example_costs().model_dump(mode="json")}


@router.get("/counties/{code}/costs")
def costs_page(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
               session: Session = REQUEST_SESSION):
    """The county's unit prices beside the defaults; a form for those who manage the county.
    JSON: the table as the planner reads it and the built-in default."""
    county = county_for(session, viewer, code, read=COSTS_READ)
    current = current_costs(costs_path(request, county))
    return render(request, "costs.html", _costs_context(request, viewer, county, current), _costs_data(county, current))


@router.post("/counties/{code}/costs")
def costs_post(code: str, request: Request, viewer: Viewer = Depends(check_csrf),
               form=Depends(form_data), session: Session = REQUEST_SESSION):
    """Save the county's unit prices: every field checked first (nothing written on any error),
    a form opened before another save refused (409), the file written atomically and read back
    by the cost-file loader, one audit entry per changed price; the file and its audit together."""
    county = county_for(session, viewer, code, read=COSTS_READ, manage=COSTS_MANAGE)
    path = costs_path(request, county)
    with _COSTS_LOCK:
        current = current_costs(path)

        def refused(status: int, errors: dict[str, str] | None = None, general: str | None = None):
            context = _costs_context(request, viewer, county, current, form, errors)
            return render(request, "costs.html", context | ({"general": general} if general else {}),
                          {"detail": general or "；".join((errors or {}).values())}, status_code=status)

        if str(form.get("version", "")) != current.version:
            return refused(409, general=COSTS_STALE)
        table, errors, _ = parse_cost_form(form, current.table)
        if table is None:
            return refused(400, errors)
        changes = _cost_changes(current, table)
        if not changes:
            return RedirectResponse(f"/counties/{county.code}/costs?msg=nochange", status_code=303)
        for field, old, new in changes:
            session.add(AuditEntry(user_id=viewer.user.id, via="form", entity="costs", entity_key=county.code,
                                   county_id=county.id, field=field, old=old, new=new))
        session.flush()
        previous = path.read_bytes() if path.exists() else None
        try:
            if previous is not None and current.problem is not None:  # keep what could not be read
                path.with_name(path.name + ".bak").write_bytes(previous)
            write_costs(table, path)
        except (CostFileError, OSError) as exc:  # the server's disk, not the input: nothing saved
            session.rollback()  # no audit entry without its file
            message = exc.user_message() if isinstance(exc, CostFileError) else f"无法写入单价表:{exc.strerror}"
            return refused(500, general=message + "。单价表没有修改,请联系系统管理员。")
        _commit_or_restore(session, path, previous)  # before the response: the page it goes to shows the new prices
    return RedirectResponse(f"/counties/{county.code}/costs?saved=1", status_code=303)

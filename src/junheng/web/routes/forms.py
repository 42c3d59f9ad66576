"""Data entry pages: a school's yearly values (school filler, county admin) and a county's yearly
values and quality-monitoring rows (county admin).

Every save is validated with the import's rules (`validate_rows`), and nothing is stored when
any value is wrong; the typed values come back with each error beside its field. A save applies
only the values that changed, one audit entry each (`repo.apply`, via="form"), and carries the
row's version so that a form opened before someone else's save is refused instead of silently
overwriting it. Submitted and approved rows are locked.

The fields are those the county's standard asks for (`editing.county_standard`,
`junheng.standards.fields`); a save writes only fields the form shows, so values stored for
fields it does not show (another standard's, or those of a segment the school lacks) stay
as they are.
"""

from __future__ import annotations

import hashlib
import json

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.data.catalog import catalog
from junheng.data.importer import validate_rows
from junheng.data.problems import DatasetInvalid
from junheng.standards.model import Standard
from junheng.store import repo
from junheng.store.models import (
    AuditEntry,
    CountyYear,
    OrgNode,
    QualityRow,
    School,
    SchoolYear,
    utcnow,
)
from junheng.store.repo import NotWritable, StoreError, SubmitIncomplete, YearNotOpen
from junheng.web.app import templates
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, county_for, current_viewer
from junheng.web.params import Year
from junheng.web.routes.editing import (
    FormField,
    asked_fields,
    base_context,
    check_year,
    county_standard,
    county_year_specs,
    entry_row,
    form_data,
    group_county_year,
    group_school_year,
    history_rows,
    problem_text,
    row_changes,
    safe_next,
    saved_redirect,
    school_for_read,
    school_year_row,
    school_year_specs,
    shown,
    validate_single,
    with_message,
)

router = APIRouter(include_in_schema=False)

LOCKED_STATES = repo.LOCKED_STATES  # the store's lock rule (repo.locks) decides every save
STALE_HINT = "请记下您填写的内容,点击“载入最新数据”后重新填写。"
STALE_MESSAGE = ("保存失败:在您打开此页面之后,这条记录已被他人修改(或状态已变化),您的修改没有保存。"
                 + STALE_HINT)  # the quality rows' fingerprint (no row version to give the store)


# ================================================================ school-year form

def _school_key(school: School, year: int) -> str:
    return f"{school.code}/{year}"


def _school_fields(session: Session, school: School, year: int, row: SchoolYear | None,
                   values: dict[str, str] | None, errors: dict[str, str], standard: Standard | None) -> list[FormField]:
    stored = row.values if row else {}
    specs = school_year_specs(school, stored, standard)
    history: dict[str, list[dict]] = {}
    for h in history_rows(session, "school_year", _school_key(school, year), "school_year"):
        history.setdefault(h["field"], []).append(h)
    typed = values or {}
    return [FormField(spec=f, value=typed[f.key] if f.key in typed else shown(f, stored.get(f.key)),
                      error=errors.get(f.key), history=history.get(f.key, [])) for f in specs]


def render_school_year(request: Request, session: Session, viewer: Viewer, school: School, year: int,
                       row: SchoolYear | None, *, values: dict[str, str] | None = None,
                       errors: dict[str, str] | None = None, general: list[str] | None = None,
                       message: str | None = None, version: int | None = None, prefill_from: int | None = None,
                       status_code: int = 200):
    errors = errors or {}
    can_edit = viewer.access.can_edit_school(school)
    can_manage = viewer.access.can_manage_county(school.county)
    deleted = school.deleted or (row is not None and row.deleted)
    locked = row is not None and row.status in LOCKED_STATES
    years = session.scalars(select(SchoolYear).where(SchoolYear.school_id == school.id,
                                                     SchoolYear.deleted_at.is_(None)).order_by(SchoolYear.year)).all()
    previous = [r for r in years if r.year < year]
    if values is None and row is None and prefill_from is not None:
        source = next((r for r in years if r.year == prefill_from), None)
        if source is not None:
            values = {k: shown(None, v) for k, v in source.values.items()}
    fields = _school_fields(session, school, year, row, values, errors, county_standard(request, school.county))
    context = base_context(viewer) | {
        "school": school, "county": school.county, "year": year, "row": row, "groups": group_school_year(fields),
        "editable": can_edit and not locked and not deleted, "can_edit": can_edit, "can_manage": can_manage,
        "locked": locked, "deleted": deleted, "errors": errors, "general": general or [], "message": message,
        "version": version if version is not None else (row.version if row else 0),
        "history": history_rows(session, "school_year", _school_key(school, year), "school_year", limit=200),
        "years": [r.year for r in years], "previous_year": previous[-1].year if previous else None,
        "prefill_from": prefill_from if values is not None and row is None else None,
        "segment_labels": catalog().segments, "school_type_label": _school_type_label(school),
        "error_count": len(errors) + len(general or []),
    }
    return templates.TemplateResponse(request, "school_year_form.html", context, status_code=status_code)


def _year_open(year: int) -> None:
    """`repo.check_year_open` for a page that would offer an empty form: 400 with the reason."""
    try:
        repo.check_year_open(year)
    except YearNotOpen as exc:
        raise HTTPException(status_code=400, detail=exc.user_message() + "。") from None


def _school_type_label(school: School) -> str:
    spec = catalog().school_types.get(school.school_type)
    return spec.label if spec else school.school_type


@router.get("/schools/{code}/years/new")
def new_school_year(code: str, year: Year | None = None, viewer: Viewer = Depends(current_viewer),
                    session: Session = REQUEST_SESSION):
    school = school_for_read(session, viewer, code)
    if year is None or not 1900 <= year <= 2100:
        raise HTTPException(status_code=400, detail="请填写学年开始的四位年份,如 2025(表示 2025—2026 学年)。")
    _year_open(year)
    target = f"/schools/{school.code}/years/{year}"
    previous = session.scalar(select(SchoolYear.year).where(SchoolYear.school_id == school.id, SchoolYear.year < year,
                                                            SchoolYear.deleted_at.is_(None))
                              .order_by(SchoolYear.year.desc()))
    return RedirectResponse(f"{target}?prefill={previous}" if previous else target, status_code=303)


@router.get("/schools/{code}/years/{year}")
def school_year_form(code: str, year: Year, request: Request, prefill: Year | None = None,
                     viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    check_year(year)
    school = school_for_read(session, viewer, code)
    row = school_year_row(session, school, year)
    if row is None and not viewer.access.can_edit_school(school):
        raise HTTPException(status_code=404, detail=f"{school.name}还没有 {year} 学年的数据。")
    if row is None:
        _year_open(year)  # no empty form for a year that cannot be saved
    return render_school_year(request, session, viewer, school, year, row, prefill_from=prefill)


def _save_refusal(session: Session, owner, year: int, row, version) -> tuple[int, dict] | None:
    """The store's rules a yearly form asks before saving (`repo.check_writable`, then
    `repo.check_year_open`, before a new row is made): the status and messages of the refusal."""
    try:
        repo.check_writable(session, owner, year, row, version=version)
    except NotWritable as exc:
        return 409, {"general": _not_writable(exc)}
    try:
        repo.check_year_open(year)
    except YearNotOpen as exc:
        return 400, {"general": [exc.user_message() + "。"]}
    return None


def _not_writable(exc: NotWritable) -> list[str]:
    """The store's writability message; a stale form adds how to get the current values."""
    return [exc.user_message() + "。" + (STALE_HINT if exc.reason == "stale" else "")]


@router.post("/schools/{code}/years/{year}")
def save_school_year(code: str, year: Year, request: Request, form=Depends(form_data),
                     viewer: Viewer = Depends(check_csrf), session: Session = REQUEST_SESSION):
    check_year(year)
    school = school_for_read(session, viewer, code)
    if not viewer.access.can_edit_school(school):
        raise HTTPException(status_code=403, detail="您没有权限修改该学校的数据。")
    action = form.get("action", "save")
    if action not in ("save", "submit"):
        raise HTTPException(status_code=400, detail="未知的操作。")
    row = school_year_row(session, school, year, lock=True)
    specs = school_year_specs(school, row.values if row else {}, county_standard(request, school.county))
    posted = {f.key: str(form.get(f.key) or "").strip() for f in specs if f.key in form}
    try:
        posted_version = int(form.get("version", "-1"))
    except ValueError:
        posted_version = -1
    key = _school_key(school, year)

    def again(status_code: int, **kwargs):
        return render_school_year(request, session, viewer, school, year, row, values=posted,
                                  version=posted_version, status_code=status_code, **kwargs)

    refusal = _save_refusal(session, school, year, row, posted_version)
    if refusal:
        status_code, messages = refusal
        return again(status_code, **messages)

    roster = {"school_id": school.code, "school_name": school.name, "county_code": school.county.code,
              "school_type": school.school_type}
    # the whole row is checked (a part cannot exceed a whole that is not on this post), only the
    # posted values are written
    stored = {k: shown(None, v) for k, v in (row.values if row else {}).items() if k in {f.key for f in specs}}
    checked = validate_single("school_year", {"school_id": school.code, "year": str(year), **stored, **posted},
                              {"schools": [roster]}, {f.key for f in specs})
    if checked.values is None:
        return again(400, errors=checked.errors, general=checked.general)
    new_values = {k: v for k, v in checked.values.items() if k in posted}
    if action == "submit":  # the store's precondition, asked before anything is saved
        try:
            repo.check_submittable(school, year, {**(row.values if row else {}), **new_values})
        except SubmitIncomplete as exc:
            return again(400, errors=exc.fields, general=[exc.user_message() + "。"])

    if row is None:  # the school's first record of this year
        row = SchoolYear(school_id=school.id, year=year, values={}, status="draft")
        session.add(row)
        session.flush()
        session.add(AuditEntry(user_id=viewer.user.id, via="form", entity="school_year", entity_key=key,
                               county_id=school.county_id, field="status", old=None, new="draft",
                               note="新建学年记录"))
        created = True
    else:
        created = False
    changes = row_changes("school_year", key, school.county.code, row.values, new_values)
    try:
        repo.apply(session, changes, user=viewer.user, via="form")
        if action == "submit":
            repo.transition(session, row, "submit", user=viewer.user, via="form")
        session.flush()
    except StoreError as exc:
        session.rollback()  # nothing of this save lands
        row = school_year_row(session, school, year)
        return again(409, general=[exc.user_message()])
    code_ = "submitted" if action == "submit" else ("saved" if changes else ("created" if created else "nochange"))
    return saved_redirect(session, with_message(f"/schools/{school.code}/years/{year}", code_))


@router.post("/schools/{code}/years/{year}/workflow")
def school_year_workflow(code: str, year: Year, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                         session: Session = REQUEST_SESSION):
    """Approve / return (with a comment) / reopen: the county admin's review. (Submitting goes
    through the form, which checks the values first.)"""
    check_year(year)
    school = school_for_read(session, viewer, code)
    if not viewer.access.can_manage_county(school.county):
        raise HTTPException(status_code=403, detail="只有本县区的县级管理员可以审核、退回或重新开放学校数据。")
    action = form.get("action", "")
    if action not in ("approve", "return", "reopen"):
        raise HTTPException(status_code=400, detail="未知的操作。")
    row = school_year_row(session, school, year, lock=True)
    if row is None or row.deleted or school.deleted:
        raise HTTPException(status_code=404, detail="没有该学年的记录(或已删除)。")
    repo.transition(session, row, action, user=viewer.user, via="form", note=str(form.get("note", "")).strip() or None)
    done = {"approve": "approved", "return": "returned", "reopen": "reopened"}[action]
    target = safe_next(form.get("next"), f"/schools/{school.code}/years/{year}")
    return saved_redirect(session, with_message(target, done))


# ================================================================ county-year form and quality rows

def _county_for_read(session: Session, viewer: Viewer, code: str) -> OrgNode:
    return county_for(session, viewer, code, read="您没有权限查看该县区的数据。")


def _county_year_row(session: Session, county: OrgNode, year: int, *, lock: bool = False) -> CountyYear | None:
    query = select(CountyYear).where(CountyYear.county_id == county.id, CountyYear.year == year)
    return session.scalar(query.with_for_update() if lock else query)


def _quality_rows(session: Session, county: OrgNode, year: int) -> list[QualityRow]:
    return session.scalars(select(QualityRow).where(QualityRow.county_id == county.id, QualityRow.year == year,
                                                    QualityRow.deleted_at.is_(None))
                           .order_by(QualityRow.subject)).all()


def _quality_version(rows: list[QualityRow]) -> str:
    """A fingerprint of the year's quality rows (sorted here: database collations differ)."""
    data = sorted([q.subject, q.level, q.inter_school_diff_rate] for q in rows)
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:16]


def render_county_year(request: Request, session: Session, viewer: Viewer, county: OrgNode, year: int, *,
                       values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                       general: list[str] | None = None, quality_posted: list[dict] | None = None,
                       quality_errors: dict[tuple[int, str], str] | None = None,
                       quality_general: list[str] | None = None,
                       version: int | None = None, quality_version: str | None = None, status_code: int = 200):
    row = _county_year_row(session, county, year)
    stored = row.values if row else {}
    errors = errors or {}
    history: dict[str, list[dict]] = {}
    key = f"{county.code}/{year}"
    for h in history_rows(session, "county_year", key, "county_year"):
        history.setdefault(h["field"], []).append(h)
    standard = county_standard(request, county)
    fields = [FormField(spec=f, value=values[f.key] if values is not None and f.key in values
                        else shown(f, stored.get(f.key)), error=errors.get(f.key), history=history.get(f.key, []))
              for f in county_year_specs(standard)]
    can_manage = viewer.access.can_manage_county(county)
    locked = row is not None and row.status in LOCKED_STATES
    stored_quality = _quality_rows(session, county, year)
    if quality_posted is None:
        quality_posted = [{"subject": q.subject, "level": str(q.level), "rate": shown(None, q.inter_school_diff_rate),
                           "existing": True} for q in stored_quality]
    quality_posted = list(quality_posted) + [{"subject": "", "level": "", "rate": "", "existing": False}
                                             for _ in range(2)]
    quality_history = session.scalars(select(AuditEntry).where(AuditEntry.entity == "quality",
                                                               AuditEntry.entity_key.like(f"{key}/%"))
                                      .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(100)).all()
    years = sorted(set(session.scalars(select(CountyYear.year).where(CountyYear.county_id == county.id,
                                                                     CountyYear.deleted_at.is_(None)))) | {year})
    context = base_context(viewer) | {
        "county": county, "year": year, "row": row, "groups": group_county_year(fields, standard), "years": years,
        "editable": can_manage and not locked and not county.deleted, "can_manage": can_manage, "locked": locked,
        "errors": errors, "general": general or [],
        "version": version if version is not None else (row.version if row else 0),
        "quality": quality_posted, "quality_errors": quality_errors or {}, "quality_general": quality_general or [],
        "quality_version": quality_version or _quality_version(stored_quality),
        "history": history_rows(session, "county_year", key, "county_year", limit=200),
        "quality_history": [entry_row(e, "quality") for e in quality_history],
        "levels": [("1", "Ⅰ"), ("2", "Ⅱ"), ("3", "Ⅲ"), ("4", "Ⅳ")],
        # the quality-monitoring rows are asked for when the standard reads them (or rows exist)
        "asks_quality": bool(asked_fields("quality", standard)) or bool(stored_quality),
    }
    return templates.TemplateResponse(request, "county_year_form.html", context, status_code=status_code)


@router.get("/counties/{code}/years/{year}")
def county_year_form(code: str, year: Year, request: Request, viewer: Viewer = Depends(current_viewer),
                     session: Session = REQUEST_SESSION):
    check_year(year)
    county = _county_for_read(session, viewer, code)
    if _county_year_row(session, county, year) is None:
        _year_open(year)  # no empty form for a year that cannot be saved
    return render_county_year(request, session, viewer, county, year)


def _county_for_manage(session: Session, viewer: Viewer, code: str) -> OrgNode:
    return county_for(session, viewer, code, read="您没有权限查看该县区的数据。",
                      manage="只有本县区的县级管理员可以修改县级数据。")


@router.post("/counties/{code}/years/{year}")
def save_county_year(code: str, year: Year, request: Request, form=Depends(form_data),
                     viewer: Viewer = Depends(check_csrf), session: Session = REQUEST_SESSION):
    check_year(year)
    county = _county_for_manage(session, viewer, code)
    action = form.get("action", "save")
    if action not in ("save", "lock"):
        raise HTTPException(status_code=400, detail="未知的操作。")
    row = _county_year_row(session, county, year, lock=True)
    specs = county_year_specs(county_standard(request, county))
    posted = {f.key: str(form.get(f.key) or "").strip() for f in specs if f.key in form}
    try:
        posted_version = int(form.get("version", "-1"))
    except ValueError:
        posted_version = -1

    def again(status_code: int, **kwargs):
        return render_county_year(request, session, viewer, county, year, values=posted, version=posted_version,
                                  status_code=status_code, **kwargs)

    refusal = _save_refusal(session, county, year, row, posted_version)
    if refusal:
        status_code, messages = refusal
        return again(status_code, **messages)
    key = f"{county.code}/{year}"
    stored = {k: shown(None, v) for k, v in (row.values if row else {}).items() if k in {f.key for f in specs}}
    checked = validate_single("county_year", {"county_code": county.code, "year": str(year), **stored, **posted},
                              {"counties": [{"county_code": county.code, "county_name": county.name}]},
                              {f.key for f in specs})
    if checked.values is None:
        return again(400, errors=checked.errors, general=checked.general)
    if row is None:
        row = CountyYear(county_id=county.id, year=year, values={}, status="draft")
        session.add(row)
        session.flush()
        session.add(AuditEntry(user_id=viewer.user.id, via="form", entity="county_year", entity_key=key,
                               county_id=county.id, field="status", old=None, new="draft", note="新建年度记录"))
    changes = row_changes("county_year", key, county.code, row.values,
                          {k: v for k, v in checked.values.items() if k in posted})
    try:
        repo.apply(session, changes, user=viewer.user, via="form")
        if action == "lock":  # the county admin's own data: saving as final is submit + approve
            if row.status in ("draft", "returned"):
                repo.transition(session, row, "submit", user=viewer.user, via="form")
            repo.transition(session, row, "approve", user=viewer.user, via="form", note="县级管理员确认定稿")
        session.flush()
    except StoreError as exc:
        session.rollback()
        return again(409, general=[exc.user_message()])
    done = "locked" if action == "lock" else ("saved" if changes else "nochange")
    return saved_redirect(session, with_message(f"/counties/{county.code}/years/{year}", done))


@router.post("/counties/{code}/years/{year}/workflow")
def county_year_workflow(code: str, year: Year, form=Depends(form_data), viewer: Viewer = Depends(check_csrf),
                         session: Session = REQUEST_SESSION):
    check_year(year)
    county = _county_for_manage(session, viewer, code)
    action = form.get("action", "")
    if action != "reopen":
        raise HTTPException(status_code=400, detail="未知的操作。")
    row = _county_year_row(session, county, year, lock=True)
    if row is None:
        raise HTTPException(status_code=404, detail="没有该年度的县级数据。")
    if row.status == "submitted":
        repo.transition(session, row, "return", user=viewer.user, via="form", note="县级管理员重新开放")
    else:
        repo.transition(session, row, "reopen", user=viewer.user, via="form")
    return saved_redirect(session, with_message(f"/counties/{county.code}/years/{year}", "reopened"))


@router.post("/counties/{code}/years/{year}/quality")
def save_quality(code: str, year: Year, request: Request, form=Depends(form_data),
                 viewer: Viewer = Depends(check_csrf), session: Session = REQUEST_SESSION):
    """The year's quality-monitoring rows: edit level and rate, add subjects, delete subjects."""
    check_year(year)
    county = _county_for_manage(session, viewer, code)
    _county_year_row(session, county, year, lock=True)  # the year's saves one at a time
    stored = {q.subject: q for q in session.scalars(select(QualityRow).where(
        QualityRow.county_id == county.id, QualityRow.year == year))}
    live = [q for q in stored.values() if q.deleted_at is None]
    subjects, levels, rates = form.getlist("subject"), form.getlist("level"), form.getlist("rate")
    existing_flags = form.getlist("existing")
    deleted = set(form.getlist("delete"))
    posted = []
    for i, subject in enumerate(subjects):
        posted.append({"subject": str(subject).strip(), "level": str(levels[i] if i < len(levels) else "").strip(),
                       "rate": str(rates[i] if i < len(rates) else "").strip(),
                       "existing": i < len(existing_flags) and existing_flags[i] == "1",
                       "delete": str(i) in deleted})
    shown_rows = [p for p in posted if p["existing"] or any((p["subject"], p["level"], p["rate"]))]

    def again(status_code: int, errors=None, general=None):
        return render_county_year(request, session, viewer, county, year, quality_posted=shown_rows,
                                  quality_errors=errors, quality_general=general,
                                  quality_version=str(form.get("quality_version", "")), status_code=status_code)

    try:
        repo.check_year_open(year)
    except YearNotOpen as exc:
        return again(400, general=[exc.user_message() + "。"])
    if form.get("quality_version", "") != _quality_version(live):
        return again(409, general=[STALE_MESSAGE])
    key_prefix = f"{county.code}/{year}"
    touched = {p["subject"] for p in shown_rows} | set(stored)
    if repo.locks(session, [("quality", f"{key_prefix}/{subject}") for subject in sorted(touched)]):
        return again(409, general=["该年度县级数据已锁定,质量监测数据也不能修改;请先重新开放。"])
    kept = [(i, p) for i, p in enumerate(shown_rows) if not p["delete"]]
    rows = [{"county_code": county.code, "year": str(year), "subject": p["subject"], "level": p["level"],
             "inter_school_diff_rate": p["rate"]} for _, p in kept]
    errors: dict[tuple[int, str], str] = {}
    general: list[str] = []
    if rows:
        try:
            dataset = validate_rows({"counties": [{"county_code": county.code, "county_name": county.name}],
                                     "quality": rows})
        except DatasetInvalid as exc:
            columns = {"subject": "subject", "level": "level", "inter_school_diff_rate": "rate"}
            for p in exc.problems:
                if p.table == "quality" and p.row is not None and 0 <= p.row - 2 < len(kept):
                    index = kept[p.row - 2][0]
                    errors.setdefault((index, columns.get(p.column or "subject", "subject")),
                                      problem_text(p) if p.column else f"学科重复:{p.message}")
                else:
                    general.append(p.text(keys=False))
            return again(400, errors, general)
        typed = dataset.quality.to_dict("records")
    else:
        typed = []
    changes = []
    restored = []
    for record in typed:
        subject = record["subject"]
        q = stored.get(subject)
        before = {"level": q.level, "inter_school_diff_rate": q.inter_school_diff_rate} \
            if q is not None and q.deleted_at is None else {}
        if q is not None and q.deleted_at is not None:
            restored.append(q)
        after = {key: repo.plain(record[key]) for key in ("level", "inter_school_diff_rate")}
        changes += row_changes("quality", f"{key_prefix}/{subject}", county.code, before, after)
    kept_subjects = {r["subject"] for r in typed}
    for p in shown_rows:
        q = stored.get(p["subject"])
        if p["delete"] and q is not None and q.deleted_at is None and p["subject"] not in kept_subjects:
            session.add(AuditEntry(user_id=viewer.user.id, via="form", entity="quality",
                                   entity_key=f"{key_prefix}/{q.subject}", county_id=county.id, field="deleted_at",
                                   old=None, new=utcnow().isoformat(), note="删除"))
            q.deleted_at = utcnow()
    for q in restored:
        session.add(AuditEntry(user_id=viewer.user.id, via="form", entity="quality",
                               entity_key=f"{key_prefix}/{q.subject}", county_id=county.id, field="deleted_at",
                               old=q.deleted_at.isoformat(), new=None, note="恢复"))
        q.deleted_at = None
    try:
        repo.apply(session, changes, user=viewer.user, via="form")
        session.flush()
    except StoreError as exc:
        session.rollback()  # nothing of this save lands (the deletions above neither)
        return again(409, general=[exc.user_message()])
    return saved_redirect(session, with_message(f"/counties/{county.code}/years/{year}", "saved") + "#quality")

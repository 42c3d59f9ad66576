"""Upload a county's data: a filled template (XLSX) or a ZIP of CSV files.

The file is kept in the workspace's uploads folder under a generated name (never the user's),
validated in full with the import rules once (the parsed result is kept beside it,
`junheng.web.uploads`, and serves every later preview and the apply), checked to belong to this
county, and compared with what is stored (again at every preview and at apply: the store may
have changed). Nobody's body is read before the viewer is known to manage the county, and then
only up to the upload limit (`junheng.web.files.read_form`). Uploads never applied are removed
after `[uploads] keep_days` (see `junheng.store.uploads_folder.clean_uploads`). The preview lists
every difference; "应用" applies all of them in one transaction (`repo.apply`, via="upload") or
none, e.g. when some target is locked.

An upload changes only what its user may change by form (`store.admin.refused_changes`): a
county admin's file that would change the county's own attributes (适用标准, the certification
years, name, 常住人口: system admins' fields) is refused whole, naming the fields (HTTP 403).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import tempfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.data.catalog import catalog
from junheng.data.dataset import Dataset
from junheng.data.importer import load_dataset
from junheng.data.problems import DatasetInvalid, DatasetUnreadable
from junheng.store import admin as store_admin
from junheng.store import repo
from junheng.store.models import OrgNode, School, SchoolYear
from junheng.store.repo import STATE_LABELS, StoreError
from junheng.store.uploads_folder import (
    DEFAULT_KEEP_DAYS,
    SUFFIX,
    UPLOAD_ID,
    clean_uploads,
    file_path,
    meta_path,
    write_meta,
)
from junheng.store.users import Access
from junheng.web.app import templates
from junheng.web.deps import REQUEST_SESSION, Viewer, check_csrf, county_for, current_viewer, monitor_config
from junheng.web.files import (
    CHUNK,
    MULTIPART_SLACK,
    XLSX_TYPE,
    download,
    megabytes,
    read_form,
    save_upload,
    shown_name,
    written,
)
from junheng.web.uploads import keep_parsed, load_parsed
from junheng.web.routes.editing import (
    ENTITY_LABELS,
    ENTITY_TABLES,
    base_context,
    display,
    field_spec,
    form_data,
    local_time,
    with_message,
)

router = APIRouter(include_in_schema=False)
log = logging.getLogger("junheng.web")

KINDS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".zip": "zip"}
ZIP_EXPANSION = 20  # a ZIP may unpack to at most this many times the upload limit (zip bombs)
PREVIEW_ROWS = 1000  # differences listed in the preview table (all are applied)


class UploadRefused(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


# ---------------------------------------------------------------- access and files

def _county(session: Session, viewer: Viewer, code: str) -> OrgNode:
    return county_for(session, viewer, code, manage="只有本县区的县级管理员可以上传数据。")


def _folder(request: Request) -> Path:
    folder = Path(request.app.state.settings.uploads)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _limit(request: Request) -> int:
    return int(request.app.state.settings.upload_limit_bytes)


def _read_meta(folder: Path, upload_id: str, county: OrgNode) -> dict:
    if not UPLOAD_ID.match(upload_id):
        raise HTTPException(status_code=404)
    try:
        meta = json.loads(meta_path(folder, upload_id).read_text("utf-8"))
    except (OSError, ValueError):
        raise HTTPException(status_code=404, detail="找不到该上传文件,请重新上传。") from None
    if meta.get("county") != county.code:
        raise HTTPException(status_code=404, detail="找不到该上传文件,请重新上传。")
    return meta


def _keep_days(request: Request) -> float:
    try:
        return monitor_config(request).upload_keep_days
    except Exception:  # a broken junheng.toml must not stop uploads: the default then
        return DEFAULT_KEEP_DAYS


def upload_county(code: str, viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION) -> OrgNode:
    """The county a file is uploaded to: the viewer is logged in (else to /login) and manages it
    (else 403), checked before a byte of the body is read."""
    return _county(session, viewer, code)


async def upload_form(request: Request, _county_checked: OrgNode = Depends(upload_county)):
    """The posted upload form, read only after `upload_county` and only up to the upload limit
    (plus the form's own few bytes): 413 as soon as more arrives, Content-Length or not. The
    CSRF token is checked on it (check_csrf) before anything is kept."""
    limit = _limit(request)
    return await read_form(request, limit=limit + MULTIPART_SLACK, max_files=1,
                           too_large=f"文件太大:上传文件不能超过 {megabytes(limit)}。")


upload_size_guard = upload_form  # the forecast-input upload (routes/forecast.py) guards its body with it


# ---------------------------------------------------------------- reading an upload

def _zip_member_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if not info.flag_bits & 0x800:  # no UTF-8 flag: Windows' own ZIP writes Chinese names in GBK
        try:
            name = name.encode("cp437").decode("gbk")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def _unpack_zip(path: Path, target: Path, limit: int) -> list[str]:
    """The CSV files (and metadata.yaml) of a ZIP, flattened into `target`; returns notes."""
    notes = []
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DatasetUnreadable("上传的文件不是有效的 ZIP 压缩包,请重新压缩后上传") from None
    total, seen = 0, {}
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            full = _zip_member_name(info)
            name = PurePosixPath(full.replace("\\", "/")).name
            if full.startswith("__MACOSX/") or name.startswith((".", "~$")):
                continue
            if not (name.lower().endswith(".csv") or name.lower() == "metadata.yaml"):
                notes.append(f"压缩包中的“{full}”不是 CSV 文件,已忽略")
                continue
            if name.lower() in seen:
                raise DatasetUnreadable(f"压缩包中有两个同名文件“{seen[name.lower()]}”和“{full}”,请只保留一个")
            seen[name.lower()] = full
            with archive.open(info) as source, (target / name).open("wb") as out:
                while chunk := source.read(CHUNK):
                    total += len(chunk)
                    if total > limit * ZIP_EXPANSION:
                        raise DatasetUnreadable("压缩包解压后太大,请分县区或分表上传")
                    out.write(chunk)
    if not seen:
        raise DatasetUnreadable("压缩包中没有 CSV 文件:应包含 schools.csv(学校名录.csv)、school_year.csv(学校年度数据.csv)等")
    return notes


def _read_upload(folder: Path, meta: dict) -> tuple[Dataset, list[str]]:
    path = file_path(folder, meta)
    if meta["kind"] == "xlsx":
        dataset = load_dataset(path)
        return dataset, list(dataset.warnings)
    with tempfile.TemporaryDirectory(prefix="junheng-upload-") as tmp:
        notes = _unpack_zip(path, Path(tmp), meta.get("limit", 20 * 1024 * 1024))
        dataset = load_dataset(Path(tmp))
    return dataset, notes + list(dataset.warnings)


# ---------------------------------------------------------------- checks and differences

def _outside_county(session: Session, dataset: Dataset, county: OrgNode) -> list[str]:
    """Rows of other counties, and schools already stored under another county or deleted."""
    problems = []
    code = county.code
    for table, column in (("schools", "county_code"), ("counties", "county_code"), ("county_year", "county_code"),
                          ("quality", "county_code")):
        frame = dataset.table(table)
        if frame.empty:
            continue
        label = catalog().table(table).label
        other = (frame[column] != code).fillna(False).astype(bool)
        for value, n in frame.loc[other, column].value_counts().items():
            problems.append(f"{label}中有 {n} 行的县区代码为“{value}”,不是本县区({code}):只能上传本县区的数据")
    codes = [str(c) for c in dataset.schools["school_id"].dropna()]
    if codes:
        stored = session.scalars(select(School).where(School.code.in_(codes))).all()
        for school in stored:
            if school.county_id != county.id:
                problems.append(f"学校标识码“{school.code}”已属于其他县区,不能通过本县区上传修改")
            elif school.deleted:
                problems.append(f"学校“{school.name}”({school.code})已删除:请先在“已删除的数据”中恢复,再上传")
        ids = {s.id: s for s in stored if s.county_id == county.id}
        years = dataset.school_year
        if ids and not years.empty:
            wanted = {(str(r["school_id"]), int(r["year"])) for r in years[["school_id", "year"]].to_dict("records")}
            for row in session.scalars(select(SchoolYear).where(SchoolYear.school_id.in_(list(ids)),
                                                                SchoolYear.deleted_at.is_not(None))):
                if (ids[row.school_id].code, row.year) in wanted:
                    problems.append(f"学校年度 {ids[row.school_id].code}/{row.year}({ids[row.school_id].name})"
                                    "已删除:请先恢复,再上传")
    return problems


def _changes(session: Session, dataset: Dataset, county: OrgNode) -> list[repo.Change]:
    changes = repo.diff(session, dataset)
    # A workbook without county names would rename the county to its code: never wanted.
    return [c for c in changes
            if not (c.entity == "county" and c.field == "county_name" and c.new == c.key and c.old is not None)]


def _locked(session: Session, changes: list[repo.Change], county: OrgNode) -> list[str]:
    """Targets that are locked by the store's one rule (`repo.locks`: submitted or approved
    school-years and county-years, and the quality rows of a locked county-year), which
    `repo.apply` would refuse."""
    out = []
    for lock in repo.locks(session, {(c.entity, c.key) for c in changes}):
        name = f"({lock.name})" if lock.name else ""
        via = (f"随{ENTITY_LABELS[lock.by_entity]} {lock.by_key}" if (lock.entity, lock.key) !=
               (lock.by_entity, lock.by_key) else "")
        out.append(f"{ENTITY_LABELS[lock.entity]} {lock.key}{name}:{via}{STATE_LABELS[lock.status]},已锁定")
    return out


def _fingerprint(changes: list[repo.Change]) -> str:
    data = sorted([c.entity, c.key, c.field, repr(c.old), repr(c.new)] for c in changes)
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()


def _preview_rows(session: Session, changes: list[repo.Change], county: OrgNode) -> list[dict]:
    names = {s.code: s.name for s in session.scalars(select(School).where(School.county_id == county.id))}
    out = []
    for c in changes[:PREVIEW_ROWS]:
        spec = field_spec(ENTITY_TABLES.get(c.entity, ""), c.field)
        school = c.key.split("/")[0] if c.entity in ("school", "school_year") else None
        out.append({"entity": ENTITY_LABELS.get(c.entity, c.entity), "key": c.key,
                    "name": names.get(school, "") if school else "",
                    "new_object": c.old is None and c.entity in ("school", "school_year"),
                    "field": spec.label if spec else c.field, "field_key": c.field,
                    "old": display(spec, c.old), "new": display(spec, c.new)})
    return out


def _summary(changes: list[repo.Change]) -> list[dict]:
    groups: dict[str, dict] = {}
    for c in changes:
        g = groups.setdefault(c.entity, {"entity": ENTITY_LABELS.get(c.entity, c.entity), "objects": set(),
                                         "value_count": 0})
        g["objects"].add(c.key)
        g["value_count"] += 1
    return [{"entity": g["entity"], "objects": len(g["objects"]), "value_count": g["value_count"]}
            for g in groups.values()]


# ---------------------------------------------------------------- pages

def _recent(folder: Path, county: OrgNode, limit: int = 10) -> list[dict]:
    metas = []
    for path in folder.glob("*.json"):
        try:
            meta = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if meta.get("county") == county.code:
            metas.append(meta)
    metas.sort(key=lambda m: m.get("uploaded_at", ""), reverse=True)
    for m in metas:
        m["uploaded_local"] = local_time(datetime.fromisoformat(m["uploaded_at"])) if m.get("uploaded_at") else ""
        m["applied_local"] = local_time(datetime.fromisoformat(m["applied_at"])) if m.get("applied_at") else ""
    return metas[:limit]


def _upload_page(request: Request, viewer: Viewer, county: OrgNode, error: str | None = None, status_code: int = 200):
    folder = _folder(request)
    context = base_context(viewer) | {"county": county, "limit": megabytes(_limit(request)), "error": error,
                                      "recent": _recent(folder, county), "keep_days": _keep_days(request)}
    return templates.TemplateResponse(request, "upload.html", context, status_code=status_code)


@router.get("/counties/{code}/upload")
def upload_page(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
                session: Session = REQUEST_SESSION):
    return _upload_page(request, viewer, _county(session, viewer, code))


@router.post("/counties/{code}/upload")
def receive_upload(code: str, request: Request, county: OrgNode = Depends(upload_county), form=Depends(upload_form),
                   viewer: Viewer = Depends(check_csrf), session: Session = REQUEST_SESSION):
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return _upload_page(request, viewer, county, "请选择要上传的文件(填好的 .xlsx 模板,或 CSV 文件的 .zip 压缩包)。", 400)
    shown = shown_name(upload.filename)
    kind = KINDS.get(PurePosixPath(shown.lower()).suffix)
    if kind is None:
        return _upload_page(request, viewer, county,
                            f"不支持“{shown}”:请上传填好的 .xlsx 工作簿(模板),或把各表 CSV 文件打成一个 .zip 压缩包。"
                            "旧版 .xls 请先在 Excel 中另存为 .xlsx。", 400)
    folder, limit = _folder(request), _limit(request)
    upload_id = secrets.token_hex(16)
    target = folder / f"{upload_id}{SUFFIX[kind]}"
    partial = folder / f"{upload_id}.part"
    size = save_upload(upload.file, partial, limit)
    if size is None:
        return _upload_page(request, viewer, county, f"文件太大:上传文件不能超过 {megabytes(limit)}。", 413)
    if size == 0:
        partial.unlink(missing_ok=True)
        return _upload_page(request, viewer, county, f"“{shown}”是空文件。", 400)
    if not zipfile.is_zipfile(partial):  # an XLSX is a ZIP as well
        partial.unlink(missing_ok=True)
        return _upload_page(request, viewer, county,
                            f"“{shown}”不是有效的 {'Excel 工作簿' if kind == 'xlsx' else 'ZIP 压缩包'}(文件可能已损坏)。", 400)
    os.replace(partial, target)
    write_meta(folder, {"id": upload_id, "county": county.code, "kind": kind, "name": shown, "size": size,
                        "limit": limit, "user_id": viewer.user.id, "username": viewer.user.username,
                        "uploaded_at": datetime.now(timezone.utc).isoformat()})
    try:
        clean_uploads(folder, keep_days=_keep_days(request))  # abandoned uploads of every county
    except OSError:
        log.exception("清理过期的上传文件时出错")
    return RedirectResponse(f"/counties/{county.code}/upload/{upload_id}", status_code=303)


def _parse(folder: Path, meta: dict) -> dict:
    """Read and validate the uploaded file: {"dataset", "notes"}, {"invalid": what the preview
    lists, "notes"} or {"unreadable": message, "notes"}."""
    try:
        dataset, notes = _read_upload(folder, meta)
    except DatasetInvalid as exc:
        lines = exc.user_message(keys=False).splitlines()  # as `junheng check` prints them, without keys
        return {"invalid": {"problems": [p.text(keys=False) for p in exc.problems], "header": lines[0],
                            "summary": [line for line in lines[1:] if line.startswith(("问题最多的列", "全部问题如下"))]},
                "notes": list(exc.warnings)}
    except DatasetUnreadable as exc:  # name the user's file, not the server's path
        return {"unreadable": exc.user_message().replace(str(file_path(folder, meta)), meta["name"]), "notes": []}
    return {"dataset": dataset, "notes": notes}


def _parsed(folder: Path, meta: dict) -> dict:
    """The upload read once: the kept result when there is one, else read now and kept."""
    outcome = load_parsed(folder, meta)
    if outcome is None:
        outcome = _parse(folder, meta)
        keep_parsed(folder, meta, outcome)
    return outcome


def _prepare(session: Session, folder: Path, meta: dict, county: OrgNode, access: Access) -> dict:
    """Everything the preview shows and the apply step re-checks: the file's content (read
    once), and against the store as it is now the differences, locks and refusals."""
    if meta.get("removed_at"):
        return {"removed": True, "notes": []}
    outcome = _parsed(folder, meta)
    if "invalid" in outcome:
        return dict(outcome["invalid"], notes=outcome["notes"])
    if "unreadable" in outcome:
        return {"unreadable": outcome["unreadable"], "notes": outcome["notes"]}
    dataset, notes = outcome["dataset"], outcome["notes"]
    outside = _outside_county(session, dataset, county)
    if outside:
        return {"outside": outside, "notes": notes}
    changes = _changes(session, dataset, county)
    not_open = repo.years_not_open(changes)
    if not_open:  # as `repo.apply` would refuse them at 应用
        return {"outside": not_open, "notes": notes}
    refused = store_admin.refused_changes(session, access, changes)
    return {"dataset": dataset, "changes": changes, "notes": notes, "locked": _locked(session, changes, county),
            "refused": store_admin.refused_lines(refused),
            "refusal": store_admin.refusal_message(refused) if refused else None,
            "fingerprint": _fingerprint(changes)}


def _preview(request: Request, session: Session, viewer: Viewer, county: OrgNode, meta: dict, prepared: dict,
             error: str | None = None, status_code: int = 200):
    changes = prepared.get("changes") or []
    context = base_context(viewer) | {
        "county": county, "meta": meta, "prepared": prepared, "error": error,
        "rows": _preview_rows(session, changes, county), "total": len(changes), "summary": _summary(changes),
        "shown_rows": min(len(changes), PREVIEW_ROWS),
        "school_years": len({c.key for c in changes if c.entity == "school_year"}),
        "uploaded_local": local_time(datetime.fromisoformat(meta["uploaded_at"])),
        "applied_local": local_time(datetime.fromisoformat(meta["applied_at"])) if meta.get("applied_at") else None,
    }
    return templates.TemplateResponse(request, "upload_preview.html", context, status_code=status_code)


@router.get("/counties/{code}/upload/{upload_id}")
def upload_preview(code: str, upload_id: str, request: Request, viewer: Viewer = Depends(current_viewer),
                   session: Session = REQUEST_SESSION):
    county = _county(session, viewer, code)
    folder = _folder(request)
    meta = _read_meta(folder, upload_id, county)
    return _preview(request, session, viewer, county, meta, _prepare(session, folder, meta, county, viewer.access))


@router.post("/counties/{code}/upload/{upload_id}/apply")
def apply_upload(code: str, upload_id: str, request: Request, form=Depends(form_data),
                 viewer: Viewer = Depends(check_csrf), session: Session = REQUEST_SESSION):
    county = _county(session, viewer, code)
    folder = _folder(request)
    meta = _read_meta(folder, upload_id, county)
    prepared = _prepare(session, folder, meta, county, viewer.access)

    def refuse(message: str):
        return _preview(request, session, viewer, county, meta, prepared, error=message, status_code=409)

    if "changes" not in prepared:
        return refuse("文件未通过校验,不能应用;请修改后重新上传。")
    changes = prepared["changes"]
    if form.get("fingerprint") != prepared["fingerprint"]:
        return refuse("预览之后,数据库中的数据已有变化,差异与您看到的不同:请核对下面更新后的差异,再点击“应用”。")
    if not changes:
        return refuse("没有需要应用的差异。")
    if prepared["refused"]:
        return _preview(request, session, viewer, county, meta, prepared, status_code=403,
                        error="没有应用任何数据:" + prepared["refusal"] + "。")
    if prepared["locked"]:
        return refuse("没有应用任何数据:以下对象已提交或已审核,处于锁定状态:" + ";".join(prepared["locked"])
                      + "。请先由县级管理员退回或重新开放,或从文件中删去这些行。")
    submit_after = form.get("submit_after") == "1"
    try:
        repo.apply(session, changes, user=viewer.user, via="upload", note=f"上传文件“{meta['name']}”({upload_id})")
        if submit_after:
            for key in sorted({c.key for c in changes if c.entity == "school_year"}):
                school_code, year = key.rsplit("/", 1)
                school = repo.school_by_code(session, school_code)
                row = session.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id,
                                                              SchoolYear.year == int(year)))
                if row.status in ("draft", "returned"):
                    repo.transition(session, row, "submit", user=viewer.user, via="upload",
                                    note=f"上传文件 {upload_id} 应用后提交")
        session.commit()  # the whole file lands (or, on any error above, nothing does)
    except StoreError as exc:
        session.rollback()
        prepared = _prepare(session, folder, meta, county, viewer.access)
        return _preview(request, session, viewer, county, meta, prepared,
                        error=f"没有应用任何数据:{exc.user_message()}", status_code=409)
    meta |= {"applied_at": datetime.now(timezone.utc).isoformat(), "applied_by": viewer.user.username,
             "changes": len(changes), "submitted": submit_after}
    write_meta(folder, meta)
    return RedirectResponse(with_message(f"/counties/{county.code}/upload/{upload_id}", "applied"), status_code=303)


# ---------------------------------------------------------------- downloads: template and current data

@router.get("/counties/{code}/upload-template.xlsx")
def download_template(code: str, request: Request, viewer: Viewer = Depends(current_viewer),
                      session: Session = REQUEST_SESSION):
    """The fill-in template for the county's own standard (only the fields it reads)."""
    county = _county(session, viewer, code)
    from junheng.data.template import write_template
    from junheng.standards.fields import fields_for
    from junheng.standards.loader import DEFAULT_STANDARD, load_standard
    from junheng.web.routes.editing import county_standard

    # a standard that cannot be read: national-2017's template, as before
    standard = county_standard(request, county) or load_standard(DEFAULT_STANDARD)
    return download(written(lambda path: write_template(path, fields_for(standard), standard), "template.xlsx"),
                    XLSX_TYPE,
                    "填报模板.xlsx", "template.xlsx")


@router.get("/counties/{code}/current-data.xlsx")
def download_current(code: str, viewer: Viewer = Depends(current_viewer), session: Session = REQUEST_SESSION):
    """The county's stored data (approved or not) as a workbook: edit it and upload it back."""
    county = _county(session, viewer, code)
    from junheng.data.writer import write_dataset_xlsx

    dataset = repo.load_dataset(session, [county.code], approved_only=False)
    content = written(lambda path: write_dataset_xlsx(dataset, path), "data.xlsx")
    return download(content, XLSX_TYPE, f"{county.name}-当前数据.xlsx", f"{county.code}-data.xlsx", private=True)

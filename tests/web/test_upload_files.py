"""Issue 11, uploads: the file is read once and the parsed result kept beside it (later previews
and the apply do not read the file again, and apply gives the same result); abandoned uploads
are cleaned up after a set time (an injected clock, no sleeping); names of uploaded files and
attachments are shown normalised (no bidi overrides, the extension visible)."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta, timezone

import builders
import pytest
from test_upload import XLSX, as_bytes, preview_of, send, set_cell, workbook_of
from web_world import COUNTY

from junheng.filenames import clean_name
from junheng.monitor.config import MonitorConfigError, monitor_settings
from junheng.monitor.scheduler import clean_job
from junheng.monitor.tasks import create_task, safe_filename
from junheng.web.files import disposition, shown_name
from junheng.web.routes import upload as upload_routes
from junheng.store.uploads_folder import PART_MAX_AGE, clean_uploads

UPLOAD = f"/counties/{COUNTY}/upload"


@pytest.fixture
def drafts(web_world):
    for code in ("P1", "P2"):
        web_world.set_status(code, "draft")
    return web_world


def _count_reads(monkeypatch) -> list[int]:
    """Patch the importer: the first read works, any later one fails the test."""
    calls = []
    real = upload_routes.load_dataset

    def once(path):
        calls.append(1)
        if len(calls) > 1:
            raise AssertionError("the upload was read again")
        return real(path)

    monkeypatch.setattr(upload_routes, "load_dataset", once)
    return calls


def test_the_file_is_read_once_and_apply_uses_the_kept_result(drafts, monkeypatch):
    county = drafts.login("county")
    book = workbook_of(county)
    set_cell(book, "学校年度数据", "P1", "小学在校生数", 1234)
    calls = _count_reads(monkeypatch)
    location, page, fingerprint = preview_of(county, send(county, as_bytes(book)))
    assert calls == [1] and "1234" in page
    again = county.get(location)  # the second preview: from the kept result
    assert again.status_code == 200 and "1234" in again.text
    assert re.search(r'name="fingerprint" value="([0-9a-f]+)"', again.text).group(1) == fingerprint
    upload_id = location.rsplit("/", 1)[1]
    kept = drafts.settings.uploads / f"{upload_id}.parsed"
    assert json.loads((kept / "result.json").read_text("utf-8"))["outcome"] == "dataset"
    assert not list(kept.glob("*.pkl")) and {p.suffix for p in kept.iterdir()} == {".json", ".parquet"}
    response = county.post(f"{location}/apply", {"fingerprint": fingerprint})
    assert response.status_code == 303 and calls == [1]
    row = drafts.school_year("P1")
    assert row.values["students_primary"] == 1234 and row.status == "draft"
    assert "没有差异" in county.get(location).text and calls == [1]  # diffed against the store as it is now


def test_an_invalid_file_is_read_once_too(drafts, monkeypatch):
    county = drafts.login("county")
    book = workbook_of(county)
    set_cell(book, "学校年度数据", "P1", "小学在校生数", "一千")
    calls = _count_reads(monkeypatch)
    location, page, _ = preview_of(county, send(county, as_bytes(book)))
    assert "一千" in page and calls == [1]
    assert "一千" in county.get(location).text and calls == [1]
    assert county.post(f"{location}/apply", {"fingerprint": "x"}).status_code == 409 and calls == [1]


def test_a_kept_result_from_another_version_is_not_trusted(drafts, monkeypatch):
    county = drafts.login("county")
    location, _, _ = preview_of(county, send(county, as_bytes(workbook_of(county))))
    upload_id = location.rsplit("/", 1)[1]
    result = drafts.settings.uploads / f"{upload_id}.parsed" / "result.json"
    record = json.loads(result.read_text("utf-8"))
    result.write_text(json.dumps(record | {"junheng": "0.0.0-old"}), "utf-8")
    calls = []
    real = upload_routes.load_dataset
    monkeypatch.setattr(upload_routes, "load_dataset", lambda path: calls.append(1) or real(path))
    assert county.get(location).status_code == 200 and calls == [1]  # read again, and kept anew
    assert county.get(location).status_code == 200 and calls == [1]


# ---------------------------------------------------------------- clean-up


def _upload(folder, upload_id: str, uploaded: datetime, applied: datetime | None = None) -> None:
    (folder / f"{upload_id}.xlsx").write_bytes(b"PK")
    (folder / f"{upload_id}.parsed").mkdir()
    (folder / f"{upload_id}.parsed" / "result.json").write_text("{}", "utf-8")
    meta = {"id": upload_id, "county": COUNTY, "kind": "xlsx", "name": "数据.xlsx", "size": 2,
            "uploaded_at": uploaded.isoformat()}
    if applied:
        meta |= {"applied_at": applied.isoformat(), "applied_by": "county", "changes": 3}
    (folder / f"{upload_id}.json").write_text(json.dumps(meta), "utf-8")


def test_abandoned_uploads_are_removed_after_the_set_time(tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    now = datetime(2025, 6, 30, 8, 0, tzinfo=timezone.utc)
    old, fresh, applied_old, applied_fresh = "a" * 32, "b" * 32, "c" * 32, "d" * 32
    _upload(folder, old, now - timedelta(days=8))
    _upload(folder, fresh, now - timedelta(days=6))
    _upload(folder, applied_old, now - timedelta(days=20), applied=now - timedelta(days=8))
    _upload(folder, applied_fresh, now - timedelta(days=20), applied=now - timedelta(days=1))
    (folder / "tasks" / "1").mkdir(parents=True)
    (folder / "tasks" / "1" / "evidence.pdf").write_bytes(b"%PDF")  # attachments: never touched
    stale_part, live_part = folder / f"{'e' * 32}.part", folder / f"{'f' * 32}.part"
    stale_part.write_bytes(b"half")
    live_part.write_bytes(b"half")
    orphan = folder / f"{'9' * 32}.zip"  # a file whose meta was never written
    orphan.write_bytes(b"PK")
    for path in (stale_part, orphan):
        stamp = (now - PART_MAX_AGE - timedelta(minutes=1)).timestamp()
        os.utime(path, (stamp, stamp))
    for path in (live_part,):
        stamp = (now - timedelta(minutes=5)).timestamp()
        os.utime(path, (stamp, stamp))
    for upload_id in (old, fresh, applied_old, applied_fresh):  # file ages do not decide for uploads with a meta
        for path in folder.glob(f"{upload_id}*"):
            stamp = (now - timedelta(days=30)).timestamp()
            os.utime(path, (stamp, stamp))

    report = clean_uploads(folder, now=now, keep_days=7)
    assert report.removed == [old] and report.files_removed == [applied_old]
    assert sorted(report.leftovers) == sorted([stale_part.name, orphan.name])
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([f"{fresh}.json", f"{fresh}.parsed", f"{fresh}.xlsx", f"{applied_old}.json",
                            f"{applied_fresh}.json", f"{applied_fresh}.parsed", f"{applied_fresh}.xlsx",
                            live_part.name, "tasks"])
    record = json.loads((folder / f"{applied_old}.json").read_text("utf-8"))
    assert record["applied_by"] == "county" and record["changes"] == 3 and record["removed_at"] == now.isoformat()
    assert (folder / "tasks" / "1" / "evidence.pdf").exists()
    # again: nothing more to do; a shorter setting removes the fresh one too
    assert clean_uploads(folder, now=now, keep_days=7).summary().startswith("删除未应用的上传 0 个")
    assert clean_uploads(folder, now=now, keep_days=5).removed == [fresh]


def test_the_preview_of_a_cleaned_upload_keeps_its_record(drafts):
    county = drafts.login("county")
    book = workbook_of(county)
    set_cell(book, "学校年度数据", "P1", "小学在校生数", 1234)
    location, _, fingerprint = preview_of(county, send(county, as_bytes(book)))
    assert county.post(f"{location}/apply", {"fingerprint": fingerprint}).status_code == 303
    upload_id = location.rsplit("/", 1)[1]
    later = datetime.now(timezone.utc) + timedelta(days=8)
    settings = monitor_settings(config={}).__class__(uploads=drafts.settings.uploads, upload_keep_days=7)
    report = clean_job(settings, now=later)  # what the server's daily job does
    assert report.files_removed == [upload_id]
    assert sorted(p.name for p in drafts.settings.uploads.iterdir()) == [f"{upload_id}.json"]
    page = county.get(location)
    assert page.status_code == 200 and "应用记录保留" in page.text and "已于" in page.text
    assert county.post(f"{location}/apply", {"fingerprint": fingerprint}).status_code == 409
    assert "数据.xlsx" in county.get(UPLOAD).text  # still listed among the recent uploads


def test_an_upload_cleans_what_was_abandoned(drafts):
    folder = drafts.settings.uploads
    folder.mkdir(parents=True, exist_ok=True)
    _upload(folder, "a" * 32, datetime.now(timezone.utc) - timedelta(days=8))
    county = drafts.login("county")
    preview_of(county, send(county, as_bytes(workbook_of(county))))
    assert not (folder / f"{'a' * 32}.json").exists() and not (folder / f"{'a' * 32}.xlsx").exists()


def test_keep_days_setting(tmp_path):
    assert monitor_settings(config={}).upload_keep_days == 7
    assert monitor_settings(config={"uploads": {"keep_days": 2.5}}).upload_keep_days == 2.5
    for bad in (0, -1, "seven", True):
        with pytest.raises(MonitorConfigError, match=r"\[uploads\] keep_days"):
            monitor_settings(config={"uploads": {"keep_days": bad}})


def test_uploads_clean_command(tmp_path):
    workspace = tmp_path / "ws"
    (workspace / "uploads").mkdir(parents=True)
    (workspace / "junheng.toml").write_text("[uploads]\nkeep_days = 3\n", encoding="utf-8")
    _upload(workspace / "uploads", "a" * 32, datetime.now(timezone.utc) - timedelta(days=4))
    _upload(workspace / "uploads", "b" * 32, datetime.now(timezone.utc) - timedelta(days=2))
    result = builders.run_junheng("uploads", "clean", "--workspace", str(workspace))
    assert result.returncode == 0, result.stderr
    assert "保留 3 天" in result.stdout and "删除未应用的上传 1 个" in result.stdout
    assert sorted(p.name.split(".")[0][0] for p in (workspace / "uploads").glob("*.json")) == ["b"]


# ---------------------------------------------------------------- names


@pytest.mark.parametrize("raw, shown", [
    ("report\u202efdp.exe", "reportfdp.exe"),  # RIGHT-TO-LEFT OVERRIDE: would display as "reportexe.pdf"
    ("报告\u2067fdp.\u2069exe", "报告fdp.exe"),  # isolates
    ("a\u200e\u200f\u061cb.pdf", "ab.pdf"),  # marks
    ("zero\u200bwidth\ufeff.pdf", "zerowidth.pdf"),  # other format characters
    ("c1\x85\x9fname.pdf", "c1name.pdf"),  # C1 controls
    ("line\nbreak\x00.pdf", "linebreak.pdf"),
    ("e\u0301cole.pdf", "\u00e9cole.pdf"),  # NFC
    ("C:\\Users\\张三\\验收报告.pdf", "验收报告.pdf"),
    ("../../etc/passwd", "passwd"),
    ("\u202e", "未命名文件"),
    ("  ..  ", "未命名文件"),
])
def test_names_are_normalised(raw, shown):
    assert shown_name(raw) == shown
    assert safe_filename(raw) == (shown if shown != "未命名文件" else "附件")


def test_a_long_name_keeps_its_extension():
    name = clean_name("很长的名字" * 40 + ".pdf")
    assert len(name) == 120 and name.endswith(".pdf")
    assert len(safe_filename("x" * 400 + ".docx")) == 255 and safe_filename("x" * 400 + ".docx").endswith(".docx")
    header = disposition("报告\u202efdp.exe", "report\u202e.exe")["Content-Disposition"]
    assert "%E2%80%AE" not in header and "\u202e" not in header and "fdp.exe" in header


def test_attachment_names_are_normalised_on_the_page_and_in_the_download(drafts):
    with drafts.database.session() as s:
        task_id = create_task(s, COUNTY, title="新建风雨操场", via="cli").id
    county = drafts.login("county")
    name = "验收\u202efdp.exe.pdf"
    response = county.post(f"/tasks/{task_id}/attachments",
                           files={"file": (name, b"%PDF-1.4 evidence", "application/pdf")})
    assert response.status_code == 303, response.text
    page = county.get(f"/tasks/{task_id}")
    assert "\u202e" not in page.text and "验收fdp.exe.pdf" in page.text
    attachment_id = re.search(rf"/tasks/{task_id}/attachments/(\d+)", page.text).group(1)
    download = county.get(f"/tasks/{task_id}/attachments/{attachment_id}")
    assert download.status_code == 200 and download.content == b"%PDF-1.4 evidence"
    header = download.headers["content-disposition"]
    assert header.startswith("attachment;") and "%E2%80%AE" not in header and ".pdf" in header


def test_upload_names_are_normalised(drafts):
    county = drafts.login("county")
    location, page, _ = preview_of(county, send(county, as_bytes(workbook_of(county)), "数据\u202excslx.xlsx", XLSX))
    assert "\u202e" not in page and "数据xcslx.xlsx" in page
    assert "\u202e" not in county.get(UPLOAD).text

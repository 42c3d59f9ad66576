"""The SIGKILL trial: a writer killed at a random moment leaves the store fully before or fully
after each transaction, and the audit log agrees with the data.

A child process runs the real code path in a loop, one transaction per step, and prints each
step it has committed; the parent kills it with SIGKILL after a random (seeded) delay, so the
kill lands before, inside or between transactions. The parent then reopens the store and checks:

- upload apply (`upload._prepare` of two prepared workbooks, alternately, then `repo.apply`
  with via="upload" and commit, as `apply_upload` does): every school-year of the county holds
  the values of one file, all of them the same file; every step in the audit log is complete
  (one entry per change); the file the data holds is the one of the last complete step; each
  row's version moved once per complete step;
- form save (the real web app in the child, through TestClient: log in, POST the school-year
  form with the row's version): the fields of the form hold the values of one save; each save in
  the audit log has all its entries; the stored values are those of the last audited save; the
  version moved once per audited save.

Both on SQLite (a file in tmp, WAL mode as in production) and on PostgreSQL. Delays only decide
when to kill: nothing here asserts a time.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import builders
import pandas as pd
import pytest
from databases import KINDS, scratch_database
from sqlalchemy import select

from junheng.data.dataset import Dataset
from junheng.data.writer import write_dataset_xlsx
from junheng.store.models import AuditEntry, School, SchoolYear

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS / "web"))
from web_world import COUNTY, WEB_USERS, YEAR, seed_store, web_dataset  # noqa: E402

TRIALS = 6  # per backend and path
SEED = 20260611
FORM_SCHOOL = "P1"
FORM_FIELDS = ("sports_area", "teaching_aux_area", "equipment_value", "public_funds")
UPLOAD_FIELDS = ("sports_area", "equipment_value")


# ---------------------------------------------------------------- the children

UPLOAD_CHILD = textwrap.dedent("""
    import json, sys
    sys.path[:0] = [{tests!r}, {web!r}]
    from sqlalchemy import select
    from junheng.store import repo
    from junheng.store.db import Database
    from junheng.store.models import User
    from junheng.store.users import Access
    from junheng.web.routes import upload as upload_routes

    url, folder, metas = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    from pathlib import Path
    database = Database(url)
    step = 0
    print("ready", flush=True)
    while True:
        meta = metas[step % 2]
        step += 1
        with database.session() as session:  # the apply of `apply_upload`: prepare, apply, commit
            user = session.scalar(select(User).where(User.username == "county"))
            county = repo.county_by_code(session, meta["county"])
            prepared = upload_routes._prepare(session, Path(folder), meta, county, Access.of(session, user))
            assert "changes" in prepared and not prepared["locked"] and not prepared["refused"], prepared
            repo.apply(session, prepared["changes"], user=user, via="upload",
                       note=f"上传文件“{{meta['name']}}”({{meta['id']}}) step {{step}}")
            session.commit()
        print(step, flush=True)
""")

FORM_CHILD = textwrap.dedent("""
    import sys, re
    sys.path[:0] = [{tests!r}, {web!r}]
    from pathlib import Path
    from sqlalchemy import select
    from junheng.store.db import Database
    from junheng.store.models import School, SchoolYear
    from junheng.web.app import create_app
    from web_world import login, web_settings

    url, uploads, school_code, year, fields, start = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), \\
        sys.argv[5].split(","), int(sys.argv[6])
    database = Database(url)
    client = login(create_app(web_settings(database, Path(uploads)), database), "county")
    with database.session() as s:
        school = s.scalar(select(School).where(School.code == school_code))
        version = s.scalar(select(SchoolYear.version).where(SchoolYear.school_id == school.id,
                                                            SchoolYear.year == year))
    print("ready", flush=True)
    step = 0
    while True:
        step += 1
        value = start + step
        data = {{"version": str(version), "action": "save", **{{f: str(value + i) for i, f in enumerate(fields)}}}}
        response = client.post(f"/schools/{{school_code}}/years/{{year}}", data)
        assert response.status_code == 303, (response.status_code, response.text[:2000])
        version += 1
        print(step, flush=True)
""")


def run_until_killed(code: str, arguments: list[str], delay: float) -> int:
    """Start the child, wait until it is ready, let it write for `delay` seconds, SIGKILL it;
    the last step it reported committed."""
    child = subprocess.Popen([sys.executable, "-c", code, *arguments], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        first = child.stdout.readline()
        assert first.strip() == "ready", first + child.stderr.read()
        time.sleep(delay)  # only decides when the kill lands
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        output, errors = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, f"the writer ended by itself ({child.returncode}):\n{errors}"
    reported = [line for line in output.split() if line.isdigit()]
    return int(reported[-1]) if reported else 0


# ---------------------------------------------------------------- the store

def school_years(database, county: str = COUNTY) -> dict[str, tuple[dict, int]]:
    with database.session() as s:
        rows = s.execute(select(School.code, SchoolYear.values, SchoolYear.version)
                         .join(SchoolYear, SchoolYear.school_id == School.id)
                         .where(SchoolYear.year == YEAR, School.county_id.in_(
                             select(School.county_id).where(School.code == "P1")))).all()
    return {code: (dict(values), version) for code, values, version in rows}


def audit_after(database, mark: int, via: str) -> list[AuditEntry]:
    with database.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.id > mark, AuditEntry.via == via)
                              .order_by(AuditEntry.id)))


def audit_mark(database) -> int:
    with database.session() as s:
        return max(s.scalars(select(AuditEntry.id)).all(), default=0)


@pytest.fixture(scope="module", params=KINDS)
def store(request, tmp_path_factory):
    """The web world's data and users on each backend, the county's school-years as drafts."""
    folder = tmp_path_factory.mktemp(f"kill-{request.param}")
    with scratch_database(request.param, folder) as database:
        seed_store(database, web_dataset(), WEB_USERS)
        with database.session() as s:
            for row in s.scalars(select(SchoolYear)):
                row.status = "draft"
        yield database, folder


# ---------------------------------------------------------------- upload apply

def upload_file(folder: Path, upload_id: str, name: str, value: float) -> dict:
    """An upload as `receive_upload` leaves it: the workbook under its id, and its meta."""
    schools = [builders.school(i, t) for i, t in builders.default_schools()]
    years = [builders.school_year(s["school_id"], s["school_type"], **{f: value + n for n, f in
                                                                      enumerate(UPLOAD_FIELDS)})
             for s in schools]
    dataset = Dataset.from_frames(source="tests", schools=pd.DataFrame(schools), school_year=pd.DataFrame(years))
    uploads = folder / "uploads"
    uploads.mkdir(exist_ok=True)
    write_dataset_xlsx(dataset, uploads / f"{upload_id}.xlsx")
    meta = {"id": upload_id, "county": COUNTY, "kind": "xlsx", "name": name, "size": 1, "limit": 2 << 20,
            "user_id": 0, "username": "county", "uploaded_at": "2026-01-01T00:00:00+00:00"}
    (uploads / f"{upload_id}.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    return meta


def test_upload_apply_killed_at_random_ends_fully_before_or_after(store):
    database, folder = store
    rng = random.Random(f"{SEED}-upload-{database.url.split(':')[0]}")
    child = UPLOAD_CHILD.format(tests=str(TESTS), web=str(TESTS / "web"))
    for trial in range(TRIALS):
        base = 50_000 + 1000 * trial
        metas = [upload_file(folder, f"{trial:02d}{side}" + "0" * 29, f"第{trial}次{side}.xlsx", base + 100 * side)
                 for side in (1, 2)]
        expected = {side: {f: float(base + 100 * side + n) for n, f in enumerate(UPLOAD_FIELDS)} for side in (1, 2)}
        before, mark = school_years(database), audit_mark(database)
        reported = run_until_killed(child, [database.url, str(folder / "uploads"), json.dumps(metas)],
                                    rng.uniform(0.0, 2.0))

        entries = audit_after(database, mark, "upload")
        steps: dict[str, list[AuditEntry]] = {}
        for entry in entries:
            steps.setdefault(entry.note, []).append(entry)
        per_step = len(before) * len(UPLOAD_FIELDS)
        assert all(len(found) == per_step for found in steps.values()), (
            trial, {note: len(found) for note, found in steps.items()})  # a step is in the log whole or not at all
        done = len(steps)
        assert done >= reported  # every step the child saw committed is there (it may have died before printing)
        assert sorted(int(note.rsplit(" ", 1)[1]) for note in steps) == list(range(1, done + 1))
        after = school_years(database)
        assert after.keys() == before.keys()
        for code, (values, version) in after.items():
            old_values, old_version = before[code]
            held = {f: values.get(f) for f in UPLOAD_FIELDS}
            want = {f: old_values.get(f) for f in UPLOAD_FIELDS} if done == 0 else expected[2 - done % 2]
            assert held == want, (trial, code, done, held)  # every row holds the file of the last complete step
            assert version == old_version + done, (trial, code, done, version)
            assert {k: v for k, v in values.items() if k not in UPLOAD_FIELDS} == \
                {k: v for k, v in old_values.items() if k not in UPLOAD_FIELDS}
        for entry in entries:  # the log agrees with the data: the last step's entries are what is stored
            if entry.note.endswith(f" step {done}"):
                assert after[entry.entity_key.split("/")[0]][0][entry.field] == entry.new


# ---------------------------------------------------------------- form save

def test_form_save_killed_at_random_ends_fully_before_or_after(store):
    database, folder = store
    rng = random.Random(f"{SEED}-form-{database.url.split(':')[0]}")
    child = FORM_CHILD.format(tests=str(TESTS), web=str(TESTS / "web"))
    key = f"{FORM_SCHOOL}/{YEAR}"
    for trial in range(TRIALS):
        start = 70_000 + 1000 * trial
        before, mark = school_years(database), audit_mark(database)
        old_values, old_version = before[FORM_SCHOOL]
        reported = run_until_killed(child, [database.url, str(folder / "uploads"), FORM_SCHOOL, str(YEAR),
                                            ",".join(FORM_FIELDS), str(start)], rng.uniform(0.0, 2.0))

        entries = [e for e in audit_after(database, mark, "form") if e.entity_key == key]
        by_field = {f: [e for e in entries if e.field == f] for f in FORM_FIELDS}
        assert {e.field for e in entries} <= set(FORM_FIELDS)
        counts = {f: len(found) for f, found in by_field.items()}
        done = counts[FORM_FIELDS[0]]
        assert set(counts.values()) == {done}, (trial, counts)  # each save is in the log whole or not at all
        assert done >= reported
        values, version = school_years(database)[FORM_SCHOOL]
        assert version == old_version + done, (trial, done, version)
        for n, f in enumerate(FORM_FIELDS):
            assert [e.new for e in by_field[f]] == [float(start + step + n) for step in range(1, done + 1)]
            assert values.get(f) == (old_values.get(f) if done == 0 else float(start + done + n)), (trial, f, done)
        others = {code: v for code, v in school_years(database).items() if code != FORM_SCHOOL}
        assert others == {code: v for code, v in before.items() if code != FORM_SCHOOL}

"""`junheng demo` is alive today: with the date frozen at 2026-12-01, the county has complete
years 2023–2025 and the school year 2026 in progress, in the written dataset, in the store
(approved complete years; a mix of approved, submitted and draft rows in 2026, no county-level
row yet, every state reached through the workflow) and in what the terminal shows."""

from __future__ import annotations

import io
import json
import re
from datetime import date

import pandas as pd
import pytest
from rich.console import Console
from sqlalchemy import func, select

from junheng.data.importer import load_dataset
from junheng.engine.evaluate import evaluate_dataset
from junheng.services import evaluate_stored, open_database, run_demo
from junheng.store import repo
from junheng.store.models import AuditEntry, CountyYear, SchoolYear, User

TODAY = date(2026, 12, 1)
COUNTY = "140599"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo-workspace")
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUNHENG_SOFFICE", str(root / "no-libreoffice"))  # a machine without LibreOffice
        results = run_demo(root, counties=1, seed=2024, console=Console(file=out, width=200), today=TODAY,
                           port=8123)
    database, _ = open_database(root, migrate=False)
    yield {"root": root, "output": out.getvalue(), "results": results, "database": database}
    database.engine.dispose()


def test_the_written_dataset_holds_every_year_and_part_of_the_current_one(demo):
    dataset = load_dataset(demo["root"] / "demo-data")
    rows = dataset.school_year.groupby("year").size().to_dict()
    schools = len(dataset.schools)
    assert schools == 78
    assert rows[2023] == rows[2024] == rows[2025] == schools
    assert 0 < rows[2026] < schools
    assert sorted(dataset.county_year["year"]) == [2023, 2024, 2025]
    assert 2026 not in set(dataset.quality["year"])
    by_year = {r.year: r for r in evaluate_dataset(dataset)}
    assert [y for y, r in sorted(by_year.items()) if r.complete] == [2023, 2024, 2025]
    assert by_year[2026].verdict == "incomplete"
    assert by_year[2026].coverage.schools_included == rows[2026]


def test_the_terminal_shows_the_latest_complete_year_and_the_year_in_progress(demo):
    output, results = demo["output"], demo["results"]
    assert re.search(r"评估结论:未达标\(示范县\(合成数据\),2025—2026 学年,", output), output
    doc = json.loads((demo["root"] / "demo-result.json").read_text("utf-8"))
    assert doc["year"] == 2025 and doc["coverage"]["complete"] is True and doc["verdict"] == "fail"
    # the designed shortfalls are those of the last complete year
    shown = next(r for r in results if r.year == 2025)
    assert {"R2", "R5", "G3", "G4", "G5", "G11"} <= set(shown.failing_items())
    line = re.search(r"2026—2027 学年填报中:已审核 (\d+)/78 所", output)
    assert line, output
    with demo["database"].session() as session:
        approved = session.scalar(select(func.count()).select_from(SchoolYear).where(
            SchoolYear.year == 2026, SchoolYear.status == "approved"))
    assert int(line.group(1)) == approved
    assert f"--county {COUNTY} --year 2025" in output


def test_the_store_has_approved_complete_years_and_a_mix_in_the_current_one(demo):
    with demo["database"].session() as session:
        states = pd.DataFrame(session.execute(select(SchoolYear.year, SchoolYear.status)).all(),
                              columns=["year", "status"])
        by_year = states.groupby("year")["status"].value_counts().unstack(fill_value=0)
        for year in (2023, 2024, 2025):
            assert by_year.loc[year].to_dict() == {**{s: 0 for s in by_year.columns}, "approved": 78}
        current = by_year.loc[2026]
        assert current["approved"] > 0 and current["submitted"] > 0 and current["draft"] > 0
        assert current.sum() < 78  # the other schools have no row yet
        county_years = dict(session.execute(select(CountyYear.year, CountyYear.status)).all())
        assert county_years == {2023: "approved", 2024: "approved", 2025: "approved"}
        # every state was reached through the workflow: the audit log tells the year's story
        moves = dict(((old, new), n) for old, new, n in session.execute(
            select(AuditEntry.old, AuditEntry.new, func.count())
            .where(AuditEntry.field == "status", AuditEntry.entity_key.like("%/2026"))
            .group_by(AuditEntry.old, AuditEntry.new)))
        assert moves == {("draft", "submitted"): current["submitted"] + current["approved"],
                         ("submitted", "approved"): current["approved"]}
        progress = repo.year_progress(session, repo.county_by_code(session, COUNTY))
        assert progress.latest_complete == 2025
        assert [y for y, _ in progress.in_progress] == [2026]


def test_the_store_evaluates_the_complete_year_by_default_and_the_current_one_as_incomplete(demo):
    with demo["database"].session() as session:
        result, _, years = evaluate_stored(session, COUNTY)
        assert result.year == 2025 and result.complete and result.verdict == "fail"
        assert years == [2023, 2024, 2025, 2026]
        partial, _, _ = evaluate_stored(session, COUNTY, 2026)
        assert partial.year == 2026 and partial.verdict == "incomplete"
        coverage = partial.coverage
        assert 0 < coverage.schools_included < coverage.schools_expected == 78
        assert coverage.not_approved.get("submitted", 0) > 0 and coverage.not_approved.get("draft", 0) > 0
        assert coverage.schools_without_data > 0 and coverage.county_year is False


def test_the_terminal_shows_a_short_summary_the_site_the_accounts_and_the_next_commands(demo):
    output = demo["output"]
    lines = output.splitlines()
    assert len(lines) < 40, output  # was 533 lines, the passwords last
    assert "未达标指标:" in output and "R2" in output
    assert f"完整评估结果:{demo['root'] / 'demo-result.json'}" in output and "junheng demo --verbose" in output
    assert "社会认可度" not in output  # the full result's tables only with --verbose
    assert "网站:http://127.0.0.1:8123/" in output  # where `junheng serve` will listen (make demo PORT=)
    accounts = output.index("示范账号")
    assert re.search(r"admin\s+│\s+系统管理员\s+│\s+全部\s+│\s+[A-Za-z2-9]{4}-[A-Za-z2-9]{4}-[A-Za-z2-9]{4}", output)
    steps = output.index("下一步:")
    assert accounts < steps
    assert f"junheng serve --workspace {demo['root']} --host 127.0.0.1 --port 8123" in output[steps:]
    assert f"junheng demo --workspace {demo['root']} --reset-passwords" in output[steps:]


def test_rich_markup_in_messages_is_shown_as_written(demo):
    assert "定时巡检见 junheng.toml 的 [monitor])" in demo["output"]


def test_without_libreoffice_the_demo_says_how_to_enable_pdf(demo):
    assert "本机未找到 LibreOffice" in demo["output"] and "bash scripts/install-system-deps.sh" in demo["output"]


def test_running_the_demo_again_keeps_the_workflow_and_the_passwords(demo):
    with demo["database"].session() as session:
        before = sorted(session.execute(select(SchoolYear.school_id, SchoolYear.year, SchoolYear.status)).all())
        hashes = dict(session.execute(select(User.username, User.password_hash)).all())
    out = io.StringIO()
    run_demo(demo["root"], counties=1, seed=2024, console=Console(file=out, width=200), today=TODAY, verbose=True)
    with demo["database"].session() as session:
        after = sorted(session.execute(select(SchoolYear.school_id, SchoolYear.year, SchoolYear.status)).all())
        assert dict(session.execute(select(User.username, User.password_hash)).all()) == hashes
    assert after == before
    again = out.getvalue()
    assert "示范账号(已存在,密码未改变)" in again and again.count("(未改变,沿用原密码)") == 5
    assert not re.search(r"[A-Za-z2-9]{4}-[A-Za-z2-9]{4}-[A-Za-z2-9]{4}", again)  # no password is shown
    assert "学年:2025—2026" in again and "社会认可度" in again  # --verbose: the full result

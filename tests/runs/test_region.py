"""Whole-region runs (junheng.runs.region, `junheng evaluate --all`): every county-year evaluated in
chunks into Parquet, the same results as one engine call, a summary, and a command killed mid-way
resumed without recomputing what was finished."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import builders
import pyarrow.parquet as pq
import pytest

from junheng.data.importer import load_dataset
from junheng.data.writer import write_dataset_csv
from junheng.demo.synthetic import generate_region
from junheng.engine.evaluate import evaluate_dataset
from junheng.runs.region import RESULTS, RunError, run_all


@pytest.fixture(scope="module")
def region():
    return generate_region(12, seed=11, schools_per_county=20)


def _stored(folder: Path) -> dict[str, dict]:
    rows = pq.read_table(folder / RESULTS).to_pylist()
    keys = [(r["county_code"], r["year"]) for r in rows]
    assert len(keys) == len(set(keys)), "a county-year was written twice"
    return {f'{r["county_code"]}/{r["year"]}': json.loads(r["result"]) for r in rows}


def test_chunks_give_what_one_call_gives_and_a_summary(region, tmp_path):
    outcome = run_all(region, tmp_path / "out", source="测试", chunk=5)
    assert (outcome.total, outcome.computed, outcome.reused, len(outcome.parts)) == (12, 12, 0, 3)
    expected = {f"{r.county_code}/{r.year}": r.to_json() for r in evaluate_dataset(region)}
    assert _stored(tmp_path / "out") == json.loads(json.dumps(expected))
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    verdicts = [r["verdict"] for r in expected.values()]
    assert summary["county_years"] == 12 and summary["verdicts"]["fail"] == verdicts.count("fail")
    failing = {}
    for result in evaluate_dataset(region):
        for indicator in result.failing_items():
            failing[indicator] = failing.get(indicator, 0) + 1
    assert {r["indicator"]: r["county_years"] for r in summary["failing"]} == failing
    text = (tmp_path / "out" / "summary.csv").read_text("utf-8-sig")
    assert "评估的县区年度,12" in text and "未达标指标" in text


def test_a_rerun_reuses_everything_and_other_data_is_refused(region, tmp_path):
    run_all(region, tmp_path / "out", source="测试", chunk=5)
    again = run_all(region, tmp_path / "out", source="测试", chunk=5)
    assert (again.computed, again.reused, again.parts) == (0, 12, [])
    other = generate_region(3, seed=12, schools_per_county=20)
    with pytest.raises(RunError, match="另一份数据"):
        run_all(other, tmp_path / "out", source="别的")
    restarted = run_all(other, tmp_path / "out", source="别的", restart=True)
    assert restarted.computed == 3 and len(_stored(tmp_path / "out")) == 3
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "笔记.txt").write_text("x", "utf-8")
    with pytest.raises(RunError, match="不是空的"):
        run_all(region, tmp_path / "busy", source="测试")
    with pytest.raises(RunError, match="1 到 5000"):
        run_all(region, tmp_path / "new", source="测试", chunk=0)


def test_a_killed_run_resumes_without_recomputing_finished_county_years(tmp_path):
    region = generate_region(40, seed=5, schools_per_county=15)
    data = tmp_path / "data"
    write_dataset_csv(region, data)
    out = tmp_path / "out"
    command = [builders.junheng_command(), "evaluate", "--all", str(data), "-o", str(out), "--chunk", "1"]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / RESULTS).glob("part-*.parquet"))) < 3:
        if child.poll() is not None:
            pytest.fail("the run ended before it could be killed")
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    finished = {p.name: p.stat().st_mtime_ns for p in (out / RESULTS).glob("part-*.parquet")}
    assert 3 <= len(finished) < 40
    resumed = builders.run_junheng("evaluate", "--all", str(data), "-o", str(out), "--chunk", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert f"本次计算 {40 - len(finished)} 个,沿用上次已完成的 {len(finished)} 个" in builders.plain(resumed.stdout)
    for name, mtime in finished.items():  # finished parts are kept, not rewritten
        assert (out / RESULTS / name).stat().st_mtime_ns == mtime
    assert not list(out.rglob("*.tmp"))
    expected = {f"{r.county_code}/{r.year}": r.to_json() for r in evaluate_dataset(load_dataset(data))}
    assert _stored(out) == json.loads(json.dumps(expected))


def test_the_command_over_a_workspace_store_and_its_refusals(tmp_path):
    from junheng.services import init_workspace, open_database
    from junheng.store import repo

    root = tmp_path / "ws"
    init_workspace(root, admin="admin", password="Jh-2026-kT9#qL")
    database, _ = open_database(root)
    with database.session() as s:
        repo.import_dataset(s, generate_region(3, seed=2, schools_per_county=10), user=None, via="cli",
                            status="approved")
    out = tmp_path / "全部"
    run = builders.run_junheng("evaluate", "--all", "-w", str(root), "-o", str(out))
    assert run.returncode == 0, run.stderr
    text = builders.plain(run.stdout)
    assert "已评估 3 个县区的 3 个县区年度(本次计算 3 个)" in text and "结论" in text
    assert len(_stored(out)) == 3 and (out / "summary.csv").exists()
    for arguments, message in (
            (["evaluate", "--all", "-w", str(root)], "请用 -o 指定输出文件夹"),
            (["evaluate", "--all", "-w", str(root), "-o", str(out), "-c", "110101"], "不能同时指定 --county"),
            (["evaluate", "--all", "-w", str(root), "-o", str(out), "--backend", "oracle"], "duckdb"),
            (["evaluate"], "缺少参数:数据集")):
        refused = builders.run_junheng(*arguments)
        assert refused.returncode != 0 and "Traceback" not in refused.stderr, refused.stderr
        assert message in builders.plain(refused.stderr), refused.stderr


def test_a_changed_standard_file_is_other_inputs(region, tmp_path):
    """Resuming under a standard whose file changed would mix results of two standards."""
    from junheng.standards.loader import load_standard

    original = tmp_path / "test-province.yaml"
    original.write_text("extends: national-2017\nid: test-province\nname: 测试省标准\n", encoding="utf-8")
    run_all(region, tmp_path / "out", source="测试", standard=str(original), chunk=5)
    assert run_all(region, tmp_path / "out", source="测试", standard=str(original), chunk=5).reused == 12
    original.write_text("extends: national-2017\nid: test-province\nname: 测试省标准(修订)\n", encoding="utf-8")
    load_standard.cache_clear()  # the rerun is a new process: it reads the file anew
    with pytest.raises(RunError, match="另一份数据或另一个标准"):
        run_all(region, tmp_path / "out", source="测试", standard=str(original), chunk=5)

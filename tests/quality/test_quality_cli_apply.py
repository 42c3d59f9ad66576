"""`junheng quality SCORES --cuts CUTS --apply` on a workspace: the "Done when" path of issue 15 for a
province — one file with several counties, one run, each county's Q9 rows written and the
evaluation naming the scores as their source; refusals exit 1 in Chinese and keep nothing."""

from __future__ import annotations

import json

import builders
import pandas as pd
from sqlalchemy import func, select

from junheng.store import repo
from junheng.store.models import QualityAnalysis, QualityRow

from .test_service import CHINESE, CUTS, HEADER, MATH

PASSWORD = "Jh-2026-kT9#qL"
OTHER = "990002"


def _workspace(tmp_path):
    from junheng.services import init_workspace, open_database

    root = tmp_path / "ws"
    init_workspace(root, admin="admin", password=PASSWORD)
    database, _ = open_database(root)
    second = builders.dataset()
    second = builders.Dataset.from_frames(
        source="tests", **{name: frame.assign(**({"county_code": OTHER} if "county_code" in frame else {}))
                           .assign(**({"school_id": frame["school_id"] + "b"} if "school_id" in frame else {}))
                           for name, frame in (("schools", second.schools), ("school_year", second.school_year),
                                               ("county_year", second.county_year))},
        quality=pd.DataFrame(columns=["county_code", "year", "subject", "level", "inter_school_diff_rate"]))
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(quality_rows=[]), user=None, via="cli")
        repo.import_dataset(s, second, user=None, via="cli")
    return root, database


def _files(tmp_path, counties):
    rows = []
    for county, suffix in counties:
        rows += [f"{county},{school}{suffix},{builders.YEAR},8,数学,{county}{key},{score}" for school, key, score in MATH]
        rows += [f"{county},{school}{suffix},{builders.YEAR},8,语文,{county}{key},{score}" for school, key, score in CHINESE]
    scores, cuts = tmp_path / "全省成绩.csv", tmp_path / "分数线.csv"
    scores.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    cuts.write_text(CUTS, encoding="utf-8")
    return scores, cuts


def test_a_province_file_fills_every_county_in_one_run(tmp_path):
    root, database = _workspace(tmp_path)
    scores, cuts = _files(tmp_path, [(builders.COUNTY, ""), (OTHER, "b")])
    out = tmp_path / "结果.json"
    run = builders.run_junheng(
        "quality", str(scores), "--cuts", str(cuts), "--apply", "-w", str(root), "-f", "json", "-o", str(out))
    assert run.returncode == 0, run.stderr
    assert "已导入工作区" in run.stderr and "2 个县区" in run.stderr and "质量监测结果变更 8 项" in run.stderr
    data = json.loads(out.read_text("utf-8"))
    assert set(data) == {f"{c}/{s}/8" for c in (builders.COUNTY, OTHER) for s in ("数学", "语文")}
    assert abs(data[f"{OTHER}/数学/8"]["icc"] - 89 / 137) < 1e-9
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(QualityAnalysis)) == 2
        assert s.scalar(select(func.count()).select_from(QualityRow)) == 4
        from junheng.services import evaluate_stored

        for code in (builders.COUNTY, OTHER):
            result, _, _ = evaluate_stored(s, code, builders.YEAR, approved_only=False)
            q9 = [i for i in result.areas.education_quality.indicators.values() if "quality/数学(八年级)" in i.sources]
            assert q9 and q9[0].sources["quality/数学(八年级)"].kind == "computed"
            assert "全省成绩.csv" in q9[0].explanation
    again = builders.run_junheng("quality", str(scores), "--cuts", str(cuts), "--apply", "-w", str(root))
    assert again.returncode == 0 and "质量监测结果变更 0 项" in again.stderr
    shown = builders.plain(again.stdout)
    assert "对校际差异贡献最大的学校:测试学校" in shown and "学校:J1(" not in shown  # names, not ids


def test_a_refused_run_exits_in_chinese_and_keeps_nothing(tmp_path):
    root, database = _workspace(tmp_path)
    scores, cuts = _files(tmp_path, [(builders.COUNTY, ""), ("990077", "")])
    run = builders.run_junheng("quality", str(scores), "--cuts", str(cuts), "--apply", "-w", str(root))
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "工作区没有的县区:县区代码 990077" in run.stderr
    refused = builders.run_junheng("quality", str(scores), "--cuts", str(cuts), "--apply", "-s", "national-2017",
                                   "-w", str(root))
    assert refused.returncode == 1 and "不能再用 --standard" in refused.stderr
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(QualityAnalysis)) == 0
        assert s.scalar(select(func.count()).select_from(QualityRow)) == 0
    assert not (root / "analytics.duckdb").exists()

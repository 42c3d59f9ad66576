"""Quality analytics at provincial scale (issue 15): 10 million scores (3 subjects, 5,000 schools
in 50 counties, one grade and year) written to a Parquet file with numpy/pyarrow (not timed), then
timed in a fresh process: the import (`read_scores` with pseudonymisation into in-memory DuckDB)
and levels and ICCs (`junheng.quality.analysis.analyse`), with the process's peak memory
(ru_maxrss of the child, which is what DuckDB's allocations show up in). Goal: import + analysis
under 30 s, peak under 2 GB. Beside it statsmodels MixedLM (variance components of a null model)
on a 100,000-row sample of one subject: seconds per row against the ICC's.

    .venv/bin/python bench/quality.py [--rows 10000000] [--schools 5000] [--sample 100000] [--no-mixedlm]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 30.0
GOAL_BYTES = 2 * 2**30
SUBJECTS = ("math", "chinese", "science")
COUNTIES = 50
BETWEEN_SD, WITHIN_SD = 40.0, 100.0  # true ICC = 1600 / (1600 + 10000) ≈ 0.138


def generate(path: Path, rows: int, schools: int, seed: int = 20241) -> dict:
    """`rows` scores: rows / 3 students, each with one score per subject, schools of unequal size."""
    rng = np.random.default_rng(seed)
    students = rows // len(SUBJECTS)
    school = np.sort(rng.integers(0, schools, students))
    effect = rng.normal(0, BETWEEN_SD, (schools, len(SUBJECTS)))
    county = school * COUNTIES // schools
    ids = pa.array(np.arange(students, dtype=np.int64) + 10**12).cast(pa.string())
    key = pc.binary_join_element_wise("L", ids, "")
    school_id = pc.binary_join_element_wise("S", pa.array(school + 10**6).cast(pa.string()), "")
    county_code = pa.array((140100 + county * 100 + 1).astype(np.int64)).cast(pa.string())
    writer = None
    try:
        for s, subject in enumerate(SUBJECTS):
            score = np.clip(500 + effect[school, s] + rng.normal(0, WITHIN_SD, students), 0, 1000).round(1)
            table = pa.table({
                "county_code": county_code, "school_id": school_id,
                "year": pa.array(np.full(students, 2024, np.int32)), "grade": pa.array(np.full(students, 8, np.int32)),
                "subject": pa.array([subject] * students, pa.string()), "student_key": key,
                "score": pa.array(score),
            })
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=1 << 20)
    finally:
        if writer is not None:
            writer.close()
    return {"rows": students * len(SUBJECTS), "students": students, "schools": schools, "counties": COUNTIES}


def write_cuts(path: Path) -> None:
    path.write_text("subject,grade,level_2,level_3,level_4\n"
                    + "".join(f"{s},8,400,500,600\n" for s in SUBJECTS), encoding="utf-8")


def child(parquet: Path, cuts: Path) -> None:
    """The timed part, in its own process so that its peak memory is its own."""
    start = time.perf_counter()
    from junheng.quality.pseudonyms import run_secret
    from junheng.quality.scores import read_scores

    imported = time.perf_counter()
    scores = read_scores(parquet, key=run_secret())
    loaded = time.perf_counter()
    out = {"import_modules_s": imported - start, "import_s": loaded - imported,
           "rows": int(scores.count().to_pyarrow().as_py())}
    try:
        from junheng.quality.analysis import analyse
        from junheng.quality.cuts import read_cuts
    except ImportError:
        analyse = None
    if analyse is not None:
        begin = time.perf_counter()
        results = analyse(scores, read_cuts(cuts))
        out["analyse_s"] = time.perf_counter() - begin
        out["results"] = len(results)
        iccs = [r.icc for r in results.values() if r.icc is not None]
        out["icc_mean"] = float(np.mean(iccs)) if iccs else None
    out["max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(out))


def mixedlm(parquet: Path, sample: int, seed: int = 7) -> dict:
    """statsmodels MixedLM (random intercept per school, REML) on `sample` rows of one subject."""
    import statsmodels.formula.api as smf

    table = pq.read_table(parquet, columns=["school_id", "subject", "score"], filters=[("subject", "=", SUBJECTS[0])])
    rng = np.random.default_rng(seed)
    picked = table.take(pa.array(np.sort(rng.choice(table.num_rows, min(sample, table.num_rows), replace=False))))
    frame = picked.to_pandas()
    start = time.perf_counter()
    fit = smf.mixedlm("score ~ 1", frame, groups=frame["school_id"]).fit(reml=True)
    seconds = time.perf_counter() - start
    between, within = float(fit.cov_re.iloc[0, 0]), float(fit.scale)
    return {"rows": len(frame), "groups": int(frame["school_id"].nunique()), "seconds": seconds,
            "icc": between / (between + within)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--schools", type=int, default=5_000)
    parser.add_argument("--sample", type=int, default=100_000)
    parser.add_argument("--no-mixedlm", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("PARQUET", "CUTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        parquet, cuts = Path(tmp) / "scores.parquet", Path(tmp) / "cuts.csv"
        begin = time.perf_counter()
        shape = generate(parquet, args.rows, args.schools)
        write_cuts(cuts)
        print(f"generated {shape['rows']:,} scores ({shape['students']:,} students, {shape['schools']:,} schools, "
              f"{shape['counties']} counties) in {time.perf_counter() - begin:.1f} s "
              f"({parquet.stat().st_size / 2**20:.0f} MB Parquet; not timed)")
        print(f"load average before the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        done = subprocess.run([sys.executable, __file__, "--child", str(parquet), str(cuts)], capture_output=True,
                              text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        out = json.loads(done.stdout.strip().splitlines()[-1])
        total = out["import_s"] + out.get("analyse_s", 0.0)
        peak = out["max_rss_bytes"]
        print(f"import (read_scores, pseudonymised): {out['import_s']:.2f} s for {out['rows']:,} rows")
        if "analyse_s" in out:
            print(f"levels and ICCs (analyse): {out['analyse_s']:.2f} s, {out['results']} county × subject × grade "
                  f"results, mean ICC {out['icc_mean']:.4f} (true {BETWEEN_SD**2 / (BETWEEN_SD**2 + WITHIN_SD**2):.4f})")
        else:
            print("levels and ICCs: junheng.quality.analysis not available, only the import is timed")
        print(f"total {total:.2f} s (goal < {GOAL_SECONDS:.0f} s), peak memory {peak / 2**30:.2f} GB "
              f"(goal < {GOAL_BYTES / 2**30:.0f} GB); module imports {out['import_modules_s']:.2f} s not counted")
        print(f"load average after the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if not args.no_mixedlm and "analyse_s" in out:
            fit = mixedlm(parquet, args.sample)
            ours = out["analyse_s"] / out["rows"]
            theirs = fit["seconds"] / fit["rows"]
            print(f"statsmodels MixedLM on {fit['rows']:,} rows ({fit['groups']:,} schools, one subject): "
                  f"{fit['seconds']:.2f} s, ICC {fit['icc']:.4f}; per row {theirs * 1e6:.2f} µs against "
                  f"analyse's {ours * 1e6:.3f} µs: {theirs / ours:.0f}× slower per row")
    ok = total < GOAL_SECONDS and peak < GOAL_BYTES
    print("ok" if ok else "SLOWER OR LARGER THAN THE GOAL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

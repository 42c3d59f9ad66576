"""Benchmark: how the evaluation grows with the region, on DuckDB, PostgreSQL and Spark local.

For each size (synthetic regions of `generate_region`, one year, about 72 schools a county) and
each backend, in one run:

- the resource part: `compute_resources` (units, splitting, R1–R7, the per-school rule, the CVs);
- the whole evaluation: `evaluate_dataset` (all four areas with explanations);
- `junheng evaluate --all`'s own loop (`run_all`: chunks, Parquet parts, summary) on DuckDB only;
- the NumPy reference of the resource part (`junheng.demo.reference`), for the ratio;

and checks that every backend gives the same verdicts and failing items as DuckDB. Each figure is
the best of `--runs` runs after one warm-up run (which compiles and caches the SQL).

    .venv/bin/python bench/scaling.py                                   # 1, 10, 100, 2900 counties
    .venv/bin/python bench/scaling.py --sizes 1 10 --backends duckdb    # a quick run
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from junheng.demo.reference import reference_resources
from junheng.demo.synthetic import generate_region
from junheng.engine.backend import register
from junheng.engine.backends import open_backend
from junheng.engine.evaluate import evaluate_dataset
from junheng.engine.resources import compute_resources
from junheng.runs.region import run_all
from junheng.standards.loader import load_standard

DATABASE_URL = os.environ.get("JUNHENG_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def best(fn, runs: int) -> tuple[float, object]:
    result = fn()  # warm-up: SQL compiled and cached, JIT and JVM warm
    times = []
    for _ in range(runs):
        # The previous run's result is dropped first: a nation's results hold about 3 GB, and
        # keeping one alive while the next is built measured the allocator, not the engine.
        result = None
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def outcome(results) -> dict:
    return {(r.county_code, r.year): (r.verdict, tuple(r.failing_items())) for r in results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100, 2900])
    parser.add_argument("--backends", nargs="+", default=["duckdb", "postgres", "spark"])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--postgres-max", type=int, default=2900, help="largest size run on PostgreSQL")
    args = parser.parse_args(argv)
    standard = load_standard("national-2017")
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print("size,backend,schools,resource_s,whole_s,run_all_s,numpy_s,resource_vs_numpy,equal")
    for size in args.sizes:
        start = time.perf_counter()
        dataset = generate_region(size, seed=7)
        made = time.perf_counter() - start
        numpy_s, _ = best(lambda: reference_resources(dataset, standard), args.runs)
        reference = None
        print(f"# {size} counties, {len(dataset.schools):,} schools (generated in {made:.1f} s)", flush=True)
        for name in args.backends:
            if name == "postgres" and size > args.postgres_max:
                continue
            with open_backend(name, database_url=DATABASE_URL) as backend:
                resource_s, _ = best(lambda: compute_resources(dataset, standard, register(dataset, backend)), args.runs)
                whole_s, results = best(lambda: evaluate_dataset(dataset, backend=backend), args.runs)
            got = outcome(results)
            results = None  # a nation's results (about 3 GB) must not weigh on the next measurement
            reference = reference or got
            run_s = ""
            if name == "duckdb":
                folder = Path(tempfile.mkdtemp(prefix="junheng-bench-"))
                try:
                    start = time.perf_counter()
                    run_all(dataset, folder / "out", source="bench")
                    run_s = f"{time.perf_counter() - start:.3f}"
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
            print(f"{size},{name},{len(dataset.schools)},{resource_s:.3f},{whole_s:.3f},{run_s},{numpy_s:.3f},"
                  f"{resource_s / numpy_s:.1f},{got == reference}", flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

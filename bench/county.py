"""Benchmark: `junheng evaluate` end to end on the demo county, as a user runs it.

Writes the synthetic demo county (78 schools, three years) as a CSV dataset to a temporary
folder, then times the command

    junheng evaluate DIR --format json -o OUT.json

in a fresh process each time (interpreter start, imports, import and validation of the CSV
files, evaluation of every county-year, JSON output), best and median of 5 runs.

    .venv/bin/python bench/county.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from junheng.demo.synthetic import generate_county


def write_demo_county(folder: Path) -> str:
    """Write with the project's writer; without it (not yet written), one plain CSV per table."""
    dataset = generate_county(years=(2022, 2023, 2024))  # the workload of docs/benchmarks.md
    try:
        from junheng.data.writer import write_dataset_csv
    except ImportError:
        folder.mkdir(parents=True)
        for name in dataset.TABLES:
            dataset.table(name).to_csv(folder / f"{name}.csv", index=False)
        return "plain CSV (junheng.data.writer not available)"
    write_dataset_csv(dataset, folder)
    return "junheng.data.writer.write_dataset_csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--junheng", type=Path, default=Path(sys.executable).parent / "junheng",
                        help="the junheng command (default: next to this Python)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="junheng-bench-") as tmp:
        folder, out = Path(tmp) / "demo-data", Path(tmp) / "result.json"
        print("dataset written with", write_demo_county(folder))
        command = [str(args.junheng), "evaluate", str(folder), "--format", "json", "-o", str(out)]
        print("command:", " ".join(command))
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                print(done.stdout, done.stderr, sep="\n", file=sys.stderr)
                raise SystemExit(f"junheng evaluate failed with exit code {done.returncode}")
        results = json.loads(out.read_text(encoding="utf-8"))
    results = results if isinstance(results, list) else [results]
    verdicts = ", ".join(f"{r['county_code']} {r['year']}: {r['verdict']}" for r in results)
    print(f"evaluated {len(results)} county-years ({verdicts})")
    print(f"wall time: best {min(times):.3f} s   median {statistics.median(times):.3f} s   ({len(times)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

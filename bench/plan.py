"""Benchmark: remediation planning (`junheng.planner.make_plan`) on the demo county (78 schools)
and on synthetic 300-school counties, in one process, best and median of a few runs; then
`junheng plan` end to end on the demo county.

Each run is a whole plan as `junheng plan` makes it (mode both: rotation, the rule-driven
fixes, the continuous lower bound with Clarabel, the integral plan with HiGHS, and every engine
evaluation: before, after the fixes and the verification of the planned data). Data generation
is not timed. The first run also pays the engine's query compilation when the cache is cold.

    .venv/bin/python bench/plan.py [--runs 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from junheng.demo.synthetic import generate_county, generate_region
from junheng.planner import PlanOptions, make_plan


def measure(name: str, dataset, runs: int, options: PlanOptions) -> None:
    times, cpu, plan = [], [], None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        plan = make_plan(dataset, options=options)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    build = plan.solver.get("build", {})
    rotation = plan.solver.get("rotation", {})
    print(f"{name}: {len(dataset.schools)} schools, mode {options.mode}, rule {options.rule}, years {options.years}")
    print(f"  status {plan.status}; verification verdict {plan.verification_summary.verdict if plan.verification_summary else '—'}")
    print(f"  actions {len(plan.actions)}, teacher moves {sum(m.count for m in plan.moves)}, "
          f"total cost {plan.total_cost:,.0f} 元, lower bound {plan.lower_bound:,.0f} 元, gap {plan.gap:.2%}")
    print(f"  model: {build.get('variables')} variables, {build.get('cones')} cones; "
          f"continuous {build.get('continuous_seconds')} s, integral {build.get('integral_seconds')} s "
          f"({build.get('oa_rounds')} outer-approximation rounds); rotation {rotation.get('seconds')} s")
    print(f"  wall time: best {min(times):.2f} s   median {statistics.median(times):.2f} s   ({runs} runs);"
          f"   CPU time (all threads): best {min(cpu):.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1, help="seed of the 300-school county (1 gives 302 schools)")
    parser.add_argument("--cv-seed", type=int, default=7,
                        help="seed of the 300-school county with the junior sports-ground gap (7 gives 323 schools)")
    args = parser.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.2f} (nproc {os.cpu_count()})")
    demo = generate_county(years=(2022, 2023, 2024))  # the workload of docs/benchmarks.md
    measure("demo county", demo, args.runs, PlanOptions())
    big = generate_region(1, args.seed, schools_per_county=300)
    measure("300-school county", big, args.runs, PlanOptions())
    measure("300-school county, 3 years, 1,000万/year", big, args.runs, PlanOptions(years=3, budget=[1e7]))
    gap = generate_region(1, args.cv_seed, schools_per_county=300)
    measure("300-school county with a junior R5 CV over its limit", gap, args.runs, PlanOptions())
    command_line(demo, args.runs)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


def command_line(dataset, runs: int) -> None:
    """`junheng plan DIR --format json -o OUT` on the demo county in a fresh process (imports,
    CSV import and validation, the plan, JSON output)."""
    from junheng.data.writer import write_dataset_csv

    with tempfile.TemporaryDirectory(prefix="junheng-plan-") as tmp:
        folder, out = Path(tmp) / "data", Path(tmp) / "plan.json"
        write_dataset_csv(dataset, folder)
        command = [str(Path(sys.executable).parent / "junheng"), "plan", str(folder), "--format", "json", "-o", str(out)]
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"junheng plan failed: {done.stderr}")
        status = json.loads(out.read_text(encoding="utf-8"))["status"]
    print(f"junheng plan (demo county, end to end): status {status}")
    print(f"  wall time: best {min(times):.2f} s   median {statistics.median(times):.2f} s   ({runs} runs)")


if __name__ == "__main__":
    sys.exit(main())

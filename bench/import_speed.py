"""Import speed: a demo-sized county (80 schools: 50 primary, 15 junior, 8 nine-year, 6 teaching
points, 1 special; three school years) written as a CSV folder and loaded with the importer, best
of 3 after a warm-up load. Goal: well under half a second (the unit test that used to assert it,
tests/data/test_import_forms.py, now checks the load's result; timing belongs here).

    .venv/bin/python bench/import_speed.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "data")]

import builders  # noqa: E402
from dataset_files import write_csv_folder  # noqa: E402

from junheng.data.importer import load_dataset  # noqa: E402

GOAL_SECONDS = 0.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    kinds = ["primary"] * 50 + ["junior"] * 15 + ["nine_year"] * 8 + ["teaching_point"] * 6 + ["special"]
    schools = [builders.school(f"S{i:03d}", t) for i, t in enumerate(kinds)]
    years = [builders.school_year(s["school_id"], s["school_type"], year=y) for y in (2022, 2023, 2024)
             for s in schools]
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_csv_folder(Path(tmp) / "demo", {
            "schools": schools, "school_year": years,
            "county_year": [builders.county_year(y) for y in (2022, 2023, 2024)], "quality": builders.quality(),
        })
        load_dataset(folder)  # the first call pays for imports and caches
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            load_dataset(folder)
            times.append(time.perf_counter() - start)
    best = min(times)
    print(f"demo-sized county (80 schools, 3 years): best {best:.3f} s of {args.repeat} "
          f"(goal < {GOAL_SECONDS} s): {'ok' if best < GOAL_SECONDS else 'SLOWER THAN THE GOAL'}")
    return 0 if best < GOAL_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())

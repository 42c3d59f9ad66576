"""Benchmark: resource allocation (R1–R7 and the 14 CVs) of a synthetic nation.

Generates about 2,900 counties (≈ 210,000 schools, one year) with `generate_region`, then
times, in the same run:

- the engine: `compute_resources(dataset, standard)`, everything from the Dataset to the unit
  and CV DataFrames (registration, Ibis compilation, DuckDB execution, conversion);
- a hand-written vectorised NumPy computation of the same results
  (`junheng.demo.reference.reference_resources`): per unit the 7 values and the per-school
  compliance flag, per (county, segment) the 7 student-weighted CVs;

and asserts that the two agree (values and CVs to rtol 1e-9, compliance flags equal), so the
benchmark is also a cross-check of the engine at scale. Data generation is timed separately
and excluded from both.

    .venv/bin/python bench/nation.py                # 2,900 counties
    .venv/bin/python bench/nation.py --counties 100 # a quick run
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from junheng.demo.reference import reference_resources
from junheng.demo.synthetic import generate_region
from junheng.standards.loader import load_standard

UNIT_KEYS = ["county_code", "year", "school_id", "segment"]
CV_KEYS = ["county_code", "year", "segment", "indicator"]


def timed(fn: Callable, *args, repeat: int):
    """Run `fn(*args)` `repeat` times; return the last result and the wall times (s)."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - start)
    return result, times


def check_agreement(engine, ref, standard) -> dict[str, float]:
    """Assert the engine and the NumPy reference give the same units, values, flags and CVs."""
    units = engine.units.merge(ref.units, on=UNIT_KEYS, suffixes=("_engine", "_numpy"), validate="one_to_one")
    assert len(units) == len(engine.units) == len(ref.units), "unit sets differ"
    worst = 0.0
    for ind in standard.resource_indicators():
        a, b = units[f"{ind.id}_engine"].to_numpy(float), units[f"{ind.id}_numpy"].to_numpy(float)
        np.testing.assert_allclose(a, b, rtol=1e-9, err_msg=f"{ind.id} values differ")
        worst = max(worst, float(np.nanmax(np.abs(a - b) / np.maximum(np.abs(b), 1e-300), initial=0.0)))
    flags = units["compliant_engine"].astype("boolean") == units["compliant_numpy"].astype("boolean")
    assert bool(flags.all()), f"{int((~flags).sum())} compliance flags differ"
    cv = engine.cv.merge(ref.cv, on=CV_KEYS, suffixes=("_engine", "_numpy"), validate="one_to_one")
    assert len(cv) == len(engine.cv) == len(ref.cv), "CV sets differ"
    np.testing.assert_allclose(cv["value_engine"], cv["value_numpy"], rtol=1e-9, err_msg="CVs differ")
    cv_diff = np.abs(cv["value_engine"].to_numpy(float) - cv["value_numpy"].to_numpy(float))
    return {"units": len(units), "cv_rows": len(cv), "max_rel_value_diff": worst,
            "max_abs_cv_diff": float(np.nanmax(cv_diff, initial=0.0))}


def describe(times: list[float]) -> str:
    return f"best {min(times):7.3f} s   median {statistics.median(times):7.3f} s   ({len(times)} runs)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=2900, help="number of synthetic counties (default 2900)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--engine-runs", type=int, default=3)
    parser.add_argument("--numpy-runs", type=int, default=5)
    args = parser.parse_args(argv)

    from junheng.engine.resources import (
        compute_resources,  # the engine is what is measured
    )

    start = time.perf_counter()
    dataset = generate_region(args.counties, args.seed)
    generation = time.perf_counter() - start
    standard = load_standard("national-2017")
    print(f"python {platform.python_version()}  numpy {np.__version__}  pandas {pd.__version__}")
    print(f"synthetic nation: {len(dataset.counties):,} counties, {len(dataset.schools):,} schools, "
          f"generated in {generation:.2f} s")

    engine_result, engine_times = timed(compute_resources, dataset, standard, repeat=args.engine_runs)
    ref_result, numpy_times = timed(reference_resources, dataset, standard, repeat=args.numpy_runs)
    agreement = check_agreement(engine_result, ref_result, standard)

    print(f"units: {agreement['units']:,}   CV rows: {agreement['cv_rows']:,}")
    print(f"engine (compute_resources): {describe(engine_times)}")
    print(f"NumPy reference:            {describe(numpy_times)}")
    print(f"ratio engine / NumPy: best {min(engine_times) / min(numpy_times):.1f}x   "
          f"median {statistics.median(engine_times) / statistics.median(numpy_times):.1f}x")
    print(f"agreement: values max rel diff {agreement['max_rel_value_diff']:.1e}, "
          f"CVs max abs diff {agreement['max_abs_cv_diff']:.1e}, compliance flags equal")
    compliant = engine_result.units["compliant"].astype(bool).mean()
    over = (~engine_result.cv["met"].astype(bool)).sum()
    print(f"(content: {compliant:.1%} of units compliant, {over:,} of {len(engine_result.cv):,} CVs over the limit)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

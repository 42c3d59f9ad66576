"""Shared fixtures of the planner tests: the demo county and its plan are computed once."""

import sys
from datetime import date
from pathlib import Path

import pytest

# tests/planner/planner_helpers.py is shared by the planner tests
sys.path.insert(0, str(Path(__file__).parent))

from junheng.demo.synthetic import generate_county
from junheng.planner import PlanOptions, make_plan


@pytest.fixture(scope="session")
def demo_dataset():
    """As `junheng demo` makes it on 2026-12-01: 2023–2025 complete, 2026 in progress; plans are
    made for the latest complete year, 2025."""
    return generate_county(today=date(2026, 12, 1))


@pytest.fixture(scope="session")
def demo_plan(demo_dataset):
    return make_plan(demo_dataset, options=PlanOptions(mode="both"))

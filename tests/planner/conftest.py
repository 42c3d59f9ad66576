"""Shared fixtures of the planner tests: the demo county and its plan are computed once."""

import sys
from pathlib import Path

import pytest

# tests/planner/planner_helpers.py is shared by the planner tests
sys.path.insert(0, str(Path(__file__).parent))

from junheng.demo.synthetic import generate_county
from junheng.planner import PlanOptions, make_plan


@pytest.fixture(scope="session")
def demo_dataset():
    return generate_county()


@pytest.fixture(scope="session")
def demo_plan(demo_dataset):
    return make_plan(demo_dataset, options=PlanOptions(mode="both"))

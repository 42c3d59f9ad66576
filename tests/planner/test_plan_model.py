"""The solver layer: Clarabel for the continuous conic problem, HiGHS with outer approximation
for the mixed-integer one, the elastic model for explanations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from junheng.planner.model import Model, solve_integral, solve_relaxation


def disc_model() -> Model:
    """min x + 1.5y over integers in the disc ‖(x − 3.3, y − 2.7)‖ ≤ 1.2."""
    m = Model()
    x = m.var("x", cost=1.0, integer=True)
    y = m.var("y", cost=1.5, integer=True)
    m.cone([{x: 1.0}, {y: 1.0}], [-3.3, -2.7], {}, 1.2, tag="disc")
    return m


def test_continuous_optimum_is_on_the_circle():
    sol = solve_relaxation(disc_model())
    assert sol.ok
    x, y = sol.x
    # the tangent point in direction −(1, 1.5); the objective is flat along the circle there, so
    # the point is accurate to the square root of the solver's tolerance, the value to the tolerance
    d = 1.2 / math.hypot(1, 1.5)
    assert sol.objective == pytest.approx(3.3 + 1.5 * 2.7 - 1.2 * math.hypot(1, 1.5), abs=1e-6)
    assert x == pytest.approx(3.3 - d, abs=1e-3) and y == pytest.approx(2.7 - 1.5 * d, abs=1e-3)


def test_integral_optimum_by_outer_approximation():
    m = disc_model()
    relaxed = solve_relaxation(m)
    sol = solve_integral(m, start_points=[relaxed.x])
    assert sol.status == "optimal"
    assert list(sol.x) == [3.0, 2.0]  # the cheapest lattice point in the disc
    assert sol.objective == pytest.approx(6.0)
    assert sol.objective >= relaxed.objective  # the relaxation is a lower bound
    feasible = [(a, b) for a in range(8) for b in range(8) if math.hypot(a - 3.3, b - 2.7) <= 1.2]
    assert min(a + 1.5 * b for a, b in feasible) == pytest.approx(sol.objective)


def test_infeasible_and_elastic():
    m = disc_model()
    m.row({0: 1.0}, lo=10.0, tag="far")  # x ≥ 10 cannot be in the disc
    assert solve_relaxation(m).status == "infeasible"
    assert solve_integral(m).status == "infeasible"
    elastic, slacks = m.with_slack(lambda tag: 1.0 if tag in ("far", "disc") else None)
    sol = solve_relaxation(elastic)
    assert sol.ok
    used = {tag for var, tag in slacks.items() if sol.x[var] > 1e-6}
    assert used  # the slack names what cannot be met


def test_cuts_are_valid_for_the_cone():
    m = disc_model()
    cone = m.cones[0]
    rng = np.random.default_rng(0)
    for _ in range(20):
        point = rng.uniform(-5, 10, 2)
        cut = cone.cut(point)
        inside = np.array([3.3, 2.7]) + rng.uniform(-0.8, 0.8, 2)
        value = sum(v * inside[c] for c, v in zip(cut.cols, cut.vals))
        assert value <= cut.hi + 1e-9  # every point of the disc satisfies every cut

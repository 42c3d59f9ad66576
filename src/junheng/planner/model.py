"""A small optimisation model and its two solvers.

The planning problems are linear except for the inter-school CV limits, which are second-order
cones in the added resources: with x_i = scale·(r_i + Δ_i)/n_i and X̄ = scale·Σ(r_i + Δ_i)/N,
both sides of S ≤ c·X̄ are affine in Δ, so the constraint is ‖y(Δ)‖₂ ≤ t(Δ) with
y_i = √(n_i/N)·(x_i − X̄) and t = c·X̄.

- `solve_relaxation`: the continuous problem (integrality dropped) with Clarabel, an interior
  point conic solver. Its optimum is a lower bound on every plan.
- `solve_integral`: the mixed-integer problem with HiGHS by outer approximation: each cone is
  replaced by tangent cuts ŷᵀy(Δ)/‖ŷ‖ ≤ t(Δ), which are valid for the cone; HiGHS solves the
  MILP, violated cones get a cut at the new point, until every cone holds. The MILP over the
  cuts is a relaxation of the mixed-integer conic problem, so its solution, once it satisfies
  every cone, is optimal for it (up to HiGHS' MIP gap, reported as `bound`).
"""

from __future__ import annotations

import math
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from scipy import sparse

INF = math.inf


@dataclass
class Row:
    cols: list[int]
    vals: list[float]
    lo: float
    hi: float
    tag: Any = None


@dataclass
class Cone:
    """‖Y·x + y0‖₂ ≤ g·x + t0."""

    y_rows: list[tuple[list[int], list[float]]]
    y0: np.ndarray
    t_cols: list[int]
    t_vals: list[float]
    t0: float
    tag: Any = None

    def parts(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        y = np.array([sum(v * x[c] for c, v in zip(cols, vals)) for cols, vals in self.y_rows]) + self.y0
        t = float(sum(v * x[c] for c, v in zip(self.t_cols, self.t_vals)) + self.t0)
        return y, t

    def violation(self, x: np.ndarray) -> float:
        y, t = self.parts(x)
        return float(np.linalg.norm(y) - t)

    def cut(self, x: np.ndarray) -> Row | None:
        """The tangent cut at x: (ŷ/‖ŷ‖)ᵀ(Y·x + y0) ≤ g·x + t0."""
        y, _ = self.parts(x)
        norm = float(np.linalg.norm(y))
        if norm <= 1e-12:
            return None
        u = y / norm
        coef: dict[int, float] = {}
        for weight, (cols, vals) in zip(u, self.y_rows):
            if weight:
                for c, v in zip(cols, vals):
                    coef[c] = coef.get(c, 0.0) + weight * v
        for c, v in zip(self.t_cols, self.t_vals):
            coef[c] = coef.get(c, 0.0) - v
        cols = [c for c, v in coef.items() if abs(v) > 1e-15]
        return Row(cols, [coef[c] for c in cols], -INF, self.t0 - float(u @ self.y0), ("cut", self.tag))


@dataclass
class Model:
    names: list[str] = field(default_factory=list)
    lb: list[float] = field(default_factory=list)
    ub: list[float] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    cones: list[Cone] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.names)

    def var(self, name: str, lb: float = 0.0, ub: float = INF, cost: float = 0.0, integer: bool = False) -> int:
        self.names.append(name)
        self.lb.append(float(lb))
        self.ub.append(float(ub))
        self.cost.append(float(cost))
        self.integer.append(bool(integer))
        return len(self.names) - 1

    def row(self, terms: dict[int, float] | list[tuple[int, float]], lo: float = -INF, hi: float = INF,
            tag: Any = None) -> None:
        items = terms.items() if isinstance(terms, dict) else terms
        merged: dict[int, float] = {}
        for c, v in items:
            merged[c] = merged.get(c, 0.0) + v
        cols = [c for c, v in merged.items() if v]
        self.rows.append(Row(cols, [merged[c] for c in cols], float(lo), float(hi), tag))

    def cone(self, y_rows: list[dict[int, float]], y0: list[float], t_terms: dict[int, float], t0: float,
             tag: Any = None) -> None:
        self.cones.append(Cone(
            y_rows=[(list(r.keys()), list(r.values())) for r in y_rows], y0=np.asarray(y0, dtype=float),
            t_cols=list(t_terms.keys()), t_vals=list(t_terms.values()), t0=float(t0), tag=tag))

    def objective(self, x: np.ndarray) -> float:
        return float(np.dot(self.cost, x))

    def row_violation(self, x: np.ndarray, row: Row) -> float:
        value = sum(v * x[c] for c, v in zip(row.cols, row.vals))
        return max(row.lo - value, value - row.hi, 0.0)

    def with_slack(self, weight: Callable[[Any], float | None]) -> tuple["Model", dict[int, Any]]:
        """The elastic model: rows and cones whose tag gets a weight may be violated by a slack
        that costs `weight`; the objective is the weighted slack alone. For explaining
        infeasibility: the slack that remains names the constraints that cannot be met."""
        m = Model(list(self.names), list(self.lb), list(self.ub), [0.0] * self.n, list(self.integer))
        slacks: dict[int, Any] = {}
        for row in self.rows:
            w = weight(row.tag)
            cols, vals = list(row.cols), list(row.vals)
            if w is not None and (math.isfinite(row.lo) != math.isfinite(row.hi)):
                s = m.var(f"slack:{row.tag}", cost=w)
                slacks[s] = row.tag
                cols.append(s)
                vals.append(1.0 if math.isfinite(row.lo) else -1.0)
            m.rows.append(Row(cols, vals, row.lo, row.hi, row.tag))
        for cone in self.cones:
            w = weight(cone.tag)
            t_cols, t_vals = list(cone.t_cols), list(cone.t_vals)
            if w is not None:
                s = m.var(f"slack:{cone.tag}", cost=w)
                slacks[s] = cone.tag
                t_cols.append(s)
                t_vals.append(1.0)
            m.cones.append(Cone(cone.y_rows, cone.y0, t_cols, t_vals, cone.t0, cone.tag))
        return m, slacks


@dataclass
class Solution:
    status: str  # optimal | feasible (time ran out with a solution) | infeasible | time_limit | error
    x: np.ndarray | None = None
    objective: float | None = None
    bound: float | None = None  # a lower bound on the optimum (MILP: HiGHS' dual bound)
    rounds: int = 0  # outer-approximation rounds
    seconds: float = 0.0
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("optimal", "feasible") and self.x is not None


# ---------------------------------------------------------------- continuous: Clarabel


def _triplets(rows: list[tuple[list[int], list[float]]], n: int, sign: float = 1.0) -> sparse.csc_matrix:
    r, c, v = [], [], []
    for i, (cols, vals) in enumerate(rows):
        r += [i] * len(cols)
        c += cols
        v += [sign * x for x in vals]
    return sparse.csc_matrix((v, (r, c)), shape=(len(rows), n))


def solve_relaxation(model: Model, time_limit: float = 60.0) -> Solution:
    """The continuous problem (integrality dropped) with Clarabel.

    Columns are scaled so that every priced variable costs 1 per unit (元 of equipment and m²
    of building differ by a factor of thousands): the interior-point method is then accurate
    where it would otherwise stop at reduced accuracy."""
    start = time.perf_counter()
    cost = np.asarray(model.cost, dtype=float)
    scale = np.where(cost > 0, 1.0 / np.where(cost > 0, cost, 1.0), 1.0)
    sol = _clarabel(_scaled(model, scale), time_limit)
    sol.seconds = time.perf_counter() - start
    if sol.x is not None:
        sol.x = sol.x * scale
        sol.objective = sol.bound = model.objective(sol.x)
    return sol


def _scaled(model: Model, scale: np.ndarray) -> Model:
    """The model in variables x' = x / scale."""
    def col(cols, vals):
        return cols, [v * scale[c] for c, v in zip(cols, vals)]

    rows = [Row(*col(r.cols, r.vals), r.lo, r.hi, r.tag) for r in model.rows]
    cones = [Cone([col(cols, vals) for cols, vals in c.y_rows], c.y0, *col(c.t_cols, c.t_vals), c.t0, c.tag)
             for c in model.cones]
    lb = [v / scale[j] if math.isfinite(v) else v for j, v in enumerate(model.lb)]
    ub = [v / scale[j] if math.isfinite(v) else v for j, v in enumerate(model.ub)]
    return Model(model.names, lb, ub, list(np.asarray(model.cost) * scale), model.integer, rows, cones)


def _clarabel(model: Model, time_limit: float) -> Solution:
    import clarabel

    start = time.perf_counter()
    n = model.n
    zero_rows, zero_b, ineq_rows, ineq_b = [], [], [], []
    for row in model.rows:
        if row.lo == row.hi:
            zero_rows.append((row.cols, row.vals))
            zero_b.append(row.lo)
            continue
        if math.isfinite(row.hi):
            ineq_rows.append((row.cols, row.vals))
            ineq_b.append(row.hi)
        if math.isfinite(row.lo):
            ineq_rows.append((row.cols, [-v for v in row.vals]))
            ineq_b.append(-row.lo)
    for j in range(n):
        lb, ub = model.lb[j], model.ub[j]
        if lb == ub:
            zero_rows.append(([j], [1.0]))
            zero_b.append(lb)
            continue
        if math.isfinite(ub):
            ineq_rows.append(([j], [1.0]))
            ineq_b.append(ub)
        if math.isfinite(lb):
            ineq_rows.append(([j], [-1.0]))
            ineq_b.append(-lb)
    blocks, b, cones = [], [], []
    if zero_rows:
        blocks.append(_triplets(zero_rows, n))
        b += zero_b
        cones.append(clarabel.ZeroConeT(len(zero_rows)))
    if ineq_rows:
        blocks.append(_triplets(ineq_rows, n))
        b += ineq_b
        cones.append(clarabel.NonnegativeConeT(len(ineq_rows)))
    for cone in model.cones:
        rows = [(cone.t_cols, cone.t_vals)] + cone.y_rows
        blocks.append(_triplets(rows, n, sign=-1.0))
        b += [cone.t0] + list(cone.y0)
        cones.append(clarabel.SecondOrderConeT(len(rows)))
    A = sparse.vstack(blocks, format="csc") if blocks else sparse.csc_matrix((0, n))
    cost = np.asarray(model.cost, dtype=float)
    scale = max(float(np.abs(cost).max()), 1.0) if n else 1.0  # keep the objective near 1 for the solver
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.time_limit = float(time_limit)
    settings.max_iter = 500
    solver = clarabel.DefaultSolver(sparse.csc_matrix((n, n)), cost / scale, A, np.asarray(b, dtype=float), cones,
                                    settings)
    result = solver.solve()
    status = str(result.status)
    seconds = time.perf_counter() - start
    if status in ("Solved", "AlmostSolved"):
        x = np.asarray(result.x, dtype=float)
        return Solution("optimal", x, model.objective(x), model.objective(x), seconds=seconds, message=status)
    if "PrimalInfeasible" in status:
        return Solution("infeasible", seconds=seconds, message=status)
    if status == "MaxTime":
        return Solution("time_limit", seconds=seconds, message=status)
    return Solution("error", seconds=seconds, message=status)


# ---------------------------------------------------------------- mixed-integer: HiGHS, outer approximation


@contextmanager
def _quiet_stdout():
    """HiGHS prints a banner from C++ when created: keep it out of our output (JSON to stdout)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _highs():
    import highspy

    with _quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


def _add_rows(h, rows: list[Row]) -> None:
    if not rows:
        return
    import highspy

    inf = highspy.kHighsInf
    starts, index, value, lo, hi = [], [], [], [], []
    for row in rows:
        starts.append(len(index))
        index += row.cols
        value += row.vals
        lo.append(row.lo if math.isfinite(row.lo) else -inf)
        hi.append(row.hi if math.isfinite(row.hi) else inf)
    h.addRows(len(rows), np.array(lo, dtype=float), np.array(hi, dtype=float), len(index),
              np.array(starts, dtype=np.int32), np.array(index, dtype=np.int32), np.array(value, dtype=float))


def _fixed_integers(model: Model, x: np.ndarray, time_limit: float) -> np.ndarray | None:
    """The best continuous part for the integer values of x (a conic problem: Clarabel).

    An interior-point solution is strictly positive everywhere; amounts worth less than 1 (元)
    are then fixed at 0 and the problem solved again, so the plan does not list dust."""
    fixed = Model(model.names, list(model.lb), list(model.ub), model.cost, [False] * model.n, model.rows, model.cones)
    for j in range(model.n):
        if model.integer[j]:
            fixed.lb[j] = fixed.ub[j] = float(x[j])
    sol = solve_relaxation(fixed, time_limit)
    if not sol.ok:
        return None
    dust = [j for j in range(model.n) if not model.integer[j] and model.cost[j] > 0 and fixed.lb[j] == 0
            and sol.x[j] * model.cost[j] < 1.0]
    if dust:
        for j in dust:
            fixed.ub[j] = 0.0
        polished = solve_relaxation(fixed, time_limit)
        if polished.ok:
            sol = polished
    y = sol.x.copy()
    for j in range(model.n):
        if model.integer[j]:
            y[j] = x[j]
        elif j in dust:
            y[j] = 0.0
    return y


def solve_integral(model: Model, *, start_points: list[np.ndarray] = (), time_limit: float = 60.0,
                   rel_gap: float = 1e-6, cone_tol: float = 1e-7, max_rounds: int = 40,
                   oa_gap: float = 1e-4) -> Solution:
    """The mixed-integer problem by outer approximation of the cones (see the module docstring).

    Each round solves the MILP over the cuts so far (its optimum bounds the true one from
    below). If its solution satisfies every cone it is optimal. Otherwise the integer values are
    kept and the continuous part solved exactly as a conic problem (Clarabel): a feasible plan,
    and cuts at its point, which make the MILP see that integer choice at its true cost, so the
    rounds end (Duran and Grossmann's outer approximation); cuts at the MILP's own point are
    added too. The best plan found is returned once the MILP's bound is within `oa_gap` of it
    (the bound is reported: how far from the integral optimum the plan can be)."""
    import highspy

    start = time.perf_counter()
    h = _highs()
    inf = highspy.kHighsInf
    n = model.n
    lb = np.array([v if math.isfinite(v) else -inf for v in model.lb], dtype=float)
    ub = np.array([v if math.isfinite(v) else inf for v in model.ub], dtype=float)
    h.addVars(n, lb, ub)
    h.changeColsCost(n, np.arange(n, dtype=np.int32), np.asarray(model.cost, dtype=float))
    ints = [j for j in range(n) if model.integer[j]]
    if ints:
        h.changeColsIntegrality(len(ints), np.array(ints, dtype=np.int32),
                                np.array([highspy.HighsVarType.kInteger] * len(ints)))
    h.setOptionValue("mip_rel_gap", rel_gap)
    h.setOptionValue("mip_abs_gap", 1e-6)
    h.setOptionValue("threads", 1)
    _add_rows(h, model.rows)
    _add_rows(h, [cut for point in start_points for cone in model.cones if (cut := cone.cut(point)) is not None])

    def holds(point: np.ndarray) -> bool:
        return all(cone.violation(point) <= cone_tol * max(1.0, abs(cone.parts(point)[1])) for cone in model.cones)

    best: np.ndarray | None = None
    best_value = math.inf
    bound = -math.inf
    rounds = 0
    while True:
        elapsed = time.perf_counter() - start
        if elapsed >= time_limit or rounds >= max_rounds:
            if best is not None:
                return Solution("feasible", best, best_value, bound, rounds, elapsed, "达到时间或迭代上限")
            return Solution("time_limit" if elapsed >= time_limit else "error", rounds=rounds, seconds=elapsed,
                            message="计算超时" if elapsed >= time_limit else "计算轮数超过上限")
        h.setOptionValue("time_limit", time_limit - elapsed)
        h.run()
        rounds += 1
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            if best is not None:  # cannot happen with valid cuts; keep the plan found
                return Solution("feasible", best, best_value, bound, rounds, time.perf_counter() - start)
            return Solution("infeasible", rounds=rounds, seconds=time.perf_counter() - start)
        info = h.getInfo()
        if info.primal_solution_status != 2:  # no feasible point
            if best is not None:
                return Solution("feasible", best, best_value, bound, rounds, time.perf_counter() - start)
            label = "time_limit" if status == highspy.HighsModelStatus.kTimeLimit else "error"
            return Solution(label, rounds=rounds, seconds=time.perf_counter() - start,
                            message=h.modelStatusToString(status))
        x = np.asarray(h.getSolution().col_value, dtype=float)
        for j in ints:  # integral within HiGHS' tolerance: make it exact
            x[j] = round(x[j])
        proven = status == highspy.HighsModelStatus.kOptimal
        bound = max(bound, float(info.mip_dual_bound) if ints else float(info.objective_function_value))
        if holds(x):
            value = model.objective(x)
            if value < best_value:
                best, best_value = x, value
            return Solution("optimal" if proven else "feasible", best, best_value, bound, rounds,
                            time.perf_counter() - start, h.modelStatusToString(status))
        cuts = [cut for cone in model.cones if cone.violation(x) > 0 and (cut := cone.cut(x)) is not None]
        if ints:
            y = _fixed_integers(model, x, max(time_limit - (time.perf_counter() - start), 1.0))
            if y is not None:
                value = model.objective(y)
                if value < best_value:
                    best, best_value = y, value
                cuts += [cut for cone in model.cones if (cut := cone.cut(y)) is not None]
        if best is not None and proven and best_value - bound <= oa_gap * max(abs(best_value), 1.0) + 1e-6:
            return Solution("optimal", best, best_value, bound, rounds, time.perf_counter() - start)
        _add_rows(h, cuts)

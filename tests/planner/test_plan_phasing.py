"""Multi-year phasing with a yearly budget ("30 million 元 a year by 2027"): a rule-driven fix
the solver spreads over several years (room enlargements, in m²) still adds up to exactly what
it needs, so the engine passes the planned data (a part per year rounded to 0.01 m² once left a
room 0.01 m² short of G3's minimum)."""

from __future__ import annotations

import pytest

from junheng.planner import PlanOptions, make_plan


def test_a_phased_plan_with_a_yearly_budget_passes_the_engine(demo_dataset, demo_plan):
    plan = make_plan(demo_dataset, options=PlanOptions(mode="both", budget=[30_000_000.0], years=3))
    assert plan.status == "pass", plan.reasons
    assert plan.verification_summary.items["G3"] is True
    assert all(y.amount <= y.budget + 1e-6 for y in plan.cost_by_year)
    split = {}
    for a in plan.actions:
        if a.kind.startswith("enlarge_"):
            split.setdefault((a.school_id, a.kind), []).append(a)
    assert any(len(parts) > 1 for parts in split.values()), "expected the solver to spread an enlargement"
    # what the one-year plan enlarges at once, the phased plan enlarges in parts adding up to it
    whole = {(a.school_id, a.kind): a.quantity for a in demo_plan.actions if a.kind.startswith("enlarge_")}
    for key, parts in split.items():
        assert sum(a.quantity for a in parts) == pytest.approx(whole[key], abs=1e-9)

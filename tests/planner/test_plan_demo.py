"""The plan on the demo county (realistic profile: five weak schools, a junior R5 CV over its
limit, G3, G4, G5 and G11 failing): the engine passes the planned data, the cost is at least
the lower bound and the gap is reported; on a county failing only one CV the plan fixes exactly
that."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import builders
import pytest
from jsonschema import Draft202012Validator

from junheng.planner import make_plan
from junheng.planner.actions import KINDS, apply_actions
from junheng.planner.county import select_county_year

PLANNABLE = ("resource_allocation", "G3", "G4", "G5", "G11", "G12", "Q4")


@lru_cache(maxsize=1)
def contract() -> Draft202012Validator:
    text = resources.files("junheng").joinpath("schemas/evaluation.schema.json").read_text("utf-8")
    return Draft202012Validator(json.loads(text))


def test_demo_county_fails_before(demo_plan):
    assert demo_plan.before.verdict == "fail"
    assert {"R2", "R5", "G3", "G4", "G5", "G11"} <= set(demo_plan.before.failing_items)


def test_demo_plan_passes_the_engine(demo_plan):
    assert demo_plan.status == "pass", demo_plan.reasons
    summary = demo_plan.verification_summary
    assert summary.passed
    assert set(summary.items) == set(PLANNABLE)
    assert all(summary.items[k] is True for k in PLANNABLE)
    # the demo county's county-level items all pass, so the whole verdict becomes pass
    assert demo_plan.verification["verdict"] == "pass"
    assert demo_plan.verification["areas"]["resource_allocation"]["met"] is True


def test_verification_is_the_engine_contract_of_the_planned_data(demo_plan, demo_dataset):
    errors = [e.message for e in contract().iter_errors(demo_plan.verification)]
    assert not errors, errors[:5]
    # re-applying the plan's actions and evaluating again gives the same result
    cy = select_county_year(demo_dataset)
    again = apply_actions(cy, [a for a in demo_plan.actions if a.kind in
                               ("divert_students", "split_classes", "rebalance_classes")]
                          + [a for a in demo_plan.actions if a.kind not in
                             ("divert_students", "split_classes", "rebalance_classes")]).evaluate()
    assert again.to_json() == demo_plan.verification


def test_cost_is_at_least_the_lower_bound_and_the_gap_is_reported(demo_plan):
    assert demo_plan.lower_bound is not None and demo_plan.lower_bound > 0
    assert demo_plan.total_cost >= demo_plan.lower_bound - 1e-6
    assert demo_plan.gap == pytest.approx((demo_plan.total_cost - demo_plan.lower_bound) / demo_plan.lower_bound)
    assert demo_plan.gap_amount == pytest.approx(demo_plan.total_cost - demo_plan.lower_bound, abs=0.01)
    assert demo_plan.integral_bound <= demo_plan.total_cost + 1e-6
    assert demo_plan.total_cost == pytest.approx(sum(a.cost for a in demo_plan.actions))
    doc = demo_plan.to_json()
    for key in ("actions", "total_cost", "lower_bound", "gap", "policy_items", "verification"):
        assert key in doc


def test_actions_are_whole_where_they_must_be(demo_plan):
    for a in demo_plan.actions:
        assert a.quantity > 0
        if KINDS[a.kind].integer:
            assert float(a.quantity).is_integer(), a
        assert a.year == demo_plan.year + a.plan_year
        assert a.label and a.school_name


def test_demo_plan_moves_teachers_and_fixes_g11_by_rotation(demo_plan):
    assert demo_plan.moves
    assert any(m.kind == "backbone" for m in demo_plan.moves)
    assert demo_plan.verification_summary.items["G11"] is True
    rotation_actions = [a for a in demo_plan.actions if a.kind == "rotate_teachers"]
    assert sum(a.quantity for a in rotation_actions) == sum(m.count for m in demo_plan.moves)
    assert all(a.cost == 0 for a in rotation_actions)


def test_demo_plan_splits_classes_moves_pupils_and_builds_rooms(demo_plan):
    kinds = {a.kind for a in demo_plan.actions}
    assert "divert_students" in kinds  # G4: 城区第一小学 over 2,000
    assert kinds & {"split_classes", "rebalance_classes"}  # G5
    assert kinds & {"build_music_room", "enlarge_music_room"}  # G3
    assert "build_sports_area" in kinds  # the junior R5 CV


def test_policy_items_are_what_money_cannot_fix():
    # a county failing a rate (Q1), the social survey (S1) and a veto besides one resource gap
    schools, years = builders.passing_rows({"P1": {"backbone_teachers_primary": 5}})
    data = builders.dataset(schools, years, county_years=[builders.county_year(
        junior_consolidation_rate=90.0, social_recognition_rate=80.0, veto_key_schools=True)])
    plan = make_plan(data)
    assert plan.status == "pass"
    ids = {p.id for p in plan.policy_items}
    assert {"Q1", "S1", "veto"} <= ids
    q1 = next(p for p in plan.policy_items if p.id == "Q1")
    assert q1.responsible == ["教体局"]
    s1 = next(p for p in plan.policy_items if p.id == "S1")
    assert "人大办" in s1.responsible
    assert plan.verification_summary.items["resource_allocation"] is True
    assert plan.verification["verdict"] == "fail"  # the plan cannot fix Q1, S1 or the veto


def test_a_county_failing_only_one_cv_gets_exactly_that_fixed():
    # P1's sports ground is three times the others': the primary R5 CV is about 0.59 > 0.50,
    # every unit complies and every other item passes.
    schools, years = builders.passing_rows()
    p1 = next(r for r in years if r["school_id"] == "P1")
    p1["sports_area"] *= 3
    data = builders.dataset(schools, years)
    plan = make_plan(data)
    assert plan.before.failing_items == ["R5"]
    assert plan.status == "pass", plan.reasons
    assert plan.actions and {a.kind for a in plan.actions} == {"build_sports_area"}
    assert all(a.school_id != "P1" for a in plan.actions)  # the others catch up
    assert not plan.moves
    assert plan.verification["verdict"] == "pass"
    cv = plan.verification["areas"]["resource_allocation"]["cv"]["primary"]["R5"]
    assert cv["met"] and cv["value"] <= 0.5
    assert plan.lower_bound <= plan.total_cost


def test_a_passing_county_needs_nothing():
    plan = make_plan(builders.dataset())
    assert plan.status == "pass"
    assert plan.actions == [] and plan.total_cost == 0
    assert "无需新增投入" in plan.message


def test_demo_plan_reads_well(demo_plan, tmp_path):
    from openpyxl import load_workbook
    from rich.console import Console

    from junheng.planner.report import print_plan, write_plan_xlsx

    console = Console(record=True, width=200)
    print_plan(console, demo_plan)
    text = console.export_text()
    for fragment in ("缺什么补什么", "合成数据", "交流轮岗", "行动清单", "评估引擎核验", "缺口分析", "示例单价"):
        assert fragment in text
    write_plan_xlsx(demo_plan, tmp_path / "plan.xlsx")
    wb = load_workbook(tmp_path / "plan.xlsx")
    listed = list(wb["行动清单"].iter_rows(min_row=3, values_only=True))
    assert len(listed) == len(demo_plan.actions)
    assert sum(r[7] for r in listed) == pytest.approx(demo_plan.total_cost)
    assert len(list(wb["交流轮岗"].iter_rows(min_row=3))) == len(demo_plan.moves)

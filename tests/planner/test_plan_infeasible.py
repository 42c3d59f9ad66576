"""Inputs with no passing plan get a clear Chinese explanation, never an exception; bad input
(unknown county, negative budget, ...) is a PlannerError with a Chinese message."""

from __future__ import annotations

import json

import builders
import pytest

from junheng.planner import PlanOptions, make_plan
from junheng.planner.costs import SchoolLimits, example_costs
from junheng.planner.errors import PlannerError
from junheng.planner.service import parse_budget, plan_county


def one_cv_county():
    """Every unit complies; P1's large sports ground puts the primary R5 CV over its limit."""
    schools, years = builders.passing_rows()
    next(r for r in years if r["school_id"] == "P1")["sports_area"] *= 3
    return builders.dataset(schools, years)


def assert_explained(plan, *fragments):
    assert plan.status == "infeasible"
    assert plan.actions == [] and plan.total_cost is None
    assert plan.reasons
    text = "\n".join(plan.reasons) + plan.message
    for fragment in fragments:
        assert fragment in text, text
    json.dumps(plan.to_json(), ensure_ascii=False)  # still a complete document


def test_no_land_anywhere():
    costs = example_costs().model_copy(update={"school_defaults": SchoolLimits(sports_land=False)})
    plan = make_plan(one_cv_county(), costs=costs, options=PlanOptions(mode="build"))
    assert_explained(plan, "R5", "差异系数", "0.5")
    assert plan.before.failing_items == ["R5"]


def test_no_land_at_one_school_names_that_school():
    # P2 lacks sports ground (R5 at 80% of the threshold) and has no land: all-7 planning cannot pass
    schools, years = builders.passing_rows()
    p2 = next(r for r in years if r["school_id"] == "P2")
    p2["sports_area"] = 7.5 * 1000 * 0.8
    costs = example_costs().model_copy(update={"schools": {"P2": SchoolLimits(sports_land=False)}})
    plan = make_plan(builders.dataset(schools, years), costs=costs, options=PlanOptions(mode="build"))
    assert_explained(plan, "测试学校P2", "R5", "无可用于扩建体育运动场地的土地")


def test_budget_too_small():
    plan = make_plan(one_cv_county(), options=PlanOptions(mode="build", budget=[1000.0]))
    assert_explained(plan, "预算不足", "至少需要", "1,000 元")


def test_pupils_with_nowhere_to_go():
    # two primary schools, both near or over 2,000 pupils: no room for the 150 above the limit
    schools = [builders.school("P1", "primary"), builders.school("P2", "primary")]
    years = [builders.school_year("P1", "primary", students=2150), builders.school_year("P2", "primary", students=1990)]
    plan = make_plan(builders.dataset(schools, years), options=PlanOptions(mode="build"))
    assert_explained(plan, "G4", "测试学校P1", "新建")


def test_rooms_beyond_the_building_limit():
    schools, years = builders.passing_rows({"P1": {"music_rooms": 1}})  # 25 classes need 3 rooms
    costs = example_costs().model_copy(update={"schools": {"P1": SchoolLimits(max_building_area=50)}})
    plan = make_plan(builders.dataset(schools, years), costs=costs, options=PlanOptions(mode="build"))
    assert_explained(plan, "测试学校P1", "音乐美术专用教室", "50 m²")


def test_rotation_that_cannot_reach_g11_is_handed_over():
    # only 4 of 60 rotated teachers are backbone teachers, and only 2 more teachers are eligible
    # to rotate: 8 more backbone teachers would be needed
    schools = [builders.school(s, "primary") for s in ("P1", "P2")]
    years = [builders.school_year(s, "primary", students=1000) for s in ("P1", "P2")]
    county = builders.county_year(rotated_backbone_teachers=4, rotation_eligible_teachers=62)
    plan = make_plan(builders.dataset(schools, years, county_years=[county]))
    assert plan.status == "pass"  # everything else is planned
    assert any("G11" in r for r in plan.reasons)
    g11 = next(p for p in plan.policy_items if p.id == "G11")
    assert g11.met is False and g11.responsible == ["教体局"]


@pytest.mark.parametrize("options,fragment", [
    (dict(budget=[-5.0]), "预算不能为负数"),
    (dict(years=0), "方案年限"),
    (dict(years=2, budget=[1.0, 2.0, 3.0]), "年度预算"),
    (dict(mode="teleport"), "方案模式"),
    (dict(rule="most"), "达标规则"),
])
def test_bad_options(options, fragment):
    with pytest.raises(PlannerError, match=fragment):
        make_plan(builders.dataset(), options=PlanOptions(**options))


def test_unknown_county_and_year():
    with pytest.raises(PlannerError, match="没有县区 123456"):
        make_plan(builders.dataset(), county="123456")
    with pytest.raises(PlannerError, match="2030"):
        make_plan(builders.dataset(), year=2030)


@pytest.mark.parametrize("text,expected", [
    ("5000000", [5e6]), ("500万", [5e6]), ("1.2亿", [1.2e8]), ("5,000,000", [5e6]),
    ("300万,400万,500万", [3e6, 4e6, 5e6]), ("300万;400万", [3e6, 4e6]), (None, None),
    ("300万\uff0c400万\uff1b500万", [3e6, 4e6, 5e6]), ("300万、400万", [3e6, 4e6]),  # as typed with a Chinese keyboard
])
def test_budget_text(text, expected):
    assert parse_budget(text) == expected


@pytest.mark.parametrize("text", ["-1", "五百万", "100 dollars"])
def test_bad_budget_text(text):
    with pytest.raises(PlannerError, match="预算"):
        plan_county(builders.dataset(), budget=text)

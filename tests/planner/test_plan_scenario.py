"""What-if scenarios: typed, validated changes (Chinese messages), saved by name, applied on
top of a year's data and evaluated before and after by the engine."""

from __future__ import annotations

import builders
import pytest

from junheng.planner import make_plan
from junheng.planner.county import select_county_year
from junheng.planner.errors import ScenarioError
from junheng.planner.scenario import (
    apply_scenario,
    list_scenarios,
    load_scenario,
    parse_scenario,
    plan_as_scenario,
    run_scenario,
    save_scenario,
)

MANY_CHANGES = """
name: 城东新校
description: 新建城东小学,撤并一所初中,全县小学生减少 2%
changes:
  - type: open_school
    school_id: P9
    school_name: 城东小学
    school_type: primary
    locale: urban
    students_from:
      - {school_id: P1, segment: primary, students: 300}
  - type: merge_schools
    into: J1
    schools: [J2]
  - type: change_enrolment
    segment: primary
    percent: -2
  - type: add_building
    school_id: P2
    sports_area: 500
    music_rooms: 1
  - type: set_fields
    fields: {social_recognition_rate: 80}
"""


def test_changes_are_applied_and_compared():
    data = builders.dataset()
    result = run_scenario(data, parse_scenario(MANY_CHANGES, "test"))
    cy = select_county_year(data)
    after = apply_scenario(cy, parse_scenario(MANY_CHANGES, "test"))
    assert "P9" in after.rows and "J2" not in after.rows and "J2" not in after.schools
    assert after.rows["P9"]["students_primary"] == round(300 * 0.98)
    assert after.rows["P1"]["students_primary"] == round(700 * 0.98)
    assert after.rows["J1"]["students_junior"] == 2000
    assert after.rows["J1"]["teachers_junior"] == 2 * cy.rows["J1"]["teachers_junior"]
    assert after.rows["P2"]["sports_area"] == cy.rows["P2"]["sports_area"] + 500
    assert after.rows["P2"]["music_rooms"] == cy.rows["P2"]["music_rooms"] + 1
    assert after.rows["P2"]["teaching_aux_area"] == pytest.approx(cy.rows["P2"]["teaching_aux_area"] + 96)
    # the new school is staffed and equipped to standard: its unit complies with all 7
    new_unit = next(u for u in result.after.resource.units if u.school_id == "P9")
    assert new_unit.met_count == 7
    rows = {r.key: r for r in result.rows}
    assert rows["verdict"].before == "达标" and rows["verdict"].after == "未达标"
    assert rows["S1"].changed and rows["S1"].after_met is False
    assert rows["resource_allocation"].after_met is True
    assert result.to_json()["after"]["verdict"] == "fail"
    from rich.console import Console

    from junheng.planner.report import print_scenario

    console = Console(record=True, width=160)
    print_scenario(console, result, changed_only=True)
    text = console.export_text()
    assert "城东新校" in text and "变更前" in text and "S1" in text and "新建学校" in text


def test_a_plan_saved_as_scenario_gives_the_plans_result(tmp_path):
    schools, years = builders.passing_rows({"P2": {"backbone_teachers_primary": 5, "multimedia_classrooms": 30}})
    data = builders.dataset(schools, years)
    plan = make_plan(data)
    assert plan.status == "pass" and plan.actions
    path = save_scenario(plan_as_scenario(plan, "补短板方案"), tmp_path)
    assert path == tmp_path / "补短板方案.yaml"
    loaded = load_scenario("补短板方案", tmp_path)
    assert loaded.changes[0].type == "apply_plan"
    assert [a.model_dump() for a in loaded.changes[0].actions] == [a.model_dump() for a in plan.actions]
    result = run_scenario(data, loaded)
    assert result.after.to_json() == plan.verification
    assert list_scenarios(tmp_path)[0]["name"] == "补短板方案"


@pytest.mark.parametrize("text,fragments", [
    ("name: x\nchanges: []\n", ["changes"]),
    ("name: x\nchanges:\n  - type: teleport\n", ["变更类型", "open_school"]),
    ("name: x\nchanges:\n  - {type: merge_schools, schools: [P1]}\n", ["第 1 项变更(撤并学校)", "into", "缺少此项"]),
    ("name: x\nchanges:\n  - {type: change_enrolment, school_id: P1, change: 5, percent: 3}\n", ["须且只能给出一项"]),
    ("name: x\nchanges:\n  - {type: add_building, school_id: P1, sports_area: -5}\n", ["sports_area", "应不小于 0"]),
    ("name: [oops\n", ["不是有效的 YAML"]),
    ("- just a list\n", ["键值映射"]),
    ("name: a/b\nchanges:\n  - {type: set_fields, fields: {four_unified: true}}\n", ["情景名称"]),
])
def test_malformed_scenarios_are_explained(text, fragments):
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "测试.yaml")
    for fragment in fragments:
        assert fragment in err.value.user_message(), err.value.user_message()


@pytest.mark.parametrize("change,fragment", [
    ("{type: merge_schools, into: P1, schools: [J1]}", "school_type"),
    ("{type: merge_schools, into: P1, schools: [X9]}", "学校 X9 不在"),
    ("{type: open_school, school_id: P1, school_name: 新, school_type: primary}", "已存在"),
    ("{type: open_school, school_id: P8, school_name: 新, school_type: primary, "
     "students_from: [{school_id: P1, segment: primary, students: 5000}]}", "不能转出"),
    ("{type: set_fields, school_id: P1, fields: {students_primary: -3}}", "非负整数"),
    ("{type: set_fields, school_id: P1, fields: {no_such_field: 1}}", "没有数据项 no_such_field"),
    ("{type: change_enrolment, school_id: J1, segment: primary, students: 10}", "没有小学学段"),
])
def test_changes_that_do_not_fit_the_data(change, fragment):
    scenario = parse_scenario(f"name: x\nchanges:\n  - {change}\n", "t.yaml")
    with pytest.raises(ScenarioError, match=fragment):
        apply_scenario(select_county_year(builders.dataset()), scenario)


def test_merging_with_a_new_type_keeps_both_segments():
    scenario = parse_scenario("name: x\nchanges:\n  - {type: merge_schools, into: P1, schools: [J1], "
                              "school_type: nine_year}\n", "t.yaml")
    after = apply_scenario(select_county_year(builders.dataset()), scenario)
    assert after.schools["P1"]["school_type"] == "nine_year"
    assert after.rows["P1"]["students_junior"] == 1000 and after.rows["P1"]["students_primary"] == 1000


def test_unknown_scenario_lists_the_saved_ones(tmp_path):
    save_scenario(parse_scenario("name: 甲\nchanges:\n  - {type: set_fields, fields: {four_unified: true}}\n", "t"),
                  tmp_path)
    with pytest.raises(ScenarioError, match="甲"):
        load_scenario("乙", tmp_path)

"""The planner reads the standard's declaration and says plainly which standards it can plan
for: a county under basic-2012 (no `planning` block) is refused with one Chinese sentence by
the service, the CLI and the web plan page (its JSON 422); a copy of national-2017 without
`planning`, or with a measure that cannot close what it names, is refused the same way; a
national-2017 plan is unchanged (the other planner tests cover it). The planner follows the
standard's allowances as the engine does (the renamed allowance kinds)."""

from __future__ import annotations

import sys
from pathlib import Path

import builders
import pytest
from typer.testing import CliRunner

from junheng.data.writer import write_dataset_csv
from junheng.planner import PlanOptions, make_plan, supports
from junheng.planner.service import plan_county, planning_refusal
from junheng.planner.support import UnsupportedStandard, plannable_standards
from junheng.standards.loader import all_standards, load_standard, load_standard_file

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))
from web_world import login, role_users, seed_store, web_settings  # noqa: E402

BASIC = load_standard("basic-2012")
NATIONAL = load_standard("national-2017")
PLANNABLE_NAMES = [s.name for s in all_standards() if s.planning is not None]


def basic_county():
    """builders' default county, declared under basic-2012 (the data itself is never read)."""
    counties = [{"county_code": builders.COUNTY, "county_name": "测试县", "city": "测试市", "province": "测试省",
                 "standard": "basic-2012"}]
    return builders.dataset(counties=counties)


def assert_refusal(text: str, std_name: str, reason: str) -> None:
    """The sentence: the standards that can be planned for (national first), then this one and why."""
    head, _, tail = text.partition(";")
    assert head.startswith("规划只支持以下标准:"), text
    listed = head.removeprefix("规划只支持以下标准:").split("、")
    assert listed[0] == NATIONAL.name and sorted(listed) == sorted(PLANNABLE_NAMES), text
    assert BASIC.name not in listed
    assert tail == f"“{std_name}”{reason}。", text


# ---------------------------------------------------------------- which standards


def test_the_builtin_standards_the_planner_supports():
    assert supports(NATIONAL) is None
    assert [s.id for s in plannable_standards()][0] == "national-2017"
    assert {s.id for s in plannable_standards()} == {s.id for s in all_standards()} - {"basic-2012"}
    assert_refusal(supports(BASIC), BASIC.name, "没有声明可规划的措施(planning)")


def _variant(tmp_path: Path, body: str):
    path = tmp_path / "variant.yaml"
    path.write_text(f"extends: national-2017\nid: variant\nname: 测试省优质均衡标准\nsource: 测试\n{body}",
                    encoding="utf-8")
    return load_standard_file(path)


def test_a_copy_of_national_without_planning_is_refused(tmp_path):
    std = _variant(tmp_path, "planning: null\n")
    assert std.planning is None and std.indicators.keys() == NATIONAL.indicators.keys()
    assert_refusal(supports(std), "测试省优质均衡标准", "没有声明可规划的措施(planning)")
    with pytest.raises(UnsupportedStandard) as refused:
        make_plan(builders.dataset(), standard=std)
    assert refused.value.user_message() == supports(std)


@pytest.mark.parametrize("planning,reason", [
    # facilities named as teachers: hiring cannot add m² of building
    ("  hire_teachers: [R1, R2, R3, R4]\n", "的规划措施“招聘教师”(hire_teachers)中的 R4(生均教学及辅助用房面积)不是该措施能补足的指标"),
    # no measure closes the facilities
    ("  build_facilities: []\n", "的资源配置指标 R4(生均教学及辅助用房面积)不在规划措施“招聘教师”或“建设与购置”中,规划无法补足它"),
])
def test_a_measure_that_cannot_close_what_it_names_is_refused(tmp_path, planning, reason):
    std = _variant(tmp_path, f"planning:\n{planning}")
    assert_refusal(supports(std), "测试省优质均衡标准", reason)


def test_a_standard_that_plans_fewer_measures_is_planned_for_without_them(tmp_path):
    """A province whose planner does not move pupils: the school-size item is handed over as a
    policy item instead of being planned."""
    std = _variant(tmp_path, "planning:\n  school_size: []\n")
    assert supports(std) is None
    schools = [builders.school("P1", "primary"), builders.school("P2", "primary")]
    years = [builders.school_year("P1", "primary", students=2150), builders.school_year("P2", "primary", students=1000)]
    plan = make_plan(builders.dataset(schools, years), standard=std, options=PlanOptions(mode="build"))
    assert not any(a.kind == "divert_students" for a in plan.actions)
    assert "G4" not in plan.before.items and "G4" in {p.id for p in plan.policy_items}
    national = make_plan(builders.dataset(schools, years), options=PlanOptions(mode="build"))
    assert any(a.kind == "divert_students" and a.indicators == ["G4"] for a in national.actions)


# ---------------------------------------------------------------- every face refuses basic-2012


def test_the_service_refuses_a_basic_2012_county():
    data = basic_county()
    assert_refusal(planning_refusal(data, builders.COUNTY), BASIC.name, "没有声明可规划的措施(planning)")
    with pytest.raises(UnsupportedStandard) as refused:
        plan_county(data)
    assert refused.value.user_message() == planning_refusal(data, builders.COUNTY)
    assert planning_refusal(builders.dataset(), builders.COUNTY) is None  # national-2017 by default


@pytest.fixture(scope="module")
def basic_folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("basic") / "data"
    write_dataset_csv(basic_county(), path)
    return path


def test_the_cli_refuses_a_basic_2012_county(basic_folder):
    from junheng.cli import app

    result = CliRunner().invoke(app, ["plan", str(basic_folder)], terminal_width=250)
    assert result.exit_code == 1 and isinstance(result.exception, UnsupportedStandard)
    assert_refusal(result.exception.user_message(), BASIC.name, "没有声明可规划的措施(planning)")
    assert "Traceback" not in result.output
    # the real command, as a user meets it: the sentence on stderr, exit 1
    done = builders.run_junheng("plan", str(basic_folder))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    said = "".join(done.stderr.split())
    assert "规划只支持以下标准" in said and f"“{BASIC.name}”没有声明可规划的措施(planning)" in said
    # an explicit --standard is read the same way
    national_folder = basic_folder.parent / "national"
    write_dataset_csv(builders.dataset(), national_folder)
    forced = CliRunner().invoke(app, ["plan", str(national_folder), "--standard", "basic-2012"], terminal_width=250)
    assert forced.exit_code == 1 and isinstance(forced.exception, UnsupportedStandard)


BASIC_COUNTY = "990401"


@pytest.fixture
def basic_app(database, tmp_path):
    data = basic_county()
    for frame in (data.schools, data.county_year, data.quality, data.counties):
        frame["county_code"] = BASIC_COUNTY
    seed_store(database, data, role_users(county=BASIC_COUNTY))
    from junheng.web.app import create_app

    return create_app(web_settings(database, tmp_path / "uploads"), database)


def test_the_web_plan_page_refuses_a_basic_2012_county(basic_app):
    county = login(basic_app, "county")
    plan = f"/counties/{BASIC_COUNTY}/plan"
    for params in ({}, {"run": "1", "year": str(builders.YEAR), "mode": "both"}):
        page = county.get(plan, params=params)
        assert page.status_code == 422, page.text
        text = builders.plain(page.text)
        assert "规划只支持以下标准" in text and f"“{BASIC.name}”没有声明可规划的措施(planning)" in text
        assert 'id="plan-error"' in page.text and 'id="plan-form"' not in page.text  # nothing to fill in
    answer = county.get(plan, params={"format": "json"})
    assert answer.status_code == 422
    assert_refusal(answer.json()["detail"], BASIC.name, "没有声明可规划的措施(planning)")
    download = county.get(f"{plan}.xlsx", params={"year": str(builders.YEAR)})
    assert download.status_code == 422 and "规划只支持以下标准" in builders.plain(download.text)


# ---------------------------------------------------------------- allowances as the engine reads them


def test_pupils_go_to_a_school_whose_size_limit_an_allowance_raises(tmp_path):
    """P1 has 150 pupils above 2,000; P2 (1,990 pupils, built 2005) may have 2,400 under the
    enabled allowance for old schools (kind school_size_limit): the pupils go there. Without the
    allowance nobody can take them (tests/planner/test_plan_infeasible.py)."""
    std = _variant(tmp_path, "allowances:\n  g4_old_or_migrant_school_size: {enabled: true}\n")
    schools = [builders.school("P1", "primary", build_year=2020), builders.school("P2", "primary", build_year=2005)]
    years = [builders.school_year("P1", "primary", students=2150), builders.school_year("P2", "primary", students=1990)]
    plan = make_plan(builders.dataset(schools, years), standard=std, options=PlanOptions(mode="build"))
    moved = [a for a in plan.actions if a.kind == "divert_students"]
    assert [(a.school_id, a.to_school_id, a.quantity) for a in moved] == [("P1", "P2", 150)]
    assert plan.status == "pass" and plan.verification_summary.items["G4"] is True


def test_rooms_an_allowance_accepts_are_not_enlarged(tmp_path):
    """An 80 m² music room of a school built in 2010 counts under the enabled allowance for old
    buildings (at least 73 m², kind room_area): the engine passes it, and the plan builds nothing."""
    std = _variant(tmp_path, "allowances:\n  g3_old_building_room_area: {enabled: true}\n")
    schools, years = builders.passing_rows({"P1": {"music_room_min_area": 80.0}})
    schools[0]["build_year"] = 2010
    data = builders.dataset(schools, years)
    plan = make_plan(data, standard=std, options=PlanOptions(mode="build"))
    assert plan.before.items["G3"] is True
    assert not [a for a in plan.actions if a.kind == "enlarge_music_room"]
    national = make_plan(data, options=PlanOptions(mode="build"))  # without it: 16 m² more
    assert [(a.school_id, a.quantity) for a in national.actions if a.kind == "enlarge_music_room"] == [("P1", 16.0)]


# ---------------------------------------------------------------- scenarios follow any standard


def test_a_scenario_under_basic_2012_compares_its_own_indicators():
    """Scenarios are not planning: they run under basic-2012 too, and compare its eight CVs per
    segment and their composite, its county checks, nothing of national-2017."""
    from junheng.planner.scenario import parse_scenario, run_scenario

    extra = {"books": 30000, "computers": 150, "mid_title_teachers_primary": 40, "mid_title_teachers_junior": 40}
    schools, years = builders.passing_rows({sid: extra for sid, _ in builders.default_schools()})
    data = builders.dataset(schools, years, counties=[{"county_code": builders.COUNTY, "county_name": "测试县",
                                                       "standard": "basic-2012"}])
    scenario = parse_scenario("name: 扩建\nchanges:\n  - {type: add_building, school_id: P2, sports_area: 20000}\n", "t")
    result = run_scenario(data, scenario)
    keys = [row.key for row in result.rows]
    cv_ids = {key.split(".")[2] for key in keys if key.startswith("cv.")}
    assert cv_ids == set(result.before.resource_ids()) == {ind.id for ind in BASIC.resource_indicators()}
    assert {"composite_cv.primary", "composite_cv.junior"} <= set(keys)
    assert {key for key in keys if not key.startswith(("cv.", "composite_cv."))} == {
        "verdict", "schools", "resource_allocation", *(i.id for i in BASIC.by_area("government_guarantee")), "veto"}
    sports = next(row for row in result.rows if row.key == "cv.primary.B2")
    assert sports.changed and float(sports.after) > float(sports.before)
    composite = next(row for row in result.rows if row.key == "composite_cv.primary")
    assert composite.label == "小学综合差异系数(≤0.65)" and composite.changed
    assert next(row for row in result.rows if row.key == "resource_allocation").label == "校际均衡"

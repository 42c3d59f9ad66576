"""The cost table: the built-in example (labelled as such), a county's own file, its
validation in Chinese, and per-school limits."""

from __future__ import annotations

import pytest

from junheng.planner.costs import (
    EXAMPLE_COSTS_YAML,
    example_costs,
    load_costs,
    write_example_costs,
)
from junheng.planner.errors import CostFileError


def test_the_example_is_labelled_as_an_example():
    costs = example_costs()
    assert costs.example is True
    assert "示例" in costs.label()
    assert "示例" in EXAMPLE_COSTS_YAML.splitlines()[0]
    assert costs.unit_costs.teacher_per_year > 0
    assert costs.limits("any").sports_land is True


def test_a_county_file_with_school_limits(tmp_path):
    path = write_example_costs(tmp_path / "单价表.yaml")
    text = path.read_text(encoding="utf-8").replace("example: true", "example: false").replace(
        "schools: {}", 'schools:\n  1405990001: {max_building_area: 800, sports_land: false}\n  "P2": {max_new_teachers: 3}')
    text = text.replace("teacher_per_year_by_kind: {}", "teacher_per_year_by_kind: {backbone: 150000}")
    path.write_text(text, encoding="utf-8")
    costs = load_costs(path)
    assert not costs.example and str(path) in costs.label()
    assert costs.limits("1405990001").max_building_area == 800
    assert costs.limits("1405990001").sports_land is False
    assert costs.limits("1405990001").max_new_teachers is None  # the default, not overridden
    assert costs.limits("P2").max_new_teachers == 3 and costs.limits("P2").sports_land is True
    assert costs.teacher_cost("backbone") == 150000 and costs.teacher_cost("pe_art") == costs.unit_costs.teacher_per_year
    assert "无可用于扩建体育运动场地的土地" in costs.limits("1405990001").describe()


@pytest.mark.parametrize("edit,fragments", [
    (("teaching_aux_area: 3500", "teaching_aux_area: -3500"), ["teaching_aux_area", "应不小于 0"]),
    (("sports_area: 350 ", "sports_area: 很贵 "), ["sports_area", "应为数字"]),
    (("  class_split: 20000", "  class_splt: 20000"), ["class_splt", "未知的项目"]),
    (("sports_land: true", "sports_land: maybe"), ["sports_land", "true/false"]),
    (("unit_costs:", "unit_costs: [\n"), ["不是有效的 YAML"]),
])
def test_malformed_cost_files_are_explained(tmp_path, edit, fragments):
    path = tmp_path / "costs.yaml"
    path.write_text(EXAMPLE_COSTS_YAML.replace(*edit), encoding="utf-8")
    with pytest.raises(CostFileError) as err:
        load_costs(path)
    for fragment in fragments:
        assert fragment in err.value.user_message(), err.value.user_message()


def test_missing_cost_file_says_how_to_make_one(tmp_path):
    with pytest.raises(CostFileError, match="--write-costs"):
        load_costs(tmp_path / "nope.yaml")


def test_a_cost_file_must_be_a_mapping(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(CostFileError, match="键值映射"):
        load_costs(path)

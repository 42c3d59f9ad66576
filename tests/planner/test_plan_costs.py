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


# ---------------------------------------------------------------- bounds and writing (issue 12)


@pytest.mark.parametrize("edit,fragments", [
    (("teaching_aux_area: 3500", "teaching_aux_area: .inf"), ["teaching_aux_area", "新建、扩建教学及辅助用房", "有限的数字"]),
    (("music_room: 420000", "music_room: .nan"), ["music_room", "有限的数字"]),
    (("teaching_aux_area: 3500", "teaching_aux_area: 3500000"), ["元/m²", "应不大于 50,000", "单位是否有误"]),
    (("sports_area: 350 ", "sports_area: true "), ["sports_area", "应为数字"]),
    (("teacher_per_year_by_kind: {}", "teacher_per_year_by_kind: {backbone: 1.0e+9}"),
     ["teacher_per_year_by_kind.backbone", "县级以上骨干教师", "应不大于 2,000,000"]),
    (("new_room_area: {}", "new_room_area: {music: 0}"), ["new_room_area.music", "应大于 0"]),
    (("max_building_area: null", "max_building_area: .inf"), ["max_building_area", "有限的数字"]),
])
def test_a_cost_file_out_of_its_plausible_ranges_is_refused(tmp_path, edit, fragments):
    path = tmp_path / "costs.yaml"
    assert edit[0] in EXAMPLE_COSTS_YAML
    path.write_text(EXAMPLE_COSTS_YAML.replace(*edit), encoding="utf-8")
    with pytest.raises(CostFileError) as err:
        load_costs(path)
    for fragment in fragments:
        assert fragment in err.value.user_message(), err.value.user_message()


def test_every_unit_price_has_a_label_a_unit_and_a_bound_the_example_meets():
    from junheng.planner.costs import COST_ITEMS, UnitCosts

    assert set(COST_ITEMS) == set(UnitCosts.model_fields)
    example = example_costs().unit_costs
    for key, item in COST_ITEMS.items():
        assert item.label and item.unit.startswith("元/") and 0 < getattr(example, key) <= item.maximum


def test_a_written_table_is_read_back_exactly_and_replaces_the_old_file_whole(tmp_path, monkeypatch):
    import os

    from junheng.planner.costs import SchoolLimits, costs_yaml, write_costs

    table = example_costs().model_copy(update={
        "example": False, "description": '本县 2025 年单价: "造价信息" #1', "teacher_per_year_by_kind": {"backbone": 130000.5},
        "schools": {"1405990001": SchoolLimits(sports_land=False)}, "new_room_area": {"art": 95.5}})
    path = tmp_path / "costs" / "140599.yaml"
    written = write_costs(table, path)
    again = load_costs(path)
    assert again.model_dump() == table.model_dump() == written.model_dump()
    assert again.schools["1405990001"].model_fields_set == {"sports_land"}  # only what the school overrides
    assert "# 元/m²:新建、扩建教学及辅助用房" in path.read_text("utf-8")
    # a failed rename leaves the old file as it was and no temporary file
    old = path.read_bytes()
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(CostFileError, match="无法写入单价表"):
        write_costs(table.model_copy(update={"description": "新的"}), path)
    assert path.read_bytes() == old and [p.name for p in path.parent.iterdir()] == ["140599.yaml"]
    assert costs_yaml(table).startswith("# 单价表")

"""Standards as data: every variant loads and differs exactly where it says; bad files are refused clearly."""

from pathlib import Path

import pytest

from junheng.standards.loader import StandardError, builtin_ids, load_standard, load_standard_file

# The 32 indicators of the 2017 national standard, in its order.
INDICATOR_IDS = ([f"R{i}" for i in range(1, 8)] + [f"G{i}" for i in range(1, 16)] + [f"Q{i}" for i in range(1, 10)]
                 + ["S1"])


def flatten(value, prefix=""):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out |= flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    return {prefix: value}


def differences(variant_id):
    national = flatten(load_standard("national-2017").model_dump())
    variant = flatten(load_standard(variant_id).model_dump())
    keys = set(national) | set(variant)
    return {k for k in keys if national.get(k) != variant.get(k)} - {"id", "name", "source", "extends"}


def test_builtin_standards_are_the_four_of_the_seeds():
    assert builtin_ids() == ["basic-2012", "hebei", "national-2017", "shandong", "shanxi"]


@pytest.mark.parametrize("standard_id", ["national-2017", "shandong", "shanxi", "hebei"])
def test_every_standard_loads_with_every_indicator(standard_id):
    std = load_standard(standard_id)
    assert list(std.indicators) == INDICATOR_IDS
    assert std.cv_limits == {"primary": 0.50, "junior": 0.45}


def test_shandong_changes_exactly_g7_g9_and_q2():
    assert differences("shandong") == {
        "indicators.G7.name", "indicators.G7.rule.checks.funding.threshold",
        "indicators.G9.name",
        "indicators.Q2.name", "indicators.Q2.rule.checks.rate.threshold",
    }
    std = load_standard("shandong")
    assert std.indicator("G7").rule.checks["funding"].threshold == 8000
    assert "4年288学时" in std.indicator("G9").name
    assert std.indicator("Q2").rule.checks["rate"].threshold == 98


def test_shanxi_keeps_the_national_thresholds():
    assert differences("shanxi") == set()


def test_hebei_only_excludes_small_teaching_points():
    assert differences("hebei") == {
        "units.exclusions.small_teaching_points.label",
        "units.exclusions.small_teaching_points.school_types",
        "units.exclusions.small_teaching_points.students_below",
    }


def test_national_thresholds_match_the_standard_table():
    std = load_standard("national-2017")
    expected = {"R1": (4.2, 5.3), "R2": (1.0, 1.0), "R3": (0.9, 0.9), "R4": (4.5, 5.8), "R5": (7.5, 10.2),
                "R6": (2000, 2500), "R7": (2.3, 2.4)}
    for ind, (primary, junior) in expected.items():
        assert std.indicator(ind).thresholds == {"primary": primary, "junior": junior}
    assert std.per_school_rule.min_met == 6 and std.per_school_rule.floor_ratio == 0.85
    assert std.split_weights == {"primary": 1.0, "junior": 1.1, "senior": 1.32}
    assert not std.enabled_allowances()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path) -> list[str]:
    with pytest.raises(StandardError) as info:
        load_standard_file(path)
    return [str(p) for p in info.value.problems]


def test_a_new_province_is_a_file(tmp_path):
    path = write(tmp_path, "someprovince", "id: someprovince\nextends: shandong\nname: 某省\nsource: 某省细则\n"
                 "indicators:\n  S1:\n    rule:\n      checks:\n        rate: {threshold: 90}\n")
    std = load_standard_file(path)
    assert std.indicator("S1").rule.checks["rate"].threshold == 90
    assert std.indicator("G7").rule.checks["funding"].threshold == 8000  # inherited from shandong


def test_unknown_key_is_named_with_file_and_line(tmp_path):
    path = write(tmp_path, "typo", "id: typo\nextends: national-2017\nname: x\nsource: y\n"
                 "indicators:\n  R1:\n    thresholdz: {primary: 5}\n")
    problems = refused(path)
    assert len(problems) == 1
    assert "typo.yaml" in problems[0] and "indicators.R1.thresholdz" in problems[0]
    assert "第7行" in problems[0] and "未知的键" in problems[0]


def test_wrong_type_is_named(tmp_path):
    path = write(tmp_path, "badnum", "id: badnum\nextends: national-2017\nname: x\nsource: y\n"
                 "cv_limits: {primary: 一半}\n")
    problems = refused(path)
    assert any("cv_limits.primary" in p and "应为数字" in p for p in problems)


def test_an_area_left_without_items_and_an_unknown_field_are_named(tmp_path):
    text = (Path(__file__).parents[2] / "src/junheng/standards/catalog/national-2017.yaml").read_text("utf-8")
    text = text.replace("id: national-2017", "id: broken").replace("field: no_excess_burden", "field: no_such_field")
    start = text.index("  S1:")
    path = write(tmp_path, "broken", text[:start])
    problems = refused(path)
    # S1 removed: its area is declared but empty, which is refused (an empty area is never "met")
    assert any("areas.social_recognition" in p and "社会认可度" in p and "没有指标" in p for p in problems)
    assert any("indicators.Q8.rule.checks.burden" in p and "no_such_field" in p for p in problems)


def test_unknown_parent_and_bad_yaml(tmp_path):
    problems = refused(write(tmp_path, "orphan", "id: orphan\nextends: nowhere\nname: x\nsource: y\n"))
    assert "找不到被继承的标准“nowhere”" in problems[0] and "national-2017" in problems[0]
    problems = refused(write(tmp_path, "bad", "id: bad\nname: [unclosed\n"))
    assert "不是合法的 YAML" in problems[0]


def test_unknown_standard_id():
    with pytest.raises(StandardError) as info:
        load_standard("atlantis")
    assert "没有这个标准" in str(info.value) and "shandong" in str(info.value)

"""User YAML is read with bounds (junheng.safe_yaml): the alias bomb of issue 11 is refused
before anything is expanded, with a located Chinese message, through every layered file."""

import pytest
import yaml

from junheng import safe_yaml
from junheng.standards.loader import load_standard

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))


def test_the_alias_bomb_is_refused_by_the_loader():
    assert len(BOMB) < 600  # 9^9 items once expanded
    with pytest.raises(safe_yaml.UnsafeYaml) as caught:
        safe_yaml.load(BOMB)
    assert "别名" in caught.value.problem and caught.value.problem_mark.line == 1  # the first alias, line 2


def test_size_and_depth_are_bounded_and_plain_files_still_load():
    with pytest.raises(safe_yaml.UnsafeYaml, match="嵌套层次"):
        safe_yaml.load("a: " + "[" * 100 + "]" * 100)
    with pytest.raises(safe_yaml.UnsafeYaml, match="文件过大"):
        safe_yaml.check("a: " + "x" * (safe_yaml.MAX_BYTES + 1))
    assert safe_yaml.load("a: &x 1\nb: [1, 2]\n") == {"a": 1, "b": [1, 2]}  # an unused anchor is harmless
    assert isinstance(safe_yaml.UnsafeYaml("x"), yaml.YAMLError)


def test_a_standard_file_with_aliases_gets_a_located_chinese_message(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text("extends: national-2017\nid: my\nname: 我的标准\n" + BOMB, "utf-8")
    with pytest.raises(Exception) as caught:
        load_standard(str(path))
    message = caught.value.user_message() if hasattr(caught.value, "user_message") else str(caught.value)
    assert "别名" in message and "my.yaml" in message and "第5行" in message


def test_a_dataset_whose_metadata_yaml_is_an_alias_bomb_is_refused_with_a_message(tmp_path):
    import builders

    from junheng.data.importer import load_dataset
    from junheng.data.problems import DatasetInvalid
    from junheng.data.writer import write_dataset_csv

    write_dataset_csv(builders.dataset(), tmp_path / "d")
    (tmp_path / "d" / "metadata.yaml").write_text(BOMB, "utf-8")
    with pytest.raises(DatasetInvalid) as caught:
        load_dataset(tmp_path / "d")
    assert any("metadata.yaml" in str(p) and "别名" in str(p) for p in caught.value.problems)

"""Layered YAML files (junheng.layered): inheritance, cycles, missing parents, the line of the
deepest defining layer, unreadable files — for a small family of its own, and the same wording
through the standards and warning-rules loaders that use it."""

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Literal, Union

import pytest
from pydantic import BaseModel, ConfigDict, Field

from junheng.layered import LayeredError, LayeredFiles, Problem, deep_merge, nth_line, parse_mapping
from junheng.monitor.rules import RulesError, load_rules_file
from junheng.standards.loader import StandardError, load_standard_file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Box(_Strict):
    kind: Literal["box"]
    size: int = Field(ge=0)
    colour: Literal["red", "blue"] = "red"


class Bag(_Strict):
    kind: Literal["bag"]
    straps: int = 1


class Shelf(_Strict):
    id: str
    name: str
    extends: str | None = None
    items: dict[str, Annotated[Union[Box, Bag], Field(discriminator="kind")]] = {}


class ShelfProblem(Problem):
    def scope(self) -> str:
        parts = self.key.split(".")
        return f" 物品 {parts[1]}" if len(parts) > 1 and parts[0] == "items" else ""


class ShelfError(LayeredError):
    heading = "货架文件有误:"
    problem_type = ShelfProblem


FILES = LayeredFiles(
    error=ShelfError,
    extends_not_text="应为被继承货架的标识(文本)",
    parent_missing="找不到被继承的货架“{parent}”;可用的货架:{available}",
    merge_drops=("extends", "id"),
    union_at=("items", "*"),
    union_kinds=("box", "bag"),
    literal_hints={"colour": ("颜色", "可用:red(红)、blue(蓝)")},
)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path, dirs: list[Path] | None = None, files: LayeredFiles = FILES) -> Shelf:
    merged, layers = files.resolve(path, dirs or [path.parent])
    merged.setdefault("id", path.stem)
    return files.check(Shelf, merged, layers, path.stem, lambda shelf: [])


def refused(path: Path, dirs: list[Path] | None = None, files: LayeredFiles = FILES) -> list[str]:
    with pytest.raises(ShelfError) as caught:
        load(path, dirs, files)
    assert caught.value.user_message().startswith("货架文件有误:\n  - ")
    return [str(p) for p in caught.value.problems]


GRANDPARENT = "name: 祖\nitems:\n  a:\n    kind: box\n    size: 1\n    colour: blue\n  b: {kind: bag, straps: 2}\n"


def test_a_file_inherits_its_ancestors_key_by_key(tmp_path):
    write(tmp_path, "base", GRANDPARENT)
    write(tmp_path, "mid", "extends: base\nname: 父\nitems:\n  a: {size: 5}\n")
    child = write(tmp_path, "child", "extends: mid\nitems:\n  c: {kind: bag}\n")
    merged, layers = FILES.resolve(child, [tmp_path])
    assert [layer.path.name for layer in layers] == ["child.yaml", "mid.yaml", "base.yaml"]
    assert "id" not in merged and merged["extends"] == "mid"  # the parents' id and extends are not inherited
    shelf = load(child)
    assert shelf.name == "父" and shelf.id == "child"
    assert shelf.items["a"] == Box(kind="box", size=5, colour="blue")  # size from mid, colour from base
    assert shelf.items["b"].straps == 2 and shelf.items["c"] == Bag(kind="bag")


def test_deep_merge_replaces_lists_and_leaves_its_inputs_alone():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    merged = deep_merge(base, {"a": {"y": [3]}, "c": 2})
    assert merged == {"a": {"x": 1, "y": [3]}, "b": 1, "c": 2}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}


def test_a_cycle_is_named_with_the_whole_chain(tmp_path):
    write(tmp_path, "one", "extends: two\nname: x\n")
    write(tmp_path, "two", "extends: three\nname: x\n")
    write(tmp_path, "three", "extends: one\nname: x\n")
    assert refused(tmp_path / "one.yaml") == [f"{tmp_path / 'three.yaml'} 键 extends:继承形成循环:one → two → three → one"]
    write(tmp_path, "me", "extends: me\nname: x\n")
    assert refused(tmp_path / "me.yaml") == [f"{tmp_path / 'me.yaml'} 键 extends:继承形成循环:me → me"]


def test_a_file_may_extend_its_namesake_further_down_the_search_path(tmp_path):
    own, builtin = tmp_path / "own", tmp_path / "builtin"
    write(builtin, "default", "name: 内置\nitems:\n  a: {kind: box, size: 1}\n")
    path = write(own, "default", "extends: default\nitems:\n  a: {size: 2}\n")
    skipping = replace(FILES, skip_self=True)
    shelf = load(path, [own, builtin], skipping)
    assert shelf.name == "内置" and shelf.items["a"].size == 2
    # without skip_self the file would find itself: a cycle
    assert "继承形成循环:default → default" in refused(path, [own, builtin])[0]


def test_a_missing_or_malformed_parent_is_named_with_the_line_and_the_choices(tmp_path):
    write(tmp_path, "base", GRANDPARENT)
    path = write(tmp_path, "orphan", "name: x\n\nextends: nowhere\n")
    assert refused(path) == [f"{path} 第3行 键 extends:找不到被继承的货架“nowhere”;可用的货架:base、orphan"]
    path = write(tmp_path, "numbered", "name: x\nextends: 42\n")
    assert refused(path) == [f"{path} 第2行 键 extends:应为被继承货架的标识(文本)"]


def test_a_schema_error_names_the_deepest_layer_that_defines_the_key(tmp_path):
    base = write(tmp_path, "base", GRANDPARENT.replace("size: 1", "size: -1"))
    write(tmp_path, "mid", "extends: base\nitems:\n  b: {straps: 3}\n")
    child = write(tmp_path, "child", "extends: mid\nitems:\n  a: {colour: green}\n  b: {colur: red}\n")
    assert refused(child) == [
        f"{base} 第5行 物品 a 键 items.a.size:取值 -1 超出范围(应不小于 0)",  # size is set in the grandparent only
        f"{child} 第3行 物品 a 键 items.a.colour:颜色 'green' 无效;可用:red(红)、blue(蓝)",
        f"{child} 第4行 物品 b 键 items.b.colur:未知的键(拼写错误?)",
    ]


def test_unknown_kinds_and_wrong_types_are_explained_in_chinese(tmp_path):
    path = write(tmp_path, "odd", "name: [1]\nitems:\n  a: {kind: crate}\n  b: {kind: bag, straps: many}\n")
    assert refused(path) == [
        f"{path} 第1行 键 name:应为文本,实际为 [1]",
        f"{path} 第3行 物品 a 键 items.a:规则类型 kind 无效;可用:box、bag",
        f"{path} 第4行 物品 b 键 items.b.straps:应为数字,实际为 'many'",
    ]


def test_the_id_must_be_the_file_name_and_meaning_checks_are_located(tmp_path):
    write(tmp_path, "base", GRANDPARENT)
    path = write(tmp_path, "child", "extends: base\nid: other\nname: x\n")
    assert refused(path) == [f"{path} 第2行 键 id:标识 other 应与文件名 child 一致"]
    path = write(tmp_path, "fine", "extends: base\nname: x\n")
    merged, layers = FILES.resolve(path, [tmp_path])
    merged["id"] = "fine"
    with pytest.raises(ShelfError) as caught:
        FILES.check(Shelf, merged, layers, "fine", lambda shelf: [(("items", "b", "straps"), "背带太多")])
    assert [str(p) for p in caught.value.problems] == [f"{tmp_path / 'base.yaml'} 第7行 物品 b 键 items.b.straps:背带太多"]


def test_unreadable_files_are_refused_in_chinese(tmp_path):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: café\n".encode("latin-1"))
    assert refused(latin) == [f"{latin}:文件不是 UTF-8 编码"]
    assert refused(write(tmp_path, "listed", "- 1\n- 2\n")) == [f"{tmp_path / 'listed.yaml'}:文件内容应为键值映射(mapping)"]
    assert refused(write(tmp_path, "broken", "name: x\nitems: [oops\n")) == [
        f"{tmp_path / 'broken.yaml'} 第3行:不是合法的 YAML:did not find expected ',' or ']'"]
    assert refused(tmp_path / "absent.yaml") == [f"{tmp_path / 'absent.yaml'}:无法读取文件(No such file or directory)"]


@pytest.mark.parametrize("loader, error, heading", [
    (load_standard_file, StandardError, "标准文件有误"),
    (load_rules_file, RulesError, "预警规则文件有误,未执行任何预警"),
])
def test_standards_and_rules_refuse_a_non_utf8_or_non_mapping_file_alike(tmp_path, loader, error, heading):
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: café\n".encode("latin-1"))
    with pytest.raises(error) as caught:
        loader(latin)
    assert caught.value.user_message() == f"{heading}:\n  - {latin}:文件不是 UTF-8 编码"
    listed = write(tmp_path, "listed", "- 1\n")
    with pytest.raises(error) as caught:
        loader(listed)
    assert [str(p) for p in caught.value.problems] == [f"{listed}:文件内容应为键值映射(mapping)"]


def test_parse_mapping_leaves_the_wording_to_the_caller():
    def bad_yaml(problem, line):
        return ValueError(f"坏{nth_line(line)}:{problem}")

    def not_mapping():
        return ValueError("不是映射")

    assert parse_mapping("a: 1\n", bad_yaml, not_mapping) == {"a": 1}
    with pytest.raises(ValueError, match=r"^坏第 2 行:did not find expected"):
        parse_mapping("a: [1\n", bad_yaml, not_mapping)
    for text in ("", "- 1\n", "just text\n"):
        with pytest.raises(ValueError, match="^不是映射$"):
            parse_mapping(text, bad_yaml, not_mapping)
    assert nth_line(None) == ""


def test_a_scalar_where_a_mapping_belongs_is_explained_in_chinese(tmp_path):
    path = write(tmp_path, "bad", "id: bad\nname: 测试\nextends: national-2017\nper_school_rule: 5\n")
    with pytest.raises(StandardError) as caught:
        load_standard_file(path)
    assert [str(p) for p in caught.value.problems] == [f"{path} 第4行 键 per_school_rule:应为键值映射(mapping)"]
    shelf = write(tmp_path, "scalar", "name: 架\nitems:\n  c: 5\n")  # a scalar in place of a tagged item
    assert refused(shelf) == [f"{shelf} 第3行 物品 c 键 items.c:应为键值映射(mapping)"]

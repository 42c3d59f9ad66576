"""Layered YAML data files: read, inherit, locate, explain schema errors.

Standards (`junheng.standards.loader`) and warning rules (`junheng.monitor.rules`) are YAML
files that may extend another file by id (`extends: national-2017`). The chain is deep-merged,
checked against a pydantic schema and by meaning checks, and every problem is reported in
Chinese with the file, the key path and the line of the deepest layer that defines that key;
a malformed file is refused whole. What differs between the two families (error class,
wording, keys not inherited, where their discriminated union sits) is a `LayeredFiles`.

The planner's cost tables and scenarios are single files: they share only `parse_mapping`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from junheng import safe_yaml
from junheng.errors import JunhengError

LOADER = safe_yaml.LOADER
M = TypeVar("M", bound=BaseModel)


# ---------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file: where (file, line), which key (dotted path), what."""

    file: str
    key: str
    message: str
    line: int | None = None

    def scope(self) -> str:
        """Words between the place and the key (a subclass may name, say, the rule)."""
        return ""

    def __str__(self) -> str:
        where = self.file + (f" 第{self.line}行" if self.line else "")
        key = f" 键 {self.key}" if self.key else ""
        return f"{where}{self.scope()}{key}:{self.message}"


class LayeredError(JunhengError):
    """A layered file is malformed; carries every problem found. Subclasses set the heading
    and the problem type."""

    heading = "文件有误:"
    problem_type: type[Problem] = Problem

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(self.heading + "\n" + "\n".join(f"  - {p}" for p in problems))

    @classmethod
    def one(cls, file: str | Path, key: str, message: str, line: int | None = None) -> "LayeredError":
        return cls([cls.problem_type(str(file), key, message, line)])


# ---------------------------------------------------------------- reading


def parse_mapping(text: str, bad_yaml: Callable[[str, int | None], Exception],
                  not_mapping: Callable[[], Exception]) -> dict:
    """YAML text that must hold a mapping. `bad_yaml(problem, line)` and `not_mapping()` make
    the caller's (Chinese) error; the line is 1-based or None."""
    try:
        data = safe_yaml.load(text)  # bounded: size, no aliases, nesting
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise bad_yaml(str(getattr(exc, "problem", None) or exc), mark.line + 1 if mark else None) from None
    if not isinstance(data, dict):
        raise not_mapping()
    return data


def nth_line(line: int | None) -> str:
    """"第 N 行" for a message in running text, or nothing when the line is unknown."""
    return f"第 {line} 行" if line else ""


class Layer:
    """One file of an inheritance chain. Its composed YAML tree (for line numbers) is built
    only when a problem must be located."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.text = text
        self._node: yaml.Node | None = None

    def node(self) -> yaml.Node | None:
        if self._node is None:
            try:
                self._node = yaml.compose(self.text, Loader=LOADER)
            except yaml.YAMLError:
                return None
        return self._node

    def line(self, path: tuple) -> int | None:
        """Line (1-based) of the deepest key along `path` that this file defines."""
        return locate([(str(self.path), self.node())], path)[1]


def deep_merge(base: dict, override: dict) -> dict:
    """Mappings merge key by key; anything else in `override` replaces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def locate(files: list[tuple[str, yaml.Node | None]], path: tuple) -> tuple[str, int | None]:
    """Of several composed YAML files (child first), the one that defines the deepest part of
    `path`, and that key's line."""
    best = (files[0][0], None, -1)
    for file, node in files:
        depth, line = 0, None
        for part in path:
            if not isinstance(node, yaml.MappingNode):
                break
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            line, node, depth = match[0].start_mark.line + 1, match[1], depth + 1
        if depth > best[2]:
            best = (file, line, depth)
    return best[0], best[1]


def locate_in(layers: list[Layer], path: tuple) -> tuple[str, int | None]:
    return locate([(str(layer.path), layer.node()) for layer in layers], path)


# ---------------------------------------------------------------- a family of files

_BOUNDS = (("gt", "应大于"), ("ge", "应不小于"), ("lt", "应小于"), ("le", "应不大于"))


@dataclass(frozen=True)
class LayeredFiles:
    """A family of layered files (standards, warning rules) and what sets it apart."""

    error: type[LayeredError]
    extends_not_text: str  # message when `extends` is not text
    parent_missing: str  # template with {parent} and {available}
    merge_drops: tuple[str, ...] = ("extends",)  # keys of a parent that are not inherited
    skip_self: bool = False  # `extends: x` in a file x.yaml means the next x.yaml on the search path
    union_at: tuple[str, ...] = ()  # where the schema's discriminated union sits ("*": any key)
    union_kinds: tuple[str, ...] = ()  # its tags; pydantic puts the tag in the location after `union_at`
    literal_hints: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # key → (noun, choices)

    def find(self, file_id: str, dirs: list[Path], skip: Path | None = None) -> Path | None:
        for directory in dirs:
            candidate = directory / f"{file_id}.yaml"
            if candidate.is_file() and (skip is None or candidate.resolve() != skip.resolve()):
                return candidate
        return None

    @staticmethod
    def available(dirs: list[Path]) -> list[str]:
        return sorted({p.stem for d in dirs if d.is_dir() for p in d.glob("*.yaml")})

    def read(self, path: Path) -> tuple[dict, Layer]:
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise self.error.one(path, "", f"无法读取文件({exc.strerror})") from None
        except UnicodeDecodeError:
            raise self.error.one(path, "", "文件不是 UTF-8 编码") from None
        data = parse_mapping(text, lambda problem, line: self.error.one(path, "", f"不是合法的 YAML:{problem}", line),
                             lambda: self.error.one(path, "", "文件内容应为键值映射(mapping)"))
        return data, Layer(path, text)

    def resolve(self, path: Path, dirs: list[Path],
                chain: tuple[tuple[Path, str], ...] = ()) -> tuple[dict, list[Layer]]:
        """The file merged over its ancestors, and its layers (the file first)."""
        data, layer = self.read(path)
        parent = data.get("extends")
        if parent is None:
            return data, [layer]
        if not isinstance(parent, str):
            raise self.error.one(path, "extends", self.extends_not_text, layer.line(("extends",)))
        chain += ((path.resolve(), str(data.get("id", path.stem))),)
        parent_path = self.find(parent, dirs, skip=path if self.skip_self else None)
        if parent_path is None:
            message = self.parent_missing.format(parent=parent, available="、".join(self.available(dirs)))
            raise self.error.one(path, "extends", message, layer.line(("extends",)))
        if any(parent_path.resolve() == seen for seen, _ in chain):
            raise self.error.one(path, "extends", f"继承形成循环:{' → '.join([i for _, i in chain] + [parent])}")
        parent_data, parent_layers = self.resolve(parent_path, dirs, chain)
        merged = deep_merge({k: v for k, v in parent_data.items() if k not in self.merge_drops}, data)
        return merged, [layer] + parent_layers

    def check(self, model: type[M], data: dict, layers: list[Layer], file_id: str,
              meaning: Callable[[M], list[tuple[tuple, str]]]) -> M:
        """The merged data as `model`: schema first, then its id must be the file name, then the
        meaning checks (key path, message); each step refuses the file with all it found."""
        try:
            obj = model.model_validate(data)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                loc = self._without_tag(tuple(error["loc"]))
                file, line = locate_in(layers, loc)
                problems.append(self.error.problem_type(file, ".".join(map(str, loc)), self.schema_message(error), line))
            raise self.error(problems) from None
        if obj.id != file_id:
            self.refuse(layers, [(("id",), f"标识 {obj.id} 应与文件名 {file_id} 一致")])
        self.refuse(layers, meaning(obj))
        return obj

    def refuse(self, layers: list[Layer], found: list[tuple[tuple, str]]) -> None:
        """Raise the family's error for these (key path, message) problems, if any."""
        if found:
            raise self.error([self.error.problem_type(*locate_in(layers, key)[:1], ".".join(key), message,
                                                      locate_in(layers, key)[1]) for key, message in found])

    def _without_tag(self, loc: tuple) -> tuple:
        """Drop the union tag pydantic puts after the union's location:
        ("rules", id, kind, key) → ("rules", id, key)."""
        at = len(self.union_at)
        if (self.union_kinds and len(loc) > at and loc[at] in self.union_kinds
                and all(want in ("*", got) for want, got in zip(self.union_at, loc))):
            return loc[:at] + loc[at + 1:]
        return loc

    def schema_message(self, error: dict) -> str:
        """A pydantic error in Chinese."""
        kind, given = error["type"], error.get("input")
        if kind == "extra_forbidden":
            return "未知的键(拼写错误?)"
        if kind == "missing":
            return "缺少必填的键"
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            return f"规则类型 kind 无效;可用:{'、'.join(self.union_kinds)}"
        if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
            return f"应为数字,实际为 {given!r}"
        if kind in ("bool_parsing", "bool_type"):
            return f"应为 true 或 false,实际为 {given!r}"
        if kind == "literal_error":
            hint = self.literal_hints.get(error["loc"][-1]) if error["loc"] else None
            noun, choices = hint or ("取值", error["msg"])
            return f"{noun} {given!r} 无效;{choices}"
        if kind.startswith("greater_than") or kind.startswith("less_than"):
            ctx = error.get("ctx", {})
            bound = next(((word, ctx[key]) for key, word in _BOUNDS if key in ctx), None)
            rule = f"{bound[0]} {_number(bound[1])}" if bound else error["msg"]
            return f"取值 {given!r} 超出范围({rule})"
        if kind == "value_error":
            return error["msg"].removeprefix("Value error, ")
        if kind == "string_type":
            return f"应为文本,实际为 {given!r}"
        if kind in ("dict_type", "model_type", "model_attributes_type"):
            return "应为键值映射(mapping)"
        if kind in ("tuple_type", "list_type"):
            return "应为列表"
        return f"{error['msg']}(取值 {given!r})"


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)

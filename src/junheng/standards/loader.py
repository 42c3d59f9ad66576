"""Load standard files: YAML → inheritance (deep merge) → schema (pydantic) → meaning checks.

Each layer reports every problem it finds with the file, the key path and the line, in Chinese,
so a person editing a provincial file can fix it without reading code.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from junheng.data.catalog import catalog
from junheng.errors import JunhengError
from junheng.standards.model import INDICATOR_IDS, Standard

DEFAULT_STANDARD = "national-2017"


@dataclass(frozen=True)
class StandardProblem:
    file: str
    key: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}" + (f" 第{self.line}行" if self.line else "")
        return f"{where} 键 {self.key}:{self.message}" if self.key else f"{where}:{self.message}"


class StandardError(JunhengError):
    """A standard file is malformed; carries every problem found."""

    def __init__(self, problems: list[StandardProblem]):
        self.problems = problems
        super().__init__("标准文件有误:\n" + "\n".join(f"  - {p}" for p in problems))


def builtin_dir() -> Path:
    return Path(str(resources.files("junheng.standards").joinpath("catalog")))


def builtin_ids() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser is ~10x faster


class _LazyNode:
    """The composed YAML tree (for line numbers), built only when a problem must be located."""

    def __init__(self, text: str):
        self._text = text
        self._node = None

    def get(self) -> yaml.Node | None:
        if self._node is None:
            self._node = yaml.compose(self._text, Loader=_LOADER)
        return self._node


def _read(path: Path) -> tuple[dict, _LazyNode]:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise StandardError([StandardProblem(str(path), "", f"无法读取文件({exc.strerror})")]) from None
    try:
        data = yaml.load(text, Loader=_LOADER)
        node = _LazyNode(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise StandardError([
            StandardProblem(str(path), "", f"不是合法的 YAML:{getattr(exc, 'problem', exc)}",
                            mark.line + 1 if mark else None)
        ]) from None
    if not isinstance(data, dict):
        raise StandardError([StandardProblem(str(path), "", "文件内容应为键值映射(mapping)")])
    return data, node


def _line_of(lazy: _LazyNode, path: tuple) -> int | None:
    """Line (1-based) of the deepest existing key along `path` in a composed YAML tree."""
    node = lazy.get()
    line = None
    for part in path:
        if not isinstance(node, yaml.MappingNode):
            break
        for key_node, value_node in node.value:
            if key_node.value == str(part):
                line, node = key_node.start_mark.line + 1, value_node
                break
        else:
            break
    return line


def deep_merge(base: dict, override: dict) -> dict:
    """Mappings merge key by key; anything else in `override` replaces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@dataclass
class _Layer:
    path: Path
    node: _LazyNode


def _resolve(path: Path, search_dirs: list[Path], seen: tuple[str, ...] = ()) -> tuple[dict, list[_Layer]]:
    data, node = _read(path)
    layers = [_Layer(path, node)]
    parent_id = data.get("extends")
    if parent_id is None:
        return data, layers
    if not isinstance(parent_id, str):
        raise StandardError([StandardProblem(str(path), "extends", "应为被继承标准的标识(文本)", _line_of(node, ("extends",)))])
    if parent_id in seen:
        raise StandardError([StandardProblem(str(path), "extends", f"继承形成循环:{' → '.join(seen + (parent_id,))}")])
    parent_path = _find(parent_id, search_dirs)
    if parent_path is None:
        raise StandardError([StandardProblem(
            str(path), "extends", f"找不到被继承的标准“{parent_id}”;可用的标准:{'、'.join(_available(search_dirs))}",
            _line_of(node, ("extends",)))])
    parent_data, parent_layers = _resolve(parent_path, search_dirs, seen + (data.get("id", path.stem),))
    merged = deep_merge({k: v for k, v in parent_data.items() if k != "extends"}, data)
    return merged, layers + parent_layers


def _find(standard_id: str, search_dirs: list[Path]) -> Path | None:
    for directory in search_dirs:
        candidate = directory / f"{standard_id}.yaml"
        if candidate.is_file():
            return candidate
    return None


def _available(search_dirs: list[Path]) -> list[str]:
    return sorted({p.stem for d in search_dirs if d.is_dir() for p in d.glob("*.yaml")})


def locate(files: list[tuple[str, yaml.Node | None]], path: tuple) -> tuple[str, int | None]:
    """Of several composed YAML files (child first), the one that defines the deepest part of
    `path`, and that key's line. Shared by every layered data file (standards, warning rules)."""
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


def _locate(layers: list[_Layer], path: tuple) -> tuple[str, int | None]:
    return locate([(str(layer.path), layer.node.get()) for layer in layers], path)


def _schema_message(error: dict) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "未知的键(拼写错误?)"
    if kind == "missing":
        return "缺少必填的键"
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return "规则类型 kind 无效;可用:per_student、county_checks、school_checks、school_rooms、school_size、class_size、teacher_certification、quality_monitoring"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type"):
        return f"应为数字,实际为 {error.get('input')!r}"
    if kind in ("bool_parsing", "bool_type"):
        return f"应为 true 或 false,实际为 {error.get('input')!r}"
    if kind == "literal_error":
        return f"取值 {error.get('input')!r} 无效;{error['msg']}"
    if kind.startswith("greater_than") or kind.startswith("less_than"):
        return f"取值 {error.get('input')!r} 超出范围({error['msg']})"
    if kind == "value_error":
        return error["msg"].removeprefix("Value error, ")
    return f"{error['msg']}(取值 {error.get('input')!r})"


def _semantic_problems(std: Standard) -> list[tuple[tuple, str]]:
    """Meaning checks beyond the schema; each returns (key path, message)."""
    cat = catalog()
    problems: list[tuple[tuple, str]] = []
    missing = [i for i in INDICATOR_IDS if i not in std.indicators]
    if missing:
        problems.append((("indicators",), f"缺少指标:{'、'.join(missing)}"))
    extra = [i for i in std.indicators if i not in INDICATOR_IDS]
    if extra:
        problems.append((("indicators",), f"未知的指标标识:{'、'.join(extra)}(应为 R1–R7、G1–G15、Q1–Q9、S1)"))
    segments = list(std.segments)
    for seg in segments:
        if seg not in std.cv_limits:
            problems.append((("cv_limits",), f"缺少学段 {seg} 的差异系数上限"))
        if seg not in std.split_weights:
            problems.append((("split_weights",), f"缺少学段 {seg} 的折算权重"))
    for seg, limit in std.cv_limits.items():
        if not 0 < limit <= 1:
            problems.append((("cv_limits", seg), f"差异系数上限应在 0 到 1 之间,实际为 {limit}"))
    for seg, weight in std.split_weights.items():
        if weight <= 0:
            problems.append((("split_weights", seg), f"折算权重应为正数,实际为 {weight}"))
    for school_type, segs in std.units.school_types.items():
        if school_type not in cat.school_types:
            problems.append((("units", "school_types", school_type), f"未知的学校类型;可用:{'、'.join(cat.school_types)}"))
            continue
        for seg in segs:
            if seg not in segments or seg not in cat.school_types[school_type].segments:
                problems.append((("units", "school_types", school_type), f"学段 {seg} 不是该类学校可评估的学段"))
    if std.per_school_rule.min_met > len(std.resource_indicators()):
        problems.append((("per_school_rule", "min_met"), "达标项数超过资源配置指标个数"))
    school_year = set(cat.table("school_year").keys)
    county_year = set(cat.table("county_year").keys)
    schools = set(cat.table("schools").keys)
    for ind_id, ind in std.indicators.items():
        base = ("indicators", ind_id)
        if ind.id != ind_id:
            problems.append((base + ("id",), f"指标标识 {ind.id} 与键 {ind_id} 不一致"))
        rule = ind.rule
        if ind.level == "unit":
            if rule.kind != "per_student":
                problems.append((base + ("rule", "kind"), "学校学段级(unit)指标的规则应为 per_student"))
            if not ind.thresholds or any(seg not in ind.thresholds for seg in segments):
                problems.append((base + ("thresholds",), f"须为每个学段({'、'.join(segments)})给出达标值"))
        if rule.kind == "per_student":
            needed = [f"{rule.resource}_{seg}" for seg in segments]
            if rule.source == "shared":
                needed.append(rule.resource)
            for key in needed:
                if key not in school_year:
                    problems.append((base + ("rule", "resource"), f"数据格式中没有字段 {key}"))
        checks = []
        if rule.kind == "county_checks":
            checks = [(("rule", "checks", name), c, county_year) for name, c in rule.checks.items()]
        if rule.kind == "school_checks":
            checks = [(("rule", "checks", name), c, school_year | schools) for name, c in rule.checks.items()]
            checks += [(("rule", "county_checks", name), c, county_year) for name, c in rule.county_checks.items()]
        for path, check, known in checks:
            for key in check.inputs() + ([check.gap_field] if check.gap_field else []):
                if key not in known:
                    problems.append((base + path, f"数据格式中没有字段 {key}"))
        if rule.kind == "school_rooms":
            for name, room in rule.rooms.items():
                for key in (room.rooms_field, room.area_field):
                    if key not in school_year:
                        problems.append((base + ("rule", "rooms", name), f"数据格式中没有字段 {key}"))
        if rule.kind in ("school_size", "class_size"):
            scope = rule.limits
            wanted = ind.school_types if rule.kind == "school_size" else segments
            for key in wanted or ():
                if key not in scope:
                    problems.append((base + ("rule", "limits"), f"缺少 {key} 的上限"))
        if rule.kind == "teacher_certification" and rule.fallback_field and rule.fallback_field not in county_year:
            problems.append((base + ("rule", "fallback_field"), f"数据格式中没有字段 {rule.fallback_field}"))
        for school_type in ind.school_types or ():
            if school_type not in cat.school_types:
                problems.append((base + ("school_types",), f"未知的学校类型 {school_type}"))
    for key in std.veto:
        if key not in county_year:
            problems.append((("veto", key), "数据格式中没有这个一票否决字段"))
    for name, exclusion in std.units.exclusions.items():
        for school_type in exclusion.school_types:
            if school_type not in cat.school_types:
                problems.append((("units", "exclusions", name), f"未知的学校类型 {school_type}"))
    for name, allowance in std.allowances.items():
        if allowance.indicator not in std.indicators:
            problems.append((("allowances", name, "indicator"), f"未知的指标 {allowance.indicator}"))
    return problems


def load_standard_file(path: Path, search_dirs: list[Path] | None = None) -> Standard:
    path = Path(path)
    dirs = [path.parent] + (search_dirs or []) + [builtin_dir()]
    merged, layers = _resolve(path, dirs)
    for ind_id, ind in (merged.get("indicators") or {}).items():
        if isinstance(ind, dict):
            ind.setdefault("id", ind_id)
    try:
        std = Standard.model_validate(merged)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if not _is_union_tag(p))
            file, line = _locate(layers, loc)
            problems.append(StandardProblem(file, ".".join(map(str, loc)), _schema_message(error), line))
        raise StandardError(problems) from None
    if std.id != path.stem:
        file, line = _locate(layers, ("id",))
        raise StandardError([StandardProblem(file, "id", f"标识 {std.id} 应与文件名 {path.stem} 一致", line)])
    semantic = _semantic_problems(std)
    if semantic:
        raise StandardError([StandardProblem(*_locate(layers, key)[:1], ".".join(key), msg, _locate(layers, key)[1])
                             for key, msg in semantic])
    return std


_RULE_KINDS = {
    "per_student", "county_checks", "school_checks", "school_rooms", "school_size", "class_size",
    "teacher_certification", "quality_monitoring",
}


def _is_union_tag(part) -> bool:
    return isinstance(part, str) and part in _RULE_KINDS


@lru_cache(maxsize=32)
def load_standard(standard_id_or_path: str = DEFAULT_STANDARD) -> Standard:
    """A built-in standard by ID, or a standard file by path."""
    candidate = Path(standard_id_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        return load_standard_file(candidate)
    path = _find(standard_id_or_path, [builtin_dir()])
    if path is None:
        raise StandardError([StandardProblem(
            standard_id_or_path, "", f"没有这个标准;可用的标准:{'、'.join(builtin_ids())}")])
    return load_standard_file(path)


def all_standards() -> list[Standard]:
    return [load_standard(i) for i in builtin_ids()]

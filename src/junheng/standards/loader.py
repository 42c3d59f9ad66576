"""Load standard files: YAML → inheritance (deep merge) → schema (pydantic) → meaning checks.

Each layer reports every problem it finds with the file, the key path and the line, in Chinese,
so a person editing a provincial file can fix it without reading code. Reading, inheriting and
locating are `junheng.layered`'s; this module holds what is particular to standards (wording,
where the rule union sits, the meaning checks).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

from junheng.data.catalog import catalog
from junheng.layered import LayeredError, LayeredFiles, Problem
from junheng.standards.model import INDICATOR_ID_PATTERN, PLANNING_ROLES, Standard

DEFAULT_STANDARD = "national-2017"


class StandardProblem(Problem):
    """One thing wrong in a standard file."""


class StandardError(LayeredError):
    """A standard file is malformed; carries every problem found."""

    heading = "标准文件有误:"
    problem_type = StandardProblem


def builtin_dir() -> Path:
    return Path(str(resources.files("junheng.standards").joinpath("catalog")))


def builtin_ids() -> list[str]:
    """The ids of the standards shipped with junheng, as the data layer lists them (one list of
    the catalogue's files; junheng.data.names cannot ask this module, it is below it)."""
    from junheng.data.names import standard_ids

    return standard_ids()


_RULE_KINDS = (
    "per_student", "county_checks", "school_checks", "school_rooms", "school_size", "class_size",
    "teacher_certification", "quality_monitoring",
)
_FILES = LayeredFiles(
    error=StandardError,
    extends_not_text="应为被继承标准的标识(文本)",
    parent_missing="找不到被继承的标准“{parent}”;可用的标准:{available}",
    union_at=("indicators", "*", "rule"),
    union_kinds=_RULE_KINDS,
)


def _semantic_problems(std: Standard) -> list[tuple[tuple, str]]:
    """Meaning checks beyond the schema; each returns (key path, message)."""
    cat = catalog()
    problems: list[tuple[tuple, str]] = []
    id_shape = re.compile(INDICATOR_ID_PATTERN)
    odd = [i for i in std.indicators if not id_shape.fullmatch(i)]
    if odd:
        problems.append((("indicators",), f"指标标识 {'、'.join(odd)} 不合格式(应为一至三个大写字母后接一至两位数字)"))
    if not std.indicators:
        problems.append((("indicators",), "标准中没有任何指标"))
    for area in std.areas:
        if not std.by_area(area):
            problems.append((("areas", area), f"方面“{std.area_label(area)}”下没有指标;不属于本标准的方面请从 areas 中删去"))
    segments = list(std.segments)
    units_declared = bool(std.resource_indicators())
    if units_declared and (std.cv_limits is None) == (std.composite_cv_limits is None):
        problems.append((("cv_limits",), "须且只能给出 cv_limits(每项差异系数各自的上限)或 composite_cv_limits"
                                         "(各项差异系数平均值的上限)之一"))
    for key in ("cv_limits", "composite_cv_limits"):
        limits = getattr(std, key)
        if limits is None:
            continue
        for seg in segments:
            if seg not in limits:
                problems.append(((key,), f"缺少学段 {seg} 的差异系数上限"))
        for seg, limit in limits.items():
            if not 0 < limit <= 1:
                problems.append(((key, seg), f"差异系数上限应在 0 到 1 之间,实际为 {limit}"))
    for seg in segments:
        if seg not in std.split_weights:
            problems.append((("split_weights",), f"缺少学段 {seg} 的折算权重"))
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
    if std.per_school_rule is not None and std.per_school_rule.min_met > len(std.resource_indicators()):
        problems.append((("per_school_rule", "min_met"), "达标项数超过资源配置指标个数"))
    school_year = set(cat.table("school_year").keys)
    county_year = set(cat.table("county_year").keys)
    schools = set(cat.table("schools").keys)
    for ind_id, ind in std.indicators.items():
        base = ("indicators", ind_id)
        if ind.id != ind_id:
            problems.append((base + ("id",), f"指标标识 {ind.id} 与键 {ind_id} 不一致"))
        rule = ind.rule
        if ind.area not in std.areas:
            problems.append((base + ("area",), f"方面 {ind.area} 不在本标准的 areas 中"))
        if ind.level == "unit":
            if rule.kind != "per_student":
                problems.append((base + ("rule", "kind"), "学校学段级(unit)指标的规则应为 per_student"))
            if ind.area != "resource_allocation":
                problems.append((base + ("area",), "学校学段级(unit)指标应属于 resource_allocation 方面"))
            if std.per_school_rule is not None and (
                    not ind.thresholds or any(seg not in ind.thresholds for seg in segments)):
                problems.append((base + ("thresholds",), f"须为每个学段({'、'.join(segments)})给出达标值"))
        if rule.kind == "per_student":
            # a shared (school-wide) resource may be given per segment too, where the format has the field
            needed = [f"{rule.resource}_{seg}" for seg in segments] if rule.source == "segment" else [rule.resource]
            for key in needed:
                if key not in school_year:
                    problems.append((base + ("rule", "resource"), f"数据格式中没有字段 {key}"))
        checks = []
        if rule.kind in ("county_checks", "school_checks") and not rule.checks:
            problems.append((base + ("rule", "checks"), "规则中没有任何检查项"))
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
        target = allowance.params.get("to")
        if allowance.kind == "indoor_sports_moved" and target not in {i.id for i in std.resource_indicators()}:
            problems.append((("allowances", name, "params", "to"), "须在 to 中给出室内体育用房面积转入的资源配置指标"))
    for key, value in std.reported.items():
        if value.field not in county_year:
            problems.append((("reported", key, "field"), f"数据格式中没有字段 {value.field}"))
    for role, ids in (std.planning or {}).items():
        if role not in PLANNING_ROLES:
            problems.append((("planning", role), f"未知的规划措施;可用:{'、'.join(PLANNING_ROLES)}"))
        for ind_id in ids:
            if ind_id not in std.indicators:
                problems.append((("planning", role), f"未知的指标 {ind_id}"))
    return problems


def load_standard_file(path: Path, search_dirs: list[Path] | None = None) -> Standard:
    path = Path(path)
    dirs = [path.parent] + (search_dirs or []) + [builtin_dir()]
    merged, layers = _FILES.resolve(path, dirs)
    for ind_id, ind in (merged.get("indicators") or {}).items():
        if isinstance(ind, dict):
            ind.setdefault("id", ind_id)
    return _FILES.check(Standard, merged, layers, path.stem, _semantic_problems)


@lru_cache(maxsize=32)
def load_standard(standard_id_or_path: str = DEFAULT_STANDARD) -> Standard:
    """A built-in standard by ID, or a standard file by path."""
    candidate = Path(standard_id_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        return load_standard_file(candidate)
    path = _FILES.find(standard_id_or_path, [builtin_dir()])
    if path is None:
        raise StandardError([StandardProblem(
            standard_id_or_path, "", f"没有这个标准;可用的标准:{'、'.join(builtin_ids())}")])
    return load_standard_file(path)


# A standard's id as the web may name it: a plain file stem, never a path (no dot, no slash).
STANDARD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def find_standard_by_id(standard_id: str, folders: Sequence[Path] = ()) -> Standard | None:
    """The standard named `standard_id` in the catalogue, else in `folders` (a workspace's
    standards/ folder), or None. Unlike `load_standard`, which also takes a path (the CLI's
    `--standard 文件.yaml`), the id is never read as a path: `junheng.toml`, `../junheng.db` or
    `/etc/passwd` name nothing and no file is opened for them. For ids that come from the web."""
    if not isinstance(standard_id, str) or not STANDARD_ID.fullmatch(standard_id):
        return None
    builtin = _FILES.find(standard_id, [builtin_dir()])
    if builtin is not None:
        return _builtin_standard(builtin)
    folders = [Path(f) for f in folders if Path(f).is_dir()]
    path = _FILES.find(standard_id, folders)
    return load_standard_file(path, folders) if path is not None else None


@lru_cache(maxsize=32)
def _builtin_standard(path: Path) -> Standard:
    return load_standard_file(path)


def available_ids(folders: Sequence[Path] = ()) -> list[str]:
    """The ids `find_standard_by_id` resolves: the catalogue's and those of `folders`."""
    return sorted(set(builtin_ids()) | {p.stem for f in folders if Path(f).is_dir() for p in Path(f).glob("*.yaml")
                                        if STANDARD_ID.fullmatch(p.stem)})


def standard_name(standard_id: str | None, folders: Sequence[Path] = ()) -> str:
    """What users read where a standard is named: its `name` (县域义务教育优质均衡发展督导评估
    办法(国家标准) for `national-2017`), the default standard's for None; an id that names no
    readable standard comes back as it is (it is the user's own entry, shown so it can be fixed)."""
    standard_id = standard_id or DEFAULT_STANDARD
    try:
        std = find_standard_by_id(standard_id, folders)
    except (StandardError, OSError):
        std = None
    return std.name if std is not None else standard_id


def all_standards() -> list[Standard]:
    return [load_standard(i) for i in builtin_ids()]


def known_indicator_ids() -> list[str]:
    """Every indicator id some built-in standard declares, in the standards' own order (for
    validating where an id is typed without a standard at hand: monitoring rules, tasks)."""
    return list(dict.fromkeys(i for std in all_standards() for i in std.indicators))


def describe_known_ids() -> str:
    """The ids a user may type, as one short phrase for messages ("R1、R2、…")."""
    return "、".join(known_indicator_ids())

"""Warning rules as data: YAML → inheritance (deep merge) → schema (pydantic) → meaning checks.

Like standards (`junheng.standards.loader`), every layer reports every problem it finds with
the file, the rule, the key and the line, in Chinese, and a malformed file is refused whole.

Which file applies to a county (first found):
  <rules dir>/<county code>.yaml, <rules dir>/<standard>.yaml, built-in <standard>.yaml,
  <rules dir>/default.yaml, built-in default.yaml
where <rules dir> is the workspace's `monitor-rules/` folder. A file names the file it extends
by id (`extends: default`); the search skips the extending file itself, so a workspace
default.yaml may extend the built-in one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from junheng.errors import JunhengError
from junheng.standards.loader import deep_merge, locate
from junheng.standards.model import INDICATOR_IDS

Severity = Literal["yellow", "orange", "red"]
SEVERITY_RANK = {"yellow": 1, "orange": 2, "red": 3}
SEVERITY_LABELS = {"yellow": "黄色", "orange": "橙色", "red": "红色"}
KIND_LABELS = {
    "breach": "不达标", "margin": "临界", "decline": "下滑", "forecast": "预测不达标",
    "data_missing": "数据未报", "data_jump": "数据异常", "task": "督办到期", "schedule": "进度滞后",
}
DEFAULT_RULES = "default"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# ---------------------------------------------------------------- model


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _RuleBase(_Strict):
    label: str
    enabled: bool = True
    severity: Severity
    responsible: tuple[str, ...] | None = None  # default: the standard's responsibility map
    worsen_step: float = Field(default=0.05, ge=0)  # badness must grow by this much to count as worsened


class _IndicatorRule(_RuleBase):
    indicators: tuple[str, ...] = ()  # empty: every indicator


class BreachRule(_IndicatorRule):
    kind: Literal["breach"]
    tolerated_severity: Severity = "orange"


class MarginRule(_IndicatorRule):
    kind: Literal["margin"]
    within: float = Field(default=0.05, gt=0, lt=1)
    percent_within_points: float = Field(default=1.0, ge=0, le=100)  # percentages: within this many points


class DeclineRule(_IndicatorRule):
    kind: Literal["decline"]
    certified_only: bool = True
    min_drop: float = Field(default=0.05, ge=0, lt=1)


class ForecastRule(_IndicatorRule):
    kind: Literal["forecast"]
    horizon_years: int = Field(default=3, ge=1, le=10)
    next_year_severity: Severity = "red"


class DataMissingRule(_RuleBase):
    kind: Literal["data_missing"]
    due: str = "11-30"  # MM-DD of the data year
    late_days: int = Field(default=30, ge=0)
    late_severity: Severity = "red"

    def due_date(self, year: int) -> date:
        month, day = (int(p) for p in self.due.split("-"))
        return date(year, month, day)


class Jump(_Strict):
    drop: float | None = Field(default=None, gt=0, le=1)  # refused: a fall by more than this share
    rise: float | None = Field(default=None, gt=0)  # refused: a rise by more than this share


class DataJumpRule(_RuleBase):
    kind: Literal["data_jump"]
    fields: dict[str, Jump]


class TaskRule(_RuleBase):
    kind: Literal["task"]
    due_within_days: int = Field(default=7, ge=0)
    overdue_severity: Severity = "red"
    escalate_overdue: bool = True


class ScheduleRule(_RuleBase):
    kind: Literal["schedule"]
    overdue_severity: Severity = "red"
    slack_items: int = Field(default=0, ge=0)


Rule = Annotated[
    Union[BreachRule, MarginRule, DeclineRule, ForecastRule, DataMissingRule, DataJumpRule, TaskRule, ScheduleRule],
    Field(discriminator="kind"),
]
RULE_KINDS = ("breach", "margin", "decline", "forecast", "data_missing", "data_jump", "task", "schedule")


class ForecastSettings(_Strict):
    horizon_years: int = Field(default=5, ge=1, le=10)
    primary_grades: Literal[5, 6] = 6
    entry_age: int = Field(default=6, ge=5, le=7)
    min_band: float = Field(default=0.02, ge=0, lt=0.5)


class RuleSet(_Strict):
    id: str
    name: str
    extends: str | None = None
    forecast: ForecastSettings = ForecastSettings()
    rules: dict[str, Rule]

    def enabled(self, kind: str | None = None) -> dict[str, Rule]:
        return {k: r for k, r in self.rules.items() if r.enabled and (kind is None or r.kind == kind)}

    _files: tuple[str, ...] = PrivateAttr(default=())

    @property
    def files(self) -> tuple[str, ...]:
        """The files this rule set was read from, the county's own first."""
        return self._files


# ---------------------------------------------------------------- errors


@dataclass(frozen=True)
class RuleProblem:
    file: str
    key: str
    message: str
    line: int | None = None

    @property
    def rule(self) -> str | None:
        parts = self.key.split(".")
        return parts[1] if len(parts) > 1 and parts[0] == "rules" else None

    def __str__(self) -> str:
        where = self.file + (f" 第{self.line}行" if self.line else "")
        rule = f" 规则 {self.rule}" if self.rule else ""
        key = f" 键 {self.key}" if self.key else ""
        return f"{where}{rule}{key}:{self.message}"


class RulesError(JunhengError):
    """A warning rules file is malformed; carries every problem found."""

    def __init__(self, problems: list[RuleProblem]):
        self.problems = problems
        super().__init__("预警规则文件有误,未执行任何预警:\n" + "\n".join(f"  - {p}" for p in problems))


# ---------------------------------------------------------------- loading


def builtin_dir() -> Path:
    return Path(str(resources.files("junheng.monitor").joinpath("rules")))


@dataclass
class _Layer:
    path: Path
    text: str
    _node: yaml.Node | None = None

    def node(self) -> yaml.Node | None:
        if self._node is None:
            try:
                self._node = yaml.compose(self.text, Loader=_LOADER)
            except yaml.YAMLError:
                return None
        return self._node


def _read(path: Path) -> tuple[dict, _Layer]:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise RulesError([RuleProblem(str(path), "", f"无法读取文件({exc.strerror})")]) from None
    except UnicodeDecodeError:
        raise RulesError([RuleProblem(str(path), "", "文件不是 UTF-8 编码")]) from None
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise RulesError([RuleProblem(str(path), "", f"不是合法的 YAML:{getattr(exc, 'problem', exc)}",
                                      mark.line + 1 if mark else None)]) from None
    if not isinstance(data, dict):
        raise RulesError([RuleProblem(str(path), "", "文件内容应为键值映射(mapping)")])
    return data, _Layer(path, text)


def _find(rules_id: str, dirs: list[Path], skip: Path | None = None) -> Path | None:
    for directory in dirs:
        candidate = directory / f"{rules_id}.yaml"
        if candidate.is_file() and (skip is None or candidate.resolve() != skip.resolve()):
            return candidate
    return None


def _available(dirs: list[Path]) -> list[str]:
    return sorted({p.stem for d in dirs if d.is_dir() for p in d.glob("*.yaml")})


def _resolve(path: Path, dirs: list[Path], seen: tuple[str, ...] = ()) -> tuple[dict, list[_Layer]]:
    data, layer = _read(path)
    layers = [layer]
    parent = data.get("extends")
    if parent is None:
        return data, layers
    if not isinstance(parent, str):
        raise RulesError([RuleProblem(str(path), "extends", "应为被继承的规则文件标识(文本)",
                                      _line(layer, ("extends",)))])
    here = str(data.get("id", path.stem))
    if parent in seen:
        raise RulesError([RuleProblem(str(path), "extends", f"继承形成循环:{' → '.join(seen + (here, parent))}")])
    parent_path = _find(parent, dirs, skip=path)
    if parent_path is None:
        raise RulesError([RuleProblem(str(path), "extends",
                                      f"找不到被继承的规则文件“{parent}”;可用:{'、'.join(_available(dirs))}",
                                      _line(layer, ("extends",)))])
    parent_data, parent_layers = _resolve(parent_path, dirs, seen + (here,))
    merged = deep_merge({k: v for k, v in parent_data.items() if k not in ("extends", "id")}, data)
    return merged, layers + parent_layers


def _line(layer: _Layer, path: tuple) -> int | None:
    node, line = layer.node(), None
    for part in path:
        if not isinstance(node, yaml.MappingNode):
            break
        match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
        if match is None:
            break
        line, node = match[0].start_mark.line + 1, match[1]
    return line


def _locate(layers: list[_Layer], path: tuple) -> tuple[str, int | None]:
    return locate([(str(layer.path), layer.node()) for layer in layers], path)


def _schema_message(error: dict) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "未知的键(拼写错误?)"
    if kind == "missing":
        return "缺少必填的键"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return f"规则类型 kind 无效;可用:{'、'.join(RULE_KINDS)}"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        return f"应为数字,实际为 {error.get('input')!r}"
    if kind in ("bool_parsing", "bool_type"):
        return f"应为 true 或 false,实际为 {error.get('input')!r}"
    if kind == "literal_error":
        if error["loc"] and error["loc"][-1] in ("severity", "tolerated_severity", "next_year_severity",
                                                   "late_severity", "overdue_severity"):
            return f"预警级别 {error.get('input')!r} 无效;可用:red(红)、orange(橙)、yellow(黄)"
        return f"取值 {error.get('input')!r} 无效;{error['msg']}"
    if kind.startswith("greater_than") or kind.startswith("less_than"):
        ctx = error.get("ctx", {})
        bound = next(((word, ctx[key]) for key, word in (("gt", "应大于"), ("ge", "应不小于"), ("lt", "应小于"),
                                                         ("le", "应不大于")) if key in ctx), None)
        rule = f"{bound[0]} {bound[1]:g}" if bound else error["msg"]
        return f"取值 {error.get('input')!r} 超出范围({rule})"
    if kind in ("string_type",):
        return f"应为文本,实际为 {error.get('input')!r}"
    if kind in ("dict_type", "model_type"):
        return "应为键值映射(mapping)"
    if kind in ("tuple_type", "list_type"):
        return "应为列表"
    return f"{error['msg']}(取值 {error.get('input')!r})"


def _semantic_problems(rules: RuleSet) -> list[tuple[tuple, str]]:
    from junheng.data.catalog import catalog

    numeric = {f.key for f in catalog().table("school_year").fields if f.type in ("count", "number")}
    problems: list[tuple[tuple, str]] = []
    if not rules.rules:
        problems.append((("rules",), "没有任何规则"))
    for rule_id, rule in rules.rules.items():
        base = ("rules", rule_id)
        if not re.fullmatch(r"[A-Za-z0-9_\-]{1,64}", rule_id):
            problems.append((base, "规则标识只能由字母、数字、下划线和连字符组成(不超过 64 个字符)"))
        for ind in getattr(rule, "indicators", ()):
            if ind not in INDICATOR_IDS:
                problems.append((base + ("indicators",), f"未知的指标标识 {ind}(应为 R1–R7、G1–G15、Q1–Q9、S1)"))
        if rule.kind == "data_missing":
            try:
                rule.due_date(2024)
            except (ValueError, TypeError):
                problems.append((base + ("due",), f"截止日期 {rule.due!r} 无效;应为“月-日”,如 \"11-30\""))
        if rule.kind == "data_jump":
            if not rule.fields:
                problems.append((base + ("fields",), "至少列出一个字段"))
            for key, jump in rule.fields.items():
                if key not in numeric:
                    problems.append((base + ("fields", key), "学校年度数据中没有这个数值字段"))
                if jump.drop is None and jump.rise is None:
                    problems.append((base + ("fields", key), "须给出 drop 或 rise 之一"))
        if rule.kind == "forecast" and rule.horizon_years > rules.forecast.horizon_years:
            problems.append((base + ("horizon_years",),
                             f"预警年限 {rule.horizon_years} 超过预测年限 forecast.horizon_years"
                             f"({rules.forecast.horizon_years})"))
    return problems


def _without_tag(loc: tuple) -> tuple:
    """Drop the union tag pydantic puts after the rule id: ("rules", id, kind, key) → ("rules", id, key)."""
    if len(loc) > 2 and loc[0] == "rules" and loc[2] in RULE_KINDS:
        return loc[:2] + loc[3:]
    return loc


def load_rules_file(path: Path, search_dirs: list[Path] | None = None) -> RuleSet:
    path = Path(path)
    dirs = [path.parent] + (search_dirs or []) + [builtin_dir()]
    merged, layers = _resolve(path, dirs)
    merged.setdefault("id", path.stem)
    if isinstance(merged.get("id"), int):
        merged["id"] = str(merged["id"])
    try:
        rules = RuleSet.model_validate(merged)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = _without_tag(tuple(error["loc"]))
            file, line = _locate(layers, loc)
            problems.append(RuleProblem(file, ".".join(map(str, loc)), _schema_message(error), line))
        raise RulesError(problems) from None
    if rules.id != path.stem:
        file, line = _locate(layers, ("id",))
        raise RulesError([RuleProblem(file, "id", f"标识 {rules.id} 应与文件名 {path.stem} 一致", line)])
    semantic = _semantic_problems(rules)
    if semantic:
        raise RulesError([RuleProblem(*_locate(layers, key)[:1], ".".join(key), msg, _locate(layers, key)[1])
                          for key, msg in semantic])
    rules._files = tuple(str(layer.path) for layer in layers)
    return rules


@lru_cache(maxsize=64)
def _cached(path: str, mtime: float, dirs: tuple[str, ...]) -> RuleSet:
    return load_rules_file(Path(path), [Path(d) for d in dirs])


def _load(path: Path, dirs: list[Path]) -> RuleSet:
    return _cached(str(path), path.stat().st_mtime, tuple(str(d) for d in dirs))


def rules_file_for(county_code: str | None, standard: str | None, rules_dir: Path | None) -> Path:
    local = [rules_dir] if rules_dir is not None and rules_dir.is_dir() else []
    candidates = []
    if county_code:
        candidates += [(d, county_code) for d in local]
    if standard:
        candidates += [(d, standard) for d in local] + [(builtin_dir(), standard)]
    candidates += [(d, DEFAULT_RULES) for d in local] + [(builtin_dir(), DEFAULT_RULES)]
    for directory, stem in candidates:
        if (directory / f"{stem}.yaml").is_file():
            return directory / f"{stem}.yaml"
    raise RulesError([RuleProblem(str(builtin_dir() / "default.yaml"), "", "找不到默认预警规则文件")])


def rules_for(county_code: str | None = None, standard: str | None = None,
              rules_dir: Path | None = None) -> RuleSet:
    """The rules that apply to a county (see the module docstring for the search order)."""
    path = rules_file_for(county_code, standard, rules_dir)
    dirs = [rules_dir] if rules_dir is not None and rules_dir.is_dir() else []
    return _load(path, dirs)


def check_rules_dir(rules_dir: Path | None) -> list[Path]:
    """Load every rules file of the workspace folder and the built-in ones; all problems of all
    files are reported together. Returns the files checked."""
    dirs = [rules_dir] if rules_dir is not None and rules_dir.is_dir() else []
    files = sorted(builtin_dir().glob("*.yaml")) + [p for d in dirs for p in sorted(d.glob("*.yaml"))]
    files += [p for d in dirs for p in sorted(d.glob("*.yml"))]
    problems: list[RuleProblem] = []
    for path in files:
        if path.suffix == ".yml":
            problems.append(RuleProblem(str(path), "", "预警规则文件应以 .yaml 结尾(不会被读取)"))
            continue
        try:
            _load(path, dirs)
        except RulesError as exc:
            problems += exc.problems
    if problems:
        raise RulesError(problems)
    return files

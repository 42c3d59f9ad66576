"""Warning rules as data: YAML → inheritance (deep merge) → schema (pydantic) → meaning checks.

Like standards (`junheng.standards.loader`, both through `junheng.layered`), every layer
reports every problem it finds with the file, the rule, the key and the line, in Chinese, and a
malformed file is refused whole.

Which file applies to a county (first found):
  <rules dir>/<county code>.yaml, <rules dir>/<standard>.yaml, built-in <standard>.yaml,
  <rules dir>/default.yaml, built-in default.yaml
where <rules dir> is the workspace's `monitor-rules/` folder. A file names the file it extends
by id (`extends: default`); the search skips the extending file itself, so a workspace
default.yaml may extend the built-in one.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from junheng.layered import LayeredError, LayeredFiles, Problem
from junheng.standards.loader import describe_known_ids, known_indicator_ids

Severity = Literal["yellow", "orange", "red"]
SEVERITY_RANK = {"yellow": 1, "orange": 2, "red": 3}
SEVERITY_LABELS = {"yellow": "黄色", "orange": "橙色", "red": "红色"}
KIND_LABELS = {
    "breach": "不达标", "margin": "临界", "decline": "下滑", "forecast": "预测不达标",
    "data_missing": "数据未报", "data_jump": "数据异常", "task": "督办到期", "schedule": "进度滞后",
}
DEFAULT_RULES = "default"


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


def severity_legend(rules: RuleSet) -> dict[str, list[str]]:
    """What each colour means under these rules: severity → the conditions given it, in the
    rules' order (what the warnings page's legend says, so that it matches the colours shown)."""
    out: dict[str, list[str]] = {s: [] for s in ("red", "orange", "yellow")}

    def add(severity: str, text: str) -> None:
        if text not in out[severity]:
            out[severity].append(text)

    for rule in rules.enabled().values():
        if rule.kind == "breach":
            add(rule.severity, rule.label)
            if rule.tolerated_severity != rule.severity:
                add(rule.tolerated_severity, f"{rule.label}(单项低于标准、学校仍综合达标)")
        elif rule.kind == "forecast":
            add(rule.next_year_severity, f"{rule.label}(下一学年)")
            if rule.horizon_years > 1:
                add(rule.severity, f"{rule.label}(2–{rule.horizon_years} 年后)" if rule.horizon_years > 2
                    else f"{rule.label}(2 年后)")
        elif rule.kind == "data_missing":
            if rule.late_days > 0:
                add(rule.severity, f"{rule.label}(逾期不足 {rule.late_days} 天)")
            add(rule.late_severity, f"{rule.label}(逾期 {rule.late_days} 天及以上)" if rule.late_days else rule.label)
        elif rule.kind == "task":
            add(rule.severity, f"{rule.label}({rule.due_within_days} 天内)")
            add(rule.overdue_severity, "督办任务已逾期")
        elif rule.kind == "schedule":
            add(rule.severity, rule.label)
            add(rule.overdue_severity, "已过目标年仍未达标")
        else:
            add(rule.severity, rule.label)
    return out


# ---------------------------------------------------------------- errors


class RuleProblem(Problem):
    """One thing wrong in a warning rules file; names the rule when the key is inside one."""

    @property
    def rule(self) -> str | None:
        parts = self.key.split(".")
        return parts[1] if len(parts) > 1 and parts[0] == "rules" else None

    def scope(self) -> str:
        return f" 规则 {self.rule}" if self.rule else ""


class RulesError(LayeredError):
    """A warning rules file is malformed; carries every problem found."""

    heading = "预警规则文件有误,未执行任何预警:"
    problem_type = RuleProblem


# ---------------------------------------------------------------- loading


def builtin_dir() -> Path:
    return Path(str(resources.files("junheng.monitor").joinpath("rules")))


_SEVERITY_KEYS = ("severity", "tolerated_severity", "next_year_severity", "late_severity", "overdue_severity")
_FILES = LayeredFiles(
    error=RulesError,
    extends_not_text="应为被继承的规则文件标识(文本)",
    parent_missing="找不到被继承的规则文件“{parent}”;可用:{available}",
    merge_drops=("extends", "id"),
    skip_self=True,
    union_at=("rules", "*"),
    union_kinds=RULE_KINDS,
    literal_hints={key: ("预警级别", "可用:red(红)、orange(橙)、yellow(黄)") for key in _SEVERITY_KEYS},
)


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
            if ind not in known_indicator_ids():
                problems.append((base + ("indicators",), f"未知的指标标识 {ind}(应为以下之一:{describe_known_ids()})"))
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


def load_rules_file(path: Path, search_dirs: list[Path] | None = None) -> RuleSet:
    path = Path(path)
    dirs = [path.parent] + (search_dirs or []) + [builtin_dir()]
    merged, layers = _FILES.resolve(path, dirs)
    merged.setdefault("id", path.stem)
    if isinstance(merged.get("id"), int):
        merged["id"] = str(merged["id"])
    rules = _FILES.check(RuleSet, merged, layers, path.stem, _semantic_problems)
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

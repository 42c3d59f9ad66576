"""Survey settings (scale, sampling, checks, scoring): the defaults shipped in settings.yaml, a
county's own file over them key by key (`load_settings`). A survey freezes the settings it used
(`SurveySettings.frozen()` / `from_frozen`).

Every number of the public practice the survey follows (1.5‰ of the resident population, at least
600, parents at least half, students from grade 3, 2 seconds per item, ...) is a setting here,
never a constant in code. Files are read through junheng.safe_yaml; problems are reported in
Chinese with the file, the key and its line (`validate_file`, shared with the questionnaires).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Callable, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from junheng.layered import Layer, LayeredError, LayeredFiles, Problem, deep_merge, parse_mapping
from junheng.survey.groups import GROUPS, group_label

DEFAULTS = Path(__file__).with_name("settings.yaml")
MAX_FILE_BYTES = 1024 * 1024  # a settings or questionnaire file is a few KB
MAX_OPTIONS = 20
MAX_TEXT = 500

M = TypeVar("M", bound=BaseModel)


class SurveyFileError(LayeredError):
    """A survey settings, questionnaire or mapping file is unreadable or malformed."""

    heading = "问卷调查文件有误:"


_FAMILY = LayeredFiles(error=SurveyFileError, extends_not_text="", parent_missing="")


def _message(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "string_too_long":
        return f"文字过长:最多 {ctx.get('max_length')} 个字"
    if kind == "too_long":
        return f"项目过多:最多 {ctx.get('max_length')} 项"
    if kind == "too_short":
        return f"项目过少:至少 {ctx.get('min_length')} 项"
    if kind == "string_too_short":
        return "不能为空"
    return _FAMILY.schema_message(error)


def read_mapping_file(path: Path) -> tuple[dict, Layer]:
    """A YAML mapping file of the survey family, bounded (size, safe_yaml), UTF-8 with or without BOM."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SurveyFileError.one(path, "", f"文件过大({size // 1024} KB),最多 {MAX_FILE_BYTES // 1024} KB")
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise SurveyFileError.one(path, "", "文件不存在") from None
    except IsADirectoryError:
        raise SurveyFileError.one(path, "", "这是文件夹,应为 YAML 文件") from None
    except OSError as exc:
        raise SurveyFileError.one(path, "", f"无法读取文件({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SurveyFileError.one(path, "", "文件不是 UTF-8 编码") from None
    data = parse_mapping(text, lambda problem, line: SurveyFileError.one(path, "", f"不是合法的 YAML:{problem}", line),
                         lambda: SurveyFileError.one(path, "", "文件内容应为键值映射(mapping)"))
    return data, Layer(path, text)


def validate_file(model: type[M], data: dict, layers: list[Layer],
                  meaning: Callable[[M], list[tuple[tuple, str]]] | None = None) -> M:
    """`data` (read from `layers`, the file first) as `model`; every schema problem, then every
    meaning problem (key path, message), refuses the file with its key and line."""
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        raise SurveyFileError([_problem(layers, tuple(e["loc"]), _message(e)) for e in exc.errors()]) from None
    found = meaning(obj) if meaning is not None else []
    if found:
        raise SurveyFileError([_problem(layers, key, message) for key, message in found])
    return obj


def _problem(layers: list[Layer], key: tuple, message: str) -> Problem:
    """A problem at `key` (names and list positions), located in the layer defining most of it."""
    best = (str(layers[0].path), None, -1)
    for layer in layers:
        node, line, depth = layer.node(), None, 0
        for part in key:
            if isinstance(node, yaml.MappingNode):
                match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
                if match is None:
                    break
                line, node = match[0].start_mark.line + 1, match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
            depth += 1
        if depth > best[2]:
            best = (str(layer.path), line, depth)
    return Problem(best[0], ".".join(map(str, key)), message, best[1])


# ---------------------------------------------------------------- the model

_STRICT = ConfigDict(extra="forbid")
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]


class ScaleSettings(BaseModel):
    model_config = _STRICT
    options: list[Text] = Field(min_length=2, max_length=MAX_OPTIONS)
    recognising: list[Text] = Field(min_length=1, max_length=MAX_OPTIONS)
    excluded: list[Text] = Field(default_factory=list, max_length=MAX_OPTIONS)


class GradeBand(BaseModel):
    model_config = _STRICT
    label: str = Field(min_length=1, max_length=40)
    first: int = Field(ge=1, le=9)
    last: int = Field(ge=1, le=9)


class SamplingSettings(BaseModel):
    model_config = _STRICT
    per_mille: float = Field(gt=0, le=1000)
    minimum: int = Field(ge=1, le=1_000_000)
    parents_min_share: float = Field(ge=0, le=1)
    others_even: bool = True
    student_min_grade: int = Field(ge=1, le=9)
    grade_bands: list[GradeBand] = Field(default_factory=list, max_length=9)
    urban_rural_by_population: bool = True
    groups: list[str] = Field(min_length=1, max_length=len(GROUPS))


class CheckSettings(BaseModel):
    model_config = _STRICT
    min_seconds_per_item: float = Field(ge=0, le=3600)
    duplicate_same_ip: bool = True
    straight_lining: bool = False
    straight_lining_min_items: int = Field(ge=2, le=200)
    outside_quota: bool = True
    exclude_flagged: bool = True


class ScoringSettings(BaseModel):
    model_config = _STRICT
    group_weights: dict[str, float] | None = None
    confidence: float = Field(gt=0.5, lt=1)


class SurveySettings(BaseModel):
    model_config = _STRICT
    scale: ScaleSettings
    sampling: SamplingSettings
    checks: CheckSettings
    scoring: ScoringSettings

    def frozen(self) -> dict[str, Any]:
        """The whole settings as plain data (stored on the survey)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_frozen(cls, data: dict[str, Any]) -> "SurveySettings":
        """Settings stored on a survey, checked as strictly as a file."""
        obj = cls.model_validate(data)
        problems = _meaning(obj)
        if problems:
            raise SurveyFileError([Problem("问卷调查设置", ".".join(map(str, k)), m) for k, m in problems])
        return obj


def scale_problems(options: list[str], recognising: list[str], excluded: list[str],
                   at: tuple = ()) -> list[tuple[tuple, str]]:
    """Problems of an answer scale: unique options, recognising and excluded options on the scale
    and apart (shared by settings, questionnaires and mappings)."""
    found = []
    doubles = sorted({o for o in options if options.count(o) > 1})
    if doubles:
        found.append((at + ("options",), f"选项重复:{'、'.join(doubles)}"))
    for key, chosen in (("recognising", recognising), ("excluded", excluded)):
        missing = [o for o in chosen if o not in options]
        if missing:
            found.append((at + (key,), f"“{'、'.join(missing)}”不是选项;应为 {'、'.join(options)} 之一"))
    both = [o for o in recognising if o in excluded]
    if both:
        found.append((at + ("excluded",), f"“{'、'.join(both)}”既计为认可又不计入分母,只能取其一"))
    if options and not set(options) - set(excluded):
        found.append((at + ("excluded",), "全部选项都不计入分母,无法计算认可度"))
    return found


def known_groups(groups, at: tuple) -> list[tuple[tuple, str]]:
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        names = "、".join(f"{g}({group_label(g)})" for g in GROUPS)
        return [(at, f"未知的人员类别 {'、'.join(map(str, unknown))};应为 {names} 之一")]
    return []


def _meaning(s: SurveySettings) -> list[tuple[tuple, str]]:
    found = scale_problems(s.scale.options, s.scale.recognising, s.scale.excluded, ("scale",))
    found += known_groups(s.sampling.groups, ("sampling", "groups"))
    for i, band in enumerate(s.sampling.grade_bands):
        if band.first > band.last:
            found.append((("sampling", "grade_bands", i), f"起始年级 {band.first} 大于结束年级 {band.last}"))
    weights = s.scoring.group_weights
    if weights is not None:
        found += known_groups(list(weights), ("scoring", "group_weights"))
        if any(w < 0 or w != w for w in weights.values()) or not sum(weights.values()) > 0:
            found.append((("scoring", "group_weights"), "权重应为非负数,且至少有一个大于 0"))
    return found


def load_settings(path: Path | str | None = None) -> SurveySettings:
    """The shipped defaults, with a county's file (if given) over them key by key."""
    defaults, default_layer = read_mapping_file(DEFAULTS)
    if path is None:
        return validate_file(SurveySettings, defaults, [default_layer], _meaning)
    own, layer = read_mapping_file(Path(path))
    return validate_file(SurveySettings, deep_merge(defaults, own), [layer, default_layer], _meaning)


def default_settings() -> SurveySettings:
    return load_settings(None)

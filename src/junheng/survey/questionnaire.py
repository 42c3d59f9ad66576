"""Questionnaires as data: one YAML file per audience (questionnaires/society.yaml, staff.yaml,
students.yaml are the defaults), with its items, answer options, which options count as
recognising and which are excluded from the denominator.

A county copies the defaults (`write_defaults`, `junheng survey questionnaire --out DIR`), edits
them and loads its own (`load_questionnaire`); a survey freezes the whole questionnaire it used
(`Questionnaire.frozen()`, stored on the survey, and `Questionnaire.from_frozen`), so a later
edit of the file never changes a survey already run.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from junheng.survey.groups import GROUPS
from junheng.survey.settings import (
    MAX_OPTIONS,
    Problem,
    SurveyFileError,
    Text,
    known_groups,
    read_mapping_file,
    scale_problems,
    validate_file,
)

DEFAULTS_DIR = Path(__file__).with_name("questionnaires")
DEFAULT_IDS = ("society", "staff", "students")
MAX_ITEMS = 200

Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                       pattern=r"^[A-Za-z0-9_.-]+$")]

# Answers that mean "not answered": skipped, not shown (问卷星 writes "(跳过)"), or empty.
BLANKS = frozenset({"", "(跳过)", "(跳过)", "(空)", "(空)", "(未显示)", "(未显示)", "-3"})


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN
        return True
    return str(value).strip() in BLANKS


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Key
    text: Text
    topic: Text
    scored: bool = True
    # an unscored item (the identity question) has its own options; a scored item uses the scale
    options: list[Text] | None = Field(None, max_length=MAX_OPTIONS)
    # the identity question: which answer puts the respondent in which group
    groups: dict[Text, Key] | None = None


class Questionnaire(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Key
    version: Text
    title: Text
    audiences: list[Key] = Field(min_length=1, max_length=len(GROUPS))
    options: list[Text] = Field(min_length=2, max_length=MAX_OPTIONS)
    recognising: list[Text] = Field(min_length=1, max_length=MAX_OPTIONS)
    excluded: list[Text] = Field(default_factory=list, max_length=MAX_OPTIONS)
    items: list[Item] = Field(min_length=1, max_length=MAX_ITEMS)

    @property
    def scored_items(self) -> list[Item]:
        return [item for item in self.items if item.scored]

    @property
    def identity_item(self) -> Item | None:
        """The unscored item whose answers name the group, if any."""
        return next((item for item in self.items if not item.scored and item.groups), None)

    def item(self, item_id: str) -> Item:
        found = next((item for item in self.items if item.id == item_id), None)
        if found is None:
            raise KeyError(item_id)
        return found

    def outcome(self, option: Any) -> Literal[1, 0] | None:
        """1: a recognising answer; 0: counted, not recognising; None: excluded from the
        denominator (an excluded option, a blank or not-shown answer). ValueError: not an option."""
        if is_blank(option):
            return None
        text = str(option).strip()
        if text in self.recognising:
            return 1
        if text in self.excluded:
            return None
        if text in self.options:
            return 0
        raise ValueError(f"“{text}”不是问卷“{self.title}”的选项;应为 {'、'.join(self.options)} 之一")

    def frozen(self) -> dict[str, Any]:
        """The whole questionnaire as plain data (stored on a survey)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_frozen(cls, data: dict[str, Any]) -> "Questionnaire":
        """A questionnaire stored on a survey, checked as strictly as a file."""
        obj = cls.model_validate(data)
        problems = questionnaire_problems(obj)
        if problems:
            raise SurveyFileError([Problem(f"问卷 {obj.id}", ".".join(map(str, k)), m) for k, m in problems])
        return obj


def questionnaire_problems(q: Questionnaire) -> list[tuple[tuple, str]]:
    """Meaning checks (key path, Chinese message): unique item ids, options on the scale, groups known."""
    found = scale_problems(q.options, q.recognising, q.excluded)
    found += known_groups(q.audiences, ("audiences",))
    seen: dict[str, int] = {}
    for i, item in enumerate(q.items):
        if item.id in seen:
            found.append((("items", i, "id"), f"题目标识 {item.id} 重复(第 {seen[item.id] + 1} 题已用)"))
        seen.setdefault(item.id, i)
        if item.scored and item.options is not None:
            found.append((("items", i, "options"), "计分题使用问卷的选项 options,不能另设选项"))
        if item.scored and item.groups is not None:
            found.append((("items", i, "groups"), "身份题(groups)应为不计分的题目(scored: false)"))
        if item.groups is not None:
            if item.options is None:
                found.append((("items", i, "options"), "身份题应列出其选项 options"))
            else:
                missing = [o for o in item.groups if o not in item.options]
                if missing:
                    found.append((("items", i, "groups"), f"“{'、'.join(missing)}”不是本题的选项;"
                                                          f"应为 {'、'.join(item.options)} 之一"))
                unanswered = [o for o in item.options if o not in item.groups]
                if unanswered:
                    found.append((("items", i, "groups"), f"选项“{'、'.join(unanswered)}”没有对应的人员类别"))
            outside = [g for g in item.groups.values() if g not in q.audiences]
            if outside:
                found.append((("items", i, "groups"), f"人员类别 {'、'.join(outside)} 不在本问卷的填写对象"
                                                      f" audiences({'、'.join(q.audiences)})中"))
        if item.options is not None:
            doubles = sorted({o for o in item.options if item.options.count(o) > 1})
            if doubles:
                found.append((("items", i, "options"), f"选项重复:{'、'.join(doubles)}"))
    if not q.scored_items:
        found.append((("items",), "没有计分的题目(至少应有一道 scored 不为 false 的题)"))
    if sum(1 for item in q.items if item.groups is not None) > 1:
        found.append((("items",), "只能有一道身份题(带 groups 的题目)"))
    return found


def load_questionnaire(path: Path | str) -> Questionnaire:
    """A questionnaire file, validated; SurveyFileError names the file, the key and its line."""
    data, layer = read_mapping_file(Path(path))
    return validate_file(Questionnaire, data, [layer], questionnaire_problems)


def default_questionnaires() -> dict[str, Questionnaire]:
    """The questionnaires shipped with junheng: id → Questionnaire."""
    found = {}
    for name in DEFAULT_IDS:
        q = load_questionnaire(DEFAULTS_DIR / f"{name}.yaml")
        found[q.id] = q
    return found


def write_defaults(out: Path | str, *, overwrite: bool = False) -> list[Path]:
    """Copy the default questionnaire files (with their comments) into `out` for a county to
    edit; refuses to replace an existing file unless `overwrite`."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SurveyFileError.one(out, "", "已存在同名文件,应为文件夹")
    targets = [(DEFAULTS_DIR / f"{name}.yaml", out / f"{name}.yaml") for name in DEFAULT_IDS]
    existing = [str(target) for _, target in targets if target.exists()]
    if existing and not overwrite:
        raise SurveyFileError.one(out, "", f"文件已存在:{'、'.join(existing)};如要覆盖请加 --force")
    try:
        out.mkdir(parents=True, exist_ok=True)
        for source, target in targets:
            shutil.copyfile(source, target)
    except OSError as exc:
        raise SurveyFileError.one(out, "", f"无法写入({exc.strerror})") from None
    return [target for _, target in targets]

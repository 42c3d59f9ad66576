"""What-if scenarios: a named list of changes on top of one year's data (open a school, merge
schools, change enrolment, add a building, set values, apply a plan), evaluated before and
after by the engine. Scenarios are YAML files, saved by name in a folder (default
`./scenarios/NAME.yaml`)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from junheng.data.catalog import catalog
from junheng.data.dataset import Dataset
from junheng.engine.result import EvaluationResult
from junheng.layered import nth_line, parse_mapping
from junheng.planner.actions import Action, apply_action, apply_actions, make_action
from junheng.planner.county import (
    SEGMENT_LABELS,
    CountyYear,
    clean,
    segments_of_type,
    select_county_year,
)
from junheng.planner.errors import ScenarioError, pydantic_problems
from junheng.standards.model import AREA_LABELS

DEFAULT_DIR = Path("scenarios")
SCHOOL_TYPES = Literal["primary", "junior", "nine_year", "twelve_year", "complete_middle", "teaching_point"]
Segment = Literal["primary", "junior", "senior"]
# Full-time teachers per pupil used to staff a new school "to standard" (国家编制标准 城市 1:19, 1:13.5).
PUPILS_PER_TEACHER = {"primary": 19.0, "junior": 13.5}
# Teachers of these kinds are different people (a backbone teacher is not counted as a PE/art
# teacher), so a new school needs at least their sum.
DISTINCT_TEACHERS = ("backbone_teachers", "pe_art_teachers")
NAME_PATTERN = re.compile(r"^[^/\\:*?\"<>|\s.][^/\\:*?\"<>|]{0,59}$")


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StudentTransfer(_Change):
    school_id: str
    segment: Segment
    students: int = Field(gt=0)


class OpenSchool(_Change):
    """A new school; pupils come from existing schools (`students_from`) or are new (`students`)."""

    type: Literal["open_school"]
    school_id: str
    school_name: str
    school_type: SCHOOL_TYPES
    locale: Literal["urban", "town", "rural"] | None = None
    students_from: list[StudentTransfer] = []
    students: dict[Segment, int] = {}
    fields: dict[str, Any] = {}
    to_standard: bool = True  # staff and equip it to every threshold, unless `fields` says otherwise


class MergeSchools(_Change):
    """撤并: the schools are closed and their pupils, staff and facilities join `into`."""

    type: Literal["merge_schools"]
    into: str
    schools: list[str] = Field(min_length=1)
    school_type: SCHOOL_TYPES | None = None  # new type of the merged school (e.g. nine_year)


class ChangeEnrolment(_Change):
    """New pupil numbers for one school (or every school), one segment (or all)."""

    type: Literal["change_enrolment"]
    school_id: str | None = None
    segment: Segment | None = None
    students: int | None = Field(default=None, ge=0)
    change: int | None = None
    percent: float | None = Field(default=None, gt=-100)

    @model_validator(mode="after")
    def _one(self) -> "ChangeEnrolment":
        given = [x for x in (self.students, self.change, self.percent) if x is not None]
        if len(given) != 1:
            raise ValueError("students(新人数)、change(增减人数)、percent(增减百分比)须且只能给出一项")
        if self.students is not None and (self.school_id is None or self.segment is None):
            raise ValueError("给出 students 时须同时指定 school_id 和 segment")
        return self


class AddBuilding(_Change):
    type: Literal["add_building"]
    school_id: str
    teaching_aux_area: float = Field(default=0, ge=0)
    sports_area: float = Field(default=0, ge=0)
    equipment_value: float = Field(default=0, ge=0)
    multimedia_classrooms: int = Field(default=0, ge=0)
    music_rooms: int = Field(default=0, ge=0)
    art_rooms: int = Field(default=0, ge=0)
    room_area: dict[Literal["music", "art"], float] = {}  # area of each new room (default: the standard's minimum)


class SetFields(_Change):
    """Set values directly: of a school's row (school_id given) or of the county's row."""

    type: Literal["set_fields"]
    school_id: str | None = None
    fields: dict[str, Any] = Field(min_length=1)


class ApplyPlan(_Change):
    """The actions of a plan: inline (a plan saved as a scenario) or a plan JSON file."""

    type: Literal["apply_plan"]
    plan: str | None = None
    actions: list[Action] | None = None

    @model_validator(mode="after")
    def _one(self) -> "ApplyPlan":
        if (self.plan is None) == (self.actions is None):
            raise ValueError("须且只能给出 plan(方案 JSON 文件)或 actions(方案行动列表)之一")
        return self


Change = Annotated[Union[OpenSchool, MergeSchools, ChangeEnrolment, AddBuilding, SetFields, ApplyPlan],
                   Field(discriminator="type")]
CHANGE_LABELS = {"open_school": "新建学校", "merge_schools": "撤并学校", "change_enrolment": "调整在校生数",
                 "add_building": "新增建设", "set_fields": "修改数据", "apply_plan": "执行方案"}


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str | None = None
    county: str | None = None
    year: int | None = None
    changes: list[Change] = Field(min_length=1)
    source: str = Field(default="", exclude=True)


# ---------------------------------------------------------------- files


def check_name(name: str) -> str:
    name = str(name).strip()
    if not NAME_PATTERN.match(name):
        raise ScenarioError(f"情景名称“{name}”无效:不能为空、不能以点或空格开头、不能含 / \\ : * ? \" < > |,不超过 60 个字")
    return name


def parse_scenario(text: str, where: str) -> Scenario:
    raw = parse_mapping(
        text, lambda problem, line: ScenarioError(f"情景文件 {where} 不是有效的 YAML{nth_line(line)}:{problem}"),
        lambda: ScenarioError(f"情景文件 {where} 应为键值映射,至少包含 name 和 changes"))
    for key in ("county",):
        if key in raw and raw[key] is not None:
            raw[key] = str(raw[key])
    for change in raw.get("changes") or []:
        if isinstance(change, dict):
            for key in ("school_id", "into"):
                if change.get(key) is not None:
                    change[key] = str(change[key])
            if isinstance(change.get("schools"), list):
                change["schools"] = [str(s) for s in change["schools"]]
            for transfer in change.get("students_from") or []:
                if isinstance(transfer, dict) and transfer.get("school_id") is not None:
                    transfer["school_id"] = str(transfer["school_id"])
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(f"情景文件 {where} 有误:\n{_change_problems(exc, raw)}") from None
    check_name(scenario.name)
    return scenario.model_copy(update={"source": where})


def _change_problems(exc: ValidationError, raw: dict) -> str:
    text = pydantic_problems(exc, "情景项目")
    # "changes.2.merge_schools.into" → "第 3 项变更(撤并学校)into"
    def repl(match: re.Match) -> str:
        index = int(match.group(1))
        kind = match.group(2)
        return f"第 {index + 1} 项变更({CHANGE_LABELS.get(kind, kind)})" + (f" {match.group(3)}" if match.group(3) else "")
    return re.sub(r"changes\.(\d+)\.(\w+)\.?([\w.]*)", repl, text)


def scenario_path(name: str, folder: Path | str = DEFAULT_DIR) -> Path:
    return Path(folder) / f"{check_name(name)}.yaml"


def load_scenario(name_or_path: str | Path, folder: Path | str = DEFAULT_DIR) -> Scenario:
    """A scenario by name (in `folder`) or by file path."""
    candidate = Path(name_or_path)
    if candidate.suffix.lower() in (".yaml", ".yml") or candidate.exists():
        path = candidate
    else:
        path = scenario_path(str(name_or_path), folder)
    if not path.exists():
        names = [s["name"] for s in list_scenarios(folder)]
        listing = "、".join(names) if names else "(无)"
        raise ScenarioError(f"找不到情景“{name_or_path}”({path})。{Path(folder)} 中已保存的情景:{listing}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"无法读取情景文件 {path}:{exc}") from None
    return parse_scenario(text, str(path))


def save_scenario(scenario: Scenario, folder: Path | str = DEFAULT_DIR) -> Path:
    path = scenario_path(scenario.name, folder)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = scenario.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        data = {"name": scenario.name, **data}
        header = f"# 情景:{scenario.name}\n# 由 junheng 保存;可以编辑后用 junheng scenario 数据集 {scenario.name} 重新评估。\n"
        path.write_text(header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"无法保存情景到 {path}:{exc.strerror or exc}") from None
    return path


def list_scenarios(folder: Path | str = DEFAULT_DIR) -> list[dict]:
    folder = Path(folder)
    out = []
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.yaml")):
        try:
            s = parse_scenario(path.read_text(encoding="utf-8-sig"), str(path))
            out.append({"name": s.name, "description": s.description, "county": s.county, "year": s.year,
                        "changes": len(s.changes), "path": str(path)})
        except ScenarioError as exc:
            out.append({"name": path.stem, "description": None, "path": str(path), "error": exc.user_message()})
    return out


def plan_as_scenario(plan, name: str, description: str | None = None) -> Scenario:
    """A plan's actions as a scenario (self-contained: the actions are written into the file)."""
    return Scenario(name=check_name(name), county=plan.county_code, year=plan.year,
                    description=description or f"{plan.county_name}{plan.year}学年方案({plan.status_label},"
                                              f"合计 {plan.total_cost or 0:,.0f} 元)",
                    changes=[ApplyPlan(type="apply_plan", actions=plan.actions)])


# ---------------------------------------------------------------- applying changes


class _Context:
    def __init__(self, cy: CountyYear, scenario: Scenario, index: int, change):
        self.cy, self.scenario, self.index, self.change = cy, scenario, index, change

    def fail(self, message: str) -> ScenarioError:
        kind = CHANGE_LABELS.get(self.change.type, self.change.type)
        return ScenarioError(f"情景“{self.scenario.name}”第 {self.index + 1} 项变更({kind}):{message}")

    def school(self, school_id: str) -> dict:
        if school_id not in self.cy.rows:
            raise self.fail(f"学校 {school_id} 不在县区 {self.cy.county} {self.cy.year} 年的数据中")
        return self.cy.rows[school_id]


def _coerce(ctx: _Context, table: str, key: str, value):
    try:
        spec = catalog().table(table).field(key)
    except KeyError:
        raise ctx.fail(f"没有数据项 {key}(应为{catalog().table(table).label}的字段键名)") from None
    if value is None:
        return None
    kind = spec.type
    if kind == "count":
        if isinstance(value, bool) or not float(value).is_integer() or value < 0:
            raise ctx.fail(f"{spec.label}({key})应为非负整数,实际为 {value!r}")
        return int(value)
    if kind in ("number", "percent"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (kind == "percent" and value > 100):
            raise ctx.fail(f"{spec.label}({key})应为{spec.describe_expected()},实际为 {value!r}")
        return float(value)
    if kind == "bool":
        table_ = {"是": True, "否": False, "yes": True, "no": False, "true": True, "false": False}
        if isinstance(value, bool):
            return value
        if str(value).lower() in table_:
            return table_[str(value).lower()]
        raise ctx.fail(f"{spec.label}({key})应为 是/否,实际为 {value!r}")
    if kind == "enum":
        if value not in (spec.values or {}):
            raise ctx.fail(f"{spec.label}({key})应为{spec.describe_expected()},实际为 {value!r}")
        return value
    if key in ("school_id", "county_code", "year"):
        raise ctx.fail(f"不能修改 {key}")
    return value


def _class_limit(cy: CountyYear, seg: str) -> int | None:
    """The standard's class-size limit of the segment (the smallest, if it has several rules)."""
    limits = [ind.rule.limits[seg] for ind in cy.standard.indicators_of_kind("class_size") if seg in ind.rule.limits]
    return min(limits) if limits else None


def _set_students(cy: CountyYear, row: dict, seg: str, new: int) -> None:
    """New pupil numbers; classes stay, the largest class grows or shrinks in proportion."""
    old = clean(row.get(f"students_{seg}")) or 0
    row[f"students_{seg}"] = int(new)
    largest = clean(row.get(f"max_class_size_{seg}"))
    if largest is not None and old > 0:
        row[f"max_class_size_{seg}"] = int(math.ceil(largest * new / old - 1e-9))
    limit = _class_limit(cy, seg)
    oversize = clean(row.get(f"oversize_classes_{seg}"))
    if oversize is not None and limit is not None and clean(row.get(f"max_class_size_{seg}")) is not None:
        row[f"oversize_classes_{seg}"] = 0 if row[f"max_class_size_{seg}"] <= limit else max(int(oversize), 1)


def _change_enrolment(ctx: _Context, change: ChangeEnrolment) -> None:
    cy = ctx.cy
    schools = [change.school_id] if change.school_id else list(cy.rows)
    for sid in schools:
        row = ctx.school(sid)
        segs = [change.segment] if change.segment else ["primary", "junior", "senior"]
        for seg in segs:
            old = clean(row.get(f"students_{seg}"))
            if old is None:
                if change.school_id and change.segment:
                    raise ctx.fail(f"{cy.school_name(sid)}没有{SEGMENT_LABELS[seg]}学段")
                continue
            if change.students is not None:
                new = change.students
            elif change.change is not None:
                new = old + change.change
            else:
                new = round(old * (1 + change.percent / 100))
            if new < 0:
                raise ctx.fail(f"{cy.school_name(sid)}{SEGMENT_LABELS[seg]}在校生 {old} 人,减少后为负数")
            _set_students(cy, row, seg, new)


def _to_standard(cy: CountyYear, row: dict, school_type: str) -> None:
    """Staff and equip a new school so that every unit meets every threshold of the standard and
    its room, size and class rules hold (national-2017: R1–R7, G3–G5), its training funds reach
    their share."""
    std = cy.standard
    per_student = [ind for ind in std.resource_indicators() if ind.thresholds]
    teacher_rules = [ind for ind in per_student if ind.rule.source == "segment"]
    facility_rules = [ind for ind in per_student if ind.rule.source == "shared"]
    segs = [s for s in segments_of_type(school_type) if s in std.segments and (row.get(f"students_{s}") or 0) > 0]
    classes_total = 0
    for seg in segs:
        n = row[f"students_{seg}"]
        limit = _class_limit(cy, seg) or 45
        classes = max(1, math.ceil(n / limit))
        classes_total += classes
        counts = {ind.rule.resource: math.ceil(ind.thresholds[seg] * n / ind.rule.scale - 1e-9)
                  for ind in teacher_rules}
        distinct = sum(counts.get(key, 0) for key in DISTINCT_TEACHERS)
        teachers = max(math.ceil(n / PUPILS_PER_TEACHER.get(seg, 19.0)), classes, *counts.values(), distinct)
        row.setdefault(f"classes_{seg}", classes)
        row.setdefault(f"max_class_size_{seg}", math.ceil(n / classes))
        row.setdefault(f"oversize_classes_{seg}", 0)
        row.setdefault(f"teachers_{seg}", teachers)
        row.setdefault(f"certified_teachers_{seg}", teachers)
        for key, value in counts.items():
            row.setdefault(f"{key}_{seg}", value)
    weights = std.split_weights
    weighted = sum(weights.get(s, 1.0) * (row.get(f"students_{s}") or 0) for s in ("primary", "junior", "senior"))
    for ind in facility_rules:
        per_weight = max(ind.thresholds[s] / weights.get(s, 1.0) for s in segs) if segs else 0.0
        amount = per_weight * weighted / ind.rule.scale
        row.setdefault(ind.rule.resource, math.ceil(amount - 1e-9) if ind.rule.gap_integer else math.ceil(amount))
    for ind in std.indicators_of_kind("school_rooms"):
        if school_type not in (ind.school_types or ()):
            continue
        rooms = max(ind.rule.min_rooms, math.ceil(classes_total / ind.rule.classes_per_room))
        for room in ind.rule.rooms.values():
            row.setdefault(room.rooms_field, rooms)
            row.setdefault(room.area_field, room.min_area)
    per_pupil = _public_funds_per_pupil(cy)
    pupils = sum(row.get(f"students_{s}") or 0 for s in segs)
    row.setdefault("public_funds", round(per_pupil * max(pupils, 100), -2))
    for ind in std.indicators_of_kind("school_checks"):  # a share of another amount (training funds)
        for check in ind.rule.checks.values():
            if check.ratio is not None and check.gap_field and check.threshold is not None \
                    and row.get(check.ratio.denominator) is not None:
                share = check.threshold / check.ratio.scale
                row.setdefault(check.gap_field, math.ceil(row[check.ratio.denominator] * share))
    row.setdefault("has_charter", True)
    row.setdefault("moral_rating", "good")


def _public_funds_per_pupil(cy: CountyYear) -> float:
    funds = pupils = 0.0
    for row in cy.rows.values():
        f = clean(row.get("public_funds"))
        n = sum(clean(row.get(f"students_{s}")) or 0 for s in ("primary", "junior"))
        if f and n:
            funds, pupils = funds + f, pupils + n
    return funds / pupils if pupils else 700.0


def _open_school(ctx: _Context, change: OpenSchool) -> None:
    cy = ctx.cy
    if change.school_id in cy.rows or change.school_id in set(cy.dataset.schools["school_id"]):
        raise ctx.fail(f"学校标识码 {change.school_id} 已存在")
    segs = segments_of_type(change.school_type)
    students = {s: 0 for s in segs}
    for seg, n in change.students.items():
        if seg not in segs:
            raise ctx.fail(f"{catalog().school_types[change.school_type].label}没有{SEGMENT_LABELS[seg]}学段")
        students[seg] += n
    for transfer in change.students_from:
        source = ctx.school(transfer.school_id)
        if transfer.segment not in segs:
            raise ctx.fail(f"新学校没有{SEGMENT_LABELS[transfer.segment]}学段,不能接收该学段学生")
        old = clean(source.get(f"students_{transfer.segment}")) or 0
        if transfer.students > old:
            raise ctx.fail(f"{cy.school_name(transfer.school_id)}{SEGMENT_LABELS[transfer.segment]}只有 {old} 人,"
                           f"不能转出 {transfer.students} 人")
        _set_students(cy, source, transfer.segment, old - transfer.students)
        students[transfer.segment] += transfer.students
    school = {"school_id": change.school_id, "school_name": change.school_name, "county_code": cy.county,
              "county_name": cy.county_name, "school_type": change.school_type, "locale": change.locale,
              "ownership": "public"}
    row: dict = {"school_id": change.school_id, "year": cy.year}
    row.update({f"students_{s}": n for s, n in students.items()})
    for key, value in change.fields.items():
        row[key] = _coerce(ctx, "school_year", key, value)
    if change.to_standard:
        _to_standard(cy, row, change.school_type)
    cy.schools[change.school_id] = school
    cy.rows[change.school_id] = row


def _merge(ctx: _Context, change: MergeSchools) -> None:
    cy = ctx.cy
    target = ctx.school(change.into)
    new_type = change.school_type or cy.school_type(change.into)
    segs = set(segments_of_type(new_type))
    fields = catalog().table("school_year").fields
    for sid in change.schools:
        if sid == change.into:
            raise ctx.fail("被撤并学校不能与保留学校相同")
        row = ctx.school(sid)
        for seg in ("primary", "junior", "senior"):
            if (clean(row.get(f"students_{seg}")) or 0) > 0 and seg not in segs:
                raise ctx.fail(f"{cy.school_name(sid)}有{SEGMENT_LABELS[seg]}学生,而撤并后的"
                               f"{catalog().school_types[new_type].label}没有该学段;请用 school_type 指定撤并后的学校类型"
                               "(如 nine_year 九年一贯制)")
    group = [target] + [cy.rows[sid] for sid in change.schools]
    merged: dict = dict(target)
    for spec in fields:
        key = spec.key
        if key in ("school_id", "year"):
            continue
        values = [clean(r.get(key)) for r in group]
        known = [v for v in values if v is not None]
        if not known:
            continue
        if key.startswith("max_class_size"):
            merged[key] = max(known)
        elif key.endswith("_min_area"):
            rooms_key = key.replace("_min_area", "s")
            areas = [clean(r.get(key)) for r in group if (clean(r.get(rooms_key)) or 0) > 0 and clean(r.get(key)) is not None]
            merged[key] = min(areas) if areas else known[0]
        elif spec.type in ("count", "number"):
            merged[key] = sum(known) if spec.type == "number" else int(sum(known))
        elif spec.type == "percent":  # pupil-weighted
            weights = [sum(clean(r.get(f"students_{s}")) or 0 for s in ("primary", "junior")) for r in group]
            pairs = [(v, w) for v, w in zip(values, weights) if v is not None]
            total = sum(w for _, w in pairs)
            merged[key] = sum(v * w for v, w in pairs) / total if total else known[0]
        elif spec.type == "bool":
            merged[key] = all(known)
    cy.rows[change.into] = merged
    cy.schools[change.into] = dict(cy.schools[change.into], school_type=new_type)
    for sid in change.schools:
        del cy.rows[sid]
        del cy.schools[sid]


def _add_building(ctx: _Context, change: AddBuilding) -> None:
    cy = ctx.cy
    ctx.school(change.school_id)
    actions = []
    for kind, amount in (("build_teaching_area", change.teaching_aux_area), ("build_sports_area", change.sports_area),
                         ("buy_equipment", change.equipment_value),
                         ("add_multimedia_classrooms", change.multimedia_classrooms)):
        if amount:
            actions.append(make_action(kind, cy, change.school_id, amount))
    rules = [ind.rule for ind in cy.standard.indicators_of_kind("school_rooms")]
    for room, count in (("music", change.music_rooms), ("art", change.art_rooms)):
        if count:
            default = next((r.rooms[room].min_area for r in rules if room in r.rooms), 90.0)
            actions.append(make_action(f"build_{room}_room", cy, change.school_id, count,
                                       details={"area": change.room_area.get(room, default)}))
    for action in actions:
        apply_action(cy, action)


def _set_fields(ctx: _Context, change: SetFields) -> None:
    cy = ctx.cy
    if change.school_id is None:
        if cy.county_row is None:
            raise ctx.fail("本县区本年度没有县级年度数据行")
        for key, value in change.fields.items():
            cy.county_row[key] = _coerce(ctx, "county_year", key, value)
        return
    row = ctx.school(change.school_id)
    for key, value in change.fields.items():
        row[key] = _coerce(ctx, "school_year", key, value)


def _apply_plan(ctx: _Context, change: ApplyPlan) -> None:
    actions = change.actions
    if actions is None:
        path = Path(change.plan)
        if not path.is_absolute() and ctx.scenario.source:
            path = Path(ctx.scenario.source).parent / path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ctx.fail(f"无法读取方案文件 {path}:{exc}") from None
        if str(data.get("county_code")) != ctx.cy.county:
            raise ctx.fail(f"方案文件 {path} 是县区 {data.get('county_code')} 的方案,不是 {ctx.cy.county}")
        try:
            actions = [Action.model_validate(a) for a in data.get("actions", [])]
        except ValidationError as exc:
            raise ctx.fail(f"方案文件 {path} 中的行动有误:{pydantic_problems(exc, '行动')}") from None
    for action in actions:
        ctx.school(action.school_id)
        if action.to_school_id:
            ctx.school(action.to_school_id)
    first = ("divert_students", "split_classes", "rebalance_classes")
    ordered = [a for a in actions if a.kind in first] + [a for a in actions if a.kind not in first]
    changed = apply_actions(ctx.cy, ordered)
    ctx.cy.rows, ctx.cy.schools, ctx.cy.county_row = changed.rows, changed.schools, changed.county_row


APPLY = {"open_school": _open_school, "merge_schools": _merge, "change_enrolment": _change_enrolment,
         "add_building": _add_building, "set_fields": _set_fields, "apply_plan": _apply_plan}


def apply_scenario(cy: CountyYear, scenario: Scenario) -> CountyYear:
    out = cy.copy()
    for index, change in enumerate(scenario.changes):
        APPLY[change.type](_Context(out, scenario, index, change), change)
    return out


# ---------------------------------------------------------------- before and after


class ComparisonRow(BaseModel):
    key: str
    label: str
    before: str
    after: str
    before_met: bool | None = None
    after_met: bool | None = None
    changed: bool


class ScenarioResult(BaseModel):
    scenario: Scenario
    county_code: str
    county_name: str
    year: int
    before: EvaluationResult
    after: EvaluationResult
    rows: list[ComparisonRow]

    def to_json(self) -> dict:
        return {"scenario": self.scenario.model_dump(mode="json"), "county_code": self.county_code,
                "county_name": self.county_name, "year": self.year,
                "comparison": [r.model_dump(mode="json") for r in self.rows],
                "before": self.before.to_json(), "after": self.after.to_json()}


def _met_text(met: bool | None) -> str:
    return {True: "达标", False: "未达标", None: "数据缺失"}[met]


def compare(before: EvaluationResult, after: EvaluationResult) -> list[ComparisonRow]:
    rows = [ComparisonRow(key="verdict", label="结论", before=before.verdict_label, after=after.verdict_label,
                          changed=before.verdict != after.verdict)]

    def add(key, label, b_text, a_text, b_met, a_met):
        rows.append(ComparisonRow(key=key, label=label, before=b_text, after=a_text, before_met=b_met, after_met=a_met,
                                  changed=b_text != a_text or b_met != a_met))

    rb, ra = before.resource, after.resource
    if rb is not None and ra is not None:
        _compare_resources(add, before, after)
    for area, found in before.areas.items().items():
        for item_id, ib in found.indicators.items():
            ia = after.item_area(area).indicators[item_id]
            def text(item):
                failing = [s for s in item.schools if s.met is False]
                return _met_text(item.met) + (f"({len(failing)} 所学校未达标)" if failing else "")
            add(item_id, f"{item_id} {ib.name}", text(ib), text(ia), ib.met, ia.met)  # whole: pages wrap it
    vb, va = "、".join(before.veto.triggered) or "无", "、".join(after.veto.triggered) or "无"
    add("veto", "一票否决", vb, va, not before.veto.triggered, not after.veto.triggered)
    return rows


def _compare_resources(add, before: EvaluationResult, after: EvaluationResult) -> None:
    """The unit-level area: its verdict, every CV of each segment, and each segment's composite
    CV when the standard judges CVs by their mean."""
    rb, ra = before.resource, after.resource
    fmt = lambda c: "—" if c.value is None else f"{c.value:.3f}"  # noqa: E731
    add("schools", "参评学校学段(单位)数", str(len(rb.units)), str(len(ra.units)), None, None)

    def verdict(area) -> str:
        units = f"(达标单位 {area.compliant_units}/{len(area.units)})" if area.per_school_rule else ""
        return _met_text(area.met) + units

    add("resource_allocation", rb.label or AREA_LABELS["resource_allocation"], verdict(rb), verdict(ra), rb.met, ra.met)
    ids = list(dict.fromkeys(before.resource_ids() + after.resource_ids()))
    for seg in dict.fromkeys([*rb.cv, *ra.cv]):
        for ind in ids:
            cb, ca = rb.cv.get(seg, {}).get(ind), ra.cv.get(seg, {}).get(ind)
            if cb is None or ca is None or not (cb.applicable or ca.applicable):
                continue
            limit = f"(≤{cb.limit:g})" if cb.limit is not None else ""
            add(f"cv.{seg}.{ind}", f"{SEGMENT_LABELS[seg]}{ind}差异系数{limit}", fmt(cb), fmt(ca), cb.met, ca.met)
        composite_b, composite_a = (rb.composite_cv or {}).get(seg), (ra.composite_cv or {}).get(seg)
        if composite_b is not None and composite_a is not None:
            add(f"composite_cv.{seg}", f"{SEGMENT_LABELS[seg]}综合差异系数(≤{composite_b.limit:g})",
                fmt(composite_b), fmt(composite_a), composite_b.met, composite_a.met)


def run_scenario(dataset: Dataset, scenario: Scenario, *, county: str | None = None, year: int | None = None,
                 standard=None) -> ScenarioResult:
    cy = select_county_year(dataset, county or scenario.county, year or scenario.year, standard)
    before = cy.evaluate()
    after = apply_scenario(cy, scenario).evaluate()
    return ScenarioResult(scenario=scenario, county_code=cy.county, county_name=cy.county_name, year=cy.year,
                          before=before, after=after, rows=compare(before, after))

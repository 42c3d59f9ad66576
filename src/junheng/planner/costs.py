"""The cost table (单价表): unit costs of every action and per-school limits, one YAML file per
county. The built-in table is an EXAMPLE (every figure labelled as such): a county replaces it
with its own prices (`junheng plan --write-costs 单价表.yaml` writes a copy to edit).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from junheng.layered import nth_line, parse_mapping
from junheng.planner.errors import CostFileError, pydantic_problems

TeacherKind = Literal["above_qual", "backbone", "pe_art"]
TEACHER_KIND_LABELS = {"above_qual": "高于规定学历教师", "backbone": "县级以上骨干教师", "pe_art": "体育、艺术专任教师"}
# The per-segment count each kind of teacher adds to (the field a unit-level indicator reads).
TEACHER_FIELDS = {"above_qual": "teachers_above_qual", "backbone": "backbone_teachers", "pe_art": "pe_art_teachers"}
# The unit price of each school-wide facility the planner adds, by the field it adds to.
FACILITY_PRICES = {"teaching_aux_area": "teaching_aux_area", "sports_area": "sports_area",
                   "equipment_value": "equipment", "multimedia_classrooms": "multimedia_classroom"}

EXAMPLE_COSTS_YAML = """\
# 单价表与学校限制条件(示例)。
# 以下单价均为示例数字,仅供演示,不代表任何地区的实际价格。请按本县实际单价替换,
# 替换后把 example 改为 false,方案中就不再标注“示例单价”。
example: true
description: 示例单价(请替换为本县实际单价)

unit_costs:
  teaching_aux_area: 3500       # 元/m²:新建、扩建教学及辅助用房
  sports_area: 350              # 元/m²:新建、扩建体育运动场地(场馆)
  equipment: 1.0                # 元/元:教学仪器设备按原值计价
  multimedia_classroom: 60000   # 元/间:建设一间网络多媒体教室(设备及改造)
  music_room: 420000            # 元/间:新建一间音乐专用教室(含基本装备)
  art_room: 400000              # 元/间:新建一间美术专用教室(含基本装备)
  room_enlargement: 4500        # 元/m²:音乐、美术专用教室改扩建
  teacher_per_year: 110000      # 元/人·年:新增一名专任教师的工资及单位缴纳的各项保障
  class_split: 20000            # 元/班:增设一个班级以拆分大班额(教室改造、课桌椅等)
  teacher_certification: 1500   # 元/人:未持证专任教师取得教师资格证(培训、考试)
  training_funds: 1.0           # 元/元:学校教师培训经费

# 各类新增教师的年人员经费,不填则按 teacher_per_year。
teacher_per_year_by_kind: {}
#  backbone: 130000

# 新招聘教师的学历是否高于规定学历(是:新增骨干、体育艺术教师同时计入高于规定学历教师数)。
new_teachers_above_qualification: true

# 新建音乐、美术专用教室的面积(m²);不填则按所用标准的最小面积。
new_room_area: {}

# 各校限制条件的默认值(空值表示不限)。
school_defaults:
  max_building_area: null       # m²:可新建、扩建的建筑面积上限(教学及辅助用房和专用教室合计)
  sports_land: true             # 是否有可用于扩建体育运动场地的土地
  max_sports_area: null         # m²:可新增体育运动场地面积上限
  max_new_teachers: null        # 人:可新增专任教师上限(编制)

# 逐校限制条件,按学校标识码填写,只写与默认值不同的项,例如:
schools: {}
#  "1405990001": {max_building_area: 800, sports_land: false}
"""


@dataclass(frozen=True)
class CostItem:
    """One unit price of the table as people read it: what it buys, per what, and the largest
    figure that is still plausible (a larger one is a typing mistake, e.g. a price in 分)."""

    key: str
    label: str
    unit: str
    maximum: float
    hint: str = ""

    @property
    def money(self) -> bool:
        """Priced in 元 per thing (a figure may be typed in 万); 元/元 items are factors."""
        return self.unit != "元/元"


# The unit prices (unit_costs), in the order of the example file. The maxima are generous:
# several times the dearest prices seen in county budgets, far below the data format's bounds.
COST_ITEMS: dict[str, CostItem] = {i.key: i for i in (
    CostItem("teaching_aux_area", "新建、扩建教学及辅助用房", "元/m²", 50_000),
    CostItem("sports_area", "新建、扩建体育运动场地(场馆)", "元/m²", 20_000),
    CostItem("equipment", "购置教学仪器设备(按设备原值的倍数)", "元/元", 10,
             "1 表示按设备原值计价;含安装、运输等费用时可填如 1.1"),
    CostItem("multimedia_classroom", "建设一间网络多媒体教室(设备及改造)", "元/间", 5_000_000),
    CostItem("music_room", "新建一间音乐专用教室(含基本装备)", "元/间", 50_000_000),
    CostItem("art_room", "新建一间美术专用教室(含基本装备)", "元/间", 50_000_000),
    CostItem("room_enlargement", "音乐、美术专用教室改扩建", "元/m²", 50_000),
    CostItem("teacher_per_year", "新增一名专任教师的年人员经费(工资及单位缴纳的各项保障)", "元/人·年", 2_000_000),
    CostItem("class_split", "增设一个班级以拆分大班额(教室改造、课桌椅等)", "元/班", 5_000_000),
    CostItem("teacher_certification", "未持证专任教师取得教师资格证(培训、考试)", "元/人", 100_000),
    CostItem("training_funds", "学校教师培训经费(按金额的倍数)", "元/元", 10, "1 表示按所需经费金额计"),
)}
# Yearly cost of a new teacher by kind (teacher_per_year_by_kind); not given: teacher_per_year.
TEACHER_ITEMS: dict[str, CostItem] = {k: CostItem(k, f"新增{label}的年人员经费", "元/人·年", 2_000_000,
                                                  "不填则按新增专任教师的年人员经费")
                                      for k, label in TEACHER_KIND_LABELS.items()}
MAX_ROOM_AREA = 1_000.0  # m²: a new music or art room
MAX_AREA = 1e7  # m²: the data format's bound on areas
MAX_TEACHERS = 1_000_000  # persons: the data format's bound on counts
MAX_DESCRIPTION = 200  # characters

# Chinese names of the table's entries, for messages about a file ("unit_costs.music_room(...)")
COST_LABELS = {f"unit_costs.{k}": f"{i.label},{i.unit}" for k, i in COST_ITEMS.items()} | {
    f"teacher_per_year_by_kind.{k}": f"{i.label},{i.unit}" for k, i in TEACHER_ITEMS.items()} | {
    "new_room_area.music": "新建音乐专用教室面积,m²", "new_room_area.art": "新建美术专用教室面积,m²",
    "description": "单价表说明", "example": "是否示例单价",
    "new_teachers_above_qualification": "新招聘教师学历是否高于规定学历"}


def _price(maximum: float):
    return Annotated[float, Field(ge=0, le=maximum, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value, info):
        """YAML's true/false are not prices or areas (pydantic would read true as 1)."""
        if cls.model_fields[info.field_name].annotation is bool:
            return value
        mapping = isinstance(value, dict) and info.field_name in ("teacher_per_year_by_kind", "new_room_area")
        values = value.values() if mapping else [value]
        if any(isinstance(v, bool) for v in values):
            raise ValueError(f"应为数字,实际为 {value!r}")
        return value


class UnitCosts(_Strict):
    teaching_aux_area: _price(COST_ITEMS["teaching_aux_area"].maximum)
    sports_area: _price(COST_ITEMS["sports_area"].maximum)
    equipment: _price(COST_ITEMS["equipment"].maximum)
    multimedia_classroom: _price(COST_ITEMS["multimedia_classroom"].maximum)
    music_room: _price(COST_ITEMS["music_room"].maximum)
    art_room: _price(COST_ITEMS["art_room"].maximum)
    room_enlargement: _price(COST_ITEMS["room_enlargement"].maximum)
    teacher_per_year: _price(COST_ITEMS["teacher_per_year"].maximum)
    class_split: _price(COST_ITEMS["class_split"].maximum)
    teacher_certification: _price(COST_ITEMS["teacher_certification"].maximum)
    training_funds: _price(COST_ITEMS["training_funds"].maximum) = 1.0


class SchoolLimits(_Strict):
    max_building_area: float | None = Field(default=None, ge=0, le=MAX_AREA, allow_inf_nan=False)
    sports_land: bool = True
    max_sports_area: float | None = Field(default=None, ge=0, le=MAX_AREA, allow_inf_nan=False)
    max_new_teachers: int | None = Field(default=None, ge=0, le=MAX_TEACHERS)

    def merged(self, override: "SchoolLimits | None") -> "SchoolLimits":
        if override is None:
            return self
        return self.model_copy(update={k: getattr(override, k) for k in override.model_fields_set})

    def describe(self) -> str:
        parts = []
        if self.max_building_area is not None:
            parts.append(f"可建建筑面积上限 {self.max_building_area:g} m²")
        if not self.sports_land:
            parts.append("无可用于扩建体育运动场地的土地")
        elif self.max_sports_area is not None:
            parts.append(f"可新增体育运动场地上限 {self.max_sports_area:g} m²")
        if self.max_new_teachers is not None:
            parts.append(f"可新增专任教师上限 {self.max_new_teachers} 人")
        return ";".join(parts) or "无限制"


class CostTable(_Strict):
    example: bool = False
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    unit_costs: UnitCosts
    teacher_per_year_by_kind: dict[TeacherKind, _price(2_000_000)] = {}
    new_teachers_above_qualification: bool = True
    new_room_area: dict[Literal["music", "art"], Annotated[float, Field(gt=0, le=MAX_ROOM_AREA,
                                                                        allow_inf_nan=False)]] = {}
    school_defaults: SchoolLimits = SchoolLimits()
    schools: dict[str, SchoolLimits] = {}
    source: str = Field(default="", exclude=True)

    def teacher_cost(self, kind: str) -> float:
        return float(self.teacher_per_year_by_kind.get(kind, self.unit_costs.teacher_per_year))

    def resource_cost(self, field: str) -> float:
        """The price of one more of the resource `field` (a teacher a year, a m², a 元, a room)."""
        teacher = next((k for k, f in TEACHER_FIELDS.items() if f == field), None)
        if teacher is not None:
            return self.teacher_cost(teacher)
        return float(getattr(self.unit_costs, FACILITY_PRICES[field]))

    def limits(self, school_id: str) -> SchoolLimits:
        return self.school_defaults.merged(self.schools.get(str(school_id)))

    def label(self) -> str:
        return ("示例单价(请替换为本县实际单价)" if self.example else (self.description or "本县单价")) + (
            f",来源:{self.source}" if self.source else "")


def _parse(text: str, where: str) -> CostTable:
    raw = parse_mapping(
        text, lambda problem, line: CostFileError(f"单价表 {where} 不是有效的 YAML 文件{nth_line(line)}:{problem}"),
        lambda: CostFileError(f"单价表 {where} 应为键值映射(如 unit_costs: ...),请参照示例单价表填写"))
    if isinstance(raw.get("schools"), dict):  # school ids may be written as numbers
        raw["schools"] = {str(k): v for k, v in raw["schools"].items()}
    try:
        return CostTable.model_validate(raw)
    except ValidationError as exc:
        raise CostFileError(f"单价表 {where} 有误:\n{pydantic_problems(exc, '单价表项目', COST_LABELS)}") from None


def example_costs() -> CostTable:
    return _parse(EXAMPLE_COSTS_YAML, "(内置示例)").model_copy(update={"source": "内置示例单价表"})


def load_costs(path: Path | str | None) -> CostTable:
    """The county's cost table, or the built-in example when no file is given."""
    if path is None:
        return example_costs()
    path = Path(path)
    if not path.exists():
        raise CostFileError(f"找不到单价表 {path}。可用 junheng plan --write-costs {path.name} 生成示例单价表后修改")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CostFileError(f"无法读取单价表 {path}:{exc}") from None
    return _parse(text, str(path)).model_copy(update={"source": str(path)})


def write_example_costs(path: Path | str) -> Path:
    path = Path(path)
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise CostFileError(f"单价表文件名应以 .yaml 结尾:{path}")
    if not path.parent.exists():
        raise CostFileError(f"文件夹 {path.parent} 不存在")
    path.write_text(EXAMPLE_COSTS_YAML, encoding="utf-8")
    return path


# ---------------------------------------------------------------- writing a county's table


def _scalar(value) -> str:
    """A number as YAML reads it back exactly (repr of a float round-trips)."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def _block(key: str, value) -> str:
    """`key: value` as YAML, a mapping in block style (empty: `{}`)."""
    if not value:
        return f"{key}: {{}}\n"
    return yaml.safe_dump({key: value}, allow_unicode=True, sort_keys=False, default_flow_style=False)


def costs_yaml(table: CostTable) -> str:
    """The cost table as the commented YAML file the planner reads (the example's layout), every
    entry of `table` kept: unit prices, per-kind salaries, room areas, school limits."""
    lines = ["# 单价表与学校限制条件。由网站“单价表”页面保存;也可直接编辑本文件(格式同示例单价表,",
             "# 可用 junheng plan --write-costs 示例.yaml 生成示例对照)。",
             f"example: {_scalar(table.example)}"]
    if table.description:
        lines.append(yaml.safe_dump({"description": table.description}, allow_unicode=True, width=10**6).rstrip("\n"))
    lines += ["", "unit_costs:"]
    for key, item in COST_ITEMS.items():
        lines.append(f"  {key}: {_scalar(getattr(table.unit_costs, key))}  # {item.unit}:{item.label}")
    lines += ["", "# 各类新增教师的年人员经费(元/人·年),不填则按 teacher_per_year。"]
    kinds = {k: float(v) for k, v in table.teacher_per_year_by_kind.items()}
    lines.append("teacher_per_year_by_kind: {}" if not kinds else "teacher_per_year_by_kind:")
    lines += [f"  {k}: {_scalar(v)}  # {TEACHER_KIND_LABELS[k]}" for k, v in kinds.items()]
    lines += ["", "# 新招聘教师的学历是否高于规定学历(是:新增骨干、体育艺术教师同时计入高于规定学历教师数)。",
              f"new_teachers_above_qualification: {_scalar(table.new_teachers_above_qualification)}",
              "", "# 新建音乐、美术专用教室的面积(m²);不填则按所用标准的最小面积。"]
    areas = {k: float(v) for k, v in table.new_room_area.items()}
    lines.append("new_room_area: {}" if not areas else "new_room_area:")
    lines += [f"  {k}: {_scalar(v)}" for k, v in areas.items()]
    lines += ["", "# 各校限制条件的默认值(空值表示不限)。",
              _block("school_defaults", table.school_defaults.model_dump()).rstrip("\n"),
              "", "# 逐校限制条件,按学校标识码填写,只写与默认值不同的项。",
              _block("schools", {sid: limits.model_dump(exclude_unset=True)
                                 for sid, limits in table.schools.items()}).rstrip("\n")]
    return "\n".join(lines) + "\n"


def _canonical(table: CostTable) -> dict:
    """Everything the planner reads of a table (a school's limits: only those it overrides)."""
    return table.model_dump(exclude={"schools"}) | {
        "schools": {sid: limits.model_dump(exclude_unset=True) for sid, limits in table.schools.items()}}


def write_costs(table: CostTable, path: Path | str) -> CostTable:
    """Write a county's cost table atomically (a temporary file in the same folder, then renamed
    over the old one): readers see the old table or the new one, never half a file. The text is
    read back through the same loader as every cost file before it replaces anything, so the
    file is exactly what the planner will read."""
    path = Path(path)
    text = costs_yaml(table)
    checked = _parse(text, str(path))
    if _canonical(checked) != _canonical(table):  # the writer and the loader disagree: a bug, not bad input
        raise CostFileError(f"单价表 {path} 写出后读回的内容与填写的不一致,没有保存")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    except OSError as exc:
        raise CostFileError(f"无法写入单价表 {path}:{exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise CostFileError(f"无法写入单价表 {path}:{exc.strerror}") from None
    return checked.model_copy(update={"source": str(path)})

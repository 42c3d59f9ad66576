"""The cost table (单价表): unit costs of every action and per-school limits, one YAML file per
county. The built-in table is an EXAMPLE (every figure labelled as such): a county replaces it
with its own prices (`junheng plan --write-costs 单价表.yaml` writes a copy to edit).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from junheng.layered import nth_line, parse_mapping
from junheng.planner.errors import CostFileError, pydantic_problems

TeacherKind = Literal["above_qual", "backbone", "pe_art"]
TEACHER_KIND_LABELS = {"above_qual": "高于规定学历教师", "backbone": "县级以上骨干教师", "pe_art": "体育、艺术专任教师"}

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

# 新招聘教师的学历是否高于规定学历(是:新增骨干、体育艺术教师同时计入 R1)。
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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitCosts(_Strict):
    teaching_aux_area: float = Field(ge=0)
    sports_area: float = Field(ge=0)
    equipment: float = Field(ge=0)
    multimedia_classroom: float = Field(ge=0)
    music_room: float = Field(ge=0)
    art_room: float = Field(ge=0)
    room_enlargement: float = Field(ge=0)
    teacher_per_year: float = Field(ge=0)
    class_split: float = Field(ge=0)
    teacher_certification: float = Field(ge=0)
    training_funds: float = Field(ge=0, default=1.0)


class SchoolLimits(_Strict):
    max_building_area: float | None = Field(default=None, ge=0)
    sports_land: bool = True
    max_sports_area: float | None = Field(default=None, ge=0)
    max_new_teachers: int | None = Field(default=None, ge=0)

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
    description: str | None = None
    unit_costs: UnitCosts
    teacher_per_year_by_kind: dict[TeacherKind, float] = {}
    new_teachers_above_qualification: bool = True
    new_room_area: dict[Literal["music", "art"], float] = {}
    school_defaults: SchoolLimits = SchoolLimits()
    schools: dict[str, SchoolLimits] = {}
    source: str = Field(default="", exclude=True)

    def teacher_cost(self, kind: str) -> float:
        return float(self.teacher_per_year_by_kind.get(kind, self.unit_costs.teacher_per_year))

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
        raise CostFileError(f"单价表 {where} 有误:\n{pydantic_problems(exc, '单价表项目')}") from None


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

"""Pydantic schemas of the JSON API (/api/v1): input models (`…In`, unknown keys refused) are
kept apart from output models (`…Out`), and no output carries a secret (password or token
hashes, CSRF tokens). Field descriptions are in Chinese: they are what /api/v1/docs shows."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from junheng.web.params import Text, Version, Year, text_of_at_most

Note = text_of_at_most(2000)  # a reviewer's note

# A stored value of the interchange format: text, number, yes/no, or empty.
Scalar = Union[bool, int, float, str, None]
# The same coming in: text without lone surrogates ("\ud800" is valid JSON but no text; it cannot be stored).
ScalarIn = Union[bool, int, float, Text, None]

# Stored times are UTC; SQLite hands them back without a zone, so every output names it.
UtcDateTime = Annotated[datetime, AfterValidator(lambda d: d if d.tzinfo else d.replace(tzinfo=timezone.utc))]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- errors


class ErrorOut(BaseModel):
    detail: str = Field(description="中文说明")


class FieldErrorOut(BaseModel):
    field: str | None = Field(description="出错的字段键(如 sports_area);整行或整表的问题为 null")
    message: str = Field(description="问题说明")
    expected: str | None = Field(None, description="应填写的内容")
    value: str | None = Field(None, description="填写的取值(原样)")


class ValidationErrorOut(ErrorOut):
    errors: list[FieldErrorOut] = Field(description="逐项列出全部问题")


ERROR_RESPONSES = {
    401: {"model": ErrorOut, "description": "未登录或令牌无效"},
    403: {"model": ErrorOut, "description": "超出权限范围(不做任何修改)"},
    404: {"model": ErrorOut, "description": "县区、学校或年度不存在"},
}
WRITE_RESPONSES = {
    **ERROR_RESPONSES,
    409: {"model": ErrorOut, "description": "数据已锁定(已提交或已审核)、版本号不一致或当前状态不允许此操作"},
    422: {"model": ValidationErrorOut, "description": "数据校验未通过(与导入相同的规则)"},
}
READ_RESPONSES = {**ERROR_RESPONSES, 422: {"model": ValidationErrorOut, "description": "请求参数有误"}}


# ---------------------------------------------------------------- users and the organisation tree


class MeOut(BaseModel):
    username: str
    display_name: str
    roles: list[str] = Field(description="角色键:admin、supervisor、county_admin、school_filler、viewer")
    role_labels: list[str] = Field(description="角色的中文名称")
    manage_counties: list[str] = Field(description="可管理(审核、填报县级数据)的县区代码;系统管理员为全部,此处为空")
    fill_schools: list[str] = Field(description="可填报的学校标识码(学校填报员)")


class CountyOut(BaseModel):
    code: str = Field(description="县区代码")
    name: str
    standard: str | None = Field(description="适用标准标识,空表示国家标准 national-2017")
    basic_balance_year: int | None = None
    target_year: int | None
    certified_year: int | None
    resident_population: int | None = None
    city: str | None = Field(None, description="所属市")
    province: str | None = Field(None, description="所属省")


class TreeNodeOut(BaseModel):
    kind: Literal["province", "city", "county"]
    code: str
    name: str
    standard: str | None = Field(None, description="县区:适用标准")
    target_year: int | None = Field(None, description="县区:计划通过优质均衡认定年份")
    certified_year: int | None = Field(None, description="县区:已通过认定年份")
    can_manage: bool | None = Field(None, description="县区:当前用户能否管理(审核、填报县级数据)")
    children: list[TreeNodeOut] = Field(default_factory=list)


# ---------------------------------------------------------------- schools and yearly values


class YearStatusOut(BaseModel):
    year: int
    status: Literal["draft", "submitted", "approved", "returned"]
    status_label: str = Field(description="草稿 / 已提交 / 已审核 / 已退回")
    version: int = Field(description="版本号:修改时可随请求提交,用于防止覆盖他人的修改")
    updated_at: UtcDateTime


class SchoolOut(BaseModel):
    school_id: str = Field(description="学校标识码")
    school_name: str
    county_code: str
    county_name: str
    school_type: str = Field(description="学校类型键,如 primary、nine_year")
    school_type_label: str
    attributes: dict[str, Scalar] = Field(description="学校名录的其他字段(城乡分类、办学性质、是否寄宿制等),键为字段键")
    years: list[YearStatusOut] = Field(description="已有的学年及其审核状态")
    can_edit: bool = Field(description="当前用户能否填报这所学校的数据")


class ValuesOut(BaseModel):
    year: int
    status: Literal["draft", "submitted", "approved", "returned"]
    status_label: str
    status_note: str | None = Field(description="最近一次退回或审核的意见")
    locked: bool = Field(description="已提交或已审核的数据已锁定,不能修改")
    version: int
    updated_at: UtcDateTime
    values: dict[str, Scalar] = Field(description="字段键 → 取值(字段见数据格式说明);未填写的字段不出现")


class SchoolYearOut(ValuesOut):
    school_id: str
    school_name: str
    county_code: str


class CountyYearOut(ValuesOut):
    county_code: str
    county_name: str


class ChangeOut(BaseModel):
    field: str
    label: str = Field(description="字段的中文名称")
    old: Scalar
    new: Scalar


class SchoolYearWriteOut(SchoolYearOut):
    changes: list[ChangeOut] = Field(description="本次修改的字段(每项都已记入审计日志);没有变化时为空")


class CountyYearWriteOut(CountyYearOut):
    changes: list[ChangeOut]


class ValuesIn(_In):
    values: dict[Text, ScalarIn] = Field(
        description="要修改的字段:字段键(或中文列名)→ 取值。取值规则与导入相同(是/否、百分数 0–100 等);"
                    "null 表示清空该项;未列出的字段保持不变",
        examples=[{"sports_area": 10241.7, "has_charter": "是"}],
    )
    version: Version | None = Field(None, description="读取时的版本号;若数据已被他人修改则返回 409,不覆盖")


class TransitionIn(_In):
    note: Note | None = Field(None, description="意见;退回时必填")
    version: Version | None = Field(None, description="读取时的版本号(可选)")


class TransitionOut(BaseModel):
    action: str
    action_label: str
    status: Literal["draft", "submitted", "approved", "returned"]
    status_label: str
    status_note: str | None
    version: int


# ---------------------------------------------------------------- evaluation


class EvaluationRunIn(_In):
    year: Year | None = Field(None, description="学年;不填则为数据完整的最近一个学年")
    approved_only: bool = Field(True, description="只用已审核数据(默认);false 时包含未审核数据,结果仅供预览")


class EvaluationRunOut(BaseModel):
    run_id: int = Field(description="评估记录编号")
    county_code: str
    year: int
    standard: str
    verdict: Literal["pass", "fail", "incomplete"]
    verdict_label: str = Field(description="达标 / 未达标 / 数据不全,无法判定")
    inputs_version: str = Field(description="所用数据的指纹;数据不变时重复评估返回同一记录")
    approved_only: bool
    reused: bool = Field(description="数据未变,沿用已有的评估记录")
    created_at: UtcDateTime
    result_url: str = Field(description="完整评估结果(JSON 约定格式)的地址")


TreeNodeOut.model_rebuild()

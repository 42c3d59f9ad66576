"""The interchange format catalogue (format.yaml) as typed objects.

Everything that reads or writes datasets (import, validation, template, engine) asks this
catalogue for keys, labels, types and enum values, so the format is described once.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

FieldType = Literal[
    "text", "count", "number", "percent", "rate01", "bool", "year", "enum", "level",
    "school_ref", "county_ref",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Frozen):
    key: str
    label: str
    type: FieldType
    required: bool = False
    unit: str | None = None
    values: dict[str, str] | None = None  # enum key -> Chinese label
    segment: str | None = None
    at_most: str | None = None  # another field of the same row this one cannot exceed
    allowance: bool = False  # used only by allowances
    counts_classes_above: int | None = None  # oversize-class counts: classes larger than this
    largest_field: str | None = None  # ... which must agree with this largest-class field
    note: str | None = None
    maximum: float | None = None  # counts and numbers: the plausible bound of their unit (`limits`)
    max_length: int | None = None  # text fields: characters (`text_max_length` unless declared)
    # numeric types: what the type accepts (format.yaml `types`; outside it a value is 无效)
    low: float | None = None
    high: float | None = None
    integer: bool = False

    def describe_expected(self) -> str:
        """Plain-language description of an acceptable value (for messages and the template)."""
        match self.type:
            case "count":
                return "非负整数" + (f"(单位:{self.unit})" if self.unit else "")
            case "number":
                if self.unit == "元":  # amounts are read by junheng.amounts: 万 and 亿 too
                    return "非负数(单位:元,也可写 8.86万、1.2亿)"
                return "非负数" + (f"(单位:{self.unit})" if self.unit else "")
            case "percent":
                return "0 到 100 之间的百分数,如 95 或 95%(不要填 0.95)"
            case "rate01":
                return "0 到 1 之间的小数"
            case "bool":
                return "是/否(也可填 yes/no、true/false、1/0)"
            case "year":
                return "四位年份,如 2024"
            case "enum":
                assert self.values is not None
                # labels only: every face shows this, and a label is accepted wherever a key is
                return "以下之一:" + "、".join(self.values.values())
            case "level":
                return "学业水平 1–4 或 Ⅰ–Ⅳ"
            case "school_ref":
                return "学校名录中已有的学校标识码"
            case "county_ref":
                return "已有的县区代码"
            case _:
                return "文本"


class TableSpec(_Frozen):
    name: str
    label: str
    key: tuple[str, ...]
    optional_table: bool = False
    description: str | None = None  # what one row is, e.g. 每所学校一行 (messages, template)
    fields: tuple[FieldSpec, ...]

    def field(self, key: str) -> FieldSpec:
        for spec in self.fields:
            if spec.key == key:
                return spec
        raise KeyError(key)

    @property
    def keys(self) -> list[str]:
        return [spec.key for spec in self.fields]


class TypeRule(_Frozen):
    """What a field type accepts (format.yaml `types`): numbers within `min`–`max` (whole numbers
    where `integer`), or one of `words` (a spelling → its value), or one of `numbers`."""

    min: float | None = None
    max: float | None = None
    integer: bool = False
    words: dict[str, bool | int] | None = None
    numbers: tuple[float, ...] = ()


class SchoolTypeSpec(_Frozen):
    label: str
    segments: tuple[str, ...]


class Terms(_Frozen):
    """A sum of fields: Σplus − Σminus (a plain list in the file is `plus` alone)."""

    plus: tuple[str, ...]
    minus: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return self.plus + self.minus


class Derivation(_Frozen):
    """A county_year percent field computed from counts of the same row (format.yaml `derived`;
    applied by junheng.engine.derived): target = scale × numerator ÷ denominator."""

    target: str
    basis: str  # what it is computed from, completing 由…计算 (学籍人数)
    numerator: Terms
    denominator: Terms
    scale: float = 100.0
    tolerance: float = 0.05  # percentage points: a typed value further off is flagged
    terms: dict[str, str] = {}  # short names of the inputs in the formula (the field label otherwise)

    @field_validator("numerator", "denominator", mode="before")
    @classmethod
    def _plain_list(cls, value):
        return {"plus": value} if isinstance(value, (list, tuple)) else value

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.numerator.fields + self.denominator.fields))


TEXT_TYPES = ("text", "school_ref", "county_ref")
LABEL_ORDER = ("school_year", "county_year", "schools", "quality", "counties")  # where an unqualified key is looked up


class Catalog(_Frozen):
    types: dict[FieldType, TypeRule]
    school_types: dict[str, SchoolTypeSpec]
    segments: dict[str, str]
    text_max_length: int
    tables: dict[str, TableSpec]
    derived: dict[str, Derivation] = {}  # county_year target field → its derivation from counts

    @model_validator(mode="after")
    def _derivations_fit(self) -> "Catalog":
        table = self.tables.get("county_year")
        for target, d in self.derived.items():
            keys = table.keys if table is not None else []
            if target != d.target or target not in keys or table.field(target).type != "percent":
                raise ValueError(f"derived.{target}: the target must be a county_year percent field")
            if not d.numerator.plus or not d.denominator.plus or d.scale <= 0 or d.tolerance < 0:
                raise ValueError(f"derived.{target}: needs numerator and denominator terms, scale > 0, tolerance >= 0")
            for key in d.inputs:
                if key == target or key not in keys or table.field(key).type != "count":
                    raise ValueError(f"derived.{target}: input {key} must be another county_year count field")
            if extra := set(d.terms) - set(d.inputs):
                raise ValueError(f"derived.{target}: terms names fields that are no inputs: {sorted(extra)}")
        return self

    def table(self, name: str) -> TableSpec:
        return self.tables[name]

    def segment_label(self, segment: str) -> str:
        return self.segments.get(segment, segment)

    # ------------------------------------------------------------ labels (what users read)
    # Pages, messages and reports name fields, tables and enum values by these Chinese labels;
    # the keys stay in JSON, data attributes and form values. An unknown key comes back as it
    # is (a column the catalogue does not describe is the user's own header).

    def find_field(self, key: str, table: str | None = None) -> FieldSpec | None:
        """The field `key` of `table`, or of the first table that has it; `key` may be qualified
        (`county_year.layout_reasonable`)."""
        if table is None and "." in key:
            table, key = key.split(".", 1)
        for name in (table,) if table else LABEL_ORDER:
            spec = self.tables.get(name)
            if spec is not None and key in spec.keys:
                return spec.field(key)
        return None

    def field_label(self, key: str, table: str | None = None) -> str:
        """A field's Chinese label (学校规划布局合理 for `county_year.layout_reasonable`)."""
        spec = self.find_field(key, table)
        return spec.label if spec is not None else key

    def table_label(self, name: str) -> str:
        spec = self.tables.get(name)
        return spec.label if spec is not None else name

    def school_type_label(self, key: str) -> str:
        """九年一贯制学校 for `nine_year`."""
        spec = self.school_types.get(key)
        return spec.label if spec is not None else key

    def enum_label(self, field: str, value, table: str | None = None) -> str:
        """The Chinese label of an enum value (优秀 for moral_rating `excellent`, 城区 for locale
        `urban`); the value itself when the field has no such value."""
        spec = self.find_field(field, table)
        if spec is not None and spec.values and value in spec.values:
            return spec.values[value]
        if field == "school_type":
            return self.school_type_label(value)
        return value


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    text = resources.files("junheng.data").joinpath("format.yaml").read_text("utf-8")
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    limits = raw.get("limits", {})

    longest = raw["text_max_length"]

    types = {name: TypeRule(**rule) for name, rule in raw["types"].items()}

    def bounded(field: dict) -> dict:
        rule = types.get(field.get("type"))
        if rule is not None and (rule.min is not None or rule.max is not None):
            field = {"low": rule.min, "high": rule.max, "integer": rule.integer, **field}
        if field.get("type") in ("count", "number") and field.get("unit") in limits:
            return {**field, "maximum": float(limits[field["unit"]])}
        if field.get("type") in TEXT_TYPES:
            return {"max_length": longest, **field}
        return field

    tables = {
        name: TableSpec(name=name, **{**spec, "key": tuple(spec["key"]),
                                      "fields": tuple(bounded(f) for f in spec["fields"])})
        for name, spec in raw["tables"].items()
    }
    derived = {target: {"target": target, **spec} for target, spec in (raw.get("derived") or {}).items()}
    return Catalog(types=types, school_types=raw["school_types"], segments=raw["segments"], text_max_length=longest,
                   tables=tables, derived=derived)

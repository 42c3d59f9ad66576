"""The interchange format catalogue (format.yaml) as typed objects.

Everything that reads or writes datasets (import, validation, template, engine) asks this
catalogue for keys, labels, types and enum values, so the format is described once.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

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

    def describe_expected(self) -> str:
        """Plain-language description of an acceptable value (for messages and the template)."""
        match self.type:
            case "count":
                return "非负整数" + (f"(单位:{self.unit})" if self.unit else "")
            case "number":
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
                return "以下之一:" + "、".join(f"{label}({key})" for key, label in self.values.items())
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


class SchoolTypeSpec(_Frozen):
    label: str
    segments: tuple[str, ...]


TEXT_TYPES = ("text", "school_ref", "county_ref")


class Catalog(_Frozen):
    school_types: dict[str, SchoolTypeSpec]
    segments: dict[str, str]
    text_max_length: int
    tables: dict[str, TableSpec]

    def table(self, name: str) -> TableSpec:
        return self.tables[name]

    def segment_label(self, segment: str) -> str:
        return self.segments.get(segment, segment)


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    text = resources.files("junheng.data").joinpath("format.yaml").read_text("utf-8")
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    limits = raw.get("limits", {})

    longest = raw["text_max_length"]

    def bounded(field: dict) -> dict:
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
    return Catalog(school_types=raw["school_types"], segments=raw["segments"], text_max_length=longest,
                   tables=tables)

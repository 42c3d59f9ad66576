"""Tables, columns and standards as people name them: a file or sheet name, or a header cell, →
the catalogue's table or field (keys and Chinese labels both match, after dropping whitespace and
quotes; a header may add its unit in parentheses: 教学及辅助用房面积(平方米)), and the standards a
county may name in its 适用标准 column."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from importlib import resources

from junheng.data.catalog import TableSpec, catalog


@lru_cache(maxsize=1)
def _table_names() -> dict[str, str]:
    """Normalised file/sheet name (table key or Chinese label) → table key."""
    names = {}
    for spec in catalog().tables.values():
        names[normalise_name(spec.name)] = spec.name
        names[normalise_name(spec.label)] = spec.name
    return names


def normalise_name(name: str) -> str:
    """Names match after dropping whitespace and quotes, keys case-insensitively."""
    return re.sub(r"[\s\"'“”‘’]+", "", str(name)).lower()


def table_spec(name: str) -> TableSpec | None:
    key = _table_names().get(normalise_name(name))
    return catalog().table(key) if key else None


@cache
def _field_names(table: str) -> dict[str, str]:
    """Normalised header (key or Chinese label) → field key."""
    names = {}
    for f in catalog().table(table).fields:
        names[normalise_name(f.key)] = f.key
        names[normalise_name(f.label)] = f.key
    return names


# A header may carry its unit: 教学及辅助用房面积(平方米), 教学及辅助用房面积（m²）, 小学在校生数(人).
UNIT_HEADER = re.compile(r"(?P<label>.+?)[(（](?P<unit>[^()（）]+)[)）]")
UNIT_WORDS = {  # the catalogue's unit → how people write it (compared after lower-casing)
    "m²": {"m²", "m2", "㎡", "m^2", "平方米", "平米", "sqm"},
    "元": {"元", "人民币元", "人民币", "rmb"},
    "人": {"人", "名"},
    "个": {"个"},
    "间": {"间", "个"},
    "%": {"%", "％", "百分比", "百分数"},
}


def header_field(spec: TableSpec, header: str) -> tuple[str | None, str | None]:
    """The field a header names — its key or label, optionally followed by the field's unit (or
    key) in ASCII or full-width parentheses — and, when the parentheses give another unit
    (万元 for 元), that unit: such a column is not read, since its numbers would be misread."""
    lookup = _field_names(spec.name)
    name = normalise_name(header)
    key = lookup.get(name)
    match = None if key or not name else UNIT_HEADER.fullmatch(name)
    if match is None or lookup.get(match["label"]) is None:
        return key, None
    f = spec.field(lookup[match["label"]])
    unit = match["unit"]
    if unit == f.key.lower() or (f.unit and unit in UNIT_WORDS.get(f.unit, {f.unit.lower()})):
        return f.key, None
    return (f.key, unit) if f.unit else (None, None)  # no unit to contradict: an unknown column, as before


def standard_ids() -> list[str]:
    """The ids of the standards shipped with junheng: the stems of its standard files
    (junheng/standards/catalog/*.yaml; `junheng.standards.loader.builtin_ids` lists the same files).
    Read from the folder, not asked of the standards code: the data layer is below the standards,
    which read the catalogue of fields, so it never imports them."""
    folder = resources.files("junheng").joinpath("standards", "catalog")
    return sorted(entry.name.removesuffix(".yaml") for entry in folder.iterdir() if entry.name.endswith(".yaml"))

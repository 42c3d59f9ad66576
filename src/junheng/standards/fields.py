"""The fields a county is asked for: the format's fields as a standard needs them.

The format catalogue (data/format.yaml) describes every field any standard may read; a county
fills in only what its own standard reads, plus what every county gives whatever its standard
(identity, keys, school types and segments, allowance fields). `fields_for(std)` is that list,
table by table in the catalogue's order; the fill-in template and the data-entry forms show it.

Which fields are the standard's: a catalogue field that some built-in standard reads
(`Standard.fields_read`) belongs to the standards that read it, and is asked for only under
them; a field no built-in standard reads is asked for under every standard. Keys and required
fields are always asked for (a row cannot be read without them). An optional table the standard
reads nothing of, while another standard does (the quality-monitoring table under a standard
without a quality rule), is left out.
"""

from __future__ import annotations

from functools import lru_cache

from junheng.data.catalog import FieldSpec, catalog
from junheng.data.dataset import Dataset
from junheng.standards.loader import all_standards
from junheng.standards.model import Standard

TABLE_ORDER = Dataset.TABLES


@lru_cache(maxsize=1)
def standard_owned_fields() -> dict[str, frozenset[str]]:
    """Per table, the catalogue fields some built-in standard reads (asked for only under a
    standard that reads them)."""
    known = {name: set(catalog().table(name).keys) for name in TABLE_ORDER}
    owned: dict[str, set[str]] = {name: set() for name in TABLE_ORDER}
    for std in all_standards():
        for table, keys in std.fields_read().items():
            if table in owned:
                owned[table] |= keys & known[table]
    return {table: frozenset(keys) for table, keys in owned.items()}


def fields_for(std: Standard) -> dict[str, list[FieldSpec]]:
    """The fields a data-entry person of a county under `std` is asked for, per table (in the
    dataset's table order), each table's fields in catalogue order."""
    read = std.fields_read()
    owned = standard_owned_fields()
    out: dict[str, list[FieldSpec]] = {}
    for name in TABLE_ORDER:
        spec = catalog().table(name)
        wanted = read.get(name, set())
        if spec.optional_table and owned[name] and not (wanted & owned[name]):
            continue  # a table of other standards' rules: nothing in it for this one
        out[name] = [f for f in spec.fields
                     if f.key in spec.key or f.required or f.key not in owned[name] or f.key in wanted]
    return out


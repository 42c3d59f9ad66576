"""A validated dataset: one pandas DataFrame per table, columns by catalogue key.

Columns have the catalogue's types after validation: text and enum keys as pandas string
dtype, counts and years as nullable Int64, numbers/percents/rates as Float64, booleans as
nullable boolean, levels as Int64 (1–4). Every catalogue column is present (missing optional
columns are all-null) so that consumers never test for a column's existence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import pandas as pd
import pyarrow as pa

from junheng.data.catalog import TableSpec, catalog

# The Arrow type of each catalogue type: how the engine, Parquet files and the save read a table.
ARROW_TYPES = {
    "text": pa.string(), "school_ref": pa.string(), "county_ref": pa.string(), "enum": pa.string(),
    "count": pa.int64(), "year": pa.int64(), "level": pa.int64(),
    "number": pa.float64(), "percent": pa.float64(), "rate01": pa.float64(), "bool": pa.bool_(),
}

PANDAS_DTYPES = {
    "text": "string",
    "school_ref": "string",
    "county_ref": "string",
    "enum": "string",
    "count": "Int64",
    "year": "Int64",
    "level": "Int64",
    "number": "Float64",
    "percent": "Float64",
    "rate01": "Float64",
    "bool": "boolean",
}


def column_values(column: pd.Series) -> list:
    """A column as Python values (None where missing), in one Arrow pass: iterating a pandas
    Arrow-backed or nullable column value by value costs microseconds each."""
    import pyarrow as pa

    return pa.array(column, from_pandas=True).to_pylist()


def frame_of_arrow(name: str, table: pa.Table) -> pd.DataFrame:
    """An Arrow table of catalogue columns (Dataset.arrow's types) as the dataset's pandas frame:
    each catalogue column in its PANDAS_DTYPES dtype, extra columns as pandas makes them."""
    spec = catalog().table(name)
    frame = table.to_pandas()
    known = [f for f in spec.fields if f.key in frame.columns]
    return conform(spec, frame.astype({f.key: PANDAS_DTYPES[f.type] for f in known}))


def empty_table(spec: TableSpec) -> pd.DataFrame:
    # a copy of one made earlier: building ~60 typed columns costs more than validating a form row
    return _empty_table(spec.name).copy()


@cache
def _empty_table(name: str) -> pd.DataFrame:
    spec = catalog().table(name)
    return pd.DataFrame({f.key: pd.Series([], dtype=PANDAS_DTYPES[f.type]) for f in spec.fields})


def conform(spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """Give `frame` every catalogue column with its dtype (missing columns become null).

    Values must already be clean; this only fixes dtypes and column presence. Extra columns
    are kept after the catalogue columns (unknown columns are never silently dropped).
    """
    # One DataFrame from a dict of arrays: inserting columns one by one is several times slower.
    columns = {
        f.key: frame[f.key].array.astype(PANDAS_DTYPES[f.type]) if f.key in frame.columns
        else pd.array([pd.NA] * len(frame), dtype=PANDAS_DTYPES[f.type])
        for f in spec.fields
    }
    columns |= {c: frame[c].array for c in frame.columns if c not in columns}
    return pd.DataFrame(columns).reset_index(drop=True)


@dataclass
class Dataset:
    """All tables of one dataset. Missing optional tables are empty frames."""

    schools: pd.DataFrame = field(default_factory=lambda: empty_table(catalog().table("schools")))
    school_year: pd.DataFrame = field(default_factory=lambda: empty_table(catalog().table("school_year")))
    counties: pd.DataFrame = field(default_factory=lambda: empty_table(catalog().table("counties")))
    county_year: pd.DataFrame = field(default_factory=lambda: empty_table(catalog().table("county_year")))
    quality: pd.DataFrame = field(default_factory=lambda: empty_table(catalog().table("quality")))
    source: str = ""
    synthetic: bool = False  # generated data: every face must label it as such
    warnings: list[str] = field(default_factory=list)
    # (county_code, year) → junheng.engine.result.Coverage, set by the store (which knows the
    # roster and the workflow); a file's coverage is derived from its own tables
    coverage: dict = field(default_factory=dict)
    closed_schools: set = field(default_factory=set)  # school_ids kept only for the years they reported
    # (county_code, year) → {county_year field → junheng.engine.result.ValueSource as a dict}: set by
    # the store for values that came from a computation (a survey's S1) or were typed over one
    value_sources: dict = field(default_factory=dict)

    def complete_only(self) -> "Dataset":
        """The same data without the county-years whose coverage is not complete: what trends,
        warnings and forecasts read, so that a year in progress never speaks for a county."""
        partial = {pair for pair, c in self.coverage.items() if not c.complete}
        if not partial:
            return self
        county_of = dict(zip(self.schools["school_id"], self.schools["county_code"]))
        keep_sy = [(county_of.get(s), int(y)) not in partial
                   for s, y in zip(self.school_year["school_id"], self.school_year["year"])]

        def county_rows(frame):
            return frame[[(c, int(y)) not in partial for c, y in zip(frame["county_code"], frame["year"])]] \
                if len(frame) else frame

        return Dataset(schools=self.schools, counties=self.counties,
                       school_year=self.school_year[keep_sy] if len(self.school_year) else self.school_year,
                       county_year=county_rows(self.county_year), quality=county_rows(self.quality),
                       source=self.source, synthetic=self.synthetic, warnings=list(self.warnings),
                       coverage={p: c for p, c in self.coverage.items() if c.complete},
                       closed_schools=set(self.closed_schools),
                       value_sources={p: v for p, v in self.value_sources.items() if p not in partial})

    TABLES = ("schools", "counties", "school_year", "county_year", "quality")

    @classmethod
    def from_frames(cls, source: str = "", synthetic: bool = False, **frames: pd.DataFrame) -> "Dataset":
        """Build from clean frames (e.g. generated data), conforming dtypes and columns."""
        cat = catalog()
        tables = {
            name: conform(cat.table(name), frames[name]) if name in frames else empty_table(cat.table(name))
            for name in cls.TABLES
        }
        return cls(source=source, synthetic=synthetic, **tables)

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    def arrow(self, name: str) -> pa.Table:
        """The table as Arrow: the catalogue's columns in order, each in its catalogue type
        (ARROW_TYPES: text as string, counts and years as int64, numbers as float64, booleans as
        bool; null where missing), then the extra columns. What the engine and the one-row save
        read (no pandas needed to get it once the dataset is held as Arrow)."""
        frame = self.table(name)
        spec = catalog().table(name)
        columns = [pa.array(frame[f.key], type=ARROW_TYPES[f.type], from_pandas=True) for f in spec.fields]
        extras = [c for c in frame.columns if c not in spec.keys]
        columns += [pa.array(frame[c], from_pandas=True) for c in extras]
        return pa.Table.from_arrays(columns, names=list(spec.keys) + extras)

    def with_tables(self, **tables) -> "Dataset":
        """A copy with these tables replaced (each a pandas frame or an Arrow table in the
        catalogue's types), everything else (source, coverage, warnings, ...) kept."""
        from dataclasses import replace

        return replace(self, **{name: frame_of_arrow(name, table) if isinstance(table, pa.Table) else table
                                for name, table in tables.items()})

    def county_year_pairs(self) -> list[tuple[str, int]]:
        """Every (county_code, year) that has school data, sorted."""
        joined = self.school_year.merge(self.schools[["school_id", "county_code"]], on="school_id")
        pairs = joined[["county_code", "year"]].drop_duplicates().sort_values(["county_code", "year"])
        return [(str(c), int(y)) for c, y in pairs.itertuples(index=False)]

    def county_names(self) -> dict[str, str]:
        """county_code → name: the counties table's first name, else the schools table's."""
        names: dict[str, str] = {}
        for frame in (self.schools, self.counties):  # the counties table wins: written last
            given = frame[["county_code", "county_name"]].dropna().drop_duplicates("county_code", keep="first")
            names.update(zip(given["county_code"].astype(str), given["county_name"].astype(str)))
        return names

    def county_name(self, county_code: str) -> str:
        return self.county_names().get(county_code, county_code)

    def county_attributes(self, key: str) -> dict[str, object]:
        """county_code → the counties table's first non-empty value of `key`."""
        given = self.counties[["county_code", key]].dropna().drop_duplicates("county_code", keep="first")
        return dict(zip(given["county_code"].astype(str), given[key]))

    def county_attribute(self, county_code: str, key: str):
        return self.county_attributes(key).get(county_code)


def catalogue_fields() -> dict[str, list]:
    """Every field of the catalogue (FieldSpec), per table in the dataset's order: what the
    template lists and a form asks for when no standard narrows it."""
    return {name: list(catalog().table(name).fields) for name in Dataset.TABLES}

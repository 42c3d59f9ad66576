"""Where the engine's Ibis expressions run.

Expressions are built on unbound tables with fixed names (`junheng_<table>`) and compiled by
Ibis for the backend's dialect; DuckDB in-process is the default, and any Ibis SQL backend
(PostgreSQL, Spark) can be passed instead: the engine never writes SQL text itself.

Compiling a wide Ibis expression costs far more than running it on a county (tenths of a
second each), so compiled queries are cached per standard, expression and dialect, in memory
and on disk (JUNHENG_CACHE_DIR, default ~/.cache/junheng). Each Tables owns its own tables on
the backend: give concurrent evaluations their own connection.
"""

from __future__ import annotations

import hashlib
import json
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import ibis
import pandas as pd
import pyarrow as pa

import junheng
from junheng.data.catalog import catalog
from junheng.data.dataset import Dataset

_memory_cache: dict[str, tuple[str, ibis.Schema]] = {}
_ids = itertools.count()


def cache_dir() -> Path:
    return Path(os.environ.get("JUNHENG_CACHE_DIR") or Path.home() / ".cache" / "junheng") / "sql"


def default_backend() -> ibis.BaseBackend:
    return ibis.duckdb.connect()


def compiled_query(backend: ibis.BaseBackend, key: str, build: Callable[[], ibis.Table]) -> tuple[str, ibis.Schema]:
    """The SQL Ibis compiles for `build()` on this backend, and the expression's schema.

    The schema is kept because the database may type a literal-only column differently
    (DuckDB makes 4.2 a DECIMAL); results are converted back to the expression's types.
    """
    digest = hashlib.sha256(
        "|".join([junheng.__version__, ibis.__version__, backend.name, key]).encode()
    ).hexdigest()[:32]
    if digest in _memory_cache:
        return _memory_cache[digest]
    path = cache_dir() / f"{digest}.json"
    try:
        cached = json.loads(path.read_text("utf-8"))
        entry = (cached["sql"], ibis.schema(cached["schema"]))
    except (OSError, ValueError, KeyError):
        expr = build()
        entry = (str(ibis.to_sql(expr, dialect=backend.name)), expr.schema())
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            schema = {name: str(dtype) for name, dtype in entry[1].items()}
            tmp.write_text(json.dumps({"sql": entry[0], "schema": schema}, ensure_ascii=False), "utf-8")
            tmp.replace(path)  # atomic: a concurrent reader never sees half a file
        except OSError:
            pass  # a read-only home only costs the compile time
    _memory_cache[digest] = entry
    return entry


def _catalogue_frame(dataset: Dataset, name: str) -> pd.DataFrame:
    """Only the catalogue's columns, so the schema (and so the compiled SQL) is always the same."""
    return dataset.table(name)[catalog().table(name).keys]


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow → pandas with nullable dtypes; DECIMAL (how DuckDB types some literals) → float."""
    columns = [
        col.cast(pa.float64()) if pa.types.is_decimal(col.type) else col for col in table.columns
    ]
    table = pa.Table.from_arrays(columns, names=table.column_names)
    return table.to_pandas(types_mapper=_NULLABLE.get)


_NULLABLE = {
    pa.int8(): pd.Int64Dtype(), pa.int16(): pd.Int64Dtype(), pa.int32(): pd.Int64Dtype(),
    pa.int64(): pd.Int64Dtype(), pa.float32(): pd.Float64Dtype(), pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype(),
}


@dataclass
class Tables:
    """The dataset's tables registered on one backend under fixed names.

    On DuckDB, tables are Arrow data registered in place and compiled SQL runs directly, so
    no Ibis compile or SQL parse happens per call; other backends go through Ibis' own
    create_table and sql().
    """

    backend: ibis.BaseBackend
    prefix: str
    schemas: dict[str, ibis.Schema] = field(default_factory=dict)

    @property
    def _duckdb(self) -> bool:
        return self.backend.name == "duckdb"

    def name(self, table: str) -> str:
        return f"{self.prefix}{table}"

    def table(self, table: str) -> ibis.Table:
        """An unbound table to build expressions on (bound by name when the SQL runs)."""
        return ibis.table(self.schemas[table], name=self.name(table))

    def put(self, table: str, data: pd.DataFrame | pa.Table) -> None:
        arrow = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
        self.schemas[table] = ibis.Schema.from_pyarrow(arrow.schema)
        if self._duckdb:
            self.backend.con.register(self.name(table), arrow)
        else:
            self.backend.create_table(self.name(table), arrow, temp=True, overwrite=True)

    def _arrow(self, key: str, build: Callable[[], ibis.Table]) -> pa.Table:
        # The input schemas are part of the key: the same expression on other column types is other SQL.
        schemas = "|".join(f"{name}:{schema!r}" for name, schema in sorted(self.schemas.items()))
        sql, schema = compiled_query(self.backend, f"{self.prefix}|{key}|{schemas}", build)
        if self._duckdb:
            return self.backend.con.sql(sql).to_arrow_table()
        return self.backend.sql(sql, schema=schema, dialect=self.backend.name).to_pyarrow()

    def execute(self, key: str, build: Callable[[], ibis.Table]) -> pd.DataFrame:
        return _to_pandas(self._arrow(key, build))

    def fetch(self, table: str) -> pd.DataFrame:
        return _to_pandas(self.backend.table(self.name(table)).to_pyarrow())

    def materialize(self, table: str, key: str, build: Callable[[], ibis.Table]) -> pd.DataFrame:
        """Store an intermediate result on the backend as `table`; return it too."""
        arrow = self._arrow(key, build)
        self.put(table, arrow)
        return _to_pandas(arrow)


def register(dataset: Dataset, backend: ibis.BaseBackend | None = None, prefix: str | None = None) -> Tables:
    # The prefix is part of the compiled SQL; the default keeps it constant so the cache hits.
    tables = Tables(backend=backend or default_backend(), prefix=prefix or "junheng_")
    for name in ("schools", "school_year", "county_year"):
        tables.put(name, _catalogue_frame(dataset, name))
    return tables

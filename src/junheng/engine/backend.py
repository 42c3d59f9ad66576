"""Where the engine's Ibis expressions run.

Expressions are built on unbound tables with fixed names (`junheng_<table>`) and compiled by
Ibis for the backend's dialect; DuckDB in-process is the default, and any Ibis SQL backend
(PostgreSQL, Spark) can be passed instead: the engine never writes SQL text itself.

What differs between backends (how tables are put, how results come back) is declared in
junheng.engine.backends.QUIRKS.

Compiling a wide Ibis expression costs far more than running it on a county (tenths of a
second each), so compiled queries are cached per standard, expression, input schema and
dialect, in memory and on disk (JUNHENG_CACHE_DIR, default ~/.cache/junheng). On the embedded
DuckDB path a cached query runs on a plain DuckDB connection over Arrow tables, so a command
that finds its queries cached does not even import Ibis (about 0.8 s saved per command).
Each Tables owns its tables on its connection: give concurrent evaluations their own.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pyarrow as pa

import junheng
from junheng.data.catalog import catalog
from junheng.data.dataset import Dataset

if TYPE_CHECKING:
    import ibis
    import pandas as pd

_memory_cache: dict[str, tuple[str, dict[str, str]]] = {}


def cache_dir() -> Path:
    return Path(os.environ.get("JUNHENG_CACHE_DIR") or Path.home() / ".cache" / "junheng") / "sql"


@lru_cache(maxsize=1)
def _ibis_version() -> str:
    return version("ibis-framework")


def compiled_query(dialect: str, key: str, build: Callable[[], "ibis.Table"]) -> tuple[str, dict[str, str]]:
    """The SQL Ibis compiles for `build()` in `dialect`, and the expression's schema (as text).

    The schema is kept because a database may type a literal-only column differently (DuckDB
    makes 4.2 a DECIMAL); the generic path converts results back to the expression's types.
    """
    digest = hashlib.sha256("|".join([junheng.__version__, _ibis_version(), dialect, key]).encode()).hexdigest()[:32]
    if digest in _memory_cache:
        return _memory_cache[digest]
    path = cache_dir() / f"{digest}.json"
    try:
        cached = json.loads(path.read_text("utf-8"))
        entry = (cached["sql"], cached["schema"])
    except (OSError, ValueError, KeyError):
        import ibis

        expr = build()
        entry = (str(ibis.to_sql(expr, dialect=dialect)), {n: str(t) for n, t in expr.schema().items()})
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"sql": entry[0], "schema": entry[1]}, ensure_ascii=False), "utf-8")
            tmp.replace(path)  # atomic: a concurrent reader never sees half a file
        except OSError:
            pass  # a read-only home only costs the compile time
    _memory_cache[digest] = entry
    return entry


def catalogue_table(table: pa.Table, name: str) -> pa.Table:
    """Only the catalogue's columns (in their catalogue types: Dataset.arrow), so the schema (and
    so the compiled SQL) is always the same."""
    return table.select(catalog().table(name).keys)


@lru_cache(maxsize=1)
def _nullable_dtypes() -> dict:
    import pandas as pd  # only for callers that want pandas: the evaluation itself reads Arrow

    return {
        pa.int8(): pd.Int64Dtype(), pa.int16(): pd.Int64Dtype(), pa.int32(): pd.Int64Dtype(),
        pa.int64(): pd.Int64Dtype(), pa.float32(): pd.Float64Dtype(), pa.float64(): pd.Float64Dtype(),
        pa.bool_(): pd.BooleanDtype(), pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype(),
    }


def to_pandas(table: pa.Table) -> "pd.DataFrame":
    """Arrow → pandas with nullable dtypes; DECIMAL (how DuckDB types some literals) → float."""
    columns = [col.cast(pa.float64()) if pa.types.is_decimal(col.type) else col for col in table.columns]
    return pa.Table.from_arrays(columns, names=table.column_names).to_pandas(types_mapper=_nullable_dtypes().get)


def _schema_text(schema: pa.Schema) -> str:
    return ",".join(f"{f.name}:{f.type}" for f in schema)


@dataclass
class Tables:
    """The dataset's tables registered on one backend under fixed names.

    `backend=None` is the embedded default: a DuckDB connection fed Arrow tables in place.
    Any other Ibis backend is put to and read from as its quirks say (junheng.engine.backends).
    """

    backend: Any = None  # an Ibis backend, or None for embedded DuckDB
    prefix: str = "junheng_"
    schemas: dict[str, pa.Schema] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from junheng.engine.backends import quirks_of

        self.quirks = quirks_of(self.backend)
        if self.backend is None:
            import duckdb

            self._con = duckdb.connect()
        else:
            self._con = self.backend.con if self.quirks.put == "arrow" else None
        self.dialect = self.quirks.dialect

    def name(self, table: str) -> str:
        return f"{self.prefix}{table}"

    def table(self, table: str) -> "ibis.Table":
        """An unbound table to build expressions on (bound by name when the SQL runs)."""
        import ibis

        return ibis.table(ibis.Schema.from_pyarrow(self.schemas[table]), name=self.name(table))

    def put(self, table: str, data: "pd.DataFrame | pa.Table") -> None:
        arrow = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
        self.schemas[table] = arrow.schema
        name = self.name(table)
        if self._con is not None:
            self._con.register(name, arrow)
        elif self.quirks.put == "temp_view":  # Spark: no temporary tables, but session-scoped views
            self.backend._session.createDataFrame(_spark_ready(arrow)).createOrReplaceTempView(name)
        else:  # PostgreSQL: a table in the run's schema (first on the search path)
            self.backend.create_table(name, arrow, overwrite=True)

    def _arrow(self, key: str, build: Callable[[], "ibis.Table"]) -> pa.Table:
        # The input schemas are part of the key: the same expression on other column types is other SQL.
        schemas = "|".join(f"{name}:{_schema_text(s)}" for name, s in sorted(self.schemas.items()))
        sql, schema = compiled_query(self.dialect, f"{self.prefix}|{key}|{schemas}", build)
        if self._con is not None:
            return self._con.sql(sql).to_arrow_table()
        import ibis

        target = ibis.schema(schema).to_pyarrow()
        if self.quirks.fetch == "rows":
            return _rows_to_arrow(self.backend.con, sql, target)
        frame = self.backend._session.sql(sql)
        # PySpark ≥ 4 hands Arrow straight over; 3.5 through pandas
        return conform(frame.toArrow() if hasattr(frame, "toArrow") else pa.Table.from_pandas(frame.toPandas()), target)

    def execute(self, key: str, build: Callable[[], "ibis.Table"]) -> "pd.DataFrame":
        return to_pandas(self._arrow(key, build))

    def execute_arrow(self, key: str, build: Callable[[], "ibis.Table"]) -> pa.Table:
        return self._arrow(key, build)

    def materialize_arrow(self, table: str, key: str, build: Callable[[], "ibis.Table"]) -> pa.Table:
        """Store an intermediate result on the backend as `table`; return it too."""
        arrow = self._arrow(key, build)
        self.put(table, arrow)
        return arrow


def conform(result: pa.Table, schema: pa.Schema) -> pa.Table:
    """A backend's result in the expression's own column types (DECIMAL literals, int32 counts, ...),
    so every backend hands the assembly the same table."""
    fields = [f.with_nullable(True) for f in schema]
    return pa.Table.from_arrays([result.column(f.name).cast(f.type) for f in fields], schema=pa.schema(fields))


def _rows_to_arrow(con, sql: str, schema: pa.Schema) -> pa.Table:
    """PostgreSQL rows as Arrow in the expression's types; NUMERIC (what SUM of bigint and
    decimal literals give) read as float, so it converts like any number."""
    from psycopg.types.numeric import FloatLoader

    with con.cursor() as cursor:
        cursor.adapters.register_loader("numeric", FloatLoader)
        cursor.execute(sql)
        rows = cursor.fetchall()
    columns = list(zip(*rows)) if rows else [()] * len(schema)
    fields = [f.with_nullable(True) for f in schema]
    return pa.Table.from_arrays([pa.array(col, type=f.type) for col, f in zip(columns, fields)],
                                schema=pa.schema(fields))


def _spark_ready(arrow: pa.Table) -> pa.Table:
    """Arrow Spark reads: large strings as plain strings."""
    fields = [pa.field(f.name, pa.string()) if pa.types.is_large_string(f.type) else f for f in arrow.schema]
    return arrow.cast(pa.schema(fields))


REGISTERED = ("schools", "school_year", "county_year")


def register(dataset: Dataset, backend=None, prefix: str | None = None) -> Tables:
    """The dataset's tables on `backend` (an Ibis backend; None: embedded DuckDB)."""
    return register_arrow({name: dataset.arrow(name) for name in REGISTERED}, backend, prefix)


def register_arrow(tables: dict[str, pa.Table], backend=None, prefix: str | None = None) -> Tables:
    """`register` of tables already read as Arrow (Dataset.arrow, or a part of them)."""
    registered = Tables(backend=backend, prefix=prefix or "junheng_")
    for name in REGISTERED:
        registered.put(name, catalogue_table(tables[name], name))
    return registered

"""The backends the engine runs on, chosen by name: DuckDB in-process (the default), PostgreSQL
inside the production database, Spark (local mode, a cluster or Spark Connect).

`open_backend(name, ...)` is a context manager yielding what `evaluate_dataset(backend=...)`
takes (None for the embedded DuckDB). Everything that differs between the backends is declared
once, in QUIRKS, and read by junheng.engine.backend.Tables:

- how a table is put on the backend (DuckDB: Arrow registered in place; PostgreSQL: a table in
  the run's own schema; Spark: a temporary view of a DataFrame made from Arrow);
- how a result comes back (DuckDB and Spark: Arrow; PostgreSQL: rows, NUMERIC read as float) and that it is
  always cast back to the expression's schema (DuckDB types float literals DECIMAL, Spark and
  PostgreSQL may narrow integers);
- Spark 4's ANSI mode (and PostgreSQL), where a division by zero raises: the expressions put
  every denominator through nullif (tests/engine/test_backends.py checks the compiled SQL);
- PostgreSQL casts boolean to int4 only: flags are counted with junheng.engine.exprs.as_count,
  and the connection's compiler casts boolean → bigint through int4 (for the quality analytics);
- Spark: session time zone UTC, 4 shuffle partitions in local mode, no UI, log4j at errors only.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from junheng.errors import JunhengError

DEFAULT_BACKEND = "duckdb"


class BackendError(JunhengError):
    pass


@dataclass(frozen=True)
class Quirks:
    """What one backend needs from the engine."""

    dialect: str  # the SQL dialect Ibis compiles for (the compiled-query cache key too)
    put: Literal["arrow", "schema_table", "temp_view"]  # how Tables.put puts a table there
    fetch: Literal["arrow", "rows"]  # how a result comes back: Arrow, or rows (NUMERIC read as float)
    ansi_division: bool  # division by zero raises: every denominator must go through nullif


QUIRKS: dict[str, Quirks] = {
    "duckdb": Quirks(dialect="duckdb", put="arrow", fetch="arrow", ansi_division=False),
    "postgres": Quirks(dialect="postgres", put="schema_table", fetch="rows", ansi_division=True),
    "spark": Quirks(dialect="pyspark", put="temp_view", fetch="arrow", ansi_division=True),
}
_BY_IBIS_NAME = {"duckdb": "duckdb", "postgres": "postgres", "pyspark": "spark"}

SPARK_LOCAL_MASTER = "local[2]"
SPARK_LOCAL_SHUFFLE_PARTITIONS = 4
# Local mode runs everything in the driver's JVM; Spark's default heap (1 GB) is too small to
# broadcast a nation's unit table in the joins of the CV query. A cluster sets its own.
SPARK_LOCAL_DRIVER_MEMORY = "4g"


def quirks_of(backend: Any) -> Quirks:
    """The quirks of an Ibis backend (None: the embedded DuckDB)."""
    if backend is None:
        return QUIRKS["duckdb"]
    try:
        return QUIRKS[_BY_IBIS_NAME[backend.name]]
    except KeyError:
        raise BackendError(f"不支持的计算后端 {backend.name},可选:{'、'.join(QUIRKS)}") from None


def backend_name(name: str | None = None) -> str:
    """The backend asked for: `name`, else JUNHENG_BACKEND, else duckdb; checked."""
    chosen = (name or os.environ.get("JUNHENG_BACKEND") or DEFAULT_BACKEND).strip().lower()
    if chosen not in QUIRKS:
        raise BackendError(
            f"未知的计算后端「{chosen}」。可选:duckdb(缺省,进程内)、postgres(PostgreSQL 数据库)、spark(Spark 集群或本地)"
        )
    return chosen


@contextmanager
def open_backend(name: str | None = None, *, database_url: str | None = None,
                 spark_url: str | None = None) -> Iterator[Any]:
    """The Ibis backend named `name` (see backend_name) for the duration of the block; None for
    the embedded DuckDB. PostgreSQL: `database_url` (else JUNHENG_DATABASE_URL), a schema of the
    run's own, dropped at the end. Spark: `spark_url` a master URL or sc://… (else local[2])."""
    chosen = backend_name(name)
    if chosen == "duckdb":
        yield None
    elif chosen == "postgres":
        with _postgres(database_url or os.environ.get("JUNHENG_DATABASE_URL")) as backend:
            yield backend
    else:
        with _spark(spark_url) as backend:
            yield backend


# ---------------------------------------------------------------- PostgreSQL


def postgres_parameters(url: str) -> dict[str, Any]:
    """ibis.postgres.connect parameters from a store URL (postgresql[+driver]://user:pw@host:port/db)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise BackendError(f"数据库地址「{_hide_password(url)}」无法识别,应形如 postgresql://用户@主机:5432/库名") from None
    if parsed.get_backend_name() != "postgresql":
        raise BackendError(f"postgres 后端需要 PostgreSQL 数据库地址(postgresql://…),收到的是「{_hide_password(url)}」")
    params = {"host": parsed.host, "port": parsed.port or 5432, "user": parsed.username,
              "password": parsed.password, "database": parsed.database}
    extra = {k: v for k, v in parsed.query.items() if isinstance(v, str)}  # sslmode=…, connect_timeout=…
    return {k: v for k, v in params.items() if v is not None} | extra


def _hide_password(url: str) -> str:
    from junheng.database_urls import shown_url

    return shown_url(url)


@contextmanager
def _postgres(url: str | None) -> Iterator[Any]:
    if not url:
        raise BackendError("postgres 后端需要数据库地址:请用 --database-url 指定,或设置环境变量 JUNHENG_DATABASE_URL")
    import ibis

    params = postgres_parameters(url)
    schema = f"junheng_eval_{secrets.token_hex(6)}"
    try:
        backend = ibis.postgres.connect(**params)
    except Exception as exc:  # psycopg.OperationalError and the like: no traceback for a clerk
        raise BackendError(f"无法连接 PostgreSQL 数据库「{_hide_password(url)}」:{_first_line(exc)}") from None
    backend.compiler = _postgres_compiler(backend.compiler)
    try:
        with backend.con.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{schema}"')
            cursor.execute("SELECT set_config('search_path', %s, false)", (f'"{schema}"',))
        backend.con.commit()
        yield backend
    finally:
        try:
            backend.con.rollback()  # an aborted transaction would refuse the DROP
            with backend.con.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            backend.con.commit()
        finally:
            backend.disconnect()


def _postgres_compiler(base: Any) -> Any:
    """Ibis' PostgreSQL compiler, except that a boolean cast to a wide integer goes through
    integer: PostgreSQL casts boolean to int4 only (Ibis writes CAST(flag AS BIGINT), e.g. for
    counting flags with sum()). Only this connection compiles with it."""
    import ibis.expr.datatypes as dt

    class Compiler(type(base)):
        def visit_Cast(self, op, *, arg, to):
            if op.arg.dtype.is_boolean() and to.is_integer() and not to.is_int32():
                arg = self.cast(arg, dt.int32)
            return super().visit_Cast(op, arg=arg, to=to)

    return Compiler()


# ---------------------------------------------------------------- Spark


_QUIET_LOG4J = """rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
"""


def spark_settings(spark_url: str | None, log_config: str | None = None) -> dict[str, str]:
    """The session settings: UTC, no UI, quiet logs; in local mode few shuffle partitions and the
    driver's log4j set to errors only (`log_config`: its file), so its start-up says nothing."""
    settings = {"spark.sql.session.timeZone": "UTC", "spark.ui.enabled": "false",
                "spark.ui.showConsoleProgress": "false"}
    if (not spark_url or spark_url.startswith("local")) and log_config:
        settings["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile=file:{log_config}"
    else:
        settings["spark.log.level"] = "ERROR"
    if not spark_url or spark_url.startswith("local"):
        settings["spark.sql.shuffle.partitions"] = str(SPARK_LOCAL_SHUFFLE_PARTITIONS)
        settings["spark.driver.memory"] = SPARK_LOCAL_DRIVER_MEMORY  # read when the JVM starts
    return settings


@contextmanager
def _spark(spark_url: str | None) -> Iterator[Any]:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise BackendError("spark 后端需要 PySpark:请安装 pip install 'pyspark>=3.5,<4.1'") from None
    import ibis

    remote = bool(spark_url and spark_url.startswith("sc://"))
    if not remote and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise BackendError("spark 后端需要 Java(17 或更新):请安装 openjdk-17-jre-headless 或设置 JAVA_HOME")
    existing = SparkSession.getActiveSession()
    with tempfile.TemporaryDirectory(prefix="junheng-spark-") as folder:
        log_config = Path(folder) / "log4j2.properties"
        log_config.write_text(_QUIET_LOG4J, "utf-8")
        try:
            builder = SparkSession.builder.appName("junheng")
            builder = builder.remote(spark_url) if remote else builder.master(spark_url or SPARK_LOCAL_MASTER)
            for key, value in spark_settings(spark_url, str(log_config)).items():
                if not (remote and key.startswith("spark.ui")):  # a Connect server owns its UI settings
                    builder = builder.config(key, value)
            session = builder.getOrCreate()  # the driver reads its log settings as it starts
        except Exception as exc:  # the Java gateway did not start, the cluster did not answer, ...
            raise BackendError(f"无法启动 Spark 会话({spark_url or SPARK_LOCAL_MASTER}):{_first_line(exc)}") from None
    for key, value in spark_settings(spark_url).items():  # a reused session keeps the run's settings too
        if key.startswith("spark.sql."):
            session.conf.set(key, value)
    try:
        yield ibis.pyspark.connect(session)
    finally:
        if existing is None:
            session.stop()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

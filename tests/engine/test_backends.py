"""The same engine on every backend (junheng.engine.backends): the county cases of the engine's
tests evaluated on DuckDB (embedded, and through Ibis), PostgreSQL and Spark local give the same
results to 1e-9 (the whole to_json(): values, flags, CVs, verdicts), as does the quality
analytics; `junheng evaluate --backend …` gives DuckDB's JSON; the backends' quirks, the schema
PostgreSQL works in, and the messages for what is missing."""

from __future__ import annotations

import json
import math
import re
import sys

import builders
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sqlglot
from databases import POSTGRES_ADMIN_URL
from sqlglot import exp

from junheng.data.dataset import Dataset
from junheng.data.writer import write_dataset_csv
from junheng.engine.backend import Tables, conform, register
from junheng.engine.backends import (
    QUIRKS,
    BackendError,
    open_backend,
    postgres_parameters,
    quirks_of,
    spark_settings,
)
from junheng.engine.checks import county_checks_expr, school_checks_expr
from junheng.engine.evaluate import evaluate_dataset
from junheng.engine.resource_exprs import cv_expr, unit_values_expr
from junheng.engine.resources import compute_resources
from junheng.engine.units import units_expr
from junheng.standards.loader import load_standard

BACKENDS = ["duckdb", "postgres", "spark"]

# ---------------------------------------------------------------- the county cases, one region

PASSING, PER_SCHOOL, CV_FAILS, ONE_THROUGH, MISSING, NO_COUNTY_ROW, BASIC = (
    "990001", "990002", "990003", "990004", "990005", "990006", "990007")


def _county(code: str, rows: list[tuple[str, str, dict]], county_row: dict | None = None):
    """Schools of county `code` (ids prefixed by it) from (id, type, school_year overrides)."""
    schools = [builders.school(f"{code}{sid}", kind, county_code=code, county_name=f"县{code}") for sid, kind, _ in rows]
    years = [builders.school_year(f"{code}{sid}", kind, **over) for sid, kind, over in rows]
    return schools, years, ([] if county_row is None else [{**county_row, "county_code": code}])


def region() -> Dataset:
    """The engine's county cases as the counties of one region: a county that passes; one whose
    schools break the per-school rule (85% floor, two unmet) with a zero denominator among its
    county ratios; one failing a CV; one-through schools split (nine-year, twelve-year, complete
    middle, an explicit per-segment value, a unit without students); missing school and county
    values; a county without its county row; a basic-2012 county."""
    default = [(sid, kind, {}) for sid, kind in builders.default_schools()]
    parts = [
        _county(PASSING, default, builders.county_year()),
        _county(PER_SCHOOL, [("P1", "primary", {"equipment_value": 1_699_000.0}),
                             ("P2", "primary", {"equipment_value": 1_990_000.0, "sports_area": 7400.0}),
                             ("P3", "primary", {"equipment_value": 1_700_000.0}), ("J1", "junior", {})],
                builders.county_year(rotation_eligible_teachers=0, rotated_teachers=0, rotated_backbone_teachers=0)),
        _county(CV_FAILS, [(sid, kind, {}) for sid, kind in builders.default_schools() if sid != "N1"]
                + [("J1", "junior", {"equipment_value": 2600.0 * 1000}), ("J2", "junior", {"equipment_value": 7e6})],
                builders.county_year()),
        _county(ONE_THROUGH, [
            ("N", "nine_year", {"students_primary": 600, "students_junior": 400, "teaching_aux_area": 10400.0}),
            ("E", "nine_year", {"students_primary": 600, "students_junior": 400, "teaching_aux_area": 10400.0,
                                "teaching_aux_area_primary": 5000.0}),
            ("T", "twelve_year", {"students_primary": 500, "students_junior": 500, "students_senior": 500}),
            ("C", "complete_middle", {"students_junior": 1000, "students_senior": 1000}),
            ("Z", "primary", {"students_primary": 0}), ("S", "special", {})], builders.county_year()),
        _county(MISSING, [("P1", "primary", {}), ("P2", "primary", {"sports_area": None, "teachers_primary": None}),
                          ("J1", "junior", {"certified_teachers_junior": None})],
                builders.county_year(special_ed_funding_per_student=None, veto_fraud=None)),
        _county(NO_COUNTY_ROW, [("P1", "primary", {}), ("J1", "junior", {})]),
    ]
    basic_schools, basic_years, basic_row = builders.basic_2012_rows(code=BASIC, prefix=BASIC, county_name="基本县")
    parts.append((basic_schools, basic_years, [basic_row]))
    # the duplicate school row of the CV county: its own J1/J2 replace the passing ones
    schools, years, county_years = [], [], []
    for s, y, c in parts:
        seen = {}
        for school, year in zip(s, y):
            seen[school["school_id"]] = (school, year)
        schools += [v[0] for v in seen.values()]
        years += [v[1] for v in seen.values()]
        county_years += c
    counties = [{"county_code": code, "county_name": f"县{code}", "standard": "national-2017"}
                for code in (PASSING, PER_SCHOOL, CV_FAILS, ONE_THROUGH, MISSING, NO_COUNTY_ROW)]
    counties.append({"county_code": BASIC, "county_name": "基本县", "standard": "basic-2012"})
    quality = [{**row, "county_code": code} for code in (PASSING, PER_SCHOOL, CV_FAILS, ONE_THROUGH)
               for row in builders.quality()]
    return builders.dataset(schools, years, county_years=county_years, quality_rows=quality, counties=counties)


def assert_same(expected, actual, path: str = "$") -> None:
    """Equal JSON, numbers to 1e-9 (relative 1e-12 for large ones)."""
    if isinstance(expected, float) or isinstance(actual, float):
        numbers = isinstance(actual, (int, float)) and isinstance(expected, (int, float))
        assert numbers, f"{path}: {expected!r} ≠ {actual!r}"
        assert math.isclose(expected, actual, rel_tol=1e-12, abs_tol=1e-9), f"{path}: {expected!r} ≠ {actual!r}"
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and expected.keys() == actual.keys(), f"{path}: keys differ"
        for key in expected:
            assert_same(expected[key], actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(expected) == len(actual), f"{path}: lengths differ"
        for i, (a, b) in enumerate(zip(expected, actual)):
            assert_same(a, b, f"{path}[{i}]")
    else:
        assert expected == actual, f"{path}: {expected!r} ≠ {actual!r}"


@pytest.fixture(scope="module")
def dataset():
    return region()


@pytest.fixture(scope="module")
def reference(dataset):
    """The embedded DuckDB's results, and that they are the cases they should be."""
    results = {r.county_code: r for r in evaluate_dataset(dataset)}
    assert results[PASSING].verdict == "pass"
    assert results[PER_SCHOOL].verdict == "fail"
    assert any(u.compliant is False for u in results[PER_SCHOOL].resource.units)
    assert results[CV_FAILS].failing_items() == ["R6"]
    assert results[MISSING].verdict == "incomplete" and results[NO_COUNTY_ROW].verdict == "incomplete"
    assert results[BASIC].standard == "basic-2012"
    return [r.to_json() for r in results.values()]


def _backend(request, name: str):
    return request.getfixturevalue(f"{name}_backend")


@pytest.mark.parametrize("name", BACKENDS)
def test_every_county_case_gives_the_same_result_on_every_backend(request, name, dataset, reference):
    results = evaluate_dataset(dataset, backend=_backend(request, name))
    assert len(results) == 7
    assert_same(reference, [r.to_json() for r in results])


# ---------------------------------------------------------------- quality analytics


def _scores() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = []
    for county in ("140501", "140502"):
        for school in "abcde":
            mean = rng.uniform(50, 80)
            for subject in ("数学", "英语"):
                for i in range(int(rng.integers(3, 12))):
                    rows.append((county, f"{county}{school}", 2024, 8, subject, f"{county}{school}{subject}{i}",
                                 float(np.clip(rng.normal(mean, 12), 0, 100).round(1))))
    return pd.DataFrame(rows, columns=["county_code", "school_id", "year", "grade", "subject", "student", "score"])


@pytest.mark.parametrize("name", BACKENDS)
def test_quality_analytics_give_the_same_results_on_every_backend(request, name):
    from junheng.quality.analysis import analyse, to_json
    from junheng.quality.cuts import Cut, CutScores

    cuts = CutScores((Cut("数学", 8, 40.0, 60.0, 85.0), Cut("英语", 8, 50.0, 70.0, 90.0)))
    frame = _scores()
    expected = to_json(analyse(ibis.memtable(frame), cuts))
    backend = _backend(request, name)
    tables = Tables(backend, prefix="quality_test_")  # the scores table put on the backend as the engine does
    tables.put("scores", frame)
    actual = to_json(analyse(backend.table(tables.name("scores")), cuts))
    assert len(expected) == 4
    assert_same(expected, actual)


# ---------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def dataset_folder(tmp_path_factory, dataset):
    folder = tmp_path_factory.mktemp("region")
    write_dataset_csv(dataset, folder)
    done = builders.run_junheng("evaluate", str(folder), "-f", "json")
    assert done.returncode == 0, done.stderr
    return folder, json.loads(done.stdout)


@pytest.mark.parametrize("name, options", [("postgres", ["--database-url", POSTGRES_ADMIN_URL]), ("spark", [])])
def test_the_command_on_another_backend_gives_duckdbs_json(request, dataset_folder, name, options):
    _backend(request, name)  # skipped where the backend is missing
    folder, expected = dataset_folder
    done = builders.run_junheng("evaluate", str(folder), "--backend", name, *options, "-f", "json")
    assert done.returncode == 0, done.stderr
    assert_same(expected, json.loads(done.stdout))
    assert "Traceback" not in done.stderr and not re.search(r"\bWARN\b", done.stderr)  # Spark starts quietly


def test_the_backend_setting_comes_from_the_environment_and_bad_names_are_refused(dataset_folder, monkeypatch):
    folder, _ = dataset_folder
    monkeypatch.setenv("JUNHENG_BACKEND", "oracle")
    done = builders.run_junheng("evaluate", str(folder), "-f", "json")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "未知的计算后端「oracle」" in builders.plain(done.stderr)
    for name in BACKENDS:
        assert name in done.stderr
    done = builders.run_junheng("evaluate", str(folder), "--backend", "postgres", "-f", "json",
                                "--database-url", "postgresql://nobody@127.0.0.1:1/none")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "无法连接 PostgreSQL 数据库" in done.stderr


# ---------------------------------------------------------------- quirks and connections


def test_quirks_are_declared_for_each_backend_and_found_from_the_connection(request):
    assert set(QUIRKS) == set(BACKENDS)
    assert quirks_of(None) is QUIRKS["duckdb"]
    assert quirks_of(request.getfixturevalue("duckdb_backend")) is QUIRKS["duckdb"]
    assert {q.dialect for q in QUIRKS.values()} == {"duckdb", "postgres", "pyspark"}
    assert QUIRKS["spark"].ansi_division and QUIRKS["spark"].put == "temp_view"
    assert QUIRKS["postgres"].put == "schema_table"


def test_a_result_is_cast_back_to_the_expressions_types():
    got = pa.table({"v": pa.array([1, None], pa.decimal128(5, 1)), "n": pa.array([3, 4], pa.int32()),
                    "extra": ["x", "y"]})
    wanted = pa.schema([("n", pa.int64()), ("v", pa.float64())])
    assert conform(got, wanted).schema == wanted and conform(got, wanted).column("v").to_pylist() == [1.0, None]


ANSI = [name for name, quirks in QUIRKS.items() if quirks.ansi_division]
_SQLGLOT = {"pyspark": "spark", "postgres": "postgres"}


@pytest.mark.parametrize("name", ANSI)
@pytest.mark.parametrize("standard", ["national-2017", "basic-2012", "shandong", "hebei", "shanxi"])
def test_every_denominator_goes_through_nullif_where_division_by_zero_raises(dataset, standard, name):
    """Spark 4 (ANSI) and PostgreSQL raise on x / 0: every division the engine compiles for them
    divides by NULLIF(…, 0) or a non-zero constant."""
    dialect = QUIRKS[name].dialect
    getattr(ibis, dialect)  # loads the backend, whose options its compiler reads
    std = load_standard(standard)
    tables = register(dataset)
    compute_resources(dataset, std, tables)  # unit_values, the CV's input
    exprs = [unit_values_expr(units_expr(tables.table("schools"), tables.table("school_year"), std), std),
             cv_expr(tables.table("unit_values"), std),
             school_checks_expr(tables.table("schools"), tables.table("school_year"), std),
             county_checks_expr(tables.table("county_year"), std)]
    divisions = 0
    for expr in exprs:
        sql = sqlglot.parse_one(str(ibis.to_sql(expr, dialect=dialect)), read=_SQLGLOT[dialect])
        for division in sql.find_all(exp.Div):
            divisor = division.expression
            while isinstance(divisor, (exp.Cast, exp.Paren)):
                divisor = divisor.this
            safe = isinstance(divisor, exp.Nullif) or (isinstance(divisor, exp.Literal) and float(divisor.this) != 0)
            assert safe, f"{standard}: unguarded division {division.sql(_SQLGLOT[dialect])}"
            divisions += 1
    assert divisions > 10


def test_postgres_counts_flags_though_it_casts_boolean_only_to_int4(request):
    backend = request.getfixturevalue("postgres_backend")
    flags = ibis.memtable({"x": [1, 2, 1, None]})
    assert backend.execute((flags.x == 1).cast("int64").sum()) == 2


def test_postgres_parameters_from_the_store_url():
    assert postgres_parameters("postgresql+psycopg://ann:p%40ss@db.example:6543/junheng?sslmode=require") == {
        "host": "db.example", "port": 6543, "user": "ann", "password": "p@ss", "database": "junheng",
        "sslmode": "require"}
    assert postgres_parameters("postgresql://root@127.0.0.1/test") == {
        "host": "127.0.0.1", "port": 5432, "user": "root", "database": "test"}
    with pytest.raises(BackendError, match="需要 PostgreSQL 数据库地址"):
        postgres_parameters("sqlite:///junheng.db")
    with pytest.raises(BackendError, match="无法识别"):
        postgres_parameters("不是地址")


def _schemas(backend) -> set[str]:
    with backend.con.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'junheng_eval_%'")
        return {row[0] for row in cursor.fetchall()}


def test_postgres_works_in_a_schema_of_its_own_and_leaves_nothing_behind(request, dataset):
    watcher = request.getfixturevalue("postgres_backend")  # another connection, to look from outside
    before = _schemas(watcher)
    with pytest.raises(RuntimeError, match="boom"):
        with open_backend("postgres", database_url=POSTGRES_ADMIN_URL) as backend:
            with backend.con.cursor() as cursor:
                cursor.execute("SELECT current_schema()")
                schema = cursor.fetchone()[0]
            assert schema.startswith("junheng_eval_") and schema in _schemas(watcher) - before
            register(dataset, backend)
            with backend.con.cursor() as cursor:
                cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))
                assert {r[0] for r in cursor.fetchall()} == {"junheng_schools", "junheng_school_year",
                                                             "junheng_county_year"}
            raise RuntimeError("boom")
    assert _schemas(watcher) == before  # dropped, tables and all, though the block failed


def test_postgres_without_an_address_says_how_to_give_one(monkeypatch):
    monkeypatch.delenv("JUNHENG_DATABASE_URL", raising=False)
    with pytest.raises(BackendError, match="--database-url"):
        with open_backend("postgres"):
            pass


def test_an_unknown_backend_lists_the_choices():
    with pytest.raises(BackendError) as caught:
        with open_backend("mysql"):
            pass
    assert re.search("未知的计算后端「mysql」", str(caught.value))
    assert all(name in str(caught.value) for name in BACKENDS)


def test_missing_java_or_pyspark_gives_a_chinese_message(monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr("junheng.engine.backends.shutil.which", lambda name: None)
    with pytest.raises(BackendError, match="需要 Java"):
        with open_backend("spark"):
            pass
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # import pyspark.sql → ImportError
    with pytest.raises(BackendError, match="需要 PySpark"):
        with open_backend("spark"):
            pass


def test_spark_settings_local_and_cluster():
    local = spark_settings(None, "/tmp/log4j2.properties")
    assert local["spark.sql.session.timeZone"] == "UTC" and local["spark.sql.shuffle.partitions"] == "4"
    assert local["spark.ui.enabled"] == "false" and "log4j2.configurationFile" in local["spark.driver.extraJavaOptions"]
    assert local["spark.driver.memory"] == "4g"  # the nation's unit table is broadcast in local mode
    cluster = spark_settings("spark://master:7077")
    assert "spark.sql.shuffle.partitions" not in cluster and cluster["spark.log.level"] == "ERROR"
    assert "spark.driver.memory" not in cluster


def test_the_spark_session_is_utc_with_few_partitions(request):
    session = request.getfixturevalue("spark_backend")._session
    assert session.conf.get("spark.sql.session.timeZone") == "UTC"
    assert session.conf.get("spark.sql.shuffle.partitions") == "4"
    assert session.sparkContext.master == "local[2]"

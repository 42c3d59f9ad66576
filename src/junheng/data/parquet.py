"""Parquet datasets: every table of the interchange format as a Hive-partitioned Parquet
dataset, by province and year, read back through the same parsing and cross-checks as CSV.

    <folder>/metadata.json                                   {"format": "junheng-parquet", "synthetic": …}
    <folder>/schools/province_code=14/part-0.parquet         schools, counties: by province
    <folder>/school_year/province_code=14/year=2024/part-0.parquet
                                                             school_year, county_year, quality: and by year

The province is the first two digits of the county code (a school_year row: of its school's
county); a code that is not six to twelve ASCII digits, or a school not in the schools table,
goes to `province_code=other`. The key is `province_code`, not `province`, because the counties
table has a `province` column (所属省) and a partition column must not share a name with a
column in the files (Spark, DuckDB and pyarrow refuse or mix them up). For the same reason
`year` lives only in the partition path: tools reading the folder with Hive partitioning get it
back as a column, and so does the reader here.

Reading turns every Parquet column into the text the CSV parser reads (numbers in their
shortest exact form, booleans as true/false, NaN as empty), so the rules are written once
(`junheng.data.parsing`). A partition folder named after a field of the table (`year=2024`) is
that column for every row beneath it; if a file also holds the column, the two must agree.
`province_code` is a storage key only. Rows are numbered across the table's files in path order
(partitions sorted, header = row 1), as in the CSV that `junheng convert --to csv` writes.
Files are opened one at a time and streamed in batches; the footers are checked first (bounds,
column types), so a hostile file is refused before its data are read.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from junheng import safe_yaml
from junheng.data.catalog import TableSpec, catalog
from junheng.data.dataset import ARROW_TYPES, Dataset
from junheng.data.names import header_field, table_spec
from junheng.data.problems import DatasetUnreadable, Problem
from junheng.data.reading import RawTable, Sources, metadata_problem, raw_table, record_table, table_problem
from junheng.data.workbook import MAX_SHEET_COLUMNS, amount
from junheng.data.writer import WriteError, dataset_metadata, staged_folder

FORMAT = "junheng-parquet"
FORMAT_VERSION = 1
METADATA_JSON = "metadata.json"
PROVINCE_KEY = "province_code"
OTHER_PROVINCE = "other"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # Hive's name for a missing partition value
PART_FILE = "part-0.parquet"
SUFFIX = ".parquet"

# Bounds on what is read (module values read at call time, so a test can lower them). A nation
# is about 2,900 counties and 210,000 schools: 2.1 million school_year rows over ten years.
MAX_FILES = 20_000  # files and folders walked in one dataset
MAX_TABLE_ROWS = 10_000_000
MAX_BYTES = 4 * 2**30  # uncompressed, as the files' footers declare them
MAX_COLUMNS = MAX_SHEET_COLUMNS  # as a sheet
MAX_CELL_CHARS = 32_767  # as an Excel cell
BATCH_ROWS = 65_536

PARTITION = re.compile(r"(?P<key>[^=]+)=(?P<value>.*)")
PROVINCE_CODE = re.compile(r"[0-9]{6,12}")
EXPECTED_TYPES = "文本、整数、小数或布尔值(每个单元格一个值)"


# ---------------------------------------------------------------------------------------------
# Writing


def write_dataset_parquet(dataset: Dataset, folder: Path) -> int:
    """Every non-empty table as Parquet partitioned by province (and year), column types from
    the catalogue, metadata.json at the root; written beside `folder` and moved into place, so a
    failure leaves nothing. Returns the number of Parquet files. An existing folder is replaced
    only when it is empty or a junheng Parquet dataset."""
    folder = Path(folder)
    _check_target(folder)
    files = 0
    with staged_folder(folder) as staging:
        tables = {}
        for name in Dataset.TABLES:
            spec, frame = catalog().table(name), dataset.table(name)
            if len(frame):
                files += _write_table(spec, frame, _provinces(dataset, frame), staging / name)
                tables[name] = {"rows": len(frame), "partitions": _partition_keys(spec)}
        metadata = {"format": FORMAT, "version": FORMAT_VERSION, **dataset_metadata(dataset),
                    "source": dataset.source, "tables": tables}
        (staging / METADATA_JSON).write_text(json.dumps(metadata, ensure_ascii=False, indent=2), encoding="utf-8")
    return files


def is_parquet_dataset(folder: Path) -> bool:
    """A folder written by `write_dataset_parquet` (its metadata.json says so)."""
    try:
        data = json.loads((Path(folder) / METADATA_JSON).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def _check_target(folder: Path) -> None:
    if folder.is_file():
        raise WriteError(f"无法写入“{folder}”:这是一个文件,Parquet 数据集应写入一个文件夹")
    if folder.is_dir() and any(folder.iterdir()) and not is_parquet_dataset(folder):
        raise WriteError(f"不覆盖文件夹“{folder}”:它不是空文件夹,也不是 junheng 的 Parquet 数据集"
                         f"(没有 {METADATA_JSON}):请指定一个新的或空的文件夹")


def _partition_keys(spec: TableSpec) -> list[str]:
    return [PROVINCE_KEY, "year"] if "year" in spec.keys else [PROVINCE_KEY]


def province_of(codes: pd.Series) -> pd.Series:
    """The province partition of county codes: the first two digits, or `other`."""
    text = codes.astype("string")
    standard = text.str.fullmatch(PROVINCE_CODE.pattern).fillna(False).astype(bool)
    return text.str[:2].where(standard, OTHER_PROVINCE).astype(object)


def _provinces(dataset: Dataset, frame: pd.DataFrame) -> pd.Series:
    if "county_code" in frame.columns:
        return province_of(frame["county_code"])
    schools = dataset.schools.drop_duplicates("school_id")  # a school_year row: its school's county
    at = pd.Index(schools["school_id"]).get_indexer(frame["school_id"])
    codes = schools["county_code"].astype("string").to_numpy(dtype=object, na_value=None)
    return province_of(pd.Series(np.where(at >= 0, codes[at], None) if len(codes) else [None] * len(at)))


def _write_table(spec: TableSpec, frame: pd.DataFrame, provinces: pd.Series, folder: Path) -> int:
    keys = _partition_keys(spec)
    parts = {PROVINCE_KEY: provinces.to_numpy()}
    if "year" in keys:
        parts["year"] = frame["year"].astype("string").fillna(NULL_PARTITION).to_numpy(dtype=object)
    table = _arrow_table(spec, frame.drop(columns=[k for k in keys if k in frame.columns]))
    groups = pd.DataFrame(parts).groupby(keys, sort=True).indices
    for values, rows in groups.items():
        values = values if isinstance(values, tuple) else (values,)
        path = folder.joinpath(*(f"{k}={quote(str(v), safe='')}" for k, v in zip(keys, values)))
        path.mkdir(parents=True)
        pq.write_table(table.take(pa.array(rows)), path / PART_FILE)
    return len(groups)


def _arrow_table(spec: TableSpec, frame: pd.DataFrame) -> pa.Table:
    """Catalogue columns with their types; extra columns as text (as the CSV writer keeps them)."""
    arrays, names = [], []
    for column in frame.columns:
        known = column in spec.keys
        values = frame[column] if known else frame[column].astype("string")
        arrays.append(pa.array(values, type=ARROW_TYPES[spec.field(column).type] if known else pa.string(),
                               from_pandas=True))
        names.append(column)
    return pa.Table.from_arrays(arrays, names=names)


# ---------------------------------------------------------------------------------------------
# Reading (called by junheng.data.reading for the entries of a dataset folder)


@dataclass
class Budget:
    """What one dataset has used of the bounds."""

    files: int = 0
    bytes: int = 0
    rows: dict[str, int] = field(default_factory=dict)


def read_entry(entry: Path, found: Sources, budget: Budget) -> bool:
    """Read `entry` of a dataset folder if it is Parquet: a table folder (schools/, 学校名录/), a
    table file (schools.parquet) or metadata.json. False when it is none of these."""
    if entry.name.lower() == METADATA_JSON and entry.is_file():
        _read_metadata(entry, found)
        return True
    spec = table_spec(entry.name if entry.is_dir() else entry.stem)
    if spec is None or not (_holds_parquet(entry) if entry.is_dir() else entry.suffix.lower() == SUFFIX):
        return False  # a folder without Parquet files is skipped, as in a CSV folder
    source = f"{'文件夹' if entry.is_dir() else '文件'}“{entry.name}”"
    record_table(found, spec, source, lambda: _read_table(entry, spec, found, budget))
    return True


def inner_folder_refusal(path: Path) -> str | None:
    """Why `path` cannot be read as a dataset when it is a table or partition folder inside one."""
    if PARTITION.fullmatch(path.name) and _holds_parquet(path):
        return (f"“{path}”是 Parquet 数据集中的一个分区文件夹:请指定数据集的根文件夹"
                "(其中有 schools、school_year 等表的文件夹和 metadata.json)")
    spec = table_spec(path.name)
    if spec is not None and not (path / METADATA_JSON).exists() and _holds_parquet(path):
        return f"“{path}”是 Parquet 数据集中的一张表({spec.label}):请指定上一级的数据集文件夹“{path.parent}”"
    return None


def _holds_parquet(folder: Path, depth: int = 3, look: int = 100) -> bool:
    """Whether a folder holds a Parquet file, a few levels down at most (among its first entries)."""
    with os.scandir(folder) as scan:
        entries = [entry for _, entry in zip(range(look), scan)]
    return any(entry.name.lower().endswith(SUFFIX) and entry.is_file() for entry in entries) or depth > 1 and any(
        entry.is_dir() and _holds_parquet(Path(entry.path), depth - 1, look) for entry in entries)


def _read_metadata(file: Path, found: Sources) -> None:
    if found.metadata_source:
        found.problems.append(metadata_problem(None, f"{found.metadata_source}和文件“{file.name}”都是元数据,请只保留一个"))
        return
    found.metadata_source = f"文件“{file.name}”"
    try:
        if file.stat().st_size > safe_yaml.MAX_BYTES:
            found.problems.append(metadata_problem(None, f"文件“{file.name}”过大,最多 {safe_yaml.MAX_BYTES // 2**20} MB"))
            return
        data = json.loads(file.read_text("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        found.problems.append(metadata_problem(None, f"文件“{file.name}”无法读取或不是合法的 JSON({type(exc).__name__})"))
        return
    if not isinstance(data, dict):
        found.problems.append(metadata_problem(None, f"文件“{file.name}”应为 JSON 对象({{\"synthetic\": true, …}})"))
        return
    found.metadata = {str(key).strip(): value for key, value in data.items()}


@dataclass
class _File:
    path: Path
    name: str  # as the user finds it: relative to the dataset folder
    partition: dict[str, str]  # field key → value, from the folders above the file
    rows: int = 0


def _read_table(location: Path, spec: TableSpec, found: Sources, budget: Budget) -> RawTable | None:
    problems_before = len(found.problems)
    if location.is_dir():
        parts = _walk(location, location.parent, spec, found, budget)
    else:
        budget.files += 1
        parts = [_File(location, location.name, {})]
    for part in parts:
        _check_footer(part, spec, found.problems, budget)
    if len(found.problems) > problems_before:
        return None
    columns = _Columns(spec)
    for part in parts:
        _read_rows(part, spec, columns, found.problems)
    if len(found.problems) > problems_before:
        return None
    return raw_table(spec, f"{'文件夹' if location.is_dir() else '文件'}“{location.name}”", columns.arrays())


def _walk(folder: Path, root: Path, spec: TableSpec, found: Sources, budget: Budget,
          partition: dict[str, str] | None = None) -> list[_File]:
    """The Parquet files under a table folder in path order, with their partition values."""
    partition = partition or {}
    with os.scandir(folder) as scan:
        entries = []
        for entry in scan:
            budget.files += 1
            if budget.files > MAX_FILES:
                raise DatasetUnreadable(f"Parquet 数据集“{root}”中的文件和文件夹太多(超过 {amount(MAX_FILES, '个')}):"
                                        "请只保留数据集的表文件夹")
            entries.append(entry)
    files = []
    for entry in sorted(entries, key=lambda e: e.name):
        path = Path(entry.path)
        name = path.relative_to(root).as_posix()
        if entry.name.startswith(("_", ".")):  # _SUCCESS, .crc and other files of Spark and Hadoop
            continue
        if entry.is_dir():
            key = _partition_field(entry.name, spec, partition, name, found.problems)
            if key is not None:
                value = unquote(PARTITION.fullmatch(entry.name)["value"])
                value = "" if value == NULL_PARTITION else value
                files += _walk(path, root, spec, found, budget, {**partition, key: value})
        elif entry.name.lower().endswith(SUFFIX):
            files.append(_File(path, name, partition))
        else:
            found.warnings.append(f"{spec.label}:“{name}”不是 Parquet 文件(扩展名应为 .parquet),已忽略")
    return files


def _partition_field(folder: str, spec: TableSpec, above: dict[str, str], name: str,
                     problems: list[Problem]) -> str | None:
    """The field a partition folder sets (`year=2024` → year), PROVINCE_KEY for the province."""
    match = PARTITION.fullmatch(folder)
    key = header_field(spec, match["key"])[0] if match else None
    if match and match["key"] == PROVINCE_KEY:
        key = PROVINCE_KEY
    if key is None:
        fields = "、".join(f"{k}=…" for k in _partition_keys(spec))
        problems.append(table_problem(spec, f"文件夹“{name}”不是分区文件夹", f"形如 {fields} 的分区文件夹名"))
        return None
    if key in above:
        problems.append(table_problem(spec, f"文件夹“{name}”重复了上一级的分区 {match['key']}"))
        return None
    return key


def _check_footer(part: _File, spec: TableSpec, problems: list[Problem], budget: Budget) -> None:
    """Readable, within bounds, every column flat and of a kind a cell can hold."""
    try:
        with pq.ParquetFile(part.path) as file:
            schema, meta = file.schema_arrow, file.metadata
            size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a file that is not Parquet
        problems.append(table_problem(
            spec, f"文件“{part.name}”不是 Parquet 文件,或已损坏、不完整({type(exc).__name__})"))
        return
    part.rows = meta.num_rows
    budget.bytes += size
    budget.rows[spec.name] = budget.rows.get(spec.name, 0) + meta.num_rows
    if budget.bytes > MAX_BYTES:
        raise DatasetUnreadable(f"Parquet 数据集过大:读到文件“{part.name}”时,数据(解压后)已超过 "
                                f"{MAX_BYTES // 2**30} GB:请分省份导入")
    if budget.rows[spec.name] > MAX_TABLE_ROWS:
        raise DatasetUnreadable(f"{spec.label}的 Parquet 文件合计超过 {amount(MAX_TABLE_ROWS, '行')}"
                                f"(读到文件“{part.name}”时):请分省份导入")
    if len(schema) > MAX_COLUMNS:
        problems.append(table_problem(spec, f"文件“{part.name}”有 {len(schema)} 列,超过上限 {MAX_COLUMNS} 列"))
        return
    seen: set[str] = set()
    for column in schema:
        if column.name in seen:
            problems.append(_column_problem(spec, part, column.name, "在文件中出现了不止一次"))
        seen.add(column.name)
        if not _flat(column.type):
            problems.append(_column_problem(spec, part, column.name, f"是{_type_name(column.type)}类型,无法作为单元格读取",
                                            EXPECTED_TYPES))


def _column_problem(spec: TableSpec, part: _File, column: str, message: str, expected: str | None = None) -> Problem:
    key = header_field(spec, column)[0]
    label = spec.field(key).label if key else None
    return Problem(spec.name, spec.label, None, key, label, None, expected, f"文件“{part.name}”中的列“{column}”{message}")


def _flat(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return any(test(kind) for test in (
        pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view, pa.types.is_integer,
        pa.types.is_floating, pa.types.is_boolean, pa.types.is_decimal, pa.types.is_null,
    ))


def _type_name(kind: pa.DataType) -> str:
    if pa.types.is_nested(kind):
        return "嵌套(列表、结构或映射)"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return "二进制"
    if pa.types.is_temporal(kind):
        return "日期时间"
    return f" {kind} "


class _Columns:
    """Text columns of one table gathered file by file: a column missing from a file is empty
    in its rows; a column is known by its field (key or label) or, if none, its name."""

    def __init__(self, spec: TableSpec):
        self.spec = spec
        self.headers: dict[str, str] = {}  # identity → header as first written
        self.chunks: dict[str, list[pa.Array]] = {}
        self.height = 0

    def add(self, header: str, chunks: list[pa.Array]) -> None:
        identity = header_field(self.spec, header)[0] or header
        if identity not in self.chunks:
            self.headers[identity] = header
            self.chunks[identity] = [_empty(self.height)] if self.height else []
        self.chunks[identity] += chunks

    def end_file(self, rows: int) -> None:
        self.height += rows
        for chunks in self.chunks.values():
            filled = sum(len(chunk) for chunk in chunks)
            if filled < self.height:
                chunks.append(_empty(self.height - filled))

    def arrays(self) -> list[pa.ChunkedArray]:
        """Header cell first, as a sheet's column (what `raw_table` expects)."""
        return [pa.chunked_array([pa.array([self.headers[k]], pa.string()), *self.chunks[k]], pa.string())
                for k in self.chunks]


def _empty(rows: int) -> pa.Array:
    return pa.repeat(pa.scalar("", pa.string()), rows)


def _read_rows(part: _File, spec: TableSpec, columns: _Columns, problems: list[Problem]) -> None:
    first_row = columns.height + 2  # the table's row number of the file's first row (header = 1)
    texts: dict[str, list[pa.Array]] = {}
    try:
        with pq.ParquetFile(part.path) as file:
            for name in file.schema_arrow.names:
                texts[name] = []
            for batch in file.iter_batches(batch_size=BATCH_ROWS):
                for name, column in zip(batch.schema.names, batch.columns):
                    texts[name].append(_as_text(column))
    except Exception as exc:  # noqa: BLE001 - a damaged page behind a valid footer
        problems.append(table_problem(spec, f"文件“{part.name}”无法读取:数据已损坏({type(exc).__name__})"))
        return
    if texts:  # the rows really read are the file's rows (its footer is only a declaration)
        part.rows = sum(len(chunk) for chunk in next(iter(texts.values())))
    for name, chunks in texts.items():
        _check_cells(part, spec, name, chunks, first_row, problems)
    for key, value in part.partition.items():
        if key == PROVINCE_KEY:
            continue
        written = next((name for name in texts if header_field(spec, name)[0] == key), None)
        if written is not None:
            _check_partition(part, spec, key, value, texts[written], first_row, problems)
        else:
            texts[key] = [pa.repeat(pa.scalar(value, pa.string()), part.rows)]
    for name, chunks in texts.items():
        columns.add(name, chunks)
    columns.end_file(part.rows)


def _as_text(column: pa.Array) -> pa.Array:
    """A Parquet column as the text a CSV cell would hold: "" for null (and NaN)."""
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    kind = column.type
    if pa.types.is_null(kind):
        return _empty(len(column))
    if pa.types.is_boolean(kind):
        text = pc.if_else(column, "true", "false")
    elif pa.types.is_floating(kind):
        column = column.cast(pa.float64())  # float16 has no cast to text
        text = pc.if_else(pc.is_nan(column), pa.scalar(None, pa.float64()), column).cast(pa.string())
    else:
        text = column.cast(pa.string())  # text, integers, decimals
    return pc.fill_null(text, "")


def _check_cells(part: _File, spec: TableSpec, name: str, chunks: list[pa.Array], first_row: int,
                 problems: list[Problem]) -> None:
    if not chunks:
        return
    long = np.flatnonzero(pc.greater(pc.utf8_length(pa.chunked_array(chunks, pa.string())), MAX_CELL_CHARS)
                          .to_numpy(zero_copy_only=False))
    if len(long):
        problems.append(_column_problem(
            spec, part, name, f"第{first_row + long[0]}行的单元格超过 {MAX_CELL_CHARS} 个字符"
            + (f"(共 {len(long)} 个这样的单元格)" if len(long) > 1 else ""), f"不超过 {MAX_CELL_CHARS} 个字符"))


def _check_partition(part: _File, spec: TableSpec, key: str, value: str, chunks: list[pa.Array], first_row: int,
                     problems: list[Problem]) -> None:
    """A column the file holds and its partition folder names must agree."""
    if not chunks:
        return
    cells = pc.utf8_trim_whitespace(pa.chunked_array(chunks, pa.string()))
    differ = np.flatnonzero(pc.not_equal(cells, value).to_numpy(zero_copy_only=False))
    label = spec.field(key).label
    folder = f"{key}={value or NULL_PARTITION}"
    for i in differ[:20]:
        problems.append(Problem(spec.name, spec.label, int(first_row + i), key, label, cells[int(i)].as_py(),
                                value or "空", f"与文件“{part.name}”所在的分区文件夹“{folder}”不符"))
    if len(differ) > 20:
        problems.append(table_problem(spec, f"文件“{part.name}”中另有 {len(differ) - 20} 行的{label}与分区文件夹“{folder}”不符"))

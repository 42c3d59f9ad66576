"""Student scores import (教育质量监测): CSV, XLSX or Parquet streamed into DuckDB, student keys
pseudonymised, every row validated before anything is kept.

The file holds one row per student and subject: county_code, school_id, year, grade, subject,
student_key, score (headers as these keys or as the Chinese labels in FIELDS). Nothing passes
through pandas: DuckDB reads CSV (UTF-8, with or without BOM) and Parquet straight from the file;
GB18030 CSV goes through pyarrow's streaming reader and XLSX through openpyxl's read-only sheet
parser, both in batches of Arrow record batches. Everything lands in a TEMP staging table of the
connection (text, or the Parquet file's own types), is checked there with SQL over whole columns,
and only then becomes the result table in one statement: a file with any problem leaves nothing
behind and the result table, if it existed, unchanged.

The stored table has the columns of SCORES_COLUMNS. `student` is the pseudonym
(junheng.quality.pseudonyms); the raw student key is only in the staging table, which is
dropped before the call returns, whatever happens (TEMP tables never go into a database file).

Personal data is refused, not just left out: headers that name names, ID numbers, phones or
addresses, and any text cell of any column that holds an 18-digit 居民身份证号码 (a student key
that is one gets its own message: use the 学籍号 or a school-assigned number).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from junheng.data.names import normalise_name
from junheng.data.problems import DatasetInvalid, DatasetUnreadable, Problem
from junheng.data.workbook import Workbook, cell_text, coordinate, file_kind, not_a_workbook
from junheng.quality.pseudonyms import pads, pseudonym_sql

if TYPE_CHECKING:
    import duckdb
    import ibis

# ---------------------------------------------------------------------------------------------
# The format


@dataclass(frozen=True)
class ScoreField:
    key: str
    label: str  # the Chinese header
    aliases: tuple[str, ...] = ()  # other headers people write
    expected: str = ""


FIELDS: tuple[ScoreField, ...] = (
    ScoreField("county_code", "县区代码", ("县区编码", "县级行政区划代码", "行政区划代码", "区县代码"),
               "6 位县级行政区划代码(如 140599)"),
    ScoreField("school_id", "学校标识码", ("学校代码", "学校编号", "学校编码"),
               "学校标识码或县区内唯一的学校编号"),
    ScoreField("year", "年度", ("年份", "监测年度"), "1990 到 2100 之间的年份(如 2024)"),
    ScoreField("grade", "年级", (), "1 到 9 的年级(如 8 或“八年级”“初二”)"),
    ScoreField("subject", "学科", ("科目",), "学科名称或代码(如 math 或 数学,与分数线文件一致)"),
    ScoreField("student_key", "学生编号", ("学籍号", "学号", "考号", "学生标识"),
               "学籍号或学校编的学生编号(导入时转换为假名,不保存原值)"),
    ScoreField("score", "成绩", ("分数", "得分"), "0 到 1000 之间的数"),
)
FIELD = {f.key: f for f in FIELDS}
SCORES_COLUMNS = ("county_code", "school_id", "year", "grade", "subject", "student", "score")

# Bounds on what a user controls.
MAX_FILE_BYTES = 4 * 2**30  # a province's scores as CSV are a few hundred MB
MAX_ROWS = 50_000_000
MAX_COLUMNS = 200
MAX_TEXT = 64  # characters of a school id, subject or student key
MAX_HEADER = 100  # characters of a header cell
MAX_SCORE = 1000.0
YEARS = (1990, 2100)
GRADES = (1, 9)
MAX_PROBLEMS = 100  # problems listed; the rest are counted
PER_CHECK = 20  # problems listed per check (one mistake repeated fills no screen)
BATCH_ROWS = 65_536  # rows per Arrow batch (XLSX, GB18030)
SNIFF_BYTES = 1 << 20

# Headers that name personal data (compared after normalise_name): refused with the column.
PERSONAL_FRAGMENTS = ("姓名", "名字", "身份证", "证件", "手机", "电话", "住址", "家庭地址", "出生日期")
PERSONAL_HEADERS = frozenset({
    "name", "studentname", "student_name", "fullname", "full_name", "idcard", "id_card", "idno",
    "idnumber", "id_number", "identity", "phone", "mobile", "telephone", "address", "birthday",
})
# An 18-digit 居民身份证号码: region, birth date, sequence, check digit (GB 11643).
ID_NUMBER = r"[1-9][0-9]{5}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"
ID_INSIDE = f"(^|[^0-9]){ID_NUMBER}($|[^0-9Xx])"
# Grades as people write them besides 1–9 and “8年级”.
GRADE_WORDS = {
    **{f"{c}年级": n for n, c in enumerate("一二三四五六七八九", 1)},
    "初一": 7, "初二": 8, "初三": 9, "初中一年级": 7, "初中二年级": 8, "初中三年级": 9,
    "小学一年级": 1, "小学二年级": 2, "小学三年级": 3, "小学四年级": 4, "小学五年级": 5, "小学六年级": 6,
}
BLANKS = " \t\r\n\u3000\u00a0"  # trimmed from every text cell (full-width and no-break spaces too)

TABLE = "scores"


class ScoresInvalid(DatasetInvalid):
    """The scores file was read but fails validation; nothing was kept."""

    def __init__(self, problems: list[Problem], warnings: list[str] | None = None, omitted: int = 0):
        self.omitted = omitted
        super().__init__(problems, warnings)

    def _header(self) -> str:
        total = len(self.problems) + self.omitted
        return f"成绩数据校验未通过,共 {total} 个问题,没有导入任何数据" + (
            f"(以下列出前 {len(self.problems)} 个)" if self.omitted else "") + ":"

    def user_message(self, keys: bool = True) -> str:
        text = super().user_message(keys)
        return text + (f"\n  ……另有 {self.omitted} 个问题未列出(多为同类问题,改正上面的问题后重新导入即可看到)"
                       if self.omitted else "")


@dataclass
class ScoresImport:
    """What an import kept: the table's name on the connection, its rows, and notes for the user."""

    table: str
    rows: int
    source: str
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Public entry points


def read_scores(path: Path | str, *, key: str, connection: Any = None, table: str = TABLE) -> "ibis.Table":
    """The scores of `path` as an Ibis table (columns SCORES_COLUMNS), pseudonymised under `key`.

    `connection`: an Ibis DuckDB backend or a DuckDB connection to load into (None: a new
    in-memory database). Raises ScoresInvalid (every problem, nothing kept) or DatasetUnreadable.
    """
    import duckdb
    import ibis

    if connection is None:
        backend = ibis.duckdb.connect()
    elif isinstance(connection, duckdb.DuckDBPyConnection):
        backend = ibis.duckdb.from_connection(connection)
    else:
        backend = connection
    load_scores(backend.con, path, key=key, table=table)
    return backend.table(table)


def load_scores(con: "duckdb.DuckDBPyConnection", path: Path | str, *, key: str, table: str = TABLE) -> ScoresImport:
    """Load `path` into `table` on the DuckDB connection `con` (replacing it), or raise with every
    problem and leave `table` as it was. `key` is the pseudonymisation secret (never stored)."""
    if not key:
        raise ValueError("the pseudonymisation key must not be empty")
    path = Path(path)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", table):
        raise ValueError(f"not a plain table name: {table!r}")
    staging = f"_junheng_staging_{table}"
    source = _Source(path)
    try:
        source.load(con, staging)
        rows, warnings = _validate_and_keep(con, source, staging, table, key)
    finally:
        con.execute(f"DROP VIEW IF EXISTS {staging}_typed")
        kind = con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ?", [staging]).fetchone()[0]
        con.execute(f"DROP {'VIEW' if kind else 'TABLE'} IF EXISTS {staging}")
        con.execute(f"DROP TABLE IF EXISTS {staging}_keys")
    return ScoresImport(table=table, rows=rows, source=source.label, warnings=source.warnings + warnings)


# ---------------------------------------------------------------------------------------------
# Reading a file into the staging table: columns c0..cN (as the file orders them) and _row


def _refuse(message: str) -> DatasetUnreadable:
    return DatasetUnreadable(message)


class _Source:
    """One scores file: what it is, its header, and how its rows reach the staging table."""

    def __init__(self, path: Path):
        self.path = path
        self.label = f"成绩文件“{path.name}”"
        self.headers: list[str] = []
        self.types: list[str] = []  # DuckDB type of each staging column
        self.kind = ""
        self.encoding = "utf-8"
        self.warnings: list[str] = []
        self.problems: list[Problem] = []
        self.physical_rows = False  # _row is the spreadsheet row already (XLSX, Parquet)
        self.row_column = True  # the staging table has _row (else: its rowid + 2, CSV read by DuckDB)
        self.delimiter = ","
        if not path.exists() or not path.is_file():
            raise _refuse(f"找不到成绩文件“{path}”:应为一个 CSV、XLSX 或 Parquet 文件")
        try:
            size = path.stat().st_size
            kind = file_kind(path)
            with path.open("rb") as handle:
                magic = handle.read(4)
        except OSError as exc:
            raise _refuse(f"无法读取成绩文件“{path}”({exc.strerror or exc})") from None
        if size > MAX_FILE_BYTES:
            raise _refuse(f"成绩文件“{path}”有 {size / 2**30:.1f} GB,超过可导入的上限 {MAX_FILE_BYTES // 2**30} GB:"
                          "请按县区分成几个文件导入")
        if kind == "empty":
            raise _refuse(f"成绩文件“{path}”是空文件")
        if magic == b"PAR1":
            self.kind = "parquet"
        elif kind == "xlsx":
            self.kind = "xlsx"
        elif kind == "text":
            self.kind = "csv"
        elif kind in ("zip", "xls", "xml2003", "utf16", "html"):
            raise _refuse(not_a_workbook(path, kind) if path.suffix.lower() == ".xlsx" else (
                f"成绩文件“{path}”不是 CSV、XLSX 或 Parquet 文件:请在 Excel 中“另存为” .xlsx 工作簿"
                "或“CSV UTF-8(逗号分隔)”后再导入"))
        else:
            raise _refuse(f"无法识别成绩文件“{path}”:应为 CSV(UTF-8 或 GB18030 编码)、XLSX 或 Parquet 文件")

    # -- where a row is, for messages

    def table_label(self, sheet: str | None = None) -> str:
        return f"成绩工作表“{sheet}”" if sheet else self.label

    def load(self, con, staging: str) -> None:
        {"csv": self._load_csv, "parquet": self._load_parquet, "xlsx": self._load_xlsx}[self.kind](con, staging)
        rows = con.execute(f"SELECT count(*) FROM {staging}").fetchone()[0]
        if rows > MAX_ROWS:
            raise _refuse(f"{self.label}超过 {MAX_ROWS // 10_000} 万行,超过可导入的上限:请按县区分成几个文件导入")
        if rows == 0:
            raise _refuse(f"{self.label}只有表头,没有成绩数据")

    # -- CSV

    def _load_csv(self, con, staging: str) -> None:
        import duckdb

        self.encoding = _csv_encoding(self.path)
        self.headers, delimiter = _csv_header(self.path, self.encoding)
        self.delimiter = delimiter
        self._check_header_count()
        columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(self.headers)))
        self.types = ["VARCHAR"] * len(self.headers)
        if self.encoding == "gb18030":
            self._load_batches(con, staging, _gb18030_batches(self.path, len(self.headers), delimiter))
            return
        self.row_column = False
        quoted_path = str(self.path).replace("'", "''")
        delim = delimiter.replace("'", "''")
        try:
            con.execute(
                f"CREATE TEMP TABLE {staging} AS SELECT * FROM read_csv("
                f"'{quoted_path}', columns={{{columns}}}, header=true, auto_detect=false, delim='{delim}', "
                f"quote='\"', escape='\"', strict_mode=true, max_line_size=1048576) LIMIT {MAX_ROWS + 1}"
            )
        except duckdb.Error as exc:
            raise _refuse(_csv_error(self.label, str(exc))) from None

    def _check_header_count(self) -> None:
        if not self.headers or not any(h.strip() for h in self.headers):
            raise _refuse(f"{self.label}的第一行没有表头:第一行应为列名(如 县区代码、学校标识码、年度、年级、学科、学生编号、成绩)")
        if len(self.headers) > MAX_COLUMNS:
            raise _refuse(f"{self.label}有 {len(self.headers)} 列,超过上限 {MAX_COLUMNS} 列")

    # -- Parquet

    def _load_parquet(self, con, staging: str) -> None:
        import duckdb
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(self.path)
            schema = meta.schema_arrow
            rows = meta.metadata.num_rows
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a damaged file
            raise _refuse(f"无法读取{self.label}:Parquet 文件已损坏或不完整({type(exc).__name__})") from None
        if rows > MAX_ROWS:
            raise _refuse(f"{self.label}有 {rows} 行,超过可导入的上限 {MAX_ROWS // 10_000} 万行:请按县区分成几个文件导入")
        self.headers = list(schema.names)
        self._check_header_count()
        quoted_path = str(self.path).replace("'", "''")
        select = ", ".join(f'"{name.replace(chr(34), chr(34) * 2)}" AS c{i}' for i, name in enumerate(self.headers))
        try:
            # A view, not a copy: each pass of the checks streams the file again (Parquet scans
            # are cheap), so 10 million rows never sit in memory twice.
            con.execute(f"CREATE TEMP VIEW {staging} AS SELECT {select}, file_row_number + 2 AS _row "
                        f"FROM read_parquet('{quoted_path}', file_row_number=true)")
        except duckdb.Error as exc:
            raise _refuse(f"无法读取{self.label}({str(exc).splitlines()[0]})") from None
        described = con.execute(f"DESCRIBE {staging}").fetchall()
        self.types = [row[1] for row in described][: len(self.headers)]
        self.physical_rows = True

    # -- XLSX

    def _load_xlsx(self, con, staging: str) -> None:
        with Workbook(self.path) as workbook:
            try:
                sheet = self._scores_sheet(workbook)
                self.label = f"成绩工作表“{sheet.title}”"
                self._load_batches(con, staging, self._sheet_batches(workbook, sheet))
            except DatasetUnreadable:
                raise
            except Exception as exc:  # noqa: BLE001 - a damaged sheet inside a valid zip
                raise _refuse(f"读取工作簿“{self.path.name}”时出错:文件可能已损坏({type(exc).__name__}),"
                              "请用 Excel 打开后重新保存") from None
        self.types = ["VARCHAR"] * len(self.headers)
        self.physical_rows = True

    def _scores_sheet(self, workbook: Workbook):
        visible = [s for s in workbook.worksheets if getattr(s, "sheet_state", "visible") == "visible"]
        filled = [s for s in visible if _first_row(workbook, s) is not None]
        if not filled:
            raise _refuse(f"工作簿“{self.path.name}”中没有有内容的工作表")
        if len(filled) > 1:
            names = "、".join(f"“{s.title}”" for s in filled)
            raise _refuse(f"工作簿“{self.path.name}”中有 {len(filled)} 张工作表有内容({names}):"
                          "请把全部成绩放在一张工作表中(第一行为表头),或把各表分别保存为文件导入")
        return filled[0]

    def _sheet_batches(self, workbook: Workbook, sheet) -> Iterator[pa.RecordBatch]:
        rows = _sheet_rows(workbook, sheet)
        first = next(rows, None)
        if first is None or first[0] != 1:
            raise _refuse(f"{self.label}的第 1 行应为表头(如 县区代码、学校标识码、年度、年级、学科、学生编号、成绩)")
        header = first[1]
        self.headers = [header.get(c, "") for c in range(1, max(header) + 1)]
        self._check_header_count()
        width = len(self.headers)
        names = [f"c{i}" for i in range(width)] + ["_row"]
        columns: list[list] = [[] for _ in range(width)]
        numbers: list[int] = []
        outside = 0
        for number, cells in rows:
            for column in cells:
                if column > width:
                    outside += 1
                    if outside <= PER_CHECK:
                        self.problems.append(Problem(
                            TABLE, self.label, number, None, None, cells[column], None,
                            f"在单元格 {coordinate(number, column)} 中,这一列没有表头(表头之外的内容不能导入)"))
            for i in range(width):
                columns[i].append(cells.get(i + 1))
            numbers.append(number)
            if len(numbers) >= BATCH_ROWS:
                yield pa.RecordBatch.from_arrays([*(pa.array(c, pa.string()) for c in columns),
                                                  pa.array(numbers, pa.int64())], names=names)
                columns, numbers = [[] for _ in range(width)], []
            if number > MAX_ROWS + 1:
                break
        yield pa.RecordBatch.from_arrays([*(pa.array(c, pa.string()) for c in columns),
                                          pa.array(numbers, pa.int64())], names=names)

    # -- batches into DuckDB

    def _load_batches(self, con, staging: str, batches: Iterator[pa.RecordBatch]) -> None:
        created = False
        for batch in batches:
            view = f"{staging}_batch"
            con.register(view, batch)
            try:
                if not created:
                    con.execute(f"CREATE TEMP TABLE {staging} AS SELECT * FROM {view}")
                    created = True
                else:
                    con.execute(f"INSERT INTO {staging} SELECT * FROM {view}")
            finally:
                con.unregister(view)
        if not created:
            raise _refuse(f"{self.label}只有表头,没有成绩数据")


def _first_row(workbook: Workbook, sheet):
    return next(_sheet_rows(workbook, sheet), None)


def _sheet_rows(workbook: Workbook, sheet) -> Iterator[tuple[int, dict[int, str]]]:
    """(row number, {column: text}) of every row of `sheet` with content, streamed from the file."""
    from openpyxl.worksheet._reader import WorkSheetParser

    book = workbook.book
    with book._archive.open(sheet._worksheet_path) as part:
        parser = WorkSheetParser(part, book.shared_strings, data_only=True, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        for number, cells in parser.parse():
            texts = {}
            for cell in cells:
                value = cell["value"]
                if value is None:
                    continue
                if isinstance(value, str):
                    text = value.strip(BLANKS)
                else:
                    style = cell["style_id"]
                    text = cell_text(value, workbook.number_format(style) if style else "General")
                if text:
                    texts[cell["column"]] = text
            if texts:
                yield number, texts


def _csv_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GB18030, judged from the first megabyte."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a character cut at the end of the sample is fine
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        raise _refuse(f"成绩文件“{path.name}”既不是 UTF-8 也不是 GB18030(GBK)编码的文本:"
                      "请在 Excel 中“另存为”“CSV UTF-8(逗号分隔)”后再导入") from None


def _csv_header(path: Path, encoding: str) -> tuple[list[str], str]:
    with path.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="", errors="replace") as handle:
        line = handle.readline(1 << 16)
    delimiter = "\t" if "\t" in line and "," not in line else ","
    header = next(csv.reader([line], delimiter=delimiter), [])
    return [h.strip(BLANKS) for h in header], delimiter


def _gb18030_batches(path: Path, width: int, delimiter: str) -> Iterator[pa.RecordBatch]:
    import pyarrow.csv as pa_csv

    names = [f"c{i}" for i in range(width)]
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(encoding="gb18030", column_names=names, skip_rows=1,
                                            block_size=8 << 20),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                  strings_can_be_null=False),
        )
        start = 2
        for batch in reader:
            yield pa.RecordBatch.from_arrays(
                [*batch.columns, pa.array(range(start, start + batch.num_rows), pa.int64())], names=[*names, "_row"])
            start += batch.num_rows
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        text = str(exc)
        match = re.search(r"Expected (\d+) columns, got (\d+)", text)
        if match:
            raise _refuse(f"成绩文件“{path.name}”有一行有 {match[2]} 个单元格,与表头的 {match[1]} 列不一致"
                          "(可能是某个取值中含有未加引号的逗号)") from None
        raise _refuse(f"成绩文件“{path.name}”无法按 GB18030 编码的 CSV 读取:请另存为“CSV UTF-8(逗号分隔)”后再导入") from None


def _csv_error(label: str, text: str) -> str:
    line = re.search(r"CSV Error on Line: (\d+)", text)
    columns = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if line and columns:
        return (f"{label}第{line[1]}行有 {columns[2]} 个单元格,与表头的 {columns[1]} 列不一致"
                "(可能是某个取值中含有未加引号的逗号):请改正后再导入")
    if "unicode" in text.lower() or "utf-8" in text.lower():
        where = f"第{line[1]}行" if line else ""
        return f"{label}{where}含有不是 UTF-8 编码的字符:请另存为“CSV UTF-8(逗号分隔)”后再导入"
    if "maximum line size" in text.lower():
        return f"{label}{f'第{line[1]}行' if line else '有一行'}太长(超过 1 MB):请检查文件是否为成绩表"
    first = text.splitlines()[0] if text else ""
    return f"{label}无法按 CSV 读取({first}):请在 Excel 中另存为“CSV UTF-8(逗号分隔)”后再导入"


# ---------------------------------------------------------------------------------------------
# Validation in SQL, and keeping the table


def _field_of(header: str) -> str | None:
    name = normalise_name(header)
    for f in FIELDS:
        if name in {normalise_name(n) for n in (f.key, f.label, *f.aliases)}:
            return f.key
    return None


def _personal(header: str) -> bool:
    name = normalise_name(header)
    return name in PERSONAL_HEADERS or any(fragment in name for fragment in PERSONAL_FRAGMENTS)


def _trimmed(column: str, kind: str) -> str:
    """The text of a cell without surrounding blanks, NULL when empty. trim() with a character
    list is slow (0.5 s per million cells), so it runs only on cells that may need it: ones with
    an ASCII blank or any non-ASCII character (strlen counts bytes, length characters)."""
    if kind != "VARCHAR":
        return f"nullif(CAST({column} AS VARCHAR), '')"
    blanks = " OR ".join(f"contains({column}, chr({ord(c)}))" for c in BLANKS if ord(c) < 128)
    return (f"(CASE WHEN {blanks} OR strlen({column}) <> length({column}) "
            f"THEN nullif(trim({column}, '{BLANKS}'), '') ELSE nullif({column}, '') END)")


def _integer(column: str, kind: str, words: dict[str, int] | None = None) -> str:
    if kind in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "HUGEINT"):
        return f"TRY_CAST({column} AS INTEGER)"
    if kind in ("FLOAT", "DOUBLE") or kind.startswith("DECIMAL"):
        return f"CASE WHEN {column} = round({column}) THEN TRY_CAST({column} AS INTEGER) END"
    text = _trimmed(column, kind)
    parsed = f"TRY_CAST({text} AS INTEGER)"
    if words:
        cases = " ".join(f"WHEN '{word}' THEN {n}" for word, n in words.items())
        parsed = (f"(CASE WHEN {parsed} IS NOT NULL THEN {parsed} ELSE coalesce("  # the words only where needed
                  f"TRY_CAST(regexp_extract({text}, '^([0-9])年级$', 1) AS INTEGER), CASE {text} {cases} END) END)")
    return parsed


def _number(column: str, kind: str) -> str:
    if kind in ("FLOAT", "DOUBLE") or kind.startswith("DECIMAL") or kind in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT"):
        return f"CAST({column} AS DOUBLE)"
    return f"TRY_CAST({_trimmed(column, kind)} AS DOUBLE)"


@dataclass(frozen=True)
class _Check:
    column: str | None  # field key (None: a column outside the format, named by its header)
    label: str
    condition: str  # SQL over the typed view: true where the row has this problem
    value: str | None  # SQL for the value shown (None: shown as nothing)
    message: str
    expected: str | None = None
    mask: bool = False  # the value is personal (an ID number): shown masked


def _validate_and_keep(con, source: _Source, staging: str, table: str, key: str) -> tuple[int, list[str]]:
    problems = list(source.problems)
    warnings: list[str] = []
    where: dict[str, int] = {}  # field key → staging column index
    extras: list[int] = []
    for i, header in enumerate(source.headers):
        if len(header) > MAX_HEADER:
            problems.append(Problem(TABLE, source.label, 1, None, None, header[:MAX_HEADER] + "…", None,
                                    f"是第 {i + 1} 列的表头,太长(不超过 {MAX_HEADER} 个字符)"))
            continue
        if _personal(header):
            problems.append(Problem(TABLE, source.label, 1, header, header, None, None,
                                    "是个人信息(姓名、身份证件号、电话或住址),成绩数据不能包含这一列:请删除整列后再导入"))
            continue
        found = _field_of(header)
        if found is None:
            if header:
                warnings.append(f"{source.label}中未识别的列“{header}”没有导入(可识别的列:"
                                + "、".join(f.label for f in FIELDS) + ")")
            extras.append(i)
        elif found in where:
            problems.append(Problem(TABLE, source.label, 1, found, FIELD[found].label, header, None,
                                    f"与第 {where[found] + 1} 列重复:同一项只能有一列"))
        else:
            where[found] = i
    for f in FIELDS:
        if f.key not in where:
            problems.append(Problem(TABLE, source.label, 1, f.key, f.label, None, f"表头“{f.label}”或“{f.key}”",
                                    "缺少这一列"))
    if problems:
        raise ScoresInvalid(problems[:MAX_PROBLEMS], warnings, omitted=max(0, len(problems) - MAX_PROBLEMS))

    col = {k: f"c{i}" for k, i in where.items()}
    kind = {k: source.types[i] for k, i in where.items()}
    text = {k: _trimmed(col[k], kind[k]) for k in ("county_code", "school_id", "subject", "student_key")}
    typed = f"{staging}_typed"
    con.execute(
        f"CREATE TEMP VIEW {typed} AS SELECT {'_row' if source.row_column else 'rowid + 2 AS _row'}, "
        + ", ".join(f"{text[k]} AS {k}" for k in text) + ", "
        + f"{_integer(col['year'], kind['year'])} AS year, "
        + f"{_integer(col['grade'], kind['grade'], GRADE_WORDS)} AS grade, "
        + f"{_number(col['score'], kind['score'])} AS score"
        # each number also as text (for messages) and whether it is empty (cheap for typed columns)
        + "".join(f", {_trimmed(col[k], kind[k])} AS {k}_text, "
                  + (f"{_trimmed(col[k], kind[k])} IS NULL" if kind[k] == "VARCHAR" else f"{col[k]} IS NULL")
                  + f" AS {k}_missing" for k in ("year", "grade", "score"))
        + "".join(f", {_trimmed(f'c{i}', source.types[i])} AS x{i}" for i in extras if source.types[i] == "VARCHAR")
        + f" FROM {staging}"
    )
    checks = _checks(source, extras)
    counts = con.execute(f"SELECT {', '.join(f'count_if({c.condition})' for c in checks)} FROM {typed}").fetchone()
    listed: list[Problem] = []
    total = 0
    for check, count in zip(checks, counts):
        if not count:
            continue
        total += count
        value = check.value or "NULL"
        for row, shown in con.execute(
            f"SELECT _row, {value} FROM {typed} WHERE {check.condition} ORDER BY _row LIMIT {PER_CHECK}"
        ).fetchall():
            listed.append(Problem(TABLE, source.label, int(row), check.column, check.label,
                                  _shown(shown, check.mask) if check.value else None, check.expected, check.message))
    repeats, duplicates = _duplicates(con, typed)
    total += repeats
    if listed or duplicates:
        rows = {p.row for p in listed if p.row} | {r for pair in duplicates for r in pair}
        physical = _physical_rows(source, rows) if source.kind == "csv" and not source.physical_rows else {}
        at = lambda row: physical.get(row, row)  # noqa: E731
        listed = [Problem(p.table, p.table_label, at(p.row) if p.row else p.row, p.column, p.column_label,
                          p.value, p.expected, p.message) for p in listed]
        f = FIELD["student_key"]
        listed += [Problem(TABLE, source.label, at(row), f.key, f.label, None, None,
                           f"重复:这名学生在同一学校、年度、学科的成绩已在第{at(first)}行(每名学生每科一行)")
                   for row, first in duplicates]
        order = {f.key: i for i, f in enumerate(FIELDS)}
        listed.sort(key=lambda p: (p.row or 0, order.get(p.column, len(order))))
        shown_problems = listed[:MAX_PROBLEMS]
        raise ScoresInvalid(shown_problems, warnings, omitted=total - len(shown_problems))

    keys = f"{staging}_keys"
    con.execute(f"CREATE TEMP TABLE {keys} AS SELECT student_key, {pseudonym_sql('student_key')} AS student "
                f"FROM (SELECT DISTINCT student_key FROM {typed})", pads(key))
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {table} AS SELECT t.county_code, t.school_id, CAST(t.year AS INTEGER) AS year, "
            f"CAST(t.grade AS INTEGER) AS grade, t.subject, k.student, CAST(t.score AS DOUBLE) AS score "
            f"FROM {typed} t JOIN {keys} k USING (student_key)"
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return rows, warnings


def _checks(source: _Source, extras: list[int]) -> list[_Check]:
    checks: list[_Check] = []
    for k in ("county_code", "school_id", "year", "grade", "subject", "student_key", "score"):
        f = FIELD[k]
        missing = f"{k}_missing" if k in ("year", "grade", "score") else f"{k} IS NULL"
        checks.append(_Check(k, f.label, missing, None, "为空", f.expected))
        if k in ("school_id", "subject", "student_key"):
            checks.append(_Check(k, f.label, f"length({k}) > {MAX_TEXT}", f"left({k}, 20) || '…'",
                                 f"太长(不超过 {MAX_TEXT} 个字符)", f.expected, mask=k == "student_key"))
    checks += [
        _Check("county_code", FIELD["county_code"].label, "NOT regexp_full_match(county_code, '[1-9][0-9]{5}')",
               "left(county_code, 20)", "不是 6 位县区代码", FIELD["county_code"].expected),
        _Check("student_key", FIELD["student_key"].label,
               f"length(student_key) = 18 AND regexp_full_match(student_key, '{ID_NUMBER}')", "student_key",
               "是居民身份证号码,不能作为学生编号:请改用学籍号或学校编的学生编号(身份证号码不得导入)",
               "学籍号或学校编的学生编号", mask=True),
        _Check("year", FIELD["year"].label, "NOT year_missing AND year IS NULL", "left(year_text, 20)",
               "不是整数年份", FIELD["year"].expected),
        _Check("year", FIELD["year"].label, f"year NOT BETWEEN {YEARS[0]} AND {YEARS[1]}", "year_text",
               "超出范围", FIELD["year"].expected),
        _Check("grade", FIELD["grade"].label, "NOT grade_missing AND grade IS NULL", "left(grade_text, 20)",
               "不是年级", FIELD["grade"].expected),
        _Check("grade", FIELD["grade"].label, f"grade NOT BETWEEN {GRADES[0]} AND {GRADES[1]}", "grade_text",
               "超出范围", FIELD["grade"].expected),
        _Check("score", FIELD["score"].label, "NOT score_missing AND score IS NULL", "left(score_text, 20)",
               "不是数", FIELD["score"].expected),
        _Check("score", FIELD["score"].label, "NOT isfinite(score)", "score_text", "不是有限的数",
               FIELD["score"].expected),
        _Check("score", FIELD["score"].label, f"isfinite(score) AND (score < 0 OR score > {MAX_SCORE})", "score_text",
               "超出范围", FIELD["score"].expected),
    ]
    for k in ("school_id", "subject"):  # a county code of 6 digits cannot hold one
        checks.append(_Check(k, FIELD[k].label, f"length({k}) >= 18 AND regexp_matches({k}, '{ID_INSIDE}')", k,
                             "含有居民身份证号码,成绩数据不能包含身份证号码", FIELD[k].expected, mask=True))
    for i in extras:
        if source.types[i] == "VARCHAR":
            header = source.headers[i] or f"第 {i + 1} 列"
            checks.append(_Check(None, header, f"length(x{i}) >= 18 AND regexp_matches(x{i}, '{ID_INSIDE}')",
                                 f"x{i}", f"(列“{header}”)含有居民身份证号码,成绩数据不能包含身份证号码:请删除整列后再导入",
                                 None, mask=True))
    return checks


def _duplicates(con, typed: str) -> tuple[int, list[tuple[int, int]]]:
    """The same student in the same school, year and subject twice: how many repeats (each row
    after the first), and the first few as (row, row of the first)."""
    keys = "county_code, school_id, year, subject, student_key"
    # A 64-bit hash screens (fast); a hash collision could only claim a repeat that is not there,
    # so any claim is confirmed exactly before it is reported.
    screen = con.execute(
        f"SELECT count(*) - count(DISTINCT hash({keys})) FROM {typed} WHERE student_key IS NOT NULL"
    ).fetchone()[0]
    if not screen:
        return 0, []
    count = con.execute(
        f"SELECT count(*) - count(DISTINCT ({keys})) FROM {typed} WHERE student_key IS NOT NULL"
    ).fetchone()[0]
    if not count:
        return 0, []
    rows = con.execute(
        f"SELECT _row, first_row FROM (SELECT _row, min(_row) OVER (PARTITION BY {keys}) AS first_row "
        f"FROM {typed} WHERE student_key IS NOT NULL) WHERE _row > first_row ORDER BY _row LIMIT {PER_CHECK}"
    ).fetchall()
    return count, [(int(row), int(first)) for row, first in rows]


def _shown(value: Any, mask: bool) -> str:
    text = "" if value is None else str(value)
    if mask and len(text) > 8:
        return text[:4] + "*" * (len(text) - 8) + text[-4:]
    return text


def _physical_rows(source: _Source, wanted: set[int]) -> dict[int, int]:
    """DuckDB (and pyarrow) skip blank lines: the spreadsheet row of each wanted record (as Excel
    shows the file, blank lines counted, a quoted line break inside a cell not) is found by
    reading the file once more, only when there are problems to show."""
    wanted = {row for row in wanted if row > 1}
    mapping: dict[int, int] = {}
    if not wanted:
        return mapping
    last = max(wanted)
    encoding = "utf-8-sig" if source.encoding == "utf-8" else source.encoding
    with source.path.open(encoding=encoding, newline="", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=source.delimiter)
        next(reader, None)
        data = 1  # data records seen, as DuckDB numbers them (header = 1)
        for sheet_row, record in enumerate(reader, 2):
            if not record:
                continue  # a blank line: a row in a spreadsheet, no record for DuckDB
            data += 1
            if data in wanted:
                mapping[data] = sheet_row
                if data >= last:
                    break
    return mapping

"""The import fuzzer (issue 11): valid datasets corrupted at random, in both forms (a CSV folder,
an XLSX workbook), imported with the real importer.

Every case either imports — the dataset then evaluates through the engine, and a cell changed to
a value the format accepts reads back as written — or is refused with DatasetInvalid or
DatasetUnreadable whose message locates the problem (the table and file or sheet, the row, the
column or the cell, in Chinese); never another exception. The same corrupted workbooks go through
the web upload (upload, preview, apply) into a store: a refused case changes nothing there, an
applied one stores exactly the values read.

Hypothesis runs derandomized with a bounded number of examples, so CI sees the same cases every
run; examples found once are kept below as `@example`s.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from dataset_files import valid_tables
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import select

from junheng.data.catalog import catalog
from junheng.data.importer import load_dataset
from junheng.data.problems import DatasetInvalid, DatasetUnreadable, Problem
from junheng.engine.evaluate import NothingToEvaluate
from junheng.services import evaluate_loaded
from junheng.store import repo
from junheng.store.models import SchoolYear
from junheng.web.routes import upload as upload_routes

TABLES = ["schools", "counties", "school_year", "county_year", "quality"]
# CI: a fixed set of cases. To hunt for new ones: JUNHENG_FUZZ_EXAMPLES=2000 JUNHENG_FUZZ_RANDOM=1 pytest …
FUZZ = settings(max_examples=int(os.environ.get("JUNHENG_FUZZ_EXAMPLES", 120)), deadline=None,
                derandomize=not os.environ.get("JUNHENG_FUZZ_RANDOM"), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
CHINESE = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------- the dataset as grids of cells


@dataclass
class Grids:
    """Each table as rows of cells, row 0 the header (keys or Chinese labels)."""

    tables: dict[str, list[list]]
    labels: bool


def grids(labels: bool) -> Grids:
    out = {}
    for name, rows in valid_tables().items():
        spec = catalog().table(name)
        keys = list(dict.fromkeys(k for row in rows for k in row))
        header = [spec.field(k).label if labels else k for k in keys]
        out[name] = [header] + [[row.get(k) for k in keys] for row in rows]
    return Grids(out, labels)


# ---------------------------------------------------------------- corruptions

WORDS = ["", " ", "1e400", "-1e400", "nan", "NaN", "inf", "-inf", "-0", "1e308", "9" * 40, "12%", "120%", "是", "否",
         "１２", "1,000", "0x10", " 7 ", "\t", "None", "null", "٣", "Ⅲ", "3级", "2024年", "1.5", "-3", "0.0",
         "\ufeff12", "a\nb", "\u202e12", "😀", "X<img src=x onerror=alert(1)>", "=1+1", "@SUM(A1)", "+1", "x" * 300]
VALUES = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=12),
    st.integers(min_value=-(10**20), max_value=10**25),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=10**6, allow_nan=False),
    st.integers(min_value=0, max_value=5000),
    st.booleans(),
    st.none(),
)
TABLE = st.sampled_from(TABLES)
INDEX = st.integers(min_value=0, max_value=60)

CELL_OPS = st.one_of(
    st.tuples(st.just("set"), TABLE, INDEX, INDEX, VALUES),
    st.tuples(st.just("drop_column"), TABLE, INDEX),
    st.tuples(st.just("duplicate_column"), TABLE, INDEX),
    st.tuples(st.just("drop_row"), TABLE, INDEX),
    st.tuples(st.just("duplicate_row"), TABLE, INDEX),
    st.tuples(st.just("rename_header"), TABLE, INDEX, st.one_of(st.sampled_from(WORDS), st.text(max_size=8))),
    st.tuples(st.just("shuffle_columns"), TABLE, st.randoms(use_true_random=False)),
    st.tuples(st.just("blank_row"), TABLE, INDEX),
)
FILE_OPS_CSV = st.one_of(
    st.tuples(st.just("truncate"), TABLE, st.floats(min_value=0, max_value=1)),
    st.tuples(st.just("encoding"), TABLE, st.sampled_from(["gbk", "utf-16", "utf-16-le", "latin-1", "utf-8", "cp1252"])),
    st.tuples(st.just("delete"), TABLE),
    st.tuples(st.just("copy"), TABLE),
    st.tuples(st.just("garbage"), TABLE, st.binary(max_size=64)),
)
FILE_OPS_XLSX = st.one_of(
    st.tuples(st.just("truncate"), st.floats(min_value=0, max_value=1)),
    st.tuples(st.just("formula"), TABLE, INDEX, INDEX, st.sampled_from(["=1+1", "=SUM(A1:A3)", "=A2*2", '="x"'])),
    st.tuples(st.just("duplicate_sheet"), TABLE, st.sampled_from([" (2)", "(2)", " - 副本", " Copy"])),
    st.tuples(st.just("delete_sheet"), TABLE),
    st.tuples(st.just("hide_sheet"), TABLE, st.sampled_from(["hidden", "veryHidden"])),
    st.tuples(st.just("rename_sheet"), TABLE, st.sampled_from(["Sheet1", "数据", "学校年度数据 (2)", "schools"])),
    st.tuples(st.just("merge"), TABLE, INDEX, INDEX),
)


def _data_row(rows: list[list], index: int) -> int | None:
    return 1 + index % (len(rows) - 1) if len(rows) > 1 else None


def apply_cell_op(grid: Grids, op: tuple) -> tuple | None:
    """Change the grids; for a cell set, (table, data row index, column key, value) to check."""
    kind, table = op[0], op[1]
    rows = grid.tables[table]
    width = len(rows[0])
    if kind == "set":
        row = _data_row(rows, op[2])
        if row is None or width == 0:
            return None
        column = op[3] % width
        rows[row][column] = op[4]
        return table, row, rows[0][column], op[4]
    if kind == "drop_column" and width:
        for line in rows:
            del line[op[2] % width]
    elif kind == "duplicate_column" and width:
        column = op[2] % width
        for line in rows:
            line.insert(column + 1, line[column])
    elif kind == "drop_row":
        row = _data_row(rows, op[2])
        if row is not None:
            del rows[row]
    elif kind == "duplicate_row":
        row = _data_row(rows, op[2])
        if row is not None:
            rows.insert(row + 1, list(rows[row]))
    elif kind == "blank_row":
        rows.insert(1 + op[2] % len(rows), [None] * width)
    elif kind == "rename_header" and width:
        rows[0][op[2] % width] = op[3]
    elif kind == "shuffle_columns" and width:
        order = list(range(width))
        op[2].shuffle(order)
        for i, line in enumerate(rows):
            rows[i] = [line[j] if j < len(line) else None for j in order]
    return None


def text_of(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------- writing the two forms


def file_name(grid: Grids, table: str) -> str:
    spec = catalog().table(table)
    return spec.label if grid.labels else spec.name


def write_csv(grid: Grids, folder: Path, file_ops: list[tuple]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    encodings = {op[1]: op[2] for op in file_ops if op[0] == "encoding"}
    for table, rows in grid.tables.items():
        path = folder / f"{file_name(grid, table)}.csv"
        encoding = encodings.get(table, "utf-8-sig")
        with path.open("w", encoding=encoding, errors="replace", newline="") as handle:
            csv.writer(handle).writerows([text_of(v) for v in line] for line in rows)
    for op in file_ops:
        spec = catalog().table(op[1])
        path = folder / f"{file_name(grid, op[1])}.csv"
        if op[0] == "truncate" and path.exists():
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * op[2])])
        elif op[0] == "delete":
            path.unlink(missing_ok=True)
        elif op[0] == "copy" and path.exists():  # the same table under its other name
            other = spec.name if grid.labels else spec.label
            (folder / f"{other}.csv").write_bytes(path.read_bytes())
        elif op[0] == "garbage" and path.exists():
            data = path.read_bytes()
            middle = len(data) // 2
            path.write_bytes(data[:middle] + op[2] + data[middle:])
    return folder


def write_xlsx(grid: Grids, path: Path, file_ops: list[tuple]) -> Path:
    """One sheet per table, cells typed as given (text without the control characters openpyxl
    refuses), then the file-level corruptions."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    sheets = {}
    for table, rows in grid.tables.items():
        sheet = workbook.create_sheet(file_name(grid, table))
        sheets[table] = sheet
        for line in rows:
            sheet.append([_xlsx_value(v) for v in line])
    for op in file_ops:
        kind = op[0]
        if kind == "formula":
            rows = grid.tables[op[1]]
            if op[1] in sheets and len(rows) > 1 and rows[0]:
                sheets[op[1]].cell(row=1 + _data_row(rows, op[2]), column=1 + op[3] % len(rows[0]), value=op[4])
        elif kind == "duplicate_sheet" and op[1] in sheets:
            copy = workbook.copy_worksheet(sheets[op[1]])
            copy.title = sheets[op[1]].title + op[2]
        elif kind == "delete_sheet" and op[1] in sheets:
            workbook.remove(sheets.pop(op[1]))
        elif kind == "hide_sheet" and op[1] in sheets and len(workbook.worksheets) > 1:
            sheets[op[1]].sheet_state = op[2]
        elif kind == "rename_sheet" and op[1] in sheets and op[2] not in workbook.sheetnames:
            sheets[op[1]].title = op[2]
        elif kind == "merge" and op[1] in sheets:
            rows = grid.tables[op[1]]
            if len(rows) > 1 and len(rows[0]) > 1:
                row, column = op[2] % len(rows), op[3] % (len(rows[0]) - 1)
                sheets[op[1]].merge_cells(start_row=row + 1, start_column=column + 1, end_row=row + 1,
                                          end_column=column + 2)
    if not workbook.worksheets:
        workbook.create_sheet("Sheet1")
    workbook.save(path)
    for op in file_ops:
        if op[0] == "truncate":
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * op[1])])
    return path


def _xlsx_value(value):
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


# ---------------------------------------------------------------- the oracle


TABLE_LEVEL = ("缺少这张表", "没有数据", "文件“", "工作表“", "第1行", "都对应这张表", "元数据")


def located(problem: Problem) -> bool:
    """The problem names its table (key and label: the file or sheet) and, unless it concerns the
    whole table, its row or column; in Chinese."""
    text = str(problem)
    if not CHINESE.search(text):
        return False
    if problem.table == "metadata":
        return "元数据" in text
    spec = catalog().table(problem.table)
    if f"{spec.label}({spec.name})" not in text:
        return False
    if problem.row is not None:
        return f"第{problem.row}行" in text
    if problem.column is not None:
        return f"“{problem.column_label}”" in text or f"“{spec.field(problem.column).label}”" in text
    return any(word in problem.message for word in TABLE_LEVEL)


def check_refusal(exc: Exception, path: Path) -> None:
    if isinstance(exc, DatasetInvalid):
        assert exc.problems, "DatasetInvalid without problems"
        bad = [str(p) for p in exc.problems if not located(p)]
        assert not bad, "problems that do not say where:\n" + "\n".join(bad)
    else:
        message = exc.user_message()
        assert CHINESE.search(message) and (str(path) in message or path.name in message), message


def expected_value(table: str, key: str, value, xlsx: bool):
    """The value a cell set to `value` must read as, when the format accepts it as such; None when
    the case is not one whose accepted value is certain."""
    spec = catalog().table(table)
    if key not in spec.keys:
        return None
    f = spec.field(key)
    if isinstance(value, bool) or value is None:
        return None
    if f.type in ("count", "number") and isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0 or (f.maximum is not None and value > f.maximum):
            return None
        if f.type == "count" and not float(value).is_integer():
            return None
        if xlsx and isinstance(value, float):
            return float("%.16g" % value)  # what openpyxl writes into the file (Excel itself keeps 15 digits)
        return value
    if f.type == "text" and isinstance(value, str):
        text = (ILLEGAL_CHARACTERS_RE.sub("", value) if xlsx else value).strip()
        if not text or (xlsx and text.startswith("=")) or (f.max_length and len(text) > f.max_length):
            return None
        if text != text.strip(" \t\r\n\u3000") or "\x00" in text:
            return None
        return text
    return None


def read_back(dataset, table: str, grid: Grids, row: int, key: str):
    """The value the dataset holds at the grid's data row `row` (found by the row's key)."""
    spec = catalog().table(table)
    header = grid.tables[table][0]
    line = grid.tables[table][row]
    frame = dataset.table(table)
    ident = {}
    for k in spec.key:
        names = {k, spec.field(k).label}
        positions = [i for i, h in enumerate(header) if h in names]
        if len(positions) != 1:
            return ...
        ident[k] = line[positions[0]]
    match = frame
    for k, v in ident.items():
        match = match[match[k].astype(str) == text_of(v).strip()]
    if len(match) != 1:
        return ...
    value = match.iloc[0][key]
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def check_case(grid: Grids, path: Path, sets: list[tuple], xlsx: bool) -> None:
    try:
        dataset = load_dataset(path)
    except (DatasetInvalid, DatasetUnreadable) as exc:
        event(f"refused: {type(exc).__name__}")
        check_refusal(exc, path)
        return
    event("imported")
    try:
        results = evaluate_loaded(dataset)
    except NothingToEvaluate:
        results = []
    for result in results:
        assert result.verdict in ("pass", "fail", "incomplete")
    for table, row, header, value in sets:
        spec = catalog().table(table)
        key = next((f.key for f in spec.fields if header in (f.key, f.label)), None)
        if key is None:
            continue
        want = expected_value(table, key, value, xlsx)
        if want is None:
            continue
        got = read_back(dataset, table, grid, row, key)
        if got is ...:
            continue
        event("imported: a changed value read back")
        assert got == want, (table, row, key, value, got)


# ---------------------------------------------------------------- the fuzzers


@FUZZ
@given(labels=st.booleans(), cell_ops=st.lists(CELL_OPS, max_size=3), file_ops=st.lists(FILE_OPS_CSV, max_size=2))
@example(labels=False, cell_ops=[("set", "school_year", 0, 5, float("inf"))], file_ops=[])
@example(labels=True, cell_ops=[], file_ops=[("encoding", "schools", "utf-16")])
def test_a_corrupted_csv_folder_imports_correctly_or_is_refused_saying_where(labels, cell_ops, file_ops):
    grid = grids(labels)
    sets = [found for op in cell_ops if (found := apply_cell_op(grid, op))]
    with tempfile.TemporaryDirectory(prefix="junheng-fuzz-") as tmp:
        folder = write_csv(grid, Path(tmp) / "数据", file_ops)
        changed = {op[1] for op in file_ops}
        check_case(grid, folder, [s for s in sets if s[0] not in changed], xlsx=False)


@FUZZ
@given(labels=st.booleans(), cell_ops=st.lists(CELL_OPS, max_size=3), file_ops=st.lists(FILE_OPS_XLSX, max_size=2))
@example(labels=True, cell_ops=[("set", "school_year", 0, 5, float("nan"))], file_ops=[])
@example(labels=True, cell_ops=[], file_ops=[("formula", "school_year", 0, 6, "=1+1")])
def test_a_corrupted_workbook_imports_correctly_or_is_refused_saying_where(labels, cell_ops, file_ops):
    grid = grids(labels)
    sets = [found for op in cell_ops if (found := apply_cell_op(grid, op))]
    with tempfile.TemporaryDirectory(prefix="junheng-fuzz-") as tmp:
        path = write_xlsx(grid, Path(tmp) / "数据.xlsx", file_ops)
        changed = {op[1] for op in file_ops if len(op) > 1 and isinstance(op[1], str)}
        check_case(grid, path, [s for s in sets if s[0] not in changed], xlsx=True)


def _settable_fields() -> list[tuple[str, str]]:
    """(table, key) of the cells whose accepted values are certain: counts, numbers and free text
    of the tables' existing columns (identity columns excluded: they tie the tables together)."""
    out = []
    base = valid_tables()
    for table in TABLES:
        spec = catalog().table(table)
        present = {k for row in base[table] for k in row}
        for f in spec.fields:
            if f.key in present and f.key not in spec.key and f.type in ("count", "number"):
                out.append((table, f.key))
            elif f.key in present and f.key in ("school_name", "county_name"):
                out.append((table, f.key))
    return out


SETTABLE = _settable_fields()


@st.composite
def accepted_values(draw) -> tuple[str, str, object]:
    table, key = draw(st.sampled_from(SETTABLE))
    f = catalog().table(table).field(key)
    if f.type == "count":
        top = int(f.maximum or 10**9)
        value = draw(st.one_of(st.integers(0, top), st.sampled_from([0, top, 1]),
                               st.integers(0, top).map(float)))
    elif f.type == "number":
        top = float(f.maximum or 1e12)
        value = draw(st.one_of(st.floats(0, top, allow_nan=False), st.sampled_from([0.0, top, 5e-324, 0.1, 1e-7]),
                               st.integers(0, int(top))))
    else:
        value = draw(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1,
                             max_size=min(f.max_length or 40, 40)).filter(lambda t: not t.startswith("=")))
    return table, key, value


@FUZZ
@given(labels=st.booleans(), xlsx=st.booleans(), cells=st.lists(accepted_values(), min_size=1, max_size=4),
       row=INDEX)
def test_a_value_the_format_accepts_reads_back_as_written(labels, xlsx, cells, row):
    grid = grids(labels)
    sets = []
    for table, key, value in cells:
        spec = catalog().table(table)
        header = grid.tables[table][0]
        column = header.index(spec.field(key).label if labels else key)
        line = _data_row(grid.tables[table], row)
        grid.tables[table][line][column] = value
        sets.append((table, line, header[column], value))
    with tempfile.TemporaryDirectory(prefix="junheng-fuzz-") as tmp:
        path = write_xlsx(grid, Path(tmp) / "数据.xlsx", []) if xlsx else write_csv(grid, Path(tmp) / "数据", [])
        try:
            dataset = load_dataset(path)
        except DatasetInvalid as exc:  # a cross-check (a part above its whole, ...) may still refuse it
            event("refused by a cross-check")
            check_refusal(exc, path)
            assert all(p.row is not None for p in exc.problems), exc.user_message()
            return
        event("imported")
        evaluate_loaded(dataset)
        last = {}
        for table, line, header, value in sets:
            last[(table, line, header)] = value
        for (table, line, header), value in last.items():
            key = next(f.key for f in catalog().table(table).fields if header in (f.key, f.label))
            want = expected_value(table, key, value, xlsx)
            assert want is not None, (table, key, value)
            assert read_back(dataset, table, grid, line, key) == want, (table, key, value)


# ---------------------------------------------------------------- into a store: the web upload


sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from web_world import COUNTY as WEB_COUNTY  # noqa: E402
from web_world import web_build_world  # noqa: E402

UPLOAD = f"/counties/{WEB_COUNTY}/upload"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FINGERPRINT = re.compile(r'name="fingerprint" value="([0-9a-f]+)"')
SCHOOL_WIDE = [f.key for f in catalog().table("school_year").fields  # no segment: every school type has them
               if f.type in ("count", "number") and not f.segment and not f.at_most and f.key in
               {k for row in valid_tables()["school_year"] for k in row}]
SET_KEY = st.tuples(st.just("set_key"), st.just("school_year"), INDEX, st.sampled_from(SCHOOL_WIDE), st.integers(0, 3000))
UPLOAD_OPS = st.one_of(CELL_OPS.filter(lambda op: op[1] in ("schools", "school_year", "county_year", "quality")), SET_KEY)
UPLOAD_CASES = st.one_of(  # half the cases change only values the county may mean, so that applies happen too
    st.tuples(st.lists(SET_KEY, min_size=1, max_size=3), st.just([])),
    st.tuples(st.lists(UPLOAD_OPS, min_size=1, max_size=2), st.lists(FILE_OPS_XLSX, max_size=1)),
)


def apply_upload_op(grid: Grids, op: tuple) -> None:
    """A cell op, or ("set_key", table, row, field key, value): a value the county may well mean."""
    if op[0] != "set_key":
        apply_cell_op(grid, op)
        return
    rows = grid.tables[op[1]]
    label = catalog().table(op[1]).field(op[3]).label
    if label in rows[0] and (row := _data_row(rows, op[2])) is not None:
        rows[row][rows[0].index(label)] = op[4]


@pytest.fixture(scope="module")
def upload_world(tmp_path_factory):
    """The web world (SQLite); the county's school-years are drafts (uploads may change them), its
    county-year and quality rows approved (locked): the county admin uploads the county's current
    data (as current-data.xlsx gives it) corrupted."""
    world = web_build_world(tmp_path_factory.mktemp("upload-fuzz"))
    with world.database.session() as s:
        for row in s.scalars(select(SchoolYear)):
            row.status = "draft"
    client = world.login("county")
    response = client.get(f"/counties/{WEB_COUNTY}/current-data.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    tables = {}
    for sheet in book.worksheets:
        spec = next((t for t in catalog().tables.values() if t.label == sheet.title), None)
        if spec is not None:
            tables[spec.name] = [list(row) for row in sheet.iter_rows(values_only=True)]
    yield world, client, Grids(tables, labels=True)
    world.database.engine.dispose()


def store_changes(world, dataset) -> list:
    """What applying the dataset would still change in the county (as the upload computes it)."""
    with world.database.session() as s:
        county = repo.county_by_code(s, WEB_COUNTY)
        return upload_routes._changes(s, dataset, county)


@settings(FUZZ, max_examples=min(FUZZ.max_examples, 40))
@given(case=UPLOAD_CASES)
def test_a_corrupted_upload_is_applied_whole_or_changes_nothing(upload_world, case):
    cell_ops, file_ops = case
    world, client, base = upload_world
    grid = Grids({name: [list(line) for line in rows] for name, rows in base.tables.items()}, labels=True)
    for op in cell_ops:
        if op[1] in grid.tables:
            apply_upload_op(grid, op)
    with tempfile.TemporaryDirectory(prefix="junheng-fuzz-") as tmp:
        path = write_xlsx(grid, Path(tmp) / "数据.xlsx", file_ops)
        content = path.read_bytes()
        try:
            dataset = load_dataset(path)
        except (DatasetInvalid, DatasetUnreadable):
            dataset = None
    pending = len(store_changes(world, dataset)) if dataset is not None else None
    before = world.snapshot()
    sent = client.post(UPLOAD, files={"file": ("数据.xlsx", content, XLSX_TYPE)})
    assert sent.status_code in (303, 400, 413), sent.status_code
    if sent.status_code != 303:
        event("upload refused")
        assert CHINESE.search(sent.text) and world.snapshot() == before
        return
    location = sent.headers["location"]
    page = client.get(location)
    assert page.status_code == 200, page.status_code
    fingerprint = FINGERPRINT.search(page.text)
    applied = client.post(f"{location}/apply", {"fingerprint": fingerprint.group(1) if fingerprint else "none"})
    assert applied.status_code in (303, 403, 409), applied.status_code
    after = world.snapshot()
    if applied.status_code != 303:
        event(f"apply refused ({applied.status_code})")
        assert after == before  # nothing half-saved
        return
    event("applied")
    assert dataset is not None, "a file the importer refuses was applied"
    assert store_changes(world, dataset) == []  # the store now holds exactly the values read
    assert after["audit"] == before["audit"] + pending  # one audit entry per changed value, no more

"""The scores import: CSV (UTF-8, BOM, GB18030), XLSX and Parquet read alike into DuckDB, student
keys pseudonymised (the raw key is nowhere in the database afterwards), personal data refused,
every bad row named by row and column, and nothing kept from a file with a problem."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import ibis
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from junheng.data.problems import DatasetUnreadable
from junheng.quality import scores as scores_module
from junheng.quality.pseudonyms import pseudonym
from junheng.quality.scores import SCORES_COLUMNS, ScoresInvalid, load_scores, read_scores

SECRET = "test-workspace-secret"
KEYS = ["G1001", "G1002", "学生三", "2024-08-004", "G1005", "L0006"]
HEADER = ["county_code", "school_id", "year", "grade", "subject", "student_key", "score"]
LABELS = ["县区代码", "学校标识码", "年度", "年级", "学科", "学生编号", "成绩"]


def _rows() -> list[list]:
    rows = []
    for i, key in enumerate(KEYS):
        for subject, base in (("math", 60), ("数学", 70)):
            rows.append(["140599", f"S{i % 3}", 2024, 8, subject, key, base + i + 0.5])
    return rows


def write_csv(path: Path, rows, header=HEADER, encoding="utf-8", blank_after: int | None = None) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, row in enumerate(rows):
            writer.writerow(row)
            if blank_after is not None and i == blank_after:
                handle.write("\r\n")
    return path


def write_xlsx(path: Path, rows, header=HEADER) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "成绩"
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def write_parquet(path: Path, rows, header=HEADER) -> Path:
    columns = list(zip(*rows))
    types = {"year": pa.int32(), "grade": pa.int32(), "score": pa.float64()}
    pq.write_table(pa.table({h: pa.array(list(c), types.get(h, pa.string())) for h, c in zip(header, columns)}), path)
    return path


def _stored(con, table="scores") -> list[tuple]:
    return sorted(con.execute(f"SELECT {', '.join(SCORES_COLUMNS)} FROM {table}").fetchall())


def _all_text_in_database(con) -> list[str]:
    """Every value of every column of every table and view the connection can see, as text."""
    texts = []
    for schema, name in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall():
        for row in con.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall():
            texts += [str(v) for v in row]
        texts.append(name)
    return texts


def test_the_stored_table_holds_pseudonyms_and_no_raw_key(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    result = load_scores(con, write_csv(tmp_path / "s.csv", _rows()), key=SECRET)
    assert result.rows == 12 and result.table == "scores"
    stored = _stored(con)
    assert {row[5] for row in stored} == {pseudonym(SECRET, k) for k in KEYS}
    texts = _all_text_in_database(con)
    for key in KEYS:
        assert not any(key in text for text in texts), key
    assert [c[0] for c in con.execute("DESCRIBE scores").fetchall()] == list(SCORES_COLUMNS)
    assert {name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()} == {"scores"}
    assert not con.execute("SELECT * FROM duckdb_views() WHERE NOT internal").fetchall()
    con.close()
    raw = (tmp_path / "w.duckdb").read_bytes()  # nor in the database file itself
    for key in KEYS:
        assert key.encode("utf-8") not in raw


def test_same_key_same_pseudonym_within_a_workspace_other_under_another_key(tmp_path):
    path = write_csv(tmp_path / "s.csv", _rows())
    con = duckdb.connect()
    load_scores(con, path, key=SECRET, table="first")
    load_scores(con, path, key=SECRET, table="again")
    load_scores(con, path, key="another-workspace", table="other")
    per = {t: {(r[0], r[1], r[4], r[6]): r[5] for r in _stored(con, t)} for t in ("first", "again", "other")}
    assert per["first"] == per["again"]
    assert not set(per["first"].values()) & set(per["other"].values())
    # one student, two subjects: one pseudonym
    math = {r[6] - 60: r[5] for r in _stored(con, "first") if r[4] == "math"}
    chinese = {r[6] - 70: r[5] for r in _stored(con, "first") if r[4] == "数学"}
    assert math == chinese and len(set(math.values())) == len(KEYS)


@pytest.mark.parametrize("writer, name, kwargs", [
    (write_csv, "s.csv", {"encoding": "utf-8-sig", "header": LABELS}),
    (write_csv, "s.csv", {"encoding": "gb18030", "header": LABELS}),
    (write_xlsx, "s.xlsx", {}),
    (write_xlsx, "s.xlsx", {"header": LABELS}),
    (write_parquet, "s.parquet", {}),
])
def test_every_format_reads_the_same(tmp_path, writer, name, kwargs):
    reference = duckdb.connect()
    load_scores(reference, write_csv(tmp_path / "plain.csv", _rows()), key=SECRET)
    con = duckdb.connect()
    load_scores(con, writer(tmp_path / name, _rows(), **kwargs), key=SECRET)
    assert _stored(con) == _stored(reference)
    assert con.execute("SELECT typeof(year), typeof(grade), typeof(score) FROM scores LIMIT 1").fetchone() == (
        "INTEGER", "INTEGER", "DOUBLE")


def test_gb18030_file_really_is_not_utf8(tmp_path):
    path = write_csv(tmp_path / "s.csv", _rows(), header=LABELS, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")


def test_read_scores_gives_an_ibis_table_on_a_given_connection(tmp_path):
    path = write_parquet(tmp_path / "s.parquet", _rows())
    table = read_scores(path, key=SECRET)
    assert list(table.columns) == list(SCORES_COLUMNS)
    assert table.count().to_pyarrow().as_py() == 12
    con = duckdb.connect()
    on_con = read_scores(path, key=SECRET, connection=con)
    assert on_con.score.sum().to_pyarrow().as_py() == pytest.approx(sum(r[6] for r in _rows()))
    backend = ibis.duckdb.connect()
    read_scores(path, key=SECRET, connection=backend, table="q")
    assert "q" in backend.list_tables()


def test_a_bad_row_is_named_by_row_and_column_and_nothing_is_kept(tmp_path):
    con = duckdb.connect()
    load_scores(con, write_csv(tmp_path / "good.csv", _rows()), key=SECRET)
    before = _stored(con)
    rows = _rows()
    rows[3][6] = "八十"  # data row 4 → spreadsheet row 6 (header 1, a blank line after data row 1)
    rows[5][3] = 12
    rows[7][2] = "2024年"
    with pytest.raises(ScoresInvalid) as caught:
        load_scores(con, write_csv(tmp_path / "bad.csv", rows, blank_after=0), key=SECRET)
    problems = caught.value.problems
    where = {(p.row, p.column) for p in problems}
    assert where == {(6, "score"), (8, "grade"), (10, "year")}
    message = caught.value.user_message()
    assert "第6行 列“成绩”(score):取值“八十”不是数" in message
    assert "第8行 列“年级”(grade):取值“12”超出范围" in message
    assert "没有导入任何数据" in message
    assert _stored(con) == before  # the earlier table untouched
    assert {n for (n,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()} == {"scores"}


def test_bad_rows_in_xlsx_and_parquet_are_named_by_their_row(tmp_path):
    rows = _rows()
    rows[2][6] = 1000.5
    for path in (write_xlsx(tmp_path / "s.xlsx", rows), write_parquet(tmp_path / "s.parquet", rows)):
        con = duckdb.connect()
        with pytest.raises(ScoresInvalid) as caught:
            load_scores(con, path, key=SECRET)
        assert [(p.row, p.column, p.value) for p in caught.value.problems] == [(4, "score", "1000.5")]
        assert not con.execute("SELECT * FROM duckdb_tables()").fetchall()


@pytest.mark.parametrize("header", ["姓名", "学生姓名", "name", "身份证号", "证件号码", "家长手机"])
def test_a_personal_data_column_is_refused(tmp_path, header):
    rows = [row + ["x"] for row in _rows()]
    con = duckdb.connect()
    with pytest.raises(ScoresInvalid) as caught:
        load_scores(con, write_csv(tmp_path / "s.csv", rows, header=HEADER + [header]), key=SECRET)
    assert [(p.row, p.column) for p in caught.value.problems] == [(1, header)]
    assert "个人信息" in caught.value.user_message()
    assert not con.execute("SELECT * FROM duckdb_tables()").fetchall()


def test_a_student_key_that_is_an_id_number_is_refused(tmp_path):
    rows = _rows()
    rows[4][5] = "11010520080101123X"
    rows[5][5] = "G11010520080101123X"  # a 学籍号 (G + the ID number) is a student key, hashed
    con = duckdb.connect()
    with pytest.raises(ScoresInvalid) as caught:
        load_scores(con, write_csv(tmp_path / "s.csv", rows), key=SECRET)
    [problem] = caught.value.problems
    assert (problem.row, problem.column) == (6, "student_key")
    message = caught.value.user_message()
    assert "居民身份证号码" in message and "学籍号" in message
    assert "11010520080101123X" not in message  # shown masked
    rows[4][5] = "G1010"
    load_scores(con, write_csv(tmp_path / "ok.csv", rows), key=SECRET)
    assert con.execute("SELECT count(*) FROM scores").fetchone()[0] == 12


def test_an_id_number_in_any_other_column_is_refused(tmp_path):
    rows = [row + ["备注 110105200801011234 转入"] for row in _rows()]
    with pytest.raises(ScoresInvalid) as caught:
        load_scores(duckdb.connect(), write_csv(tmp_path / "s.csv", rows, header=HEADER + ["备注"]), key=SECRET)
    assert {p.row for p in caught.value.problems} == set(range(2, 14))
    assert "身份证号码" in caught.value.user_message()


def test_unknown_columns_are_reported_and_not_stored(tmp_path):
    rows = [row + ["甲班"] for row in _rows()]
    con = duckdb.connect()
    result = load_scores(con, write_csv(tmp_path / "s.csv", rows, header=HEADER + ["班级"]), key=SECRET)
    assert any("班级" in w for w in result.warnings)
    assert "甲班" not in _all_text_in_database(con)


def test_missing_and_repeated_columns(tmp_path):
    rows = [row[:6] + [row[5]] for row in _rows()]
    with pytest.raises(ScoresInvalid) as caught:
        load_scores(duckdb.connect(), write_csv(tmp_path / "s.csv", rows, header=HEADER[:6] + ["学籍号"]), key=SECRET)
    found = {(p.column, p.message) for p in caught.value.problems}
    assert ("score", "缺少这一列") in found
    assert any(column == "student_key" and "重复" in message for column, message in found)


def test_the_same_student_subject_and_year_twice_is_a_duplicate(tmp_path):
    rows = _rows()
    rows.append(list(rows[2]))
    rows[-1][6] = 99
    with pytest.raises(ScoresInvalid) as caught:
        load_scores(duckdb.connect(), write_csv(tmp_path / "s.csv", rows), key=SECRET)
    [problem] = caught.value.problems
    assert (problem.row, problem.column) == (14, "student_key") and "第4行" in problem.message


def test_grades_as_people_write_them(tmp_path):
    rows = _rows()
    for row, grade in zip(rows, ["八年级", "初二", "8年级", " 8 ", "8", 8.0]):
        row[3] = grade
    con = duckdb.connect()
    load_scores(con, write_csv(tmp_path / "s.csv", rows), key=SECRET)
    assert con.execute("SELECT DISTINCT grade FROM scores").fetchall() == [(8,)]


def test_empty_required_cells_and_bad_county_codes(tmp_path):
    rows = _rows()
    rows[0][5] = " "
    rows[1][0] = "14059"
    rows[2][6] = ""
    with pytest.raises(ScoresInvalid) as caught:
        load_scores(duckdb.connect(), write_csv(tmp_path / "s.csv", rows), key=SECRET)
    assert [(p.row, p.column, p.message) for p in caught.value.problems] == [
        (2, "student_key", "为空"), (3, "county_code", "不是 6 位县区代码"), (4, "score", "为空")]


def test_the_list_of_problems_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(scores_module, "MAX_PROBLEMS", 5)
    rows = [["140599", "S1", 2024, 8, "math", f"K{i}", -1] for i in range(30)]
    with pytest.raises(ScoresInvalid) as caught:
        load_scores(duckdb.connect(), write_csv(tmp_path / "s.csv", rows), key=SECRET)
    assert len(caught.value.problems) == 5 and caught.value.omitted == 25
    assert "共 30 个问题" in caught.value.user_message() and "另有 25 个问题未列出" in caught.value.user_message()


def test_bounds_on_size_and_rows(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "s.csv", _rows())
    monkeypatch.setattr(scores_module, "MAX_ROWS", 5)
    with pytest.raises(DatasetUnreadable, match="超过可导入的上限"):
        load_scores(duckdb.connect(), path, key=SECRET)
    monkeypatch.setattr(scores_module, "MAX_FILE_BYTES", 100)
    with pytest.raises(DatasetUnreadable, match="超过可导入的上限"):
        load_scores(duckdb.connect(), path, key=SECRET)


def test_a_long_text_is_refused(tmp_path):
    rows = _rows()
    rows[0][1] = "S" * 65
    with pytest.raises(ScoresInvalid) as caught:
        load_scores(duckdb.connect(), write_csv(tmp_path / "s.csv", rows), key=SECRET)
    assert [(p.row, p.column) for p in caught.value.problems] == [(2, "school_id")]


def test_unreadable_files_get_a_chinese_message(tmp_path):
    ragged = tmp_path / "r.csv"
    ragged.write_text(",".join(HEADER) + "\n140599,S1,2024,8,math,G1,80\n140599,S1,2024,8,math,G2,80,extra\n",
                      encoding="utf-8")
    with pytest.raises(DatasetUnreadable, match="第3行有 8 个单元格"):
        load_scores(duckdb.connect(), ragged, key=SECRET)
    with pytest.raises(DatasetUnreadable, match="找不到成绩文件"):
        load_scores(duckdb.connect(), tmp_path / "none.csv", key=SECRET)
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(DatasetUnreadable):
        load_scores(duckdb.connect(), binary, key=SECRET)
    header_only = write_csv(tmp_path / "h.csv", [])
    with pytest.raises(DatasetUnreadable, match="没有成绩数据"):
        load_scores(duckdb.connect(), header_only, key=SECRET)


def test_a_workbook_with_two_filled_sheets_is_refused(tmp_path):
    path = write_xlsx(tmp_path / "s.xlsx", _rows())
    wb = openpyxl.load_workbook(path)
    wb.create_sheet("语文").append(HEADER)
    wb.save(path)
    with pytest.raises(DatasetUnreadable, match="2 张工作表有内容"):
        load_scores(duckdb.connect(), path, key=SECRET)

"""Import of a survey platform's export: 问卷星's readable export (“按选项文本”), XLSX or CSV.

Layout: six metadata columns 序号, 提交答卷时间 ("2026/09/03 12:00:00"), 所用时间 ("120秒"), 来源,
来源详情, 来自IP, then one column per question headed "N、题干"; a multi-select answer is its
options joined with ┋. CSV files come as UTF-8 (with or without BOM) or GB18030 (what Excel and
问卷星 write on Chinese Windows).

A mapping file (YAML, `load_mapping`) says which column is the identity question and how its
answers map to groups, which columns are the scored items, optionally which column names the
school (and how its answers map to school ids), and optionally another answer scale:

    identity:
      column: "1、您的身份是"
      values: {家长: parents, 学生: students, 教师: teachers}
    items: ["2、…", "3、…"]
    school: {column: "12、您(孩子)所在的学校", values: {城关小学: "140599001"}}   # optional
    options: [满意, 基本满意, 不满意]        # optional, else the settings' scale
    recognising: [满意, 基本满意]            # optional
    excluded: []                             # optional

`read_export` validates the whole file first: a missing mapped column, an identity or school
answer not in the mapping, an answer not on the scale, a multi-select answer in a scored item, a
bad time or duration, a duplicate 序号 — every problem is collected and ONE SurveyImportError lists
them by row and column ("第 N 行(序号 …)“列名”:…,应为 …"); nothing is returned half.
Skipped and not-shown answers ("(跳过)", empty) are blanks: excluded from the denominator, not
errors. IP addresses are replaced at once by keyed hashes (junheng.survey.privacy); the address
itself is never kept, and 来源详情 (referrer details) is not kept at all.

Cells are processed column-wise with pandas/pyarrow string kernels, never one Python call per cell
(except that openpyxl hands XLSX cells over one by one).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from junheng.errors import JunhengError
from junheng.survey.privacy import keyed_hasher
from junheng.survey.questionnaire import BLANKS, MAX_ITEMS
from junheng.survey.settings import (
    MAX_OPTIONS,
    SurveySettings,
    Text,
    known_groups,
    read_mapping_file,
    scale_problems,
    validate_file,
)

if TYPE_CHECKING:
    from junheng.survey.checks import Exclusion
    from junheng.survey.scoring import SurveyScore

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_ROWS = 5_000_000
MAX_COLUMNS = 2_000
MAX_CELL_CHARS = 2_000  # of the columns read (an open question's essay is not read at all)
MAX_PART_BYTES = 1024 * 1024 * 1024  # an XLSX part unpacked (a 200 MB workbook unpacks to a few GB at most)
MAX_SCHOOLS = 100_000
MAX_LISTED = 50  # problems listed in the error; the rest are counted

ROW_NO, SUBMITTED, DURATION, SOURCE, SOURCE_DETAIL, IP = "序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP"
META_COLUMNS = (ROW_NO, SUBMITTED, DURATION, SOURCE, SOURCE_DETAIL, IP)
REQUIRED_META = (ROW_NO, SUBMITTED, DURATION)
MULTI_SEPARATOR = "┋"
TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M")
DURATION_PATTERN = r"^(?:(?P<h>\d{1,3})\s*小时)?\s*(?:(?P<m>\d{1,6})\s*分钟?)?\s*(?:(?P<s>\d{1,9}(?:\.\d+)?)\s*秒?)?$"
BLANK_CODE = -1

Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class SurveyImportError(JunhengError):
    """An export cannot be imported; the message lists every problem found (by row and column)."""


# ---------------------------------------------------------------- the mapping file


class IdentityColumn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: Text
    values: dict[Text, Key] = Field(min_length=1, max_length=MAX_OPTIONS * 5)


class SchoolColumn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: Text
    values: dict[Text, Key] | None = Field(None, max_length=MAX_SCHOOLS)


class ExportMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    identity: IdentityColumn
    items: list[Text] = Field(min_length=1, max_length=MAX_ITEMS)
    school: SchoolColumn | None = None
    options: list[Text] | None = Field(None, min_length=2, max_length=MAX_OPTIONS)
    recognising: list[Text] | None = Field(None, min_length=1, max_length=MAX_OPTIONS)
    excluded: list[Text] | None = Field(None, max_length=MAX_OPTIONS)

    def scale(self, settings: SurveySettings) -> tuple[list[str], list[str], list[str]]:
        """(options, recognising, excluded): the mapping's own where given, else the settings'."""
        return (list(self.options or settings.scale.options),
                list(self.recognising if self.recognising is not None else settings.scale.recognising),
                list(self.excluded if self.excluded is not None else settings.scale.excluded))


def _mapping_problems(m: ExportMapping) -> list[tuple[tuple, str]]:
    found = known_groups(m.identity.values.values(), ("identity", "values"))
    doubles = sorted({c for c in m.items if m.items.count(c) > 1})
    if doubles:
        found.append((("items",), f"列重复:{'、'.join(doubles)}"))
    if m.identity.column in m.items:
        found.append((("items",), f"身份题“{m.identity.column}”不能同时是计分题"))
    if m.school is not None and m.school.column in m.items + [m.identity.column]:
        found.append((("school", "column"), f"学校列“{m.school.column}”不能同时是身份题或计分题"))
    meta = [c for c in m.items if c in META_COLUMNS]
    if meta:
        found.append((("items",), f"“{'、'.join(meta)}”是问卷星的记录信息列,不是题目"))
    if m.options is not None:  # with the settings' recognising and excluded options: checked on reading
        found += [p for p in scale_problems(m.options, m.recognising or [], m.excluded or [])
                  if m.recognising is not None or p[0] != ("recognising",)]
    return found


def load_mapping(path: Path | str) -> ExportMapping:
    """The column mapping file, validated (SurveyFileError names file, key and line)."""
    data, layer = read_mapping_file(Path(path))
    return validate_file(ExportMapping, data, [layer], _mapping_problems)


# ---------------------------------------------------------------- the result


@dataclass
class ImportedResponses:
    """An export's valid rows (every row of the file: checks come later, junheng.survey.checks).

    rows:  one line per response, in file order: row (序号, int64), submitted_at (datetime64),
           seconds (float64), source (来源), ip_hash (keyed hash or None), group, school_id (or None)
    codes: the answers, one int8 column per scored item (headed as in the export): the position
           of the answer in `options`, or BLANK_CODE (-1) for a skipped, not shown or empty answer
    """

    file: str
    rows: pd.DataFrame
    codes: pd.DataFrame
    items: list[str]
    options: list[str]
    recognising: list[str]
    excluded: list[str]

    def __len__(self) -> int:
        return len(self.rows)

    def outcome_table(self) -> np.ndarray:
        """Per option code: 1 recognising, 0 counted, -1 excluded from the denominator."""
        return np.array([1 if o in self.recognising else (-1 if o in self.excluded else 0) for o in self.options],
                        dtype=np.int8)

    def answered(self) -> np.ndarray:
        """Per row: scored items answered (not blank; an excluded option such as 不了解 is an answer)."""
        return (self.codes.to_numpy() != BLANK_CODE).sum(axis=1) if self.items else np.zeros(len(self), int)

    def answer_text(self, position: int) -> dict[str, str | None]:
        """One row's answers as text: item column → option (None: blank)."""
        return {item: (None if code == BLANK_CODE else self.options[code])
                for item, code in zip(self.items, self.codes.iloc[position].tolist())}

    def scoring_frames(self, keep: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The two tables of junheng.survey.scoring for the rows kept (all when `keep` is None):
        responses (response_id = 序号, group, school_id) and answers (response_id, item, outcome),
        excluded and blank answers absent. `item` is the item's position as text ("0", "1", ...):
        short keys for millions of answers; `score` puts the column headings back."""
        keep = np.ones(len(self), dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
        ids = self.rows["row"].to_numpy(dtype=np.int64)[keep]
        responses = pd.DataFrame({
            "response_id": ids,
            "group": pd.Series(self.rows["group"].to_numpy(dtype=object)[keep], dtype=object),
            "school_id": pd.Series(self.rows["school_id"].to_numpy(dtype=object)[keep], dtype=object),
        })
        table = self.outcome_table()
        codes = self.codes.to_numpy()[keep] if self.items else np.zeros((len(ids), 0), np.int8)
        id_parts, item_parts, outcome_parts = [], [], []
        for position in range(codes.shape[1]):
            column = codes[:, position]
            answered = column != BLANK_CODE
            outcome = table[column[answered]] if table.size else np.zeros(0, np.int8)
            counted = outcome >= 0
            id_parts.append(ids[answered][counted])
            outcome_parts.append(outcome[counted])
            item_parts.append(np.full(int(counted.sum()), position, dtype=np.int32))
        categories = [str(p) for p in range(codes.shape[1])]
        item_codes = np.concatenate(item_parts) if item_parts else np.zeros(0, np.int32)
        answers = pd.DataFrame({
            "response_id": np.concatenate(id_parts) if id_parts else np.zeros(0, np.int64),
            "item": pd.Categorical.from_codes(item_codes, categories=categories) if categories
            else pd.Series([], dtype=object),
            "outcome": np.concatenate(outcome_parts).astype(np.int8) if outcome_parts else np.zeros(0, np.int8),
        })
        return responses, answers

    def score(self, settings: SurveySettings, exclusions: list["Exclusion"] | None = None) -> "SurveyScore":
        """The rates of the rows not excluded (junheng.survey.scoring), items keyed by column heading."""
        from junheng.survey.scoring import score_frames

        dropped = {e.row for e in exclusions or () if e.excluded}
        keep = ~self.rows["row"].isin(dropped).to_numpy() if dropped else None
        responses, answers = self.scoring_frames(keep)
        result = score_frames(responses, answers, group_weights=settings.scoring.group_weights,
                              confidence=settings.scoring.confidence)
        heading = dict(zip(map(str, range(len(self.items))), self.items))
        result.items = {heading[k]: result.items[k] for k in map(str, range(len(self.items))) if k in result.items}
        result.group_items = {g: {heading[k]: items[k] for k in map(str, range(len(self.items))) if k in items}
                              for g, items in result.group_items.items()}
        return result


def score_report(imported: ImportedResponses, result: "SurveyScore", found: list["Exclusion"]) -> dict[str, Any]:
    """The scoring of an import as plain data (`junheng survey score --format json`): the score
    (rates 0–1), `items` as column heading → rate with `item_details` the whole rates, every
    excluded row (`excluded`: row = 序号, reason in Chinese) and every row only flagged (`flagged`)."""
    from junheng.survey.checks import summary

    report = result.to_json()
    report["item_details"] = report["items"]
    report["items"] = {item: rate["rate"] for item, rate in report["item_details"].items()}
    excluded = [e.to_json() for e in found if e.excluded]
    return {
        "file": Path(imported.file).name,
        **report,
        "excluded": excluded,
        "flagged": [e.to_json() for e in found if not e.excluded],
        "counts": {"rows": len(imported), "valid": len(imported) - len(excluded), "excluded": len(excluded),
                   "flagged": len(found), "by_reason": summary(found)},
        "scale": {"options": imported.options, "recognising": imported.recognising, "excluded": imported.excluded},
    }


# ---------------------------------------------------------------- reading the file


def read_export(path: Path | str, mapping: ExportMapping, settings: SurveySettings, *, key: str) -> ImportedResponses:
    """The export at `path`, validated whole; IP addresses hashed under `key` (the workspace
    secret, or privacy.run_key() for a stand-alone run). SurveyImportError lists every problem."""
    path = Path(path)
    frame = _read_table(path)
    return _build(frame, mapping, settings, key, str(path))


def _fail(path: Path, message: str) -> SurveyImportError:
    return SurveyImportError(f"无法导入问卷星导出文件“{path}”:{message}")


def _read_table(path: Path):
    """The export's cells as text (column headings stripped), bounded."""
    from junheng.data.workbook import KIND_WORDS, file_kind

    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _fail(path, "文件不存在") from None
    except OSError as exc:
        raise _fail(path, f"无法读取({exc.strerror})") from None
    if path.is_dir():
        raise _fail(path, "这是文件夹,应为问卷星导出的 .xlsx 或 .csv 文件")
    if size > MAX_FILE_BYTES:
        raise _fail(path, f"文件有 {size / 1024 / 1024:.0f} MB,超过上限 {MAX_FILE_BYTES // 1024 // 1024} MB;"
                          "请按时间分批导出")
    kind = file_kind(path)
    if kind == "xlsx":
        frame = _read_xlsx(path)
    elif kind == "text":
        frame = _read_csv(path)
    elif kind == "empty":
        raise _fail(path, "文件是空的")
    else:
        what = KIND_WORDS.get(kind, "无法识别的格式")
        raise _fail(path, f"文件的内容是{what},应为问卷星导出的 .xlsx 或 .csv 文件;"
                          "请在问卷星“下载答卷数据”中选择“按选项文本下载”的 Excel 或 CSV")
    if frame.num_rows > MAX_ROWS:
        raise _fail(path, f"有 {frame.num_rows:,} 份答卷,超过上限 {MAX_ROWS:,};请分批导出")
    return frame


def _decode(path: Path, data: bytes) -> bytes:
    """UTF-8 bytes of a CSV in UTF-8 (BOM or not) or GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030").encode("utf-8")
    except UnicodeDecodeError:
        raise _fail(path, "文件既不是 UTF-8 也不是 GB18030(GBK)编码的文本;请重新从问卷星导出") from None


def _read_csv(path: Path):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    data = _decode(path, path.read_bytes())
    head = data[: 1 << 20].decode("utf-8", errors="ignore")
    try:
        header = next(csv.reader(io.StringIO(head)))
    except (StopIteration, csv.Error):
        raise _fail(path, "没有表头行") from None
    header = [h.strip() for h in header]
    _check_header(path, header)
    read_options = pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=1 << 24)
    convert = pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                   strings_can_be_null=False, quoted_strings_can_be_null=False)
    try:
        table = pacsv.read_csv(pa.py_buffer(data), read_options=read_options, convert_options=convert,
                               parse_options=pacsv.ParseOptions(newlines_in_values=True))
    except pa.ArrowInvalid as exc:
        # again with a handler that notes the rows whose number of cells differs (slower: error path only)
        invalid: list[Any] = []

        def bad_row(row) -> str:
            invalid.append(row.number)
            return "skip"

        try:
            pacsv.read_csv(pa.py_buffer(data), read_options=read_options, convert_options=convert,
                           parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=bad_row))
        except pa.ArrowInvalid:
            pass
        if not invalid:
            raise _fail(path, f"不是有效的 CSV 文件({str(exc).splitlines()[0][:100]})") from None
        numbers = sorted(n for n in invalid if n is not None)[:MAX_LISTED]
        where = "、".join(f"第 {n} 行" for n in numbers) or "部分行"
        raise _fail(path, f"{where}的列数与表头({len(header)} 列)不同;请重新从问卷星导出,不要手工改动列") from None
    return table


def _check_header(path: Path, header: list[str]) -> None:
    if len(header) > MAX_COLUMNS:
        raise _fail(path, f"有 {len(header):,} 列,超过上限 {MAX_COLUMNS:,}")
    if not any(header):
        raise _fail(path, "第 1 行(表头)是空的;应为 序号、提交答卷时间、所用时间 …… 和各题的标题")
    doubles = sorted({h for h in header if h and header.count(h) > 1})
    if doubles:
        raise _fail(path, f"表头有重复的列:{'、'.join(doubles[:10])};每列的标题应唯一")


def _read_xlsx(path: Path):
    import openpyxl

    try:
        with zipfile.ZipFile(path) as archive:
            for part in archive.infolist():
                if part.file_size > MAX_PART_BYTES:
                    raise _fail(path, f"工作簿中的“{part.filename}”解压后超过 {MAX_PART_BYTES // 1024 // 1024} MB")
    except zipfile.BadZipFile:
        raise _fail(path, "工作簿已损坏;请用 Excel 打开后重新保存,或重新从问卷星导出") from None
    with path.open("rb") as handle:
        try:
            book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for damaged workbooks
            raise _fail(path, f"工作簿已损坏({type(exc).__name__});请用 Excel 打开后重新保存") from None
        try:
            sheet = book.worksheets[0]
            rows = sheet.iter_rows(values_only=True)
            first = next(rows, None)
            if first is None:
                raise _fail(path, "第一个工作表是空的")
            header = [_cell_text(v).strip() for v in first]
            while header and not header[-1]:
                header.pop()
            _check_header(path, header)
            width = len(header)
            body: list[list[str]] = []
            for values in rows:
                cells = [_cell_text(v) for v in values[:width]]
                if not any(cells):
                    continue  # an empty row (formatting left below the data)
                if len(body) >= MAX_ROWS:
                    raise _fail(path, f"答卷超过上限 {MAX_ROWS:,} 份;请分批导出")
                body.append(cells + [""] * (width - len(cells)))
        finally:
            book.close()
    import pyarrow as pa

    return pa.table({h: pa.array([cells[j] for cells in body], type=pa.string()) for j, h in enumerate(header)})


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y/%m/%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y/%m/%d 00:00:00")
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------- validation


@dataclass
class _Problems:
    """Row problems found column-wise: (position, column order, message) for the first few of each
    kind, and how many there are in all."""

    seq_text: Any  # the 序号 column (pyarrow), to name rows
    found: list[tuple[int, int, str]] = field(default_factory=list)
    total: int = 0

    def add(self, mask, order: int, column: str, message) -> None:
        """Rows where `mask` holds have a problem in `column`; `message(position)` says what."""
        mask = _numpy(mask)
        count = int(mask.sum())
        if not count:
            return
        self.total += count
        for position in np.flatnonzero(mask)[:MAX_LISTED].tolist():
            seq = _shown(self.seq_text[position].as_py(), 20) or "空"
            self.found.append((position, order,
                               f"第 {position + 2} 行(序号 {seq})“{column}”:{message(position)}"))

    def raise_if_any(self, file: str) -> None:
        if not self.total:
            return
        listed = [text for _, _, text in sorted(self.found)[:MAX_LISTED]]
        more = f"\n  …… 另有 {self.total - len(listed):,} 处问题未列出" if self.total > len(listed) else ""
        raise SurveyImportError(f"问卷星导出文件“{file}”有 {self.total:,} 处问题,未导入任何答卷:\n"
                                + "\n".join(f"  - {t}" for t in listed) + more)


def _numpy(mask) -> np.ndarray:
    """A boolean pyarrow array (null: False) or numpy array as a numpy bool array."""
    if isinstance(mask, np.ndarray):
        return mask.astype(bool, copy=False)
    import pyarrow.compute as pc

    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False).astype(bool, copy=False)


def _shown(value: Any, limit: int = 40) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _suggest(missing: str, columns: list[str]) -> str:
    number = re.match(r"^\s*(\d+)\s*[、.]", missing)
    near = [c for c in columns if number and re.match(rf"^\s*{number.group(1)}\s*[、.]", c)]
    return f"(文件中第 {number.group(1)} 题的列是“{near[0]}”)" if near else ""


def _lookup(column, table: dict[str, str]):
    """`column`'s values through `table` (pyarrow; null where a value is not a key)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = pa.array(list(table), type=pa.string())
    return pc.take(pa.array(list(table.values()), type=pa.string()), pc.index_in(column, value_set=keys))


def _objects(array) -> pd.Series:
    """A pyarrow string array as an object Series with None for nulls."""
    return pd.Series(array.to_pylist() if array is not None else [], dtype=object)


def _build(table, mapping: ExportMapping, settings: SurveySettings, key: str, file: str) -> ImportedResponses:
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = [str(c).strip() for c in table.column_names]
    table = table.rename_columns(columns)
    n = table.num_rows
    options, recognising, excluded = mapping.scale(settings)
    bad_scale = scale_problems(options, recognising, excluded)
    if bad_scale:
        raise SurveyImportError("对照文件(mapping)与设置合起来的答题选项有误:"
                                + ";".join(f"{'.'.join(k)}:{m}" for k, m in bad_scale))
    wanted = list(REQUIRED_META) + [mapping.identity.column] + mapping.items + (
        [mapping.school.column] if mapping.school else [])
    missing = [c for c in wanted if c not in columns]
    if missing:
        listed = ";".join(f"“{c}”{_suggest(c, columns)}" for c in missing[:MAX_LISTED])
        raise SurveyImportError(f"问卷星导出文件“{file}”缺少列 {listed};"
                                "请检查对照文件(mapping)中的列名是否与导出文件的表头完全一致")

    text = {c: pc.fill_null(pc.utf8_trim_whitespace(table.column(c).combine_chunks()), "")
            for c in dict.fromkeys(wanted + [c for c in (IP, SOURCE) if c in columns])}
    del table
    problems = _Problems(text[ROW_NO])
    order = {c: i for i, c in enumerate(wanted)}

    for column, values in text.items():
        problems.add(pc.greater(pc.utf8_length(values), MAX_CELL_CHARS), order.get(column, 0), column,
                     lambda p: f"内容过长,应不超过 {MAX_CELL_CHARS} 个字")

    # 序号: a positive whole number, unique
    seq_text = text[ROW_NO]
    seq_ok = _numpy(pc.match_substring_regex(seq_text, r"^\d{1,15}$"))
    problems.add(~seq_ok, order[ROW_NO], ROW_NO, lambda p: f"“{_shown(seq_text[p].as_py())}”不是有效的序号,应为正整数")
    seq = pc.cast(pc.if_else(pa.array(seq_ok), seq_text, "0"), pa.int64()).to_numpy()
    first_at = pd.Series(np.arange(n)).groupby(seq).transform("min").to_numpy() if n else np.zeros(0, int)
    doubled = seq_ok & (first_at != np.arange(n))
    problems.add(doubled, order[ROW_NO], ROW_NO,
                 lambda p: f"序号 {seq[p]} 与第 {first_at[p] + 2} 行重复,应为每份答卷唯一的序号")

    # 提交答卷时间 (pandas validates the calendar: 2026/02/30 is not a day)
    raw_time = pd.Series(text[SUBMITTED].to_numpy(zero_copy_only=False), dtype=object)
    submitted = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    for fmt in TIME_FORMATS:
        todo = submitted.isna().to_numpy() & (raw_time != "").to_numpy()
        if not todo.any():
            break
        submitted.loc[todo] = pd.to_datetime(raw_time[todo], format=fmt, errors="coerce").to_numpy()
    problems.add(submitted.isna().to_numpy(), order[SUBMITTED], SUBMITTED,
                 lambda p: (f"“{_shown(raw_time.iat[p])}”不是有效的时间" if raw_time.iat[p] else "时间为空")
                 + ",应为 年/月/日 时:分:秒(如 2026/09/03 12:00:00)")

    # 所用时间: "120秒" (also "2分30秒", or a plain number of seconds)
    raw_duration = text[DURATION]
    parts = pc.extract_regex(raw_duration, DURATION_PATTERN)
    duration_ok = _numpy(pc.is_valid(parts)) & _numpy(pc.not_equal(raw_duration, ""))
    seconds = np.zeros(n)
    for name, factor in (("h", 3600), ("m", 60), ("s", 1)):
        part = pc.struct_field(parts, name)
        number = pc.cast(pc.if_else(pc.equal(pc.fill_null(part, ""), ""), "0", part), pa.float64())
        seconds += pc.fill_null(number, 0).to_numpy(zero_copy_only=False) * factor
    problems.add(~duration_ok, order[DURATION], DURATION,
                 lambda p: (f"“{_shown(raw_duration[p].as_py())}”不是有效的用时" if raw_duration[p].as_py()
                            else "用时为空") + ",应为秒数(如 120秒)")

    # identity → group
    identity = mapping.identity
    who = text[identity.column]
    group = _lookup(who, identity.values)
    expected = "、".join(identity.values)
    problems.add(pc.is_null(group), order[identity.column], identity.column,
                 lambda p: (f"“{_shown(who[p].as_py())}”不在对照文件的身份选项中" if who[p].as_py() else "身份为空")
                 + f",应为 {expected} 之一")

    # school → school_id (optional; blank allowed: not every respondent belongs to a school)
    school_id = pa.nulls(n, pa.string())
    if mapping.school is not None:
        where = text[mapping.school.column]
        given = pc.not_equal(where, "")
        if mapping.school.values is not None:
            school_id = _lookup(where, mapping.school.values)
            names = "、".join(list(mapping.school.values)[:10]) + ("等" if len(mapping.school.values) > 10 else "")
            problems.add(pc.and_(pc.is_null(school_id), given), order[mapping.school.column], mapping.school.column,
                         lambda p: f"“{_shown(where[p].as_py())}”不在对照文件的学校中,应为 {names} 之一")
        else:
            school_id = pc.if_else(given, where, pa.scalar(None, pa.string()))

    # scored items → option codes
    scale = "、".join(options)
    blanks = pa.array(sorted(BLANKS), type=pa.string())
    option_set = pa.array(options, type=pa.string())
    codes = {}
    for column in mapping.items:
        answers = text[column]
        blank = _numpy(pc.is_in(answers, value_set=blanks))
        multi = _numpy(pc.match_substring(answers, MULTI_SEPARATOR))
        code = pc.fill_null(pc.index_in(answers, value_set=option_set), BLANK_CODE).to_numpy(
            zero_copy_only=False).astype(np.int8)
        problems.add(multi, order[column], column,
                     lambda p, a=answers: f"“{_shown(a[p].as_py())}”是多选的答案,应为 {scale} 中的一项")
        problems.add((code < 0) & ~blank & ~multi, order[column], column,
                     lambda p, a=answers: f"“{_shown(a[p].as_py())}”不是答题选项,应为 {scale} 之一(或空白)")
        code[blank] = BLANK_CODE
        codes[column] = code

    problems.raise_if_any(file)

    # IP addresses: hashed at once ("1.2.3.4(山东-济南)" → the address part); never kept
    ip_hash = pa.nulls(n, pa.string())
    if IP in text:
        address = pc.struct_field(pc.extract_regex(text.pop(IP), r"^(?P<ip>[^\s((]+)"), "ip")
        unique = pc.unique(pc.drop_null(address))
        digest = keyed_hasher(key)
        hashes = [digest(a) for a in unique.to_pylist()]
        ip_hash = pc.take(pa.array(hashes, type=pa.string()), pc.index_in(address, value_set=unique))
        del address, unique
    source = text[SOURCE] if SOURCE in text else pa.nulls(n, pa.string())

    rows = pd.DataFrame({
        "row": seq,
        "submitted_at": submitted.to_numpy(),
        "seconds": seconds,
        "source": _objects(source),
        "ip_hash": _objects(ip_hash),
        "group": _objects(group),
        "school_id": _objects(school_id),
    })
    code_frame = pd.DataFrame(codes, columns=mapping.items) if codes else pd.DataFrame(index=range(n))
    return ImportedResponses(file=file, rows=rows, codes=code_frame, items=list(mapping.items),
                             options=options, recognising=recognising, excluded=excluded)


__all__ = ["ExportMapping", "ImportedResponses", "SurveyImportError", "load_mapping", "read_export", "score_report",
           "META_COLUMNS", "BLANK_CODE"]

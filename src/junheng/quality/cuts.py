"""Cut scores (分数线) per subject and grade: the scores at which levels Ⅱ, Ⅲ and Ⅳ begin.

A cut file is a CSV (UTF-8, with or without BOM, or GB18030) or a YAML file with one row per
subject and grade: subject, grade, level_2, level_3, level_4 (headers as these keys or as the
Chinese labels 学科, 年级, Ⅱ级 (or 二级), Ⅲ级 (三级), Ⅳ级 (四级)). A score equal to a cut belongs
to the higher level; a score below level_2 is level Ⅰ. Every problem is reported at once, with
the file, the row (CSV: the header is row 1; YAML: the entry's number) and the column.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from junheng.quality import QualityError

if TYPE_CHECKING:
    import ibis

MAX_BYTES = 1024 * 1024  # a cut table is a few dozen rows
MAX_ROWS = 2000
MAX_TEXT = 50  # characters of a subject name
MAX_SCORE = 1000.0  # the scores import bounds scores the same way
GRADES = range(1, 10)  # compulsory education: grades 1–9
MAX_PROBLEMS = 50

COLUMNS = ("subject", "grade", "level_2", "level_3", "level_4")
LABELS = {"subject": "学科", "grade": "年级", "level_2": "Ⅱ级", "level_3": "Ⅲ级", "level_4": "Ⅳ级"}
_HEADER_ALIASES = {
    **{key: key for key in COLUMNS},
    **{label: key for key, label in LABELS.items()},
    "二级": "level_2", "三级": "level_3", "四级": "level_4",
    "Ⅱ级分数线": "level_2", "Ⅲ级分数线": "level_3", "Ⅳ级分数线": "level_4",
}
LEVEL_COLUMNS = ("level_2", "level_3", "level_4")


@dataclass(frozen=True)
class Cut:
    subject: str
    grade: int
    level_2: float
    level_3: float
    level_4: float

    def level_of(self, score: float) -> int:
        """The level (1–4) of one score: a score equal to a cut is in the higher level."""
        return 1 + sum(score >= cut for cut in (self.level_2, self.level_3, self.level_4))


@dataclass(frozen=True)
class CutScores:
    cuts: tuple[Cut, ...]
    source: str = ""  # the file they were read from (for messages)

    def __post_init__(self) -> None:
        problems = []
        seen: set[tuple[str, int]] = set()
        for i, cut in enumerate(self.cuts, 1):
            values = (cut.level_2, cut.level_3, cut.level_4)
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
                problems.append(f"第 {i} 条({cut.subject} {cut.grade} 年级):分数线应为有限的数")
            elif not cut.level_2 < cut.level_3 < cut.level_4:
                problems.append(f"第 {i} 条({cut.subject} {cut.grade} 年级):分数线应满足 Ⅱ级 < Ⅲ级 < Ⅳ级")
            if (cut.subject, cut.grade) in seen:
                problems.append(f"第 {i} 条:{cut.subject} {cut.grade} 年级的分数线重复")
            seen.add((cut.subject, cut.grade))
        if problems:
            raise QualityError(f"分数线有误{'(' + self.source + ')' if self.source else ''}:", problems)

    def get(self, subject: str, grade: int) -> Cut | None:
        return next((c for c in self.cuts if c.subject == subject and c.grade == grade), None)

    def table(self) -> "ibis.Table":
        """The cuts as an Ibis table (subject string, grade int64, level_2..level_4 float64); one
        memtable per CutScores, however many expressions join it."""
        return self._table

    @cached_property
    def _table(self) -> "ibis.Table":
        import ibis
        import pyarrow as pa

        arrow = pa.table({
            "subject": pa.array([c.subject for c in self.cuts], pa.string()),
            "grade": pa.array([c.grade for c in self.cuts], pa.int64()),
            **{col: pa.array([float(getattr(c, col)) for c in self.cuts], pa.float64()) for col in LEVEL_COLUMNS},
        })
        return ibis.memtable(arrow)


def read_cuts(path: Path | str) -> CutScores:
    """The cut scores of a CSV or YAML file; QualityError naming every problem otherwise."""
    path = Path(path)
    name = path.name
    if path.suffix.lower() not in (".csv", ".yaml", ".yml"):
        raise QualityError(f"分数线文件“{name}”应为 .csv、.yaml 或 .yml 文件")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise QualityError(f"分数线文件“{name}”过大({size // 1024} KB),最多 {MAX_BYTES // 1024} KB")
        raw = path.read_bytes()
    except OSError as exc:
        raise QualityError(f"无法读取分数线文件“{name}”({exc.strerror or exc})") from None
    if path.suffix.lower() == ".csv":
        rows = _csv_rows(raw, name)
    else:
        rows = _yaml_rows(raw, name)
    return _parse(rows, name)


def _decode(raw: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise QualityError(f"分数线文件“{name}”的编码无法识别,应为 UTF-8 或 GB18030")


def _csv_rows(raw: bytes, name: str) -> list[tuple[str, dict[str, Any]]]:
    """(where, {column: value}) per data row; the header mapped to the column keys."""
    text = _decode(raw, name)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise QualityError(f"分数线文件“{name}”是空的;第 1 行应为表头:{'、'.join(LABELS.values())}") from None
    except csv.Error as exc:
        raise QualityError(f"分数线文件“{name}”不是合法的 CSV({exc})") from None
    keys = _header_keys([h.strip() for h in header], name, "第 1 行")
    rows = []
    try:
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= MAX_ROWS:
                raise QualityError(f"分数线文件“{name}”行数过多,最多 {MAX_ROWS} 行")
            if len(record) > len(keys):
                raise QualityError(f"分数线文件“{name}”第 {number} 行的单元格多于表头的列")
            rows.append((f"第 {number} 行", {key: (record[i] if i < len(record) else "")
                                              for i, key in enumerate(keys)}))
    except csv.Error as exc:
        raise QualityError(f"分数线文件“{name}”不是合法的 CSV({exc})") from None
    return rows


def _header_keys(headers: list[str], name: str, where: str) -> list[str]:
    problems = []
    keys = []
    for header in headers:
        key = _HEADER_ALIASES.get(header)
        if key is None:
            problems.append(f"{where} 列“{header[:MAX_TEXT]}”:未知的列")
        elif key in keys:
            problems.append(f"{where} 列“{header}”:重复的列")
        keys.append(key or header)
    for key in COLUMNS:
        if key not in keys:
            problems.append(f"{where}:缺少列“{LABELS[key]}”({key})")
    if problems:
        raise QualityError(f"分数线文件“{name}”有误(应有列:{'、'.join(f'{LABELS[k]}({k})' for k in COLUMNS)}):",
                           problems)
    return keys


def _yaml_rows(raw: bytes, name: str) -> list[tuple[str, dict[str, Any]]]:
    import yaml

    from junheng import safe_yaml

    try:
        data = safe_yaml.load(_decode(raw, name))
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        mark = getattr(exc, "problem_mark", None)
        line = f"第 {mark.line + 1} 行:" if mark is not None else ""
        raise QualityError(f"分数线文件“{name}”不是合法的 YAML:{line}{problem}") from None
    if isinstance(data, dict) and set(data) == {"cuts"}:
        data = data["cuts"]
    if not isinstance(data, list):
        raise QualityError(f"分数线文件“{name}”应为一个列表(或 cuts: 下的列表),每项一个学科和年级:"
                           "{subject: 数学, grade: 8, level_2: 40, level_3: 60, level_4: 80}")
    if len(data) > MAX_ROWS:
        raise QualityError(f"分数线文件“{name}”条目过多,最多 {MAX_ROWS} 条")
    rows = []
    problems = []
    for number, entry in enumerate(data, start=1):
        where = f"第 {number} 条"
        if not isinstance(entry, dict):
            problems.append(f"{where}:应为键值映射(subject、grade、level_2、level_3、level_4)")
            continue
        mapped = {}
        for key, value in entry.items():
            column = _HEADER_ALIASES.get(str(key))
            if column is None:
                problems.append(f"{where} 键“{str(key)[:MAX_TEXT]}”:未知的键")
            else:
                mapped[column] = value
        missing = [k for k in COLUMNS if k not in mapped]
        if missing:
            problems.append(f"{where}:缺少 {'、'.join(f'{LABELS[k]}({k})' for k in missing)}")
            continue
        rows.append((where, mapped))
    if problems:
        raise QualityError(f"分数线文件“{name}”有误:", problems[:MAX_PROBLEMS])
    return rows


def _parse(rows: list[tuple[str, dict[str, Any]]], name: str) -> CutScores:
    problems: list[str] = []
    cuts: list[Cut] = []
    first_row: dict[tuple[str, int], str] = {}
    for where, row in rows:
        bad = len(problems)
        subject = row["subject"]
        subject = "" if subject is None else str(subject).strip()
        if not subject:
            problems.append(f"{where} 列“学科”(subject):不能为空")
        elif len(subject) > MAX_TEXT:
            problems.append(f"{where} 列“学科”(subject):过长(最多 {MAX_TEXT} 个字)")
        elif "/" in subject:
            problems.append(f"{where} 列“学科”(subject):取值“{subject}”不能含“/”(结果以 县区/学科/年级 为键)")
        grade = _integer(row["grade"])
        if grade is None or grade not in GRADES:
            problems.append(f"{where} 列“年级”(grade):取值“{_shown(row['grade'])}”无效,应为 1 到 9 的整数")
        values = {}
        for column in LEVEL_COLUMNS:
            value = _number(row[column])
            if value is None or not 0 <= value <= MAX_SCORE:
                problems.append(f"{where} 列“{LABELS[column]}”({column}):取值“{_shown(row[column])}”无效,"
                                f"应为 0 到 {MAX_SCORE:g} 之间的数")
            values[column] = value
        if len(problems) == bad:
            if not values["level_2"] < values["level_3"] < values["level_4"]:
                problems.append(f"{where}:分数线应满足 Ⅱ级 < Ⅲ级 < Ⅳ级,实际为 {values['level_2']:g}、"
                                f"{values['level_3']:g}、{values['level_4']:g}")
            elif (subject, grade) in first_row:
                problems.append(f"{where}:{subject} {grade} 年级的分数线与{first_row[(subject, grade)]}重复")
            else:
                first_row[(subject, grade)] = where
                cuts.append(Cut(subject, grade, values["level_2"], values["level_3"], values["level_4"]))
        if len(problems) >= MAX_PROBLEMS:
            problems.append(f"问题过多,只列出前 {MAX_PROBLEMS} 个")
            break
    if problems:
        raise QualityError(f"分数线文件“{name}”有误:", problems)
    if not cuts:
        raise QualityError(f"分数线文件“{name}”中没有任何分数线")
    return CutScores(tuple(cuts), source=name)


def _shown(value: Any) -> str:
    return "" if value is None else str(value)[:MAX_TEXT]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = "" if value is None else str(value).strip()
        if not text or len(text) > 30:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    if number is None or number != int(number):
        return None
    return int(number)

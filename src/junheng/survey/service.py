"""A stored survey imported into, scored and exported from the workspace (issue 14, items 5–7):
what the CLI (`junheng survey import / result / responses`) and the web pages call.

- `import_responses`: a 问卷星 export (junheng.survey.exports.read_export, validated whole) into
  the survey's store as SurveyResponse rows (source "import", `row` = 序号), all or nothing; the
  mapping, the file's name and SHA-256 are kept in `survey.settings["imports"]` so the result can
  be reproduced. Draft and open surveys accept imports, a closed one refuses (its result is
  being reported: a closed survey changes no more).
- `score_survey`: every submitted response (web and imported) → the quality checks
  (junheng.survey.checks.exclusions, the survey's frozen settings and its quotas) → the rates
  (junheng.survey.scoring.score_frames) → a recorded SurveyResult. The stored rows are turned
  back into B's `ImportedResponses`, one per block of responses sharing items and scale (a web
  questionnaire; the imports with the same columns and scale), and each block's
  `scoring_frames` feed one scoring: there is no second checking or scoring path.
- `responses_table` / `write_responses`: the anonymised response table (no IP hash, no code, no
  internal id) as CSV (UTF-8 with BOM) or XLSX, every cell text safe (junheng.spreadsheets).
- `result_summary`: a recorded result as plain data for pages and reports, weakest first.

Item keys: a web answer's item is "questionnaire-id/item-id", an imported one its column heading;
`item_labels` names both. Response numbers shown to people: an import's 序号, a web response's
number in submission order (1, 2, ... per survey); `source` says which.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from junheng.errors import JunhengError
from junheng.store.models import AuditEntry, School, Survey, SurveyResponse, SurveyResult, User, utcnow
from junheng.survey import collection
from junheng.survey.checks import Exclusion, exclusions, summary
from junheng.survey.exports import BLANK_CODE, ExportMapping, ImportedResponses, read_export
from junheng.survey.groups import GROUPS, group_label
from junheng.survey.settings import SurveySettings

BEIJING = ZoneInfo("Asia/Shanghai")
IMPORTS_KEY = "imports"  # survey.settings[IMPORTS_KEY]: the imports' records (not a SurveySettings key)
MAX_IMPORT_ROWS = 200_000  # one county's survey: 1.5‰ of a few million residents is a few thousand
MAX_IMPORTS = 500
MAX_LISTED = 20
SOURCE_LABELS = {"web": "网页", "import": "导入"}
IMPORT_PREFIX = "import:"  # SurveyResponse.questionnaire of an imported row: "import:<n>", n its import's number


class SurveyServiceError(JunhengError):
    """A refused import, scoring or export of a stored survey (Chinese message)."""


# ---------------------------------------------------------------- the survey's frozen settings


def survey_settings(survey: Survey) -> SurveySettings:
    """The settings the survey froze (without the imports' records kept beside them)."""
    frozen = {k: v for k, v in (survey.settings or {}).items() if k != IMPORTS_KEY}
    return SurveySettings.from_frozen(frozen)


def imports_of(survey: Survey) -> list[dict]:
    """The survey's import records, in order: number, file, sha256, mapping, rows, scale, at, by."""
    return list((survey.settings or {}).get(IMPORTS_KEY) or [])


# ---------------------------------------------------------------- import


@dataclass(frozen=True)
class ImportSummary:
    survey_id: int
    number: int  # the import's number within the survey (1, 2, ...)
    file: str
    sha256: str
    rows: int
    groups: dict[str, int]  # group → rows
    with_school: int  # rows naming a school
    first_row: int | None  # smallest 序号
    last_row: int | None


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _rows_text(numbers: Sequence[int]) -> str:
    shown = "、".join(str(n) for n in list(numbers)[:MAX_LISTED])
    return shown + (f" 等 {len(numbers)} 份" if len(numbers) > MAX_LISTED else "")


def _to_utc(values: pd.Series) -> list[datetime]:
    """问卷星's submission times (Beijing, naive) as aware UTC datetimes."""
    stamps = pd.to_datetime(values).dt.tz_localize(BEIJING).dt.tz_convert(timezone.utc)
    return [s.to_pydatetime() for s in stamps]


def import_responses(session: Session, survey: Survey, path: Path | str, mapping: ExportMapping, *, secret: str,
                     user: User | None, via: str) -> ImportSummary:
    """Import a 问卷星 export into the survey; all or nothing (a SurveyImportError or
    SurveyServiceError in Chinese, nothing added). Refused: a closed survey, a file imported
    before, a 序号 the survey has already, a school code that is not one of the county's schools."""
    path = Path(path)
    if survey.status == "closed":
        raise SurveyServiceError(f"调查“{survey.title}”已结束,不能再导入答卷;结束前导入的答卷已保留")
    records = imports_of(survey)
    if len(records) >= MAX_IMPORTS:
        raise SurveyServiceError(f"调查“{survey.title}”已导入 {len(records)} 个文件,达到上限 {MAX_IMPORTS}")
    settings = survey_settings(survey)
    imported = read_export(path, mapping, settings, key=secret)  # validated whole; IP addresses hashed at once
    n = len(imported)
    if n == 0:
        raise SurveyServiceError(f"问卷星导出文件“{path.name}”中没有答卷")
    if n > MAX_IMPORT_ROWS:
        raise SurveyServiceError(f"问卷星导出文件“{path.name}”有 {n:,} 份答卷,超过一次调查的上限 {MAX_IMPORT_ROWS:,} 份")
    sha = _sha256(path)
    same = next((r for r in records if r.get("sha256") == sha), None)
    if same is not None:
        raise SurveyServiceError(f"文件“{path.name}”已于 {_beijing(same.get('at'))} 导入本调查"
                                 f"(第 {same.get('number')} 次导入,{same.get('rows')} 份答卷),不能重复导入")
    rows = imported.rows
    numbers = rows["row"].to_numpy(dtype=np.int64)
    existing = set(session.scalars(select(SurveyResponse.row).where(
        SurveyResponse.survey_id == survey.id, SurveyResponse.source == "import", SurveyResponse.row.is_not(None))))
    doubled = sorted(int(x) for x in numbers if int(x) in existing)
    if doubled:
        raise SurveyServiceError(f"问卷星导出文件“{path.name}”中序号 {_rows_text(doubled)} 的答卷已导入本调查,"
                                 "未导入任何答卷;同一份答卷不能导入两次(请只导出新的答卷,或检查是否选错了文件)")

    # school codes → the county's schools
    schools = {s.code: s.id for s in session.scalars(select(School).where(School.county_id == survey.county_id,
                                                                          School.deleted_at.is_(None)))}
    codes = rows["school_id"].to_numpy(dtype=object)
    unknown = [(int(numbers[i]), codes[i]) for i in range(n) if codes[i] is not None and codes[i] not in schools]
    if unknown:
        column = mapping.school.column if mapping.school is not None else "学校"
        county = collection.county_of(session, survey)
        listed = "\n".join(f"  - 序号 {row}“{column}”:学校标识码“{str(code)[:40]}”不是{county.name}的学校"
                           for row, code in unknown[:MAX_LISTED])
        more = f"\n  …… 另有 {len(unknown) - MAX_LISTED} 份答卷的学校不在本县区" if len(unknown) > MAX_LISTED else ""
        raise SurveyServiceError(f"问卷星导出文件“{path.name}”有 {len(unknown)} 份答卷的学校不是本县区的学校,"
                                 f"未导入任何答卷:\n{listed}{more}\n对照文件(mapping)中 school.values 应把学校的答案"
                                 "对应到学校标识码(见 junheng survey plan 的学校名单)")

    number = (max((int(r.get("number") or 0) for r in records), default=0)) + 1
    questionnaire_key = f"{IMPORT_PREFIX}{number}"
    submitted = _to_utc(rows["submitted_at"])
    seconds = rows["seconds"].to_numpy(dtype=float)
    groups = rows["group"].to_numpy(dtype=object)
    hashes = rows["ip_hash"].to_numpy(dtype=object)
    code_matrix = imported.codes.to_numpy() if imported.items else np.zeros((n, 0), np.int8)
    options, items = imported.options, imported.items
    values = []
    for i in range(n):
        answers = {item: options[c] for item, c in zip(items, code_matrix[i].tolist()) if c != BLANK_CODE}
        values.append({"survey_id": survey.id, "source": "import", "row": int(numbers[i]), "group": groups[i],
                       "school_id": schools.get(codes[i]) if codes[i] is not None else None,
                       "questionnaire": questionnaire_key, "answers": answers, "started_at": submitted[i],
                       "submitted_at": submitted[i], "seconds": float(seconds[i]), "ip_hash": hashes[i]})
    for start in range(0, n, 5000):
        session.execute(insert(SurveyResponse), values[start:start + 5000])

    record = {"number": number, "file": path.name, "sha256": sha, "rows": n, "mapping": mapping.model_dump(mode="json"),
              "items": list(items), "options": list(options), "recognising": list(imported.recognising),
              "excluded": list(imported.excluded), "at": utcnow().isoformat(), "by": user.username if user else None}
    # a new dict: the JSON column sees the change
    survey.settings = {**(survey.settings or {}), IMPORTS_KEY: [*records, record]}
    by_group = {g: int(c) for g, c in pd.Series(groups).value_counts().items()}
    by_group = {g: by_group[g] for g in GROUPS if g in by_group}
    session.add(AuditEntry(user_id=user.id if user else None, via=via, entity="survey", entity_key=str(survey.id),
                           county_id=survey.county_id, field="import", old=None,
                           new={"number": number, "file": path.name, "sha256": sha, "rows": n},
                           note=f"导入问卷星导出文件“{path.name}”({n} 份答卷)"))
    session.flush()
    return ImportSummary(survey_id=survey.id, number=number, file=path.name, sha256=sha, rows=n, groups=by_group,
                         with_school=int(sum(1 for c in codes if c is not None)),
                         first_row=int(numbers.min()), last_row=int(numbers.max()))


def _beijing(iso: str | None) -> str:
    if not iso:
        return "此前"
    when = datetime.fromisoformat(iso)
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------- stored rows as B's ImportedResponses


@dataclass
class _Block:
    """Responses sharing items and scale, as B's ImportedResponses (rows' `row` = shown number,
    `school_id` = school code)."""

    source: str
    data: ImportedResponses
    responses: list[SurveyResponse]
    prefix: str = ""  # a web block's "questionnaire-id/": its stored answers are keyed by item id
    found: list[Exclusion] = field(default_factory=list)

    def answer(self, response: SurveyResponse, key: str) -> str:
        """The response's answer to the item `key` as text ("" blank or not asked)."""
        if self.prefix and not key.startswith(self.prefix):
            return ""
        return (response.answers or {}).get(key[len(self.prefix):]) or ""


@dataclass
class _Stored:
    blocks: list[_Block]
    labels: dict[str, str]  # item key → question text
    order: list[str]  # item keys in questionnaire / column order
    schools: dict[int, School]
    numbers: dict[int, int]  # SurveyResponse.id → shown number


def _label_of_heading(heading: str) -> str:
    """"2、您对……是否满意" → "您对……是否满意"."""
    return re.sub(r"^\s*\d+\s*[、.．]\s*", "", heading) or heading


def _stored(session: Session, survey: Survey) -> _Stored:
    responses = collection.list_responses(session, survey)  # submitted only
    schools = {s.id: s for s in session.scalars(select(School).where(School.county_id == survey.county_id))}
    web = sorted((r for r in responses if r.source != "import"), key=lambda r: (_aware(r.submitted_at), r.id))
    numbers = {r.id: i for i, r in enumerate(web, start=1)}
    numbers.update({r.id: int(r.row) for r in responses if r.source == "import"})
    labels: dict[str, str] = {}
    order: list[str] = []
    blocks: list[_Block] = []

    by_questionnaire: dict[str, list[SurveyResponse]] = {}
    for r in web:
        by_questionnaire.setdefault(r.questionnaire, []).append(r)
    for qid in sorted(by_questionnaire):
        q = collection.questionnaire(survey, qid)
        scored = [item for item in collection.items_of(q) if item.get("scored", True)]
        keys = [f"{qid}/{item['id']}" for item in scored]
        for item, key in zip(scored, keys):
            labels[key] = item.get("text") or item["id"]
        order += keys
        rows = by_questionnaire[qid]
        answers = [{f"{qid}/{k}": v for k, v in (r.answers or {}).items()} for r in rows]
        blocks.append(_Block("web", _imported(f"问卷 {qid}", rows, answers, keys, list(q.get("options") or []),
                                              list(q.get("recognising") or []), list(q.get("excluded") or []),
                                              numbers, schools), rows, prefix=f"{qid}/"))

    records = {f"{IMPORT_PREFIX}{r.get('number')}": r for r in imports_of(survey)}
    by_scale: dict[tuple, list[SurveyResponse]] = {}
    scales: dict[tuple, dict] = {}
    for r in responses:
        if r.source != "import":
            continue
        record = records.get(r.questionnaire)
        if record is None:
            raise SurveyServiceError(f"调查“{survey.title}”的导入答卷(序号 {r.row})找不到其导入记录;请重新导入")
        key = (tuple(record["items"]), tuple(record["options"]), tuple(record["recognising"]),
               tuple(record["excluded"]))
        by_scale.setdefault(key, []).append(r)
        scales[key] = record
    for key, rows in by_scale.items():
        record = scales[key]
        items = list(record["items"])
        for heading in items:
            if heading not in labels:
                labels[heading] = _label_of_heading(heading)
                order.append(heading)
        rows.sort(key=lambda r: r.row)
        blocks.append(_Block("import", _imported(record["file"], rows, [r.answers or {} for r in rows], items,
                                                 list(record["options"]), list(record["recognising"]),
                                                 list(record["excluded"]), numbers, schools), rows))
    return _Stored(blocks, labels, order, schools, numbers)


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return datetime.min.replace(tzinfo=timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _imported(file: str, rows: list[SurveyResponse], answers: list[dict], items: list[str], options: list[str],
              recognising: list[str], excluded: list[str], numbers: dict[int, int],
              schools: dict[int, School]) -> ImportedResponses:
    """Stored responses as B's ImportedResponses: the checks and scoring_frames read them as they
    read an export."""
    position = {o: i for i, o in enumerate(options)}
    codes = np.full((len(rows), len(items)), BLANK_CODE, dtype=np.int8)
    for i, given in enumerate(answers):
        for j, item in enumerate(items):
            option = given.get(item)
            if option is None or option == "":
                continue
            if option not in position:
                raise SurveyServiceError(f"{file}中第 {numbers[rows[i].id]} 份答卷的“{item}”答案“{str(option)[:40]}”"
                                         f"不是问卷的选项(应为 {'、'.join(options)} 之一)")
            codes[i, j] = position[option]
    frame = pd.DataFrame({
        "row": np.array([numbers[r.id] for r in rows], dtype=np.int64),
        "submitted_at": pd.Series([_aware(r.submitted_at) for r in rows], dtype=object),
        "seconds": np.array([float(r.seconds) if r.seconds is not None else 0.0 for r in rows]),
        "source": pd.Series([r.source for r in rows], dtype=object),
        "ip_hash": pd.Series([r.ip_hash for r in rows], dtype=object),
        "group": pd.Series([r.group for r in rows], dtype=object),
        "school_id": pd.Series([schools[r.school_id].code if r.school_id in schools else None for r in rows],
                               dtype=object),
    })
    return ImportedResponses(file=file, rows=frame, codes=pd.DataFrame(codes, columns=items), items=list(items),
                             options=options, recognising=recognising, excluded=excluded)


def _check(session: Session, survey: Survey, settings: SurveySettings, stored: _Stored) -> None:
    """The quality checks of every block (the survey's quotas, when it has any)."""
    quotas = collection.quotas_of(session, survey)
    pairs = [(q.group, q.school.code if q.school is not None else None) for q in quotas] if quotas else None
    for block in stored.blocks:
        block.found = exclusions(block.data, settings, quotas=pairs)


# ---------------------------------------------------------------- scoring


def score_survey(session: Session, survey: Survey, *, user: User | None, via: str = "cli") -> SurveyResult:
    """Score every submitted response of the survey and record the result (not yet applied)."""
    from junheng.survey.scoring import score_frames

    settings = survey_settings(survey)
    stored = _stored(session, survey)
    total = sum(len(b.data) for b in stored.blocks)
    if not total:
        raise SurveyServiceError(f"调查“{survey.title}”还没有已提交的答卷:请先收集答卷(网页作答)或导入问卷星导出文件"
                                 "(junheng survey import)")
    _check(session, survey, settings, stored)

    # each block's scoring tables (B's scoring_frames), respondents renumbered across blocks, items by key
    response_parts, answer_parts, start = [], [], 0
    for block in stored.blocks:
        dropped = {e.row for e in block.found if e.excluded}
        keep = ~block.data.rows["row"].isin(dropped).to_numpy()
        responses, answers = block.data.scoring_frames(keep)
        ids = pd.Series(np.arange(start, start + len(responses), dtype=np.int64),
                        index=responses["response_id"].to_numpy())
        start += len(responses)
        responses = responses.assign(response_id=ids.to_numpy())
        heading = dict(zip(map(str, range(len(block.data.items))), block.data.items))
        answers = pd.DataFrame({"response_id": ids.reindex(answers["response_id"].to_numpy()).to_numpy(dtype=np.int64),
                                "item": pd.Series(answers["item"].astype(str).map(heading).to_numpy(), dtype=object),
                                "outcome": answers["outcome"].to_numpy(dtype=np.int8)})
        response_parts.append(responses)
        answer_parts.append(answers)
    responses = pd.concat(response_parts, ignore_index=True)
    answers = pd.concat(answer_parts, ignore_index=True)
    result = score_frames(responses, answers, group_weights=settings.scoring.group_weights,
                          confidence=settings.scoring.confidence)

    # the JSON of `junheng survey score --format json` (exports.score_report), for the stored survey
    report = result.to_json()
    report["item_details"] = report["items"]
    report["items"] = {item: rate["rate"] for item, rate in report["item_details"].items()}
    found = [(block.source, e) for block in stored.blocks for e in block.found]
    excluded = [{**e.to_json(), "source": source} for source, e in found if e.excluded]
    flagged = [{**e.to_json(), "source": source} for source, e in found if not e.excluded]
    codes = {s.code: s.name for s in stored.schools.values()}
    imports = imports_of(survey)
    report.update({
        "file": "、".join(r["file"] for r in imports) or None,
        "excluded": excluded,
        "flagged": flagged,
        "counts": {"rows": total, "valid": total - len(excluded), "excluded": len(excluded), "flagged": len(found),
                   "by_reason": summary([e for _, e in found])},
        "scale": {"options": settings.scale.options, "recognising": settings.scale.recognising,
                  "excluded": settings.scale.excluded},
        "item_labels": {key: stored.labels[key] for key in stored.order},
        "item_order": list(stored.order),
        "school_names": {code: codes[code] for code in report["schools"] if code in codes},
        "sources": {"web": sum(len(b.data) for b in stored.blocks if b.source == "web"),
                    "import": sum(len(b.data) for b in stored.blocks if b.source == "import")},
        "survey": {"id": survey.id, "title": survey.title, "year": survey.year},
        "imports": [{"number": r.get("number"), "file": r.get("file"), "sha256": r.get("sha256"),
                     "rows": r.get("rows")} for r in imports],
    })
    recorded = collection.record_result(session, survey, report, user=user)
    session.add(AuditEntry(user_id=user.id if user else None, via=via,
                           entity="survey", entity_key=str(survey.id), county_id=survey.county_id, field="result",
                           old=None, new={"result_id": recorded.id, "rate": recorded.rate},
                           note=f"计算调查结果(有效答卷 {total - len(excluded)} 份,排除 {len(excluded)} 份)"))
    session.flush()
    return recorded


# ---------------------------------------------------------------- the anonymised response table


def responses_table(session: Session, survey: Survey) -> tuple[list[str], list[list[Any]]]:
    """Every submitted response, anonymised: number (序号 or web number), source, group, school,
    submitted (Beijing), seconds, one column per scored item (the option as answered), excluded
    and why. No IP hash, no access code, no internal id."""
    settings = survey_settings(survey)
    stored = _stored(session, survey)
    _check(session, survey, settings, stored)
    headings = [stored.labels[key] for key in stored.order]
    seen: dict[str, int] = {}
    for h in headings:
        seen[h] = seen.get(h, 0) + 1
    headings = [h if seen[h] == 1 else f"{h}({key})" for h, key in zip(headings, stored.order)]
    columns = ["序号", "来源", "人员类别", "学校", "提交时间(北京时间)", "用时(秒)", *headings, "是否排除", "排除原因"]
    rows: list[list[Any]] = []
    for block in sorted(stored.blocks, key=lambda b: b.source != "import"):
        flagged = {e.row: e for e in block.found}
        for response in block.responses:
            number = stored.numbers[response.id]
            school = stored.schools.get(response.school_id)
            e = flagged.get(number)
            rows.append([number, SOURCE_LABELS.get(response.source, response.source), group_label(response.group),
                         school.name if school is not None else "",
                         _aware(response.submitted_at).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
                         round(float(response.seconds), 1) if response.seconds is not None else None,
                         *[block.answer(response, key) for key in stored.order],
                         ("是" if e.excluded else "否(仅标记)") if e is not None else "否",
                         e.message if e is not None else ""])
    rows.sort(key=lambda r: (r[1] != SOURCE_LABELS["import"], r[0]))
    return columns, rows


def write_responses(path: Path | str, columns: list[str], rows: list[list[Any]]) -> None:
    """The table as .csv (UTF-8 with BOM: Excel and WPS read it) or .xlsx; a formula-like text stays text."""
    from junheng.spreadsheets import csv_row, literal_row

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise SurveyServiceError(f"不支持的文件类型“{path.suffix or '(无)'}”:答卷表可存为 .csv 或 .xlsx")
    if not path.parent.exists():
        raise SurveyServiceError(f"输出文件夹 {path.parent} 不存在")
    try:
        if suffix == ".csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(csv_row(columns))
            for row in rows:
                writer.writerow(csv_row("" if v is None else v for v in row))
            path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
        else:
            from openpyxl import Workbook

            book = Workbook(write_only=True)
            sheet = book.create_sheet("答卷")
            sheet.append(literal_row(sheet, columns))
            for row in rows:
                sheet.append(literal_row(sheet, row))
            book.save(path)
    except OSError as exc:
        raise SurveyServiceError(f"无法写入 {path}:{exc.strerror}(文件可能正被其他程序打开)") from None


# ---------------------------------------------------------------- a result as plain data


def _weakest(entries: list[dict]) -> list[dict]:
    return sorted(entries, key=lambda e: (e["rate"] is None, e["rate"] if e["rate"] is not None else 0))


def _rate(rate: dict) -> dict:
    low, high = rate.get("ci_low"), rate.get("ci_high")
    return {"rate": rate.get("rate"), "ci_low": low, "ci_high": high,
            "ci": [low, high] if low is not None and high is not None else None,
            "respondents": int(rate.get("respondents") or 0), "answers": int(rate.get("answers") or 0)}


def result_summary(result: SurveyResult) -> dict[str, Any]:
    """What pages and reports show of a recorded result (rates as fractions 0–1): overall with
    its interval, groups, items and schools weakest first (label, rate, ci, respondents,
    answers), every exclusion (row, source, reason), the counts."""
    data = result.result or {}
    labels = data.get("item_labels") or {}
    names = data.get("school_names") or {}
    details = data.get("item_details") or {}
    groups = [{"key": g, "label": group_label(g), **_rate(r)} for g, r in (data.get("groups") or {}).items()]
    items = [{"key": k, "label": labels.get(k, k), **_rate(r)} for k, r in details.items()]
    schools = [{"code": c, "name": names.get(c, c), **_rate(r)} for c, r in (data.get("schools") or {}).items()]
    return {
        "result_id": result.id,
        "survey": data.get("survey") or {"id": result.survey_id},
        "computed_at": _aware(result.computed_at).isoformat() if result.computed_at else None,
        "applied": result.audit_id is not None,
        "field": result.field,
        "confidence": data.get("confidence"),
        "weighted": bool(data.get("weighted")),
        "weights": data.get("weights"),
        "overall": _rate(data.get("overall") or {}),
        "groups": _weakest(groups),
        "items": _weakest(items),
        "schools": _weakest(schools),
        "exclusions": [{"row": e.get("row"), "source": e.get("source"), "reason": e.get("reason")}
                       for e in data.get("excluded") or []],
        "flagged": [{"row": e.get("row"), "source": e.get("source"), "reason": e.get("reason")}
                    for e in data.get("flagged") or []],
        "counts": dict(data.get("counts") or {}),
        "sources": dict(data.get("sources") or {}),
    }


def latest_result(session: Session, survey: Survey) -> SurveyResult | None:
    """The survey's most recent recorded result."""
    return session.scalar(select(SurveyResult).where(SurveyResult.survey_id == survey.id)
                          .order_by(SurveyResult.id.desc()).limit(1))


def imported_count(session: Session, survey: Survey) -> int:
    return session.scalar(select(func.count()).select_from(SurveyResponse).where(
        SurveyResponse.survey_id == survey.id, SurveyResponse.source == "import")) or 0


__all__ = ["ImportSummary", "SurveyServiceError", "import_responses", "score_survey", "responses_table",
           "write_responses", "result_summary", "survey_settings", "imports_of", "latest_result"]

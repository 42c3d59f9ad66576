"""Forecast inputs as one workbook (预测数据): students per grade, the county's intake (births,
kindergarten leavers) and housing projects — what the enrolment forecast needs beyond the
interchange format.

They are not sheets of the fill-in template: the interchange format (data-format.md) is
binding and its importer reports any other sheet as unknown, so these tables have a template
and an upload of their own (the forecast page; `junheng forecast --grades/--intake/--housing`
reads the same columns from CSV or XLSX files).

A workbook is read whole and checked whole: every problem is listed with its sheet, row and
column (an unknown sheet with content or an unknown column is a problem too: nothing is
silently dropped), and nothing is written while any remains (`check_forecast_inputs`, then
`apply_forecast_inputs`, which audits every change with via="upload").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.data.importer import NOTES_MARKER, YEAR_RANGE
from junheng.errors import JunhengError
from junheng.spreadsheets import save_workbook
from junheng.store.models import AuditEntry, HousingProject, OrgNode, School, User

INSTRUCTIONS = "填写说明"
# the plausible ceiling of every count of people in these tables (pupils of a grade or a housing
# project, births, kindergarten leavers): far above any county, and within the store's integers
COUNT_LIMIT = 10_000_000


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    required: bool
    note: str
    integer: bool = False
    width: int = 16


@dataclass(frozen=True)
class Sheet:
    key: str
    label: str
    about: str
    columns: tuple[Column, ...]

    def names(self) -> set[str]:
        return {self.key, self.label}


SHEETS = (
    Sheet("grade_enrolment", "分年级在校生数", "每所学校每学年每个年级一行(一至九年级)", (
        Column("school_id", "学校标识码", True, "本县学校的学校标识码", width=20),
        Column("year", "学年", True, "学年开始的年份,2024 表示 2024—2025 学年", integer=True),
        Column("grade", "年级", True, "1–9(七至九年级为初中)", integer=True, width=10),
        Column("students", "在校生数", True, "该年级在校生人数", integer=True),
    )),
    Sheet("intake", "入学来源", "每年一行:出生人口(按出生年份)或幼儿园毕业人数(按升入一年级的年份)", (
        Column("year", "年份", True, "出生人口填出生年份;幼儿园毕业人数填升入一年级的年份", integer=True),
        Column("births", "出生人口", False, "本县当年出生人口", integer=True),
        Column("kindergarten_leavers", "幼儿园毕业人数", False, "当年幼儿园毕业、秋季升入一年级的人数", integer=True,
               width=18),
        Column("county_code", "县区代码", False, "可不填;填写时须为本县区代码", width=14),
    )),
    Sheet("housing", "住房项目", "每个新建住宅或安置项目一行;项目名称相同的行更新已有项目", (
        Column("name", "项目名称", True, "如 滨河新城一期", width=24),
        Column("year_ready", "交付年份", True, "开始入住的年份", integer=True),
        Column("school_id", "学校标识码", False, "对口学校;不填则只计入全县学位需求", width=20),
        Column("primary_pupils", "新增小学生数", False, "预计新增小学生人数", integer=True),
        Column("junior_pupils", "新增初中生数", False, "预计新增初中生人数", integer=True),
        Column("note", "备注", False, "", width=30),
        Column("county_code", "县区代码", False, "可不填;填写时须为本县区代码", width=14),
    )),
)
SHEET_LABELS = {s.key: s.label for s in SHEETS}


class ForecastInputsInvalid(JunhengError):
    def __init__(self, problems: list[str], header: str = "预测数据有误,没有导入任何数据"):
        self.problems = problems
        super().__init__(header + ":\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass
class ForecastInputRows:
    tables: dict[str, list[dict]] = field(default_factory=dict)  # sheet key → rows (with "_row": spreadsheet row)

    def count(self, key: str) -> int:
        return len(self.tables.get(key, []))

    @property
    def empty(self) -> bool:
        return not any(self.tables.values())


# ---------------------------------------------------------------- the template


def write_forecast_template(path: Path) -> None:
    """The empty workbook: an instructions sheet and one sheet per table, Chinese headers,
    a notes row (skipped on upload) and text cells for codes."""
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.Workbook()
    intro = workbook.active
    intro.title = INSTRUCTIONS
    intro.column_dimensions["A"].width = 110
    lines = ["预测数据填报模板(在校生与学位需求预测用)", "",
             "本工作簿与“数据填报模板”分开上传:在县区的“在校生与学位预测”页面上传。三张表都可选,只填有的即可。",
             f"第2行(以“{NOTES_MARKER}”开头)是填写说明,上传时自动跳过;请从第3行起填写。人数填非负整数。",
             "同一学校、学年、年级再次上传时覆盖原值;同一年份的入学来源覆盖原值;项目名称相同的住房项目更新原项目。",
             "上传时全部校验,有任何问题都不导入,并列出工作表、行、列和应填内容。", ""]
    for sheet in SHEETS:
        lines.append(f"“{sheet.label}”({sheet.key}):{sheet.about}。必填列:"
                     + "、".join(c.label for c in sheet.columns if c.required) + "。")
    for line in lines:
        intro.append([line])
    intro["A1"].font = Font(bold=True, size=14)
    header_fill, required_fill = PatternFill("solid", fgColor="DDEBF7"), PatternFill("solid", fgColor="FCE4D6")
    for sheet in SHEETS:
        ws = workbook.create_sheet(sheet.label)
        ws.append([c.label for c in sheet.columns])
        ws.append([f"{NOTES_MARKER}{'必填' if c.required else '选填'}。{c.note}" if i == 0 else
                   f"{'必填' if c.required else '选填'}。{c.note}" for i, c in enumerate(sheet.columns)])
        for i, column in enumerate(sheet.columns, start=1):
            letter = get_column_letter(i)
            ws.column_dimensions[letter].width = max(column.width, 14)
            ws.cell(1, i).font = Font(bold=True)
            ws.cell(1, i).fill = required_fill if column.required else header_fill
            ws.cell(2, i).font = Font(color="595959", size=9)
            ws.cell(2, i).alignment = Alignment(wrap_text=True, vertical="top")
            if not column.integer:
                for row in range(3, 1001):
                    ws.cell(row, i).number_format = "@"  # codes keep their leading zeros
        ws.freeze_panes = "A3"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_workbook(workbook, path)  # text cells as text (junheng.spreadsheets)


# ---------------------------------------------------------------- reading


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_forecast_workbook(path: Path, shown_name: str | None = None) -> ForecastInputRows:
    """The rows of every known sheet of a forecast-input workbook; ForecastInputsInvalid lists
    every problem (sheet, row, column, value, what was expected)."""
    from openpyxl import load_workbook

    name = shown_name or Path(path).name
    out, problems = ForecastInputRows(), []
    by_name = {n: s for s in SHEETS for n in s.names()}
    sheets: list[tuple[Sheet, list[list[str]]]] = []
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
        try:
            for ws in workbook.worksheets:
                title = ws.title.strip()
                if title == INSTRUCTIONS:
                    continue
                sheet = by_name.get(title)
                if sheet is None:
                    if any(v not in (None, "") for row in ws.iter_rows(values_only=True) for v in row):
                        problems.append(f"未识别的工作表“{ws.title}”:工作表名应为 {'、'.join(s.label for s in SHEETS)}"
                                        "(或其英文名),请改名或删除该工作表")
                    continue
                sheets.append((sheet, [[_text(v) for v in row] for row in ws.iter_rows(values_only=True)]))
        finally:
            workbook.close()
    except Exception as exc:  # noqa: BLE001 - any damage in a user's file is a message, never a traceback
        raise ForecastInputsInvalid([f"“{name}”不是有效的 Excel 工作簿(.xlsx),或文件已损坏({type(exc).__name__})"],
                                    "无法读取上传的文件") from None
    for sheet, rows in sheets:
        if sheet.key in out.tables:
            problems.append(f"有两张“{sheet.label}”工作表,请只保留一张")
            continue
        out.tables[sheet.key] = _rows(sheet, rows, problems)
    if problems:
        raise ForecastInputsInvalid(problems)
    if out.empty:
        raise ForecastInputsInvalid([f"“{name}”中没有数据:应有工作表 {'、'.join(s.label for s in SHEETS)}"
                                     "(至少一张),并从第 3 行起填写"], "没有导入任何数据")
    return out


def _rows(sheet: Sheet, table: list[list[str]], problems: list[str]) -> list[dict]:
    while table and not any(table[0]):
        table = table[1:]
    if not table:
        return []
    header = table[0]
    index: dict[str, int] = {}
    for column in sheet.columns:
        for i, cell in enumerate(header):
            if cell in (column.key, column.label):
                index[column.key] = i
    known = {n for c in sheet.columns for n in (c.key, c.label)}
    unknown = [c for c in header if c and c not in known]
    if unknown:
        problems.append(f"工作表“{sheet.label}”中有未识别的列 {'、'.join(unknown)}:"
                        f"可用的列为 {'、'.join(c.label for c in sheet.columns)},请改名或删除")
    missing = [c for c in sheet.columns if c.required and c.key not in index]
    if missing:
        problems.append(f"工作表“{sheet.label}”缺少列:{'、'.join(f'{c.label}({c.key})' for c in missing)}")
        return []
    out = []
    for n, raw in enumerate(table[1:], start=2):
        if not any(raw) or (raw and raw[0].startswith(NOTES_MARKER)):
            continue
        row: dict = {"_row": n}
        for column in sheet.columns:
            i = index.get(column.key)
            value = raw[i] if i is not None and i < len(raw) else ""
            where = f"工作表“{sheet.label}”第 {n} 行“{column.label}”"
            if value == "":
                if column.required:
                    problems.append(f"{where}:必填,不能为空")
                row[column.key] = None
                continue
            if column.integer:
                try:
                    number = float(value)
                    if number < 0 or not number.is_integer():  # inf and NaN are not integers either
                        raise ValueError
                except ValueError:
                    problems.append(f"{where}:“{value}”应为非负整数")
                    row[column.key] = None
                    continue
                number = int(number)
                if column.key in ("year", "year_ready") and not YEAR_RANGE[0] <= number <= YEAR_RANGE[1]:
                    problems.append(f"{where}:“{value}”不是有效的年份")
                elif column.key == "grade" and not 1 <= number <= 9:
                    problems.append(f"{where}:“{value}”应为 1–9 的年级")
                elif number > COUNT_LIMIT:
                    problems.append(f"{where}:“{value}”超出合理范围,应为 0–{COUNT_LIMIT:,} 的整数")
                    row[column.key] = None
                    continue
                row[column.key] = number
            else:
                row[column.key] = value
        if sheet.key == "intake" and row.get("births") is None and row.get("kindergarten_leavers") is None \
                and row.get("year") is not None:
            problems.append(f"工作表“{sheet.label}”第 {n} 行:出生人口和幼儿园毕业人数至少填一项")
        out.append(row)
    return out


# ---------------------------------------------------------------- checking against the store and applying


def check_forecast_inputs(session: Session, county: OrgNode, rows: ForecastInputRows) -> list[str]:
    """Problems of the rows for this county: schools elsewhere or unknown, other counties'
    codes, a school-year-grade or year twice. Empty when the rows can be applied."""
    problems = []
    schools = {s.code: s for s in session.scalars(select(School).where(School.county_id == county.id))}
    seen: dict[tuple, int] = {}
    for r in rows.tables.get("grade_enrolment", []):
        where = f"工作表“{SHEET_LABELS['grade_enrolment']}”第 {r['_row']} 行"
        school = schools.get(r["school_id"])
        if school is None:
            other = session.scalar(select(School).where(School.code == r["school_id"]))
            problems.append(f"{where}:学校标识码“{r['school_id']}”" + ("属于其他县区,只能上传本县区学校的数据"
                                                                  if other else "不是本县区的学校(请先在学校名录中添加)"))
        elif school.deleted:
            problems.append(f"{where}:学校“{school.name}”({school.code})已删除")
        key = ("grade", r["school_id"], r["year"], r["grade"])
        if key in seen:
            problems.append(f"{where}:与第 {seen[key]} 行重复(同一学校、学年、年级只能有一行)")
        seen.setdefault(key, r["_row"])
    for key in ("intake", "housing"):
        for r in rows.tables.get(key, []):
            where = f"工作表“{SHEET_LABELS[key]}”第 {r['_row']} 行"
            if r.get("county_code") and r["county_code"] != county.code:
                problems.append(f"{where}:县区代码“{r['county_code']}”不是本县区({county.code})")
            if key == "intake":
                mark = ("intake", r["year"])
                if mark in seen:
                    problems.append(f"{where}:年份 {r['year']} 与第 {seen[mark]} 行重复")
                seen.setdefault(mark, r["_row"])
            else:
                if r.get("school_id"):
                    school = schools.get(r["school_id"])
                    if school is None or school.deleted:
                        problems.append(f"{where}:学校标识码“{r['school_id']}”不是本县区的学校")
                if len(r["name"]) > 200:
                    problems.append(f"{where}:项目名称太长(不超过 200 个字)")
                mark = ("housing", r["name"])
                if mark in seen:
                    problems.append(f"{where}:项目名称“{r['name']}”与第 {seen[mark]} 行重复")
                seen.setdefault(mark, r["_row"])
    return problems


def apply_forecast_inputs(session: Session, county: OrgNode, rows: ForecastInputRows, *, user: User | None,
                          via: str = "upload") -> dict[str, int]:
    """Check, then import everything (audited) or nothing: ForecastInputsInvalid lists the problems.
    Returns the number of changed values per table."""
    from junheng.monitor.service import import_grade_enrolment, import_intake

    problems = check_forecast_inputs(session, county, rows)
    if problems:
        raise ForecastInputsInvalid(problems)
    changed = {"grade_enrolment": 0, "intake": 0, "housing": 0}
    grades = rows.tables.get("grade_enrolment", [])
    if grades:
        changed["grade_enrolment"] = import_grade_enrolment(session, [dict(r) for r in grades], user=user, via=via)
    intake = [dict(r, county_code=county.code) for r in rows.tables.get("intake", [])]
    if intake:
        changed["intake"] = import_intake(session, intake, user=user, via=via)
    for r in rows.tables.get("housing", []):
        changed["housing"] += _upsert_housing(session, county, r, user, via)
    session.flush()
    return changed


def _upsert_housing(session: Session, county: OrgNode, r: dict, user: User | None, via: str) -> int:
    """A new project, or the project of the same name updated field by field (audited)."""
    from junheng.monitor.service import add_housing_project

    existing = session.scalar(select(HousingProject).where(HousingProject.county_id == county.id,
                                                           HousingProject.name == r["name"],
                                                           HousingProject.deleted_at.is_(None)))
    school_id = None
    if r.get("school_id"):
        school_id = session.scalar(select(School.id).where(School.code == r["school_id"]))
    if existing is None:
        add_housing_project(session, county.code, r["name"], r["year_ready"], primary_pupils=r.get("primary_pupils") or 0,
                            junior_pupils=r.get("junior_pupils") or 0, school_code=r.get("school_id"),
                            note=r.get("note"), user=user, via=via)
        return 1
    changed = 0
    wanted = {"year_ready": r["year_ready"], "school_id": school_id, "primary_pupils": r.get("primary_pupils") or 0,
              "junior_pupils": r.get("junior_pupils") or 0, "note": r.get("note")}
    for key, value in wanted.items():
        old = getattr(existing, key)
        if old != value:
            session.add(AuditEntry(user_id=user.id if user else None, via=via, entity="housing_project",
                                   entity_key=str(existing.id), county_id=county.id, field=key, old=old, new=value))
            setattr(existing, key, value)
            changed += 1
    return changed


def forecast_inputs_summary(session: Session, county: OrgNode) -> dict:
    """What the county has stored for the forecast: grade rows per year, intake years, projects."""
    from sqlalchemy import func

    from junheng.store.models import CountyIntake, GradeEnrolment

    grades = session.execute(
        select(GradeEnrolment.year, func.count(func.distinct(GradeEnrolment.school_id)), func.sum(GradeEnrolment.students))
        .join(School, School.id == GradeEnrolment.school_id)
        .where(School.county_id == county.id).group_by(GradeEnrolment.year).order_by(GradeEnrolment.year)).all()
    intake = session.scalars(select(CountyIntake).where(CountyIntake.county_id == county.id)
                             .order_by(CountyIntake.year)).all()
    housing = session.scalars(select(HousingProject).where(HousingProject.county_id == county.id,
                                                           HousingProject.deleted_at.is_(None))
                              .order_by(HousingProject.year_ready, HousingProject.name)).all()
    school_codes = dict(session.execute(select(School.id, School.code).where(School.county_id == county.id)).all())
    return {
        "grade_years": [{"year": y, "schools": int(n), "students": int(total or 0)} for y, n, total in grades],
        "intake": [{"year": r.year, "births": r.births, "kindergarten_leavers": r.kindergarten_leavers} for r in intake],
        "housing": [{"name": p.name, "year_ready": p.year_ready, "school_id": school_codes.get(p.school_id),
                     "primary_pupils": p.primary_pupils, "junior_pupils": p.junior_pupils, "note": p.note}
                    for p in housing],
    }

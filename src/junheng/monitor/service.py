"""Monitoring services shared by every face (the `watch`, `forecast` and `tasks` commands,
the web pages and the API). The web pages call:

- warnings:  `list_warnings(session, county_code, status=, severities=, kinds=, indicator=,
             school_code=, year=)`, `warning_json(w)`, `warning_counts(session, county_code)`
             (from junheng.monitor.warnings)
- series:    `time_series(session, county_code, ...)`, `year_on_year_table(session, county_code, ...)`
- forecast:  `county_forecast(session, county_code, horizon=)` → CountyForecast (.to_json())
             and the inputs: `import_grade_enrolment`, `import_intake`, `add_housing_project`
- tasks:     junheng.monitor.tasks (create_task, update_task, set_status, create_task_from_warning,
             create_tasks_from_plan, add_comment, add_attachment, attachment_file, list_tasks,
             task_json, county_timeline, year_plan)
- schedule:  `city_schedule(session, node_code)`
- notices:   junheng.monitor.notify (add_subscription, list_subscriptions, notification_log)
- the run:   `run_watch(database, settings)` (idempotent; also what the scheduler calls)
"""

from __future__ import annotations

import csv
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng import schoolyear
from junheng.data.dataset import Dataset
from junheng.data.importer import YEAR_RANGE
from junheng.engine.result import EvaluationResult
from junheng.errors import JunhengError
from junheng.monitor.config import MonitorSettings
from junheng.monitor.detect import DETECTORS, CountyContext, Skip
from junheng.monitor.forecast import (
    SCENARIOS,
    CountyForecast,
    ForecastError,
    ForecastInputs,
    Housing,
    evaluate_forecasts,
    project_county,
)
from junheng.monitor.inputs import COUNT_LIMIT
from junheng.monitor.rules import RuleSet, check_rules_dir, rules_for
from junheng.monitor.series import series_rows, year_on_year
from junheng.monitor.warnings import (  # noqa: F401
    Changes,
    list_warnings,
    reconcile,
    warning_counts,
    warning_json,
)
from junheng.standards.loader import DEFAULT_STANDARD, load_standard
from junheng.store.models import (
    AuditEntry,
    CountyIntake,
    GradeEnrolment,
    HousingProject,
    OrgNode,
    School,
    User,
    utcnow,
)


class MonitorError(JunhengError):
    pass


class WatchBusy(MonitorError):
    exit_code = 75  # EX_TEMPFAIL: cron may simply try again next time


# ---------------------------------------------------------------- loading and evaluating


def _counties(session: Session, codes: list[str] | None) -> list[OrgNode]:
    counties = session.scalars(select(OrgNode).where(OrgNode.kind == "county", OrgNode.deleted_at.is_(None))
                               .order_by(OrgNode.code)).all()
    if codes:
        known = {c.code for c in counties}
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise MonitorError(f"没有县区代码为 {'、'.join(unknown)} 的县区")
        counties = [c for c in counties if c.code in set(codes)]
    return list(counties)


def complete_dataset(session: Session, codes: list[str] | None = None) -> tuple[Dataset, dict]:
    """The stored approved data of the counties' complete years only (every school of the
    roster and the county-level row approved; docs/methods.md, "Coverage"), and the coverage
    of every county-year with any record, complete or not ((county, year) → Coverage).

    What monitoring reads: a year still being filled in (approved for 1 of 78 schools) never
    resolves, raises or worsens a warning, never moves a county on the schedule and never
    appears in its trends or as a forecast's base year."""
    from junheng.store import repo

    dataset = repo.load_dataset(session, codes, approved_only=True)
    return dataset.complete_only(), dict(dataset.coverage)


def evaluate_counties(session: Session, codes: list[str] | None = None
                      ) -> tuple[Dataset, dict[str, dict[int, EvaluationResult]]]:
    """The counties' complete years (`complete_dataset`) evaluated in one pass."""
    dataset, _ = complete_dataset(session, codes)
    return dataset, _evaluate_all(dataset)


def _evaluate_all(dataset: Dataset) -> dict[str, dict[int, EvaluationResult]]:
    from junheng.engine.evaluate import evaluate_dataset

    out: dict[str, dict[int, EvaluationResult]] = {}
    if dataset.county_year_pairs():
        for result in evaluate_dataset(dataset):
            out.setdefault(result.county_code, {})[result.year] = result
    return out


def _standard_of(county: OrgNode, results: dict[int, EvaluationResult]):
    if results:
        return load_standard(results[max(results)].standard)
    return load_standard(county.standard or DEFAULT_STANDARD)


# ---------------------------------------------------------------- series


def time_series(session: Session, county_code: str, *, indicators: set[str] | None = None,
                levels: set[str] | None = None, school_code: str | None = None) -> list[dict]:
    """Every indicator per unit, school and county across the complete stored years (a year
    still being filled in is not part of a trend), as tidy rows."""
    dataset, results = evaluate_counties(session, [county_code])
    return series_rows(results.get(county_code, {}).values(), dataset, indicators=indicators, levels=levels,
                       school_id=school_code)


def year_on_year_table(session: Session, county_code: str, **filters) -> list[dict]:
    """The time series with last year's value, the change and its direction (改善/下滑/持平)."""
    return year_on_year(time_series(session, county_code, **filters))


# ---------------------------------------------------------------- forecast inputs


def load_forecast_inputs(session: Session, county: OrgNode) -> ForecastInputs:
    grades: dict[str, dict[int, dict[int, float]]] = {}
    rows = session.execute(select(School.code, GradeEnrolment.year, GradeEnrolment.grade, GradeEnrolment.students)
                           .join(School, School.id == GradeEnrolment.school_id)
                           .where(School.county_id == county.id, School.deleted_at.is_(None))).all()
    for code, year, grade, students in rows:
        grades.setdefault(code, {}).setdefault(year, {})[grade] = float(students)
    intake = {}
    for row in session.scalars(select(CountyIntake).where(CountyIntake.county_id == county.id)):
        values = {k: float(v) for k, v in (("births", row.births), ("kindergarten_leavers", row.kindergarten_leavers))
                  if v is not None}
        intake[row.year] = values
    housing = []
    for p in session.scalars(select(HousingProject).where(HousingProject.county_id == county.id,
                                                          HousingProject.deleted_at.is_(None))):
        school = session.get(School, p.school_id) if p.school_id else None
        housing.append(Housing(p.name, p.year_ready, p.primary_pupils, p.junior_pupils,
                               school.code if school else None))
    return ForecastInputs(grades=grades, intake=intake, housing=housing)


def county_forecast(session: Session, county_code: str, *, horizon: int | None = None,
                    scenarios: tuple[str, ...] = SCENARIOS, rules_dir: Path | None = None) -> CountyForecast:
    """The enrolment forecast of a county with its projected indicators and seat demand,
    projected from its latest complete year (a year being filled in is no base)."""
    from junheng.store import repo

    county = repo.county_by_code(session, county_code)
    dataset, _ = complete_dataset(session, [county_code])
    rules = rules_for(county.code, county.standard, rules_dir)
    forecast = project_county(dataset, county_code, load_forecast_inputs(session, county),
                              settings=rules.forecast, horizon=horizon)
    evaluate_forecasts(dataset, [forecast], scenarios)
    return forecast


GRADE_COLUMNS = {"school_id": ("school_id", "学校标识码"), "year": ("year", "学年"), "grade": ("grade", "年级"),
                 "students": ("students", "在校生数", "学生数")}
INTAKE_COLUMNS = {"county_code": ("county_code", "县区代码"), "year": ("year", "年份", "年度"),
                  "births": ("births", "出生人口", "出生人数"),
                  "kindergarten_leavers": ("kindergarten_leavers", "幼儿园毕业人数", "幼儿园毕业生数")}
HOUSING_COLUMNS = {"county_code": ("county_code", "县区代码"), "name": ("name", "项目名称"),
                   "year_ready": ("year_ready", "交付年份", "入住年份"), "school_id": ("school_id", "学校标识码"),
                   "primary_pupils": ("primary_pupils", "新增小学生数"), "junior_pupils": ("junior_pupils", "新增初中生数"),
                   "note": ("note", "备注")}


def read_rows(path: Path, columns: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> list[dict]:
    """Rows of a CSV (UTF-8, optional BOM) or the first sheet of an XLSX, headers in English
    keys or Chinese names; every problem is reported at once (file, row, column)."""
    path = Path(path)
    if not path.is_file():
        raise MonitorError(f"找不到文件 {path}")
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        table = [["" if v is None else str(v).strip() for v in row] for row in sheet.iter_rows(values_only=True)]
    else:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            table = [[v.strip() for v in row] for row in csv.reader(handle)]
    if not table:
        raise MonitorError(f"{path} 是空文件")
    header = table[0]
    index = {}
    for key, names in columns.items():
        for i, name in enumerate(header):
            if name in names:
                index[key] = i
    missing = [columns[k][1] + f"({k})" for k in required if k not in index]
    if missing:
        raise MonitorError(f"{path} 缺少列:{'、'.join(missing)}")
    rows, problems = [], []
    for n, raw in enumerate(table[1:], start=2):
        if not any(raw):
            continue
        row = {}
        for key, i in index.items():
            value = raw[i] if i < len(raw) else ""
            if key in ("year", "grade", "students", "births", "kindergarten_leavers", "year_ready",
                       "primary_pupils", "junior_pupils"):
                if value == "":
                    value = None
                else:
                    try:
                        number = float(value)
                        if number < 0 or not number.is_integer():  # inf, NaN, 1.5
                            raise ValueError
                        number = int(number)
                    except ValueError:
                        problems.append(f"第{n}行 {columns[key][1]}:“{value}”应为非负整数")
                        continue
                    if key in ("year", "year_ready") and not YEAR_RANGE[0] <= number <= YEAR_RANGE[1]:
                        problems.append(f"第{n}行 {columns[key][1]}:“{value}”不是有效的年份")
                        continue
                    if number > COUNT_LIMIT:
                        problems.append(f"第{n}行 {columns[key][1]}:“{value}”超出合理范围,应为 0–{COUNT_LIMIT:,} 的整数")
                        continue
                    value = number
            row[key] = value if value != "" else None
        for key in required:
            if row.get(key) is None and not any(p.startswith(f"第{n}行 {columns[key][1]}") for p in problems):
                problems.append(f"第{n}行 {columns[key][1]}:必填")
        rows.append(row)
    if problems:
        raise MonitorError(f"{path} 有误:\n" + "\n".join(f"  - {p}" for p in problems))
    return rows


def _count_ok(value) -> bool:
    """A count of people: an integer (or integral float) in 0..COUNT_LIMIT."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= COUNT_LIMIT
            and float(value).is_integer())


def _year_ok(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and YEAR_RANGE[0] <= value <= YEAR_RANGE[1] and float(value).is_integer())


def _audit(session: Session, entity: str, key: str, county_id: int, field: str, old, new, user: User | None,
           via: str) -> None:
    session.add(AuditEntry(user_id=user.id if user else None, via=via, entity=entity, entity_key=key,
                           county_id=county_id, field=field, old=old, new=new))


def import_grade_enrolment(session: Session, rows: list[dict], *, user: User | None = None, via: str = "cli") -> int:
    """Students per grade (school_id, year, grade 1–9, students): inserted or updated, audited."""
    problems = []
    schools = {s.code: s for s in session.scalars(select(School).where(
        School.code.in_({str(r["school_id"]) for r in rows})))}
    for n, r in enumerate(rows, start=1):
        if str(r["school_id"]) not in schools:
            problems.append(f"第{n}条:没有学校标识码为 {r['school_id']} 的学校")
        if not 1 <= int(r["grade"]) <= 9:
            problems.append(f"第{n}条:年级 {r['grade']} 应为 1–9")
        if not _year_ok(r["year"]):
            problems.append(f"第{n}条:学年 {r['year']} 无效")
        if not _count_ok(r["students"]):
            problems.append(f"第{n}条:在校生数 {r['students']} 应为 0–{COUNT_LIMIT:,} 的整数")
    if problems:
        raise MonitorError("分年级人数有误:\n" + "\n".join(f"  - {p}" for p in problems))
    changed = 0
    for r in rows:
        school = schools[str(r["school_id"])]
        year, grade, students = int(r["year"]), int(r["grade"]), int(r["students"])
        row = session.scalar(select(GradeEnrolment).where(GradeEnrolment.school_id == school.id,
                                                          GradeEnrolment.year == year, GradeEnrolment.grade == grade))
        if row is None:
            session.add(GradeEnrolment(school_id=school.id, year=year, grade=grade, students=students))
            _audit(session, "grade_enrolment", f"{school.code}/{year}/{grade}", school.county_id, "students",
                   None, students, user, via)
            changed += 1
        elif row.students != students:
            _audit(session, "grade_enrolment", f"{school.code}/{year}/{grade}", school.county_id, "students",
                   row.students, students, user, via)
            row.students = students
            changed += 1
    session.flush()
    return changed


def import_intake(session: Session, rows: list[dict], *, user: User | None = None, via: str = "cli") -> int:
    """County births (by birth year) and kindergarten leavers (by the year they enter grade 1)."""
    from junheng.store import repo

    problems = [f"第{n}条:年份 {r['year']} 无效" for n, r in enumerate(rows, start=1) if not _year_ok(r["year"])]
    problems += [f"第{n}条:{key} {r[key]} 应为 0–{COUNT_LIMIT:,} 的整数" for n, r in enumerate(rows, start=1)
                 for key in ("births", "kindergarten_leavers") if r.get(key) is not None and not _count_ok(r[key])]
    if problems:
        raise MonitorError("入学来源有误:\n" + "\n".join(f"  - {p}" for p in problems))
    changed = 0
    for r in rows:
        county = repo.county_by_code(session, str(r["county_code"]))
        year = int(r["year"])
        row = session.scalar(select(CountyIntake).where(CountyIntake.county_id == county.id, CountyIntake.year == year))
        if row is None:
            row = CountyIntake(county_id=county.id, year=year)
            session.add(row)
        for key in ("births", "kindergarten_leavers"):
            if r.get(key) is not None and getattr(row, key) != int(r[key]):
                _audit(session, "county_intake", f"{county.code}/{year}", county.id, key, getattr(row, key),
                       int(r[key]), user, via)
                setattr(row, key, int(r[key]))
                changed += 1
    session.flush()
    return changed


def add_housing_project(session: Session, county_code: str, name: str, year_ready: int, *,
                        primary_pupils: int = 0, junior_pupils: int = 0, school_code: str | None = None,
                        note: str | None = None, user: User | None = None, via: str = "form") -> HousingProject:
    from junheng.store import repo

    county = repo.county_by_code(session, county_code)
    if not (name or "").strip():
        raise MonitorError("请填写住房项目名称")
    if not (_count_ok(primary_pupils) and _count_ok(junior_pupils)):
        raise MonitorError(f"新增学生数应为 0–{COUNT_LIMIT:,} 的整数")
    if not _year_ok(year_ready):
        raise MonitorError(f"交付年份 {year_ready} 无效")
    school_id = None
    if school_code:
        school = repo.school_by_code(session, school_code)
        if school.county_id != county.id:
            raise MonitorError(f"学校 {school_code} 不在{county.name}")
        school_id = school.id
    project = HousingProject(county_id=county.id, school_id=school_id, name=name.strip(), year_ready=int(year_ready),
                             primary_pupils=int(primary_pupils), junior_pupils=int(junior_pupils), note=note)
    session.add(project)
    session.flush()
    _audit(session, "housing_project", str(project.id), county.id, "created", None, project.name, user, via)
    return project


# ---------------------------------------------------------------- city schedule


def city_schedule(session: Session, node_code: str, *, today: date | None = None) -> dict:
    """Every county under a city or province: target year, standard, status, failing items,
    behind or not (see junheng.monitor.schedule), judged on complete years only; a year being
    filled in is shown beside it (`in_progress`)."""
    from junheng.monitor.schedule import counties_under, schedule_rows, schedule_summary

    node, counties = counties_under(session, node_code)
    results, coverage = {}, {}
    if counties:
        dataset, coverage = complete_dataset(session, [c.code for c in counties])
        results = _evaluate_all(dataset)
    rows = schedule_rows(session, counties, results, today or schoolyear.local_today(), coverage=coverage)
    return {"node_code": node.code, "node_name": node.name, "kind": node.kind, "counties": rows,
            "summary": schedule_summary(rows)}


# ---------------------------------------------------------------- the watch


@dataclass
class CountyReport:
    county_code: str
    county_name: str
    rules: str
    changes: Changes
    skipped: dict[str, str] = field(default_factory=dict)
    open_counts: dict[str, int] = field(default_factory=dict)


@dataclass
class WatchReport:
    run_id: str
    started_at: datetime
    today: date
    counties: list[CountyReport] = field(default_factory=list)
    notifications: dict[str, int] = field(default_factory=dict)
    finished_at: datetime | None = None

    def totals(self) -> dict[str, int]:
        return {
            "new": sum(len(c.changes.new) for c in self.counties),
            "worsened": sum(len(c.changes.worsened) for c in self.counties),
            "reopened": sum(len(c.changes.reopened) for c in self.counties),
            "resolved": sum(len(c.changes.resolved) for c in self.counties),
            "open": sum(sum(c.open_counts.values()) for c in self.counties),
        }


@contextmanager
def _lock(settings: MonitorSettings) -> Iterator[None]:
    """One watch at a time per workspace (cron and the server's scheduler may overlap)."""
    if settings.root is None:
        yield
        return
    import fcntl

    path = Path(settings.root) / ".monitor.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise WatchBusy("另一个预警巡检正在运行(同一工作区同时只运行一个),请稍后再试") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_watch(database, settings: MonitorSettings, *, today: date | None = None, county_codes: list[str] | None = None,
              notify: bool = True, now: datetime | None = None) -> WatchReport:
    """Run every rule once for every county (or `county_codes`), reconcile the stored warnings
    and send the notification digests. Idempotent: a second run with nothing changed changes
    nothing and sends nothing. Malformed rule files stop the run before anything is touched."""
    today = today or schoolyear.local_today()
    now = now or utcnow()
    report = WatchReport(run_id=uuid.uuid4().hex[:16], started_at=now, today=today)
    with _lock(settings):
        check_rules_dir(settings.rules_dir)
        with database.session() as session:
            counties = _counties(session, county_codes)
            rule_sets = {c.code: rules_for(c.code, c.standard, settings.rules_dir) for c in counties}
            dataset, results, forecasts = _evaluate(session, counties, rule_sets)
            for county in counties:
                report.counties.append(_watch_county(session, county, rule_sets[county.code], dataset,
                                                     results.get(county.code, {}), forecasts.get(county.code),
                                                     today, now))
        if notify:
            from junheng.monitor.notify import deliver

            with database.session() as session:
                logs = deliver(session, settings, report.run_id, now=now, commit_each=True)
                for log in logs:
                    report.notifications[log.status] = report.notifications.get(log.status, 0) + 1
    report.finished_at = utcnow()
    return report


def _evaluate(session: Session, counties: list[OrgNode], rule_sets: dict[str, RuleSet]
              ) -> tuple[Dataset, dict[str, dict[int, EvaluationResult]], dict[str, CountyForecast | str]]:
    """The counties' complete stored years (`complete_dataset`) and, for those whose rules use
    it, the mid forecast from the latest complete year, all evaluated in one engine pass. A
    string instead of a forecast says why a county has none."""
    dataset, _ = complete_dataset(session, [c.code for c in counties])
    stored = {code for code, _ in dataset.county_year_pairs()}
    forecasts: dict[str, CountyForecast | str] = {}
    made = []
    for county in counties:
        rules = rule_sets[county.code]
        wanted = rules.enabled("forecast")
        if not wanted or county.code not in stored:
            continue
        horizon = max(r.horizon_years for r in wanted.values())
        try:
            forecast = project_county(dataset, county.code, load_forecast_inputs(session, county),
                                      settings=rules.forecast, horizon=horizon)
        except ForecastError as exc:
            forecasts[county.code] = exc.user_message()
            continue
        forecasts[county.code] = forecast
        made.append(forecast)
    actual = evaluate_forecasts(dataset, made, ("mid",) if made else (), with_actual=True)
    results: dict[str, dict[int, EvaluationResult]] = {}
    for (code, year), result in actual.items():
        results.setdefault(code, {})[year] = result
    return dataset, results, forecasts


def _watch_county(session: Session, county: OrgNode, rules: RuleSet, dataset: Dataset | None,
                  results: dict[int, EvaluationResult], forecast, today: date, now: datetime) -> CountyReport:
    ctx = CountyContext(session=session, county=county, standard=_standard_of(county, results), rules=rules,
                        today=today, dataset=dataset if dataset is not None else Dataset(), results=results,
                        forecast_loader=(lambda: forecast) if not isinstance(forecast, str) else (lambda: None))
    conditions, ran, skipped = [], set(), {}
    for rule_id, rule in rules.enabled().items():
        try:
            conditions += DETECTORS[rule.kind](ctx, rule_id, rule)
            ran.add(rule_id)
        except Skip as exc:
            skipped[rule_id] = forecast if rule.kind == "forecast" and isinstance(forecast, str) else str(exc)
    steps = {rule_id: rule.worsen_step for rule_id, rule in rules.rules.items()}
    changes = reconcile(session, county, conditions, ran=ran, known_rules=set(rules.enabled()), steps=steps, now=now)
    return CountyReport(county.code, county.name, rules.files[0] if rules.files else rules.id, changes, skipped,
                        warning_counts(session, county.code))

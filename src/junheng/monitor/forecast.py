"""Enrolment forecast per school by cohort progression, with an uncertainty band, and what it
means for the standard: projected per-student indicators (R1–R7 and their CVs), school sizes
(G4), class sizes (G5) and the county's seat demand against capacity (学位需求).

Method (docs/methods.md, "Enrolment forecast"):
- Grades come from the optional `grade_enrolment` table (students per school, year and grade
  1–9). Schools without grade rows for the base year fall back to segment-level growth.
- Grade-to-grade progression ratios: county ratios pooled over every pair of consecutive
  stored years (Σ grade g+1 in t+1 / Σ grade g in t); a school with enough pupils in a
  transition uses its own pooled ratio inside its segment.
- Entry grades (grade 1, and the first junior grade) are county totals shared out by each
  school's historical share: grade 1 from births (entry_age years earlier) or kindergarten
  leavers × the county's historical entry ratio, else grade 1's own trend; the first junior
  grade from the county's last primary grade the year before × its progression ratio.
- Housing projects add their pupils spread evenly over the grades of a segment from the year
  they are occupied.
- The band: the projection is run three times, with the pooled ratios (mid) and with the
  lowest and highest yearly ratios seen (low, high), each at least ±min_band from the mid.
- Indicators: each projected year is a copy of the base year's school rows with the projected
  students (and the largest class scaled with them; classes, teachers and facilities held:
  "if nothing is done"), evaluated by the engine like any year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from junheng.data.catalog import catalog
from junheng.data.dataset import Dataset
from junheng.engine.result import EvaluationResult
from junheng.errors import JunhengError
from junheng.monitor.observe import SEGMENT_LABELS, Observation
from junheng.monitor.rules import ForecastSettings

SCENARIOS = ("mid", "low", "high")
SCENARIO_LABELS = {"mid": "中位", "low": "低位", "high": "高位"}
MIN_TRANSITION_PUPILS = 10  # a school uses its own ratio when the transition had at least this many pupils


class ForecastError(JunhengError):
    pass


@dataclass(frozen=True)
class Housing:
    name: str
    year_ready: int
    primary_pupils: int = 0
    junior_pupils: int = 0
    school_id: str | None = None  # None: counted in the county's demand, not at a school


@dataclass
class ForecastInputs:
    grades: dict[str, dict[int, dict[int, float]]] = field(default_factory=dict)  # school → year → grade → students
    intake: dict[int, dict[str, float]] = field(default_factory=dict)  # calendar year → births / kindergarten_leavers
    housing: list[Housing] = field(default_factory=list)


@dataclass
class Band:
    mid: float
    low: float
    high: float

    def json(self, digits: int = 0) -> dict:
        r = (lambda v: int(round(v))) if digits == 0 else (lambda v: round(v, digits))
        return {"mid": r(self.mid), "low": r(self.low), "high": r(self.high)}


@dataclass
class SchoolForecast:
    school_id: str
    school_name: str
    school_type: str
    method: str  # cohort, segment
    segments: dict[int, dict[str, Band]] = field(default_factory=dict)  # year → segment → students
    grades: dict[int, dict[int, Band]] = field(default_factory=dict)  # year → grade → students (cohort only)
    notes: list[str] = field(default_factory=list)

    def students(self, year: int, scenario: str = "mid") -> dict[str, float]:
        return {seg: getattr(b, scenario) for seg, b in self.segments.get(year, {}).items()}


@dataclass
class SeatDemand:
    year: int
    segment: str
    demand: Band
    capacity: float | None
    shortfall: Band  # Σ over schools of max(0, demand − capacity), plus unassigned housing pupils
    additional: Band  # demand − the base year's demand

    def json(self) -> dict:
        return {"year": self.year, "segment": self.segment, "segment_label": SEGMENT_LABELS.get(self.segment),
                "demand": self.demand.json(), "capacity": None if self.capacity is None else int(round(self.capacity)),
                "shortfall": self.shortfall.json(), "additional": self.additional.json()}


@dataclass
class CountyForecast:
    county_code: str
    county_name: str
    base_year: int
    years: list[int]
    schools: list[SchoolForecast]
    seats: list[SeatDemand]
    ratios: dict[str, dict]  # transition "g→g+1" → {"mid", "low", "high", "years"}
    entry: dict  # how grade 1 is projected
    results: dict[str, dict[int, EvaluationResult]] = field(default_factory=dict)  # scenario → year → result
    projected: dict[str, Dataset] = field(default_factory=dict)  # scenario → the projected years as a dataset
    notes: list[str] = field(default_factory=list)

    def school(self, school_id: str) -> SchoolForecast:
        return next(s for s in self.schools if s.school_id == school_id)

    def to_json(self) -> dict:
        return {
            "county_code": self.county_code, "county_name": self.county_name, "base_year": self.base_year,
            "years": self.years, "ratios": self.ratios, "entry": self.entry, "notes": self.notes,
            "seats": [s.json() for s in self.seats],
            "schools": [{
                "school_id": s.school_id, "school_name": s.school_name, "school_type": s.school_type,
                "method": s.method, "notes": s.notes,
                "years": {str(y): {"segments": {seg: b.json() for seg, b in segs.items()},
                                   "grades": {str(g): b.json() for g, b in s.grades.get(y, {}).items()}}
                          for y, segs in s.segments.items()},
            } for s in self.schools],
            "failing_items": {sc: {str(y): r.failing_items() for y, r in by_year.items()}
                              for sc, by_year in self.results.items()},
        }


# ---------------------------------------------------------------- helpers


def _segment_grades(settings: ForecastSettings) -> dict[str, list[int]]:
    p = settings.primary_grades
    return {"primary": list(range(1, p + 1)), "junior": list(range(p + 1, 10))}


def _widen(low: float, high: float, mid: float, min_band: float, steps: int = 1) -> tuple[float, float]:
    """The band around `mid`, at least ±min_band (per step)."""
    return min(low, mid * (1 - min_band) ** steps), max(high, mid * (1 + min_band) ** steps)


def _num(value) -> float | None:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return float(value)


# ---------------------------------------------------------------- the projection


class _Projection:
    def __init__(self, dataset: Dataset, county_code: str, inputs: ForecastInputs, settings: ForecastSettings,
                 horizon: int):
        from junheng.engine.evaluate import records

        self.dataset, self.county, self.inputs, self.settings = dataset, county_code, inputs, settings
        self.grades_of = _segment_grades(settings)
        self.first_junior = settings.primary_grades + 1
        # closed schools are in the data for the years they reported, never projected forward
        schools = dataset.schools[(dataset.schools["county_code"] == county_code)
                                  & ~dataset.schools["school_id"].isin(list(dataset.closed_schools))]
        self.schools = {str(r["school_id"]): r for r in records(schools)}
        rows = dataset.school_year[dataset.school_year["school_id"].isin(list(self.schools))]
        self.rows: dict[str, dict[int, dict]] = {}
        for r in records(rows):
            self.rows.setdefault(str(r["school_id"]), {})[int(r["year"])] = r
        years = sorted({y for by_year in self.rows.values() for y in by_year})
        if not years:
            raise ForecastError(f"县区 {county_code} 没有已审核的学校年度数据,无法预测")
        self.history, self.base = years, years[-1]
        self.years = [self.base + k for k in range(1, horizon + 1)]
        self.notes: list[str] = []
        cat = catalog()
        self.segments = {
            sid: [s for s in cat.school_types[str(r["school_type"])].segments if s in ("primary", "junior")]
            for sid, r in self.schools.items() if str(r["school_type"]) != "special"
        }
        if any(str(r["school_type"]) == "special" for r in self.schools.values()):
            self.notes.append("特殊教育学校不参与学位预测")
        self.grades = {sid: {y: {int(g): float(n) for g, n in by_grade.items()}
                             for y, by_grade in inputs.grades.get(sid, {}).items()}
                       for sid in self.segments}
        self.cohort = [sid for sid in self.segments if self._has_grades(sid, self.base)]

    def _has_grades(self, sid: str, year: int) -> bool:
        by_grade = self.grades.get(sid, {}).get(year)
        if not by_grade:
            return False
        for seg in self.segments[sid]:
            students = _num(self.rows.get(sid, {}).get(year, {}).get(f"students_{seg}")) or 0
            if students > 0 and not any(by_grade.get(g, 0) > 0 for g in self.grades_of[seg]):
                return False
        return True

    # ------------------------------------------------------------ ratios

    def transitions(self) -> dict[int, dict]:
        """County progression ratios per transition g → g+1: pooled, and per year pair."""
        out = {}
        for g in range(1, 9):
            num = den = 0.0
            yearly = []
            for t in self.history[:-1]:
                if t + 1 not in self.history:
                    continue
                both = [s for s in self.grades if self.grades[s].get(t) and self.grades[s].get(t + 1)]
                n = sum(self.grades[s][t + 1].get(g + 1, 0.0) for s in both)
                d = sum(self.grades[s][t].get(g, 0.0) for s in both)
                if d > 0:
                    yearly.append((t, n / d))
                    num, den = num + n, den + d
            if den > 0:
                mid = num / den
                low, high = _widen(min(r for _, r in yearly), max(r for _, r in yearly), mid, self.settings.min_band)
                out[g] = {"mid": mid, "low": low, "high": high, "years": [f"{t}→{t + 1}" for t, _ in yearly]}
        return out

    def school_ratio(self, sid: str, g: int, county: dict[int, dict]) -> float:
        num = den = 0.0
        for t, by_grade in self.grades.get(sid, {}).items():
            nxt = self.grades[sid].get(t + 1)
            if nxt is None:
                continue
            num += nxt.get(g + 1, 0.0)
            den += by_grade.get(g, 0.0)
        if den >= MIN_TRANSITION_PUPILS:
            return num / den
        return county[g]["mid"] if g in county else 1.0

    def shares(self, grade: int) -> dict[str, float]:
        """Each cohort school's pooled share of the county's entrants of `grade`."""
        totals: dict[str, float] = {}
        for t in self.history:
            present = [s for s in self.cohort if self.grades.get(s, {}).get(t)]
            if not present:
                continue
            for s in present:
                totals[s] = totals.get(s, 0.0) + self.grades[s][t].get(grade, 0.0)
        whole = sum(totals.values())
        return {s: (v / whole if whole else 0.0) for s, v in totals.items()}

    def county_grade(self, grade: int, year: int) -> float | None:
        present = [s for s in self.cohort if self.grades.get(s, {}).get(year)]
        if not present:
            return None
        return sum(self.grades[s][year].get(grade, 0.0) for s in present)

    # ------------------------------------------------------------ entry (grade 1)

    def intake(self, entry_year: int) -> tuple[float | None, str | None]:
        kg = self.inputs.intake.get(entry_year, {}).get("kindergarten_leavers")
        if kg is not None:
            return float(kg), "kindergarten_leavers"
        births = self.inputs.intake.get(entry_year - self.settings.entry_age, {}).get("births")
        if births is not None:
            return float(births), "births"
        return None, None

    def entry_model(self) -> dict:
        """How county grade 1 is projected: entry ratios to intake, or grade 1's own trend."""
        ratios = []
        for t in self.history:
            g1 = self.county_grade(1, t)
            intake, source = self.intake(t)
            if g1 and intake:
                ratios.append((t, g1 / intake, source))
        model: dict = {"method": "trend"}
        if ratios:
            mid = sum(r for _, r, _ in ratios) / len(ratios)
            low, high = _widen(min(r for _, r, _ in ratios), max(r for _, r, _ in ratios), mid, self.settings.min_band)
            model = {"method": "intake", "ratio": {"mid": mid, "low": low, "high": high},
                     "years": [t for t, _, _ in ratios]}
        elif any(self.intake(y)[0] for y in self.years):
            model = {"method": "intake", "ratio": {"mid": 1.0, "low": 1 - self.settings.min_band,
                                                   "high": 1 + self.settings.min_band}, "years": []}
            self.notes.append("没有同时具备一年级人数和出生(或幼儿园毕业)人数的历史年份,入学率按 1 计")
        known = [(t, self.county_grade(1, t)) for t in self.history if self.county_grade(1, t)]
        growth = [b / a for (ta, a), (tb, b) in zip(known, known[1:]) if tb == ta + 1 and a]
        if growth:
            mid = math.prod(growth) ** (1 / len(growth))
            low, high = _widen(min(growth), max(growth), mid, self.settings.min_band)
        else:
            mid, low, high = 1.0, 1 - self.settings.min_band, 1 + self.settings.min_band
        model["trend"] = {"mid": mid, "low": low, "high": high}
        model["base"] = known[-1][1] if known else 0.0
        model["base_year"] = known[-1][0] if known else self.base
        return model

    def grade1(self, year: int, scenario: str, model: dict) -> tuple[float, str]:
        intake, source = self.intake(year)
        if model["method"] == "intake" and intake is not None:
            return intake * model["ratio"][scenario], source
        steps = year - model["base_year"]
        return model["base"] * model["trend"][scenario] ** steps, "trend"

    # ------------------------------------------------------------ run

    def run(self) -> CountyForecast:
        county_ratios = self.transitions()
        entry = self.entry_model()
        shares1 = self.shares(1)
        shares_j = self.shares(self.first_junior)
        forecasts: dict[str, SchoolForecast] = {}
        for sid in self.segments:
            r = self.schools[sid]
            forecasts[sid] = SchoolForecast(sid, str(r["school_name"]), str(r["school_type"]),
                                            "cohort" if sid in self.cohort else "segment")
        if self.cohort and len(self.cohort) < len(self.segments):
            self.notes.append(f"{len(self.segments) - len(self.cohort)} 所学校没有分年级人数,按学段增长率预测")
        if not self.cohort:
            self.notes.append("没有分年级在校生数,全部学校按学段增长率预测")
        elif not county_ratios:
            self.notes.append("分年级人数只有一年,升级率按 1(无流失)计,区间按最小幅度估计")
        entry_sources: dict[int, str] = {}

        per_scenario: dict[str, dict[str, dict[int, dict[int, float]]]] = {}
        for scenario in SCENARIOS:
            state = {sid: dict(self.grades[sid][self.base]) for sid in self.cohort}
            out: dict[str, dict[int, dict[int, float]]] = {sid: {} for sid in self.cohort}
            for year in self.years:
                leaving_primary = sum(state[s].get(self.first_junior - 1, 0.0) for s in self.cohort)
                g1, source = self.grade1(year, scenario, entry)
                entry_sources[year] = source
                r_j = county_ratios.get(self.first_junior - 1, {}).get(scenario, 1.0)
                junior_entry = leaving_primary * r_j
                new_state = {}
                for sid in self.cohort:
                    grades: dict[int, float] = {}
                    for seg in self.segments[sid]:
                        first = self.grades_of[seg][0]
                        for g in self.grades_of[seg]:
                            if g == first:
                                grades[g] = (shares1 if g == 1 else shares_j).get(sid, 0.0) * (g1 if g == 1 else junior_entry)
                            else:
                                factor = county_ratios.get(g - 1, {}).get(scenario, 1.0) / \
                                    county_ratios.get(g - 1, {}).get("mid", 1.0)
                                grades[g] = state[sid].get(g - 1, 0.0) * self.school_ratio(sid, g - 1, county_ratios) * factor
                    new_state[sid] = grades
                    out[sid][year] = dict(grades)
                state = new_state
            per_scenario[scenario] = out

        for sid in self.cohort:
            f = forecasts[sid]
            for year in self.years:
                f.grades[year] = {g: Band(per_scenario["mid"][sid][year][g], per_scenario["low"][sid][year][g],
                                          per_scenario["high"][sid][year][g])
                                  for g in sorted(per_scenario["mid"][sid][year])}
                f.segments[year] = {seg: Band(*(sum(per_scenario[sc][sid][year].get(g, 0.0)
                                                    for g in self.grades_of[seg]) for sc in SCENARIOS))
                                    for seg in self.segments[sid]}
        for sid in self.segments:
            if sid not in self.cohort:
                self._segment_fallback(forecasts[sid])
        unassigned = self._housing(forecasts)
        entry["sources"] = {str(y): s for y, s in entry_sources.items()}
        ratios = {f"{g}→{g + 1}": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
                  for g, r in county_ratios.items()}
        forecast = CountyForecast(
            county_code=self.county, county_name=self.dataset.county_name(self.county), base_year=self.base,
            years=self.years, schools=list(forecasts.values()), seats=[], ratios=ratios, entry=entry,
            notes=self.notes)
        forecast.seats = self._seats(forecast, unassigned)
        return forecast

    def _segment_fallback(self, f: SchoolForecast) -> None:
        history = self.rows.get(f.school_id, {})
        for seg in self.segments[f.school_id]:
            series = [(y, _num(history[y].get(f"students_{seg}"))) for y in sorted(history)]
            series = [(y, n) for y, n in series if n is not None]
            if not series:
                continue
            base = series[-1][1] if series[-1][0] == self.base else None
            if base is None:
                f.notes.append(f"{SEGMENT_LABELS[seg]}没有 {self.base} 年的在校生数,未预测")
                continue
            growth = [b / a for (ya, a), (yb, b) in zip(series, series[1:]) if yb == ya + 1 and a > 0]
            if growth:
                mid = math.prod(growth) ** (1 / len(growth))
                low, high = min(growth), max(growth)
            else:
                mid = low = high = 1.0
                f.notes.append(f"{SEGMENT_LABELS[seg]}只有一年数据,按人数不变预测")
            for k, year in enumerate(self.years, start=1):
                lo, hi = _widen(base * low ** k, base * high ** k, base * mid ** k, self.settings.min_band, k)
                f.segments.setdefault(year, {})[seg] = Band(base * mid ** k, lo, hi)

    def _housing(self, forecasts: dict[str, SchoolForecast]) -> dict[int, dict[str, float]]:
        """Add housing projects' pupils; returns the pupils of projects without a school."""
        unassigned: dict[int, dict[str, float]] = {}
        for project in self.inputs.housing:
            for year in self.years:
                if year < project.year_ready:
                    continue
                for seg, pupils in (("primary", project.primary_pupils), ("junior", project.junior_pupils)):
                    if not pupils:
                        continue
                    f = forecasts.get(project.school_id) if project.school_id else None
                    if f is None or seg not in f.segments.get(year, {}):
                        unassigned.setdefault(year, {}).setdefault(seg, 0.0)
                        unassigned[year][seg] += pupils
                        continue
                    band = f.segments[year][seg]
                    f.segments[year][seg] = Band(band.mid + pupils, band.low + pupils, band.high + pupils)
                    if year in f.grades:
                        per_grade = pupils / len(self.grades_of[seg])
                        for g in self.grades_of[seg]:
                            b = f.grades[year].get(g, Band(0.0, 0.0, 0.0))
                            f.grades[year][g] = Band(b.mid + per_grade, b.low + per_grade, b.high + per_grade)
                    note = f"含住房项目“{project.name}”新增{SEGMENT_LABELS[seg]} {pupils} 人(自 {project.year_ready} 年)"
                    if note not in f.notes:
                        f.notes.append(note)
            if project.school_id and project.school_id not in forecasts:
                self.notes.append(f"住房项目“{project.name}”的学校 {project.school_id} 不在本县,计入全县学位需求")
        return unassigned

    def _seats(self, forecast: CountyForecast, unassigned: dict[int, dict[str, float]]) -> list[SeatDemand]:
        from junheng.standards.loader import DEFAULT_STANDARD, load_standard

        standard = load_standard(str(self.dataset.county_attribute(self.county, "standard") or DEFAULT_STANDARD))
        # a class-size rule's limits give each school's seats (classes × the limit)
        class_size = standard.indicators_of_kind("class_size")
        limits = dict(class_size[0].rule.limits) if class_size else {}
        out = []
        missing_classes = 0
        for seg in ("primary", "junior"):
            capacity_of: dict[str, float] = {}
            base_demand = 0.0
            for f in forecast.schools:
                if seg not in self.segments[f.school_id]:
                    continue
                row = self.rows.get(f.school_id, {}).get(self.base, {})
                base_demand += _num(row.get(f"students_{seg}")) or 0.0
                classes = _num(row.get(f"classes_{seg}"))
                if classes is not None and seg in limits:
                    capacity_of[f.school_id] = classes * limits[seg]
                elif _num(row.get(f"students_{seg}")):
                    missing_classes += 1
            if not base_demand and not any(seg in u for u in unassigned.values()):
                continue
            for year in self.years:
                demand = {sc: 0.0 for sc in SCENARIOS}
                short = {sc: 0.0 for sc in SCENARIOS}
                for f in forecast.schools:
                    band = f.segments.get(year, {}).get(seg)
                    if band is None:
                        continue
                    for sc in SCENARIOS:
                        value = getattr(band, sc)
                        demand[sc] += value
                        if f.school_id in capacity_of:
                            short[sc] += max(0.0, value - capacity_of[f.school_id])
                extra = unassigned.get(year, {}).get(seg, 0.0)
                for sc in SCENARIOS:
                    demand[sc] += extra
                    short[sc] += extra
                out.append(SeatDemand(
                    year=year, segment=seg, demand=Band(demand["mid"], demand["low"], demand["high"]),
                    capacity=sum(capacity_of.values()) if capacity_of else None,
                    shortfall=Band(short["mid"], short["low"], short["high"]),
                    additional=Band(demand["mid"] - base_demand, demand["low"] - base_demand,
                                    demand["high"] - base_demand)))
        if missing_classes:
            self.notes.append(f"{missing_classes} 个学校学段缺少班级数,未计入学位容量")
        return out


# ---------------------------------------------------------------- projected indicators


def _index(dataset: Dataset) -> dict:
    """Rows of a dataset grouped by county and year, built once per dataset (plain dicts)."""
    cached = dataset.__dict__.get("_monitor_index")
    if cached is not None:
        return cached
    from junheng.engine.evaluate import records

    county_of = dict(zip(dataset.schools["school_id"].astype(str), dataset.schools["county_code"].astype(str)))
    index: dict = {"school_year": {}, "county_year": {}, "quality": {}}
    for r in records(dataset.school_year):
        key = (county_of.get(str(r["school_id"])), int(r["year"]))
        index["school_year"].setdefault(key, {})[str(r["school_id"])] = r
    for name in ("county_year", "quality"):
        for r in records(dataset.table(name)):
            index[name].setdefault((str(r["county_code"]), int(r["year"])), []).append(r)
    dataset.__dict__["_monitor_index"] = index
    return index


def _projected_rows(dataset: Dataset, forecast: CountyForecast, scenario: str) -> tuple[list, list, list]:
    index = _index(dataset)
    code, base = forecast.county_code, forecast.base_year
    base_rows = index["school_year"].get((code, base), {})
    by_school = {f.school_id: f for f in forecast.schools}
    rows = []
    for year in forecast.years:
        for sid, base_row in base_rows.items():
            row = dict(base_row)
            row["year"] = year
            f = by_school.get(sid)
            if f is not None:
                for seg, band in f.segments.get(year, {}).items():
                    before = _num(base_row.get(f"students_{seg}"))
                    after = max(0, int(round(getattr(band, scenario))))
                    row[f"students_{seg}"] = after
                    largest = _num(base_row.get(f"max_class_size_{seg}"))
                    classes = _num(base_row.get(f"classes_{seg}"))
                    if largest is not None and before:
                        row[f"max_class_size_{seg}"] = int(math.ceil(largest * after / before - 1e-9))
                    elif classes:
                        row[f"max_class_size_{seg}"] = int(math.ceil(after / classes))
                    if row.get(f"max_class_size_{seg}") is not None:
                        row[f"oversize_classes_{seg}"] = None
            rows.append(row)
    county_rows = [dict(r, year=y) for r in index["county_year"].get((code, base), []) for y in forecast.years]
    quality = [dict(r, year=y) for r in index["quality"].get((code, base), []) for y in forecast.years]
    return rows, county_rows, quality


def projected_dataset(dataset: Dataset, forecasts: CountyForecast | list[CountyForecast],
                      scenario: str = "mid") -> Dataset:
    """The counties' base-year rows copied to each projected year with the projected students;
    the largest class grows or shrinks with the students (classes held)."""
    forecasts = forecasts if isinstance(forecasts, list) else [forecasts]
    rows, county_rows, quality = [], [], []
    for f in forecasts:
        a, b, c = _projected_rows(dataset, f, scenario)
        rows += a
        county_rows += b
        quality += c
    codes = {f.county_code for f in forecasts}
    frames = {"schools": dataset.schools[dataset.schools["county_code"].isin(codes)],
              "school_year": pd.DataFrame(rows),
              "counties": dataset.counties[dataset.counties["county_code"].isin(codes)]}
    if county_rows:
        frames["county_year"] = pd.DataFrame(county_rows)
    if quality:
        frames["quality"] = pd.DataFrame(quality)
    frames = {k: v for k, v in frames.items() if not v.empty}
    return Dataset.from_frames(source=f"预测({SCENARIO_LABELS[scenario]})", synthetic=dataset.synthetic, **frames)


def project_county(dataset: Dataset, county_code: str, inputs: ForecastInputs | None = None, *,
                   settings: ForecastSettings | None = None, horizon: int | None = None) -> CountyForecast:
    """Project every school of a county `horizon` years past its latest stored year (students
    only; `evaluate_forecasts` adds the projected indicators)."""
    settings = settings or ForecastSettings()
    return _Projection(dataset, county_code, inputs or ForecastInputs(), settings,
                       horizon or settings.horizon_years).run()


def _concat(parts: list[Dataset], synthetic: bool) -> Dataset:
    frames = {name: pd.concat([p.table(name) for p in parts], ignore_index=True) for name in Dataset.TABLES}
    frames["counties"] = frames["counties"].drop_duplicates("county_code")
    frames["schools"] = frames["schools"].drop_duplicates("school_id")
    combined = Dataset.from_frames(source=parts[0].source, synthetic=synthetic,
                                   **{k: v for k, v in frames.items() if not v.empty})
    combined.coverage = {pair: c for p in parts for pair, c in p.coverage.items()}  # the store's roster stays
    return combined


def evaluate_forecasts(dataset: Dataset, forecasts: list[CountyForecast], scenarios: tuple[str, ...] = SCENARIOS,
                       *, with_actual: bool = False) -> dict[tuple[str, int], EvaluationResult]:
    """Evaluate the projected years of many counties at once (one engine pass per scenario).
    With `with_actual`, the stored years of `dataset` are evaluated in the first pass too (one
    engine pass instead of two) and their results returned by (county, year)."""
    from junheng.engine.evaluate import evaluate_dataset

    actual: dict[tuple[str, int], EvaluationResult] = {}
    for n, scenario in enumerate(scenarios or (None,)):
        parts = []
        if scenario and forecasts:
            projected = projected_dataset(dataset, forecasts, scenario)
            for f in forecasts:
                f.projected[scenario] = projected
            if not projected.school_year.empty:
                parts.append(projected)
        include = with_actual and n == 0 and dataset.county_year_pairs()
        if include:
            parts.insert(0, dataset)
        if not parts:
            continue
        combined = parts[0] if len(parts) == 1 else _concat(parts, dataset.synthetic)
        by_pair = {(r.county_code, r.year): r for r in evaluate_dataset(combined)}
        if include:
            actual = {pair: by_pair[pair] for pair in dataset.county_year_pairs()}
        for f in forecasts:
            if scenario:
                f.results[scenario] = {y: by_pair[(f.county_code, y)] for y in f.years
                                       if (f.county_code, y) in by_pair}
    return actual


def forecast_county(dataset: Dataset, county_code: str, inputs: ForecastInputs | None = None, *,
                    settings: ForecastSettings | None = None, horizon: int | None = None,
                    scenarios: tuple[str, ...] = SCENARIOS) -> CountyForecast:
    """Project a county and evaluate the projected years under each scenario in `scenarios`."""
    forecast = project_county(dataset, county_code, inputs, settings=settings, horizon=horizon)
    evaluate_forecasts(dataset, [forecast], scenarios)
    return forecast


def projected_observations(forecast: CountyForecast, dataset: Dataset, scenario: str = "mid"
                           ) -> dict[int, list[Observation]]:
    """Observations of each projected year (per-student values, CVs, sizes, class sizes)."""
    from junheng.monitor.series import result_observations

    projected = forecast.projected.get(scenario) or projected_dataset(dataset, forecast, scenario)
    return {year: result_observations(result, projected)
            for year, result in forecast.results.get(scenario, {}).items()}


# ---------------------------------------------------------------- the forecast as the web shows it

ENTRY_LABELS = {"births": "出生人口", "kindergarten_leavers": "幼儿园毕业人数", "trend": "一年级人数趋势"}


def _band_sum(bands: list[Band]) -> Band:
    return Band(sum(b.mid for b in bands), sum(b.low for b in bands), sum(b.high for b in bands))


def _size_indicators(forecast: CountyForecast) -> dict[str, dict]:
    """The school-size and class-size indicators (id → id, name, rule kind) of the standard the
    projected years are evaluated under."""
    from junheng.standards.loader import load_standard

    standards = {r.standard for by_year in forecast.results.values() for r in by_year.values()}
    out: dict[str, dict] = {}
    for standard_id in sorted(standards):
        for ind in load_standard(standard_id).indicators_of_kind("school_size", "class_size"):
            out.setdefault(ind.id, {"id": ind.id, "name": ind.name, "kind": ind.rule.kind})
    return out


def forecast_view(forecast: CountyForecast) -> dict:
    """What the forecast page shows (and its JSON): county students per grade and per segment
    with the band, seat demand against capacity, projected school sizes (G4) and largest
    classes (G5) per school, and the items projected to fail per scenario. Every number comes
    from the projection and the engine's evaluation of the projected years."""
    years = forecast.years
    grade_rows = []
    for g in range(1, 10):
        bands = {y: [s.grades[y][g] for s in forecast.schools if g in s.grades.get(y, {})] for y in years}
        if any(bands.values()):
            grade_rows.append({"grade": g, "years": {str(y): _band_sum(b).json() if b else None
                                                     for y, b in bands.items()}})
    segments = []
    for seg in ("primary", "junior"):
        seats = [s for s in forecast.seats if s.segment == seg]
        if not seats:
            continue
        base = seats[0].demand.mid - seats[0].additional.mid
        segments.append({
            "segment": seg, "segment_label": SEGMENT_LABELS[seg], "base_year": forecast.base_year,
            "base_students": int(round(base)), "capacity": seats[0].capacity if seats[0].capacity is None
            else int(round(seats[0].capacity)), "rows": [s.json() for s in seats],
            "chart": {"id": f"forecast-{seg}", "title": f"{SEGMENT_LABELS[seg]}在校生与学位",
                      "years": [forecast.base_year] + years,
                      "mid": [int(round(base))] + [int(round(s.demand.mid)) for s in seats],
                      "low": [int(round(base))] + [int(round(s.demand.low)) for s in seats],
                      "high": [int(round(base))] + [int(round(s.demand.high)) for s in seats],
                      "capacity": None if seats[0].capacity is None else
                      [int(round(seats[0].capacity))] * (len(years) + 1)}})
    sizes: dict[tuple, dict] = {}
    size_ids = _size_indicators(forecast)
    for scenario in ("mid", "high"):
        if scenario not in forecast.results:
            continue
        for year, observations in projected_observations(forecast, forecast.projected[scenario], scenario).items():
            for o in observations:
                if o.indicator not in size_ids or o.level != "school" or not o.numeric:
                    continue
                key = (o.indicator, o.school_id, o.segment)
                row = sizes.setdefault(key, {
                    "indicator": o.indicator, "label": o.label, "school_id": o.school_id,
                    "school_name": o.school_name, "segment": o.segment, "limit": o.threshold, "unit": o.unit,
                    "years": {}})
                cell = row["years"].setdefault(str(year), {})
                cell[scenario] = int(round(o.value))
                cell[f"{scenario}_met"] = o.met
    size_rows = sorted(sizes.values(), key=lambda r: (r["indicator"], r["school_id"] or "", r["segment"] or ""))
    for row in size_rows:
        cells = row["years"].values()
        row["fails_mid"] = any(c.get("mid_met") is False for c in cells)
        row["fails_high"] = any(c.get("high_met") is False for c in cells)
    failing = {sc: {str(y): r.failing_items() for y, r in by_year.items()} for sc, by_year in forecast.results.items()}
    entry = forecast.entry
    sources = sorted({ENTRY_LABELS.get(s, s) for s in entry.get("sources", {}).values() if s})
    return {
        "county_code": forecast.county_code, "county_name": forecast.county_name, "base_year": forecast.base_year,
        "years": years, "notes": list(forecast.notes), "entry_method": entry.get("method"),
        "entry_sources": sources, "ratios": forecast.ratios, "grades": grade_rows, "segments": segments,
        "size_indicators": list(size_ids.values()),
        "sizes": size_rows, "size_failures": {"mid": sum(r["fails_mid"] for r in size_rows),
                                              "high": sum(r["fails_high"] for r in size_rows)},
        "failing_items": failing,
        "schools": [{"school_id": s.school_id, "school_name": s.school_name, "school_type": s.school_type,
                     "method": s.method, "notes": s.notes,
                     "years": {str(y): {seg: b.json() for seg, b in s.segments.get(y, {}).items()} for y in years}}
                    for s in forecast.schools],
    }

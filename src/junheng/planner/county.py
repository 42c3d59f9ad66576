"""One county's data for one year, as plain rows the planner can edit, and back to a Dataset
the engine evaluates. The planner never judges an indicator itself: it edits rows and asks
`evaluate_dataset` (see docs/methods.md, "Remediation planning")."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from junheng.data.catalog import catalog
from junheng.data.dataset import Dataset
from junheng.engine.coverage import default_year
from junheng.engine.result import EvaluationResult
from junheng.planner.errors import PlannerError
from junheng.standards.loader import load_standard
from junheng.standards.model import Standard

SEGMENT_LABELS = {"primary": "小学", "junior": "初中", "senior": "高中"}


def _records(frame: pd.DataFrame) -> list[dict]:
    if frame.empty:
        return []
    return pa.Table.from_pandas(frame, preserve_index=False).to_pylist()


def clean(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


@dataclass
class CountyYear:
    """The rows of one county and year; `schools` and `rows` are keyed by school_id (plain dicts,
    missing values as None). `dataset` is the original, for everything outside this county-year."""

    dataset: Dataset
    county: str
    year: int
    schools: dict[str, dict]
    rows: dict[str, dict]
    county_row: dict | None
    standard: Standard
    notes: list[str] = field(default_factory=list)

    @property
    def county_name(self) -> str:
        return self.dataset.county_name(self.county)

    def school_name(self, school_id: str) -> str:
        row = self.schools.get(school_id)
        return str(row["school_name"]) if row else school_id

    def school_type(self, school_id: str) -> str:
        return str(self.schools[school_id]["school_type"])

    def value(self, school_id: str, key: str) -> float | None:
        return clean(self.rows[school_id].get(key))

    def copy(self) -> "CountyYear":
        return CountyYear(
            dataset=self.dataset, county=self.county, year=self.year,
            schools={k: dict(v) for k, v in self.schools.items()},
            rows={k: dict(v) for k, v in self.rows.items()},
            county_row=dict(self.county_row) if self.county_row is not None else None,
            standard=self.standard, notes=list(self.notes),
        )

    def to_dataset(self) -> Dataset:
        """This county-year alone, as a Dataset (catalogue dtypes restored)."""
        ds = self.dataset
        quality = ds.quality[(ds.quality["county_code"] == self.county) & (ds.quality["year"] == self.year)]
        counties = ds.counties[ds.counties["county_code"] == self.county]
        frames = {
            "schools": _frame(list(self.schools.values()), ds.schools.columns),
            "school_year": _frame(list(self.rows.values()), ds.school_year.columns),
            "county_year": _frame([self.county_row] if self.county_row else [], ds.county_year.columns),
            "quality": quality.reset_index(drop=True),
            "counties": counties.reset_index(drop=True),
        }
        return Dataset.from_frames(source=ds.source, synthetic=ds.synthetic, **frames)

    def evaluate(self) -> EvaluationResult:
        from junheng.engine.evaluate import evaluate_dataset

        return evaluate_dataset(self.to_dataset(), county=self.county, year=self.year, standard=self.standard)[0]


def _frame(rows: list[dict], columns) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in columns:
        if column not in frame.columns:
            frame[column] = None
    ordered = list(columns) + [c for c in frame.columns if c not in set(columns)]
    return frame[ordered] if len(frame.columns) else frame


def resolve_standard(dataset: Dataset, county: str, standard: str | Standard | None) -> Standard:
    if isinstance(standard, Standard):
        return standard
    from junheng.engine.evaluate import standard_for

    return load_standard(standard_for(dataset, county, standard))


def select_county_year(dataset: Dataset, county: str | None = None, year: int | None = None,
                       standard: str | Standard | None = None) -> CountyYear:
    """The county-year to plan for. Without a county the dataset must hold exactly one; without a
    year the county's latest complete year is used (docs/methods.md, "Coverage")."""
    pairs = dataset.county_year_pairs()
    if not pairs:
        raise PlannerError("数据集中没有任何学校年度数据,无法制定方案")
    counties = sorted({c for c, _ in pairs})
    listing = "、".join(f"{c}({dataset.county_name(c)})" for c in counties[:20])
    if county is None:
        if len(counties) > 1:
            raise PlannerError(f"数据集中有 {len(counties)} 个县区,请用 --county 指定一个:{listing}")
        county = counties[0]
    county = str(county)
    years = sorted(y for c, y in pairs if c == county)
    if not years:
        raise PlannerError(f"数据集中没有县区 {county} 的学校年度数据。数据集中有:{listing}")
    if year is None:
        year = default_year(dataset, county, years)  # the latest complete year
    if year not in years:
        raise PlannerError(f"数据集中没有县区 {county} {year} 年的学校年度数据;已有年度:"
                           + "、".join(str(y) for y in years))
    schools = dataset.schools[dataset.schools["county_code"] == county]
    ids = set(schools["school_id"])
    school_year = dataset.school_year[dataset.school_year["school_id"].isin(ids) & (dataset.school_year["year"] == year)]
    county_year = dataset.county_year[(dataset.county_year["county_code"] == county) & (dataset.county_year["year"] == year)]
    school_rows = {str(r["school_id"]): r for r in _records(schools)}
    rows = {str(r["school_id"]): r for r in _records(school_year)}
    county_rows = _records(county_year)
    return CountyYear(
        dataset=dataset, county=county, year=int(year),
        schools={k: v for k, v in school_rows.items() if k in rows},
        rows=rows, county_row=county_rows[0] if county_rows else None,
        standard=resolve_standard(dataset, county, standard),
    )


# ---------------------------------------------------------------- units as the engine saw them


@dataclass
class Unit:
    """One evaluated (school, segment) unit: the engine's values and the amounts behind them."""

    school_id: str
    school_name: str
    school_type: str
    segment: str
    students: int
    share: float  # share of school-wide facilities
    resource: dict[str, float | None]  # each unit-level indicator's amount after split and allowances
    value: dict[str, float | None]
    threshold: dict[str, float]
    met: dict[str, bool | None]
    scale: dict[str, float]
    explicit: dict[str, bool]  # a school-wide facility given per segment in the data (no split)
    compliant: bool | None

    @property
    def key(self) -> tuple[str, str]:
        return self.school_id, self.segment

    def need(self, ind: str) -> float:
        """Amount the unit lacks to reach the threshold (≤ 0 when met), in resource units."""
        return self.threshold[ind] * self.students / self.scale[ind] - (self.resource[ind] or 0.0)


def units_of(result: EvaluationResult, cy: CountyYear) -> list[Unit]:
    std = cy.standard
    scale = {ind.id: ind.rule.scale for ind in std.resource_indicators()}
    shared = [ind for ind in std.resource_indicators() if ind.rule.source == "shared"]
    out = []
    for u in result.resource.units:
        raw = cy.rows.get(u.school_id, {})
        explicit = {ind.id: clean(raw.get(f"{ind.rule.resource}_{u.segment}")) is not None for ind in shared}
        out.append(Unit(
            school_id=u.school_id, school_name=u.school_name, school_type=u.school_type, segment=u.segment,
            students=int(u.students), share=float(u.share if u.share is not None else 1.0),
            resource={i: ind.resource for i, ind in u.indicators.items()},
            value={i: ind.value for i, ind in u.indicators.items()},
            threshold={i: ind.threshold for i, ind in u.indicators.items()},
            met={i: ind.met for i, ind in u.indicators.items()},
            scale=scale, explicit=explicit, compliant=u.compliant,
        ))
    return out


def segments_of_type(school_type: str) -> tuple[str, ...]:
    return tuple(catalog().school_types[school_type].segments)

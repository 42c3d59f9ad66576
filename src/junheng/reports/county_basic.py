"""基本情况 of the county report: schools, students, teachers and classes by school type (from the
dataset, or without it from the result's units), the county's facts in a paragraph, the data
completeness of a provisional year, and the standard the evaluation follows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd

from junheng.data.dataset import Dataset
from junheng.engine.result import SCHOOL_STATE_LABELS, EvaluationResult
from junheng.reports import narrative as words
from junheng.reports.county_cells import count_cell, text_cell
from junheng.reports.document import Cell, Column, ReportDocument, Run, Table
from junheng.reports.xlsx import INTEGER, MISSING_TEXT, area_label, county_label, school_type_label, standard_named


SCHOOL_TYPE_ORDER = ("primary", "junior", "nine_year", "twelve_year", "complete_middle", "teaching_point", "special")


@dataclass
class TypeRow:
    school_type: str
    schools: int = 0
    students: dict[str, int | None] = field(default_factory=dict)  # primary, junior
    teachers: dict[str, int | None] = field(default_factory=dict)
    classes: dict[str, int | None] = field(default_factory=dict)
    incomplete: set[str] = field(default_factory=set)  # columns some school did not fill in


@dataclass
class CountyFacts:
    rows: list[TypeRow]
    from_dataset: bool
    city: str | None = None
    province: str | None = None
    population: int | None = None
    basic_balance_year: int | None = None
    target_year: int | None = None
    certified_year: int | None = None


def _attribute(dataset: Dataset, county: str, key: str):
    value = dataset.county_attribute(county, key)
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def county_facts(result: EvaluationResult, dataset: Dataset | None) -> CountyFacts:
    if dataset is None:
        return _facts_from_result(result)
    schools = dataset.schools[dataset.schools["county_code"] == result.county_code]
    school_year = dataset.school_year[
        dataset.school_year["school_id"].isin(schools["school_id"]) & (dataset.school_year["year"] == result.year)]
    joined = school_year.merge(schools[["school_id", "school_type"]], on="school_id")
    rows = []
    for school_type in [*SCHOOL_TYPE_ORDER, *sorted(set(joined["school_type"].dropna()) - set(SCHOOL_TYPE_ORDER))]:
        group = joined[joined["school_type"] == school_type]
        if group.empty:
            continue
        row = TypeRow(school_type=school_type, schools=int(group["school_id"].nunique()))
        for seg in ("primary", "junior"):
            for key, target in (("students", row.students), ("teachers", row.teachers), ("classes", row.classes)):
                column = group[f"{key}_{seg}"]
                target[seg] = int(column.sum(skipna=True)) if column.notna().any() else None
                if column.isna().any() and column.notna().any():
                    row.incomplete.add(f"{key}_{seg}")
        rows.append(row)
    get = lambda key: _attribute(dataset, result.county_code, key)  # noqa: E731
    as_int = lambda v: int(v) if v is not None else None  # noqa: E731
    return CountyFacts(
        rows=rows, from_dataset=True, city=get("city"), province=get("province"),
        population=as_int(get("resident_population")), basic_balance_year=as_int(get("basic_balance_year")),
        target_year=as_int(get("target_year")), certified_year=as_int(get("certified_year")),
    )


def _facts_from_result(result: EvaluationResult) -> CountyFacts:
    by_type: dict[str, TypeRow] = {}
    seen: dict[str, set[str]] = defaultdict(set)
    for unit in result.resource.units:
        row = by_type.setdefault(unit.school_type, TypeRow(school_type=unit.school_type))
        seen[unit.school_type].add(unit.school_id)
        row.students[unit.segment] = (row.students.get(unit.segment) or 0) + unit.students
    rows = []
    for school_type in [*SCHOOL_TYPE_ORDER, *sorted(set(by_type) - set(SCHOOL_TYPE_ORDER))]:
        if school_type in by_type:
            row = by_type[school_type]
            row.schools = len(seen[school_type])
            row.teachers = {"primary": None, "junior": None}
            row.classes = {"primary": None, "junior": None}
            rows.append(row)
    basic = result.precondition.basic_balance_year if result.precondition else None
    return CountyFacts(rows=rows, from_dataset=False, basic_balance_year=basic)


def _total(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _facts_cell(row: TypeRow, key: str, seg: str, from_dataset: bool) -> Cell:
    value = getattr(row, key).get(seg)
    if value is None:
        if not from_dataset or seg not in _segments_of_type(row.school_type):
            return Cell("—", align="center")  # not reported without a dataset / no such segment
        return Cell(MISSING_TEXT, shade="missing", align="center")
    cell = count_cell(value)
    if f"{key}_{seg}" in row.incomplete:
        return Cell(f"{value:,}(部分学校未填报)", value=value, shade="missing", number_format=INTEGER, align="right")
    return cell


def _segments_of_type(school_type: str) -> tuple[str, ...]:
    from junheng.data.catalog import catalog

    spec = catalog().school_types.get(school_type)
    return tuple(spec.segments) if spec else ("primary", "junior")


def basic_table(facts: CountyFacts) -> Table:
    columns = [Column("学校类型", 2.2), Column("学校数", 1, "所"), Column("小学在校生", 1.3, "人"),
               Column("初中在校生", 1.3, "人"), Column("小学专任教师", 1.3, "人"), Column("初中专任教师", 1.3, "人"),
               Column("小学班级", 1.1, "个"), Column("初中班级", 1.1, "个")]
    keys = [("students", "primary"), ("students", "junior"), ("teachers", "primary"), ("teachers", "junior"),
            ("classes", "primary"), ("classes", "junior")]
    rows = [[text_cell(school_type_label(r.school_type)), count_cell(r.schools),
             *[_facts_cell(r, key, seg, facts.from_dataset) for key, seg in keys]] for r in facts.rows]
    totals = [_total([getattr(r, key).get(seg) for r in facts.rows]) for key, seg in keys]
    rows.append([text_cell("合计", bold=True), count_cell(sum(r.schools for r in facts.rows)),
                 *[count_cell(t) if t is not None else Cell("—", align="center") for t in totals]])
    note = None if facts.from_dataset else "未提供数据集:学校数和在校生数取自评估结果的评估单位(不含特殊教育学校),教师和班级数未列出。"
    return Table(kind="basic", title="全县义务教育学校、学生和教师基本情况", columns=columns, rows=rows,
                 sheet="基本情况", note=note)


def basic_paragraph(result: EvaluationResult, facts: CountyFacts) -> str:
    name = county_label(result)
    where = "".join(x for x in (facts.province, facts.city) if x)
    parts = [f"{name}" + (f"隶属{where}" if where else "")]
    if facts.population:
        parts.append(f"常住人口{facts.population / 10000:.2f}万人")
    text = ",".join(parts) + "。"
    schools = sum(r.schools for r in facts.rows)
    by_type = "、".join(f"{school_type_label(r.school_type)}{r.schools}所" for r in facts.rows)
    primary = _total([r.students.get("primary") for r in facts.rows])
    junior = _total([r.students.get("junior") for r in facts.rows])
    coverage = result.coverage
    if result.provisional and coverage is not None:
        # the figures are those of the schools whose data are in, never the county's
        text += (f"{words.school_year_text(result.year)},全县应有义务教育学校{coverage.schools_expected}所,"
                 f"已纳入本次评估的{schools}所({by_type})")
        whose = "以上学校"
    else:
        text += f"{words.school_year_text(result.year)},全县义务教育学校{schools}所({by_type})"
        whose = "义务教育阶段"
    if primary is not None or junior is not None:
        text += (f",{whose}在校生{words.amount((primary or 0) + (junior or 0))}人({_people('小学', primary)}、"
                 f"{_people('初中', junior)})")
    teachers = [_total([r.teachers.get(s) for r in facts.rows]) for s in ("primary", "junior")]
    if any(t is not None for t in teachers):
        text += (f",专任教师{words.amount(sum(t or 0 for t in teachers))}人({_people('小学', teachers[0])}、"
                 f"{_people('初中', teachers[1])})")
    text += "。"
    if facts.basic_balance_year:
        text += f"{facts.basic_balance_year}年,我县通过国家义务教育基本均衡发展督导评估认定。"
    if facts.certified_year:
        text += f"{facts.certified_year}年,我县通过义务教育优质均衡发展督导评估认定。"
    elif facts.target_year:
        text += f"按照规划,我县计划于{facts.target_year}年通过义务教育优质均衡发展督导评估认定。"
    return text


def _people(segment: str, count: int | None) -> str:
    """"小学 812 人", or "初中人数未填报" (never "初中数据缺失人")."""
    return f"{segment}{words.amount(count)}人" if count is not None else f"{segment}人数未填报"


def coverage_table(result: EvaluationResult) -> Table | None:
    """The schools an incomplete evaluation lacks, with the state of their data."""
    coverage = result.coverage
    if coverage is None or coverage.complete or not coverage.missing:
        return None
    rows = [[text_cell(m.school_name), text_cell(m.school_id), text_cell(SCHOOL_STATE_LABELS[m.status], "center")]
            for m in coverage.missing]
    return Table(kind="coverage", title="尚未纳入评估的学校", sheet="数据完整性",
                 columns=[Column("学校", 5.0), Column("学校标识码", 3.5), Column("数据状态", 3.0)], rows=rows,
                 note=f"全县应有 {coverage.schools_expected} 所学校,已纳入 {coverage.schools_included} 所。")


def write_coverage(doc: ReportDocument, result: EvaluationResult) -> None:
    """First in the report of an incomplete year: what the figures rest on."""
    if result.complete:
        return
    doc.heading(1, "数据完整性说明")
    doc.paragraph(Run(result.coverage.statement(), bold=True))
    doc.paragraph("本报告所列数值仅依据已纳入评估的学校计算,为临时结果,不构成全县的评估结论;"
                  "全部学校和县级年度数据审核通过后,须重新评估并生成正式报告。")
    table = coverage_table(result)
    if table is not None:
        doc.table(table)


def areas_counted(result: EvaluationResult) -> str:
    """“资源配置(7项指标及14项校际差异系数)、政府保障程度(15项)……四个方面”."""
    parts = []
    for area, found in result.areas.present().items():
        label = area_label(result, area)
        if area == "resource_allocation":
            cvs = sum(len(seg) for seg in found.cv.values())
            n = len(result.resource_ids())
            parts.append(f"{label}({n}项指标、{cvs}项校际差异系数及各学段综合差异系数)" if found.composite_cv
                         else f"{label}({n}项指标及{cvs}项校际差异系数)")
        else:
            parts.append(f"{label}({len(found.indicators)}项)")
    return "、".join(parts) + words.areas_title(len(parts))


def standard_paragraph(result: EvaluationResult) -> str:
    standard = standard_named(result.standard)
    source = standard.source if standard else ""
    text = f"本次自评依据{result.standard_name}"
    if source and source not in result.standard_name:
        text += f",其依据为{source}"
    text += f",从{areas_counted(result)}" + ("和一票否决事项" if result.veto.labels else "") + (
        "逐项评估。全部数值由填报的原始数据重新计算,未采用任何填报的比率。")
    if result.allowances_applied:
        labels = sorted({a.label for a in result.allowances_applied})
        text += f"本次评估适用了以下放宽条款:{'、'.join(labels)}(涉及学校见附表)。"
    return text

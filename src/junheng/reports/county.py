"""The county self-evaluation report (自评报告) as a ReportDocument.

Input: one EvaluationResult (every number of the report comes from it), optionally the Dataset it
was computed from (for 基本情况: schools, students and teachers by school type) and optionally
the remediation plan, supervision tasks and warnings (inputs.py). Without the dataset the basic
facts are taken from the result's units; the store can feed results later the same way.

Sections: 基本情况, 资源配置, 政府保障程度, 教育质量, 社会认可度, 研判结论, 问题与整改, then
the landscape 附表 (per-school indicators, school-level items, CV table, missing data) and the
data sources and computation method.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from junheng import schoolyear
from junheng.data.dataset import Dataset
from junheng.engine.result import SCHOOL_STATE_LABELS, EvaluationResult, ItemResult, UnitResult
from junheng.reports import charts
from junheng.reports import narrative as words
from junheng.reports.document import Cell, Column, ReportDocument, Run, Table
from junheng.reports.inputs import Remediation
from junheng.reports.xlsx import (
    CV_DECIMALS,
    INTEGER,
    MISSING_TEXT,
    R_IDS,
    SYNTHETIC_NOTE,
    TWO_DECIMALS,
    county_label,
    gap_text,
    indicator_name,
    indicator_unit,
    r_threshold,
    school_type_label,
    segment_label,
    segments_of,
    standard_named,
    table_label,
)
from junheng.standards.model import AREA_LABELS

SHADES = {False: "unmet", None: "missing"}
SCHOOL_TYPE_ORDER = ("primary", "junior", "nine_year", "twelve_year", "complete_middle", "teaching_point", "special")


# ---------------------------------------------------------------------------------------------
# Cells


def text_cell(text: str, align: str = "left", bold: bool = False) -> Cell:
    return Cell(text, align=align, bold=bold)  # type: ignore[arg-type]


def status_cell(met: bool | None, words_for: dict | None = None) -> Cell:
    text = (words_for or words.STATUS_WORDS)[met]
    return Cell(text, shade=SHADES.get(met), align="center")  # type: ignore[arg-type]


def number_cell(value: float | None, digits: int = 2, met: bool | None = True) -> Cell:
    """A measured value: fixed decimals, shaded when it does not meet its standard."""
    if value is None:
        return Cell(MISSING_TEXT, shade="missing", align="center")
    fmt = {2: TWO_DECIMALS, 3: CV_DECIMALS, 0: INTEGER}.get(digits, TWO_DECIMALS)
    return Cell(words.fixed(value, digits), value=float(value), shade=SHADES.get(met), number_format=fmt,
                align="right")


def count_cell(value: int | float | None) -> Cell:
    if value is None:
        return Cell(MISSING_TEXT, shade="missing", align="center")
    return Cell(f"{int(value):,}", value=int(value), number_format=INTEGER, align="right")


# ---------------------------------------------------------------------------------------------
# 基本情况: facts from the dataset (or, without it, from the result's units)


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


def standard_paragraph(result: EvaluationResult) -> str:
    standard = standard_named(result.standard)
    source = standard.source if standard else ""
    text = f"本次自评依据{result.standard_name}"
    if source and source not in result.standard_name:
        text += f",其依据为{source}"
    text += (",从资源配置(7项指标及14项校际差异系数)、政府保障程度(15项)、教育质量(9项)、社会认可度(1项)四个方面"
             "和一票否决事项逐项评估。全部数值由填报的原始数据重新计算,未采用任何填报的比率。")
    if result.allowances_applied:
        labels = sorted({a.label for a in result.allowances_applied})
        text += f"本次评估适用了以下放宽条款:{'、'.join(labels)}(涉及学校见附表)。"
    return text


# ---------------------------------------------------------------------------------------------
# 资源配置


def resource_summary_table(result: EvaluationResult, failing: list[str]) -> Table:
    columns = [Column("指标", 3.6), Column("学段", 0.8), Column("县域值", 1.1), Column("标准值", 0.9),
               Column("达到标准值的单位", 1.3), Column("差异系数", 1.0), Column("上限", 0.8),
               Column("差异系数结论", 1.0), Column("结论", 1.0)]
    rows = []
    for rid in R_IDS:
        status = words.r_status(result, rid, failing)
        unit = indicator_unit(result, rid)
        for segment in segments_of(result):
            f = words.segment_figures(result, rid, segment)
            cv = f.cv
            threshold = f.threshold
            county_met = None if f.county_value is None or threshold is None else f.county_value >= threshold - 1e-9
            reached = Cell(f"{f.reached}/{len(f.units)}", shade="unmet" if f.below else None, align="center")
            cv_value = (Cell(words.NOT_APPLICABLE, align="center") if not cv.applicable
                        else number_cell(cv.value, 3, cv.met) if cv.value is not None
                        else Cell("无定义" if cv.met is False else MISSING_TEXT, shade=SHADES.get(cv.met), align="center"))
            rows.append([
                text_cell(f"{rid} {indicator_name(result, rid)}" + (f"({unit})" if unit else "")),
                text_cell(segment_label(segment), "center"),
                number_cell(f.county_value, 2, county_met) if cv.applicable else Cell(words.NOT_APPLICABLE, align="center"),
                Cell(words.threshold_text(threshold), value=threshold, align="right"),
                reached, cv_value, Cell(f"{cv.limit:.2f}", value=cv.limit, number_format=TWO_DECIMALS, align="right"),
                Cell(words.NOT_APPLICABLE, align="center") if not cv.applicable else status_cell(cv.met),
                status_cell(status),
            ])
    return Table(kind="resource_summary", title="资源配置指标县域总体情况", columns=columns, rows=rows,
                 sheet="资源配置汇总", note="县域值为全县该学段资源总量除以学生总数(按学生数加权);“达到标准值的单位”为本项达到标准值的评估单位数/评估单位总数。",
                 frozen_columns=2)


def noncompliant_table(result: EvaluationResult) -> Table | None:
    units = [u for u in result.resource.units if u.compliant is not True]
    if not units:
        return None
    units.sort(key=lambda u: (u.compliant is None, u.segment != "primary", u.met_count, u.school_id))
    columns = [Column("学校", 3.0), Column("学段", 0.9), Column("学生数", 1.1, "人"), Column("达标项数", 1.1),
               Column("未达标原因", 5.6), Column("需补足", 3.4)]
    rows = [[text_cell(u.school_name), text_cell(segment_label(u.segment), "center"), count_cell(u.students),
             Cell(f"{u.met_count}/7" if u.compliant is not None else MISSING_TEXT, shade=SHADES.get(u.compliant),
                  align="center"),
             text_cell(words.unit_reason_text(u)), text_cell(words.unit_gap_text(u))] for u in units]
    return Table(kind="noncompliant_units", title="未达标或无法判定的学校(学段)", columns=columns, rows=rows,
                 sheet="未达标单位", font_size=9.0)


def cv_contributors_table(result: EvaluationResult) -> Table | None:
    rows = []
    for segment in segments_of(result):
        for rid in R_IDS:
            cv = result.resource.cv[segment][rid]
            if cv.met is not False:
                continue
            who = ";".join(f"{c['school_name']} {words.fixed(c['value'])}"
                           f"({c['direction']},占加权方差{c['share_of_variance']:.0%})" for c in cv.largest_contributors)
            rows.append([text_cell(segment_label(segment), "center"), text_cell(rid, "center"),
                         number_cell(cv.value, 3, False) if cv.value is not None else Cell("无定义", shade="unmet"),
                         Cell(f"{cv.limit:.2f}", value=cv.limit, align="right"),
                         number_cell(cv.county_value), text_cell(who or (cv.note or ""))])
    if not rows:
        return None
    columns = [Column("学段", 0.8), Column("指标", 0.8), Column("差异系数", 1.0), Column("上限", 0.8),
               Column("县域值", 1.0), Column("偏离县域值最大的学校", 7.0)]
    return Table(kind="cv_failing", title="超过上限的差异系数及主要来源", columns=columns, rows=rows,
                 sheet="差异系数超限", font_size=9.0)


def resource_overview(result: EvaluationResult, failing: list[str]) -> str:
    total, met, not_met, missing = words.area_counts(result, "resource_allocation", failing)
    res = result.resource
    cvs = [c for seg in res.cv.values() for c in seg.values() if c.applicable]
    text = f"资源配置方面共有{total}项指标"
    if not_met:
        # the county values are not the criterion: say what is (the per-unit rule and the CVs)
        over = [c for c in cvs if c.met is False]
        causes = ([f"{res.noncompliant_units}个学校(学段)未达标"] if res.noncompliant_units else []) + (
            [f"{len(over)}项校际差异系数超过上限"] if over else [])
        rules = ([f"每个学校(学段)均须达标(7项指标中至少{_min_met(result)}项达到标准值、其余不低于标准值的{_floor(result)})"]
                 if res.noncompliant_units else []) + (["校际差异系数不超过上限"] if over else [])
        lead = "各项指标的县域值(全县平均)均达到标准值,但" if all_county_values_reach(result) else ""
        text += (f",{lead}{'、'.join(causes)}。按“{'、'.join(rules)}”的要求,我县{met}项达标、{not_met}项暂不达标"
                 f"({'、'.join(r for r in R_IDS if r in failing)})")
    else:
        text += f",我县{met}项达标"
    if missing:
        text += f"、{missing}项数据缺失"
    text += (f"。全县参加评估的学校(学段)单位{len(res.units)}个(一贯制学校按小学、初中学段分别计),其中达标{res.compliant_units}个、"
             f"未达标{res.noncompliant_units}个")
    unknown = len(res.units) - res.compliant_units - res.noncompliant_units
    if unknown:
        text += f"、无法判定{unknown}个"
    text += f";{len(cvs)}项校际差异系数中{sum(c.met is True for c in cvs)}项在限值以内。"
    if res.excluded:
        text += f"另有{len(res.excluded)}个学段未纳入评估(见附表说明)。"
    return text + ("资源配置达标。" if res.met is True else "资源配置暂不达标。" if res.met is False else "资源配置因数据缺失暂无法判定。")


def all_county_values_reach(result: EvaluationResult) -> bool:
    """Every applicable R indicator's county value (X̄) reaches its threshold in every segment."""
    for rid in R_IDS:
        for segment in segments_of(result):
            f = words.segment_figures(result, rid, segment)
            if not f.cv.applicable:
                continue
            if f.county_value is None or f.threshold is None or f.county_value < f.threshold - 1e-9:
                return False
    return True


def write_resource_section(doc: ReportDocument, result: EvaluationResult, failing: list[str], with_charts: bool) -> None:
    doc.heading(1, AREA_LABELS["resource_allocation"])
    doc.paragraph(resource_overview(result, failing))
    doc.table(resource_summary_table(result, failing))
    doc.heading(2, "各项指标情况")
    for n, rid in enumerate(R_IDS, start=1):
        doc.paragraph(Run(words.article(n), bold=True), f" “{words.r_requirement(result, rid)}”", style="quote")
        doc.paragraph(*_verdict_runs(words.r_finding(result, rid, failing)))
        if with_charts:
            png = charts.indicator_distribution_chart(result, rid)
            if png is not None:
                zeros = charts.zero_value_units(result, rid)
                doc.figure(png, f"{rid} {indicator_name(result, rid)}各评估单位分布",
                           note=f"蓝色为达到标准值,橙色为未达到但不低于标准值的{_floor(result)},红色为低于标准值的{_floor(result)}"
                                + (f";斜线框并标“0”的为数值为0的单位({zeros}个)" if zeros else "") + "。")
    doc.heading(2, "未达标学校(学段)")
    table = noncompliant_table(result)
    if table is None:
        doc.paragraph("全县参加评估的学校(学段)单位全部达标。")
    else:
        failing_units = sum(u.compliant is False for u in result.resource.units)
        doc.paragraph(f"按“7项指标中至少{_min_met(result)}项达到标准值、其余不低于标准值的{_floor(result)}”的规则,"
                      f"全县有{failing_units}个学校(学段)单位未达标" +
                      (f"、{len(table.rows) - failing_units}个因数据缺失无法判定" if len(table.rows) > failing_units else "")
                      + ",明细如下。")
        doc.table(table)
    doc.heading(2, "校际差异系数")
    doc.paragraph(cv_paragraph(result))
    if with_charts:
        png = charts.cv_chart(result)
        if png is not None:
            doc.figure(png, "资源配置指标校际差异系数")
    contributors = cv_contributors_table(result)
    if contributors is not None:
        doc.table(contributors)


def cv_paragraph(result: EvaluationResult) -> str:
    parts = []
    for segment in segments_of(result):
        cvs = result.resource.cv[segment]
        applicable = [c for c in cvs.values() if c.applicable]
        if not applicable:
            parts.append(f"本县无{segment_label(segment)}学段评估单位,{segment_label(segment)}差异系数不适用")
            continue
        limit = applicable[0].limit
        over = [rid for rid in R_IDS if cvs[rid].met is False]
        unknown = [rid for rid in R_IDS if cvs[rid].applicable and cvs[rid].met is None]
        values = "、".join(f"{rid} {words.cv_text(cvs[rid].value)}" for rid in R_IDS if cvs[rid].applicable)
        text = f"{segment_label(segment)}(上限{limit:.2f}):{values}"
        text += (f",其中{'、'.join(over)}超过上限" if over else ",均在上限以内") if not unknown else f",{'、'.join(unknown)}数据缺失无法判定"
        parts.append(text)
    return ("校际差异系数按学生数加权计算(计算方法见附件)。" + ";".join(parts) + "。")


def _min_met(result: EvaluationResult) -> int:
    standard = standard_named(result.standard)
    return standard.per_school_rule.min_met if standard else 6


def _floor(result: EvaluationResult) -> str:
    standard = standard_named(result.standard)
    return f"{(standard.per_school_rule.floor_ratio if standard else 0.85):.0%}"


def _verdict_runs(text: str) -> tuple[Run, ...]:
    """A finding with its closing verdict sentence in bold (red when not met)."""
    for sentence, colour in ((words.VERDICT_SENTENCES[False], "red"), (words.VERDICT_SENTENCES[True], None),
                             (words.VERDICT_SENTENCES[None], "amber")):
        if text.endswith(sentence):
            return (Run(text[: -len(sentence)]), Run(sentence, bold=True, color=colour))  # type: ignore[arg-type]
    return (Run(text),)


# ---------------------------------------------------------------------------------------------
# 政府保障程度, 教育质量, 社会认可度


def item_standard_text(result: EvaluationResult, item: ItemResult) -> str:
    texts = []
    for c in item.checks:
        if c.comparison == "为“是”":
            text = "是"
        elif words.is_number(c.threshold):
            ref = words.ref_label(result, item, c)
            bound = words.amount(c.threshold, c.unit)
            text = f"{c.comparison}{ref}({bound})" if ref else f"{c.comparison}{bound}"
        elif c.threshold is None:
            ref = words.ref_label(result, item, c)
            text = f"{c.comparison}{ref}" if ref else f"{c.comparison}标准值({MISSING_TEXT})"
        else:
            text = f"{c.threshold}" if c.comparison in ("属于", "达到") else f"{c.comparison}{c.threshold}"
        texts.append((c.label, text))
    distinct = list(dict.fromkeys(t for _, t in texts))
    body = distinct[0] if len(distinct) == 1 and (len(texts) == 1 or item.id == "Q9") else ";".join(
        f"{label}{'' if t.startswith(('不', '低', '高')) else ':'}{t}" for label, t in texts)
    if item.schools_checked is not None:
        return "逐校检查" + (f";{body}" if body else "")
    return body or "见指标"


def item_table(result: EvaluationResult, area: str, first_article: int = 1) -> Table:
    columns = [Column("条", 1.3), Column("指标", 5.0), Column("县域值", 2.6), Column("标准", 2.4), Column("结论", 1.0)]
    rows = []
    for n, item in enumerate(result.item_area(area).indicators.values(), start=first_article):
        rows.append([
            text_cell(words.article(n), "center"), text_cell(f"{item.id} {item.name}"),
            Cell(words.item_value_text(item), value=item.value if words.is_number(item.value) else None,
                 shade=SHADES.get(item.met) if item.met is not True else None),
            text_cell(item_standard_text(result, item)), status_cell(item.met),
        ])
    return Table(kind=f"items_{area}", title=f"{AREA_LABELS[area]}指标自评情况", columns=columns, rows=rows,
                 sheet=AREA_LABELS[area], frozen_columns=2)


def item_overview(result: EvaluationResult, area: str) -> str:
    total, met, not_met, missing = words.area_counts(result, area)
    items = result.item_area(area).indicators
    text = f"{AREA_LABELS[area]}方面共有{total}项指标,我县{met}项达标"
    if not_met:
        text += f"、{not_met}项暂不达标({'、'.join(i for i, it in items.items() if it.met is False)})"
    if missing:
        text += f"、{missing}项数据缺失({'、'.join(i for i, it in items.items() if it.met is None)})"
    return text + "。"


def write_item_section(doc: ReportDocument, result: EvaluationResult, area: str) -> None:
    doc.heading(1, AREA_LABELS[area])
    doc.paragraph(item_overview(result, area))
    doc.table(item_table(result, area))
    for n, item in enumerate(result.item_area(area).indicators.values(), start=1):
        doc.paragraph(Run(words.article(n), bold=True), f" “{words.item_requirement(item)}”", style="quote")
        doc.paragraph(*_verdict_runs(words.item_finding(result, item)))


# ---------------------------------------------------------------------------------------------
# 研判结论


def areas_table(result: EvaluationResult, failing: list[str]) -> Table:
    columns = [Column("方面", 2.0), Column("指标数", 1.0), Column("达标", 1.0), Column("未达标", 1.0),
               Column("数据缺失", 1.0), Column("结论", 1.2)]
    rows = []
    for area in words.AREA_ORDER:
        total, met, not_met, missing = words.area_counts(result, area, failing)
        rows.append([text_cell(AREA_LABELS[area]), count_cell(total), count_cell(met),
                     Cell(str(not_met), value=not_met, shade="unmet" if not_met else None, align="right"),
                     Cell(str(missing), value=missing, shade="missing" if missing else None, align="right"),
                     status_cell(result.areas[area].met)])
    return Table(kind="areas", title="四个方面自评结论", columns=columns, rows=rows, sheet="四个方面")


def failing_items_table(result: EvaluationResult, failing: list[str]) -> Table | None:
    if not failing:
        return None
    columns = [Column("编号", 0.8), Column("指标", 4.0), Column("方面", 1.4), Column("未达标情况", 6.0)]
    rows = [[text_cell(i, "center"), text_cell(words.indicator_title(result, i)), text_cell(words.area_of(result, i)),
             text_cell(words.failing_reason(result, i))] for i in failing]
    return Table(kind="failing_items", title="未达标指标一览", columns=columns, rows=rows, sheet="未达标指标",
                 font_size=9.0)


def veto_table(result: EvaluationResult) -> Table:
    columns = [Column("一票否决事项(评估前三年内)", 4.0), Column("情况", 2.0)]
    rows = [[text_cell(label), Cell(state, shade=SHADES.get(met), align="center")]
            for label, state, met in words.veto_lines(result)]
    return Table(kind="veto", title="一票否决事项核查", columns=columns, rows=rows, sheet="一票否决")


def write_conclusion(doc: ReportDocument, result: EvaluationResult, failing: list[str]) -> None:
    doc.heading(1, "研判结论")
    verdict_colour = {"pass": "green", "fail": "red", "incomplete": "amber"}[result.verdict]
    doc.paragraph(Run(words.verdict_paragraph(result), bold=True, color=verdict_colour))  # type: ignore[arg-type]
    doc.table(areas_table(result, failing))
    table = failing_items_table(result, failing)
    if table is not None:
        doc.table(table)
    vetoes = words.veto_lines(result)
    triggered = [label for label, _, met in vetoes if met is False]
    unfilled = [label for label, _, met in vetoes if met is None]
    text = "一票否决核查:"
    if triggered:
        text += "存在" + "、".join(triggered) + "情形,按规定实行一票否决。"
    elif unfilled:
        text += "、".join(unfilled) + "未填报,须补充后方可作出结论。"
    else:
        text += "评估前三年内未发现以考试方式招生、违规择校、设置重点校或重点班、重大安全责任事故、弄虚作假等情形。"
    doc.paragraph(text)
    doc.table(veto_table(result))
    if result.precondition is not None:
        state = {True: "满足", False: "不满足", None: "无法核实"}[result.precondition.met]
        doc.paragraph(f"申请前提(不计入评估结论):{result.precondition.note}。申请前提{state}。")
    if result.missing_inputs:
        doc.paragraph(f"数据缺失:共{len(result.missing_inputs)}项,逐项列于附表“缺失数据清单”,补齐后重新评估。")


# ---------------------------------------------------------------------------------------------
# 问题与整改


@dataclass
class GapRow:
    indicator: str
    where: str
    current: str
    needed: str
    note: str
    what: str | None = None
    unit: str | None = None
    amount: float | None = None


def gap_rows(result: EvaluationResult, failing: list[str]) -> list[GapRow]:
    rows: list[GapRow] = []
    for unit in sorted(result.resource.units, key=lambda u: (u.segment != "primary", u.school_id)):
        if unit.compliant is not False:
            continue
        for rid, ind in unit.indicators.items():
            if ind.met is not False:
                continue
            measure = indicator_unit(result, rid)
            current = f"{words.fixed(ind.value)}{words.unit_word(measure)}(标准值{words.threshold_text(ind.threshold)})"
            rows.append(GapRow(rid, words.unit_label(unit), current, gap_text(ind.gap) if ind.gap else "",
                               ind.gap.note or "" if ind.gap else "", ind.gap.what if ind.gap else None,
                               ind.gap.unit if ind.gap else None, ind.gap.amount if ind.gap else None))
    for segment in segments_of(result):
        for rid in R_IDS:
            cv = result.resource.cv[segment][rid]
            if cv.met is False:
                who = "、".join(c["school_name"] for c in cv.largest_contributors)
                rows.append(GapRow(rid, f"全县{segment_label(segment)}", f"差异系数{words.cv_text(cv.value)}(上限{cv.limit:.2f})",
                                   "缩小校际差距,使差异系数降至上限以内",
                                   f"偏离县域值最大的学校:{who}" if who else (cv.note or "")))
    for area in words.ITEM_AREAS:
        for item in result.item_area(area).indicators.values():
            if item.met is not False:
                continue
            schools = [s for s in item.schools if s.met is False]
            for s in schools:
                rows.append(GapRow(item.id, s.school_name, s.detail, gap_text(s.gap), "",
                                   s.gap.what if s.gap else None, s.gap.unit if s.gap else None,
                                   s.gap.amount if s.gap else None))
            if not schools or item.gap is not None:
                current = ";".join(f"{c.label}{words.check_value(c)}" for c in item.checks if c.met is False)
                rows.append(GapRow(item.id, "全县", current or item.explanation, gap_text(item.gap) if item.gap else "",
                                   "", item.gap.what if item.gap else None, item.gap.unit if item.gap else None,
                                   item.gap.amount if item.gap else None))
    return rows


def gaps_table(rows: list[GapRow]) -> Table:
    columns = [Column("指标", 0.7), Column("学校(学段)", 3.0), Column("现状", 3.6), Column("需补足", 3.0),
               Column("说明", 3.6)]
    body = [[text_cell(r.indicator, "center"), text_cell(r.where), text_cell(r.current), text_cell(r.needed),
             text_cell(r.note)] for r in rows]
    return Table(kind="gaps", title="问题清单及需补足的差距", columns=columns, rows=body, sheet="整改需求", font_size=9.0)


def gap_totals_table(rows: list[GapRow]) -> Table | None:
    totals: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in rows:
        if r.what and r.amount is not None:
            totals[(r.indicator, r.what, r.unit or "")].append(r.amount)
    if not totals:
        return None
    columns = [Column("指标", 0.8), Column("需补足内容", 4.0), Column("涉及学校(学段)数", 1.5), Column("合计", 1.8)]
    body = [[text_cell(i, "center"), text_cell(what), count_cell(len(amounts)),
             Cell(f"{words.amount(sum(amounts))} {unit}".strip(), value=round(sum(amounts), 2), align="right")]
            for (i, what, unit), amounts in totals.items()]
    return Table(kind="gap_totals", title="需补足差距汇总(缺什么补什么)", columns=columns, rows=body, sheet="整改需求汇总",
                 note="按学校逐项相加;一贯制学校共用设施的差距为全校需增加的数量。")


def write_remediation(doc: ReportDocument, result: EvaluationResult, failing: list[str],
                      remediation: Remediation | None) -> None:
    doc.heading(1, "问题与整改")
    doc.heading(2, "存在的主要问题")
    rows = gap_rows(result, failing)
    if not failing:
        doc.paragraph("经自评,各项指标均未发现不达标情况。" + (
            "今后将持续开展年度监测,确保各项指标不下滑、不反弹。" if result.verdict == "pass"
            else "部分指标因数据缺失暂无法判定,须尽快补齐数据后重新评估。"))
    else:
        for n, indicator in enumerate(failing, start=1):
            doc.paragraph(Run(f"{n}.{indicator} {words.indicator_title(result, indicator)}。", bold=True),
                          words.failing_reason(result, indicator) + "。")
        if rows:
            doc.table(gaps_table(rows))
        totals = gap_totals_table(rows)
        if totals is not None:
            doc.table(totals)
    remediation = remediation or Remediation()
    plan = remediation.plan
    if plan is not None and plan.actions:
        doc.heading(2, "整改措施")
        cost = sum(a.cost_wan_yuan or 0 for a in plan.actions)
        years = sorted({a.year for a in plan.actions if a.year})
        text = f"按照《{plan.title}》,共安排整改措施{len(plan.actions)}项"
        if cost:
            text += f",计划投资{words.amount(round(cost, 2))}万元"
        if years:
            text += f",于{years[0]}年至{years[-1]}年完成" if len(years) > 1 else f",于{years[0]}年完成"
        doc.paragraph(text + "。")
        doc.table(plan_table(plan))
    if remediation.tasks:
        doc.heading(2, "督办任务")
        doc.paragraph(f"目前尚未办结的督办任务{len(remediation.tasks)}项,明细如下。")
        doc.table(tasks_table(remediation))
    if remediation.warnings:
        doc.heading(2, "监测预警")
        doc.paragraph(f"年度监测发出预警{len(remediation.warnings)}条,明细如下。")
        doc.table(warnings_table(remediation))


def plan_table(plan) -> Table:
    columns = [Column("指标", 0.8), Column("学校", 2.6), Column("整改措施", 5.0), Column("数量", 1.2),
               Column("投资", 1.2, "万元"), Column("完成年度", 1.0), Column("责任单位", 2.0)]
    rows = []
    for a in plan.actions:
        quantity = f"{words.amount(a.quantity)}{a.unit or ''}" if a.quantity is not None else "—"
        rows.append([text_cell(a.indicator, "center"), text_cell(a.school_name or "全县"), text_cell(a.action),
                     Cell(quantity, value=a.quantity, align="right"),
                     Cell(words.amount(a.cost_wan_yuan) if a.cost_wan_yuan is not None else "—", value=a.cost_wan_yuan,
                          number_format=TWO_DECIMALS, align="right"),
                     Cell(str(a.year) if a.year else "—", value=a.year, align="center"),
                     text_cell("、".join(a.responsible))])
    return Table(kind="plan", title="整改措施、投资和完成年度", columns=columns, rows=rows, sheet="整改计划", font_size=9.0)


def tasks_table(remediation: Remediation) -> Table:
    columns = [Column("任务", 5.0), Column("指标", 0.8), Column("责任单位", 2.2), Column("完成时限", 1.4),
               Column("状态", 1.0)]
    rows = [[text_cell(t.title), text_cell(t.indicator or "—", "center"), text_cell("、".join(t.responsible)),
             text_cell(t.due.isoformat() if t.due else "—", "center"), text_cell(t.status, "center")]
            for t in remediation.tasks]
    return Table(kind="tasks", title="未办结的督办任务", columns=columns, rows=rows, sheet="督办任务")


def warnings_table(remediation: Remediation) -> Table:
    columns = [Column("级别", 0.9), Column("指标", 0.8), Column("预警内容", 6.0), Column("发出日期", 1.4)]
    rows = [[text_cell(w.level, "center"), text_cell(w.indicator or "—", "center"), text_cell(w.message),
             text_cell(w.raised.isoformat() if w.raised else "—", "center")] for w in remediation.warnings]
    return Table(kind="warnings", title="监测预警", columns=columns, rows=rows, sheet="监测预警")


# ---------------------------------------------------------------------------------------------
# 附表


def _unit_order(unit: UnitResult) -> tuple:
    return (unit.segment != "primary", unit.school_id)


def unit_values_table(result: EvaluationResult) -> Table:
    columns = [Column("序号", 0.6), Column("学校名称", 3.4), Column("学校类型", 1.5), Column("学段", 0.7),
               Column("学生数", 0.9, "人")]
    columns += [Column(rid, 1.05, indicator_unit(result, rid) or None) for rid in R_IDS]
    columns += [Column("达标项数", 0.8), Column("结论", 1.0)]
    rows = []
    for n, unit in enumerate(sorted(result.resource.units, key=_unit_order), start=1):
        rows.append([
            count_cell(n), text_cell(unit.school_name), text_cell(school_type_label(unit.school_type)),
            text_cell(segment_label(unit.segment), "center"), count_cell(unit.students),
            *[number_cell(unit.indicators[rid].value, 2, unit.indicators[rid].met) for rid in R_IDS],
            Cell(str(unit.met_count), value=unit.met_count, align="center"), status_cell(unit.compliant),
        ])
    names = ";".join(f"{rid} {indicator_name(result, rid)}" for rid in R_IDS)
    thresholds = ";".join(
        f"{segment_label(s)}:" + "、".join(f"{rid} {words.threshold_text(r_threshold(result, s, rid))}" for rid in R_IDS)
        for s in segments_of(result))
    note = f"指标:{names}。标准值 {thresholds}。红色底纹为未达到标准值,黄色底纹为数据缺失。"
    excluded = result.resource.excluded
    if excluded:
        note += "未纳入评估:" + ";".join(f"{e.school_name}({segment_label(e.segment)}):{e.reason}" for e in excluded) + "。"
    return Table(kind="unit_values", title="各学校(学段)资源配置指标明细", columns=columns, rows=rows,
                 sheet="学校资源配置明细", note=note, font_size=8.0, frozen_columns=2)


def school_item_table(result: EvaluationResult, dataset: Dataset | None) -> Table | None:
    items = [item for area in words.ITEM_AREAS for item in result.item_area(area).indicators.values()
             if item.schools_checked is not None]
    if not items:
        return None
    schools = _school_list(result, dataset)
    standard = standard_named(result.standard)
    columns = [Column("序号", 0.6), Column("学校名称", 3.4), Column("学校类型", 1.5)]
    columns += [Column(item.id, 0.9) for item in items] + [Column("未达标或缺失情况", 6.0)]
    findings = {item.id: {s.school_id: s for s in item.schools} for item in items}
    rows = []
    for n, (school_id, name, school_type) in enumerate(schools, start=1):
        cells, notes = [], []
        for item in items:
            finding = findings[item.id].get(school_id)
            scope = (standard.indicator(item.id).school_types if standard and item.id in standard.indicators else None)
            if finding is not None:
                cells.append(status_cell(finding.met))
                notes.append(f"{item.id}:{finding.detail}")
            elif scope is not None and school_type is not None and school_type not in scope:
                cells.append(Cell("—", align="center"))
            else:
                cells.append(status_cell(True))
        rows.append([count_cell(n), text_cell(name), text_cell(school_type_label(school_type) if school_type else "—"),
                     *cells, text_cell(";".join(notes))])
    labels = ";".join(f"{item.id} {item.name}" for item in items)
    return Table(kind="school_items", title="学校层面指标逐校情况", columns=columns, rows=rows, sheet="学校层面指标",
                 note=f"{labels}。“—”表示该类学校不在此项检查范围内。", font_size=8.0, frozen_columns=2)


def _school_list(result: EvaluationResult, dataset: Dataset | None) -> list[tuple[str, str, str | None]]:
    if dataset is not None:
        schools = dataset.schools[dataset.schools["county_code"] == result.county_code]
        present = set(dataset.school_year.loc[dataset.school_year["year"] == result.year, "school_id"])
        schools = schools[schools["school_id"].isin(present)].sort_values("school_id")
        return [(str(r.school_id), str(r.school_name), str(r.school_type)) for r in schools.itertuples()]
    found: dict[str, tuple[str, str, str | None]] = {}
    for unit in result.resource.units:
        found.setdefault(unit.school_id, (unit.school_id, unit.school_name, unit.school_type))
    for area in words.ITEM_AREAS:
        for item in result.item_area(area).indicators.values():
            for s in item.schools:
                found.setdefault(s.school_id, (s.school_id, s.school_name, None))
    return sorted(found.values())


def cv_table(result: EvaluationResult) -> Table:
    columns = [Column("学段", 0.7), Column("指标", 3.8), Column("评估单位数", 0.9), Column("学生数", 1.0, "人"),
               Column("县域值X̄", 1.1), Column("标准差S", 1.1), Column("差异系数CV", 1.1), Column("上限", 0.8),
               Column("结论", 0.9), Column("偏离县域值最大的学校", 5.0)]
    rows = []
    for segment in segments_of(result):
        for rid in R_IDS:
            cv = result.resource.cv[segment][rid]
            name = f"{rid} {indicator_name(result, rid)}"
            if not cv.applicable:
                rows.append([text_cell(segment_label(segment), "center"), text_cell(name), count_cell(0), count_cell(0),
                             *[Cell(words.NOT_APPLICABLE, align="center")] * 5, text_cell(cv.note or "")])
                continue
            spread = cv.value * cv.county_value if cv.value is not None and cv.county_value is not None else None
            who = ";".join(f"{c['school_name']} {words.fixed(c['value'])}({c['direction']})"
                           for c in cv.largest_contributors)
            value = (number_cell(cv.value, 3, cv.met) if cv.value is not None
                     else Cell("无定义" if cv.met is False else MISSING_TEXT, shade=SHADES.get(cv.met), align="center"))
            rows.append([text_cell(segment_label(segment), "center"), text_cell(name), count_cell(cv.units),
                         count_cell(cv.students), number_cell(cv.county_value),
                         number_cell(spread) if spread is not None else Cell("—", align="center"),
                         value, Cell(f"{cv.limit:.2f}", value=cv.limit, number_format=TWO_DECIMALS, align="right"),
                         status_cell(cv.met), text_cell(who if cv.met is not True else (cv.note or ""))])
    return Table(kind="cv", title="校际差异系数计算表", columns=columns, rows=rows, sheet="差异系数",
                 note="县域值X̄、标准差S、差异系数CV的计算方法见附件“数据来源与计算方法”。差异系数保留三位小数。",
                 font_size=8.5, frozen_columns=2)


def missing_table(result: EvaluationResult) -> Table | None:
    if not result.missing_inputs:
        return None
    # the field's name only: its internal key (school_year.equipment_value) means nothing to a clerk
    columns = [Column("指标", 1.0), Column("学校", 3.2), Column("数据表", 2.0), Column("缺少的数据", 4.0)]
    rows = [[text_cell("一票否决" if m.indicator == "veto" else "学生数" if m.indicator == "resource_allocation" else m.indicator,
                       "center"),
             text_cell(m.school_name or m.school_id or "全县"), text_cell(table_label(m.table)),
             Cell(m.label, shade="missing")] for m in result.missing_inputs]
    return Table(kind="missing", title="缺失数据清单", columns=columns, rows=rows, sheet="缺失数据", font_size=9.0)


def allowances_table(result: EvaluationResult) -> Table | None:
    if not result.allowances_applied:
        return None
    columns = [Column("指标", 0.8), Column("放宽条款", 5.0), Column("学校", 3.0), Column("说明", 3.0)]
    rows = [[text_cell(a.indicator, "center"), text_cell(a.label), text_cell(a.school_name), text_cell(a.detail)]
            for a in result.allowances_applied]
    return Table(kind="allowances", title="已适用的放宽条款", columns=columns, rows=rows, sheet="放宽条款", font_size=9.0)


# ---------------------------------------------------------------------------------------------
# 数据来源与计算方法


def source_text(result: EvaluationResult, dataset: Dataset | None) -> str:
    """Where the data came from, in words: "数据集“…”" (a file or folder), the workspace's
    database, or 合成示范数据 — never the generator's internal description."""
    source = result.source or (dataset.source if dataset is not None else "") or ""
    if result.synthetic and (not source or source.startswith("synthetic:")):
        return "合成示范数据"
    if not source:
        return "所填报的数据"
    if source.startswith("数据库"):
        return f"工作区{source}"
    from pathlib import PurePath

    return f"数据集“{PurePath(source).name or source}”"


def method_paragraphs(result: EvaluationResult, dataset: Dataset | None) -> list[tuple[str, str]]:
    """(lead, text) pairs: the data used and the computation, stated plainly."""
    standard = standard_named(result.standard)
    weights = standard.split_weights if standard else {"primary": 1.0, "junior": 1.1, "senior": 1.32}
    limits = {s: result.resource.cv[s][R_IDS[0]].limit for s in segments_of(result)}
    min_met, floor = _min_met(result), _floor(result)
    data = (f"本报告的全部数值由评估结果计算得出,评估结果根据{source_text(result, dataset)}中"
            f"{words.school_year_text(result.year)}的学校名录、学校年度数据、县级年度数据和质量监测数据计算。")
    if result.synthetic:
        data += f"【{SYNTHETIC_NOTE},不代表任何真实县区】"
    data += f"评估标准:{result.standard_name}" + (
        f",依据{standard.source}" if standard and standard.source not in result.standard_name else "") + "。"
    weight_text = "、".join(f"{segment_label(s) if s != 'senior' else '高中'}{w:g}" for s, w in weights.items())
    limit_text = "、".join(f"{segment_label(s)}不大于{v:.2f}" for s, v in limits.items())
    return [
        ("数据来源。", data),
        ("评估单位。", "资源配置以学校的学段为评估单位:小学、初级中学、教学点各为一个单位;九年一贯制、十二年一贯制学校分为小学和初中两个"
                    "单位(十二年一贯制学校、完全中学的高中部分不作为评估单位);特殊教育学校不参加资源配置评估。在校生为0的学段不计。"),
        ("指标值。", "每百名学生拥有的教师数和网络多媒体教室数 = 资源数量 × 100 ÷ 在校生数;生均面积、生均仪器设备值 = 资源数量 ÷ "
                   "在校生数。教师数按学段填报,不拆分。"),
        ("共用设施拆分。", "一贯制学校的教学及辅助用房、体育运动场馆、教学仪器设备和网络多媒体教室由各学段共用,按加权学生数拆分:"
                       f"某学段分得的份额 = 该学段权重 × 该学段在校生数 ÷ Σ(各学段权重 × 各学段在校生数),权重为{weight_text}"
                       "(高中在校生参与拆分但不作为评估单位)。数据中按学段单独填报的设施数量直接采用,不再拆分。"),
        ("单位达标规则。", f"一个学校(学段)单位的7项指标中至少{min_met}项达到标准值,且未达到的指标均不低于标准值的{floor},"
                       "该单位为达标单位。"),
        ("校际差异系数。", "对每个学段的每项指标,以该学段全部评估单位计算:县域值 X̄ = Σ资源数量ᵢ ÷ Σ学生数ᵢ(即按学生数加权的均值);"
                       "标准差 S = √[ Σ (nᵢ ÷ N) × (xᵢ − X̄)² ],其中 xᵢ 为第 i 个单位的指标值,nᵢ 为其学生数,N 为学生总数;"
                       f"差异系数 CV = S ÷ X̄。限值:{limit_text}。县域值为0时差异系数无定义,按未达标处理。"
                       "差异系数按学生数加权,与不加权的简单平均计算结果不同。"),
        ("数值与判定。", "所有比较均使用未经四舍五入的数值,等于标准值即为达到;报告中指标值保留两位小数,差异系数保留三位小数。"),
        ("结论规则。", "资源配置要求全部单位达标且全部差异系数在限值以内;政府保障程度、教育质量、社会认可度要求每项指标达标;"
                    "任何一项未达标或存在一票否决情形,结论为未达标;无不达标项但有数据缺失,结论为数据不全,缺失数据逐项列出。"),
        ("问题与整改。", "需补足的差距按标准值计算:教师和教室按整数向上取整;面积和金额为标准值 × 学生数 − 现有数量;一贯制学校共用设施的差距"
                      "为全校需增加的数量(新增设施同样按学段拆分)。"),
    ]


# ---------------------------------------------------------------------------------------------
# The report


def data_names(result: EvaluationResult, dataset: Dataset | None = None) -> set[str]:
    """County and school names as the data writes them (kept verbatim when typesetting)."""
    names = {result.county_name, result.county_code}
    names |= {u.school_name for u in result.resource.units} | {e.school_name for e in result.resource.excluded}
    for area in words.ITEM_AREAS:
        for item in result.item_area(area).indicators.values():
            names |= {s.school_name for s in item.schools}
    names |= {m.school_name for m in result.missing_inputs if m.school_name}
    names |= {a.school_name for a in result.allowances_applied}
    if dataset is not None:
        schools = dataset.schools[dataset.schools["county_code"] == result.county_code]
        names |= {str(n) for n in schools["school_name"].dropna()}
        for key in ("city", "province"):
            value = dataset.county_attribute(result.county_code, key)
            if value is not None:
                names.add(str(value))
    return {n for n in names if n}


REPORT_TITLE = "义务教育优质均衡发展自评报告"


def default_issuer(result: EvaluationResult) -> str:
    """The county government: under the 督导评估办法 the county's people's government evaluates
    itself and applies to the city for assessment, so its self-evaluation report is its document."""
    return f"{county_label(result)}人民政府"


def chinese_date(day: date) -> str:
    """2026年12月1日 (Arabic numerals, as GB/T 9704 writes the date of a document)."""
    return f"{day.year}年{day.month}月{day.day}日"


def write_signature(doc: ReportDocument, issuer: str, day: date) -> None:
    """落款 at the end of the body, before the appendices: the issuing body over the date,
    right-aligned, with room above for the seal."""
    doc.paragraph("", style="plain")
    doc.paragraph(issuer, style="signature")
    doc.paragraph(chinese_date(day), style="signature")
    doc.protected.add(issuer)


def build_county_report(result: EvaluationResult, dataset: Dataset | None = None, *,
                        remediation: Remediation | None = None, with_charts: bool = True,
                        generated: date | None = None, issuer: str | None = None) -> ReportDocument:
    """The self-evaluation report of one county-year as a ReportDocument. `issuer` is the body
    that signs it (落款; default: the county's 人民政府), `generated` its date (default: today in
    Beijing)."""
    failing = result.failing_items()
    name = county_label(result)
    generated = generated or schoolyear.local_today()
    doc = ReportDocument(
        title=f"{name}{REPORT_TITLE}",
        title_lines=(name, REPORT_TITLE),  # the county on line one, the kind of report on line two
        subtitle=f"\uff08{words.school_year_text(result.year)}\uff09",
        meta=[f"评估标准:{result.standard_name}"],
        warning="".join(filter(None, [
            f"【{SYNTHETIC_NOTE},不代表任何真实县区】" if result.synthetic else None,
            f"【数据不完整,临时结果:基于 {result.coverage.fraction()} 所学校,不作为全县评估结论】"
            if result.provisional and result.coverage else None])) or None,
        scope=f"{name}({result.county_code}) {words.school_year_text(result.year)} · 标准:{result.standard_name}",
        synthetic=result.synthetic,
    )
    doc.protected |= data_names(result, dataset)
    standard = standard_named(result.standard)
    basis = standard.source if standard else result.standard_name
    doc.paragraph(f"根据{basis}的要求,我县对照{result.standard_name}的评估指标,对{words.school_year_text(result.year)}"
                  "全县义务教育学校的资源配置、政府保障程度、教育质量和社会认可度进行了全面自查自评。现将自评情况报告如下。")

    write_coverage(doc, result)
    facts = county_facts(result, dataset)
    doc.heading(1, "基本情况")
    doc.paragraph(basic_paragraph(result, facts))
    doc.table(basic_table(facts))
    doc.paragraph(standard_paragraph(result))

    write_resource_section(doc, result, failing, with_charts)
    for area in words.ITEM_AREAS:
        write_item_section(doc, result, area)
    write_conclusion(doc, result, failing)
    write_remediation(doc, result, failing, remediation)
    write_signature(doc, issuer or default_issuer(result), generated)

    doc.section("landscape")
    doc.heading(1, "附表", numbered=False)
    doc.table(unit_values_table(result), appendix=True)
    for table in (school_item_table(result, dataset), cv_table(result), missing_table(result), allowances_table(result)):
        if table is not None:
            doc.table(table, appendix=True)

    doc.section("portrait")
    doc.heading(1, "附件 数据来源与计算方法", numbered=False)
    for n, (lead, text) in enumerate(method_paragraphs(result, dataset), start=1):
        doc.paragraph(Run(f"{n}.{lead}", bold=True), text)
    return doc

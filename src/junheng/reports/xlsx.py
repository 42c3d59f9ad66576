"""The result workbook: every evaluated county-year in one .xlsx file, formatted for printing.

Sheets (each with a 县区 and 年度 column, so several county-years share one workbook):

- 总览: one row per county-year: verdict, the areas of its standard, failing items, veto,
  missing data, the values the standard reports without judging them.
- 资源配置: one row per unit-level indicator and segment: county value X̄, CV and limit, units
  meeting the threshold (when the standard judges units one by one).
- 学校学段明细: one row per (school, segment) unit: its indicator values, met count and
  compliance (only under a per-school rule), reasons.
- 差异系数: the CV table, segment × unit-level indicators, with the limits, or the 综合差异系数
  (their mean) against its limit under a standard that judges the CVs by their composite.
- one sheet per item area of the standards in the workbook (政府保障程度 / 教育质量 / 社会认可度
  under national-2017), named as the standard names the area: one row per indicator: value,
  standard, conclusion, explanation, failing schools, responsible departments.
- 已适用放宽条款 and 缺失数据: only when there is something to list.

Which indicators, areas and columns there are comes from the results' own standards (their
`resource_ids()`, `areas.present()`, `composite_cv`, `per_school_rule`); nothing here names an
indicator. A workbook may hold results of several standards: columns are the union, and a cell
of an indicator or area a result's standard lacks is "—".

Layout of every sheet: row 1 the title (county, year, standard), row 2 a legend, row 3 the
column headers, data from row 4. Values are written unrounded and shown with two decimals
(CVs with three, so that 0.504 is not shown as a passing "0.50"); unmet cells are shaded light
red, missing data is written "数据缺失" and shaded light yellow.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from junheng.data.catalog import catalog
from junheng.engine.result import (
    CheckResult,
    CVResult,
    EvaluationResult,
    Gap,
    ItemResult,
    UnitResult,
    combine_met,
)
from junheng.engine.wording import met_word, num
from junheng.errors import JunhengError
from junheng.spreadsheets import save_workbook
from junheng.standards.model import AREA_LABELS, AREAS, Indicator, Standard

SEGMENT_ORDER = ("primary", "junior")
# The item areas of national-2017, for callers that have no result at hand; a result's own
# item areas are `result.areas.items()`.
ITEM_AREAS = tuple(a for a in AREAS if a != "resource_allocation")

MISSING_TEXT = "数据缺失"
NOT_APPLICABLE_TEXT = "不适用"
ABSENT_TEXT = "—"  # an indicator or area that the result's standard does not have
REPORTED_NOTE = "不参与判定"
SYNTHETIC_NOTE = "合成数据,仅供演示"
REPORT_TITLE = "县域义务教育优质均衡发展督导评估"
BASIC_REPORT_TITLE = "县域义务教育均衡发展督导评估"
LEGEND = "数值按原始值计算,显示保留两位小数(差异系数三位);红色底纹为未达标,黄色底纹为数据缺失。"

TWO_DECIMALS = "0.00"
CV_DECIMALS = "0.000"
INTEGER = "0"

TITLE_ROW, LEGEND_ROW, HEADER_ROW = 1, 2, 3
FIRST_DATA_ROW = HEADER_ROW + 1
LINE_HEIGHT = 15.0  # points per text line at 11 pt
MAX_ROW_HEIGHT = 409.0  # Excel's limit

UNMET_FILL = PatternFill("solid", fgColor="FFC7CE")
MISSING_FILL = PatternFill("solid", fgColor="FFEB9C")
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
THIN = Side(style="thin", color="808080")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
TITLE_FONT = Font(bold=True, size=14)
SYNTHETIC_FONT = Font(bold=True, color="C00000")
HEADER_FONT = Font(bold=True)

Shade = Literal["unmet", "missing"]
SHADE_FILLS = {"unmet": UNMET_FILL, "missing": MISSING_FILL}


# ---------------------------------------------------------------------------------------------
# Cells, columns and sheets as plain data; one writer formats them all


@dataclass(frozen=True)
class Cell:
    """A value with its presentation: shading and number format."""

    value: Any
    shade: Shade | None = None
    number_format: str | None = None
    emphasis: bool = False  # bold red text (the synthetic-data note)


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    number_format: str | None = None  # for plain numbers written in this column


@dataclass
class SheetTable:
    name: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    frozen_columns: int = 2  # columns that stay visible when scrolling right


def shade_for(met: bool | None) -> Shade | None:
    return {False: "unmet", None: "missing"}.get(met)


def met_cell(met: bool | None) -> Cell:
    """达标 / 未达标 / 数据缺失, shaded when not met."""
    return Cell(met_word(met), shade_for(met))


def missing_cell() -> Cell:
    return Cell(MISSING_TEXT, "missing")


def measured_cell(value: float | None, met: bool | None, number_format: str = TWO_DECIMALS) -> Cell:
    """A measured value shaded by whether it meets its threshold."""
    if value is None:
        return missing_cell()
    return Cell(value, "unmet" if met is False else None, number_format)


def number_or_missing(value: float | None, number_format: str = TWO_DECIMALS) -> Cell:
    return missing_cell() if value is None else Cell(value, None, number_format)


def lines(texts: Iterable[str]) -> str:
    return "\n".join(t for t in texts if t)


def gap_text(gap: Gap | None) -> str:
    if gap is None:
        return ""
    text = f"{gap.what} {num(gap.amount)} {gap.unit}".rstrip()
    return text + (f"({gap.note})" if gap.note else "")


# ---------------------------------------------------------------------------------------------
# What a result does not carry itself: indicator names and units (from its standard)


@cache
def standard_named(standard_id: str) -> Standard | None:
    """The standard a result names, or None when it cannot be loaded again (a standard file
    given by path that has moved since)."""
    from junheng.standards.loader import load_standard

    try:
        return load_standard(standard_id)
    except JunhengError:
        return None


def indicator_spec(result: EvaluationResult, indicator_id: str) -> Indicator | None:
    """The indicator as the result's standard defines it; the national wording when that
    standard cannot be loaded (names and units are the same in every standard)."""
    from junheng.standards.loader import DEFAULT_STANDARD

    for standard in (standard_named(result.standard), standard_named(DEFAULT_STANDARD)):
        if standard is not None and indicator_id in standard.indicators:
            return standard.indicator(indicator_id)
    return None


def indicator_name(result: EvaluationResult, indicator_id: str) -> str:
    spec = indicator_spec(result, indicator_id)
    if spec is not None:
        return spec.name
    own = result.resource.indicator_names if result.resource is not None else {}
    return own.get(indicator_id, indicator_id)  # a standard file no longer at hand: the result's own


def indicator_unit(result: EvaluationResult, indicator_id: str) -> str:
    spec = indicator_spec(result, indicator_id)
    if spec is not None:
        return spec.unit or ""
    return (result.resource.indicator_units if result.resource is not None else {}).get(indicator_id, "")


def r_threshold(result: EvaluationResult, segment: str, indicator_id: str) -> float | None:
    """The threshold of an R indicator for a segment: from the units, else from the result's own
    standard (never from another standard: thresholds differ between provinces)."""
    for unit in result.resource.units:
        if unit.segment == segment:
            return unit.indicators[indicator_id].threshold
    standard = standard_named(result.standard)
    if standard is None or indicator_id not in standard.indicators:
        return None
    return (standard.indicator(indicator_id).thresholds or {}).get(segment)


def r_thresholds_exist(result: EvaluationResult) -> bool:
    """Whether the result's units are judged one by one against thresholds (a per-school rule)."""
    return result.resource is not None and result.resource.per_school_rule


def area_label(result: EvaluationResult, area: str) -> str:
    """The name the result's standard gives an area; results stored before areas carried their
    label fall back to the standard's file, then to the national names."""
    found = result.areas[area]
    if found is not None and found.label:
        return found.label
    standard = standard_named(result.standard)
    return standard.area_label(area) if standard is not None else AREA_LABELS.get(area, area)


def is_quality_standard(result: EvaluationResult) -> bool:
    """A 优质均衡 standard: one that requires years of 基本均衡 before a county applies (the
    precondition is what sets it apart from the 2012 基本均衡 standard). Read from the result, which
    carries the precondition exactly when its standard declares one, so a standard file no
    longer at hand is named rightly too."""
    return result.precondition is not None


def evaluation_title(results: list[EvaluationResult]) -> str:
    """督导评估's name: 优质均衡 unless every result is under a 基本均衡 standard."""
    if results and not any(is_quality_standard(r) for r in results):
        return BASIC_REPORT_TITLE
    return REPORT_TITLE


def composite_text(result: EvaluationResult, segment: str) -> str | None:
    """"综合差异系数 0.123(上限 0.65)", or None when the segment has no composite."""
    composite = (result.resource.composite_cv or {}).get(segment) if result.resource is not None else None
    if composite is None:
        return None
    value = num(composite.value, digits=3) if composite.value is not None else MISSING_TEXT
    return f"综合差异系数 {value}(上限 {composite.limit:.2f})"


def reported_text(result: EvaluationResult) -> str:
    """The values the standard reports beside the verdict without judging them:
    "公众满意度 93.5%(不参与判定)"."""
    return ";".join(f"{r.label} {plain_value(r.value, r.unit)}" for r in result.reported) + (
        f"({REPORTED_NOTE})" if result.reported else "")


def segment_label(segment: str) -> str:
    return catalog().segments.get(segment, segment)


def school_type_label(school_type: str) -> str:
    spec = catalog().school_types.get(school_type)
    return spec.label if spec else school_type


def table_label(table: str) -> str:
    spec = catalog().tables.get(table)
    return spec.label if spec else table


def county_label(result: EvaluationResult) -> str:
    return result.county_name or result.county_code


def where(result: EvaluationResult) -> list[Any]:
    """The 县区 and 年度 cells that start every data row."""
    return [county_label(result), result.year]


def segments_of(result: EvaluationResult) -> list[str]:
    present = list(result.resource.cv) if result.resource is not None else []
    return [s for s in SEGMENT_ORDER if s in present] + [s for s in present if s not in SEGMENT_ORDER]


def workbook_resource_ids(results: list[EvaluationResult]) -> list[str]:
    """The unit-level indicators of every result, in order (one standard's, or their union)."""
    return list(dict.fromkeys(i for r in results for i in r.resource_ids()))


def workbook_areas(results: list[EvaluationResult]) -> list[str]:
    """The areas any result's standard has, in the contract's order."""
    present = {a for r in results for a in r.areas.present()}
    return [a for a in AREAS if a in present]


def workbook_area_label(results: list[EvaluationResult], area: str) -> str:
    """An area's name in a column header or sheet name: the standard's own when the results
    agree on it, else the national name."""
    labels = {area_label(r, area) for r in results if r.has_area(area)}
    return labels.pop() if len(labels) == 1 else AREA_LABELS.get(area, area)


def result_with(results: list[EvaluationResult], indicator_id: str) -> EvaluationResult | None:
    return next((r for r in results if indicator_id in r.resource_ids()), None)


WHERE_COLUMNS = [Column("县区", 18), Column("年度", 7, INTEGER)]


# ---------------------------------------------------------------------------------------------
# 总览


def veto_text(result: EvaluationResult) -> Cell:
    veto = result.veto
    if veto.triggered:
        return Cell("一票否决:" + "、".join(veto.labels.get(k, k) for k in veto.triggered), "unmet")
    if veto.missing:
        return Cell(f"{len(veto.missing)} 项未填报", "missing")
    return Cell("无")


def verdict_cell(result: EvaluationResult) -> Cell:
    shade = {"fail": "unmet", "incomplete": "missing"}.get(result.verdict)
    return Cell(result.verdict_label, shade)


def area_status(result: EvaluationResult, area: str) -> Cell:
    if not result.has_area(area):
        return Cell(ABSENT_TEXT)
    return met_cell(result.areas[area].met)


def failing_items_cell(result: EvaluationResult) -> Cell:
    failing = result.failing_items()
    return Cell("、".join(failing), "unmet") if failing else Cell("无")


def precondition_text(result: EvaluationResult) -> Cell:
    if result.precondition is None:
        return Cell("")
    return Cell(result.precondition.note, shade_for(result.precondition.met))


def overview_sheet(results: list[EvaluationResult]) -> SheetTable:
    """Optional columns appear when some result has them: units judged one by one (达标单位数),
    a veto, a precondition, reported values."""
    areas = workbook_areas(results)
    judged = any(r_thresholds_exist(r) for r in results)
    vetoed = any(r.veto.labels or r.veto.triggered or r.veto.missing for r in results)
    preconditions = any(r.precondition is not None for r in results)
    reported = any(r.reported for r in results)
    columns = [
        Column("县区代码", 11), Column("县区", 18), Column("年度", 7, INTEGER), Column("标准", 26),
        Column("结论", 12), *[Column(workbook_area_label(results, a), 9) for a in areas],
        Column("评估单位数", 8, INTEGER), *([Column("达标单位数", 8, INTEGER)] if judged else []),
        Column("未达标指标", 22), *([Column("一票否决", 16)] if vetoed else []), Column("缺失数据项", 8, INTEGER),
        *([Column("申请前提(不计入结论)", 26)] if preconditions else []),
        *([Column(f"报告值({REPORTED_NOTE})", 22)] if reported else []), Column("备注", 16),
    ]
    rows = []
    for r in results:
        units = r.resource.units if r.resource is not None else []
        rows.append([
            r.county_code, county_label(r), r.year, f"{r.standard_name}({r.standard})", verdict_cell(r),
            *[area_status(r, a) for a in areas],
            len(units),
            *([r.resource.compliant_units if r_thresholds_exist(r) else Cell(ABSENT_TEXT)] if judged else []),
            failing_items_cell(r),
            *([veto_text(r)] if vetoed else []), len(r.missing_inputs),
            *([precondition_text(r)] if preconditions else []),
            *([lines(f"{x.label}:{plain_value(x.value, x.unit)}" for x in r.reported)] if reported else []),
            Cell(SYNTHETIC_NOTE, emphasis=True) if r.synthetic else "",
        ])
    return SheetTable("总览", columns, rows, frozen_columns=3)


# ---------------------------------------------------------------------------------------------
# 资源配置


def units_of(result: EvaluationResult, segment: str) -> list[UnitResult]:
    return [u for u in result.resource.units if u.segment == segment]


def cv_value_cell(cv: CVResult) -> Cell:
    if not cv.applicable:
        return Cell(NOT_APPLICABLE_TEXT)
    if cv.value is None:
        return missing_cell() if cv.met is None else Cell("无定义", "unmet")
    return measured_cell(cv.value, cv.met, CV_DECIMALS)


def cv_met_cell(cv: CVResult) -> Cell:
    return Cell(NOT_APPLICABLE_TEXT) if not cv.applicable else met_cell(cv.met)


def single_cv_limits(result: EvaluationResult) -> bool:
    """Whether each CV of the result is judged against its own limit (not by a composite)."""
    return result.resource is not None and not result.resource.composite_cv


def resource_rows(result: EvaluationResult, judged: bool = True, limited: bool = True) -> list[list[Any]]:
    """`judged`: the sheet has the per-unit columns (some result judges units one by one);
    `limited`: it has the per-CV limit and conclusion (some result judges CVs one by one)."""
    rows = []
    for segment in segments_of(result):
        units = units_of(result, segment)
        for rid in result.resource_ids():
            cv = result.resource.cv[segment][rid]
            own_rule = r_thresholds_exist(result)
            states = [u.indicators[rid].met for u in units if rid in u.indicators]
            values = [u.indicators[rid].value for u in units if rid in u.indicators]
            missing = states.count(None) if own_rule else values.count(None)
            limit_cells = [Cell(cv.limit, None, TWO_DECIMALS), cv_met_cell(cv)] if cv.limit is not None else \
                [Cell(ABSENT_TEXT), Cell(ABSENT_TEXT)]
            per_unit = [states.count(True), Cell(states.count(False), "unmet" if False in states else None, INTEGER)] \
                if own_rule else [Cell(ABSENT_TEXT), Cell(ABSENT_TEXT)]
            rows.append([
                *where(result), segment_label(segment), rid, indicator_name(result, rid),
                indicator_unit(result, rid),
                *([number_or_missing(r_threshold(result, segment, rid)) if own_rule else Cell(ABSENT_TEXT)]
                  if judged else []),
                number_or_missing(cv.county_value) if cv.applicable else Cell(NOT_APPLICABLE_TEXT),
                cv_value_cell(cv), *(limit_cells if limited else []),
                len(units), *(per_unit if judged else []),
                Cell(missing, "missing" if missing else None, INTEGER),
                cv.note or "",
            ])
    return rows


def resource_sheet(results: list[EvaluationResult]) -> SheetTable:
    judged = any(r_thresholds_exist(r) for r in results) or not results
    limited = any(single_cv_limits(r) for r in results) or not results
    columns = [
        *WHERE_COLUMNS, Column("学段", 6), Column("指标", 6), Column("指标名称", 30), Column("单位", 6),
        *([Column("达标值", 9, TWO_DECIMALS)] if judged else []), Column("县域值", 10, TWO_DECIMALS),
        Column("差异系数", 9, CV_DECIMALS),
        *([Column("差异系数上限", 9, TWO_DECIMALS), Column("差异系数结论", 9)] if limited else []),
        Column("评估单位数", 8, INTEGER),
        *([Column("达到达标值单位数", 9, INTEGER), Column("未达到单位数", 9, INTEGER)] if judged else []),
        Column("数据缺失单位数", 9, INTEGER), Column("说明", 28),
    ]
    rows = [row for r in results if r.resource is not None for row in resource_rows(r, judged, limited)]
    return SheetTable(sheet_name(results, "resource_allocation"), columns, rows, frozen_columns=4)


def sheet_name(results: list[EvaluationResult], area: str) -> str:
    """A sheet named after an area (Excel allows 31 characters and none of []:*?/\\)."""
    name = workbook_area_label(results, area) if results else AREA_LABELS[area]
    return "".join(ch for ch in name if ch not in "[]:*?/\\")[:31]


# ---------------------------------------------------------------------------------------------
# 学校学段明细


def unit_reasons(unit: UnitResult) -> str:
    missing = [f"{rid} {MISSING_TEXT}" for rid, ind in unit.indicators.items() if ind.value is None]
    return lines([*unit.reasons, *missing])


def unit_gaps(unit: UnitResult) -> str:
    return lines(f"{rid}:{gap_text(ind.gap)}" for rid, ind in unit.indicators.items() if ind.gap)


def unit_row(result: EvaluationResult, unit: UnitResult, ids: list[str] | None = None,
             judged: bool = True) -> list[Any]:
    """`ids`: the workbook's unit-level indicators (the result's own by default); `judged`: the
    sheet has the 达标项数 and 是否达标 columns."""
    ids = result.resource_ids() if ids is None else ids
    values = [measured_cell(unit.indicators[rid].value, unit.indicators[rid].met) if rid in unit.indicators
              else Cell(ABSENT_TEXT) for rid in ids]
    verdict = [unit.met_count, met_cell(unit.compliant)] if r_thresholds_exist(result) else \
        [Cell(ABSENT_TEXT), Cell(ABSENT_TEXT)]
    return [
        *where(result), unit.school_id, unit.school_name, school_type_label(unit.school_type),
        segment_label(unit.segment), unit.students, *values, *(verdict if judged else []),
        unit_reasons(unit), unit_gaps(unit),
    ]


def unit_order(unit: UnitResult) -> tuple:
    return (SEGMENT_ORDER.index(unit.segment) if unit.segment in SEGMENT_ORDER else 9, unit.school_id)


def r_header(results: list[EvaluationResult], indicator_id: str) -> str:
    """The header of a unit-level indicator's column: the ID over the indicator's name."""
    owner = result_with(results, indicator_id) or (results[0] if results else None)
    return f"{indicator_id}\n{indicator_name(owner, indicator_id)}" if owner is not None else indicator_id


def units_sheet(results: list[EvaluationResult]) -> SheetTable:
    ids = workbook_resource_ids(results)
    judged = any(r_thresholds_exist(r) for r in results) or not results
    r_headers = [r_header(results, rid) for rid in ids]
    columns = [
        *WHERE_COLUMNS, Column("学校标识码", 12), Column("学校名称", 24), Column("学校类型", 10), Column("学段", 6),
        Column("学生数", 7, INTEGER), *[Column(h, 11, TWO_DECIMALS) for h in r_headers],
        *([Column("达标项数", 6, INTEGER), Column("是否达标", 9)] if judged else []),
        Column("未达到达标值的指标" if judged else "说明", 40), Column("需补足", 30),
    ]
    rows = [unit_row(r, u, ids, judged) for r in results if r.resource is not None
            for u in sorted(r.resource.units, key=unit_order)]
    return SheetTable("学校学段明细", columns, rows, frozen_columns=4)


# ---------------------------------------------------------------------------------------------
# 差异系数


def composite_cells(result: EvaluationResult, segment: str) -> list[Cell]:
    """The 综合差异系数 of a segment and its limit ("—" under a standard without one)."""
    composite = (result.resource.composite_cv or {}).get(segment)
    if composite is None:
        return [Cell(ABSENT_TEXT), Cell(ABSENT_TEXT)]
    value = missing_cell() if composite.value is None else measured_cell(composite.value, composite.met, CV_DECIMALS)
    return [value, Cell(composite.limit, None, TWO_DECIMALS)]


def cv_rows(result: EvaluationResult, ids: list[str] | None = None, limited: bool = True,
            composite: bool = False) -> list[list[Any]]:
    """`ids`: the workbook's unit-level indicators; `limited`: the sheet has the per-CV limit
    column; `composite`: it has the 综合差异系数 columns."""
    ids = result.resource_ids() if ids is None else ids
    rows = []
    for segment in segments_of(result):
        cvs = result.resource.cv[segment]
        applicable = [cvs[rid] for rid in ids if rid in cvs and cvs[rid].applicable]
        own_composite = (result.resource.composite_cv or {}).get(segment)
        if own_composite is not None:
            conclusion = met_cell(own_composite.met)
        else:
            conclusion = met_cell(combine_met([c.met for c in applicable])) if applicable else Cell(NOT_APPLICABLE_TEXT)
        limit = next(iter(cvs.values())).limit if cvs else None
        notes = sorted({c.note for c in cvs.values() if c.note} | ({own_composite.note} if own_composite is not None
                                                                   and own_composite.note else set()))
        rows.append([
            *where(result), segment_label(segment),
            *([Cell(limit, None, TWO_DECIMALS) if limit is not None else Cell(ABSENT_TEXT)] if limited else []),
            *[cv_value_cell(cvs[rid]) if rid in cvs else Cell(ABSENT_TEXT) for rid in ids],
            *(composite_cells(result, segment) if composite else []), conclusion, lines(notes),
        ])
    return rows


def cv_sheet(results: list[EvaluationResult]) -> SheetTable:
    ids = workbook_resource_ids(results)
    limited = any(single_cv_limits(r) for r in results) or not results
    composite = any(r.resource is not None and r.resource.composite_cv for r in results)
    columns = [
        *WHERE_COLUMNS, Column("学段", 6), *([Column("上限", 7, TWO_DECIMALS)] if limited else []),
        *[Column(rid, 9, CV_DECIMALS) for rid in ids],
        *([Column("综合差异系数", 9, CV_DECIMALS), Column("综合差异系数上限", 9, TWO_DECIMALS)] if composite else []),
        Column("结论", 9), Column("说明", 36),
    ]
    rows = [row for r in results if r.resource is not None for row in cv_rows(r, ids, limited, composite)]
    return SheetTable("差异系数", columns, rows, frozen_columns=3)


# ---------------------------------------------------------------------------------------------
# 政府保障程度 / 教育质量 / 社会认可度


def plain_value(value: float | str | bool | None, unit: str | None = None) -> str:
    if value is None:
        return MISSING_TEXT
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float)):
        return num(value, unit)
    return str(value)


def item_value_cell(item: ItemResult) -> Cell:
    if isinstance(item.value, bool):
        return Cell("是" if item.value else "否", "unmet" if item.met is False else None)
    if isinstance(item.value, (int, float)):
        return measured_cell(float(item.value), item.met)
    if isinstance(item.value, str):
        return Cell(item.value)
    if item.checks:
        text = lines(f"{c.label}:{plain_value(c.value, c.unit)}" for c in item.checks)
        return Cell(text, shade_for(item.met) if item.met is not True else None)
    if item.met is None and item.missing:
        return missing_cell()
    return Cell(f"检查 {item.schools_checked} 所学校" if item.schools_checked is not None else "—")


def check_standard(check: CheckResult) -> str:
    if isinstance(check.threshold, str):
        return check.comparison if check.threshold in check.comparison else f"{check.comparison}{check.threshold}"
    return f"{check.comparison} {num(check.threshold, check.unit)}"


def item_standard(item: ItemResult) -> str:
    if item.checks:
        texts = [check_standard(c) for c in item.checks]
        if len(set(texts)) == 1:
            return texts[0]
        return lines(f"{c.label}{t}" for c, t in zip(item.checks, texts))
    if item.threshold is not None:
        return plain_value(item.threshold, item.unit)
    return "逐校检查,见指标名称" if item.schools_checked is not None else "见指标名称"


def failing_schools(item: ItemResult) -> str:
    return lines(f"{s.school_name}:{s.detail}" for s in item.schools)


def item_gaps(item: ItemResult) -> str:
    if item.gap:
        return gap_text(item.gap)
    return lines(f"{s.school_name}:{gap_text(s.gap)}" for s in item.schools if s.gap)


def item_row(result: EvaluationResult, item: ItemResult) -> list[Any]:
    return [
        *where(result), item.id, item.name, item_value_cell(item), item.unit or "", item_standard(item),
        met_cell(item.met), item.explanation, failing_schools(item), item_gaps(item), "、".join(item.responsible),
    ]


def item_sheet(results: list[EvaluationResult], area: str) -> SheetTable:
    columns = [
        *WHERE_COLUMNS, Column("指标", 6), Column("指标名称", 34), Column("县域值", 16, TWO_DECIMALS),
        Column("单位", 5), Column("标准", 20), Column("结论", 9), Column("说明", 40),
        Column("未达标学校", 36), Column("需补足", 22), Column("责任单位", 14),
    ]
    rows = [item_row(r, item) for r in results for item in r.item_area(area).indicators.values()]
    return SheetTable(sheet_name(results, area), columns, rows, frozen_columns=3)


# ---------------------------------------------------------------------------------------------
# 已适用放宽条款 / 缺失数据 (only when there is something to list)


def allowances_sheet(results: list[EvaluationResult]) -> SheetTable:
    columns = [*WHERE_COLUMNS, Column("指标", 6), Column("放宽条款", 40), Column("学校", 24), Column("说明", 40)]
    rows = [[*where(r), a.indicator, a.label, a.school_name, a.detail] for r in results for a in r.allowances_applied]
    return SheetTable("已适用放宽条款", columns, rows)


def missing_indicator_label(indicator: str) -> str:
    return "一票否决" if indicator == "veto" else indicator


def missing_sheet(results: list[EvaluationResult]) -> SheetTable:
    columns = [
        *WHERE_COLUMNS, Column("指标", 8), Column("数据表", 14), Column("字段", 26), Column("字段名称", 26),
        Column("学校标识码", 12), Column("学校名称", 24),
    ]
    rows = [
        [*where(r), missing_indicator_label(m.indicator), f"{table_label(m.table)}({m.table})", m.field, m.label,
         m.school_id or "", m.school_name or ""]
        for r in results for m in r.missing_inputs
    ]
    return SheetTable("缺失数据", columns, rows)


# ---------------------------------------------------------------------------------------------
# The writer


def scope_text(results: list[EvaluationResult]) -> str:
    """County, year and standard of the workbook, for the title row of every sheet."""
    if not results:
        return "无评估结果"
    if len(results) == 1:
        r = results[0]
        return f"{county_label(r)}({r.county_code}) {r.year}—{r.year + 1}学年 · 标准:{r.standard_name}({r.standard})"
    counties = list(dict.fromkeys(f"{county_label(r)}({r.county_code})" for r in results))
    years = sorted({r.year for r in results})
    standards = list(dict.fromkeys(r.standard for r in results))
    shown = "、".join(counties[:3]) + (f"等 {len(counties)} 个县区" if len(counties) > 3 else "")
    year_text = f"{years[0]}年" if len(years) == 1 else f"{years[0]}—{years[-1]}年"
    return f"{shown} {year_text}(共 {len(results)} 个县区年度) · 标准:{'、'.join(standards)}"


def display_width(text: str) -> int:
    """Width in Excel character units: CJK and full-width characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def line_count(value: Any, width: float) -> int:
    if not isinstance(value, str) or not value:
        return 1
    usable = max(width - 1, 1)
    return sum(max(1, math.ceil(display_width(part) / usable)) for part in value.split("\n"))


def row_height(values: list[Any], columns: list[Column]) -> float | None:
    """A height that shows wrapped text in full (Excel does not re-measure rows on opening)."""
    needed = max((line_count(v, c.width) for v, c in zip(values, columns)), default=1)
    return None if needed <= 1 else min(needed * LINE_HEIGHT, MAX_ROW_HEIGHT)


def write_title(ws: Worksheet, table: SheetTable, scope: str, synthetic: bool, title: str = REPORT_TITLE) -> None:
    last = len(table.columns)
    ws.cell(TITLE_ROW, 1, f"{title} · {table.name} — {scope}").font = TITLE_FONT
    legend = ws.cell(LEGEND_ROW, 1, (f"【{SYNTHETIC_NOTE},不代表任何真实县区】" if synthetic else "") + LEGEND)
    if synthetic:
        legend.font = SYNTHETIC_FONT
    for row in (TITLE_ROW, LEGEND_ROW):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last)
        ws.cell(row, 1).alignment = Alignment(wrap_text=True, vertical="center")
    title_width = sum(c.width for c in table.columns)
    ws.row_dimensions[TITLE_ROW].height = max(22.0, line_count(ws.cell(TITLE_ROW, 1).value, title_width) * 20.0)
    ws.row_dimensions[LEGEND_ROW].height = line_count(legend.value, title_width) * LINE_HEIGHT


def write_header(ws: Worksheet, columns: list[Column]) -> None:
    for index, column in enumerate(columns, start=1):
        cell = ws.cell(HEADER_ROW, index, column.header)
        cell.font, cell.fill, cell.border = HEADER_FONT, HEADER_FILL, BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.row_dimensions[HEADER_ROW].height = row_height([c.header for c in columns], columns) or LINE_HEIGHT * 2


def write_cell(ws: Worksheet, row: int, col: int, value: Any, column: Column) -> None:
    content = value if isinstance(value, Cell) else Cell(value)
    cell = ws.cell(row, col, content.value)
    cell.border = BORDER
    is_number = isinstance(content.value, (int, float)) and not isinstance(content.value, bool)
    if is_number:
        cell.number_format = content.number_format or column.number_format or TWO_DECIMALS
        cell.alignment = Alignment(horizontal="right", vertical="top")
    else:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    if content.shade:
        cell.fill = SHADE_FILLS[content.shade]
    if content.emphasis:
        cell.font = SYNTHETIC_FONT


def plain(value: Any) -> Any:
    return value.value if isinstance(value, Cell) else value


def write_rows(ws: Worksheet, table: SheetTable) -> None:
    for offset, values in enumerate(table.rows):
        row = FIRST_DATA_ROW + offset
        for col, (value, column) in enumerate(zip(values, table.columns), start=1):
            write_cell(ws, row, col, value, column)
        height = row_height([plain(v) for v in values], table.columns)
        if height:
            ws.row_dimensions[row].height = height


def set_up_printing(ws: Worksheet, table: SheetTable) -> None:
    last_column = get_column_letter(len(table.columns))
    last_row = HEADER_ROW + max(len(table.rows), 1)
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages as needed down
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{TITLE_ROW}:{HEADER_ROW}"
    ws.print_area = f"A{TITLE_ROW}:{last_column}{last_row}"
    ws.print_options.horizontalCentered = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6, header=0.3, footer=0.3)
    ws.oddFooter.center.text = "第 &P 页,共 &N 页"
    ws.freeze_panes = ws.cell(FIRST_DATA_ROW, table.frozen_columns + 1)
    if table.rows:
        ws.auto_filter.ref = f"A{HEADER_ROW}:{last_column}{last_row}"


def write_sheet(workbook: Workbook, table: SheetTable, scope: str, synthetic: bool,
                title: str = REPORT_TITLE) -> Worksheet:
    ws = workbook.create_sheet(table.name)
    write_title(ws, table, scope, synthetic, title)
    write_header(ws, table.columns)
    write_rows(ws, table)
    set_up_printing(ws, table)
    return ws


SheetBuilder = Callable[[list[EvaluationResult]], SheetTable]
ALWAYS: tuple[SheetBuilder, ...] = (overview_sheet, resource_sheet, units_sheet, cv_sheet)
WHEN_NOT_EMPTY: tuple[SheetBuilder, ...] = (allowances_sheet, missing_sheet)


def workbook_item_areas(results: list[EvaluationResult]) -> list[str]:
    """The item areas of the results' standards (all four of national-2017 when there is none)."""
    if not results:
        return list(ITEM_AREAS)
    return [a for a in workbook_areas(results) if a != "resource_allocation"]


def workbook_tables(results: list[EvaluationResult]) -> list[SheetTable]:
    tables = [build(results) for build in ALWAYS]
    tables += [item_sheet(results, area) for area in workbook_item_areas(results)]
    tables += [t for t in (build(results) for build in WHEN_NOT_EMPTY) if t.rows]
    return tables


def write_results_xlsx(results: list[EvaluationResult], path: Path) -> None:
    """Write every result into one printable workbook at `path`."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    scope = scope_text(results)
    synthetic = any(r.synthetic for r in results)
    title = evaluation_title(results)
    for table in workbook_tables(results):
        write_sheet(workbook, table, scope, synthetic, title)
    workbook.properties.title = f"{title} — {scope}"
    workbook.properties.creator = "junheng"
    save_workbook(workbook, Path(path))  # school names stay text, never formulas (junheng.spreadsheets)

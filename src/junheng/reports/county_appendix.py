"""附表 of the county report: per-school indicator values, school-level items school by school, the
CV table, the missing data and the allowances applied."""

from __future__ import annotations

from junheng.data.dataset import Dataset
from junheng.engine.result import EvaluationResult, UnitResult
from junheng.reports import narrative as words
from junheng.reports.county_cells import SHADES, count_cell, number_cell, status_cell, text_cell
from junheng.reports.document import Cell, Column, Table
from junheng.reports.xlsx import (
    MISSING_TEXT,
    TWO_DECIMALS,
    area_label,
    indicator_name,
    indicator_unit,
    r_threshold,
    r_thresholds_exist,
    school_type_label,
    segment_label,
    segments_of,
    standard_named,
    table_label,
)


def _unit_order(unit: UnitResult) -> tuple:
    return (unit.segment != "primary", unit.school_id)


def unit_values_table(result: EvaluationResult) -> Table:
    """Each unit's values; under a per-school rule with its met count and conclusion."""
    ids = result.resource_ids()
    judged = r_thresholds_exist(result)
    columns = [Column("序号", 0.6), Column("学校名称", 3.4), Column("学校类型", 1.5), Column("学段", 0.7),
               Column("学生数", 0.9, "人")]
    columns += [Column(rid, 1.05, indicator_unit(result, rid) or None) for rid in ids]
    columns += [Column("达标项数", 0.8), Column("结论", 1.0)] if judged else []
    rows = []
    for n, unit in enumerate(sorted(result.resource.units, key=_unit_order), start=1):
        rows.append([
            count_cell(n), text_cell(unit.school_name), text_cell(school_type_label(unit.school_type)),
            text_cell(segment_label(unit.segment), "center"), count_cell(unit.students),
            *[number_cell(unit.indicators[rid].value, 2, unit.indicators[rid].met if judged else True) for rid in ids],
            *([Cell(str(unit.met_count), value=unit.met_count, align="center"), status_cell(unit.compliant)]
              if judged else []),
        ])
    names = ";".join(f"{rid} {indicator_name(result, rid)}" for rid in ids)
    if judged:
        thresholds = ";".join(
            f"{segment_label(s)}:" + "、".join(f"{rid} {words.threshold_text(r_threshold(result, s, rid))}" for rid in ids)
            for s in segments_of(result))
        note = f"指标:{names}。标准值 {thresholds}。红色底纹为未达到标准值,黄色底纹为数据缺失。"
    else:
        note = f"指标:{names}。本标准不逐校判定,各校指标值用于计算校际差异系数;黄色底纹为数据缺失。"
    excluded = result.resource.excluded
    if excluded:
        note += "未纳入评估:" + ";".join(f"{e.school_name}({segment_label(e.segment)}):{e.reason}" for e in excluded) + "。"
    return Table(kind="unit_values", title=f"各学校(学段){area_label(result, 'resource_allocation')}指标明细",
                 columns=columns, rows=rows,
                 sheet="学校资源配置明细", note=note, font_size=8.0, frozen_columns=2)


def school_item_table(result: EvaluationResult, dataset: Dataset | None) -> Table | None:
    items = [item for area in result.areas.items().values() for item in area.indicators.values()
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
    for area in result.areas.items().values():
        for item in area.indicators.values():
            for s in item.schools:
                found.setdefault(s.school_id, (s.school_id, s.school_name, None))
    return sorted(found.values())


def cv_table(result: EvaluationResult) -> Table:
    columns = [Column("学段", 0.7), Column("指标", 3.8), Column("评估单位数", 0.9), Column("学生数", 1.0, "人"),
               Column("县域值X̄", 1.1), Column("标准差S", 1.1), Column("差异系数CV", 1.1), Column("上限", 0.8),
               Column("结论", 0.9), Column("偏离县域值最大的学校", 5.0)]
    rows = []
    composite = result.resource.composite_cv or {}
    for segment in segments_of(result):
        for rid in result.resource_ids():
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
                         value, Cell(f"{cv.limit:.2f}", value=cv.limit, number_format=TWO_DECIMALS, align="right")
                         if cv.limit is not None else Cell("—", align="center"),
                         status_cell(cv.met) if cv.limit is not None else text_cell("计入综合", "center"),
                         text_cell(who if cv.met is not True else (cv.note or ""))])
        c = composite.get(segment)
        if c is not None:  # the segment's 综合差异系数: the mean of the CVs above, against its own limit
            value = number_cell(c.value, 3, c.met) if c.value is not None else Cell(MISSING_TEXT, shade="missing",
                                                                                     align="center")
            rows.append([text_cell(segment_label(segment), "center"), text_cell(f"综合差异系数({c.indicators}项平均)"),
                         *[Cell("—", align="center")] * 4, value,
                         Cell(f"{c.limit:.2f}", value=c.limit, number_format=TWO_DECIMALS, align="right"),
                         status_cell(c.met), text_cell(c.note or "")])
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

"""The city (or province) summary report: every county's verdict, failing items, target year and
progress; an overview table and charts, then one page per county.

Input: one EvaluationResult per county for the year reported, optionally the results of earlier
years (the progress over time) and the Dataset (its county table gives the city, the planned and
the actual certification year). Every number comes from the results.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from junheng import schoolyear
from junheng.data.dataset import Dataset
from junheng.engine.result import EvaluationResult
from junheng.reports import charts
from junheng.reports import narrative as words
from junheng.reports.county import (
    SHADES,
    areas_table,
    count_cell,
    data_names,
    failing_items_table,
    text_cell,
)
from junheng.reports.document import Cell, Column, ReportDocument, Run, Table
from junheng.reports.xlsx import SYNTHETIC_NOTE, area_label, county_label, r_thresholds_exist

VERDICT_SHADES = {"pass": None, "fail": "unmet", "incomplete": "missing"}


@dataclass
class CountyProgress:
    result: EvaluationResult
    statuses: dict[str, bool | None]
    failing: list[str]
    target_year: int | None = None
    certified_year: int | None = None
    history: list[EvaluationResult] = field(default_factory=list)  # earlier years, oldest first

    @property
    def met(self) -> int:
        return sum(v is True for v in self.statuses.values())

    @property
    def total(self) -> int:
        return len(self.statuses)

    @property
    def name(self) -> str:
        return county_label(self.result)

    def schedule_text(self) -> str:
        """Where the county stands against its target year."""
        year = self.result.year
        if self.certified_year:
            return f"已于{self.certified_year}年通过认定"
        if self.target_year is None:
            return "未填写计划认定年份"
        if self.result.verdict == "pass":
            return f"计划{self.target_year}年认定,本学年已达标"
        if self.target_year < year:
            return f"计划{self.target_year}年认定,已逾期"
        if self.target_year == year:
            return f"计划{self.target_year}年认定,当年须达标"
        return f"计划{self.target_year}年认定,尚余{self.target_year - year}年"

    def trend_text(self) -> str:
        if not self.history:
            return ""
        points = [*self.history, self.result]
        return "、".join(f"{r.year}年{len(r.failing_items())}项" for r in points)


def _year(dataset: Dataset | None, county: str, key: str) -> int | None:
    if dataset is None:
        return None
    value = dataset.county_attribute(county, key)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def county_progress(results: list[EvaluationResult], dataset: Dataset | None = None,
                    history: list[EvaluationResult] | None = None) -> list[CountyProgress]:
    earlier: dict[str, list[EvaluationResult]] = defaultdict(list)
    for r in history or []:
        earlier[r.county_code].append(r)
    out = []
    for r in sorted(results, key=lambda r: r.county_code):
        out.append(CountyProgress(
            result=r, statuses=words.indicator_statuses(r), failing=r.failing_items(),
            target_year=_year(dataset, r.county_code, "target_year"),
            certified_year=_year(dataset, r.county_code, "certified_year"),
            history=sorted((h for h in earlier[r.county_code] if h.year < r.year), key=lambda h: h.year),
        ))
    return out


# ---------------------------------------------------------------------------------------------
# Tables


def units_text(r: EvaluationResult) -> str:
    """资源配置达标单位 "5/6"; a standard that judges no unit one by one: "不逐校判定"."""
    if r.resource is None:
        return "—"
    if not r_thresholds_exist(r):
        return "不逐校判定"
    return f"{r.resource.compliant_units}/{len(r.resource.units)}"


def indicator_count_note(rows: list[CountyProgress]) -> str:
    """What 达标指标 counts: the indicators of each area of the counties' standard."""
    if not rows or len({p.result.standard for p in rows}) != 1:
        return "达标指标:各县区所用评估标准全部指标中达标的项数。"
    r = rows[0].result
    counts = [(a, len(r.resource_ids()) if a == "resource_allocation" else len(found.indicators))
              for a, found in r.areas.present().items()]
    return "达标指标:" + "、".join(f"{area_label(r, a)}{n}项" for a, n in counts) + "中达标的项数。"


def overview_table(rows: list[CountyProgress]) -> Table:
    columns = [Column("序号", 0.6), Column("县区", 2.4), Column("结论", 1.1), Column("达标指标", 1.0),
               Column("未达标指标", 3.2), Column("资源配置达标单位", 1.3), Column("认定进度", 2.4),
               Column("缺失数据", 0.9, "项")]
    body = []
    for n, p in enumerate(rows, start=1):
        r = p.result
        body.append([
            count_cell(n), text_cell(p.name),
            Cell(r.verdict_label, shade=VERDICT_SHADES[r.verdict], align="center"),  # type: ignore[arg-type]
            Cell(f"{p.met}/{p.total}", align="center"),
            Cell("、".join(p.failing) or "无", shade="unmet" if p.failing else None),
            Cell(units_text(r), align="center",
                 shade="unmet" if r.resource is not None and r.resource.noncompliant_units else None),
            text_cell(p.schedule_text()),
            Cell(str(len(r.missing_inputs)), value=len(r.missing_inputs), align="right",
                 shade="missing" if r.missing_inputs else None),
        ])
    return Table(kind="city_overview", title="各县区评估结果总览", columns=columns, rows=body, sheet="总览",
                 font_size=9.0, frozen_columns=2,
                 note=indicator_count_note(rows))


def indicator_failures_table(rows: list[CountyProgress]) -> Table | None:
    by_indicator: dict[str, list[str]] = defaultdict(list)
    titles: dict[str, str] = {}
    for p in rows:
        for indicator in p.failing:
            by_indicator[indicator].append(p.name)
            titles.setdefault(indicator, words.indicator_title(p.result, indicator))
    if not by_indicator:
        return None
    order = {k: i for i, k in enumerate(dict.fromkeys(i for p in rows for i in p.statuses))}
    columns = [Column("编号", 0.7), Column("指标", 4.5), Column("未达标县区数", 1.1), Column("县区", 5.0)]
    body = [[text_cell(i, "center"), text_cell(titles[i]), count_cell(len(names)), text_cell("、".join(names))]
            for i, names in sorted(by_indicator.items(), key=lambda kv: (-len(kv[1]), order.get(kv[0], 99)))]
    return Table(kind="indicator_failures", title="各指标未达标县区分布", columns=columns, rows=body,
                 sheet="未达标指标分布", font_size=9.0)


def failing_details_table(rows: list[CountyProgress]) -> Table | None:
    body = []
    for p in rows:
        for indicator in p.failing:
            body.append([text_cell(p.name), text_cell(indicator, "center"),
                         text_cell(words.indicator_title(p.result, indicator)),
                         text_cell(words.failing_reason(p.result, indicator))])
    if not body:
        return None
    columns = [Column("县区", 2.2), Column("编号", 0.7), Column("指标", 4.0), Column("未达标情况", 7.0)]
    return Table(kind="city_failing_details", title="各县区未达标指标明细", columns=columns, rows=body,
                 sheet="未达标指标明细", font_size=8.5, frozen_columns=2)


def indicator_matrix_table(rows: list[CountyProgress]) -> Table:
    ids = list(dict.fromkeys(i for p in rows for i in p.statuses))  # one standard's, or their union
    columns = [Column("县区", 2.6)] + [Column(i, 0.55) for i in ids]
    marks = {True: "√", False: "×", None: "缺"}
    body = [[text_cell(p.name)] + [Cell(marks[p.statuses[i]], value=words.STATUS_WORDS[p.statuses[i]],
                                        shade=SHADES.get(p.statuses[i]), align="center") if i in p.statuses
                                   else Cell("—", align="center") for i in ids]
            for p in rows]
    return Table(kind="city_matrix", title="各县区逐项指标达标情况", columns=columns, rows=body, sheet="逐项指标",
                 font_size=7.5, frozen_columns=1, note="√ 达标;× 未达标;缺 数据缺失。")


# ---------------------------------------------------------------------------------------------
# The report


def _scope_name(results: list[EvaluationResult], dataset: Dataset | None, city: str | None) -> str:
    if city:
        return city
    if dataset is not None and len(dataset.counties):
        codes = {r.county_code for r in results}
        cities = dataset.counties.loc[dataset.counties["county_code"].isin(codes), "city"].dropna().unique()
        if len(cities) == 1:
            return str(cities[0])
    return "全部县区"


def summary_paragraph(rows: list[CountyProgress], scope: str, year: int) -> str:
    verdicts = [p.result.verdict for p in rows]
    text = (f"{scope}共{len(rows)}个县区参加{words.school_year_text(year)}评估,其中达标{verdicts.count('pass')}个、"
            f"未达标{verdicts.count('fail')}个、数据不全{verdicts.count('incomplete')}个。")
    certified = [p for p in rows if p.certified_year]
    if certified:
        text += f"已通过优质均衡认定{len(certified)}个。"
    due = [p for p in rows if not p.certified_year and p.target_year is not None and p.target_year <= year
           and p.result.verdict != "pass"]
    if due:
        text += f"计划认定年份已到或已过但尚未达标的县区{len(due)}个:{'、'.join(p.name for p in due)}。"
    vetoed = [p for p in rows if p.result.veto.triggered]
    if vetoed:
        text += f"存在一票否决情形的县区:{'、'.join(p.name for p in vetoed)}。"
    return text


def county_page(doc: ReportDocument, p: CountyProgress, first: bool = False) -> None:
    """One county on its own page(s)."""
    r = p.result
    if not first:
        doc.page_break()
    doc.heading(2, p.name)
    colour = {"pass": "green", "fail": "red", "incomplete": "amber"}[r.verdict]
    doc.paragraph(Run(words.verdict_paragraph(r, subject=p.name), bold=True, color=colour))  # type: ignore[arg-type]
    progress = f"认定进度:{p.schedule_text()}。达标指标{p.met}/{p.total}项;" + (
        f"{area_label(r, 'resource_allocation')}达标单位{units_text(r)}个" if r_thresholds_exist(r)
        else f"{area_label(r, 'resource_allocation')}评估单位{len(r.resource.units) if r.resource else 0}个(不逐校判定)")
    trend = p.trend_text()
    if trend:
        progress += f";历年未达标指标数:{trend}"
    progress += "。"
    if r.veto.triggered:
        progress += "一票否决:" + "、".join(r.veto.labels.get(k, k) for k in r.veto.triggered) + "。"
    elif r.veto.missing:
        progress += f"一票否决事项{len(r.veto.missing)}项未填报。"
    if r.missing_inputs:
        progress += f"数据缺失{len(r.missing_inputs)}项。"
    doc.paragraph(progress)
    areas = areas_table(r, p.failing)
    areas.title = f"{p.name}{words.areas_title(len(r.areas.present()))}评估结论"
    areas.in_workbook = False
    doc.table(areas)
    failing = failing_items_table(r, p.failing)
    if failing is not None:
        failing.title = f"{p.name}未达标指标"
        failing.in_workbook = False
        doc.table(failing)


def build_city_report(results: list[EvaluationResult], dataset: Dataset | None = None, *, city: str | None = None,
                      history: list[EvaluationResult] | None = None, with_charts: bool = True,
                      generated: date | None = None) -> ReportDocument:
    """The summary report of several counties in one year."""
    if not results:
        raise ValueError("no results")
    year = max(r.year for r in results)
    results = [r for r in results if r.year == year]
    rows = county_progress(results, dataset, history)
    scope = _scope_name(results, dataset, city)
    generated = generated or schoolyear.local_today()
    synthetic = any(r.synthetic for r in results)
    standards = list(dict.fromkeys(r.standard_name for r in results))
    doc = ReportDocument(
        title=f"{scope}县域义务教育优质均衡发展评估汇总报告",
        title_lines=(scope, "县域义务教育优质均衡发展评估汇总报告"),  # broken deliberately, as the county report
        subtitle=f"\uff08{words.school_year_text(year)}\uff09",
        meta=[f"评估标准:{'、'.join(standards)}", f"报告日期:{generated.year}年{generated.month}月{generated.day}日"],
        warning=f"【{SYNTHETIC_NOTE},不代表任何真实县区】" if synthetic else None,
        scope=f"{scope} {words.school_year_text(year)}", synthetic=synthetic,
    )
    for r in results:
        doc.protected |= data_names(r, dataset)
    if city:
        doc.protected.add(city)
    doc.protected.add(scope)

    doc.heading(1, "总体情况")
    doc.paragraph(summary_paragraph(rows, scope, year))
    doc.table(overview_table(rows))
    if with_charts:
        chart_rows = [(p.name, p.met, p.total, p.result.verdict) for p in rows]
        for k in range(0, len(chart_rows), 40):
            part = chart_rows[k:k + 40]
            suffix = f"(第{k // 40 + 1}部分)" if len(chart_rows) > 40 else ""
            doc.figure(charts.city_indicator_chart(part), f"各县区达标指标数{suffix}")
        schedule = charts.city_schedule_chart([(p.name, p.target_year, p.certified_year, p.result.verdict) for p in rows])
        if schedule is not None:
            doc.figure(schedule, "各县区计划(或已)通过认定年份")
    failures = indicator_failures_table(rows)
    if failures is not None:
        doc.table(failures)

    doc.page_break()
    doc.heading(1, "各县区情况")
    for n, p in enumerate(rows):
        county_page(doc, p, first=n == 0)

    doc.section("landscape")
    doc.heading(1, "附表", numbered=False)
    doc.table(indicator_matrix_table(rows), appendix=True)
    details = failing_details_table(rows)
    if details is not None:
        doc.table(details, appendix=True)
    return doc

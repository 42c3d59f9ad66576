"""社会认可度调查 of the county report: where the social recognition figure came from.

Written right after the social recognition item section, when the county's standard has that
area (basic-2012 has none: no section). When the figure is backed by a survey result applied in
the workspace (the item's ValueSource of kind "survey"), the section says how it was obtained:
the survey, its period, planned and valid sample, the groups surveyed, the method in one
paragraph, the overall rate with its interval against the standard's threshold, one table per
group, the five weakest items and the exclusions by reason. When the figure was typed (a typed
ValueSource, or no survey at all) it says so plainly: the figure is not backed by a survey in
the system.

The survey comes in as `SurveyEvidence`: plain data the store reads from the SurveyResult row and
its Survey (junheng.reports.store.stored_survey). This module reads no database and imports
nothing of junheng.survey (that package imports the reports for its plan files): the score JSON
carries the groups' labels, and the result's `reason_labels` (when present) the exclusions'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from junheng.engine.result import EvaluationResult, ItemResult, ValueSource
from junheng.reports import narrative as words
from junheng.reports.county_cells import count_cell, text_cell
from junheng.reports.document import Cell, Column, ReportDocument, Run, Table, chinese_number
from junheng.survey.checks import REASON_LABELS
from junheng.survey.results import SURVEY_AREA

WEAKEST_ITEMS = 5
MAX_TEXT = 300  # characters of a question's text shown in a table cell
SECTION_TITLE = "社会认可度调查"
REASON_WORDS = REASON_LABELS  # the exclusion reasons' words when a stored result carries no `reason_labels`
OTHER_REASON = "其他原因"
OTHER_GROUP = "其他人员"
SOURCE_WORDS = {"web": "扫码在线作答", "import": "从问卷平台导入"}


@dataclass(frozen=True)
class SurveyEvidence:
    """The survey result applied as a county-year's social recognition rate, as the report reads it."""

    survey_id: int
    title: str
    score: dict[str, Any]  # SurveyResult.result: the score JSON (overall, groups, items, excluded, ...)
    opened: date | None = None
    closed: date | None = None
    computed: date | None = None
    planned: int | None = None  # the sampling plan's total (or the quotas' sum); None: no plan
    recognising: tuple[str, ...] = ()  # options counted as recognising
    excluded_options: tuple[str, ...] = ()  # options left out of the denominator
    checks: dict[str, Any] = field(default_factory=dict)  # the frozen settings' `checks`


# ---------------------------------------------------------------------------------------------
# Reading the result


def survey_item(result: EvaluationResult) -> ItemResult | None:
    """The social recognition indicator of the result's standard: the one whose value a survey
    fed (or was typed over), else the area's first indicator; None when the area is absent."""
    if not result.has_area(SURVEY_AREA):
        return None
    items = list(result.item_area(SURVEY_AREA).indicators.values())
    return next((i for i in items if i.sources), items[0] if items else None)


def item_source(item: ItemResult) -> ValueSource | None:
    return next(iter(item.sources.values()), None)


def _pct(rate: float | None, bound: float | None = None) -> str:
    """A rate with one decimal; beside the standard's bound, with as many more (up to four) as it
    takes for the rounded figure to stay on its side of the bound (84.96% is not shown as 85.0%
    next to 未达到标准)."""
    digits = 1
    if rate is not None and bound is not None:
        while digits < 4 and (round(rate * 100, digits) >= bound * 100) != (rate >= bound):
            digits += 1
    return words.percent(rate, digits)


def _interval(rate: dict[str, Any]) -> str:
    low, high = rate.get("ci_low"), rate.get("ci_high")
    if not (words.is_number(low) and words.is_number(high)):
        return "—"
    return f"{_pct(low)}—{_pct(high)}"


def _rate_cell(rate: dict[str, Any]) -> Cell:
    value = rate.get("rate")
    if not words.is_number(value):
        return Cell("—", align="center")
    return Cell(_pct(value), value=float(value), number_format="0.0%", align="right")


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _how_many(n: int) -> str:
    """五, and 两 (not 二) before a measure word."""
    return "两" if n == 2 else chinese_number(n)


def _listed(names: list[str]) -> str:
    return "".join(f"“{n}”" for n in names)  # quoted items take no 顿号 between them (GB/T 15834)


def group_rows(score: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, rate) per group in the score's order; never the group's key."""
    groups = score.get("groups") or {}
    return [(str(g.get("label") or OTHER_GROUP), g) for g in groups.values() if isinstance(g, dict)]


def item_rates(score: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """item key → its whole rate: `item_details` (the `survey score` JSON) or `items` (SurveyScore.to_json)."""
    details = score.get("item_details")
    if isinstance(details, dict):
        return {k: v for k, v in details.items() if isinstance(v, dict)}
    items = score.get("items") or {}
    return {k: (v if isinstance(v, dict) else {"rate": v}) for k, v in items.items()}


def weakest_items(score: dict[str, Any], n: int = WEAKEST_ITEMS) -> list[tuple[str, dict[str, Any]]]:
    """(question text, rate) of the n items with the lowest rates, lowest first."""
    labels = score.get("item_labels") or {}
    rated = [(key, rate) for key, rate in item_rates(score).items() if words.is_number(rate.get("rate"))]
    rated.sort(key=lambda kr: (kr[1]["rate"], str(kr[0])))
    return [(_short(labels.get(key) or key), rate) for key, rate in rated[:n]]


def exclusion_counts(score: dict[str, Any]) -> list[tuple[str, int]]:
    """(reason, excluded answer sheets) per reason, largest first; a sheet with two reasons counts
    under both."""
    labels = {**REASON_WORDS, **(score.get("reason_labels") or {})}
    counts: dict[str, int] = {}
    for row in score.get("excluded") or []:
        if not isinstance(row, dict):
            continue
        codes = row.get("reasons") or [row.get("reason_code")]
        for code in dict.fromkeys(codes):
            label = labels.get(code) if code else None
            counts[label or OTHER_REASON] = counts.get(label or OTHER_REASON, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


# ---------------------------------------------------------------------------------------------
# Tables


def groups_table(score: dict[str, Any]) -> Table:
    columns = [Column("调查对象", 2.0), Column("有效样本", 1.4, "人"), Column("认可度", 1.4), Column("95% 置信区间", 2.4)]
    confidence = score.get("confidence") or 0.95
    columns[3] = Column(f"{confidence:.0%} 置信区间", 2.4)
    rows = [[text_cell(label), count_cell(rate.get("respondents") or 0), _rate_cell(rate),
             text_cell(_interval(rate), "center")] for label, rate in group_rows(score)]
    overall = score.get("overall") or {}
    rows.append([text_cell("总体", bold=True), count_cell(overall.get("respondents") or 0), _rate_cell(overall),
                 text_cell(_interval(overall), "center")])
    return Table(kind="survey_groups", title="社会认可度调查各类对象认可度", columns=columns, rows=rows,
                 sheet="社会认可度(对象)")


def items_table(score: dict[str, Any]) -> Table | None:
    weakest = weakest_items(score)
    if not weakest:
        return None
    confidence = score.get("confidence") or 0.95
    columns = [Column("序号", 0.7), Column("题目", 6.0), Column("认可度", 1.3), Column(f"{confidence:.0%} 置信区间", 2.2)]
    rows = [[text_cell(str(n), "center"), text_cell(text), _rate_cell(rate), text_cell(_interval(rate), "center")]
            for n, (text, rate) in enumerate(weakest, start=1)]
    return Table(kind="survey_items", title=f"认可度最低的{_how_many(len(rows))}道题目", columns=columns,
                 rows=rows, sheet="社会认可度(题目)")


def exclusions_table(score: dict[str, Any]) -> Table | None:
    counts = exclusion_counts(score)
    if not counts:
        return None
    columns = [Column("剔除原因", 4.0), Column("答卷数", 1.4, "份")]
    rows = [[text_cell(reason), count_cell(n)] for reason, n in counts]
    return Table(kind="survey_exclusions", title="不计入结果的答卷(按原因)", columns=columns, rows=rows,
                 sheet="社会认可度(剔除)",
                 note="一份答卷有多个原因时在每个原因下各计一次。" if len(counts) > 1 else None)


# ---------------------------------------------------------------------------------------------
# Sentences


def _day(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def _threshold(item: ItemResult) -> tuple[str, float | None]:
    """The standard's requirement in words ("不低于85%") and its bound as a fraction (0.85)."""
    check = next((c for c in item.checks if words.is_number(c.threshold)), None)
    if check is None:
        return "", None
    bound = float(check.threshold)  # type: ignore[arg-type]
    return f"{check.comparison}{words.amount(bound, check.unit)}", bound / 100 if check.unit == "%" else bound


def obtained_paragraph(evidence: SurveyEvidence) -> str:
    score = evidence.score
    overall = score.get("overall") or {}
    valid = int(overall.get("respondents") or 0)
    text = f"我县社会认可度数值来自问卷调查“{evidence.title}”(调查编号 {evidence.survey_id})。"
    if evidence.opened and evidence.closed:
        text += f"调查于{_day(evidence.opened)}开始、{_day(evidence.closed)}结束。"
    elif evidence.opened:
        text += f"调查于{_day(evidence.opened)}开始。"
    sample = []
    if evidence.planned:
        sample.append(f"计划样本{words.amount(evidence.planned)}人")
    counts = score.get("counts") or {}
    if words.is_number(counts.get("rows")):
        sample.append(f"收回答卷{words.amount(counts['rows'])}份")
    share = f"(为计划样本的{_pct(valid / evidence.planned)})" if evidence.planned else ""
    sample.append(f"有效样本{words.amount(valid)}人{share}")
    text += ",".join(sample)
    groups = [label for label, _ in group_rows(score)]
    if groups:
        text += f";调查对象为{'、'.join(groups)}"
    sources = {k: v for k, v in (score.get("sources") or {}).items() if words.is_number(v) and v}
    if len(sources) > 1 or (sources and next(iter(sources)) != "web"):
        text += ";答卷来自" + "、".join(f"{SOURCE_WORDS.get(k, '其他方式')}{words.amount(v)}份"
                                     for k, v in sources.items())
    return text + "。"


def method_paragraph(evidence: SurveyEvidence) -> str:
    score = evidence.score
    confidence = score.get("confidence") or 0.95
    text = "计算方法:"
    if evidence.recognising:
        text += f"每道计分题选择{_listed(list(evidence.recognising))}计为认可,选择其他选项计为不认可"
        text += (f";选择{_listed(list(evidence.excluded_options))}和未作答的题目不计入" if evidence.excluded_options
                 else ";未作答的题目不计入")
        text += "。"
    else:
        text += "每道计分题的认可选项计为认可,其他选项计为不认可,未作答的题目不计入。"
    text += "各类对象的认可度为该类有效答卷在全部计分题上的认可答案数除以计入的答案数"
    weights = score.get("weights") if score.get("weighted") else None
    labels = {key: str(g.get("label") or OTHER_GROUP) for key, g in (score.get("groups") or {}).items()
              if isinstance(g, dict)}
    if isinstance(weights, dict) and weights:
        shares = "、".join(f"{labels.get(k, OTHER_GROUP)}{_pct(w)}" for k, w in weights.items()
                          if words.is_number(w))
        text += f";总体认可度按固定权重({shares})合成各类对象的认可度。"
    else:
        text += ";总体认可度按同样方法合并全部有效答卷计算。"
    text += _checks_sentence(evidence)
    text += (f"{confidence:.0%} 置信区间以每份答卷为一个整群,用比率估计量的线性化方法计算"
             + (",并按调查对象分层" if isinstance(weights, dict) and weights else "")
             + f":按同样方法重复抽样调查,约 {confidence:.0%} 的区间会覆盖全县的真实认可度;区间越窄,估计越精确。")
    return text


def _checks_sentence(evidence: SurveyEvidence) -> str:
    checks = evidence.checks or {}
    rules = []
    seconds = checks.get("min_seconds_per_item")
    if words.is_number(seconds) and seconds > 0:
        rules.append(f"用时少于每道计分题 {seconds:g} 秒的答卷")
    if checks.get("duplicate_same_ip"):
        rules.append("同一 IP 地址答案完全相同的重复答卷(保留第一份)")
    if checks.get("straight_lining"):
        rules.append("所有计分题都选同一选项的答卷")
    if checks.get("outside_quota"):
        rules.append("不属于任何配额的答卷")
    if not rules:
        return "未通过质量检查的答卷不计入结果。" if evidence.score.get("excluded") else ""
    if checks.get("exclude_flagged") is False:
        return "质量检查标记" + "、".join(rules) + ",按本次调查的设置仍计入结果。"
    return "、".join(rules) + "不计入结果。"


def overall_paragraph(evidence: SurveyEvidence, item: ItemResult) -> tuple[Run, ...]:
    overall = evidence.score.get("overall") or {}
    confidence = evidence.score.get("confidence") or 0.95
    rate = overall.get("rate")
    requirement, bound = _threshold(item)
    text = f"全县总体社会认可度为{_pct(rate, bound)}"
    low, high = overall.get("ci_low"), overall.get("ci_high")
    has_interval = words.is_number(low) and words.is_number(high)
    if has_interval:
        text += f"({confidence:.0%} 置信区间 {_interval(overall)})"
    if requirement:
        text += f",标准要求{requirement},"
    else:
        text += ","
    verdict = {True: ("达到标准。", None), False: ("未达到标准。", "red"), None: ("暂无法判定。", "amber")}[item.met]
    after = ""
    if has_interval and bound is not None and words.is_number(rate):
        if low >= bound:
            after += "置信区间的下限也不低于标准值,可以较有把握地认为全县社会认可度达到标准。"
        elif high < bound:
            after += "置信区间的上限也低于标准值,全县社会认可度低于标准的结论较为可靠,须重点整改。"
        else:
            after += ("置信区间跨越标准值,与标准值的差别在抽样误差范围之内,督导评估的抽样调查可能得出不同结论,"
                      "须重点关注。")
    weak = [f"{label}({_pct(g.get('rate'), bound)})" for label, g in group_rows(evidence.score)
            if bound is not None and words.is_number(g.get("rate")) and g["rate"] < bound]
    if weak:
        after += f"认可度低于标准值的调查对象:{'、'.join(weak)}。"
    return (Run(text), Run(verdict[0], bold=True, color=verdict[1]), Run(after))  # type: ignore[arg-type]


def typed_paragraph(item: ItemResult, source: ValueSource | None) -> str:
    """The figure was entered by hand: typed over a survey result, or no survey at all."""
    if item.value is None:
        return "我县尚未填报社会认可度,系统中也没有社会认可度问卷调查的结果。"
    value = words.item_value_text(item)
    if source is not None and source.kind == "typed":
        return (f"我县社会认可度数值{value}为人工录入,不是系统中问卷调查的计算结果(录入情况:{source.label})。"
                "该数值没有系统中的问卷调查数据支撑,调查的组织、样本和计算方法须另行说明。")
    return (f"我县社会认可度数值{value}为人工填报,系统中没有支撑这一数值的问卷调查结果;"
            "调查的组织、样本和计算方法须另行说明。")


# ---------------------------------------------------------------------------------------------
# The section


def write_survey_section(doc: ReportDocument, result: EvaluationResult, area: str,
                         evidence: SurveyEvidence | None = None) -> None:
    """The 社会认可度调查 part after the social recognition item section (nothing for any other
    area, nor when the standard has no social recognition area)."""
    if area != SURVEY_AREA:
        return
    item = survey_item(result)
    if item is None:
        return
    source = item_source(item)
    doc.heading(2, SECTION_TITLE, numbered=False)
    if source is None or source.kind != "survey" or evidence is None:
        if source is not None and source.kind == "survey":  # the survey's details are not at hand
            doc.paragraph(f"我县社会认可度数值来自{source.label}。")
            return
        doc.paragraph(typed_paragraph(item, source))
        return
    doc.protected.add(evidence.title)
    score = evidence.score
    doc.paragraph(obtained_paragraph(evidence))
    doc.paragraph(method_paragraph(evidence))
    doc.paragraph(*overall_paragraph(evidence, item))
    doc.table(groups_table(score))
    table = items_table(score)
    if table is not None:
        doc.paragraph(f"认可度最低的{_how_many(len(table.rows))}道题目如下表,整改时可据此确定重点。")
        doc.table(table)
    excluded = exclusion_counts(score)
    flagged = [r for r in score.get("flagged") or [] if isinstance(r, dict)]
    if excluded:
        total = len([r for r in score.get("excluded") or [] if isinstance(r, dict)])
        doc.paragraph(f"经质量检查,共{words.amount(total)}份答卷不计入结果,按原因统计如下表"
                      "(每份答卷的序号和原因保存在调查结果中,可供核查)。")
        doc.table(exclusions_table(score))  # type: ignore[arg-type]
    else:
        doc.paragraph("经质量检查,没有答卷被剔除。")
    if flagged:
        doc.paragraph(f"另有{words.amount(len(flagged))}份答卷被质量检查标记,按本次调查的设置仍计入结果。")

"""教育质量监测 of the county report: where the quality monitoring figures came from.

Written right after the item section that holds the standard's quality monitoring indicator (the
one whose rule is `quality_monitoring`; basic-2012 has none: no section). When the county-year
has a stored analysis of student scores (junheng.quality.service), the section says how the
figures were obtained: the scores file, when it was imported, how many score rows, students and
schools, the cut scores, how the county's level is read and how the 校际差异率 is computed; then
one table with a row per subject × grade (students, schools, mean, level, level shares, the
校际差异率 with its interval, against the standard), the schools that contribute most to the
between-school differences where the rate fails, and the analysis notes. Rows of the evaluation
that were typed (no analysis, or typed over the computed values) are named in one sentence:
their figures are not backed by scores.

The analysis comes in as `QualityEvidence`: plain data the store reads from the newest
QualityAnalysis row of the county-year (junheng.reports.store.stored_quality). This module reads
no database and recomputes nothing: every figure is the stored one; only the comparison with the
standard is made here, as the engine makes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from junheng.engine.result import EvaluationResult, ItemResult, ValueSource
from junheng.engine.tolerance import EPS
from junheng.reports import narrative as words
from junheng.reports.county_cells import count_cell, status_cell, text_cell
from junheng.reports.county_survey import _day, _how_many  # the survey part's date and 两/五 wording
from junheng.reports.document import Cell, Column, ReportDocument, Table
from junheng.reports.xlsx import indicator_spec
from junheng.standards.model import COUNTY_LEVEL_METHODS, DIFFERENCE_RATE_METHODS, county_level_text

SECTION_TITLE = "教育质量监测"
SOURCE_PREFIX = "quality/"  # the item's value-source keys: "quality/数学(八年级)" (store.value_sources)
RATE_DIGITS, MAX_DIGITS = 3, 6  # decimals of a 校际差异率; more when it sits beside the bound
MEAN_DIGITS = 1
DEFAULT_MIN_LEVEL, DEFAULT_MAX_RATE = 3, 0.15  # national-2017 Q9, when the standard cannot be read
VERDICT_WORDS = {True: "达到", False: "未达到", None: "无法判定"}
INTERNAL_CODE = re.compile(r"\s*[((]\s*Q\d+\s*[))]")  # "(Q9)" in a stored note
COUNT_SPACE = re.compile(r"(?<=[\u4e00-\u9fff]) (?=\d)|(?<=\d) (?=[\u4e00-\u9fff])")  # "共 6 所" → "共6所"


@dataclass(frozen=True)
class QualityEvidence:
    """The newest stored analysis of a county-year's student scores, as the report reads it."""

    source_name: str  # the scores file's name as given
    rows: int  # score rows of the county-year in the file
    results: dict[str, Any]  # QualityAnalysis.results: "county/subject/grade" → entry
    settings: dict[str, Any] = field(default_factory=dict)  # method, confidence, county_level, level_share
    notes: tuple[str, ...] = ()  # Chinese sentences: coverage, subjects not written into the evaluation
    imported: date | None = None


# ---------------------------------------------------------------------------------------------
# Reading the result


def quality_item(result: EvaluationResult) -> tuple[str, ItemResult] | None:
    """(area, item) of the standard's quality monitoring indicator; None when it has none."""
    for area, item_area in result.areas.items().items():
        for indicator_id, item in item_area.indicators.items():
            spec = indicator_spec(result, indicator_id)
            if spec is not None and spec.rule.kind == "quality_monitoring":
                return area, item
    return None


def _rule(result: EvaluationResult, item: ItemResult) -> tuple[int, float]:
    """(min_level, max_diff_rate) of the standard's quality monitoring rule."""
    spec = indicator_spec(result, item.id)
    if spec is None or spec.rule.kind != "quality_monitoring":
        return DEFAULT_MIN_LEVEL, DEFAULT_MAX_RATE
    return spec.rule.min_level, spec.rule.max_diff_rate


def entries(evidence: QualityEvidence) -> list[dict[str, Any]]:
    """The stored entries, by grade and then subject."""
    found = [e for e in evidence.results.values() if isinstance(e, dict)]
    return sorted(found, key=lambda e: (int(e.get("grade") or 0), str(e.get("subject") or "")))


def label_of(entry: dict[str, Any]) -> str:
    return str(entry.get("label") or f"{entry.get('subject', '')}({entry.get('grade', '')}年级)")


def rate_fails(entry: dict[str, Any], max_rate: float) -> bool | None:
    """The 校际差异率 against the bound as the engine compares it (strictly below, EPS); None: no rate."""
    rate = entry.get("difference_rate")
    return None if not words.is_number(rate) else not rate < max_rate - EPS


def entry_met(entry: dict[str, Any], min_level: int, max_rate: float) -> bool | None:
    fails = rate_fails(entry, max_rate)
    level = entry.get("level")
    if words.is_number(level) and level < min_level:
        return False
    return None if fails is None or not words.is_number(level) else not fails


def typed_rows(item: ItemResult) -> list[tuple[str, ValueSource | None]]:
    """(subject label, its source) of the evaluation's quality rows that were typed: no source, or
    a source of kind "typed" (typed over the values the scores gave)."""
    out = []
    for check in item.checks:
        source = item.sources.get(SOURCE_PREFIX + check.name)
        if source is None or source.kind == "typed":
            out.append((check.label, source))
    return out


# ---------------------------------------------------------------------------------------------
# Numbers


def _side(value: float, bound: float) -> int:
    """-1 below the bound, 0 at it (within EPS), 1 above."""
    return 0 if abs(value - bound) <= EPS else (1 if value > bound else -1)


def _digits(value: float, bound: float, digits: int, most: int) -> int:
    """Decimals for `value` to stay on its side of `bound` once rounded: a 0.1502 beside 未达到 is
    not printed 0.150, nor a 0.14996 beside 达到; a mean of 74.96 not 75.0 beside the cut 75."""
    while digits < most and _side(round(value, digits), bound) != _side(value, bound):
        digits += 1
    return digits


def rate_text(value: float | None, bound: float | None = None) -> str:
    """A 校际差异率 (or an interval end) with three decimals, more beside the bound; raw: a
    negative value is shown as it is."""
    if not words.is_number(value):
        return "—"
    digits = RATE_DIGITS if bound is None else _digits(float(value), bound, RATE_DIGITS, MAX_DIGITS)
    return f"{value:.{digits}f}"


def mean_text(entry: dict[str, Any]) -> str:
    """The mean score with one decimal, more when a cut score is that close (74.96 is not shown as
    75.0 beside level Ⅱ when level Ⅲ begins at 75)."""
    mean = entry.get("mean")
    if not words.is_number(mean):
        return "—"
    digits = MEAN_DIGITS
    for cut in (entry.get("cut") or {}).values():
        if words.is_number(cut):
            digits = max(digits, _digits(float(mean), float(cut), MEAN_DIGITS, 4))
    return f"{mean:,.{digits}f}"


def interval_text(entry: dict[str, Any], bound: float | None = None) -> str:
    ci = entry.get("icc_ci")
    if not (isinstance(ci, (list, tuple)) and len(ci) == 2 and all(words.is_number(v) for v in ci)):
        return "—"
    between = " 至 " if min(ci) < 0 else "—"  # "-0.998—-0.353" would read as a dash and a minus
    return f"{rate_text(ci[0], bound)}{between}{rate_text(ci[1], bound)}"


def level_text(level: Any) -> str:
    from junheng.quality.levels import LEVEL_NAMES  # ibis comes with it: only when a section has levels

    return f"{LEVEL_NAMES.get(int(level), level)}级" if words.is_number(level) else "—"


def _confidence(evidence: QualityEvidence) -> float:
    value = evidence.settings.get("confidence")
    return float(value) if words.is_number(value) else 0.95


# ---------------------------------------------------------------------------------------------
# Tables


def results_table(evidence: QualityEvidence, min_level: int, max_rate: float) -> Table:
    confidence = _confidence(evidence)
    columns = [Column("学科(年级)", 2.0), Column("学生数", 1.0, "人"), Column("学校数", 0.9, "所"),
               Column("平均分", 1.0), Column("学业水平", 0.9), Column("Ⅰ级", 0.9), Column("Ⅱ级", 0.9),
               Column("Ⅲ级", 0.9), Column("Ⅳ级", 0.9), Column("校际差异率", 1.2),
               Column(f"{confidence:.0%} 置信区间", 1.9), Column("结论", 1.0)]
    rows = []
    for entry in entries(evidence):
        shares = entry.get("level_shares") or {}
        level = entry.get("level")
        level_ok = words.is_number(level) and level >= min_level
        mean = entry.get("mean")
        icc = entry.get("icc")
        fails = rate_fails(entry, max_rate)
        rows.append([
            text_cell(label_of(entry)), count_cell(entry.get("students")), count_cell(entry.get("schools")),
            Cell(mean_text(entry), value=float(mean) if words.is_number(mean) else None, number_format="0.0",
                 align="right"),
            Cell(level_text(level), shade=None if level_ok else "unmet", align="center"),
            *[_share_cell(shares.get(f"level_{n}")) for n in (1, 2, 3, 4)],
            Cell(rate_text(icc, max_rate), value=float(icc) if words.is_number(icc) else None,
                 number_format="0.000", shade="unmet" if fails else None, align="right"),
            text_cell(interval_text(entry, max_rate), "center"),
            status_cell(entry_met(entry, min_level, max_rate), VERDICT_WORDS),
        ])
    negative = any(words.is_number(e.get("icc")) and e["icc"] < 0 for e in entries(evidence))
    note = "Ⅰ级至Ⅳ级为各学业水平的学生占比。"
    if negative:
        note += "校际差异率的估计值为负时照实列出(学校平均分之间的差异小于随机波动所致),与标准比较时按 0 计。"
    return Table(kind="quality_results", title="教育质量监测结果(由学生成绩计算)", columns=columns, rows=rows,
                 sheet="教育质量监测(结果)", note=note, font_size=9.0)


def _share_cell(share: Any) -> Cell:
    if not words.is_number(share):
        return Cell("—", align="center")
    return Cell(words.percent(share), value=float(share), number_format="0.0%", align="right")


def cuts_table(evidence: QualityEvidence) -> Table | None:
    rows = []
    for entry in entries(evidence):
        cut = entry.get("cut") or {}
        if not any(words.is_number(cut.get(k)) for k in ("level_2", "level_3", "level_4")):
            continue
        rows.append([text_cell(label_of(entry)),
                     *[_score_cell(cut.get(k)) for k in ("level_2", "level_3", "level_4")]])
    if not rows:
        return None
    columns = [Column("学科(年级)", 2.0), Column("Ⅱ级", 1.2, "分"), Column("Ⅲ级", 1.2, "分"), Column("Ⅳ级", 1.2, "分")]
    return Table(kind="quality_cuts", title="学业水平划线分数", columns=columns, rows=rows,
                 sheet="教育质量监测(分数线)", note="达到某一级的分数线即为该级,低于Ⅱ级分数线为Ⅰ级。")


def _score_cell(value: Any) -> Cell:
    if not words.is_number(value):
        return Cell("—", align="center")
    return Cell(words.threshold_text(float(value)), value=float(value), align="right")


def schools_table(evidence: QualityEvidence, max_rate: float) -> Table | None:
    """The schools that contribute most to the between-school differences, for every subject ×
    grade whose 校际差异率 does not meet the standard."""
    rows = []
    for entry in entries(evidence):
        if not rate_fails(entry, max_rate):
            continue
        mean = entry.get("mean")
        for school in entry.get("top_schools") or []:
            if not isinstance(school, dict):
                continue
            own, share = school.get("mean"), school.get("share")
            gap = own - mean if words.is_number(own) and words.is_number(mean) else None
            rows.append([
                text_cell(label_of(entry)), text_cell(str(school.get("school_name") or school.get("school_id"))),
                count_cell(school.get("students")),
                Cell(words.fixed(own, 1) if words.is_number(own) else "—",
                     value=float(own) if words.is_number(own) else None, number_format="0.0", align="right"),
                Cell(f"{gap:+.1f}" if gap is not None else "—", value=gap, number_format="+0.0;-0.0;0.0",
                     align="right"),
                Cell(words.percent(share) if words.is_number(share) else "—",
                     value=float(share) if words.is_number(share) else None, number_format="0.0%", align="right"),
            ])
    if not rows:
        return None
    columns = [Column("学科(年级)", 2.0), Column("学校", 3.2), Column("学生数", 1.0, "人"), Column("平均分", 1.0),
               Column("与全县平均分之差", 1.5), Column("占校间差异", 1.3)]
    return Table(kind="quality_schools", title="对校际差异贡献最大的学校", columns=columns, rows=rows,
                 sheet="教育质量监测(学校)", frozen_columns=2,
                 note="占校间差异:该校学生数乘以该校平均分与全县平均分之差的平方,占全部学校这一数值之和的比例。")


# ---------------------------------------------------------------------------------------------
# Sentences


def clean_note(note: str) -> str:
    """A stored note without the indicator's code ("未写入质量监测结果(Q9)" → "未写入质量监测结果"),
    its counts written as the section's own sentences write them ("3所学校")."""
    return COUNT_SPACE.sub("", INTERNAL_CODE.sub("", str(note))).strip().rstrip("。;;")


def _coverage(evidence: QualityEvidence) -> tuple[list[str], list[str]]:
    """(coverage notes, other notes)."""
    notes = [clean_note(n) for n in evidence.notes if str(n).strip()]
    coverage = [n.removeprefix("成绩") for n in notes if n.startswith("成绩涉及")]
    return coverage, [n for n in notes if not n.startswith("成绩涉及")]


def obtained_paragraph(evidence: QualityEvidence) -> str:
    text = f"我县教育质量监测数值由学生成绩计算:成绩文件“{evidence.source_name}”"
    text += f"于{_day(evidence.imported)}导入" if evidence.imported else "已导入系统"
    text += f",本县区本年度学生成绩{words.amount(evidence.rows)}条"
    coverage, _ = _coverage(evidence)
    if coverage:
        text += "," + ";".join(coverage)
    students = [f"{label_of(e)}{words.amount(e.get('students'))}名学生、{words.amount(e.get('schools'))}所学校"
                for e in entries(evidence)]
    if students:
        text += f"。参加监测的有{';'.join(students)}"
    return text + "。"


def method_paragraph(evidence: QualityEvidence, with_cuts: bool = True) -> str:
    settings = evidence.settings
    confidence = _confidence(evidence)
    level_method = str(settings.get("county_level") or "")
    how = county_level_text(level_method if level_method in COUNTY_LEVEL_METHODS else "mean_score",
                            settings.get("level_share"))
    method = DIFFERENCE_RATE_METHODS.get(str(settings.get("method") or ""))
    text = (f"计算方法:每名学生的成绩按本学科本年级的划线分数划为Ⅰ级至Ⅳ级{'(见下表)' if with_cuts else ''},"
            f"统计各级学生占比;县区的学业水平取{how}。")
    text += f"校际差异率采用{method}计算," if method else "校际差异率按评估标准规定的方法计算,"
    text += ("即学生成绩的总差异中学校之间差异所占的比例,数值越大,学校之间的差距越大;"
             f"同时给出 {confidence:.0%} 置信区间:按同样方法重复监测,约 {confidence:.0%} 的区间会覆盖真实值,"
             "区间越窄,估计越精确。估计值为负时照实列出,与标准比较时按 0 计。")
    return text


def standard_words(min_level: int, max_rate: float) -> str:
    return f"学业水平达到{level_text(min_level)}以上且校际差异率低于 {max_rate:g}"


def findings_paragraph(evidence: QualityEvidence, min_level: int, max_rate: float) -> str:
    rows = entries(evidence)
    verdicts = [(label_of(e), entry_met(e, min_level, max_rate)) for e in rows]
    met = [label for label, m in verdicts if m is True]
    unmet = [label for label, m in verdicts if m is False]
    unknown = [label for label, m in verdicts if m is None]
    text = f"标准要求各学科{standard_words(min_level, max_rate)}。按学生成绩计算,{_how_many(len(rows))}个学科年级中"
    parts = []
    if met:
        parts.append(f"{'、'.join(met)}达到要求" if len(met) < len(rows) else "全部达到要求")
    if unmet:
        for entry in rows:
            if entry_met(entry, min_level, max_rate) is not False:
                continue
            reasons = []
            if words.is_number(entry.get("level")) and entry["level"] < min_level:
                reasons.append(f"学业水平{level_text(entry['level'])}")
            if rate_fails(entry, max_rate):
                reasons.append(f"校际差异率 {rate_text(entry.get('icc'), max_rate)}")
            parts.append(f"{label_of(entry)}未达到要求({'、'.join(reasons)})")
    if unknown:
        parts.append(f"{'、'.join(unknown)}无法计算校际差异率,不能判定")
    text += ";".join(parts) + "。"
    negative = [f"{label_of(e)}的校际差异率估计值为负({rate_text(e['icc'], max_rate)})" for e in rows
                if words.is_number(e.get("icc")) and e["icc"] < 0]
    if negative:
        text += f"{'、'.join(negative)},与标准比较时按 0 计。"
    across = [label_of(e) for e in rows if _straddles(e, max_rate)]
    if across:
        text += (f"{'、'.join(across)}的置信区间跨越标准值 {max_rate:g},与标准值的差别在抽样误差范围之内,"
                 "督导评估复核时可能得出不同结论,须重点关注。")
    return text


def _straddles(entry: dict[str, Any], max_rate: float) -> bool:
    ci = entry.get("icc_ci")
    if not (isinstance(ci, (list, tuple)) and len(ci) == 2 and all(words.is_number(v) for v in ci)):
        return False
    return ci[0] < max_rate - EPS <= ci[1]


def typed_sentence(item: ItemResult, evidence: QualityEvidence | None) -> str | None:
    """One sentence on the rows whose figures were typed, not computed from scores; None: none were."""
    if not item.checks:
        if evidence is None:
            return "我县尚未填报教育质量监测结果,系统中也没有学生成绩的分析结果。"
        return None
    typed = typed_rows(item)
    if not typed:
        return None
    if evidence is None:
        return ("我县教育质量监测的学业水平和校际差异率为人工填报,系统中没有支撑这些数值的学生成绩;"
                "监测的组织、样本和计算方法须另行说明。")
    labels = "、".join(label for label, _ in typed)
    replaced = [label for label, source in typed if source is not None]
    text = f"自评采用的{labels}的学业水平和校际差异率为人工录入,不是由上述学生成绩计算的结果,没有成绩数据支撑"
    if replaced:
        text += f"(其中{'、'.join(replaced)}替换了由学生成绩计算的结果,上表列出的是计算结果)"
    return text + "。"


# ---------------------------------------------------------------------------------------------
# The section


def write_quality_section(doc: ReportDocument, result: EvaluationResult, area: str,
                          evidence: QualityEvidence | None = None) -> None:
    """The 教育质量监测 part after the item section holding the quality monitoring indicator
    (nothing for any other area, nor when the standard has no such indicator)."""
    found = quality_item(result)
    if found is None or found[0] != area:
        return
    _, item = found
    doc.heading(2, SECTION_TITLE, numbered=False)
    typed = typed_sentence(item, evidence)
    if evidence is None:
        if typed is None and item.sources:  # computed, but the analysis is not at hand
            label = next(iter(item.sources.values())).label
            typed = f"我县教育质量监测数值{label}。"
        doc.paragraph(typed or "我县教育质量监测数值为人工填报,系统中没有支撑这些数值的学生成绩。")
        return
    min_level, max_rate = _rule(result, item)
    doc.protected.add(evidence.source_name)
    doc.protected |= {str(s.get("school_name")) for e in entries(evidence) for s in e.get("top_schools") or []
                      if isinstance(s, dict) and s.get("school_name")}
    doc.paragraph(obtained_paragraph(evidence))
    cuts = cuts_table(evidence)
    doc.paragraph(method_paragraph(evidence, cuts is not None))
    if cuts is not None:
        doc.table(cuts)
    if entries(evidence):
        doc.paragraph(findings_paragraph(evidence, min_level, max_rate))
        doc.table(results_table(evidence, min_level, max_rate))
    schools = schools_table(evidence, max_rate)
    if schools is not None:
        doc.paragraph("校际差异率未达到标准的学科年级中,平均分偏离全县平均分、对校际差异贡献最大的学校如下表,"
                      "整改时可据此确定重点帮扶的学校。")
        doc.table(schools)
    _, notes = _coverage(evidence)
    if notes:
        doc.paragraph("分析说明:" + ";".join(notes) + "。")
    if typed:
        doc.paragraph(typed)

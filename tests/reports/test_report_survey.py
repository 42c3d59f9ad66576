"""社会认可度调查 in the county self-evaluation report: a survey result applied as the county-year's
social recognition rate is explained (survey, period, sample, groups, method, the rate with its
interval against the standard, per group, the weakest items, exclusions by reason); a typed value
says it is not backed by a survey; a standard without social recognition has no section; survey
text from users is escaped in the HTML face. Store tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import builders
import openpyxl
import pytest
from report_files import approve_all, docx_tables, docx_text, stored_report, table_titled

from junheng.engine.evaluate import evaluate_dataset
from junheng.engine.result import ValueSource
from junheng.reports import county_survey
from junheng.reports.api import county_report
from junheng.reports.county import build_county_report
from junheng.reports.county_survey import SECTION_TITLE, SurveyEvidence, weakest_items
from junheng.reports.document import Heading, Paragraph
from junheng.store import repo
from junheng.store.models import Survey, SurveyResult
from junheng.survey.results import apply_result

ITEMS = {  # item key → (text, rate, ci_low, ci_high)
    "q1": ("您对本县推进义务教育优质均衡发展的工作是否满意", 0.931, 0.912, 0.950),
    "q2": ("您对学校落实“双减”、减轻学生过重课业负担是否满意", 0.744, 0.708, 0.780),
    "q3": ("您对学校开展素质教育的情况是否满意", 0.902, 0.880, 0.924),
    "q4": ("您对县域内优质教育资源的共享是否满意", 0.781, 0.748, 0.814),
    "q5": ("您对学校规范办学行为是否满意", 0.915, 0.895, 0.935),
    "q6": ("您对考试招生和评价制度改革是否满意", 0.802, 0.771, 0.833),
    "q7": ("您对学校教育质量是否满意", 0.829, 0.800, 0.858),
}


def rate(r, low, high, respondents, answers=0, **more):
    return {"rate": r, "ci_low": low, "ci_high": high, "se": 0.01, "respondents": respondents,
            "answers": answers, "recognising": round((r or 0) * answers), **more}


def excluded(row, *codes):
    return {"row": row, "reason": "见原因", "reason_code": codes[0], "reasons": list(codes), "excluded": True}


def score(**changes) -> dict:
    """A stored score as the survey service keeps it (SurveyScore.to_json() plus what it adds)."""
    data = {
        "overall": rate(0.8734, 0.851, 0.8958, 612, 7010),
        "weighted": False, "confidence": 0.95, "pooled": None, "weights": None,
        "groups": {"parents": rate(0.9012, 0.8801, 0.9223, 320, 3600, label="家长"),
                   "students": rate(0.8123, 0.7704, 0.8542, 180, 2100, label="学生"),
                   "teachers": rate(0.8806, 0.8412, 0.9200, 112, 1310, label="教师")},
        "items": {key: rate(r, low, high, 600, 1000) for key, (_, r, low, high) in ITEMS.items()},
        "item_labels": {key: text for key, (text, *_) in ITEMS.items()},
        "schools": {}, "group_items": {},
        "excluded": [excluded(3, "too_fast"), excluded(8, "too_fast"), excluded(11, "too_fast", "duplicate"),
                     excluded(15, "duplicate"), excluded(20, "outside_quota")],
        "flagged": [],
        "counts": {"rows": 617, "valid": 612, "excluded": 5},
        "sources": {"web": 500, "import": 117},
        "survey": {"id": 1, "title": "2024 年社会认可度调查", "year": builders.YEAR},
    }
    data.update(changes)
    return data


SETTINGS = {"scale": {"options": ["满意", "比较满意", "基本满意", "不满意", "不了解"],
                      "recognising": ["满意", "比较满意", "基本满意"], "excluded": ["不了解"]},
            "checks": {"min_seconds_per_item": 2.0, "duplicate_same_ip": True, "straight_lining": False,
                       "outside_quota": True, "exclude_flagged": True},
            "scoring": {"group_weights": None, "confidence": 0.95}}


def store_survey(s, title="2024 年社会认可度调查", data=None) -> SurveyResult:
    """A closed survey of the builders county with a planned sample of 640 and its applied result
    (the row built directly, as the survey service stores it), then the county's data approved."""
    county = repo.county_by_code(s, builders.COUNTY)
    survey = Survey(county_id=county.id, year=builders.YEAR, title=title, status="closed", public_key="k-report",
                    questionnaires={}, settings=SETTINGS, plan={"total": 640},
                    opened_at=datetime(2024, 10, 8, 1, 0, tzinfo=timezone.utc),
                    closed_at=datetime(2024, 10, 20, 16, 30, tzinfo=timezone.utc))  # 10月21日 in Beijing
    s.add(survey)
    s.flush()
    data = data or score()
    overall = data["overall"]
    row = SurveyResult(survey_id=survey.id, county_id=county.id, year=builders.YEAR, rate=overall["rate"],
                       ci_low=overall["ci_low"], ci_high=overall["ci_high"], respondents=overall["respondents"],
                       answers=overall["answers"], result=data)
    s.add(row)
    s.flush()
    return apply_result(s, row, user=None, via="cli")


def section_text(text: str) -> str:
    """The text from the survey section's heading to the next level-1 heading (研判结论)."""
    start = text.index(SECTION_TITLE)
    return text[start:text.index("研判结论", start)]


@pytest.fixture
def applied(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli")
        store_survey(s)
        approve_all(s)
    return database


def test_the_word_report_explains_the_survey_behind_the_figure(applied):
    data = stored_report(applied, "docx")
    text = section_text(docx_text(data))
    assert "2024 年社会认可度调查" in text and "调查编号" in text
    assert "调查于2024年10月8日开始、2024年10月21日结束。计划样本640人" in text  # Beijing dates
    assert "计划样本640人" in text and "收回答卷617份" in text and "有效样本612人(为计划样本的95.6%)" in text
    assert "调查对象为家长、学生、教师" in text
    assert "答卷来自扫码在线作答500份、从问卷平台导入117份" in text
    assert "“满意”“比较满意”“基本满意”计为认可" in text and "“不了解”和未作答的题目不计入" in text
    assert "用时少于每道计分题 2 秒的答卷" in text and "线性化" in text
    assert "约 95% 的区间会覆盖全县的真实认可度" in text
    assert "总体社会认可度为87.3%(95% 置信区间 85.1%—89.6%),标准要求不低于85%,达到标准。" in text
    assert "置信区间的下限也不低于标准值" in text and "认可度低于标准值的调查对象:学生(81.2%)。" in text
    for key in ("parents", "students", "teachers", "too_fast", "q2"):
        assert key not in text  # keys never shown

    tables = docx_tables(data)
    groups = table_titled(tables, "社会认可度调查各类对象认可度")
    assert groups[0] == ["调查对象", "有效样本(人)", "认可度", "95% 置信区间"]
    assert groups[1:] == [["家长", "320", "90.1%", "88.0%—92.2%"], ["学生", "180", "81.2%", "77.0%—85.4%"],
                          ["教师", "112", "88.1%", "84.1%—92.0%"], ["总体", "612", "87.3%", "85.1%—89.6%"]]
    items = table_titled(tables, "认可度最低的五道题目")
    assert [row[1] for row in items[1:]] == [ITEMS[k][0] for k in ("q2", "q4", "q6", "q7", "q3")]
    assert items[1][2:] == ["74.4%", "70.8%—78.0%"]
    reasons = table_titled(tables, "不计入结果的答卷(按原因)")
    assert reasons[1:] == [["答题过快", "3"], ["同一 IP 地址的重复答卷", "2"], ["不属于任何配额", "1"]]
    assert "共5份答卷不计入结果" in text


def test_the_html_and_excel_faces_carry_the_same_section(applied):
    html = builders.plain(stored_report(applied, "html").decode("utf-8"))
    assert SECTION_TITLE in html and "87.3%" in html and "85.1%—89.6%" in html and ITEMS["q2"][0] in html
    workbook = openpyxl.load_workbook(io.BytesIO(stored_report(applied, "xlsx")))
    sheet = workbook["社会认可度(对象)"]
    values = [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "学生" in values and 0.8123 in values  # the unrounded rate, as a number


def test_a_value_typed_over_the_survey_says_it_is_not_backed_by_it(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli")
        store_survey(s)
        change = repo.Change(entity="county_year", key=f"{builders.COUNTY}/{builders.YEAR}",
                             county_code=builders.COUNTY, field="social_recognition_rate", old=87.34, new=91.0)
        repo.apply(s, [change], user=None, via="form")
        approve_all(s)
    text = section_text(docx_text(stored_report(database, "docx")))
    assert "社会认可度数值91%为人工录入" in text and "网页表单" in text and "替换了问卷调查“2024 年社会认可度调查”" in text
    assert "没有系统中的问卷调查数据支撑" in text
    assert "置信区间" not in text and "有效样本" not in text  # the replaced survey's figures are not shown


def test_a_county_without_a_survey_says_the_figure_was_typed():
    result = evaluate_dataset(builders.dataset())[0]
    doc = build_county_report(result, with_charts=False)
    text = section_text(doc.text())
    assert "社会认可度数值90%为人工填报,系统中没有支撑这一数值的问卷调查结果" in text
    assert doc.table_of("survey_groups") is None
    headings = [b for b in doc.blocks if isinstance(b, Heading)]
    at = next(i for i, h in enumerate(headings) if h.title == SECTION_TITLE)
    assert headings[at - 1].title == "社会认可度" and headings[at].level == 2  # right after the S1 section


def test_a_missing_value_and_no_survey_says_so():
    result = evaluate_dataset(builders.dataset(county_years=[builders.county_year(social_recognition_rate=None)]))[0]
    text = section_text(build_county_report(result, with_charts=False).text())
    assert "尚未填报社会认可度" in text


def test_a_basic_2012_county_has_no_survey_section():
    [result] = evaluate_dataset(builders.basic_2012_dataset(), standard="basic-2012")
    assert not result.has_area(county_survey.SURVEY_AREA)
    doc = build_county_report(result, with_charts=False)
    assert SECTION_TITLE not in doc.text()
    assert not any(t.kind.startswith("survey_") for t in doc.tables())


def surveyed_result(value: float = 87.34):
    result = evaluate_dataset(builders.dataset(county_years=[builders.county_year(social_recognition_rate=value)]))[0]
    item = county_survey.survey_item(result)
    item.sources = {"social_recognition_rate": ValueSource(kind="survey", label="问卷调查", ref="survey:1",
                                                           details={"result_id": 1})}
    return result


def evidence(title="2024 年社会认可度调查", **changes) -> SurveyEvidence:
    return SurveyEvidence(survey_id=1, title=title, score=score(**changes), planned=640,
                          recognising=("满意", "比较满意", "基本满意"), excluded_options=("不了解",),
                          checks=SETTINGS["checks"])


def test_hostile_survey_text_is_escaped_in_the_html():
    hostile = "<script>alert('题')</script>调查"
    labels = {**score()["item_labels"], "q2": "<img src=x onerror=alert(1)>您是否满意"}
    report = county_report(surveyed_result(), "html", survey=evidence(title=hostile, item_labels=labels))
    html = report.content.decode("utf-8")
    assert "<script>alert(" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html


def test_an_interval_across_the_threshold_and_fixed_weights_are_worded():
    low = rate(0.861, 0.838, 0.884, 612, 7010)
    weights = {"parents": 0.5, "students": 0.3, "teachers": 0.2}
    doc = build_county_report(surveyed_result(86.1), with_charts=False,
                              survey=evidence(overall=low, weighted=True, weights=weights))
    text = section_text(doc.text())
    assert "不低于85%,达到标准。置信区间跨越标准值" in text and "须重点关注" in text
    assert "按固定权重(家长50.0%、学生30.0%、教师20.0%)合成" in text and "按调查对象分层" in text


def section_blocks(doc):
    start = next(i for i, b in enumerate(doc.blocks) if isinstance(b, Heading) and b.title == SECTION_TITLE)
    end = next(i for i, b in enumerate(doc.blocks) if i > start and isinstance(b, Heading) and b.level == 1)
    return doc.blocks[start:end]


def test_an_interval_below_the_threshold_fails_in_red():
    low = rate(0.801, 0.780, 0.822, 612, 7010)
    doc = build_county_report(surveyed_result(80.1), with_charts=False, survey=evidence(overall=low))
    text = section_text(doc.text())
    assert "标准要求不低于85%,未达到标准。置信区间的上限也低于标准值" in text
    verdicts = [r for b in section_blocks(doc) if isinstance(b, Paragraph) for r in b.runs if r.text == "未达到标准。"]
    assert len(verdicts) == 1 and verdicts[0].color == "red" and verdicts[0].bold


def test_weakest_items_are_the_lowest_rates_with_their_text():
    data = score(items={"a": rate(0.9, 0.8, 0.95, 10), "b": rate(None, None, None, 0), "c": {"rate": 0.7}},
                 item_labels={"a": "甲题"})
    assert [(text, r["rate"]) for text, r in weakest_items(data)] == [("c", 0.7), ("甲题", 0.9)]


def test_without_exclusions_the_section_says_none_were_removed():
    doc = build_county_report(surveyed_result(), with_charts=False, survey=evidence(excluded=[]))
    assert "没有答卷被剔除" in doc.text() and doc.table_of("survey_exclusions") is None



def test_a_rate_just_below_the_threshold_is_not_rounded_up_to_it():
    close = rate(0.84996, 0.83, 0.87, 612, 7010)
    doc = build_county_report(surveyed_result(84.996), with_charts=False, survey=evidence(overall=close))
    text = section_text(doc.text())
    assert "全县总体社会认可度为84.996%" in text and "未达到标准" in text
    assert "85.0%(" not in text

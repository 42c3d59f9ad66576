"""教育质量监测 in the county self-evaluation report: quality rows computed from student scores
(junheng.quality.service.import_scores) are explained (file, import date, rows, students,
schools, cut scores, how the level and the 校际差异率 are computed), with a row per subject ×
grade against the standard, the schools behind a failing rate and the analysis notes; rows typed
by hand say they are not backed by scores; a rate beside the bound keeps its decimals. Store
tests run on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import builders
import openpyxl
import pytest
from report_files import approve_all, docx_tables, docx_text, stored_report, table_titled
from sqlalchemy import select

from junheng.engine.evaluate import evaluate_dataset
from junheng.engine.result import ValueSource
from junheng.quality.service import import_scores
from junheng.reports import county_quality
from junheng.reports.api import county_report
from junheng.reports.county import build_county_report
from junheng.reports.county_quality import SECTION_TITLE, QualityEvidence, rate_text
from junheng.reports.document import Heading
from junheng.store import repo
from junheng.store.models import QualityRow
from junheng.workspace import Settings

HEADER = "county_code,school_id,year,grade,subject,student_key,score\n"
CUTS = "subject,grade,level_2,level_3,level_4\n数学,8,3,5,9\n语文,8,60,75,90\n"
# 数学 8 is the hand example of tests/quality/test_icc.py (ICC = 89/137 ≈ 0.650: fails 0.15)
MATH = [("J1", "s1", 1), ("J1", "s2", 2), ("J1", "s3", 3), ("J2", "s4", 4), ("J2", "s5", 6), ("N1", "s6", 5),
        ("N1", "s7", 9)]
# 语文 8: school means 75, 77, 75.5 with wide spreads inside the schools: a negative ICC
CHINESE = [("J1", "s1", 70), ("J1", "s2", 80), ("J2", "s4", 76), ("J2", "s5", 78), ("N1", "s6", 91), ("N1", "s7", 60)]


def scores_file(tmp_path, math=MATH, chinese=CHINESE, name="成绩.csv"):
    rows = ([f"{builders.COUNTY},{school},{builders.YEAR},8,数学,{key},{score}" for school, key, score in math]
            + [f"{builders.COUNTY},{school},{builders.YEAR},8,语文,{key},{score}" for school, key, score in chinese])
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def section_text(text: str) -> str:
    """From the section's heading to the next level-1 heading (社会认可度)."""
    start = text.index(SECTION_TITLE)
    return text[start:text.index("社会认可度", start)]


@pytest.fixture
def imported(database, tmp_path):
    """The builders county with no typed quality rows, its scores imported through the service."""
    settings = Settings(database_url="unused", secret_key="k" * 40, uploads=tmp_path / "uploads", root=tmp_path)
    cuts = tmp_path / "分数线.csv"
    cuts.write_text(CUTS, encoding="utf-8")
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(quality_rows=[]), user=None, via="cli")
        import_scores(s, settings, scores_file(tmp_path), cuts, user=None, via="form", source_name="2024年质量监测成绩.csv")
        approve_all(s)
    return database


def test_the_word_report_explains_the_scores_behind_the_figures(imported):
    data = stored_report(imported, "docx")
    text = section_text(docx_text(data))
    assert "由学生成绩计算:成绩文件“2024年质量监测成绩.csv”于" in text and "日导入" in text
    assert "本县区本年度学生成绩13条,涉及本县区3所学校(学校名单共6所)" in text
    assert "数学(八年级)7名学生、3所学校;语文(八年级)6名学生、3所学校" in text
    assert "县区的学业水平取全县平均分所在的水平" in text
    assert "校际差异率采用组内相关系数 ICC(1)(单因素方差分析估计,学校规模不等)计算" in text
    assert "95% 置信区间" in text and "估计值为负时照实列出,与标准比较时按 0 计" in text
    assert "标准要求各学科学业水平达到Ⅲ级以上且校际差异率低于 0.15" in text
    assert "两个学科年级中语文(八年级)达到要求;数学(八年级)未达到要求(学业水平Ⅱ级、校际差异率 0.650)" in text
    assert "语文(八年级)的校际差异率估计值为负(-0.976),与标准比较时按 0 计" in text
    assert "数学(八年级)的置信区间跨越标准值 0.15" in text
    assert "人工" not in text  # every row came from the scores
    for code in ("Q9", "icc1_anova", "mean_score", "level_3", "school_id", "J1", "quality/"):
        assert code not in text  # no internal codes or keys
    tables = docx_tables(data)
    results = table_titled(tables, "教育质量监测结果(由学生成绩计算)")
    assert results[0] == ["学科(年级)", "学生数(人)", "学校数(所)", "平均分", "学业水平", "Ⅰ级", "Ⅱ级", "Ⅲ级",
                          "Ⅳ级", "校际差异率", "95% 置信区间", "结论"]
    # 数学: 1, 2 | 3, 4 | 5, 6 | 9 of 7 students, mean 30/7 = 4.29 (level Ⅱ: Ⅲ begins at 5)
    assert results[1] == ["数学(八年级)", "7", "3", "4.3", "Ⅱ级", "28.6%", "28.6%", "28.6%", "14.3%", "0.650",
                          "-0.286 至 0.989", "未达到"]
    assert results[2][:5] == ["语文(八年级)", "6", "3", "75.8", "Ⅲ级"]
    assert results[2][9:] == ["-0.976", "-0.998 至 -0.353", "达到"]  # negative: read as 0
    cuts = table_titled(tables, "学业水平划线分数")
    assert cuts[1:] == [["数学(八年级)", "3", "5", "9"], ["语文(八年级)", "60", "75", "90"]]
    schools = table_titled(tables, "对校际差异贡献最大的学校")
    assert schools[1:] == [["数学(八年级)", "测试学校J1", "3", "2.0", "-2.3", "49.9%"],
                           ["数学(八年级)", "测试学校N1", "2", "7.0", "+2.7", "46.9%"],
                           ["数学(八年级)", "测试学校J2", "2", "5.0", "+0.7", "3.2%"]]  # only the failing rate


def test_the_html_and_excel_faces_carry_the_same_section(imported):
    html = builders.plain(stored_report(imported, "html").decode("utf-8"))
    assert SECTION_TITLE in html and "2024年质量监测成绩.csv" in html and "-0.286 至 0.989" in html
    assert "对校际差异贡献最大的学校" in html and "测试学校N1" in html
    workbook = openpyxl.load_workbook(io.BytesIO(stored_report(imported, "xlsx")))
    values = [builders.plain(c) if isinstance(c, str) else c
              for row in workbook["教育质量监测(结果)"].iter_rows(values_only=True) for c in row if c is not None]
    assert "数学(八年级)" in values and 89 / 137 in [pytest.approx(v) for v in values if isinstance(v, float)]
    assert 2 / 7 in [pytest.approx(v) for v in values if isinstance(v, float)]  # shares as numbers
    schools = [c for row in workbook["教育质量监测(学校)"].iter_rows(values_only=True) for c in row if c is not None]
    assert "测试学校J1" in schools
    assert "教育质量监测(分数线)" in workbook.sheetnames


def test_rows_typed_over_or_beside_the_scores_say_they_are_not_backed_by_them(database, tmp_path):
    settings = Settings(database_url="unused", secret_key="k" * 40, uploads=tmp_path / "uploads", root=tmp_path)
    cuts = tmp_path / "分数线.csv"
    cuts.write_text(CUTS, encoding="utf-8")
    with database.session() as s:
        typed = builders.quality(rows=[("科学(八年级)", 3, 0.08)])
        repo.import_dataset(s, builders.dataset(quality_rows=typed), user=None, via="cli")
        import_scores(s, settings, scores_file(tmp_path), cuts, user=None, via="form")
        change = repo.Change(entity="quality", key=f"{builders.COUNTY}/{builders.YEAR}/数学(八年级)",
                             county_code=builders.COUNTY, field="inter_school_diff_rate", old=89 / 137, new=0.12)
        repo.apply(s, [change], user=None, via="form")
        approve_all(s)
        assert s.scalar(select(QualityRow).where(QualityRow.subject == "数学(八年级)")).inter_school_diff_rate == 0.12
    text = section_text(docx_text(stored_report(database, "docx")))
    assert "由学生成绩计算:成绩文件“成绩.csv”" in text
    assert ("自评采用的数学(八年级)、科学(八年级)的学业水平和校际差异率为人工录入,不是由上述学生成绩计算的结果,"
            "没有成绩数据支撑(其中数学(八年级)替换了由学生成绩计算的结果,上表列出的是计算结果)。") in text
    assert "语文(八年级)、" not in text.split("自评采用的")[1]  # 语文 is still the computed one


def test_a_county_without_scores_says_the_figures_were_typed():
    result = evaluate_dataset(builders.dataset())[0]
    doc = build_county_report(result, with_charts=False)
    text = section_text(doc.text())
    assert "我县教育质量监测的学业水平和校际差异率为人工填报,系统中没有支撑这些数值的学生成绩" in text
    assert not any(t.kind.startswith("quality_") for t in doc.tables())
    headings = [b for b in doc.blocks if isinstance(b, Heading)]
    at = next(i for i, h in enumerate(headings) if h.title == SECTION_TITLE)
    assert headings[at - 1].title == "教育质量" and headings[at].level == 2  # right after the quality items


def test_no_quality_rows_and_no_scores_says_so():
    result = evaluate_dataset(builders.dataset(quality_rows=[]))[0]
    text = section_text(build_county_report(result, with_charts=False).text())
    assert "尚未填报教育质量监测结果,系统中也没有学生成绩的分析结果" in text


def test_a_basic_2012_county_has_no_quality_section():
    [result] = evaluate_dataset(builders.basic_2012_dataset(), standard="basic-2012")
    assert county_quality.quality_item(result) is None
    doc = build_county_report(result, with_charts=False)
    assert SECTION_TITLE not in doc.text() and not any(t.kind.startswith("quality_") for t in doc.tables())


# ---------------------------------------------------------------------------------------------
# Hand-made analyses: the wording and the numbers beside the bounds


def entry(subject="数学", grade=8, icc=0.1, mean=80.0, level=3, **more) -> dict:
    data = {"county_code": builders.COUNTY, "subject": subject, "grade": grade, "year": builders.YEAR,
            "students": 1200, "schools": 12, "mean": mean, "icc": icc,
            "icc_ci": None if icc is None else [icc - 0.02, icc + 0.02],
            "difference_rate": None if icc is None else max(icc, 0.0), "level": level, "method": "icc1_anova", "confidence": 0.95,
            "level_method": "mean_score", "reason": None, "label": f"{subject}(八年级)", "applied": True,
            "level_shares": {"level_1": 0.1, "level_2": 0.2, "level_3": 0.4, "level_4": 0.3},
            "cut": {"level_2": 60.0, "level_3": 75.0, "level_4": 90.0},
            "top_schools": [{"school_id": "J1", "school_name": "测试学校J1", "students": 100, "mean": 70.0,
                             "contribution": 1.0, "share": 0.4}]}
    data.update(more)
    return data


def evidence(*found: dict, **changes) -> QualityEvidence:
    data = {"source_name": "成绩.csv", "rows": 2400, "results": {f"{e['subject']}/{e['grade']}": e for e in found},
            "settings": {"method": "icc1_anova", "confidence": 0.95, "county_level": "mean_score", "level_share": None},
            "notes": ("成绩涉及本县区 12 所学校(学校名单共 14 所)",)}
    data.update(changes)
    return QualityEvidence(**data)


def computed_result(*found: dict):
    """The evaluation of the builders county with its quality rows as the entries give them, named
    as computed from scores."""
    rows = builders.quality(rows=[(e["label"], e["level"], e["difference_rate"]) for e in found])
    result = evaluate_dataset(builders.dataset(quality_rows=rows))[0]
    _, item = county_quality.quality_item(result)
    item.sources = {f"quality/{e['label']}": ValueSource(kind="computed", label="由学生成绩计算", ref="quality-analysis:1")
                    for e in found}
    return result


def report(*found: dict, **changes):
    return build_county_report(computed_result(*found), with_charts=False, quality=evidence(*found, **changes))


def results_row(doc, label: str) -> list[str]:
    return next([cell.text for cell in row] for row in doc.table_of("quality_results").rows if row[0].text == label)


@pytest.mark.parametrize("rate, shown, verdict", [
    (0.15004, "0.15004", "未达到"),  # not 0.150 beside 未达到
    (0.14996, "0.14996", "达到"),  # not 0.150 beside 达到
    (0.1502, "0.1502", "未达到"),
    (0.15, "0.150", "未达到"),  # at the bound: strictly below is required
    (0.148, "0.148", "达到"),
])
def test_a_rate_beside_the_bound_keeps_the_decimals_of_its_side(rate, shown, verdict):
    row = results_row(report(entry(icc=rate)), "数学(八年级)")
    assert row[9] == shown and row[11] == verdict
    assert rate_text(rate, 0.15) == shown


def test_a_mean_beside_a_cut_keeps_its_decimals():
    row = results_row(report(entry(mean=74.96, level=2)), "数学(八年级)")
    assert row[3:5] == ["74.96", "Ⅱ级"]  # not 75.0 beside Ⅱ级 when Ⅲ begins at 75


def test_notes_are_shown_without_codes_and_the_share_rule_is_worded():
    not_applied = entry(subject="语文", icc=None, icc_ci=None, difference_rate=None, applied=False,
                        reason="只有 1 所学校,无法计算校际差异率")
    notes = ("成绩涉及本县区 12 所学校(学校名单共 14 所)",
             "语文(八年级):只有 1 所学校,无法计算校际差异率;未写入质量监测结果(Q9)")
    settings = {"method": "icc1_anova", "confidence": 0.9, "county_level": "share_of_students", "level_share": 0.6}
    found = [entry(), not_applied]
    result = computed_result(entry())
    doc = build_county_report(result, with_charts=False, quality=evidence(*found, notes=notes, settings=settings))
    text = section_text(doc.text())
    assert "分析说明:语文(八年级):只有1所学校,无法计算校际差异率;未写入质量监测结果。" in text
    assert "Q9" not in text
    assert "县区的学业水平取达到该水平及以上的学生占比不低于 60% 的最高水平" in text
    assert "90% 置信区间" in text and "share" not in text
    assert "语文(八年级)无法计算校际差异率,不能判定" in text
    assert results_row(doc, "语文(八年级)")[9:] == ["—", "—", "无法判定"]
    assert doc.table_of("quality_schools") is None  # no failing rate: no schools listed


def test_hostile_file_and_school_names_are_escaped_in_the_html():
    hostile = "<script>alert('成绩')</script>.csv"
    school = {"school_id": "J1", "school_name": "<img src=x onerror=alert(1)>学校", "students": 100, "mean": 70.0,
              "contribution": 1.0, "share": 0.4}
    failing = entry(icc=0.3, top_schools=[school])
    report = county_report(computed_result(failing), "html", quality=evidence(failing, source_name=hostile))
    html = report.content.decode("utf-8")
    assert "<script>alert(" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x" in html

"""`junheng quality SCORES --cuts CUTS` as a user meets it: the JSON shape per "county/subject/grade"
key, the Chinese table, and Chinese messages with a non-zero exit for bad input."""

from __future__ import annotations

import json

import pytest
from builders import plain, run_junheng

HEADER = "county_code,school_id,year,grade,subject,student_key,score\n"
# 数学 8: the hand example of test_icc.py (ICC = 89/137); 英语 8: one school only (no ICC)
ROWS = ["140599,a,2024,8,数学,s1,1", "140599,a,2024,8,数学,s2,2", "140599,a,2024,8,数学,s3,3",
        "140599,b,2024,8,数学,s4,4", "140599,b,2024,8,数学,s5,6", "140599,c,2024,8,数学,s6,5",
        "140599,c,2024,8,数学,s7,9", "140599,a,2024,8,英语,s1,70", "140599,a,2024,8,英语,s2,80"]
CUTS = "subject,grade,level_2,level_3,level_4\n数学,8,3,5,9\n英语,8,60,75,90\n"


@pytest.fixture()
def files(tmp_path):
    scores = tmp_path / "成绩.csv"
    scores.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    cuts = tmp_path / "分数线.csv"
    cuts.write_text(CUTS, encoding="utf-8")
    return scores, cuts


def assert_user_error(result, *fragments):
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_json_gives_every_county_subject_grade_with_the_figures(files, tmp_path):
    scores, cuts = files
    out = tmp_path / "结果.json"
    result = run_junheng("quality", str(scores), "--cuts", str(cuts), "--format", "json", "-o", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text("utf-8"))
    assert list(data) == ["140599/数学/8", "140599/英语/8"]
    math = data["140599/数学/8"]
    assert {"students", "schools", "mean", "icc", "icc_ci", "level", "level_shares", "between_variance",
            "within_variance", "top_schools", "method"} <= set(math)
    assert (math["students"], math["schools"], math["level"], math["method"]) == (7, 3, 2, "icc1_anova")
    assert math["icc"] == pytest.approx(89 / 137, abs=1e-9)
    assert math["mean"] == pytest.approx(30 / 7, abs=1e-9)
    low, high = math["icc_ci"]
    assert low < math["icc"] < high
    assert math["level_shares"] == pytest.approx({"level_1": 2 / 7, "level_2": 2 / 7, "level_3": 2 / 7,
                                                  "level_4": 1 / 7})
    assert [s["school_id"] for s in math["top_schools"]] == ["a", "c", "b"]
    english = data["140599/英语/8"]
    assert english["icc"] is None and english["icc_ci"] is None and "只有 1 所学校" in english["reason"]
    # 70 → Ⅱ, 80 → Ⅲ; the mean 75 equals the Ⅲ cut, so the county is at Ⅲ
    assert english["level"] == 3 and english["level_shares"] == {"level_1": 0.0, "level_2": 0.5, "level_3": 0.5,
                                                                 "level_4": 0.0}
    text = out.read_text("utf-8")
    assert '"s1"' not in text and '"student"' not in text  # no student key, raw or pseudonymised


def test_json_to_stdout_and_the_chinese_table(files):
    scores, cuts = files
    result = run_junheng("quality", str(scores), "--cuts", str(cuts), "-f", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["140599/数学/8"]["schools"] == 3
    table = run_junheng("quality", str(scores), "--cuts", str(cuts))
    assert table.returncode == 0, table.stderr
    text = plain(table.stdout)
    assert "教育质量监测" in text and "校际差异率" in text and "95% 置信区间" in text
    assert "Ⅱ级" in text and "0.650" in text  # 89/137
    assert "负值照实列出" in text and "全县平均分所在的水平" in text
    assert "140599 英语 8 年级:只有 1 所学校" in text
    assert "对校际差异贡献最大的学校:a(49.9%)" in text


def test_the_county_level_follows_the_standard(files, tmp_path):
    scores, cuts = files
    standard = tmp_path / "province.yaml"
    standard.write_text("id: province\nextends: national-2017\nname: 某省\nsource: 某省细则\nindicators:\n"
                        "  Q9:\n    rule:\n      county_level: {method: share_of_students, share: 0.4}\n"
                        "      difference_rate: {method: icc1_anova, confidence: 0.9}\n", encoding="utf-8")
    result = run_junheng("quality", str(scores), "--cuts", str(cuts), "-f", "json", "--standard", str(standard))
    assert result.returncode == 0, result.stderr
    math = json.loads(result.stdout)["140599/数学/8"]
    # at level ≥ Ⅲ: 3 of 7 (≥ 0.4) → Ⅲ, where the mean (4.29) is Ⅱ
    assert math["level"] == 3 and math["level_method"] == "share_of_students" and math["confidence"] == 0.9


def test_bad_cuts_are_a_chinese_message_naming_file_row_and_column(files, tmp_path):
    scores, _ = files
    bad = tmp_path / "坏分数线.csv"
    bad.write_text("subject,grade,level_2,level_3,level_4\n数学,8,60,50,90\n", encoding="utf-8")
    assert_user_error(run_junheng("quality", str(scores), "--cuts", str(bad)),
                      "坏分数线.csv", "第 2 行", "Ⅱ级 < Ⅲ级 < Ⅳ级")


def test_scores_without_their_cuts_years_and_outputs(files, tmp_path):
    scores, _ = files
    only_math = tmp_path / "math.csv"
    only_math.write_text("subject,grade,level_2,level_3,level_4\n数学,8,3,5,9\n", encoding="utf-8")
    assert_user_error(run_junheng("quality", str(scores), "--cuts", str(only_math)), "英语 8 年级", "分数线")
    two_years = tmp_path / "two.csv"
    two_years.write_text(HEADER + "\n".join(ROWS + [r.replace("2024", "2023") for r in ROWS]) + "\n", "utf-8")
    _, cuts = files
    assert_user_error(run_junheng("quality", str(two_years), "--cuts", str(cuts)), "多个年度", "--year")
    result = run_junheng("quality", str(two_years), "--cuts", str(cuts), "--year", "2023", "-f", "json")
    assert result.returncode == 0 and json.loads(result.stdout)["140599/数学/8"]["year"] == 2023
    assert_user_error(run_junheng("quality", str(scores), "--cuts", str(cuts), "-o",
                                  str(tmp_path / "no" / "such" / "out.json")), "无法写入输出文件")
    usage = run_junheng("quality", str(scores), "--cuts", str(cuts), "--format", "pdf")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr

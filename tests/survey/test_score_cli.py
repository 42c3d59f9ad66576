"""`junheng survey score`: a 问卷星 export with known answers gives the rates computed by hand (overall,
per group, per item, per school, with 不了解 and blanks excluded, and with fixed group weights), lists
every exclusion by 序号 with its reason, never shows an IP address, and refuses bad input in Chinese."""

from __future__ import annotations

import csv
import io
import json
import math
from fractions import Fraction as F
from statistics import NormalDist

import pytest

from builders import run_junheng

HEADER = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、您的身份是",
          "2、您对立德树人是否满意", "3、您对学校素质教育是否满意", "4、您对减负是否满意", "5、学校"]
# Outcomes by hand (1 recognising, 0 not, — excluded: 不了解 or blank):
#   序号 who  Q2        Q3        Q4        school   y x
#   1    家长 满意 1    比较满意 1 不满意 0   城关小学 2 3
#   2    家长 不了解 —  基本满意 1 (跳过) —   城关小学 1 1
#   3    家长 不满意 0  不满意 0   满意 1     东关中学 1 3
#   4    教师 满意 1    满意 1     满意 1     东关中学 3 3
#   5    教师 不满意 0  基本满意 1 不了解 —   (none)   1 2
#   6    学生 ... answered in 4 s: 3 items × 2 s = 6 s → excluded (too fast)
#   7    家长 same answers and IP as 1 → excluded (duplicate)
#   8    学生 比较满意 1 不满意 0  基本满意 1 城关小学 2 3
ROWS = [
    ["1", "2026/09/03 12:00:00", "120秒", "手机提交", "", "61.135.1.1(北京-北京)", "家长", "满意", "比较满意", "不满意", "城关小学"],
    ["2", "2026/09/03 12:01:00", "80秒", "微信", "", "61.135.1.2(北京-北京)", "家长", "不了解", "基本满意", "(跳过)", "城关小学"],
    ["3", "2026/09/03 12:02:00", "60秒", "微信", "", "61.135.1.3", "家长", "不满意", "不满意", "满意", "东关中学"],
    ["4", "2026/09/03 12:03:00", "75秒", "链接", "", "61.135.1.4", "教师", "满意", "满意", "满意", "东关中学"],
    ["5", "2026/09/03 12:04:00", "50秒", "链接", "", "61.135.1.5", "教师", "不满意", "基本满意", "不了解", ""],
    ["6", "2026/09/03 12:05:00", "4秒", "手机提交", "", "61.135.1.6", "学生", "满意", "满意", "满意", "城关小学"],
    ["7", "2026/09/03 12:06:00", "90秒", "手机提交", "", "61.135.1.1(北京-北京)", "家长", "满意", "比较满意", "不满意", "城关小学"],
    ["8", "2026/09/03 12:07:00", "66秒", "微信", "", "61.135.1.8", "学生", "比较满意", "不满意", "基本满意", "城关小学"],
]
MAPPING = """\
identity:
  column: "1、您的身份是"
  values: {家长: parents, 教师: teachers, 学生: students}
items: ["2、您对立德树人是否满意", "3、您对学校素质教育是否满意", "4、您对减负是否满意"]
school:
  column: "5、学校"
  values: {城关小学: S001, 东关中学: S002}
"""
Z = NormalDist().inv_cdf(0.975)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("score")
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *ROWS])
    (folder / "答卷.csv").write_bytes(buffer.getvalue().encode("gb18030"))
    (folder / "map.yaml").write_text(MAPPING, "utf-8")
    (folder / "weights.yaml").write_text("scoring: {group_weights: {parents: 0.5, teachers: 0.3, students: 0.2}}\n",
                                         "utf-8")
    (folder / "keep.yaml").write_text("checks: {exclude_flagged: false}\n", "utf-8")
    return folder


def score_json(files, *extra):
    result = run_junheng("survey", "score", str(files / "答卷.csv"), "--mapping", str(files / "map.yaml"),
                         "--format", "json", *extra)
    assert result.returncode == 0, result.stderr
    assert "61.135" not in result.stdout + result.stderr
    return json.loads(result.stdout)


def test_rates_by_hand_overall_groups_items_schools(files):
    got = score_json(files)
    overall = got["overall"]
    assert overall["rate"] == pytest.approx(10 / 15) and overall["respondents"] == 6 and overall["answers"] == 15
    # the interval by hand: respondents as clusters, d_i = y_i − R x_i with R = 2/3
    y, x = [2, 1, 1, 3, 1, 2], [3, 1, 3, 3, 2, 3]
    d2 = sum((F(a) - F(2, 3) * b) ** 2 for a, b in zip(y, x))
    assert d2 == F(20, 9)
    se = math.sqrt(F(6, 5) * d2 / 15 ** 2)
    assert overall["ci_low"] == pytest.approx(2 / 3 - Z * se) and overall["ci_high"] == pytest.approx(2 / 3 + Z * se)
    assert {g: (r["rate"], r["respondents"], r["answers"]) for g, r in got["groups"].items()} == {
        "parents": (pytest.approx(4 / 7), 3, 7), "teachers": (pytest.approx(4 / 5), 2, 5),
        "students": (pytest.approx(2 / 3), 1, 3)}
    assert got["items"] == {"2、您对立德树人是否满意": pytest.approx(3 / 5), "3、您对学校素质教育是否满意": pytest.approx(4 / 6),
                            "4、您对减负是否满意": pytest.approx(3 / 4)}
    assert got["item_details"]["4、您对减负是否满意"]["answers"] == 4
    assert {s: r["rate"] for s, r in got["schools"].items()} == {"S001": pytest.approx(5 / 7), "S002": pytest.approx(4 / 6)}
    assert [(e["row"], e["reason_code"]) for e in got["excluded"]] == [(6, "too_fast"), (7, "duplicate")]
    assert got["excluded"][0]["reason"] == "答题过快:答了 3 道计分题只用 4 秒,少于每题 2 秒(共 6 秒)"
    assert got["counts"] == {"rows": 8, "valid": 6, "excluded": 2, "flagged": 2,
                             "by_reason": {"too_fast": 1, "duplicate": 1}}
    assert got["weighted"] is False


def test_fixed_group_weights(files):
    got = score_json(files, "--settings", str(files / "weights.yaml"))
    assert got["weighted"] is True
    assert got["overall"]["rate"] == pytest.approx(0.5 * 4 / 7 + 0.3 * 4 / 5 + 0.2 * 2 / 3)
    assert got["pooled"]["rate"] == pytest.approx(10 / 15)
    assert got["overall"]["ci_low"] is None  # one student: no variance for that stratum, so no interval


def test_flagged_rows_kept_when_settings_say_so(files):
    got = score_json(files, "--settings", str(files / "keep.yaml"))
    assert got["overall"]["rate"] == pytest.approx(15 / 21)  # rows 6 (3 of 3) and 7 (2 of 3) counted
    assert got["excluded"] == [] and [e["row"] for e in got["flagged"]] == [6, 7]


def test_text_format_in_chinese_weakest_item_first(files, tmp_path):
    result = run_junheng("survey", "score", str(files / "答卷.csv"), "-m", str(files / "map.yaml"))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "总体认可度 66.7%(95% 置信区间" in text and "家长" in text and "57.1%" in text
    assert text.index("2、您对立德树人是否满意") < text.index("3、您对学校素质教育是否满意") < text.index("4、您对减负是否满意")
    assert "排除的答卷(2 份)" in text and "答题过快" in text and "61.135" not in text
    out = tmp_path / "结果.json"
    written = run_junheng("survey", "score", str(files / "答卷.csv"), "-m", str(files / "map.yaml"), "-f", "json",
                          "-o", str(out))
    assert written.returncode == 0 and json.loads(out.read_text("utf-8"))["overall"]["answers"] == 15


def test_bad_input_exits_1_with_a_chinese_message(files, tmp_path):
    rows = [list(r) for r in ROWS]
    rows[4][8] = "还行"
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *rows])
    (tmp_path / "坏.csv").write_text(buffer.getvalue(), "utf-8")
    result = run_junheng("survey", "score", str(tmp_path / "坏.csv"), "-m", str(files / "map.yaml"), "-f", "json")
    assert result.returncode == 1 and result.stdout == "" and "Traceback" not in result.stderr
    assert "第 6 行(序号 5)“3、您对学校素质教育是否满意”:“还行”不是答题选项" in result.stderr
    missing = run_junheng("survey", "score", str(tmp_path / "无.csv"), "-m", str(files / "map.yaml"))
    assert missing.returncode == 1 and "文件不存在" in missing.stderr
    bad_map = run_junheng("survey", "score", str(files / "答卷.csv"), "-m", str(tmp_path / "无.yaml"))
    assert bad_map.returncode == 1 and "无.yaml" in bad_map.stderr and "文件不存在" in bad_map.stderr

"""Quality checks: each reason flags exactly the rows it should, with its Chinese reason; flagged rows
are kept when `exclude_flagged` is false; nothing is dropped without being listed."""

from __future__ import annotations

import csv
import io

import pytest

from junheng.survey.checks import DUPLICATE, OUTSIDE_QUOTA, STRAIGHT_LINING, TOO_FAST, exclusions, summary
from junheng.survey.exports import load_mapping, read_export
from junheng.survey.settings import SurveySettings, load_settings

ITEMS = [f"{n}、题{n}" for n in range(2, 7)]  # five scored items
HEADER = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、您的身份是", *ITEMS, "7、学校"]
MAPPING = f"""\
identity: {{column: "1、您的身份是", values: {{家长: parents, 教师: teachers}}}}
items: {ITEMS!r}
school: {{column: "7、学校"}}
"""


def row(seq, seconds, ip, who, answers, school="S1"):
    return [str(seq), "2026/09/03 12:00:00", f"{seconds}秒", "手机提交", "", ip, who, *answers, school]


VARIED = ["满意", "比较满意", "不满意", "基本满意", "不了解"]
SAME = ["满意"] * 5
ROWS = [
    row(1, 100, "10.0.0.1", "家长", VARIED),
    row(2, 9, "10.0.0.2", "家长", VARIED),                       # too fast: 5 answered × 2 s = 10 s > 9 s
    row(3, 6, "10.0.0.3", "家长", ["满意", "", "(跳过)", "", ""]),  # 1 answered: 2 s needed, 6 s is enough
    row(4, 100, "10.0.0.1", "家长", VARIED),                      # duplicate of 1 (same IP, same answers)
    row(5, 100, "10.0.0.9", "家长", VARIED),                      # same answers, another IP: kept
    row(6, 100, "10.0.0.1", "教师", VARIED),                      # same IP, another identity: kept
    row(7, 100, "10.0.0.4", "教师", SAME),                        # straight-lining (when checked)
    row(8, 100, "10.0.0.5", "教师", SAME[:4] + [""]),             # not every item answered: not straight-lining
    row(9, 100, "", "家长", VARIED),                              # no address: never a duplicate
    row(10, 100, "", "家长", VARIED),
    row(11, 100, "10.0.0.6", "家长", ["不满意"] * 5, school="S2"),
    row(12, 3, "10.0.0.1", "家长", VARIED),                       # duplicate of 1 and too fast
]


@pytest.fixture
def imported(tmp_path):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *ROWS])
    (tmp_path / "a.csv").write_text(buffer.getvalue(), "utf-8")
    (tmp_path / "map.yaml").write_text(MAPPING, "utf-8")
    return read_export(tmp_path / "a.csv", load_mapping(tmp_path / "map.yaml"), load_settings(), key="k")


def settings(**checks) -> SurveySettings:
    s = load_settings().frozen()
    s["checks"].update(checks)
    return SurveySettings.from_frozen(s)


def by_row(found):
    return {e.row: e for e in found}


def test_default_checks_flag_too_fast_and_duplicates(imported):
    found = by_row(exclusions(imported, settings()))
    assert sorted(found) == [2, 4, 12]
    assert found[2].reason == TOO_FAST and found[2].excluded
    assert found[2].message == "答题过快:答了 5 道计分题只用 9 秒,少于每题 2 秒(共 10 秒)"
    assert found[4].reason == DUPLICATE
    assert found[4].message == "与序号 1 的答卷来自同一 IP 地址且答案完全相同(保留序号 1)"
    assert found[12].reasons == (TOO_FAST, DUPLICATE) and "答题过快" in found[12].message and "序号 1" in found[12].message
    assert summary(list(found.values())) == {TOO_FAST: 2, DUPLICATE: 2}
    assert found[4].to_json() == {"row": 4, "reason": found[4].message, "reason_code": DUPLICATE,
                                  "reasons": [DUPLICATE], "excluded": True}


def test_the_speed_setting(imported):
    assert [e.row for e in exclusions(imported, settings(min_seconds_per_item=0, duplicate_same_ip=False))] == []
    slow = {e.row for e in exclusions(imported, settings(min_seconds_per_item=7, duplicate_same_ip=False))}
    assert slow == {2, 3, 12}  # 3: 1 item answered × 7 s = 7 s > its 6 s
    exact = {e.row for e in exclusions(imported, settings(min_seconds_per_item=6, duplicate_same_ip=False))}
    assert exact == {2, 12}  # 3: 6 s is not fewer than 1 × 6 s


def test_straight_lining_is_off_by_default_and_flags_complete_identical_rows(imported):
    assert STRAIGHT_LINING not in {e.reason for e in exclusions(imported, settings())}
    found = by_row(exclusions(imported, settings(straight_lining=True)))
    assert found[7].reason == STRAIGHT_LINING and found[7].message == "所有 5 道计分题都选“满意”"
    assert found[11].reason == STRAIGHT_LINING and "“不满意”" in found[11].message
    assert 8 not in found
    # fewer items than the setting's minimum: not checked
    assert STRAIGHT_LINING not in {e.reason for e in exclusions(imported, settings(straight_lining=True,
                                                                                    straight_lining_min_items=6))}


def test_outside_quota(imported):
    quotas = {("parents", "S1"): 40, ("teachers", None): 10}
    found = by_row(exclusions(imported, settings(), quotas=quotas))
    assert found[11].reason == OUTSIDE_QUOTA and found[11].message == "不属于任何配额:家长(学校 S2) 没有配额"
    assert {r for r, e in found.items() if OUTSIDE_QUOTA in e.reasons} == {11}
    assert OUTSIDE_QUOTA not in {e.reason for e in exclusions(imported, settings(outside_quota=False), quotas=quotas)}
    assert OUTSIDE_QUOTA not in {e.reason for e in exclusions(imported, settings())}  # no quotas given


def test_flagged_rows_are_kept_when_exclude_flagged_is_false(imported):
    found = exclusions(imported, settings(exclude_flagged=False))
    assert sorted(e.row for e in found) == [2, 4, 12]
    assert not any(e.excluded for e in found) and all(e.message.endswith("(仅标记,仍计入)") for e in found)

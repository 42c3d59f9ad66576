"""Survey rates and intervals against a fixture computed by hand (docs/methods.md, "社会认可度 (S1):
rates and intervals")."""

from __future__ import annotations

import math
from fractions import Fraction as F
from statistics import NormalDist

import ibis
import pandas as pd
import pyarrow as pa
import pytest

from junheng.errors import JunhengError
from junheng.survey.scoring import Rate, SurveyScore, SurveyScoreError, score, score_frames

Z95 = NormalDist().inv_cdf(0.975)  # 1.959963984540054

# Six valid respondents, two groups, two schools (one respondent without a school), three items.
# "—" marks an answer absent from `answers`: 不了解 or blank, excluded from the denominator.
#
#   id  group     school  i1  i2  i3     y  x
#    1  parents   A       1   1   0      2  3
#    2  parents   A       1   —   1      2  2   (i2: 不了解)
#    3  parents   B       0   0   —      0  2   (i3: blank)
#    4  students  B       1   1   1      3  3
#    5  students  B       —   —   —      0  0   (all 不了解: not a respondent of any rate)
#    6  students  —       0   1   1      2  3
#
# Respondent 99 answered but is not a valid respondent (excluded by the checks): its answers do not count.
RESPONSES = [
    (1, "parents", "A"), (2, "parents", "A"), (3, "parents", "B"),
    (4, "students", "B"), (5, "students", "B"), (6, "students", None),
]
ANSWERS = [
    (1, "i1", 1), (1, "i2", 1), (1, "i3", 0),
    (2, "i1", 1), (2, "i3", 1),
    (3, "i1", 0), (3, "i2", 0),
    (4, "i1", 1), (4, "i2", 1), (4, "i3", 1),
    (6, "i1", 0), (6, "i2", 1), (6, "i3", 1),
    (99, "i1", 0), (99, "i2", 0), (99, "i3", 0),
]


def frames(responses=RESPONSES, answers=ANSWERS):
    r = pd.DataFrame(responses, columns=["response_id", "group", "school_id"])
    a = pd.DataFrame(answers, columns=["response_id", "item", "outcome"])
    return r, a


def ibis_tables(responses=RESPONSES, answers=ANSWERS):
    r, a = frames(responses, answers)
    return (ibis.memtable(r, schema={"response_id": "int64", "group": "string", "school_id": "string"}),
            ibis.memtable(a, schema={"response_id": "int64", "item": "string", "outcome": "int8"}))


def ratio_variance(pairs: list[tuple[int, int]]) -> F:
    """n/(n−1) · Σ(y − R x)² / (Σx)², exactly (only used to cross-check the hand numbers below)."""
    pairs = [(y, x) for y, x in pairs if x > 0]
    n, sy, sx = len(pairs), sum(y for y, _ in pairs), sum(x for _, x in pairs)
    r = F(sy, sx)
    return F(n, n - 1) * sum((y - r * x) ** 2 for y, x in pairs) / sx ** 2


# Hand arithmetic.
# Overall: Σy = 2+2+0+3+2 = 9, Σx = 3+2+2+3+3 = 13, R = 9/13, n = 5.
#   residuals y − R·x: 2−27/13 = −1/13, 2−18/13 = 8/13, 0−18/13 = −18/13, 3−27/13 = 12/13, 2−27/13 = −1/13
#   Σe² = (1 + 64 + 324 + 144 + 1)/169 = 534/169; var = 5/4 · (534/169) / 13² = 2670/114244
OVERALL_RATE, OVERALL_VAR = 9 / 13, 2670 / 114244
# Parents (1, 2, 3): Σy = 4, Σx = 7, R = 4/7, n = 3; residuals 2/7, 6/7, −8/7; Σe² = 104/49;
#   var = 3/2 · (104/49) / 49 = 156/2401
PARENTS_RATE, PARENTS_VAR = 4 / 7, 156 / 2401
# Students (4, 6; 5 counted nothing): Σy = 5, Σx = 6, R = 5/6, n = 2; residuals 1/2, −1/2; Σe² = 1/2;
#   var = 2/1 · (1/2) / 36 = 1/36, se = 1/6; upper bound 5/6 + 1.96/6 > 1 → clipped to 1
STUDENTS_RATE, STUDENTS_VAR = 5 / 6, 1 / 36
# Items: i1 = 1+1+0+1+0 over 5 = 3/5 (var = R(1−R)/(n−1) = 0.24/4 = 0.06); i2 = 1+0+1+1 over 4 = 3/4;
#   i3 = 0+1+1+1 over 4 = 3/4
# Schools: A (1, 2) = 4/5; B (3, 4; 5 nothing) = 3/5; respondent 6 has no school.
# Parents × i1 = 1+1+0 over 3 = 2/3; students × i2 = 1+1 over 2 = 1.


def test_hand_numbers_cross_check():
    """The fixed constants above agree with the formula evaluated exactly on the table."""
    assert ratio_variance([(2, 3), (2, 2), (0, 2), (3, 3), (0, 0), (2, 3)]) == F(2670, 114244)
    assert ratio_variance([(2, 3), (2, 2), (0, 2)]) == F(156, 2401)
    assert ratio_variance([(3, 3), (0, 0), (2, 3)]) == F(1, 36)
    assert ratio_variance([(1, 1), (1, 1), (0, 1), (1, 1), (0, 1)]) == F(6, 100)


def close(a: float | None, b: float) -> bool:
    return a is not None and abs(a - b) < 1e-12


def categorical_frames():
    """The tables as the importers give them: items as a pandas Categorical (kept dictionary-encoded)."""
    r, a = frames()
    a["item"] = a["item"].astype("category")
    return r, a


@pytest.mark.parametrize("path", ["frames", "ibis", "categorical"])
def test_rates_reproduce_the_hand_computation(path):
    result = {"frames": lambda: score_frames(*frames()), "ibis": lambda: score(*ibis_tables()),
              "categorical": lambda: score_frames(*categorical_frames())}[path]()
    assert isinstance(result, SurveyScore) and not result.weighted

    o = result.overall
    assert (o.respondents, o.answers, o.recognising) == (5, 13, 9)
    assert close(o.rate, OVERALL_RATE)
    assert close(o.se, math.sqrt(OVERALL_VAR))
    assert close(o.ci_low, OVERALL_RATE - Z95 * math.sqrt(OVERALL_VAR))
    assert close(o.ci_high, OVERALL_RATE + Z95 * math.sqrt(OVERALL_VAR))

    assert list(result.groups) == ["parents", "students"]
    p, s = result.groups["parents"], result.groups["students"]
    assert (p.respondents, p.answers, p.recognising) == (3, 7, 4) and close(p.rate, PARENTS_RATE)
    assert close(p.se, math.sqrt(PARENTS_VAR))
    assert (s.respondents, s.answers, s.recognising) == (2, 6, 5) and close(s.rate, STUDENTS_RATE)
    assert close(s.se, 1 / 6)
    assert close(s.ci_low, 5 / 6 - Z95 / 6) and s.ci_high == 1.0  # clipped

    assert list(result.items) == ["i1", "i2", "i3"]
    assert close(result.items["i1"].rate, 3 / 5) and result.items["i1"].respondents == 5
    assert close(result.items["i1"].se, math.sqrt(0.06))
    assert close(result.items["i2"].rate, 3 / 4) and result.items["i2"].answers == 4
    assert close(result.items["i3"].rate, 3 / 4)

    assert list(result.schools) == ["A", "B"]
    assert close(result.schools["A"].rate, 4 / 5) and result.schools["A"].respondents == 2
    assert close(result.schools["B"].rate, 3 / 5) and result.schools["B"].respondents == 2

    assert close(result.group_items["parents"]["i1"].rate, 2 / 3)
    assert result.group_items["students"]["i2"].rate == 1.0
    assert result.group_items["students"]["i2"].answers == 2


def test_fixed_group_weights_stratify_by_group():
    # W = 2/3 parents, 1/3 students (given as 2 and 1: normalised).
    # R = 2/3 · 4/7 + 1/3 · 5/6 = 8/21 + 5/18 = 83/126
    # var = (2/3)² · 156/2401 + (1/3)² · 1/36 = 624/21609 + 1/324
    rate = 83 / 126
    variance = 624 / 21609 + 1 / 324
    result = score_frames(*frames(), group_weights={"parents": 2, "students": 1})
    assert result.weighted and result.weights == pytest.approx({"parents": 2 / 3, "students": 1 / 3}, abs=1e-15)
    assert close(result.overall.rate, rate)
    assert close(result.overall.se, math.sqrt(variance))
    assert close(result.overall.ci_low, rate - Z95 * math.sqrt(variance))
    assert rate + Z95 * math.sqrt(variance) > 1 and result.overall.ci_high == 1.0  # clipped
    assert close(result.pooled.rate, OVERALL_RATE)  # the pooled rate is kept beside it
    assert result.to_json()["overall"]["rate"] == result.overall.rate
    # the group rates themselves do not change with weights
    assert close(result.groups["parents"].rate, PARENTS_RATE)


def test_a_weight_for_a_group_without_answers_is_refused():
    with pytest.raises(SurveyScoreError) as err:
        score_frames(*frames(), group_weights={"parents": 1, "students": 1, "teachers": 1})
    assert "教师" in str(err.value) and "没有计入的回答" in str(err.value)
    assert isinstance(err.value, JunhengError)


def test_a_group_with_answers_but_no_weight_is_refused():
    with pytest.raises(SurveyScoreError, match="学生"):
        score_frames(*frames(), group_weights={"parents": 1})


@pytest.mark.parametrize("weights", [{"parents": -1, "students": 1}, {"parents": 0, "students": 0},
                                     {"parnets": 1}, {"parents": float("nan"), "students": 1}])
def test_bad_weights_are_refused(weights):
    with pytest.raises(SurveyScoreError):
        score_frames(*frames(), group_weights=weights)


def test_confidence_sets_z():
    z90 = NormalDist().inv_cdf(0.95)
    result = score_frames(*frames(), confidence=0.90)
    assert close(result.overall.ci_low, OVERALL_RATE - z90 * math.sqrt(OVERALL_VAR))
    with pytest.raises(SurveyScoreError, match="置信水平"):
        score_frames(*frames(), confidence=95)


def test_empty_input_gives_no_rate():
    result = score_frames(*frames([], []))
    assert result.overall == Rate(None, None, None, respondents=0, answers=0, recognising=0)
    assert result.groups == {} and result.items == {} and result.schools == {}
    # respondents without any counted answer: a group appears, with no rate
    only_unknown = score_frames(*frames([(1, "public", None)], []))
    assert only_unknown.overall.rate is None
    assert only_unknown.groups["public"].rate is None and only_unknown.groups["public"].respondents == 0


def test_one_respondent_has_a_rate_but_no_interval():
    result = score_frames(*frames([(1, "parents", "A")], [(1, "i1", 1), (1, "i2", 0)]))
    assert result.overall.rate == 0.5 and result.overall.ci_low is None and result.overall.se is None


@pytest.mark.parametrize("responses, answers, expected", [
    ([(1, "parents", "A"), (1, "parents", "B")], [], "重复"),
    ([(1, "grandparents", "A")], [], "grandparents"),
    ([(1, "parents", "A")], [(1, "i1", 2)], "不是 1(认可)"),
    ([(1, None, "A")], [], "没有组别"),
])
def test_bad_tables_are_refused_in_chinese(responses, answers, expected):
    with pytest.raises(SurveyScoreError) as err:
        score_frames(*frames(responses, answers))
    assert expected in str(err.value)


def test_missing_column_is_named():
    r, a = frames()
    with pytest.raises(SurveyScoreError, match="outcome"):
        score_frames(r, a.drop(columns=["outcome"]))
    with pytest.raises(SurveyScoreError, match="school_id"):
        score(ibis.memtable(r.drop(columns=["school_id"])), ibis.memtable(a))


def test_pyarrow_input_and_to_json():
    r, a = frames()
    result = score(pa.Table.from_pandas(r), pa.Table.from_pandas(a))
    data = result.to_json()
    assert data["groups"]["parents"]["label"] == "家长"
    assert data["items"]["i1"]["rate"] == pytest.approx(0.6, abs=1e-12)
    assert set(data["overall"]) >= {"rate", "ci_low", "ci_high", "respondents", "answers"}
    import json
    json.dumps(data)  # plain JSON


def test_items_sort_naturally():
    answers = [(1, "10、减负", 1), (1, "2、规范办学", 1), (1, "1、身份", 0)]
    result = score_frames(*frames([(1, "parents", None)], answers))
    assert list(result.items) == ["1、身份", "2、规范办学", "10、减负"]

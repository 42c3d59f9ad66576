"""Levels Ⅰ–Ⅳ from cut scores (junheng.quality.levels): a score equal to a cut is in the higher
level, shares per school and county, the county level by its mean or by a share of students."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from quality import scores_table

from junheng.quality import QualityError, execute
from junheng.quality.analysis import QualitySettings, analyse, school_table
from junheng.quality.cuts import Cut, CutScores
from junheng.quality.levels import county_levels, level_shares, school_level_shares, with_levels

CUTS = CutScores((Cut("数学", 8, 40.0, 60.0, 85.0), Cut("英语", 8, 50.0, 70.0, 90.0)))


def _levels(scores: list[float], subject: str = "数学") -> list[int]:
    frame = pd.DataFrame({"county_code": "140599", "school_id": "a", "score": scores, "subject": subject})
    leveled = execute(with_levels(scores_table(frame=frame), CUTS).order_by("student"))
    return [int(v) for v in leveled["level"]]


def test_a_score_equal_to_a_cut_is_in_the_higher_level():
    assert _levels([39.999, 40.0, 59.5, 60.0, 84.99, 85.0, 100.0, 0.0]) == [1, 2, 2, 3, 3, 4, 4, 1]
    assert _levels([50.0, 69.999, 70.0, 90.0], subject="英语") == [2, 2, 3, 4]  # each subject its own cuts
    assert [CUTS.get("数学", 8).level_of(s) for s in (39.999, 40.0, 60.0, 85.0)] == [1, 2, 3, 4]


def test_the_ibis_levels_agree_with_the_cut_rule_on_many_scores():
    rng = np.random.default_rng(3)
    scores = np.concatenate([rng.uniform(0, 100, 500).round(1), [40.0, 60.0, 85.0]])
    cut = CUTS.get("数学", 8)
    assert _levels(list(scores)) == [cut.level_of(s) for s in scores]


def test_scores_without_cuts_are_refused_naming_the_subject_and_grade():
    frame = pd.DataFrame({"county_code": "140599", "school_id": "a", "score": [50.0, 60.0],
                          "subject": ["数学", "科学"], "grade": [8, 4]})
    with pytest.raises(QualityError, match="缺少 1 个学科年级的分数线:科学 4 年级"):
        with_levels(scores_table(frame=frame), CUTS)


SCHOOLS = pd.DataFrame({
    "county_code": "140599",
    "school_id": ["a"] * 5 + ["b"] * 5,
    #            a: Ⅰ Ⅱ Ⅲ Ⅲ Ⅳ           b: Ⅱ Ⅱ Ⅱ Ⅲ Ⅰ
    "score": [30.0, 45, 60, 70, 90] + [40.0, 50, 59, 60, 10],
})


def test_level_shares_per_school_and_per_county():
    leveled = with_levels(scores_table(frame=SCHOOLS), CUTS)
    schools = execute(school_level_shares(leveled).order_by("school_id"))
    assert list(schools["students"]) == [5, 5]
    assert list(schools.loc[0, ["level_1", "level_2", "level_3", "level_4"]]) == [0.2, 0.2, 0.4, 0.2]
    assert list(schools.loc[1, ["level_1", "level_2", "level_3", "level_4"]]) == [0.2, 0.6, 0.2, 0.0]
    county = execute(level_shares(leveled, ["county_code"]))
    assert list(county.loc[0, ["level_1", "level_2", "level_3", "level_4"]]) == [0.2, 0.4, 0.3, 0.1]


def test_the_county_level_is_the_level_of_the_pooled_mean_by_default():
    row = execute(county_levels(school_table(scores_table(frame=SCHOOLS), CUTS), CUTS)).iloc[0]
    # mean = (295 + 219)/10 = 51.4 → Ⅱ (40 ≤ 51.4 < 60)
    assert row["mean"] == pytest.approx(51.4) and row["level"] == 2
    # the mean at the Ⅲ cut (up to binary noise: the mean is compared with EPS, as the engine does)
    at_cut = SCHOOLS.assign(score=SCHOOLS.score + (60 - 51.4))
    row = execute(county_levels(school_table(scores_table(frame=at_cut), CUTS), CUTS)).iloc[0]
    assert row["mean"] == pytest.approx(60.0) and row["level"] == 3


@pytest.mark.parametrize("share,level", [(0.1, 4), (0.11, 3), (0.4, 3), (0.41, 2), (0.8, 2), (0.81, 1), (1.0, 1)])
def test_the_county_level_by_a_share_of_students(share, level):
    # at level ≥ Ⅳ: 1 of 10, ≥ Ⅲ: 4 of 10, ≥ Ⅱ: 8 of 10; a share exactly reached counts as reached
    school = school_table(scores_table(frame=SCHOOLS), CUTS)
    row = execute(county_levels(school, CUTS, method="share_of_students", share=share)).iloc[0]
    assert row["level"] == level


def test_analyse_gives_levels_and_shares_under_the_county_subject_grade_key():
    frame = pd.concat([SCHOOLS, SCHOOLS.assign(subject="英语")], ignore_index=True)
    results = analyse(scores_table(frame=frame), CUTS)
    assert list(results) == ["140599/数学/8", "140599/英语/8"]
    math = results["140599/数学/8"]
    assert math.level == 2 and math.students == 10 and math.schools == 2 and math.year == 2024
    assert math.level_shares == pytest.approx({"level_1": 0.2, "level_2": 0.4, "level_3": 0.3, "level_4": 0.1})
    english = results["140599/英语/8"]  # the same scores against higher cuts
    assert english.level_shares == pytest.approx({"level_1": 0.4, "level_2": 0.4, "level_3": 0.1, "level_4": 0.1})
    by_share = analyse(scores_table(frame=frame), CUTS,
                       settings=QualitySettings(county_level="share_of_students", level_share=0.4))
    assert by_share["140599/数学/8"].level == 3 and by_share["140599/数学/8"].level_method == "share_of_students"


def test_analyse_needs_one_year():
    frame = pd.concat([SCHOOLS, SCHOOLS.assign(year=2023)], ignore_index=True)
    with pytest.raises(QualityError, match="多个年度.2023、2024."):
        analyse(scores_table(frame=frame), CUTS)
    assert analyse(scores_table(frame=frame), CUTS, year=2023)["140599/数学/8"].year == 2023
    with pytest.raises(QualityError, match="没有 2020 年度"):
        analyse(scores_table(frame=frame), CUTS, year=2020)


def test_settings_come_from_the_standard_and_are_checked():
    from junheng.standards.loader import load_standard

    settings = QualitySettings.from_standard(load_standard("national-2017"))
    assert (settings.method, settings.confidence, settings.county_level) == ("icc1_anova", 0.95, "mean_score")
    with pytest.raises(QualityError, match="占比应在 0 到 1 之间"):
        QualitySettings(county_level="share_of_students")
    with pytest.raises(QualityError, match="置信水平"):
        QualitySettings(confidence=1.5)

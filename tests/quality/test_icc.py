"""The 校际差异率 = ICC(1) by the one-way ANOVA estimator (junheng.quality.icc): a small example
computed by hand, identical schools, data generated with known variance components (the estimate
within its interval, and the interval's coverage over many replications), the cases without an
ICC, numerical stability, and the method registry the standard names."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from quality import scores_table
from scipy.stats import f as f_dist

from junheng.quality.icc import METHODS, difference_rates
from junheng.standards.model import DIFFERENCE_RATE_METHODS

KEY = ("140599", "数学", 8)

# Three schools: a = 1, 2, 3; b = 4, 6; c = 5, 9.
HAND = [("140599", "a", 1), ("140599", "a", 2), ("140599", "a", 3), ("140599", "b", 4), ("140599", "b", 6),
        ("140599", "c", 5), ("140599", "c", 9)]


def test_a_small_example_computed_by_hand():
    # N = 7, k = 3; school means ȳa = 2, ȳb = 5, ȳc = 7; grand mean ȳ = 30/7.
    # Within: Σ(y−ȳa)² = 1+0+1 = 2, Σ(y−ȳb)² = 1+1 = 2, Σ(y−ȳc)² = 4+4 = 8 → SSW = 12, MSW = 12/(7−3) = 3.
    # Between: 3(2−30/7)² + 2(5−30/7)² + 2(7−30/7)² = (3·256 + 2·25 + 2·361)/49 = 1540/49 → MSB = 770/49 = 110/7.
    # n₀ = (7 − (9+4+4)/7)/(3−1) = (32/7)/2 = 16/7.
    # ICC = (110/7 − 3)/(110/7 + (16/7 − 1)·3) = (89/7)/(137/7) = 89/137.
    # σ²_b = (110/7 − 3)/(16/7) = 89/16; σ²_w = 3; F = (110/7)/3 = 110/21.
    result = difference_rates(scores_table(HAND))[KEY]
    assert result.students == 7 and result.schools == 3
    assert result.mean == pytest.approx(30 / 7, abs=1e-12)
    assert result.msw == pytest.approx(3.0, abs=1e-9)
    assert result.msb == pytest.approx(110 / 7, abs=1e-9)
    assert result.n0 == pytest.approx(16 / 7, abs=1e-9)
    assert result.icc == pytest.approx(89 / 137, abs=1e-9)
    assert result.between_variance == pytest.approx(89 / 16, abs=1e-9)
    assert result.within_variance == pytest.approx(3.0, abs=1e-9)
    assert result.f == pytest.approx(110 / 21, abs=1e-9)
    # The interval: F_L = F / F_0.975(2, 4), F_U = F · F_0.975(4, 2); ICC = (F − 1)/(F + n₀ − 1).
    f_low, f_high = (110 / 21) / f_dist.ppf(0.975, 2, 4), (110 / 21) * f_dist.ppf(0.975, 4, 2)
    low, high = (f_low - 1) / (f_low + 16 / 7 - 1), (f_high - 1) / (f_high + 16 / 7 - 1)
    assert result.icc_ci == pytest.approx((low, high), abs=1e-9)
    assert low < 0 < 89 / 137 < high < 1  # 3 schools: a wide interval
    # Contributions nⱼ(ȳⱼ − ȳ)²: a 768/49, c 722/49, b 50/49, as shares of 1540/49.
    assert [s.school_id for s in result.top_schools] == ["a", "c", "b"]
    assert [s.contribution for s in result.top_schools] == pytest.approx([768 / 49, 722 / 49, 50 / 49], abs=1e-9)
    assert [s.share for s in result.top_schools] == pytest.approx([768 / 1540, 722 / 1540, 50 / 1540], abs=1e-9)
    assert result.rate == result.icc
    assert [s.school_id for s in difference_rates(scores_table(HAND), top=1)[KEY].top_schools] == ["a"]


def test_identical_schools_give_an_icc_of_zero_or_below_reported_raw():
    rows = [("140599", school, score) for school in "abcd" for score in (50, 60, 70, 80)]
    result = difference_rates(scores_table(rows))[KEY]
    # MSB = 0, so ICC = −MSW/((n₀ − 1)·MSW) = −1/(n₀ − 1) = −1/3 with n₀ = 4.
    assert result.icc == pytest.approx(-1 / 3, abs=1e-12)
    assert result.between_variance < 0 and result.within_variance > 0
    assert result.rate == 0.0  # read as 0 for the threshold
    # F = 0: both ends of the interval are −1/(n₀ − 1) too
    assert result.icc_ci == pytest.approx((-1 / 3, -1 / 3), abs=1e-12)
    assert all(s.share is None for s in result.top_schools)  # nothing between schools to share


def _generate(rng, counties: int, sizes, sigma_b2: float, sigma_w2: float) -> pd.DataFrame:
    """Scores y = 500 + u_j + e_ij with u_j ~ N(0, σ²_b), e ~ N(0, σ²_w); `sizes` per school."""
    frames = []
    for county in range(counties):
        size = np.asarray(sizes(rng) if callable(sizes) else sizes)
        school = np.repeat(np.arange(len(size)), size)
        effect = rng.normal(0, math.sqrt(sigma_b2), len(size))[school]
        frames.append(pd.DataFrame({"county_code": f"{county:06d}", "school_id": [f"s{j:03d}" for j in school],
                                    "score": 500 + effect + rng.normal(0, math.sqrt(sigma_w2), len(school))}))
    return pd.concat(frames, ignore_index=True)


def test_known_variance_components_are_recovered_within_the_interval():
    rng = np.random.default_rng(15)
    sizes = rng.integers(20, 120, 80)  # 80 schools of unequal size
    frame = _generate(rng, 1, sizes, sigma_b2=25.0, sigma_w2=75.0)  # true ICC 0.25
    result = difference_rates(scores_table(frame=frame))[("000000", "数学", 8)]
    low, high = result.icc_ci
    assert low < 0.25 < high
    assert high - low < 0.2
    assert result.icc == pytest.approx(0.25, abs=0.08)
    assert result.within_variance == pytest.approx(75.0, rel=0.05)


def test_the_interval_covers_at_about_the_nominal_level():
    """200 replications (each a "county" of one table, so one query computes every interval):
    balanced, 20 schools of 15 students, true ICC 0.2; the 95% interval is exact here."""
    replications = 200
    rng = np.random.default_rng(2017)
    frame = _generate(rng, replications, [15] * 20, sigma_b2=20.0, sigma_w2=80.0)
    results = difference_rates(scores_table(frame=frame), top=0)
    assert len(results) == replications
    covered = sum(r.icc_ci[0] <= 0.2 <= r.icc_ci[1] for r in results.values())
    # binomial sd at 95%: sqrt(0.95 · 0.05 / 200) ≈ 1.5 points; allow about 3 sd
    assert 0.90 <= covered / replications <= 0.99, covered
    # a 50% interval covers far less: the confidence is used
    narrow = difference_rates(scores_table(frame=frame), confidence=0.6, top=0)
    narrow_covered = sum(r.icc_ci[0] <= 0.2 <= r.icc_ci[1] for r in narrow.values())
    assert 0.45 <= narrow_covered / replications <= 0.75, narrow_covered


def test_one_school_or_one_student_per_school_has_no_icc_and_says_why():
    one_school = difference_rates(scores_table([("140599", "a", 60), ("140599", "a", 70)]))[KEY]
    assert one_school.icc is None and one_school.icc_ci is None and one_school.rate is None
    assert "只有 1 所学校" in one_school.reason
    singletons = difference_rates(scores_table([("140599", s, v) for s, v in zip("abc", (60, 70, 80))]))[KEY]
    assert singletons.icc is None and "每所学校只有一名学生" in singletons.reason
    constant = difference_rates(scores_table([("140599", s, 60) for s in "aabb"]))[KEY]
    assert constant.icc is None and "全部成绩相同" in constant.reason


def test_counties_subjects_and_grades_are_separate():
    rows = pd.DataFrame(HAND, columns=["county_code", "school_id", "score"])
    other = rows.assign(county_code="140600", score=rows.score * 0 + rows.school_id.map({"a": 1, "b": 1, "c": 1}))
    other.loc[other.index[::2], "score"] = 3.0
    english = rows.assign(subject="英语")
    grade5 = rows.assign(grade=5, score=rows.score[::-1].to_numpy())
    results = difference_rates(scores_table(frame=pd.concat([rows, other, english, grade5], ignore_index=True)))
    assert set(results) == {KEY, ("140600", "数学", 8), ("140599", "英语", 8), ("140599", "数学", 5)}
    assert results[KEY].icc == pytest.approx(89 / 137, abs=1e-9)
    assert results[("140599", "英语", 8)].icc == pytest.approx(89 / 137, abs=1e-9)
    assert results[("140599", "数学", 5)].icc != pytest.approx(89 / 137, abs=1e-3)


def test_sums_of_squares_are_centred_so_a_large_offset_changes_nothing():
    rng = np.random.default_rng(7)
    frame = _generate(rng, 1, [30] * 12, sigma_b2=0.3, sigma_w2=1.0)
    base = difference_rates(scores_table(frame=frame))[("000000", "数学", 8)]
    shifted = difference_rates(scores_table(frame=frame.assign(score=frame.score + 1e8)))[("000000", "数学", 8)]
    # Σy² − nȳ² at 1e8 would lose every digit of a within variance of 1 (1e16 · 2⁻⁵² ≈ 2)
    assert shifted.within_variance == pytest.approx(base.within_variance, rel=1e-6)
    assert shifted.icc == pytest.approx(base.icc, abs=1e-6)


def test_the_registry_holds_the_methods_the_standard_may_name():
    assert set(METHODS) == set(DIFFERENCE_RATE_METHODS)
    with pytest.raises(Exception, match="校际差异率的计算方法“icc2”无效"):
        difference_rates(scores_table(HAND), method="icc2")
    assert difference_rates(scores_table(HAND))[KEY].icc == pytest.approx(89 / 137, abs=1e-9)


def test_the_standard_loader_refuses_an_unknown_method_in_chinese(tmp_path):
    from junheng.standards.loader import StandardError, load_standard_file

    path = tmp_path / "province.yaml"
    path.write_text("id: province\nextends: national-2017\nname: 某省\nsource: 某省实施细则\nindicators:\n"
                    "  Q9:\n    rule:\n      difference_rate: {method: variance_ratio}\n", encoding="utf-8")
    with pytest.raises(StandardError) as caught:
        load_standard_file(path)
    message = caught.value.user_message()
    assert "校际差异率的计算方法“variance_ratio”无效" in message and "icc1_anova" in message
    assert "difference_rate" in message and "province.yaml" in message
    path.write_text(path.read_text("utf-8").replace("variance_ratio", "icc1_anova, confidence: 0.9"), "utf-8")
    rule = load_standard_file(path).indicators_of_kind("quality_monitoring")[0].rule
    assert rule.difference_rate.method == "icc1_anova" and rule.difference_rate.confidence == 0.9


def test_national_2017_states_the_method():
    from junheng.standards.loader import builtin_dir

    text = (builtin_dir() / "national-2017.yaml").read_text("utf-8")
    assert "difference_rate: {method: icc1_anova, confidence: 0.95}" in text

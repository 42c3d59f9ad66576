"""The clustered interval covers the true rate at about the nominal level; a naive binomial interval
that treats every answer as independent does not (docs/methods.md, "社会认可度 (S1): rates and intervals").

1,000 simulated surveys are scored in ONE `score_frames` call: each survey is a "school" of the
same table, so the product's own code (the DuckDB group-bys and the interval) computes all 1,000
intervals at once.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd

from junheng.survey.scoring import score_frames

SURVEYS = 1_000
RESPONDENTS = 300  # per survey
ITEMS = 10
# Each respondent's propensity to recognise ~ Beta(4.25, 0.75): mean 0.85, and answers of one respondent
# strongly correlated (intra-respondent correlation 1/(a+b+1) = 1/6).
A, B = 4.25, 0.75
TRUE_RATE = A / (A + B)


def simulate(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = SURVEYS * RESPONDENTS
    ids = np.arange(n, dtype=np.int64)
    responses = pd.DataFrame({
        "response_id": ids,
        "group": "parents",
        "school_id": (ids // RESPONDENTS).astype(str),
    })
    propensity = rng.beta(A, B, size=n)
    # how much of the questionnaire a respondent answers (the rest 不了解 or blank) varies from 20% to all,
    # independently of the propensity: the ratio's expectation is the mean propensity
    share = rng.uniform(0.2, 1.0, size=n)
    answered = rng.random((n, ITEMS)) < share[:, None]
    outcome = rng.random((n, ITEMS)) < propensity[:, None]
    rows, cols = np.nonzero(answered)
    answers = pd.DataFrame({
        "response_id": ids[rows],
        "item": np.array([f"{k + 2}、题目" for k in range(ITEMS)])[cols],
        "outcome": outcome[rows, cols].astype(np.int8),
    })
    return responses, answers


def coverages(seed: int) -> tuple[float, float, float]:
    """Coverage of the clustered 95% interval, of a naive binomial one, and the mean width ratio."""
    result = score_frames(*simulate(seed), confidence=0.95)
    assert len(result.schools) == SURVEYS
    z = NormalDist().inv_cdf(0.975)
    clustered = naive = 0
    widths = []
    for rate in result.schools.values():
        assert RESPONDENTS * 0.9 <= rate.respondents <= RESPONDENTS and rate.ci_low is not None
        clustered += rate.ci_low <= TRUE_RATE <= rate.ci_high
        half = z * math.sqrt(rate.rate * (1 - rate.rate) / rate.answers)  # every answer independent
        naive += rate.rate - half <= TRUE_RATE <= rate.rate + half
        widths.append((rate.ci_high - rate.ci_low) / (2 * half))
    return clustered / SURVEYS, naive / SURVEYS, float(np.mean(widths))


def test_clustered_interval_covers_at_the_nominal_level_and_a_naive_one_does_not():
    clustered, naive, width_ratio = coverages(seed=20261203)
    assert 0.93 <= clustered <= 0.97, clustered
    # Answers of one respondent move together, so a binomial interval on the answers is too narrow
    # (design effect about 1 + (m − 1)ρ with m ≈ 6 answers and ρ ≈ 1/6): it misses the true rate
    # far more often than 5% of the time.
    assert naive < 0.90, naive
    assert clustered - naive > 0.05
    assert width_ratio > 1.2  # the clustered interval is wider by about √(design effect)

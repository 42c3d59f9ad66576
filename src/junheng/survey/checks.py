"""Quality checks of imported responses: which rows to flag and, by default, exclude.

- too_fast: answered in fewer seconds than `checks.min_seconds_per_item` × the scored items it
  answered (an excluded option such as 不了解 is an answer; a blank is not);
- duplicate: the same answers (identity, school and every scored item) as an earlier row from the
  same IP hash (the first by 序号 is kept); rows without an address are never duplicates;
- straight_lining (off by default): every scored item answered, all with the same option, when the
  questionnaire has at least `checks.straight_lining_min_items` items;
- outside_quota (when quotas are given): the row's group at its school has no quota, nor has the
  group county-wide.

Every flagged row is listed once (`Exclusion`), with every reason it has; with
`checks.exclude_flagged` false the rows are listed as flagged but kept (`excluded` False).
Everything is column-wise (numpy/pandas): no Python loop over rows except to build the list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from junheng.survey.exports import BLANK_CODE, ImportedResponses
from junheng.survey.groups import group_label
from junheng.survey.settings import SurveySettings

TOO_FAST, DUPLICATE, STRAIGHT_LINING, OUTSIDE_QUOTA = "too_fast", "duplicate", "straight_lining", "outside_quota"
REASON_LABELS = {
    TOO_FAST: "答题过快",
    DUPLICATE: "同一 IP 地址的重复答卷",
    STRAIGHT_LINING: "所有题目选同一选项",
    OUTSIDE_QUOTA: "不属于任何配额",
}


@dataclass(frozen=True)
class Exclusion:
    """A flagged row: `row` is its 序号; `reason` the first reason's code; `reasons` every code;
    `message` the Chinese explanation of all of them; `excluded` False when only flagged."""

    row: int
    reason: str
    message: str
    reasons: tuple[str, ...] = ()
    excluded: bool = True

    def to_json(self) -> dict:
        return {"row": self.row, "reason": self.message, "reason_code": self.reason,
                "reasons": list(self.reasons or (self.reason,)), "excluded": self.excluded}


def _seconds(value: float) -> str:
    return f"{value:g}"


def exclusions(responses: ImportedResponses, settings: SurveySettings, *,
               quotas: Iterable[tuple[str, str | None]] | None = None) -> list[Exclusion]:
    """Every flagged row of `responses`, in file order. `quotas`: the (group, school_id) pairs
    that have a quota (school_id None: county-wide), e.g. the keys of {(group, school): size}."""
    checks = settings.checks
    rows = responses.rows
    n = len(rows)
    codes = responses.codes.to_numpy() if responses.items else np.zeros((n, 0), np.int8)
    answered = (codes != BLANK_CODE).sum(axis=1)
    seconds = rows["seconds"].to_numpy(dtype=float)
    found: list[tuple[str, np.ndarray, callable]] = []

    if checks.min_seconds_per_item > 0:
        needed = checks.min_seconds_per_item * answered
        fast = (seconds < needed) & (answered > 0)
        found.append((TOO_FAST, fast, lambda p: (
            f"答题过快:答了 {answered[p]} 道计分题只用 {_seconds(seconds[p])} 秒,"
            f"少于每题 {_seconds(checks.min_seconds_per_item)} 秒(共 {_seconds(needed[p])} 秒)")))

    if checks.duplicate_same_ip:
        frame = pd.DataFrame(codes, columns=[f"i{j}" for j in range(codes.shape[1])])
        frame["ip"] = rows["ip_hash"].to_numpy(dtype=object)
        frame["group"] = rows["group"].to_numpy(dtype=object)
        frame["school"] = rows["school_id"].fillna("").to_numpy(dtype=object)
        frame["seq"] = rows["row"].to_numpy()
        has_ip = frame["ip"].notna().to_numpy()
        keys = [c for c in frame.columns if c != "seq"]
        ordered = frame[has_ip].sort_values("seq", kind="stable")
        first = ordered.groupby(keys, sort=False, dropna=False)["seq"].transform("min")
        duplicate = np.zeros(n, dtype=bool)
        first_seq = np.zeros(n, dtype=np.int64)
        duplicate[ordered.index.to_numpy()] = (first != ordered["seq"]).to_numpy()
        first_seq[ordered.index.to_numpy()] = first.to_numpy()
        found.append((DUPLICATE, duplicate, lambda p: (
            f"与序号 {first_seq[p]} 的答卷来自同一 IP 地址且答案完全相同(保留序号 {first_seq[p]})")))

    if checks.straight_lining and codes.shape[1] >= checks.straight_lining_min_items:
        complete = answered == codes.shape[1]
        same = (codes == codes[:, :1]).all(axis=1) if codes.shape[1] else np.zeros(n, bool)
        straight = complete & same
        found.append((STRAIGHT_LINING, straight, lambda p: (
            f"所有 {codes.shape[1]} 道计分题都选“{responses.options[codes[p, 0]]}”")))

    if quotas is not None and checks.outside_quota:
        pairs = {(g, None if s in (None, "") else str(s)) for g, s in quotas}
        group = rows["group"].to_numpy(dtype=object)
        school = rows["school_id"].to_numpy(dtype=object)
        keys = pd.Series(list(zip(group, school)), dtype=object)
        county = pd.Series(list(zip(group, [None] * n)), dtype=object)
        inside = keys.isin(pairs).to_numpy() | county.isin(pairs).to_numpy()
        found.append((OUTSIDE_QUOTA, ~inside, lambda p: (
            f"不属于任何配额:{group_label(group[p])}" + (f"(学校 {school[p]})" if school[p] else "")
            + " 没有配额")))

    flagged = np.zeros(n, dtype=bool)
    for _, mask, _ in found:
        flagged |= mask
    sequence = rows["row"].to_numpy()
    out = []
    for position in np.flatnonzero(flagged).tolist():
        reasons = [(code, describe) for code, mask, describe in found if mask[position]]
        message = ";".join(describe(position) for _, describe in reasons)
        if not checks.exclude_flagged:
            message += "(仅标记,仍计入)"
        out.append(Exclusion(row=int(sequence[position]), reason=reasons[0][0], message=message,
                             reasons=tuple(code for code, _ in reasons), excluded=checks.exclude_flagged))
    return out


def summary(found: list[Exclusion]) -> dict[str, int]:
    """Flagged rows per reason code (a row with two reasons counts under both)."""
    counts = {code: 0 for code in REASON_LABELS}
    for exclusion in found:
        for code in exclusion.reasons or (exclusion.reason,):
            counts[code] = counts.get(code, 0) + 1
    return {code: count for code, count in counts.items() if count}

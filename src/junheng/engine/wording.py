"""How numbers and comparisons are written in Chinese explanations (two decimals, units)."""

from __future__ import annotations

import math

OPS = {">=": "不低于", ">": "高于", "<=": "不超过", "<": "低于", "is_true": "为“是”", "in": "属于"}


def num(value: float | int | None, unit: str | None = None, digits: int = 2) -> str:
    """A number as pages and reports write it: thousands separated (7,181,900 元, 1,250 人), an
    integral value without decimals, any other with `digits` decimals. Never for a year or a
    code (2025 is no amount) nor for a form's value (`routes.editing.shown`)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if float(value).is_integer() and abs(value) < 1e15:
        text = f"{int(value):,d}"
    else:
        text = f"{value:,.{digits}f}"
    if unit:
        text += "%" if unit == "%" else f" {unit}"
    return text


def met_word(met: bool | None) -> str:
    return {True: "达标", False: "未达标", None: "数据缺失"}[met]


_PLAIN = (bool, int, str)  # what Arrow rows mostly hold: returned as they are, without pandas


def clean(value):
    """NaN/NA → None, numpy scalars → Python scalars (for the JSON result)."""
    if value is None:
        return None
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is float:
        return None if value != value else value  # NaN is the one float unequal to itself
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    return value

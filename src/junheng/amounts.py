"""Amounts of money as people write them: 7181900, 7,181,900, 718.19万, 8.86万元, 1.2亿, 300 元.

The one reader of a money amount for every face: the planner's budget (`planner.service.
parse_budget`), and every 元 field of the data format in forms, uploads and the API (the
importer's number parser, `data.importer`). The factor is applied exactly (decimal arithmetic):
8.86万 is 88600 元, not 88599.99999999999.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

UNITS = {"": 1, "元": 1, "万": 10_000, "万元": 10_000, "亿": 100_000_000, "亿元": 100_000_000}
# a figure (thousands separated with ASCII or full-width commas, or not at all) and an optional unit
AMOUNT = re.compile(r"\s*([+-]?(?:\d{1,3}(?:[,\uff0c]\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+)\s*(元|万元|万|亿元|亿)?\s*")
# a cell that may be an amount but is no plain number: the importer reads only those with `parse_amount`
NOT_PLAIN = "[,，元万亿]"  # literal characters: Arrow's RE2 reads no \u escapes
EXAMPLES = "如 7181900、7,181,900、718.19万 或 1.2亿"


def parse_amount(text: str | int | float | None, unit: str = "元") -> float | None:
    """The amount `text` names, in `unit` (元, 万元); None when it is no amount. A bare figure is
    in `unit` already: with unit 万元, "630" is 630 万元 and "630万" too, "6300000元" is 630."""
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return float(text)
    match = AMOUNT.fullmatch(str(text))
    if match is None:
        return None
    figure, written = match.group(1).replace(",", "").replace("\uff0c", ""), match.group(2)
    try:
        value = Decimal(figure)
    except InvalidOperation:
        return None
    if written:
        value = value * UNITS[written] / UNITS[unit]
    return float(value)

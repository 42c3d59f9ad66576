"""The cells and runs the county report's tables and paragraphs are made of: text, status,
measured values and counts (shaded when unmet or missing), and a finding with its verdict in bold."""

from __future__ import annotations

from junheng.reports import narrative as words
from junheng.reports.document import Cell, Run
from junheng.reports.xlsx import CV_DECIMALS, INTEGER, MISSING_TEXT, TWO_DECIMALS


SHADES = {False: "unmet", None: "missing"}


def text_cell(text: str, align: str = "left", bold: bool = False) -> Cell:
    return Cell(text, align=align, bold=bold)  # type: ignore[arg-type]


def status_cell(met: bool | None, words_for: dict | None = None) -> Cell:
    text = (words_for or words.STATUS_WORDS)[met]
    return Cell(text, shade=SHADES.get(met), align="center")  # type: ignore[arg-type]


def number_cell(value: float | None, digits: int = 2, met: bool | None = True) -> Cell:
    """A measured value: fixed decimals, shaded when it does not meet its standard."""
    if value is None:
        return Cell(MISSING_TEXT, shade="missing", align="center")
    fmt = {2: TWO_DECIMALS, 3: CV_DECIMALS, 0: INTEGER}.get(digits, TWO_DECIMALS)
    return Cell(words.fixed(value, digits), value=float(value), shade=SHADES.get(met), number_format=fmt,
                align="right")


def count_cell(value: int | float | None) -> Cell:
    if value is None:
        return Cell(MISSING_TEXT, shade="missing", align="center")
    return Cell(f"{int(value):,}", value=int(value), number_format=INTEGER, align="right")


def verdict_runs(text: str) -> tuple[Run, ...]:
    """A finding with its closing verdict sentence in bold (red when not met)."""
    for sentence, colour in ((words.VERDICT_SENTENCES[False], "red"), (words.VERDICT_SENTENCES[True], None),
                             (words.VERDICT_SENTENCES[None], "amber")):
        if text.endswith(sentence):
            return (Run(text[: -len(sentence)]), Run(sentence, bold=True, color=colour))  # type: ignore[arg-type]
    return (Run(text),)

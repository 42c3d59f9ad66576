"""A report as plain data: headings, paragraphs, tables and figures, independent of the format.

The county and city reports (county.py, city.py) build a `ReportDocument`; the renderers turn it
into Word (render_docx.py; the PDF is that Word file converted by LibreOffice), HTML
(render_html.py) and Excel (render_xlsx.py: every table of the report as a sheet). Nothing here
knows about fonts or pages beyond "this part is landscape".

Headings are numbered the Chinese way as they are added: level 1 "一、", level 2 "(一)",
level 3 "1.", level 4 "(1)"; tables "表1", appendix tables "附表1", figures "图1".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Union

from junheng.typography import Typesetter, typeset  # noqa: F401 (typeset: part of this module's API)

Shade = Literal["unmet", "missing"]
Align = Literal["left", "center", "right"]
Orientation = Literal["portrait", "landscape"]

CHINESE_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 15 → 十五, 21 → 二十一, 100 → 一百 (up to 999)."""
    if n < 0 or n > 999:
        raise ValueError(n)
    if n < 10:
        return CHINESE_DIGITS[n]
    if n < 20:
        return "十" + (CHINESE_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return CHINESE_DIGITS[n // 10] + "十" + (CHINESE_DIGITS[n % 10] if n % 10 else "")
    rest = n % 100
    text = CHINESE_DIGITS[n // 100] + "百"
    if rest == 0:
        return text
    if rest < 10:
        return text + "零" + CHINESE_DIGITS[rest]
    return text + (CHINESE_DIGITS[1] + chinese_number(rest) if rest < 20 else chinese_number(rest))


def heading_number(level: int, n: int) -> str:
    """The Chinese numbering of the n-th heading of a level: 一、 (一) 1. (1), with full-width
    parentheses."""
    if level == 1:
        return f"{chinese_number(n)}\u3001"
    if level == 2:
        return f"\uff08{chinese_number(n)}\uff09"
    if level == 3:
        return f"{n}."
    return f"\uff08{n}\uff09"


@dataclass(frozen=True)
class Run:
    text: str
    bold: bool = False
    color: Literal["red", "green", "amber"] | None = None


@dataclass(frozen=True)
class Paragraph:
    runs: tuple[Run, ...]
    style: Literal["body", "quote", "note", "center", "plain", "signature"] = "body"

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)


@dataclass(frozen=True)
class Heading:
    level: int
    title: str  # without its number
    number: str = ""  # "一、", "(一)", "1." or "" (unnumbered, e.g. an appendix)

    @property
    def text(self) -> str:
        return f"{self.number}{self.title}"


@dataclass(frozen=True)
class Cell:
    """What a table cell shows (`text`) and, for spreadsheets, the raw value behind it."""

    text: str
    value: Any = None  # unrounded number or plain text for Excel; None: use `text`
    shade: Shade | None = None
    number_format: str | None = None  # Excel number format of `value`
    align: Align = "left"
    bold: bool = False

    @property
    def sheet_value(self) -> Any:
        return self.text if self.value is None else self.value


@dataclass(frozen=True)
class Column:
    header: str
    width: float = 1.0  # relative width
    unit: str | None = None  # shown under the header: "R4 生均教学及辅助用房面积(m²)"

    @property
    def label(self) -> str:
        return f"{self.header}({self.unit})" if self.unit else self.header


@dataclass
class Table:
    kind: str  # a stable key: tests and the workbook find tables by it
    title: str  # without its number
    columns: list[Column]
    rows: list[list[Cell]]
    sheet: str  # Excel sheet name (≤ 31 characters)
    number: str = ""  # "表1", "附表1"
    note: str | None = None
    font_size: float = 10.5  # points (五号)
    frozen_columns: int = 1  # columns kept visible in Excel when scrolling right
    in_workbook: bool = True  # False: shown in the document only (a summary table covers it)

    @property
    def caption(self) -> str:
        return f"{self.number} {self.title}".strip()


@dataclass(frozen=True)
class Figure:
    png: bytes
    title: str
    number: str = ""
    width_cm: float = 15.5
    note: str | None = None

    @property
    def caption(self) -> str:
        return f"{self.number} {self.title}".strip()


@dataclass(frozen=True)
class PageBreak:
    pass


@dataclass(frozen=True)
class Section:
    """A new page that starts a part with its own orientation."""

    orientation: Orientation = "portrait"


Block = Union[Heading, Paragraph, Table, Figure, PageBreak, Section]


def runs(*parts: str | Run) -> tuple[Run, ...]:
    return tuple(p if isinstance(p, Run) else Run(p) for p in parts if (p.text if isinstance(p, Run) else p))


@dataclass
class ReportDocument:
    """A report: title lines and blocks in reading order."""

    title: str
    subtitle: str = ""
    # the title as it is broken on the page (a deliberate break, never a lone word on line two);
    # empty: `title` on one line
    title_lines: tuple[str, ...] = ()
    meta: list[str] = field(default_factory=list)  # lines under the title (standard, date, …)
    warning: str | None = None  # shown in red under the title (synthetic data)
    blocks: list[Block] = field(default_factory=list)
    scope: str = ""  # county, year and standard in one line (Excel title rows)
    synthetic: bool = False
    protected: set[str] = field(default_factory=set)  # names from the data: never re-punctuated
    _counters: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    _tables: int = 0
    _appendix_tables: int = 0
    _figures: int = 0

    @property
    def title_parts(self) -> tuple[str, ...]:
        return self.title_lines or (self.title,)

    # -- headings and text

    def heading(self, level: int, title: str, numbered: bool = True) -> Heading:
        if numbered:
            self._counters[level - 1] += 1
            for deeper in range(level, len(self._counters)):
                self._counters[deeper] = 0
            number = heading_number(level, self._counters[level - 1])
        else:
            number = ""
        block = Heading(level=level, title=title, number=number)
        self.blocks.append(block)
        return block

    def paragraph(self, *parts: str | Run, style: str = "body") -> Paragraph:
        block = Paragraph(runs=runs(*parts), style=style)  # type: ignore[arg-type]
        self.blocks.append(block)
        return block

    # -- tables and figures

    def table(self, table: Table, appendix: bool = False) -> Table:
        if appendix:
            self._appendix_tables += 1
            table.number = f"附表{self._appendix_tables}"
        else:
            self._tables += 1
            table.number = f"表{self._tables}"
        self.blocks.append(table)
        return table

    def figure(self, png: bytes, title: str, width_cm: float = 15.5, note: str | None = None) -> Figure:
        self._figures += 1
        block = Figure(png=png, title=title, number=f"图{self._figures}", width_cm=width_cm, note=note)
        self.blocks.append(block)
        return block

    def page_break(self) -> None:
        self.blocks.append(PageBreak())

    def section(self, orientation: Orientation) -> None:
        self.blocks.append(Section(orientation))

    # -- reading

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    def table_of(self, kind: str) -> Table | None:
        return next((t for t in self.tables() if t.kind == kind), None)

    def text(self) -> str:
        """All text in reading order (headings, paragraphs, table captions and cells)."""
        out = [self.title, self.subtitle, *self.meta]
        for block in self.blocks:
            if isinstance(block, (Heading, Paragraph)):
                out.append(block.text)
            elif isinstance(block, Table):
                out.append(block.caption)
                out += ["\t".join(c.label for c in block.columns)]
                out += ["\t".join(cell.text for cell in row) for row in block.rows]
            elif isinstance(block, Figure):
                out.append(block.caption)
        return "\n".join(t for t in out if t)


# ---------------------------------------------------------------------------------------------
# Chinese punctuation: see junheng.typography (shared with the web pages)

def typeset_document(doc: ReportDocument) -> ReportDocument:
    """A copy of the report with its text typeset (the renderers call this first); the names in
    `doc.protected` are kept as the data writes them."""
    from dataclasses import replace

    t = Typesetter(doc.protected)
    blocks: list[Block] = []
    for block in doc.blocks:
        if isinstance(block, Heading):
            blocks.append(replace(block, title=t(block.title)))
        elif isinstance(block, Paragraph):
            blocks.append(replace(block, runs=tuple(replace(r, text=t(r.text)) for r in block.runs)))
        elif isinstance(block, Table):
            blocks.append(replace(
                block, title=t(block.title), note=t(block.note) if block.note else None,
                columns=[replace(c, header=t(c.header)) for c in block.columns],
                rows=[[replace(cell, text=t(cell.text),
                               value=t(cell.value) if isinstance(cell.value, str) else cell.value) for cell in row]
                      for row in block.rows]))
        elif isinstance(block, Figure):
            blocks.append(replace(block, title=t(block.title), note=t(block.note) if block.note else None))
        else:
            blocks.append(block)
    return replace(doc, title=t(doc.title), subtitle=t(doc.subtitle), meta=[t(m) for m in doc.meta],
                   title_lines=tuple(t(line) for line in doc.title_lines),
                   warning=t(doc.warning) if doc.warning else None, scope=t(doc.scope), blocks=blocks)

"""ReportDocument → one self-contained HTML file (Jinja2; charts embedded as PNG data URIs).

The same words and tables as the Word report; print CSS gives A4 pages, landscape appendix
pages, table headers repeated on every page and rows kept whole. Text is escaped (school names
come from user data).
"""

from __future__ import annotations

import base64
from functools import cache

from junheng import __version__
from junheng.reports.document import (
    Figure,
    Heading,
    PageBreak,
    Paragraph,
    ReportDocument,
    Section,
    Table,
    typeset_document,
)

KINDS = {Heading: "heading", Paragraph: "paragraph", Table: "table", Figure: "figure", PageBreak: "page_break",
         Section: "section"}


@cache
def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("junheng.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )


def _widths(table: Table) -> list[float]:
    total = sum(c.width for c in table.columns) or 1.0
    return [round(100 * c.width / total, 2) for c in table.columns]


def render_html(report: ReportDocument) -> bytes:
    """The report as UTF-8 HTML bytes."""
    report = typeset_document(report)
    blocks = [(KINDS[type(b)], b) for b in report.blocks]
    widths = [_widths(b) if isinstance(b, Table) else None for b in report.blocks]
    images = [base64.b64encode(b.png).decode("ascii") if isinstance(b, Figure) else None for b in report.blocks]
    html = _environment().get_template("report.html.j2").render(
        report=report, blocks=blocks, block_widths=widths, images=images, version=__version__)
    return html.encode("utf-8")

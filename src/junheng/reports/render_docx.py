"""ReportDocument → Word (.docx), laid out like a Chinese official report.

Typography (after GB/T 9704 for official documents, adapted to a report with many tables):
A4 paper, margins 3.7/3.5/2.8/2.6 cm (landscape appendix 2.0 cm); body 仿宋 三号 (16 pt) with a
fixed 28 pt line pitch and a two-character first-line indent; headings 一、 in 黑体, (一) in
楷体, 1. in bold 仿宋; title in bold 宋体 二号 (22 pt); tables in 宋体 五号 or smaller, with the
header row repeated on every page and rows kept whole; page numbers "— 1 —" at the foot.
Latin letters and digits use Times New Roman. The font names are written into the document, so
Word uses the fonts a Chinese Windows installation has; the PDF route maps them to Noto CJK and
楷体 to AR PL UKai CN (assets/fonts.conf).
"""

from __future__ import annotations

import io
import math
import re
import unicodedata

from docx import Document as new_document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from junheng.wordfiles import LATIN_FONT, set_fonts
from junheng import __version__
from junheng.reports.document import (
    Cell,
    Figure,
    Heading,
    PageBreak,
    Paragraph,
    ReportDocument,
    Section,
    Table,
    typeset_document,
)

BODY_FONT = "仿宋"
TABLE_FONT = "宋体"
TITLE_FONT = "宋体"
HEADING_FONTS = {1: "黑体", 2: "楷体", 3: "仿宋", 4: "仿宋"}

BODY_SIZE = Pt(16)  # 三号
TITLE_SIZE = Pt(22)  # 二号
LINE_PITCH = Pt(28)
CAPTION_SIZE = Pt(12)  # 小四
NOTE_SIZE = Pt(10.5)  # 五号

PORTRAIT = {"width": Cm(21.0), "height": Cm(29.7), "top": Cm(3.7), "bottom": Cm(3.5), "left": Cm(2.8),
            "right": Cm(2.6)}
EMU_PER_PT = 12700
LANDSCAPE = {"width": Cm(29.7), "height": Cm(21.0), "top": Cm(2.0), "bottom": Cm(2.0), "left": Cm(2.0),
             "right": Cm(2.0)}

COLOURS = {"red": RGBColor(0xC0, 0x00, 0x00), "green": RGBColor(0x37, 0x56, 0x23), "amber": RGBColor(0x9C, 0x65, 0x00)}
SHADE_FILLS = {"unmet": "FFC7CE", "missing": "FFEB9C"}
HEADER_FILL = "D9D9D9"
ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT}


# ---------------------------------------------------------------------------------------------
# Low-level XML helpers


def set_language(element) -> None:
    rpr = element.get_or_add_rPr()
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")


def set_black(style) -> None:
    rpr = style.element.get_or_add_rPr()
    for colour in rpr.findall(qn("w:color")):
        rpr.remove(colour)
    style.font.color.rgb = RGBColor(0, 0, 0)


def shade(cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def row_property(row, tag: str) -> None:
    trpr = row._tr.get_or_add_trPr()
    element = OxmlElement(tag)
    element.set(qn("w:val"), "true")
    trpr.append(element)


def page_number_field(paragraph) -> None:
    paragraph.add_run("— ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)
    paragraph.add_run(" —")


def first_line_indent_chars(paragraph_format, chars: int = 2) -> None:
    """A first-line indent of `chars` characters (w:firstLineChars), whatever the font size."""
    ppr = paragraph_format.element.get_or_add_pPr()
    ind = ppr.find(qn("w:ind"))
    if ind is None:
        ind = OxmlElement("w:ind")
        ppr.append(ind)
    ind.set(qn("w:firstLineChars"), str(chars * 100))
    ind.set(qn("w:firstLine"), str(int(BODY_SIZE.pt * chars * 20)))


# ---------------------------------------------------------------------------------------------
# Styles


def set_up_styles(document) -> None:
    styles = document.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        rpr_default = defaults.find(qn("w:rPrDefault"))
        if rpr_default is not None and rpr_default.find(qn("w:rPr")) is not None:
            rpr = rpr_default.find(qn("w:rPr"))
            fonts = rpr.find(qn("w:rFonts"))
            if fonts is not None:
                for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
                    fonts.attrib.pop(qn(attribute), None)

    normal = styles["Normal"]
    normal.font.size = BODY_SIZE
    set_fonts(normal.element, BODY_FONT)
    set_language(normal.element)
    fmt = normal.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE_PITCH
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt.widow_control = True

    body = _style(document, "Report Body", "Normal")
    first_line_indent_chars(body.paragraph_format)

    title = styles["Title"]
    title.base_style = normal
    title.font.size = TITLE_SIZE
    title.font.bold = True
    set_fonts(title.element, TITLE_FONT)
    set_black(title)
    _no_borders(title)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    title.paragraph_format.line_spacing = Pt(36)
    title.paragraph_format.space_after = Pt(6)

    for level, font in HEADING_FONTS.items():
        style = styles[f"Heading {level}"]
        style.base_style = normal
        style.font.size = BODY_SIZE
        style.font.bold = level >= 3
        style.font.italic = False
        set_fonts(style.element, font)
        set_black(style)
        pf = style.paragraph_format
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = LINE_PITCH
        pf.space_before = Pt(6 if level == 1 else 0)
        pf.space_after = Pt(0)
        pf.keep_with_next = True
        pf.alignment = WD_ALIGN_PARAGRAPH.LEFT
        first_line_indent_chars(pf)

    caption = _style(document, "Report Caption", "Normal")
    caption.font.size = CAPTION_SIZE
    caption.font.bold = False
    set_fonts(caption.element, "黑体")
    caption.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    caption.paragraph_format.space_before = Pt(6)
    caption.paragraph_format.space_after = Pt(3)
    caption.paragraph_format.keep_with_next = True

    table_text = _style(document, "Report Table Text", "Normal")
    table_text.font.size = Pt(10.5)
    set_fonts(table_text.element, TABLE_FONT)
    table_text.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    table_text.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT

    note = _style(document, "Report Note", "Normal")
    note.font.size = NOTE_SIZE
    set_fonts(note.element, TABLE_FONT)
    note.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    note.paragraph_format.space_before = Pt(2)
    note.paragraph_format.space_after = Pt(6)

    meta = _style(document, "Report Meta", "Normal")
    meta.font.size = Pt(14)
    set_fonts(meta.element, "楷体")
    meta.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _style(document, name: str, base: str):
    from docx.enum.style import WD_STYLE_TYPE

    styles = document.styles
    if name in [s.name for s in styles]:
        return styles[name]
    style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = styles[base]
    style.quick_style = True
    return style


def _no_borders(style) -> None:
    ppr = style.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):
        ppr.remove(border)


def set_up_page(section, layout: dict, landscape: bool) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = layout["width"], layout["height"]
    section.top_margin, section.bottom_margin = layout["top"], layout["bottom"]
    section.left_margin, section.right_margin = layout["left"], layout["right"]
    section.header_distance, section.footer_distance = Cm(1.5), Cm(2.0 if not landscape else 1.0)


def text_width(section) -> int:
    return section.page_width - section.left_margin - section.right_margin


# ---------------------------------------------------------------------------------------------
# Blocks


BREAK_AFTER_LIST_COMMA = re.compile(r"、(?=[A-Za-z0-9])")


def breakable(text: str) -> str:
    """A zero-width space after "、" before Latin text ("R1、R2、G3"), where LibreOffice would
    otherwise not break the line and stretch the one before it."""
    return BREAK_AFTER_LIST_COMMA.sub("、\u200b", text)


def add_runs(paragraph, block: Paragraph, size: Pt | None = None) -> None:
    for part in block.runs:
        run = paragraph.add_run(breakable(part.text))
        run.bold = part.bold or None
        if part.color:
            run.font.color.rgb = COLOURS[part.color]
        if size is not None:
            run.font.size = size


def add_paragraph(document, block: Paragraph) -> None:
    if block.style == "note":
        paragraph = document.add_paragraph(style="Report Note")
    elif block.style == "signature":
        # 落款: the issuing body and the date, right-aligned two characters from the margin
        paragraph = document.add_paragraph(style="Report Body")
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        paragraph.paragraph_format.first_line_indent = Pt(0)
        paragraph.paragraph_format.right_indent = Pt(BODY_SIZE.pt * 2)
        paragraph.paragraph_format.keep_with_next = True
        paragraph.paragraph_format.keep_together = True
    elif block.style == "center":
        paragraph = document.add_paragraph(style="Report Body")
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.first_line_indent = Pt(0)
    else:
        paragraph = document.add_paragraph(style="Report Body")
        if block.style == "quote":
            paragraph.paragraph_format.keep_with_next = True
    add_runs(paragraph, block)


def fill_cell(cell, content: Cell, size: Pt, style_id: str, header: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    paragraph._p.style = style_id  # by id: python-docx's lookup by name is slow for thousands of cells
    paragraph.alignment = ALIGN["center" if header else content.align]
    run = paragraph.add_run(breakable(content.text))
    run.font.size = size
    if header or content.bold:
        run.bold = True
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    if header:
        shade(cell, HEADER_FILL)
    elif content.shade:
        shade(cell, SHADE_FILLS[content.shade])


# Column widths from content. Widths are estimated in em of the table's font, on the wide side
# (the Latin letters of Noto Serif CJK, which the PDF route uses, are wider than Times New
# Roman's): CJK characters and the ambiguous-width dashes and symbols, which the CJK fonts draw
# full-width, count 1; digits 0.58; "." "," 0.35; capitals and "%" 0.8; "m" "w" 1; other Latin
# 0.55. A run of Latin letters, digits and ASCII punctuation ("3164.97", "52/55", "R4(m²)") is
# never broken, nor is a short word standing alone in a cell ("未达标", "小学", "数据缺失");
# longer Chinese text may wrap, but not narrower than a few characters. Headers may wrap onto
# two lines.

CELL_PADDING_PT = 10.8 + 3.0  # Word's default left and right cell margins (2 × 0.19 cm) and a margin of safety
SHORT_WORD = 4  # a cell of at most this many CJK characters is one word
TEXT_MIN_EM = 4.0  # wrapped Chinese text keeps at least this many characters a line
MIN_FONT_PT = 6.5  # a table that does not fit even on a landscape page is set smaller, down to this


def char_em(ch: str) -> float:
    if unicodedata.east_asian_width(ch) in ("W", "F", "A"):
        return 1.0
    if ch.isdigit():
        return 0.58
    if ch in ".,:;'|!ijl ":
        return 0.35
    if ch in "mwMW":
        return 1.0
    if ch.isupper() or ch == "%":
        return 0.8
    return 0.55


def text_em(text: str) -> float:
    return sum(char_em(ch) for ch in text)


def unbreakable_runs(text: str) -> list[str]:
    """The runs of a text that a line never breaks: maximal runs of Latin letters, digits and
    ASCII punctuation."""
    return [run for run in re.split(r"[\s\u200b]+|(?<=[^\x00-\xff])|(?=[^\x00-\xff])", text) if run]


def is_short_word(text: str) -> bool:
    stripped = text.strip()
    return 0 < len(stripped) <= SHORT_WORD and all(unicodedata.east_asian_width(c) == "W" for c in stripped) and not any(
        c in "，。、；：（）“”" for c in stripped)


def cell_extent(text: str, header: bool = False) -> tuple[float, float]:
    """(narrowest, natural) width of a cell's text in em: the narrowest keeps every number and
    short word whole; the natural is the text on one line (a header: on two)."""
    runs = unbreakable_runs(text)
    longest_run = max((text_em(r) for r in runs if all(ord(c) < 0x100 for c in r)), default=0.0)
    whole = text_em(text)
    has_cjk = any(unicodedata.east_asian_width(c) in ("W", "F") for c in text)
    if header:
        narrow = max(longest_run, 2.0 if has_cjk else 0.0)
        natural = max(narrow, math.ceil(whole / 2))
        return min(narrow, whole), natural
    if is_short_word(text) or not has_cjk:
        return whole, whole
    return max(longest_run, min(whole, TEXT_MIN_EM)), whole


def column_widths(table: Table, available_pt: float, font_pt: float) -> list[float] | None:
    """Column widths in points that fill `available_pt` and keep every number and short word of
    the table on one line at `font_pt`; None when the table cannot fit."""
    narrow, natural = [], []
    for k, column in enumerate(table.columns):
        lo, hi = cell_extent(column.label, header=True)
        for row in table.rows:
            if k < len(row):
                a, b = cell_extent(row[k].text)
                lo, hi = max(lo, a), max(hi, b)
        narrow.append(lo * font_pt + CELL_PADDING_PT)
        natural.append(max(lo, hi) * font_pt + CELL_PADDING_PT)
    if sum(narrow) > available_pt:
        return None
    if sum(natural) <= available_pt:
        extra = available_pt - sum(natural)
        total = sum(natural)
        return [w + extra * w / total for w in natural]
    extra = available_pt - sum(narrow)
    stretch = [hi - lo for lo, hi in zip(narrow, natural)]
    return [lo + extra * d / sum(stretch) for lo, d in zip(narrow, stretch)]


def table_layout(table: Table, available_pt: float, landscape_pt: float | None) -> tuple[list[float], float, bool]:
    """(widths in points, font size, on a landscape page of its own) for a table: at its own
    size where it fits; else on a landscape page (`landscape_pt`, when the section is portrait);
    else smaller, down to MIN_FONT_PT."""
    widths = column_widths(table, available_pt, table.font_size)
    if widths is not None:
        return widths, table.font_size, False
    turn = landscape_pt is not None
    width = landscape_pt if turn else available_pt
    size = table.font_size
    while size >= MIN_FONT_PT:
        widths = column_widths(table, width, size)
        if widths is not None:
            return widths, size, turn
        size -= 0.5
    # nothing fits: share the width as the columns' natural proportions ask
    natural = [cell_extent(c.label, header=True)[1] + max((cell_extent(r[k].text)[1] for r in table.rows if k < len(r)),
                                                          default=0) for k, c in enumerate(table.columns)]
    return [width * n / sum(natural) for n in natural], MIN_FONT_PT, turn


def add_table(document, table: Table, width: int, widths_pt: list[float] | None = None,
              font_pt: float | None = None) -> None:
    caption = document.add_paragraph(table.caption, style="Report Caption")
    caption.paragraph_format.keep_with_next = True
    if widths_pt is None:
        widths_pt, font_pt, _ = table_layout(table, width / EMU_PER_PT, None)
    size = Pt(font_pt or table.font_size)
    style_id = document.styles["Report Table Text"].style_id
    n = len(table.columns)
    out = document.add_table(rows=1, cols=n)
    out.style = "Table Grid"
    out.alignment = WD_TABLE_ALIGNMENT.CENTER
    out.autofit = False
    widths = [int(w * EMU_PER_PT) for w in widths_pt]
    grid = out._tbl.tblGrid
    for col, w in zip(grid.findall(qn("w:gridCol")), widths):
        col.set(qn("w:w"), str(int(w / 635)))  # EMU → twentieths of a point
    header = out.rows[0]
    row_property(header, "w:tblHeader")  # repeated on every page
    row_property(header, "w:cantSplit")
    for cell, column, w in zip(header.cells, table.columns, widths):
        cell.width = w
        fill_cell(cell, Cell(column.label), size, style_id, header=True)
    for values in table.rows:
        row = out.add_row()
        row_property(row, "w:cantSplit")  # a row stays whole; the table breaks between rows
        for cell, value, w in zip(row.cells, values, widths):
            cell.width = w
            fill_cell(cell, value, size, style_id)
    if table.note:
        document.add_paragraph(table.note, style="Report Note")
    else:
        spacer = document.add_paragraph(style="Report Note")
        spacer.paragraph_format.space_after = Pt(0)


def add_figure(document, figure: Figure, width: int) -> None:
    picture = document.add_paragraph(style="Report Caption")
    picture.paragraph_format.keep_with_next = True
    picture.paragraph_format.space_before = Pt(6)
    run = picture.add_run()
    run.add_picture(io.BytesIO(figure.png), width=min(Cm(figure.width_cm), width))
    caption = document.add_paragraph(figure.caption, style="Report Caption")
    caption.paragraph_format.keep_with_next = bool(figure.note)
    caption.paragraph_format.space_before = Pt(2)
    if figure.note:
        note = document.add_paragraph(figure.note, style="Report Note")
        note.alignment = WD_ALIGN_PARAGRAPH.CENTER


def add_heading(document, heading: Heading) -> None:
    document.add_heading(heading.text, level=min(heading.level, 4))


def title_size(lines: tuple[str, ...], width_pt: float) -> Pt:
    """二号 (22 pt), smaller when a line would not fit on one line (a long county name)."""
    widest = max((text_em(line) for line in lines), default=0.0)
    if widest * TITLE_SIZE.pt <= width_pt:
        return TITLE_SIZE
    return Pt(max(14.0, math.floor(2 * width_pt / widest) / 2))


def add_title(document, report: ReportDocument, width: int) -> None:
    """The title on its lines (a deliberate break: never one word left alone on the last line)."""
    paragraph = document.add_paragraph(style="Title")
    size = title_size(report.title_parts, width / EMU_PER_PT)
    for n, line in enumerate(report.title_parts):
        run = paragraph.add_run(line)
        if size != TITLE_SIZE:
            run.font.size = size
        if n < len(report.title_parts) - 1:
            run.add_break()
    if report.subtitle:
        document.add_paragraph(report.subtitle, style="Report Meta")
    for line in report.meta:
        paragraph = document.add_paragraph(line, style="Report Meta")
        paragraph.runs[0].font.size = Pt(12)
    if report.warning:
        paragraph = document.add_paragraph(style="Report Meta")
        run = paragraph.add_run(report.warning)
        run.bold = True
        run.font.color.rgb = COLOURS["red"]
    document.add_paragraph(style="Report Body")


def add_footer(section) -> None:
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.first_line_indent = Pt(0)
    page_number_field(paragraph)
    for run in paragraph.runs:
        run.font.size = Pt(14)
        set_fonts(run._element, TABLE_FONT)


def render_docx(report: ReportDocument) -> bytes:
    """The report as the bytes of a .docx file."""
    report = typeset_document(report)
    document = new_document()
    set_up_styles(document)
    section = document.sections[0]
    set_up_page(section, PORTRAIT, landscape=False)
    add_footer(section)
    width = text_width(section)
    add_title(document, report, width)
    landscape_width = LANDSCAPE["width"] - LANDSCAPE["left"] - LANDSCAPE["right"]
    landscape = False
    for block in report.blocks:
        if isinstance(block, Heading):
            add_heading(document, block)
        elif isinstance(block, Paragraph):
            add_paragraph(document, block)
        elif isinstance(block, Table):
            widths, font, turn = table_layout(block, width / EMU_PER_PT,
                                              None if landscape else landscape_width / EMU_PER_PT)
            if turn:  # too wide for a portrait page: a landscape page of its own
                set_up_page(document.add_section(WD_SECTION.NEW_PAGE), LANDSCAPE, landscape=True)
            add_table(document, block, width, widths, font)
            if turn:
                set_up_page(document.add_section(WD_SECTION.NEW_PAGE), PORTRAIT, landscape=False)
        elif isinstance(block, Figure):
            add_figure(document, block, width)
        elif isinstance(block, PageBreak):
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        elif isinstance(block, Section):
            landscape = block.orientation == "landscape"
            section = document.add_section(WD_SECTION.NEW_PAGE)
            set_up_page(section, LANDSCAPE if landscape else PORTRAIT, landscape)
            width = text_width(section)
    properties = document.core_properties
    properties.title = report.title
    properties.subject = report.scope
    properties.author = "junheng"
    properties.comments = f"由 junheng {__version__} 生成"  # the generator: metadata only, never in the body
    properties.keywords = "县域义务教育优质均衡发展督导评估"
    properties.language = "zh-CN"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()

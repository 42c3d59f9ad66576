"""What every Word document junheng writes shares (the report, the sampling plan, the code
sheets): fonts named so that Chinese prints in a CJK font whatever the template's theme says."""

from __future__ import annotations

LATIN_FONT = "Times New Roman"


def set_fonts(element, east_asia: str, latin: str = LATIN_FONT) -> None:
    """Name the fonts of a style's or run's rPr; theme fonts are removed (they would win)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attribute), latin)
    fonts.set(qn("w:eastAsia"), east_asia)

"""One-time access codes of the survey page, their hashes, and what is printed for them: QR
images (segno) and the code sheets handed out per quota (Word, PDF through LibreOffice, Excel).

A code is `CODE_LENGTH` characters of `ALPHABET` (no 0/O, 1/I/L: nothing to misread on paper),
shown in two halves (ABCD-EFGH). Only its keyed hash is stored (`code_hash`, HMAC-SHA256 with the
workspace secret): the plain code exists once, on the sheet printed when it was issued. Typed
codes are normalised (`normalise_code`: case, spaces and dashes do not matter) and bounded before
anything is looked up.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from junheng.errors import JunhengError
from junheng.wordfiles import set_fonts

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 characters: no 0, O, 1, I, L
CODE_LENGTH = 8  # 31^8 ≈ 8.5 × 10^11 codes; with the page's rate limits a guess is hopeless
MAX_TYPED = 32  # a typed code longer than this is refused before it is normalised


class CodeFormatError(JunhengError, ValueError):
    """A typed code that cannot be one of ours (its Chinese message says what is expected)."""


def new_code(length: int = CODE_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def shown(code: str) -> str:
    """The code as printed: ABCD-EFGH."""
    half = (len(code) + 1) // 2
    return f"{code[:half]}-{code[half:]}"


def normalise_code(typed: str) -> str:
    """The code a person typed, upper-cased, without spaces and dashes; CodeFormatError when it
    cannot be a code (wrong length or a character outside the alphabet)."""
    if typed is None or len(typed) > MAX_TYPED:
        raise CodeFormatError(f"访问码应为 {CODE_LENGTH} 位字母和数字(如 {shown('AB23CD45')})")
    code = "".join(ch for ch in typed.strip().upper() if ch not in " -_\u3000\u2014\uff0d")
    if not code:
        raise CodeFormatError("请输入访问码(印在您拿到的调查通知或卡片上)")
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        raise CodeFormatError(f"访问码“{code[:MAX_TYPED]}”格式不对:应为 {CODE_LENGTH} 位字母和数字(如 {shown('AB23CD45')}),"
                              "不含数字 0、1 和字母 O、I、L")
    return code


def code_hash(secret: str, code: str) -> str:
    """The stored form of a code: HMAC-SHA256 keyed with the workspace secret (hex)."""
    return hmac.new(secret.encode("utf-8"), f"survey-code:{code}".encode("utf-8"), hashlib.sha256).hexdigest()


def link(base_url: str, public_key: str, code: str | None = None) -> str:
    """The survey page's address; with a code, the code is filled in when the page opens."""
    url = f"{base_url.rstrip('/')}/s/{public_key}"
    return f"{url}?c={code}" if code else url


def qr_png(data: str, *, scale: int = 6) -> bytes:
    """A QR image (PNG) of `data`, error correction M, with its quiet zone."""
    import segno

    out = io.BytesIO()
    segno.make(data, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


# ---------------------------------------------------------------- code sheets


@dataclass(frozen=True)
class SheetCode:
    code: str
    group: str  # Chinese label
    school: str  # school name, or 全县 for a county-wide quota
    link: str


@dataclass(frozen=True)
class SheetSection:
    """One quota's page(s) of codes."""

    title: str  # e.g. 家长 · 城关小学
    codes: Sequence[SheetCode]


SHEET_FORMATS = ("docx", "pdf", "xlsx")


def write_code_sheets(path: Path, *, survey_title: str, survey_link: str, sections: Iterable[SheetSection],
                      to_pdf: Callable[[bytes], bytes] | None = None) -> Path:
    """Write the code sheets to `path` (.docx, .pdf or .xlsx by its suffix). A PDF is the Word
    file converted by `to_pdf` (the caller passes junheng.reports.pdf.docx_to_pdf: the survey
    package does not import the reports)."""
    suffix = path.suffix.lower().lstrip(".")
    sections = list(sections)
    if suffix == "xlsx":
        _write_xlsx(path, survey_title, survey_link, sections)
    elif suffix == "docx":
        path.write_bytes(_docx_bytes(survey_title, survey_link, sections))
    elif suffix == "pdf":
        if to_pdf is None:
            raise CodeFormatError("生成 PDF 访问码单需要 PDF 转换(LibreOffice):请改存为 .docx")
        path.write_bytes(to_pdf(_docx_bytes(survey_title, survey_link, sections)))
    else:
        raise CodeFormatError(f"不支持的文件类型“.{suffix}”:访问码单可存为 .pdf、.docx 或 .xlsx")
    return path


def _write_xlsx(path: Path, title: str, survey_link: str, sections: list[SheetSection]) -> None:
    from openpyxl import Workbook

    from junheng.spreadsheets import save_workbook

    wb = Workbook()
    sheet = wb.active
    sheet.title = "访问码"
    sheet.append([title])
    sheet.append(["调查链接", survey_link])
    sheet.append(["访问码", "身份", "学校", "链接"])
    for section in sections:
        for item in section.codes:
            sheet.append([shown(item.code), item.group, item.school, item.link])
    for column, width in zip("ABCD", (14, 12, 28, 60)):
        sheet.column_dimensions[column].width = width
    save_workbook(wb, path)  # every cell text, never a formula (junheng.spreadsheets)


CODES_PER_ROW = 2
ROWS_PER_PAGE = 4  # 8 cut-out cards per A4 page, each with its QR image


CODE_SHEET_FONT = "Noto Sans CJK SC"  # the codes sheets' Chinese (the reports use their own fonts)


def _docx_bytes(title: str, survey_link: str, sections: list[SheetSection]) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.shared import Cm, Pt

    doc = Document()
    for section_format in doc.sections:
        section_format.top_margin = section_format.bottom_margin = Cm(1.5)
        section_format.left_margin = section_format.right_margin = Cm(1.5)
    doc.styles["Normal"].font.size = Pt(10.5)
    for name in ("Normal", "Heading 1", "Heading 2"):
        set_fonts(doc.styles[name].element, CODE_SHEET_FONT)

    # the poster: the survey's link as one large QR code, for a notice board or a parents' group
    heading = doc.add_heading(title, level=1)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph("扫描二维码或在浏览器中打开下面的地址参加调查，输入您拿到的访问码即可作答。"
                      "调查不收集姓名、电话等个人信息。").alignment = WD_ALIGN_PARAGRAPH.CENTER
    picture = doc.add_paragraph()
    picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
    picture.add_run().add_picture(io.BytesIO(qr_png(survey_link, scale=10)), width=Cm(9))
    doc.add_paragraph(survey_link).alignment = WD_ALIGN_PARAGRAPH.CENTER

    for section in sections:
        codes = list(section.codes)
        per_page = CODES_PER_ROW * ROWS_PER_PAGE
        for start in range(0, max(len(codes), 1), per_page):
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            page_no = start // per_page + 1
            pages = max(1, -(-len(codes) // per_page))
            doc.add_heading(f"{section.title}（第 {page_no}/{pages} 页，共 {len(codes)} 个访问码）", level=2)
            chunk = codes[start:start + per_page]
            if not chunk:
                doc.add_paragraph("（本名额没有新的访问码）")
                continue
            rows = -(-len(chunk) // CODES_PER_ROW)
            table = doc.add_table(rows=rows, cols=CODES_PER_ROW)
            table.style = "Table Grid"
            for index, item in enumerate(chunk):
                cell = table.cell(index // CODES_PER_ROW, index % CODES_PER_ROW)
                first = cell.paragraphs[0]
                first.alignment = WD_ALIGN_PARAGRAPH.CENTER
                first.add_run(f"{title}").bold = True
                line = cell.add_paragraph(f"{item.group} · {item.school}")
                line.alignment = WD_ALIGN_PARAGRAPH.CENTER
                image = cell.add_paragraph()
                image.alignment = WD_ALIGN_PARAGRAPH.CENTER
                image.add_run().add_picture(io.BytesIO(qr_png(item.link, scale=5)), width=Cm(3.6))
                code_line = cell.add_paragraph()
                code_line.alignment = WD_ALIGN_PARAGRAPH.CENTER
                run = code_line.add_run(f"访问码：{shown(item.code)}")
                run.bold = True
                run.font.size = Pt(14)
                hint = cell.add_paragraph("每个访问码只能提交一次问卷")
                hint.alignment = WD_ALIGN_PARAGRAPH.CENTER
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()



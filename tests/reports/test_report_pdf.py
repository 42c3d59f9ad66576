"""The PDF report: the Word document converted by LibreOffice, with Chinese text rendered (not
tofu boxes). Needs the Debian packages of scripts/install-system-deps.sh (LibreOffice,
poppler-utils, fonts-noto-cjk); the conversion runs once per module."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from datetime import date
from pathlib import Path

import builders
import pdfplumber
import pytest
from report_files import docx_tables, open_docx, plain, table_titled
from reports_helpers import run_junheng

from junheng.data.writer import write_dataset_csv
from junheng.demo.synthetic import generate_county, generate_region
from junheng.engine.evaluate import evaluate_dataset
from junheng.reports.api import city_report
from junheng.reports.county import build_county_report
from junheng.reports.pdf import docx_to_pdf, find_soffice
from junheng.reports.render_docx import render_docx

INSTALL = "run scripts/install-system-deps.sh (Debian packages libreoffice-writer-nogui, poppler-utils, fonts-noto-cjk)"


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is not installed: {INSTALL}"
    return found


@pytest.fixture(scope="module")
def county_pdf(tmp_path_factory):
    assert find_soffice(), f"LibreOffice is not installed: {INSTALL}"
    folder = tmp_path_factory.mktemp("pdf")
    dataset = generate_county(2024, today=date(2026, 12, 1))  # 2025: the designed shortfalls; 2026 in progress
    result = evaluate_dataset(dataset, county="140599", year=2025)[0]
    docx = render_docx(build_county_report(result, dataset, generated=date(2026, 12, 1)))
    pdf = docx_to_pdf(docx)
    (folder / "report.docx").write_bytes(docx)
    (folder / "report.pdf").write_bytes(pdf)
    return result, folder, docx, pdf


def pdf_text(path: Path, *pages: int) -> str:
    args = [tool("pdftotext"), "-enc", "UTF-8"]
    if pages:
        args += ["-f", str(pages[0]), "-l", str(pages[-1])]
    return plain(subprocess.run([*args, str(path), "-"], capture_output=True, text=True, check=True,
                                encoding="utf-8").stdout)


def dark_share(pgm: bytes) -> float:
    """Share of dark pixels in a binary PGM (P5) image."""
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", pgm)
    assert header, "not a PGM image"
    width, height = int(header.group(1)), int(header.group(2))
    pixels = pgm[header.end():header.end() + width * height]
    return sum(1 for p in pixels if p < 128) / len(pixels)


def test_the_word_file_converts_to_a_pdf_with_libreoffice(county_pdf):
    _, folder, docx, pdf = county_pdf
    assert open_docx(docx).paragraphs  # python-docx opens it too
    assert pdf.startswith(b"%PDF")
    info = subprocess.run([tool("pdfinfo"), str(folder / "report.pdf")], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages >= 10
    assert "595" in info  # A4 (595 × 842 pt)


def test_page_one_is_rendered_and_not_blank(county_pdf):
    _, folder, _, _ = county_pdf
    out = folder / "page"
    subprocess.run([tool("pdftoppm"), "-gray", "-r", "50", "-f", "1", "-l", "1", str(folder / "report.pdf"), str(out)],
                   check=True, capture_output=True)
    image = next(folder.glob("page*.pgm"))
    share = dark_share(image.read_bytes())
    assert 0.005 < share < 0.5, share


def test_the_pdf_text_is_chinese_with_the_county_name_and_sections(county_pdf):
    result, folder, _, _ = county_pdf
    text = pdf_text(folder / "report.pdf")
    compact = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", result.county_name) in compact
    for words in ("资源配置", "政府保障程度", "教育质量", "社会认可度", "研判结论", "问题与整改", "此项我县暂不达标"):
        assert words in compact, words
    assert "资源配置" in re.sub(r"\s+", "", pdf_text(folder / "report.pdf", 1, 3))


def test_the_chinese_fonts_are_embedded(county_pdf):
    _, folder, _, _ = county_pdf
    fonts = subprocess.run([tool("pdffonts"), str(folder / "report.pdf")], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert any("CJK" in line for line in fonts), fonts
    for line in fonts:
        emb = line.split()[-5]
        assert emb == "yes", line


def test_the_pdf_lists_exactly_the_failing_items(county_pdf):
    result, folder, docx, _ = county_pdf
    failing = result.failing_items()
    compact = re.sub(r"\s+", "", pdf_text(folder / "report.pdf"))
    found = re.search(r"共有(\d+)项指标未达到标准:([^。]*)。", compact)
    assert found and int(found.group(1)) == len(failing)
    assert found.group(2).split("、") == failing
    rows = table_titled(docx_tables(docx), "未达标指标一览")
    assert [r[0] for r in rows[1:]] == failing


def test_the_report_command_writes_a_pdf_from_a_csv_folder(tmp_path):
    folder = tmp_path / "data"
    write_dataset_csv(builders.dataset(), folder)  # six schools, everything met
    out = tmp_path / "自评报告.pdf"
    done = run_junheng("report", str(folder), "--county", builders.COUNTY, "--year", str(builders.YEAR),
                       "--format", "pdf", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert out.read_bytes().startswith(b"%PDF")
    text = re.sub(r"\s+", "", pdf_text(out))
    assert "自评结论:达标" in text and "此项我县暂不达标" not in text


def test_the_city_summary_renders_as_pdf(tmp_path):
    dataset = generate_region(3, seed=11)
    results = evaluate_dataset(dataset)
    report = city_report(results, "pdf", dataset=dataset)
    path = tmp_path / report.filename
    report.write(path)
    text = re.sub(r"\s+", "", pdf_text(path))
    assert "各县区评估结果总览" in text
    for r in results:
        assert re.sub(r"\s+", "", r.county_name) in text


# ---------------------------------------------------------------------------------------------
# Layout as printed (issue 12): words and table cells with their positions (pdfplumber)

NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?(?:%|/\d+)?")
SHORT_WORDS = {"达标", "未达标", "数据缺失", "小学", "初中", "不适用", "无定义"}
NUMERIC_COLUMNS = ("县域值", "标准值", "达到标准值的单位", "差异系数", "上限")


@pytest.fixture(scope="module")
def pdf_tables(county_pdf):
    """Every table pdfplumber finds in the PDF: (page, its cell texts — a line break inside a
    cell is "\n" —, the words inside the table's box)."""
    _, folder, _, _ = county_pdf
    found = []
    with pdfplumber.open(folder / "report.pdf") as pdf:
        for n, page in enumerate(pdf.pages, start=1):
            for table in page.find_tables():
                words = [w["text"] for w in page.crop(table.bbox).extract_words(keep_blank_chars=False)]
                found.append((n, table.extract(), words))
    return found


def cell_text(cell: str | None) -> str:
    return plain((cell or "").replace("\n", ""))


def test_no_table_cell_breaks_a_number_or_a_short_word_across_lines(pdf_tables):
    checked, broken = 0, []
    for page, rows, _ in pdf_tables:
        for row in rows:
            for cell in row:
                whole = cell_text(cell)
                if NUMBER.fullmatch(whole) or whole in SHORT_WORDS:
                    checked += 1
                    if "\n" in cell:
                        broken.append((page, cell))
    assert checked > 1000, checked  # the tables were found and read
    assert not broken, broken[:20]


def test_every_number_of_the_resource_table_is_whole_on_one_line(county_pdf, pdf_tables):
    _, _, docx, _ = county_pdf
    header, *body = table_titled(docx_tables(docx), "资源配置指标县域总体情况")
    numeric = [k for k, h in enumerate(header) if h in NUMERIC_COLUMNS]
    assert len(numeric) == len(NUMERIC_COLUMNS)
    expected = Counter(row[k] for row in body for k in numeric)
    # the table in the PDF, over one page or more (its header row repeated): its cells and words
    parts = [(rows, words) for _, rows, words in pdf_tables if rows and [cell_text(c) for c in rows[0]] == header]
    assert parts, "table 2 not found in the PDF"
    cells = Counter(cell for rows, _ in parts for row in rows[1:] for k, cell in enumerate(row) if k in numeric)
    words = Counter(w for _, found in parts for w in found)
    assert sum(len(rows) - 1 for rows, _ in parts) == len(body)
    for value, count in expected.items():
        assert cells[value] == count, (value, [c for c in cells if c and c.replace("\n", "") == value])
        assert words[value] >= count, value  # one word on one line, never "0.5" + "0"


def page_lines(page, min_size: float = 0.0) -> list[tuple[float, float, str]]:
    """(top, right edge, text without spaces) of each line of a page's characters."""
    lines: dict[int, list] = {}
    for char in page.chars:
        if char["size"] >= min_size and char["text"].strip():
            lines.setdefault(round(char["top"]), []).append(char)
    return [(top, max(c["x1"] for c in chars), "".join(c["text"] for c in sorted(chars, key=lambda c: c["x0"])))
            for top, chars in sorted(lines.items())]


def test_the_title_is_broken_on_purpose_and_never_leaves_a_word_alone(county_pdf):
    result, folder, _, _ = county_pdf
    with pdfplumber.open(folder / "report.pdf") as pdf:
        title = [text for _, _, text in page_lines(pdf.pages[0], min_size=18)]
    assert title == [plain(result.county_name), "义务教育优质均衡发展自评报告"], title
    assert title[-1] != "报告"


def test_the_report_is_signed_right_aligned_with_the_issuer_and_the_date(county_pdf):
    result, folder, _, _ = county_pdf
    issuer = plain(f"{result.county_name}人民政府")
    with pdfplumber.open(folder / "report.pdf") as pdf:
        for page in pdf.pages:
            lines = {text: right for _, right, text in page_lines(page)}
            if issuer in lines:
                break
        else:
            raise AssertionError("no 落款 in the PDF")
        assert "2026年12月1日" in lines
        text_right = page.width - 2.6 / 2.54 * 72  # the right margin of a portrait page
        for line in (issuer, "2026年12月1日"):
            assert lines[line] > page.width * 0.75 and lines[line] <= text_right + 1, (line, lines[line])
        assert abs(lines[issuer] - lines["2026年12月1日"]) < 2  # both lines end at the same place

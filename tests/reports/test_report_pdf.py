"""The PDF report: the Word document converted by LibreOffice, with Chinese text rendered (not
tofu boxes). Needs the Debian packages of scripts/install-system-deps.sh (LibreOffice,
poppler-utils, fonts-noto-cjk); the conversion runs once per module."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import builders
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
    docx = render_docx(build_county_report(result, dataset))
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

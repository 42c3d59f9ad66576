"""The printable sampling plan (XLSX, Word, PDF) and `junheng survey plan`."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook

from builders import COUNTY, YEAR, dataset as build, plain, run_junheng, school, school_year
from junheng.data.writer import write_dataset_csv
from junheng.reports.pdf import docx_to_pdf, find_soffice
from junheng.survey.plan_files import plan_docx, plan_pdf, plan_xlsx
from junheng.survey.sampling import SchoolRow, make_plan
from junheng.survey.settings import default_settings

HOSTILE = '=HYPERLINK("http://example.invalid","点此")'
ROSTER = [
    SchoolRow("s1", "城关第一小学", "primary", "urban", 1800, 0),
    SchoolRow("s2", "城关中学", "junior", "urban", 0, 1500),
    SchoolRow("s3", "河口镇中心学校", "primary", "town", 900, 0),
    SchoolRow("t1", "河口教学点", "teaching_point", "rural", 40, 0, "s3"),
    SchoolRow("s4", HOSTILE, "nine_year", "rural", 300, 200),
]


@pytest.fixture(scope="module")
def plan():
    return make_plan(county_code="990001", county_name="测试县", year=2024, population=420_000, schools=ROSTER,
                     settings=default_settings(), locale_shares={"urban": 0.3, "town": 0.3, "rural": 0.4})


def test_xlsx_summary_and_one_row_per_school(plan):
    wb = load_workbook(io.BytesIO(plan_xlsx(plan)))
    assert wb.sheetnames == ["汇总", "学校名额"]
    summary = wb["汇总"]
    assert summary["A1"].value == "测试县2024—2025 学年社会认可度调查抽样方案"
    facts = {summary.cell(r, 1).value: summary.cell(r, 2).value for r in range(3, 13)}
    assert facts["样本总量(人)"] == 630 and facts["常住人口(人)"] == 420_000
    texts = [c.value for row in summary.iter_rows() for c in row if isinstance(c.value, str)]
    assert "家长" in texts and "社会人士" in texts and "说明" in texts
    assert any("常住人口城乡比例" in t for t in texts)

    sheet = wb["学校名额"]
    header = [c.value for c in sheet[2]]
    assert header[:7] == ["序号", "学校标识码", "学校名称", "学校类型", "城乡分类", "在校生数", "可抽学生数(估算)"]
    assert "家长" in header and "学生:小学(3–6 年级)" in header and header[-1] == "所含教学点"
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    schools = [r for r in rows if r[1]]
    assert [r[1] for r in schools] == ["s1", "s2", "s3", "s4"]  # the teaching point counts with s3
    central = next(r for r in schools if r[1] == "s3")
    assert central[header.index("所含教学点")] == "河口教学点" and central[header.index("城乡分类")] == "镇区"
    assert central[header.index("学校类型")] == "小学"
    parents = header.index("家长")
    assert sum(r[parents] for r in schools) == plan.groups["parents"] == 315
    total = next(r for r in rows if r[2] == "合计")
    assert total[parents] == 315
    # printable: titles repeated, one page wide, landscape
    assert sheet.print_title_rows.replace("$", "") == "1:2"
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.orientation == "landscape"


def test_xlsx_cells_are_text_never_formulas(plan):
    wb = load_workbook(io.BytesIO(plan_xlsx(plan)))
    sheet = wb["学校名额"]
    cell = next(c for row in sheet.iter_rows() for c in row if c.value == HOSTILE)
    assert cell.data_type == "s" and cell.quotePrefix
    assert not any(c.data_type == "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row)


def test_docx_one_section_per_school(plan):
    from docx import Document

    document = Document(io.BytesIO(plan_docx(plan)))
    assert len(document.sections) == 1 + len(plan.schools)
    text = "\n".join(p.text for p in document.paragraphs)
    assert "测试县2024—2025 学年社会认可度调查抽样方案" in text
    for s in plan.schools:
        assert f"{s.school_name}社会认可度调查抽样任务单" in text
    assert "所含教学点:河口教学点" in text
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    central = next(s for s in plan.schools if s.school_id == "s3")
    assert str(central.quotas["parents"]) in cells


@pytest.mark.skipif(find_soffice() is None, reason="LibreOffice is not installed (scripts/install-system-deps.sh)")
def test_pdf_has_a_page_per_school(plan):
    pdfplumber = pytest.importorskip("pdfplumber")
    pdf = plan_pdf(plan, docx_to_pdf)
    assert pdf.startswith(b"%PDF")
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        pages = [plain(page.extract_text() or "") for page in document.pages]
    school_pages = [p for p in pages if "一、本校名额" in p]
    assert len(school_pages) == len(plan.schools)
    assert all("三、注意事项" in p for p in school_pages)  # each school's task sheet fits on its page
    assert any("河口镇中心学校社会认可度调查抽样任务单" in p for p in school_pages)
    assert any("城关中学" in p for p in pages[:2])


# ---------------------------------------------------------------- the command


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plan") / "data"
    schools = [school("A1", "primary", locale="urban"), school("B1", "junior", locale="rural"),
               school("C1", "nine_year", locale="town")]
    rows = [school_year("A1", "primary", students=900), school_year("B1", "junior", students=600),
            school_year("C1", "nine_year", students=300)]
    counties = [{"county_code": COUNTY, "county_name": "测试县", "resident_population": 500_000}]
    write_dataset_csv(build(schools, rows, counties=counties), folder)
    return folder


def test_command_writes_the_plan_as_json_and_xlsx(data_folder, tmp_path):
    out = tmp_path / "plan.json"
    done = run_junheng("survey", "plan", "--county", COUNTY, "--dataset", str(data_folder), "-o", str(out),
                       "--locale-shares", "urban=0.3,town=0.3,rural=0.4")
    assert done.returncode == 0, done.stderr
    assert "已生成抽样方案" in done.stdout and "正在生成抽样方案" in done.stderr
    doc = json.loads(out.read_text("utf-8"))
    assert doc["year"] == YEAR and doc["population"] == 500_000 and doc["total"] == 750  # 500000 × 1.5‰
    assert doc["locale_basis"] == "population"
    assert sum(s["quotas"]["parents"] for s in doc["schools"]) == doc["groups"]["parents"] == 375

    xlsx = tmp_path / "plan.xlsx"
    done = run_junheng("survey", "plan", "-c", COUNTY, "-d", str(data_folder), "-o", str(xlsx), "--population", "100000")
    assert done.returncode == 0, done.stderr
    summary = load_workbook(xlsx)["汇总"]
    facts = {summary.cell(r, 1).value: summary.cell(r, 2).value for r in range(3, 13)}
    assert facts["样本总量(人)"] == 600 and facts["常住人口(人)"] == 100_000


def test_command_errors_are_chinese(data_folder, tmp_path):
    bad = run_junheng("survey", "plan", "-c", COUNTY, "-d", str(data_folder), "-o", str(tmp_path / "plan.txt"))
    assert bad.returncode == 1 and ".xlsx" in bad.stderr and "Traceback" not in bad.stderr
    bad = run_junheng("survey", "plan", "-c", "123456", "-d", str(data_folder), "-o", str(tmp_path / "p.json"))
    assert bad.returncode == 1 and "没有县区代码为 123456" in bad.stderr
    bad = run_junheng("survey", "plan", "-c", COUNTY, "-d", str(data_folder), "-o", str(tmp_path / "p.json"),
                      "--locale-shares", "urban=0.9,rural=0.9")
    assert bad.returncode == 1 and "城乡比例之和" in bad.stderr
    bad = run_junheng("survey", "plan", "-c", COUNTY, "-d", str(data_folder), "-o", str(tmp_path / "p.json"), "-y", "2001")
    assert bad.returncode == 1 and "有数据的学年" in bad.stderr
    assert not (tmp_path / "p.json").exists()


def test_command_without_population_says_where_to_enter_it(tmp_path):
    folder = tmp_path / "data"
    write_dataset_csv(build([school("A1", "primary")], [school_year("A1", "primary")]), folder)
    bad = run_junheng("survey", "plan", "-c", COUNTY, "-d", str(folder), "-o", str(tmp_path / "p.xlsx"))
    assert bad.returncode == 1
    assert "常住人口" in bad.stderr and "resident_population" in bad.stderr and "--population" in bad.stderr
    assert not (tmp_path / "p.xlsx").exists()

"""The sampling plan to print: a workbook (a summary sheet and one row per school), and a Word
document (the county's summary, then one page per school to hand to its principal), the PDF
made from that document by the converter the caller passes (junheng.reports.pdf.docx_to_pdf:
the survey package does not import the reports package, which reads survey results).

    plan_xlsx(plan) -> bytes    plan_docx(plan) -> bytes    plan_pdf(plan, to_pdf) -> bytes

Every text cell of the workbook is stored as text (junheng.spreadsheets): a school named
"=HYPERLINK(…)" stays a name.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from junheng.data.catalog import catalog
from junheng.schoolyear import label as school_year_label
from junheng.survey.groups import group_label
from junheng.survey.sampling import COUNTY_GROUPS, LOCALE_LABELS, SCHOOL_GROUPS, SamplingPlan, SchoolQuota
from junheng.wordfiles import set_fonts

BASIS_LABELS = {"population": "按常住人口的城乡比例", "students": "按在校生的城乡分布(未给出常住人口城乡比例)"}
# what each school group is asked to do, on the school's page
SCHOOL_TASKS = {
    "parents": "在各年级、各班随机抽取(如按学号尾数),每户 1 人;含所属教学点的学生家长。",
    "students": "从 {grade} 年级起,按下表各年级段的名额在各班随机抽取。",
    "teachers": "在全体专任教师中随机抽取,兼顾学科、年龄和所属教学点。",
    "principals": "由校长本人填写。",
}


def _school_type(key: str) -> str:
    return catalog().school_type_label(key)


def _locale(key: str) -> str:
    return LOCALE_LABELS.get(key, key)


def _points(school: SchoolQuota) -> str:
    return "、".join(name for _, name in school.teaching_points)


# ---------------------------------------------------------------------------------------------
# XLSX


def plan_xlsx(plan: SamplingPlan) -> bytes:
    """The plan as a workbook: 汇总 (sizes, groups, locales, notes) and 学校名额 (one row per
    school with its quotas and grade bands), both printable (titles repeated, fit to width)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.page import PageMargins

    from junheng.spreadsheets import save_workbook

    bold = Font(bold=True)
    title_font = Font(bold=True, size=14)
    fill = PatternFill("solid", fgColor="D9D9D9")
    thin = Side(style="thin", color="808080")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")

    def printable(ws, columns: int, title_rows: str, landscape: bool) -> None:
        ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE if landscape else ws.ORIENTATION_PORTRAIT
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_rows = title_rows
        ws.print_area = f"A1:{get_column_letter(columns)}{ws.max_row}"
        ws.print_options.horizontalCentered = True
        ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.6, header=0.3, footer=0.3)
        ws.oddFooter.center.text = "第 &P 页,共 &N 页"

    def table(ws, row: int, header: list[str], rows: list[list]) -> int:
        for col, text in enumerate(header, start=1):
            cell = ws.cell(row, col, text)
            cell.font, cell.fill, cell.border = bold, fill, box
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for values in rows:
            row += 1
            for col, value in enumerate(values, start=1):
                cell = ws.cell(row, col, value)
                cell.border = box
        return row + 2

    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws.cell(1, 1, plan.title).font = title_font
    facts = [
        ("县区", f"{plan.county_name}({plan.county_code})"),
        ("学年", school_year_label(plan.year)),
        ("常住人口(人)", plan.population),
        ("抽样比例(‰)", plan.per_mille),
        ("最低样本量(人)", plan.minimum),
        ("样本总量(人)", plan.total),
        ("家长最低占比", f"{plan.parents_min_share * 100:g}%"),
        ("学生起始年级", plan.student_min_grade),
        ("城乡分配依据", BASIS_LABELS.get(plan.locale_basis, plan.locale_basis)),
        ("学校数(教学点并入中心校)", len(plan.schools)),
    ]
    for offset, (key, value) in enumerate(facts, start=3):
        ws.cell(offset, 1, key).font = bold
        ws.cell(offset, 2, value)
    row = 3 + len(facts) + 1
    group_rows = [[group_label(g), n, round(n / plan.total * 100, 1) if plan.total else 0,
                   "按学校" if g in SCHOOL_GROUPS else "全县统一"]
                  for g, n in plan.groups.items() if g in plan.active_groups]
    group_rows.append(["合计", plan.total, 100.0, ""])
    row = table(ws, row, ["人员类别", "名额(人)", "占比(%)", "抽取方式"], group_rows)
    locale_groups = [g for g in (*SCHOOL_GROUPS, "public") if g in plan.active_groups]
    locale_rows = [[_locale(b), round(plan.locale_shares.get(b, 0) * 100, 1),
                    *[plan.locales[b][g] for g in locale_groups], sum(plan.locales[b][g] for g in locale_groups)]
                   for b in plan.locales]
    row = table(ws, row, ["城乡分类", "比例(%)", *[group_label(g) for g in locale_groups], "合计"], locale_rows)
    ws.cell(row, 1, "说明").font = bold
    for note in plan.notes:
        row += 1
        ws.cell(row, 1, note).alignment = wrap
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=8)
        ws.row_dimensions[row].height = 15 * (1 + len(note) // 70)
    widths = [26, 14, 10, 10, 10, 10, 10, 10]
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    printable(ws, len(widths), "1:1", landscape=False)

    ws = wb.create_sheet("学校名额")
    bands = [b.label for b in plan.grade_bands]
    school_groups = [g for g in SCHOOL_GROUPS if g in plan.active_groups]
    header = ["序号", "学校标识码", "学校名称", "学校类型", "城乡分类", "在校生数", "可抽学生数(估算)",
              *[group_label(g) for g in school_groups], "合计", *[f"学生:{b}" for b in bands], "所含教学点"]
    ws.cell(1, 1, f"{plan.title}:各学校名额").font = title_font
    rows = [[k, s.school_id, s.school_name, _school_type(s.school_type), _locale(s.locale), s.students,
             round(s.eligible_students), *[s.quotas[g] for g in school_groups], s.total,
             *[s.grade_bands[b] for b in bands], _points(s)]
            for k, s in enumerate(plan.schools, start=1)]
    rows.append(["", "", "合计", "", "", sum(s.students for s in plan.schools),
                 round(sum(s.eligible_students for s in plan.schools)),
                 *[plan.groups[g] for g in school_groups], sum(s.total for s in plan.schools),
                 *[sum(s.grade_bands[b] for s in plan.schools) for b in bands], ""])
    end = table(ws, 2, header, rows) - 2
    for col in range(1, len(header) + 1):
        ws.cell(end, col).font = bold
    widths = [6, 14, 28, 14, 10, 10, 12, *[8] * len(school_groups), 8, *[12] * len(bands), 30]
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "D3"
    printable(ws, len(header), "1:2", landscape=True)

    out = io.BytesIO()
    save_workbook(wb, out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# DOCX and PDF

BODY_FONT = "仿宋"
TABLE_FONT = "宋体"
TITLE_FONT = "黑体"


def plan_docx(plan: SamplingPlan) -> bytes:
    """The plan as a Word document: the county's summary, then one section (a page) per school
    with its quotas, its students by grade band and what to do, to hand to its principal."""
    from docx import Document
    from docx.enum.section import WD_SECTION
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    document = Document()

    normal = document.styles["Normal"]
    normal.font.size = Pt(12)
    set_fonts(normal.element, BODY_FONT)
    normal.paragraph_format.space_after = Pt(3)
    normal.paragraph_format.line_spacing = 1.15

    def page(section) -> None:
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        section.top_margin = section.bottom_margin = Cm(2.2)
        section.left_margin = section.right_margin = Cm(2.2)

    def title(text: str, size: int = 16) -> None:
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.space_after = Pt(8)
        run = paragraph.add_run(text)
        run.bold = True
        run.font.size = Pt(size)
        set_fonts(run._element, TITLE_FONT)

    def heading(text: str) -> None:
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_before = Pt(6)
        paragraph.paragraph_format.keep_with_next = True
        run = paragraph.add_run(text)
        run.bold = True
        set_fonts(run._element, TITLE_FONT)

    def text(value: str, size: float | None = None) -> None:
        paragraph = document.add_paragraph()
        run = paragraph.add_run(value)
        if size:
            run.font.size = Pt(size)

    def grid(header: list[str], rows: list[list], widths: list[float]) -> None:
        t = document.add_table(rows=1 + len(rows), cols=len(header))
        t.style = "Table Grid"
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        t.autofit = False
        for column, width in zip(t.columns, widths):
            column.width = Cm(width)  # the grid's widths: what LibreOffice lays out by
        for r, values in enumerate([header, *rows]):
            trpr = t.rows[r]._tr.get_or_add_trPr()
            for tag in ("w:cantSplit", "w:tblHeader") if r == 0 else ("w:cantSplit",):
                flag = OxmlElement(tag)
                flag.set(qn("w:val"), "true")
                trpr.append(flag)
            for c, value in enumerate(values):
                cell = t.cell(r, c)
                cell.width = Cm(widths[c])
                paragraph = cell.paragraphs[0]
                paragraph.paragraph_format.space_after = Pt(0)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                run = paragraph.add_run("" if value is None else str(value))
                run.font.size = Pt(10.5)
                run.bold = r == 0
                set_fonts(run._element, TABLE_FONT)
        document.add_paragraph().paragraph_format.space_after = Pt(0)

    page(document.sections[0])
    header = document.sections[0].header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = header.add_run(plan.title)
    run.font.size = Pt(9)

    # the county's summary
    title(plan.title)
    text(f"{plan.county_name}({plan.county_code}),常住人口 {plan.population} 人,样本总量 {plan.total} 人;"
         f"{BASIS_LABELS.get(plan.locale_basis, plan.locale_basis)}分配城区、镇区、乡村的名额;"
         f"学生从 {plan.student_min_grade} 年级起抽取。")
    heading("一、各类人员名额")
    grid(["人员类别", "名额(人)", "占比", "抽取方式"],
         [[group_label(g), n, f"{n / plan.total * 100:.1f}%", "按学校" if g in SCHOOL_GROUPS else "全县统一"]
          for g, n in plan.groups.items() if g in plan.active_groups] + [["合计", plan.total, "100%", ""]],
         [4, 3, 3, 5])
    heading("二、城乡分布")
    locale_groups = [g for g in (*SCHOOL_GROUPS, "public") if g in plan.active_groups]
    grid(["城乡分类", "比例", *[group_label(g) for g in locale_groups], "合计"],
         [[_locale(b), f"{plan.locale_shares.get(b, 0) * 100:.1f}%", *[plan.locales[b][g] for g in locale_groups],
           sum(plan.locales[b][g] for g in locale_groups)] for b in plan.locales],
         [3, 2, *[1.8] * len(locale_groups), 1.8])
    county_wide = [g for g in COUNTY_GROUPS if g in plan.active_groups]
    if county_wide:
        heading("三、全县统一组织的名额")
        grid(["人员类别", "名额(人)", "说明"],
             [[group_label(g), plan.county_wide[g],
               ("其中" + "、".join(f"{_locale(b)} {n} 人" for b, n in plan.public_by_locale.items())
                if g == "public" else "由县教育行政部门统一组织")] for g in county_wide],
             [4, 3, 9])
    heading("四、各学校名额")
    school_groups = [g for g in SCHOOL_GROUPS if g in plan.active_groups]
    grid(["学校名称", "城乡", *[group_label(g) for g in school_groups], "合计"],
         [[s.school_name, _locale(s.locale), *[s.quotas[g] for g in school_groups], s.total] for s in plan.schools],
         [6, 2, *[1.8] * len(school_groups), 1.8])
    heading("说明")
    for number, note in enumerate(plan.notes, start=1):
        text(f"{number}. {note}", size=10.5)

    # one page per school
    for s in plan.schools:
        section = document.add_section(WD_SECTION.NEW_PAGE)
        page(section)
        title(f"{s.school_name}社会认可度调查抽样任务单", size=15)
        text(f"{plan.county_name}{school_year_label(plan.year)}  学校标识码:{s.school_id}  "
             f"{_school_type(s.school_type)}  {_locale(s.locale)}  在校生 {s.students} 人", size=10.5)
        if s.teaching_points:
            text(f"所含教学点:{_points(s)}(名额已并入本校,请在本校和教学点中统一抽取)", size=10.5)
        heading("一、本校名额")
        grid(["人员类别", "名额(人)", "抽取要求"],
             [[group_label(g), s.quotas[g], SCHOOL_TASKS[g].format(grade=plan.student_min_grade)]
              for g in school_groups] + [["合计", s.total, ""]],
             [3, 2.5, 11])
        if "students" in school_groups:
            heading("二、学生按年级段")
            bands = [[label, n] for label, n in s.grade_bands.items() if n]
            if bands:
                grid(["年级段", "学生名额(人)"], bands, [8, 4])
            else:
                text(f"本校没有学生名额({plan.student_min_grade} 年级及以上在校生较少)。", size=10.5)
        heading("三、注意事项")
        for line in ("调查不记名,不填写姓名、电话等个人信息;请向被调查者说明调查目的,由其独立作答,学校不得代填、诱导。",
                     "名额用满即止;未用满的名额请在调查结束前报县教育行政部门。"):
            text(line, size=10.5)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def plan_pdf(plan: SamplingPlan, to_pdf: Callable[[bytes], bytes]) -> bytes:
    """The Word document of the plan as PDF, converted by `to_pdf` (docx bytes → PDF bytes)."""
    return to_pdf(plan_docx(plan))


FORMATS = {".xlsx": "xlsx", ".docx": "docx", ".pdf": "pdf", ".json": "json"}
FORMAT_NAMES = {"xlsx": "Excel 工作簿", "docx": "Word 文档", "pdf": "PDF", "json": "JSON"}


def plan_format(path) -> str:
    """The format an output file's name asks for (.xlsx, .docx, .pdf, .json); else a Chinese error."""
    from pathlib import Path

    from junheng.survey.sampling import SamplingError

    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise SamplingError(f"输出文件 {path} 的扩展名应为 .xlsx、.pdf、.docx 或 .json")
    return fmt


def plan_bytes(plan: SamplingPlan, fmt: str, *, to_pdf: Callable[[bytes], bytes] | None = None) -> bytes:
    """The plan in `fmt`; a PDF needs `to_pdf` (junheng.reports.pdf.docx_to_pdf)."""
    if fmt == "json":
        import json

        return (json.dumps(plan.to_json(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if fmt == "pdf":
        if to_pdf is None:
            raise ValueError("a PDF needs a converter (to_pdf)")
        return plan_pdf(plan, to_pdf)
    return {"xlsx": plan_xlsx, "docx": plan_docx}[fmt](plan)

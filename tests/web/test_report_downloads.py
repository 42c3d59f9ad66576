"""Report downloads from the county dashboard and the overview (routes/reports.py): the files are
made from the same stored evaluation the page shows, scope-checked on the server, with the
Chinese file name in Content-Disposition, and a Chinese error page when something is missing.

The world: web_world's county 990001 (R2 fails: no backbone teachers in the primary units) and
county 990002, on SQLite and PostgreSQL (the `database` fixture)."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from urllib.parse import unquote

import openpyxl
import pandas as pd
import pytest
from docx import Document
from sqlalchemy import func, select
from web_world import COUNTY, OTHER_COUNTY, WEB_USERS, YEAR, WebWorld, seed_store, web_dataset, web_settings

from junheng.data.dataset import Dataset
from junheng.store import repo
from junheng.store.models import EvaluationRun, MonitorWarning

FAILING_UNITS = ("P1", "P2", "P3", "N1")
COUNTY_NAME = "测试县"


def report_dataset() -> Dataset:
    base = web_dataset()
    years = base.school_year.copy()
    years.loc[years["school_id"].isin(FAILING_UNITS), "backbone_teachers_primary"] = 0
    counties = pd.DataFrame([{"county_code": COUNTY, "county_name": COUNTY_NAME, "city": "测试市", "province": "测试省"},
                             {"county_code": OTHER_COUNTY, "county_name": "另一县", "city": "测试市",
                              "province": "测试省"}])
    return Dataset.from_frames(source="tests", schools=base.schools, school_year=years, county_year=base.county_year,
                               quality=base.quality, counties=counties)


@pytest.fixture
def world(database, tmp_path) -> WebWorld:
    seed_store(database, report_dataset(), WEB_USERS)
    return WebWorld(database, web_settings(database, tmp_path / "uploads"))


def filename_of(response) -> str:
    disposition = response.headers["content-disposition"]
    assert "filename*=UTF-8''" in disposition, disposition
    return unquote(disposition.split("filename*=UTF-8''", 1)[1])


def docx_text(content: bytes) -> str:
    document = Document(io.BytesIO(content))
    texts = [p.text for p in document.paragraphs]
    texts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(texts).replace("\uff1a", ":").replace("\u200b", "")


def run_count(world: WebWorld) -> int:
    with world.database.session() as s:
        return s.scalar(select(func.count()).select_from(EvaluationRun))


def test_county_admin_downloads_the_word_report_with_the_page_s_verdict(world):
    county = world.login("county")
    page = county.get(f"/counties/{COUNTY}?format=json").json()
    assert page["verdict"] == "fail"
    runs = run_count(world)
    response = county.get(f"/counties/{COUNTY}/report.docx?year={YEAR}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert filename_of(response) == f"{COUNTY_NAME}{YEAR}学年义务教育优质均衡发展自评报告.docx"
    text = docx_text(response.content)
    assert COUNTY_NAME in text
    assert f"自评结论:{page['verdict_label']}" in text
    assert page["verdict_label"] == "未达标"
    assert "R2" in text
    assert run_count(world) == runs  # the page's stored run, not a new evaluation


def test_the_workbook_and_the_html_view(world):
    county = world.login("county")
    response = county.get(f"/counties/{COUNTY}/report.xlsx")  # no year: the newest approved one
    assert response.status_code == 200, response.text
    assert filename_of(response).endswith(f"{YEAR}学年义务教育优质均衡发展自评报告.xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert {"学校资源配置明细", "四个方面", "差异系数"} <= set(workbook.sheetnames)
    html = county.get(f"/counties/{COUNTY}/report.html?year={YEAR}")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert html.headers["content-disposition"].startswith("inline;")
    assert COUNTY_NAME in html.text and "自评结论" in html.text


def test_the_dashboard_offers_the_downloads_for_the_shown_year(world):
    page = world.login("county").get(f"/counties/{COUNTY}?year={YEAR}").text
    for fmt in ("docx", "pdf", "xlsx", "html"):
        assert f'href="/counties/{COUNTY}/report.{fmt}?year={YEAR}"' in page
    overview = world.login("admin").get("/overview").text
    assert 'id="report-downloads"' in overview
    for fmt in ("docx", "pdf", "xlsx"):
        assert f'formaction="/overview/report.{fmt}"' in overview


@pytest.mark.parametrize("username", ["other_school", "school", "other_county"])
def test_who_cannot_read_the_county_gets_403(world, username):
    client = world.login(username)
    response = client.get(f"/counties/{COUNTY}/report.docx?year={YEAR}")
    assert response.status_code == 403
    assert "权限" in response.text
    assert "wordprocessingml" not in response.headers["content-type"]


def test_school_fillers_get_no_summary_either(world):
    response = world.login("other_school").get("/overview/report.xlsx")
    assert response.status_code == 403
    assert "没有可查看的县区" in response.text


@pytest.mark.parametrize("url,status,fragment", [
    (f"/counties/{COUNTY}/report.docx?year=2019", 400, "2019—2020 学年没有已审核的学校数据"),
    (f"/counties/{COUNTY}/report.docx?year=abc", 400, "学年“abc”有误"),
    (f"/counties/{COUNTY}/report.rtf", 400, "不支持的报告格式 rtf"),
    ("/counties/000000/report.docx", 404, "页面不存在"),
    ("/overview/report.docx?year=2019", 400, "2019—2020 学年都没有完整的已审核数据"),
])
def test_bad_requests_get_a_chinese_message(world, url, status, fragment):
    response = world.login("admin").get(url)
    assert response.status_code == status
    assert fragment in response.text
    assert "Traceback" not in response.text


def test_nothing_approved_is_a_message_not_a_file(world):
    world.set_status("Q1", "submitted")
    response = world.login("admin").get(f"/counties/{OTHER_COUNTY}/report.docx")
    assert response.status_code == 400
    assert "还没有已审核的学校数据" in response.text


def test_the_summary_covers_only_the_counties_the_viewer_can_read(world):
    everything = world.login("admin").get("/overview/report.xlsx")
    assert everything.status_code == 200, everything.text
    assert filename_of(everything) == f"测试市{YEAR}学年优质均衡发展评估汇总报告.xlsx"
    names = _overview_names(everything.content)
    assert names == [COUNTY_NAME, "另一县"]
    own = world.login("county").get(f"/overview/report.xlsx?year={YEAR}")
    assert own.status_code == 200
    assert _overview_names(own.content) == [COUNTY_NAME]
    word = world.login("admin").get("/overview/report.docx")
    assert word.status_code == 200
    text = docx_text(word.content)
    assert "测试市" in text and COUNTY_NAME in text and "另一县" in text


def _overview_names(content: bytes) -> list[str]:
    sheet = openpyxl.load_workbook(io.BytesIO(content))["总览"]
    return [row[1] for row in sheet.iter_rows(min_row=4, values_only=True) if row[1]]


def test_open_warnings_and_tasks_of_the_county_are_in_the_report(world):
    from junheng.monitor.tasks import create_task

    with world.database.session() as s:
        county = repo.county_by_code(s, COUNTY)
        create_task(s, COUNTY, title="补充小学骨干教师", indicator="R2", deadline=date(YEAR + 1, 8, 31))
        s.add(MonitorWarning(key="test-r2", county_id=county.id, kind="breach", rule_id="breach", severity="red",
                             indicator="R2", year=YEAR, title="R2 不达标", message="小学骨干教师数不达标"))
    response = world.login("county").get(f"/counties/{COUNTY}/report.docx?year={YEAR}")
    assert response.status_code == 200
    text = docx_text(response.content)
    assert "补充小学骨干教师" in text and "未办结的督办任务" in text
    assert "小学骨干教师数不达标" in text and "红色预警" in text


def test_without_libreoffice_the_pdf_is_a_503_page(world, monkeypatch, tmp_path):
    monkeypatch.setenv("JUNHENG_SOFFICE", str(tmp_path / "no-soffice"))
    response = world.login("county").get(f"/counties/{COUNTY}/report.pdf?year={YEAR}")
    assert response.status_code == 503
    assert "LibreOffice" in response.text and "Word" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_the_pdf_download_with_kai_headings(web_world):
    """One PDF (LibreOffice takes seconds): SQLite only; 楷体 headings in AR PL UKai."""
    from junheng.reports.pdf import find_soffice

    assert find_soffice(), "LibreOffice is not installed: run scripts/install-system-deps.sh"
    response = web_world.login("county").get(f"/counties/{COUNTY}/report.pdf?year={YEAR}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert filename_of(response).endswith("自评报告.pdf")
    pdffonts = shutil.which("pdffonts")
    if pdffonts:
        path = web_world.settings.uploads.parent / "report.pdf"
        path.write_bytes(response.content)
        fonts = subprocess.run([pdffonts, str(path)], capture_output=True, text=True, check=True).stdout
        assert "UKai" in fonts, fonts

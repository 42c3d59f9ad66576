"""`junheng report` and `junheng report-city` as a user meets them: a dataset folder or workbook
in, a report out; Chinese messages and a non-zero exit, never a traceback, on bad requests."""

from __future__ import annotations

import builders
import openpyxl
import pandas as pd
import pytest
from report_files import docx_tables, docx_text, open_docx, table_titled
from reports_helpers import assert_user_error, run_junheng

from junheng.data.writer import write_dataset_csv, write_dataset_xlsx
from junheng.demo.synthetic import generate_region


def two_counties():
    """The builders county plus a copy of it under another code and city."""
    base = builders.dataset()
    schools = base.schools.copy()
    other = schools.copy()
    other["school_id"] = "X" + other["school_id"]
    other["county_code"] = "990002"
    other["county_name"] = "另一县"
    school_year = base.school_year.copy()
    other_years = school_year.copy()
    other_years["school_id"] = "X" + other_years["school_id"]
    counties = pd.DataFrame({"county_code": [builders.COUNTY, "990002"], "county_name": ["测试县", "另一县"],
                             "city": ["测试市", "别的市"], "target_year": [2025, 2027]})
    county_year = pd.concat([base.county_year, base.county_year.assign(county_code="990002")])
    quality = pd.concat([base.quality, base.quality.assign(county_code="990002")])
    from junheng.data.dataset import Dataset

    return Dataset.from_frames(source="tests", schools=pd.concat([schools, other]),
                               school_year=pd.concat([school_year, other_years]), counties=counties,
                               county_year=county_year, quality=quality)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("report-cli")
    one, two = root / "one", root / "two"
    write_dataset_csv(builders.dataset(), one)
    write_dataset_csv(two_counties(), two)
    workbook = root / "数据.xlsx"
    write_dataset_xlsx(builders.dataset(), workbook)
    return root, one, two, workbook


def test_report_from_a_workbook_with_the_default_name(folders, tmp_path):
    _, _, _, workbook = folders
    done = run_junheng("report", str(workbook), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = list(tmp_path.glob("*.docx"))
    assert [p.name for p in written] == ["测试县2024学年义务教育优质均衡发展自评报告.docx"]
    text = docx_text(written[0].read_bytes())
    assert "自评结论:达标" in text


def test_report_format_follows_the_output_suffix(folders, tmp_path):
    _, one, _, _ = folders
    out = tmp_path / "报告.xlsx"
    done = run_junheng("report", str(one), "-o", str(out))
    assert done.returncode == 0, done.stderr
    workbook = openpyxl.load_workbook(out)
    assert {"学校资源配置明细", "四个方面", "差异系数"} <= set(workbook.sheetnames)


@pytest.mark.parametrize("arguments,fragments", [
    (["-f", "pdf", "-o", "x.docx"], ["扩展名", ".pdf"]),
    (["-o", "x.txt"], ["x.txt", "--format"]),
    (["-f", "rtf"], ["--format", "“rtf”不是可选值"]),
    (["--year", "1999"], ["1999"]),
])
def test_bad_report_requests_get_a_chinese_message(folders, tmp_path, arguments, fragments):
    _, one, _, _ = folders
    assert_user_error(run_junheng("report", str(one), *arguments, cwd=tmp_path), *fragments)


def test_report_asks_which_county_when_there_are_several(folders, tmp_path):
    _, _, two, _ = folders
    assert_user_error(run_junheng("report", str(two), cwd=tmp_path), "--county", builders.COUNTY, "990002")
    out = tmp_path / "另一县.docx"
    done = run_junheng("report", str(two), "--county", "990002", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "另一县" in docx_text(out.read_bytes())


def test_city_report_for_one_city_and_for_all(folders, tmp_path):
    _, _, two, _ = folders
    out = tmp_path / "测试市.docx"
    done = run_junheng("report-city", str(two), "--city", "测试市", "-o", str(out))
    assert done.returncode == 0, done.stderr
    rows = table_titled(docx_tables(out.read_bytes()), "各县区评估结果总览")
    assert [r[1] for r in rows[1:]] == ["测试县"]
    assert "计划2025年认定" in rows[1][6]
    everything = tmp_path / "全部.xlsx"
    assert run_junheng("report-city", str(two), "-o", str(everything)).returncode == 0
    sheet = openpyxl.load_workbook(everything)["总览"]
    names = [row[1] for row in sheet.iter_rows(min_row=4, values_only=True) if row[1]]
    assert names[:2] == ["测试县", "另一县"]
    assert_user_error(run_junheng("report-city", str(two), "--city", "没有的市"), "没有的市", "测试市", "别的市")


def test_city_report_has_one_page_per_county_and_their_failing_items(tmp_path):
    from junheng.engine.evaluate import evaluate_dataset
    from junheng.reports.api import city_report

    dataset = generate_region(5, seed=3)
    results = evaluate_dataset(dataset)
    report = city_report(results, "docx", dataset=dataset)
    data = report.content
    document = open_docx(data)
    breaks = document.element.body.xml.count('w:type="page"')
    assert breaks >= len(results)  # before 各县区情况 and between the counties
    rows = table_titled(docx_tables(data), "各县区评估结果总览")[1:]
    by_name = {r[1]: r for r in rows}
    for r in results:
        row = by_name[r.county_name]
        assert row[2] == r.verdict_label
        assert row[4] == ("、".join(r.failing_items()) or "无")
    assert len(document.inline_shapes) >= 1

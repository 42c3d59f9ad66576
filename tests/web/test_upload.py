"""Uploading a county's data: full validation, county scope, a preview of the differences, and
an all-or-nothing apply with every changed value audited."""

from __future__ import annotations

import builders
import io
import re
import zipfile

import openpyxl
import pytest
from web_world import COUNTY, YEAR

from junheng.data.importer import load_dataset
from junheng.data.writer import write_dataset_csv
from junheng.web.routes import upload as upload_routes

UPLOAD = f"/counties/{COUNTY}/upload"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook_of(client) -> openpyxl.Workbook:
    """The county's stored data as the page offers it for download (edit, then upload back)."""
    response = client.get(f"/counties/{COUNTY}/current-data.xlsx")
    assert response.status_code == 200 and response.headers["content-type"] == XLSX
    return openpyxl.load_workbook(io.BytesIO(response.content))


def set_cell(book, sheet: str, school: str, label: str, value) -> None:
    rows = book[sheet]
    header = [c.value for c in rows[1]]
    column = header.index(label) + 1
    for row in rows.iter_rows(min_row=2):
        if row[0].value == school:
            row[column - 1].value = value
            return
    raise KeyError(school)


def add_row(book, sheet: str, values: dict) -> None:
    rows = book[sheet]
    header = [c.value for c in rows[1]]
    rows.append([values.get(h) for h in header])


def as_bytes(book) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def send(client, content: bytes, name: str = "数据.xlsx", mime: str = XLSX):
    response = client.post(UPLOAD, files={"file": (name, content, mime)})
    return response


def preview_of(client, response):
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(rf"{UPLOAD}/[0-9a-f]{{32}}", location)
    page = client.get(location)
    assert page.status_code == 200
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', page.text)
    return location, page.text, fingerprint.group(1) if fingerprint else "none"


@pytest.fixture
def drafts(web_world):
    for code in ("P1", "P2"):
        web_world.set_status(code, "draft")
    return web_world


def test_a_file_with_errors_changes_nothing(drafts):
    county = drafts.login("county")
    book = workbook_of(county)
    set_cell(book, "学校年度数据", "P1", "小学在校生数", "一千")
    set_cell(book, "学校年度数据", "P2", "体育运动场馆面积", -5)
    set_cell(book, "学校年度数据", "P2", "小学县级及以上骨干教师数", 9999)
    before = drafts.snapshot()
    location, page, fingerprint = preview_of(county, send(county, as_bytes(book)))
    text = builders.plain(page)
    assert "数据校验未通过,共 3 个问题" in text and 'id="problems"' in page
    assert "学校年度数据 第2行 列“小学在校生数”:取值“一千”无效" in text
    assert "(school_year)" not in text and "(students_primary)" not in text  # the keys are the CLI's (CSV folders)
    assert "体育运动场馆面积" in page and "大于同一行" in page and "btn-apply" not in page
    response = county.post(f"{location}/apply", {"fingerprint": fingerprint})
    assert response.status_code == 409 and "未通过校验" in response.text
    assert drafts.snapshot() == before


def test_a_valid_file_applies_at_once_and_every_changed_value_is_audited(drafts):
    county = drafts.login("county")
    book = workbook_of(county)
    set_cell(book, "学校年度数据", "P1", "体育运动场馆面积", 17777.5)
    set_cell(book, "学校年度数据", "P2", "音乐专用教室数", 7)
    set_cell(book, "学校年度数据", "P2", "德育与校园文化建设评价", "优秀")
    add_row(book, "学校名录", {"学校标识码": "P9", "学校名称": "新建第九小学", "县区代码": COUNTY, "学校类型": "小学"})
    add_row(book, "学校年度数据", {"学校标识码": "P9", "学年": YEAR, "小学在校生数": 321, "小学班级数": 9})
    before = drafts.snapshot()
    location, page, fingerprint = preview_of(county, send(county, as_bytes(book)))
    assert 'id="diff"' in page and "新建第九小学" in page and "17777.5" in page and "优秀" in page
    assert "<b>7</b> 项取值不同" in page  # P1 1, P2 2, P9 school 2 (name, type), P9 year 2
    assert drafts.snapshot() == before  # a preview writes nothing
    applied = county.post(f"{location}/apply", {"fingerprint": fingerprint, "submit_after": "1"})
    assert applied.status_code == 303 and applied.headers["location"].endswith("msg=applied")
    assert drafts.school_year("P1").values["sports_area"] == 17777.5
    assert drafts.school_year("P2").values["music_rooms"] == 7
    assert drafts.school_year("P2").values["moral_rating"] == "excellent"
    new = drafts.school_year("P9")
    assert new.values == {"students_primary": 321, "classes_primary": 9}
    assert {drafts.school_year(c).status for c in ("P1", "P2", "P9")} == {"submitted"}
    entries = drafts.audit(via="upload")
    values = {(e.entity_key, e.field, e.old, e.new) for e in entries if e.field != "status"}
    assert values == {
        (f"P1/{YEAR}", "sports_area", before[("school_year", f"P1/{YEAR}")][0]["sports_area"], 17777.5),
        (f"P2/{YEAR}", "music_rooms", before[("school_year", f"P2/{YEAR}")][0]["music_rooms"], 7),
        (f"P2/{YEAR}", "moral_rating", "good", "excellent"),
        ("P9", "school_name", None, "新建第九小学"), ("P9", "school_type", None, "primary"),
        (f"P9/{YEAR}", "students_primary", None, 321), (f"P9/{YEAR}", "classes_primary", None, 9),
    }
    upload_id = location.rsplit("/", 1)[1]
    assert all(upload_id in e.note for e in entries) and all(e.user.username == "county" for e in entries)
    kept = sorted(p.name for p in drafts.settings.uploads.iterdir())
    assert kept == [f"{upload_id}.json", f"{upload_id}.parsed", f"{upload_id}.xlsx"]  # the file read once, kept
    again = county.get(location)
    assert "已应用" in again.text and "没有差异" in again.text
    assert county.post(f"{location}/apply", {"fingerprint": fingerprint}).status_code == 409
    assert "数据.xlsx" in county.get(UPLOAD).text  # listed among recent uploads


def test_a_file_touching_a_locked_row_changes_nothing(drafts):
    county = drafts.login("county")
    book = workbook_of(county)
    set_cell(book, "学校年度数据", "P1", "体育运动场馆面积", 18888)  # a draft: could change
    set_cell(book, "学校年度数据", "J1", "体育运动场馆面积", 19999)  # approved: locked
    before = drafts.snapshot()
    location, page, fingerprint = preview_of(county, send(county, as_bytes(book)))
    assert 'id="locked"' in page and f"J1/{YEAR}" in page and "已审核,已锁定" in builders.plain(page)
    response = county.post(f"{location}/apply", {"fingerprint": fingerprint})
    assert response.status_code == 409 and "没有应用任何数据" in response.text and f"J1/{YEAR}" in response.text
    assert drafts.snapshot() == before


def test_a_failure_inside_the_transaction_rolls_everything_back(drafts, monkeypatch):
    """Even past the lock check (the store refuses the locked row itself), nothing half-lands."""
    county = drafts.login("county")
    book = workbook_of(county)
    set_cell(book, "学校年度数据", "P1", "体育运动场馆面积", 18888)
    set_cell(book, "学校年度数据", "J1", "体育运动场馆面积", 19999)
    monkeypatch.setattr(upload_routes, "_locked", lambda session, changes, county: [])
    before = drafts.snapshot()
    location, page, fingerprint = preview_of(county, send(county, as_bytes(book)))
    response = county.post(f"{location}/apply", {"fingerprint": fingerprint})
    assert response.status_code == 409 and "已锁定" in response.text
    assert drafts.snapshot() == before


def test_rows_of_another_county_are_refused(drafts):
    county = drafts.login("county")
    book = workbook_of(county)
    add_row(book, "县区名录", {"县区代码": "990002", "县区名称": "邻县"})
    add_row(book, "学校名录", {"学校标识码": "X1", "学校名称": "外县学校", "县区代码": "990002", "学校类型": "小学"})
    add_row(book, "学校年度数据", {"学校标识码": "X1", "学年": YEAR, "小学在校生数": 100})
    add_row(book, "学校名录", {"学校标识码": "Q1", "学校名称": "改名", "县区代码": COUNTY, "学校类型": "小学"})
    before = drafts.snapshot()
    location, page, fingerprint = preview_of(county, send(county, as_bytes(book)))
    assert "不是本县区" in page and "已属于其他县区" in page and "btn-apply" not in page
    assert county.post(f"{location}/apply", {"fingerprint": fingerprint}).status_code == 409
    assert drafts.snapshot() == before


def test_a_year_not_begun_is_refused_at_the_preview(drafts):
    """`repo.check_year_open` (the clock is frozen at 2026-12-01: data up to 2027—2028 学年): the
    preview says so before 应用, which `repo.apply` would refuse anyway."""
    county = drafts.login("county")
    book = workbook_of(county)
    add_row(book, "学校年度数据", {"学校标识码": "P1", "学年": 2030, "小学在校生数": 100})
    before = drafts.snapshot()
    location, page, fingerprint = preview_of(county, send(county, as_bytes(book)))
    assert "2030—2031 学年尚未开始:只能填报到 2027—2028 学年" in builders.plain(page) and "btn-apply" not in page
    assert county.post(f"{location}/apply", {"fingerprint": fingerprint}).status_code == 409
    assert drafts.snapshot() == before


def test_a_county_absent_from_the_county_list_is_refused(drafts):
    """The same rule as `junheng check`: with a 县区名录, every county code named must be in it."""
    county = drafts.login("county")
    book = workbook_of(county)
    add_row(book, "学校名录", {"学校标识码": "X1", "学校名称": "外县学校", "县区代码": "990009", "学校类型": "小学"})
    before = drafts.snapshot()
    _, page, _ = preview_of(county, send(county, as_bytes(book)))
    assert "“990009”在县区名录中不存在" in page and "btn-apply" not in page
    assert drafts.snapshot() == before


def test_a_zip_of_csv_files_is_accepted(drafts, tmp_path):
    county = drafts.login("county")
    dataset = load_dataset(_saved(tmp_path, workbook_of(county)))
    dataset.school_year.loc[dataset.school_year["school_id"] == "P2", "training_funds"] = 65432.0
    folder = tmp_path / "csv"
    write_dataset_csv(dataset, folder)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in folder.iterdir():
            archive.write(file, f"县数据/{file.name}")  # in a folder, as people zip them
        archive.writestr("说明.txt", "不是数据")
    location, page, fingerprint = preview_of(county, send(county, buffer.getvalue(), "数据.zip", "application/zip"))
    assert "<b>1</b> 项取值不同" in page and "65432" in page and "说明.txt" in page  # ignored, with a note
    assert county.post(f"{location}/apply", {"fingerprint": fingerprint}).status_code == 303
    assert drafts.school_year("P2").values["training_funds"] == 65432.0


def _saved(tmp_path, book):
    path = tmp_path / "current.xlsx"
    book.save(path)
    return path


def test_the_preview_is_refused_when_the_store_changed_since(drafts):
    county = drafts.login("county")
    book = workbook_of(county)
    set_cell(book, "学校年度数据", "P1", "体育运动场馆面积", 18888)
    location, _, fingerprint = preview_of(county, send(county, as_bytes(book)))
    drafts.set_status("P2", "draft")
    version = re.search(r'name="version" value="(\d+)"', county.get(f"/schools/P1/years/{YEAR}").text).group(1)
    county.post(f"/schools/P1/years/{YEAR}", {"version": version, "sports_area": "1"})
    before = drafts.snapshot()
    response = county.post(f"{location}/apply", {"fingerprint": fingerprint})
    assert response.status_code == 409 and "已有变化" in response.text
    assert drafts.snapshot() == before


def test_upload_limits_types_and_access(drafts):
    county, school, other = drafts.login("county"), drafts.login("school"), drafts.login("other_county")
    before = drafts.snapshot()
    assert school.get(UPLOAD).status_code == 403
    assert school.post(UPLOAD, files={"file": ("a.xlsx", b"PK", XLSX)}).status_code == 403
    assert county.post(UPLOAD, files={"file": ("a.xlsx", b"PK", XLSX)}, csrf=False).status_code == 403
    assert send(county, b"a,b\n", "data.csv", "text/csv").status_code == 400
    bad = send(county, b"not a workbook at all", "data.xlsx")
    assert bad.status_code == 400 and "不是有效的" in bad.text
    big = send(county, b"0" * (drafts.settings.upload_limit_bytes + 1), "big.zip", "application/zip")
    assert big.status_code == 413 and "文件太大" in big.text
    assert not drafts.settings.uploads.exists() or not any(drafts.settings.uploads.iterdir())
    location, _, _ = preview_of(county, send(county, as_bytes(workbook_of(county))))
    assert "没有差异" in county.get(location).text
    upload_id = location.rsplit("/", 1)[1]
    assert other.get(f"/counties/990002/upload/{upload_id}").status_code == 404  # another county's file
    assert school.get(location).status_code == 403
    assert county.get(f"{UPLOAD}/..%2F..%2Fjunheng").status_code == 404
    assert county.get(f"{UPLOAD}/{'0' * 32}").status_code == 404
    assert drafts.snapshot() == before


# ---------------------------------------------------------------- issue 11: what an upload may change

def _set_county_attributes(book, values: dict) -> None:
    rows = book["县区名录"]
    header = [c.value for c in rows[1]]
    for row in rows.iter_rows(min_row=2):
        if row[0].value == COUNTY:
            for label, value in values.items():
                row[header.index(label)].value = value
            return
    raise KeyError(COUNTY)


ADMIN_ONLY = {"适用标准": "shandong", "通过基本均衡认定年份": 2015, "计划通过优质均衡认定年份": 2027,
              "已通过优质均衡认定年份": 2026}


def test_a_county_admin_cannot_change_the_county_attributes_by_upload(drafts):
    """Issue 11 #2: /admin/org/{code} refuses a county admin; an upload of 县区名录 must too."""
    county = drafts.login("county")
    assert county.get(f"/admin/org/{COUNTY}").status_code == 403  # the form: system admins only
    book = workbook_of(county)
    _set_county_attributes(book, ADMIN_ONLY)
    set_cell(book, "学校年度数据", "P1", "体育运动场馆面积", 17777.5)  # a draft the county admin may change
    before = drafts.snapshot()
    location, page, fingerprint = preview_of(county, send(county, as_bytes(book)))
    text = builders.plain(page)
    assert 'id="refused"' in page and "btn-apply" in page and "disabled" in page
    for label in ADMIN_ONLY:
        assert f"“{label}”" in text
    assert "只有系统管理员可以修改" in text
    response = county.post(f"{location}/apply", {"fingerprint": fingerprint})
    assert response.status_code == 403
    text = builders.plain(response.text)
    assert "没有应用任何数据" in text and all(label in text for label in ADMIN_ONLY)
    assert "Traceback" not in response.text
    assert drafts.snapshot() == before  # nothing landed: neither the attributes nor the school-year

    # what the system admin may change by form it may upload
    admin = drafts.login("admin")
    location, page, fingerprint = preview_of(admin, send(admin, as_bytes(book)))
    assert 'id="refused"' not in page
    assert admin.post(f"{location}/apply", {"fingerprint": fingerprint}).status_code == 303
    stored = drafts.snapshot()[("county", COUNTY)]
    assert stored[2:6] == ("shandong", 2015, 2027, 2026)


def test_a_county_admin_may_upload_a_file_that_leaves_the_county_attributes_alone(drafts):
    """The round trip of current-data.xlsx (its 县区名录 as stored) still applies."""
    county = drafts.login("county")
    book = workbook_of(county)
    set_cell(book, "学校年度数据", "P1", "体育运动场馆面积", 17777.5)
    location, page, fingerprint = preview_of(county, send(county, as_bytes(book)))
    assert 'id="refused"' not in page
    assert county.post(f"{location}/apply", {"fingerprint": fingerprint}).status_code == 303
    assert drafts.school_year("P1").values["sports_area"] == 17777.5


def _set_quality(book, subject: str, label: str, value) -> None:
    rows = book["质量监测"]
    header = [c.value for c in rows[1]]
    for row in rows.iter_rows(min_row=2):
        if row[header.index("学科")].value == subject:
            row[header.index(label)].value = value
            return
    raise KeyError(subject)


def test_quality_rows_of_an_approved_county_year_are_locked_for_uploads(drafts):
    """Issue 11 #3: quality rows are locked with their county-year (approved here, as imported)."""
    county = drafts.login("county")
    assert drafts.county_year().status == "approved"
    book = workbook_of(county)
    _set_quality(book, "语文", "校际差异率", 0.3)
    before = drafts.snapshot()
    location, page, fingerprint = preview_of(county, send(county, as_bytes(book)))
    text = builders.plain(page)
    assert 'id="locked"' in page and f"质量监测 {COUNTY}/{YEAR}/语文" in text and "已审核,已锁定" in text
    response = county.post(f"{location}/apply", {"fingerprint": fingerprint})
    assert response.status_code == 409 and "没有应用任何数据" in response.text
    assert drafts.snapshot() == before
    assert drafts.county_year().status == "approved"

    # reopened, the county-year and its quality rows take the upload
    assert county.post(f"/counties/{COUNTY}/years/{YEAR}/workflow", {"action": "reopen"}).status_code == 303
    location, page, fingerprint = preview_of(county, send(county, as_bytes(book)))
    assert 'id="locked"' not in page
    assert county.post(f"{location}/apply", {"fingerprint": fingerprint}).status_code == 303
    assert [e.new for e in drafts.audit(via="upload", entity="quality")] == [0.3]

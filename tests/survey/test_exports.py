"""Import of 问卷星's readable export (XLSX, CSV in UTF-8, UTF-8 with BOM and GB18030): the rows, the
answers as codes, blanks excluded, IP addresses hashed at once, and every bad row named by row and
column in one error with nothing returned."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import numpy as np
import openpyxl
import pytest

from junheng.survey import exports
from junheng.survey.exports import BLANK_CODE, SurveyImportError, load_mapping, read_export
from junheng.survey.privacy import keyed_hash, keyed_hasher
from junheng.survey.settings import SurveyFileError, load_settings

HEADER = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、您的身份是",
          "2、您对立德树人是否满意", "3、您对减负是否满意", "4、您的孩子在哪所学校"]
ROWS = [
    ["1", "2026/09/03 12:00:00", "120秒", "手机提交", "直接访问", "36.112.10.1(山东-济南)", "家长", "满意", "不满意", "城关小学"],
    ["2", "2026/09/03 12:05:30", "95秒", "微信", "N/A", "36.112.10.2(山东-济南)", "教师", "不了解", "(跳过)", ""],
    ["3", "2026/09/03 13:00:00", "2分10秒", "链接", "https://example.cn/x", "36.112.10.1(山东-济南)", "社会人士",
     "基本满意", "", "东关中学"],
]
MAPPING = """\
identity:
  column: "1、您的身份是"
  values: {家长: parents, 教师: teachers, 社会人士: public}
items: ["2、您对立德树人是否满意", "3、您对减负是否满意"]
school:
  column: "4、您的孩子在哪所学校"
  values: {城关小学: "140599001", 东关中学: "140599002"}
"""
KEY = "test-key"


def write_csv(path, rows, header=HEADER, encoding="utf-8"):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path, rows, header=HEADER):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        cells = list(row)
        cells[0] = int(cells[0])  # 问卷星's XLSX holds 序号 as a number and the time as a date
        cells[1] = datetime.strptime(cells[1], "%Y/%m/%d %H:%M:%S")
        sheet.append(cells)
    book.save(path)
    return path


@pytest.fixture
def mapping(tmp_path):
    path = tmp_path / "map.yaml"
    path.write_text(MAPPING, "utf-8")
    return load_mapping(path)


@pytest.fixture(scope="module")
def settings():
    return load_settings()


@pytest.mark.parametrize("kind", ["xlsx", "utf-8", "utf-8-sig", "gb18030"])
def test_a_good_export_is_read_whole(tmp_path, mapping, settings, kind):
    path = (write_xlsx(tmp_path / "答卷.xlsx", ROWS) if kind == "xlsx"
            else write_csv(tmp_path / "答卷.csv", ROWS, encoding=kind))
    got = read_export(path, mapping, settings, key=KEY)
    assert len(got) == 3 and got.items == mapping.items
    assert got.rows["row"].tolist() == [1, 2, 3]
    assert got.rows["seconds"].tolist() == [120.0, 95.0, 130.0]
    assert got.rows["submitted_at"].tolist()[1] == datetime(2026, 9, 3, 12, 5, 30)
    assert got.rows["group"].tolist() == ["parents", "teachers", "public"]
    assert got.rows["school_id"].tolist() == ["140599001", None, "140599002"]
    assert got.rows["source"].tolist() == ["手机提交", "微信", "链接"]
    # options by position on the scale; "(跳过)" and empty are blanks
    assert got.codes["2、您对立德树人是否满意"].tolist() == [0, 4, 2]
    assert got.codes["3、您对减负是否满意"].tolist() == [3, BLANK_CODE, BLANK_CODE]
    assert got.answer_text(1) == {"2、您对立德树人是否满意": "不了解", "3、您对减负是否满意": None}
    assert got.answered().tolist() == [2, 1, 1]


def test_ip_addresses_are_hashed_and_never_kept(tmp_path, mapping, settings):
    got = read_export(write_csv(tmp_path / "a.csv", ROWS), mapping, settings, key=KEY)
    hashes = got.rows["ip_hash"].tolist()
    assert hashes[0] == hashes[2] == keyed_hash(KEY, "36.112.10.1") and hashes[1] == keyed_hash(KEY, "36.112.10.2")
    assert keyed_hash("another key", "36.112.10.1") != hashes[0]
    for key in ("k", "钥匙", "x" * 100):  # the fast hasher is the same HMAC, short and long keys alike
        assert keyed_hasher(key)("36.112.10.1") == keyed_hash(key, "36.112.10.1")
    everything = repr(got.rows.to_dict()) + repr(got.codes.to_dict()) + repr(vars(got))
    assert "36.112" not in everything and "济南" not in everything and "example.cn" not in everything


def test_scoring_frames_leave_out_excluded_and_blank_answers(tmp_path, mapping, settings):
    got = read_export(write_csv(tmp_path / "a.csv", ROWS), mapping, settings, key=KEY)
    responses, answers = got.scoring_frames()
    assert responses.to_dict("list") == {"response_id": [1, 2, 3], "group": ["parents", "teachers", "public"],
                                         "school_id": ["140599001", None, "140599002"]}
    as_rows = sorted(zip(answers["response_id"], answers["item"].astype(str), answers["outcome"]))
    assert as_rows == [(1, "0", 1), (1, "1", 0), (3, "0", 1)]  # 2's 不了解 and both blanks absent
    kept, kept_answers = got.scoring_frames(np.array([True, False, False]))
    assert kept["response_id"].tolist() == [1] and kept_answers["response_id"].tolist() == [1, 1]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_bad_row_is_named_by_row_and_column_and_nothing_is_returned(tmp_path, mapping, settings, kind):
    rows = [list(r) for r in ROWS]
    rows[1][7] = "很好"
    path = write_xlsx(tmp_path / "坏.xlsx", rows) if kind == "xlsx" else write_csv(tmp_path / "坏.csv", rows)
    with pytest.raises(SurveyImportError) as caught:
        read_export(path, mapping, settings, key=KEY)
    message = caught.value.user_message()
    assert "有 1 处问题,未导入任何答卷" in message
    assert "第 3 行(序号 2)“2、您对立德树人是否满意”:“很好”不是答题选项,应为 满意、比较满意、基本满意、不满意、不了解 之一" in message


def test_every_kind_of_bad_row_is_listed_in_one_error(tmp_path, mapping, settings):
    rows = [list(r) for r in ROWS]
    rows[0][8] = "满意┋不满意"          # a multi-select answer in a scored item
    rows[1][0] = "1"                     # duplicate 序号
    rows[1][2] = "很快"                  # bad duration
    rows[2][1] = "2026/02/30 10:00:00"   # no such day
    rows[2][6] = "学生"                  # identity not in the mapping
    rows[2][9] = "西关小学"              # school not in the mapping
    path = write_csv(tmp_path / "坏.csv", rows)
    with pytest.raises(SurveyImportError) as caught:
        read_export(path, mapping, settings, key=KEY)
    message = caught.value.user_message()
    assert "有 6 处问题" in message
    for fragment in [
        "第 2 行(序号 1)“3、您对减负是否满意”:“满意┋不满意”是多选的答案",
        "第 3 行(序号 1)“序号”:序号 1 与第 2 行重复,应为每份答卷唯一的序号",
        "第 3 行(序号 1)“所用时间”:“很快”不是有效的用时,应为秒数(如 120秒)",
        "第 4 行(序号 3)“提交答卷时间”:“2026/02/30 10:00:00”不是有效的时间,应为 年/月/日 时:分:秒",
        "第 4 行(序号 3)“1、您的身份是”:“学生”不在对照文件的身份选项中,应为 家长、教师、社会人士 之一",
        "第 4 行(序号 3)“4、您的孩子在哪所学校”:“西关小学”不在对照文件的学校中",
    ]:
        assert fragment in message, message
    assert "36.112" not in message  # addresses never appear, not even in errors


def test_the_list_of_problems_is_capped_and_counted(tmp_path, mapping, settings):
    rows = [[str(i), "2026/09/03 12:00:00", "60秒", "", "", "", "家长", "太好了", "满意", ""] for i in range(1, 81)]
    with pytest.raises(SurveyImportError) as caught:
        read_export(write_csv(tmp_path / "多.csv", rows), mapping, settings, key=KEY)
    message = caught.value.user_message()
    assert "有 80 处问题" in message and "另有 30 处问题未列出" in message
    assert message.count("不是答题选项") == exports.MAX_LISTED


def test_a_missing_mapped_column_is_named_with_the_column_of_that_number(tmp_path, settings):
    path = tmp_path / "map.yaml"
    path.write_text(MAPPING.replace("2、您对立德树人是否满意", "2、您对立德树人满意吗"), "utf-8")
    with pytest.raises(SurveyImportError) as caught:
        read_export(write_csv(tmp_path / "a.csv", ROWS), load_mapping(path), settings, key=KEY)
    assert "缺少列 “2、您对立德树人满意吗”(文件中第 2 题的列是“2、您对立德树人是否满意”)" in caught.value.user_message()


def test_blank_identity_and_missing_metadata(tmp_path, mapping, settings):
    rows = [list(r) for r in ROWS]
    rows[0][6] = ""
    with pytest.raises(SurveyImportError, match=re.escape("第 2 行(序号 1)“1、您的身份是”:身份为空")):
        read_export(write_csv(tmp_path / "a.csv", rows), mapping, settings, key=KEY)
    header = [h if h != "所用时间" else "用时" for h in HEADER]
    with pytest.raises(SurveyImportError, match="缺少列 “所用时间”"):
        read_export(write_csv(tmp_path / "b.csv", ROWS, header=header), mapping, settings, key=KEY)


@pytest.mark.parametrize("content,fragment", [
    (b"", "文件是空的"),
    (b"\xff\xfe\xff\xff\x81\x30" * 10, "编码"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "旧版 Excel"),
])
def test_unreadable_files_are_refused(tmp_path, mapping, settings, content, fragment):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(SurveyImportError, match=fragment):
        read_export(path, mapping, settings, key=KEY)


def test_size_and_row_bounds(tmp_path, mapping, settings, monkeypatch):
    path = write_csv(tmp_path / "a.csv", ROWS)
    monkeypatch.setattr(exports, "MAX_FILE_BYTES", 100)
    with pytest.raises(SurveyImportError, match="超过上限"):
        read_export(path, mapping, settings, key=KEY)
    monkeypatch.setattr(exports, "MAX_FILE_BYTES", 10**9)
    monkeypatch.setattr(exports, "MAX_ROWS", 2)
    with pytest.raises(SurveyImportError, match="3 份答卷,超过上限 2"):
        read_export(path, mapping, settings, key=KEY)
    monkeypatch.setattr(exports, "MAX_ROWS", 10)
    monkeypatch.setattr(exports, "MAX_CELL_CHARS", 3)
    with pytest.raises(SurveyImportError, match="内容过长"):
        read_export(path, mapping, settings, key=KEY)


def test_a_ragged_csv_row_is_refused(tmp_path, mapping, settings):
    path = write_csv(tmp_path / "a.csv", [ROWS[0], ROWS[1][:5]])
    with pytest.raises(SurveyImportError, match="列数与表头"):
        read_export(path, mapping, settings, key=KEY)


def test_the_mapping_may_bring_its_own_scale(tmp_path, settings):
    path = tmp_path / "map.yaml"
    path.write_text(MAPPING + "options: [满意, 基本满意, 不满意]\nrecognising: [满意, 基本满意]\nexcluded: []\n", "utf-8")
    rows = [list(r) for r in ROWS]
    rows[1][7] = "不满意"
    got = read_export(write_csv(tmp_path / "a.csv", rows), load_mapping(path), settings, key=KEY)
    assert got.options == ["满意", "基本满意", "不满意"] and got.codes.iloc[:, 0].tolist() == [0, 2, 1]
    with pytest.raises(SurveyImportError, match="“比较满意”不是答题选项,应为 满意、基本满意、不满意 之一"):
        rows[2][7] = "比较满意"
        read_export(write_csv(tmp_path / "b.csv", rows), load_mapping(path), settings, key=KEY)


@pytest.mark.parametrize("text,fragments", [
    ("items: [a]\n", ["identity", "缺少必填的键"]),
    (MAPPING.replace("public", "aliens"), ["identity.values", "未知的人员类别 aliens"]),
    (MAPPING + "recognising: [很好]\noptions: [满意, 不满意]\n", ["recognising", "“很好”不是选项"]),
    (MAPPING.replace('items: ["2、', 'items: ["1、您的身份是", "2、'), ["items", "不能同时是计分题"]),
])
def test_a_bad_mapping_file_is_refused(tmp_path, text, fragments):
    path = tmp_path / "map.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(SurveyFileError) as caught:
        load_mapping(path)
    for fragment in ["map.yaml", *fragments]:
        assert fragment in caught.value.user_message()

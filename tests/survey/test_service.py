"""A stored survey scored, imported into and exported from the workspace (junheng.survey.service),
on SQLite and PostgreSQL: web responses (through the collection functions) and an imported 问卷星
export score to the pooled rate computed by hand; a bad import names the row and saves nothing;
the same rows are never imported twice; the response table keeps no IP hash, code or internal id
and a formula-like text stays text."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from fractions import Fraction as F

import builders
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from junheng.store import repo
from junheng.store.models import AuditEntry, SurveyCode, SurveyResponse
from junheng.survey import collection as c
from junheng.survey import service
from junheng.survey.exports import SurveyImportError, load_mapping
from junheng.survey.privacy import keyed_hash
from junheng.survey.questionnaire import default_questionnaires
from junheng.survey.settings import load_settings

SECRET = "test-secret"
FORMULA_NAME = '=HYPERLINK("http://x.example","点此")小学'
HEADER = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、您的身份是",
          "2、您对立德树人是否满意", "3、您对学校素质教育是否满意", "4、您对减负是否满意", "5、学校"]
# Imported rows by hand (1 recognising, 0 not, — excluded from the denominator):
#   序号 who  Q2 Q3 Q4            school   y x
#   1    家长 1  1  0 (不满意)     P1       2 3
#   2    家长 —  1  — (不了解, 跳过) J1     1 1
#   3    学生 4 秒 for 3 items → too fast, excluded
#   4    教师 0  0  1              (none)   1 3
ROWS = [
    ["1", "2026/09/03 12:00:00", "120秒", "手机提交", "", "61.135.1.1(北京-北京)", "家长", "满意", "满意", "不满意", "城关小学"],
    ["2", "2026/09/03 12:01:00", "80秒", "微信", "", "61.135.1.2", "家长", "不了解", "比较满意", "(跳过)", "东关中学"],
    ["3", "2026/09/03 12:02:00", "4秒", "微信", "", "61.135.1.3", "学生", "满意", "满意", "满意", "城关小学"],
    ["4", "2026/09/03 12:03:00", "75秒", "链接", "", "61.135.1.4", "教师", "不满意", "不满意", "满意", ""],
]
MAPPING = """\
identity:
  column: "1、您的身份是"
  values: {家长: parents, 教师: teachers, 学生: students}
items: ["2、您对立德树人是否满意", "3、您对学校素质教育是否满意", "4、您对减负是否满意"]
school:
  column: "5、学校"
  values: {城关小学: P1, 东关中学: J1}
"""
QUOTAS = (("parents", "P1", 2), ("parents", "J1", 5), ("teachers", None, 2), ("students", "P1", 5))
# Web responses: A (parents at P1) 满意 / 不满意 / 不了解 → y 1, x 2; B (a teacher) 满意 / 基本满意 → y 2, x 2.
# Pooled: y = 2 + 1 + 1 + 1 + 2 = 7 over x = 3 + 1 + 3 + 2 + 2 = 11.


def write_export(folder, rows=ROWS, name="答卷.csv"):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *rows])
    path = folder / name
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    return path


def mapping_file(folder, text=MAPPING):
    path = folder / "map.yaml"
    path.write_text(text, "utf-8")
    return load_mapping(path)


@pytest.fixture
def store(database):
    schools = [builders.school(i, t, **({"school_name": FORMULA_NAME} if i == "P1" else {}))
               for i, t in builders.default_schools()]
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(schools=schools), user=None, via="cli", note="测试数据")
    return database


def new_survey(s):
    survey = c.create_survey(s, builders.COUNTY, builders.YEAR, title="测试调查", questionnaires=default_questionnaires(),
                             settings=load_settings(None), user=None, via="cli")
    c.set_quotas(s, survey, [c.QuotaRow(*q) for q in QUOTAS])
    issued = c.issue_codes(s, survey, secret=SECRET)
    c.open_survey(s, survey, user=None, via="cli")
    return survey, issued


def answer(s, survey, issued, group, school, options, ip="10.0.0.9"):
    """One web response through the collection functions: the first scored items answered."""
    code = next(code for quota, code in issued if quota.group == group and
                (quota.school.code if quota.school is not None else None) == school)
    response = c.start_or_resume(s, survey, code, secret=SECRET, ip_hash=keyed_hash(SECRET, ip))
    q = c.questionnaire(survey, response.questionnaire)
    items = [item["id"] for item in c.shown_items(q) if item.get("scored", True)]
    c.save_answers(s, survey, response, dict(zip(items, options)))
    c.submit(s, survey, response, now=response.started_at + timedelta(seconds=90))
    return response, code


def test_web_and_imported_responses_score_to_the_pooled_rate_by_hand(store, tmp_path):
    with store.session() as s:
        survey, issued = new_survey(s)
        web_a, _ = answer(s, survey, issued, "parents", "P1", ["满意", "不满意", "不了解"])
        answer(s, survey, issued, "teachers", None, ["满意", "基本满意"], ip="10.0.0.10")
        summary = service.import_responses(s, survey, write_export(tmp_path), mapping_file(tmp_path), secret=SECRET,
                                           user=None, via="cli")
        assert (summary.rows, summary.number, summary.first_row, summary.last_row) == (4, 1, 1, 4)
        assert summary.groups == {"parents": 2, "students": 1, "teachers": 1} and summary.with_school == 3
        survey_id, a_questionnaire = survey.id, web_a.questionnaire
    with store.session() as s:
        survey = c.survey_by_id(s, survey_id)
        stored = s.scalars(select(SurveyResponse).where(SurveyResponse.source == "import")
                           .order_by(SurveyResponse.row)).all()
        assert [r.row for r in stored] == [1, 2, 3, 4] and stored[0].answers["4、您对减负是否满意"] == "不满意"
        assert "4、您对减负是否满意" not in stored[1].answers  # (跳过) is a blank: not kept
        assert stored[0].ip_hash == keyed_hash(SECRET, "61.135.1.1") and stored[3].school_id is None
        assert stored[0].submitted_at.replace(tzinfo=None).hour == 4  # 12:00 Beijing is 04:00 UTC
        record = service.imports_of(survey)[0]
        assert record["file"] == "答卷.csv" and record["rows"] == 4
        assert record["mapping"]["school"]["values"]["城关小学"] == "P1"
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "survey",
                                                                          AuditEntry.field == "import")) == 1

        result = service.score_survey(s, survey, user=None)
        data = result.result
        assert result.rate == pytest.approx(7 / 11) and data["overall"]["respondents"] == 5
        assert data["overall"]["answers"] == 11 and result.respondents == 5
        assert data["groups"]["parents"]["rate"] == pytest.approx(4 / 6)  # A 1/2, 序号 1 2/3, 序号 2 1/1
        assert data["groups"]["teachers"]["rate"] == pytest.approx(3 / 5)  # B 2/2, 序号 4 1/3
        assert "students" not in data["groups"] or data["groups"]["students"]["rate"] is None
        assert data["items"]["2、您对立德树人是否满意"] == pytest.approx(1 / 2)  # 序号 1 满意, 序号 4 不满意
        web_item = f"{a_questionnaire}/moral_education"
        assert data["items"][web_item] == 1.0 and data["item_labels"][web_item].startswith("您对本县(区)政府落实立德树人")
        assert data["item_labels"]["3、您对学校素质教育是否满意"] == "您对学校素质教育是否满意"
        assert data["excluded"] == [{"row": 3, "reason": data["excluded"][0]["reason"], "reason_code": "too_fast",
                                     "reasons": ["too_fast"], "excluded": True, "source": "import"}]
        assert "答题过快" in data["excluded"][0]["reason"]
        assert data["sources"] == {"web": 2, "import": 4} and data["counts"]["valid"] == 5
        assert data["survey"] == {"id": survey_id, "title": "测试调查", "year": builders.YEAR}
        assert data["school_names"] == {"J1": "测试学校J1", "P1": FORMULA_NAME}
        # the interval by hand: respondents as clusters, d_i = y_i − R x_i with R = 7/11
        y, x = [1, 2, 2, 1, 1], [2, 2, 3, 1, 3]
        r = F(7, 11)
        var = F(5, 4) * sum((F(a) - r * b) ** 2 for a, b in zip(y, x)) / F(11) ** 2
        se = float(var) ** 0.5
        assert data["overall"]["se"] == pytest.approx(se)
        assert result.ci_low == pytest.approx(7 / 11 - 1.959963984540054 * se)

        summary = service.result_summary(result)
        assert [g["key"] for g in summary["groups"]][:2] == ["teachers", "parents"]  # weakest first
        rates = [i["rate"] for i in summary["items"] if i["rate"] is not None]
        assert rates == sorted(rates) and summary["items"][0]["label"]
        assert summary["exclusions"] == [{"row": 3, "source": "import", "reason": data["excluded"][0]["reason"]}]
        assert summary["overall"]["ci"] == [result.ci_low, result.ci_high] and summary["applied"] is False
        # P1: 序号 1 2/3 and A 1/2 → 3/5; J1: 序号 2 1/1
        assert [(i["code"], i["name"], i["rate"]) for i in summary["schools"]] == [
            ("P1", FORMULA_NAME, pytest.approx(3 / 5)), ("J1", "测试学校J1", 1.0)]


def test_fixed_group_weights_come_from_the_frozen_settings(store, tmp_path):
    weights = tmp_path / "weights.yaml"
    weights.write_text("scoring: {group_weights: {parents: 0.5, teachers: 0.5}}\n", "utf-8")
    with store.session() as s:
        survey = c.create_survey(s, builders.COUNTY, builders.YEAR, title="权重", questionnaires=default_questionnaires(),
                                 settings=load_settings(weights), user=None, via="cli")
        rows = [r for r in ROWS if r[6] != "学生"]
        service.import_responses(s, survey, write_export(tmp_path, rows), mapping_file(tmp_path), secret=SECRET,
                                 user=None, via="cli")
        result = service.score_survey(s, survey, user=None)
        # parents (序号 1, 2) 3/4, teachers (序号 4) 1/3; no quotas: no quota check
        assert result.result["weighted"] is True
        assert result.rate == pytest.approx(0.5 * 3 / 4 + 0.5 * 1 / 3)


@pytest.mark.parametrize("change, words", [
    ((1, 10, "西关小学"), ["序号 2", "5、学校", "西关小学"]),
    ((3, 7, "非常好"), ["序号 4", "2、您对立德树人是否满意", "非常好"]),
])
def test_a_bad_row_is_named_and_nothing_is_saved(store, tmp_path, change, words):
    position, column, value = change
    rows = [list(r) for r in ROWS]
    rows[position][column] = value
    with store.session() as s:
        survey, _ = new_survey(s)
        survey_id = survey.id
    with pytest.raises(SurveyImportError) as caught:
        with store.session() as s:
            service.import_responses(s, c.survey_by_id(s, survey_id), write_export(tmp_path, rows),
                                     mapping_file(tmp_path), secret=SECRET, user=None, via="cli")
    message = builders.plain(str(caught.value))
    assert all(w in message for w in words) and "未导入任何答卷" in message
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 0
        assert service.imports_of(c.survey_by_id(s, survey_id)) == []


def test_a_school_code_outside_the_county_names_the_row(store, tmp_path):
    mapping = mapping_file(tmp_path, MAPPING.replace("东关中学: J1", "东关中学: X99"))
    with store.session() as s:
        survey, _ = new_survey(s)
        with pytest.raises(service.SurveyServiceError) as caught:
            service.import_responses(s, survey, write_export(tmp_path), mapping, secret=SECRET, user=None, via="cli")
        message = builders.plain(str(caught.value))
        assert "序号 2" in message and "X99" in message and "未导入任何答卷" in message
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 0


def test_the_same_rows_are_never_imported_twice_and_a_closed_survey_refuses(store, tmp_path):
    with store.session() as s:
        survey, _ = new_survey(s)
        export = write_export(tmp_path)
        service.import_responses(s, survey, export, mapping_file(tmp_path), secret=SECRET, user=None, via="cli")
        with pytest.raises(service.SurveyServiceError, match="不能重复导入"):
            service.import_responses(s, survey, export, mapping_file(tmp_path), secret=SECRET, user=None, via="cli")
        # another file with two rows already there (序号 2 and 4) and a new one (序号 9)
        other = write_export(tmp_path, [ROWS[1], ROWS[3], ["9", *ROWS[0][1:]]], name="第二批.csv")
        with pytest.raises(service.SurveyServiceError) as caught:
            service.import_responses(s, survey, other, mapping_file(tmp_path), secret=SECRET, user=None, via="cli")
        assert "序号 2、4 的答卷已导入本调查" in builders.plain(str(caught.value))
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 4
        fresh = write_export(tmp_path, [["9", *ROWS[0][1:]]], name="第三批.csv")
        assert service.import_responses(s, survey, fresh, mapping_file(tmp_path), secret=SECRET, user=None,
                                        via="cli").number == 2
        c.close_survey(s, survey, user=None, via="cli")
        late = write_export(tmp_path, [["10", *ROWS[0][1:]]], name="第四批.csv")
        with pytest.raises(service.SurveyServiceError, match="已结束"):
            service.import_responses(s, survey, late, mapping_file(tmp_path), secret=SECRET, user=None, via="cli")
        assert s.scalar(select(func.count()).select_from(SurveyResponse)) == 5


def test_the_response_table_is_anonymised_and_formula_like_text_stays_text(store, tmp_path):
    with store.session() as s:
        survey, issued = new_survey(s)
        web, code = answer(s, survey, issued, "parents", "P1", ["满意", "不满意", "不了解"])
        service.import_responses(s, survey, write_export(tmp_path), mapping_file(tmp_path), secret=SECRET,
                                 user=None, via="cli")
        hashes = {h for h in s.scalars(select(SurveyResponse.ip_hash)) if h}
        code_hashes = set(s.scalars(select(SurveyCode.code_hash)))
        columns, rows = service.responses_table(s, survey)
    assert columns[:6] == ["序号", "来源", "人员类别", "学校", "提交时间(北京时间)", "用时(秒)"]
    assert columns[-2:] == ["是否排除", "排除原因"] and "您对学校素质教育是否满意" in columns
    assert [(r[0], r[1]) for r in rows] == [(1, "导入"), (2, "导入"), (3, "导入"), (4, "导入"), (1, "网页")]
    assert rows[0][3] == FORMULA_NAME and rows[0][4] == "2026-09-03 12:00:00" and rows[0][2] == "家长"
    assert rows[2][-2] == "是" and "答题过快" in rows[2][-1] and rows[0][-2] == "否"
    web_row = rows[4]
    assert web_row[columns.index(c.questionnaire(survey, web.questionnaire)["items"][1]["text"])] == "满意"
    cells = {str(v) for r in rows for v in r} | set(columns)
    secrets_seen = (hashes | code_hashes | {code}) & cells
    assert not secrets_seen and not any("61.135" in v for v in cells)
    assert "ip_hash" not in " ".join(columns) and "id" not in [col.lower() for col in columns]

    service.write_responses(tmp_path / "答卷表.csv", columns, rows)
    raw = (tmp_path / "答卷表.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    read = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert read[0] == columns and read[1][3] == "'" + FORMULA_NAME
    service.write_responses(tmp_path / "答卷表.xlsx", columns, rows)
    sheet = load_workbook(tmp_path / "答卷表.xlsx").active
    cell = sheet.cell(row=2, column=4)
    assert cell.value == FORMULA_NAME and cell.data_type == "s"
    with pytest.raises(service.SurveyServiceError, match=".csv 或 .xlsx"):
        service.write_responses(tmp_path / "答卷表.pdf", columns, rows)


def test_a_survey_without_submitted_responses_is_refused(store):
    with store.session() as s:
        survey, _ = new_survey(s)
        with pytest.raises(service.SurveyServiceError, match="还没有已提交的答卷"):
            service.score_survey(s, survey, user=None)

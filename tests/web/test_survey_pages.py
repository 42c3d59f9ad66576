"""The survey pages for bureau staff (junheng.web.routes.surveys): a county's surveys and one
survey's page with its actions, as a county admin, a viewer (reads only), a school filler and
another county's admin (refused); the whole way from creating a survey from the sampling plan to
the county's evaluation naming the survey as the source of its social recognition value; a bad
问卷星 export refused in Chinese with nothing saved; the code sheet download is the issuance and
its codes answer on /s/<key>; hostile text escaped.

The world is tests/web/web_world.py: county 990001 (P1, P2, P3, J1, J2, N1; 2024 approved) and
990002 (Q1); users county (county_admin of 990001), viewer (of 990001), school (filler of P1),
other_county (county_admin of 990002), admin."""

from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import timedelta

import openpyxl
import pytest
from builders import plain
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from web_world import COUNTY, YEAR

from junheng.store import repo
from junheng.store.models import Survey, SurveyCode, SurveyResponse, SurveyResult
from junheng.survey import collection
from junheng.survey.groups import GROUP_LABELS, GROUPS
from junheng.survey.questionnaire import default_questionnaires
from junheng.survey.settings import load_settings

SECRET = "test-secret"  # web_world's workspace secret
BASE = "http://survey.example.test"
HOSTILE = "<script>alert(1)</script>"
MAPPING = """\
identity:
  column: "1、您的身份是"
  values: {家长: parents, 教师: teachers, 社会人士: public}
items: ["2、您对立德树人是否满意", "3、您对减负是否满意"]
"""
EXPORT_HEADER = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "1、您的身份是",
                 "2、您对立德树人是否满意", "3、您对减负是否满意"]
EXPORT_ROWS = [
    ["1", "2024/11/03 12:00:00", "120秒", "手机提交", "直接访问", "36.112.10.1(山东-济南)", "家长", "满意", "不满意"],
    ["2", "2024/11/03 12:05:30", "95秒", "微信", "N/A", "36.112.10.2(山东-济南)", "教师", "不了解", "满意"],
    ["3", "2024/11/03 13:00:00", "2分10秒", "链接", "N/A", "36.112.10.3(山东-济南)", "社会人士", "基本满意", "满意"],
]


def export_csv(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([EXPORT_HEADER, *rows])
    return buffer.getvalue().encode("utf-8")


def set_population(world, population: int | None = 400_000, code: str = COUNTY) -> None:
    with world.database.session() as s:
        repo.county_by_code(s, code).resident_population = population


def count(world, model) -> int:
    with world.database.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def create(client, title: str = "") -> int:
    response = client.post(f"/counties/{COUNTY}/surveys", {"year": str(YEAR), "title": title})
    assert response.status_code == 303, plain(response.text)
    match = re.fullmatch(r"/surveys/(\d+)\?msg=created", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


def issue(client, survey_id: int, **form) -> dict[str, list[str]]:
    """Download the code sheet (XLSX): group → plain codes."""
    response = client.post(f"/surveys/{survey_id}/codes", {"base_url": BASE, "format": "xlsx", **form})
    assert response.status_code == 200, plain(response.text)
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    group_of = {label: g for g, label in GROUP_LABELS.items()}
    codes: dict[str, list[str]] = {}
    for row in list(sheet.iter_rows(values_only=True))[3:]:
        code, label, _school, link = row
        assert link.startswith(f"{BASE}/s/") and link.endswith(code.replace("-", ""))
        codes.setdefault(group_of[label], []).append(code)
    return codes


def answer(world, survey_id: int, code: str, answers_of) -> None:
    """One respondent through the collection functions: start, answer (`answers_of(items)` →
    {item id: option}), submit ten minutes later (not too fast)."""
    with world.database.session() as s:
        survey = collection.survey_by_id(s, survey_id)
        response = collection.start_or_resume(s, survey, code, secret=SECRET)
        q = collection.questionnaire(survey, response.questionnaire)
        items = [i["id"] for i in collection.shown_items(q) if i.get("scored", True)]
        started = response.started_at
        collection.submit(s, survey, response, answers_of(items), now=started + timedelta(minutes=10))


def page_json(client, url: str) -> dict:
    response = client.get(url + ("&" if "?" in url else "?") + "format=json")
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------- creating


def test_a_county_without_its_population_is_refused_saying_where_to_enter_it(web_world):
    set_population(web_world, None)
    client = web_world.login("county")
    response = client.post(f"/counties/{COUNTY}/surveys", {"year": str(YEAR), "title": ""})
    assert response.status_code == 400
    text = plain(response.text)
    assert "调查没有创建" in text and "常住人口" in text and "「管理」" in text
    assert count(web_world, Survey) == 0


def test_a_bad_year_is_refused_in_chinese(web_world):
    set_population(web_world)
    client = web_world.login("county")
    response = client.post(f"/counties/{COUNTY}/surveys", {"year": "二〇二四", "title": ""})
    assert response.status_code == 400 and "学年" in plain(response.text) and "有误" in plain(response.text)
    assert count(web_world, Survey) == 0


# ---------------------------------------------------------------- the whole way


def test_create_open_collect_compute_apply_and_the_evaluation_names_the_survey(web_world):
    set_population(web_world)
    client = web_world.login("county")
    listing = client.get(f"/counties/{COUNTY}")
    assert f'href="/counties/{COUNTY}/surveys"' in listing.text  # the county page links its surveys
    assert 'id="create-survey"' in client.get(f"/counties/{COUNTY}/surveys").text
    survey_id = create(client)

    page = client.get(f"/surveys/{survey_id}?msg=created")
    assert page.status_code == 200
    text = plain(page.text)
    assert "已创建调查" in text and "未开放" in text and "名额进度" in text and "家长" in text
    for key in GROUPS:  # no internal group keys on the page
        assert f">{key}<" not in page.text
    data = page_json(client, f"/surveys/{survey_id}")
    total = data["progress"]["total"]
    assert total["planned"] == 600 and total["submitted"] == 0  # 1.5‰ of 400,000, at least 600
    parents = next(g for g in data["progress"]["groups"] if g["group"] == "家长")
    assert parents["planned"] >= 300  # parents at least half
    assert {s["school"] for s in data["progress"]["schools"]} >= {"全县"}

    # downloads of the plan the quotas came from
    plan = client.get(f"/surveys/{survey_id}/plan.xlsx")
    assert plan.status_code == 200 and plan.headers["content-type"].startswith("application/vnd.openxmlformats")
    openpyxl.load_workbook(io.BytesIO(plan.content))

    assert client.post(f"/surveys/{survey_id}/open").status_code == 303
    assert page_json(client, f"/surveys/{survey_id}")["status"] == "open"

    codes = issue(client, survey_id)
    assert sum(len(v) for v in codes.values()) == 600
    with web_world.database.session() as s:
        assert s.scalar(select(func.count()).select_from(SurveyCode)) == 600
        assert not s.scalar(select(func.count()).select_from(SurveyCode).where(  # only hashes are stored
            SurveyCode.code_hash.in_([c.replace("-", "") for c in codes["parents"]])))
    again = client.post(f"/surveys/{survey_id}/codes", {"base_url": BASE, "format": "xlsx"})
    assert again.status_code == 409 and "都已生成访问码" in plain(again.text)
    assert count(web_world, SurveyCode) == 600

    # the codes answer on the public page /s/<key>
    with web_world.database.session() as s:
        key = collection.survey_by_id(s, survey_id).public_key
    public = TestClient(web_world.app())
    first = codes["parents"][0]
    assert f'value="{first}"' in public.get(f"/s/{key}?c={first}").text
    started = public.post(f"/s/{key}/start", data={"code": first}, follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"] == f"/s/{key}"
    assert 'id="survey-form"' in public.get(f"/s/{key}").text

    # ten parents (one item not recognised each), five teachers (all recognised)
    counted = recognising = 0
    for code in codes["parents"][1:11]:
        def parent(items):
            return {item: ("不满意" if n == 0 else "满意") for n, item in enumerate(items)}
        answer(web_world, survey_id, code, parent)
    for code in codes["teachers"][:5]:
        answer(web_world, survey_id, code, lambda items: {item: "比较满意" for item in items})
    with web_world.database.session() as s:
        for r in s.scalars(select(SurveyResponse).where(SurveyResponse.submitted_at.is_not(None))):
            for item, option in r.answers.items():
                if item == "identity":
                    continue
                counted += 1
                recognising += option != "不满意"
    assert page_json(client, f"/surveys/{survey_id}")["progress"]["total"]["submitted"] == 15

    assert client.post(f"/surveys/{survey_id}/score").status_code == 303
    data = page_json(client, f"/surveys/{survey_id}")
    summary = data["result"]["summary"]
    assert summary["overall"]["rate"] == pytest.approx(recognising / counted)
    assert summary["overall"]["respondents"] == 15 and summary["overall"]["ci"] is not None
    assert [g["label"] for g in summary["groups"]] == ["家长", "教师"]  # weakest first
    society = default_questionnaires()["society"]
    disliked = next(i for i in society.items if i.scored).text
    assert summary["items"][0]["rate"] == 0 and summary["items"][0]["label"] == disliked  # every parent disliked it
    assert summary["items"][-1]["rate"] == 1
    assert summary["exclusions"] == []
    html = client.get(f"/surveys/{survey_id}")
    text = plain(html.text)
    assert "各类人员(认可度由低到高)" in text and "置信区间" in text and 'class="rate-bar"' in html.text
    assert "排除的答卷(0 份)" in text
    assert re.search(r'id="overall-rate">\d+\.\d{2}%<', html.text)

    # still open: the result rests on the answers so far, so it is not offered and refused if asked for
    assert 'id="apply-form"' not in html.text and "仍在进行中" in plain(html.text)
    assert data["applicable"] is False and "仍在进行中" in data["not_applicable_because"]
    before = web_world.county_year().values["social_recognition_rate"]
    partial = client.post(f"/surveys/{survey_id}/apply", {"result_id": str(data["result"]["id"])})
    assert partial.status_code == 409 and "仍在进行中" in plain(partial.text)
    assert client.post(f"/surveys/{survey_id}/close").status_code == 303
    closed = page_json(client, f"/surveys/{survey_id}")  # the result was computed before the close
    assert closed["applicable"] is False and "重新计算" in closed["not_applicable_because"]
    assert client.post(f"/surveys/{survey_id}/score").status_code == 303
    data = page_json(client, f"/surveys/{survey_id}")
    assert data["applicable"] is True and data["result"]["summary"]["overall"]["respondents"] == 15
    assert 'id="apply-form"' in client.get(f"/surveys/{survey_id}").text

    # the county-year is approved (locked): refused in Chinese, nothing changed
    refused = client.post(f"/surveys/{survey_id}/apply", {"result_id": str(data["result"]["id"])})
    assert refused.status_code == 409
    assert "已锁定" in plain(refused.text) and "重新开放" in plain(refused.text)
    assert f'href="/counties/{COUNTY}/years/{YEAR}"' in refused.text  # where to reopen it
    assert web_world.county_year().values["social_recognition_rate"] == before
    # reopened, applied, submitted and approved again through the county-year workflow
    assert client.post(f"/counties/{COUNTY}/years/{YEAR}/workflow", {"action": "reopen"}).status_code == 303
    assert client.post(f"/surveys/{survey_id}/apply", {"result_id": str(data["result"]["id"])}).status_code == 303
    assert web_world.county_year().values["social_recognition_rate"] == pytest.approx(recognising / counted * 100)
    version = web_world.county_year().version  # 保存并定稿: the county admin's own data, submitted and approved
    locked = client.post(f"/counties/{COUNTY}/years/{YEAR}", {"action": "lock", "version": str(version)})
    assert locked.status_code == 303, plain(locked.text)
    assert web_world.county_year().status == "approved"
    assert [e for e in web_world.audit(entity="county_year", field="social_recognition_rate") if e.via == "form"]

    # the evaluation uses the figure and says where it came from
    evaluation = page_json(client, f"/counties/{COUNTY}?year={YEAR}")
    items = evaluation["areas"]["social_recognition"]["indicators"]
    item = next(iter(items.values()))
    assert item["value"] == pytest.approx(recognising / counted * 100)
    source = item["sources"]["social_recognition_rate"]
    assert source["kind"] == "survey" and source["details"]["survey_id"] == survey_id
    assert "数据来源:问卷调查" in plain(item["explanation"])
    listing = page_json(client, f"/counties/{COUNTY}/surveys")
    assert listing["surveys"][0]["standing"]["state"] == "current"
    assert "是(当前取值来自本调查)" in plain(client.get(f"/counties/{COUNTY}/surveys").text)
    page = client.get(f"/surveys/{survey_id}").text  # the applied result offers no second apply
    assert 'id="apply-current"' in page and 'id="apply-form"' not in page

    # the anonymised response table
    table = client.get(f"/surveys/{survey_id}/responses.csv")
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["序号", "来源", "人员类别"] and len(rows) == 16
    assert not re.search(r"\b[0-9a-f]{64}\b", table.content.decode("utf-8-sig"))  # no address hashes
    assert all(code not in table.text for code in codes["parents"])
    book = client.get(f"/surveys/{survey_id}/responses.xlsx")
    assert book.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(book.content)).active.max_row == 16

    assert client.post(f"/surveys/{survey_id}/close").status_code == 303
    assert page_json(client, f"/surveys/{survey_id}")["status"] == "closed"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_the_code_sheet_and_the_plan_as_pdf(web_world):
    set_population(web_world)
    client = web_world.login("county")
    survey_id = create(client)
    sheet = client.post(f"/surveys/{survey_id}/codes", {"base_url": BASE, "format": "pdf"})
    assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF")
    assert count(web_world, SurveyCode) == 600
    plan = client.get(f"/surveys/{survey_id}/plan.pdf")
    assert plan.status_code == 200 and plan.content.startswith(b"%PDF")


def test_a_bad_base_url_issues_no_codes(web_world):
    set_population(web_world)
    client = web_world.login("county")
    survey_id = create(client)
    for url in ("survey.example.test", "javascript:alert(1)", "https://a.test/?x=1", "http://" + "a" * 300):
        response = client.post(f"/surveys/{survey_id}/codes", {"base_url": url, "format": "xlsx"})
        assert response.status_code == 400 and "调查网站地址" in plain(response.text)
    assert count(web_world, SurveyCode) == 0


# ---------------------------------------------------------------- import


def test_a_bad_export_is_refused_in_chinese_and_nothing_is_saved(web_world):
    set_population(web_world)
    client = web_world.login("county")
    survey_id = create(client)
    audit_before = web_world.audit_count()
    rows = [list(r) for r in EXPORT_ROWS]
    rows[1][7] = "很好"
    files = {"export": ("答卷.csv", export_csv(rows), "text/csv"),
             "mapping": ("对应.yaml", MAPPING.encode("utf-8"), "application/x-yaml")}
    response = client.post(f"/surveys/{survey_id}/import", files=files)
    assert response.status_code == 400
    text = plain(response.text)
    assert "没有导入任何答卷" in text and "第 3 行(序号 2)" in text and "“很好”不是答题选项" in text
    assert "/tmp" not in text and "junheng-survey-import" not in text  # the user's file, not the server's path
    assert count(web_world, SurveyResponse) == 0 and web_world.audit_count() == audit_before

    bad_mapping = {"export": ("答卷.csv", export_csv(EXPORT_ROWS), "text/csv"),
                   "mapping": ("对应.yaml", b"identity: [\n", "application/x-yaml")}
    response = client.post(f"/surveys/{survey_id}/import", files=bad_mapping)
    assert response.status_code == 400 and "没有导入任何答卷" in plain(response.text)
    wrong_kind = {"export": ("答卷.pdf", b"%PDF-1.4", "application/pdf"),
                  "mapping": ("对应.yaml", MAPPING.encode("utf-8"), "application/x-yaml")}
    response = client.post(f"/surveys/{survey_id}/import", files=wrong_kind)
    assert response.status_code == 400 and "类型不对" in plain(response.text)
    response = client.post(f"/surveys/{survey_id}/import", files={"export": ("答卷.csv", export_csv(EXPORT_ROWS),
                                                                               "text/csv")})
    assert response.status_code == 400 and "请选择列对应文件" in plain(response.text)
    assert count(web_world, SurveyResponse) == 0

    good = {"export": ("答卷.csv", export_csv(EXPORT_ROWS), "text/csv"),
            "mapping": ("对应.yaml", MAPPING.encode("utf-8"), "application/x-yaml")}
    response = client.post(f"/surveys/{survey_id}/import", files=good)
    assert response.status_code == 303 and response.headers["location"].endswith("msg=imported")
    assert count(web_world, SurveyResponse) == 3
    assert page_json(client, f"/surveys/{survey_id}")["progress"]["imported"] == 3


def test_an_export_over_the_upload_limit_is_refused(web_world):
    set_population(web_world)
    client = web_world.login("county")
    survey_id = create(client)
    limit = web_world.settings.upload_limit_bytes
    files = {"export": ("答卷.csv", b"x" * (limit + 10), "text/csv"),
             "mapping": ("对应.yaml", MAPPING.encode("utf-8"), "application/x-yaml")}
    response = client.post(f"/surveys/{survey_id}/import", files=files)
    assert response.status_code in (400, 413) and "太大" in plain(response.text)
    assert count(web_world, SurveyResponse) == 0


# ---------------------------------------------------------------- rights


def _survey_in_county(world) -> int:
    set_population(world)
    return create(world.login("county"))


ACTIONS = [("open", {}), ("close", {}), ("score", {}), ("apply", {}), ("codes", {"base_url": BASE, "format": "xlsx"})]


@pytest.mark.parametrize("username", ["viewer", "school", "other_county"])
def test_only_the_county_admin_acts_and_refusals_change_nothing(web_world, username):
    survey_id = _survey_in_county(web_world)
    client = web_world.login(username)
    reader = username == "viewer"
    listing = client.get(f"/counties/{COUNTY}/surveys")
    page = client.get(f"/surveys/{survey_id}")
    if reader:
        assert listing.status_code == 200 and 'id="create-survey"' not in listing.text
        assert page.status_code == 200
        for marker in ('id="open-survey"', 'id="codes-form"', 'id="import-form"', 'id="score-survey"'):
            assert marker not in page.text
        assert client.get(f"/surveys/{survey_id}/plan.xlsx").status_code == 200
        assert client.get(f"/surveys/{survey_id}/responses.csv").status_code == 200
    else:
        assert listing.status_code == 403 and page.status_code == 403
        assert "没有权限" in plain(page.text)
        assert client.get(f"/surveys/{survey_id}/plan.xlsx").status_code == 403
        assert client.get(f"/surveys/{survey_id}/responses.csv").status_code == 403
    before = (web_world.audit_count(), count(web_world, SurveyCode), count(web_world, SurveyResult))
    for action, form in ACTIONS:
        response = client.post(f"/surveys/{survey_id}/{action}", form)
        assert response.status_code == 403, action
        assert re.search(r"[\u4e00-\u9fff]", response.text)
    files = {"export": ("答卷.csv", export_csv(EXPORT_ROWS), "text/csv"),
             "mapping": ("对应.yaml", MAPPING.encode("utf-8"), "application/x-yaml")}
    assert client.post(f"/surveys/{survey_id}/import", files=files).status_code == 403
    assert client.post(f"/counties/{COUNTY}/surveys", {"year": str(YEAR)}).status_code == 403
    assert (web_world.audit_count(), count(web_world, SurveyCode), count(web_world, SurveyResult)) == before
    assert count(web_world, SurveyResponse) == 0 and count(web_world, Survey) == 1
    with web_world.database.session() as s:
        assert collection.survey_by_id(s, survey_id).status == "draft"


def test_posts_need_the_csrf_token_and_an_unknown_survey_is_404(web_world):
    survey_id = _survey_in_county(web_world)
    client = web_world.login("county")
    response = client.post(f"/surveys/{survey_id}/open", csrf=False)
    assert response.status_code == 403 and "CSRF" in response.text
    with web_world.database.session() as s:
        assert collection.survey_by_id(s, survey_id).status == "draft"
    assert client.post(f"/counties/{COUNTY}/surveys", {"year": str(YEAR)}, csrf=False).status_code == 403
    assert count(web_world, Survey) == 1
    assert client.get("/surveys/999999").status_code == 404
    assert client.get(f"/surveys/{2**63}").status_code == 404
    assert client.get(f"/surveys/{survey_id}/responses.pdf").status_code == 404
    anonymous = TestClient(web_world.app())
    assert anonymous.get(f"/surveys/{survey_id}", follow_redirects=False).headers["location"].startswith("/login")


def test_the_admin_may_act_on_any_county(web_world):
    survey_id = _survey_in_county(web_world)
    admin = web_world.login("admin")
    assert admin.post(f"/surveys/{survey_id}/open").status_code == 303
    assert [e for e in web_world.audit(entity="survey", field="status") if e.new == "open"]


# ---------------------------------------------------------------- escaping


def test_a_hostile_title_and_item_text_are_escaped(web_world):
    set_population(web_world)
    client = web_world.login("county")
    survey_id = create(client, title=f"调查{HOSTILE}")
    page = client.get(f"/surveys/{survey_id}")
    assert HOSTILE not in page.text and "&lt;script&gt;" in page.text
    assert HOSTILE not in client.get(f"/counties/{COUNTY}/surveys").text

    questionnaires = {qid: q.frozen() for qid, q in default_questionnaires().items()}
    items = questionnaires["staff"]["items"]
    scored = next(i for i in items if i.get("scored", True))
    scored["text"] = f"题目{HOSTILE}"
    questionnaires["staff"]["title"] = f"问卷{HOSTILE}"
    with web_world.database.session() as s:
        survey = collection.create_survey(s, COUNTY, YEAR, title=f"另一个{HOSTILE}", questionnaires=questionnaires,
                                          settings=load_settings(None), user=None, via="cli")
        collection.set_quotas(s, survey, [collection.QuotaRow("teachers", None, 2)])
        codes = [code for _, code in collection.issue_codes(s, survey, secret=SECRET)]
        collection.open_survey(s, survey, user=None, via="cli")
        other_id = survey.id
    answer(web_world, other_id, codes[0], lambda ids: {i: "满意" for i in ids})
    assert client.post(f"/surveys/{other_id}/score").status_code == 303
    page = client.get(f"/surveys/{other_id}")
    assert page.status_code == 200 and HOSTILE not in page.text
    assert "题目&lt;script&gt;" in page.text and "问卷&lt;script&gt;" in page.text
    data = page_json(client, f"/surveys/{other_id}")
    assert any(i["label"] == f"题目{HOSTILE}" for i in data["result"]["summary"]["items"])  # JSON keeps the text

"""`junheng survey import / result / responses` on a workspace, as a user runs them, and the
"Done when" path of issue 14 end to end: a sampling plan (`survey plan -o plan.json`), a survey
created from it, its codes, two responses answered through the collection functions, a 问卷星
export imported, `survey result --apply`, and the evaluation that uses the figure and names the
survey as its source (a value typed after it is marked as typed)."""

from __future__ import annotations

import json
from datetime import timedelta

import builders
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from junheng.store import repo
from junheng.store.models import CountyYear, SurveyResult
from junheng.survey import collection as c

from .test_service import MAPPING, ROWS, write_export

PASSWORD = "Jh-2026-kT9#qL"


def county_year(s):
    county = repo.county_by_code(s, builders.COUNTY)
    return s.scalar(select(CountyYear).where(CountyYear.county_id == county.id, CountyYear.year == builders.YEAR))


def s1_item(s, approved_only=True):
    from junheng.services import evaluate_stored

    result, _, _ = evaluate_stored(s, builders.COUNTY, builders.YEAR, approved_only=approved_only)
    area = result.areas.social_recognition
    return area.indicators[next(iter(area.indicators))]


def test_plan_create_codes_answer_import_result_apply_evaluate(tmp_path):
    from junheng.services import init_workspace, open_database

    root = tmp_path / "ws"
    init_workspace(root, admin="admin", password=PASSWORD)
    database, settings = open_database(root)
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli", note="测试数据", status="approved")
    ws = ["-w", str(root)]
    run = builders.run_junheng

    plan = tmp_path / "plan.json"
    made = run("survey", "plan", "-c", builders.COUNTY, "-y", str(builders.YEAR), "--population", "400000",
               "-o", str(plan), *ws)
    assert made.returncode == 0, made.stderr
    assert run("survey", "create", "-c", builders.COUNTY, "-y", str(builders.YEAR), "--plan", str(plan),
               "-t", "测试县社会认可度调查", *ws).returncode == 0
    sheet = tmp_path / "访问码.xlsx"
    issued = run("survey", "codes", "1", "-o", str(sheet), "--base-url", "https://survey.example.cn", *ws)
    assert issued.returncode == 0, issued.stderr
    assert run("survey", "open", "1", *ws).returncode == 0
    cards = list(load_workbook(sheet).active.iter_rows(min_row=4, values_only=True))  # code, group, school, link

    def code_of(group: str, school: str) -> str:
        return next(r[0] for r in cards if r[1] == group and r[2] == school)

    # two responses on the survey page: a parent at P1 (满意, 不满意: 1/2), a student at P1 (满意, 满意: 2/2)
    with database.session() as s:
        survey = c.survey_by_id(s, 1)
        for code, options in ((code_of("家长", "测试学校P1"), ["满意", "不满意"]),
                              (code_of("学生", "测试学校P1"), ["满意", "满意"])):
            response = c.start_or_resume(s, survey, code, secret=settings.secret_key)
            q = c.questionnaire(survey, response.questionnaire)
            items = [item["id"] for item in c.shown_items(q) if item.get("scored", True)]
            c.submit(s, survey, response, dict(zip(items, options)), now=response.started_at + timedelta(seconds=60))

    # the 问卷星 export: 序号 1 (2/3), 2 (1/1), 3 too fast (excluded), 4 a teacher at P1 (1/3)
    rows = [list(r) for r in ROWS]
    rows[3][10] = "城关小学"
    export = write_export(tmp_path, rows)
    (tmp_path / "map.yaml").write_text(MAPPING, "utf-8")
    mapped = ["--mapping", str(tmp_path / "map.yaml")]
    imported = run("survey", "import", str(export), "--survey", "1", *mapped, "-u", "admin", *ws)
    assert imported.returncode == 0, imported.stderr
    assert "已导入 4 份答卷到调查 1" in builders.plain(imported.stdout)
    twice = run("survey", "import", str(export), "--survey", "1", *mapped, *ws)
    assert twice.returncode == 1 and "不能重复导入" in twice.stderr and "Traceback" not in twice.stderr
    unknown = run("survey", "import", str(export), "--survey", "9", *mapped, *ws)
    assert unknown.returncode == 1 and "没有编号为 9 的调查" in unknown.stderr

    # the result as text: overall with its interval, weakest first, every exclusion
    text = run("survey", "result", "1", *ws)
    assert text.returncode == 0, text.stderr
    shown = builders.plain(text.stdout)
    assert "总体认可度 63.6%(95% 置信区间" in shown  # 7 of 11 counted answers
    assert "网页 2 份,导入 4 份" in shown and "排除的答卷(1 份)" in shown and "答题过快" in shown
    assert "未写入评估数据" in shown and "61.135" not in shown
    assert shown.index("教师") < shown.index("学生")  # teachers 1/3 before students 2/2

    out = tmp_path / "结果.json"
    still_open = run("survey", "result", "1", "--apply", "-o", str(out), *ws)  # answers are still coming in
    assert still_open.returncode == 1 and "仍在进行中" in still_open.stderr and not out.exists()
    assert "Traceback" not in still_open.stderr
    assert run("survey", "close", "1", *ws).returncode == 0
    locked = run("survey", "result", "1", "--apply", "-o", str(out), *ws)  # the county's year is approved: locked
    assert locked.returncode == 1 and "已锁定" in locked.stderr and not out.exists()
    with database.session() as s:  # the refused apply kept no result either; the county reopens its year
        assert s.scalar(select(func.count()).select_from(SurveyResult)) == 1  # the open survey's neither
        repo.transition(s, county_year(s), "reopen", user=None, via="cli")
    applied = run("survey", "result", "1", "--apply", "--format", "json", "-o", str(out), "-u", "admin", *ws)
    assert applied.returncode == 0, applied.stderr
    data = json.loads(out.read_text("utf-8"))
    assert data["applied"] is True and data["field"] == "social_recognition_rate"
    assert data["overall"]["rate"] == pytest.approx(7 / 11) and data["sources"] == {"web": 2, "import": 4}
    assert [e["row"] for e in data["excluded"]] == [3] and data["survey"]["title"] == "测试县社会认可度调查"

    with database.session() as s:  # the county approves its year again; the evaluation uses the survey's figure
        row = county_year(s)
        assert row.values["social_recognition_rate"] == pytest.approx(700 / 11)
        repo.transition(s, row, "submit", user=None, via="cli")
        repo.transition(s, row, "approve", user=None, via="cli")
    with database.session() as s:
        item = s1_item(s)
        assert item.value == pytest.approx(700 / 11)
        source = item.sources["social_recognition_rate"]
        assert source.kind == "survey" and source.ref == "survey:1" and "测试县社会认可度调查" in source.label
        repo.transition(s, county_year(s), "reopen", user=None, via="cli")
        repo.apply(s, [repo.Change(entity="county_year", key=f"{builders.COUNTY}/{builders.YEAR}",
                                   county_code=builders.COUNTY, field="social_recognition_rate",
                                   old=700 / 11, new=90.0)], user=None, via="form")
    with database.session() as s:
        item = s1_item(s, approved_only=False)
        assert item.value == 90.0 and item.sources["social_recognition_rate"].kind == "typed"

    table = tmp_path / "答卷表.xlsx"
    exported = run("survey", "responses", "1", "-o", str(table), *ws)
    assert exported.returncode == 0, exported.stderr
    assert "已导出 6 份答卷" in builders.plain(exported.stdout)
    got = list(load_workbook(table).active.iter_rows(values_only=True))
    assert got[0][:3] == ("序号", "来源", "人员类别") and len(got) == 7
    assert not any(card[0] in {str(v) for r in got for v in r} for card in cards)
    bad = run("survey", "responses", "1", "-o", str(tmp_path / "答卷表.pdf"), *ws)
    assert bad.returncode == 1 and ".csv 或 .xlsx" in bad.stderr
    database.engine.dispose()


def test_user_must_manage_the_survey_s_county(tmp_path):
    """`--user` acts with that account's rights (the web's grant rule): a viewer of the county is
    refused in Chinese and nothing changes; the county's admin may."""
    from junheng.services import init_workspace, open_database
    from junheng.store.models import Survey
    from junheng.store.users import create_user

    root = tmp_path / "ws"
    init_workspace(root, admin="admin", password=PASSWORD)
    database, _ = open_database(root)
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli", note="测试数据")
        create_user(s, "viewer1", PASSWORD, role="viewer", scope_code=builders.COUNTY)
        create_user(s, "county1", PASSWORD, role="county_admin", scope_code=builders.COUNTY)
    ws = ["-w", str(root)]
    run = builders.run_junheng
    create = ["survey", "create", "-c", builders.COUNTY, "-y", str(builders.YEAR), "-t", "权限调查"]
    refused = run(*create, "-u", "viewer1", *ws)
    assert refused.returncode == 1 and "没有管理" in refused.stderr and "Traceback" not in refused.stderr
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Survey)) == 0
    assert run(*create, "-u", "county1", *ws).returncode == 0
    for command in (["survey", "close", "1"], ["survey", "result", "1", "--apply"]):
        denied = run(*command, "-u", "viewer1", *ws)
        assert denied.returncode == 1 and "没有管理" in denied.stderr, command
    with database.session() as s:
        assert s.get(Survey, 1).status == "draft" and s.scalar(select(func.count()).select_from(SurveyResult)) == 0

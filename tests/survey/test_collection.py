"""The store side of the survey (junheng.survey.collection), on SQLite and PostgreSQL: a code
answers once, a second submission is refused, a resume returns the same partial answers, a full
quota and a closed survey are refused, and neither codes nor client addresses are stored in plain."""

from __future__ import annotations

from datetime import timedelta

import builders
import pytest
from sqlalchemy import select

from junheng.store import repo
from junheng.store.models import AuditEntry, LoginThrottle, SurveyCode, SurveyResponse, SurveyResult
from junheng.survey import codes as code_tools
from junheng.survey import collection as c
from junheng.survey.privacy import keyed_hash
from junheng.survey.questionnaire import default_questionnaires
from junheng.survey.settings import load_settings

SECRET = "test-secret"


@pytest.fixture
def store(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli", note="测试数据", status="approved")
    return database


def new_survey(session, quotas=(("parents", "P1", 2), ("teachers", None, 1)), *, open_it=True):
    survey = c.create_survey(session, builders.COUNTY, builders.YEAR, title="测试调查",
                             questionnaires=default_questionnaires(), settings=load_settings(None),
                             user=None, via="cli")
    c.set_quotas(session, survey, [c.QuotaRow(*q) for q in quotas])
    issued = c.issue_codes(session, survey, secret=SECRET)
    if open_it:
        c.open_survey(session, survey, user=None, via="cli")
    return survey, issued


def first_items(survey, response, n=2):
    q = c.questionnaire(survey, response.questionnaire)
    return [item["id"] for item in c.shown_items(q) if item.get("scored", True)][:n]


def test_a_code_answers_once_and_a_second_submission_is_refused(store):
    with store.session() as s:
        survey, issued = new_survey(s)
        code = next(code for quota, code in issued if quota.group == "parents")
        response = c.start_or_resume(s, survey, code.lower(), secret=SECRET)  # case does not matter
        a, b = first_items(survey, response)
        c.save_answers(s, survey, response, {a: "满意", b: "不满意"})
        c.submit(s, survey, response, now=response.started_at + timedelta(seconds=42))
        assert response.submitted_at is not None and response.seconds == 42
        used = s.scalar(select(SurveyCode).where(SurveyCode.id == response.code_id))
        assert used.used_at is not None  # marked in the same transaction as the submission
        key = survey.public_key
    with store.session() as s:
        survey = c.survey_by_key(s, key)
        with pytest.raises(c.CodeUsed, match="已经提交过问卷"):
            c.start_or_resume(s, survey, code, secret=SECRET)
        response = s.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id))
        with pytest.raises(c.AlreadySubmitted):
            c.submit(s, survey, response)
        with pytest.raises(c.AlreadySubmitted):
            c.save_answers(s, survey, response, {a: "满意"})
        assert response.answers[a] == "满意" and response.answers[b] == "不满意"


def test_a_resume_returns_the_same_partial_answers(store):
    with store.session() as s:
        survey, issued = new_survey(s)
        code = issued[0][1]
        response = c.start_or_resume(s, survey, code, secret=SECRET, ip_hash=keyed_hash(SECRET, "10.1.2.3"))
        a, b = first_items(survey, response)
        c.save_answers(s, survey, response, {a: "比较满意"})
        first_id = response.id
    with store.session() as s:
        survey = c.survey_by_id(s, survey.id)
        again = c.start_or_resume(s, survey, code[:4] + "-" + code[4:], secret=SECRET)
        assert again.id == first_id and again.submitted_at is None
        assert again.answers[a] == "比较满意" and b not in again.answers
        c.save_answers(s, survey, again, {a: "", b: "不了解"})  # blank removes an answer
        assert a not in again.answers and again.answers[b] == "不了解"
        # the identity question is answered from the quota and not asked
        identity = c.identity_item(c.questionnaire(survey, again.questionnaire))
        assert identity is None or again.answers[identity["id"]] in identity["groups"]


def test_bad_answers_are_refused_and_change_nothing(store):
    with store.session() as s:
        survey, issued = new_survey(s)
        response = c.start_or_resume(s, survey, issued[0][1], secret=SECRET)
        a, _ = first_items(survey, response)
        before = dict(response.answers)
        for answers in ({"no_such_item": "满意"}, {a: "非常好"}, {a: "满意" * 100}, {"x" * 1000: "满意"}):
            with pytest.raises(c.AnswerRefused):
                c.save_answers(s, survey, response, answers)
            assert response.answers == before
        for typed in ("", "123", "O0O0O0O0", "A" * 5000):
            with pytest.raises(c.CodeRefused):
                c.start_or_resume(s, survey, typed, secret=SECRET)
        with pytest.raises(c.CodeRefused, match="不正确"):
            c.start_or_resume(s, survey, code_tools.new_code(), secret=SECRET)


def test_a_full_quota_is_refused(store):
    with store.session() as s:
        survey, issued = new_survey(s, quotas=(("parents", "P1", 1),))
        extra = c.issue_codes(s, survey, secret=SECRET, extra=1)  # a second code for a place of one
        assert len(issued) == 1 and len(extra) == 1
        one = c.start_or_resume(s, survey, issued[0][1], secret=SECRET)
        two = c.start_or_resume(s, survey, extra[0][1], secret=SECRET)  # both started before either submits
        c.submit(s, survey, one)
        with pytest.raises(c.QuotaFull, match=c.QUOTA_FULL):
            c.submit(s, survey, two)
    with store.session() as s:
        survey = c.survey_by_id(s, survey.id)
        fresh = c.issue_codes(s, survey, secret=SECRET, extra=1)
        with pytest.raises(c.QuotaFull, match=c.QUOTA_FULL):
            c.start_or_resume(s, survey, fresh[0][1], secret=SECRET)
        status = c.quota_status(s, survey)
        assert [(q.submitted, q.partial, q.codes, q.codes_used) for q in status] == [(1, 1, 3, 1)]


def test_a_closed_or_draft_survey_is_refused(store):
    with store.session() as s:
        survey, issued = new_survey(s, open_it=False)
        with pytest.raises(c.SurveyNotOpen, match="尚未开始"):
            c.start_or_resume(s, survey, issued[0][1], secret=SECRET)
        c.open_survey(s, survey, user=None, via="cli")
        response = c.start_or_resume(s, survey, issued[0][1], secret=SECRET)
        a, _ = first_items(survey, response)
        assert c.close_survey(s, survey, user=None, via="cli")
        with pytest.raises(c.SurveyNotOpen, match="已经结束"):
            c.start_or_resume(s, survey, issued[1][1], secret=SECRET)
        with pytest.raises(c.SurveyNotOpen):
            c.save_answers(s, survey, response, {a: "满意"})
        with pytest.raises(c.SurveyNotOpen):
            c.submit(s, survey, response)
        assert response.submitted_at is None
        audit = [(e.field, e.old, e.new) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.entity == "survey").order_by(AuditEntry.id))]
        assert audit == [("status", None, "draft"), ("status", "draft", "open"), ("status", "open", "closed")]


def test_codes_and_addresses_are_not_stored_in_plain(store):
    with store.session() as s:
        survey, issued = new_survey(s)
        plain_codes = [code for _, code in issued]
        response = c.start_or_resume(s, survey, plain_codes[0], secret=SECRET,
                                     ip_hash=keyed_hash(SECRET, "203.0.113.77"))
        c.submit(s, survey, response)
    with store.engine.connect() as conn:
        dump = "\n".join(str(tuple(row)) for table in ("survey_codes", "survey_responses", "surveys", "audit_log")
                         for row in conn.exec_driver_sql(f"SELECT * FROM {table}"))
    assert dump and all(code not in dump for code in plain_codes)
    assert "203.0.113.77" not in dump and keyed_hash(SECRET, "203.0.113.77") in dump
    assert len(set(plain_codes)) == len(plain_codes) == 3
    assert all(len(code) == code_tools.CODE_LENGTH and set(code) <= set(code_tools.ALPHABET) for code in plain_codes)


def test_quotas_from_a_sampling_plan_and_their_checks(store):
    plan = {"schools": [{"school_id": "P1", "quotas": {"parents": 5, "students": 3, "teachers": 0}},
                        {"school_id": "J1", "quotas": {"parents": 4}}],
            "county_wide": {"npc_deputies": 2, "public": 6, "cppcc_members": 0}}
    rows = c.quota_rows_from_plan(plan)
    assert sorted((r.group, r.school_code, r.size) for r in rows) == sorted([
        ("parents", "P1", 5), ("students", "P1", 3), ("parents", "J1", 4), ("npc_deputies", None, 2),
        ("public", None, 6)])
    with store.session() as s:
        survey = c.create_survey(s, builders.COUNTY, builders.YEAR, title="", questionnaires=default_questionnaires(),
                                 settings=load_settings(None), user=None, via="cli", plan=plan)
        quotas = c.set_quotas(s, survey, rows)
        by_group = {(q.group, q.school.code if q.school else None): q.questionnaire for q in quotas}
        assert by_group[("students", "P1")] == "students" and by_group[("parents", "J1")] == "society"
        with pytest.raises(c.SurveyError, match="没有学校标识码为 X9"):
            c.set_quotas(s, survey, [c.QuotaRow("parents", "X9", 3)])
        with pytest.raises(c.SurveyError, match="人员类别"):
            c.set_quotas(s, survey, [c.QuotaRow("aliens", None, 3)])
        with pytest.raises(c.SurveyError, match="人数"):
            c.set_quotas(s, survey, [c.QuotaRow("parents", None, 0)])
        assert len(c.quotas_of(s, survey)) == 5  # refused sets changed nothing
    with pytest.raises(c.SurveyError, match="人数"):
        c.quota_rows_from_plan({"schools": [{"school_id": "P1", "quotas": {"parents": -1}}]})


def test_rate_limits_count_per_address_and_survey_in_the_database(store):
    limits = c.RateLimits(starts_per_address=2, starts_per_survey=3)
    with store.session() as s:
        survey, _ = new_survey(s)
    for expected, address in [(True, "a"), (True, "a"), (False, "a"), (True, "b"), (False, "c")]:
        with store.session() as s:  # each request in its own unit of work, as the page does
            assert c.allowed(s, c.survey_by_id(s, survey.id), "start", address, limits) is expected, address
    with store.session() as s:
        later = c.utcnow() + timedelta(minutes=2)  # a new window
        assert c.allowed(s, c.survey_by_id(s, survey.id), "start", "a", limits, now=later)
        assert s.scalars(select(LoginThrottle).where(LoginThrottle.scope == "survey")).all()


def test_a_result_is_recorded(store):
    with store.session() as s:
        survey, _ = new_survey(s)
        result = c.record_result(s, survey, {"overall": {"rate": 0.9, "ci_low": 0.85, "ci_high": 0.95,
                                                         "respondents": 3, "answers": 20}, "groups": {}})
        stored = s.get(SurveyResult, result.id)
        assert (stored.rate, stored.respondents, stored.audit_id) == (0.9, 3, None)


def test_the_survey_commands_create_issue_open_and_report(tmp_path):
    """`junheng survey create / codes / open / status / close` on a workspace, as a user runs them."""
    import json

    from openpyxl import load_workbook

    from junheng.services import init_workspace, open_database

    root = tmp_path / "ws"
    init_workspace(root, admin="admin", password="Jh-2026-kT9#qL")
    database, settings = open_database(root)
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli", note="测试数据", status="approved")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"schools": [{"school_id": "P1", "quotas": {"parents": 3, "students": 2}}],
                                "county_wide": {"public": 2}}), "utf-8")
    ws = ["-w", str(root)]
    made = builders.run_junheng("survey", "create", "-c", builders.COUNTY, "-y", str(builders.YEAR),
                                "--plan", str(plan), *ws)
    assert made.returncode == 0, made.stderr
    assert "已创建调查 1" in builders.plain(made.stdout) and "名额 3 个,共 7 人" in builders.plain(made.stdout)
    bad = builders.run_junheng("survey", "codes", "1", "-o", str(tmp_path / "c.xlsx"), "--base-url", "ftp://x", *ws)
    assert bad.returncode == 1 and "--base-url" in bad.stderr and not (tmp_path / "c.xlsx").exists()
    sheet = tmp_path / "访问码.xlsx"
    issued = builders.run_junheng("survey", "codes", "1", "-o", str(sheet), "--base-url",
                                  "https://survey.example.cn/", *ws)
    assert issued.returncode == 0, issued.stderr
    rows = list(load_workbook(sheet).active.iter_rows(min_row=4, values_only=True))
    assert len(rows) == 7 and all(r[3].startswith("https://survey.example.cn/s/") for r in rows)
    with database.session() as s:
        hashes = set(s.scalars(select(SurveyCode.code_hash)))
        assert {code_tools.code_hash(settings.secret_key, code_tools.normalise_code(r[0])) for r in rows} == hashes
    again = builders.run_junheng("survey", "codes", "1", "-o", str(sheet), "--base-url", "https://survey.example.cn", *ws)
    assert again.returncode == 1 and "已存在" in again.stderr
    nothing = builders.run_junheng("survey", "codes", "1", "-o", str(tmp_path / "b.xlsx"), "--base-url",
                                   "https://survey.example.cn", *ws)
    assert nothing.returncode == 1 and "--extra" in nothing.stderr and not (tmp_path / "b.xlsx").exists()
    assert builders.run_junheng("survey", "open", "1", *ws).returncode == 0
    with database.session() as s:
        survey = c.survey_by_id(s, 1)
        response = c.start_or_resume(s, survey, rows[0][0], secret=settings.secret_key)
        c.submit(s, survey, response)
    status = builders.run_junheng("survey", "status", "1", *ws)
    assert status.returncode == 0 and "合计:已提交 1 / 7 份" in builders.plain(status.stdout)
    assert builders.run_junheng("survey", "close", "1", *ws).returncode == 0
    missing = builders.run_junheng("survey", "open", "99", *ws)
    assert missing.returncode == 1 and "没有编号为 99 的调查" in missing.stderr
    database.engine.dispose()


def test_code_sheets_carry_every_code_with_its_qr_image(tmp_path):
    from docx import Document

    cards = [code_tools.SheetCode(code_tools.new_code(), "家长", "=HYPERLINK(\"x\")小学",
                                  f"https://s.example.cn/s/key?c={i}") for i in range(9)]
    sections = [code_tools.SheetSection("家长 · 测试小学", cards)]
    path = code_tools.write_code_sheets(tmp_path / "codes.docx", survey_title="测试调查",
                                        survey_link="https://s.example.cn/s/key", sections=sections)
    document = Document(str(path))
    text = "\n".join(cell.text for table in document.tables for row in table.rows for cell in row.cells)
    assert all(code_tools.shown(card.code) in text for card in cards)
    assert len(document.inline_shapes) == 1 + len(cards)  # the poster and one QR per card
    assert len(document.tables) == 2  # 8 cards per page: two pages
    from openpyxl import load_workbook

    sheet = code_tools.write_code_sheets(tmp_path / "codes.xlsx", survey_title="测试调查",
                                         survey_link="https://s.example.cn/s/key", sections=sections)
    cells = [c for row in load_workbook(sheet).active.iter_rows(min_row=4) for c in row]
    assert cells and all(c.data_type == "s" for c in cells)  # a school named like a formula stays text
    with pytest.raises(code_tools.CodeFormatError, match=r"\.txt"):
        code_tools.write_code_sheets(tmp_path / "codes.txt", survey_title="t", survey_link="l", sections=sections)
    assert code_tools.qr_png("https://s.example.cn/s/key").startswith(b"\x89PNG")

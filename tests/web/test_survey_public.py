"""The public survey page /s/<key> through the survey-only app (TestClient): the full flow, a
reload resumes, a used code is refused, 429 after the limit, hostile input gets 4xx (never a
500), questionnaire text is escaped. The full site serves the same routes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import builders
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from junheng.store import repo
from junheng.store.db import Database
from junheng.store.models import SurveyCode, SurveyResponse
from junheng.survey import collection as c
from junheng.survey.questionnaire import default_questionnaires
from junheng.survey.settings import load_settings
from junheng.web.survey_app import create_survey_app
from junheng.workspace import Settings

SECRET = "test-secret"


@dataclass
class SurveyStore:
    database: Database
    settings: Settings
    key: str
    survey_id: int
    codes: dict[str, list[str]] = field(default_factory=dict)  # group → plain codes

    def client(self, **state) -> TestClient:
        app = create_survey_app(self.settings, self.database)
        for name, value in state.items():
            setattr(app.state, name, value)
        return TestClient(app)


def survey_store(folder: Path, *, questionnaires=None, quotas=(("parents", "P1", 3), ("teachers", None, 2)),
                 status: str = "open") -> SurveyStore:
    """A migrated SQLite store with the builders' county and one survey with codes for its quotas."""
    database = Database(f"sqlite:///{folder / 'survey.db'}")
    database.migrate()
    settings = Settings(database_url=database.url, secret_key=SECRET, uploads=folder / "uploads")
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli", note="测试数据", status="approved")
    with database.session() as s:
        survey = c.create_survey(s, builders.COUNTY, builders.YEAR, title="甲县社会认可度调查",
                                 questionnaires=questionnaires or default_questionnaires(),
                                 settings=load_settings(None), user=None, via="cli")
        c.set_quotas(s, survey, [c.QuotaRow(*q) for q in quotas])
        store = SurveyStore(database, settings, survey.public_key, survey.id)
        for quota, code in c.issue_codes(s, survey, secret=SECRET):
            store.codes.setdefault(quota.group, []).append(code)
        if status != "draft":
            c.open_survey(s, survey, user=None, via="cli")
        if status == "closed":
            c.close_survey(s, survey, user=None, via="cli")
    return store


@pytest.fixture
def store(tmp_path) -> SurveyStore:
    yield (found := survey_store(tmp_path))
    found.database.engine.dispose()


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def radio_names(html: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r'type="radio" name="(q_[^"]+)"', html)))


def start(client: TestClient, key: str, code: str):
    return client.post(f"/s/{key}/start", data={"code": code}, follow_redirects=False)


def test_the_full_flow_save_confirm_submit_thanks(store):
    client = store.client()
    code = store.codes["parents"][0]
    page = client.get(f"/s/{store.key}?c={code}")
    assert page.status_code == 200 and f'value="{code}"' in page.text and "访问码" in page.text
    assert "no-store" in page.headers["cache-control"]
    started = start(client, store.key, code)
    assert started.status_code == 303 and started.headers["location"] == f"/s/{store.key}"
    cookie = started.headers["set-cookie"]
    assert "HttpOnly" in cookie and f"Path=/s/{store.key}" in cookie and "samesite=lax" in cookie.lower()
    form = client.get(f"/s/{store.key}")
    assert form.status_code == 200 and 'id="survey-form"' in form.text
    assert "家长" in builders.plain(form.text) and "您的身份是" not in form.text  # identity from the quota
    names = radio_names(form.text)
    assert len(names) >= 8
    r, t = hidden(form.text, "r"), hidden(form.text, "t")
    saved = client.post(f"/s/{store.key}/save", data={"r": r, "t": t, names[0]: "满意", names[1]: "不了解"})
    assert saved.status_code == 200 and saved.json() == {"saved": True, "answered": 2, "total": len(names)}
    # submit with questions left: saved, and asked to confirm
    asked = client.post(f"/s/{store.key}/submit", data={"r": r, "t": t, names[2]: "不满意"}, follow_redirects=False)
    assert asked.status_code == 200 and 'id="survey-confirm"' in asked.text
    assert f"还有 {len(names) - 3} 道题没有作答" in builders.plain(asked.text) and 'name="confirm" value="1"' in asked.text
    done = client.post(f"/s/{store.key}/submit", data={"r": r, "t": t, "confirm": "1"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/s/{store.key}/thanks"
    thanks = client.get(done.headers["location"])
    assert thanks.status_code == 200 and "提交成功" in builders.plain(thanks.text)
    with store.database.session() as s:
        response = s.scalar(select(SurveyResponse))
        assert response.submitted_at is not None and response.group == "parents" and response.source == "web"
        answers = {k: v for k, v in response.answers.items() if k != "identity"}
        assert answers == {names[0][2:]: "满意", names[1][2:]: "不了解", names[2][2:]: "不满意"}
        assert response.ip_hash and len(response.ip_hash) == 64
        assert s.scalar(select(SurveyCode).where(SurveyCode.id == response.code_id)).used_at is not None
    # the cookie is gone: the link opens the code page again
    assert 'id="code-form"' in client.get(f"/s/{store.key}").text


def test_all_answered_submits_without_asking(store):
    client = store.client()
    start(client, store.key, store.codes["teachers"][0])
    form = client.get(f"/s/{store.key}").text
    data = {"r": hidden(form, "r"), "t": hidden(form, "t"), **{n: "比较满意" for n in radio_names(form)}}
    done = client.post(f"/s/{store.key}/submit", data=data, follow_redirects=False)
    assert done.status_code == 303, done.text


def test_a_reload_resumes_and_the_code_resumes_on_another_phone(store):
    client = store.client()
    code = store.codes["parents"][1]
    start(client, store.key, code)
    form = client.get(f"/s/{store.key}").text
    names = radio_names(form)
    client.post(f"/s/{store.key}/save", data={"r": hidden(form, "r"), "t": hidden(form, "t"), names[0]: "基本满意"})
    reloaded = client.get(f"/s/{store.key}").text
    assert f'name="{names[0]}" value="基本满意" checked' in reloaded
    assert "已作答 1 /" in builders.plain(reloaded).replace("<b id=\"answered\">", "").replace("</b>", "")
    other = store.client()  # no cookie: the code again
    assert start(other, store.key, code.lower()).status_code == 303
    again = other.get(f"/s/{store.key}").text
    assert f'name="{names[0]}" value="基本满意" checked' in again and hidden(again, "r") == hidden(form, "r")


def test_a_second_submission_with_the_code_is_refused(store):
    client = store.client()
    code = store.codes["parents"][2]
    start(client, store.key, code)
    form = client.get(f"/s/{store.key}").text
    data = {"r": hidden(form, "r"), "t": hidden(form, "t"), "confirm": "1"}
    assert client.post(f"/s/{store.key}/submit", data=data, follow_redirects=False).status_code == 303
    replay = client.post(f"/s/{store.key}/submit", data=data, follow_redirects=False)
    assert replay.status_code == 409 and "已经提交过" in builders.plain(replay.text)
    saved = client.post(f"/s/{store.key}/save", data=data)
    assert saved.status_code == 409 and "已经提交" in saved.json()["detail"]
    again = start(store.client(), store.key, code)
    assert again.status_code == 409 and "已经提交过问卷" in builders.plain(again.text)
    with store.database.session() as s:
        assert len(s.scalars(select(SurveyResponse).where(SurveyResponse.submitted_at.is_not(None))).all()) == 1


def test_429_after_the_limit(store):
    client = store.client(survey_limits=c.RateLimits(starts_per_address=3, saves_per_address=2))
    for _ in range(3):
        assert start(client, store.key, "WRONG234").status_code == 400
    refused = start(client, store.key, store.codes["parents"][0])  # even the right code, now
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
    assert "请稍等一分钟" in builders.plain(refused.text)
    for _ in range(2):
        client.post(f"/s/{store.key}/save", data={"r": "1", "t": "x"})
    too_many = client.post(f"/s/{store.key}/save", data={"r": "1", "t": "x"})
    assert too_many.status_code == 429 and "请稍等" in too_many.json()["detail"]


def test_a_closed_survey_and_a_full_quota_answer_clearly(tmp_path):
    for name in ("closed", "draft", "full"):
        (tmp_path / name).mkdir()
    closed = survey_store(tmp_path / "closed", status="closed")
    page = closed.client().get(f"/s/{closed.key}")
    assert page.status_code == 200 and "本调查已经结束" in builders.plain(page.text) and "code-form" not in page.text
    refused = start(closed.client(), closed.key, closed.codes["parents"][0])
    assert refused.status_code == 409 and "已经结束" in builders.plain(refused.text)
    draft = survey_store(tmp_path / "draft", status="draft")
    assert "尚未开始" in builders.plain(draft.client().get(f"/s/{draft.key}").text)
    full = survey_store(tmp_path / "full", quotas=(("parents", "P1", 1),))
    with full.database.session() as s:
        extra = c.issue_codes(s, c.survey_by_id(s, full.survey_id), secret=SECRET, extra=1)[0][1]
    first = full.client()
    start(first, full.key, full.codes["parents"][0])
    form = first.get(f"/s/{full.key}").text
    first.post(f"/s/{full.key}/submit", data={"r": hidden(form, "r"), "t": hidden(form, "t"), "confirm": "1"})
    over = start(full.client(), full.key, extra)
    assert over.status_code == 409 and c.QUOTA_FULL in over.text
    for world in (closed, draft, full):
        world.database.engine.dispose()


def test_hostile_input_gets_4xx_never_500(store):
    client = store.client()
    key = store.key
    assert client.get("/s/nosuchsurveykey").status_code == 404
    assert client.get("/s/<script>").status_code == 404
    assert client.get("/s/" + "a" * 500).status_code == 404
    assert client.post("/s/nosuchsurveykey/start", data={"code": "x"}).status_code == 404
    for code in ("", "A" * 10_000, "<b>AB23CD45</b>", "\x00\x01", "丙丁戊己庚辛壬癸", "' OR 1=1 --"):
        answer = start(client, key, code)
        assert answer.status_code == 400, (code[:20], answer.status_code)
        assert "<b>AB23CD45</b>" not in answer.text
    start(client, key, store.codes["parents"][0])
    form = client.get(f"/s/{key}").text
    r, t = hidden(form, "r"), hidden(form, "t")
    name = radio_names(form)[0]
    for data in ({"r": r, "t": "forged"}, {"r": "abc", "t": t}, {"r": "9" * 40, "t": t}, {"t": t},
                 {"r": str(int(r) + 1), "t": t}):
        assert client.post(f"/s/{key}/save", data=data).status_code == 403, data
        assert client.post(f"/s/{key}/submit", data=data).status_code == 403, data
    for data in ({"q_no_such_item": "满意"}, {name: "非常满意"}, {name: "满意" * 1000}, {"q_" + "x" * 5000: "满意"}):
        answer = client.post(f"/s/{key}/save", data={"r": r, "t": t, **data})
        assert answer.status_code == 400 and answer.json()["detail"], data
        assert client.post(f"/s/{key}/submit", data={"r": r, "t": t, **data}).status_code == 400
    assert client.post(f"/s/{key}/save", data={"r": r, "t": t, "q_x": "y" * 100_000}).status_code == 413
    many = {f"q_{i}": "满意" for i in range(400)}
    assert client.post(f"/s/{key}/save", data={"r": r, "t": t, **many}).status_code == 400
    assert client.post(f"/s/{key}/save", content=b"\xff\xfe{{{", headers={
        "content-type": "application/x-www-form-urlencoded"}).status_code in (400, 403)
    with store.database.session() as s:
        response = s.scalar(select(SurveyResponse))
        assert {k: v for k, v in response.answers.items() if k != "identity"} == {}  # nothing half-saved


def test_questionnaire_text_is_escaped(tmp_path):
    hostile = {qid: q.frozen() for qid, q in default_questionnaires().items()}
    society = hostile["society"]
    society["items"][1]["text"] = '<script>alert("题")</script><img src=x onerror=alert(1)>'
    society["title"] = "<b>问卷</b>"
    store = survey_store(tmp_path, questionnaires=hostile)
    client = store.client()
    start(client, store.key, store.codes["parents"][0])
    page = client.get(f"/s/{store.key}").text
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>问卷</b>" not in page
    assert "&lt;script&gt;" in page and "&lt;b&gt;问卷&lt;/b&gt;" in page
    store.database.engine.dispose()


def test_the_full_site_serves_the_survey_too(store):
    from junheng.web.app import create_app

    client = TestClient(create_app(store.settings, store.database))
    assert 'id="code-form"' in client.get(f"/s/{store.key}").text
    assert start(client, store.key, store.codes["teachers"][1]).status_code == 303

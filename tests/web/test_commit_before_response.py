"""Every request's writes are committed before its response starts: a browser following a
redirect, or a client reading right after a write, sees the write (SQLite and PostgreSQL)."""

import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from junheng.store.models import EvaluationRun, WebSession
from junheng.web.app import create_app


def _web_conftest():
    path = str(Path(__file__).with_name("conftest.py"))
    return next(m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == path)


def _probing(app, database, model, seen: list[int]):
    """The app, wrapped: when a response starts, count `model` rows from another connection."""
    async def probe(scope, receive, send):
        async def checking_send(message):
            if message["type"] == "http.response.start":
                with database.session() as other:
                    seen.append(other.scalar(select(func.count()).select_from(model)))
            await send(message)
        await app(scope, receive, checking_send)
    return probe


def test_a_page_that_stores_an_evaluation_has_committed_it_when_it_answers(api_world):
    seen: list[int] = []
    app = create_app(api_world.settings, api_world.database)
    client = TestClient(_probing(app, api_world.database, EvaluationRun, seen))
    response = client.get(f"/api/v1/counties/{_web_conftest().API_A}/evaluation", headers=api_world.headers("admin"))
    assert response.status_code == 200
    assert seen == [1]  # the run written by this very request


def test_a_login_has_committed_its_session_when_it_redirects(api_world):
    from junheng.store.users import create_user

    with api_world.database.session() as s:
        create_user(s, "probe", "a-long-password-1", role="admin")
    seen: list[int] = []
    app = create_app(api_world.settings, api_world.database)
    client = TestClient(_probing(app, api_world.database, WebSession, seen))
    response = client.post("/login", data={"username": "probe", "password": "a-long-password-1"},
                           follow_redirects=False)
    assert response.status_code == 303 and seen == [1]

"""schemathesis against /api/v1 (issue 11): the app's own OpenAPI, loaded in-process over ASGI,
drives generated requests — valid and invalid paths, queries and bodies — with the token of each
role (admin, supervisor, county_admin, viewer, school_filler) over the API test world.

Every response must be no server error, carry a status code the operation declares, the declared
content type, and a body that conforms to the declared schema (the documented error shape
included). One shared world per module (SQLite); writes the generated cases make stay in it,
which only widens the states the later cases meet. Bounded and derandomized: CI sees the same
cases every run.

The schema is loaded when the module is collected (schemathesis' fixture-based loader does not
run under this pytest), from an app over a store that the module fixture fills before any case.
"""

from __future__ import annotations

import atexit
import inspect
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sqlalchemy import select

from junheng.data.catalog import catalog
from junheng.store.db import Database
from junheng.store.models import User
from junheng.store.users import create_token
from junheng.web.app import create_app


def _web_conftest():
    """tests/web/conftest.py as pytest loaded it (`import conftest` would find tests/conftest.py)."""
    path = str(Path(__file__).with_name("conftest.py"))
    return next(m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == path)


web = _web_conftest()

ROLES = ["admin", "supervisor", "county_admin", "viewer", "school_filler"]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# per operation and role; to hunt for new cases: JUNHENG_FUZZ_EXAMPLES=100 JUNHENG_FUZZ_RANDOM=1 pytest …
EXAMPLES = int(os.environ.get("JUNHENG_FUZZ_EXAMPLES", 20))

FOLDER = Path(tempfile.mkdtemp(prefix="junheng-schemathesis-"))
atexit.register(shutil.rmtree, FOLDER, ignore_errors=True)
DATABASE = Database(f"sqlite:///{FOLDER / 'junheng.db'}")  # filled by the `world` fixture
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(web.api_settings(FOLDER, DATABASE), DATABASE))


@pytest.fixture(scope="module", autouse=True)
def world():
    """The API world, each role's token able to write (the world's own tokens may be read-only)."""
    DATABASE.migrate()
    world = web.api_build_world(DATABASE, FOLDER)
    writable = {"scope": "read-write"} if "scope" in inspect.signature(create_token).parameters else {}
    with DATABASE.session() as s:
        for username in web.API_ROLES:
            user = s.scalar(select(User).where(User.username == username))
            world.tokens[username] = create_token(s, user, "schemathesis", **writable)
    yield world
    DATABASE.engine.dispose()


# Generated codes rarely name a county or school that exists: half the cases use real ones (in
# and out of each role's scope), and PUT bodies with real field keys, so the cases reach the
# endpoints' own logic (scope, locks, validation, writes), not only their 404s.
COUNTIES = [*web.API_SCHOOLS, "999999"]
SCHOOLS = [code for members in web.API_SCHOOLS.values() for code, _ in members] + ["NOPE"]
YEARS = st.sampled_from([web.API_YEAR, web.API_YEAR - 1, web.API_YEAR + 1])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(["是", "否", "95%", "", "abc", "1e400"]), st.text(max_size=8))


def _real_parameters(path: str):
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    choices = {"code": st.sampled_from(SCHOOLS if "/schools/" in path else COUNTIES), "year": YEARS}
    return st.fixed_dictionaries({name: choices.get(name, st.text(min_size=1, max_size=5)) for name in names})


@schema.hook
def before_generate_path_parameters(context, strategy):
    return st.one_of(strategy, _real_parameters(context.operation.path))


def _fields(path: str) -> list[str]:
    table = "school_year" if "/schools/" in path else "county_year"
    return [f.key for f in catalog().table(table).fields] + ["unknown_field"]


@schema.hook
def before_generate_body(context, strategy):
    if context.operation.method.upper() != "PUT":
        return strategy
    values = st.dictionaries(st.sampled_from(_fields(context.operation.path)), SCALARS, min_size=1, max_size=4)
    real = st.fixed_dictionaries({"values": values}, optional={"version": st.integers(0, 5)})
    return st.one_of(strategy, real)


@schema.parametrize()
@pytest.mark.parametrize("role", ROLES)
@settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("JUNHENG_FUZZ_RANDOM"), database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_declared_for_every_role(case, role, world):
    case.call_and_validate(headers=world.headers(role), checks=CHECKS)

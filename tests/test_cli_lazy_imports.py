"""A dataset's evaluation from the command line imports only what it needs (issue 17): never the
store (SQLAlchemy and its models), the web stack (FastAPI, Starlette, Jinja2) or the workspace's
database. Checked in a fresh interpreter, where nothing else has imported them first."""

import json
import subprocess
import sys

import pytest

import builders
from junheng.data.writer import write_dataset_csv

# what a dataset's evaluation must not import (top-level packages and the store)
NOT_IMPORTED = ("sqlalchemy", "fastapi", "starlette", "jinja2", "junheng.store", "junheng.web")

CHILD = """
import json, sys
from typer.testing import CliRunner
from junheng.cli import app
result = CliRunner().invoke(app, sys.argv[1:], prog_name="junheng")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"sqlalchemy", "fastapi", "starlette", "jinja2"}
                or m.startswith(("junheng.store", "junheng.web")))
print(json.dumps({"exit_code": result.exit_code, "output": result.output, "loaded": loaded}))
"""


@pytest.fixture(scope="module")
def county_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lazy") / "data"
    write_dataset_csv(builders.dataset(), folder)
    return folder


def _run(*arguments) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, *map(str, arguments)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("arguments", [
    ["--format", "json", "-o", "{out}/result.json"],
    ["--county", builders.COUNTY, "--year", str(builders.YEAR), "--format", "json", "-o", "{out}/one.json"],
    [],  # the summary table in the terminal
])
def test_a_dataset_evaluation_never_imports_the_store_or_the_web_stack(county_folder, tmp_path, arguments):
    result = _run("evaluate", county_folder, *(a.format(out=tmp_path) for a in arguments))
    assert result["exit_code"] == 0, result["output"]
    assert result["loaded"] == [], f"imported {result['loaded']}"
    if arguments and arguments[-1].endswith(".json"):  # the command did its work
        written = json.loads((tmp_path / arguments[-1].rsplit("/", 1)[1]).read_text(encoding="utf-8"))
        assert written


def test_the_services_still_give_the_stored_evaluations():
    """The faces take the store's evaluations from junheng.services (imported when first asked for)."""
    from junheng import services
    from junheng.store import evaluations

    for name in ("data_stamps", "evaluate_stored", "stored_result", "year_progress"):
        assert getattr(services, name) is getattr(evaluations, name)
    with pytest.raises(AttributeError):
        services.no_such_service  # noqa: B018


def test_the_check_is_not_vacuous(county_folder):
    """A command that opens a workspace's database is seen importing SQLAlchemy by the same harness
    (here it then refuses the folder, which is not a workspace)."""
    result = _run("users", "list", "-w", county_folder.parent / "no-workspace")
    assert "sqlalchemy" in result["loaded"]


CHILD_IBIS = """
import json, sys
from typer.testing import CliRunner
from junheng.cli import app
result = CliRunner().invoke(app, sys.argv[1:], prog_name="junheng")
print(json.dumps({"exit_code": result.exit_code, "output": result.output,
                  "loaded": sorted(m for m in ("ibis", "sqlglot") if m in sys.modules)}))
"""


@pytest.mark.parametrize("arguments", [
    ["--format", "json", "-o", "{out}/result.json"],
    ["--county", builders.COUNTY, "--year", str(builders.YEAR), "--format", "json", "-o", "{out}/one.json"],
    [],  # the summary table in the terminal
])
def test_a_county_evaluation_with_its_queries_cached_never_imports_ibis(county_folder, tmp_path, arguments):
    """Issue 17: once a first run has compiled the engine's queries (the per-machine cache), a
    county's evaluation runs them on a plain DuckDB connection over Arrow: no Ibis, no sqlglot.
    (pandas is still imported by the data layer's Dataset: docs/benchmarks.md, "County".)"""
    warm = subprocess.run([sys.executable, "-c", CHILD_IBIS, "evaluate", str(county_folder),
                           *(a.format(out=tmp_path) for a in arguments)], capture_output=True, text=True, timeout=300)
    assert warm.returncode == 0, warm.stderr
    done = subprocess.run([sys.executable, "-c", CHILD_IBIS, "evaluate", str(county_folder),
                           *(a.format(out=tmp_path) for a in arguments)], capture_output=True, text=True, timeout=300)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["exit_code"] == 0, result["output"]
    assert result["loaded"] == [], f"imported {result['loaded']}"

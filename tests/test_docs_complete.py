"""Everything a user can name is documented: every rule kind and allowance kind of the standard
model (docs/standards.md or docs/methods.md, as a `code` span) and every command and sub-command
of `junheng` (docs/cli.md or README.md, as `junheng <command>`).

The lists are read from the code at run time (the Literal arguments of the model, the typer
app's command tree), so a kind or a command added later fails here until it is documented.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
import typer

from junheng.cli import app
from junheng.standards.model import Allowance, Rule

ROOT = Path(__file__).resolve().parents[1]
STANDARD_DOCS = ("docs/standards.md", "docs/methods.md")
COMMAND_DOCS = ("docs/cli.md", "README.md")


def _text(names: tuple[str, ...]) -> str:
    return "\n".join((ROOT / name).read_text(encoding="utf-8") for name in names if (ROOT / name).exists())


def _literal_values(annotation) -> list[str]:
    values = typing.get_args(annotation)
    assert values and all(isinstance(v, str) for v in values), annotation
    return list(values)


def rule_kinds() -> list[str]:
    """The `kind` of every member of the rule union (Annotated[Union[...], discriminator])."""
    union = typing.get_args(Rule)[0]
    return [kind for member in typing.get_args(union) for kind in _literal_values(member.model_fields["kind"].annotation)]


def allowance_kinds() -> list[str]:
    return _literal_values(Allowance.model_fields["kind"].annotation)


def commands() -> list[str]:
    """Every command path: "check", "tasks", "tasks add", ..."""
    found = []

    def walk(group, path):
        for name, command in group.commands.items():
            found.append(" ".join([*path, name]))
            if hasattr(command, "commands"):
                walk(command, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def _code_span(name: str) -> re.Pattern:
    return re.compile(rf"`{re.escape(name)}`")


def _command_mention(path: str) -> re.Pattern:
    # "junheng report" must not count as documented by "junheng report-city"
    return re.compile(rf"junheng {re.escape(path)}(?![\w-])")


def test_the_lists_come_from_the_code():
    assert {"per_student", "county_checks"} <= set(rule_kinds()) and len(rule_kinds()) == len(set(rule_kinds()))
    assert "itinerant_teachers" in allowance_kinds()
    assert {"check", "tasks", "tasks add", "report", "report-city"} <= set(commands())


@pytest.mark.parametrize("kind", rule_kinds())
def test_every_rule_kind_is_documented(kind):
    assert _code_span(kind).search(_text(STANDARD_DOCS)), \
        f"rule kind `{kind}` is not described in {' or '.join(STANDARD_DOCS)}"


@pytest.mark.parametrize("kind", allowance_kinds())
def test_every_allowance_kind_is_documented(kind):
    assert _code_span(kind).search(_text(STANDARD_DOCS)), \
        f"allowance kind `{kind}` is not described in {' or '.join(STANDARD_DOCS)}"


@pytest.mark.parametrize("path", commands())
def test_every_command_is_documented(path):
    assert _command_mention(path).search(_text(COMMAND_DOCS)), \
        f"command `junheng {path}` is not documented in {' or '.join(COMMAND_DOCS)}"


def test_a_missing_name_is_not_found():
    """The matching itself: a longer name or an old alias does not document a shorter one."""
    assert not _command_mention("report").search("junheng report-city data/")
    assert _command_mention("report").search("`junheng report [DATASET]`")
    assert not _code_span("itinerant_teachers").search("`r3_itinerant_teachers`")

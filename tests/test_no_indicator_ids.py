"""No indicator id is written in code: a new standard is a file, not a code change.

Every id a built-in standard declares (R1, G15, B8, BG2 …) may appear in the standards files,
in tests and in comments or docstrings that explain; not in any other string of the code (keys,
tuples, comparisons, f-strings) nor in the web templates and scripts. Code finds indicators
through the standard's declaration (rule kinds, `planning` roles, unit-level indicators).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from junheng.standards.loader import known_indicator_ids

SRC = Path(__file__).resolve().parents[1] / "src" / "junheng"
# Excel cell references are not indicator ids (openpyxl addresses such as "A1:B8").
CELL_REFERENCE = re.compile(r"^\$?[A-Z]{1,3}\$?[0-9]+(:\$?[A-Z]{1,3}\$?[0-9]+)?$")


def id_pattern() -> re.Pattern:
    ids = sorted(known_indicator_ids(), key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, ids)) + r")(?![A-Za-z0-9_])")


def docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                out.add(id(body[0].value))
    return out


def python_findings(pattern: re.Pattern) -> list[str]:
    findings = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        skip = docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                if CELL_REFERENCE.match(node.value):
                    continue
                found = pattern.findall(node.value)
                if found:
                    findings.append(f"{path.relative_to(SRC)}:{node.lineno}: {'、'.join(sorted(set(found)))}"
                                    f" in {node.value[:60]!r}")
    return findings


def template_findings(pattern: re.Pattern) -> list[str]:
    findings = []
    for path in sorted(SRC.rglob("*")):
        if path.suffix not in (".html", ".js", ".j2", ".txt") or "vendor" in path.parts or not path.is_file():
            continue
        if path.name == "common_passwords.txt":
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith(("//", "{#", "<!--", "*")):
                continue
            if pattern.search(line):
                findings.append(f"{path.relative_to(SRC)}:{number}: {stripped[:80]}")
    return findings


def test_the_pattern_finds_an_id_and_spares_its_neighbours():
    pattern = id_pattern()
    assert pattern.findall("R1 不达标") == ["R1"]
    assert pattern.findall("“G15”") == ["G15"]
    assert not pattern.findall("R10 SR1 BG12 R1x")


def test_no_indicator_id_in_code():
    pattern = id_pattern()
    findings = python_findings(pattern) + template_findings(pattern)
    assert not findings, ("indicator ids written in code (read them from the standard's declaration instead):\n"
                          + "\n".join(findings))

"""Helpers shared by the report tests: run the installed `junheng` command and check a refused
request. (Datasets are written as CSV folders with the library's `write_dataset_csv`.)"""

from __future__ import annotations

from builders import junheng_command, run_junheng  # noqa: F401 (shared with the CLI tests)


def assert_user_error(done, *fragments):
    """`done` (a finished `junheng` run) failed with a message, not a traceback, naming every fragment."""
    assert done.returncode != 0
    assert "Traceback" not in done.stdout + done.stderr
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr

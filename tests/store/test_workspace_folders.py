"""The workspace's rule folder as the backup finds it (junheng.workspace, below the monitor) is
the one the monitor reads its rules from (monitor.config), whatever junheng.toml says."""

from __future__ import annotations

import pytest

from junheng.monitor.config import monitor_settings
from junheng.workspace import RULES_FOLDER, Workspace


@pytest.mark.parametrize("monitor_table,expected", [
    ("", RULES_FOLDER),  # no [monitor] table: the default folder
    ('[monitor]\nschedule = "0 7 * * *"\n', RULES_FOLDER),
    ('[monitor]\nrules_dir = "县区规则"\n', "县区规则"),
    ('[monitor]\nrules_dir = "ABSOLUTE"\n', "ABSOLUTE"),
])
def test_the_rules_folder_is_the_monitors(tmp_path, monitor_table, expected):
    root = tmp_path / "ws"
    Workspace(root).create()
    elsewhere = tmp_path / "规则"
    with (root / "junheng.toml").open("a", encoding="utf-8") as config:
        config.write("\n" + monitor_table.replace("ABSOLUTE", str(elsewhere)))
    found = Workspace(root).rules_dir
    assert found == (elsewhere if expected == "ABSOLUTE" else root / expected)
    assert found == monitor_settings(root).rules_dir

"""/standards/{id} shows a standard of the catalogue or of the workspace's standards/ folder and
never opens a file of the server by its id (issue 11, defect 17).

The server runs in a folder holding junheng.toml, junheng.db and a valid standard file
probe.yaml (all with a marker): a logged-in school filler probing them by name, by relative and
by absolute path gets a Chinese 404, and no file outside the catalogue is read.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from web_world import PASSWORD

from junheng.layered import LayeredFiles
from junheng.standards.loader import builtin_dir

MARKER = "SECRET-MARKER-4242"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def server_folder(tmp_path, monkeypatch):
    """The server's working directory, with files a probe must not reach."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    (folder / "junheng.toml").write_text(f'secret_key = "{MARKER}"\n', "utf-8")
    (folder / "junheng.db").write_bytes(b"SQLite format 3\x00" + MARKER.encode())
    standard = (builtin_dir() / "national-2017.yaml").read_text("utf-8")
    (folder / "probe.yaml").write_text(standard.replace("name:", f"name: {MARKER}", 1), "utf-8")
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def reads(monkeypatch) -> list[Path]:
    """Every layered file (standard) the server reads."""
    seen: list[Path] = []
    original = LayeredFiles.read

    def spy(self, path):
        seen.append(Path(path).resolve())
        return original(self, path)

    monkeypatch.setattr(LayeredFiles, "read", spy)
    return seen


@pytest.fixture
def filler(web_world):
    from fastapi.testclient import TestClient

    client = TestClient(web_world.app(), raise_server_exceptions=False)
    assert client.post("/login", data={"username": "school", "password": PASSWORD},
                       follow_redirects=False).status_code == 303
    return client


PROBES = [
    "junheng.toml", "junheng.db", "probe.yaml", "probe", "..%2Fjunheng.db", "..%2F..%2Fetc%2Fpasswd",
    "%2Fetc%2Fpasswd", "%2E%2E", "national-2017.yaml", "national-2017%00", "%2Ftmp%2Fprobe.yaml",
]


@pytest.mark.parametrize("probe", PROBES)
def test_a_probe_for_a_server_file_is_a_chinese_404_and_reads_nothing(server_folder, reads, filler, probe):
    for suffix in ("", "?format=json"):
        response = filler.get(f"/standards/{probe}{suffix}")
        assert response.status_code == 404, response.text[:300]
        assert CJK.search(response.text) and MARKER not in response.text and "Traceback" not in response.text
    outside = [p for p in reads if builtin_dir().resolve() not in p.parents]
    assert outside == []


def test_the_absolute_path_of_a_valid_standard_file_is_not_loaded(server_folder, reads, filler):
    absolute = str(server_folder / "probe.yaml").replace("/", "%2F")
    response = filler.get(f"/standards/{absolute}?format=json")
    assert response.status_code == 404 and MARKER not in response.text
    assert all(builtin_dir().resolve() in p.parents for p in reads)


def test_an_unknown_id_names_the_available_standards(server_folder, filler):
    response = filler.get("/standards/no-such-standard?format=json")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("没有这个标准;可用的标准:") and "national-2017" in response.json()["detail"]
    page = filler.get("/standards/no-such-standard")
    assert page.status_code == 404 and "页面不存在" in page.text


def test_catalogue_standards_and_the_workspace_folder_still_show(server_folder, web_world, filler):
    page = filler.get("/standards/national-2017?format=json")
    assert page.status_code == 200 and page.json()["id"] == "national-2017" and len(page.json()["indicators"]) > 20
    assert filler.get("/standards/shandong").status_code == 200
    folder = Path(web_world.settings.folder) / "standards"
    folder.mkdir(exist_ok=True)
    (folder / "our-county.yaml").write_text((server_folder / "probe.yaml").read_text("utf-8")
                                            .replace("id: national-2017", "id: our-county"), "utf-8")
    own = filler.get("/standards/our-county?format=json")
    assert own.status_code == 200 and own.json()["name"].startswith(MARKER)

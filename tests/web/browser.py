"""What the browser tests share: Debian's Chromium found and launched headless (never
`playwright install`), the site served by uvicorn on a free 127.0.0.1 port in a thread, and a
page at the office screen's 1366×768 that leaves a screenshot in test-artifacts/ when it fails,
and `log_in` as a user types it.

The fixtures `chromium` (its path; a skip outside CI when missing, a failure in CI) and
`browser` (one Chromium per test module) are registered in tests/web/conftest.py."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREEN = {"width": 1366, "height": 768}


def chromium_path() -> str | None:
    for candidate in (os.environ.get("JUNHENG_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def launch_chromium(playwright, executable_path: str):
    """Headless Chromium at `executable_path`, launched as the browser tests run it."""
    return playwright.chromium.launch(executable_path=executable_path, headless=True, args=CHROMIUM_ARGS)


@contextmanager
def serve(app) -> Iterator[str]:
    """`junheng serve` in-process: `app` under uvicorn on a free 127.0.0.1 port, in a thread;
    yields the base URL and stops the server afterwards."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def screen_page(browser, failure: str) -> Iterator:
    """A page at 1366×768 (zh-CN) in a fresh context; when the block fails, its screenshot and
    HTML are left in test-artifacts/<failure>.png and .html."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport=SCREEN, locale="zh-CN")
    context.set_default_timeout(60_000)  # a loaded CI machine is slow; failures still fail
    page = context.new_page()
    try:
        yield page
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"{failure}.png"), full_page=True)
        (ARTIFACTS / f"{failure}.html").write_text(f"<!-- {page.url} -->\n" + page.content(), "utf-8")
        raise
    finally:
        context.close()


@pytest.fixture(scope="module")
def chromium() -> str:
    found = chromium_path()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium not found (/usr/bin/chromium): in CI the browser test must run; "
                        "install it with scripts/install-system-deps.sh")
        pytest.skip("Chromium not found (/usr/bin/chromium) and CI is not set: "
                    "run scripts/install-system-deps.sh (Debian package chromium) to run the browser test")
    return found


@pytest.fixture(scope="module")
def browser(chromium):
    if os.environ.get("CI"):
        from playwright import (
            sync_api,  # in CI a missing Playwright is a failure, not a skip
        )
    else:
        sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed "
                                       "(pip install -e '.[test]')")
    with sync_api.sync_playwright() as playwright:
        instance = launch_chromium(playwright, chromium)
        yield instance
        instance.close()


def log_in(page, base: str, username: str, password: str | None = None) -> None:
    """Log in through the form and wait for the page it leads to (the login commits its session
    before it answers: tests/web/test_commit_before_response.py). `password` defaults to the web
    worlds' PASSWORD."""
    if password is None:
        from web_world import PASSWORD

        password = PASSWORD
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.wait_for_load_state()

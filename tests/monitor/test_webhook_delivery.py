"""Issue 11, webhooks at delivery: the host is resolved once and refused when any address is
private, loopback, link-local, multicast, reserved or unspecified (unless named in [webhook]
internal_hosts), and the digest goes to the address that was checked. Resolution is
monkeypatched: no network."""

from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from junheng.monitor import notify
from junheng.monitor.config import DEFAULT_WEBHOOK_HOSTS, MonitorSettings, monitor_settings
from junheng.monitor.notify import NotifyError, add_subscription, checked_address, notification_log, post_webhook
from junheng.monitor.tasks import create_task
from junheng.store.models import OrgNode
from junheng.store.users import create_user
from monitor_helpers import watch


@pytest.fixture
def resolved(monkeypatch):
    """Host name → the addresses the (patched) resolver answers; every lookup is recorded."""
    answers: dict[str, list[str]] = {}
    lookups: list[str] = []

    def resolve(host, port):
        lookups.append(host)
        if host not in answers:
            raise OSError("Name or service not known")
        return answers[host]

    monkeypatch.setattr(notify, "_resolve", resolve)
    return answers, lookups


@pytest.mark.parametrize("address", ["10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "169.254.169.254",
                                     "224.0.0.1", "240.0.0.1", "0.0.0.0", "100.64.0.1", "::1", "fe80::1",
                                     "fc00::1", "::ffff:10.0.0.1", "::"])
def test_internal_addresses_are_refused(resolved, address):
    answers, _ = resolved
    answers["qyapi.weixin.qq.com"] = ["8.8.8.8", address]  # one bad address is enough
    with pytest.raises(NotifyError, match="内网、本机或保留地址") as caught:
        checked_address("qyapi.weixin.qq.com", 443)
    assert "internal_hosts" in caught.value.user_message()


def test_public_addresses_pass_and_internal_hosts_are_explicit(resolved):
    answers, lookups = resolved
    answers["qyapi.weixin.qq.com"] = ["8.8.8.8", "2001:4860:4860::8888"]
    assert checked_address("qyapi.weixin.qq.com", 443) == "8.8.8.8"
    answers["robot.intranet.test"] = ["10.1.2.3"]
    with pytest.raises(NotifyError):
        checked_address("robot.intranet.test", 443)
    assert checked_address("robot.intranet.test", 443, ("robot.intranet.test",)) == "10.1.2.3"
    assert checked_address("robot.intranet.test", 443, ("*.intranet.test",)) == "10.1.2.3"
    with pytest.raises(NotifyError, match="无法解析"):
        checked_address("nowhere.test", 443)
    assert lookups == ["qyapi.weixin.qq.com", "robot.intranet.test", "robot.intranet.test", "robot.intranet.test",
                       "nowhere.test"]


def test_internal_hosts_setting():
    assert monitor_settings(config={}).webhook_internal_hosts == ()
    settings = monitor_settings(config={"webhook": {"internal_hosts": ["Robot.Intranet.test"],
                                                    "allowed_hosts": ["http://robot.intranet.test:8080"]}})
    assert settings.webhook_internal_hosts == ("robot.intranet.test",)
    assert settings.webhook_hosts[-1] == "http://robot.intranet.test:8080"


@pytest.fixture
def receiver():
    posts = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server API)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posts.append((self.headers["Host"], self.path, json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], posts
    server.shutdown()
    server.server_close()


def test_the_digest_goes_to_the_checked_address(resolved, receiver):
    """robot.intranet.test exists only in the patched resolver: the POST can arrive only at the
    address that was checked, with the host's name in the Host header."""
    answers, lookups = resolved
    port, posts = receiver
    answers["robot.intranet.test"] = ["127.0.0.1"]
    url = f"http://robot.intranet.test:{port}/hook?key=k"
    with pytest.raises(NotifyError, match="内网、本机或保留地址"):
        post_webhook(url, {"msgtype": "text"}, 3)
    assert posts == []
    post_webhook(url, {"msgtype": "text"}, 3, internal_hosts=("robot.intranet.test",))
    assert posts == [(f"robot.intranet.test:{port}", "/hook?key=k", {"msgtype": "text"})]
    assert lookups == ["robot.intranet.test", "robot.intranet.test"]  # once per delivery


def test_refusals_at_delivery_are_logged_as_failed(database, resolved, receiver):
    answers, _ = resolved
    port, posts = receiver
    answers["robot.example.test"] = ["127.0.0.1"]  # an allowed host whose name now points inside
    hosts = DEFAULT_WEBHOOK_HOSTS + (f"http://robot.example.test:{port}",)
    with database.session() as s:
        s.add(OrgNode(kind="county", code="990001", name="测试县"))
        s.flush()
        admin = create_user(s, "xian", "password-1", role="county_admin", scope_code="990001")
        add_subscription(s, admin, "webhook", f"http://robot.example.test:{port}/hook", min_severity="yellow",
                         allowed_hosts=hosts)
        create_task(s, "990001", title="新建风雨操场", deadline=date(2025, 6, 30), via="cli")
    watch(database, date(2025, 6, 28), settings=MonitorSettings(webhook_timeout=3, webhook_hosts=hosts))
    assert posts == []
    with database.session() as s:
        log = notification_log(s)
    assert [e["status"] for e in log] == ["failed"]
    assert "解析到内网、本机或保留地址(127.0.0.1),已拒绝发送" in log[0]["error"]
    # named as internal by the workspace: delivered (the failed digest is retried)
    watch(database, date(2025, 6, 28), settings=MonitorSettings(webhook_timeout=3, webhook_hosts=hosts,
                                                                webhook_internal_hosts=("robot.example.test",)))
    assert len(posts) == 1 and posts[0][0] == f"robot.example.test:{port}"

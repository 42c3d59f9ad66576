"""Webhook targets are restricted to allowed hosts: WeCom and DingTalk by default plus what the
workspace adds ([webhook] allowed_hosts, JUNHENG_WEBHOOK_ALLOWED_HOSTS); refused with a Chinese
message when subscribing and again at delivery (the list may have shrunk since), and a robot
host's redirect is not followed."""

from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from junheng.monitor.config import DEFAULT_WEBHOOK_HOSTS, MonitorConfigError, MonitorSettings, monitor_settings
from junheng.monitor.notify import NotifyError, add_subscription, check_webhook_url, notification_log
from junheng.monitor.tasks import create_task
from junheng.store.models import NotificationSubscription, OrgNode
from junheng.store.users import create_user
from monitor_helpers import watch

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"
DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=xyz"


def test_settings_add_hosts_to_the_robots(monkeypatch, tmp_path):
    monkeypatch.delenv("JUNHENG_WEBHOOK_ALLOWED_HOSTS", raising=False)
    assert monitor_settings(config={}).webhook_hosts == DEFAULT_WEBHOOK_HOSTS == (
        "qyapi.weixin.qq.com", "oapi.dingtalk.com")
    settings = monitor_settings(config={"webhook": {"allowed_hosts": ["Robot.Example.gov.cn", "127.0.0.1:8080",
                                                                      "oapi.dingtalk.com"]}})
    assert settings.webhook_hosts == DEFAULT_WEBHOOK_HOSTS + ("robot.example.gov.cn", "127.0.0.1:8080")
    monkeypatch.setenv("JUNHENG_WEBHOOK_ALLOWED_HOSTS", "hooks.example.cn, *.example.org")
    assert monitor_settings(config={}).webhook_hosts[-2:] == ("hooks.example.cn", "*.example.org")
    monkeypatch.delenv("JUNHENG_WEBHOOK_ALLOWED_HOSTS")
    with pytest.raises(MonitorConfigError, match="不是主机名"):
        monitor_settings(config={"webhook": {"allowed_hosts": ["https://robot.example.gov.cn/hook"]}})
    with pytest.raises(MonitorConfigError, match="应为主机名列表"):
        monitor_settings(config={"webhook": {"allowed_hosts": 5}})
    (tmp_path / "junheng.toml").write_text('[webhook]\nallowed_hosts = ["127.0.0.1"]\n', encoding="utf-8")
    assert monitor_settings(tmp_path).webhook_hosts == DEFAULT_WEBHOOK_HOSTS + ("127.0.0.1",)


@pytest.mark.parametrize("url, allowed, ok", [
    (WECOM, None, True),
    (DINGTALK, None, True),
    ("HTTPS://QYAPI.WEIXIN.QQ.COM/cgi-bin/webhook/send?key=1", None, True),
    ("http://127.0.0.1:8080/hook", None, False),
    ("https://qyapi.weixin.qq.com.evil.example/send", None, False),
    ("https://evil.example/qyapi.weixin.qq.com", None, False),
    ("https://qyapi.weixin.qq.com@evil.example/send", None, False),
    ("https://user:pw@qyapi.weixin.qq.com/send", None, False),
    ("ftp://qyapi.weixin.qq.com/send", None, False),
    # issue 11: https on port 443 by default; http and other ports only where an entry says so
    ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=1", None, False),
    ("https://qyapi.weixin.qq.com:8443/cgi-bin/webhook/send?key=1", None, False),
    ("https://qyapi.weixin.qq.com:443/cgi-bin/webhook/send?key=1", None, True),
    ("http://127.0.0.1:8080/hook", ("127.0.0.1",), False),
    ("http://127.0.0.1:8080/hook", ("127.0.0.1:8080",), False),
    ("https://127.0.0.1:8080/hook", ("127.0.0.1",), False),
    ("https://127.0.0.1:8080/hook", ("127.0.0.1:8080",), True),
    ("http://127.0.0.1:8080/hook", ("http://127.0.0.1:8080",), True),
    ("http://127.0.0.1:9090/hook", ("http://127.0.0.1:8080",), False),
    ("http://127.0.0.1:9090/hook", ("http://127.0.0.1:*",), True),
    ("http://127.0.0.1/hook", ("http://127.0.0.1",), True),
    ("https://127.0.0.1/hook", ("http://127.0.0.1",), False),
    ("https://robot.example.org/x", ("*.example.org",), True),
    ("https://example.org/x", ("*.example.org",), False),
])
def test_webhook_url_check(url, allowed, ok):
    if ok:
        assert check_webhook_url(url, allowed) == url
    else:
        with pytest.raises(NotifyError) as caught:
            check_webhook_url(url, allowed)
        assert "Webhook" in caught.value.user_message()


def test_refused_when_subscribing_and_again_when_delivering(database):
    posts = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server API)
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", f"http://localhost:{self.server.server_address[1]}/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def do_GET(self):  # noqa: N802 (a followed 302 would arrive here)
            posts.append({"followed": self.path})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    local = DEFAULT_WEBHOOK_HOSTS + ("http://127.0.0.1:*",)  # an explicit plain-http local receiver
    try:
        with database.session() as s:
            s.add(OrgNode(kind="county", code="990001", name="测试县"))
            s.flush()
            admin = create_user(s, "xian", "password-1", role="county_admin", scope_code="990001")
            with pytest.raises(NotifyError, match="Webhook 主机“127.0.0.1:.*”不在允许的列表中"):
                add_subscription(s, admin, "webhook", f"{base}/hook")  # the defaults: robots only
            assert s.scalars(select(NotificationSubscription)).all() == []
            add_subscription(s, admin, "webhook", f"{base}/hook", min_severity="yellow", allowed_hosts=local)
            add_subscription(s, admin, "webhook", f"{base}/redirect", min_severity="yellow", format="json",
                             allowed_hosts=local)
            create_task(s, "990001", title="新建风雨操场", deadline=date(2025, 6, 30), via="cli")

        # the workspace no longer allows 127.0.0.1: nothing is posted, the log says why
        watch(database, date(2025, 6, 28), settings=MonitorSettings(webhook_timeout=3))
        assert posts == []
        with database.session() as s:
            log = notification_log(s)
        assert len(log) == 2 and {e["status"] for e in log} == {"failed"}
        assert all("不在允许的列表中" in e["error"] for e in log)

        # allowed again: delivered; the redirecting receiver's digest is not carried elsewhere
        watch(database, date(2025, 6, 28), settings=MonitorSettings(webhook_timeout=3, webhook_hosts=local,
                                                                    webhook_internal_hosts=("127.0.0.1",)))
        assert len(posts) == 2  # /hook and /redirect, never /elsewhere
        assert all("followed" not in p for p in posts)
        with database.session() as s:
            newest = notification_log(s)[:2]
        assert sorted(e["status"] for e in newest) == ["failed", "sent"]
        failed = next(e for e in newest if e["status"] == "failed")
        assert "HTTP 302" in failed["error"]
    finally:
        server.shutdown()
        server.server_close()

"""Notification digests reach a local SMTP server (aiosmtpd) and a local webhook receiver
(http.server) with the expected content, exactly once per warning, again only when it worsens;
an overdue task escalates to the county admin (SQLite and PostgreSQL)."""

import email
import email.policy
import json
import socket
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from junheng.monitor.config import DEFAULT_WEBHOOK_HOSTS, MonitorSettings, SmtpSettings
from junheng.monitor.notify import NotifyError, add_subscription, notification_log, set_subscription_active
from junheng.monitor.tasks import create_task
from junheng.store.models import NotificationSubscription, OrgNode
from junheng.store.users import create_user
from monitor_helpers import watch

DEADLINE = date(2025, 6, 30)
HOSTS = DEFAULT_WEBHOOK_HOSTS + ("http://127.0.0.1:*",)  # as a workspace's [webhook] allowed_hosts would add it
INTERNAL = ("127.0.0.1",)  # and [webhook] internal_hosts: the local receiver may be on a loopback address


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Mailbox:
    def __init__(self):
        self.messages = []
        self.recipients = []  # the envelope's RCPT TO of each message

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture
def smtp_server():
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def webhook_server():
    posts = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server API)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posts.append((self.path, self.headers["Content-Type"], json.loads(body)))
            answer = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", posts
    server.shutdown()
    server.server_close()


def test_digests_are_delivered_once_and_again_when_worse(database, smtp_server, webhook_server):
    controller, mailbox = smtp_server
    base_url, posts = webhook_server
    with database.session() as s:
        city = OrgNode(kind="city", code="9900", name="测试市")
        s.add(city)
        s.flush()
        s.add(OrgNode(kind="county", code="990001", name="测试县", parent_id=city.id))
        s.flush()
        admin = create_user(s, "xian", "password-1", display_name="县教体局管理员", role="county_admin",
                            scope_code="990001")
        supervisor = create_user(s, "shi", "password-2", display_name="市督导", role="supervisor", scope_code="9900")
        add_subscription(s, admin, "email", "xian@test.local", min_severity="red")
        add_subscription(s, supervisor, "webhook", f"{base_url}/cgi-bin/webhook/send?key=abc", min_severity="yellow",
                         allowed_hosts=HOSTS)
        add_subscription(s, supervisor, "webhook", f"http://127.0.0.1:{_free_port()}/down", min_severity="yellow",
                         format="text", allowed_hosts=HOSTS)
        create_task(s, "990001", title="城区第一小学新建风雨操场", deadline=DEADLINE, indicator="R5",
                    owner_name="张主任", via="cli")
    settings = MonitorSettings(smtp=SmtpSettings(host="127.0.0.1", port=controller.port, security="none",
                                                 sender="均衡预警 <junheng@test.local>"),
                               site_url="https://junheng.test", webhook_timeout=3, webhook_hosts=HOSTS, webhook_internal_hosts=INTERNAL)

    # three days before the deadline: a yellow warning; the supervisor's robot hears of it, the
    # county admin (red only) does not
    watch(database, DEADLINE - timedelta(days=3), settings=settings)
    assert mailbox.messages == []
    assert len(posts) == 1
    path, content_type, body = posts[0]
    assert path == "/cgi-bin/webhook/send?key=abc" and content_type.startswith("application/json")
    assert body["msgtype"] == "markdown"
    text = body["markdown"]["content"]
    assert "均衡预警:1 条" in text and "[新]" in text and "督办任务即将到期:城区第一小学新建风雨操场" in text
    assert "还剩 3 天" in text and "张主任" in text and "黄色" in text

    # the same day again: nothing new, nothing sent
    watch(database, DEADLINE - timedelta(days=3), settings=settings)
    assert len(posts) == 1 and mailbox.messages == []

    # two days late: red, worsened for the robot, escalated to the county admin by e-mail
    watch(database, DEADLINE + timedelta(days=2), settings=settings)
    assert len(posts) == 2
    text = posts[1][2]["markdown"]["content"]
    assert "[加重]" in text and "督办任务已逾期" in text and "已逾期 2 天" in text and "红色" in text
    assert len(mailbox.messages) == 1
    mail = mailbox.messages[0]
    assert mail["To"] == "xian@test.local" and "junheng@test.local" in mail["From"]
    assert mail["Subject"] == "【均衡预警】测试县 1 条预警(红色 1 条)"
    content = mail.get_content()
    assert "县教体局管理员:" in content and "[督办升级]" in content and "已逾期 2 天" in content
    assert "提请县级管理员督办" in content and "责任单位:教体局" in content
    assert "https://junheng.test/counties/990001/warnings/" in content

    # and once only
    watch(database, DEADLINE + timedelta(days=2), settings=settings)
    assert len(posts) == 2 and len(mailbox.messages) == 1

    with database.session() as s:
        log = notification_log(s)
    sent = [entry for entry in log if entry["status"] == "sent"]
    assert len(sent) == 3 and all(entry["warning_count"] == 1 for entry in sent)
    assert {i["reason"] for entry in sent for i in entry["items"]} == {"new", "worsened", "escalated"}
    # the robot that is down is logged as failed and retried in every run (never marked sent)
    failed = [entry for entry in log if entry["status"] == "failed"]
    assert len(failed) == 4 and all("Webhook 无法送达" in entry["error"] for entry in failed)
    assert all(entry["target"].endswith("/…") for entry in log if entry["channel"] == "webhook")


def test_e_mail_targets_are_one_plain_address_at_subscription_and_at_delivery(database, smtp_server):
    """Issue 11 #12: a target with CR/LF made every run fail (no digests at all); a comma list
    mailed an extra address. Refused when subscribing; one stored before the check fails alone
    at delivery, and the other subscriptions still get their digests."""
    controller, mailbox = smtp_server
    with database.session() as s:
        s.add(OrgNode(kind="county", code="990001", name="测试县"))
        s.flush()
        admin = create_user(s, "xian", "password-1", display_name="县管理员", role="county_admin",
                            scope_code="990001")
        for bad in ("xian@test.local\r\nBcc: evil@test.local", "xian@test.local, evil@test.local",
                    "xian@test.local;evil@test.local", "县管理员 <xian@test.local>", "xian@test.local\nX-Evil: 1"):
            with pytest.raises(NotifyError, match="电子邮件地址"):
                add_subscription(s, admin, "email", bad)
        assert s.scalar(select(func.count()).select_from(NotificationSubscription)) == 0
        add_subscription(s, admin, "email", "xian@test.local", min_severity="yellow")
        # as stored before addresses were checked strictly
        for bad in ("xian@test.local\r\nBcc: evil@test.local", "xian@test.local, evil@test.local"):
            s.add(NotificationSubscription(user_id=admin.id, channel="email", target=bad, min_severity="yellow",
                                           active=True))
        create_task(s, "990001", title="风雨操场", deadline=DEADLINE, via="cli")
    settings = MonitorSettings(smtp=SmtpSettings(host="127.0.0.1", port=controller.port, security="none",
                                                 sender="均衡预警 <junheng@test.local>"), webhook_hosts=HOSTS, webhook_internal_hosts=INTERNAL)
    watch(database, DEADLINE - timedelta(days=3), settings=settings)  # no exception: the run completes
    assert mailbox.recipients == [["xian@test.local"]]  # one digest, to the one good address
    assert mailbox.messages[0]["To"] == "xian@test.local" and "Bcc" not in mailbox.messages[0]
    with database.session() as s:
        log = notification_log(s)
        bad_ids = [sub.id for sub in s.scalars(select(NotificationSubscription)) if sub.target != "xian@test.local"]
        with pytest.raises(NotifyError, match="电子邮件地址"):
            set_subscription_active(s, bad_ids[0], True)  # resuming re-checks the address
    failed = [e for e in log if e["status"] == "failed"]
    assert len(failed) == 2 and all("电子邮件地址" in e["error"] for e in failed)
    assert [e["status"] for e in log].count("sent") == 1


def test_a_deleted_county_cannot_be_subscribed_to(database):
    """The one county look-up (`repo.county_by_code`): a deleted county is not found, here as on
    every face, with the message of an unknown code; nothing is saved."""
    from junheng.store.models import utcnow

    with database.session() as s:
        s.add(OrgNode(kind="county", code="990001", name="测试县", deleted_at=utcnow()))
        s.flush()
        admin = create_user(s, "sheng", "password-1", display_name="系统管理员", role="admin")
        with pytest.raises(NotifyError, match="没有县区代码为 990001 的县区"):
            add_subscription(s, admin, "email", "sheng@test.local", county_code="990001")
        assert s.scalar(select(func.count()).select_from(NotificationSubscription)) == 0

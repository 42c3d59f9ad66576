"""Notifications: per user subscription (e-mail or webhook) and severity, one digest per
subscription per run, never the same warning twice unless it worsened or came back.

What a subscription receives: open warnings of the counties its user may read (school fillers:
their school's), optionally one county and some kinds, at or above its minimum severity.
Overdue supervision tasks are escalated (`escalate_to = "county_admin"`): every county admin of
that county receives them whatever severity they subscribed to; when no county admin has a
channel, an "undeliverable" entry in the notification log says so (once).

Each digest is one row of `notification_log` (sent, failed or undeliverable) with one
`notification_items` row per warning at the occurrence and worsening it was sent with. A
failed delivery is retried in the next run (its warnings were not sent).

Webhook bodies: "markdown" (企业微信/WeCom group robot: {"msgtype": "markdown", "markdown":
{"content": ...}}), "dingtalk" (钉钉 markdown: {"msgtype": "markdown", "markdown": {"title",
"text"}}), "text" ({"msgtype": "text", "text": {"content": ...}}, which both robots accept)
and "json" (the warnings as data, for other systems).

Webhook targets must be on an allowed host (`MonitorSettings.webhook_hosts`: WeCom, DingTalk and
what the workspace adds), https on port 443 unless the host's entry says otherwise explicitly
("http://10.1.2.3:8080", "robot.example.cn:8443", a port "*" for any): checked when a
subscription is made or re-activated and again before every delivery. At delivery the host is
resolved once and refused when any address is private, loopback, link-local, multicast,
reserved, unspecified or otherwise not global (unless the host is named in
`MonitorSettings.webhook_internal_hosts`), and the connection goes to the address that was
checked (TLS still verifies the host name): a DNS answer that changes between the check and the
connection cannot redirect the digest. Redirects are not followed (a robot host cannot send the
digest elsewhere). Every refusal is logged as a failed delivery with its reason.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import smtplib
import socket
import ssl
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, parseaddr

from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.errors import JunhengError
from junheng.monitor.config import DEFAULT_WEBHOOK_HOSTS, WEBHOOK_ENTRY, MonitorSettings
from junheng.monitor.rules import KIND_LABELS, SEVERITY_LABELS, SEVERITY_RANK
from junheng.monitor.warnings import warning_json
from junheng.store.models import (
    MonitorWarning,
    NotificationItem,
    NotificationLog,
    NotificationSubscription,
    OrgNode,
    RoleGrant,
    User,
    utcnow,
)

CHANNELS = ("email", "webhook")
CHANNEL_LABELS = {"email": "电子邮件", "webhook": "群机器人(Webhook)"}
FORMATS = ("markdown", "dingtalk", "text", "json")
FORMAT_LABELS = {"markdown": "企业微信 Markdown", "dingtalk": "钉钉 Markdown", "text": "纯文本(企业微信、钉钉均可)",
                 "json": "JSON 数据(其他系统)"}
REASON_LABELS = {"new": "新", "worsened": "加重", "reopened": "反弹", "escalated": "督办升级"}
WECOM_LIMIT = 4000  # bytes; the robot refuses markdown over 4096
SEVERITY_COLORS = {"red": "warning", "orange": "warning", "yellow": "comment"}


class NotifyError(JunhengError):
    pass


# ---------------------------------------------------------------- subscriptions


DEFAULT_PORTS = {"https": 443, "http": 80}


def _entry(entry: str) -> tuple[str, str, str | None] | None:
    """An allowed-host entry as (scheme, name, port): "host", "host:port", "*.domain",
    "http://host[:port]"; port None (the scheme's default), digits or "*" (any)."""
    match = WEBHOOK_ENTRY.match(entry.strip().lower())
    if not match:
        return None
    return match["scheme"] or "https", match["name"].strip("[]"), match["port"]


def _name_matches(host: str, name: str) -> bool:
    return host.endswith(name[1:]) if name.startswith("*.") else host == name


def host_allowed(host: str, port: int | None, allowed: tuple[str, ...] | list[str], scheme: str = "https") -> bool:
    """Whether `host` (lower-case), `port` (None: the scheme's default) and `scheme` match an
    entry: by default https on port 443 only; "host:8443" allows that port, "host:*" any port,
    "http://host[:port]" plain http (port 80 unless given)."""
    port = port if port is not None else DEFAULT_PORTS.get(scheme)
    for entry in allowed:
        parsed = _entry(entry)
        if parsed is None:
            continue
        entry_scheme, name, entry_port = parsed
        if entry_scheme != scheme or not _name_matches(host, name):
            continue
        if entry_port == "*" or port == (int(entry_port) if entry_port else DEFAULT_PORTS[entry_scheme]):
            return True
    return False


def _host_listed(host: str, entries: tuple[str, ...] | list[str]) -> bool:
    """Whether `host` is named by an entry, whatever its scheme and port."""
    return any(parsed is not None and _name_matches(host, parsed[1]) for parsed in map(_entry, entries))


def check_webhook_url(url: str, allowed_hosts: tuple[str, ...] | list[str] | None = None) -> str:
    """The URL, stripped, if it is an https URL on port 443 of an allowed host, or http / another
    port that the host's entry allows explicitly; else NotifyError (Chinese)."""
    url = (url or "").strip()
    allowed = tuple(allowed_hosts) if allowed_hosts is not None else DEFAULT_WEBHOOK_HOSTS
    if not re.match(r"(?i)https?://[^\s/]+", url) or any(c.isspace() for c in url):
        raise NotifyError(f"Webhook 地址“{url[:100]}”无效:应以 https:// 开头,不含空格")
    try:
        parts = urllib.parse.urlsplit(url)
        host, port, scheme = (parts.hostname or "").lower(), parts.port, parts.scheme.lower()
    except ValueError:
        raise NotifyError(f"Webhook 地址“{url[:100]}”无效:主机名或端口有误") from None
    if parts.username or parts.password:
        raise NotifyError("Webhook 地址不能包含用户名或密码(“用户@主机”形式)")
    if not host:
        raise NotifyError(f"Webhook 地址“{url[:100]}”缺少主机名")
    shown = host + (f":{port}" if port else "")
    if not _host_listed(host, allowed):
        raise NotifyError(f"Webhook 主机“{shown}”不在允许的列表中。允许的主机:{'、'.join(allowed)};"
                          "如需使用其他主机,请系统管理员在工作区配置 junheng.toml 的 [webhook] allowed_hosts 中添加")
    if not host_allowed(host, port, allowed, scheme):
        suggestion = f"\"http://{host}:{port or 80}\"" if scheme == "http" else f"\"{host}:{port}\""
        raise NotifyError(f"Webhook 地址“{scheme}://{shown}”不被允许:默认只能使用 https 和 443 端口。"
                          "内网机器人如需 http 或其他端口,请系统管理员在 junheng.toml 的 [webhook] allowed_hosts 中"
                          f"明确写出,如 {suggestion}")
    return url


# One bare address (local@domain), ASCII: no display name, no list ("a@x.cn, b@y.cn" or ";"), no
# quotes, comments or spaces, and never a control character — a CR/LF would let a target write
# headers of its own (Bcc: …) or make every digest of the run fail.
_EMAIL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_email_address(address: str) -> str:
    """The address, stripped of surrounding spaces, if it is exactly one plain e-mail address;
    else NotifyError saying why (Chinese). Checked when a subscription is made or resumed and
    again before every delivery."""
    text = address if isinstance(address, str) else ""
    stripped = text.strip(" \t")
    shown = _CONTROL.sub("?", stripped)[:100]
    if _CONTROL.search(stripped):
        raise NotifyError(f"电子邮件地址“{shown}”无效:不能包含换行符或其他控制字符")
    if any(c in stripped for c in ",;") or stripped.count("@") > 1:
        raise NotifyError(f"电子邮件地址“{shown}”无效:只能填写一个地址(不能用逗号、分号分隔多个地址);"
                          "需要多个收件人时请分别添加订阅")
    if len(stripped) > 254 or not _EMAIL.fullmatch(stripped) or len(stripped.split("@")[0]) > 64:
        raise NotifyError(f"电子邮件地址“{shown}”无效:应为一个邮件地址,如 xian@example.gov.cn"
                          "(只用英文字母、数字和 . _ - 等符号,不带姓名、空格或尖括号)")
    return stripped


def add_subscription(session: Session, user: User, channel: str, target: str, *, min_severity: str = "orange",
                     format: str = "markdown", county_code: str | None = None,
                     kinds: list[str] | None = None,
                     allowed_hosts: tuple[str, ...] | list[str] | None = None) -> NotificationSubscription:
    """A new active subscription. Webhook URLs must be on `allowed_hosts` (default: WeCom and
    DingTalk only; pass `MonitorSettings.webhook_hosts`); a county must be one the user may read."""
    if channel not in CHANNELS:
        raise NotifyError(f"通知渠道 {channel} 无效;可选:email(电子邮件)、webhook(群机器人)")
    if channel == "email":
        target = check_email_address(target or "")
    else:
        target = check_webhook_url((target or "").strip(), allowed_hosts)
    if len(target) > 500:
        raise NotifyError("通知地址太长(不超过 500 个字符)")
    if format not in FORMATS:
        raise NotifyError(f"消息格式 {format} 无效;可选:{'、'.join(FORMATS)}")
    if min_severity not in SEVERITY_RANK:
        raise NotifyError("最低预警级别应为 red、orange 或 yellow")
    for kind in kinds or []:
        if kind not in KIND_LABELS:
            raise NotifyError(f"预警类型 {kind} 无效;可选:{'、'.join(KIND_LABELS)}")
    county_id = None
    if county_code:
        from junheng.store.users import Access

        from junheng.store.repo import CountyNotFound, county_by_code

        try:
            county = county_by_code(session, county_code)  # the one look-up: a deleted county is not found
        except CountyNotFound as exc:
            raise NotifyError(exc.user_message()) from None
        if not Access.of(session, user).can_read_county(county):
            raise NotifyError(f"用户 {user.username} 无权查看{county.name}({county.code})的数据,不能订阅该县区的预警")
        county_id = county.id
    sub = NotificationSubscription(user_id=user.id, channel=channel, target=target, format=format,
                                   min_severity=min_severity, kinds=list(kinds) if kinds else None,
                                   county_id=county_id, active=True)
    session.add(sub)
    session.flush()
    return sub


def list_subscriptions(session: Session, user: User | None = None) -> list[NotificationSubscription]:
    query = select(NotificationSubscription).order_by(NotificationSubscription.id)
    if user is not None:
        query = query.where(NotificationSubscription.user_id == user.id)
    return list(session.scalars(query))


def set_subscription_active(session: Session, subscription_id: int, active: bool, *, user: User | None = None,
                            allowed_hosts: tuple[str, ...] | list[str] | None = None) -> NotificationSubscription:
    """Pause or resume a subscription (a user's own when `user` is given). Resuming a webhook
    checks its host again (the allowed list may have changed)."""
    sub = session.get(NotificationSubscription, subscription_id)
    if sub is None or (user is not None and sub.user_id != user.id):
        raise NotifyError(f"没有编号为 {subscription_id} 的订阅")
    if active and sub.channel == "webhook":
        check_webhook_url(sub.target, allowed_hosts)
    elif active and sub.channel == "email":
        check_email_address(sub.target)  # a target stored before addresses were checked strictly
    sub.active = active
    return sub


def subscription_json(session: Session, sub: NotificationSubscription) -> dict:
    """A subscription as the web and the command line show it (webhook keys masked)."""
    county = session.get(OrgNode, sub.county_id) if sub.county_id else None
    return {"id": sub.id, "user": sub.user.username, "user_name": sub.user.display_name, "channel": sub.channel,
            "channel_label": CHANNEL_LABELS.get(sub.channel, sub.channel), "target": _masked(sub.target),
            "format": sub.format if sub.channel == "webhook" else None,
            "format_label": FORMAT_LABELS.get(sub.format) if sub.channel == "webhook" else None,
            "min_severity": sub.min_severity, "min_severity_label": SEVERITY_LABELS.get(sub.min_severity),
            "county_code": county.code if county else None, "county_name": county.name if county else None,
            "kinds": list(sub.kinds or []), "kind_labels": [KIND_LABELS.get(k, k) for k in sub.kinds or []],
            "active": bool(sub.active), "created_at": sub.created_at.isoformat() if sub.created_at else None}


def notification_log(session: Session, *, user: User | None = None, limit: int = 100,
                     status: str | None = None) -> list[dict]:
    """The newest digests (for the web's notification page), with the warnings each carried."""
    query = select(NotificationLog).order_by(NotificationLog.created_at.desc(), NotificationLog.id.desc())
    if user is not None:
        query = query.where(NotificationLog.user_id == user.id)
    if status:
        query = query.where(NotificationLog.status == status)
    rows = session.scalars(query.limit(limit)).all()
    return [{"id": r.id, "run_id": r.run_id, "created_at": r.created_at.isoformat(), "channel": r.channel,
             "target": _masked(r.target), "subject": r.subject, "status": r.status, "error": r.error,
             "warning_count": r.warning_count,
             "items": [{"warning_id": i.warning_id, "severity": i.severity, "reason": i.reason,
                        "reason_label": REASON_LABELS.get(i.reason, i.reason)} for i in r.items]}
            for r in rows]


def _masked(target: str) -> str:
    """Webhook URLs carry their robot's key: show only the host."""
    if target.startswith("http"):
        return re.sub(r"^(https?://[^/]+).*$", r"\1/…", target)
    return target


# ---------------------------------------------------------------- who gets what


@dataclass
class Pending:
    subscription: NotificationSubscription
    items: list[tuple[MonitorWarning, str]]  # (warning, reason)


def _county_admins(session: Session) -> dict[int, set[int]]:
    rows = session.execute(select(RoleGrant.org_node_id, RoleGrant.user_id).where(RoleGrant.role == "county_admin")).all()
    out: dict[int, set[int]] = {}
    for county_id, user_id in rows:
        out.setdefault(county_id, set()).add(user_id)
    return out


def _sent(session: Session, subscription_id: int) -> dict[int, tuple[int, int]]:
    """warning id → (occurrence, worsened_count) last sent to this subscription."""
    rows = session.execute(
        select(NotificationItem.warning_id, NotificationItem.occurrence, NotificationItem.worsened_count)
        .join(NotificationLog, NotificationLog.id == NotificationItem.log_id)
        .where(NotificationLog.subscription_id == subscription_id, NotificationLog.status == "sent")).all()
    out: dict[int, tuple[int, int]] = {}
    for warning_id, occurrence, worsened in rows:
        out[warning_id] = max(out.get(warning_id, (0, -1)), (occurrence, worsened))
    return out


def _reason(w: MonitorWarning, last: tuple[int, int] | None, escalated: bool) -> str | None:
    if last is None:
        return "escalated" if escalated else "new"
    occurrence, worsened = last
    if w.occurrence > occurrence:
        return "reopened"
    if w.occurrence == occurrence and w.worsened_count > worsened:
        return "worsened"
    return None


def pending(session: Session) -> list[Pending]:
    """Per active subscription, the open warnings it has not been sent yet (or that worsened)."""
    from junheng.store.users import Access

    warnings = session.scalars(select(MonitorWarning).where(MonitorWarning.resolved_at.is_(None))).all()
    if not warnings:
        return []
    admins = _county_admins(session)
    subs = session.scalars(select(NotificationSubscription).join(User, User.id == NotificationSubscription.user_id)
                           .where(NotificationSubscription.active.is_(True), User.active.is_(True))
                           .order_by(NotificationSubscription.id)).all()
    out = []
    access_of: dict[int, Access] = {}
    for sub in subs:
        access = access_of.setdefault(sub.user_id, Access.of(session, sub.user))
        sent = _sent(session, sub.id)
        items = []
        for w in warnings:
            if sub.county_id is not None and w.county_id != sub.county_id:
                continue
            readable = access.can_read_county(w.county) or (w.school_id is not None and w.school_id in access.fill_schools)
            if not readable:
                continue
            escalated = w.escalate_to == "county_admin" and sub.user_id in admins.get(w.county_id, set())
            if not escalated:
                if sub.kinds and w.kind not in sub.kinds:
                    continue
                if SEVERITY_RANK.get(w.severity, 0) < SEVERITY_RANK.get(sub.min_severity, 2):
                    continue
            reason = _reason(w, sent.get(w.id), escalated)
            if reason:
                items.append((w, reason))
        if items:
            items.sort(key=lambda it: (-SEVERITY_RANK.get(it[0].severity, 0), it[0].county_id, it[0].id))
            out.append(Pending(sub, items))
    return out


# ---------------------------------------------------------------- digests


def _counts(items: list[tuple[MonitorWarning, str]]) -> str:
    parts = []
    for severity in ("red", "orange", "yellow"):
        n = sum(1 for w, _ in items if w.severity == severity)
        if n:
            parts.append(f"{SEVERITY_LABELS[severity]} {n} 条")
    return "、".join(parts)


def digest_subject(items: list[tuple[MonitorWarning, str]]) -> str:
    counties = sorted({w.county.name for w, _ in items})
    where = counties[0] if len(counties) == 1 else f"{len(counties)} 个县区"
    return f"【均衡预警】{where} {len(items)} 条预警({_counts(items)})"


def _link(settings: MonitorSettings, w: MonitorWarning) -> str | None:
    if not settings.site_url:
        return None
    return f"{settings.site_url.rstrip('/')}/counties/{w.county.code}/warnings/{w.id}"


def digest_text(user: User, items: list[tuple[MonitorWarning, str]], settings: MonitorSettings,
                when: datetime) -> str:
    lines = [f"{user.display_name}:", "",
             f"均衡系统预警巡检({when.astimezone().strftime('%Y-%m-%d %H:%M')})有 {len(items)} 条需要关注的预警"
             f"({_counts(items)}):", ""]
    for severity in ("red", "orange", "yellow"):
        group = [(w, r) for w, r in items if w.severity == severity]
        if not group:
            continue
        lines.append(f"【{SEVERITY_LABELS[severity]}预警】")
        for n, (w, reason) in enumerate(group, start=1):
            lines.append(f"{n}. [{REASON_LABELS[reason]}] {w.county.name} · {w.title}")
            lines.append(f"   {w.message}")
            if w.responsible:
                lines.append(f"   责任单位:{'、'.join(w.responsible)}")
            link = _link(settings, w)
            if link:
                lines.append(f"   详情:{link}")
        lines.append("")
    lines.append("本消息由均衡系统自动发送:同一预警只提醒一次,加重或反弹时再次提醒。")
    return "\n".join(lines)


def digest_markdown(items: list[tuple[MonitorWarning, str]], settings: MonitorSettings,
                    limit_bytes: int | None = WECOM_LIMIT) -> str:
    head = f"## 均衡预警:{len(items)} 条\n> {_counts(items)}\n"
    body = ""
    for n, (w, reason) in enumerate(items, start=1):
        color = SEVERITY_COLORS.get(w.severity, "comment")
        link = _link(settings, w)
        entry = (f"\n**<font color=\"{color}\">{SEVERITY_LABELS[w.severity]}</font> [{REASON_LABELS[reason]}] "
                 f"{w.county.name} · {w.title}**\n> {w.message}\n")
        if w.responsible:
            entry += f"> 责任单位:{'、'.join(w.responsible)}\n"
        if link:
            entry += f"> [查看详情]({link})\n"
        rest = f"\n……另有 {len(items) - n + 1} 条,请登录系统查看。\n"
        if limit_bytes and len((head + body + entry + rest).encode("utf-8")) > limit_bytes:
            body += rest
            break
        body += entry
    return head + body


def webhook_body(fmt: str, user: User, items: list[tuple[MonitorWarning, str]], settings: MonitorSettings,
                 when: datetime, run_id: str) -> dict:
    if fmt == "markdown":
        return {"msgtype": "markdown", "markdown": {"content": digest_markdown(items, settings)}}
    if fmt == "dingtalk":
        return {"msgtype": "markdown",
                "markdown": {"title": digest_subject(items), "text": digest_markdown(items, settings, 18000)}}
    if fmt == "text":
        return {"msgtype": "text", "text": {"content": digest_text(user, items, settings, when)}}
    return {"source": "junheng", "run_id": run_id, "created_at": when.isoformat(),
            "warnings": [dict(warning_json(w), reason=reason) for w, reason in items]}


# ---------------------------------------------------------------- delivery


def send_email(smtp: MonitorSettings | None, to: str, subject: str, body: str) -> None:
    settings = smtp.smtp if isinstance(smtp, MonitorSettings) else smtp
    if settings is None:
        raise NotifyError("没有配置发信服务器([smtp] host)")
    to = check_email_address(to)  # again at delivery: one address, no header of its own
    message = EmailMessage()
    name, address = parseaddr(settings.sender)
    try:
        message["From"] = formataddr((name, address)) if name else address
        message["To"] = to
        message["Subject"] = _CONTROL.sub(" ", subject)
        message.set_content(body, charset="utf-8")
    except (ValueError, TypeError) as exc:  # e.g. a sender with a line break in junheng.toml
        raise NotifyError(f"邮件无法生成(发件人或主题有误):{exc}") from None
    try:
        if settings.security == "ssl":
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.username and settings.password:
                client.login(settings.username, settings.password)
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotifyError(f"邮件发送失败:{exc}") from None


def _resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (an IP literal: itself)."""
    try:
        return [ipaddress.ip_address(host).compressed]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _internal(address: str) -> bool:
    """Whether an address is not one of the public internet's: private, loopback, link-local,
    multicast, reserved, unspecified, shared (100.64/10) and the like, IPv4-mapped too."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


def checked_address(host: str, port: int, internal_hosts: tuple[str, ...] | list[str] = ()) -> str:
    """The one address a webhook is delivered to: `host` resolved once, every address it has
    checked (none internal unless the host is named in `internal_hosts`); NotifyError (Chinese)
    otherwise."""
    try:
        addresses = _resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise NotifyError(f"Webhook 主机“{host}”无法解析:{getattr(exc, 'strerror', None) or exc}") from None
    if not addresses:
        raise NotifyError(f"Webhook 主机“{host}”无法解析:没有地址")
    if not _host_listed(host, internal_hosts):
        internal = [a for a in addresses if _internal(a)]
        if internal:
            raise NotifyError(f"Webhook 主机“{host}”解析到内网、本机或保留地址({'、'.join(internal[:3])}),已拒绝发送。"
                              "如确为内网机器人,请系统管理员在 junheng.toml 的 [webhook] internal_hosts 中写明该主机")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address; the Host header names the host."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the checked address; SNI, the certificate check and the Host header use the
    host name (a certificate for the name is still required)."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post_webhook(url: str, payload: dict, timeout: float, *,
                 internal_hosts: tuple[str, ...] | list[str] = ()) -> None:
    """POST the digest to `url` (already checked against the allowed hosts), at the address
    `checked_address` approved; redirects are not followed. NotifyError (Chinese) on any failure."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    parts = urllib.parse.urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port or DEFAULT_PORTS.get(scheme, 443)
    address = checked_address(host, port, internal_hosts)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = kind(host, port, address, timeout)
    try:
        connection.request("POST", path, body=data, headers={"Content-Type": "application/json; charset=utf-8"})
        response = connection.getresponse()
        text = response.read(65536).decode("utf-8", "replace")
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        raise NotifyError(f"Webhook 无法送达:{exc}") from None
    finally:
        connection.close()
    if 300 <= status < 400:
        raise NotifyError(f"Webhook 返回 HTTP {status}(重定向未被跟随)")
    if status >= 400:
        raise NotifyError(f"Webhook 返回 HTTP {status}")
    try:
        answer = json.loads(text)
    except ValueError:
        return
    if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
        raise NotifyError(f"Webhook 拒绝了消息:{answer.get('errmsg') or answer.get('errcode')}")


def deliver(session: Session, settings: MonitorSettings, run_id: str, *, now: datetime | None = None,
            commit_each: bool = False) -> list[NotificationLog]:
    """Send every pending digest once and log it; log escalations nobody can receive. With
    `commit_each`, each digest's log is committed as soon as it is sent (a later failure then
    cannot cause a digest to be sent twice)."""
    now = now or utcnow()
    logs = []
    for p in pending(session):
        sub, user = p.subscription, p.subscription.user
        subject = digest_subject(p.items)
        status, error = "sent", None
        try:
            if sub.channel == "email":
                body = digest_text(user, p.items, settings, now)
                send_email(settings, sub.target, subject, body)
            else:
                payload = webhook_body(sub.format, user, p.items, settings, now, run_id)
                body = json.dumps(payload, ensure_ascii=False)
                check_webhook_url(sub.target, settings.webhook_hosts)  # the list may have changed since
                post_webhook(sub.target, payload, settings.webhook_timeout,
                             internal_hosts=settings.webhook_internal_hosts)
        except NotifyError as exc:
            status, error = "failed", exc.user_message()
        logs.append(_log(session, run_id, now, sub.id, user.id, sub.channel, sub.target, subject, body, status,
                         error, p.items))
        if commit_each:
            session.commit()
    logs += _undeliverable_escalations(session, run_id, now)
    session.flush()
    return logs


def _log(session: Session, run_id: str, now: datetime, subscription_id: int | None, user_id: int | None,
         channel: str, target: str, subject: str, body: str, status: str, error: str | None,
         items: list[tuple[MonitorWarning, str]]) -> NotificationLog:
    log = NotificationLog(run_id=run_id, created_at=now, subscription_id=subscription_id, user_id=user_id,
                          channel=channel, target=target, subject=subject[:300], body=body, status=status,
                          error=error, warning_count=len(items))
    log.items = [NotificationItem(warning_id=w.id, occurrence=w.occurrence, worsened_count=w.worsened_count,
                                  severity=w.severity, reason=reason) for w, reason in items]
    session.add(log)
    return log


def _undeliverable_escalations(session: Session, run_id: str, now: datetime) -> list[NotificationLog]:
    escalations = session.scalars(select(MonitorWarning).where(MonitorWarning.resolved_at.is_(None),
                                                               MonitorWarning.escalate_to == "county_admin")).all()
    if not escalations:
        return []
    admins = _county_admins(session)
    with_channel = {user_id for (user_id,) in session.execute(
        select(NotificationSubscription.user_id).where(NotificationSubscription.active.is_(True)))}
    logged = {(w, o) for w, o in session.execute(
        select(NotificationItem.warning_id, NotificationItem.occurrence)
        .join(NotificationLog, NotificationLog.id == NotificationItem.log_id)
        .where(NotificationLog.status == "undeliverable"))}
    by_county: dict[int, list[tuple[MonitorWarning, str]]] = {}
    for w in escalations:
        if admins.get(w.county_id, set()) & with_channel or (w.id, w.occurrence) in logged:
            continue
        by_county.setdefault(w.county_id, []).append((w, "escalated"))
    logs = []
    for county_id, items in by_county.items():
        county = items[0][0].county
        reason = ("县区没有县级管理员账号" if not admins.get(county_id) else "县级管理员没有订阅任何通知渠道")
        logs.append(_log(session, run_id, now, None, None, "none", "县级管理员", digest_subject(items),
                         "\n".join(f"{w.title}:{w.message}" for w, _ in items), "undeliverable",
                         f"{county.name}逾期督办任务无法提醒:{reason}", items))
    return logs

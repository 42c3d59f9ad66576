"""Monitoring settings of a workspace: the `[monitor]`, `[smtp]` and `[webhook]` tables of
`junheng.toml`, each key overridable by an environment variable (JUNHENG_SMTP_PASSWORD, ...).

    [monitor]
    enabled = true                 # the server's scheduler runs the watch (see scheduler.py)
    schedule = "30 6 * * *"        # cron: minute hour day month weekday
    timezone = "Asia/Shanghai"
    rules_dir = "monitor-rules"    # county / standard rule files, relative to the workspace
    site_url = "https://junheng.example.gov.cn"   # links in notifications (optional)
    attachment_limit_mb = 20

    [smtp]
    host = "smtp.example.com"
    port = 465
    security = "ssl"               # ssl, starttls or none
    username = "junheng@example.com"
    password = "..."               # better: JUNHENG_SMTP_PASSWORD
    sender = "均衡预警 <junheng@example.com>"
    timeout = 20

    [webhook]
    timeout = 10
    allowed_hosts = ["robot.example.gov.cn"]   # besides WeCom and DingTalk (JUNHENG_WEBHOOK_ALLOWED_HOSTS)
    internal_hosts = []            # hosts allowed to resolve to private addresses, e.g. ["robot.intranet.example"]

    [uploads]
    keep_days = 7                  # uploads never applied are removed after this; applied ones keep their record

Webhook targets are restricted to `webhook_hosts`: the WeCom and DingTalk robot hosts plus what
`[webhook] allowed_hosts` (or the comma-separated JUNHENG_WEBHOOK_ALLOWED_HOSTS) adds. An entry
is a host name or IP address, optionally with a leading "*." (every sub-domain of the name, not
the name itself). By default a target must be https on port 443: an entry may allow another
port explicitly ("robot.example.gov.cn:8443", or ":*" for any) and plain http with its scheme
("http://10.1.2.3:8080", an intranet robot; port 80 unless given). At delivery the host is resolved and refused
when any address is private, loopback, link-local, multicast, reserved or unspecified, unless
the host is listed in `internal_hosts` (an intranet robot, named explicitly); the digest is then
sent to the address that was checked (see junheng.monitor.notify).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from junheng.errors import JunhengError
from junheng.workspace import CONFIG_FILE, RULES_FOLDER, UPLOADS_FOLDER, resolve


class MonitorConfigError(JunhengError):
    pass


DEFAULT_WEBHOOK_HOSTS = ("qyapi.weixin.qq.com", "oapi.dingtalk.com")  # WeCom and DingTalk group robots
# an allowed-host entry: [http:// or https://]name[:port or :*]; a name may start with "*."
WEBHOOK_ENTRY = re.compile(r"^(?:(?P<scheme>https?)://)?(?P<name>\[[^\]]+\]|[^:\[\]/@\s]+)(?::(?P<port>\d{1,5}|\*))?$")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 465
    security: str = "ssl"  # ssl, starttls, none
    username: str | None = None
    password: str | None = None
    sender: str = "junheng@localhost"
    timeout: float = 20.0


@dataclass(frozen=True)
class MonitorSettings:
    root: Path | None = None  # the workspace (None: no workspace, e.g. tests)
    rules_dir: Path | None = None
    uploads: Path | None = None
    enabled: bool = True
    schedule: str = "30 6 * * *"
    timezone: str = "Asia/Shanghai"
    site_url: str | None = None
    attachment_limit_bytes: int = 20 * 1024 * 1024
    smtp: SmtpSettings | None = None
    webhook_timeout: float = 10.0
    webhook_hosts: tuple[str, ...] = DEFAULT_WEBHOOK_HOSTS
    webhook_internal_hosts: tuple[str, ...] = ()  # may resolve to private / loopback addresses
    upload_keep_days: float = 7.0  # [uploads] keep_days


def _env(name: str, default=None):
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def monitor_settings(workspace_path: Path | None = None, *, config: dict | None = None) -> MonitorSettings:
    """The monitoring settings of a workspace (or of a `config` mapping shaped like junheng.toml)."""
    root = None
    if config is None:
        workspace = resolve(workspace_path)
        root = workspace.root
        path = workspace.root / CONFIG_FILE
        config = {}
        if path.is_file():
            try:
                config = tomllib.loads(path.read_text("utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise MonitorConfigError(f"无法读取工作区配置 {path}:{exc}") from None
    monitor = config.get("monitor", {}) or {}
    smtp_conf = config.get("smtp", {}) or {}
    webhook = config.get("webhook", {}) or {}
    uploads = config.get("uploads", {}) or {}
    if not all(isinstance(x, dict) for x in (monitor, smtp_conf, webhook, uploads)):
        raise MonitorConfigError("工作区配置中 [monitor]、[smtp]、[webhook]、[uploads] 应为表(table)")
    rules_dir = monitor.get("rules_dir", RULES_FOLDER)
    rules_path = Path(rules_dir) if Path(rules_dir).is_absolute() or root is None else root / rules_dir
    smtp = None
    host = _env("JUNHENG_SMTP_HOST", smtp_conf.get("host"))
    if host:
        security = str(_env("JUNHENG_SMTP_SECURITY", smtp_conf.get("security", "ssl"))).lower()
        if security not in ("ssl", "starttls", "none"):
            raise MonitorConfigError(f"[smtp] security 应为 ssl、starttls 或 none,实际为 {security!r}")
        try:
            port = int(_env("JUNHENG_SMTP_PORT", smtp_conf.get("port", 465 if security == "ssl" else 587)))
            timeout = float(smtp_conf.get("timeout", 20))
        except (TypeError, ValueError):
            raise MonitorConfigError("[smtp] port 和 timeout 应为数字") from None
        username = _env("JUNHENG_SMTP_USERNAME", smtp_conf.get("username"))
        smtp = SmtpSettings(host=host, port=port, security=security, username=username,
                            password=_env("JUNHENG_SMTP_PASSWORD", smtp_conf.get("password")),
                            sender=_env("JUNHENG_SMTP_SENDER", smtp_conf.get("sender", username or "junheng@localhost")),
                            timeout=timeout)
    enabled = str(_env("JUNHENG_MONITOR_ENABLED", monitor.get("enabled", True))).lower() in ("1", "true", "yes")
    try:
        limit = int(float(monitor.get("attachment_limit_mb", 20)) * 1024 * 1024)
        webhook_timeout = float(webhook.get("timeout", 10))
    except (TypeError, ValueError):
        raise MonitorConfigError("[monitor] attachment_limit_mb 和 [webhook] timeout 应为数字") from None
    hosts = _webhook_hosts(webhook.get("allowed_hosts", []), _env("JUNHENG_WEBHOOK_ALLOWED_HOSTS"))
    internal_hosts = _host_list(webhook.get("internal_hosts", []), "internal_hosts")
    try:
        keep_days = float(uploads.get("keep_days", 7))
    except (TypeError, ValueError):
        keep_days = -1.0
    if not 0 < keep_days < 100000 or isinstance(uploads.get("keep_days"), bool):
        raise MonitorConfigError(f"[uploads] keep_days 应为正数(天),实际为 {uploads.get('keep_days')!r}")
    return MonitorSettings(
        root=root, rules_dir=rules_path, uploads=(root / UPLOADS_FOLDER) if root else None, enabled=enabled,
        schedule=str(_env("JUNHENG_MONITOR_SCHEDULE", monitor.get("schedule", "30 6 * * *"))),
        timezone=str(monitor.get("timezone", "Asia/Shanghai")), site_url=monitor.get("site_url"),
        attachment_limit_bytes=limit, smtp=smtp, webhook_timeout=webhook_timeout, webhook_hosts=hosts,
        webhook_internal_hosts=internal_hosts, upload_keep_days=keep_days)


def _webhook_hosts(configured, environment: str | None) -> tuple[str, ...]:
    """The default robot hosts plus the configured ones, lower-case, without duplicates."""
    out = list(DEFAULT_WEBHOOK_HOSTS)
    for host in _host_list(configured, "allowed_hosts") + _host_list((environment or "").split(","), "allowed_hosts"):
        if host not in out:
            out.append(host)
    return tuple(out)


def _host_list(configured, key: str) -> tuple[str, ...]:
    """A [webhook] list of host entries, lower-case, without duplicates."""
    if isinstance(configured, str):
        configured = [configured]
    if not isinstance(configured, list) or not all(isinstance(h, str) for h in configured):
        raise MonitorConfigError(f'[webhook] {key} 应为主机名列表,如 ["robot.example.gov.cn", "10.1.2.3"]')
    out: list[str] = []
    for host in configured:
        host = host.strip().lower()
        if not host:
            continue
        if not WEBHOOK_ENTRY.match(host):
            raise MonitorConfigError(f"[webhook] {key} 中的“{host}”不是主机名(写主机名、主机名:端口,内网 http 机器人写"
                                     " http://主机名:端口;不写路径)")
        if host not in out:
            out.append(host)
    return tuple(out)

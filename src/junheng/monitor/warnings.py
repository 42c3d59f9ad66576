"""Stored warnings: one row per condition (stable key), reconciled run after run.

- A condition seen for the first time is inserted (first_seen_at).
- A condition still there updates its row (last_seen_at, numbers, severity); it *worsened*
  when its severity rose or its badness grew by the rule's `worsen_step` beyond the worst seen
  so far (peak_badness): worsened_count + 1.
- An open warning whose condition is gone is resolved (resolved_at), but only when its rule
  ran (a rule that could not be checked leaves its warnings as they are) or no longer exists.
- A resolved warning whose condition comes back is reopened: occurrence + 1.

Query functions here are what the web pages call (list for a county with filters, one
warning, counts by severity).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from junheng.monitor.detect import Condition
from junheng.monitor.rules import KIND_LABELS, SEVERITY_LABELS, SEVERITY_RANK
from junheng.store.models import MonitorWarning, OrgNode, School, utcnow


@dataclass
class Changes:
    new: list[MonitorWarning] = field(default_factory=list)
    worsened: list[MonitorWarning] = field(default_factory=list)
    reopened: list[MonitorWarning] = field(default_factory=list)
    resolved: list[MonitorWarning] = field(default_factory=list)
    unchanged: int = 0

    def extend(self, other: "Changes") -> None:
        self.new += other.new
        self.worsened += other.worsened
        self.reopened += other.reopened
        self.resolved += other.resolved
        self.unchanged += other.unchanged


def reconcile(session: Session, county: OrgNode, conditions: list[Condition], *, ran: set[str],
              known_rules: set[str], steps: dict[str, float], now: datetime | None = None) -> Changes:
    """Bring the county's stored warnings in line with the conditions found now.
    `ran`: rule ids checked in this run; `known_rules`: every rule id of the county's rules."""
    now = now or utcnow()
    changes = Changes()
    existing = {w.key: w for w in session.scalars(select(MonitorWarning).where(MonitorWarning.county_id == county.id))}
    school_ids = _school_ids(session, county, {c.school_code for c in conditions if c.school_code})
    seen: set[str] = set()
    for c in conditions:
        if c.key in seen:
            continue
        seen.add(c.key)
        w = existing.get(c.key)
        if w is None:
            w = MonitorWarning(key=c.key, county_id=county.id, first_seen_at=now, occurrence=1, worsened_count=0,
                               peak_badness=c.badness)
            _fill(w, c, school_ids, now)
            session.add(w)
            changes.new.append(w)
        elif w.resolved_at is not None:
            w.resolved_at = None
            w.reopened_at = now
            w.occurrence += 1
            w.peak_badness = c.badness
            _fill(w, c, school_ids, now)
            changes.reopened.append(w)
        else:
            step = steps.get(c.rule_id, 0.05)
            rose = SEVERITY_RANK[c.severity] > SEVERITY_RANK.get(w.severity, 0)
            grew = c.badness > (w.peak_badness or 0.0) + step + 1e-12
            _fill(w, c, school_ids, now)
            if rose or grew:
                w.worsened_count += 1
                w.worsened_at = now
                changes.worsened.append(w)
            else:
                changes.unchanged += 1
            w.peak_badness = max(w.peak_badness or 0.0, c.badness)
    for key, w in existing.items():
        if key in seen or w.resolved_at is not None:
            continue
        if w.rule_id in ran or w.rule_id not in known_rules:
            w.resolved_at = now
            changes.resolved.append(w)
    session.flush()
    return changes


def _school_ids(session: Session, county: OrgNode, codes: set[str]) -> dict[str, int]:
    if not codes:
        return {}
    rows = session.execute(select(School.code, School.id).where(School.code.in_(codes))).all()
    return dict(rows)


def _fill(w: MonitorWarning, c: Condition, school_ids: dict[str, int], now: datetime) -> None:
    w.kind, w.rule_id, w.severity = c.kind, c.rule_id, c.severity
    w.indicator, w.segment, w.year = c.indicator, c.segment, c.year
    w.school_id = school_ids.get(c.school_code) if c.school_code else None
    w.task_id = c.task_id
    w.title, w.message = c.title[:300], c.message
    w.numbers, w.responsible = dict(c.numbers), list(c.responsible)
    w.escalate_to = c.escalate_to
    w.badness = c.badness
    w.last_seen_at = now


# ---------------------------------------------------------------- queries (web, CLI, API)


def warning_json(w: MonitorWarning) -> dict:
    return {
        "id": w.id, "key": w.key, "county_code": w.county.code if w.county else None,
        "county_name": w.county.name if w.county else None, "kind": w.kind,
        "kind_label": KIND_LABELS.get(w.kind, w.kind), "rule_id": w.rule_id, "severity": w.severity,
        "severity_label": SEVERITY_LABELS.get(w.severity, w.severity), "indicator": w.indicator,
        "segment": w.segment, "year": w.year, "school_id": w.school.code if w.school else None,
        "school_name": w.school.name if w.school else None, "task_id": w.task_id, "title": w.title,
        "message": w.message, "numbers": w.numbers, "responsible": w.responsible, "escalate_to": w.escalate_to,
        "open": w.resolved_at is None, "first_seen_at": _iso(w.first_seen_at), "last_seen_at": _iso(w.last_seen_at),
        "resolved_at": _iso(w.resolved_at), "reopened_at": _iso(w.reopened_at), "occurrence": w.occurrence,
        "worsened_at": _iso(w.worsened_at), "worsened_count": w.worsened_count,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def list_warnings(session: Session, county_code: str | None = None, *, status: str = "open",
                  severities: list[str] | None = None, kinds: list[str] | None = None,
                  indicator: str | None = None, school_code: str | None = None, year: int | None = None,
                  county_ids: set[int] | None = None, limit: int | None = None, offset: int = 0
                  ) -> list[MonitorWarning]:
    """Warnings of a county (or of `county_ids`, or all), newest and most severe first.
    status: open, resolved or all."""
    query = select(MonitorWarning)
    if county_code is not None:
        query = query.join(OrgNode, OrgNode.id == MonitorWarning.county_id).where(OrgNode.code == county_code)
    if county_ids is not None:
        query = query.where(MonitorWarning.county_id.in_(county_ids))
    if status == "open":
        query = query.where(MonitorWarning.resolved_at.is_(None))
    elif status == "resolved":
        query = query.where(MonitorWarning.resolved_at.is_not(None))
    if severities:
        query = query.where(MonitorWarning.severity.in_(severities))
    if kinds:
        query = query.where(MonitorWarning.kind.in_(kinds))
    if indicator:
        query = query.where(MonitorWarning.indicator == indicator)
    if school_code:
        query = query.join(School, School.id == MonitorWarning.school_id).where(School.code == school_code)
    if year is not None:
        query = query.where(MonitorWarning.year == year)
    rows = session.scalars(query).all()
    rows = sorted(rows, key=lambda w: (-SEVERITY_RANK.get(w.severity, 0), w.resolved_at is not None,
                                       -(w.last_seen_at.timestamp() if w.last_seen_at else 0), w.id))
    return rows[offset:offset + limit] if limit is not None else rows[offset:]


def warning_counts(session: Session, county_code: str) -> dict[str, int]:
    """Open warnings by severity: {"red": n, "orange": n, "yellow": n}."""
    rows = session.execute(
        select(MonitorWarning.severity, func.count()).join(OrgNode, OrgNode.id == MonitorWarning.county_id)
        .where(OrgNode.code == county_code, MonitorWarning.resolved_at.is_(None)).group_by(MonitorWarning.severity)
    ).all()
    out = {s: 0 for s in ("red", "orange", "yellow")}
    out.update(dict(rows))
    return out

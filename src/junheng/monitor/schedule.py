"""City / province schedule (seeds 002, 003 annex, 004): every county under a node with its
target year, standard, current status, failing items, and whether it is behind the path to
its target year.

"Behind" (docs/methods.md, "City schedule"): failing items are expected to fall in a straight
line from the county's first stored year (the baseline) to none in its target year; a county
is behind when its latest year has more failing items than that line allows (rounded up), and
overdue when its target year has come and its verdict is still not a pass. Only complete
years count (every school and the county-level row approved): a year being filled in is
shown beside the row (`in_progress`), never as the county's state.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.engine.result import EvaluationResult
from junheng.errors import JunhengError
from junheng.monitor.detect import path_of
from junheng.schoolyear import label
from junheng.store.models import MonitorWarning, OrgNode

STATUS_LABELS = {
    "certified": "已通过认定", "certified_slipping": "已认定,但有指标不达标", "ready": "已达标,待认定",
    "on_track": "按期推进", "behind": "进度滞后", "overdue": "已过目标年仍未达标", "no_data": "尚无数据完整的学年",
    "no_target": "未设目标年",
}
SEVERITY_OF_STATUS = {"behind": "orange", "overdue": "red", "certified_slipping": "orange"}


class ScheduleError(JunhengError):
    pass


def counties_under(session: Session, node_code: str) -> tuple[OrgNode, list[OrgNode]]:
    from junheng.store.users import _subtree_ids

    node = session.scalar(select(OrgNode).where(OrgNode.code == node_code, OrgNode.deleted_at.is_(None)))
    if node is None:
        raise ScheduleError(f"没有代码为 {node_code} 的市、省或县区")
    if node.kind == "county":
        return node, [node]
    ids = _subtree_ids(session, node.id)
    counties = session.scalars(select(OrgNode).where(OrgNode.id.in_(ids), OrgNode.kind == "county",
                                                     OrgNode.deleted_at.is_(None)).order_by(OrgNode.code)).all()
    return node, list(counties)


def in_progress(county_code: str, latest_complete: int | None, coverage: dict) -> list[dict]:
    """The county's years after its latest complete one that are being filled in, oldest first
    ((county, year) → Coverage, as junheng.store.repo.coverage_by_year gives it)."""
    out = []
    for (code, year), c in sorted(coverage.items()):
        if code != county_code or c.complete or (latest_complete is not None and year <= latest_complete):
            continue
        text = f"{label(year)}填报中:已审核 {c.fraction()} 所" + ("" if c.county_year else ",县级年度数据未定稿")
        out.append({"year": year, "label": label(year), "fraction": c.fraction(),
                    "schools_included": c.schools_included, "schools_expected": c.schools_expected,
                    "county_year": c.county_year, "text": text, "link": f"/counties/{county_code}/review?year={year}"})
    return out


def schedule_rows(session: Session, counties: list[OrgNode], results: dict[str, dict[int, EvaluationResult]],
                  today: date, slack: int = 0, *, coverage: dict | None = None) -> list[dict]:
    """One row per county from the results of its complete years; `coverage` (every
    county-year with a record) adds the years being filled in (`in_progress`)."""
    open_schedule = {w.county_id: w for w in session.scalars(select(MonitorWarning).where(
        MonitorWarning.kind == "schedule", MonitorWarning.resolved_at.is_(None)))}
    rows = []
    for county in counties:
        by_year = results.get(county.code, {})
        path = path_of(county, by_year, slack)
        latest = by_year[max(by_year)] if by_year else None
        failing = latest.failing_items() if latest else []
        if latest is None:
            status = "no_data"
        elif county.certified_year is not None:
            status = "certified" if latest.verdict == "pass" or not failing else "certified_slipping"
        elif latest.verdict == "pass":
            status = "ready"
        elif county.target_year is None:
            status = "no_target"
        elif path.overdue:
            status = "overdue"
        elif path.behind:
            status = "behind"
        else:
            status = "on_track"
        trend = {str(y): len(r.failing_items()) for y, r in sorted(by_year.items())}
        warning = open_schedule.get(county.id)
        progress = in_progress(county.code, latest.year if latest else None, coverage or {})
        rows.append({
            "county_code": county.code, "county_name": county.name,
            "city": county.parent.name if county.parent and county.parent.kind == "city" else None,
            "standard": latest.standard if latest else (county.standard or "national-2017"),
            "standard_name": latest.standard_name if latest else None,
            "target_year": county.target_year, "certified_year": county.certified_year,
            "basic_balance_year": county.basic_balance_year, "latest_year": latest.year if latest else None,
            "latest_year_label": label(latest.year) if latest else None,
            "verdict": latest.verdict if latest else None, "verdict_label": latest.verdict_label if latest else "—",
            "failing_count": len(failing), "failing_items": failing, "failing_by_year": trend,
            "expected_failing": path.expected, "baseline_year": path.baseline_year,
            "baseline_failing": path.baseline_failing, "behind": path.behind, "overdue": path.overdue,
            "years_left": (county.target_year - today.year) if county.target_year else None,
            "status": status, "status_label": STATUS_LABELS[status], "severity": SEVERITY_OF_STATUS.get(status),
            "warning_id": warning.id if warning else None,
            "in_progress": ";".join(p["text"] for p in progress) or None, "in_progress_years": progress,
        })
    rows.sort(key=lambda r: (r["target_year"] or 9999, r["county_code"]))
    return rows


def schedule_summary(rows: list[dict]) -> dict:
    """Counts by target year and status (the city's plan at a glance: which county passes when)."""
    by_year: dict[str, dict] = {}
    for r in rows:
        key = str(r["target_year"]) if r["target_year"] else "未设"
        entry = by_year.setdefault(key, {"counties": [], "behind": 0, "ready": 0, "certified": 0})
        entry["counties"].append(r["county_name"])
        entry["behind"] += int(r["status"] in ("behind", "overdue"))
        entry["ready"] += int(r["status"] == "ready")
        entry["certified"] += int(r["status"] in ("certified", "certified_slipping"))
    return {"by_target_year": by_year, "total": len(rows),
            "behind": sum(1 for r in rows if r["status"] in ("behind", "overdue")),
            "certified": sum(1 for r in rows if r["status"] in ("certified", "certified_slipping"))}

"""The store keeps every number, audits every change and feeds the engine (SQLite and PostgreSQL)."""

import pytest
from sqlalchemy import func, select

import builders
from junheng.engine.evaluate import evaluate_dataset
from junheng.store import repo
from junheng.store.models import AuditEntry, CountyYear, OrgNode, QualityRow, SchoolYear
from junheng.store.repo import StoreError


def test_a_dataset_round_trips_through_the_store(database):
    dataset = builders.dataset(counties=[{"county_code": builders.COUNTY, "county_name": "测试县", "city": "测试市",
                                          "province": "测试省", "standard": "shandong", "target_year": 2026}])
    with database.session() as s:
        count = repo.import_dataset(s, dataset, user=None, via="cli", status="approved")
        assert count > 0
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.field != "status")) == count
    with database.session() as s:
        assert repo.diff(s, dataset) == []  # nothing left to change
        back = repo.load_dataset(s)
        county = repo.county_by_code(s, builders.COUNTY)
        assert county.parent.kind == "city" and county.parent.parent.name == "测试省"
    original = evaluate_dataset(dataset)[0].to_json()
    stored = evaluate_dataset(back)[0].to_json()
    assert stored["areas"] == original["areas"] and stored["standard"] == "shandong"


def test_only_approved_school_years_feed_the_evaluation(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli")  # drafts
    with database.session() as s:
        assert repo.load_dataset(s).school_year.empty
        assert len(repo.load_dataset(s, approved_only=False).school_year) == 6


def test_changes_are_audited_with_old_and_new_values(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli")
    schools, years = builders.passing_rows({"P1": {"sports_area": 1234.5}})
    with database.session() as s:
        changes = repo.diff(s, builders.dataset(schools, years))
        assert [(c.key, c.field, c.new) for c in changes] == [(f"P1/{builders.YEAR}", "sports_area", 1234.5)]
        repo.apply(s, changes, user=None, via="upload")
    with database.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.field == "sports_area",
                                                   AuditEntry.via == "upload")).one()
        assert entry.entity_key == f"P1/{builders.YEAR}" and entry.new == 1234.5 and entry.old != 1234.5


def test_approved_data_is_locked_and_a_failed_apply_changes_nothing(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli", status="approved")
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    schools, years = builders.passing_rows({"P1": {"sports_area": 1.0}})
    with pytest.raises(StoreError, match="已锁定"):
        with database.session() as s:
            repo.apply(s, repo.diff(s, builders.dataset(schools, years)), user=None, via="upload")
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before
        row = s.scalars(select(SchoolYear).where(SchoolYear.year == builders.YEAR)).first()
        assert row.values["sports_area"] != 1.0


def _quality_snapshot(s) -> list[tuple]:
    return sorted((q.subject, q.level, q.inter_school_diff_rate) for q in s.scalars(select(QualityRow)))


def test_quality_rows_are_locked_with_their_county_year(database):
    """Issue 11 #3: one lock rule for every table: a quality row is locked while its county-year
    is submitted or approved (repo.locks), and repo.apply refuses it for every path."""
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli", status="approved")
    changed = builders.dataset(quality_rows=builders.quality(rows=[("语文", 3, 0.30), ("数学", 4, 0.12),
                                                                  ("科学", 3, 0.08)]))
    key = f"{builders.COUNTY}/{builders.YEAR}"
    with database.session() as s:
        before = (_quality_snapshot(s), s.scalar(select(func.count()).select_from(AuditEntry)))
        changes = repo.diff(s, changed)
        assert [(c.entity, c.key, c.field) for c in changes] == [("quality", f"{key}/语文", "inter_school_diff_rate")]
        (lock,) = repo.locks(s, [(c.entity, c.key) for c in changes])
        assert (lock.by_entity, lock.by_key, lock.status) == ("county_year", key, "approved")
        assert repo.locks(s, [("school", "P1"), ("county", builders.COUNTY)]) == []  # master data: no workflow
    for via in ("upload", "form", "api", "cli"):
        with pytest.raises(StoreError, match="已锁定"):
            with database.session() as s:
                repo.apply(s, repo.diff(s, changed), user=None, via=via)
    with database.session() as s:
        assert (_quality_snapshot(s), s.scalar(select(func.count()).select_from(AuditEntry))) == before
        county_year = s.scalars(select(CountyYear)).one()
        repo.transition(s, county_year, "reopen", user=None, via="form")
    with database.session() as s:
        assert repo.locks(s, [("quality", f"{key}/语文")]) == []
        repo.apply(s, repo.diff(s, changed), user=None, via="upload")
    with database.session() as s:
        assert ("语文", 3, 0.30) in _quality_snapshot(s)


def test_workflow_transitions_and_reasons(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli")
        row = s.scalars(select(SchoolYear)).first()
        with pytest.raises(StoreError, match="不能审核通过"):
            repo.transition(s, row, "approve", user=None, via="form")
        repo.transition(s, row, "submit", user=None, via="form")
        with pytest.raises(StoreError, match="退回意见"):
            repo.transition(s, row, "return", user=None, via="form")
        repo.transition(s, row, "return", user=None, via="form", note="体育场馆面积有误")
        repo.transition(s, row, "submit", user=None, via="form")
        repo.transition(s, row, "approve", user=None, via="form")
        repo.transition(s, row, "reopen", user=None, via="form")
        assert row.status == "draft"
        statuses = s.scalars(select(AuditEntry.new).where(AuditEntry.field == "status")).all()
        assert statuses == ["submitted", "returned", "submitted", "approved", "draft"]


def test_soft_delete_and_restore_leave_a_trace(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli", status="approved")
        school = repo.school_by_code(s, "P1")
        repo.soft_delete(s, school, user=None, via="form")
    with database.session() as s:
        # closed, it still counts for the year it reported (docs/methods.md, "Coverage") ...
        closed = repo.load_dataset(s)
        assert "P1" in set(closed.schools["school_id"]) and closed.closed_schools == {"P1"}
        # ... and nowhere else: a preview with drafts shows the active schools only
        assert "P1" not in set(repo.load_dataset(s, approved_only=False).schools["school_id"])
        repo.soft_delete(s, repo.school_by_code(s, "P1"), user=None, via="form", restore=True)
    with database.session() as s:
        assert "P1" in set(repo.load_dataset(s).schools["school_id"])
        assert repo.load_dataset(s).closed_schools == set()
        notes = s.scalars(select(AuditEntry.note).where(AuditEntry.field == "deleted_at")).all()
        assert notes == ["删除", "恢复"]


def test_counties_only_named_in_schools_become_county_nodes(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli")
        node = s.scalars(select(OrgNode).where(OrgNode.kind == "county")).one()
        assert node.code == builders.COUNTY and node.name == "测试县"


def test_the_inputs_version_ignores_empty_new_fields_but_not_a_value_moved_between_fields():
    dataset = builders.dataset()
    before = repo.inputs_version(dataset, builders.COUNTY, builders.YEAR)
    dataset.county_year["a_field_added_to_the_format"] = None  # empty everywhere until entered
    assert repo.inputs_version(dataset, builders.COUNTY, builders.YEAR) == before
    one = builders.dataset(county_years=[builders.county_year(hs_quota_ratio=None, migrant_public_ratio=55.0)])
    other = builders.dataset(county_years=[builders.county_year(hs_quota_ratio=55.0, migrant_public_ratio=None)])
    assert repo.inputs_version(one, builders.COUNTY, builders.YEAR) != repo.inputs_version(other, builders.COUNTY,
                                                                                            builders.YEAR)

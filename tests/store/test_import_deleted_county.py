"""Issue 13, item 3: the import path (`repo.apply` / `import_dataset`) treats a deleted county as
`repo.county_by_code` does on every face: it is not there to be written into. An import that
touches it is refused whole with a Chinese message and writes nothing (no row, no audit entry,
no second county under its code); a live county imports as before; a code of a city or
province is no county code."""

from __future__ import annotations

import re
from datetime import timedelta

import builders
import pytest
from sqlalchemy import func, select

from junheng.store import repo
from junheng.store.models import AuditEntry, OrgNode, SchoolYear, utcnow


def _counts(s) -> tuple[int, int, int]:
    return (s.scalar(select(func.count()).select_from(AuditEntry)), s.scalar(select(func.count()).select_from(OrgNode)),
            s.scalar(select(func.count()).select_from(SchoolYear)))


def _changed(dataset):
    """The same county with ten more pupils in every primary segment: an import with changes to write."""
    years = dataset.school_year.copy()
    primary = years["students_primary"].notna()
    years.loc[primary, "students_primary"] = years.loc[primary, "students_primary"] + 10
    return builders.dataset(school_years=years.to_dict("records"))


def test_an_import_into_a_deleted_county_is_refused_and_writes_nothing(database):
    data = builders.dataset()
    with database.session() as s:
        repo.import_dataset(s, data, user=None, via="cli")
    with database.session() as s:
        county = repo.county_by_code(s, builders.COUNTY)
        county.deleted_at, name = utcnow() - timedelta(days=1), county.name
    with database.session() as s:
        before = _counts(s)
        with pytest.raises(repo.StoreError) as refused:
            repo.import_dataset(s, _changed(data), user=None, via="cli")
        assert refused.value.user_message() == (f"县区“{name}”({builders.COUNTY})已删除,不能导入其数据:"
                                                "请更正数据中的县区代码")
    with database.session() as s:
        assert _counts(s) == before
        with pytest.raises(repo.CountyNotFound):
            repo.county_by_code(s, builders.COUNTY)  # still deleted, as every face sees it


def test_the_refusal_names_the_county_and_comes_before_any_write(database):
    data = builders.dataset()
    with database.session() as s:
        repo.import_dataset(s, data, user=None, via="cli")
        county = repo.county_by_code(s, builders.COUNTY)
        name = county.name
        county.deleted_at = utcnow()
    with database.session() as s:
        changes = repo.diff(s, _changed(data))
        assert changes and all(c.county_code == builders.COUNTY for c in changes)
        before = _counts(s)
        with pytest.raises(repo.StoreError, match=re.escape(f"县区“{name}”({builders.COUNTY})已删除,不能导入其数据")):
            repo.apply(s, changes, user=None, via="cli")
        assert _counts(s) == before  # refused before the first write, not rolled back after it


def test_a_live_county_imports_as_before(database):
    data = builders.dataset()
    with database.session() as s:
        repo.import_dataset(s, data, user=None, via="cli")
    with database.session() as s:
        written = repo.import_dataset(s, _changed(data), user=None, via="cli")
        assert written > 0 and repo.county_by_code(s, builders.COUNTY).deleted_at is None


def test_a_city_code_is_no_county_code(database):
    with database.session() as s:
        s.add(OrgNode(kind="city", code=builders.COUNTY, name="示范市"))
    with database.session() as s:
        with pytest.raises(repo.StoreError, match=re.escape(f"代码 {builders.COUNTY} 是市“示范市”的代码,不是县区代码")):
            repo.import_dataset(s, builders.dataset(), user=None, via="cli")

"""`repo.apply` with the objects a save holds already (`known`): the same rules and the same
writes as without them, read from those objects instead of the database (SQLite and PostgreSQL)."""

import pytest
from sqlalchemy import event, func, select

import builders
from junheng.data.importer import validate_rows
from junheng.store import repo
from junheng.store.models import AuditEntry, School, SchoolYear
from junheng.store.repo import StoreError

KEY = f"P1/{builders.YEAR}"


class Statements:
    """The SQL statements a block sends (to count what a save reads)."""

    def __init__(self, database):
        self.engine = database.engine
        self.sent: list[str] = []

    def _record(self, conn, cursor, statement, *args):
        self.sent.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)

    def selects(self) -> list[str]:
        return [s for s in self.sent if s.lstrip().upper().startswith("SELECT")]


def _held(s):
    """What an API save holds when it applies: the school, its county and its row (read after
    the row's write lock, as api_values does)."""
    school = s.scalar(select(School).where(School.code == "P1"))
    row = s.scalar(select(SchoolYear).where(SchoolYear.school_id == school.id, SchoolYear.year == builders.YEAR))
    return school, school.county, row


def test_a_save_holding_its_rows_writes_the_same_and_reads_nothing_more(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli")  # drafts
    change = repo.Change("school_year", KEY, builders.COUNTY, "sports_area", None, 4321.0)
    with database.session() as s:
        school, county, row = _held(s)
        version = row.version
        with Statements(database) as sent:
            repo.apply(s, [change], user=None, via="api", known=(county, school, row))
        assert sent.selects() == []  # the lock, the county and the row: all from what the save holds
        assert row.values["sports_area"] == 4321.0 and row.version == version + 1
    with database.session() as s:
        school, county, row = _held(s)
        assert row.values["sports_area"] == 4321.0
        entry = s.scalars(select(AuditEntry).where(AuditEntry.field == "sports_area", AuditEntry.via == "api")).one()
        assert (entry.entity_key, entry.county_id, entry.new) == (KEY, county.id, 4321.0)
        with Statements(database) as sent:  # without `known`: the same write, read from the database
            repo.apply(s, [repo.Change("school_year", KEY, builders.COUNTY, "sports_area", 4321.0, 1.0)],
                       user=None, via="api")
        assert len(sent.selects()) >= 3


@pytest.mark.parametrize("status", ["submitted", "approved"])
def test_a_held_row_that_is_locked_is_refused_as_without_it(database, status):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli", status=status)
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    change = repo.Change("school_year", KEY, builders.COUNTY, "sports_area", None, 1.0)
    messages = []
    for known in (True, False):
        with pytest.raises(StoreError, match="已锁定") as refused:
            with database.session() as s:
                held = _held(s)
                repo.apply(s, [change], user=None, via="api", known=held if known else ())
        messages.append(str(refused.value))
    assert messages[0] == messages[1]  # the one lock rule, word for word
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_a_held_county_that_is_deleted_is_refused(database):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli")
    change = repo.Change("school_year", KEY, builders.COUNTY, "sports_area", None, 1.0)
    with pytest.raises(StoreError, match="已删除"):
        with database.session() as s:
            school, county, row = _held(s)
            county.deleted_at = row.updated_at  # deleted in this unit of work: the held object says so
            repo.apply(s, [change], user=None, via="api", known=(county, school, row))


def test_the_one_row_changes_are_the_diffs(database):
    """`row_changes` (a save's one row, its table read alone) gives what `diff` gives for that row."""
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli")
    schools, years = builders.passing_rows({"P1": {"sports_area": 1234.5}})
    mine = [y for y in years if y["school_id"] == "P1"]
    roster = [r for r in schools if r["school_id"] == "P1"]
    dataset = validate_rows({"schools": roster, "school_year": mine}, source="API")
    with database.session() as s:
        _, _, row = _held(s)
        one = repo.row_changes(dataset, "school_year", KEY, dict(row.values))
        whole = [c for c in repo.diff(s, dataset, whole_store=False) if c.entity == "school_year"]
    assert one == whole and [c.field for c in one] == ["sports_area"]

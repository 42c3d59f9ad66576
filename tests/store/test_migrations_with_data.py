"""Every migration on a store holding data, on SQLite and PostgreSQL: for each Alembic revision R
but the first (found with `ScriptDirectory.walk_revisions()`, so a new revision is covered
without touching this file), a store at R's parent gets representative rows in every table that
exists there, is upgraded to head — every stored value is unchanged and the county evaluates as
before — and downgraded back to R's parent, where every row of the older schema is still there.

The rows come from a store built at head through the product's own functions (import, users,
grants, tokens, sessions, login throttle, audit, evaluation runs, warnings, tasks with comments and
attachments, subscriptions, digests, forecast inputs, a survey with its quota, codes, responses and
result), projected onto the columns each older schema has."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import builders
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from junheng import services
from junheng.engine.evaluate import evaluate_dataset
from junheng.monitor.notify import add_subscription
from junheng.monitor.tasks import add_attachment, add_comment, create_task
from junheng.store import repo
from junheng.store.db import Database, alembic_config
from junheng.store.models import (
    Base,
    CountyIntake,
    GradeEnrolment,
    HousingProject,
    MonitorWarning,
    NotificationItem,
    NotificationLog,
    User,
)
from junheng.store.users import create_token, grant, hash_password, record_login_failure, start_session

COUNTY, YEAR = builders.COUNTY, builders.YEAR


def revisions() -> list[tuple[str, str]]:
    """(revision, its parent) for every revision but the first, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(None))
    pairs = [(r.revision, r.down_revision) for r in script.walk_revisions() if r.down_revision is not None]
    assert all(isinstance(parent, str) for _, parent in pairs), "a merge revision: teach this test its parents"
    return list(reversed(pairs))


REVISIONS = revisions()


def _fill(database: Database, uploads: Path) -> None:
    """Representative rows in every table of the newest schema, made as the product makes them."""
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(), user=None, via="cli", note="测试数据", status="approved")
    with database.session() as s:
        user = User(username="xian", display_name="县管理员", password_hash=hash_password("Jh-2026-kT9#qL"))
        s.add(user)
        s.flush()
        grant(s, user, "county_admin", COUNTY)
        grant(s, user, "school_filler", "P1")
        create_token(s, user, "市级平台同步")
        start_session(s, user)
        record_login_failure(s, "xian", "10.0.0.7")
        county = repo.county_by_code(s, COUNTY)
        school = repo.school_by_code(s, "P1")
        warning = MonitorWarning(key=f"test/{COUNTY}/G4", county_id=county.id, school_id=school.id, kind="indicator",
                                 rule_id="indicator_failing", severity="red", indicator="G4", year=YEAR,
                                 title="测试预警", message="体育运动场馆面积不足", numbers={"gap": 1200.5},
                                 responsible=["教体局"])
        s.add(warning)
        s.flush()
        task = create_task(s, COUNTY, title="补足体育运动场馆面积", user=user, via="cli")
        task.warning_id = warning.id
        add_comment(s, task.id, "已开工", user=user)
        add_attachment(s, uploads, task.id, "验收报告.pdf", b"%PDF-1.4 evidence", user=user, via="cli")
        subscription = add_subscription(s, user, "email", "xian@example.cn", county_code=COUNTY)
        s.flush()
        log = NotificationLog(run_id="run-1", subscription_id=subscription.id, user_id=user.id, channel="email",
                              target="xian@example.cn", subject="预警摘要", body="1 条红色预警", status="sent",
                              warning_count=1)
        log.items.append(NotificationItem(warning_id=warning.id, occurrence=1, severity="red", reason="new"))
        s.add(log)
        s.add(GradeEnrolment(school_id=school.id, year=YEAR, grade=1, students=170))
        s.add(CountyIntake(county_id=county.id, year=YEAR + 1, births=1500, kindergarten_leavers=1450))
        s.add(HousingProject(county_id=county.id, school_id=school.id, name="城东小区", year_ready=YEAR + 2,
                             primary_pupils=120, junior_pupils=40))
    with database.session() as s:
        services.evaluate_stored(s, COUNTY, YEAR)  # an evaluation run
    _fill_survey(database)
    _fill_quality(database, uploads)


def _fill_quality(database: Database, uploads: Path) -> None:
    """A quality analysis from student scores (issue 15), through junheng.quality.service, for the
    next year (the evaluated year is approved, so locked)."""
    from junheng.quality.service import import_scores
    from junheng.workspace import Settings

    folder = uploads.parent
    folder.mkdir(parents=True, exist_ok=True)
    scores, cuts = folder / "成绩.csv", folder / "分数线.csv"
    rows = [f"{COUNTY},{school},{YEAR + 1},8,数学,{key},{score}"
            for school, key, score in (("J1", "a", 50), ("J1", "b", 70), ("J2", "c", 60), ("J2", "d", 90))]
    scores.write_text("county_code,school_id,year,grade,subject,student_key,score\n" + "\n".join(rows) + "\n",
                      encoding="utf-8")
    cuts.write_text("subject,grade,level_2,level_3,level_4\n数学,8,40,60,80\n", encoding="utf-8")
    settings = Settings(database_url=str(database.engine.url), secret_key="s" * 40, uploads=uploads, root=folder)
    with database.session() as s:
        import_scores(s, settings, scores, cuts, user=None, via="cli")


def _fill_survey(database: Database) -> None:
    """A survey with a quota, codes, a partial and a submitted response and a result (issue 14),
    through junheng.survey.collection."""
    from junheng.survey import collection
    from junheng.survey.privacy import keyed_hash
    from junheng.survey.questionnaire import default_questionnaires
    from junheng.survey.settings import load_settings

    secret = "migration-test"
    with database.session() as s:
        user = s.scalar(sa.select(User).where(User.username == "xian"))
        survey = collection.create_survey(s, COUNTY, YEAR, title="社会认可度调查", questionnaires=default_questionnaires(),
                                          settings=load_settings(None), user=user, via="cli")
        collection.set_quotas(s, survey, [collection.QuotaRow("parents", "P1", 5)])
        (_, first), (_, second) = collection.issue_codes(s, survey, secret=secret)[:2]
        collection.open_survey(s, survey, user=user, via="cli")
        items = [i["id"] for i in collection.shown_items(collection.questionnaire(survey, "society"))]
        done = collection.start_or_resume(s, survey, first, secret=secret, ip_hash=keyed_hash(secret, "10.0.0.8"))
        collection.submit(s, survey, done, {items[0]: "满意", items[1]: "不了解"})
        partial = collection.start_or_resume(s, survey, second, secret=secret)
        collection.save_answers(s, survey, partial, {items[0]: "基本满意"})
        collection.record_result(s, survey, {"overall": {"rate": 1.0, "ci_low": None, "ci_high": None,
                                                         "respondents": 1, "answers": 1}}, user=user)


def _evaluation(database: Database) -> str:
    with database.session() as s:
        result = evaluate_dataset(repo.load_dataset(s, [COUNTY]), county=COUNTY, year=YEAR)[0]
    return json.dumps(result.to_json(), sort_keys=True, ensure_ascii=False)


@lru_cache(maxsize=1)
def _source(folder: str) -> tuple[dict[str, list[dict]], str]:
    """Every row of a head store filled by `_fill` (table → rows as column → value, in the
    models' types) and its county's evaluation."""
    database = Database(f"sqlite:///{Path(folder) / 'source.db'}")
    database.migrate()
    try:
        _fill(database, Path(folder) / "uploads")
        rows = {}
        with database.engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                rows[table.name] = [dict(r._mapping) for r in conn.execute(
                    sa.select(table).order_by(*table.primary_key.columns))]
        empty = [name for name, found in rows.items() if not found]
        assert not empty, f"_fill leaves tables without rows: {empty} (add representative data for them)"
        return rows, _evaluation(database)
    finally:
        database.engine.dispose()


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return _source(str(tmp_path_factory.mktemp("migration-source")))


def _schema(engine) -> dict[str, list[str]]:
    """table → its columns, as the database has them now (without Alembic's own table)."""
    inspector = sa.inspect(engine)
    return {t: [c["name"] for c in inspector.get_columns(t)] for t in inspector.get_table_names()
            if t != "alembic_version"}


def _load(engine, source_rows: dict[str, list[dict]], schema: dict[str, list[str]]) -> None:
    """The source rows, projected onto the columns the (older) schema has, in the models' types."""
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name not in schema:
                continue
            columns = [c for c in table.columns if c.name in schema[table.name]]
            older = sa.Table(table.name, sa.MetaData(), *[sa.Column(c.name, c.type, primary_key=c.primary_key)
                                                         for c in columns])
            rows = [{c.name: row[c.name] for c in columns} for row in source_rows[table.name]]
            if rows:
                conn.execute(sa.insert(older), rows)
            serial = "id" in table.c and isinstance(table.c.id.type, sa.Integer) and "id" in schema[table.name]
            if engine.dialect.name == "postgresql" and serial and rows:  # later inserts get fresh ids
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                     f"(SELECT max(id) FROM {table.name}))"))
        missing = [t for t in schema if t not in Base.metadata.tables]
        assert not missing, f"tables of the older schema the models no longer know: {missing}"


def _dump(engine, schema: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """The rows of `schema`'s tables and columns as the database holds them now."""
    reflected = sa.MetaData()
    reflected.reflect(engine, only=list(schema))
    out = {}
    with engine.connect() as conn:
        for name, columns in schema.items():
            table = reflected.tables[name]
            key = [table.c[c] for c in columns if table.c[c].primary_key] or [table.c[columns[0]]]
            out[name] = [tuple(r) for r in conn.execute(sa.select(*[table.c[c] for c in columns]).order_by(*key))]
    return out


@pytest.mark.parametrize("revision, parent", REVISIONS, ids=[r for r, _ in REVISIONS])
def test_a_store_with_data_upgrades_unchanged_and_downgrades(database, source, revision, parent):
    source_rows, evaluation = source
    config = alembic_config(database.engine)
    command.downgrade(config, parent)  # the store as the previous version of junheng left it
    older = _schema(database.engine)
    _load(database.engine, source_rows, older)
    before = _dump(database.engine, older)
    assert all(before[t] for t in older), f"tables left empty at {parent}: {[t for t in older if not before[t]]}"

    command.upgrade(config, "head")
    assert _dump(database.engine, older) == before, f"upgrading from {parent} changed stored values"
    assert _evaluation(database) == evaluation, f"the county evaluates differently after upgrading from {parent}"
    with database.session() as s:
        result, _, _ = services.evaluate_stored(s, COUNTY, YEAR)
        assert json.dumps(result.to_json(), sort_keys=True, ensure_ascii=False) == evaluation

    command.downgrade(config, parent)
    assert _schema(database.engine) == older, f"downgrading to {parent} did not restore its schema"
    after = _dump(database.engine, older)
    if "evaluation_runs" in after:  # the run stored just now is new data, not the older store's
        after["evaluation_runs"] = after["evaluation_runs"][:len(before["evaluation_runs"])]
    assert after == before, f"downgrading head → {parent} lost or changed data of the older schema"
    command.upgrade(config, "head")  # and up again: the fixture's store ends at head


def test_every_revision_but_the_first_is_covered():
    script = ScriptDirectory.from_config(alembic_config(None))
    every = [r.revision for r in script.walk_revisions()]
    assert len(REVISIONS) == len(every) - 1 >= 4

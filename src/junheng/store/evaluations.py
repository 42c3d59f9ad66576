"""Evaluations of stored data: a county-year evaluated from the store's approved (or all) data,
kept as a run (one per inputs version), and a stored run's result, both cached in memory; a
county's year progress, cached by the same data stamp; and `warm`, which fills these caches when
a server process starts.

Every face shows these: the web pages and the API, the report from the workspace
(junheng.reports.store) and the CLI, through `junheng.services` (which re-exports them).

The caches are per process and keyed by a *data stamp* read from the database on every use
(`data_stamp`: one small indexed query), so a change made through any process (another server
worker, the CLI) is seen by the next request of every process.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from sqlalchemy import event

from junheng.engine.result import EvaluationResult

_RUN_CACHE: dict[tuple, tuple[int, list[int], int]] = {}  # (database, county, year, approved_only, stamp) → run
_RESULTS: "OrderedDict[tuple, EvaluationResult]" = OrderedDict()  # (database, run id, inputs) → its result
_RESULTS_KEPT = 256
_PROGRESS: "OrderedDict[tuple, object]" = OrderedDict()  # (database, county, stamp) → repo.YearProgress
_PROGRESS_KEPT = 4096
WROTE_AUDIT = "junheng_wrote_audit"  # session.info flag: this unit of work has written audit entries


def _mark_audit_written(mapper, connection, target) -> None:
    from sqlalchemy.orm import object_session

    session = object_session(target)
    if session is not None:
        session.info[WROTE_AUDIT] = True


def _install_audit_listener() -> None:
    from junheng.store.models import AuditEntry

    if not event.contains(AuditEntry, "after_insert", _mark_audit_written):
        event.listen(AuditEntry, "after_insert", _mark_audit_written)


STAMPS = "junheng_data_stamps"  # session.info: (county id, approved_only) → stamp, for this transaction


def _clear_flag(session, *_args) -> None:
    session.info.pop(WROTE_AUDIT, None)
    session.info.pop(STAMPS, None)


def _install_session_listeners() -> None:
    from sqlalchemy.orm import Session

    for name in ("after_commit", "after_rollback"):
        if not event.contains(Session, name, _clear_flag):
            event.listen(Session, name, _clear_flag)


_install_audit_listener()
_install_session_listeners()


def data_stamp(session, county_id: int, *, approved_only: bool = True) -> tuple | None:
    """What identifies a county's stored data for its evaluations and its year progress: the
    newest audit entry of the county (for approved data: of a change that can feed it — value
    edits of school-years are left out, only drafts accept them; models.FEEDS_APPROVED_SQL) and
    the newest school-year row (a new row is a draft the progress counts, made by a save whose
    audit entries are value edits). Every change of stored data is audited, so equal stamps mean
    equal data. None while this unit of work has written audit entries itself: an id it used may
    be given again after a rollback (SQLite), so nothing it sees is cached."""
    from sqlalchemy import func, select, text

    from junheng.store.models import FEEDS_APPROVED_SQL, AuditEntry, School, SchoolYear

    if session.info.get(WROTE_AUDIT):
        return None
    known = session.info.get(STAMPS, {})
    if (county_id, approved_only) not in known:
        data_stamps(session, [county_id], approved_only=approved_only)
    return session.info.get(STAMPS, {}).get((county_id, approved_only))


def data_stamps(session, county_ids, *, approved_only: bool = True) -> None:
    """Read the `data_stamp` of several counties at once (two grouped queries, e.g. for the
    overview's counties); kept for the rest of the transaction (a page reads a county's stamp
    for its evaluation and again for its progress)."""
    from sqlalchemy import func, select, text

    from junheng.store.models import FEEDS_APPROVED_SQL, AuditEntry, School, SchoolYear

    ids = list(dict.fromkeys(county_ids))
    if session.info.get(WROTE_AUDIT) or not ids:
        return
    newest_change = select(AuditEntry.county_id, func.max(AuditEntry.id)).where(AuditEntry.county_id.in_(ids))
    if approved_only:
        newest_change = newest_change.where(text(FEEDS_APPROVED_SQL))
    changes = dict(session.execute(newest_change.group_by(AuditEntry.county_id)).all())
    rows = dict(session.execute(select(School.county_id, func.max(SchoolYear.id))
                                .join(School, School.id == SchoolYear.school_id)
                                .where(School.county_id.in_(ids)).group_by(School.county_id)).all())
    known = session.info.setdefault(STAMPS, {})
    for county_id in ids:
        known[(county_id, approved_only)] = (changes.get(county_id), rows.get(county_id))


def _database(session) -> str:
    return str(session.get_bind().url)


def year_progress(session, county):
    """`repo.year_progress` of the county, kept per data stamp (the years' coverage only changes
    with audited changes of the county: workflow states, schools, deletions, new rows)."""
    from junheng.store import repo

    stamp = data_stamp(session, county.id)
    key = (_database(session), county.id, stamp)
    if stamp is not None and (hit := _PROGRESS.get(key)) is not None:
        _PROGRESS.move_to_end(key)
        return hit
    progress = repo.year_progress(session, county)
    if stamp is not None:
        _PROGRESS[key] = progress
        if len(_PROGRESS) > _PROGRESS_KEPT:
            _PROGRESS.popitem(last=False)
    return progress


def stored_result(session, run) -> EvaluationResult:
    """A stored run's result. Runs never change once written, so the parsed result is kept in
    memory (the most recent few hundred): page views skip reading and validating its JSON.
    Load runs with `defer(EvaluationRun.result)` to skip reading it from the database too."""
    # the inputs' version too: SQLite may give a rolled-back run's id to the next run
    key = (str(session.get_bind().url), run.id, run.inputs_version)
    result = _RESULTS.get(key)
    if result is None:
        result = _RESULTS[key] = EvaluationResult.model_validate(run.result)
        if len(_RESULTS) > _RESULTS_KEPT:
            _RESULTS.popitem(last=False)
    else:
        _RESULTS.move_to_end(key)
    return result


def evaluate_stored(session, county_code: str, year: int | None = None, *, user=None, user_id: int | None = None,
                    approved_only: bool = True, county=None):
    """Evaluate a county-year from the store's approved data and keep the run (one per inputs
    version). Without `year` (or with a year that has no approved data) the latest complete
    year is evaluated: a year still being filled in never stands for the county by default
    (when no year is complete yet, the latest, provisional one). Returns (result, run, years
    with approved data). `county`: its OrgNode (kind county), when the caller has read it."""
    from sqlalchemy import select
    from sqlalchemy.orm import defer

    from junheng.engine.coverage import default_year
    from junheng.engine.evaluate import NothingToEvaluate, evaluate_dataset
    from junheng.store import repo
    from junheng.store.models import EvaluationRun

    if county is None or county.code != county_code or county.kind != "county" or county.deleted:  # (`county`: the caller has it already)
        county = repo.county_by_code(session, county_code)
    # Every change of a county's data is an audit entry, so the newest entry's id identifies the
    # data (data_stamp): a page view that finds its run here skips loading and fingerprinting the
    # whole county. For approved data, edits of drafts are left out (they cannot change that
    # evaluation, nor which schools it covers: workflow changes and new schools are audited too).
    stamp = data_stamp(session, county.id, approved_only=approved_only)
    cache_key = (_database(session), county.id, year, approved_only, stamp)
    hit = _RUN_CACHE.get(cache_key) if stamp is not None else None
    if hit is not None:
        run_id, years, chosen = hit
        run = session.get(EvaluationRun, run_id, options=[defer(EvaluationRun.result)])
        # (a run written by a request that was then rolled back is gone, or its id reused)
        if run is not None and (run.county_id, run.year, run.approved_only) == (county.id, chosen, approved_only):
            return stored_result(session, run), run, years
    dataset = repo.load_dataset(session, [county_code], approved_only=approved_only)
    years = sorted({y for c, y in dataset.county_year_pairs() if c == county_code})
    if not years:
        raise NothingToEvaluate(f"{county.name}还没有已审核的学校数据,无法评估")
    chosen = year if year in years else default_year(dataset, county_code, years)
    version = repo.inputs_version(dataset, county_code, chosen)
    run = session.scalar(select(EvaluationRun).where(
        EvaluationRun.county_id == county.id, EvaluationRun.year == chosen,
        EvaluationRun.inputs_version == version, EvaluationRun.approved_only == approved_only))
    if run is None:
        result = evaluate_dataset(dataset, county=county_code, year=chosen)[0]
        run = EvaluationRun(county_id=county.id, year=chosen, standard=result.standard, inputs_version=version,
                            approved_only=approved_only, verdict=result.verdict, result=result.to_json(),
                            created_by=user.id if user else user_id)
        session.add(run)
        session.flush()
    else:
        result = stored_result(session, run)
    if stamp is not None:
        if len(_RUN_CACHE) > 10_000:
            _RUN_CACHE.clear()
        _RUN_CACHE[cache_key] = (run.id, years, chosen)
        # the same run answers for its year named explicitly (the school pages, ?year=)
        _RUN_CACHE[(_database(session), county.id, chosen, approved_only, stamp)] = (run.id, years, chosen)
    return result, run, years


def evaluate_stored_years(session, county, years, *, user_id: int | None = None, approved_only: bool = True) -> dict:
    """`evaluate_stored` of one county for each of `years` (the school page's approved years):
    the runs this process knows for the data stamp are read in one query; a year it does not
    know is evaluated as usual. Returns {year: result}, leaving out years with nothing to
    evaluate."""
    from sqlalchemy import select
    from sqlalchemy.orm import defer

    from junheng.engine.evaluate import NothingToEvaluate
    from junheng.store.models import EvaluationRun

    stamp = data_stamp(session, county.id, approved_only=approved_only)
    database = _database(session)
    known = {}
    if stamp is not None:
        for year in years:
            hit = _RUN_CACHE.get((database, county.id, year, approved_only, stamp))
            if hit is not None:
                known[year] = hit
    runs = {run.id: run for run in session.scalars(
        select(EvaluationRun).where(EvaluationRun.id.in_([run_id for run_id, _, _ in known.values()]))
        .options(defer(EvaluationRun.result)))} if known else {}
    out = {}
    for year in years:
        if year in known:
            run_id, _, chosen = known[year]
            run = runs.get(run_id)
            if run is not None and (run.county_id, run.year, run.approved_only) == (county.id, chosen, approved_only):
                out[year] = stored_result(session, run)
                continue
        try:
            out[year] = evaluate_stored(session, county.code, year, user_id=user_id, approved_only=approved_only,
                                        county=county)[0]
        except NothingToEvaluate:
            continue
    return out


def warm(database, *, budget_s: float = 20.0) -> dict:
    """Fill this process's caches from the store before it serves anyone: every county's
    current evaluation (the default year and each year with approved data; a run not stored yet
    is evaluated and stored, as the first page view would), its parsed result and its year
    progress. Stops after `budget_s` seconds (a province's first start-up evaluates what it
    can; page views do the rest). Returns counts for the log."""
    from sqlalchemy import select

    from junheng.engine.evaluate import NothingToEvaluate
    from junheng.store.models import OrgNode, School, SchoolYear

    started = time.monotonic()
    done = {"counties": 0, "runs": 0, "complete": True}
    with database.session() as session:
        counties = session.scalars(select(OrgNode).where(OrgNode.kind == "county", OrgNode.deleted_at.is_(None))
                                   .order_by(OrgNode.code)).all()
        approved = {}
        for county_id, year in session.execute(
                select(School.county_id, SchoolYear.year).join(School, School.id == SchoolYear.school_id)
                .where(SchoolYear.status == "approved", SchoolYear.deleted_at.is_(None)).distinct()):
            approved.setdefault(county_id, set()).add(year)
    for county in counties:
        if time.monotonic() - started > budget_s:
            done["complete"] = False
            break
        with database.session() as session:  # one unit of work per county: a run stored is committed
            node = session.get(OrgNode, county.id)
            year_progress(session, node)
            for year in [None, *sorted(approved.get(county.id, ()))]:
                try:
                    evaluate_stored(session, county.code, year)
                except NothingToEvaluate:
                    break
                done["runs"] += 1
        done["counties"] += 1
    return done

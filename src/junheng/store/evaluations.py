"""Evaluations of stored data: a county-year evaluated from the store's approved (or all) data,
kept as a run (one per inputs version), and a stored run's result, both cached in memory.

Every face shows these: the web pages and the API, the report from the workspace
(junheng.reports.store) and the CLI, through `junheng.services` (which re-exports them).
"""

from __future__ import annotations

from collections import OrderedDict

from junheng.engine.result import EvaluationResult

_RUN_CACHE: dict[tuple, tuple[int, list[int]]] = {}  # (database, county, year, approved_only, data stamp) → run
_RESULTS: "OrderedDict[tuple, EvaluationResult]" = OrderedDict()  # (database, run id, inputs) → its result
_RESULTS_KEPT = 256


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


def evaluate_stored(session, county_code: str, year: int | None = None, *, user=None,
                    approved_only: bool = True):
    """Evaluate a county-year from the store's approved data and keep the run (one per inputs
    version). Without `year` (or with a year that has no approved data) the latest complete
    year is evaluated: a year still being filled in never stands for the county by default
    (when no year is complete yet, the latest, provisional one). Returns (result, run, years
    with approved data)."""
    from sqlalchemy import func, select, text
    from sqlalchemy.orm import defer

    from junheng.engine.coverage import default_year
    from junheng.engine.evaluate import NothingToEvaluate, evaluate_dataset
    from junheng.store import repo
    from junheng.store.models import FEEDS_APPROVED_SQL, AuditEntry, EvaluationRun

    county = repo.county_by_code(session, county_code)
    # Every change of a county's data is an audit entry, so the newest entry's id identifies the
    # data: a page view that finds its run here skips loading and fingerprinting the whole county.
    # For approved data, edits of drafts are left out (they cannot change that evaluation, nor
    # which schools it covers: workflow changes and new schools are audited too).
    newest_change = select(func.max(AuditEntry.id)).where(AuditEntry.county_id == county.id)
    if approved_only:
        newest_change = newest_change.where(text(FEEDS_APPROVED_SQL))
    stamp = session.scalar(newest_change)
    cache_key = (str(session.get_bind().url), county.id, year, approved_only, stamp)
    hit = _RUN_CACHE.get(cache_key)
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
                            created_by=user.id if user else None)
        session.add(run)
        session.flush()
    else:
        result = stored_result(session, run)
    if len(_RUN_CACHE) > 10_000:
        _RUN_CACHE.clear()
    _RUN_CACHE[cache_key] = (run.id, years, chosen)
    return result, run, years

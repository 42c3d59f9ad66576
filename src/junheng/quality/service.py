"""Student scores into a workspace: the county's 教育质量监测 (Q9) computed, stored and applied.

`import_scores` reads a scores file (junheng.quality.scores: validated, student keys
pseudonymised under the workspace's secret key) into an in-process DuckDB database, analyses
every county × subject × grade in it with the same `analyse` as `junheng quality`, and then, in
the caller's transaction:

- writes each county-year's quality rows (one per subject × grade, subject named like
  “数学(八年级)”: level and 校际差异率) through `repo.apply`, audited, with the locks of every other
  change, refused whole when any row is locked;
- keeps a QualityAnalysis per county-year: settings, cut scores and the whole result (levels,
  shares, ICC and interval, variances, every school's figures and histograms) that the quality
  pages and the report show and the evaluation names as the rows' source
  (junheng.store.value_sources);
- replaces those counties' scores of that year in the workspace's analytical store
  (analytics.duckdb beside the database: pseudonyms only, never a raw key).

Nothing is written when anything is refused: an unknown county or school, a county the user
does not manage, a standard without quality monitoring, a locked county-year.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from junheng.quality import KEYS, QualityError, execute
from junheng.quality.analysis import CountySubjectGrade, QualitySettings, analyse_schools, one_year, school_table
from junheng.quality.cuts import CutScores, read_cuts
from junheng.quality.levels import SHARE_COLUMNS
from junheng.quality.scores import SCORES_COLUMNS, read_scores
from junheng.standards.loader import DEFAULT_STANDARD, load_standard
from junheng.store import repo
from junheng.store.models import OrgNode, QualityAnalysis, QualityRow, School, User

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from junheng.store.users import Access
    from junheng.workspace import Settings

ANALYTICS_FILE = "analytics.duckdb"  # the workspace's analytical store (DuckDB), beside junheng.db
HISTOGRAM_BINS = 20
GRADE_NAMES = dict(enumerate("一二三四五六七八九", 1))
MAX_LISTED = 20  # unknown counties or schools named in a refusal


class QualityAccessDenied(QualityError):
    """The scores include a county the user may not change (the web answers 403)."""


def quality_subject(subject: str, grade: int) -> str:
    """The quality row's subject for a subject × grade: “数学(八年级)”."""
    return f"{subject}({GRADE_NAMES.get(grade, grade)}年级)"


def analytics_path(settings: "Settings") -> Path:
    return settings.folder / ANALYTICS_FILE


@dataclass
class ImportOutcome:
    year: int
    analyses: list[QualityAnalysis] = field(default_factory=list)
    changes: int = 0
    notes: list[str] = field(default_factory=list)
    results: dict[str, CountySubjectGrade] = field(default_factory=dict)  # as `junheng quality` gives them


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _listed(items: list[str]) -> str:
    shown = "、".join(items[:MAX_LISTED])
    return shown + (f" 等 {len(items)} 个" if len(items) > MAX_LISTED else "")


def import_scores(session: Session, settings: "Settings", scores: Path, cuts: Path | CutScores, *,
                  user: User | None, via: str, access: "Access | None" = None, year: int | None = None,
                  source_name: str | None = None, only_county: OrgNode | None = None) -> ImportOutcome:
    """Analyse `scores` and store the results of every county in it (see the module docstring).

    `access`: when given, every county must be one it manages. `only_county`: the scores must be of
    that county alone (a county's upload page). Raises QualityError, QualityAccessDenied,
    ScoresInvalid, DatasetUnreadable or StoreError (nothing written)."""
    import ibis

    cut_scores = cuts if isinstance(cuts, CutScores) else read_cuts(cuts)  # a bad cut file costs no import
    backend = ibis.duckdb.connect()
    try:
        table = read_scores(scores, key=settings.secret_key, connection=backend)
        counties = _counties(session, table, access=access, only_county=only_county)
        _check_schools(session, table, counties)
        outcome = _analyse_and_store(session, table, cut_scores, counties, user=user, via=via, year=year,
                                     source_name=source_name or Path(scores).name, sha256=_sha256(Path(scores)))
        _keep_scores(backend, analytics_path(settings), outcome.year, list(counties))
        return outcome
    finally:
        backend.disconnect()


def _distinct(expr: "ir.Table", column: str) -> list:
    return list(execute(expr.select(column).distinct().order_by(column))[column])


def _counties(session: Session, table: "ir.Table", *, access: "Access | None",
              only_county: OrgNode | None) -> dict[str, OrgNode]:
    codes = [str(c) for c in _distinct(table, "county_code")]
    if only_county is not None and codes != [only_county.code]:
        others = [c for c in codes if c != only_county.code]
        raise QualityError(f"成绩文件中有其他县区的成绩(县区代码 {_listed(others)});"
                           f"此处只能导入{only_county.name}({only_county.code})的成绩")
    found: dict[str, OrgNode] = {}
    unknown = []
    for code in codes:
        try:
            found[code] = repo.county_by_code(session, code)
        except repo.CountyNotFound:
            unknown.append(code)
    if unknown:
        raise QualityError(f"成绩文件中有工作区没有的县区:县区代码 {_listed(unknown)};"
                           "请先导入这些县区的学校数据,或从成绩文件中删去它们的成绩")
    if access is not None:
        refused = [f"{c.name}({code})" for code, c in found.items() if not access.can_manage_county(c)]
        if refused:
            raise QualityAccessDenied(f"您不能导入{_listed(refused)}的成绩:只有本县区的县级管理员或系统管理员可以导入")
    return found


def _check_schools(session: Session, table: "ir.Table", counties: dict[str, OrgNode]) -> None:
    """Every school of the scores is a school of its county's roster (the pages name it)."""
    pairs = execute(table.select("county_code", "school_id").distinct())
    known = {(c, s) for c, s in session.execute(
        select(OrgNode.code, School.code).join(OrgNode, OrgNode.id == School.county_id)
        .where(OrgNode.id.in_([c.id for c in counties.values()]), School.deleted_at.is_(None)))}
    unknown = sorted(f"{r.school_id}({r.county_code})" for r in pairs.itertuples(index=False)
                     if (str(r.county_code), str(r.school_id)) not in known)
    if unknown:
        raise QualityError(f"成绩文件中有县区学校名单中没有的学校标识码:{_listed(unknown)};"
                           "学校标识码应与工作区学校名单一致(见学校页面)")


def _standard_of(county: OrgNode):
    return load_standard(county.standard or DEFAULT_STANDARD)


def _analyse_and_store(session: Session, table: "ir.Table", cuts: CutScores, counties: dict[str, OrgNode], *,
                       user: User | None, via: str, year: int | None, source_name: str,
                       sha256: str) -> ImportOutcome:
    by_standard: dict[str, list[str]] = {}
    for code, county in counties.items():
        std = _standard_of(county)
        if not std.indicators_of_kind("quality_monitoring"):
            raise QualityError(f"{county.name}({code})适用的标准“{std.name}”没有教育质量监测指标,不能导入成绩")
        by_standard.setdefault(std.id, []).append(code)
    results: dict[str, CountySubjectGrade] = {}
    settings_of: dict[str, QualitySettings] = {}
    year_table, chosen = one_year(table, year)  # refuses an empty table, several years without `year`
    with school_table(year_table, cuts).cache() as school:  # one per-school pass serves both
        for std_id, codes in by_standard.items():
            settings = QualitySettings.from_standard(load_standard(std_id))
            results.update(analyse_schools(school.filter(school.county_code.isin(codes)), cuts,
                                           settings=settings, year=chosen))
            settings_of.update({code: settings for code in codes})
        extras = _extras(year_table, school)
    rows = {str(r.county_code): int(r.n) for r in execute(
        year_table.group_by("county_code").aggregate(n=year_table.count())).itertuples(index=False)}

    outcome = ImportOutcome(year=chosen, results=dict(sorted(results.items())))
    changes: list[repo.Change] = []
    staged: list[tuple[OrgNode, dict, dict, list[str]]] = []
    for code, county in counties.items():
        if code not in rows:
            continue  # the file's other year only
        names = dict(session.execute(select(School.code, School.name).where(School.county_id == county.id, School.deleted_at.is_(None))).all())
        mine = {k: r for k, r in results.items() if r.county_code == code}
        stored, applied, notes = {}, {}, []
        for key, result in mine.items():
            entry = result.to_json()
            label = quality_subject(result.subject, result.grade)
            cut = cuts.get(result.subject, result.grade)
            entry.update(label=label, cut={"level_2": cut.level_2, "level_3": cut.level_3, "level_4": cut.level_4},
                         histogram=extras["county"].get(key), school_figures=extras["schools"].get(key, []))
            for school in [*entry["top_schools"], *entry["school_figures"]]:
                school["school_name"] = names.get(school["school_id"], school["school_id"])
            entry["applied"] = result.difference_rate is not None
            if result.difference_rate is None:
                notes.append(f"{label}:{result.reason or '无法计算校际差异率'};未写入质量监测结果")
            else:
                applied[label] = {"level": result.level, "inter_school_diff_rate": result.difference_rate}
                changes += _row_changes(session, county, chosen, label, applied[label])
            stored[key] = entry
        in_scores = len({s["school_id"] for e in stored.values() for s in e["school_figures"]})
        roster = len(names)
        notes.insert(0, f"成绩涉及本县区 {in_scores} 所学校(学校名单共 {roster} 所)")
        staged.append((county, stored, applied, notes))
    outcome.changes = len(changes)
    if changes:
        repo.apply(session, changes, user=user, via=via, note=f"由学生成绩计算(文件 {source_name})")
    for county, stored, applied, notes in staged:
        settings = settings_of[county.code]
        analysis = QualityAnalysis(
            county_id=county.id, year=chosen, source_name=source_name[:255], source_sha256=sha256,
            rows=rows[county.code], standard=_standard_of(county).id,
            settings={"method": settings.method, "confidence": settings.confidence,
                      "county_level": settings.county_level, "level_share": settings.level_share},
            cuts=[{"subject": c.subject, "grade": c.grade, "level_2": c.level_2, "level_3": c.level_3,
                   "level_4": c.level_4} for c in cuts.cuts], results=stored, applied=applied, notes=notes,
            computed_by=user.id if user else None, via=via)
        session.add(analysis)
        outcome.analyses.append(analysis)
        outcome.notes += [f"{county.name}:{n}" for n in notes]
    session.flush()
    return outcome


def _row_changes(session: Session, county: OrgNode, year: int, label: str, values: dict) -> list[repo.Change]:
    row = session.scalar(select(QualityRow).where(QualityRow.county_id == county.id, QualityRow.year == year,
                                                  QualityRow.subject == label))
    current = None if row is None or row.deleted else row
    key = f"{county.code}/{year}/{label}"
    out = []
    for name, new in values.items():
        old = getattr(current, name) if current is not None else None
        if old != new:
            out.append(repo.Change(entity="quality", key=key, county_code=county.code, field=name, old=old, new=new))
    return out


def _extras(scores: "ir.Table", school: "ir.Table") -> dict[str, dict]:
    """Per county × subject × grade: the county's histogram ({edges, counts}, HISTOGRAM_BINS equal
    bins from the lowest to the highest score) and every school's n, mean, level shares (from
    `school`, the analysis' per-school table) and counts in the same bins."""
    import ibis

    score = scores.score.cast("float64")
    bounds = scores.group_by(list(KEYS)).aggregate(low=score.min().floor(), high=score.max().ceil())
    joined = scores.join(bounds, list(KEYS))
    width = (joined.high - joined.low).nullif(0).fill_null(1) / HISTOGRAM_BINS
    bin_ = ibis.least(((joined.score.cast("float64") - joined.low) / width).floor().cast("int64"), HISTOGRAM_BINS - 1)
    with_bin = joined.mutate(bin=bin_)
    binned = with_bin.group_by([*KEYS, "school_id", "bin"]).aggregate(n=with_bin.count())
    bins = execute(binned)
    edges = {(str(r.county_code), str(r.subject), int(r.grade)): (float(r.low), float(r.high))
             for r in execute(bounds).itertuples(index=False)}
    school = execute(school)
    county_hist: dict[str, dict] = {}
    school_hist: dict[tuple, list[int]] = {}
    for r in bins.itertuples(index=False):
        key = (str(r.county_code), str(r.subject), int(r.grade))
        name = "/".join(map(str, key))
        if name not in county_hist:
            low, high = edges[key]
            step = (high - low) / HISTOGRAM_BINS if high > low else 1 / HISTOGRAM_BINS
            county_hist[name] = {"edges": [low + i * step for i in range(HISTOGRAM_BINS + 1)],
                                 "counts": [0] * HISTOGRAM_BINS}
        county_hist[name]["counts"][int(r.bin)] += int(r.n)
        school_hist.setdefault((*key, str(r.school_id)), [0] * HISTOGRAM_BINS)[int(r.bin)] += int(r.n)
    schools: dict[str, list[dict]] = {}
    for r in school.sort_values([*KEYS, "school_id"]).itertuples(index=False):
        key = (str(r.county_code), str(r.subject), int(r.grade))
        n = int(r.n)
        counts = {f"level_{lv}": int(getattr(r, f"count_{lv}")) for lv in (1, 2, 3, 4)}
        schools.setdefault("/".join(map(str, key)), []).append({
            "school_id": str(r.school_id), "students": n, "mean": float(r.school_mean),
            "level_shares": {col: counts[col] / n if n else 0.0 for col in SHARE_COLUMNS},
            "histogram": school_hist.get((*key, str(r.school_id)), [0] * HISTOGRAM_BINS)})
    return {"county": county_hist, "schools": schools}


def _keep_scores(backend, path: Path, year: int, codes: list[str]) -> None:
    """The pseudonymised scores of these counties and year replace theirs in the analytical store."""
    import duckdb

    con = backend.con
    columns = ", ".join(SCORES_COLUMNS)
    try:
        con.execute(f"ATTACH '{_sql_path(path)}' AS analytics")
    except duckdb.Error as exc:
        raise QualityError(f"无法打开工作区的分析库 {path.name}(可能正被另一次导入使用,请稍后再试):{exc}") from None
    try:
        con.execute("BEGIN")
        con.execute("CREATE TABLE IF NOT EXISTS analytics.scores AS SELECT * FROM scores WHERE false")
        con.execute("DELETE FROM analytics.scores WHERE CAST(year AS BIGINT) = ? AND county_code IN "
                    "(SELECT UNNEST(?::VARCHAR[]))", [year, codes])
        con.execute(f"INSERT INTO analytics.scores SELECT {columns} FROM scores WHERE CAST(year AS BIGINT) = ?", [year])
        con.execute("COMMIT")
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        raise QualityError(f"无法写入工作区的分析库 {path.name}:{exc}") from None
    finally:
        con.execute("DETACH analytics")


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def latest_analysis(session: Session, county: OrgNode, year: int) -> QualityAnalysis | None:
    """The newest analysis of the county-year (the one its pages, report and sources show)."""
    return session.scalar(select(QualityAnalysis).where(QualityAnalysis.county_id == county.id,
                                                        QualityAnalysis.year == year)
                          .order_by(QualityAnalysis.id.desc()).limit(1))


def analysis_years(session: Session, county: OrgNode) -> list[int]:
    return sorted(session.scalars(select(QualityAnalysis.year).where(QualityAnalysis.county_id == county.id)
                                  .distinct()).all(), reverse=True)


def analysis_json(analysis: QualityAnalysis, county: OrgNode) -> dict[str, Any]:
    """The stored analysis as the pages' and the API's JSON."""
    return {"id": analysis.id, "county_code": county.code, "county_name": county.name, "year": analysis.year,
            "source_name": analysis.source_name, "source_sha256": analysis.source_sha256, "rows": analysis.rows,
            "standard": analysis.standard, "settings": analysis.settings, "cuts": analysis.cuts,
            "results": analysis.results, "applied": analysis.applied, "notes": analysis.notes,
            "computed_at": analysis.computed_at.isoformat() if analysis.computed_at else None, "via": analysis.via}

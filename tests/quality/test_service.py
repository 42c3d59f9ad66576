"""Scores into a workspace (junheng.quality.service): the analysis is stored per county-year, the
quality rows (Q9) are written audited and named as computed in the evaluation, the pseudonymised
scores land in the analytical store, and every refusal leaves nothing behind (SQLite and
PostgreSQL)."""

from __future__ import annotations

import duckdb
import pytest
from sqlalchemy import func, select

import builders
from junheng.engine.evaluate import evaluate_dataset
from junheng.quality import QualityError
from junheng.quality.service import (
    QualityAccessDenied,
    analytics_path,
    import_scores,
    latest_analysis,
    quality_subject,
)
from junheng.store import repo
from junheng.store.models import AuditEntry, CountyYear, QualityAnalysis, QualityRow
from junheng.store.repo import StoreError
from junheng.store.users import Access, create_user
from junheng.workspace import Settings

HEADER = "county_code,school_id,year,grade,subject,student_key,score\n"
CUTS = "subject,grade,level_2,level_3,level_4\n数学,8,3,5,9\n语文,8,60,75,90\n"
# 数学 8 is the hand example of test_icc.py (ICC = 89/137) on schools J1, J2, N1
MATH = [("J1", "s1", 1), ("J1", "s2", 2), ("J1", "s3", 3), ("J2", "s4", 4), ("J2", "s5", 6), ("N1", "s6", 5),
        ("N1", "s7", 9)]
CHINESE = [("J1", "s1", 70), ("J1", "s2", 80), ("J2", "s4", 76), ("J2", "s5", 78), ("N1", "s6", 91), ("N1", "s7", 60)]


def _rows(county=builders.COUNTY, year=builders.YEAR, math=MATH, chinese=CHINESE):
    return ([f"{county},{school},{year},8,数学,{key},{score}" for school, key, score in math]
            + [f"{county},{school},{year},8,语文,{key},{score}" for school, key, score in chinese])


@pytest.fixture()
def workspace(tmp_path):
    settings = Settings(database_url="unused", secret_key="k" * 40, uploads=tmp_path / "uploads", root=tmp_path)
    cuts = tmp_path / "分数线.csv"
    cuts.write_text(CUTS, encoding="utf-8")
    return settings, cuts


def _scores(tmp_path, rows, name="成绩.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _seed(database, **kwargs):
    with database.session() as s:
        repo.import_dataset(s, builders.dataset(**kwargs), user=None, via="cli")


def _count(database, model):
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_an_import_stores_the_analysis_writes_q9_and_names_its_source(database, workspace, tmp_path):
    settings, cuts = workspace
    _seed(database, quality_rows=[])
    with database.session() as s:
        outcome = import_scores(s, settings, _scores(tmp_path, _rows()), cuts, user=None, via="cli")
        assert outcome.year == builders.YEAR and outcome.changes == 4
    with database.session() as s:
        rows = {r.subject: (r.level, r.inter_school_diff_rate) for r in s.scalars(select(QualityRow))}
        assert set(rows) == {"数学(八年级)", "语文(八年级)"}
        assert rows["数学(八年级)"][1] == pytest.approx(89 / 137, abs=1e-9)
        notes = [e.note for e in s.scalars(select(AuditEntry).where(AuditEntry.entity == "quality"))]
        assert len(notes) == 4 and all("成绩.csv" in n for n in notes)
        analysis = latest_analysis(s, repo.county_by_code(s, builders.COUNTY), builders.YEAR)
        math = analysis.results[f"{builders.COUNTY}/数学/8"]
        assert math["label"] == "数学(八年级)" and math["students"] == 7 and math["schools"] == 3
        assert math["icc"] == pytest.approx(89 / 137, abs=1e-9) and math["applied"] is True
        assert sum(math["histogram"]["counts"]) == 7 and len(math["histogram"]["edges"]) == 21
        assert [x["school_id"] for x in math["school_figures"]] == ["J1", "J2", "N1"]
        assert all(x["school_name"] for x in math["school_figures"] + math["top_schools"])
        assert sum(sum(x["histogram"]) for x in math["school_figures"]) == 7
        assert analysis.applied["数学(八年级)"]["inter_school_diff_rate"] == pytest.approx(89 / 137)
        assert "成绩涉及本县区 3 所学校(学校名单共 6 所)" in analysis.notes[0]
        result = evaluate_dataset(repo.load_dataset(s, approved_only=False))[0]
    q9 = next(i for i in result.areas.education_quality.indicators.values() if any(c.name == "数学(八年级)" for c in i.checks))
    source = q9.sources[f"quality/{quality_subject('数学', 8)}"]
    assert source.kind == "computed" and source.ref == f"quality-analysis:{analysis.id}"
    assert "成绩.csv" in source.label and "7 名学生" in source.label and "数据来源" in q9.explanation
    assert q9.met is False  # 0.65 is far above 0.15


def test_the_analytical_store_holds_pseudonyms_and_a_reimport_replaces_the_county_year(database, workspace, tmp_path):
    settings, cuts = workspace
    _seed(database, quality_rows=[])
    with database.session() as s:
        import_scores(s, settings, _scores(tmp_path, _rows()), cuts, user=None, via="cli")
    with database.session() as s:  # the same file again: nothing changes but a new analysis is kept
        assert import_scores(s, settings, _scores(tmp_path, _rows()), cuts, user=None, via="cli").changes == 0
    with duckdb.connect(str(analytics_path(settings)), read_only=True) as con:
        students = [r[0] for r in con.execute("SELECT student FROM scores").fetchall()]
        assert len(students) == len(MATH) + len(CHINESE)  # replaced, not appended
        assert not {"s1", "s2", "s6"} & set(students)
        by_key = con.execute("SELECT count(DISTINCT student) FROM scores WHERE school_id = 'J1'").fetchone()[0]
        assert by_key == 3  # s1, s2, s3: s1 and s2 keep one pseudonym across both subjects
    assert _count(database, QualityAnalysis) == 2


@pytest.mark.parametrize("rows, message", [
    (_rows(county="990099"), "工作区没有的县区"),
    (_rows(math=[*MATH, ("X9", "s8", 4)]), "学校名单中没有的学校标识码:X9"),
    (_rows(math=[(s, k, 4000) for s, k, _ in MATH]), "0 到 1000"),
])
def test_refusals_keep_nothing(database, workspace, tmp_path, rows, message):
    settings, cuts = workspace
    _seed(database, quality_rows=[])
    with database.session() as s, pytest.raises(Exception) as caught:
        import_scores(s, settings, _scores(tmp_path, rows), cuts, user=None, via="cli")
    assert message in caught.value.user_message()
    assert _count(database, QualityRow) == 0 and _count(database, QualityAnalysis) == 0
    assert not analytics_path(settings).exists()


def test_only_managed_counties_and_only_the_page_county(database, workspace, tmp_path):
    settings, cuts = workspace
    _seed(database, quality_rows=[])
    with database.session() as s:
        viewer = create_user(s, "kan", "Viewer-pass-2024", role="viewer", scope_code=builders.COUNTY)
        with pytest.raises(QualityAccessDenied, match="只有本县区的县级管理员"):
            import_scores(s, settings, _scores(tmp_path, _rows()), cuts, user=viewer, via="form",
                          access=Access.of(s, viewer))
    with database.session() as s:
        other = repo.county_by_code(s, builders.COUNTY)
        other.code = "990002"  # the page's county is another one than the file's
        with pytest.raises(QualityError, match="只能导入"):
            import_scores(s, settings, _scores(tmp_path, _rows()), cuts, user=None, via="form", only_county=other)
        s.rollback()
    assert _count(database, QualityAnalysis) == 0


def test_a_locked_county_year_refuses_the_import(database, workspace, tmp_path):
    settings, cuts = workspace
    _seed(database, quality_rows=[])
    with database.session() as s:
        s.scalars(select(CountyYear)).one().status = "approved"
    with database.session() as s, pytest.raises(StoreError):
        import_scores(s, settings, _scores(tmp_path, _rows()), cuts, user=None, via="cli")
    assert _count(database, QualityRow) == 0 and _count(database, QualityAnalysis) == 0


def test_a_typed_value_over_the_computed_one_is_marked_typed(database, workspace, tmp_path):
    settings, cuts = workspace
    _seed(database, quality_rows=[])
    with database.session() as s:
        import_scores(s, settings, _scores(tmp_path, _rows()), cuts, user=None, via="cli")
    key = f"{builders.COUNTY}/{builders.YEAR}/数学(八年级)"
    with database.session() as s:
        repo.apply(s, [repo.Change(entity="quality", key=key, county_code=builders.COUNTY,
                                   field="inter_school_diff_rate", old=None, new=0.1)], user=None, via="form")
    with database.session() as s:
        result = evaluate_dataset(repo.load_dataset(s, approved_only=False))[0]
    q9 = next(i for i in result.areas.education_quality.indicators.values() if any(c.name == "数学(八年级)" for c in i.checks))
    assert q9.sources["quality/数学(八年级)"].kind == "typed"
    assert q9.sources["quality/语文(八年级)"].kind == "computed"


def test_one_school_gives_no_rate_and_writes_no_row_for_that_subject(database, workspace, tmp_path):
    settings, cuts = workspace
    _seed(database, quality_rows=[])
    rows = _rows(chinese=[("J1", "s1", 70), ("J1", "s2", 80)])
    with database.session() as s:
        outcome = import_scores(s, settings, _scores(tmp_path, rows), cuts, user=None, via="cli")
        assert any("语文(八年级)" in n and "未写入" in n for n in outcome.notes)
    with database.session() as s:
        assert [r.subject for r in s.scalars(select(QualityRow))] == ["数学(八年级)"]

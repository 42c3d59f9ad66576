"""The survey's sampling plan: sizes, group quotas, per-school quotas and the locale split add up
exactly and follow the settings (junheng.survey.sampling)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from junheng.survey.groups import GROUPS
from junheng.survey.sampling import (
    SCHOOL_GROUPS,
    SamplingError,
    SchoolRow,
    apportion,
    make_plan,
    parse_locale_shares,
    schools_of_dataset,
)
from junheng.survey.settings import default_settings

SAMPLING = default_settings().sampling


def sampling(**changes):
    return SAMPLING.model_copy(update=changes)


ROSTER = [
    SchoolRow("s1", "城关一小", "primary", "urban", 1800, 0),
    SchoolRow("s2", "城关中学", "junior", "urban", 0, 1500),
    SchoolRow("s3", "镇中心校", "primary", "town", 900, 0),
    SchoolRow("t1", "河口教学点", "teaching_point", "rural", 40, 0, "s3"),
    SchoolRow("s4", "乡九年一贯制学校", "nine_year", "rural", 300, 200),
    SchoolRow("s5", "乡小学", "primary", "rural", 120, 0),
]


def plan(population=420_000, schools=ROSTER, settings=SAMPLING, **kw):
    return make_plan(county_code="990001", county_name="测试县", year=2024, population=population,
                     schools=schools, settings=settings, **kw)


# ---------------------------------------------------------------- sizes and groups


def test_total_is_per_mille_of_the_population_rounded_up():
    assert plan(420_000).total == 630  # 420000 × 1.5‰
    assert plan(420_001).total == 631  # 630.0015 → 631
    assert plan(1_000_000, settings=sampling(per_mille=2.0)).total == 2000


def test_small_county_gets_the_minimum():
    assert plan(100_000).total == 600  # 150 < 600
    assert plan(399_999).total == 600
    assert plan(100_000, settings=sampling(minimum=800)).total == 800


def test_parents_at_least_half_and_the_others_even_except_principals():
    p = plan(420_000)
    assert p.groups["parents"] == 315
    assert sum(p.groups.values()) == p.total == 630
    # 5 schools (the teaching point counts with its central school): 5 principals at most
    assert p.groups["principals"] == 5
    assert [p.groups[g] for g in ("students", "teachers", "npc_deputies", "cppcc_members", "public")] == [62] * 5
    assert any("校长每校 1 人" in n and "5 所" in n for n in p.notes)


def test_parents_share_is_a_setting_and_rounds_up():
    p = plan(420_001, settings=sampling(parents_min_share=0.6))
    assert p.groups["parents"] == math.ceil(0.6 * 631) == 379
    assert sum(p.groups.values()) == 631


def test_without_the_principals_cap_the_rest_is_split_evenly_in_group_order():
    many = [SchoolRow(f"x{i}", f"学校{i}", "primary", "town", 100 + i, 0) for i in range(200)]
    p = plan(420_000, schools=many)
    rest = [p.groups[g] for g in GROUPS if g != "parents"]
    assert sum(rest) == 315 and max(rest) - min(rest) <= 1
    assert rest == [53, 53, 53, 52, 52, 52]  # 315 = 6 × 52 + 3: the first three get one more


def test_groups_left_out_by_the_settings_get_nothing():
    p = plan(420_000, settings=sampling(groups=["parents", "students", "teachers", "public"]))
    assert p.groups["principals"] == p.groups["npc_deputies"] == p.groups["cppcc_members"] == 0
    assert p.groups["parents"] == 315 and p.groups["students"] + p.groups["teachers"] + p.groups["public"] == 315
    assert all(s.quotas["principals"] == 0 for s in p.schools)
    assert any("不调查" in n and "人大代表" in n for n in p.notes)


# ---------------------------------------------------------------- schools


def test_teaching_point_counts_with_its_central_school():
    p = plan()
    ids = [s.school_id for s in p.schools]
    assert "t1" not in ids
    central = next(s for s in p.schools if s.school_id == "s3")
    assert central.students == 940 and central.teaching_points == [("t1", "河口教学点")]
    assert any("教学点并入所属中心校" in n for n in p.notes)


def test_a_teaching_point_without_its_central_school_stands_alone():
    rows = [*ROSTER[:3], SchoolRow("t9", "孤立教学点", "teaching_point", "rural", 30, 0)]
    p = plan(schools=rows)
    assert "t9" in [s.school_id for s in p.schools]
    assert any("孤立教学点" in n and "未填所属中心校" in n for n in p.notes)


def test_school_quotas_are_proportional_to_students():
    p = plan()  # locale split by the students (no shares given): one proportional pass
    assert p.locale_basis == "students"
    by_id = {s.school_id: s for s in p.schools}
    students = {k: s.students for k, s in by_id.items()}
    total_students = sum(students.values())
    for group in ("parents", "teachers"):
        for k, s in by_id.items():
            exact = Fraction(p.groups[group] * students[k], total_students)
            assert abs(s.quotas[group] - exact) < 1, (group, k)
    # 315 parents over 1800, 1500, 940, 500, 120 pupils (4860)
    assert by_id["s1"].quotas["parents"] == 117
    assert sum(s.quotas["parents"] for s in p.schools) == 315


def test_every_school_gets_a_parent_when_the_total_allows():
    rows = [SchoolRow("big", "大学校", "primary", "urban", 100_000, 0),
            *[SchoolRow(f"t{i}", f"小学校{i}", "primary", "rural", 5, 0) for i in range(20)]]
    p = plan(schools=rows)
    assert all(s.quotas["parents"] >= 1 for s in p.schools)
    assert sum(s.quotas["parents"] for s in p.schools) == p.groups["parents"]
    # without the floor the small schools would get 0 (315 × 5 / 100100 ≈ 0.016)
    small = [s for s in p.schools if s.school_id != "big"]
    assert all(s.quotas["parents"] == 1 for s in small)


def test_students_from_the_first_sampled_grade_and_split_over_bands():
    p = plan()
    primary = next(s for s in p.schools if s.school_id == "s1")  # 1800 pupils, grades 1–6
    assert primary.eligible_students == pytest.approx(1200)  # grades 3–6: 4/6
    nine = next(s for s in p.schools if s.school_id == "s4")
    assert nine.eligible_students == pytest.approx(300 * 4 / 6 + 200)
    assert [b.label for b in p.grade_bands] == ["小学(3–6 年级)", "初中(7–9 年级)"]
    for s in p.schools:
        assert sum(s.grade_bands.values()) == s.quotas["students"]
    # 200 pupils in grades 3–6 (300 × 4/6) and 200 in grades 7–9: the quota halves (the odd one to the first)
    n = nine.quotas["students"]
    assert nine.grade_bands == {"小学(3–6 年级)": n - n // 2, "初中(7–9 年级)": n // 2}
    assert any("3 年级起" in n for n in p.notes)


def test_grade_four_and_narrower_bands_from_the_settings():
    bands = [{"label": "中年级", "first": 3, "last": 4}, {"label": "高年级", "first": 5, "last": 6},
             {"label": "初中", "first": 7, "last": 9}]
    p = plan(settings=sampling(student_min_grade=4, grade_bands=bands))
    assert [b.label for b in p.grade_bands] == ["中年级(4 年级)", "高年级(5–6 年级)", "初中(7–9 年级)"]
    primary = next(s for s in p.schools if s.school_id == "s1")
    assert primary.eligible_students == pytest.approx(900)  # grades 4–6
    assert any("4 年级起" in n for n in p.notes)


def test_bands_must_cover_the_sampled_grades():
    with pytest.raises(SamplingError, match="不重不漏"):
        plan(settings=sampling(grade_bands=[{"label": "小学", "first": 3, "last": 6}]))


# ---------------------------------------------------------------- locales


def test_locale_shares_follow_the_population_when_given():
    p = plan(locale_shares={"urban": 0.3, "town": 0.3, "rural": 0.4})
    assert p.locale_basis == "population"
    for group in ("parents", "teachers"):
        size = p.groups[group]
        for locale, share in (("urban", 0.3), ("town", 0.3), ("rural", 0.4)):
            assert abs(p.locales[locale][group] - size * share) < 1 + len(p.schools), (group, locale)
    parents = {k: v["parents"] for k, v in p.locales.items()}
    assert parents == {"urban": 95, "town": 94, "rural": 126}  # 315 × 0.3 / 0.3 / 0.4 by largest remainder
    assert sum(p.public_by_locale.values()) == p.groups["public"]
    assert any("常住人口城乡比例" in n for n in p.notes)


def test_without_shares_the_students_stand_in_and_the_plan_says_so():
    p = plan()
    assert p.locale_basis == "students"
    assert p.locale_shares["urban"] == pytest.approx(3300 / 4860)
    assert any("以在校生的城乡分布代替" in n for n in p.notes)


def test_settings_can_turn_the_population_shares_off():
    p = plan(settings=sampling(urban_rural_by_population=False), locale_shares={"urban": 0.1, "town": 0.1, "rural": 0.8})
    assert p.locale_basis == "students"
    assert any("urban_rural_by_population" in n for n in p.notes)


def test_a_locale_without_schools_gives_its_share_to_the_others():
    rows = [r for r in ROSTER if r.locale != "town" and r.school_id != "t1"]
    p = plan(schools=rows, locale_shares={"urban": 0.5, "town": 0.2, "rural": 0.3})
    assert set(p.locales) == {"urban", "rural"}
    assert p.locale_shares == {"urban": pytest.approx(0.625), "rural": pytest.approx(0.375)}
    assert any("没有镇区学校" in n for n in p.notes)


def test_schools_without_a_locale_are_a_bucket_of_their_own():
    rows = [*ROSTER, SchoolRow("u1", "未分类学校", "primary", None, 500, 0)]
    p = plan(schools=rows, locale_shares={"urban": 0.3, "town": 0.3, "rural": 0.4})
    assert "unknown" in p.locales and p.locales["unknown"]["parents"] >= 1
    assert any("未填城乡分类" in n and "未分类学校" in n for n in p.notes)


def test_locale_shares_text():
    assert parse_locale_shares("urban=0.3,town=0.3,rural=0.4") == pytest.approx({"urban": 0.3, "town": 0.3, "rural": 0.4})
    assert parse_locale_shares("城区=30,镇区=30,乡村=40") == pytest.approx({"urban": 0.3, "town": 0.3, "rural": 0.4})
    assert parse_locale_shares("urban=1") == pytest.approx({"urban": 1.0, "town": 0.0, "rural": 0.0})
    for bad in ("urban=0.3,town=0.3", "city=0.5,rural=0.5", "urban=abc,rural=1", "urban=-1,rural=2",
                "urban=0.5,urban=0.5"):
        with pytest.raises(SamplingError, match="城乡比例"):
            parse_locale_shares(bad)


# ---------------------------------------------------------------- errors


def test_missing_population_names_the_field_and_where_to_enter_it():
    with pytest.raises(SamplingError) as caught:
        plan(population=None)
    message = caught.value.user_message()
    assert "常住人口" in message and "resident_population" in message
    assert "县区名录" in message and "--population" in message


@pytest.mark.parametrize("population", [0, -5, 10**9, 12.5])
def test_population_out_of_range(population):
    with pytest.raises(SamplingError, match="常住人口"):
        plan(population=population)


def test_no_students_is_a_chinese_error():
    rows = [SchoolRow("s1", "空学校", "primary", "urban", 0, 0)]
    with pytest.raises(SamplingError, match="没有学校的在校生数"):
        plan(schools=rows)


def test_bad_student_count_names_the_school():
    with pytest.raises(SamplingError, match="城关一小.*students_primary"):
        plan(schools=[{"school_id": "s1", "school_name": "城关一小", "locale": "urban", "students_primary": "很多"}])


def test_duplicate_school_ids():
    with pytest.raises(SamplingError, match="重复.*s1"):
        plan(schools=[ROSTER[0], ROSTER[0]])


# ---------------------------------------------------------------- JSON and quota rows


def test_json_and_quota_rows_add_up():
    p = plan(locale_shares={"urban": 0.3, "town": 0.3, "rural": 0.4})
    doc = p.to_json()
    assert doc["total"] == 630 and doc["groups"] == p.groups
    assert sum(s["total"] for s in doc["schools"]) + sum(doc["county_wide"].values()) == 630
    rows = p.quota_rows()
    assert sum(n for _, _, n in rows) == 630
    assert {g for g, school, _ in rows if school is None} == {"npc_deputies", "cppcc_members", "public"}
    assert all(school is not None for g, school, _ in rows if g in SCHOOL_GROUPS)


def test_from_a_dataset():
    from builders import COUNTY, YEAR, dataset as build, school, school_year

    data = build([school("A", "primary", locale="urban"), school("B", "junior", locale="rural")],
                 [school_year("A", "primary", students=600), school_year("B", "junior", students=300)])
    rows = schools_of_dataset(data, COUNTY, YEAR)
    assert {r.school_id: r.students_primary + r.students_junior for r in rows} == {"A": 600, "B": 300}
    assert {r.locale for r in rows} == {"urban", "rural"}
    assert schools_of_dataset(data, COUNTY, YEAR + 5)[0].students_primary == 0


# ---------------------------------------------------------------- apportionment


def test_apportion_largest_remainder():
    assert apportion(10, [1, 1, 1]) == [4, 3, 3]
    assert apportion(7, [5, 3, 2]) == [4, 2, 1]  # 3.5, 2.1, 1.4 → 3,2,1 + 1 to the largest remainder
    assert apportion(6, [100, 1, 1], floors=[1, 1, 1]) == [4, 1, 1]
    assert apportion(6, [1, 1, 1], caps=[1, None, None]) == [1, 3, 2]  # 5 left for two: the tie to the earlier
    assert apportion(0, [1, 2]) == [0, 0]
    assert apportion(3, [0, 0, 0]) == [1, 1, 1]


# ---------------------------------------------------------------- properties

locales = st.sampled_from(["urban", "town", "rural", None])
school_rows = st.lists(
    st.tuples(st.sampled_from(["primary", "junior", "nine_year", "teaching_point"]), locales,
              st.integers(0, 3000), st.integers(0, 2000), st.booleans()),
    min_size=1, max_size=60)


def _roster(raw):
    rows = []
    for i, (kind, locale, primary, junior, attach) in enumerate(raw):
        junior = junior if kind in ("junior", "nine_year") else 0
        primary = primary if kind != "junior" else 0
        parent = "p0" if kind == "teaching_point" and attach and i else None
        rows.append(SchoolRow(f"p{i}", f"学校{i}", kind if i else "primary", locale, primary, junior, parent))
    return rows


shares = st.one_of(st.none(), st.tuples(st.integers(0, 10), st.integers(0, 10), st.integers(1, 10)).map(
    lambda t: {"urban": t[0] / sum(t), "town": t[1] / sum(t), "rural": t[2] / sum(t)}))


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=school_rows, population=st.integers(1, 5_000_000), locale_shares=shares,
       per_mille=st.sampled_from([1.0, 1.5, 2.0, 3.0]), minimum=st.integers(50, 1200),
       parents_share=st.sampled_from([0.3, 0.5, 0.6, 0.75]), min_grade=st.sampled_from([3, 4]))
def test_quotas_always_add_up(raw, population, locale_shares, per_mille, minimum, parents_share, min_grade):
    rows = _roster(raw)
    if sum(r.students_primary + r.students_junior for r in rows) == 0:
        rows[0] = SchoolRow("p0", "学校0", "primary", "urban", 100, 0)
    p = plan(population, rows, sampling(per_mille=per_mille, minimum=minimum, parents_min_share=parents_share,
                                        student_min_grade=min_grade), locale_shares=locale_shares)
    assert p.total == max(minimum, math.ceil(population * per_mille / 1000 - 1e-9))
    assert sum(p.groups.values()) == p.total
    assert p.groups["parents"] >= parents_share * p.total
    assert all(v >= 0 for v in p.groups.values())
    for g in SCHOOL_GROUPS:
        assert sum(s.quotas[g] for s in p.schools) == p.groups[g], g
        assert sum(p.locales[b][g] for b in p.locales) == p.groups[g]
        assert all(s.quotas[g] >= 0 for s in p.schools)
    assert sum(p.public_by_locale.values()) == p.groups["public"]
    assert all(s.quotas["principals"] <= 1 for s in p.schools)
    for s in p.schools:
        assert sum(s.grade_bands.values()) == s.quotas["students"]
        assert all(v >= 0 for v in s.grade_bands.values())
    if p.groups["parents"] >= len(p.schools):
        assert all(s.quotas["parents"] >= 1 for s in p.schools)
    others = [p.groups[g] for g in GROUPS if g not in ("parents", "principals")]
    assert max(others) - min(others) <= 1
    assert sum(n for _, _, n in p.quota_rows()) == p.total


@hsettings(max_examples=150, deadline=None)
@given(raw=school_rows, population=st.integers(100_000, 3_000_000))
def test_per_school_quotas_within_one_of_the_exact_share(raw, population):
    """With the students' own locale split, each school's quota is within 1 of its exact
    proportional share (for the parents: of the share left after the schools raised to one)."""
    rows = _roster(raw)
    if sum(r.students_primary + r.students_junior for r in rows) == 0:
        rows[0] = SchoolRow("p0", "学校0", "primary", "urban", 100, 0)
    p = plan(population, rows)
    students = [s.students for s in p.schools]
    for group in ("teachers", "students", "parents"):
        weights = [Fraction(s.eligible_students).limit_denominator(6) if group == "students" else Fraction(n)
                   for s, n in zip(p.schools, students)]
        size = p.groups[group]
        raised: set[int] = set()
        if group == "parents" and size >= len(p.schools):  # the floor of one parent per school
            while True:
                rest = [i for i in range(len(weights)) if i not in raised]
                w = sum(weights[i] for i in rest)
                low = {i for i in rest if (size - len(raised)) * weights[i] / w < 1}
                if not low:
                    break
                raised |= low
        rest = [i for i in range(len(weights)) if i not in raised]
        w = sum(weights[i] for i in rest)
        for i in rest:
            exact = (size - len(raised)) * weights[i] / w
            assert abs(p.schools[i].quotas[group] - exact) < 1, (group, i)
        for i in raised:
            assert p.schools[i].quotas[group] == 1


@hsettings(max_examples=100, deadline=None)
@given(raw=school_rows, locale_shares=shares.filter(lambda s: s is not None))
def test_locale_totals_follow_the_given_shares(raw, locale_shares):
    rows = _roster(raw)
    if sum(r.students_primary + r.students_junior for r in rows) == 0:
        rows[0] = SchoolRow("p0", "学校0", "primary", "urban", 100, 0)
    p = plan(420_000, rows, locale_shares=locale_shares)
    if p.locale_basis != "population":
        return
    for group in ("teachers", "students"):
        for bucket, share in p.locale_shares.items():
            assert abs(p.locales[bucket][group] - p.groups[group] * share) < 1 + 1e-9, (group, bucket)

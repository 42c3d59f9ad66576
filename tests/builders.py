"""Small hand-made datasets for tests: a county where everything passes, to break one thing at a time.

Every school row meets every threshold of national-2017 comfortably; tests override fields.
"""

from __future__ import annotations

import pandas as pd

from junheng.data.dataset import Dataset

COUNTY = "990001"
YEAR = 2024

# Per-student resources comfortably above every threshold of both segments.
PER_STUDENT = {"teaching_aux_area": 8.0, "sports_area": 12.0, "equipment_value": 3000.0}
PER_HUNDRED = {"teachers_above_qual": 8, "backbone_teachers": 2, "pe_art_teachers": 2, "multimedia_classrooms": 3}

SEGMENTS_OF = {
    "primary": ("primary",), "junior": ("junior",), "nine_year": ("primary", "junior"),
    "twelve_year": ("primary", "junior", "senior"), "complete_middle": ("junior", "senior"),
    "teaching_point": ("primary",), "special": ("primary",),
}


def school(school_id: str, school_type: str = "primary", **fields) -> dict:
    row = {"school_id": school_id, "school_name": f"测试学校{school_id}", "county_code": COUNTY,
           "county_name": "测试县", "school_type": school_type, "locale": "town", "ownership": "public"}
    row.update({k: v for k, v in fields.items() if k in SCHOOL_KEYS})
    return row


SCHOOL_KEYS = {"school_name", "county_code", "county_name", "locale", "ownership", "boarding", "parent_school_id",
               "build_year", "rural_small", "high_density_city"}


def school_year(school_id: str, school_type: str = "primary", students: int = 1000, year: int = YEAR,
                **overrides) -> dict:
    """A school-year row that passes everything; `students` per compulsory segment it has."""
    segs = SEGMENTS_OF[school_type]
    counts = {seg: (students if seg != "senior" else 0) for seg in segs}
    counts.update({seg: overrides.pop(f"students_{seg}") for seg in ("primary", "junior", "senior")
                   if f"students_{seg}" in overrides})
    total = sum(counts.values())
    row: dict = {"school_id": school_id, "year": year}
    for seg in ("primary", "junior", "senior"):
        if seg in segs:
            row[f"students_{seg}"] = counts[seg]
    classes_total = 0
    for seg in ("primary", "junior"):
        if seg not in segs:
            continue
        n = counts[seg]
        classes = max(1, -(-n // 40))
        classes_total += classes
        teachers = max(1, n * 10 // 100)
        row |= {
            f"classes_{seg}": classes, f"max_class_size_{seg}": 40, f"oversize_classes_{seg}": 0,
            f"teachers_{seg}": teachers, f"certified_teachers_{seg}": teachers,
            f"teachers_above_qual_{seg}": -(-n * PER_HUNDRED["teachers_above_qual"] // 100),
            f"backbone_teachers_{seg}": -(-n * PER_HUNDRED["backbone_teachers"] // 100),
            f"pe_art_teachers_{seg}": -(-n * PER_HUNDRED["pe_art_teachers"] // 100),
        }
    weighted = total * 1.32  # generous: enough for any split
    row |= {key: value * weighted for key, value in PER_STUDENT.items()}
    row["multimedia_classrooms"] = -(-int(weighted) * PER_HUNDRED["multimedia_classrooms"] // 100)
    rooms = max(1, -(-classes_total // 12))
    row |= {"music_rooms": rooms, "music_room_min_area": 100.0, "art_rooms": rooms, "art_room_min_area": 95.0,
            "public_funds": 1_000_000.0, "training_funds": 60_000.0, "has_charter": True, "moral_rating": "good"}
    row.update(overrides)
    return row


def county_year(year: int = YEAR, **overrides) -> dict:
    row = {
        "county_code": COUNTY, "year": year, "layout_reasonable": True, "four_unified": True,
        "small_school_funding_ok": True, "special_ed_funding_per_student": 7000.0, "teacher_avg_salary": 9000.0,
        "civil_servant_avg_salary": 8500.0, "training_completion_rate": 100.0, "staffing_coordinated": True,
        "rotation_eligible_teachers": 500, "rotated_teachers": 60, "rotated_backbone_teachers": 15,
        "nearby_enrollment_rate_urban": 100.0, "nearby_enrollment_rate_town": 98.0, "hs_quota_ratio": 55.0,
        "hs_quota_rural_tilt": True, "left_behind_care": True, "migrant_public_ratio": 92.0,
        "junior_consolidation_rate": 98.0, "disabled_enrollment_rate": 97.0, "informatization": True,
        "teachers_ict_proficient": True, "curriculum_complete": True, "no_excess_burden": True,
        "social_recognition_rate": 90.0, "veto_exam_admission": False, "veto_school_choice": False,
        "veto_key_schools": False, "veto_major_incident": False, "veto_fraud": False,
    }
    row.update(overrides)
    return row


def quality(year: int = YEAR, rows: list[tuple[str, int, float]] | None = None) -> list[dict]:
    rows = rows or [("语文", 3, 0.10), ("数学", 4, 0.12), ("科学", 3, 0.08)]
    return [{"county_code": COUNTY, "year": year, "subject": s, "level": lv, "inter_school_diff_rate": r}
            for s, lv, r in rows]


def default_schools() -> list[tuple[str, str]]:
    return [("P1", "primary"), ("P2", "primary"), ("P3", "primary"), ("J1", "junior"), ("J2", "junior"),
            ("N1", "nine_year")]


def dataset(schools: list[dict] | None = None, school_years: list[dict] | None = None,
            county_years: list[dict] | None = None, quality_rows: list[dict] | None = None,
            counties: list[dict] | None = None) -> Dataset:
    if schools is None:
        schools = [school(i, t) for i, t in default_schools()]
    if school_years is None:
        school_years = [school_year(s["school_id"], s["school_type"]) for s in schools]
    frames = {
        "schools": pd.DataFrame(schools),
        "school_year": pd.DataFrame(school_years),
        "county_year": pd.DataFrame(county_years if county_years is not None else [county_year()]),
        "quality": pd.DataFrame(quality_rows if quality_rows is not None else quality()),
    }
    if counties is not None:
        frames["counties"] = pd.DataFrame(counties)
    return Dataset.from_frames(source="tests", **frames)


def passing_rows(overrides: dict[str, dict] | None = None) -> tuple[list[dict], list[dict]]:
    """The default schools and their rows, with per-school overrides of school_year fields."""
    overrides = overrides or {}
    schools = [school(i, t) for i, t in default_schools()]
    years = [school_year(s["school_id"], s["school_type"], **overrides.get(s["school_id"], {})) for s in schools]
    return schools, years


def junheng_command() -> str:
    """The installed `junheng` console script beside this interpreter."""
    import shutil
    import sys
    from pathlib import Path

    script = Path(sys.executable).with_name("junheng")
    found = str(script) if script.exists() else shutil.which("junheng")
    assert found, "the junheng command is not installed in the virtualenv"
    return found


def run_junheng(*arguments: str, cwd=None):
    """Run the real command as a user would (a fresh process: the entry point's error handling)."""
    import os
    import subprocess

    env = {**os.environ, "COLUMNS": "250"}  # wide enough that table cells do not wrap words apart
    return subprocess.run([junheng_command(), *arguments], capture_output=True, text=True, encoding="utf-8",
                          check=False, timeout=300, cwd=cwd, env=env)


_ASCII_MARKS = str.maketrans({"\uff0c": ",", "\uff1a": ":", "\uff1b": ";", "\uff08": "(", "\uff09": ")", "\uff1f": "?",
                              "\uff01": "!"})


def plain(text: str) -> str:
    """A page's text with its Chinese punctuation written back in ASCII: pages typeset their
    text (junheng.typography), tests compare the words."""
    return text.translate(_ASCII_MARKS)


# A small county for basic-2012 (the 2012 基本均衡 standard), computed by hand in
# tests/engine/test_basic_2012.py: per school its type and school-year values. The nine-year
# school has 100 primary and 100 junior pupils, so its school-wide facilities split 100 : 110.
BASIC_2012_SCHOOLS = {
    "P1": dict(school_type="primary", students_primary=100, teaching_aux_area=500.0, sports_area=800.0,
               equipment_value=100_000.0, computers=10, books=2000, teachers_primary=6,
               teachers_above_qual_primary=5, mid_title_teachers_primary=3),
    "P2": dict(school_type="primary", students_primary=200, teaching_aux_area=1200.0, sports_area=1400.0,
               equipment_value=150_000.0, computers=15, books=3000, teachers_primary=11,
               teachers_above_qual_primary=8, mid_title_teachers_primary=6),
    "N1": dict(school_type="nine_year", students_primary=100, students_junior=100, teaching_aux_area=1050.0,
               sports_area=2100.0, equipment_value=210_000.0, computers=21, books=4200, teachers_primary=6,
               teachers_junior=8, teachers_above_qual_primary=5, teachers_above_qual_junior=7,
               mid_title_teachers_primary=2, mid_title_teachers_junior=5),
    "J1": dict(school_type="junior", students_junior=300, teaching_aux_area=2400.0, sports_area=3000.0,
               equipment_value=600_000.0, computers=30, books=9000, teachers_junior=25,
               teachers_above_qual_junior=22, mid_title_teachers_junior=15),
}
# J1 with almost no books, computers and buildings: the junior composite CV goes over 0.55.
BASIC_2012_UNEQUAL_J1 = dict(books=30, computers=1, teaching_aux_area=100.0, sports_area=100.0)


def basic_2012_rows(code: str = COUNTY, prefix: str = "", county_name: str | None = None,
                    j1: dict | None = None, **county_fields) -> tuple[list[dict], list[dict], dict]:
    """(schools, school_year rows, county_year row) of the basic-2012 county; `prefix` the school
    ids, `county_name` names the county and its schools ("名称P1学校"), `j1` overrides J1's values."""
    schools, years = [], []
    for sid, spec in BASIC_2012_SCHOOLS.items():
        fields = {k: v for k, v in spec.items() if k != "school_type"} | ((j1 or {}) if sid == "J1" else {})
        named = dict(county_code=code, county_name=county_name, school_name=f"{county_name}{sid}学校") \
            if county_name else {}
        schools.append(school(f"{prefix}{sid}", spec["school_type"], **named))
        years.append({"school_id": f"{prefix}{sid}", "year": YEAR, **fields})
    row = {"county_code": code, "year": YEAR, "basic_gov_score": 90.0, "basic_schools_standard_met": True,
           "public_satisfaction_rate": 93.5} | county_fields
    return schools, years, row


def basic_2012_dataset(j1: dict | None = None, **county_fields) -> Dataset:
    schools, years, row = basic_2012_rows(j1=j1, **county_fields)
    return dataset(schools, years, county_years=[row], quality_rows=[])

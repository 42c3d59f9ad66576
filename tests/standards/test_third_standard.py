"""A third standard is a new file and nothing else: a standard with its own ids, areas, CV rule
and items, written to a file no code knows, evaluates, explains and reports through the same
engine and faces."""

from __future__ import annotations

import json

import builders
from junheng.data.writer import write_dataset_csv
from junheng.engine.evaluate import evaluate_dataset
from junheng.standards.loader import load_standard_file

THIRD = """\
id: county-pilot
name: 某县义务教育办学条件试点评估(示例)
source: 测试用的第三个标准
areas:
  resource_allocation: {label: 办学条件}
  social_recognition: {label: 群众评价}
segments: {primary: 小学, junior: 初中}
units:
  school_types: {primary: [primary], junior: [junior], nine_year: [primary, junior]}
split_weights: {primary: 1.0, junior: 1.1}
per_school_rule: {min_met: 1, floor_ratio: 0.5}
cv_limits: {primary: 0.6, junior: 0.6}
indicators:
  PC1:
    name: 每百名学生教学用计算机台数
    area: resource_allocation
    level: unit
    unit: 台
    thresholds: {primary: 5, junior: 8}
    rule: {kind: per_student, resource: computers, source: shared, scale: 100, gap_unit: 台, gap_integer: true, gap_label: 教学用计算机}
    responsible: [教体局]
  PC2:
    name: 生均图书册数
    area: resource_allocation
    level: unit
    unit: 册
    thresholds: {primary: 25, junior: 35}
    rule: {kind: per_student, resource: books, source: shared, scale: 1, gap_unit: 册, gap_integer: true, gap_label: 图书}
    responsible: [教体局]
  PS1:
    name: 公众满意度达到80%
    area: social_recognition
    level: county
    rule:
      kind: county_checks
      checks:
        rate: {field: public_satisfaction_rate, op: ">=", threshold: 80, unit: "%"}
    responsible: [教体局]
"""


def pilot_dataset(satisfaction: float = 88.0):
    schools = [builders.school("P1"), builders.school("J1", "junior")]
    years = [{"school_id": "P1", "year": builders.YEAR, "students_primary": 200, "computers": 14, "books": 6000},
             {"school_id": "J1", "year": builders.YEAR, "students_junior": 300, "computers": 30, "books": 12000}]
    county = {"county_code": builders.COUNTY, "year": builders.YEAR, "public_satisfaction_rate": satisfaction}
    return builders.dataset(schools, years, county_years=[county], quality_rows=[])


def write_standard(tmp_path):
    path = tmp_path / "county-pilot.yaml"
    path.write_text(THIRD, "utf-8")
    return path


def test_a_new_standard_file_evaluates_with_its_own_items(tmp_path):
    std = load_standard_file(write_standard(tmp_path))
    [result] = evaluate_dataset(pilot_dataset(), standard=std)
    data = result.to_json()
    assert list(data["areas"]) == ["resource_allocation", "social_recognition"]
    assert data["areas"]["resource_allocation"]["label"] == "办学条件"
    [unit] = [u for u in data["areas"]["resource_allocation"]["units"] if u["school_id"] == "P1"]
    assert set(unit["indicators"]) == {"PC1", "PC2"}
    assert unit["indicators"]["PC1"]["value"] == 100 * 14 / 200  # 7 台 per hundred pupils
    assert data["areas"]["social_recognition"]["indicators"]["PS1"]["met"] is True
    assert result.verdict == "pass"
    [unhappy] = evaluate_dataset(pilot_dataset(satisfaction=70.0), standard=std)
    assert unhappy.verdict == "fail" and unhappy.failing_items() == ["PS1"]


def test_the_cli_evaluates_and_explains_a_new_standard_file(tmp_path):
    standard = write_standard(tmp_path)
    folder = tmp_path / "dataset"
    folder.mkdir()
    write_dataset_csv(pilot_dataset(satisfaction=70.0), folder)
    shown = builders.run_junheng("evaluate", str(folder), "--standard", str(standard), "-c", builders.COUNTY,
                                 "-y", str(builders.YEAR))
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "Traceback" not in shown.stdout + shown.stderr
    out = builders.plain(shown.stdout)
    assert "办学条件" in out and "群众评价" in out and "每百名学生教学用计算机台数" in out
    assert "PS1" in out and "资源配置" not in out and "政府保障程度" not in out
    as_json = builders.run_junheng("evaluate", str(folder), "--standard", str(standard), "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    document = document[0] if isinstance(document, list) else document
    assert document["standard"] == "county-pilot" and document["verdict"] == "fail"

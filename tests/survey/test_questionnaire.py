"""Questionnaires and survey settings as data: the defaults, validation in Chinese naming file, key
and line, freezing, and the county's own copies."""

from __future__ import annotations

import pytest
import yaml

from builders import run_junheng
from junheng.survey.groups import GROUPS
from junheng.survey.questionnaire import (
    DEFAULTS_DIR,
    Questionnaire,
    default_questionnaires,
    load_questionnaire,
    write_defaults,
)
from junheng.survey.settings import SurveyFileError, SurveySettings, load_settings


def society() -> dict:
    return yaml.safe_load((DEFAULTS_DIR / "society.yaml").read_text("utf-8"))


def write(tmp_path, data, name="mine.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def refused(path, loader=load_questionnaire) -> str:
    with pytest.raises(SurveyFileError) as caught:
        loader(path)
    return caught.value.user_message()


def test_the_default_questionnaires_cover_every_group_and_topic():
    found = default_questionnaires()
    assert set(found) == {"society", "staff", "students"}
    assert set(found["society"].audiences) == {"parents", "npc_deputies", "cppcc_members", "public"}
    assert set(found["staff"].audiences) == {"principals", "teachers"}
    assert found["students"].audiences == ["students"]
    assert sorted(g for q in found.values() for g in q.audiences) == sorted(GROUPS)
    topics = {"立德树人", "教育公平政策", "优质资源共享", "投入与保障", "规范办学", "素质教育", "考试与评价改革", "教育质量", "减负"}
    for q in found.values():
        assert 8 <= len(q.items) <= 12, q.id
        assert q.options == ["满意", "比较满意", "基本满意", "不满意", "不了解"]
        assert q.recognising == ["满意", "比较满意", "基本满意"] and q.excluded == ["不了解"]
        unscored = [item for item in q.items if not item.scored]
        assert len(unscored) == 1 and unscored[0] is q.identity_item
        assert set(q.identity_item.groups.values()) == set(q.audiences)
        assert {item.topic for item in q.scored_items} == topics, q.id


def test_outcome_of_each_kind_of_answer():
    q = default_questionnaires()["society"]
    assert [q.outcome(o) for o in ("满意", "比较满意", "基本满意", "不满意", "不了解")] == [1, 1, 1, 0, None]
    assert q.outcome(None) is None and q.outcome("") is None and q.outcome("(跳过)") is None
    assert q.outcome(" 满意 ") == 1
    with pytest.raises(ValueError, match="“很好”不是问卷"):
        q.outcome("很好")


def test_frozen_round_trip_and_a_later_edit_does_not_change_it(tmp_path):
    q = default_questionnaires()["staff"]
    frozen = q.frozen()
    assert frozen["version"] == "2026.1" and frozen["items"][0]["groups"] == {"校长": "principals", "教师": "teachers"}
    assert Questionnaire.from_frozen(frozen) == q
    frozen["items"][1]["id"] = frozen["items"][2]["id"]  # a damaged stored copy is refused like a file
    with pytest.raises(SurveyFileError, match="重复"):
        Questionnaire.from_frozen(frozen)


def test_duplicate_item_ids_are_named_with_file_key_and_line(tmp_path):
    data = society()
    data["items"][3]["id"] = data["items"][2]["id"]
    message = refused(write(tmp_path, data))
    assert "mine.yaml" in message and "items.3.id" in message and "题目标识 equity_policy 重复" in message
    assert "行" in message


@pytest.mark.parametrize("change,fragments", [
    (lambda d: d.update(recognising=["满意", "很满意"]), ["recognising", "“很满意”不是选项"]),
    (lambda d: d.update(excluded=["不知道"]), ["excluded", "“不知道”不是选项"]),
    (lambda d: d.update(excluded=["满意"]), ["excluded", "既计为认可又不计入分母"]),
    (lambda d: d.update(audiences=["parents", "aliens"]), ["audiences", "未知的人员类别 aliens"]),
    (lambda d: d.update(options=[f"选项{i}" for i in range(21)]), ["options", "最多 20 项"]),
    (lambda d: d["items"].extend([{"id": f"x{i}", "text": "题", "topic": "减负"} for i in range(200)]),
     ["items", "最多 200 项"]),
    (lambda d: d["items"][1].update(text="长" * 501), ["items.1.text", "最多 500 个字"]),
    (lambda d: d["items"][1].update(colour="red"), ["items.1.colour", "未知的键"]),
    (lambda d: d.pop("version"), ["version", "缺少必填的键"]),
    (lambda d: d["items"][0]["groups"].update(家长="aliens"), ["items.0.groups", "aliens"]),
    (lambda d: d["items"][0]["groups"].update(学生="students"), ["items.0.groups", "“学生”不是本题的选项"]),
    (lambda d: [i.update(scored=False) for i in d["items"][1:]], ["没有计分的题目"]),
])
def test_a_malformed_questionnaire_is_refused_in_chinese(tmp_path, change, fragments):
    data = society()
    change(data)
    message = refused(write(tmp_path, data))
    assert "mine.yaml" in message
    for fragment in fragments:
        assert fragment in message, message


def test_unreadable_files_are_refused(tmp_path):
    assert "文件不存在" in refused(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("id: [unclosed", "utf-8")
    assert "不是合法的 YAML" in refused(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n", "utf-8")
    assert "键值映射" in refused(tmp_path / "list.yaml")
    (tmp_path / "big.yaml").write_text("# " + "x" * (1024 * 1024 + 10), "utf-8")
    assert "文件过大" in refused(tmp_path / "big.yaml")


def test_a_county_copy_is_written_loaded_and_not_overwritten(tmp_path):
    written = write_defaults(tmp_path / "问卷")
    assert sorted(p.name for p in written) == ["society.yaml", "staff.yaml", "students.yaml"]
    assert "# 社会问卷" in written[0].read_text("utf-8")  # the comments explain the file to the county
    own = load_questionnaire(written[0])
    assert own == default_questionnaires()["society"]
    with pytest.raises(SurveyFileError, match="--force"):
        write_defaults(tmp_path / "问卷")
    assert len(write_defaults(tmp_path / "问卷", overwrite=True)) == 3


def test_the_questionnaire_command(tmp_path):
    result = run_junheng("survey", "questionnaire", "--out", str(tmp_path / "q"))
    assert result.returncode == 0, result.stderr
    assert "已写出问卷" in result.stdout and (tmp_path / "q" / "students.yaml").is_file()
    again = run_junheng("survey", "questionnaire", "--out", str(tmp_path / "q"))
    assert again.returncode == 1 and "--force" in again.stderr and "Traceback" not in again.stderr


def test_default_settings_hold_every_number_of_the_practice():
    s = load_settings()
    assert s.scale.recognising == ["满意", "比较满意", "基本满意"] and s.scale.excluded == ["不了解"]
    assert (s.sampling.per_mille, s.sampling.minimum, s.sampling.parents_min_share, s.sampling.student_min_grade) == \
        (1.5, 600, 0.5, 3)
    assert (s.checks.min_seconds_per_item, s.checks.straight_lining, s.checks.exclude_flagged) == (2.0, False, True)
    assert s.scoring.group_weights is None and s.scoring.confidence == 0.95
    assert SurveySettings.from_frozen(s.frozen()) == s


def test_a_county_settings_file_overrides_key_by_key(tmp_path):
    path = write(tmp_path, {"checks": {"min_seconds_per_item": 3}, "scale": {
        "options": ["满意", "基本满意", "不满意"], "recognising": ["满意", "基本满意"], "excluded": []},
        "scoring": {"group_weights": {"parents": 0.6, "students": 0.4}}}, "settings.yaml")
    s = load_settings(path)
    assert s.checks.min_seconds_per_item == 3 and s.checks.exclude_flagged is True
    assert s.scale.options == ["满意", "基本满意", "不满意"] and s.scale.excluded == []
    assert s.scoring.group_weights == {"parents": 0.6, "students": 0.4} and s.sampling.minimum == 600


@pytest.mark.parametrize("data,fragments", [
    ({"checks": {"min_seconds_per_item": -1}}, ["checks.min_seconds_per_item", "超出范围"]),
    ({"checks": {"speed": 1}}, ["checks.speed", "未知的键"]),
    ({"scale": {"recognising": ["很满意"]}}, ["scale.recognising", "“很满意”不是选项"]),
    ({"scoring": {"group_weights": {"aliens": 1}}}, ["scoring.group_weights", "未知的人员类别 aliens"]),
    ({"scoring": {"confidence": 1.5}}, ["scoring.confidence", "超出范围"]),
    ({"sampling": {"grade_bands": [{"label": "x", "first": 7, "last": 3}]}}, ["sampling.grade_bands.0", "大于"]),
])
def test_a_bad_settings_file_is_refused_naming_file_and_key(tmp_path, data, fragments):
    message = refused(write(tmp_path, data, "settings.yaml"), load_settings)
    assert "settings.yaml" in message
    for fragment in fragments:
        assert fragment in message, message

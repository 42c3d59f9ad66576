"""Warning rules are data: the default file, a county file extending it, and malformed files
refused with the file, the rule, the line and the reason in Chinese (also by `junheng watch`)."""

from pathlib import Path

import pytest

import builders
from junheng.monitor.rules import RulesError, builtin_dir, check_rules_dir, load_rules_file, rules_for


def test_the_default_rules_cover_every_kind():
    rules = rules_for()
    kinds = {r.kind for r in rules.rules.values()}
    assert kinds == {"breach", "margin", "decline", "forecast", "data_missing", "data_jump", "task", "schedule"}
    assert rules.rules["margin"].within == 0.05
    assert rules.rules["breach"].severity == "red" and rules.forecast.horizon_years == 5
    assert check_rules_dir(None) == sorted(builtin_dir().glob("*.yaml"))


def test_a_county_file_extends_the_default(tmp_path):
    folder = tmp_path / "monitor-rules"
    folder.mkdir()
    (folder / "990001.yaml").write_text(
        "extends: default\n"
        "name: 测试县预警规则\n"
        "rules:\n"
        "  margin: {within: 0.10}\n"
        "  data_jump: {enabled: false}\n"
        "  r5_watch:\n"
        "    kind: margin\n"
        "    label: 体育场地重点关注\n"
        "    severity: orange\n"
        "    within: 0.20\n"
        "    indicators: [R5]\n", encoding="utf-8")
    rules = rules_for("990001", "national-2017", folder)
    assert rules.name == "测试县预警规则" and rules.id == "990001"
    assert rules.rules["margin"].within == 0.10 and rules.rules["margin"].severity == "yellow"  # merged key by key
    assert "data_jump" not in rules.enabled() and rules.rules["r5_watch"].indicators == ("R5",)
    assert rules.files[0].endswith("990001.yaml") and rules.files[1].endswith("default.yaml")
    assert rules_for("990002", "national-2017", folder).rules["margin"].within == 0.05  # other counties: default
    # a workspace default.yaml may extend the built-in default
    (folder / "default.yaml").write_text("extends: default\nrules:\n  margin: {within: 0.08}\n", encoding="utf-8")
    assert rules_for("990002", None, folder).rules["margin"].within == 0.08


@pytest.mark.parametrize("text, expected", [
    ("extends: default\nrules:\n  margin: {withn: 0.1}\n",
     ["990001.yaml 第3行 规则 margin 键 rules.margin.withn:未知的键(拼写错误?)"]),
    ("extends: default\nrules:\n  breach: {severity: purple}\n",
     ["第3行 规则 breach 键 rules.breach.severity:预警级别 'purple' 无效;可用:red(红)、orange(橙)、yellow(黄)"]),
    ("extends: default\nrules:\n  mine: {kind: magic, label: x, severity: red}\n",
     ["规则 mine 键 rules.mine:规则类型 kind 无效"]),
    ("extends: default\nrules:\n  margin: {within: 1.5}\n  task_deadline: {due_within_days: -2}\n",
     ["第3行 规则 margin 键 rules.margin.within:取值 1.5 超出范围(应小于 1)",
      "第4行 规则 task_deadline 键 rules.task_deadline.due_within_days:取值 -2 超出范围(应不小于 0)"]),
    ("extends: default\nrules:\n  decline: {indicators: [R5, R99]}\n",
     ["第3行 规则 decline 键 rules.decline.indicators:未知的指标标识 R99"]),
    ("extends: default\nrules:\n  data_not_approved: {due: \"13-40\"}\n",
     ["规则 data_not_approved 键 rules.data_not_approved.due:截止日期 '13-40' 无效"]),
    ("extends: default\nrules:\n  data_jump:\n    fields: {sport_area: {drop: 0.3}}\n",
     ["规则 data_jump 键 rules.data_jump.fields.sport_area:学校年度数据中没有这个数值字段"]),
    ("extends: default\nrules:\n  margin: [oops\n", ["990001.yaml 第4行:不是合法的 YAML"]),
    ("extends: nowhere\n", ["990001.yaml 第1行 键 extends:找不到被继承的规则文件“nowhere”"]),
])
def test_malformed_rules_are_refused_with_file_rule_and_reason(tmp_path, text, expected):
    path = tmp_path / "990001.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules_file(path)
    message = caught.value.user_message()
    assert message.startswith("预警规则文件有误,未执行任何预警")
    for part in expected:
        assert part in message, message


def test_watch_refuses_malformed_rules_before_touching_anything(tmp_path):
    folder = tmp_path / "monitor-rules"
    folder.mkdir()
    (folder / "990001.yaml").write_text("extends: default\nrules:\n  margin: {within: -1}\n", encoding="utf-8")
    (folder / "shanxi.yaml").write_text("extends: default\nrules:\n  schedule_behind: {slack_items: many}\n",
                                        encoding="utf-8")
    done = builders.run_junheng("watch", "--workspace", str(tmp_path))
    assert done.returncode == 1
    err = done.stderr
    assert "预警规则文件有误,未执行任何预警" in err
    assert f"{Path(folder, '990001.yaml')} 第3行 规则 margin 键 rules.margin.within:取值 -1" in err
    assert "shanxi.yaml 第3行 规则 schedule_behind 键 rules.schedule_behind.slack_items:应为数字,实际为 'many'" in err
    assert "Traceback" not in err and not (tmp_path / "junheng.db").exists()

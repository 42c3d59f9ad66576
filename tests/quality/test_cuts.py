"""Cut score files (junheng.quality.cuts): CSV (keys or Chinese headers, UTF-8 or GB18030) and
YAML read the same; every problem is named with file, row and column, and nothing is returned."""

from __future__ import annotations

import pytest

from junheng.quality import QualityError
from junheng.quality.cuts import MAX_BYTES, Cut, CutScores, read_cuts

GOOD = [Cut("数学", 8, 40.0, 60.0, 85.0), Cut("语文", 8, 45.0, 65.0, 88.5)]


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _error(path) -> str:
    with pytest.raises(QualityError) as caught:
        read_cuts(path)
    return caught.value.user_message()


def test_csv_with_keys_or_chinese_headers_and_yaml_read_the_same(tmp_path):
    keys = _write(tmp_path, "keys.csv", "subject,grade,level_2,level_3,level_4\n数学,8,40,60,85\n语文,8,45,65,88.5\n")
    labels = _write(tmp_path, "labels.csv", "学科,年级,Ⅱ级,Ⅲ级,Ⅳ级\n数学,8,40,60,85\n\n语文,8,45,65,88.5\n",
                    encoding="gb18030")
    bom = _write(tmp_path, "bom.csv", "\ufeff学科,年级,二级,三级,四级\n数学,8,40,60,85\n语文,8,45,65,88.5\n")
    listed = _write(tmp_path, "cuts.yaml", "- {subject: 数学, grade: 8, level_2: 40, level_3: 60, level_4: 85}\n"
                                          "- {学科: 语文, 年级: 8, Ⅱ级: 45, Ⅲ级: 65, Ⅳ级: 88.5}\n")
    under = _write(tmp_path, "under.yml", "cuts:\n  - {subject: 数学, grade: 8, level_2: 40, level_3: 60, level_4: 85}\n"
                                          "  - {subject: 语文, grade: 8, level_2: 45, level_3: 65, level_4: 88.5}\n")
    for path in (keys, labels, bom, listed, under):
        cuts = read_cuts(path)
        assert list(cuts.cuts) == GOOD, path.name
        assert cuts.source == path.name


@pytest.mark.parametrize("row,fragments", [
    ("数学,8,60,60,85", ["第 2 行", "Ⅱ级 < Ⅲ级 < Ⅳ级", "60、60、85"]),
    ("数学,8,70,60,85", ["第 2 行", "Ⅱ级 < Ⅲ级 < Ⅳ级"]),
    ("数学,8,nan,60,85", ["第 2 行", "列“Ⅱ级”(level_2)", "取值“nan”无效", "0 到 1000"]),
    ("数学,8,40,inf,85", ["第 2 行", "列“Ⅲ级”(level_3)", "取值“inf”无效"]),
    ("数学,8,40,60,1e6", ["列“Ⅳ级”(level_4)", "取值“1e6”无效"]),
    ("数学,8,-1,60,85", ["列“Ⅱ级”(level_2)", "取值“-1”无效"]),
    ("数学,八,40,60,85", ["列“年级”(grade)", "取值“八”无效", "1 到 9 的整数"]),
    ("数学,8.5,40,60,85", ["列“年级”(grade)", "取值“8.5”无效"]),
    ("数学,12,40,60,85", ["列“年级”(grade)", "取值“12”无效"]),
    (",8,40,60,85", ["列“学科”(subject)", "不能为空"]),
    ("数/学,8,40,60,85", ["列“学科”(subject)", "不能含“/”"]),
    ("数学,8,40,60,85,99", ["第 2 行", "多于表头"]),
])
def test_a_bad_row_is_named_by_file_row_and_column(tmp_path, row, fragments):
    path = _write(tmp_path, "分数线.csv", "subject,grade,level_2,level_3,level_4\n" + row + "\n")
    message = _error(path)
    assert "分数线.csv" in message
    for fragment in fragments:
        assert fragment in message, message


def test_every_problem_is_listed_at_once(tmp_path):
    path = _write(tmp_path, "cuts.csv", "subject,grade,level_2,level_3,level_4\n数学,8,40,60,85\n"
                                        "数学,8,41,61,86\n语文,x,40,60,85\n英语,8,90,60,30\n")
    message = _error(path)
    assert "第 3 行:数学 8 年级的分数线与第 2 行重复" in message
    assert "第 4 行 列“年级”(grade)" in message
    assert "第 5 行:分数线应满足" in message


def test_headers_unknown_missing_or_repeated_are_refused(tmp_path):
    message = _error(_write(tmp_path, "h.csv", "subject,grade,level_2,level_3,备注\n数学,8,40,60,x\n"))
    assert "第 1 行 列“备注”:未知的列" in message and "缺少列“Ⅳ级”(level_4)" in message
    message = _error(_write(tmp_path, "r.csv", "subject,学科,grade,level_2,level_3,level_4\n"))
    assert "列“学科”:重复的列" in message
    assert "是空的" in _error(_write(tmp_path, "e.csv", ""))
    assert "没有任何分数线" in _error(_write(tmp_path, "n.csv", "subject,grade,level_2,level_3,level_4\n"))


def test_yaml_problems_are_named_by_entry_and_key(tmp_path):
    message = _error(_write(tmp_path, "c.yaml", "- {subject: 数学, grade: 8, level_2: 40, level_3: 60}\n"
                                               "- {subject: 语文, grade: 8, level_2: 40, level_3: 60, level_4: 85,"
                                               " note: x}\n- 7\n"))
    assert "第 1 条:缺少 Ⅳ级(level_4)" in message
    assert "第 2 条 键“note”:未知的键" in message
    assert "第 3 条:应为键值映射" in message
    message = _error(_write(tmp_path, "d.yaml", "- {subject: 数学, grade: 8, level_2: .nan, level_3: 60, level_4: 85}\n"
                                               "- {subject: 数学, grade: 8, level_2: true, level_3: 60, level_4: 85}\n"))
    assert "第 1 条 列“Ⅱ级”(level_2)" in message and "第 2 条 列“Ⅱ级”(level_2)" in message
    assert "应为一个列表" in _error(_write(tmp_path, "m.yaml", "subject: 数学\n"))
    assert "不是合法的 YAML" in _error(_write(tmp_path, "bad.yaml", "- [unclosed\n"))
    alias = "- &a {subject: 数学, grade: 8, level_2: 40, level_3: 60, level_4: 85}\n- *a\n"
    assert "别名" in _error(_write(tmp_path, "alias.yaml", alias))  # read through junheng.safe_yaml


def test_files_are_bounded_and_typed(tmp_path):
    big = _write(tmp_path, "big.csv", "subject,grade,level_2,level_3,level_4\n" + "x" * (MAX_BYTES + 1))
    assert "过大" in _error(big)
    assert ".csv、.yaml 或 .yml" in _error(_write(tmp_path, "cuts.xlsx", "x"))
    assert "无法读取" in _error(tmp_path / "missing.csv")


def test_cuts_built_in_code_are_checked_too():
    with pytest.raises(QualityError, match="Ⅱ级 < Ⅲ级 < Ⅳ级"):
        CutScores((Cut("数学", 8, 60.0, 50.0, 85.0),))
    with pytest.raises(QualityError, match="重复"):
        CutScores((GOOD[0], GOOD[0]))

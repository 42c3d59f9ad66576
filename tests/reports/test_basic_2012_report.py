"""The county self-evaluation report follows the result's own standard (issue 13): under
basic-2012 it reports 校际均衡 with B1–B8 (values only, no per-school rule), per segment the
eight CVs and the 综合差异系数 against its limit, BG1/BG2, the public satisfaction marked
不参与判定, and nothing of national-2017 (R1…, 社会认可度, 一票否决, the 6-of-7 rule)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from test_basic_2012_faces import UNEQUAL_JUNIOR, county

from junheng.engine.evaluate import evaluate_dataset
from junheng.reports.county import build_county_report
from junheng.reports.render_html import render_html
from junheng.standards.loader import load_standard

BASIC = load_standard("basic-2012")


def report_text(dataset) -> str:
    [result] = evaluate_dataset(dataset, standard=BASIC)
    page = render_html(build_county_report(result, None, with_charts=False, generated=date(2026, 12, 1)))
    page = page.decode() if isinstance(page, bytes) else page
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)), result


@pytest.mark.parametrize("j1", [None, UNEQUAL_JUNIOR])
def test_the_county_report_under_basic_2012(j1):
    text, result = report_text(county(j1))
    assert "义务教育均衡发展自评报告" in text and "优质均衡发展自评报告" not in text
    for ind in BASIC.indicators.values():
        assert ind.name in text, ind.id
    for word in ("R1", "社会认可度", "教育质量", "一票否决", "7项", "/7", "达标项数"):
        assert word not in text, word
    assert "两个方面自评结论" in text and "公众满意度" in text and "不参与判定" in text
    for segment, c in result.resource.composite_cv.items():
        assert f"{c.value:.3f}" in text and f"{c.limit:.2f}" in text
    if j1:
        assert "综合差异系数超过上限的学段各项差异系数及主要来源" in text

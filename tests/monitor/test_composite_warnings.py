"""Monitoring watches basic-2012's 综合差异系数: a segment's composite over its limit is a breach
(its single CVs carry no limit, so without it nothing would warn), named without internal codes."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import builders

from junheng.engine.evaluate import evaluate_dataset
from junheng.monitor.detect import CountyContext, detect_breach, detect_margin
from junheng.monitor.observe import observations
from junheng.monitor.rules import BreachRule, MarginRule
from junheng.monitor.series import series_rows
from junheng.standards.loader import load_standard

BASIC = load_standard("basic-2012")


def basic_result(j1=None):
    dataset = builders.basic_2012_dataset(j1=j1)
    [result] = evaluate_dataset(dataset, standard=BASIC)
    return result, dataset


def context(result, dataset) -> CountyContext:
    county = SimpleNamespace(code=result.county_code, name="测试县")
    return CountyContext(session=None, county=county, standard=BASIC, rules=None, today=date(2025, 1, 1),
                         dataset=dataset, results={result.year: result})


def test_each_segment_has_a_composite_observation():
    result, _ = basic_result()
    found = [o for o in observations(result, BASIC) if o.level == "composite_cv"]
    assert {o.segment for o in found} == {"primary", "junior"}
    junior = next(o for o in found if o.segment == "junior")
    assert junior.value == result.resource.composite_cv["junior"].value and junior.threshold == 0.55
    assert junior.met is True and junior.indicator is None
    assert "教体局" in junior.responsible


def test_a_composite_over_its_limit_is_a_breach_without_internal_codes():
    result, dataset = basic_result(j1=builders.BASIC_2012_UNEQUAL_J1)
    assert result.resource.composite_cv["junior"].met is False
    conditions = detect_breach(context(result, dataset), "breach", BreachRule(kind="breach", label="指标未达标",
                                                                                severity="red"))
    [composite] = [c for c in conditions if c.numbers.get("level") == "composite_cv"]
    assert composite.title == "全县初中综合差异系数未达标"
    assert "None" not in composite.title + composite.message and "resource_allocation" not in composite.message
    assert f"{result.resource.composite_cv['junior'].value:.3f}" in composite.message
    assert "0.55" in composite.message and composite.segment == "junior"


def test_a_composite_near_its_limit_is_a_margin_warning():
    result, dataset = basic_result()
    # 0.123 against 0.65: 81% of the limit to spare, inside a (wide) 90% margin, outside a 5% one
    wide = MarginRule(kind="margin", label="指标接近达标线", severity="yellow", within=0.9)
    narrow = MarginRule(kind="margin", label="指标接近达标线", severity="yellow", within=0.05)
    ctx = context(result, dataset)

    def composites(rule):
        return [c for c in detect_margin(ctx, "margin", rule)
                if c.numbers.get("level") == "composite_cv" and c.segment == "primary"]

    [primary] = composites(wide)
    assert primary.title == "全县小学综合差异系数接近达标线"
    assert composites(narrow) == []


def test_trend_rows_carry_the_composite():
    result, dataset = basic_result()
    rows = series_rows([result], dataset, levels={"composite_cv"})
    assert {r["segment"] for r in rows} == {"primary", "junior"}


def test_the_trend_table_lists_the_composite_as_a_county_row():
    from junheng.monitor.series import trend_view

    first, dataset = basic_result()
    later, _ = basic_result(j1=builders.BASIC_2012_UNEQUAL_J1)
    later = later.model_copy(update={"year": first.year + 1})
    rows = series_rows([first], dataset) + [dict(r, year=first.year + 1)
                                            for r in series_rows([later], dataset)]
    view = trend_view(rows)
    [junior] = [c for c in view["changes"] if c["level"] == "composite_cv" and c["segment"] == "junior"]
    assert junior["direction"] == "worse" and junior["indicator"] is None and junior["where"] == "全县初中"

"""Terminal views of the standards (`junheng standards list|show`)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from junheng.data.catalog import catalog
from junheng.standards.loader import all_standards
from junheng.standards.model import Indicator, Standard

SEGMENTS = {"primary": "小学", "junior": "初中"}


def print_standard_list(console: Console) -> None:
    table = Table(title="内置评估标准", title_justify="left")
    for col in ("标识", "名称", "继承自", "依据"):
        table.add_column(col, overflow="fold")
    for std in all_standards():
        table.add_row(*map(Text, (std.id, std.name, std.extends or "—", std.source)))
    console.print(table)
    console.print("查看某个标准的全部指标:junheng standards show 标识")


def field_label(key: str) -> str:
    for table in ("county_year", "school_year"):
        try:
            return catalog().table(table).field(key).label
        except KeyError:
            continue
    return key


def rule_text(ind: Indicator) -> str:
    """The indicator's requirement in words, from its rule's parameters."""
    rule = ind.rule
    match rule.kind:
        case "per_student":
            if not ind.thresholds:  # no per-school rule: the values enter the CVs only
                return "计算校际差异系数(不逐校判定)"
            return ";".join(f"{SEGMENTS.get(s, s)} ≥ {v:g}" for s, v in ind.thresholds.items())
        case "county_checks" | "school_checks":
            parts = []
            for check in list(rule.checks.values()) + list(getattr(rule, "county_checks", {}).values()):
                label = check.label or field_label(check.field)
                if check.op == "is_true":
                    parts.append(f"{label}:是")
                elif check.op == "in":  # enum keys read as their labels: 优秀或良好, never excellent/good
                    parts.append(f"{label}:{'或'.join(catalog().enum_label(check.field, v) for v in check.values)}")
                elif check.ref_field:
                    parts.append(f"{label} {check.op} {field_label(check.ref_field)}")
                else:
                    parts.append(f"{label} {check.op} {check.threshold:g}{check.unit or ''}")
            return ";".join(parts)
        case "school_rooms":
            rooms = ",".join(f"{r.label}≥{r.min_area:g}m²" for r in rule.rooms.values())
            return f"每{rule.classes_per_room}个班至少1间;{rooms}"
        case "school_size":  # keyed by school type
            return ";".join(f"{catalog().school_type_label(k)} ≤ {v} 人" for k, v in rule.limits.items())
        case "class_size":  # keyed by segment
            return ";".join(f"{catalog().segment_label(k)} ≤ {v} 人" for k, v in rule.limits.items())
        case "teacher_certification":
            return f"持证上岗率 ≥ {rule.threshold:g}%"
        case "quality_monitoring":
            return f"各学科学业水平 ≥ {rule.min_level} 级,校际差异率 < {rule.max_diff_rate:g}"
    return rule.kind


def resource_rules_text(std: Standard) -> str:
    """How the standard judges its unit-level indicators, in one sentence: the CV limits (or the
    composite's) and the per-school rule, when it has one."""
    if std.composite_cv:
        limits = ";".join(f"{SEGMENTS.get(s, s)} ≤ {v:g}" for s, v in std.composite_cv_limits.items())
        text = f"综合差异系数(各项校际差异系数的平均值)上限:{limits}"
    else:
        limits = ";".join(f"{SEGMENTS.get(s, s)} ≤ {v:g}" for s, v in (std.cv_limits or {}).items())
        text = f"校际差异系数上限:{limits}"
    rule = std.per_school_rule
    if rule is None:
        return text + ";不逐校判定"
    return text + f";每所学校至少 {rule.min_met} 项达标,其余不低于达标值的 {rule.floor_ratio:.0%}"


def print_standard(console: Console, std: Standard) -> None:
    console.print(f"[bold]{std.name}[/]({std.id})" + (f",继承自 {std.extends}" if std.extends else ""), highlight=False)
    console.print(f"依据:{std.source}", highlight=False)
    console.print(resource_rules_text(std), highlight=False)
    weights = ":".join(f"{w:g}" for w in std.split_weights.values())
    console.print(f"一贯制学校设施按学生数折算,权重 小学:初中:高中 = {weights}", highlight=False)
    for exclusion in std.units.exclusions.values():
        console.print(f"不纳入资源配置评估:{exclusion.label}", highlight=False)
    for area in std.areas:
        table = Table(title=std.area_label(area), title_justify="left", show_lines=True)
        for col in ("指标", "名称", "要求", "责任单位"):
            table.add_column(col, overflow="fold")
        for ind in std.by_area(area):
            table.add_row(*map(Text, (ind.id, ind.name, rule_text(ind), "、".join(ind.responsible))))
        console.print(table)
    enabled = std.enabled_allowances()
    if std.allowances:
        table = Table(title="放宽条款", title_justify="left")
        for col in ("标识", "指标", "内容", "状态"):
            table.add_column(col, overflow="fold")
        for key, a in std.allowances.items():
            table.add_row(*map(Text, (key, a.indicator, a.label, "启用" if key in enabled else "未启用")))
        console.print(table)
    if std.veto:
        console.print("一票否决事项:" + "、".join(std.veto.values()), highlight=False)
    for reported in std.reported.values():
        console.print(f"报告(不参与判定):{reported.label}", highlight=False)

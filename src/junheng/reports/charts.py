"""Charts of the reports as PNG images (matplotlib, object API: no global pyplot state).

Chinese labels need a CJK font. It is looked for in this order: the file named by the
environment variable JUNHENG_CJK_FONT; a known CJK family matplotlib already knows (Noto Sans
CJK SC from Debian's fonts-noto-cjk first); the usual font files of Debian, Fedora, Arch, macOS
and Windows; finally any font fontconfig lists for zh-cn (`fc-list :lang=zh-cn`). When none is
found the report fails with a message that says how to install one, instead of drawing tofu
boxes.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

from junheng.engine.result import EvaluationResult
from junheng.errors import JunhengError
from junheng.reports.xlsx import (
    indicator_name,
    indicator_unit,
    r_threshold,
    segment_label,
    segments_of,
)

PREFERRED_FAMILIES = (
    "Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "Noto Sans SC", "Microsoft YaHei", "SimHei",
    "PingFang SC", "Hiragino Sans GB", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Sans CJK JP",
)
KNOWN_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian, Ubuntu (fonts-noto-cjk)
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)
INSTALL_HINT = ("请先安装中文字体:在 Debian/Ubuntu 上运行 scripts/install-system-deps.sh(安装 fonts-noto-cjk),"
                "或设置环境变量 JUNHENG_CJK_FONT 指向一个中文字体文件(.ttf/.otf/.ttc)。")

BLUE, ORANGE, RED, GREEN, GREY, AMBER = "#4472C4", "#ED7D31", "#C00000", "#548235", "#7F7F7F", "#BF8F00"
SEGMENT_COLOURS = {"primary": "#4472C4", "junior": "#70AD47"}
DPI = 200
CM = 1 / 2.54


class ChartFontMissing(JunhengError):
    pass


def _font_manager():
    from matplotlib import font_manager

    return font_manager


def _family_of(path: str) -> str:
    fm = _font_manager()
    fm.fontManager.addfont(path)
    return fm.FontProperties(fname=path).get_name()


def _fontconfig_files() -> list[str]:
    if not shutil.which("fc-list"):
        return []
    try:
        listed = subprocess.run(["fc-list", ":lang=zh-cn", "file"], capture_output=True, text=True, timeout=30,
                                check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    files = sorted({line.split(":")[0].strip() for line in listed.splitlines() if line.strip()})
    return [f for f in files if f.lower().endswith((".ttf", ".otf", ".ttc"))]


@cache
def cjk_font_family() -> str:
    """The font family the charts use; raises ChartFontMissing with install instructions."""
    fm = _font_manager()
    configured = os.environ.get("JUNHENG_CJK_FONT")
    if configured:
        if not Path(configured).is_file():
            raise ChartFontMissing(f"环境变量 JUNHENG_CJK_FONT 指向的字体文件 {configured} 不存在。{INSTALL_HINT}")
        return _family_of(configured)
    known = {f.name for f in fm.fontManager.ttflist}
    for family in PREFERRED_FAMILIES:
        if family in known:
            return family
    # Fonts installed after matplotlib built its font cache are not in it: add them by file.
    for path in [*KNOWN_FILES, *_fontconfig_files()]:
        if Path(path).is_file():
            try:
                family = _family_of(path)
            except (OSError, RuntimeError, ValueError):
                continue
            known = {f.name for f in fm.fontManager.ttflist}
            return next((f for f in PREFERRED_FAMILIES if f in known), family)
    raise ChartFontMissing(f"未找到可用于图表的中文字体,无法生成报告中的图表。{INSTALL_HINT}")


def _figure(width_cm: float, height_cm: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    family = cjk_font_family()
    fig = Figure(figsize=(width_cm * CM, height_cm * CM), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, family


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _style_axes(ax, family: str) -> None:
    for label in ax.get_xticklabels() + ax.get_yticklabels():
        label.set_fontfamily(family)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=7)


def _font(family: str, size: float = 8.0) -> dict:
    return {"family": family, "size": size}


def unit_label_on_top(ax, text: str, family: str) -> None:
    """The value axis's unit written horizontally above the axis (never rotated), left-aligned
    with it, so it reads like the rest of the chart."""
    if not text:
        return
    ax.set_ylabel(text, fontdict=_font(family, 8), rotation=0, ha="left", va="bottom")
    ax.yaxis.set_label_coords(-0.02, 1.01)


def legend_above(ax, family: str, handles=None, ncol: int = 4) -> None:
    """The legend above the plot area, outside it: it can never hide a bar."""
    kwargs = {"handles": handles} if handles is not None else {}
    ax.legend(**kwargs, prop={"family": family, "size": 7}, loc="lower right", bbox_to_anchor=(1.0, 1.01),
              frameon=False, ncol=ncol, borderaxespad=0.0)


ZERO_HATCH = "////"


# ---------------------------------------------------------------------------------------------
# County report


def indicator_distribution_chart(result: EvaluationResult, rid: str) -> bytes | None:
    fig = indicator_distribution_figure(result, rid)
    return None if fig is None else _png(fig)


def indicator_distribution_figure(result: EvaluationResult, rid: str):
    """Each unit's value of one unit-level indicator, sorted, against the threshold and 85% of it
    (when the standard has thresholds), one panel per segment. A unit whose value is 0 (no such teacher at all) gets a visible hatched
    stub with "0" over it, since a bar of height 0 would not show. None when no unit has a value."""
    from matplotlib.patches import Patch

    segments = [s for s in segments_of(result)
                if any(u.segment == s and u.indicators[rid].value is not None for u in result.resource.units)]
    if not segments:
        return None
    floor_ratio = _floor_ratio(result)
    unit = indicator_unit(result, rid)
    fig, family = _figure(16.0, 7.6)
    axes = fig.subplots(1, len(segments), squeeze=False)[0]
    for ax, segment in zip(axes, segments):
        units = [u for u in result.resource.units if u.segment == segment]
        values = sorted(u.indicators[rid].value for u in units if u.indicators[rid].value is not None)
        missing = len(units) - len(values)
        threshold = r_threshold(result, segment, rid)
        county_value = result.resource.cv[segment][rid].county_value
        colours = []
        for v in values:
            if threshold is None or v >= threshold - 1e-9:
                colours.append(BLUE)
            elif v >= floor_ratio * threshold - 1e-9:
                colours.append(ORANGE)
            else:
                colours.append(RED)
        ax.bar(range(len(values)), values, color=colours, width=0.8)
        top = max([*values, threshold or 0, county_value or 0]) or 1.0
        zeros = [i for i, v in enumerate(values) if v <= 0]
        if zeros:
            stub = top * 0.025
            ax.bar(zeros, [stub] * len(zeros), width=0.8, color="white", edgecolor=RED, hatch=ZERO_HATCH,
                   linewidth=0.8, gid="zero")
            # values are sorted: the zeros are side by side, one "0" over them reads better than many
            ax.text((zeros[0] + zeros[-1]) / 2, stub, "0", ha="center", va="bottom", color=RED,
                    fontdict=_font(family, 7), gid="zero-label")
        if threshold is not None:
            ax.axhline(threshold, color=RED, linestyle="--", linewidth=1.0, label=f"标准值 {threshold:,g}")
            ax.axhline(threshold * floor_ratio, color=GREY, linestyle=":", linewidth=1.0,
                       label=f"标准值的{floor_ratio:.0%}")
        if county_value is not None:
            ax.axhline(county_value, color=GREEN, linestyle="-.", linewidth=1.0, label=f"县域值 {county_value:,.2f}")
        handles, _ = ax.get_legend_handles_labels()
        if zeros:
            handles.append(Patch(facecolor="white", edgecolor=RED, hatch=ZERO_HATCH, label=f"数值为0({len(zeros)}个)"))
        ax.set_ylim(0, top * 1.12)
        title = f"{segment_label(segment)}({len(values)}个单位" + (f",{missing}个数据缺失" if missing else "") + ")"
        ax.set_title(title, fontdict=_font(family, 9), pad=14)
        ax.set_xticks([])
        ax.set_xlabel("评估单位(按数值由低到高排列)", fontdict=_font(family, 8))
        unit_label_on_top(ax, unit or "", family)
        # under the axis, clear of the bars
        ax.legend(handles=handles, prop={"family": family, "size": 7}, loc="upper center", bbox_to_anchor=(0.5, -0.14),
                  frameon=False, ncol=2, borderaxespad=0.0)
        _style_axes(ax, family)
    fig.suptitle(f"{rid} {indicator_name(result, rid)}", fontproperties={"family": family, "size": 10})
    fig.tight_layout()
    return fig


def zero_value_units(result: EvaluationResult, rid: str) -> int:
    """How many units have the value 0 on a unit-level indicator (drawn as hatched stubs)."""
    return sum(1 for u in result.resource.units if rid in u.indicators and u.indicators[rid].value is not None
               and u.indicators[rid].value <= 0)


def _floor_ratio(result: EvaluationResult) -> float:
    from junheng.reports.xlsx import standard_named

    standard = standard_named(result.standard)
    rule = standard.per_school_rule if standard else None
    return rule.floor_ratio if rule else 0.85


def cv_chart(result: EvaluationResult) -> bytes | None:
    fig = cv_figure(result)
    return None if fig is None else _png(fig)


def cv_figure(result: EvaluationResult):
    """The coefficients of variation (each unit-level indicator per segment) against their
    limits, or under a composite limit the segment's 综合差异系数 as the dashed line; None when
    no segment applies."""
    ids = result.resource_ids()
    composite = result.resource.composite_cv or {}
    segments = [s for s in segments_of(result) if any(c.applicable for c in result.resource.cv[s].values())]
    if not segments:
        return None
    fig, family = _figure(16.0, 7.0)
    ax = fig.subplots()
    width = 0.8 / len(segments)
    top = 0.0
    for k, segment in enumerate(segments):
        cvs = result.resource.cv[segment]
        xs = [i + (k - (len(segments) - 1) / 2) * width for i in range(len(ids))]
        colour = SEGMENT_COLOURS.get(segment, GREY)
        limit = next(iter(cvs.values())).limit
        segment_composite = composite.get(segment)
        failing_segment = segment_composite is not None and segment_composite.met is False
        for x, rid in zip(xs, ids):
            cv = cvs.get(rid)
            if cv is None:
                continue
            if not cv.applicable:
                continue
            if cv.value is None:
                ax.text(x, 0.01, "缺失", ha="center", va="bottom", fontdict=_font(family, 6), color=AMBER)
                continue
            over = cv.met is False or failing_segment
            ax.bar(x, cv.value, width=width * 0.95, color=RED if over else colour, edgecolor="black" if over else None,
                   linewidth=0.6)
            ax.text(x, cv.value, f"{cv.value:.3f}", ha="center", va="bottom", fontdict=_font(family, 6))
            top = max(top, cv.value)
        if limit is not None:
            ax.axhline(limit, color=colour, linestyle="--", linewidth=1.0,
                       label=f"{segment_label(segment)}(上限 {limit:.2f})")
            top = max(top, limit)
        elif segment_composite is not None and segment_composite.value is not None:
            ax.axhline(segment_composite.value, color=colour, linestyle="--", linewidth=1.0,
                       label=f"{segment_label(segment)}综合差异系数 {segment_composite.value:.3f}"
                             f"(上限 {segment_composite.limit:.2f})")
            top = max(top, segment_composite.value)
    ax.set_xticks(range(len(ids)), ids)
    ax.set_ylim(0, top * 1.18 if top else 1)
    unit_label_on_top(ax, "差异系数", family)
    legend_above(ax, family, ncol=len(segments))
    title = "校际差异系数(虚线为综合差异系数,红色为所在学段超过上限)" if composite else "校际差异系数(红色为超过上限)"
    ax.set_title(title, fontdict=_font(family, 9), pad=18)
    _style_axes(ax, family)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# City report

VERDICT_COLOURS = {"pass": GREEN, "fail": RED, "incomplete": AMBER}
VERDICT_WORDS = {"pass": "达标", "fail": "未达标", "incomplete": "数据不全"}


def city_indicator_chart(rows: list[tuple[str, int, int, str]]) -> bytes:
    return _png(city_indicator_figure(rows))


def city_indicator_figure(rows: list[tuple[str, int, int, str]]):
    """Indicators met per county: rows of (county, met, total, verdict), one horizontal bar each;
    the legend above the plot, clear of the bars."""
    fig, family = _figure(16.0, max(5.0, 2.2 + 0.55 * len(rows)))
    ax = fig.subplots()
    names = [r[0] for r in rows][::-1]
    met = [r[1] for r in rows][::-1]
    colours = [VERDICT_COLOURS[r[3]] for r in rows][::-1]
    total = max((r[2] for r in rows), default=1)
    ax.barh(range(len(rows)), met, color=colours, height=0.65)
    for i, (value, row) in enumerate(zip(met, rows[::-1])):
        ax.text(value + 0.2, i, f"{value}/{row[2]}", va="center", fontdict=_font(family, 7))
    ax.set_yticks(range(len(rows)), names)
    ax.set_xlim(0, total * 1.12)
    ax.axvline(total, color=GREY, linestyle=":", linewidth=1.0)
    ax.set_xlabel(f"达标指标数(共{total}项)", fontdict=_font(family, 8))
    from matplotlib.patches import Patch

    handles = [Patch(color=VERDICT_COLOURS[k], label=VERDICT_WORDS[k]) for k in ("pass", "fail", "incomplete")]
    legend_above(ax, family, handles=handles, ncol=3)
    _style_axes(ax, family)
    fig.tight_layout()
    return fig


def city_schedule_chart(rows: list[tuple[str, int | None, int | None, str]]) -> bytes | None:
    fig = city_schedule_figure(rows)
    return None if fig is None else _png(fig)


def city_schedule_figure(rows: list[tuple[str, int | None, int | None, str]]):
    """Counties by planned certification year: rows of (county, target_year, certified_year,
    verdict); certified counties are counted in their certification year. None without years."""
    from collections import Counter

    counts: Counter[tuple[int, str]] = Counter()
    for _, target, certified, verdict in rows:
        if certified is not None:
            counts[(certified, "certified")] += 1
        elif target is not None:
            counts[(target, verdict)] += 1
    if not counts:
        return None
    years = sorted({y for y, _ in counts})
    fig, family = _figure(16.0, 6.5)
    ax = fig.subplots()
    bottom = [0] * len(years)
    series = [("certified", "已通过认定", BLUE), ("pass", "本次评估达标", GREEN), ("fail", "本次评估未达标", RED),
              ("incomplete", "数据不全", AMBER)]
    for key, label, colour in series:
        heights = [counts.get((y, key), 0) for y in years]
        if any(heights):
            ax.bar([str(y) for y in years], heights, bottom=bottom, color=colour, label=label, width=0.6)
            bottom = [b + h for b, h in zip(bottom, heights)]
    for i, value in enumerate(bottom):
        ax.text(i, value, str(value), ha="center", va="bottom", fontdict=_font(family, 7))
    ax.set_ylim(0, max(bottom) * 1.15 + 0.5)
    ax.set_xlabel("计划(或已)通过优质均衡认定年份", fontdict=_font(family, 8))
    unit_label_on_top(ax, "县区数", family)
    ax.yaxis.get_major_locator().set_params(integer=True)
    legend_above(ax, family)
    _style_axes(ax, family)
    fig.tight_layout()
    return fig

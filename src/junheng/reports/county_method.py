"""数据来源与计算方法 of the county report: where the data came from and how every number was computed."""

from __future__ import annotations

from junheng.data.dataset import Dataset
from junheng.engine.result import EvaluationResult
from junheng.reports import narrative as words
from junheng.reports.county_resources import per_school_floor, per_school_min_met
from junheng.reports.xlsx import SYNTHETIC_NOTE, r_thresholds_exist, segment_label, segments_of, standard_named


def source_text(result: EvaluationResult, dataset: Dataset | None) -> str:
    """Where the data came from, in words: "数据集“…”" (a file or folder), the workspace's
    database, or 合成示范数据 — never the generator's internal description."""
    source = result.source or (dataset.source if dataset is not None else "") or ""
    if result.synthetic and (not source or source.startswith("synthetic:")):
        return "合成示范数据"
    if not source:
        return "所填报的数据"
    if source.startswith("数据库"):
        return f"工作区{source}"
    from pathlib import PurePath

    return f"数据集“{PurePath(source).name or source}”"


def values_text(standard) -> str:
    """How each unit-level indicator's value is computed, from the standard's rules: “每百名学生
    拥有… = 资源数量 × 100 ÷ 在校生数;生均… = 资源数量 ÷ 在校生数。…按学段填报,不拆分。”"""
    if standard is None:
        return "指标值 = 资源数量 × 折算系数 ÷ 在校生数。"
    inds = standard.resource_indicators()
    by_scale: dict[float, list[str]] = {}
    for ind in inds:
        by_scale.setdefault(ind.rule.scale, []).append(ind.name)
    parts = [f"{'、'.join(names)} = 资源数量" + (f" × {scale:g}" if scale != 1 else "") + " ÷ 在校生数"
             for scale, names in sorted(by_scale.items(), reverse=True)]
    per_segment = [ind.rule.gap_label for ind in inds if ind.rule.source == "segment"]
    return ";".join(parts) + "。" + (f"{'、'.join(per_segment)}按学段填报,不拆分。" if per_segment else "")


def shared_text(standard) -> str:
    """The school-wide facilities the standard splits between segments: “教学及辅助用房面积、…”."""
    if standard is None:
        return "共用设施"
    return "、".join(ind.rule.gap_label for ind in standard.resource_indicators() if ind.rule.source == "shared")


def method_paragraphs(result: EvaluationResult, dataset: Dataset | None) -> list[tuple[str, str]]:
    """(lead, text) pairs: the data used and the computation, stated plainly."""
    standard = standard_named(result.standard)
    weights = standard.split_weights if standard else {"primary": 1.0, "junior": 1.1, "senior": 1.32}
    first = result.resource_ids()[0]
    limits = {s: result.resource.cv[s][first].limit for s in segments_of(result)}
    composite = result.resource.composite_cv or {}
    min_met, floor = per_school_min_met(result), per_school_floor(result)
    data = (f"本报告的全部数值由评估结果计算得出,评估结果根据{source_text(result, dataset)}中"
            f"{words.school_year_text(result.year)}的学校名录、学校年度数据、县级年度数据和质量监测数据计算。")
    if result.synthetic:
        data += f"【{SYNTHETIC_NOTE},不代表任何真实县区】"
    data += f"评估标准:{result.standard_name}" + (
        f",依据{standard.source}" if standard and standard.source not in result.standard_name else "") + "。"
    weight_text = "、".join(f"{segment_label(s) if s != 'senior' else '高中'}{w:g}" for s, w in weights.items())
    if composite:
        limit_text = ("各学段取各项差异系数的平均值为综合差异系数,其限值:"
                      + "、".join(f"{segment_label(s)}不大于{c.limit:.2f}" for s, c in composite.items()))
    else:
        limit_text = "、".join(f"{segment_label(s)}不大于{v:.2f}" for s, v in limits.items())
    unit_rule = (f"一个学校(学段)单位的{len(result.resource_ids())}项指标中至少{min_met}项达到标准值,且未达到的指标均不低于"
                 f"标准值的{floor},该单位为达标单位。") if r_thresholds_exist(result) else \
        "本标准不逐校判定,各学校(学段)单位的指标值只用于计算校际差异系数。"
    return [
        ("数据来源。", data),
        ("评估单位。", "资源配置以学校的学段为评估单位:小学、初级中学、教学点各为一个单位;九年一贯制、十二年一贯制学校分为小学和初中两个"
                    "单位(十二年一贯制学校、完全中学的高中部分不作为评估单位);特殊教育学校不参加资源配置评估。在校生为0的学段不计。"),
        ("指标值。", values_text(standard)),
        ("共用设施拆分。", f"一贯制学校的{shared_text(standard)}由各学段共用,按加权学生数拆分:"
                       f"某学段分得的份额 = 该学段权重 × 该学段在校生数 ÷ Σ(各学段权重 × 各学段在校生数),权重为{weight_text}"
                       "(高中在校生参与拆分但不作为评估单位)。数据中按学段单独填报的设施数量直接采用,不再拆分。"),
        ("单位达标规则。", unit_rule),
        ("校际差异系数。", "对每个学段的每项指标,以该学段全部评估单位计算:县域值 X̄ = Σ资源数量ᵢ ÷ Σ学生数ᵢ(即按学生数加权的均值);"
                       "标准差 S = √[ Σ (nᵢ ÷ N) × (xᵢ − X̄)² ],其中 xᵢ 为第 i 个单位的指标值,nᵢ 为其学生数,N 为学生总数;"
                       f"差异系数 CV = S ÷ X̄。限值:{limit_text}。县域值为0时差异系数无定义,按未达标处理。"
                       "差异系数按学生数加权,与不加权的简单平均计算结果不同。"),
        ("数值与判定。", "所有比较均使用未经四舍五入的数值,等于标准值即为达到;报告中指标值保留两位小数,差异系数保留三位小数。"),
        ("结论规则。", verdict_rules_text(result)),
        ("问题与整改。", "需补足的差距按标准值计算:教师和教室按整数向上取整;面积和金额为标准值 × 学生数 − 现有数量;一贯制学校共用设施的差距"
                      "为全校需增加的数量(新增设施同样按学段拆分)。" if r_thresholds_exist(result) else
         "本标准不逐校判定,不计算各校需补足的数量;综合差异系数或校际差异系数超过上限的学段须缩小校际差距。"),
    ]


def verdict_rules_text(result: EvaluationResult) -> str:
    """How the areas of the result's standard make the verdict."""
    from junheng.reports.xlsx import area_label

    parts = []
    if result.resource is not None:
        label = area_label(result, "resource_allocation")
        if r_thresholds_exist(result):
            parts.append(f"{label}要求全部单位达标且全部差异系数在限值以内")
        elif result.resource.composite_cv:
            parts.append(f"{label}要求各学段综合差异系数在限值以内")
        else:
            parts.append(f"{label}要求全部差异系数在限值以内")
    items = [area_label(result, a) for a in result.areas.items()]
    if items:
        parts.append(f"{'、'.join(items)}要求每项指标达标")
    veto = "或存在一票否决情形" if result.veto.labels else ""
    return ";".join(parts) + f";任何一项未达标{veto},结论为未达标;无不达标项但有数据缺失,结论为数据不全,缺失数据逐项列出。"

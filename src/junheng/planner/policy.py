"""Items no money or teacher transfer in a plan can fix (county flags, rates such as Q1/Q2,
quality monitoring Q9, social recognition S1 in national-2017, the veto): listed for policy
action with the departments responsible (责任分工, from the standard). What a plan fixes is the
standard's `planning` declaration (junheng.planner.measures)."""

from __future__ import annotations

from pydantic import BaseModel

from junheng.engine.result import EvaluationResult, Gap
from junheng.planner.measures import MODE_ROLES, planned_ids
from junheng.standards.model import Standard

VETO_RESPONSIBLE = ["县人民政府", "教体局"]


class PolicyItem(BaseModel):
    id: str
    name: str
    area: str
    area_label: str
    met: bool | None  # false: fails; null: input missing
    explanation: str
    responsible: list[str]
    gap: Gap | None = None
    note: str | None = None


def plannable_items(std: Standard, mode: str) -> tuple[str, ...]:
    """The items (indicators judged as a whole) a plan of this mode fixes: rotation only by
    rotation; the rule-driven fixes by additions (build); both by a full plan."""
    return planned_ids(std, *MODE_ROLES[mode])


def policy_items(result: EvaluationResult, mode: str, std: Standard,
                 unfixable: set[str] = frozenset()) -> list[PolicyItem]:
    """Every failing or undecided item outside what this mode plans (and those it cannot fix)."""
    planned = set(plannable_items(std, "build" if mode == "build" else "both")) - set(unfixable)
    rotation = set(plannable_items(std, "rotation"))
    out: list[PolicyItem] = []
    for area, found in result.areas.items().items():
        for item_id, item in found.indicators.items():
            if item.met is True or item_id in planned:
                continue
            note = None
            if item.met is None:
                note = "数据缺失,须补齐数据后才能判定:" + "、".join(m.describe() for m in item.missing[:5])
            elif item_id in rotation and mode == "build":
                note = "可用交流轮岗解决:junheng plan --mode rotation 或 --mode both"
            elif item_id in unfixable:
                note = "本方案无法通过新增投入或交流解决,见方案说明"
            out.append(PolicyItem(id=item_id, name=item.name, area=area, area_label=found.label or std.area_label(area),
                                  met=item.met, explanation=item.explanation, responsible=list(item.responsible),
                                  gap=item.gap, note=note))
    for key in result.veto.triggered:
        out.append(PolicyItem(id="veto", name=f"一票否决:{result.veto.labels.get(key, key)}", area="veto",
                              area_label="一票否决", met=False, responsible=VETO_RESPONSIBLE,
                              explanation=f"认定前三年内存在“{result.veto.labels.get(key, key)}”,无论其他指标如何均不予认定",
                              note="须整改并满三年,不能通过投入解决"))
    for key in result.veto.missing:
        out.append(PolicyItem(id="veto", name=f"一票否决事项未填报:{result.veto.labels.get(key, key)}", area="veto",
                              area_label="一票否决", met=None, responsible=VETO_RESPONSIBLE,
                              explanation="县级数据中未填写此一票否决事项", note="须如实填报"))
    return out

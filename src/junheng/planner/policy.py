"""Items no money or teacher transfer in a plan can fix (county flags, rates such as Q1/Q2,
quality monitoring Q9, social recognition S1, the veto): listed for policy action with the
departments responsible (责任分工, from the standard)."""

from __future__ import annotations

from pydantic import BaseModel

from junheng.engine.result import EvaluationResult, Gap
from junheng.standards.model import AREA_LABELS

# Items a plan fixes, by mode. G11 is fixed by rotation only; R and the school-level G items by
# additions (build). Q4 (training funds) is money, so the build plan funds it.
PLANNABLE = {
    "build": ("G3", "G4", "G5", "G12", "Q4"),
    "rotation": ("G11",),
    "both": ("G3", "G4", "G5", "G11", "G12", "Q4"),
}
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


def plannable_items(mode: str) -> tuple[str, ...]:
    return PLANNABLE[mode]


def policy_items(result: EvaluationResult, mode: str, unfixable: set[str] = frozenset()) -> list[PolicyItem]:
    """Every failing or undecided item outside what this mode plans (and those it cannot fix)."""
    planned = set(PLANNABLE["build" if mode == "build" else "both"]) - set(unfixable)
    out: list[PolicyItem] = []
    for area in ("government_guarantee", "education_quality", "social_recognition"):
        for item_id, item in result.item_area(area).indicators.items():
            if item.met is True or item_id in planned:
                continue
            note = None
            if item.met is None:
                note = "数据缺失,须补齐数据后才能判定:" + "、".join(m.describe() for m in item.missing[:5])
            elif item_id == "G11" and mode == "build":
                note = "可用交流轮岗解决:junheng plan --mode rotation 或 --mode both"
            elif item_id in unfixable:
                note = "本方案无法通过新增投入或交流解决,见方案说明"
            out.append(PolicyItem(id=item_id, name=item.name, area=area, area_label=AREA_LABELS[area], met=item.met,
                                  explanation=item.explanation, responsible=list(item.responsible), gap=item.gap,
                                  note=note))
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

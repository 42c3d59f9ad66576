"""The surveyed groups: their keys (stored, in mappings and settings) and how they are named."""

from __future__ import annotations

GROUP_LABELS = {
    "parents": "家长",
    "students": "学生",
    "teachers": "教师",
    "principals": "校长",
    "npc_deputies": "人大代表",
    "cppcc_members": "政协委员",
    "public": "社会人士",
}
GROUPS = tuple(GROUP_LABELS)


def group_label(group: str) -> str:
    return GROUP_LABELS.get(group, group)

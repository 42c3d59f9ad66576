"""User errors of the planner: each carries a complete Chinese message (the CLI prints it and
exits non-zero, never a traceback)."""

from __future__ import annotations

from junheng.errors import JunhengError


class PlannerError(JunhengError):
    """Bad input to planning: unknown county or year, negative budget, bad options."""


class CostFileError(PlannerError):
    """The cost table (单价表) cannot be read or is malformed."""


class ScenarioError(PlannerError):
    """A scenario file cannot be read, is malformed, or does not fit the dataset."""


def _limit(value) -> str:
    """A bound as people write it: 50,000 rather than 50000.0."""
    if isinstance(value, (int, float)) and float(value).is_integer():
        return f"{int(value):,}"
    return str(value)


def pydantic_problems(exc, where: str, labels: dict[str, str] | None = None) -> str:
    """A pydantic ValidationError as Chinese lines: where, which key (with its Chinese name when
    `labels` has one), what is wrong."""
    lines = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
        kind = err.get("type", "")
        if kind == "missing":
            what = "缺少此项"
        elif kind == "extra_forbidden":
            what = "未知的项目(请检查拼写)"
        elif kind in ("greater_than_equal", "greater_than"):
            limit = _limit(err.get("ctx", {}).get("ge", err.get("ctx", {}).get("gt")))
            what = f"应不小于 {limit}" if kind == "greater_than_equal" else f"应大于 {limit}"
        elif kind in ("less_than_equal", "less_than"):
            limit = _limit(err.get("ctx", {}).get("le", err.get("ctx", {}).get("lt")))
            what = (f"应不大于 {limit}" if kind == "less_than_equal" else f"应小于 {limit}") + \
                f",实际为 {_limit(err.get('input'))}(单位是否有误?)"
        elif kind == "finite_number":
            what = f"应为有限的数字,实际为 {err.get('input')!r}"
        elif kind == "string_too_long":
            what = f"不能超过 {err.get('ctx', {}).get('max_length')} 个字"
        elif kind.startswith("float") or kind.startswith("int"):
            what = f"应为数字,实际为 {err.get('input')!r}"
        elif kind.startswith("bool"):
            what = f"应为 true/false(是/否),实际为 {err.get('input')!r}"
        elif kind == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            what = f"取值 {err.get('input')!r} 无效,可选:{expected}"
        elif kind == "union_tag_invalid" or kind == "union_tag_not_found":
            expected = err.get("ctx", {}).get("expected_tags", "")
            what = f"变更类型 type 无效或缺失,可选:{expected}"
        elif kind in ("dict_type", "model_type"):
            what = "应为键值映射"
        elif kind == "list_type":
            what = "应为列表"
        elif kind == "string_type":
            what = "应为文本"
        elif kind == "value_error":
            what = str(err.get("ctx", {}).get("error", err.get("msg")))
        else:
            what = err.get("msg", kind)
        label = (labels or {}).get(path)
        lines.append(f"{where} {path or '(顶层)'}{f'({label})' if label else ''}:{what}")
    return ";\n".join(lines)

"""Cross-checks of a parsed dataset: across columns of a row and across tables (duplicate keys,
unknown schools and counties, parts above their whole, segments a school type lacks, oversize
classes, orphan teaching points). Each sees only values that parsed (bad cells are already
reported and are NA here), so one mistake is reported once. Each is written once over the typed
arrays of the tables and the operations of their cells (junheng.data.cells: Arrow for imports,
plain Python for a form's rows).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from junheng.data.catalog import catalog
from junheng.data.names import standard_ids
from junheng.data.parsing import ParsedTable
from junheng.data.problems import Problem


def _duplicate_keys(tables: dict[str, ParsedTable]) -> list[Problem]:
    problems = []
    for parsed in tables.values():
        key = list(parsed.spec.key)
        if any(k not in parsed.text for k in key):
            continue
        later, first = parsed.ops.repeats([parsed.arrays[k] for k in key])
        problems += [_duplicate_problem(parsed, key, i, int(parsed.rows[first[i]])) for i in np.flatnonzero(later)]
    return problems


def _duplicate_problem(parsed: ParsedTable, key: list[str], i: int, first_row: int) -> Problem:
    if len(key) == 1:
        return parsed.problem(i, key[0], f"重复:与第{first_row}行相同", "在本表中不重复")
    names = "+".join(parsed.spec.field(k).label for k in key)
    value = " / ".join(parsed.written(k, i) for k in key)
    return parsed.problem(i, None, f"重复:与第{first_row}行的 {names} 相同", f"每个 {names} 组合只有一行",
                          value=value)


def _present(values) -> np.ndarray:
    return ~np.asarray(values.isna(), dtype=bool)


def _known_school_ids(tables: dict[str, ParsedTable], ops):
    schools = tables.get("schools")
    if schools is None or "school_id" not in schools.text:
        return None  # no roster to check against: its absence is reported already
    return ops.known([schools.arrays["school_id"]])


def _county_roster(tables: dict[str, ParsedTable]) -> bool:
    """A 县区名录 with rows (a template's sheet left empty is no list)."""
    return "counties" in tables and "county_code" in tables["counties"].text and len(tables["counties"].rows) > 0


def _known_county_codes(tables: dict[str, ParsedTable], ops):
    """The counties a dataset may name: those of its 县区名录 when it has one (a county missing
    from it would be evaluated without its standard, name and population, and an upload of it
    is refused on the web), else those its schools name."""
    names = ("counties",) if _county_roster(tables) else ("schools",)
    sources = [tables[name].arrays["county_code"] for name in names if name in tables and "county_code" in tables[name].text]
    return ops.known(sources) if sources else None


def _ops(tables: dict[str, ParsedTable]):
    return next(iter(tables.values())).ops


def _unknown_references(tables: dict[str, ParsedTable]) -> list[Problem]:
    if not tables:
        return []
    ops = _ops(tables)
    known = {"school_ref": _known_school_ids(tables, ops), "county_ref": _known_county_codes(tables, ops)}
    wording = {"school_ref": "在学校名录中不存在",
               "county_ref": "在县区名录中不存在" if _county_roster(tables) else "在学校名录中不存在"}
    problems = []
    for parsed in tables.values():
        for f in parsed.spec.fields:
            if f.type not in known or known[f.type] is None or f.key not in parsed.text:
                continue
            values = parsed.arrays[f.key]
            unknown = _present(values) & ~ops.isin(values, known[f.type])
            problems += [parsed.problem(i, f.key, wording[f.type], f.describe_expected()) for i in np.flatnonzero(unknown)]
    return problems


def _unknown_standards(tables: dict[str, ParsedTable]) -> list[Problem]:
    counties = tables.get("counties")
    if counties is None or "standard" not in counties.text:
        return []
    ids = standard_ids()
    values = counties.arrays["standard"]
    unknown = _present(values) & ~counties.ops.isin(values, counties.ops.known([ids]))
    expected = "已知的标准标识之一:" + "、".join(ids)
    return [counties.problem(i, "standard", "不是已知的评估标准", expected) for i in np.flatnonzero(unknown)]


def _at_most(tables: dict[str, ParsedTable]) -> list[Problem]:
    """A part cannot exceed its whole (backbone teachers ≤ teachers, ...)."""
    problems = []
    for parsed in tables.values():
        for f in parsed.spec.fields:
            if not f.at_most or f.key not in parsed.text or f.at_most not in parsed.text:
                continue
            whole = parsed.spec.field(f.at_most)
            for i in np.flatnonzero(parsed.numbers(f.key) > parsed.numbers(whole.key)):
                problems.append(parsed.problem(
                    i, f.key, f"大于同一行“{whole.label}”的取值“{parsed.written(whole.key, i)}”",
                    f"不超过{whole.label}",
                ))
    return problems


def _roster_of_rows(tables: dict[str, ParsedTable], parsed: ParsedTable) -> tuple[dict, np.ndarray] | None:
    """The roster (first row of each school_id: its columns as arrays) and each row's position
    in it (-1: unknown)."""
    schools = tables.get("schools")
    if schools is None or not {"school_id", "school_type"} <= schools.text.keys() or "school_id" not in parsed.text:
        return None
    ops = schools.ops
    firsts = ops.firsts(schools.arrays["school_id"])
    roster = {key: schools.arrays[key][firsts] for key in ("school_id", "school_type", "parent_school_id")
              if key in schools.arrays}
    return roster, ops.positions(parsed.arrays["school_id"], roster["school_id"])


def _segments_of_school_type(tables: dict[str, ParsedTable]) -> list[Problem]:
    """Students, classes or teachers in a segment the school type does not have."""
    cat = catalog()
    problems = []
    for parsed in tables.values():
        segment_fields = [f for f in parsed.spec.fields if f.segment and f.key in parsed.text]
        found = _roster_of_rows(tables, parsed) if segment_fields else None
        if found is None:
            continue
        roster, positions = found
        types = np.append(np.asarray(roster["school_type"].to_numpy(dtype=object, na_value=None)), None)[positions]
        lacking = {  # rows whose school type lacks the segment
            segment: np.isin(types, [name for name, t in cat.school_types.items() if segment not in t.segments])
            for segment in {f.segment for f in segment_fields}
        }
        for f in segment_fields:
            for i in np.flatnonzero(lacking[f.segment] & (np.nan_to_num(parsed.numbers(f.key)) != 0)):
                school_type = cat.school_types[types[i]]
                problems.append(parsed.problem(
                    i, f.key, f"无效:学校类型为“{school_type.label}”,没有{cat.segment_label(f.segment)}学段",
                    "留空或填 0",
                ))
    return problems


def _oversize_classes(tables: dict[str, ParsedTable]) -> list[Problem]:
    """A count of classes above the limit must agree with the largest class, when both are given."""
    problems = []
    for parsed in tables.values():
        for f in parsed.spec.fields:
            if f.counts_classes_above is None or f.key not in parsed.text or f.largest_field not in parsed.text:
                continue
            limit, largest = f.counts_classes_above, parsed.spec.field(f.largest_field)
            count, size = parsed.numbers(f.key), parsed.numbers(largest.key)
            disagreements = [
                ((size <= limit) & (count > 0), f"最大班额不超过{limit}人,不应有超标班额班级", "0"),
                ((size > limit) & (count == 0), f"最大班额超过{limit}人,至少有 1 个超标班额班级", "至少为 1"),
            ]
            for mask, reason, expected in disagreements:
                for i in np.flatnonzero(mask):
                    problems.append(parsed.problem(
                        i, f.key,
                        f"与同一行“{largest.label}”({largest.key})的取值“{parsed.written(largest.key, i)}”不符:{reason}",
                        expected,
                    ))
    return problems


def _orphan_teaching_points(tables: dict[str, ParsedTable]) -> list[Problem]:
    """School-year rows of teaching points whose central school is not in the roster."""
    school_year = tables.get("school_year")
    found = _roster_of_rows(tables, school_year) if school_year is not None else None
    if found is None or "parent_school_id" not in tables["schools"].text:
        return []
    roster, positions = found
    ops = school_year.ops
    parents = roster["parent_school_id"]
    types = np.asarray(roster["school_type"].to_numpy(dtype=object, na_value=None))
    orphan = (types == "teaching_point") & _present(parents) & ~ops.isin(parents, ops.known([roster["school_id"]]))
    rows = np.flatnonzero(np.append(orphan, False)[positions])
    return [
        school_year.problem(
            i, "school_id", f"是教学点,其所属中心校“{parents[positions[i]]}”在学校名录中不存在",
            "学校名录中已有的中心校(请补全中心校或更正学校名录的所属中心校)",
        )
        for i in rows
    ]


CROSS_CHECKS: list[Callable[[dict[str, ParsedTable]], list[Problem]]] = [
    _duplicate_keys, _unknown_references, _unknown_standards, _at_most, _segments_of_school_type,
    _oversize_classes, _orphan_teaching_points,
]

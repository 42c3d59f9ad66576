"""Problems found while importing a dataset, and the errors that carry them to the user.

A problem names where it is the way the person fixing it sees the data: the table (sheet or
CSV file), the spreadsheet row (the header is row 1), the column (key and Chinese label), the
bad value as written, what was expected and what is wrong. Import collects every problem
before failing, so one correction round fixes everything.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from junheng.errors import JunhengError

# Readers of a long list want to see at a glance where most problems are.
SUMMARY_FROM = 20  # problems; shorter lists need no summary
SUMMARY_COLUMNS = 10  # columns named in the summary


@dataclass(frozen=True)
class Problem:
    table: str  # table key, e.g. "school_year"
    table_label: str  # Chinese table name, e.g. "学校年度数据"
    row: int | None  # spreadsheet row (header = 1); None for table- or column-level problems
    column: str | None  # field key; None for row- or table-level problems
    column_label: str | None
    value: str | None  # the bad value as written; None when nothing was written
    expected: str | None  # what an acceptable value looks like
    message: str  # what is wrong, worded to follow “取值“…””

    @property
    def location(self) -> str:
        return self.where()

    def where(self, keys: bool = True) -> str:
        """Table, row and column; with `keys` also the table and field keys (the CLI reads CSV
        folders whose files and headers may be those keys); without them as pages show it."""
        where = f"{self.table_label}({self.table})" if keys else self.table_label
        if self.row is not None:
            where += f" 第{self.row}行"
        if self.column is not None:
            where += f" 列“{self.column_label or self.column}”" + (f"({self.column})" if keys else "")
        return where

    def __str__(self) -> str:
        return self.text()

    def text(self, keys: bool = True) -> str:
        text = f"{self.where(keys)}:"
        if self.value is not None:
            text += f"取值“{self.value}”"
        text += self.message
        if self.expected:
            text += f",应为{self.expected}"
        return text


class DatasetInvalid(JunhengError):
    """The dataset was read but does not pass validation; carries every problem found."""

    def __init__(self, problems: list[Problem], warnings: list[str] | None = None):
        self.problems = list(problems)
        self.warnings = list(warnings or [])
        super().__init__(self.user_message())

    def user_message(self, keys: bool = True) -> str:
        lines = [self._header()]
        lines += self._summary(keys)
        width = len(str(len(self.problems)))
        lines += [f"{number:>{width + 2}}. {problem.text(keys)}" for number, problem in enumerate(self.problems, 1)]
        if self.warnings:
            lines.append(f"另有 {len(self.warnings)} 条提示:")
            lines += [f"  - {warning}" for warning in self.warnings]
        return "\n".join(lines)

    def _header(self) -> str:
        per_table = Counter(p.table_label for p in self.problems)
        header = f"数据校验未通过,共 {len(self.problems)} 个问题"
        if len(per_table) > 1:
            header += "(" + ",".join(f"{label} {n} 个" for label, n in per_table.items()) + ")"
        return header + ":"

    def _summary(self, keys: bool = True) -> list[str]:
        """For long lists, the columns with the most problems first: often one mistake repeated."""
        if len(self.problems) < SUMMARY_FROM:
            return []
        per_column = Counter(
            (p.table_label, p.column_label, p.column) for p in self.problems if p.column is not None
        )
        if not per_column:
            return []
        top = [f"{table}·{label}" + (f"({key})" if keys else "") + f" {n} 个"
               for (table, label, key), n in per_column.most_common(SUMMARY_COLUMNS)]
        return ["问题最多的列:" + ";".join(top), "全部问题如下:"]


class DatasetUnreadable(JunhengError):
    """The dataset cannot be opened at all (no such path, not a workbook, a corrupt file)."""

"""Helpers shared by the report tests: write a dataset as the interchange format's CSV files and
run the installed `junheng` command."""

from __future__ import annotations

from pathlib import Path

from builders import junheng_command, run_junheng  # noqa: F401 (shared with the CLI tests)
from junheng.data.dataset import Dataset

TABLES = ("schools", "counties", "school_year", "county_year", "quality")


def write_csv_dataset(dataset: Dataset, folder: Path) -> Path:
    """Write the non-empty tables as CSV files named by table key, with the catalogue keys as
    headers, booleans as 是/否 and empty cells for missing values."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        frame = dataset.table(name)
        if frame.empty:
            continue
        as_text = frame.copy()
        for column in as_text.columns:
            if str(as_text[column].dtype) == "boolean":
                as_text[column] = as_text[column].map({True: "是", False: "否"}, na_action="ignore")
        as_text.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8")
    return folder

"""Write a Dataset in the interchange format: a folder of CSV files or one XLSX workbook.

Both read back through `load_dataset` to the same dataset, synthetic label included (CSV:
metadata.yaml; XLSX: a 元数据 sheet), so generated data can never lose its label on the way.
"""

from __future__ import annotations

import codecs
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import yaml

from junheng.data.catalog import TableSpec, catalog
from junheng.data.dataset import Dataset
from junheng.data.importer import METADATA_FILE, METADATA_SHEETS
from junheng.errors import JunhengError
from junheng.spreadsheets import literal_row

SYNTHETIC_DESCRIPTION = "合成数据,仅供演示,不代表任何真实县区"


class WriteError(JunhengError):
    """A dataset or template could not be written (folder missing, file open in Excel, ...)."""


def dataset_metadata(dataset: Dataset) -> dict:
    """The metadata written beside the tables; the importer reads `synthetic` back."""
    metadata: dict = {"synthetic": dataset.synthetic}
    if dataset.synthetic:
        metadata["description"] = SYNTHETIC_DESCRIPTION
    return metadata


def write_dataset_csv(dataset: Dataset, folder: Path) -> None:
    """One CSV per non-empty table (keys as headers, UTF-8 with BOM so Excel shows Chinese),
    plus metadata.yaml for synthetic data. Files of this layout left from an earlier write
    are removed, so the folder holds exactly this dataset."""
    folder = Path(folder)
    with writing_to(folder):
        folder.mkdir(parents=True, exist_ok=True)
        for spec in catalog().tables.values():
            _remove_table_files(folder, spec)
            frame = dataset.table(spec.name)
            if len(frame):
                _write_csv(spec, frame, folder / f"{spec.name}.csv")
        metadata_file = folder / METADATA_FILE
        if dataset.synthetic:
            metadata_file.write_text(yaml.safe_dump(dataset_metadata(dataset), allow_unicode=True), encoding="utf-8")
        else:
            metadata_file.unlink(missing_ok=True)


def _write_csv(spec: TableSpec, frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 with BOM (Excel then shows Chinese). Arrow writes a nation's 600,000 rows several
    times faster than pandas; floats keep their shortest exact form. Extra columns are written
    as text, which is how the importer reads them back."""
    extras = {column: frame[column].astype("string") for column in frame.columns if column not in spec.keys}
    table = pa.Table.from_pandas(frame.assign(**extras), preserve_index=False)
    with path.open("wb") as handle:
        handle.write(codecs.BOM_UTF8)
        pa_csv.write_csv(table, handle)


def _remove_table_files(folder: Path, spec: TableSpec) -> None:
    for name in (spec.name, spec.label):
        (folder / f"{name}.csv").unlink(missing_ok=True)


def write_dataset_xlsx(dataset: Dataset, path: Path) -> None:
    """One sheet per non-empty table, named and headed in Chinese, enum values and booleans as
    Chinese labels; a 元数据 sheet with the synthetic label."""
    import openpyxl

    path = Path(path)
    workbook = openpyxl.Workbook(write_only=True)
    for name in Dataset.TABLES:
        spec, frame = catalog().table(name), dataset.table(name)
        if not len(frame):
            continue
        sheet = workbook.create_sheet(spec.label)
        sheet.append(literal_row(sheet, [_header(spec, column) for column in frame.columns]))
        columns = [_sheet_values(spec, column, frame[column]) for column in frame.columns]
        for row in zip(*columns):
            sheet.append(literal_row(sheet, row))  # a name "=HYPERLINK(…)" stays text (junheng.spreadsheets)
    metadata = workbook.create_sheet(METADATA_SHEETS[0])
    metadata.append(["项目", "取值"])
    for key, value in dataset_metadata(dataset).items():
        shown = ("true" if value else "false") if isinstance(value, bool) else value
        metadata.append(literal_row(metadata, [key, shown]))
    buffer = io.BytesIO()  # a write-only workbook saves once; a failed save must not leave it half-written
    workbook.save(buffer)
    with writing_to(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())


def _header(spec: TableSpec, column: str) -> str:
    return spec.field(column).label if column in spec.keys else column


def _sheet_values(spec: TableSpec, column: str, values: pd.Series) -> list:
    """Cell values for one column: Python scalars, None for missing, labels for enums/booleans."""
    if column in spec.keys:
        f = spec.field(column)
        if f.type == "enum":
            values = values.map(f.values)
        elif f.type == "bool":
            values = values.map({True: "是", False: "否"})
    return [None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in values.astype(object)]


@contextmanager
def writing_to(target: Path) -> Iterator[None]:
    """Turns file-system errors into a user message (the usual cause: the file is open in Excel)."""
    try:
        yield
    except PermissionError:
        raise WriteError(f"无法写入“{target}”:没有写入权限,或文件正被 Excel 等程序打开,请关闭后重试") from None
    except OSError as exc:
        raise WriteError(f"无法写入“{target}”:{exc.strerror or exc}") from None


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """A folder written whole or not at all: yields an empty temporary folder beside `target`;
    when the block succeeds it takes the place of `target` (an earlier folder there is removed),
    when it fails it is removed and `target` stays as it was. File-system errors become a
    WriteError (`writing_to`)."""
    target = Path(target).absolute()
    with writing_to(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.writing-"))
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(staging, 0o777 & ~umask)  # as a folder made by mkdir (mkdtemp makes 0700)
            yield staging
            _replace_folder(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # gone already when it took the target's place


def _replace_folder(staging: Path, target: Path) -> None:
    if not target.exists():
        os.replace(staging, target)
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    os.replace(target, old / target.name)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(old / target.name, target)  # put the earlier folder back (kept in `old` if even that fails)
        old.rmdir()
        raise
    shutil.rmtree(old, ignore_errors=True)

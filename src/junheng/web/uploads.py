"""The parsed result kept beside an upload in the workspace's uploads folder: the file read and
validated once, so that every later preview and the apply do not read it again. The folder's
layout and its clean-up are the store's (`junheng.store.uploads_folder`: the upload pages, the
server's scheduler and `junheng uploads clean` take them from there).

    <id>.parsed/            result.json (the outcome, notes, problems) and one Parquet file per
                            table; written by us, never pickle; rebuilt when missing or from
                            another version
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from junheng import __version__
from junheng.data.dataset import Dataset
from junheng.store.uploads_folder import parsed_path

PARSED_FORMAT = 1


# ---------------------------------------------------------------- the parsed result, kept once


def keep_parsed(folder: Path, meta: dict, outcome: dict) -> None:
    """Keep the outcome of reading an upload (see `load_parsed`) beside it. `outcome` holds
    "dataset" (a Dataset) and "notes", or "invalid" (the problems as the preview shows them),
    or "unreadable" (a message). A dataset whose tables would not read back identically is not
    kept (it is then read from the file again next time)."""
    record = {"format": PARSED_FORMAT, "junheng": __version__, "id": meta["id"], "size": meta.get("size"),
              "notes": list(outcome.get("notes") or [])}
    target = parsed_path(folder, meta["id"])
    tmp = Path(tempfile.mkdtemp(prefix=f"{meta['id']}.parsed-", suffix=".tmp", dir=folder))
    try:
        if "dataset" in outcome:
            dataset: Dataset = outcome["dataset"]
            record |= {"outcome": "dataset", "source": dataset.source, "synthetic": bool(dataset.synthetic),
                       "warnings": list(dataset.warnings)}
            for name in Dataset.TABLES:
                frame = dataset.table(name)
                path = tmp / f"{name}.parquet"
                frame.to_parquet(path, index=False)
                pd.testing.assert_frame_equal(pd.read_parquet(path), frame.reset_index(drop=True))
        elif "invalid" in outcome:
            record |= {"outcome": "invalid", "invalid": outcome["invalid"]}
        else:
            record |= {"outcome": "unreadable", "unreadable": outcome["unreadable"]}
        (tmp / "result.json").write_text(json.dumps(record, ensure_ascii=False), "utf-8")
        if target.exists():  # a result of another version: replaced
            stale = Path(tempfile.mkdtemp(prefix=f"{meta['id']}.stale-", suffix=".tmp", dir=folder))
            try:
                os.replace(target, stale / "old")
            except OSError:
                pass
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(tmp, target)  # whole or not at all; a concurrent reader of the same upload won
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    except Exception:  # e.g. a column Parquet cannot hold exactly: read the file again next time
        shutil.rmtree(tmp, ignore_errors=True)


def load_parsed(folder: Path, meta: dict) -> dict | None:
    """The kept outcome of reading the upload (as given to `keep_parsed`), or None when there is
    none usable (not yet read, another format or junheng version, or damaged)."""
    folder_path = parsed_path(folder, meta["id"])
    try:
        record = json.loads((folder_path / "result.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("format") != PARSED_FORMAT or record.get("junheng") != __version__ \
            or record.get("id") != meta["id"] or record.get("size") != meta.get("size"):
        return None
    notes = list(record.get("notes") or [])
    if record.get("outcome") == "invalid":
        return {"invalid": record["invalid"], "notes": notes}
    if record.get("outcome") == "unreadable":
        return {"unreadable": record["unreadable"], "notes": notes}
    if record.get("outcome") != "dataset":
        return None
    try:
        tables = {name: pd.read_parquet(folder_path / f"{name}.parquet") for name in Dataset.TABLES}
    except Exception:  # a damaged or missing table file: read the upload again
        return None
    dataset = Dataset(**tables, source=str(record.get("source") or ""), synthetic=bool(record.get("synthetic")),
                      warnings=list(record.get("warnings") or []))
    return {"dataset": dataset, "notes": notes}

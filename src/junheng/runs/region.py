"""`junheng evaluate --all`: every county and year of a region, in chunks, resumable.

The selected county-years are evaluated in chunks of `chunk` (one engine pass per chunk: the
table computations run once for the chunk's counties, on the chosen backend). Each finished chunk
is written as one Parquet part in each of two folders of the output folder:

- results/part-NNNNN.parquet: county_code, year, county_name, standard, verdict, complete (the
  coverage), failing (indicator ids, comma-separated), result (the contract JSON as text);
- failing/part-NNNNN.parquet: one row per failing indicator: county_code, year, standard,
  indicator, name.

A part is written to a temporary name and renamed when whole, failing first and results last, so
a county-year is finished exactly when a results part holds it. After a kill, a rerun with the
same output folder keeps the finished county-years (never recomputed), removes what the killed
chunk left half-written and computes the rest. `run.json` records what the run is of (a
fingerprint of every input table, coverage and value sources, the standard, junheng's version):
a rerun over other data is refused rather than mixed in, unless `restart` empties the folder.

At the end the summary (county-years by verdict, county-years failing per indicator) is computed
with Ibis over the Parquet parts and written as summary.json and summary.csv.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import junheng
from junheng.data.dataset import Dataset, column_values
from junheng.engine.evaluate import evaluate_dataset, paused_collector, select_pairs, standard_for
from junheng.engine.result import EvaluationResult
from junheng.errors import JunhengError
from junheng.standards.loader import load_standard
from junheng.standards.model import Standard

RUN_FILE = "run.json"
RESULTS = "results"
FAILING = "failing"
SUMMARY_JSON = "summary.json"
SUMMARY_CSV = "summary.csv"
PART = "part-{:05d}.parquet"
DEFAULT_CHUNK = 200
MAX_CHUNK = 5000
VERDICT_LABELS = {"pass": "达标", "fail": "未达标", "incomplete": "数据不全"}

RESULT_SCHEMA = pa.schema([
    ("county_code", pa.string()), ("year", pa.int64()), ("county_name", pa.string()), ("standard", pa.string()),
    ("verdict", pa.string()), ("complete", pa.bool_()), ("failing", pa.string()), ("result", pa.string()),
])
FAILING_SCHEMA = pa.schema([
    ("county_code", pa.string()), ("year", pa.int64()), ("standard", pa.string()), ("indicator", pa.string()),
    ("name", pa.string()),
])


class RunError(JunhengError):
    pass


@dataclass
class Summary:
    county_years: int
    counties: int
    verdicts: dict[str, int]
    failing: list[dict[str, Any]]  # {indicator, name, county_years}, most failing first

    def to_json(self) -> dict:
        return {"county_years": self.county_years, "counties": self.counties, "verdicts": self.verdicts,
                "failing": self.failing}


@dataclass
class RunOutcome:
    folder: Path
    total: int
    computed: int
    reused: int
    summary: Summary
    parts: list[Path] = field(default_factory=list)


def dataset_fingerprint(dataset: Dataset, standard: Any = None) -> str:
    """A fingerprint of everything an evaluation of the dataset reads: every table (columns and
    values), the store's coverage and value sources, the content of every standard its counties
    are evaluated under (the override, or each county's own) and junheng's version."""
    digest = hashlib.sha256(junheng.__version__.encode())
    for std in _standards(dataset, standard):
        digest.update(f"{std.id}:{std.fingerprint()}".encode())
    for name in Dataset.TABLES:
        frame = dataset.table(name)
        digest.update(f"{name}:{','.join(map(str, frame.columns))}:{len(frame)}".encode())
        if len(frame):
            # the columns' own (catalogue) types: hashing them as objects cost seconds for a nation
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    extra = {"coverage": {f"{c}/{y}": v.model_dump(mode="json") for (c, y), v in sorted(dataset.coverage.items())},
             "sources": {f"{c}/{y}": v for (c, y), v in sorted(dataset.value_sources.items())}}
    digest.update(json.dumps(extra, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _standards(dataset: Dataset, standard: Any) -> list[Standard]:
    """The standards the dataset's counties are evaluated under, as evaluate_dataset picks them."""
    if isinstance(standard, Standard):
        return [standard]
    chosen = dataset.county_attributes("standard")
    ids = sorted({standard_for(dataset, county, standard, chosen) for county, _ in select_pairs(dataset, None, None)})
    return [load_standard(i) for i in ids]


def _prepare(folder: Path, run: dict, restart: bool) -> None:
    """The output folder ready for this run: new, or a previous run of the same inputs (resumed)."""
    record = folder / RUN_FILE
    if folder.exists() and not folder.is_dir():
        raise RunError(f"输出位置 {folder} 不是文件夹")
    if restart and record.is_file():
        for name in (RESULTS, FAILING):
            shutil.rmtree(folder / name, ignore_errors=True)
        for name in (RUN_FILE, SUMMARY_JSON, SUMMARY_CSV):
            (folder / name).unlink(missing_ok=True)
    if record.is_file():
        try:
            previous = json.loads(record.read_text("utf-8"))
        except (OSError, ValueError):
            raise RunError(f"无法读取 {record}(不是本程序写的运行记录);请换一个输出文件夹") from None
        if previous.get("fingerprint") != run["fingerprint"]:
            raise RunError(f"输出文件夹 {folder} 中的结果来自另一份数据或另一个标准"
                           f"(上次:{previous.get('source', '未知')});请换一个输出文件夹,或加 --restart 重新计算")
        return
    if folder.exists() and any(folder.iterdir()):
        raise RunError(f"输出文件夹 {folder} 不是空的,也不是本程序的评估结果;请换一个空文件夹")
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(record, json.dumps(run, ensure_ascii=False, indent=2).encode("utf-8"))


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _clean_and_finished(folder: Path) -> tuple[set[tuple[str, int]], int]:
    """The county-years the whole results parts hold, and the next part number; temporary files
    and failing parts without their results part (a killed chunk) are removed."""
    for name in (RESULTS, FAILING):
        (folder / name).mkdir(exist_ok=True)
        for tmp in (folder / name).glob(".*.tmp"):
            tmp.unlink()
    results = sorted((folder / RESULTS).glob("part-*.parquet"))
    for orphan in (folder / FAILING).glob("part-*.parquet"):
        if not (folder / RESULTS / orphan.name).exists():
            orphan.unlink()
    done: set[tuple[str, int]] = set()
    for part in results:
        table = pq.read_table(part, columns=["county_code", "year"])
        done |= set(zip(table.column("county_code").to_pylist(), table.column("year").to_pylist()))
    number = max((int(p.stem.split("-")[1]) for p in results), default=0) + 1
    return done, number


def _names(result: EvaluationResult) -> dict[str, str]:
    names = dict(result.resource.indicator_names) if result.resource is not None else {}
    for area in result.areas.items().values():
        names.update({i: item.name for i, item in area.indicators.items()})
    return names


def _write_part(folder: Path, number: int, results: list[EvaluationResult]) -> Path:
    rows, failing = [], []
    for r in results:
        failed = r.failing_items()
        names = _names(r)
        rows.append({"county_code": r.county_code, "year": r.year, "county_name": r.county_name,
                     "standard": r.standard, "verdict": r.verdict, "complete": r.complete,
                     "failing": ",".join(failed),
                     "result": r.to_json_text()})
        failing += [{"county_code": r.county_code, "year": r.year, "standard": r.standard, "indicator": i,
                     "name": names.get(i, i)} for i in failed]
    name = PART.format(number)
    for sub, schema, data in ((FAILING, FAILING_SCHEMA, failing), (RESULTS, RESULT_SCHEMA, rows)):
        target = folder / sub / name
        tmp = target.with_name(f".{name}.{os.getpid()}.tmp")
        # no dictionary encoding: every result's JSON is unique, and trying costs half the write
        pq.write_table(pa.Table.from_pylist(data, schema=schema), tmp, compression="zstd", use_dictionary=False)
        tmp.replace(target)  # results last: a chunk is finished exactly when its results part exists
    return folder / RESULTS / name


def _chunks(pairs: list, size: int) -> Iterable[list]:
    for start in range(0, len(pairs), size):
        yield pairs[start:start + size]


class CountyRows:
    """Where each county's rows are in a dataset's tables, found once, so that a chunk's own
    dataset is taken in proportion to the chunk: filtering the whole nation's tables again for
    each chunk cost more than evaluating it."""

    TABLES = ("schools", "school_year", "county_year", "quality")

    def __init__(self, dataset: Dataset):
        self.dataset = dataset
        schools = dataset.schools
        county_of = dict(zip(column_values(schools["school_id"]), column_values(schools["county_code"])))
        keys = {
            "schools": column_values(schools["county_code"]),
            "school_year": [county_of.get(s) for s in column_values(dataset.school_year["school_id"])],
            "county_year": column_values(dataset.county_year["county_code"]),
            "quality": column_values(dataset.quality["county_code"]),
        }
        self.positions: dict[str, dict[str, list[int]]] = {}
        for name, counties in keys.items():
            by_county: dict[str, list[int]] = {}
            for i, county in enumerate(counties):
                by_county.setdefault(county, []).append(i)
            self.positions[name] = by_county

    def take(self, counties: Iterable[str]) -> Dataset:
        """The dataset of these counties: every table's rows of them, in their original order."""
        counties = list(counties)
        tables = {}
        for name in self.TABLES:
            by_county = self.positions[name]
            rows = np.sort(np.fromiter((i for c in counties for i in by_county.get(c, ())), dtype=np.int64))
            tables[name] = getattr(self.dataset, name).iloc[rows]
        return replace(self.dataset, **tables)


def run_all(dataset: Dataset, folder: Path, *, source: str, standard: Any = None, backend: Any = None,
            chunk: int = DEFAULT_CHUNK, restart: bool = False,
            on_progress: Callable[[int], None] | None = None) -> RunOutcome:
    """Evaluate every county-year of `dataset` into `folder` (see the module docstring)."""
    if not 1 <= chunk <= MAX_CHUNK:
        raise RunError(f"每批县区年度数应在 1 到 {MAX_CHUNK} 之间,实际为 {chunk}")
    folder = Path(folder)
    pairs = select_pairs(dataset, None, None)
    run = {"source": source, "fingerprint": dataset_fingerprint(dataset, standard),
           "standard": getattr(standard, "id", standard), "junheng": junheng.__version__,
           "county_years": len(pairs)}
    _prepare(folder, run, restart)
    done, number = _clean_and_finished(folder)
    todo = [p for p in pairs if p not in done]
    if on_progress and len(pairs) - len(todo):
        on_progress(len(pairs) - len(todo))
    parts = []
    rows = CountyRows(dataset) if todo else None
    with paused_collector():  # as in evaluate_dataset: the results are many objects without cycles
        for group in _chunks(todo, chunk):
            results = evaluate_dataset(rows.take(dict.fromkeys(c for c, _ in group)), standard=standard,
                                       backend=backend, pairs=group, on_progress=on_progress)
            parts.append(_write_part(folder, number, results))
            number += 1
            del results
    summary = summarise(folder)
    _write_atomic(folder / SUMMARY_JSON, json.dumps(summary.to_json(), ensure_ascii=False, indent=2).encode("utf-8"))
    _write_atomic(folder / SUMMARY_CSV, _summary_csv(summary).encode("utf-8-sig"))
    return RunOutcome(folder=folder, total=len(pairs), computed=len(todo), reused=len(pairs) - len(todo),
                      summary=summary, parts=parts)


def summarise(folder: Path) -> Summary:
    """County-years by verdict and county-years failing per indicator, from the Parquet parts
    (Ibis expressions on an in-process DuckDB: the same on any backend that reads Parquet)."""
    import ibis

    con = ibis.duckdb.connect()
    try:
        results = con.read_parquet(str(folder / RESULTS / "part-*.parquet"))
        verdicts = results.group_by("verdict").aggregate(n=results.count()).to_pyarrow().to_pylist()
        totals = results.aggregate(county_years=results.count(), counties=results.county_code.nunique()) \
            .to_pyarrow().to_pylist()[0]
        failing: list[dict] = []
        if any((folder / FAILING).glob("part-*.parquet")):
            rows = con.read_parquet(str(folder / FAILING / "part-*.parquet"))
            per = rows.group_by(["indicator", "name"]).aggregate(county_years=rows.count()) \
                .order_by([ibis.desc("county_years"), "indicator"])
            failing = per.to_pyarrow().to_pylist()
    finally:
        con.disconnect()
    counts = {v: 0 for v in VERDICT_LABELS}
    counts.update({r["verdict"]: int(r["n"]) for r in verdicts})
    return Summary(county_years=int(totals["county_years"]), counties=int(totals["counties"]), verdicts=counts,
                   failing=[{k: (int(v) if k == "county_years" else v) for k, v in r.items()} for r in failing])


def _summary_csv(summary: Summary) -> str:
    """The summary as a CSV a clerk opens in a spreadsheet (cells starting with = + - @ quoted as text)."""
    from junheng.spreadsheets import csv_row

    out = io.StringIO()
    writer = csv.writer(out)
    rows = [["项目", "县区年度数"], ["评估的县区年度", summary.county_years], ["县区", summary.counties]]
    rows += [[f"结论:{label}", summary.verdicts.get(verdict, 0)] for verdict, label in VERDICT_LABELS.items()]
    rows += [[f"未达标指标:{row['name']}", row["county_years"]] for row in summary.failing]
    for row in rows:
        writer.writerow(csv_row(row))
    return out.getvalue()

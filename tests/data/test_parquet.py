"""Parquet datasets (issue 16, data at rest): every table written partitioned by province and
year and read back through the same rules as CSV; hostile files refused in Chinese, naming the
file and the column; a failed write leaves nothing."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dataset_files import cell_text, columns_of, problems_of, write_csv_folder
from test_check_command import junheng  # noqa: F401 - the fixture running `junheng ARGS...`

from junheng.data import parquet
from junheng.data.catalog import catalog
from junheng.data.dataset import Dataset
from junheng.data.importer import load_dataset
from junheng.data.parquet import METADATA_JSON, write_dataset_parquet
from junheng.data.problems import DatasetUnreadable
from junheng.data.writer import WriteError, write_dataset_csv
from junheng.demo.synthetic import generate_county, generate_region
from junheng.services import evaluate_dataset_file, results_json


def sorted_table(dataset: Dataset, name: str) -> pd.DataFrame:
    """Rows in key order: a partitioned table is read back partition by partition."""
    key = list(catalog().table(name).key)
    return dataset.table(name).sort_values(key).reset_index(drop=True)


def assert_same(loaded: Dataset, original: Dataset) -> None:
    assert loaded.synthetic == original.synthetic
    for name in Dataset.TABLES:
        pd.testing.assert_frame_equal(sorted_table(loaded, name), sorted_table(original, name), obj=name)


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet"))


@pytest.fixture(scope="module")
def demo() -> Dataset:
    return generate_county(years=(2023, 2024, 2025))


@pytest.fixture(scope="module")
def region() -> Dataset:
    """Three synthetic provinces (codes 11, 12, 13), 24 counties."""
    return generate_region(24, seed=5, schools_per_county=6, n_cities=24)


# ---------------------------------------------------------------------------------------------
# Round trips


def test_demo_county_round_trip_csv_to_parquet_to_dataset(tmp_path, demo):
    write_dataset_csv(demo, tmp_path / "csv")
    from_csv = load_dataset(tmp_path / "csv")
    files = write_dataset_parquet(from_csv, tmp_path / "pq")
    loaded = load_dataset(tmp_path / "pq")
    assert_same(loaded, demo)
    assert loaded.synthetic is True and loaded.warnings == []
    assert files == len(files_under(tmp_path / "pq"))
    assert files_under(tmp_path / "pq") == sorted(
        [f"{table}/province_code=14/year={year}/part-0.parquet"
         for table in ("school_year", "county_year", "quality") for year in (2023, 2024, 2025)]
        + ["schools/province_code=14/part-0.parquet", "counties/province_code=14/part-0.parquet"])
    metadata = json.loads((tmp_path / "pq" / METADATA_JSON).read_text("utf-8"))
    assert metadata["format"] == "junheng-parquet" and metadata["synthetic"] is True
    assert metadata["description"] == "合成数据,仅供演示,不代表任何真实县区"
    assert metadata["tables"]["school_year"] == {"rows": len(demo.school_year), "partitions": ["province_code", "year"]}


def test_columns_have_the_catalogue_types_and_year_lives_in_the_partition(tmp_path, demo):
    write_dataset_parquet(demo, tmp_path / "pq")
    schema = pq.read_schema(tmp_path / "pq/school_year/province_code=14/year=2024/part-0.parquet")
    assert "year" not in schema.names and "province_code" not in schema.names
    assert schema.field("school_id").type == pa.string()
    assert schema.field("students_primary").type == pa.int64()
    assert schema.field("sports_area").type == pa.float64()
    assert schema.field("has_charter").type == pa.bool_()
    schools = pq.read_schema(tmp_path / "pq/schools/province_code=14/part-0.parquet")
    assert schools.field("boarding").type == pa.bool_() and schools.field("build_year").type == pa.int64()
    # any Hive-aware reader gets the partitions back as columns
    table = pq.read_table(tmp_path / "pq" / "school_year", partitioning="hive")
    assert sorted(set(table["year"].to_pylist())) == [2023, 2024, 2025]


def test_three_provinces_are_partitioned_and_round_trip(tmp_path, region):
    write_dataset_parquet(region, tmp_path / "pq")
    files = files_under(tmp_path / "pq")
    for code in ("11", "12", "13"):
        assert f"schools/province_code={code}/part-0.parquet" in files
        assert f"counties/province_code={code}/part-0.parquet" in files
        for table in ("school_year", "county_year", "quality"):
            assert f"{table}/province_code={code}/year=2024/part-0.parquet" in files
    schools = pq.read_table(tmp_path / "pq/schools/province_code=12/part-0.parquet").to_pandas()
    assert len(schools) and schools["county_code"].str.startswith("12").all()
    years = pq.read_table(tmp_path / "pq/school_year/province_code=13/year=2024/part-0.parquet").to_pandas()
    assert set(years["school_id"]) == set(region.schools.loc[region.schools["county_code"].str.startswith("13"), "school_id"])
    assert_same(load_dataset(tmp_path / "pq"), region)


def test_a_non_standard_county_code_goes_to_the_other_partition(tmp_path, demo):
    dataset = generate_county(years=(2024,), county_code="A-1")
    write_dataset_parquet(dataset, tmp_path / "pq")
    assert {Path(f).parts[1] for f in files_under(tmp_path / "pq")} == {"province_code=other"}
    assert_same(load_dataset(tmp_path / "pq"), dataset)


def test_evaluate_gives_the_same_json_from_csv_and_parquet(tmp_path, demo):
    folder = tmp_path / "data"  # the same path for both: the results name their source
    write_dataset_csv(demo, folder)
    from_csv = results_json(evaluate_dataset_file(folder), single=False)
    shutil.rmtree(folder)
    write_dataset_parquet(demo, folder)
    from_parquet = results_json(evaluate_dataset_file(folder), single=False)
    assert len(from_csv) == 3 and json.dumps(from_parquet, sort_keys=True) == json.dumps(from_csv, sort_keys=True)


def test_the_commands_convert_check_and_evaluate_a_parquet_dataset(tmp_path, demo, junheng):  # noqa: F811
    write_dataset_csv(demo, tmp_path / "csv")
    code, out, err = junheng("convert", str(tmp_path / "csv"), "--to", "parquet", "-o", str(tmp_path / "pq"))
    assert code == 0, err
    assert f"已写入 Parquet 数据集:{tmp_path / 'pq'}({len(files_under(tmp_path / 'pq'))} 个文件)" in out
    code, out, _ = junheng("check", str(tmp_path / "pq"))
    assert code == 0 and f"{len(demo.schools)} 所学校" in out
    code, out_pq, _ = junheng("evaluate", str(tmp_path / "pq"), "-c", "140599", "-y", "2024", "-f", "json")
    _, out_csv, _ = junheng("evaluate", str(tmp_path / "csv"), "-c", "140599", "-y", "2024", "-f", "json")
    assert code == 0 and json.loads(out_pq) == json.loads(out_csv) | {"source": str(tmp_path / "pq")}
    code, _, err = junheng("convert", str(tmp_path / "pq"), "-t", "csv", "-o", str(tmp_path / "back"))
    assert code == 0, err
    assert_same(load_dataset(tmp_path / "back"), demo)
    code, _, err = junheng("convert", str(tmp_path / "csv"), "-o", str(tmp_path / "csv"))
    assert code == 2 and "不能覆盖要转换的数据集" in err


# ---------------------------------------------------------------------------------------------
# The same rules as CSV


def write_parquet_tables(folder: Path, tables: dict[str, list[dict]]) -> Path:
    """One Parquet file per table with every cell as text, as another tool might write them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        columns = columns_of(rows)
        pq.write_table(pa.table({c: [cell_text(row.get(c)) for row in rows] for c in columns}),
                       folder / f"{name}.parquet")
    return folder


def problem_texts(path: Path) -> list[str]:
    return [str(p) for p in problems_of(path)]


def test_bad_cells_give_the_same_chinese_problems_as_csv(tmp_path, tables):
    tables["school_year"][0]["students_primary"] = "很多"
    tables["school_year"][1]["sports_area"] = "-5"
    tables["county_year"][0]["training_completion_rate"] = "0.95"
    tables["schools"][4]["parent_school_id"] = "NOPE"
    tables["schools"][2]["school_type"] = "大学"
    del tables["quality"][0]["subject"]
    csv_problems = problem_texts(write_csv_folder(tmp_path / "csv", tables))
    assert len(csv_problems) >= 6
    assert problem_texts(write_parquet_tables(tmp_path / "pq", tables)) == csv_problems


def test_typed_parquet_with_problems_reports_as_its_csv_does(tmp_path, tables):
    tables["school_year"][0]["students_primary"] = -3
    tables["school_year"][2]["school_id"] = "GONE"
    tables["schools"][1]["school_id"] = tables["schools"][0]["school_id"]
    tables["quality"][1]["inter_school_diff_rate"] = 1.5
    dataset = Dataset.from_frames(**{name: pd.DataFrame(rows) for name, rows in tables.items()})
    write_dataset_parquet(dataset, tmp_path / "pq")
    # Parquet is read partition by partition: the rows of schools not in the schools table
    # (province_code=other) come last, so the CSV equivalent lists them last too.
    orphan = ~dataset.school_year["school_id"].isin(dataset.schools["school_id"])
    dataset.school_year = pd.concat([dataset.school_year[~orphan], dataset.school_year[orphan]], ignore_index=True)
    write_dataset_csv(dataset, tmp_path / "csv")
    csv_problems = problem_texts(tmp_path / "csv")
    assert any("-3" in p for p in csv_problems) and any("GONE" in p for p in csv_problems)
    assert problem_texts(tmp_path / "pq") == csv_problems


def test_a_missing_table_is_asked_for_as_parquet(tmp_path, tables):
    del tables["school_year"]
    (problem,) = problems_of(write_parquet_tables(tmp_path / "pq", tables))
    assert "缺少这张表(必需):请在文件夹中提供 Parquet 表 school_year" in str(problem)


def test_nan_in_a_float_column_is_an_empty_cell(tmp_path, tables):
    folder = write_parquet_tables(tmp_path / "pq", tables)
    frame = pd.read_parquet(folder / "school_year.parquet")
    frame["migrant_share"] = float("nan")  # how pandas writes a missing number
    frame["students_primary"] = pd.to_numeric(frame["students_primary"]).astype(float)  # NaN for the junior school
    frame.to_parquet(folder / "school_year.parquet")
    loaded = load_dataset(folder)
    assert loaded.school_year["migrant_share"].isna().all()
    assert loaded.school_year["students_primary"].fillna(-1).tolist() == [200, -1, 200, 200, 200, 200]


def test_a_year_partition_that_disagrees_with_the_file_is_a_problem(tmp_path, tables):
    folder = write_parquet_tables(tmp_path / "pq", tables)
    table = pq.read_table(folder / "county_year.parquet")
    (folder / "county_year.parquet").unlink()
    (folder / "county_year" / "year=2023").mkdir(parents=True)
    pq.write_table(table, folder / "county_year" / "year=2023" / "part-0.parquet")
    problems = problems_of(folder)
    assert any(p.table == "county_year" and p.row == 2 and p.column == "year"
               and "与文件“county_year/year=2023/part-0.parquet”所在的分区文件夹“year=2023”不符" in str(p)
               for p in problems), problems


# ---------------------------------------------------------------------------------------------
# Hostile files


@pytest.fixture
def parquet_folder(tmp_path, tables) -> Path:
    return write_parquet_tables(tmp_path / "pq", tables)


def test_a_file_that_is_not_parquet_is_named(parquet_folder):
    (parquet_folder / "quality.parquet").write_text("县区代码,年度\n", encoding="utf-8")
    (problem,) = problems_of(parquet_folder)
    assert "文件“quality.parquet”不是 Parquet 文件,或已损坏、不完整" in str(problem)
    assert problem.table == "quality"


@pytest.mark.parametrize("values, kind", [
    (pa.array([[1, 2]] * 6), "嵌套"),
    (pa.array([b"\x00\x01"] * 6), "二进制"),
    (pa.array([pd.Timestamp("2024-09-01")] * 6), "日期时间"),
])
def test_a_column_no_cell_can_hold_is_refused_naming_file_and_column(parquet_folder, values, kind):
    table = pq.read_table(parquet_folder / "school_year.parquet")
    index = table.schema.get_field_index("sports_area")
    pq.write_table(table.set_column(index, "sports_area", values), parquet_folder / "school_year.parquet")
    (problem,) = problems_of(parquet_folder)
    text = str(problem)
    assert problem.column == "sports_area" and "列“体育运动场馆面积”" in text
    assert f"文件“school_year.parquet”中的列“sports_area”是{kind}" in text
    assert "应为文本、整数、小数或布尔值" in text


def test_a_huge_cell_is_refused(parquet_folder, monkeypatch):
    monkeypatch.setattr(parquet, "MAX_CELL_CHARS", 1000)
    table = pq.read_table(parquet_folder / "schools.parquet")
    index = table.schema.get_field_index("school_name")
    pq.write_table(table.set_column(index, "school_name", pa.array(["学" * 5000] * 6)),
                   parquet_folder / "schools.parquet")
    (problem,) = problems_of(parquet_folder)
    assert "文件“schools.parquet”中的列“school_name”第2行的单元格超过 1000 个字符(共 6 个这样的单元格)" in str(problem)


def test_rows_bytes_and_files_are_bounded(parquet_folder, monkeypatch):
    monkeypatch.setattr(parquet, "MAX_TABLE_ROWS", 5)
    with pytest.raises(DatasetUnreadable, match=re.escape("学校年度数据的 Parquet 文件合计超过 5 行(读到文件“school_year.parquet”时)")):
        load_dataset(parquet_folder)
    monkeypatch.setattr(parquet, "MAX_TABLE_ROWS", 10**7)
    monkeypatch.setattr(parquet, "MAX_BYTES", 100)
    with pytest.raises(DatasetUnreadable, match="Parquet 数据集过大"):
        load_dataset(parquet_folder)
    monkeypatch.setattr(parquet, "MAX_BYTES", 2**30)
    folder = parquet_folder / "school_year"
    for i in range(5):
        (folder / f"year={2020 + i}").mkdir(parents=True)
    (parquet_folder / "school_year.parquet").rename(folder / "year=2024" / "part-0.parquet")
    monkeypatch.setattr(parquet, "MAX_FILES", 4)
    with pytest.raises(DatasetUnreadable, match="中的文件和文件夹太多"):
        load_dataset(parquet_folder)


def test_a_folder_that_is_no_partition_is_a_problem_and_other_files_are_ignored(parquet_folder):
    folder = parquet_folder / "school_year"
    (folder / "2024").mkdir(parents=True)
    (parquet_folder / "school_year.parquet").rename(folder / "2024" / "part-0.parquet")
    (folder / "_SUCCESS").write_text("")
    problems = problems_of(parquet_folder)
    assert any("文件夹“school_year/2024”不是分区文件夹,应为形如 province_code=…、year=… 的分区文件夹名" in str(p)
               for p in problems), problems


def test_a_table_folder_given_as_the_dataset_points_to_its_parent(tmp_path, demo):
    write_dataset_parquet(demo, tmp_path / "pq")
    with pytest.raises(DatasetUnreadable, match=re.escape("是 Parquet 数据集中的一张表(学校年度数据):请指定上一级的数据集文件夹")):
        load_dataset(tmp_path / "pq" / "school_year")
    with pytest.raises(DatasetUnreadable, match="是 Parquet 数据集中的一个分区文件夹"):
        load_dataset(tmp_path / "pq" / "school_year" / "province_code=14")


# ---------------------------------------------------------------------------------------------
# Writing whole or not at all


def test_a_failed_write_leaves_nothing(tmp_path, demo, monkeypatch):
    calls = []

    def failing(table, path, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(table, path, **kwargs)

    real = pq.write_table
    monkeypatch.setattr(parquet.pq, "write_table", failing)
    with pytest.raises(WriteError, match="无法写入.*No space left on device"):
        write_dataset_parquet(demo, tmp_path / "pq")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rewrite_keeps_the_earlier_dataset(tmp_path, demo, region, monkeypatch):
    write_dataset_parquet(region, tmp_path / "pq")
    before = files_under(tmp_path / "pq")
    monkeypatch.setattr(parquet, "_write_table", lambda *args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_dataset_parquet(demo, tmp_path / "pq")
    assert files_under(tmp_path / "pq") == before and [p.name for p in tmp_path.iterdir()] == ["pq"]
    monkeypatch.undo()
    write_dataset_parquet(demo, tmp_path / "pq")  # a junheng Parquet dataset is replaced whole
    assert all("province_code=14" in f for f in files_under(tmp_path / "pq"))
    assert_same(load_dataset(tmp_path / "pq"), demo)


def test_a_folder_that_is_not_a_parquet_dataset_is_not_overwritten(tmp_path, demo):
    write_dataset_csv(demo, tmp_path / "csv")
    before = sorted(p.name for p in (tmp_path / "csv").iterdir())
    with pytest.raises(WriteError, match="不覆盖文件夹.*不是空文件夹,也不是 junheng 的 Parquet 数据集"):
        write_dataset_parquet(demo, tmp_path / "csv")
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == before
    (tmp_path / "empty").mkdir()
    write_dataset_parquet(demo, tmp_path / "empty")
    assert load_dataset(tmp_path / "empty").synthetic is True

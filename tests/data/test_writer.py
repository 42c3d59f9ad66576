"""Writing a dataset as CSV files or a workbook and reading it back gives the same dataset,
synthetic label included."""

from __future__ import annotations

import builders
import openpyxl
import pandas as pd
import pytest
from dataset_files import write_csv_folder

from junheng.data.catalog import catalog
from junheng.data.dataset import Dataset
from junheng.data.importer import load_dataset
from junheng.data.writer import WriteError, write_dataset_csv, write_dataset_xlsx


def full_dataset(synthetic: bool = True) -> Dataset:
    """Every table, with awkward values: exact floats, leading zeros, Chinese text, missing cells."""
    schools = [builders.school(i, t) for i, t in builders.default_schools()]
    schools[0] |= {"school_id": "000123", "boarding": True, "build_year": 2009}
    schools[1]["county_name"] = None
    years = [builders.school_year(s["school_id"], s["school_type"]) for s in schools]
    years[0] |= {"sports_area": 0.1 + 0.2, "equipment_value": 123456789.123456789, "migrant_share": 12.5}
    counties = [{"county_code": builders.COUNTY, "county_name": "测试县", "city": "测试市", "standard": "shandong",
                 "basic_balance_year": 2015, "resident_population": 350000}]
    return Dataset.from_frames(
        source="tests", synthetic=synthetic, schools=pd.DataFrame(schools), school_year=pd.DataFrame(years),
        counties=pd.DataFrame(counties), county_year=pd.DataFrame([builders.county_year()]),
        quality=pd.DataFrame(builders.quality()),
    )


def assert_same(loaded: Dataset, original: Dataset) -> None:
    assert loaded.synthetic == original.synthetic
    for name in original.TABLES:
        pd.testing.assert_frame_equal(loaded.table(name), original.table(name), obj=name)


@pytest.mark.parametrize("synthetic", [True, False])
def test_csv_round_trip(tmp_path, synthetic):
    original = full_dataset(synthetic)
    write_dataset_csv(original, tmp_path / "d")
    loaded = load_dataset(tmp_path / "d")
    assert_same(loaded, original)
    assert loaded.warnings == []
    assert (tmp_path / "d" / "metadata.yaml").exists() is synthetic


def test_csv_files_have_a_bom_and_key_headers(tmp_path):
    write_dataset_csv(full_dataset(), tmp_path / "d")
    raw = (tmp_path / "d" / "schools.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw[3:].decode("utf-8").splitlines()[0].replace('"', "").split(",")
    assert header == catalog().table("schools").keys
    assert "测试学校P2" in raw.decode("utf-8-sig")


def test_empty_tables_are_not_written_and_old_files_are_removed(tmp_path):
    folder = tmp_path / "d"
    write_dataset_csv(full_dataset(synthetic=True), folder)
    (folder / "质量监测.csv").write_text("stale", encoding="utf-8")
    dataset = full_dataset(synthetic=False)
    dataset.quality = dataset.quality.iloc[0:0]
    write_dataset_csv(dataset, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["counties.csv", "county_year.csv", "school_year.csv",
                                                         "schools.csv"]
    assert load_dataset(folder).synthetic is False


@pytest.mark.parametrize("synthetic", [True, False])
def test_xlsx_round_trip(tmp_path, synthetic):
    original = full_dataset(synthetic)
    write_dataset_xlsx(original, tmp_path / "d.xlsx")
    loaded = load_dataset(tmp_path / "d.xlsx")
    assert_same(loaded, original)
    assert loaded.warnings == []


def test_xlsx_speaks_chinese(tmp_path):
    write_dataset_xlsx(full_dataset(), tmp_path / "d.xlsx")
    workbook = openpyxl.load_workbook(tmp_path / "d.xlsx")
    assert workbook.sheetnames == ["学校名录", "县区名录", "学校年度数据", "县级年度数据", "质量监测", "元数据"]
    schools = workbook["学校名录"]
    assert [c.value for c in schools[1]][:5] == ["学校标识码", "学校名称", "县区代码", "县区名称", "学校类型"]
    assert [c.value for c in schools[2]][:5] == ["000123", "测试学校P1", "990001", "测试县", "小学"]
    assert schools.cell(2, 8).value == "是"  # boarding
    assert [tuple(r) for r in workbook["元数据"].iter_rows(values_only=True)][:2] == [("项目", "取值"),
                                                                                   ("synthetic", "true")]


def test_data_given_with_chinese_headers_and_labels_round_trips(tmp_path, tables):
    for row in tables["schools"]:
        row["school_type"] = catalog().table("schools").field("school_type").values[row["school_type"]]
        row["boarding"] = "是"
        row["备注"] = "自带的列"
    first = load_dataset(write_csv_folder(tmp_path / "in", tables, labels=True))
    assert first.schools["备注"].tolist() == ["自带的列"] * 6
    write_dataset_csv(first, tmp_path / "out")
    write_dataset_xlsx(first, tmp_path / "out.xlsx")
    for path in (tmp_path / "out", tmp_path / "out.xlsx"):
        again = load_dataset(path)
        assert_same(again, first)
        assert len(again.warnings) == 1 and "未识别的列“备注”" in again.warnings[0]  # kept, and still noted


def test_a_write_that_fails_is_a_user_message(tmp_path):
    (tmp_path / "d.xlsx").mkdir()
    with pytest.raises(WriteError, match="无法写入"):
        write_dataset_xlsx(full_dataset(), tmp_path / "d.xlsx")


def test_extra_columns_of_any_type_are_written_as_text(tmp_path):
    original = full_dataset()
    original.schools["班级规模档次"] = range(len(original.schools))  # e.g. added by a script: integers
    write_dataset_csv(original, tmp_path / "d")
    loaded = load_dataset(tmp_path / "d")
    assert loaded.schools["班级规模档次"].tolist() == [str(i) for i in range(len(original.schools))]
    assert "未识别的列“班级规模档次”" in loaded.warnings[0]

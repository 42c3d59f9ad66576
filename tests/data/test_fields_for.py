"""The fields a county is asked for (`junheng.standards.fields.fields_for`): national-2017 keeps
what the template and forms showed before basic-2012 existed, basic-2012 asks for its own
fields and none of national-2017's, and under every standard each field the evaluation reads
is asked for."""

from __future__ import annotations

import pytest

from junheng.data.catalog import catalog
from junheng.data.dataset import catalogue_fields
from junheng.standards.fields import TABLE_ORDER, fields_for
from junheng.standards.loader import builtin_ids, load_standard, load_standard_file

# The catalogue fields added for basic-2012 (data-format.md, "Optional fields of the 2012 基本均衡
# standard"): before them, every catalogue field was on the national-2017 template and forms.
BASIC_2012_FIELDS = {
    "school_year": {"computers", "books", "mid_title_teachers_primary", "mid_title_teachers_junior"},
    "county_year": {"basic_gov_score", "basic_schools_standard_met", "public_satisfaction_rate"},
}


def keys(fields) -> dict[str, list[str]]:
    return {table: [f.key for f in shown] for table, shown in fields.items()}


def test_national_2017_asks_for_every_field_but_the_new_basic_2012_ones():
    expected = {table: [k for k in catalog().table(table).keys if k not in BASIC_2012_FIELDS.get(table, set())]
                for table in TABLE_ORDER}
    assert keys(fields_for(load_standard("national-2017"))) == expected


@pytest.mark.parametrize("variant", ["shandong", "hebei", "shanxi"])
def test_provincial_variants_ask_for_what_national_2017_asks_for(variant):
    assert keys(fields_for(load_standard(variant))) == keys(fields_for(load_standard("national-2017")))


def test_basic_2012_asks_for_its_own_fields_and_none_of_national_2017s():
    basic = keys(fields_for(load_standard("basic-2012")))
    national = keys(fields_for(load_standard("national-2017")))
    for table, added in BASIC_2012_FIELDS.items():
        assert added <= set(basic[table])
    assert "quality" not in basic  # no quality-monitoring rule: no quality table
    only_2017 = {"backbone_teachers_primary", "pe_art_teachers_junior", "certified_teachers_primary",
                 "multimedia_classrooms", "music_rooms", "art_room_min_area", "classes_primary",
                 "max_class_size_junior", "public_funds", "training_funds", "has_charter", "moral_rating"}
    assert only_2017 <= set(national["school_year"]) and not only_2017 & set(basic["school_year"])
    assert basic["county_year"] == ["county_code", "year", *sorted(BASIC_2012_FIELDS["county_year"],
                                                                   key=catalog().table("county_year").keys.index)]
    # what every county gives, whatever its standard: identity, segments' students, allowance fields
    assert basic["schools"] == national["schools"] and basic["counties"] == national["counties"]
    assert {"students_senior", "migrant_share", "rented_sports_area", "indoor_sports_room_area"} <= set(
        basic["school_year"])


@pytest.mark.parametrize("standard_id", builtin_ids())
def test_every_field_the_standard_reads_is_asked_for_in_catalogue_order(standard_id):
    std = load_standard(standard_id)
    asked = keys(fields_for(std))
    for table, read in std.fields_read().items():
        in_catalogue = read & set(catalog().table(table).keys)
        assert in_catalogue <= set(asked.get(table, [])), (table, in_catalogue - set(asked.get(table, [])))
    for table, shown in asked.items():
        order = catalog().table(table).keys
        assert shown == sorted(shown, key=order.index)


@pytest.mark.parametrize("standard_id", builtin_ids())
def test_a_shown_table_has_its_keys_and_the_fields_its_checks_compare_with(standard_id):
    """A row cannot be read without its keys and required fields, and a shown field bounded by
    another (at_most, the largest class of an oversize count) is shown with it."""
    for table, shown in fields_for(load_standard(standard_id)).items():
        spec, present = catalog().table(table), {f.key for f in shown}
        assert {f.key for f in spec.fields if f.required} | set(spec.key) <= present
        for f in shown:
            for other in (f.at_most, f.largest_field):
                assert other is None or other in present, (table, f.key, other)


def test_a_workspace_standard_extending_basic_2012_asks_for_its_fields(tmp_path):
    (tmp_path / "吉林基本均衡.yaml").write_text("id: 吉林基本均衡\nname: 吉林省基本均衡\nsource: 测试\n"
                                                "extends: basic-2012\n", "utf-8")
    std = load_standard_file(tmp_path / "吉林基本均衡.yaml")
    assert keys(fields_for(std)) == keys(fields_for(load_standard("basic-2012")))


def test_catalogue_fields_is_the_whole_catalogue():
    assert keys(catalogue_fields()) == {table: catalog().table(table).keys for table in TABLE_ORDER}

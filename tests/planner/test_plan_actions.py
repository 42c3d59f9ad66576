"""Actions change the rows the engine reads as the methods say: a hire adds to its segment's
teachers (and certified teachers) besides its kind, a shared facility is split by the engine,
a room adds its area to teaching rooms, a move changes both schools and the county's rotation."""

from __future__ import annotations

import builders
import pytest

from junheng.planner.actions import apply_actions, make_action
from junheng.planner.county import select_county_year


@pytest.fixture()
def cy():
    return select_county_year(builders.dataset())


def test_a_hire_counts_in_its_segment(cy):
    before = dict(cy.rows["N1"])
    after = apply_actions(cy, [make_action("hire_pe_art", cy, "N1", 2, segment="junior", details={"above_qual": True})])
    row = after.rows["N1"]
    assert row["pe_art_teachers_junior"] == before["pe_art_teachers_junior"] + 2
    assert row["teachers_junior"] == before["teachers_junior"] + 2
    assert row["certified_teachers_junior"] == before["certified_teachers_junior"] + 2
    assert row["teachers_above_qual_junior"] == before["teachers_above_qual_junior"] + 2
    assert row["teachers_primary"] == before["teachers_primary"]
    assert cy.rows["N1"] == before  # the original is untouched


def test_rooms_and_facilities(cy):
    before = dict(cy.rows["P1"])
    after = apply_actions(cy, [
        make_action("build_music_room", cy, "P1", 1, details={"area": 100.0}),
        make_action("enlarge_art_room", cy, "P1", 5.0),
        make_action("build_sports_area", cy, "P1", 250.0),
        make_action("add_multimedia_classrooms", cy, "P1", 2),
    ]).rows["P1"]
    assert after["music_rooms"] == before["music_rooms"] + 1
    assert after["music_room_min_area"] == min(before["music_room_min_area"], 100.0)
    assert after["art_room_min_area"] == before["art_room_min_area"] + 5
    assert after["teaching_aux_area"] == pytest.approx(before["teaching_aux_area"] + 105)
    assert after["sports_area"] == pytest.approx(before["sports_area"] + 250)
    assert after["multimedia_classrooms"] == before["multimedia_classrooms"] + 2


def test_moves_of_pupils_and_teachers(cy):
    after = apply_actions(cy, [
        make_action("divert_students", cy, "P1", 40, segment="primary", to_school_id="P2"),
        make_action("rotate_teachers", cy, "P1", 2, segment="primary", to_school_id="P3", teacher_kind="backbone"),
    ])
    assert after.rows["P1"]["students_primary"] == 960 and after.rows["P2"]["students_primary"] == 1040
    assert after.rows["P1"]["backbone_teachers_primary"] == cy.rows["P1"]["backbone_teachers_primary"] - 2
    assert after.rows["P3"]["backbone_teachers_primary"] == cy.rows["P3"]["backbone_teachers_primary"] + 2
    assert after.rows["P3"]["teachers_above_qual_primary"] == cy.rows["P3"]["teachers_above_qual_primary"] + 2
    assert after.county_row["rotated_teachers"] == cy.county_row["rotated_teachers"] + 2
    assert after.county_row["rotated_backbone_teachers"] == cy.county_row["rotated_backbone_teachers"] + 2


def test_explicit_segment_facilities_get_the_addition(cy):
    cy.rows["N1"]["sports_area_junior"] = 5000.0
    after = apply_actions(cy, [make_action("build_sports_area", cy, "N1", 300.0, segment="junior")])
    assert after.rows["N1"]["sports_area_junior"] == 5300.0
    assert after.rows["N1"]["sports_area"] == cy.rows["N1"]["sports_area"]

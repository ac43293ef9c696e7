"""General rifling characteristics: parsed strictly, compared only where both are known."""

from __future__ import annotations

import pytest

from api.manifest import read_manifest
from api.rifling import RiflingClass, parse_land_count, parse_twist, rifling_class


def test_only_a_known_difference_keeps_two_bullets_apart():
    six_right = RiflingClass(land_count=6, twist="right")
    assert six_right.conflicts_with(RiflingClass(land_count=5))
    assert six_right.conflicts_with(RiflingClass(twist="left"))
    assert not six_right.conflicts_with(RiflingClass(land_count=6))
    assert not six_right.conflicts_with(RiflingClass())
    assert not RiflingClass().conflicts_with(six_right)


@pytest.mark.parametrize(
    ("text", "expected"), [("6", 6), (" 8 ", 8), ("", None), (None, None), (5, 5)]
)
def test_land_counts_are_read(text, expected):
    assert parse_land_count(text) == expected


@pytest.mark.parametrize("text", ["six", "1", "40", "6.5"])
def test_bad_land_counts_are_refused_saying_what_to_give(text):
    with pytest.raises(ValueError, match="land_count"):
        parse_land_count(text)


def test_twists_are_read_and_bad_ones_refused():
    assert parse_twist("Right") == "right" and parse_twist("") is None
    with pytest.raises(ValueError, match="'left' or 'right'"):
        parse_twist("clockwise")


def test_stored_metadata_that_cannot_be_read_counts_as_unknown():
    assert rifling_class({"land_count": "x", "twist": "right"}) == RiflingClass(twist="right")
    assert rifling_class(None) == RiflingClass()


def test_the_manifest_checks_and_normalises_the_rifling_columns(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "path,exhibit_id,case_id,agency,country,kind,land_count,twist,note\n"
        "a,E1,C1,Lab,TT,bullet,6,Right,kept\n"
        "b,E2,C1,Lab,TT,bullet,six,,\n"
        "c,E3,C1,Lab,TT,bullet,,sideways,\n",
        encoding="utf-8",
    )
    parsed = read_manifest(manifest)
    assert [row.exhibit_id for row in parsed.rows] == ["E1"]
    assert dict(parsed.rows[0].metadata) == {"note": "kept", "land_count": "6", "twist": "right"}
    errors = [problem.error for problem in parsed.problems]
    assert "line 3 land_count" in errors[0] and "whole number" in errors[0]
    assert "line 4 twist" in errors[1]

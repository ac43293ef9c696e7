"""The bullet land-pair LR validation (``benchmarks/bullet_lr_validation.py``) on made-up land
pairs: truth from the land key while pairs are grouped by barrel, every protocol's LRs from
calibrations that never saw the pair's lands or set, Cllr intervals that say when one barrel
gives none, and the refusal when the known matches come from too few barrels."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmarks import bullet_lr_validation as validation
from benchmarks.bullet_lr_validation import by_barrel, by_land, cllr_interval, validate


def land_pairs(set_name: str, *, barrels: int, lands: int, seed: int) -> list[dict]:
    """Two bullets per barrel, every land of one bullet against every land of another bullet
    of the set: same land key scores about 0.75, different about 0.35."""
    random = np.random.default_rng(seed)
    marks = [
        (f"{set_name}:barrel{b}", f"{set_name}-b{b}-{bullet}", f"{set_name}-B{b}-L{land}")
        for b in range(1, barrels + 1)
        for bullet in (1, 2)
        for land in range(1, lands + 1)
    ]
    pairs = []
    for (barrel_a, bullet_a, key_a), (barrel_b, bullet_b, key_b) in itertools.combinations(
        marks, 2
    ):
        if bullet_a == bullet_b:
            continue
        centre = 0.75 if key_a == key_b else 0.35
        pairs.append(
            {
                "a": f"{bullet_a}/{key_a}",
                "b": f"{bullet_b}/{key_b}",
                "land_key_a": key_a,
                "land_key_b": key_b,
                "barrel_a": barrel_a,
                "barrel_b": barrel_b,
                "score": float(np.clip(random.normal(centre, 0.05), 0.0, 1.0)),
            }
        )
    return pairs


@pytest.fixture(scope="module")
def pairs() -> dict[str, list[dict]]:
    return {
        "hamby44": land_pairs("h44", barrels=1, lands=6, seed=1),
        "hamby252": land_pairs("h252", barrels=2, lands=6, seed=2),
        validation.WEAK: land_pairs("weak", barrels=2, lands=3, seed=3),
    }


def test_truth_is_the_land_key_and_groups_are_barrels_or_lands(pairs):
    chosen = pairs["hamby252"]
    barrels, lands = by_barrel(chosen), by_land(chosen)
    same_key = np.array([p["land_key_a"] == p["land_key_b"] for p in chosen])
    # two lands of one barrel are a known non-match although their barrel is the same
    assert (barrels.firearm_a == barrels.firearm_b).sum() > same_key.sum()
    np.testing.assert_array_equal(barrels.same_firearm, same_key)
    np.testing.assert_array_equal(lands.same_firearm, same_key)
    assert barrels.firearms_with_known_matches == 2 and len(lands.firearms) == 12


def test_every_protocol_is_reported_and_by_barrel_is_said_to_be_impossible(pairs):
    rows, skipped = validate(pairs, method="isotonic", replicates=20, seed=0)
    assert [row["protocol"] for row in rows] == [
        "hamby44, by land",
        "hamby252, by land",
        "fit hamby44, report hamby252",
        "fit hamby252, report hamby44",
        "pooled, by land",
        f"fit pooled, report {validation.WEAK} (weak labels)",
    ]
    for row in rows:
        assert len(row["log10_lrs"]) == len(row["same_land"])
        # well separated made-up scores: every known match above 1, every non-match below
        assert row["matches_below_one"] == 0 and row["non_matches_above_one"] == 0
    # one barrel: no bootstrap interval by barrel, one by land
    assert rows[0]["cllr_by_barrel"]["low"] is None
    assert rows[0]["cllr_by_land"]["low"] <= rows[0]["cllr"] <= rows[0]["cllr_by_land"]["high"]
    assert all("not measurable" in line for line in skipped) and len(skipped) == 2


def test_a_cllr_interval_needs_two_clusters():
    one = by_barrel(land_pairs("x", barrels=1, lands=3, seed=4))
    values = np.where(one.same_firearm, 1.0, -1.0)
    assert cllr_interval(values, one, replicates=10, seed=0)["low"] is None
    two = by_barrel(land_pairs("y", barrels=2, lands=3, seed=5))
    found = cllr_interval(np.where(two.same_firearm, 1.0, -1.0), two, replicates=10, seed=0)
    assert found["clusters"] == 2 and found["samples"] == 10
    assert found["low"] == pytest.approx(found["high"])  # the LRs are all alike


def test_known_matches_from_too_few_barrels_are_refused(pairs):
    scored = {"pairs": pairs, "files": {}}
    calibration = validation.pooled_refusal(scored, method="isotonic", replicates=10, seed=0)
    assert calibration["method"] == "none"
    assert "from 3 firearms" in calibration["reason"] and "4 firearms" in calibration["reason"]

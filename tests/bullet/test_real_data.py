"""The issue's acceptance checks on the real Hamby scans in ../shared/data (skipped without it).

The land model and the lead threshold are fitted on synthetic bullets only, so every check here
is on held-out data. Hamby 252: the 4 known-match land pairs of the official key score above
every known non-match land pair, and the known-match bullet pair is found at the right phase.
Hamby 44 barrel 1: the 6 known-match land pairs above the threshold and the 30 non-matches below
it; bullets 1 and 2 are a lead at the right phase, also with one land removed.
"""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pytest

from ballistics.bullet import (
    DEFAULT_BULLET_CONFIG,
    PreparedBullet,
    PreparedLand,
    compare_bullets,
    compare_lands,
)
from ballistics.bullet import prepare_land as prepare
from tests.real_data import DATA, real_surface

pytestmark = [pytest.mark.real_data, pytest.mark.slow]


def _labelled_lands(folder: str) -> dict[str, tuple[dict[str, str], PreparedLand]]:
    """Prepare every land of ``bullets/<folder>`` with its labels.csv row, keyed by path."""
    if not (DATA / "labels.csv").is_file():
        pytest.skip(f"real data not available: {DATA / 'labels.csv'}")
    with (DATA / "labels.csv").open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["path"].startswith(folder)]
    return {row["path"]: (row, prepare(real_surface(row["path"]))) for row in rows}


def _bullet(lands: dict[str, tuple[dict[str, str], PreparedLand]], specimen: str) -> PreparedBullet:
    chosen = sorted(
        (int(row["land"]), land) for row, land in lands.values() if row["specimen"] == specimen
    )
    return PreparedBullet(tuple(land for _, land in chosen), tuple(n for n, _ in chosen))


@pytest.fixture(scope="module")
def hamby252():
    return _labelled_lands("bullets/hamby252/")


@pytest.fixture(scope="module")
def hamby44():
    return _labelled_lands("bullets/hamby44/Barrel 1/")


def test_hamby252_known_match_lands_above_every_non_match(hamby252) -> None:
    matches, non_matches = [], []
    for (row_a, a), (row_b, b) in itertools.combinations(hamby252.values(), 2):
        score = compare_lands(a, b).score
        (matches if row_a["land_key"] == row_b["land_key"] else non_matches).append(score)
    assert len(matches) == 4 and len(non_matches) == 51
    assert min(matches) > max(non_matches)  # AUC 1.0


def test_hamby44_known_match_lands_above_every_non_match(hamby44) -> None:
    # the land model was fitted on synthetic bullets only: these lands are held out
    matches, non_matches = [], []
    for (row_a, a), (row_b, b) in itertools.combinations(hamby44.values(), 2):
        if row_a["specimen"] == row_b["specimen"]:
            continue
        score = compare_lands(a, b).score
        (matches if row_a["land_key"] == row_b["land_key"] else non_matches).append(score)
    assert len(matches) == 6 and len(non_matches) == 30
    assert min(matches) > DEFAULT_BULLET_CONFIG.lead_threshold > max(non_matches)


def test_hamby252_bullet_pair_at_the_right_phase(hamby252) -> None:
    first, second = _bullet(hamby252, "h252-B1-1"), _bullet(hamby252, "h252-B1-2")
    comparison = compare_bullets(first, second)
    # the key: bullet 1 land k was engraved by the land that engraved bullet 2 land k + 2
    assert comparison.lead
    assert comparison.land_count == 6
    assert comparison.phase == 2
    # bullet 2 has no land 3 and bullet 1 no land 6: four pairs at that phase
    assert len(comparison.aligned_pairs) == 4


def test_hamby252_other_barrel_is_not_a_lead(hamby252) -> None:
    first = _bullet(hamby252, "h252-B1-1")
    other = _bullet(hamby252, "h252-B2-1")
    assert not compare_bullets(first, other).lead


@pytest.mark.parametrize("removed", [None, 0, 3])
def test_hamby44_barrel1_bullets_are_a_lead_at_the_right_phase(hamby44, removed) -> None:
    first, second = _bullet(hamby44, "h44-B1-1"), _bullet(hamby44, "h44-B1-2")
    if removed is not None:
        keep = [k for k in range(len(second.lands)) if k != removed]
        second = PreparedBullet(
            tuple(second.lands[k] for k in keep), tuple(second.land_numbers[k] for k in keep)
        )
    comparison = compare_bullets(first, second)
    # the key: bullet 1 land k faces bullet 2 land k + 4 (land 1 -> land 5)
    assert comparison.lead
    assert comparison.phase == 4
    others = np.delete(comparison.phase_scores, comparison.phase)
    assert comparison.score > np.nanmax(others) + 0.2

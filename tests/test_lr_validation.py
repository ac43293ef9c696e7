"""The casing LR validation (``benchmarks/lr_validation.py``) on made-up scored pairs: the feature
is chosen on one set only, and a record without the cell counts cannot give a cell feature."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmarks.lr_validation import (
    CANDIDATE_FEATURES,
    as_pair_scores,
    cross_set_after_choice,
    select_feature,
)


def made_up_set(name: str, *, firearms: int, seed: int, score_separates: bool) -> dict:
    """Every pair of ``firearms x 3`` casings. Known matches have more congruent cells than
    known non-matches; where ``score_separates`` is False the valid cells of known matches are
    so many that the fraction separates the classes better than the count does."""
    random = np.random.default_rng(seed)
    owners = [f"{name}:f{f}" for f in range(firearms) for _ in range(3)]
    pairs = []
    for i, j in itertools.combinations(range(len(owners)), 2):
        same = owners[i] == owners[j]
        valid = int(random.integers(30, 50))
        if same:
            congruent = int(random.integers(4, 12))
        else:
            congruent = int(random.integers(0, 8 if not score_separates else 3))
            valid = valid if score_separates else int(random.integers(150, 200))
        pairs.append(
            {
                "a": f"{i}",
                "b": f"{j}",
                "firearm_a": owners[i],
                "firearm_b": owners[j],
                "score": float(congruent),
                "cmc_count_reverse": congruent,
                "valid_cells": valid,
                "valid_cells_reverse": valid,
                "correlation": 0.2 + 0.04 * congruent + random.normal(0, 0.02),
            }
        )
    return {"pairs": pairs}


def test_the_feature_is_chosen_on_the_selection_set_alone():
    scored = {
        "fadul": made_up_set("fadul", firearms=6, seed=1, score_separates=True),
        "dfsc": made_up_set("dfsc", firearms=6, seed=2, score_separates=False),
    }
    on_dfsc = select_feature(scored, select_on="dfsc", method="isotonic", seed=0)
    assert [row["feature"] for row in on_dfsc["candidates"]] == list(CANDIDATE_FEATURES)
    assert on_dfsc["feature"] in ("cmc_fraction", "cmc_logit")  # the count overlaps there
    best = min(row["dfsc_cv_cllr"] for row in on_dfsc["candidates"])
    chosen = next(row for row in on_dfsc["candidates"] if row["feature"] == on_dfsc["feature"])
    assert chosen["dfsc_cv_cllr"] <= best + on_dfsc["margin"]
    # on a set where the count separates as well as anything, the simplest (the score) stays
    on_fadul = select_feature(scored, select_on="fadul", method="isotonic", seed=0)
    assert on_fadul["feature"] == "score"
    after = cross_set_after_choice(scored, method="isotonic")
    assert [row["feature"] for row in after] == list(CANDIDATE_FEATURES)
    assert all(np.isfinite(row["fadul_to_dfsc_cllr"]) for row in after)


def test_a_record_without_the_cell_counts_cannot_give_a_cell_feature():
    pairs = [
        {"firearm_a": "a", "firearm_b": "a", "score": 9.0},
        {"firearm_a": "a", "firearm_b": "b", "score": 1.0},
    ]
    assert as_pair_scores(pairs).scores.tolist() == [9.0, 1.0]
    with pytest.raises(SystemExit, match="valid_cells"):
        as_pair_scores(pairs, "cmc_fraction")

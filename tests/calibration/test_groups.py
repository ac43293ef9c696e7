"""Folds and bootstrap samples by firearm: a firearm is never on both sides of a split."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from ballistics.calibration.groups import PairScores, firearm_bootstrap, firearm_folds
from tests.calibration.scores import gaussian_pairs


@pytest.mark.parametrize("folds", [None, 2, 3, 7])
def test_no_training_pair_shares_a_firearm_held_out_and_every_pair_is_tested_once(folds):
    pairs = gaussian_pairs(firearms=7, marks_per_firearm=3, seed=1)
    tested = np.zeros(len(pairs), dtype=int)
    for training, test in firearm_folds(pairs, folds=folds, seed=5):
        seen = set(pairs.firearm_a[training]) | set(pairs.firearm_b[training])
        for k in test:
            # a test pair has a firearm the training data never saw
            assert pairs.firearm_a[k] not in seen or pairs.firearm_b[k] not in seen
        held_out = set(pairs.firearms) - seen
        assert held_out, "a fold holds out at least one firearm"
        assert not np.intersect1d(training, test).size
        tested[test] += 1
    assert np.all(tested == 1)


def test_leave_one_firearm_out_holds_out_exactly_one_firearm_per_fold():
    pairs = gaussian_pairs(firearms=5, marks_per_firearm=2, seed=1)
    folds = firearm_folds(pairs)
    assert len(folds) == 5
    for training, _ in folds:
        seen = set(pairs.firearm_a[training]) | set(pairs.firearm_b[training])
        assert len(set(pairs.firearms) - seen) == 1


def test_too_many_folds_are_refused():
    pairs = gaussian_pairs(firearms=3, marks_per_firearm=2, seed=1)
    with pytest.raises(ValueError, match="folds"):
        firearm_folds(pairs, folds=4)


def samples_and_draws(pairs: PairScores, *, seed: int, rounds: int = 30):
    """Yield, per bootstrap sample, how often each pair entered it and how often each firearm
    was drawn (the draws replayed from the generator's state)."""
    random = np.random.default_rng(seed)
    firearms = len(pairs.firearms)
    for _ in range(rounds):
        state = random.bit_generator.state
        sample = firearm_bootstrap(pairs, random)
        replay = np.random.default_rng()
        replay.bit_generator.state = state
        chosen = replay.choice(firearms, size=firearms, replace=True)
        yield Counter(sample.tolist()), Counter(np.array(pairs.firearms)[chosen].tolist())


def test_a_bootstrap_sample_takes_the_pairs_of_drawn_firearms_as_often_as_they_were_drawn():
    pairs = PairScores.from_lists(
        [9.0, 8.0, 1.0, 0.0, 0.5],
        ["A", "B", "A", "A", "B"],
        ["A", "B", "B", "C", "C"],
    )
    for counts, draws in samples_and_draws(pairs, seed=0):
        assert counts[0] == draws["A"] and counts[1] == draws["B"]
        assert counts[2] == draws["A"] * draws["B"] and counts[3] == draws["A"] * draws["C"]
        assert counts[4] == draws["B"] * draws["C"]


def test_pair_scores_refuse_mismatched_or_non_finite_input():
    with pytest.raises(ValueError, match="one length"):
        PairScores.from_lists([1.0, 2.0], ["A"], ["B"])
    with pytest.raises(ValueError, match="finite"):
        PairScores.from_lists([float("nan")], ["A"], ["B"])


def test_a_non_match_within_one_group_enters_as_often_as_its_group_not_its_square():
    # lands: the truth is the land, the group the barrel; two lands of barrel A differ
    pairs = PairScores(
        np.array([0.9, 0.2, 0.1]),
        np.array([True, False, False]),
        np.array(["A", "A", "A"]),
        np.array(["A", "A", "B"]),
    )
    for counts, draws in samples_and_draws(pairs, seed=3):
        assert counts[0] == draws["A"] and counts[1] == draws["A"]
        assert counts[2] == draws["A"] * draws["B"]

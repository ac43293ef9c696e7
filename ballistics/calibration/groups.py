"""Pairs grouped by firearm: cross-validation folds and bootstrap samples that respect them.

Two pairs that share a firearm are not independent (the same breech face, the same barrel), so
anything that holds data out or resamples it does so by firearm, never by pair: a pair is held
out when either of its firearms is, and a bootstrap sample draws firearms with replacement and
takes every pair among the drawn firearms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class PairScores:
    """Scores of compared pairs with their truth and the firearm of each mark.

    ``same_firearm`` is True for a known match. ``firearm_a`` and ``firearm_b`` name the
    firearms that fired the two marks (equal for a known match).
    """

    scores: np.ndarray
    same_firearm: np.ndarray
    firearm_a: np.ndarray
    firearm_b: np.ndarray

    @classmethod
    def from_lists(
        cls,
        scores: Sequence[float],
        firearm_a: Sequence[str],
        firearm_b: Sequence[str],
    ) -> PairScores:
        """Build from the score and the two firearms of each pair; the truth follows from them."""
        first = np.asarray(firearm_a, dtype=str)
        second = np.asarray(firearm_b, dtype=str)
        values = np.asarray(scores, dtype=np.float64)
        if not (values.shape == first.shape == second.shape) or values.ndim != 1:
            raise ValueError(
                f"scores, firearm_a and firearm_b must be 1-D and of one length, got "
                f"{values.shape}, {first.shape} and {second.shape}."
            )
        if not np.isfinite(values).all():
            raise ValueError("scores must be finite; drop the pairs that could not be compared.")
        return cls(values, first == second, first, second)

    def __len__(self) -> int:
        return int(self.scores.size)

    def subset(self, indices: np.ndarray) -> PairScores:
        """Return the pairs at ``indices`` (repeats allowed, as a bootstrap sample has)."""
        return PairScores(
            self.scores[indices],
            self.same_firearm[indices],
            self.firearm_a[indices],
            self.firearm_b[indices],
        )

    @property
    def firearms(self) -> list[str]:
        """Every firearm that fired a mark of these pairs, sorted."""
        return sorted(set(self.firearm_a.tolist()) | set(self.firearm_b.tolist()))

    @property
    def known_matches(self) -> int:
        return int(self.same_firearm.sum())

    @property
    def known_non_matches(self) -> int:
        return int((~self.same_firearm).sum())

    @property
    def firearms_with_known_matches(self) -> int:
        return len(set(self.firearm_a[self.same_firearm].tolist()))


def firearm_folds(
    pairs: PairScores, *, folds: int | None = None, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return (training, test) pair indices per fold, split by firearm.

    Firearms are dealt into ``folds`` groups (None: one firearm per fold, leave-one-firearm-out).
    In the fold of group G, the training pairs are those with neither firearm in G, and the
    test pairs those with a firearm in G that no earlier fold tested: every pair is tested once,
    by a calibration that saw no pair of the firearm held out.

    Raises
    ------
    ValueError
        With fewer than two firearms, or ``folds`` outside 2..number of firearms.
    """
    firearms = pairs.firearms
    count = len(firearms) if folds is None else folds
    if len(firearms) < 2 or not 2 <= count <= len(firearms):
        raise ValueError(
            f"need 2 <= folds <= firearms, got {count} folds for {len(firearms)} firearms."
        )
    order = np.random.default_rng(seed).permutation(len(firearms))
    group_of = {firearms[k]: position % count for position, k in enumerate(order)}
    group_a = np.array([group_of[name] for name in pairs.firearm_a.tolist()], dtype=int)
    group_b = np.array([group_of[name] for name in pairs.firearm_b.tolist()], dtype=int)
    tested = np.zeros(len(pairs), dtype=bool)
    result = []
    for group in range(count):
        touches = (group_a == group) | (group_b == group)
        test = touches & ~tested
        tested |= test
        result.append((np.flatnonzero(~touches), np.flatnonzero(test)))
    return result


def firearm_bootstrap(pairs: PairScores, random: np.random.Generator) -> np.ndarray:
    """Return the pair indices of one bootstrap sample drawn over firearms.

    Firearms are drawn with replacement, as many as there are; a pair between two drawn firearms
    enters as often as the product of their draws (a pair within one firearm as often as its
    firearm), so a firearm drawn twice brings its pairs twice. Pairs between two copies of one
    firearm do not exist and are not made up; that holds too for a known non-match within one
    firearm (two different lands of one barrel, when the truth is the land and the group the
    barrel).
    """
    firearms = pairs.firearms
    drawn = Counter(random.choice(len(firearms), size=len(firearms), replace=True).tolist())
    weight_of = {firearms[k]: times for k, times in drawn.items()}
    weight_a = np.array([weight_of.get(name, 0) for name in pairs.firearm_a.tolist()], dtype=int)
    weight_b = np.array([weight_of.get(name, 0) for name in pairs.firearm_b.tolist()], dtype=int)
    weights = np.where(pairs.firearm_a == pairs.firearm_b, weight_a, weight_a * weight_b)
    return np.repeat(np.arange(len(pairs)), weights)

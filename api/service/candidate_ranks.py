"""An exhibit's candidates ranked on each mark and combined: what an examiner reads first.

The engine's score ranks the candidates as a whole (the ``combined`` rank, the API's ``rank``).
An examiner also asks which candidate comes nearest on each mark the kind carries: a cartridge
case's breech face and firing pin, a bullet's lands. Each mark's rank is read from the stored
result alone (:class:`~api.store.repository.CandidateScore`), so that ranking a page costs no
comparison. A pure module: stored results in, ranks out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from api.store.repository import CandidateScore
from ballistics.items import ItemKind

#: a candidate's standing on one mark, compared as a tuple (higher: nearer); None: the mark was
#: not compared for this pair
MarkKey = Callable[[CandidateScore], tuple[float, ...] | None]


def _number(value: object) -> float | None:
    """A finite number from a stored detail; None for null, NaN or anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _detail(result: CandidateScore, name: str) -> float | None:
    return _number((result.details or {}).get(name))


def breech_face_key(result: CandidateScore) -> tuple[float, ...] | None:
    """The breech face's standing: congruent matching cells, ties by the breech-face
    correlation.

    The CMC count (the smaller of the two directions' counts) comes first because it is the
    breech-face measure the engine's lead threshold and the literature rest on (Song 2013) and
    the one an examiner can check cell by cell on the overlay; a whole-surface correlation is
    swayed by the mark's large-scale form. Counts are small integers and tie often, so the
    registration's correlation (breech face only) separates the tied ones.
    """
    if result.cmc_count is None:
        return None
    correlation = _detail(result, "correlation")
    return (float(result.cmc_count), -math.inf if correlation is None else correlation)


def firing_pin_key(result: CandidateScore) -> tuple[float, ...] | None:
    """The firing pin's standing: its impression's correlation; None where the comparison
    found no firing pin impression to compare (e.g. a photograph without one)."""
    correlation = _detail(result, "firing_pin_correlation")
    return None if correlation is None else (correlation,)


def lands_key(result: CandidateScore) -> tuple[float, ...] | None:
    """The lands' standing: the mean land score of the best phase's aligned land pairs.

    That mean is what a bullet comparison scores (:class:`ballistics.bullet.BulletComparison`),
    so a bullet's lands rank and its combined rank agree today; the rank is kept apart so that
    the page reads alike for both kinds, and stays right if the engine's score adds other marks.
    """
    score = _number(result.score)
    return None if score is None else (score,)


#: every mark a candidate can be ranked on: (name, its standing)
MARK_KEYS: Mapping[str, MarkKey] = {
    "breech_face": breech_face_key,
    "firing_pin": firing_pin_key,
    "lands": lands_key,
}
#: the marks each kind carries, in the order a page shows them
MARKS_OF_KIND: Mapping[str, tuple[str, ...]] = {
    ItemKind.CARTRIDGE_CASE.value: ("breech_face", "firing_pin"),
    ItemKind.BULLET.value: ("lands",),
}
#: the orders a candidate list can be read in
ORDERS = ("combined", *MARK_KEYS)


@dataclass(frozen=True)
class RankedCandidate:
    """One stored result with its ranks.

    Parameters
    ----------
    result
        The stored result.
    combined
        Its position by the engine's score (1: best; ties by the candidate's key, as the API).
    ranks
        Its rank on each mark the kind carries (1: nearest; equal standings share a rank, the
        next rank skipping as many places: 1, 2, 2, 4); None where the mark was not compared.
    """

    result: CandidateScore
    combined: int
    ranks: Mapping[str, int | None]


def competition_ranks(keys: Sequence[tuple[float, ...] | None]) -> list[int | None]:
    """Rank ``keys`` (higher: better) as in a competition: equal keys share the best of their
    places and the next key's rank counts every one above it; None keys get no rank."""
    ranked = sorted((key for key in keys if key is not None), reverse=True)
    first_place: dict[tuple[float, ...], int] = {}
    for place, key in enumerate(ranked, start=1):
        first_place.setdefault(key, place)
    return [None if key is None else first_place[key] for key in keys]


def rank_candidates(
    results: Sequence[CandidateScore], *, marks: Sequence[str]
) -> list[RankedCandidate]:
    """Return ``results`` best score first, each with its combined rank and its rank on each
    of ``marks`` (names of :data:`MARK_KEYS`, e.g. ``MARKS_OF_KIND[kind]``)."""
    unknown = [mark for mark in marks if mark not in MARK_KEYS]
    if unknown:
        raise ValueError(f"unknown marks {unknown}; choose among {sorted(MARK_KEYS)}.")
    ordered = sorted(results, key=lambda result: (-result.score, result.candidate_key))
    per_mark = {
        mark: competition_ranks([MARK_KEYS[mark](result) for result in ordered]) for mark in marks
    }
    return [
        RankedCandidate(
            result=result,
            combined=position,
            ranks={mark: per_mark[mark][position - 1] for mark in marks},
        )
        for position, result in enumerate(ordered, start=1)
    ]


def order_candidates(ranked: Sequence[RankedCandidate], order: str) -> list[RankedCandidate]:
    """Return ``ranked`` in the order ``order`` (one of :data:`ORDERS`): by that rank, those
    without one last, ties by the combined rank; ``combined`` or a mark they were not ranked on
    keeps the combined order."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; choose among {list(ORDERS)}.")

    def place(candidate: RankedCandidate) -> tuple[bool, int, int]:
        rank = candidate.ranks.get(order)
        return (rank is None, rank or 0, candidate.combined)

    return sorted(ranked, key=place)

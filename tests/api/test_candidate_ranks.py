"""An exhibit's candidates ranked on each mark and combined (api/service/candidate_ranks.py):
known stored results give known ranks, ties shared, a mark not compared unranked and last."""

from __future__ import annotations

import math

import pytest

from api.service.candidate_ranks import (
    MARKS_OF_KIND,
    competition_ranks,
    order_candidates,
    rank_candidates,
)
from api.store.repository import CandidateScore

CASING_MARKS = MARKS_OF_KIND["cartridge_case"]


def casing(
    key: int, score: float, cmc: int | None, correlation: float | None, pin: float | None
) -> CandidateScore:
    return CandidateScore(
        candidate_key=key,
        score=score,
        cmc_count=cmc,
        details={"lead": False, "correlation": correlation, "firing_pin_correlation": pin},
    )


def ranks_by_key(ranked, mark: str) -> dict[int, int | None]:
    return {candidate.result.candidate_key: candidate.ranks[mark] for candidate in ranked}


def test_competition_ranks_share_ties_and_skip_places():
    keys = [(3.0,), (5.0,), (3.0,), None, (1.0,)]
    assert competition_ranks(keys) == [2, 1, 2, None, 4]
    assert competition_ranks([]) == []


def test_casings_ranked_on_breech_face_firing_pin_and_combined():
    results = [
        # the engine's score (mean of both directions' counts) orders the combined rank
        casing(10, score=9.5, cmc=9, correlation=0.40, pin=0.20),
        casing(11, score=12.0, cmc=11, correlation=0.30, pin=None),
        casing(12, score=9.0, cmc=9, correlation=0.55, pin=0.70),
        casing(13, score=3.0, cmc=2, correlation=0.60, pin=0.70),
    ]
    ranked = rank_candidates(results, marks=CASING_MARKS)
    assert [candidate.result.candidate_key for candidate in ranked] == [11, 10, 12, 13]
    assert [candidate.combined for candidate in ranked] == [1, 2, 3, 4]
    # equal CMC counts: the breech-face correlation decides; a high correlation alone does not
    # lift a candidate with fewer congruent cells
    assert ranks_by_key(ranked, "breech_face") == {11: 1, 12: 2, 10: 3, 13: 4}
    # the firing pin: equal correlations share a rank; not compared, no rank
    assert ranks_by_key(ranked, "firing_pin") == {12: 1, 13: 1, 10: 3, 11: None}


def test_ordering_by_a_mark_puts_the_uncompared_last_and_ties_in_combined_order():
    results = [
        casing(1, score=20.0, cmc=20, correlation=0.5, pin=None),
        casing(2, score=10.0, cmc=10, correlation=0.5, pin=0.3),
        casing(3, score=5.0, cmc=5, correlation=0.5, pin=0.9),
        casing(4, score=4.0, cmc=4, correlation=0.5, pin=0.3),
    ]
    ranked = rank_candidates(results, marks=CASING_MARKS)

    def keys(order: str) -> list[int]:
        return [c.result.candidate_key for c in order_candidates(ranked, order)]

    assert keys("firing_pin") == [3, 2, 4, 1]
    assert keys("breech_face") == keys("combined") == [1, 2, 3, 4]
    # a mark the kind is not ranked on keeps the combined order
    assert keys("lands") == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="unknown order"):
        order_candidates(ranked, "rifling")


def test_a_result_without_a_cmc_count_or_with_a_nan_has_no_rank_on_that_mark():
    results = [
        casing(1, score=8.0, cmc=None, correlation=0.9, pin=math.nan),
        casing(2, score=6.0, cmc=6, correlation=None, pin=0.1),
        casing(3, score=6.0, cmc=6, correlation=0.2, pin=0.2),
    ]
    ranked = rank_candidates(results, marks=CASING_MARKS)
    # equal scores: the combined order falls back on the candidate's key, as the API's rank
    assert [c.result.candidate_key for c in ranked] == [1, 2, 3]
    # a missing correlation loses the tie rather than making the rank fail
    assert ranks_by_key(ranked, "breech_face") == {1: None, 2: 2, 3: 1}
    assert ranks_by_key(ranked, "firing_pin") == {1: None, 2: 2, 3: 1}


def test_bullets_ranked_on_their_lands_and_combined():
    results = [
        CandidateScore(candidate_key=7, score=0.41, details={"phase": 2, "land_count": 6}),
        CandidateScore(candidate_key=5, score=0.83, details={"phase": 0, "land_count": 6}),
        CandidateScore(candidate_key=9, score=0.41, details={"phase": 1, "land_count": 6}),
    ]
    ranked = rank_candidates(results, marks=MARKS_OF_KIND["bullet"])
    assert [(c.result.candidate_key, c.combined) for c in ranked] == [(5, 1), (7, 2), (9, 3)]
    # the mean aligned land score: equal for 7 and 9, so they share the second place
    assert ranks_by_key(ranked, "lands") == {5: 1, 7: 2, 9: 2}
    assert all(set(c.ranks) == {"lands"} for c in ranked)


def test_an_unknown_mark_is_refused():
    with pytest.raises(ValueError, match="unknown marks"):
        rank_candidates([], marks=("barrel",))

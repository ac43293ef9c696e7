"""The lead policy (api.service.linking.decide_links), without a database: which compared pairs
become links, with what score and cross-border flag, and what an examiner's decision keeps."""

from __future__ import annotations

import math

import pytest

from api.service.config import ServiceConfig
from api.service.linking import (
    DEFAULT_MODALITY,
    LinkDecision,
    LinkSide,
    ScoredPair,
    StoredLink,
    decide_links,
)


class Thresholds:
    """Lead thresholds by (kind, modality), remembering what was asked."""

    def __init__(self, thresholds: dict[tuple[str, str], float]) -> None:
        self.thresholds = thresholds
        self.asked: list[tuple[str, str]] = []

    def lead_threshold_for(self, modality: str, *, kind: str = "cartridge_case") -> float:
        self.asked.append((kind, modality))
        return self.thresholds[(kind, modality)]


THRESHOLDS = Thresholds({("cartridge_case", "topography"): 10.0, ("bullet", "topography"): 0.6})
QUERY = LinkSide(key=5, case_key=1, country="TT", modality="topography")


def side(key: int, *, case_key: int = 2, country: str = "TT") -> LinkSide:
    return LinkSide(key=key, case_key=case_key, country=country, modality="topography")


def test_below_the_threshold_no_link_at_it_a_lead() -> None:
    decisions = decide_links(
        QUERY, [ScoredPair(side(7), 9.99), ScoredPair(side(8), 10.0)], THRESHOLDS
    )
    assert decisions == [
        LinkDecision(exhibit_a=5, exhibit_b=8, score=10.0, cross_border=False, status="lead")
    ]
    assert decisions[0].new


def test_a_pair_is_one_link_whichever_exhibit_was_the_query() -> None:
    (decision,) = decide_links(QUERY, [ScoredPair(side(3), 12.0)], THRESHOLDS)
    assert (decision.exhibit_a, decision.exhibit_b) == (3, 5)
    assert (decision.other(5), decision.other(3)) == (3, 5)


def test_cross_border_when_the_agencies_countries_differ() -> None:
    decisions = decide_links(
        QUERY,
        [ScoredPair(side(7, country="GY"), 11.0), ScoredPair(side(8, country="TT"), 11.0)],
        THRESHOLDS,
    )
    assert [(d.exhibit_b, d.cross_border) for d in decisions] == [(7, True), (8, False)]


def test_exhibits_of_the_same_case_are_never_linked() -> None:
    same_case = side(7, case_key=QUERY.case_key, country="GY")
    assert decide_links(QUERY, [ScoredPair(same_case, 99.0)], THRESHOLDS) == []


@pytest.mark.parametrize("status", ["confirmed", "rejected"])
def test_an_examiners_decision_is_never_reopened_only_its_score_rises(status: str) -> None:
    stored = StoredLink(status=status, score=12.0)
    (raised,) = decide_links(QUERY, [ScoredPair(side(7), 15.0, stored)], THRESHOLDS)
    assert (raised.status, raised.score, raised.new) == (status, 15.0, False)
    assert decide_links(QUERY, [ScoredPair(side(7), 11.0, stored)], THRESHOLDS) == []


def test_a_stored_lead_keeps_its_best_score() -> None:
    stored = StoredLink(status="lead", score=12.0)
    higher, equal, lower = (
        decide_links(QUERY, [ScoredPair(side(7), score, stored)], THRESHOLDS)
        for score in (13.0, 12.0, 11.0)
    )
    assert [(d.status, d.score, d.new) for d in higher] == [("lead", 13.0, False)]
    assert equal == lower == []


def test_a_stored_link_is_left_alone_when_the_new_score_is_below_the_threshold() -> None:
    stored = StoredLink(status="lead", score=3.0)  # linked under a lower threshold of old
    assert decide_links(QUERY, [ScoredPair(side(7), 9.0, stored)], THRESHOLDS) == []


def test_the_threshold_is_the_querys_kind_and_modality() -> None:
    thresholds = Thresholds(dict(THRESHOLDS.thresholds))
    bullet = LinkSide(key=5, case_key=1, country="TT", kind="bullet", modality=None)
    decisions = decide_links(bullet, [ScoredPair(side(7), 0.6)], thresholds)
    assert [d.exhibit_b for d in decisions] == [7]
    # a modality not known yet takes the default modality's threshold
    assert thresholds.asked == [("bullet", DEFAULT_MODALITY)]


def test_the_service_settings_give_the_thresholds() -> None:
    config = ServiceConfig(lead_threshold=20.0, bullet_lead_threshold=0.5)
    assert decide_links(QUERY, [ScoredPair(side(7), 19.0)], config) == []
    assert len(decide_links(QUERY, [ScoredPair(side(7), 20.0)], config)) == 1


def test_decisions_keep_the_order_of_the_scores() -> None:
    scored = [ScoredPair(side(key), 10.0 + key) for key in (9, 2, 7)]
    assert [d.other(5) for d in decide_links(QUERY, scored, THRESHOLDS)] == [9, 2, 7]


@pytest.mark.parametrize("score", [math.nan, math.inf, -math.inf])
def test_a_non_finite_score_is_refused(score: float) -> None:
    with pytest.raises(ValueError, match="non-finite score"):
        decide_links(QUERY, [ScoredPair(side(7), score)], THRESHOLDS)


def test_a_candidate_scored_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="scored twice"):
        decide_links(QUERY, [ScoredPair(side(7), 11.0), ScoredPair(side(7), 12.0)], THRESHOLDS)

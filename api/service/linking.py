"""Which compared pairs become links: the lead policy, a pure function of scores and statuses.

Correlation compares a query exhibit with its candidates (:mod:`api.service.correlate`); this
module decides, from those scores and the links already stored, what the store writes:

- a pair of exhibits of different cases scoring at or above the lead threshold of the query's
  kind and modality becomes a ``lead`` link, ``cross_border`` when the agencies' countries
  differ; pairs below the threshold, and pairs within one case (a case's exhibits are linked by
  the case already), never become links;
- a pair already linked keeps its link and its status: the engine never turns an examiner's
  ``confirmed`` or ``rejected`` back into a lead, nor a lead into anything else; it only raises
  the link's score when the new comparison scores higher (a link's score is the best any
  comparison gave the pair, whatever its status), and leaves it alone otherwise.

Nothing here reads or writes the database: the record step reads the stored links, calls
:func:`decide_links`, and hands each :class:`LinkDecision` to the repository to write.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from ballistics.items.kinds import ItemKind

#: the status the engine gives a new link; only an examiner sets another
LEAD = "lead"
#: the modality whose threshold applies to an exhibit of unknown modality
DEFAULT_MODALITY = "topography"


class LeadThresholds(Protocol):
    """Where the lead thresholds come from (:class:`api.service.config.ServiceConfig`)."""

    def lead_threshold_for(self, modality: str, *, kind: str = ...) -> float:
        """Return the score from which a pair of this kind and modality becomes a lead."""
        ...


@dataclass(frozen=True)
class LinkSide:
    """An exhibit as the linking policy sees it.

    Parameters
    ----------
    key
        The exhibit's integer id.
    case_key
        The integer id of its case.
    country
        Its agency's country (ISO 3166-1 alpha-2).
    kind, modality
        What it is; the query's pick the lead threshold.
    """

    key: int
    case_key: int
    country: str
    kind: str = ItemKind.CARTRIDGE_CASE
    modality: str | None = None


@dataclass(frozen=True)
class StoredLink:
    """The link the store already holds for a pair: its status and its score."""

    status: str
    score: float


@dataclass(frozen=True)
class ScoredPair:
    """A candidate's comparison with the query, and the link already stored for the pair
    (None: the pair has no link)."""

    candidate: LinkSide
    score: float
    stored: StoredLink | None = None


@dataclass(frozen=True)
class LinkDecision:
    """What the store writes for one pair.

    Parameters
    ----------
    exhibit_a, exhibit_b
        The pair's exhibits (integer ids), the lower first: (a, b) and (b, a) are one link.
    score
        The link's score after the write.
    cross_border
        Whether the two exhibits' agencies are in different countries.
    status
        The link's status after the write: ``lead`` for a new link, else the stored status,
        which the engine never changes.
    new
        True: add the link as a lead; False: raise the stored link's score to ``score``.
    """

    exhibit_a: int
    exhibit_b: int
    score: float
    cross_border: bool
    status: str = LEAD
    new: bool = True

    def other(self, key: int) -> int:
        """Return the pair's exhibit that is not ``key``."""
        return self.exhibit_b if key == self.exhibit_a else self.exhibit_a


def decide_links(
    query: LinkSide, scored: Iterable[ScoredPair], thresholds: LeadThresholds
) -> list[LinkDecision]:
    """Return what to write for the links of ``query``'s scored pairs (see the module docstring).

    Pairs with nothing to write (below the threshold, of the query's own case, or already
    linked at a score as high) are left out; the decisions keep the order of ``scored``.

    Parameters
    ----------
    query
        The exhibit the candidates were compared with; its kind and modality pick the
        threshold (an unknown modality: :data:`DEFAULT_MODALITY`'s).
    scored
        Each candidate's score, with the link stored for the pair if there is one.
    thresholds
        The lead threshold of each kind and modality.

    Raises
    ------
    ValueError
        A score is not finite, or a candidate is scored twice (merge the duplicates).
    """
    threshold = thresholds.lead_threshold_for(query.modality or DEFAULT_MODALITY, kind=query.kind)
    decisions = []
    seen: set[int] = set()
    for pair in scored:
        candidate, score = pair.candidate, float(pair.score)
        if not math.isfinite(score):
            raise ValueError(f"candidate {candidate.key} has a non-finite score {score!r}.")
        if candidate.key in seen:
            raise ValueError(f"candidate {candidate.key} is scored twice; merge the duplicates.")
        seen.add(candidate.key)
        if score < threshold or candidate.case_key == query.case_key:
            continue
        if pair.stored is not None and score <= pair.stored.score:
            continue
        first, second = sorted((query.key, candidate.key))
        decisions.append(
            LinkDecision(
                exhibit_a=first,
                exhibit_b=second,
                score=score,
                cross_border=query.country != candidate.country,
                status=LEAD if pair.stored is None else pair.stored.status,
                new=pair.stored is None,
            )
        )
    return decisions

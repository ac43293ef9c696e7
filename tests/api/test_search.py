"""A search answers every candidate with the strength of the evidence beside ``lead``
(CONTRACT.md "Words of a result"): a calibrated LR when the candidate was compared, and a null
LR with the reason when it was not (``rerank=False``) or when its comparison failed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import api.service.search as search_module
from api.service import EvidenceService
from api.service.search import NOT_COMPARED
from ballistics.calibration import calibration_for
from ballistics.items.records import NO_SCORE, STRENGTH_FIELDS, evidence_strength
from tests.api.synthetic_exhibits import TEST_CONFIG, manifest_rows

TOPOGRAPHY_PAIR = ("topography", "topography")


@pytest.fixture
def stored(tmp_path: Path, exhibits: Path) -> Iterator[tuple[EvidenceService, Path]]:
    """The six synthetic casings stored (not correlated), and one of their files as a query."""
    service = EvidenceService.open(tmp_path / "store", config=TEST_CONFIG, workers=1)
    try:
        service.ingest(exhibits, correlate=False)
        yield service, exhibits.parent / manifest_rows(exhibits)[2]["path"]
    finally:
        service.close()


def test_a_search_without_reranking_gives_every_candidate_a_null_lr_and_says_why(stored):
    service, query = stored
    outcome = service.search(query, top=4, rerank=False)
    assert len(outcome.candidates) == 4
    version = calibration_for("cartridge_case", "topography").version
    for candidate in outcome.as_json()["candidates"]:
        assert {"lead", *STRENGTH_FIELDS} <= set(candidate)
        assert candidate["lead"] is None
        assert candidate["log10_lr"] is None and candidate["lr_interval"] is None
        assert candidate["verbal"] == NOT_COMPARED
        assert candidate["calibration"] == version


def test_a_reranked_search_gives_every_candidate_the_lr_of_its_score(stored):
    service, query = stored
    outcome = service.search(query, top=3)
    for candidate in outcome.as_json()["candidates"]:
        expected = evidence_strength("cartridge_case", TOPOGRAPHY_PAIR, candidate["score"])
        assert isinstance(candidate["lead"], bool)
        assert candidate["log10_lr"] == expected.log10_lr is not None
        assert candidate["lr_interval"] == list(expected.lr_interval or ())
        assert candidate["verbal"] == expected.verbal != NOT_COMPARED


def test_a_failed_comparison_gives_a_null_lr_saying_there_was_no_score(stored, monkeypatch):
    service, query = stored

    def failing(context, mark, keys):
        return {key: (None, "the comparison failed on purpose") for key in keys}

    monkeypatch.setattr(search_module, "compare_with", failing)
    outcome = service.search(query, top=2)
    for candidate in outcome.as_json()["candidates"]:
        assert candidate["error"] == "the comparison failed on purpose"
        assert candidate["lead"] is None
        assert candidate["log10_lr"] is None and candidate["lr_interval"] is None
        assert candidate["verbal"] == NO_SCORE

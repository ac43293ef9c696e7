"""Recorrelating the store: a lowered threshold makes leads of pairs scored before; a second run
writes nothing new; a run interrupted part-way and started again ends where an uninterrupted
one does; the filters. SQLite, in this process (the cluster runs are in test_cluster_hub.py)."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from api.service import EvidenceService
from api.service.recorrelate import recorrelate
from api.store.models import CorrelationResult, Exhibit, ExhibitDescriptor, Link
from tests.api.synthetic_exhibits import TEST_CONFIG, manifest_rows, mates

#: no pair of the synthetic exhibits scores this: an ingest under it stores no link
NO_LEADS = dataclasses.replace(TEST_CONFIG, lead_threshold=1e9)


class RunKilledError(Exception):
    """Stands for a run killed part-way."""


def open_service(folder: Path, config=TEST_CONFIG) -> EvidenceService:
    return EvidenceService.open(folder, config=config, workers=1)


def link_pairs(service: EvidenceService) -> set[tuple[frozenset[str], str, float]]:
    return {
        (frozenset((link["exhibit_a"], link["exhibit_b"])), link["status"], link["score"])
        for link in service.links()
    }


def count(service: EvidenceService, model: type) -> int:
    with service.store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def scored_store(tmp_path: Path, exhibits: Path) -> Iterator[Path]:
    """A store whose six exhibits were ingested and correlated under a threshold too high for
    any lead: every pair scored, no link."""
    folder = tmp_path / "store"
    with open_service(folder, NO_LEADS) as service:
        report = service.ingest(exhibits)
        assert report.correlation is not None and report.correlation.correlated == 6
        assert count(service, Link) == 0
    yield folder


def test_a_lowered_threshold_makes_leads_of_the_mates_without_comparing_again(
    scored_store, exhibits
):
    with open_service(scored_store) as service:
        results_before = count(service, CorrelationResult)
        report = recorrelate(service.context)
        truth = mates(manifest_rows(exhibits))
        pairs = {pair for pair, _, _ in link_pairs(service)}
        assert pairs == {frozenset(pair) for pair in truth.items()}
        assert count(service, CorrelationResult) == results_before
    assert (report.correlated, report.leads, report.failed) == (6, 3, ())
    assert report.comparisons == 0  # scored under this algorithm version already
    assert report.links_created == 3
    assert report.as_json()["failed"] == []


def test_a_second_run_writes_nothing_new(scored_store):
    with open_service(scored_store) as service:
        first = recorrelate(service.context)
        links = link_pairs(service)
        results = count(service, CorrelationResult)
        second = recorrelate(service.context)
        assert link_pairs(service) == links
        assert count(service, CorrelationResult) == results
    assert (second.correlated, second.leads, second.failed) == (
        first.correlated,
        first.leads,
        first.failed,
    )
    assert (second.comparisons, second.links_created) == (0, 0)


def test_a_run_interrupted_part_way_continues_where_it_stopped(tmp_path, exhibits):
    # nothing scored under the current version yet (as after an algorithm change): every pair
    # is compared
    reference = tmp_path / "reference"
    interrupted = tmp_path / "interrupted"
    for folder in (reference, interrupted):
        with open_service(folder, NO_LEADS) as service:
            service.ingest(exhibits, correlate=False)
    with open_service(reference) as service:
        whole = recorrelate(service.context)
        expected = link_pairs(service)

    def stop_before_the_last(stage: str, done: int, total: int) -> None:
        if done == total - 1:
            raise RunKilledError

    with open_service(interrupted) as service:
        with pytest.raises(RunKilledError):
            recorrelate(service.context, progress=stop_before_the_last)
        compared_before = count(service, CorrelationResult)
        resumed = recorrelate(service.context)
        assert link_pairs(service) == expected
    assert compared_before > 0
    assert 0 < resumed.comparisons < whole.comparisons  # only what was left
    assert (resumed.correlated, resumed.leads) == (whole.correlated, whole.leads) == (6, 3)


def test_the_filters_select_by_kind_and_day(scored_store):
    with open_service(scored_store) as service:
        assert recorrelate(service.context, kind="bullet").correlated == 0
        tomorrow = datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=1)
        later = recorrelate(service.context, since=tomorrow)
        assert (later.correlated, later.leads) == (0, 0)
        assert count(service, Link) == 0
        kind = recorrelate(service.context, kind="cartridge_case", since=datetime.date(2000, 1, 1))
        assert (kind.correlated, kind.leads) == (6, 3)


def test_an_exhibit_without_a_current_descriptor_is_named_in_failed(scored_store):
    with open_service(scored_store) as service:
        with service.store.transaction(write=True) as session:
            first = session.scalar(select(Exhibit).order_by(Exhibit.id).limit(1))
            assert first is not None
            exhibit_id = first.exhibit_id
            session.execute(
                update(ExhibitDescriptor)
                .where(ExhibitDescriptor.exhibit_pk == first.id)
                .values(version="old-descriptor")
            )
        report = recorrelate(service.context)
    assert report.correlated == 5
    assert [entry["exhibit_id"] for entry in report.failed] == [exhibit_id]
    assert "ballistics reindex" in report.failed[0]["error"]


def test_a_batch_of_none_is_refused(scored_store):
    with open_service(scored_store) as service, pytest.raises(ValueError, match="at least 1"):
        recorrelate(service.context, batch=0)

"""``GET /metrics``: the hub in the Prometheus text format, for an admin's key only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.network import ADMIN, EXAMINER, LABS, Network, open_network


@pytest.fixture
def idle(tmp_path, exhibit_files, database_url, prepared_scans) -> Iterator[Network]:
    """The API with no job worker (uploads stay queued), on SQLite and on PostgreSQL."""
    yield from open_network(
        tmp_path / "store",
        exhibit_files,
        database_url=database_url,
        prepared=prepared_scans,
        job_worker=False,
    )


def scrape(network: Network) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics as the admin, parsed: {(sample name, sorted labels): value}."""
    answer = network.client.get("/metrics", headers=network.headers(ADMIN))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_metrics_are_refused_without_an_admins_key(idle):
    assert idle.client.get("/metrics").status_code == 401
    assert idle.client.get("/metrics", headers={"X-API-Key": "nonsense"}).status_code == 401
    for agency in (LABS[0][0], EXAMINER):
        assert idle.client.get("/metrics", headers=idle.headers(agency)).status_code == 403


def test_the_queue_its_age_and_the_stored_exhibits_are_counted(idle):
    empty = scrape(idle)
    assert empty[("ballistics_job_queue_length", ())] == 0
    assert empty[("ballistics_job_queue_oldest_seconds", ())] == 0
    assert empty[("ballistics_jobs", (("status", "pending"),))] == 0

    for row in idle.rows[:3]:
        assert idle.upload(row).status_code == 202
    queued = scrape(idle)
    assert queued[("ballistics_job_queue_length", ())] == 3
    assert queued[("ballistics_job_queue_due", ())] == 3
    assert queued[("ballistics_job_queue_oldest_seconds", ())] > 0
    assert queued[("ballistics_jobs", (("status", "pending"),))] == 3
    assert queued[("ballistics_jobs_finished_total", (("outcome", "done"),))] == 0
    exhibits = (("kind", "cartridge_case"), ("status", "queued"))
    assert queued[("ballistics_exhibits", exhibits)] == 3
    partition = (("partition", "cartridge_case/topography"),)
    assert queued[("ballistics_index_vectors", partition)] == 3
    assert queued[("ballistics_process_job_worker", ())] == 0
    health = idle.client.get("/v1/health").json()
    assert health["oldest_pending_job_s"] > 0 and health["jobs"] == {"pending": 3}


def test_finished_jobs_and_comparisons_are_counted(idle):
    from api.service.jobs import JobRunner

    first, second = idle.rows[0], idle.rows[1]  # mates: one lead between them
    for row in (first, second):
        assert idle.upload(row).status_code == 202
    assert JobRunner(idle.service).run_pending() == 2
    done = scrape(idle)
    assert done[("ballistics_job_queue_length", ())] == 0
    assert done[("ballistics_jobs_finished_total", (("outcome", "done"),))] == 2
    assert done[("ballistics_comparisons_total", ())] >= 1
    assert done[("ballistics_links", (("status", "lead"),))] == 1
    correlated = (("kind", "cartridge_case"), ("status", "correlated"))
    assert done[("ballistics_exhibits", correlated)] == 2
    assert idle.client.get("/v1/health").json()["oldest_pending_job_s"] is None

"""``GET /metrics``: the hub in the Prometheus text format, for an operator (an admin's key).

Everything a hub's operator needs to see it falling behind lives in the database, which every
process shares: the queue (its length, the jobs due now, the age of its oldest pending job),
jobs per status, comparisons recorded, links and exhibits. Those are read at each scrape by a
custom collector (``prometheus_client``'s pattern for values owned elsewhere), so any API
process answers the same numbers whichever one Prometheus asks, and a restart loses nothing.
Only the vector index is the answering process's own (labelled by partition); this process's
runner and listener say whether it runs jobs and hears other processes' changes.

Rates come from the counters in PromQL: jobs finished per second
``rate(ballistics_jobs_finished_total[5m])``, comparisons per second
``rate(ballistics_comparisons_total[5m])``; a hub falls behind when
``ballistics_job_queue_oldest_seconds`` keeps growing.

The admin key is checked before the route runs (:class:`api.web.access.RequireApiKey`).
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from api.service.core import EvidenceService
from api.store.repository.jobs import queue_stats
from api.store.repository.metrics import (
    comparisons_recorded,
    exhibits_by_kind_and_status,
    links_by_status,
)
from api.web.access import ADMIN, CurrentCaller, Service, require_role
from api.web.routes._common import AUTH_ERRORS

router = APIRouter(tags=["health"])

#: job statuses always reported (0 when none), so that a dashboard's series never vanish
JOB_STATUSES = ("pending", "running", "done", "failed")


class HubCollector(Collector):
    """Collects the hub's metrics from the database and this process's index at each scrape.

    Parameters
    ----------
    service
        The open service (its store and vector index).
    job_worker
        Whether this process runs correlation jobs.
    listening
        Whether this process hears other processes' changes (PostgreSQL notifications).
    """

    def __init__(self, service: EvidenceService, *, job_worker: bool, listening: bool) -> None:
        self.service = service
        self.job_worker = job_worker
        self.listening = listening

    def collect(self) -> Iterator[Metric]:
        with self.service.store.transaction() as session:
            queue = queue_stats(session)
            exhibits = exhibits_by_kind_and_status(session)
            links = links_by_status(session)
            comparisons = comparisons_recorded(session)
        yield GaugeMetricFamily(
            "ballistics_job_queue_length", "Correlation jobs waiting for a worker.", queue.pending
        )
        yield GaugeMetricFamily(
            "ballistics_job_queue_due", "Waiting jobs a worker may take now.", queue.due
        )
        yield GaugeMetricFamily(
            "ballistics_job_queue_oldest_seconds",
            "Seconds since the oldest waiting job was queued (0: none waiting).",
            queue.oldest_pending_s or 0.0,
        )
        jobs = GaugeMetricFamily(
            "ballistics_jobs", "Correlation jobs per status.", labels=["status"]
        )
        for status in sorted(set(JOB_STATUSES) | set(queue.by_status)):
            jobs.add_metric([status], queue.by_status.get(status, 0))
        yield jobs
        finished = CounterMetricFamily(
            "ballistics_jobs_finished",
            "Jobs finished for good: done, or failed with no attempt left.",
            labels=["outcome"],
        )
        for outcome in ("done", "failed"):
            finished.add_metric([outcome], queue.by_status.get(outcome, 0))
        yield finished
        yield CounterMetricFamily(
            "ballistics_comparisons",
            "Comparison results recorded (the highest result id).",
            comparisons,
        )
        yield from self._store_families(exhibits, links)
        yield from self._process_families()

    def _store_families(
        self, exhibits: dict[tuple[str, str], int], links: dict[str, int]
    ) -> Iterator[Metric]:
        stored = GaugeMetricFamily(
            "ballistics_exhibits",
            "Exhibits stored, per kind and status.",
            labels=["kind", "status"],
        )
        for (kind, status), count in sorted(exhibits.items()):
            stored.add_metric([kind, status], count)
        yield stored
        linked = GaugeMetricFamily("ballistics_links", "Links per status.", labels=["status"])
        for status, count in sorted(links.items()):
            linked.add_metric([status], count)
        yield linked

    def _process_families(self) -> Iterator[Metric]:
        index = self.service.index
        vectors = GaugeMetricFamily(
            "ballistics_index_vectors",
            "Vectors in this process's index, per partition (kind/modality).",
            labels=["partition"],
        )
        for kind, modality in sorted(index.partitions()):
            vectors.add_metric([f"{kind}/{modality}"], index.count((kind, modality)))
        yield vectors
        yield GaugeMetricFamily(
            "ballistics_index_generation",
            "The store's change counter this process's index is in step with.",
            self._seen_generation(),
        )
        yield GaugeMetricFamily(
            "ballistics_process_job_worker",
            "1 when this process runs correlation jobs.",
            int(self.job_worker),
        )
        yield GaugeMetricFamily(
            "ballistics_process_listening",
            "1 when this process hears other processes' changes at once (PostgreSQL).",
            int(self.listening),
        )

    def _seen_generation(self) -> int:
        seen = self.service.index_state.seen
        return 0 if seen is None else seen.generation


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        **AUTH_ERRORS,
        200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}, "description": "metrics"},
    },
    summary="Prometheus metrics (admins)",
)
def metrics(request: Request, service: Service, caller: CurrentCaller) -> Response:
    """The hub's queue, jobs, comparisons, links, exhibits and this process's index, in the
    Prometheus text format; needs an admin's ``X-API-Key``."""
    require_role(caller, ADMIN, action="reading the metrics")
    runner = getattr(request.app.state, "job_runner", None)
    listener = getattr(request.app.state, "change_listener", None)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        HubCollector(
            service,
            job_worker=runner is not None and runner.running,
            listening=listener is not None and listener.listening.is_set(),
        )
    )
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

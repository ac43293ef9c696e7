"""``ballistics worker``: run the store's correlation jobs, with no HTTP, until told to stop.

The same job runner as ``ballistics serve`` runs in-process (:mod:`api.service.jobs`), with the
same settings (``BALLISTICS_LEAD_THRESHOLD``, ``BALLISTICS_TOP_K``,
``BALLISTICS_JOB_STALE_AFTER_S``), so that a hub can run its API processes with ``serve
--no-jobs`` and its correlation on as many ``worker`` processes, on as many machines, as it
needs: all on one PostgreSQL database (``$BALLISTICS_DATABASE_URL``). SIGTERM or Ctrl-C stops
it gracefully (:class:`api.service.jobs_worker.JobWorker`).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from api.cli.options import DEFAULT_STORE, DebugOption, StoreOption, WorkersOption

#: the signals that stop a worker gracefully
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def worker(
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            min=1,
            envvar="BALLISTICS_WORKER_CONCURRENCY",
            help="Jobs run at once, one thread each; their comparisons share the --workers "
            "processes.",
        ),
    ] = 1,
    grace_s: Annotated[
        float,
        typer.Option(
            "--grace-s",
            min=0,
            help="On SIGTERM or Ctrl-C, seconds the running jobs have to finish before they "
            "are handed back to the queue for another worker.",
        ),
    ] = 30.0,
    workers: WorkersOption = None,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Run correlation jobs from the database queue (no HTTP) until SIGTERM or Ctrl-C.

    Run one per machine (or group of cores) beside `ballistics serve --no-jobs`, all on one
    PostgreSQL database ($BALLISTICS_DATABASE_URL). Other settings from BALLISTICS_*.
    """
    from api.service import database_url_from_environment
    from api.service.jobs_worker import JobWorker
    from api.web.app import open_service
    from api.web.settings import ApiSettings

    del debug  # read by main()
    changes: dict[str, Any] = {"store": store, "compare_workers": workers or 0}
    database_url = database_url_from_environment()
    if database_url is not None:
        changes["database_url"] = database_url
    settings = ApiSettings(**changes)
    stop = threading.Event()
    with _stopped_by_signals(stop), open_service(settings) as service:
        job_worker = JobWorker(
            service, concurrency=concurrency, stale_after_s=settings.job_stale_after_s
        )
        _say(
            f"taking correlation jobs from the {service.store.backend} database of {store}, "
            f"{concurrency} at once; SIGTERM or Ctrl-C stops after the running jobs"
        )
        report = job_worker.run_until(stop, grace_s=grace_s)
        try:  # the next start reads only what is new
            service.save_index()
        except OSError as error:
            _say(f"the vector index was not saved ({error}); the next start rebuilds more")
    _say(
        f"stopped: {report.jobs_done} jobs done, {report.jobs_failed} failed, "
        f"{report.jobs_released} handed back to the queue"
    )


def _say(message: str) -> None:
    sys.stderr.write(f"ballistics worker: {message}\n")
    sys.stderr.flush()


@contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGTERM or SIGINT while the block runs (main thread only), then restore
    the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {number: signal.getsignal(number) for number in STOP_SIGNALS}

    def request_stop(number: int, frame: object) -> None:
        del frame
        _say(f"{signal.Signals(number).name}: stopping after the running jobs")
        stop.set()

    for number in STOP_SIGNALS:
        signal.signal(number, request_stop)
    try:
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)

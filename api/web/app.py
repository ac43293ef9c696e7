"""The FastAPI application: the service opened once in the lifespan, routers, error handlers.

>>> app = create_app(ApiSettings(store="ballistics-data"))      # doctest: +SKIP
>>> uvicorn.run(app)                                            # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import Depends, FastAPI

from api.service.config import DEFAULT_SERVICE_CONFIG
from api.service.core import EvidenceService
from api.service.jobs_worker import BackgroundJobs
from api.store import repository
from api.store.repository.jobs import queue_stats
from api.web.access import RequireApiKey, Service
from api.web.docs import install_docs
from api.web.errors import BodySizeLimit, install_error_handlers, refuse_nul_characters
from api.web.routes import audit, cases, compare, exhibits, links, metrics, search
from api.web.schemas import Health
from api.web.sessions import install_sessions
from api.web.settings import ApiSettings, get_settings
from api.web.ui import install_ui

logger = logging.getLogger(__name__)


def _package_version() -> str:
    try:
        return version("ballistics")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def open_service(settings: ApiSettings) -> EvidenceService:
    """Open the store the settings name, with the service configuration they imply."""
    config = DEFAULT_SERVICE_CONFIG
    if settings.lead_threshold is not None:
        config = dataclasses.replace(config, lead_threshold=settings.lead_threshold)
    if settings.top_k is not None:
        config = dataclasses.replace(config, top_k=settings.top_k)
    return EvidenceService.open(
        settings.store,
        database_url=settings.database_url,
        originals_url=settings.originals_url,
        config=config,
        workers=settings.compare_workers or None,
    )


def create_app(
    settings: ApiSettings | None = None, *, service: EvidenceService | None = None
) -> FastAPI:
    """Build the application.

    Parameters
    ----------
    settings
        How to run; None reads them from the environment when the application starts.
    service
        An open service to serve (tests, the demo); None opens the store of the settings in
        the lifespan and closes it at shutdown.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        active = settings if settings is not None else get_settings()
        owned = service is None
        opened = open_service(active) if owned else service
        assert opened is not None
        app.state.settings = active
        app.state.service = opened
        background = BackgroundJobs.start(
            opened, run_jobs=active.job_worker, stale_after_s=active.job_stale_after_s
        )
        app.state.job_runner = background.runner
        app.state.change_listener = background.listener
        logger.info("serving the store %s", active.store)
        try:
            yield
        finally:
            background.stop()
            if owned:
                opened.close()

    app = FastAPI(
        title="Ballistic image comparison engine",
        version=_package_version(),
        description=(
            "Upload cartridge-case scans, follow their correlation against the network's store, "
            "review leads, confirm hits and follow one firearm's incidents across borders. "
            "Every route but /v1/health needs the X-API-Key header of an agency "
            "(`ballistics agency add`)."
        ),
        lifespan=lifespan,
        # served from the package by install_docs: FastAPI's own pages load a CDN
        docs_url=None,
        redoc_url=None,
        # NUL in a parameter is a 422 naming it, checked before every route's own code
        dependencies=[Depends(refuse_nul_characters)],
    )
    # the last added runs first: the key is checked before anything reads the body
    app.add_middleware(BodySizeLimit, limit_bytes=(settings or get_settings()).max_upload_bytes)
    app.add_middleware(RequireApiKey)
    # the review station's sessions are resolved before anything reads a page's body
    install_sessions(app)
    install_error_handlers(app)
    install_docs(app)
    install_ui(app)

    @app.get("/v1/health", response_model=Health, tags=["health"], summary="Liveness")
    def health(service: Service) -> Health:
        """Whether the server is up, and what it has loaded (no key needed)."""
        with service.store.transaction() as session:
            count = repository.count_exhibits(session)
            queue = queue_stats(session)
        partitions = {
            f"{kind}/{modality}": service.index.count((kind, modality))
            for kind, modality in service.index.partitions()
        }
        runner = getattr(app.state, "job_runner", None)
        listener = getattr(app.state, "change_listener", None)
        return Health(
            status="ok",
            version=_package_version(),
            database=service.store.backend,
            exhibits=int(count),
            index=partitions,
            jobs=queue.by_status,
            job_worker=runner is not None and runner.running,
            oldest_pending_job_s=queue.oldest_pending_s,
            listening=listener is not None and listener.listening.is_set(),
        )

    for module in (exhibits, search, links, cases, compare, audit, metrics):
        app.include_router(module.router)
    return app

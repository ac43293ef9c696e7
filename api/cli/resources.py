"""The store and the service the commands work on, opened from ``--store`` and the environment.

``$BALLISTICS_DATABASE_URL`` and ``$BALLISTICS_ORIGINALS_URL`` are read when a command opens
them, never at import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.service import EvidenceService, ServiceConfig
    from api.store.database import Store


def service_config(
    *, top_k: int | None = None, lead_threshold: float | None = None
) -> ServiceConfig:
    """Return the default service settings with the options the command was given."""
    from api.service import DEFAULT_SERVICE_CONFIG

    changes: dict[str, Any] = {}
    if top_k is not None:
        changes["top_k"] = top_k
    if lead_threshold is not None:
        changes["lead_threshold"] = lead_threshold
    return dataclasses.replace(DEFAULT_SERVICE_CONFIG, **changes)


def open_service(
    store: Path,
    *,
    workers: int | None,
    config: ServiceConfig | None = None,
    create: bool = True,
    load_index: bool = True,
    cluster: str | None = None,
) -> EvidenceService:
    """Open the service on ``--store`` and ``$BALLISTICS_DATABASE_URL`` (read when called), its
    heavy work on ``workers`` local processes or on the Dask scheduler ``cluster``."""
    from api.service import (
        DEFAULT_SERVICE_CONFIG,
        EvidenceService,
        database_url_from_environment,
        originals_url_from_environment,
    )

    return EvidenceService.open(
        store,
        database_url=database_url_from_environment(),
        originals_url=originals_url_from_environment(),
        config=config or DEFAULT_SERVICE_CONFIG,
        workers=workers,
        create=create,
        load_index=load_index,
        cluster=cluster,
    )


@contextmanager
def opened_store(store: Path, *, create: bool) -> Iterator[Store]:
    """Yield the store on ``--store`` and ``$BALLISTICS_DATABASE_URL``, closing it after.

    With ``create`` False a folder without a SQLite store is refused rather than made one, as
    the commands that only read or change what is there do (`links`, `search`).
    """
    from api.service import database_url_from_environment, originals_url_from_environment
    from api.store.database import SQLITE_FILE_NAME, open_store
    from ballistics.errors import EvidenceError

    database_url = database_url_from_environment()
    if not create and database_url is None and not (store / SQLITE_FILE_NAME).is_file():
        raise EvidenceError(
            str(store),
            f"no evidence store here (no {SQLITE_FILE_NAME}); give --store DIR, or create "
            "agencies first with `ballistics agency add`",
        )
    store_handle = open_store(
        store, database_url=database_url, originals_url=originals_url_from_environment()
    )
    try:
        yield store_handle
    finally:
        store_handle.close()

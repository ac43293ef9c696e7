"""Settings of the HTTP API, read from ``BALLISTICS_*`` environment variables when asked for."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits


class ApiSettings(BaseSettings):
    """How ``ballistics serve`` runs; each field is the environment variable ``BALLISTICS_<NAME>``.

    Parameters
    ----------
    store
        The store folder (``$BALLISTICS_STORE``), as for every command.
    database_url
        A database URL replacing the folder's SQLite file (``$BALLISTICS_DATABASE_URL``).
    originals_url
        Where the original files are kept, a folder or an fsspec URL such as
        ``s3://bucket/originals`` shared by every machine (``$BALLISTICS_ORIGINALS_URL``);
        unset: the store folder's ``originals``.
    host, port
        Where the server listens.
    max_upload_mb
        Largest request body accepted (all files of one upload together); larger ones get 413
        before they are read.
    max_image_points
        Largest grid of one uploaded file (X3P points or image pixels), checked from the header
        before decoding; larger ones get 413.
    compare_workers
        Processes for preparation and comparison (0: every core).
    job_worker
        Run the correlation jobs in this process (a background thread). False leaves them to
        another process running the same store.
    job_stale_after_s
        A running job whose worker has been silent this long is taken over (after a crash).
    lead_threshold
        Score from which a pair of cartridge cases becomes a lead; unset: the comparison's
        calibrated threshold.
    top_k
        Candidates each new exhibit is compared with (unset: the service's 50). Correlation
        costs one comparison per candidate, so a server that must keep up with bursts of
        uploads on few cores may lower it; the descriptor finds true mates within the top 10
        on the real scans measured (README).
    session_hours
        How long a sign-in to the review station lasts (``BALLISTICS_SESSION_HOURS``).
    secure_cookies
        Mark the session cookie ``Secure`` even when the request arrived over plain HTTP: for a
        server behind a proxy that ends TLS (``BALLISTICS_SECURE_COOKIES``). Requests that
        arrive over HTTPS get ``Secure`` cookies anyway.
    """

    model_config = SettingsConfigDict(env_prefix="BALLISTICS_", extra="ignore", frozen=True)

    store: Path = Path("ballistics-data")
    database_url: str | None = None
    originals_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_upload_mb: float = Field(default=256.0, gt=0)
    max_image_points: int = Field(default=DEFAULT_LIMITS.max_points, gt=0)
    compare_workers: int = Field(default=0, ge=0)
    job_worker: bool = True
    job_stale_after_s: float = Field(default=30.0, gt=0)
    lead_threshold: float | None = None
    top_k: int | None = Field(default=None, ge=1)
    session_hours: float = Field(default=12.0, gt=0)
    secure_cookies: bool = False

    @field_validator("originals_url")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @property
    def max_upload_bytes(self) -> int:
        """``max_upload_mb`` in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def read_limits(self) -> ReadLimits:
        """The readers' limits for uploaded files: these settings' size and grid bounds."""
        return dataclasses.replace(
            DEFAULT_LIMITS,
            max_file_bytes=self.max_upload_bytes,
            max_points=self.max_image_points,
        )


@functools.lru_cache(maxsize=1)
def get_settings() -> ApiSettings:
    """Return the settings from the environment (read once, on first use)."""
    return ApiSettings()

"""Request and answer models of the HTTP API (their JSON is the contract's)."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

LinkStatus = Literal["lead", "confirmed", "rejected"]
DecisionMethod = Literal["images", "microscope"]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Health(_Answer):
    """``GET /v1/health``."""

    status: Literal["ok"]
    version: str
    database: str
    exhibits: int
    index: dict[str, int] = Field(description="vectors per (kind/modality) partition")
    jobs: dict[str, int] = Field(description="correlation jobs per status")
    job_worker: bool
    oldest_pending_job_s: float | None = Field(
        default=None, description="seconds the oldest waiting job has waited (null: none)"
    )
    listening: bool = Field(
        default=False,
        description="whether other processes' new exhibits and jobs are heard at once "
        "(PostgreSQL notifications)",
    )


class PhotoWarningPublic(_Answer):
    """What a lab should change in a photograph (:mod:`ballistics.casing.photo_quality`)."""

    code: Literal["too_coarse", "blurred", "over_exposed", "under_exposed", "noisy"]
    message: str


class ExhibitCreated(_Answer):
    """``POST /v1/exhibits``: 202 when new (queued for correlation), 201 for a repeat already
    correlated, with ``created`` False for a repeat."""

    id: str
    exhibit_id: str
    status: Literal["queued", "correlated", "failed"]
    created: bool
    sha256: str
    warnings: list[PhotoWarningPublic] = Field(
        default_factory=list,
        description="a photograph's quality findings, each with a sentence saying what to "
        "change when taking it again (stored anyway); empty for a good photograph, a 3D scan "
        "and a repeat",
    )


class ExhibitPublic(_Answer):
    """``GET /v1/exhibits/{id}``: everything for the uploading agency; for others the
    references a link needs (``restricted`` True, images and file details left out when the
    exhibit was not shared)."""

    id: str
    exhibit_id: str
    case_id: str
    agency: str
    country: str
    kind: str
    caliber: str | None
    status: str
    shared: bool
    restricted: bool
    modality: str | None = None
    pixel_um: float | None = None
    occurred_on: datetime.date | None = None
    created_at: datetime.datetime | None = None
    sha256: str | None = None
    files: list[dict[str, object]] | None = None
    metadata: dict[str, object] | None = None
    job: dict[str, object] | None = None
    image_url: str | None = None
    warnings: list[PhotoWarningPublic] | None = Field(
        default=None,
        description="the uploading agency's photograph's quality warnings (null for others)",
    )


#: what each strength field holds (CONTRACT.md "Words of a result"); for stored results computed
#: from the stored score when read, with the current calibration (``calibration`` names it)
STRENGTH_DESCRIPTIONS = {
    "log10_lr": "log10 likelihood ratio of 'one firearm fired both' against 'different firearms "
    "fired them'; null where the kind or modality is not calibrated on casework-like data",
    "lr_interval": "[low, high] of log10_lr (bootstrap over firearms), or null",
    "verbal": "the ENFSI verbal equivalent, or a sentence saying why there is no LR",
    "calibration": "the version of the calibration that gave log10_lr",
}


def _strength(name: str) -> Any:
    return Field(default=None, description=STRENGTH_DESCRIPTIONS[name])


class CandidatePublic(BaseModel):
    """One candidate, as ``ballistics search`` prints it, with the exhibit's ``id``."""

    model_config = ConfigDict(extra="allow")

    id: str
    exhibit_id: str
    case_id: str
    agency: str
    country: str
    score: float
    rank: int
    lead: bool | None = Field(
        default=None,
        description="the score reached the lead threshold: worth an examiner's time, not an "
        "identification",
    )
    log10_lr: float | None = _strength("log10_lr")
    lr_interval: list[float] | None = _strength("lr_interval")
    verbal: str | None = _strength("verbal")
    calibration: str | None = _strength("calibration")
    same_source: bool | None = Field(
        default=None, deprecated=True, description="deprecated alias of lead (one release)"
    )
    cmc_count: int | None = None


class Candidates(_Answer):
    """``GET /v1/exhibits/{id}/candidates`` and ``POST /v1/search``."""

    candidates: list[CandidatePublic]
    status: str | None = Field(default=None, description="the exhibit's correlation status")
    query: dict[str, object] | None = None
    reranked: bool | None = None
    elapsed_s: float | None = None


class LinkPublic(_Answer):
    """One link, as ``ballistics links`` prints it, with its ``id`` and the decision."""

    id: str
    exhibit_a: str
    exhibit_b: str
    exhibit_a_id: str
    exhibit_b_id: str
    case_a: str
    case_b: str
    agency_a: str
    agency_b: str
    country_a: str
    country_b: str
    score: float
    log10_lr: float | None = _strength("log10_lr")
    lr_interval: list[float] | None = _strength("lr_interval")
    verbal: str | None = _strength("verbal")
    calibration: str | None = _strength("calibration")
    cross_border: bool
    status: LinkStatus
    decided_by: str | None = None
    decided_at: datetime.datetime | None = None
    comment: str | None = None
    decision_method: DecisionMethod | None = None
    overlay_url: str


class Links(_Answer):
    """``GET /v1/links``."""

    links: list[LinkPublic]


class Decision(BaseModel):
    """``POST /v1/links/{id}/confirm`` and ``/reject``: the examiner's reasons, the status they
    saw and how they decided."""

    model_config = ConfigDict(extra="forbid")

    comment: str = Field(default="", max_length=4000)
    expected_status: LinkStatus | None = Field(
        default=None,
        description="the status the examiner saw; when the link's status is another, the "
        "answer is 409 and nothing changes",
    )
    method: DecisionMethod = Field(
        default="images",
        description="how the examiner decided: on the images, or with the exhibits under a "
        "comparison microscope",
    )


class LinkedCase(_Answer):
    """One incident linked to the asked case through confirmed hits."""

    case_id: str
    agency: str
    country: str
    occurred_on: datetime.date | None


class LinkedCases(_Answer):
    """``GET /v1/cases/{case_id}/linked``."""

    case: LinkedCase
    cases: list[LinkedCase]


class AuditLine(_Answer):
    """One line of the audit log."""

    id: int
    at: datetime.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, object] | None


class AuditLog(_Answer):
    """``GET /v1/audit``."""

    entries: list[AuditLine]

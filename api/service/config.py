"""Settings of the evidence service and the names derived from them (versions, classes, partitions).

Versions name what produced a stored value, the way hloc names a feature file after its
configuration: a mark is tagged with a digest of the preparation settings, a correlation
result with the descriptor version and a digest of the comparison settings, so that results of
different settings are never mixed and a change of settings is visible in the store.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from api.store.database import DATABASE_URL_VARIABLE
from api.store.originals import ORIGINALS_URL_VARIABLE
from ballistics.bullet import DEFAULT_BULLET_CONFIG, BulletConfig
from ballistics.casing.compare import DEFAULT_COMPARE_CONFIG, CompareConfig
from ballistics.casing.prepare import PrepareConfig
from ballistics.descriptors import DESCRIPTOR_DIMENSION
from ballistics.items import REGISTRY, ItemKind, kind_spec
from ballistics.surface import Modality
from indexer import IndexConfig, Partition

#: the class code of exhibits of unknown calibre
UNKNOWN_CALIBER_CLASS = 0
_CALIBER_NOISE = re.compile(r"[^0-9a-z]+")
# class codes are 62-bit: non-negative int64, never 0 (unknown), with room to spare
_CLASS_BITS = 62
#: every descriptor version the service computes (one per kind)
CURRENT_DESCRIPTOR_VERSIONS = tuple(spec.descriptor_version for spec in REGISTRY.values())
#: the vector index holds every kind's vectors (in separate partitions): its version names all
INDEX_DESCRIPTOR_VERSION = "+".join(CURRENT_DESCRIPTOR_VERSIONS)


@dataclass(frozen=True)
class ServiceConfig:
    """How the service prepares, indexes, searches and links; change one field with
    :func:`dataclasses.replace`.

    Parameters
    ----------
    top_k
        Candidates taken from the vector index and re-ranked by the pairwise comparison, per
        new exhibit (ingest) and per search (at least the number of results asked for). The
        descriptor only has to bring the true mates into these; the comparison orders them.
    lead_threshold
        Cartridge cases: comparison score from which a pair of exhibits of different cases
        becomes a ``lead`` link; None: the comparison's own calibrated ``lead``
        threshold of the modality (:meth:`~ballistics.casing.compare.CompareConfig.threshold_for`).
    bullet_lead_threshold
        The same for bullets (their score is a correlation, 0-1); None: the bullet
        comparison's ``lead_threshold``.
    index_save_every
        During an ingest the vector index is saved after this many new exhibits, and at the
        end. The database is the truth, so an index left behind by a killed ingest is only
        stale, and reconciled when the store is next opened.
    worker_cache_marks
        Prepared marks (resampled for comparison) each worker process keeps, so that a casing
        compared with many others is decoded and resampled once.
    prepare, compare, index
        Settings of preparation, comparison and the vector index.
    bullet
        Settings of the bullet pipeline (preparation and comparison of lands).
    """

    top_k: int = 50
    lead_threshold: float | None = None
    bullet_lead_threshold: float | None = None
    index_save_every: int = 100
    worker_cache_marks: int = 64
    prepare: PrepareConfig = field(default_factory=PrepareConfig)
    compare: CompareConfig = DEFAULT_COMPARE_CONFIG
    index: IndexConfig = field(default_factory=IndexConfig)
    bullet: BulletConfig = DEFAULT_BULLET_CONFIG

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ValueError(f"top_k must be at least 1 (candidates re-ranked), got {self.top_k}.")
        if self.index_save_every < 1:
            raise ValueError(f"index_save_every must be at least 1, got {self.index_save_every}.")
        if self.worker_cache_marks < 2:
            raise ValueError(
                f"worker_cache_marks must be at least 2 (a pair), got {self.worker_cache_marks}."
            )
        if self.lead_threshold is not None and not math.isfinite(self.lead_threshold):
            raise ValueError(
                f"lead_threshold must be a finite score or None, got {self.lead_threshold!r}."
            )

    def lead_threshold_for(
        self, modality: Modality | str, *, kind: ItemKind | str = ItemKind.CARTRIDGE_CASE
    ) -> float:
        """Return the score from which a pair of this kind and modality becomes a lead."""
        return kind_spec(kind).lead_threshold(self, modality)


DEFAULT_SERVICE_CONFIG = ServiceConfig()


def settings_digest(settings: object) -> str:
    """Return 12 hex digits naming a frozen settings object by its field values."""
    return hashlib.sha256(repr(settings).encode("utf-8")).hexdigest()[:12]


def preparation_version(
    config: ServiceConfig, *, kind: ItemKind | str = ItemKind.CARTRIDGE_CASE
) -> str:
    """Return the version stored with each prepared mark: ``<kind>-prep-<digest>`` of the
    kind's preparation settings (``casing-prep-...``, ``bullet-prep-...``)."""
    spec = kind_spec(kind)
    return f"{spec.version_prefix}-prep-{settings_digest(spec.preparation_settings(config))}"


def algorithm_version(
    config: ServiceConfig,
    descriptor_version: str,
    *,
    kind: ItemKind | str = ItemKind.CARTRIDGE_CASE,
) -> str:
    """Return the version stored with each correlation result and link.

    The descriptor version (which candidates were found) and a digest of the comparison
    settings of the kind (how they were scored), at most 64 characters as the store requires.
    """
    settings = kind_spec(kind).comparison_settings(config)
    return f"{descriptor_version[:40]}+cmp-{settings_digest(settings)}"[:64]


def descriptor_version_for(kind: ItemKind | str) -> str:
    """Return the current descriptor version of exhibits of ``kind``."""
    return kind_spec(kind).descriptor_version


def index_vector(vector: np.ndarray) -> np.ndarray:
    """Return a descriptor as the vector index holds it: float32 of the index's dimension.

    Bullet descriptors are shorter than the casing ones; they are padded with zeros, which
    changes no cosine similarity (they live in their own partition anyway).
    """
    vector = np.asarray(vector, dtype=np.float32).ravel()
    if vector.size > DESCRIPTOR_DIMENSION:
        raise ValueError(
            f"a descriptor has {vector.size} values, more than the index's "
            f"{DESCRIPTOR_DIMENSION}; raise DESCRIPTOR_DIMENSION or shorten the descriptor."
        )
    if vector.size == DESCRIPTOR_DIMENSION:
        return vector
    return np.concatenate([vector, np.zeros(DESCRIPTOR_DIMENSION - vector.size, np.float32)])


def normalise_caliber(caliber: str) -> str:
    """Return the calibre text used for class codes: letters and digits only, lower case.

    ``"9mm Luger"``, ``"9 MM luger"`` and ``"9mm-Luger"`` are the same calibre; synonyms
    written differently (``"9x19"``) are not recognised and get their own class.
    """
    text = unicodedata.normalize("NFKC", caliber).casefold()
    return _CALIBER_NOISE.sub("", text)


def caliber_class(caliber: str | None) -> int:
    """Return the vector index's class code of a calibre.

    A stable function of the normalised text (the first 62 bits of its SHA-256, plus one), so
    that every process and every rebuild gives the same code with no table to keep; 0 stands
    for an unknown calibre (None, empty, or no letter or digit).
    """
    if caliber is None:
        return UNKNOWN_CALIBER_CLASS
    text = normalise_caliber(caliber)
    if not text:
        return UNKNOWN_CALIBER_CLASS
    digest = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    return (digest >> (64 - _CLASS_BITS)) + 1


def allowed_classes(caliber: str | None) -> list[int] | None:
    """Return the classes a search of this calibre admits (None: all).

    A query of known calibre is compared with exhibits of that calibre and with exhibits whose
    calibre was not recorded (they may be of any); a query of unknown calibre with everything.
    """
    code = caliber_class(caliber)
    if code == UNKNOWN_CALIBER_CLASS:
        return None
    return [code, UNKNOWN_CALIBER_CLASS]


def partition_of(kind: str, modality: str | Modality) -> Partition:
    """Return the vector index partition of an exhibit: (kind, modality).

    Topographies and photographs are never compared with each other, nor cartridge cases with
    bullets, so each pair has its own index.
    """
    return (str(kind), str(Modality(modality)))


def database_url_from_environment() -> str | None:
    """Return ``$BALLISTICS_DATABASE_URL`` (None when unset or empty); read when called."""
    return os.environ.get(DATABASE_URL_VARIABLE, "").strip() or None


def originals_url_from_environment() -> str | None:
    """Return ``$BALLISTICS_ORIGINALS_URL`` (None when unset or empty); read when called."""
    return os.environ.get(ORIGINALS_URL_VARIABLE, "").strip() or None

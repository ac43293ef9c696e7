"""What every kind of mark must be able to do: the :class:`KindSpec` contract, and settings.

One spec per kind (:mod:`ballistics.items.registry`): read an item into its prepared mark,
describe it for retrieval, encode and decode it for storage, compare two of them into a
:class:`~ballistics.items.records.ComparisonRecord`, and name the versions and thresholds of
all that. A new kind of mark is one new spec; the application never asks which kind it holds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np

from ballistics.bullet.config import DEFAULT_BULLET_CONFIG, BulletConfig
from ballistics.casing.compare import DEFAULT_COMPARE_CONFIG, CompareConfig
from ballistics.casing.prepare import PrepareConfig
from ballistics.io.files import Source
from ballistics.io.intake_orientation import AS_STORED
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits
from ballistics.items.kinds import ItemKind
from ballistics.surface import Modality

if TYPE_CHECKING:
    from pathlib import Path

    from ballistics.items.encoding import DecodedMark
    from ballistics.items.records import ComparisonRecord


class EngineSettings(Protocol):
    """The settings every kind reads its own part of (a service's configuration has them)."""

    @property
    def prepare(self) -> PrepareConfig: ...

    @property
    def compare(self) -> CompareConfig: ...

    @property
    def bullet(self) -> BulletConfig: ...

    @property
    def lead_threshold(self) -> float | None: ...

    @property
    def bullet_lead_threshold(self) -> float | None: ...


@dataclass(frozen=True)
class ItemSettings:
    """How items are prepared and compared, for every kind; satisfies :class:`EngineSettings`.

    Parameters
    ----------
    prepare, compare
        Preparation and comparison of cartridge cases.
    bullet
        Preparation and comparison of bullets' lands.
    lead_threshold, bullet_lead_threshold
        Scores from which a pair becomes a lead, replacing the comparison's calibrated one
        (None: the calibrated one).
    """

    prepare: PrepareConfig = field(default_factory=PrepareConfig)
    compare: CompareConfig = DEFAULT_COMPARE_CONFIG
    bullet: BulletConfig = DEFAULT_BULLET_CONFIG
    lead_threshold: float | None = None
    bullet_lead_threshold: float | None = None


DEFAULT_ITEM_SETTINGS = ItemSettings()


@dataclass(frozen=True, eq=False)
class Extracted:
    """An item read from its files and prepared in this process.

    Parameters
    ----------
    mark
        The prepared mark (``PreparedCasing``, ``PreparedBullet``...).
    encoded
        Its storage encoding (:mod:`ballistics.items.encoding`).
    descriptor
        Its float32 retrieval vector.
    modality
        ``"topography"`` or ``"photograph"``.
    pixel_um
        Micrometres per pixel of the scan it was read from.
    warnings
        What a lab should change in its photograph
        (:class:`~ballistics.casing.photo_quality.PhotoWarning`); none for a 3D scan.
    """

    mark: Any
    encoded: bytes
    descriptor: np.ndarray
    modality: str
    pixel_um: float
    warnings: tuple[Any, ...] = ()


MarkT = TypeVar("MarkT")
ComparableT = TypeVar("ComparableT")

#: an item's files as (name, bytes), in order
ItemFiles = list[tuple[str, bytes]]


class KindSpec(ABC, Generic[MarkT, ComparableT]):
    """What one kind of mark does; one instance per kind, in the registry.

    ``MarkT`` is the prepared mark; ``ComparableT`` what a comparison takes (the mark made
    ready once, e.g. resampled, so that one mark compared with many is prepared for it once).
    """

    kind: ClassVar[ItemKind]
    #: the kind in a sentence: "a cartridge case"
    noun: ClassVar[str]
    #: True when an item is exactly one file (several files are refused)
    single_file: ClassVar[bool]
    #: True when its marks carry the rifling's class characteristics (land count, twist), by
    #: which a barrel can be ruled out before any comparison
    rifled: ClassVar[bool]
    #: first word of the versions that name this kind's settings ("casing-prep-<digest>")
    version_prefix: ClassVar[str]
    #: version of the retrieval vectors :meth:`describe` computes
    descriptor_version: ClassVar[str]

    @abstractmethod
    def read(
        self,
        path: Path,
        *,
        pixel_um: float | None,
        settings: EngineSettings,
        orientation: str = AS_STORED,
        caliber: str | None = None,
    ) -> MarkT:
        """Read the item at ``path`` and return its prepared mark (``orientation``: what the lab
        declared, :mod:`ballistics.io.intake_orientation`; ``caliber``: a photograph without a
        resolution is scaled by its primer, :mod:`ballistics.casing.primer_scale`)."""

    @abstractmethod
    def load(
        self, source: Source | Sequence[tuple[str, bytes]], *, name: str | None, limits: ReadLimits
    ) -> tuple[ItemFiles, str]:
        """Return the item's files as (name, bytes) in order, and the item's name."""

    @abstractmethod
    def extract(
        self,
        files: Sequence[tuple[str, bytes]],
        *,
        pixel_um: float | None,
        settings: EngineSettings,
        limits: ReadLimits = DEFAULT_LIMITS,
        source: str = "",
        orientation: str = AS_STORED,
        caliber: str | None = None,
    ) -> Extracted:
        """Check, read and prepare an item from its files; describe and encode its mark
        (``orientation`` and ``caliber`` as in :meth:`read`)."""

    @abstractmethod
    def describe(self, mark: MarkT) -> np.ndarray:
        """Return the float32 retrieval vector of a prepared mark."""

    @abstractmethod
    def encode(self, mark: MarkT) -> bytes:
        """Return the storage encoding of a prepared mark."""

    @abstractmethod
    def from_decoded(self, decoded: DecodedMark) -> MarkT:
        """Return the prepared mark held by a decoded mark of this kind."""

    @abstractmethod
    def comparable(self, mark: MarkT, *, settings: EngineSettings) -> ComparableT:
        """Return the mark made ready for comparison (done once per mark, then cached)."""

    @abstractmethod
    def compare(
        self, first: ComparableT, second: ComparableT, *, settings: EngineSettings
    ) -> ComparisonRecord:
        """Compare two marks made ready by :meth:`comparable`."""

    @abstractmethod
    def preparation_settings(self, settings: EngineSettings) -> object:
        """Return the frozen settings that decide how a mark of this kind is prepared."""

    @abstractmethod
    def comparison_settings(self, settings: EngineSettings) -> object:
        """Return the frozen settings that decide how two marks of this kind are scored."""

    @abstractmethod
    def lead_threshold(self, settings: EngineSettings, modality: Modality | str) -> float:
        """Return the score from which a pair of this kind and modality becomes a lead."""

    @abstractmethod
    def preview_png(self, mark: MarkT, *, title: str = "") -> bytes:
        """Return a PNG picture of one prepared mark."""

    @abstractmethod
    def overlay_png(
        self,
        first: MarkT,
        second: MarkT,
        *,
        labels: tuple[str, str],
        settings: EngineSettings,
    ) -> bytes:
        """Compare two prepared marks and return a PNG that shows how they agree."""

    def compare_marks(
        self, first: MarkT, second: MarkT, *, settings: EngineSettings
    ) -> ComparisonRecord:
        """Compare two prepared marks (each made ready here; for a one-off comparison)."""
        return self.compare(
            self.comparable(first, settings=settings),
            self.comparable(second, settings=settings),
            settings=settings,
        )

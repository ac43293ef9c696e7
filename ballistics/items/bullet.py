"""The bullet as a kind of mark: one X3P per land-engraved area -> ``PreparedBullet``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ballistics.bullet import (
    BULLET_DESCRIPTOR_VERSION,
    PreparedBullet,
    bullet_descriptor,
    compare_bullets,
    read_bullet,
)
from ballistics.bullet.overlay import bullet_overlay_png
from ballistics.bullet.preview import bullet_preview_png
from ballistics.io.files import Source
from ballistics.io.intake_orientation import AS_STORED
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits
from ballistics.items.encoding import decoded_bullet, encode_bullet_mark
from ballistics.items.kinds import ItemKind
from ballistics.items.read import extract_bullet, load_lands
from ballistics.items.records import TOPOGRAPHY, ComparisonRecord, bullet_record, strength_line
from ballistics.items.spec import EngineSettings, Extracted, ItemFiles, KindSpec
from ballistics.surface import Modality

if TYPE_CHECKING:
    from ballistics.items.encoding import DecodedMark


class BulletSpec(KindSpec[PreparedBullet, PreparedBullet]):
    """Land signatures compared at every cyclic phase of the rifling (always topographies)."""

    kind = ItemKind.BULLET
    noun = "a bullet"
    single_file = False
    rifled = True
    version_prefix = "bullet"
    descriptor_version = BULLET_DESCRIPTOR_VERSION

    def read(
        self,
        path: Path,
        *,
        pixel_um: float | None,
        settings: EngineSettings,
        orientation: str = AS_STORED,
        caliber: str | None = None,
    ) -> PreparedBullet:
        # land scans are X3P files that carry their resolution: pixel_um is not used
        _as_stored_only(orientation)
        return read_bullet(path, config=settings.bullet)

    def load(
        self, source: Source | Sequence[tuple[str, bytes]], *, name: str | None, limits: ReadLimits
    ) -> tuple[ItemFiles, str]:
        return load_lands(source, name=name, limits=limits)

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
        _as_stored_only(orientation)
        bullet = extract_bullet(files, bullet_config=settings.bullet, limits=limits, source=source)
        return Extracted(
            mark=bullet.mark,
            encoded=bullet.encoded,
            descriptor=bullet.descriptor,
            modality=str(Modality.TOPOGRAPHY),
            pixel_um=bullet.pixel_um,
        )

    def describe(self, mark: PreparedBullet) -> np.ndarray:
        return np.asarray(bullet_descriptor(mark.lands), dtype=np.float32)

    def encode(self, mark: PreparedBullet) -> bytes:
        return encode_bullet_mark(mark)

    def from_decoded(self, decoded: DecodedMark) -> PreparedBullet:
        return decoded_bullet(decoded)

    def comparable(self, mark: PreparedBullet, *, settings: EngineSettings) -> PreparedBullet:
        return mark

    def compare(
        self, first: PreparedBullet, second: PreparedBullet, *, settings: EngineSettings
    ) -> ComparisonRecord:
        comparison = compare_bullets(first, second, config=settings.bullet)
        return bullet_record(comparison, first, second, config=settings.bullet)

    def preparation_settings(self, settings: EngineSettings) -> object:
        return settings.bullet

    def comparison_settings(self, settings: EngineSettings) -> object:
        return settings.bullet

    def lead_threshold(self, settings: EngineSettings, modality: Modality | str) -> float:
        if settings.bullet_lead_threshold is not None:
            return float(settings.bullet_lead_threshold)
        return float(settings.bullet.lead_threshold)

    def preview_png(self, mark: PreparedBullet, *, title: str = "") -> bytes:
        return bullet_preview_png(mark, title=title)

    def overlay_png(
        self,
        first: PreparedBullet,
        second: PreparedBullet,
        *,
        labels: tuple[str, str],
        settings: EngineSettings,
    ) -> bytes:
        return bullet_overlay_png(
            first,
            second,
            reference_label=labels[0],
            questioned_label=labels[1],
            config=settings.bullet,
            strength_of=strength_line(ItemKind.BULLET, (TOPOGRAPHY, TOPOGRAPHY)),
        )


def _as_stored_only(orientation: str) -> None:
    """Refuse an orientation declared for a bullet: it is declared for cartridge cases only."""
    if orientation != AS_STORED:
        raise ValueError(
            f"orientation {orientation!r} is declared for cartridge cases only; a bullet's lands "
            "are read as stored"
        )

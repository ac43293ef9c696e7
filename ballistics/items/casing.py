"""The cartridge case as a kind of mark: one file (X3P, PNG, TIFF, JPEG) -> ``PreparedCasing``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ballistics.casing.compare import (
    CasingPyramid,
    compare_casings,
    compare_pyramids,
    comparison_pyramid,
)
from ballistics.casing.marks import PreparedCasing
from ballistics.casing.overlay import casing_overlay_png
from ballistics.casing.photo_quality import photograph_warnings
from ballistics.casing.prepare import prepare_casing
from ballistics.casing.preview import casing_preview_png
from ballistics.casing.primer_scale import read_casing_surface
from ballistics.descriptors import DESCRIPTOR_VERSION, casing_descriptor
from ballistics.io import AS_STORED
from ballistics.io.files import Source
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits
from ballistics.items.encoding import decoded_casing, encode_casing_mark
from ballistics.items.kinds import ItemKind
from ballistics.items.read import extract_casing, load_one_file
from ballistics.items.records import ComparisonRecord, casing_record, strength_line
from ballistics.items.spec import EngineSettings, Extracted, ItemFiles, KindSpec
from ballistics.surface import Modality

if TYPE_CHECKING:
    from ballistics.items.encoding import DecodedMark


class CartridgeCaseSpec(KindSpec[PreparedCasing, CasingPyramid]):
    """Breech face (and firing pin) marks compared by registration and congruent matching cells."""

    kind = ItemKind.CARTRIDGE_CASE
    noun = "a cartridge case"
    single_file = True
    rifled = False
    version_prefix = "casing"
    descriptor_version = DESCRIPTOR_VERSION

    def read(
        self,
        path: Path,
        *,
        pixel_um: float | None,
        settings: EngineSettings,
        orientation: str = AS_STORED,
        caliber: str | None = None,
    ) -> PreparedCasing:
        surface = read_casing_surface(
            path, pixel_um=pixel_um, caliber=caliber, orientation=orientation
        )
        photograph_warnings(surface, region_config=settings.prepare.region)  # logged; refuses
        return prepare_casing(surface, config=settings.prepare)

    def load(
        self, source: Source | Sequence[tuple[str, bytes]], *, name: str | None, limits: ReadLimits
    ) -> tuple[ItemFiles, str]:
        return load_one_file(source, name=name, limits=limits)

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
        if len(files) != 1:
            raise ValueError(f"a cartridge case is one file, got {len(files)}.")
        name, data = files[0]
        casing = extract_casing(
            data,
            name=name,
            pixel_um=pixel_um,
            prepare_config=settings.prepare,
            limits=limits,
            orientation=orientation,
            caliber=caliber,
        )
        return Extracted(
            mark=casing.mark,
            encoded=casing.encoded,
            descriptor=casing.descriptor,
            modality=str(casing.mark.modality),
            pixel_um=casing.surface.pixel_um,
            warnings=casing.warnings,
        )

    def describe(self, mark: PreparedCasing) -> np.ndarray:
        return np.asarray(casing_descriptor(mark), dtype=np.float32)

    def encode(self, mark: PreparedCasing) -> bytes:
        return encode_casing_mark(mark)

    def from_decoded(self, decoded: DecodedMark) -> PreparedCasing:
        return decoded_casing(decoded)

    def comparable(self, mark: PreparedCasing, *, settings: EngineSettings) -> CasingPyramid:
        return comparison_pyramid(mark, config=settings.compare)

    def compare(
        self, first: CasingPyramid, second: CasingPyramid, *, settings: EngineSettings
    ) -> ComparisonRecord:
        return casing_record(
            compare_pyramids(first, second, config=settings.compare),
            modalities=(str(first.modality), str(second.modality)),
        )

    def preparation_settings(self, settings: EngineSettings) -> object:
        return settings.prepare

    def comparison_settings(self, settings: EngineSettings) -> object:
        return settings.compare

    def lead_threshold(self, settings: EngineSettings, modality: Modality | str) -> float:
        if settings.lead_threshold is not None:
            return float(settings.lead_threshold)
        return settings.compare.threshold_for(Modality(modality))

    def preview_png(self, mark: PreparedCasing, *, title: str = "") -> bytes:
        return casing_preview_png(mark, title=title or None)

    def overlay_png(
        self,
        first: PreparedCasing,
        second: PreparedCasing,
        *,
        labels: tuple[str, str],
        settings: EngineSettings,
    ) -> bytes:
        comparison = compare_casings(first, second, config=settings.compare)
        return casing_overlay_png(
            first,
            second,
            comparison,
            config=settings.compare,
            reference_label=labels[0],
            questioned_label=labels[1],
            strength_of=strength_line(
                ItemKind.CARTRIDGE_CASE, (str(first.modality), str(second.modality))
            ),
        )

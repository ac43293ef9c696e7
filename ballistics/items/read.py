"""Items read from their files' bytes: every header checked, then read, prepared, described and
encoded in one call (what an upload, a search and an ingest do with a lab's files)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ballistics.bullet import PreparedBullet, bullet_descriptor, prepare_bullet
from ballistics.bullet.bullets import land_paths
from ballistics.bullet.config import DEFAULT_BULLET_CONFIG, BulletConfig
from ballistics.bullet.land import check_land_resolution
from ballistics.casing.marks import PreparedCasing
from ballistics.casing.photo_quality import PhotoWarning, photograph_warnings
from ballistics.casing.prepare import PrepareConfig, check_casing_resolution, prepare_casing
from ballistics.casing.primer_scale import read_casing_surface
from ballistics.descriptors import casing_descriptor
from ballistics.io import AS_STORED, read_surface
from ballistics.io.declared import declared_file, declared_files
from ballistics.io.files import Source, load_source
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits
from ballistics.items.encoding import encode_bullet_mark, encode_casing_mark
from ballistics.surface import Surface


@dataclass(frozen=True, eq=False)
class ExtractedCasing:
    """A casing read and prepared in this process: its surface, mark, encoding and descriptor,
    and what a lab should change in its photograph (``warnings``; none for a 3D scan)."""

    surface: Surface
    mark: PreparedCasing
    encoded: bytes
    descriptor: np.ndarray
    warnings: tuple[PhotoWarning, ...] = ()


def extract_casing(
    data: bytes,
    *,
    name: str,
    pixel_um: float | None,
    prepare_config: PrepareConfig,
    limits: ReadLimits = DEFAULT_LIMITS,
    orientation: str = AS_STORED,
    caliber: str | None = None,
) -> ExtractedCasing:
    """Read a cartridge case from its bytes, prepare it, describe it and encode its mark.

    The file's header is checked first (type, size, declared grid) and so is its spacing (the
    X3P file's own, else ``pixel_um``) against ``prepare_config.scan_pixel_um_range``, before
    anything is decoded.

    Raises
    ------
    LimitExceededError
        The file, its declared grid or a resampled mark is past ``limits``.
    ResolutionOutOfRangeError
        The scan's spacing is outside ``prepare_config.scan_pixel_um_range``.
    UnusablePhotographError
        A photograph is blank or mostly clipped
        (:func:`~ballistics.casing.photo_quality.photograph_warnings`).
    EvidenceError
        The bytes are not a readable X3P or image, or preparation finds no usable mark.
    """
    declared = declared_file(data, name=name, limits=limits)
    spacing_um = declared.pixel_um if declared.pixel_um is not None else pixel_um
    if spacing_um is not None:
        check_casing_resolution(spacing_um, name=name, config=prepare_config)
    # a photograph without a resolution gets one from the primer of its calibre
    surface = read_casing_surface(
        data,
        pixel_um=pixel_um,
        caliber=caliber,
        name=name,
        limits=limits,
        orientation=orientation,
    )
    warnings = photograph_warnings(surface, region_config=prepare_config.region)
    mark = prepare_casing(surface, config=prepare_config)
    descriptor = np.asarray(casing_descriptor(mark), dtype=np.float32)
    return ExtractedCasing(
        surface=surface,
        mark=mark,
        encoded=encode_casing_mark(mark),
        descriptor=descriptor,
        warnings=warnings,
    )


@dataclass(frozen=True, eq=False)
class ExtractedBullet:
    """A bullet read and prepared in this process: its lands, encoding and descriptor."""

    mark: PreparedBullet
    encoded: bytes
    descriptor: np.ndarray
    pixel_um: float


def extract_bullet(
    files: Sequence[tuple[str, bytes]],
    *,
    bullet_config: BulletConfig = DEFAULT_BULLET_CONFIG,
    limits: ReadLimits = DEFAULT_LIMITS,
    source: str = "",
) -> ExtractedBullet:
    """Read a bullet from its land files' (name, bytes), in land order, prepare it, describe it
    and encode its mark.

    Every file's header is checked first (type, size, declared grid and spacing, and the
    totals of ``limits`` over all the files): a bad last file is refused before the first is
    decoded.

    Raises
    ------
    LimitExceededError
        Too many files, too many bytes or points together, or one file past ``limits``.
    ResolutionOutOfRangeError
        An X3P file declares a spacing outside ``bullet_config.land_pixel_um_range``.
    EvidenceError
        A file is not a readable land scan, the lands' resolutions differ, or one holds no
        usable land (the message names the file).
    """
    files = list(files)
    for declared in declared_files(files, limits=limits, source=source):
        if declared.pixel_um is not None:
            check_land_resolution(declared.pixel_um, name=declared.name, config=bullet_config)
    surfaces = [read_surface(data, name=name, limits=limits) for name, data in files]
    mark = prepare_bullet(
        surfaces,
        names=[name for name, _ in files],
        source=source or ", ".join(name for name, _ in files),
        config=bullet_config,
    )
    return ExtractedBullet(
        mark=mark,
        encoded=encode_bullet_mark(mark),
        descriptor=np.asarray(bullet_descriptor(mark.lands), dtype=np.float32),
        pixel_um=float(mark.lands[0].pixel_um),
    )


def load_one_file(
    source: Source | Sequence[tuple[str, bytes]], *, name: str | None, limits: ReadLimits
) -> tuple[list[tuple[str, bytes]], str]:
    """Return a one-file item (a path, its bytes, or [(name, bytes)]) as [(name, bytes)] and
    its name."""
    if isinstance(source, list | tuple) and len(source) == 1 and isinstance(source[0], tuple):
        file_name, source = source[0]
        name = name or file_name
    if not isinstance(source, str | os.PathLike | bytes | bytearray | memoryview):
        raise ValueError("a cartridge case is one file; give its path or its bytes.")
    data, label = load_source(source, name=name, limits=limits)
    return [(label, data)], label


def load_lands(
    source: Source | Sequence[tuple[str, bytes]], *, name: str | None, limits: ReadLimits
) -> tuple[list[tuple[str, bytes]], str]:
    """Return a bullet's land files as (name, bytes) in land order, and its name.

    ``source`` is a folder of land scans, one land's file, or a list of (name, bytes).
    """
    if isinstance(source, str | os.PathLike):
        paths, label = land_paths(source)
        return [(str(path), load_source(path, limits=limits)[0]) for path in paths], name or label
    files = list(source) if not isinstance(source, bytes | bytearray | memoryview) else []
    if not files or not all(
        isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], bytes)
        for entry in files
    ):
        raise ValueError(
            "a bullet is a folder of land scans or a list of (file name, bytes), one per land."
        )
    for file_name, data in files:
        load_source(data, name=file_name, limits=limits)  # size limit, empty files
    return files, name or ", ".join(file_name for file_name, _ in files)

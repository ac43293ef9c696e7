"""Read a bullet: a folder (or list) of land scans, one X3P per land, in land order."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from ballistics.bullet.compare import PreparedBullet
from ballistics.bullet.config import DEFAULT_BULLET_CONFIG, BulletConfig
from ballistics.bullet.land import check_land_resolution, prepare_land
from ballistics.errors import EvidenceError
from ballistics.surface import Surface

# two scans of one bullet whose spacings differ by more than this are not one scanning session
_PIXEL_TOLERANCE = 0.01
# the word "land" followed by its number, as labs name land scans ("Land_3", "land 3", "LEA3")
_LAND_NUMBER = re.compile(r"(?:land|lea)[\s_-]*(\d+)", re.IGNORECASE)
_DIGITS = re.compile(r"(\d+)")
# a land of a 0.50-calibre rifle is about 3 mm wide with its shoulders; a whole circumference of
# a 9 mm bullet is 28 mm
_MAX_LAND_SCAN_UM = 5000.0


def read_bullet(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> PreparedBullet:
    """Return the prepared lands of a bullet read from its land scans.

    Parameters
    ----------
    source
        A folder holding one X3P file per land-engraved area (every ``*.x3p`` in it, natural
        sort order of the names, so ``Land_10`` follows ``Land_9``), a single land's X3P file (a
        bullet of one land, e.g. a fragment), or a list of land files in land order.
    config
        Options of :func:`~ballistics.bullet.land.prepare_land`.

    Returns
    -------
    PreparedBullet
        The lands in order, with their positions around the bullet: the number after ``Land``
        in the file names when every file has a distinct one (``Land_1, Land_2, Land_4``: land
        3 missing), else 1, 2, 3... in the given order.

    Raises
    ------
    LimitExceededError
        More files than ``ReadLimits.max_files``, or files past the size or point limits,
        alone or together; checked from every file's header before any is decoded.
    ResolutionOutOfRangeError
        A land scan's spacing outside ``config.land_pixel_um_range``.
    EvidenceError
        A folder with no X3P file, a file that cannot be read or holds no usable land (the
        message names it), or lands of different resolutions: the lands of one bullet come from
        one scanning session, so a pixel size that differs from the first land's by more than
        1 % is refused, naming the file, rather than silently resampled. (Bullets scanned at
        different resolutions can still be compared with each other:
        :func:`~ballistics.bullet.compare.compare_lands` resamples to the coarser one.)

    Notes
    -----
    A single X3P of the whole circumference (the contract's other bullet form) is not split
    into lands yet: such a file is refused when its land is wider than 5 mm.
    """
    from ballistics.io import read_surface
    from ballistics.io.declared import declared_files
    from ballistics.io.files import load_source

    paths, name = land_paths(source)
    files = [(str(path), load_source(path)[0]) for path in paths]
    # every file's header (and the totals) before any file is decoded
    for declared in declared_files(files, source=name):
        if declared.pixel_um is not None:
            check_land_resolution(declared.pixel_um, name=declared.name, config=config)
    return prepare_bullet(
        [read_surface(data, name=file_name) for file_name, data in files],
        names=[str(path) for path in paths],
        source=name,
        config=config,
    )


def prepare_bullet(
    surfaces: Sequence[Surface],
    *,
    names: Sequence[str],
    source: str = "",
    config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> PreparedBullet:
    """Return the prepared bullet of land scans already read (an upload's files, in land order).

    ``names`` are the files' names (for the land numbers, as :func:`read_bullet` takes them,
    and for messages). The checks and errors are :func:`read_bullet`'s.
    """
    if len(names) != len(surfaces):
        raise ValueError(f"give one name per land scan: {len(surfaces)} scans, {len(names)} names.")
    if not surfaces:
        raise EvidenceError(source, "no land scans given; a bullet needs one scan per land.")
    lands = []
    pixel_um = None
    for surface, name in zip(surfaces, names, strict=True):
        if pixel_um is None:
            pixel_um = surface.pixel_um
        elif abs(surface.pixel_um - pixel_um) > _PIXEL_TOLERANCE * pixel_um:
            raise EvidenceError(
                name,
                f"its pixel size {surface.pixel_um:g} µm differs from the first land's "
                f"{pixel_um:g} µm; the lands of one bullet must be scanned at one resolution "
                "(resample the scans, or compare them as separate bullets).",
            )
        _refuse_circumference(surface, Path(name))
        lands.append(prepare_land(surface, config=config))
    return PreparedBullet(tuple(lands), land_numbers([Path(name) for name in names]), source=source)


def land_numbers(paths: Sequence[Path]) -> tuple[int, ...]:
    """Return each land's position around the bullet from its file name (see read_bullet)."""
    numbers = []
    for path in paths:
        match = _LAND_NUMBER.findall(path.stem) or _DIGITS.findall(path.stem)
        numbers.append(int(match[-1]) if match else 0)
    if min(numbers) >= 1 and len(set(numbers)) == len(numbers):
        return tuple(numbers)
    return tuple(range(1, len(paths) + 1))


def natural_key(path: Path) -> list[object]:
    """Return a sort key that orders numbers in names by value (``Land_9`` before ``Land_10``)."""
    return [int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(path.name)]


def land_paths(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> tuple[list[Path], str]:
    """Return the land files of a bullet source (a folder, a file, or a list of files), in land
    order, and the name to report it by; EvidenceError for an empty folder or a missing path."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.is_dir():
            paths = sorted(
                (p for p in path.iterdir() if p.suffix.lower() == ".x3p" and p.is_file()),
                key=natural_key,
            )
            if not paths:
                raise EvidenceError(
                    str(path),
                    "the folder holds no X3P scan; a bullet is a folder of one .x3p file per "
                    "land-engraved area.",
                )
            return paths, str(path)
        if not path.exists():
            raise EvidenceError(str(path), "no such file or folder.")
        return [path], str(path)
    paths = [Path(item) for item in source]
    if not paths:
        raise EvidenceError("", "no land scans given; pass a folder or a list of X3P files.")
    for path in paths:
        if not path.is_file():
            raise EvidenceError(str(path), "no such file.")
    return paths, ", ".join(str(p) for p in paths)


def _refuse_circumference(surface: Surface, path: Path) -> None:
    """Refuse a scan much wider than any land: a whole circumference is not split yet."""
    rows, columns = surface.shape
    longest_um = max(rows, columns) * surface.pixel_um
    if longest_um > _MAX_LAND_SCAN_UM:
        raise EvidenceError(
            str(path),
            f"the scan is {longest_um / 1000:.1f} mm long, more than one land-engraved area; "
            "whole-circumference scans are not split into lands yet: scan (or crop) one X3P "
            "per land and give their folder.",
        )

"""Read a bullet: a folder (or list) of land scans, one X3P per land, in land order."""

from __future__ import annotations

import itertools
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ballistics.bullet.compare import PreparedBullet
from ballistics.bullet.config import DEFAULT_BULLET_CONFIG, BulletConfig
from ballistics.bullet.land import check_land_resolution, orient_land, prepare_land
from ballistics.bullet.profiles import gaussian_smooth_profile
from ballistics.errors import EvidenceError
from ballistics.surface import Surface

# two scans of one bullet whose spacings differ by more than this are not one scanning session
_PIXEL_TOLERANCE = 0.01
# the word "land" followed by its number, as labs name land scans ("Land_3", "land 3", "LEA3")
_LAND_NUMBER = re.compile(r"(?:land|lea)[\s_-]*(\d+)", re.IGNORECASE)
_DIGITS = re.compile(r"(\d+)")
# a land of a 0.50-calibre rifle is about 3 mm wide with its shoulders; a whole circumference of
# a 9 mm bullet is 28 mm: one scan longer than this is split into lands
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
    A single X3P longer than 5 mm is taken as the whole circumference (the contract's other
    bullet form) and split into its lands in the middle of the grooves
    (:func:`split_circumference`), numbered from the left of the upright scan.
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
    if len(surfaces) == 1 and _scan_length_um(surfaces[0]) > _MAX_LAND_SCAN_UM:
        return _prepare_circumference(surfaces[0], name=names[0], source=source, config=config)
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


def _scan_length_um(surface: Surface) -> float:
    """Return the longer side of a scan, micrometres."""
    return max(surface.shape) * surface.pixel_um


def _prepare_circumference(
    surface: Surface, *, name: str, source: str, config: BulletConfig
) -> PreparedBullet:
    """Return the prepared bullet of one whole-circumference scan, split into its lands.

    A land that cannot be prepared (damaged, a piece cut at the scan's ends) drops out; the
    others keep their positions, numbered from the left of the oriented scan.
    """
    lands, numbers = [], []
    pieces = split_circumference(surface, config=config)
    if len(pieces) < 2:
        raise EvidenceError(
            name,
            f"the scan is {_scan_length_um(surface) / 1000:.1f} mm long, more than one land, "
            "but no groove was found to split it into lands; scan (or crop) one X3P per land "
            "and give their folder.",
        )
    for number, piece in enumerate(pieces, start=1):
        try:
            lands.append(prepare_land(piece, config=config))
        except EvidenceError:
            continue
        numbers.append(number)
    if not lands:
        raise EvidenceError(
            name,
            f"the scan is {_scan_length_um(surface) / 1000:.1f} mm long, more than one land, and "
            f"none of the {len(pieces)} pieces between its grooves holds a usable land; scan "
            "(or crop) one X3P per land and give their folder.",
        )
    return PreparedBullet(tuple(lands), tuple(numbers), source=source or name)


def split_circumference(
    surface: Surface, *, config: BulletConfig = DEFAULT_BULLET_CONFIG
) -> list[Surface]:
    """Return the land scans of a whole-circumference scan, cut in the middle of the grooves.

    The scan is turned upright (striae vertical, heel at the bottom), its cross-section (median
    of the upper half of the rows, smoothed at 50 µm) split into high and low halfway between
    its 10th and 90th percentiles: the groove engraved areas, where the bullet keeps its
    surface, stand above the lands pressed into it. Every high run at least 100 µm long is a
    groove, and the scan is cut in its middle; each piece holds one land with both shoulders.
    """
    values = orient_land(
        np.asarray(surface.values, dtype=np.float64),
        striae_direction=config.striae_direction,
        heel_end=config.heel_end,
    )
    pixel_um = surface.pixel_um
    upper = values[: max(1, values.shape[0] // 2)]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        profile = np.nanmedian(upper, axis=0)
    smooth = gaussian_smooth_profile(profile, cutoff_um=50.0, pixel_um=pixel_um)
    measured = smooth[np.isfinite(smooth)]
    if measured.size < 3:
        return [surface]
    low, high = np.percentile(measured, [10, 90])
    raised = np.where(np.isfinite(smooth), smooth > (low + high) / 2, False)
    cuts = [0]
    edges = np.flatnonzero(np.diff(np.r_[0, raised.astype(np.int8), 0]))
    for start, stop in zip(edges[0::2], edges[1::2], strict=True):
        if (stop - start) * pixel_um >= 100.0 and 0 < (start + stop) // 2 < raised.size:
            cuts.append((start + stop) // 2)
    cuts.append(raised.size)
    cuts = sorted(set(cuts))
    return [
        Surface(
            values[:, first:stop],
            pixel_um=pixel_um,
            modality=surface.modality,
            source=f"{surface.source or 'scan'} land {number}",
        )
        for number, (first, stop) in enumerate(itertools.pairwise(cuts), start=1)
        if (stop - first) * pixel_um >= config.min_land_width_um
    ]


def _refuse_circumference(surface: Surface, path: Path) -> None:
    """Refuse, among several land scans, one much wider than any land (a whole circumference is
    split into lands only when it is the bullet's one file)."""
    longest_um = _scan_length_um(surface)
    if longest_um > _MAX_LAND_SCAN_UM:
        raise EvidenceError(
            str(path),
            f"the scan is {longest_um / 1000:.1f} mm long, more than one land-engraved area, "
            "among other land scans; give a whole-circumference scan alone (it is split into "
            "lands), or one X3P per land.",
        )

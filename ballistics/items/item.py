"""Evidence items read from disk and compared in this process: the path a lab's file takes,
bytes -> ``Surface`` -> prepared mark -> comparison record, for every kind of mark."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ballistics.bullet.config import DEFAULT_BULLET_CONFIG, BulletConfig
from ballistics.casing.compare import DEFAULT_COMPARE_CONFIG, CompareConfig
from ballistics.casing.prepare import PrepareConfig
from ballistics.errors import EvidenceError
from ballistics.io import AS_STORED, check_declared_orientation
from ballistics.items.kinds import ItemKind
from ballistics.items.records import ComparisonRecord
from ballistics.items.registry import kind_spec
from ballistics.items.spec import EngineSettings, ItemSettings

logger = logging.getLogger(__name__)

# frozen, so one shared default instance is safe
DEFAULT_PREPARE_CONFIG = PrepareConfig()


@dataclass(frozen=True)
class Item:
    """One evidence item to read: where it is, its resolution when the file lacks it, its kind.

    Parameters
    ----------
    path
        The file (a cartridge case) or folder (a bullet's lands, one X3P per land).
    pixel_um
        Micrometres per pixel for 2D images that carry no resolution; None to take it from the
        file. Not used for bullets, whose land scans are X3P files that carry their resolution.
    kind
        An :class:`~ballistics.items.kinds.ItemKind` or its name.
    orientation
        What the lab declared of a cartridge case file's orientation: ``as_stored`` (the default)
        or ``mirrored`` (:mod:`ballistics.io.intake_orientation`).
    caliber
        The cartridge's calibre: a photograph without a resolution (and no ``pixel_um``) gets
        one estimated from its primer (:mod:`ballistics.casing.primer_scale`).
    """

    path: Path
    pixel_um: float | None = None
    kind: ItemKind = ItemKind.CARTRIDGE_CASE
    orientation: str = AS_STORED
    caliber: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", parse_item_kind(self.kind))
        object.__setattr__(self, "orientation", check_declared_orientation(self.orientation))
        if self.pixel_um is not None and not (math.isfinite(self.pixel_um) and self.pixel_um > 0):
            raise ValueError(
                f"pixel_um must be a positive number of micrometres per pixel, got "
                f"{self.pixel_um!r}."
            )


@dataclass(frozen=True)
class Pair:
    """One pair of items to compare, named as the user wrote them.

    Parameters
    ----------
    a, b
        The paths exactly as written (in a CSV or on the command line), echoed in the results.
    item_a, item_b
        What to read; None when the row itself is wrong (then ``error`` says why).
    error
        A problem found before any file is read (an unknown kind, a bad pixel size).
    """

    a: str
    b: str
    item_a: Item | None = None
    item_b: Item | None = None
    error: str | None = None


def parse_item_kind(text: str) -> ItemKind:
    """Return the kind a user named (a CSV cell, an option).

    Raises
    ------
    ValueError
        ``text`` names no kind; the message lists the kinds and says where to fix it.
    """
    try:
        return ItemKind.parse(text)
    except ValueError as error:
        raise ValueError(f"{error}; fix the kind column or the --kind option.") from None


def guess_kind(path: Path) -> ItemKind:
    """Return the kind of the item at ``path``: a folder holds a bullet's lands, a file a casing."""
    return ItemKind.BULLET if Path(path).is_dir() else ItemKind.CARTRIDGE_CASE


def item_settings(
    prepare_config: PrepareConfig = DEFAULT_PREPARE_CONFIG,
    compare_config: CompareConfig = DEFAULT_COMPARE_CONFIG,
    bullet_config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> ItemSettings:
    """Return the settings of every kind from those of casings and bullets."""
    return ItemSettings(prepare=prepare_config, compare=compare_config, bullet=bullet_config)


def prepare_item(
    item: Item,
    *,
    config: PrepareConfig = DEFAULT_PREPARE_CONFIG,
    bullet_config: BulletConfig = DEFAULT_BULLET_CONFIG,
    settings: EngineSettings | None = None,
) -> Any:
    """Read one item from disk and prepare its marks for comparison.

    Parameters
    ----------
    item
        What to read.
    config
        Preparation of cartridge cases (:func:`~ballistics.casing.prepare.prepare_casing`).
    bullet_config
        Preparation of bullets' lands (:func:`~ballistics.bullet.read_bullet`).
    settings
        The settings of every kind, replacing ``config`` and ``bullet_config`` when given.

    Returns
    -------
    PreparedCasing or PreparedBullet
        The prepared mark of the item's kind.

    Raises
    ------
    EvidenceError
        When the file or folder is missing, unreadable, or lacks what preparation needs (a
        folder without X3P scans, a land without usable striae, a whole-circumference scan).
    """
    if settings is None:
        settings = item_settings(config, bullet_config=bullet_config)
    return kind_spec(item.kind).read(
        item.path,
        pixel_um=item.pixel_um,
        settings=settings,
        orientation=item.orientation,
        caliber=item.caliber,
    )


def check_same_kind(item_a: Item, item_b: Item) -> None:
    """Refuse a pair of items of different kinds, naming both, before anything is read.

    Raises
    ------
    ValueError
        When the kinds differ.
    """
    if item_a.kind != item_b.kind:
        raise ValueError(
            f"cannot compare {item_a.path} ({kind_spec(item_a.kind).noun}) with {item_b.path} "
            f"({kind_spec(item_b.kind).noun}): give two items of one kind (a bullet is a folder "
            "of land X3P scans, a cartridge case one file; --kind or the kind column sets it)"
        )


def compare_items(
    item_a: Item,
    item_b: Item,
    *,
    prepare_config: PrepareConfig = DEFAULT_PREPARE_CONFIG,
    compare_config: CompareConfig = DEFAULT_COMPARE_CONFIG,
    bullet_config: BulletConfig = DEFAULT_BULLET_CONFIG,
) -> ComparisonRecord:
    """Read, prepare and compare two items of one kind in this process (``compare A B``).

    Parameters
    ----------
    item_a, item_b
        Two items of one kind.
    prepare_config, compare_config
        Settings of cartridge case preparation and comparison.
    bullet_config
        Settings of bullet preparation and comparison.

    Returns
    -------
    ComparisonRecord
        The comparison, with ``compare_s`` (seconds of the comparison alone) and ``elapsed_s``
        (seconds including reading and preparing both items); ``as_json()`` gives its JSON.

    Raises
    ------
    EvidenceError, ValueError
        When the two are of different kinds (before anything is read), either item cannot be
        read or prepared, or the two cannot be compared (for example a topography against a
        photograph).
    """
    check_same_kind(item_a, item_b)
    settings = item_settings(prepare_config, compare_config, bullet_config)
    spec = kind_spec(item_a.kind)
    started = time.perf_counter()
    reference = spec.read(
        item_a.path,
        pixel_um=item_a.pixel_um,
        settings=settings,
        orientation=item_a.orientation,
        caliber=item_a.caliber,
    )
    questioned = spec.read(
        item_b.path,
        pixel_um=item_b.pixel_um,
        settings=settings,
        orientation=item_b.orientation,
        caliber=item_b.caliber,
    )
    compare_started = time.perf_counter()
    record = spec.compare_marks(reference, questioned, settings=settings)
    finished = time.perf_counter()
    return record.timed(compare_s=finished - compare_started, elapsed_s=finished - started)


def describe_error(error: BaseException, *, source: str = "") -> str:
    """Return one line naming the file and the problem, for a result row or standard error.

    Evidence and value errors already say what is wrong; anything else is named by its type so
    that an unexpected failure is not mistaken for a problem with the file.
    """
    if isinstance(error, OSError) and error.filename:
        message = f"{error.filename}: {error.strerror or error}"
    elif isinstance(error, ValueError):  # EvidenceError is a ValueError
        message = str(error)
    else:
        message = f"unexpected {type(error).__name__}: {error}"
        logger.debug("%s failed", source, exc_info=error)
    if source and source not in message and not isinstance(error, EvidenceError):
        message = f"{source}: {message}"
    return " ".join(message.split())

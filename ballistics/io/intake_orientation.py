"""The orientation a lab declares for a file at intake, when nothing in the file says it.

Some files are stored mirrored and say nothing of it: the DFSC ``older_pipeline`` X3P files hold
their rows bottom-up relative to the casing seen from its base (found by scores: their known
matches score only once the rows are reversed), with the same header as files that are not. The
reader cannot tell such a file from its bytes, so the lab that knows it declares it, per exhibit
(manifest column and upload field ``orientation``):

``as_stored`` (the default)
    The file's rows are in the common orientation, or the file declares its own in its header
    (:mod:`ballistics.io.x3p_orientation`, applied whatever is declared here).
``mirrored``
    The file's rows are stored bottom-up relative to the casing seen from its base: the reader
    reverses them (and the region drawn with them) before anything else, and records
    ``metadata["declared_orientation"] = "mirrored"``.

A breech-face impression cannot be compared with its mirror image, so a wrong declaration loses
the file's leads; it never makes one.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from ballistics.surface import Surface

AS_STORED: Final = "as_stored"
MIRRORED: Final = "mirrored"
#: the values a lab may declare, the default first
DECLARED_ORIENTATIONS: Final = (AS_STORED, MIRRORED)
#: the metadata key the reader records a declaration under
DECLARED_ORIENTATION_KEY: Final = "declared_orientation"


def check_declared_orientation(value: str | None) -> str:
    """Return the declared orientation, ``as_stored`` when ``value`` is None or empty.

    Raises
    ------
    ValueError
        ``value`` is not one of :data:`DECLARED_ORIENTATIONS`; the message names them.
    """
    text = (value or "").strip()
    if not text:
        return AS_STORED
    if text not in DECLARED_ORIENTATIONS:
        raise ValueError(
            f"orientation {text[:40]!r} is not one of {', '.join(DECLARED_ORIENTATIONS)} "
            f"({MIRRORED}: the file's rows are stored bottom-up relative to the casing seen "
            "from its base)"
        )
    return text


def apply_declared_orientation(surface: Surface, declared: str) -> Surface:
    """Return ``surface`` turned as ``declared`` says (see the module's description).

    ``as_stored`` returns ``surface`` itself, unchanged; ``mirrored`` reverses its rows and its
    region's, and records the declaration in its metadata.
    """
    declared = check_declared_orientation(declared)
    if declared == AS_STORED:
        return surface
    region = surface.region_of_interest
    done = surface.metadata.get("orientation", "")
    metadata = {
        **surface.metadata,
        DECLARED_ORIENTATION_KEY: declared,
        "orientation": f"{done}; " * (done not in ("", "as stored"))
        + "rows reversed as declared at intake",
    }
    return dataclasses.replace(
        surface,
        values=surface.values[::-1].copy(),
        region_of_interest=None if region is None else region[::-1].copy(),
        metadata=metadata,
    )

"""Ballistic image comparison: cartridge cases and bullets, from scan bytes to scored pairs.

The image science lives here as pure functions on arrays and small frozen dataclasses; the
database, index and HTTP layers live in ``indexer`` and ``api``.

What lives here: ``io/`` (files -> :class:`~ballistics.surface.Surface`), ``casing/`` and
``bullet/`` (each kind of mark from a surface to a scored comparison, and its figures),
``synthetic/`` (test data with known ground truth), ``descriptors.py`` (retrieval vectors),
``render.py`` and ``text.py`` (the generic blocks of every picture), ``surface.py`` and
``errors.py`` (what every step shares).

May import: the standard library, numpy, scipy, OpenCV, and the file and font libraries
(Pillow, tifffile, defusedxml, HarfBuzz, FreeType). Never ``api`` or ``indexer``
(``tests/test_structure.py`` checks it).
"""

import cv2

from ballistics.errors import EvidenceError, LimitExceededError, UnreadableFileError
from ballistics.surface import Modality, Surface

# OpenCV's warpAffine cuts an image into blocks per thread, and where a block starts moves its
# fixed-point coordinates by a rounding step: one synthetic casing pair scored 37.0 on one
# thread and 36.5 on two, and synthetic scans rendered differently. Evidence must score the same
# on a lab's laptop and on a hub's server, so the engine runs OpenCV on one thread in every
# process (its worker pools run one process per core anyway).
cv2.setNumThreads(1)

__all__ = [
    "EvidenceError",
    "LimitExceededError",
    "Modality",
    "Surface",
    "UnreadableFileError",
]

__version__ = "0.1.0"

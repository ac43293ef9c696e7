"""Ballistic image comparison: cartridge cases and bullets, from scan bytes to scored pairs.

The image science lives here as pure functions on arrays and small frozen dataclasses; the
database, index and HTTP layers live in ``indexer`` and ``api``.
"""

from ballistics.errors import EvidenceError, LimitExceededError, UnreadableFileError
from ballistics.surface import Modality, Surface

__all__ = [
    "EvidenceError",
    "LimitExceededError",
    "Modality",
    "Surface",
    "UnreadableFileError",
]

__version__ = "0.1.0"

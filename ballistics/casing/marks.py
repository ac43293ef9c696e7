"""The prepared marks of one cartridge case: what comparison, retrieval and storage consume."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ballistics.surface import Modality


@dataclass(frozen=True, eq=False)
class PreparedCasing:
    """A cartridge case ready for comparison.

    Parameters
    ----------
    breech_face
        2-D float32 array at ``pixel_um``: the breech-face impression levelled and band-pass
        filtered (micrometres of height for topographies; illumination-flattened, zero-mean,
        unit-variance intensity for photographs). NaN outside the region of interest (primer
        edge, firing-pin crater, headstamp and unmeasured points). The array is square and the
        axis of the cartridge (centre of the primer / firing-pin impression) lies at its centre
        ``((rows - 1) / 2, (columns - 1) / 2)``, so that comparisons rotate about the centre.
    pixel_um
        Micrometres per pixel of ``breech_face`` and ``firing_pin``.
    modality
        Modality of the source surface; topographies and photographs are never compared with
        each other.
    firing_pin
        The firing-pin impression as its own mark, prepared like ``breech_face`` and centred on
        the impression, or None when the scan holds none (for example already-processed scans
        whose crater was removed).
    sha256
        SHA-256 of the original file's bytes (chain of custody), empty when made in memory.
    source
        File name of the original, for messages.
    scale_uncertainty
        Largest relative error of ``pixel_um`` as the original's pixel size was known: 0 when
        the scanner or the lab measured it, e.g. 0.08 when it was estimated from the primer
        (:mod:`ballistics.casing.primer_scale`). Comparisons search scale within it.
    """

    breech_face: np.ndarray
    pixel_um: float
    modality: Modality
    firing_pin: np.ndarray | None = None
    sha256: str = ""
    source: str = ""
    scale_uncertainty: float = 0.0

    def __post_init__(self) -> None:
        breech_face = np.asarray(self.breech_face, dtype=np.float32)
        if breech_face.ndim != 2 or breech_face.shape[0] != breech_face.shape[1]:
            raise ValueError(
                f"breech_face must be a square 2-D array centred on the primer, got shape "
                f"{breech_face.shape}; pad it with NaN to a square first."
            )
        if not np.isfinite(breech_face).any():
            raise ValueError("breech_face has no valid point; the region of interest is empty.")
        object.__setattr__(self, "breech_face", breech_face)
        if self.firing_pin is not None:
            object.__setattr__(self, "firing_pin", np.asarray(self.firing_pin, dtype=np.float32))
        object.__setattr__(self, "modality", Modality(self.modality))
        object.__setattr__(self, "pixel_um", float(self.pixel_um))
        if not 0 <= self.scale_uncertainty < 0.5:
            raise ValueError(
                f"scale_uncertainty must be a relative error in [0, 0.5), got "
                f"{self.scale_uncertainty!r}; 0 means the pixel size was measured."
            )
        object.__setattr__(self, "scale_uncertainty", float(self.scale_uncertainty))

    @property
    def valid_fraction(self) -> float:
        """Fraction of the breech-face grid that carries data."""
        return float(np.isfinite(self.breech_face).mean())

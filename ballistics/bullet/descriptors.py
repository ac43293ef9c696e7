"""Fixed-length retrieval vectors of lands and bullets, for the bullet partition of the index.

A land's signature can start anywhere along the land (grooves cut differently, scan windows
shifted), so the land vector is built from the signature's amplitude spectrum, which a shift
does not change; a bullet's vector must not depend on which land was scanned first, so it is
the mean of its land vectors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ballistics.bullet.land import PreparedLand

#: changes whenever the vectors change meaning; stored with every vector in the index
BULLET_DESCRIPTOR_VERSION = "bullet-spectrum-v1"
#: wavelength bands of the land vector, micrometres (log-spaced between these)
DESCRIPTOR_WAVELENGTHS_UM = (8.0, 250.0)
#: length of every land and bullet vector
DESCRIPTOR_SIZE = 96


def land_descriptor(land: PreparedLand) -> np.ndarray:
    """Return the land's retrieval vector: float32, ``DESCRIPTOR_SIZE`` values, L2 norm 1.

    The amplitude spectrum of the signature (missing points zero, mean removed, Hann
    window) averaged in ``DESCRIPTOR_SIZE`` log-spaced wavelength bands between 8 and 250 µm,
    its logarithm centred, then L2-normalised. A lateral shift changes only the phases of the
    spectrum, so the vector is shift-tolerant; the logarithm keeps the weak short-wavelength
    striae from being drowned by the long ones. Cosine (inner product) similarity compares
    two vectors.
    """
    signature = np.asarray(land.signature_um, dtype=np.float64)
    valid = np.isfinite(signature)
    values = np.where(valid, signature - np.nanmean(signature), 0.0)
    values *= np.hanning(values.size)
    spectrum = np.abs(np.fft.rfft(values, 2 * values.size))
    frequencies = np.fft.rfftfreq(2 * values.size, d=land.pixel_um)  # cycles per micrometre
    short_um, long_um = DESCRIPTOR_WAVELENGTHS_UM
    edges = 1.0 / np.geomspace(long_um, short_um, DESCRIPTOR_SIZE + 1)
    band = np.digitize(frequencies, edges) - 1
    inside = (band >= 0) & (band < DESCRIPTOR_SIZE)
    totals = np.bincount(band[inside], weights=spectrum[inside], minlength=DESCRIPTOR_SIZE)
    counts = np.bincount(band[inside], minlength=DESCRIPTOR_SIZE)
    # bands narrower than the frequency spacing hold no sample: take the nearest sample's value
    centres = np.sqrt(edges[:-1] * edges[1:])
    nearest = np.interp(centres, frequencies, spectrum)
    amplitude = np.where(counts > 0, totals / np.maximum(counts, 1), nearest)
    vector = np.log(amplitude + 1e-6)
    vector -= vector.mean()
    return _normalised(vector)


def bullet_descriptor(lands: Sequence[PreparedLand]) -> np.ndarray:
    """Return the bullet's retrieval vector: the normalised mean of its land vectors.

    The mean does not depend on the order of the lands, so the vector is the same whichever
    land was scanned first; a bullet with a missing land keeps most of its vector.
    """
    if len(lands) == 0:
        raise ValueError("a bullet descriptor needs at least one land.")
    return _normalised(np.mean([land_descriptor(land) for land in lands], axis=0))


def _normalised(vector: np.ndarray) -> np.ndarray:
    """Return ``vector`` as float32 with L2 norm 1 (zeros stay zeros)."""
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)

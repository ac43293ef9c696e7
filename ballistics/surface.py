"""The one in-memory type every reader produces: a gridded surface with its scale."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np


class Modality(enum.StrEnum):
    """What the values of a :class:`Surface` mean."""

    #: heights in micrometres (3D topography: X3P)
    TOPOGRAPHY = "topography"
    #: reflected-light intensities scaled to [0, 1] (2D photograph: PNG, TIFF, JPEG)
    PHOTOGRAPH = "photograph"


@dataclass(frozen=True, eq=False)
class Surface:
    """A measured surface on a regular square grid.

    Parameters
    ----------
    values
        2-D float array, row ``i`` at ``y = i * pixel_um`` and column ``j`` at
        ``x = j * pixel_um``, with row 0 at the top of the image as the scanner saw it (X3P
        origin north-west). Heights in micrometres for topographies, intensities in [0, 1] for
        photographs. Invalid (unmeasured or masked-out) points are NaN.
    pixel_um
        Grid spacing in micrometres per pixel, the same along x and y (readers resample
        non-square grids).
    modality
        Topography or photograph.
    sha256
        SHA-256 (hex) of the bytes the surface was read from, for the chain of custody; empty for
        surfaces made in memory.
    source
        Where it was read from (a file name), used in error messages.
    metadata
        Free text fields from the file (instrument, date, comment...).
    region_of_interest
        Optional boolean array of the same shape, True inside a region of interest that a lab
        annotated in the file (the X3P ``bindata/mask.png`` layer); None when the file has none.
        Preparation keeps only this region when it is given.
    """

    values: np.ndarray
    pixel_um: float
    modality: Modality
    sha256: str = ""
    source: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    region_of_interest: np.ndarray | None = None

    def __post_init__(self) -> None:
        values = np.asarray(self.values)
        if values.ndim != 2:
            raise ValueError(
                f"Surface values must be a 2-D array, got shape {values.shape}; pass one image "
                "or height map at a time."
            )
        if not np.issubdtype(values.dtype, np.floating):
            values = values.astype(np.float64)
        if not (np.isfinite(self.pixel_um) and self.pixel_um > 0):
            raise ValueError(
                "pixel_um must be a positive number of micrometres per pixel, got "
                f"{self.pixel_um!r}."
            )
        values = values.copy()
        values[~np.isfinite(values)] = np.nan
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "pixel_um", float(self.pixel_um))
        object.__setattr__(self, "modality", Modality(self.modality))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        if self.region_of_interest is not None:
            region = np.asarray(self.region_of_interest, dtype=bool)
            if region.shape != values.shape:
                raise ValueError(
                    f"region_of_interest has shape {region.shape} but values have shape "
                    f"{values.shape}; give a mask of the same grid."
                )
            region = region.copy()
            region.setflags(write=False)
            object.__setattr__(self, "region_of_interest", region)

    @property
    def mask(self) -> np.ndarray:
        """Boolean array, True where the surface was measured (values finite)."""
        return np.isfinite(self.values)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the grid."""
        return self.values.shape

    @property
    def valid_fraction(self) -> float:
        """Fraction of grid points that were measured."""
        return float(self.mask.mean()) if self.values.size else 0.0

    @property
    def size_um(self) -> tuple[float, float]:
        """(height, width) of the grid in micrometres."""
        rows, columns = self.shape
        return rows * self.pixel_um, columns * self.pixel_um

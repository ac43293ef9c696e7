"""A photograph's pixel size estimated from the primer of its calibre.

Many lab photographs carry no resolution: the microscope camera writes none, or a 72 dpi default
that measures nothing. The primer is a ruler that every cartridge case carries: primers come in
few standard sizes (SAAMI/CIP: small pistol and small rifle 0.175 in, large pistol and large rifle
0.210 in, shotshell 209 0.240 in), each made to a few hundredths of a millimetre, and the
primer gap around it is the strongest dark ring of a breech-face photograph (the same ring
:func:`~ballistics.casing.roi_rings.find_primer` finds on every raw scan). The calibre says which
primer; the ring's radius in pixels then gives micrometres per pixel.

The estimate is reported with its relative uncertainty: the primer's manufacturing tolerance
and how far the ring found lies from the primer's edge (the ring is the centre line of the gap,
which is a few tens of micrometres wide, and a tilted case or a worn primer edge moves it),
measured on scans whose resolution is known (``benchmarks/primer_scale.py``).

References
----------
.. [1] ANSI/SAAMI Z299.3 (centerfire pistol and revolver) and Z299.4 (centerfire rifle):
   primer pocket and primer dimensions.
.. [2] C.I.P. tables of cartridge dimensions (TDCC), primer types.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np

from ballistics.casing.prepare import PIXEL_UM_UNCERTAINTY_KEY
from ballistics.casing.roi_config import RegionConfig
from ballistics.casing.roi_rings import primer_search
from ballistics.errors import EvidenceError, MissingMetadataError
from ballistics.io import AS_STORED, read_surface
from ballistics.io.files import Source
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits
from ballistics.surface import Surface

#: Nominal primer diameters (µm) by primer type [1]_ [2]_.
PRIMER_DIAMETERS_UM: dict[str, float] = {
    "small pistol": 4445.0,
    "small rifle": 4445.0,
    "large pistol": 5334.0,
    "large rifle": 5334.0,
    "shotshell 209": 6096.0,
}

# Calibre names (as labs write them, normalised by _key) to their primer type. Only calibres
# loaded with one primer size are listed: .45 ACP is loaded with both large and small pistol
# primers, so it is left out rather than guessed.
_CALIBRE_PRIMERS: dict[str, str] = {
    **dict.fromkeys(
        (
            "9mm",
            "9x19",
            "9mmluger",
            "9mmparabellum",
            "9mmpara",
            "9x19mm",
            "9mmluger9x19",
            "380acp",
            "380auto",
            "9x17",
            "9mmkurz",
            "9mmshort",
            "9x18",
            "9x18makarov",
            "9mmmakarov",
            "40s&w",
            "40sw",
            "38special",
            "38spl",
            "357magnum",
            "357mag",
            "357sig",
            "32acp",
            "765mm",
            "765x17",
            "25acp",
            "762x25",
            "762x25tokarev",
        ),
        "small pistol",
    ),
    **dict.fromkeys(("10mm", "10mmauto", "44magnum", "44mag", "45colt", "50ae"), "large pistol"),
    **dict.fromkeys(
        ("223", "223rem", "556", "556x45", "556nato", "545x39", "300blk"), "small rifle"
    ),
    **dict.fromkeys(
        ("762x39", "762x51", "308", "308win", "762x54r", "3006", "303british"), "large rifle"
    ),
    **dict.fromkeys(("12gauge", "12ga", "20gauge", "20ga", "410"), "shotshell 209"),
}


# Pixel size a photograph is read at before its primer is measured (replaced by the estimate).
_PROVISIONAL_PIXEL_UM = 5.0

# The firing-pin impression (the strongest ring, often) lies within this share of the primer's
# radius from the primer's centre.
_CENTRE_REACH = 0.5


@dataclass(frozen=True)
class PrimerScaleConfig:
    """Options of :func:`estimate_pixel_um`.

    Parameters
    ----------
    field_of_view_um
        (smallest, largest) extent of the photograph's shorter side that is searched, in
        micrometres: from a primer filling the frame to a whole case head with margin.
    relative_uncertainty
        Largest relative error reported with every estimate (and searched by the comparison),
        from photographs of known resolution: the two real NBIDE photographs come out 9 % and
        11 % coarse (the ring found lies inside the primer's edge under their ring light), the
        synthetic ones 3-8 % fine (``benchmarks/primer_scale.py``).
    search_ratio
        Each trial pixel size searches primer radii within this factor either side of the
        nominal one; consecutive trials are ``search_ratio`` apart so that they cover the range.
    """

    field_of_view_um: tuple[float, float] = (4500.0, 20000.0)
    relative_uncertainty: float = 0.12
    search_ratio: float = 1.3

    def __post_init__(self) -> None:
        smallest, largest = self.field_of_view_um
        if not 0 < smallest < largest:
            raise ValueError(
                f"field_of_view_um must be (smallest, largest) micrometres with 0 < smallest < "
                f"largest, got {self.field_of_view_um!r}."
            )
        if not 0 < self.relative_uncertainty < 0.5:
            raise ValueError("relative_uncertainty must be a fraction in (0, 0.5).")
        if not 1.05 <= self.search_ratio <= 2.0:
            raise ValueError("search_ratio must be in [1.05, 2]; 1.3 is the default.")


@dataclass(frozen=True)
class PixelSizeEstimate:
    """A pixel size estimated from the primer.

    Parameters
    ----------
    pixel_um
        Estimated micrometres per pixel.
    relative_uncertainty
        Largest relative error of ``pixel_um``.
    primer_type
        The standard primer the calibre is loaded with.
    primer_diameter_um
        That primer's nominal diameter.
    primer_diameter_px
        Diameter of the primer ring found, in pixels.
    """

    pixel_um: float
    relative_uncertainty: float
    primer_type: str
    primer_diameter_um: float
    primer_diameter_px: float

    def describe(self) -> str:
        """One line for a file's metadata and an examiner: value, uncertainty and how."""
        return (
            f"{self.pixel_um:.3g} µm per pixel ± {100 * self.relative_uncertainty:.0f} % "
            f"(estimated: {self.primer_type} primer, {self.primer_diameter_um / 1000:.3g} mm, "
            f"{self.primer_diameter_px:.0f} pixels across)"
        )


def _key(calibre: str) -> str:
    key = calibre.strip().lower().replace("×", "x")
    key = re.sub(r"\b(cal|caliber|calibre|cartridge)\b", "", key)
    return re.sub(r"[\s.\-_/]", "", key)


def primer_type(calibre: str) -> str:
    """Return the standard primer type a calibre is loaded with.

    Raises
    ------
    ValueError
        The calibre is not one loaded with a single primer size; the message lists what is known.

    Examples
    --------
    >>> primer_type("9mm Luger")
    'small pistol'
    >>> primer_type("7.62×39")
    'large rifle'
    """
    found = _CALIBRE_PRIMERS.get(_key(calibre))
    if found is None:
        raise ValueError(
            f"no single primer size is known for calibre {calibre!r}; give the photograph's "
            "pixel size (pixel_um) instead. Known: 9mm, .380 ACP, .40 S&W, .38 Special, "
            ".357 Magnum, 10mm, 5.56x45, 7.62x39, 7.62x51, 12 gauge and their usual spellings "
            "(.45 ACP is loaded with two primer sizes)."
        )
    return found


def estimate_pixel_um(
    surface: Surface, *, calibre: str, config: PrimerScaleConfig = PrimerScaleConfig()
) -> PixelSizeEstimate:
    """Estimate a photograph's pixel size from the primer of its calibre.

    Trial pixel sizes from ``config.field_of_view_um`` over the photograph's shorter side, each
    searching primer rings within ``config.search_ratio`` of the nominal radius
    (:func:`~ballistics.casing.roi_rings.primer_search`, the same ring search as the region of
    interest); the ring with the strongest contrast gives the scale, refined by a second search
    about it.

    Parameters
    ----------
    surface
        The photograph (its ``pixel_um`` is ignored).
    calibre
        The cartridge's calibre as a lab writes it (``"9mm"``, ``"9x19"``, ``".40 S&W"``).
    config
        Search range and reported uncertainty.

    Returns
    -------
    PixelSizeEstimate

    Raises
    ------
    ValueError
        The calibre is not loaded with one known primer size.
    EvidenceError
        No primer ring is visible at any scale searched.
    """
    kind = primer_type(calibre)
    diameter_um = PRIMER_DIAMETERS_UM[kind]
    radius_um = diameter_um / 2
    shorter_px = min(surface.shape)
    smallest, largest = config.field_of_view_um
    ratio = config.search_ratio
    trials = np.geomspace(
        smallest / shorter_px,
        largest / shorter_px,
        max(2, math.ceil(math.log(largest / smallest) / math.log(ratio)) + 1),
    )
    found = [
        ring
        for trial_um in trials
        if (ring := _ring_at(surface, float(trial_um), radius_um, ratio)) is not None
    ]
    if not found:
        raise EvidenceError(
            surface.source,
            f"no {kind} primer ring ({diameter_um / 1000:.3g} mm for calibre {calibre}) is "
            "visible at any scale; give the photograph's pixel size (pixel_um).",
        )
    chosen = _outermost_strong_ring(found)
    refined = _ring_at(surface, chosen.pixel_um, radius_um, 1.1) or chosen
    pixel_um = refined.pixel_um
    return PixelSizeEstimate(
        pixel_um=pixel_um,
        relative_uncertainty=config.relative_uncertainty,
        primer_type=kind,
        primer_diameter_um=diameter_um,
        primer_diameter_px=diameter_um / pixel_um,
    )


@dataclass(frozen=True)
class _Ring:
    score: float
    pixel_um: float  # the pixel size if this ring is the primer
    x_px: float
    y_px: float
    radius_px: float


def _ring_at(surface: Surface, trial_um: float, radius_um: float, ratio: float) -> _Ring | None:
    """The strongest ring within ``ratio`` of the primer's radius, pixels taken as ``trial_um``."""
    region = RegionConfig(primer_radius_um=(radius_um / ratio, radius_um * ratio))
    score, circle = primer_search(replace(surface, pixel_um=trial_um), region)
    if circle is None:
        return None
    return _Ring(
        score=score,
        pixel_um=trial_um * radius_um / circle.radius_um,
        x_px=circle.x_um / trial_um,
        y_px=circle.y_um / trial_um,
        radius_px=circle.radius_um / trial_um,
    )


def _outermost_strong_ring(rings: list[_Ring]) -> _Ring:
    """The primer among the rings found: the outermost ring around the strongest one.

    Inside the primer lie the firing-pin impression and the aperture's edge: dark rings often
    stronger than the primer's own (a ring light leaves the wide, curved primer edge dark but
    less sharply so), and at some trial scale as large as a primer should look. Outside it
    there is the case head, which makes no dark ring. So the largest ring found that holds the
    strongest one near its middle is the primer (every ring found already stands out of the
    photograph, :func:`~ballistics.casing.roi_rings.primer_search`).
    """
    strongest = max(rings, key=lambda ring: ring.score)
    around = [
        ring
        for ring in rings
        if math.hypot(ring.x_px - strongest.x_px, ring.y_px - strongest.y_px)
        <= _CENTRE_REACH * ring.radius_px
    ]
    return max(around, key=lambda ring: ring.radius_px)


def with_estimated_pixel_um(surface: Surface, estimate: PixelSizeEstimate) -> Surface:
    """The surface at the estimated pixel size, the estimate recorded in its metadata (how, and
    the relative error the comparison searches scale within)."""
    metadata = dict(surface.metadata)
    metadata |= {
        "pixel_um_source": "primer",
        "pixel_um_estimate": estimate.describe(),
        PIXEL_UM_UNCERTAINTY_KEY: f"{estimate.relative_uncertainty:g}",
    }
    return replace(surface, pixel_um=estimate.pixel_um, metadata=metadata)


def read_casing_surface(
    source: Source,
    *,
    pixel_um: float | None = None,
    caliber: str | None = None,
    name: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    orientation: str = AS_STORED,
) -> Surface:
    """:func:`~ballistics.io.read_surface` for a cartridge case: a photograph that carries no
    resolution (and none given) gets one estimated from the primer of ``caliber``.

    Raises
    ------
    MissingMetadataError
        No resolution in the file, none given, and no calibre (or one loaded with no single
        primer size) to estimate it from; the message says what to give.
    EvidenceError
        As :func:`~ballistics.io.read_surface`, or no primer ring is visible.
    """
    try:
        return read_surface(
            source, pixel_um=pixel_um, name=name, limits=limits, orientation=orientation
        )
    except MissingMetadataError as error:
        if not caliber:
            raise MissingMetadataError(
                error.source,
                f"{error.problem}; or give the calibre, from whose primer the pixel size is "
                "estimated",
            ) from error
        try:
            primer_type(caliber)
        except ValueError as unknown:
            raise MissingMetadataError(error.source, str(unknown)) from error
    # Any spacing will do for finding the primer: the estimate replaces it.
    provisional = read_surface(
        source, pixel_um=_PROVISIONAL_PIXEL_UM, name=name, limits=limits, orientation=orientation
    )
    return with_estimated_pixel_um(provisional, estimate_pixel_um(provisional, calibre=caliber))

"""Options of the bullet pipeline, one frozen dataclass with the units in the names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ballistics.bullet.model import LAND_MODEL_VERSION


@dataclass(frozen=True)
class BulletConfig:
    """Options of land preparation and comparison; change one with :func:`dataclasses.replace`.

    The defaults are the engine's calibrated operating point. The preparation settings were
    chosen while developing on the Hamby 252 and Hamby 44 scans; the land model and
    ``lead_threshold`` are fitted on synthetic bullets only (:mod:`ballistics.bullet.model`),
    so the land and bullet scores ``benchmarks/bullet_accuracy.py`` reports on the Hamby sets
    are on data the model never saw.

    Parameters
    ----------
    striae_direction
        How the striae lie in the scan's image (row 0 at the top): ``"vertical"`` (down the
        columns; a cross-section is a row), ``"horizontal"``, or ``"auto"`` to detect it from the
        surface (the direction of least short-wavelength height change).
    heel_end
        Which end of the striae is the heel (the bullet's base): ``"first"`` (row 0 for vertical
        striae, column 0 for horizontal ones), ``"last"``, or ``"auto"`` to take the end whose
        edge has fewer measured points (the base edge of a land is ragged).
    land_pixel_um_range
        (finest, coarsest) grid spacing of a land scan accepted, in micrometres per pixel:
        striae are a few micrometres wide (the signature's short cutoff is 8 µm), so a scan
        coarser than 5 µm does not hold them; none of a land needs finer than 0.3 µm.
    crosscut_start_um, crosscut_step_um
        The stable cross-section is searched from this distance above the heel upwards in steps
        of this size.
    crosscut_span_um
        Distance between the two cross-sections whose agreement is tested (Hare et al. 2017).
    crosscut_min_correlation
        The first height (from the heel) whose cross-section correlates at least this much with
        the one ``crosscut_span_um`` above it is taken; if none does, the height of the best
        agreement.
    crosscut_band_um
        Height of the band of rows averaged into one cross-section (noise of single rows averages
        out; striae are parallel over such a band).
    groove_rise_um
        A groove shoulder is where the cross-section, its curvature removed, climbs this far
        within 100 µm going outwards.
    groove_margin_um
        Distance kept away from each detected groove towards the land's centre.
    min_land_width_um
        Narrowest land (between the grooves) worth comparing.
    signature_bandpass_um
        (short, long) cutoff wavelengths of the Gaussian filters of the signature: the long one
        removes the curvature left after the robust quadratic, the short one smooths noise.
    striae_prominence_um
        Smallest prominence of a peak or valley of the signature counted as a stria.
    max_lag_um
        Largest lateral shift searched when aligning two signatures.
    min_overlap_fraction
        Alignments must overlap at least this fraction of the shorter signature.
    striae_tolerance_um
        A stria of one signature matches one of the other (same kind, peak or valley) within this
        distance after alignment (consecutive matching striae, Chu et al. 2013).
    lead_threshold
        Bullet score (mean land score over the best phase) at and above which a pair of bullets
        is a lead, worth an examiner's time (never an identification): the threshold with the
        most right decisions on the synthetic training bullets, each scored by a land model
        fitted on the other half of the training makes (0.505, in the training table's header),
        rounded to 0.51.
    land_count
        Number of lands around the bullet (a class feature) when known; None takes the largest
        land number seen on either bullet.
    damaged_land_fraction
        At every phase this fraction of the land pairs (rounded down), the lowest-scoring,
        drop out of the mean: a damaged land does not pull a known match down. At 0.2 one pair
        in five drops out, none below five pairs (with four lands or fewer, dropping one leaves
        too few to average and lifts chance agreements of non-matches; chosen on development
        seeds of the synthetic makes, not on the seeds the benchmark reports).
    land_model
        Version of the land model (:data:`~ballistics.bullet.model.LAND_MODEL_VERSION`); part
        of the settings so that stored results name the model that scored them.
    """

    striae_direction: Literal["auto", "vertical", "horizontal"] = "auto"
    heel_end: Literal["auto", "first", "last"] = "auto"
    land_pixel_um_range: tuple[float, float] = (0.3, 5.0)
    crosscut_start_um: float = 50.0
    crosscut_step_um: float = 25.0
    crosscut_span_um: float = 100.0
    crosscut_min_correlation: float = 0.9
    crosscut_band_um: float = 50.0
    groove_rise_um: float = 15.0
    groove_margin_um: float = 50.0
    min_land_width_um: float = 400.0
    signature_bandpass_um: tuple[float, float] = (8.0, 250.0)
    striae_prominence_um: float = 0.5
    max_lag_um: float = 500.0
    min_overlap_fraction: float = 0.6
    striae_tolerance_um: float = 4.7
    lead_threshold: float = 0.51
    land_count: int | None = None
    damaged_land_fraction: float = 0.2
    land_model: str = LAND_MODEL_VERSION

    def __post_init__(self) -> None:
        if self.striae_direction not in ("auto", "vertical", "horizontal"):
            raise ValueError(
                "striae_direction must be 'auto', 'vertical' or 'horizontal', got "
                f"{self.striae_direction!r}."
            )
        if self.heel_end not in ("auto", "first", "last"):
            raise ValueError(f"heel_end must be 'auto', 'first' or 'last', got {self.heel_end!r}.")
        short, long = self.signature_bandpass_um
        if not 0 < short < long:
            raise ValueError(
                "signature_bandpass_um must be (short, long) with 0 < short < long micrometres, "
                f"got {self.signature_bandpass_um!r}."
            )
        finest_um, coarsest_um = self.land_pixel_um_range
        if not 0 < finest_um <= coarsest_um:
            raise ValueError(
                "land_pixel_um_range must be (finest, coarsest) micrometres per pixel with "
                f"0 < finest <= coarsest, got {self.land_pixel_um_range!r}."
            )
        positive = {
            "crosscut_step_um": self.crosscut_step_um,
            "crosscut_span_um": self.crosscut_span_um,
            "crosscut_band_um": self.crosscut_band_um,
            "groove_rise_um": self.groove_rise_um,
            "min_land_width_um": self.min_land_width_um,
            "max_lag_um": self.max_lag_um,
            "striae_tolerance_um": self.striae_tolerance_um,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"{name} must be a positive number of micrometres, got {value!r}.")
        if not 0 < self.min_overlap_fraction <= 1:
            raise ValueError(
                f"min_overlap_fraction must be in (0, 1], got {self.min_overlap_fraction!r}."
            )
        if not 0 <= self.damaged_land_fraction < 1:
            raise ValueError(
                f"damaged_land_fraction must be in [0, 1), got {self.damaged_land_fraction!r}."
            )
        if self.land_count is not None and self.land_count < 1:
            raise ValueError(f"land_count must be None or at least 1, got {self.land_count!r}.")


#: the engine's calibrated operating point
DEFAULT_BULLET_CONFIG = BulletConfig()

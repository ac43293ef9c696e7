"""Quality of a breech-face photograph at upload: what a lab should change, in plain sentences.

:func:`assess_photograph` measures a photograph (a :class:`~ballistics.surface.Surface` of
modality ``PHOTOGRAPH``) on its own grid, before preparation, inside the breech-face region of
interest (the primer annulus :func:`~ballistics.casing.roi.find_breech_face` keeps; the whole
image when no primer is found):

- **too coarse**: a pixel larger than half the band-pass's short cutoff (16 µm) cannot hold the
  shortest wavelengths compared (the sampling theorem: a wavelength needs two samples);
- **blurred**: the marks' energy in the octave above the short cutoff (16-32 µm) relative to
  the next octave (32-64 µm), the sensor noise's share taken off first; a ratio of two bands of
  one photograph, so the light's strength and the contrast cancel [1]_;
- **over- / under-exposed**: the share of pixels at the ends of the file's range (within
  ``clip_codes`` codes of 0 or of full scale, after its bit depth) and the mean level;
- **noisy**: the sensor noise (estimated from the pixel-scale Laplacian [2]_) as a share of
  the energy in the finer octave.

Each finding is a :class:`PhotoWarning`: a code a program can act on and a sentence telling the
lab what to change. A photograph with nothing usable left (blank, or most of the region clipped)
is not usable: :meth:`PhotoQuality.check_usable` raises
:class:`~ballistics.errors.UnusablePhotographError`. The thresholds are
:class:`PhotoQualityConfig`'s defaults, chosen from ``benchmarks/photo_quality.py`` (the README
gives its table); 3D scans get no photograph warnings.

References
----------
.. [1] S. Pertuz, D. Puig and M. A. Garcia, "Analysis of focus measure operators for
   shape-from-focus", Pattern Recognition 46(5), 1415-1432, 2013 (band-pass energy focus
   measures; ratios of bands are insensitive to contrast).
.. [2] J. Immerkær, "Fast noise variance estimation", Computer Vision and Image Understanding
   64(2), 300-302, 1996.
"""

from __future__ import annotations

import enum
import logging
import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from ballistics.casing.filters import cutoff_to_sigma_px, gaussian_smooth
from ballistics.casing.roi import BreechFaceRegion, find_breech_face
from ballistics.casing.roi_config import DEFAULT_REGION_CONFIG, RegionConfig
from ballistics.errors import EvidenceError, UnusablePhotographError
from ballistics.surface import Modality, Surface

logger = logging.getLogger(__name__)


class PhotoWarningCode(enum.StrEnum):
    """What is wrong with a photograph (the ``code`` of a :class:`PhotoWarning`)."""

    TOO_COARSE = "too_coarse"
    BLURRED = "blurred"
    OVER_EXPOSED = "over_exposed"
    UNDER_EXPOSED = "under_exposed"
    NOISY = "noisy"


@dataclass(frozen=True)
class PhotoWarning:
    """One finding about a photograph: a code and a sentence telling the lab what to change."""

    code: PhotoWarningCode
    message: str

    def as_json(self) -> dict[str, str]:
        """``{"code": ..., "message": ...}``, as the API and the command line give it."""
        return {"code": str(self.code), "message": self.message}


@dataclass(frozen=True)
class PhotoQualityConfig:
    """Thresholds of :func:`assess_photograph`; change one with :func:`dataclasses.replace`.

    Parameters
    ----------
    short_band_um, mid_band_um
        (short, long) cutoffs in micrometres of the two bands whose energies make the sharpness
        (ISO 16610-61 Gaussians, as the preparation's band-pass). Two adjacent octaves from the
        preparation's short cutoff: defocus and shake take the finer octave down far more than
        the next, while a pistol's own spectrum and the light's gradients change both about
        alike (the README gives the measured ranges).
    min_sharpness
        Short-band over mid-band RMS of the marks (noise taken off) below which the photograph
        is out of focus or shaken.
    max_pixel_um
        Coarsest pixel that holds the short cutoff: half of ``short_band_um[0]`` (two samples
        per wavelength). None: derived so.
    clip_codes
        A pixel within this many codes of 0 or of the file's full scale (after its bit depth)
        counts as clipped.
    max_clipped_high_share, max_clipped_low_share
        Share of the region's pixels clipped bright (dark) above which the photograph is over-
        (under-) exposed.
    min_mean_level
        Mean level of the region (full scale 1) below which the photograph is under-exposed
        even where little is clipped (a dark file keeps its marks in few grey levels). A bright
        mean alone is not a warning: a primer is the brightest part of a ring-lit view.
    max_noise_share
        Share of the short band's energy that is sensor noise above which the photograph is
        noisy.
    unusable_clipped_share
        Share of the region clipped (bright and dark together) above which nothing usable is
        left: the upload is refused.
    min_level_std_codes
        Standard deviation of the region's levels, in codes of the file, below which the
        photograph is blank: refused.
    """

    short_band_um: tuple[float, float] = (16.0, 32.0)
    mid_band_um: tuple[float, float] = (32.0, 64.0)
    min_sharpness: float = 0.6
    max_pixel_um: float | None = None
    clip_codes: float = 1.0
    max_clipped_high_share: float = 0.1
    max_clipped_low_share: float = 0.1
    min_mean_level: float = 0.1
    max_noise_share: float = 0.8
    unusable_clipped_share: float = 0.5
    min_level_std_codes: float = 0.5

    def __post_init__(self) -> None:
        for name in ("short_band_um", "mid_band_um"):
            short_um, long_um = getattr(self, name)
            if not 0 < short_um < long_um:
                raise ValueError(
                    f"{name} must be (short, long) cutoffs with 0 < short < long, got "
                    f"{getattr(self, name)!r}."
                )
        for name in (
            "max_clipped_high_share",
            "max_clipped_low_share",
            "min_mean_level",
            "max_noise_share",
            "unusable_clipped_share",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(
                    f"{name} must be a fraction in [0, 1], got {getattr(self, name)!r}."
                )
        if self.max_pixel_um is not None and not self.max_pixel_um > 0:
            raise ValueError(f"max_pixel_um must be positive or None, got {self.max_pixel_um!r}.")

    @property
    def coarsest_pixel_um(self) -> float:
        """The coarsest pixel accepted without a warning (µm)."""
        if self.max_pixel_um is not None:
            return self.max_pixel_um
        return self.short_band_um[0] / 2.0


DEFAULT_PHOTO_QUALITY_CONFIG = PhotoQualityConfig()


@dataclass(frozen=True)
class PhotoQuality:
    """What :func:`assess_photograph` measured and found.

    Parameters
    ----------
    warnings
        The findings, worst first; empty for a good photograph.
    problem
        Why nothing usable is left (a sentence), or ``""`` when the photograph is usable.
    pixel_um
        The photograph's micrometres per pixel.
    bit_depth
        Bits per sample of the file (8 when the surface does not say).
    region_found
        Whether the measures were taken on the breech-face region (False: on the whole image,
        no primer having been found).
    region_pixels
        Pixels measured.
    clipped_high_share, clipped_low_share
        Shares of the region's pixels clipped bright and dark.
    mean_level
        Mean level of the region (full scale 1).
    level_std_codes
        Standard deviation of the region's levels, in codes of the file.
    sharpness
        Short-band over mid-band RMS of the marks, noise taken off; None when the pixel is too
        coarse for the short band, or noise makes most of it.
    noise_share
        Share of the short band's energy that is sensor noise (the file's quantisation left
        out); None when the pixel is too coarse for the short band.
    """

    warnings: tuple[PhotoWarning, ...]
    problem: str
    pixel_um: float
    bit_depth: int
    region_found: bool
    region_pixels: int
    clipped_high_share: float
    clipped_low_share: float
    mean_level: float
    level_std_codes: float
    sharpness: float | None
    noise_share: float | None

    @property
    def usable(self) -> bool:
        """Whether anything usable is left (False: the upload is refused)."""
        return not self.problem

    @property
    def codes(self) -> tuple[str, ...]:
        """The warnings' codes."""
        return tuple(str(warning.code) for warning in self.warnings)

    def check_usable(self, name: str) -> None:
        """Raise :class:`~ballistics.errors.UnusablePhotographError` naming ``name`` when
        nothing usable is left."""
        if self.problem:
            raise UnusablePhotographError(name, self.problem)

    def as_json(self) -> dict[str, object]:
        """The measures and the warnings as plain JSON values."""
        return {
            "warnings": [warning.as_json() for warning in self.warnings],
            "problem": self.problem,
            "pixel_um": self.pixel_um,
            "bit_depth": self.bit_depth,
            "region_found": self.region_found,
            "region_pixels": self.region_pixels,
            "clipped_high_share": self.clipped_high_share,
            "clipped_low_share": self.clipped_low_share,
            "mean_level": self.mean_level,
            "level_std_codes": self.level_std_codes,
            "sharpness": self.sharpness,
            "noise_share": self.noise_share,
        }


def assess_photograph(
    surface: Surface,
    *,
    region: BreechFaceRegion | None = None,
    config: PhotoQualityConfig = DEFAULT_PHOTO_QUALITY_CONFIG,
    region_config: RegionConfig = DEFAULT_REGION_CONFIG,
) -> PhotoQuality:
    """Return the quality of a breech-face photograph: measures, warnings, and whether usable.

    Parameters
    ----------
    surface
        A photograph (intensities in [0, 1]) of a cartridge case's head, as read from its file
        (``metadata["bit_depth"]`` says how many codes its range has; 8 bits when absent).
    region
        Its breech-face region of interest, when the caller has it; else it is found here
        (:func:`~ballistics.casing.roi.find_breech_face`), and when no primer is found the whole
        measured image is assessed.
    config
        Thresholds.
    region_config
        How the region is found when ``region`` is None (the preparation's
        ``PrepareConfig.region``).

    Returns
    -------
    PhotoQuality
        The measures, the warnings (each with a sentence for the lab) and ``problem`` when
        nothing usable is left.

    Raises
    ------
    ValueError
        ``surface`` is not a photograph (3D scans get no photograph warnings).

    References
    ----------
    .. [1] S. Pertuz, D. Puig and M. A. Garcia, Pattern Recognition 46(5), 2013.
    .. [2] J. Immerkær, Computer Vision and Image Understanding 64(2), 1996.
    """
    if surface.modality is not Modality.PHOTOGRAPH:
        raise ValueError(
            f"assess_photograph takes a photograph, got a {surface.modality} surface; 3D scans "
            "get no photograph warnings."
        )
    bit_depth = _bit_depth(surface)
    full_scale_codes = float(2**bit_depth - 1)
    keep, region_found = _region_mask(surface, region, region_config)
    values = surface.values[keep]
    pixel_um = surface.pixel_um
    if values.size == 0:
        return _blank(surface, bit_depth, region_found, "the photograph holds no measured pixel")
    margin = config.clip_codes / full_scale_codes
    high_share = float(np.mean(values >= 1.0 - margin - 1e-9))
    low_share = float(np.mean(values <= margin + 1e-9))
    mean_level = float(values.mean())
    level_std_codes = float(values.std()) * full_scale_codes
    sharpness = noise_share = None
    if pixel_um <= config.coarsest_pixel_um:
        sharpness, noise_share = _band_measures(
            surface.values, keep, pixel_um, config, code=1.0 / full_scale_codes
        )
    quality = PhotoQuality(
        warnings=(),
        problem="",
        pixel_um=pixel_um,
        bit_depth=bit_depth,
        region_found=region_found,
        region_pixels=int(values.size),
        clipped_high_share=high_share,
        clipped_low_share=low_share,
        mean_level=mean_level,
        level_std_codes=level_std_codes,
        sharpness=sharpness,
        noise_share=noise_share,
    )
    return _judged(quality, config)


def photograph_warnings(
    surface: Surface,
    *,
    config: PhotoQualityConfig = DEFAULT_PHOTO_QUALITY_CONFIG,
    region_config: RegionConfig = DEFAULT_REGION_CONFIG,
) -> tuple[PhotoWarning, ...]:
    """Return a photograph's warnings (none for a 3D scan); refuse one with nothing usable.

    What intake calls on every surface it reads, before preparing it (``region_config``: the
    preparation's, so that the region assessed is the one compared).

    Raises
    ------
    UnusablePhotographError
        The photograph is blank or most of its breech-face region is clipped; the message names
        the file and says what to change.
    """
    if surface.modality is not Modality.PHOTOGRAPH:
        return ()
    quality = assess_photograph(surface, config=config, region_config=region_config)
    quality.check_usable(surface.source)
    for warning in quality.warnings:
        # a warning, so that the command line shows it on standard error (what a lab should
        # change when it next photographs); the API answers the warnings themselves
        logger.warning("%s: %s", surface.source, warning.message)
    return quality.warnings


# --- measures ------------------------------------------------------------------------------------


def _bit_depth(surface: Surface) -> int:
    try:
        bits = int(surface.metadata.get("bit_depth", "8"))
    except ValueError:
        bits = 8
    return bits if 1 <= bits <= 16 else 8


def _region_mask(
    surface: Surface, region: BreechFaceRegion | None, region_config: RegionConfig
) -> tuple[np.ndarray, bool]:
    """The breech-face region's pixels (measured), or every measured pixel when none is found."""
    measured = surface.mask
    if region is None:
        try:
            region = find_breech_face(surface, config=region_config)
        except EvidenceError as error:
            logger.debug("%s: quality measured on the whole image: %s", surface.source, error)
            return measured, False
    keep = np.asarray(region.mask, dtype=bool) & measured
    if not keep.any():
        return measured, False
    return keep, True


def _band_measures(
    values: np.ndarray,
    keep: np.ndarray,
    pixel_um: float,
    config: PhotoQualityConfig,
    *,
    code: float,
) -> tuple[float | None, float | None]:
    """(sharpness, noise share) of the region's marks; (None, None) when too few pixels.

    The white noise the Laplacian sees is the sensor's plus the file's quantisation (a uniform
    error of one ``code``: variance ``code**2 / 12``); the noise share counts the sensor's only
    (what more light cures), the sharpness takes both off the short band, and is None when they
    make more than ``config.max_noise_share`` of it (focus cannot be told under the noise).
    """
    rows, columns = np.nonzero(keep)
    long_sigma_px = cutoff_to_sigma_px(config.mid_band_um[1], pixel_um=pixel_um)
    pad = math.ceil(3 * long_sigma_px)
    top, bottom = max(rows.min() - pad, 0), min(rows.max() + pad + 1, keep.shape[0])
    left, right = max(columns.min() - pad, 0), min(columns.max() + pad + 1, keep.shape[1])
    inside = keep[top:bottom, left:right]
    crop = np.where(inside, values[top:bottom, left:right], np.nan).astype(np.float32)
    cutoffs_um = sorted({*config.short_band_um, *config.mid_band_um})
    smoothed = {
        cutoff: _smooth(crop, cutoff_to_sigma_px(cutoff, pixel_um=pixel_um))
        for cutoff in cutoffs_um
    }
    short = smoothed[config.short_band_um[0]] - smoothed[config.short_band_um[1]]
    mid = smoothed[config.mid_band_um[0]] - smoothed[config.mid_band_um[1]]
    # Only where the Laplacian's 3x3 window and the bands are all inside the region.
    core = cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    core &= np.isfinite(short) & np.isfinite(mid)
    if core.sum() < 100:
        return None, None
    short_power = float(np.mean(short[core].astype(np.float64) ** 2))
    mid_power = float(np.mean(mid[core].astype(np.float64) ** 2))
    white_variance = _noise_sigma(crop, core) ** 2
    gain = _band_noise_gain(config.short_band_um, pixel_um=pixel_um)
    white_power = white_variance * gain
    sensor_power = max(white_variance - code**2 / 12.0, 0.0) * gain
    if short_power <= 0:
        return None, 1.0
    noise_share = min(sensor_power / short_power, 1.0)
    if white_power > config.max_noise_share * short_power:
        return None, noise_share
    marks_power = max(short_power - white_power, 0.0)
    sharpness = math.sqrt(marks_power / mid_power) if mid_power > 0 else 0.0
    return sharpness, noise_share


def _smooth(values: np.ndarray, sigma_px: float) -> np.ndarray:
    """NaN-aware Gaussian smoothing; a kernel under a fifth of a pixel leaves the grid as is."""
    if sigma_px < 0.2:
        return values
    return gaussian_smooth(values, sigma_px=sigma_px, min_weight=0.0)


def _noise_sigma(values: np.ndarray, core: np.ndarray) -> float:
    """Immerkær's estimate of white noise's standard deviation from the Laplacian difference
    mask ``[[1, -2, 1], [-2, 4, -2], [1, -2, 1]]`` (which nearly cancels smooth structure) [2]_.
    """
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
    filled = np.where(np.isfinite(values), values, 0.0).astype(np.float32)
    response = cv2.filter2D(filled, -1, kernel, borderType=cv2.BORDER_REFLECT)
    return float(math.sqrt(math.pi / 2.0) * np.mean(np.abs(response[core])) / 6.0)


def _band_noise_gain(band_um: tuple[float, float], *, pixel_um: float) -> float:
    """Variance of white unit-variance noise after the band-pass ``band_um`` on this grid."""
    sigmas = [cutoff_to_sigma_px(cutoff, pixel_um=pixel_um) for cutoff in band_um]
    half = math.ceil(4 * max(sigmas)) + 1
    impulse = np.zeros((2 * half + 1, 2 * half + 1), dtype=np.float64)
    impulse[half, half] = 1.0
    responses = [
        impulse if sigma < 0.2 else cv2.GaussianBlur(impulse, (0, 0), sigma) for sigma in sigmas
    ]
    return float(np.sum((responses[0] - responses[1]) ** 2))


# --- findings ------------------------------------------------------------------------------------


def _blank(surface: Surface, bit_depth: int, region_found: bool, problem: str) -> PhotoQuality:
    return PhotoQuality(
        warnings=(),
        problem=problem,
        pixel_um=surface.pixel_um,
        bit_depth=bit_depth,
        region_found=region_found,
        region_pixels=0,
        clipped_high_share=0.0,
        clipped_low_share=0.0,
        mean_level=0.0,
        level_std_codes=0.0,
        sharpness=None,
        noise_share=None,
    )


def _judged(quality: PhotoQuality, config: PhotoQualityConfig) -> PhotoQuality:
    """``quality`` with its warnings and, when nothing usable is left, its problem."""
    warnings: list[PhotoWarning] = []
    where = "of the primer" if quality.region_found else "of the image"
    clipped = quality.clipped_high_share + quality.clipped_low_share
    problem = ""
    if clipped > config.unusable_clipped_share:
        bright = quality.clipped_high_share >= quality.clipped_low_share
        problem = (
            f"{clipped:.0%} {where} is clipped {'white' if bright else 'black'}: nothing usable "
            "is left; "
            + (
                "shorten the exposure or dim the light"
                if bright
                else "lengthen the exposure or brighten the light"
            )
            + " until the primer's marks show in grey, and upload the photograph again"
        )
    elif quality.level_std_codes < config.min_level_std_codes:
        problem = (
            f"the photograph is blank: the levels {where} vary by {quality.level_std_codes:.2f} "
            f"of {2**quality.bit_depth - 1} grey levels; photograph the primer in focus under "
            "the light, exposed so that the breech-face marks show, and upload it again"
        )
    coarsest_um = config.coarsest_pixel_um
    short_um = config.short_band_um[0]
    if quality.pixel_um > coarsest_um:
        warnings.append(
            PhotoWarning(
                PhotoWarningCode.TOO_COARSE,
                f"the photograph has {quality.pixel_um:.3g} µm per pixel, coarser than the "
                f"{coarsest_um:.3g} µm needed to hold breech-face marks down to {short_um:g} µm "
                f"(two pixels per wavelength); photograph at a higher magnification, "
                f"{coarsest_um:.3g} µm per pixel or finer.",
            )
        )
    if quality.sharpness is not None and quality.sharpness < config.min_sharpness:
        warnings.append(
            PhotoWarning(
                PhotoWarningCode.BLURRED,
                f"the photograph is out of focus or shaken: its fine marks "
                f"({config.short_band_um[0]:g}-{config.short_band_um[1]:g} µm) hold "
                f"{quality.sharpness:.2f} of the coarser marks' contrast, below "
                f"{config.min_sharpness:.2f}; focus on the primer's face and keep the camera "
                "still (a remote release or a delay).",
            )
        )
    if quality.clipped_high_share > config.max_clipped_high_share:
        warnings.append(
            PhotoWarning(
                PhotoWarningCode.OVER_EXPOSED,
                f"the photograph is over-exposed: {quality.clipped_high_share:.0%} {where} is "
                f"clipped white (mean level {quality.mean_level:.0%} of full scale); shorten "
                "the exposure or dim the light so that the brightest marks stay below white.",
            )
        )
    if (
        quality.clipped_low_share > config.max_clipped_low_share
        or quality.mean_level < config.min_mean_level
    ):
        warnings.append(
            PhotoWarning(
                PhotoWarningCode.UNDER_EXPOSED,
                f"the photograph is under-exposed: {quality.clipped_low_share:.0%} {where} is "
                f"clipped black (mean level {quality.mean_level:.0%} of full scale); lengthen "
                "the exposure or brighten the light so that the darkest marks stay above black.",
            )
        )
    if quality.noise_share is not None and quality.noise_share > config.max_noise_share:
        warnings.append(
            PhotoWarning(
                PhotoWarningCode.NOISY,
                f"the photograph is noisy: sensor noise makes {quality.noise_share:.0%} of its "
                f"fine detail ({config.short_band_um[0]:g}-{config.short_band_um[1]:g} µm); "
                "give more light, a lower ISO or a longer exposure, or average several frames.",
            )
        )
    return replace(quality, warnings=tuple(warnings), problem=problem)


__all__ = [
    "DEFAULT_PHOTO_QUALITY_CONFIG",
    "PhotoQuality",
    "PhotoQualityConfig",
    "PhotoWarning",
    "PhotoWarningCode",
    "assess_photograph",
    "photograph_warnings",
]

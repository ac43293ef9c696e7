"""Options of the breech-face region-of-interest search
(:func:`ballistics.casing.roi.find_breech_face`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class RegionConfig:
    """Options of :func:`~ballistics.casing.roi.find_breech_face`; change one with
    :func:`dataclasses.replace`.

    Parameters
    ----------
    primer_radius_um
        Range of primer radii searched (small pistol primers are 2.2 mm, large ones 2.7 mm).
    firing_pin_radius_um
        Range of firing-pin impression radii searched.
    primer_margin_um
        Kept distance inside the primer circle (the centre line of the primer gap): the rounded
        primer edge is not breech face.
    firing_pin_margin_um
        Kept distance outside the firing-pin impression's rim (the crater wall and its lip).
    annotated_edge_um
        Band shaved off the edges of a lab-drawn region on a raw scan (measured data all round
        the region): the firing-pin hole's wall and the primer's edge are inside such drawings;
        50 µm was chosen on the real raw DFSC scans against their processed counterparts
        (``benchmarks/raw_scans.py``).
    aperture_margin_um
        Kept distance outside the firing-pin aperture ring (primer metal that flowed back into
        the aperture around the pin never touched the breech face).
    detection_pixel_um
        Grid spacing of the coarse circle search.
    refine_pixel_um
        Finest grid spacing used to refine circles (the scan's own when coarser).
    groove_sigma_um
        Scale of the groove map (Gaussian sigma of the local reference level) for the primer gap.
    inner_groove_sigma_um
        Same for the narrower rings near the firing pin.
    min_primer_contrast
        Smallest mean groove strength along the primer circle, in robust sigmas of the groove
        map; below it the scan is refused with "no primer found".
    min_ring_contrast
        Smallest mean groove strength of a dark ring around the firing pin on a photograph (the
        impression itself, or the aperture's edge) for it to count.
    aperture_min_step_um
        Smallest height step, over 60 µm, taken as the edge of a flow-back plateau around the
        firing pin (topographies).
    firing_pin_min_depth_um
        Smallest depth of a crater, below the primer face, taken as a firing-pin impression.
    processed_min_missing_fraction
        A scan with at least this fraction of NaN, all inside a compact disc clear of the grid's
        edges, is taken as already processed.
    centre_on
        Axis of a raw scan: the primer's centre (the cartridge axis) or the firing-pin impression's.
        Measured both ways (2026-12-02; ``benchmarks/raw_scans.py --synthetic``,
        ``descriptor_recall.py``, ``casing_accuracy.py``): ``firing_pin`` puts synthetic raw
        scans near their processed counterparts in the index (own processed scan first for 20 of
        20 raw scans, against 7 of 20) and improves synthetic retrieval (R@1 0.70 -> 0.87), but
        it loses synthetic raw x raw known matches (2 of 6 score 0 and 1.5; AUC 1.000 -> 0.861):
        the firing-pin centre found on a raw scan is off by up to ~100 µm (the drag mark pulls
        it), and two such errors exceed the registration's translation search. ``primer`` stays
        the default until the firing-pin centre is found as precisely as the primer's. Real scans
        are not affected: processed and annotated scans are centred by their own region.
    """

    primer_radius_um: tuple[float, float] = (1500.0, 3200.0)
    firing_pin_radius_um: tuple[float, float] = (200.0, 1300.0)
    primer_margin_um: float = 500.0
    firing_pin_margin_um: float = 100.0
    aperture_margin_um: float = 50.0
    annotated_edge_um: float = 50.0
    detection_pixel_um: float = 40.0
    refine_pixel_um: float = 10.0
    groove_sigma_um: float = 400.0
    inner_groove_sigma_um: float = 150.0
    min_primer_contrast: float = 0.5
    min_ring_contrast: float = 0.75
    aperture_min_step_um: float = 5.0
    firing_pin_min_depth_um: float = 10.0
    processed_min_missing_fraction: float = 0.3
    centre_on: Literal["primer", "firing_pin"] = "primer"

    def __post_init__(self) -> None:
        for name in ("primer_radius_um", "firing_pin_radius_um"):
            low, high = getattr(self, name)
            if not 0 < low < high:
                raise ValueError(f"{name} must be (smallest, largest) with 0 < smallest < largest.")
        if self.firing_pin_radius_um[1] >= self.primer_radius_um[1]:
            raise ValueError("firing_pin_radius_um must end below primer_radius_um's end.")
        if self.centre_on not in ("primer", "firing_pin"):
            raise ValueError(f"centre_on is 'primer' or 'firing_pin', got {self.centre_on!r}.")
        if not self.annotated_edge_um >= 0:
            raise ValueError("annotated_edge_um must be a width in micrometres, 0 or more.")
        if not 0 < self.processed_min_missing_fraction < 1:
            raise ValueError("processed_min_missing_fraction must be a fraction in (0, 1).")


#: The options :func:`~ballistics.casing.roi.find_breech_face` uses unless told otherwise.
DEFAULT_REGION_CONFIG = RegionConfig()

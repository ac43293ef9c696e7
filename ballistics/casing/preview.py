"""The preview of a prepared cartridge case: its breech face, and its firing pin beside it (PNG).

Built from the generic blocks of :mod:`ballistics.render`; the picture of a comparison of two
casings is :mod:`ballistics.casing.overlay`.
"""

from __future__ import annotations

import numpy as np

from ballistics.casing.marks import PreparedCasing
from ballistics.render import (
    DEFAULT_COLOUR_MAP,
    DEFAULT_MAX_SIDE_PX,
    DEFAULT_PERCENTILES,
    check_colour_map,
    check_max_side,
    encode_png,
    fitted_size,
    scale_bar_block,
    side_by_side,
    stack_blocks,
    surface_panel,
    text_block,
)
from ballistics.surface import Modality


def casing_preview_png(
    mark: PreparedCasing,
    *,
    max_side_px: int = DEFAULT_MAX_SIDE_PX,
    colour_map: str = DEFAULT_COLOUR_MAP,
    title: str | None = None,
) -> bytes:
    """A preview of a prepared cartridge case: the breech face, and the firing pin beside it.

    Both impressions are drawn at the same scale (the breech face's longest side at most
    ``max_side_px``), each with its own colour range, under a title (default: the source file
    and the modality) and over one scale bar.

    Parameters
    ----------
    mark
        The prepared casing (:func:`ballistics.casing.prepare.prepare_casing`).
    max_side_px, colour_map
        As in :func:`ballistics.render.render_surface_png`.
    title
        First line of the figure; default the mark's source file name.

    Returns
    -------
    bytes
        The PNG file.
    """
    max_side_px = check_max_side(max_side_px)
    check_colour_map(colour_map)
    unit = "µm" if mark.modality is Modality.TOPOGRAPHY else ""
    breech_face = mark.breech_face
    size = fitted_size(breech_face.shape, max_side_px)
    scale = size[1] / breech_face.shape[1]
    um_per_px = mark.pixel_um / scale

    def panel(values: np.ndarray, size_px: tuple[int, int], caption: str) -> np.ndarray:
        return surface_panel(
            values,
            size_px=size_px,
            colour_map=colour_map,
            percentiles=DEFAULT_PERCENTILES,
            caption=caption,
            value_unit=unit,
        )

    panels = [panel(breech_face, size, "Breech face")]
    firing_pin = mark.firing_pin
    if firing_pin is not None and firing_pin.ndim == 2 and np.isfinite(firing_pin).any():
        pin_size = (
            max(1, round(firing_pin.shape[0] * scale)),
            max(1, round(firing_pin.shape[1] * scale)),
        )
        panels.append(panel(firing_pin, pin_size, "Firing pin"))
    heading = title or mark.source or "Cartridge case"
    # two short lines, so that the pictures, not the caption, set the figure's width
    details = [
        f"{mark.modality.value}, {mark.pixel_um:g} µm per point",
        f"{100 * mark.valid_fraction:.0f}% of the breech-face grid measured",
    ]
    blocks = [
        text_block([heading]),
        text_block(details),
        side_by_side(panels),
        scale_bar_block(um_per_px=um_per_px, max_length_px=max(size[1] // 4, 40)),
    ]
    figure, _ = stack_blocks(blocks)
    return encode_png(figure)

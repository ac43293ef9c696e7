"""The picture of a casing comparison: both breech faces registered, with the congruent cells.

As under a comparison microscope, the examiner sees the reference on the left and the
questioned casing on the right, turned and shifted by the comparison's registration so that the
same place of the breech face sits at the same pixel of both panels. The reference's cells are
outlined at the same positions on both: the congruent matching cells (Song 2013) in green, the
other cells that carried enough data thin and blue-grey. An optional third panel shows the left
half of the reference joined to the right half of the registered questioned scan, split by a
line, as a comparison microscope's split field does.

Geometry follows :func:`ballistics.casing.compare.compare_pyramids` exactly: both breech faces
are resampled to ``config.cell_pixel_um`` and padded with NaN, centred, to their common size;
that is the frame the cells' ``row_um`` / ``column_um`` are measured in, and the questioned scan
is moved by :func:`ballistics.casing.registration.rotate_masked` with the comparison's
``rotation_deg`` and ``translation_um``.

References
----------
.. [1] J. Song, "Proposed NIST ballistics identification system (NBIS) based on 3D topography
   measurements on correlation cells", AFTE Journal 45(2), 184-194 (2013).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ballistics.casing.compare import (
    DEFAULT_COMPARE_CONFIG,
    CasingComparison,
    CompareConfig,
    pad_to_square,
    resample_masked,
)
from ballistics.casing.marks import PreparedCasing
from ballistics.casing.registration import rotate_masked
from ballistics.render import (
    MARGIN_PX,
    blank,
    colourise,
    contrast_limits,
    encode_png,
    resize_to,
    scale_bar_block,
    side_by_side,
    stack_blocks,
    text_block,
)

#: outline of a congruent matching cell, and its line width in pixels
CONGRUENT_BGR = (0, 200, 0)
CONGRUENT_LINE_PX = 2
#: outline of any other cell that carried enough data to be searched
OTHER_CELL_BGR = (200, 150, 90)
OTHER_CELL_LINE_PX = 1
#: the split field's dividing line
SPLIT_LINE_BGR = (0, 215, 255)
DEFAULT_PANEL_SIDE_PX = 480


@dataclass(frozen=True, eq=False)
class RegisteredPair:
    """Both breech faces in the reference's frame at the cell resolution, NaN where unmeasured.

    ``questioned`` is the questioned breech face after the comparison's registration: a point
    of the breech face sits at the same (row, column) in both arrays when the registration is
    right. Cells' ``row_um`` / ``column_um`` divided by ``pixel_um`` index these arrays.
    """

    reference: np.ndarray
    questioned: np.ndarray
    pixel_um: float


@dataclass(frozen=True, eq=False)
class OverlayFigure:
    """The drawn overlay and where its panels lie in it.

    ``image`` is an 8-bit BGR array; ``panel_origins_px`` the (row, column) of the top-left
    pixel of each square panel (reference, registered questioned, then the split field when
    drawn), each ``panel_side_px`` wide at ``display_um_per_px`` micrometres per pixel.
    """

    image: np.ndarray
    panel_origins_px: tuple[tuple[int, int], ...]
    panel_side_px: int
    display_um_per_px: float


def register_onto_reference(
    reference: PreparedCasing,
    questioned: PreparedCasing,
    comparison: CasingComparison,
    *,
    config: CompareConfig = DEFAULT_COMPARE_CONFIG,
) -> RegisteredPair:
    """Put the questioned breech face onto the reference's frame by the comparison's registration.

    Parameters
    ----------
    reference, questioned
        The prepared casings that were compared, in the same order as for
        :func:`ballistics.casing.compare.compare_casings`.
    comparison
        Its result: ``rotation_deg`` and ``translation_um`` move the questioned scan onto the
        reference.
    config
        The configuration of that comparison (its ``cell_pixel_um`` sets the frame).

    Returns
    -------
    RegisteredPair
        Both breech faces at ``config.cell_pixel_um``, padded to a common square.

    Raises
    ------
    ValueError
        If the casings are of different modalities, or the comparison's cells do not fit the
        frame (a comparison of other casings, or made with another configuration).
    """
    if reference.modality != questioned.modality:
        raise ValueError(
            f"cannot overlay a {reference.modality.value} and a {questioned.modality.value}; "
            "pass the two casings that were compared."
        )
    pixel_um = config.cell_pixel_um
    first = resample_masked(reference.breech_face, reference.pixel_um, pixel_um)
    # A searched scale (an estimated pixel size) applies to the questioned casing's pixels.
    second = resample_masked(
        questioned.breech_face, questioned.pixel_um * comparison.scale, pixel_um
    )
    size = max(*first.shape, *second.shape)
    # The same centred padding as the comparison, so that cells and rotations mean the same.
    first, second = pad_to_square(first, size), pad_to_square(second, size)
    frame_um = size * pixel_um
    for cell in comparison.cells:
        nearest = min(cell.row_um, cell.column_um)
        farthest = max(cell.row_um, cell.column_um) + cell.size_um
        if nearest < -1e-6 or farthest > frame_um + 1e-6:
            raise ValueError(
                f"a cell at ({cell.row_um:g}, {cell.column_um:g}) µm of {cell.size_um:g} µm lies "
                f"outside the {frame_um:g} µm frame of these casings; pass the casings and the "
                "config that made this comparison, reference first."
            )
    shift_px = (comparison.translation_um[0] / pixel_um, comparison.translation_um[1] / pixel_um)
    moved, moved_mask = rotate_masked(
        second, np.isfinite(second), comparison.rotation_deg, shift_px=shift_px
    )
    registered = np.where(moved_mask, moved, np.nan).astype(np.float32)
    return RegisteredPair(reference=first, questioned=registered, pixel_um=pixel_um)


def _draw_box(
    image: np.ndarray,
    *,
    top: int,
    left: int,
    side: int,
    colour: tuple[int, int, int],
    line_px: int,
) -> None:
    """Outline a square just inside its bounds, with exact pixels (no anti-aliasing).

    Inset by one pixel so that neighbouring cells' outlines never share a pixel.
    """
    top, left, bottom, right = top + 1, left + 1, top + side - 1, left + side - 1
    if bottom - top <= 2 * line_px or right - left <= 2 * line_px:
        return
    image[top : top + line_px, left:right] = colour
    image[bottom - line_px : bottom, left:right] = colour
    image[top:bottom, left : left + line_px] = colour
    image[top:bottom, right - line_px : right] = colour


def _draw_cells(image: np.ndarray, comparison: CasingComparison, um_per_px: float) -> None:
    # Other cells first, so that nothing covers a congruent one.
    for congruent in (False, True):
        for cell in comparison.cells:
            if cell.congruent is not congruent:
                continue
            _draw_box(
                image,
                top=round(cell.row_um / um_per_px),
                left=round(cell.column_um / um_per_px),
                side=round(cell.size_um / um_per_px),
                colour=CONGRUENT_BGR if congruent else OTHER_CELL_BGR,
                line_px=CONGRUENT_LINE_PX if congruent else OTHER_CELL_LINE_PX,
            )


def _legend(congruent_count: int, other_count: int) -> np.ndarray:
    entries = []
    for label, colour, line_px in (
        (f"congruent matching cell ({congruent_count})", CONGRUENT_BGR, CONGRUENT_LINE_PX),
        (f"other cell with data ({other_count})", OTHER_CELL_BGR, OTHER_CELL_LINE_PX),
    ):
        text = text_block([label])
        swatch = blank(text.shape[0], text.shape[0])
        _draw_box(swatch, top=0, left=0, side=text.shape[0], colour=colour, line_px=line_px)
        entries += [swatch, text]
    return side_by_side(entries, gap_px=6)


def _header(
    reference: PreparedCasing,
    questioned: PreparedCasing,
    comparison: CasingComparison,
    reference_label: str,
    questioned_label: str,
) -> list[str]:
    forward = sum(cell.congruent for cell in comparison.cells)
    decision = "lead" if comparison.lead else "below the lead threshold"
    rows_um, columns_um = comparison.translation_um
    return [
        f"Score {comparison.score:.1f} ({decision}); CMC {comparison.cmc_count}: "
        f"{forward} of {comparison.valid_cells} reference cells, "
        f"{comparison.cmc_count_reverse} of {comparison.valid_cells_reverse} questioned cells",
        f"Registration: rotation {comparison.rotation_deg:+.1f} deg counter-clockwise, "
        f"translation ({rows_um:+.0f}, {columns_um:+.0f}) µm (rows, columns); "
        f"correlation {comparison.correlation:.2f}",
        f"Reference: {reference_label or reference.source or '-'}   "
        f"Questioned: {questioned_label or questioned.source or '-'}",
    ]


def casing_overlay_image(
    reference: PreparedCasing,
    questioned: PreparedCasing,
    comparison: CasingComparison,
    *,
    config: CompareConfig = DEFAULT_COMPARE_CONFIG,
    reference_label: str = "",
    questioned_label: str = "",
    split_panel: bool = True,
    panel_side_px: int = DEFAULT_PANEL_SIDE_PX,
    colour_map: str = "grey",
    strength_of: Callable[[float], str] | None = None,
) -> OverlayFigure:
    """Draw a casing comparison as :func:`casing_overlay_png` does, returning the image array.

    Also says where each panel lies, for callers that annotate it further (and for tests).
    """
    if int(panel_side_px) != panel_side_px or panel_side_px < 64:
        raise ValueError(f"panel_side_px must be a whole number >= 64, got {panel_side_px}.")
    pair = register_onto_reference(reference, questioned, comparison, config=config)
    um_per_px = pair.pixel_um * pair.reference.shape[0] / panel_side_px
    size = (panel_side_px, panel_side_px)
    panels = [
        resize_to(colourise(values, colour_map=colour_map, limits=contrast_limits(values)), size)
        for values in (pair.reference, pair.questioned)
    ]
    split = None
    if split_panel:
        middle = panel_side_px // 2
        split = np.concatenate([panels[0][:, :middle], panels[1][:, middle:]], axis=1)
        split[:, middle - 1 : middle + 1] = SPLIT_LINE_BGR
    for panel in panels:
        _draw_cells(panel, comparison, um_per_px)
    captions = ["Reference", "Questioned, registered onto the reference"]
    if split is not None:
        panels.append(split)
        captions.append("Split field: reference | questioned")
    captioned = []
    for caption, panel in zip(captions, panels, strict=True):
        block, _ = stack_blocks([text_block([caption]), panel], margin_px=0)
        captioned.append(block)
    caption_offset = captioned[0].shape[0] - panel_side_px
    row_of_panels = side_by_side(captioned)
    congruent_count = sum(cell.congruent for cell in comparison.cells)
    blocks = [
        text_block(
            _header(reference, questioned, comparison, reference_label, questioned_label)
            # the strength of the evidence, written by whoever computes it (the comparison
            # records), under the score it belongs to
            + ([] if strength_of is None else [strength_of(comparison.score)])
        ),
        row_of_panels,
        side_by_side(
            [
                scale_bar_block(um_per_px=um_per_px, max_length_px=panel_side_px // 4),
                _legend(congruent_count, len(comparison.cells) - congruent_count),
            ],
            gap_px=32,
        ),
    ]
    figure, origins = stack_blocks(blocks)
    top, left = origins[1]
    lefts = np.cumsum([0] + [block.shape[1] + MARGIN_PX for block in captioned[:-1]])
    panel_origins = tuple((top + caption_offset, left + int(offset)) for offset in lefts)
    return OverlayFigure(
        image=figure,
        panel_origins_px=panel_origins,
        panel_side_px=panel_side_px,
        display_um_per_px=um_per_px,
    )


def casing_overlay_png(
    reference: PreparedCasing,
    questioned: PreparedCasing,
    comparison: CasingComparison,
    *,
    config: CompareConfig = DEFAULT_COMPARE_CONFIG,
    reference_label: str = "",
    questioned_label: str = "",
    split_panel: bool = True,
    panel_side_px: int = DEFAULT_PANEL_SIDE_PX,
    colour_map: str = "grey",
    strength_of: Callable[[float], str] | None = None,
) -> bytes:
    """Draw two compared casings side by side after registration, with the congruent cells.

    Parameters
    ----------
    reference, questioned
        The prepared casings that were compared, reference first.
    comparison
        Their :class:`~ballistics.casing.compare.CasingComparison`.
    config
        The configuration the comparison ran with.
    reference_label, questioned_label
        How the header names the two (e.g. exhibit and case ids); default their source files.
    split_panel
        Add a third panel: the reference's left half beside the registered questioned scan's
        right half, split by a line.
    panel_side_px
        Side of each square panel, pixels.
    colour_map
        One of :data:`ballistics.render.COLOUR_MAPS`; "grey" (default) looks like a comparison
        microscope and lets the coloured cell outlines stand out.
    strength_of
        The line saying the strength of the evidence of a score (log10 LR, interval, words),
        written in the header; None leaves it out.

    Returns
    -------
    bytes
        The PNG file: a header (score and decision, CMC counts, rotation, translation,
        correlation, labels), the panels each with its own contrast, a scale bar in µm and a
        legend of the cell outlines.

    Raises
    ------
    ValueError
        If the casings are of different modalities, the comparison does not fit them, or an
        option is out of range.
    """
    figure = casing_overlay_image(
        reference,
        questioned,
        comparison,
        config=config,
        reference_label=reference_label,
        questioned_label=questioned_label,
        split_panel=split_panel,
        panel_side_px=panel_side_px,
        colour_map=colour_map,
        strength_of=strength_of,
    )
    return encode_png(figure.image)

"""Congruent Matching Cells: cell-wise registration of one breech face inside another.

The reference scan is divided into square cells. Each cell that carries enough data is
registered inside the (rotated) other scan, over a small range of rotations around the global
registration and a window of translations. A cell is *congruent* when its best correlation
passes a threshold and its own rotation and translation agree with the consensus of all cells
within tolerances. A known match has many congruent cells; a known non-match has few.

References
----------
.. [1] J. Song, "Proposed NIST ballistics identification system (NBIS) based on 3D topography
   measurements on correlation cells", AFTE Journal 45(2), 184-194 (2013).
.. [2] M. Tong, J. Song, W. Chu, "An improved algorithm of congruent matching cells (CMC) method
   for firearm evidence identifications", Journal of Research of NIST 120, 102-112 (2015).
   doi:10.6028/jres.120.008
.. [3] J. Zemmels, H. Hofmann, S. VanderPlas, "cmcR: An R package for the Congruent Matching
   Cells method", and "A Study in Reproducibility: The Congruent Matching Cells Algorithm and
   cmcR Package", The R Journal 14(4) (2023). doi:10.32614/RJ-2023-014
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ballistics.casing.registration import rotate_masked


@dataclass(frozen=True)
class CellSettings:
    """How cells are cut, searched and judged (pixel values at the comparison resolution)."""

    cell_px: int
    search_margin_px: int
    min_valid_fraction: float
    angles_deg: tuple[float, ...]
    correlation_threshold: float
    rotation_tolerance_deg: float
    translation_tolerance_px: float
    min_peak_margin: float = 0.0


@dataclass(frozen=True)
class CellRegistration:
    """Where one reference cell registered best in the other scan."""

    row_px: int
    column_px: int
    correlation: float
    angle_deg: float
    shift_rows_px: float
    shift_columns_px: float
    congruent: bool


def _cells(mask: np.ndarray, cell_px: int, min_valid_fraction: float) -> list[tuple[int, int]]:
    """Top-left corners of the grid cells holding at least the minimum fraction of data."""
    rows, columns = mask.shape
    corners = []
    for row in range(0, rows - cell_px + 1, cell_px):
        for column in range(0, columns - cell_px + 1, cell_px):
            if mask[row : row + cell_px, column : column + cell_px].mean() >= min_valid_fraction:
                corners.append((row, column))
    return corners


def pairwise_correlation(
    first: np.ndarray, first_mask: np.ndarray, second: np.ndarray, second_mask: np.ndarray
) -> float:
    """Pearson correlation over the points valid in both (cmcR's pairwise-complete CCF)."""
    both = first_mask & second_mask
    if both.sum() < 16:
        return 0.0
    x = first[both].astype(np.float64)
    y = second[both].astype(np.float64)
    x -= x.mean()
    y -= y.mean()
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else 0.0


def register_cells(
    reference: np.ndarray,
    reference_mask: np.ndarray,
    moving: np.ndarray,
    moving_mask: np.ndarray,
    *,
    base_angle_deg: float,
    base_shift_px: tuple[float, float],
    settings: CellSettings,
) -> list[CellRegistration]:
    """Register every valid reference cell in the moving scan and mark the congruent ones.

    Parameters
    ----------
    reference, reference_mask
        Reference image (NaN or anything where the mask is False) and its boolean mask.
    moving, moving_mask
        The other scan, same pixel size, any shape.
    base_angle_deg, base_shift_px
        Global registration: rotating ``moving`` by this angle about its centre and shifting it
        by (rows, columns) lands it on ``reference``. Cells are searched around it.
    settings
        Cell size, search window, angle offsets and congruency tolerances.

    Returns
    -------
    list of CellRegistration
        One per valid cell, with its best correlation, angle, shift relative to the global
        registration and whether it is congruent with the consensus.

    References
    ----------
    .. [1] J. Song, AFTE Journal 45(2), 184-194 (2013).
    .. [2] M. Tong, J. Song, W. Chu, Journal of Research of NIST 120, 102-112 (2015).
    """
    cell_px = settings.cell_px
    corners = _cells(reference_mask, cell_px, settings.min_valid_fraction)
    if not corners:
        return []
    best = _search_cells(
        reference,
        reference_mask,
        moving,
        moving_mask,
        corners,
        base_angle_deg=base_angle_deg,
        base_shift_px=base_shift_px,
        settings=settings,
    )
    searched = np.isfinite(best.correlation)
    # A cell found at a slightly different angle is also found at a shifted place (the scan
    # turns about its centre, so a cell far from it moves sideways). Judge every cell by where
    # its own best registration sends its centre, mapped back through the global registration:
    # the landing error. For a true match these errors gather around one point.
    landing = _landing_errors(
        corners,
        cell_px,
        reference.shape,
        settings.search_margin_px,
        best.angle_deg - base_angle_deg,
        best.shift_px,
        base_shift_px,
    )
    congruent = _congruent_cells(best, landing, searched, settings)
    return [
        CellRegistration(
            row_px=row,
            column_px=column,
            correlation=float(best.correlation[i]) if searched[i] else 0.0,
            angle_deg=float(best.angle_deg[i]),
            shift_rows_px=float(best.shift_px[i, 0]),
            shift_columns_px=float(best.shift_px[i, 1]),
            congruent=bool(congruent[i]),
        )
        for i, (row, column) in enumerate(corners)
    ]


@dataclass(frozen=True, eq=False)
class _BestCells:
    """Each cell's best registration over all angles (arrays with one row per cell)."""

    correlation: np.ndarray  # -inf for a cell never searched
    angle_deg: np.ndarray
    shift_px: np.ndarray  # (rows, columns) from the global registration
    peak_margin: np.ndarray


def _search_cells(
    reference: np.ndarray,
    reference_mask: np.ndarray,
    moving: np.ndarray,
    moving_mask: np.ndarray,
    corners: list[tuple[int, int]],
    *,
    base_angle_deg: float,
    base_shift_px: tuple[float, float],
    settings: CellSettings,
) -> _BestCells:
    """Return where each reference cell correlates best in the moving scan, over all angles."""
    cell_px = settings.cell_px
    rows, columns = reference.shape
    reference_filled = np.where(reference_mask, reference, 0.0).astype(np.float32)
    template_masks = [
        reference_mask[r : r + cell_px, c : c + cell_px].astype(np.uint8) for r, c in corners
    ]
    templates = [reference_filled[r : r + cell_px, c : c + cell_px] for r, c in corners]

    # Place the moving scan on the reference's grid once per angle, so that each cell is
    # looked for at the same place in the reference frame, plus or minus the margin.
    pad = settings.search_margin_px
    best_correlation = np.full(len(corners), -np.inf)
    best_angle = np.zeros(len(corners))
    best_shift = np.zeros((len(corners), 2))
    best_margin = np.zeros(len(corners))
    exclusion_px = max(2, round(settings.translation_tolerance_px))
    for angle_offset in settings.angles_deg:
        angle = base_angle_deg + angle_offset
        warped, warped_mask = _warp_onto(
            moving, moving_mask, angle, base_shift_px, (rows, columns), pad
        )
        for index, (row, column) in enumerate(corners):
            region = warped[row : row + cell_px + 2 * pad, column : column + cell_px + 2 * pad]
            region_mask = warped_mask[
                row : row + cell_px + 2 * pad, column : column + cell_px + 2 * pad
            ]
            if region_mask.mean() < settings.min_valid_fraction / 2:
                continue
            # Unmasked search on zero-filled (zero-mean) data is several times faster than
            # OpenCV's masked variant; the peak is then scored on jointly valid points only.
            response = cv2.matchTemplate(region, templates[index], cv2.TM_CCOEFF_NORMED)
            response = np.nan_to_num(response, nan=-1.0, posinf=-1.0, neginf=-1.0)
            _, _, _, (best_x, best_y) = cv2.minMaxLoc(response)
            correlation = pairwise_correlation(
                templates[index],
                template_masks[index].astype(bool),
                region[best_y : best_y + cell_px, best_x : best_x + cell_px],
                region_mask[best_y : best_y + cell_px, best_x : best_x + cell_px],
            )
            if correlation > best_correlation[index]:
                best_correlation[index] = correlation
                best_angle[index] = angle
                best_shift[index] = (best_y - pad, best_x - pad)
                best_margin[index] = _peak_margin(response, best_y, best_x, exclusion_px)
    return _BestCells(best_correlation, best_angle, best_shift, best_margin)


def _congruent_cells(
    best: _BestCells, landing: np.ndarray, searched: np.ndarray, settings: CellSettings
) -> np.ndarray:
    """Return which cells are congruent: well correlated and near the consensus registration."""
    # A cell whose best place is hardly better than places far from it (a cell of parallel
    # tool marks matches anywhere along them) says nothing about where it belongs; class marks
    # shared by every pistol of a model would otherwise make unrelated casings congruent.
    high = (
        searched
        & (best.correlation >= settings.correlation_threshold)
        & (best.peak_margin >= settings.min_peak_margin)
    )
    congruent = np.zeros(len(best.correlation), dtype=bool)
    if high.sum() >= 2:
        # The consensus is the median registration of the well-correlated cells (Song 2013):
        # a true match pulls them together, chance peaks scatter.
        consensus_angle = float(np.median(best.angle_deg[high]))
        consensus_landing = np.median(landing[high], axis=0)
        congruent = (
            high
            & (np.abs(best.angle_deg - consensus_angle) <= settings.rotation_tolerance_deg)
            & (np.abs(landing - consensus_landing).max(axis=1) <= settings.translation_tolerance_px)
        )
    return congruent


def _peak_margin(response: np.ndarray, row: int, column: int, exclusion_px: int) -> float:
    """How far the best response stands above the best one outside a window around it."""
    best = float(response[row, column])
    others = response.copy()
    others[
        max(0, row - exclusion_px) : row + exclusion_px + 1,
        max(0, column - exclusion_px) : column + exclusion_px + 1,
    ] = -1.0
    return best - float(others.max()) if others.size else best


def _landing_errors(
    corners: list[tuple[int, int]],
    cell_px: int,
    reference_shape: tuple[int, int],
    pad: int,
    angle_offsets_deg: np.ndarray,
    shifts_px: np.ndarray,
    base_shift_px: tuple[float, float],
) -> np.ndarray:
    """(rows, columns) error of each cell's landing place against the global registration.

    A cell whose centre ``q`` was found displaced by ``d`` in the moving scan rotated by the
    base angle plus ``delta`` came from the moving scan's point ``R(base + delta)^-1 (q + d - c
    - t)``; sent back through the base registration it lands at ``R(-delta) (q + d - c - t) + c
    + t``, which is ``q`` itself for a cell that follows the global registration exactly.
    """
    rows, columns = reference_shape
    centre = np.array([(rows + 2 * pad - 1) / 2.0, (columns + 2 * pad - 1) / 2.0])
    cell_centres = np.array(
        [
            (row + pad + (cell_px - 1) / 2.0, column + pad + (cell_px - 1) / 2.0)
            for row, column in corners
        ]
    )
    base = np.asarray(base_shift_px, dtype=float)
    relative = cell_centres + shifts_px - centre - base
    radians = np.radians(angle_offsets_deg)
    cosine, sine = np.cos(radians), np.sin(radians)
    # cv2 rotates (x, y) = (column, row) by [[cos, sin], [-sin, cos]]; R(-delta) is its
    # transpose.
    x, y = relative[:, 1], relative[:, 0]
    rotated_x = cosine * x - sine * y
    rotated_y = sine * x + cosine * y
    landed = np.stack([rotated_y, rotated_x], axis=1) + centre + base
    return landed - cell_centres


def _warp_onto(
    moving: np.ndarray,
    moving_mask: np.ndarray,
    angle_deg: float,
    shift_px: tuple[float, float],
    reference_shape: tuple[int, int],
    pad: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate and shift the moving scan onto the reference grid, padded by ``pad`` on all sides."""
    rows, columns = reference_shape
    canvas_rows, canvas_columns = rows + 2 * pad, columns + 2 * pad
    # Embed the moving scan so that its centre sits on the padded reference's centre.
    canvas = np.zeros((canvas_rows, canvas_columns), dtype=np.float32)
    canvas_mask = np.zeros((canvas_rows, canvas_columns), dtype=bool)
    moving_rows, moving_columns = moving.shape
    top = (canvas_rows - moving_rows) // 2
    left = (canvas_columns - moving_columns) // 2
    source_top, source_left = max(0, -top), max(0, -left)
    top, left = max(0, top), max(0, left)
    height = min(moving_rows - source_top, canvas_rows - top)
    width = min(moving_columns - source_left, canvas_columns - left)
    canvas[top : top + height, left : left + width] = np.where(moving_mask, moving, 0.0)[
        source_top : source_top + height, source_left : source_left + width
    ]
    canvas_mask[top : top + height, left : left + width] = moving_mask[
        source_top : source_top + height, source_left : source_left + width
    ]
    return rotate_masked(canvas, canvas_mask, angle_deg, shift_px=shift_px)

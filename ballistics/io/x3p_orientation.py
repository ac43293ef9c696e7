"""The orientation an X3P file declares, and how to bring its grid to the one every surface has.

Every surface the reader returns has one physical orientation: column ``j`` at ``x = j * dx``
with ``x`` increasing to the right, row ``i`` at ``y = i * dy``, heights ``z`` measured towards the
viewer (the casing's head seen from the breech face's side). A file can declare another one in
two standard ways, and both are honoured:

* a negative ``CX`` or ``CY`` ``Increment``: that axis runs against the index, so the grid is
  reversed along it;
* ``Record1/Axes/Rotation`` (``r11`` .. ``r33``): the matrix taking the file's coordinates to the
  measured ones. When it only permutes and signs the axes (the cases a writer produces: a
  transposed grid, an axis reversed, a surface seen from below with ``r33 = -1``), it is applied
  exactly: rows and columns swapped or reversed, heights negated. A mirror image (determinant
  -1) is thereby turned back, which matters because a breech-face impression cannot be compared
  with its mirror image. Any other rotation (a small tilt) does not change which side is which;
  it is left to levelling and recorded in ``metadata["rotation_ignored"]``.

What is *not* honoured, on evidence: the ``<Origin>`` element some CSAFE / x3ptools files carry
in ``Record1/Axes`` (``NW``) is not part of the ISO 5436-2 schema and, on the DFSC files here,
is carried alike by files stored mirrored (``older_pipeline``) and not (four ``aces_processed``
files and one raw file score their known matches only as read), so it says nothing about the
mirror; it is recorded as ``metadata["origin_in_file"]`` and otherwise left alone.

References
----------
.. [1] ISO 25178-72:2017, Geometrical product specifications (GPS) - Surface texture: Areal -
   Part 72: XML file format x3p (axes, increments and the rotation matrix of Record1).
.. [2] openGPS consortium, ISO5436_2.xsd, https://www.opengps.eu.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A rotation entry this close to -1, 0 or 1 is taken as exactly that.
_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Orientation:
    """How to turn a file's grid (rows y, columns x) into the common orientation.

    Applied in this order: ``transpose`` (swap x and y), then reverse rows (``flip_rows``) and
    columns (``flip_columns``), then negate heights (``negate_heights``).
    """

    transpose: bool = False
    flip_rows: bool = False
    flip_columns: bool = False
    negate_heights: bool = False
    #: a declared rotation that is not a signed permutation, left to levelling; "" when none
    ignored_rotation: str = ""

    @property
    def is_identity(self) -> bool:
        """Whether the grid is already in the common orientation."""
        return not (self.transpose or self.flip_rows or self.flip_columns or self.negate_heights)

    @property
    def mirrors(self) -> bool:
        """Whether the file's grid is the mirror image of the common orientation."""
        return (self.transpose + self.flip_rows + self.flip_columns) % 2 == 1

    def describe(self) -> str:
        """A short record of what was done, for ``metadata["orientation"]``."""
        steps = [
            label
            for flag, label in (
                (self.transpose, "transposed"),
                (self.flip_rows, "rows reversed"),
                (self.flip_columns, "columns reversed"),
                (self.negate_heights, "heights negated"),
            )
            if flag
        ]
        return ", ".join(steps) or "as stored"

    def apply(self, grid: np.ndarray) -> np.ndarray:
        """Return ``grid`` (rows, columns) in the common orientation (heights not negated)."""
        if self.transpose:
            grid = grid.T
        if self.flip_rows:
            grid = grid[::-1]
        if self.flip_columns:
            grid = grid[:, ::-1]
        return np.ascontiguousarray(grid)

    def spacings(self, x_spacing: float, y_spacing: float) -> tuple[float, float]:
        """Return the x and y spacings after the grid is turned."""
        return (y_spacing, x_spacing) if self.transpose else (x_spacing, y_spacing)


def declared_orientation(x_sign: float, y_sign: float, rotation: np.ndarray | None) -> Orientation:
    """Return the orientation declared by the increments' signs and the rotation matrix.

    Parameters
    ----------
    x_sign, y_sign
        The signs (+1 or -1) of the ``CX`` and ``CY`` increments.
    rotation
        The 3×3 ``Rotation`` matrix of ``Record1/Axes``, or None when the file has none.
    """
    signs = np.diag([x_sign, y_sign])
    planar, z_sign, ignored = signs, 1.0, ""
    if rotation is not None:
        snapped = np.round(rotation)
        exact = np.all(np.abs(rotation - snapped) <= _TOLERANCE)
        keeps_z = exact and np.all(snapped[:2, 2] == 0) and np.all(snapped[2, :2] == 0)
        xy = snapped[:2, :2]
        if keeps_z and abs(snapped[2, 2]) == 1 and _signed_permutation(xy):
            planar, z_sign = xy @ signs, float(snapped[2, 2])
        elif not np.allclose(rotation, np.eye(3), atol=_TOLERANCE):
            ignored = " ".join(f"{value:.6g}" for value in rotation.ravel())
    # planar maps (column index, row index) to (x, y) in the common orientation.
    transpose = planar[0, 0] == 0
    x_from, y_from = (planar[0, 1], planar[1, 0]) if transpose else (planar[0, 0], planar[1, 1])
    return Orientation(
        transpose=bool(transpose),
        flip_rows=bool(y_from < 0),
        flip_columns=bool(x_from < 0),
        negate_heights=z_sign < 0,
        ignored_rotation=ignored,
    )


def _signed_permutation(matrix: np.ndarray) -> bool:
    return bool(
        np.all(np.isin(matrix, (-1.0, 0.0, 1.0)))
        and np.all(np.abs(matrix).sum(axis=0) == 1)
        and np.all(np.abs(matrix).sum(axis=1) == 1)
    )

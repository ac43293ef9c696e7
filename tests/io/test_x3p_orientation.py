"""A surface stored in another declared orientation reads back in the one common orientation.

Each test writes the same synthetic surface twice: once as stored in the common orientation, once
transformed (mirrored, transposed, seen from below) with the header declaring it (a negative
increment, a rotation matrix). Both must read to the same heights, region and spacing; what is
not declared (the non-standard ``<Origin>``) must change nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ballistics.io import read_x3p
from ballistics.io.x3p_orientation import declared_orientation
from tests.io.x3p_files import make_x3p, ramp, write

IDENTITY = "<r11>1</r11><r12>0</r12><r13>0</r13><r21>0</r21><r22>1</r22><r23>0</r23>" + (
    "<r31>0</r31><r32>0</r32><r33>1</r33>"
)


def rotation(matrix: list[list[int]] | list[list[float]]) -> str:
    entries = "".join(
        f"<r{row + 1}{column + 1}>{matrix[row][column]}</r{row + 1}{column + 1}>"
        for row in range(3)
        for column in range(3)
    )
    return f"<Rotation>{entries}</Rotation>"


def with_axes_extra(extra: str):
    return lambda xml: xml.replace("</Axes>", f"{extra}</Axes>")


def negative(axis: str):
    """Make the increment of ``axis`` ("CX" or "CY") negative in main.xml."""

    def edit(xml: str) -> str:
        start = xml.index(f"<{axis}>")
        at = xml.index("<Increment>", start) + len("<Increment>")
        return xml[:at] + "-" + xml[at:]

    return edit


def region_of(heights: np.ndarray) -> np.ndarray:
    """An RGB mask: one corner annotated red, so that a flipped region shows."""
    mask = np.zeros((*heights.shape, 3), dtype=np.uint8)
    mask[...] = (0xCD, 0x7F, 0x32)
    mask[:5, :7] = (0x1F, 0x37, 0x6C)
    return mask


@pytest.fixture
def reference(tmp_path: Path):
    heights = ramp(20, 24)
    heights[3, 4] = np.nan
    return read_x3p(write(tmp_path, make_x3p(heights), "reference.x3p")), heights


@pytest.mark.parametrize(
    ("stored", "edit"),
    [
        (lambda h: h[::-1], negative("CY")),
        (lambda h: h[:, ::-1], negative("CX")),
        (lambda h: h[::-1, ::-1], lambda xml: negative("CX")(negative("CY")(xml))),
        (lambda h: h[::-1], with_axes_extra(rotation([[1, 0, 0], [0, -1, 0], [0, 0, 1]]))),
        (lambda h: h.T, with_axes_extra(rotation([[0, 1, 0], [1, 0, 0], [0, 0, 1]]))),
        (lambda h: h.T[::-1], with_axes_extra(rotation([[0, -1, 0], [1, 0, 0], [0, 0, 1]]))),
    ],
    ids=[
        "rows-negative-y",
        "columns-negative-x",
        "both-negative",
        "mirror-rotation",
        "transposed",
        "turned-90",
    ],
)
def test_declared_orientation_is_turned_back(tmp_path: Path, reference, stored, edit) -> None:
    expected, heights = reference
    content = make_x3p(np.ascontiguousarray(stored(heights)), edit_xml=edit)
    surface = read_x3p(write(tmp_path, content, "turned.x3p"))
    np.testing.assert_array_equal(surface.values, expected.values)
    assert surface.pixel_um == pytest.approx(expected.pixel_um)
    assert surface.metadata["orientation"] != "as stored"


def test_region_is_turned_with_the_heights(tmp_path: Path) -> None:
    heights = ramp(20, 24)
    expected = read_x3p(
        write(
            tmp_path, make_x3p(heights, mask=region_of(heights), mask_background="#CD7F32"), "a.x3p"
        )
    )
    mirrored = make_x3p(
        np.ascontiguousarray(heights[::-1]),
        mask=region_of(heights)[::-1],
        mask_background="#CD7F32",
        edit_xml=negative("CY"),
    )
    surface = read_x3p(write(tmp_path, mirrored, "b.x3p"))
    assert expected.region_of_interest is not None and surface.region_of_interest is not None
    assert not expected.region_of_interest[:5, :7].any()
    np.testing.assert_array_equal(surface.region_of_interest, expected.region_of_interest)
    np.testing.assert_array_equal(surface.values, expected.values)


def test_surface_seen_from_below_is_mirrored_back_and_its_heights_negated(
    tmp_path: Path, reference
) -> None:
    expected, heights = reference
    below = rotation([[1, 0, 0], [0, -1, 0], [0, 0, -1]])
    content = make_x3p(np.ascontiguousarray(-heights[::-1]), edit_xml=with_axes_extra(below))
    surface = read_x3p(write(tmp_path, content, "below.x3p"))
    np.testing.assert_array_equal(surface.values, expected.values)
    assert "heights negated" in surface.metadata["orientation"]


def test_a_mirrored_grid_is_not_the_same_surface_when_nothing_declares_it(
    tmp_path: Path, reference
) -> None:
    """The non-standard <Origin> element is recorded, never acted on (DFSC evidence)."""
    expected, heights = reference
    content = make_x3p(
        np.ascontiguousarray(heights[::-1]), edit_xml=with_axes_extra("<Origin>NW</Origin>")
    )
    surface = read_x3p(write(tmp_path, content, "origin.x3p"))
    assert surface.metadata["origin_in_file"] == "NW"
    assert surface.metadata["orientation"] == "as stored"
    np.testing.assert_array_equal(surface.values, np.asarray(expected.values)[::-1])


def test_identity_or_small_tilt_rotation_leaves_the_grid_as_stored(
    tmp_path: Path, reference
) -> None:
    expected, heights = reference
    tilt = np.array([[1, 0, 0.01], [0, 1, 0], [-0.01, 0, 1]])
    for name, extra in (
        ("identity", f"<Rotation>{IDENTITY}</Rotation>"),
        ("tilt", rotation(tilt.tolist())),
    ):
        surface = read_x3p(
            write(tmp_path, make_x3p(heights, edit_xml=with_axes_extra(extra)), f"{name}.x3p")
        )
        np.testing.assert_array_equal(surface.values, expected.values)
        assert surface.metadata["orientation"] == "as stored"
    assert "rotation_ignored" in surface.metadata


def test_orientation_flags() -> None:
    assert declared_orientation(1.0, 1.0, None).is_identity
    assert declared_orientation(1.0, -1.0, None).mirrors
    assert not declared_orientation(-1.0, -1.0, None).mirrors  # a half turn, not a mirror
    swap = np.array([[0.0, 1, 0], [1, 0, 0], [0, 0, 1]])
    assert declared_orientation(1.0, 1.0, swap).mirrors
    assert declared_orientation(1.0, 1.0, swap).spacings(2.0, 3.0) == (3.0, 2.0)

"""The orientation a lab declares at intake: a file stored mirrored, declared so, reads back as the
surface it was written from."""

from __future__ import annotations

import numpy as np
import pytest

from ballistics.io import DECLARED_ORIENTATIONS, check_declared_orientation, read_surface, write_x3p
from ballistics.surface import Modality, Surface


def _surface() -> Surface:
    random = np.random.default_rng(3)
    values = random.normal(size=(40, 56))
    values[:5, :9] = np.nan  # a corner missing, so that a flip shows in the mask too
    region = np.zeros(values.shape, dtype=bool)
    region[10:30, 4:20] = True
    return Surface(
        values=values, pixel_um=3.5, modality=Modality.TOPOGRAPHY, region_of_interest=region
    )


def test_a_file_stored_bottom_up_and_declared_mirrored_reads_back_identical(tmp_path) -> None:
    surface = _surface()
    assert surface.region_of_interest is not None
    upright = write_x3p(surface, tmp_path / "upright.x3p")
    stored_mirrored = write_x3p(
        Surface(
            values=surface.values[::-1].copy(),
            pixel_um=surface.pixel_um,
            modality=surface.modality,
            region_of_interest=surface.region_of_interest[::-1].copy(),
        ),
        tmp_path / "mirrored.x3p",
    )

    declared = read_surface(stored_mirrored, orientation="mirrored")
    as_stored = read_surface(stored_mirrored)
    reference = read_surface(upright)

    np.testing.assert_array_equal(declared.values, reference.values)
    assert reference.region_of_interest is not None  # the drawn region travels with the file
    np.testing.assert_array_equal(declared.region_of_interest, reference.region_of_interest)
    assert declared.metadata["declared_orientation"] == "mirrored"
    assert "rows reversed as declared at intake" in declared.metadata["orientation"]
    # read as stored it is the mirror image, and says nothing of a declaration
    assert not np.array_equal(as_stored.values, reference.values, equal_nan=True)
    assert "declared_orientation" not in as_stored.metadata
    # the default changes nothing
    explicit = read_surface(upright, orientation="as_stored")
    np.testing.assert_array_equal(explicit.values, reference.values)
    assert explicit.metadata == reference.metadata


def test_a_declared_orientation_is_one_of_two_words() -> None:
    assert DECLARED_ORIENTATIONS == ("as_stored", "mirrored")
    assert check_declared_orientation(None) == "as_stored"
    assert check_declared_orientation(" ") == "as_stored"
    assert check_declared_orientation(" mirrored ") == "mirrored"
    with pytest.raises(ValueError, match="'flipped' is not one of as_stored, mirrored"):
        check_declared_orientation("flipped")


def test_the_reader_refuses_an_unknown_orientation_before_reading(tmp_path) -> None:
    with pytest.raises(ValueError, match="orientation 'Mirrored' is not one of"):
        read_surface(tmp_path / "does-not-exist.x3p", orientation="Mirrored")

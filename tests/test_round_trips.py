"""Property tests of the round trips: X3P written and read back, stored marks encoded and decoded,
a bullet pair's phase told from either side, calibre classes of the same calibre written
differently.

Each property runs a few dozen examples without a deadline: enough to find the edge that a
hand-picked example misses (one row, all NaN but one point, a float16 input, a huge spacing),
small enough that the suite stays fast.
"""

from __future__ import annotations

import math
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from api.service.config import UNKNOWN_CALIBER_CLASS, caliber_class, normalise_caliber
from api.service.correlate import _seen_from
from api.store.marks import (
    decode_bullet_mark,
    decode_casing_mark,
    encode_bullet_mark,
    encode_casing_mark,
)
from ballistics.bullet.compare import PreparedBullet
from ballistics.bullet.land import PreparedLand
from ballistics.casing.marks import PreparedCasing
from ballistics.io import read_x3p, write_x3p
from ballistics.surface import Modality, Surface

BOUNDED = settings(max_examples=30, deadline=None)
#: the readers refuse grids under 16 x 16 points (too small to compare)
MIN_SIDE = 16

#: float16's relative precision: what a stored mark keeps of each value
FLOAT16_RELATIVE = 2.0**-11


def grids(dtype: np.dtype, *, max_side: int = 24, max_abs: float = 1e4) -> st.SearchStrategy:
    """2-D arrays of ``dtype``: finite values up to ``max_abs``, NaN here and there for floats."""
    if np.issubdtype(dtype, np.integer):
        elements = st.integers(-1000, 1000)
    else:
        width = np.dtype(dtype).itemsize * 8
        finite = st.floats(-max_abs, max_abs, allow_nan=False, allow_infinity=False, width=width)
        elements = st.one_of(finite, st.just(math.nan)) if width > 16 else finite
    shapes = hnp.array_shapes(min_dims=2, max_dims=2, min_side=MIN_SIDE, max_side=max_side)
    # a file with no measured point is refused by the reader, rightly
    return hnp.arrays(dtype, shapes, elements=elements).filter(lambda a: bool(np.isfinite(a).any()))


def assert_float16_close(decoded: np.ndarray, original: np.ndarray) -> None:
    """NaN exactly where it was; each value within float16's precision of the array's scale."""
    np.testing.assert_array_equal(np.isnan(decoded), np.isnan(original))
    valid = ~np.isnan(original)
    if not valid.any():
        return
    largest = float(np.abs(original[valid]).max())
    # the scale is the power of two at or above the largest value; below 2**-14 of it values
    # are float16 subnormals, whose spacing is 2**-24 of the scale
    scale = 2.0 ** math.ceil(math.log2(largest)) if largest > 0 else 1.0
    error = np.abs(decoded[valid].astype(np.float64) - original[valid].astype(np.float64))
    allowed = np.abs(original[valid]).astype(np.float64) * FLOAT16_RELATIVE + scale * 2.0**-24
    assert (error <= allowed).all(), (error - allowed).max()


@BOUNDED
@given(
    values=st.sampled_from([np.float32, np.float64, np.int16, np.int32]).flatmap(grids),
    pixel_um=st.floats(0.05, 500.0, allow_nan=False),
    with_region=st.booleans(),
    data=st.data(),
)
def test_x3p_written_then_read_keeps_heights_mask_spacing_and_region(
    values, pixel_um, with_region, data
):
    region = None
    if with_region:
        # a region of interest holding at least one measured point (the reader refuses a file
        # with none inside it)
        region = data.draw(hnp.arrays(bool, values.shape), label="region")
        region.flat[int(np.flatnonzero(np.isfinite(values))[0])] = True
    surface = Surface(values, pixel_um, Modality.TOPOGRAPHY, region_of_interest=region)
    with TemporaryDirectory() as folder:
        read = read_x3p(write_x3p(surface, Path(folder) / "surface.x3p"))
    assert read.shape == surface.shape
    np.testing.assert_array_equal(read.mask, surface.mask)
    # heights go through metres and back: a float64 or integer grid comes back to its last
    # digits; a float32 grid to float32's (write_x3p divides in the input's type)
    precision = np.finfo(values.dtype).eps if values.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(
        read.values[read.mask],
        surface.values[surface.mask].astype(np.float64),
        rtol=precision,
        atol=1e-12,  # µm: far below any instrument; float32 metres lose the subnormals
    )
    # the spacing is written with 12 significant digits (``.12g``)
    assert math.isclose(read.pixel_um, pixel_um, rel_tol=1e-11)
    if region is None:
        assert read.region_of_interest is None
    else:
        # a region that keeps every point is read as no region: the same surface to prepare
        kept = read.region_of_interest
        np.testing.assert_array_equal(np.ones(values.shape, bool) if kept is None else kept, region)


def test_a_float16_surface_is_written_with_its_heights(tmp_path):
    # heights are converted to metres in float64, whatever the surface's own type
    values = np.linspace(-5.0, 5.0, 16 * 16, dtype=np.float16).reshape(16, 16)
    surface = Surface(values, 2.0, Modality.TOPOGRAPHY)
    read = read_x3p(write_x3p(surface, tmp_path / "half.x3p"))
    np.testing.assert_allclose(read.values, values.astype(np.float64), rtol=1e-12)


def square_marks(max_side: int = 16) -> st.SearchStrategy:
    """Square float32 marks with at least one valid point, values over many magnitudes."""
    return (
        st.tuples(st.integers(1, max_side), st.sampled_from([1e-3, 1.0, 1e3, 1e6]))
        .flatmap(
            lambda side_scale: hnp.arrays(
                np.float32,
                (side_scale[0], side_scale[0]),
                elements=st.one_of(
                    st.floats(-1, 1, width=32).map(lambda v, s=side_scale[1]: np.float32(v * s)),
                    st.just(np.float32(math.nan)),
                ),
            )
        )
        .filter(lambda mark: bool(np.isfinite(mark).any()))
    )


text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@BOUNDED
@given(
    breech_face=square_marks(),
    firing_pin=st.one_of(st.none(), square_marks(8)),
    pixel_um=st.floats(0.1, 100.0),
    modality=st.sampled_from(list(Modality)),
    sha256=st.text("0123456789abcdef", min_size=0, max_size=64),
    source=text,
)
def test_a_casing_mark_decodes_to_what_was_encoded(
    breech_face, firing_pin, pixel_um, modality, sha256, source
):
    mark = PreparedCasing(breech_face, pixel_um, modality, firing_pin, sha256=sha256, source=source)
    decoded = decode_casing_mark(encode_casing_mark(mark))
    assert_float16_close(decoded.breech_face, mark.breech_face)
    if firing_pin is None:
        assert decoded.firing_pin is None
    else:
        assert_float16_close(decoded.firing_pin, mark.firing_pin)
    assert (decoded.pixel_um, decoded.modality) == (mark.pixel_um, mark.modality)
    assert (decoded.sha256, decoded.source) == (sha256, source)


def lands() -> st.SearchStrategy:
    def land(length: int, scale: float) -> st.SearchStrategy:
        signature = hnp.arrays(
            np.float32,
            length,
            elements=st.one_of(
                st.floats(-1, 1, width=32).map(lambda v: np.float32(v * scale)),
                st.just(np.float32(math.nan)),
            ),
        ).filter(lambda values: bool(np.isfinite(values).any()))
        profile = hnp.arrays(np.float32, length, elements=st.floats(-50, 50, width=32))
        indices = st.lists(st.integers(0, length - 1), max_size=5, unique=True).map(sorted)
        return st.builds(
            PreparedLand,
            signature_um=signature,
            profile_um=profile,
            crosscut_um=st.floats(0, 5000),
            groove_um=st.tuples(st.floats(0, 100), st.floats(1000, 2500)),
            pixel_um=st.floats(0.5, 5.0),
            peaks=indices,
            valleys=indices,
            sha256=st.text("0123456789abcdef", max_size=64),
            source=text,
        )

    return st.tuples(st.integers(1, 40), st.sampled_from([1e-2, 1.0, 50.0])).flatmap(
        lambda length_scale: land(*length_scale)
    )


@BOUNDED
@given(
    bullet_lands=st.lists(lands(), min_size=1, max_size=6),
    first_number=st.integers(1, 3),
    source=text,
)
def test_a_bullet_mark_decodes_to_what_was_encoded(bullet_lands, first_number, source):
    numbers = tuple(range(first_number, first_number + len(bullet_lands)))
    bullet = PreparedBullet(tuple(bullet_lands), numbers, source=source)
    decoded = decode_bullet_mark(encode_bullet_mark(bullet))
    assert decoded.land_numbers == bullet.land_numbers
    assert decoded.source == source
    assert len(decoded.lands) == len(bullet.lands)
    for got, land in zip(decoded.lands, bullet.lands, strict=True):
        assert_float16_close(got.signature_um, land.signature_um)
        assert_float16_close(got.profile_um, land.profile_um)
        assert (got.crosscut_um, got.groove_um, got.pixel_um) == (
            land.crosscut_um,
            land.groove_um,
            land.pixel_um,
        )
        # striae positions are integers, kept exactly
        np.testing.assert_array_equal(got.peaks, land.peaks)
        np.testing.assert_array_equal(got.valleys, land.valleys)
        assert (got.sha256, got.source) == (land.sha256, land.source)


@BOUNDED
@given(
    land_count=st.integers(1, 12),
    phase=st.integers(-30, 30),
    first=st.text(min_size=1, max_size=8),
    second=st.text(min_size=1, max_size=8),
)
def test_a_phase_seen_from_the_other_side_and_back_is_the_same_phase(
    land_count, phase, first, second
):
    if first == second:
        second = first + "'"
    details = {"phase": phase, "land_count": land_count, "reference": first, "score": 1.0}
    # told from the reference's own side the details are kept as they are
    assert _seen_from(details, first) == details
    flipped = _seen_from(details, second)
    # the other side's land k faces the reference's land k - phase
    assert (flipped["phase"] + phase) % land_count == 0
    assert 0 <= flipped["phase"] < land_count
    assert {key: value for key, value in flipped.items() if key != "phase"} == {
        key: value for key, value in details.items() if key != "phase"
    }
    # the other side taken as the reference, seen back from the first: the phase comes back
    back = _seen_from({**flipped, "reference": second}, first)
    assert back["phase"] == phase % land_count


CALIBRES = ["9mm Luger", ".45 ACP", ".380 Auto", "7.62x39", ".22 LR", "5.56 NATO", "12 gauge"]


def respelled(caliber: str) -> st.SearchStrategy[str]:
    """The calibre written as people do: any case, spaces, dots, dashes and slashes between."""
    noise = st.text(" .-_/,()\t", max_size=2)

    def spell(case_flips: list[bool], separators: list[str]) -> str:
        letters = [
            character.swapcase() if flip else character
            for character, flip in zip(caliber, case_flips, strict=False)
        ]
        return (
            "".join(
                separator + character
                for separator, character in zip(separators, letters, strict=False)
            )
            + separators[-1]
        )

    size = len(caliber)
    return st.builds(
        spell,
        st.lists(st.booleans(), min_size=size, max_size=size),
        st.lists(noise, min_size=size + 1, max_size=size + 1),
    )


@BOUNDED
@given(data=st.data(), caliber=st.sampled_from(CALIBRES))
def test_a_calibre_written_differently_has_one_class(data, caliber):
    spelling = data.draw(respelled(caliber), label="spelling")
    assert normalise_caliber(spelling) == normalise_caliber(caliber)
    assert caliber_class(spelling) == caliber_class(caliber) != UNKNOWN_CALIBER_CLASS


@BOUNDED
@given(
    first=st.text(st.characters(codec="ascii"), max_size=12),
    second=st.text(st.characters(codec="ascii"), max_size=12),
)
def test_distinct_calibres_get_distinct_classes(first, second):
    if normalise_caliber(first) == normalise_caliber(second):
        assert caliber_class(first) == caliber_class(second)
    else:
        # 62 bits of SHA-256: a collision would be a discovery, not a flaky test
        assert caliber_class(first) != caliber_class(second)
    for text_ in (first, second):
        known = bool(normalise_caliber(text_))
        assert (caliber_class(text_) != UNKNOWN_CALIBER_CLASS) is known


def test_the_calibres_in_use_all_have_distinct_classes():
    classes = {caliber_class(caliber) for caliber in CALIBRES}
    assert len(classes) == len(CALIBRES)
    assert UNKNOWN_CALIBER_CLASS not in classes

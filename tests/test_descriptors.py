"""Retrieval descriptor: unit vectors, rotation invariance, shift and gap tolerance, mates near."""

import csv
import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi

from ballistics.casing.marks import PreparedCasing
from ballistics.casing.registration import rotate_masked
from ballistics.descriptors import (
    DEFAULT_DESCRIPTOR_CONFIG,
    DESCRIPTOR_DIMENSION,
    DESCRIPTOR_VERSION,
    DescriptorConfig,
    RingHarmonics,
    casing_descriptor,
    offset_descriptors,
    offset_grid_um,
)
from ballistics.errors import EvidenceError

PIXEL_UM = 6.25
# tests/ is one level below the repository root; the shared data lies beside the repository.
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _texture(seed, *, size=561):
    """A breech-face-like random texture: fine and coarse band-limited parts, unit variance."""
    rng = np.random.default_rng(seed)
    fine = ndi.gaussian_filter(rng.normal(size=(size, size)), 3.0)
    coarse = ndi.gaussian_filter(rng.normal(size=(size, size)), 12.0)
    texture = fine / fine.std() + coarse / coarse.std()
    return (texture / texture.std()).astype(np.float32)


def _annulus(size=561, *, inner_px=60, outer_px=270):
    rows, columns = np.mgrid[:size, :size] - (size - 1) / 2
    radius = np.hypot(rows, columns)
    return (radius > inner_px) & (radius < outer_px)


def _mark(values, mask, *, source="test.x3p"):
    return PreparedCasing(np.where(mask, values, np.nan), PIXEL_UM, "topography", source=source)


def _moved(values, mask, *, angle_deg=0.0, shift_um=(0.0, 0.0)):
    """The same casing scanned again: turned about the centre, then shifted (rows, columns)."""
    shift_px = (shift_um[0] / PIXEL_UM, shift_um[1] / PIXEL_UM)
    moved, moved_mask = rotate_masked(values, mask, angle_deg, shift_px=shift_px)
    return _mark(moved, moved_mask)


def _cosine(first, second):
    return float(casing_descriptor(first) @ casing_descriptor(second))


@pytest.fixture(scope="module")
def casing():
    return _texture(1), _annulus()


@pytest.fixture(scope="module")
def unrelated_cosines(casing):
    """Cosines of the test casing with five unrelated textures on the same annulus: the level a
    true mate must stay above."""
    values, mask = casing
    reference = casing_descriptor(_mark(values, mask))
    return [
        float(reference @ casing_descriptor(_mark(_texture(seed), mask))) for seed in range(2, 7)
    ]


def test_vector_is_float32_unit_and_of_the_declared_dimension(casing):
    values, mask = casing
    vector = casing_descriptor(_mark(values, mask))
    assert vector.dtype == np.float32
    assert vector.shape == (DESCRIPTOR_DIMENSION,) == (DEFAULT_DESCRIPTOR_CONFIG.dimension,)
    assert np.isfinite(vector).all()
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_version_names_the_default_and_changes_with_the_settings():
    assert DEFAULT_DESCRIPTOR_CONFIG.version() == DESCRIPTOR_VERSION
    assert f"d{DESCRIPTOR_DIMENSION}" in DESCRIPTOR_VERSION
    other = dataclasses.replace(DEFAULT_DESCRIPTOR_CONFIG, block_um=50.0)
    assert other.version().startswith(DESCRIPTOR_VERSION)
    assert other.version() != DESCRIPTOR_VERSION
    assert DescriptorConfig().version() == DESCRIPTOR_VERSION


def test_vector_of_a_known_mark_is_pinned(casing):
    """The numbers of the default descriptor must not change without a new DESCRIPTOR_VERSION
    (stored vectors would silently stop matching new ones)."""
    values, mask = casing
    vector = casing_descriptor(_mark(values, mask))
    assert DESCRIPTOR_VERSION == "casing-polar-gram-v1-d512"
    np.testing.assert_allclose(
        vector[[0, 1, 100, 383, 384, 511]],
        [-0.0087, -0.0219, -0.0033, 0.0083, 0.0530, -0.0052],
        atol=5e-4,
    )


@pytest.mark.parametrize("angle_deg", [37.0, 143.0, -90.0])
def test_rotation_leaves_the_vector_nearly_unchanged(casing, unrelated_cosines, angle_deg):
    values, mask = casing
    cosine = _cosine(_mark(values, mask), _moved(values, mask, angle_deg=angle_deg))
    # Measured 0.999: what changes is only the interpolation of the turned grid.
    assert cosine >= 0.97
    assert cosine > max(unrelated_cosines) + 0.5


@pytest.mark.parametrize(
    ("angle_deg", "shift_um", "minimum"),
    [(37.0, (50.0, 0.0), 0.75), (143.0, (-35.0, 60.0), 0.6), (-20.0, (0.0, 100.0), 0.5)],
)
def test_centring_errors_up_to_100_um_keep_the_mate_apart(
    casing, unrelated_cosines, angle_deg, shift_um, minimum
):
    values, mask = casing
    cosine = _cosine(
        _mark(values, mask), _moved(values, mask, angle_deg=angle_deg, shift_um=shift_um)
    )
    # Measured: 0.89 at 50 µm, 0.79 at 70 µm, 0.71 at 100 µm (0.31 at 200 µm); unrelated
    # textures on the same annulus: 0.13-0.27.
    assert cosine >= minimum
    assert cosine > max(unrelated_cosines) + 0.15


def test_a_known_centre_offset_undoes_the_shift(casing):
    values, mask = casing
    reference = casing_descriptor(_mark(values, mask))
    shift_um = (150.0, -200.0)
    shifted = _moved(values, mask, angle_deg=60.0, shift_um=shift_um)
    blind = float(reference @ casing_descriptor(shifted))
    # The content moved by +shift, so the axis now lies at centre + shift.
    told = float(reference @ casing_descriptor(shifted, centre_offset_um=shift_um))
    assert told >= 0.9
    assert told > blind + 0.4


def test_offset_descriptors_are_the_single_descriptors_at_each_offset(casing):
    values, mask = casing
    mark = _mark(values, mask)
    offsets = offset_grid_um(reach_um=100.0, step_um=100.0)
    assert offsets[0] == (0.0, 0.0)
    assert sorted(offsets) == sorted(
        [(0.0, 0.0), (100.0, 0.0), (-100.0, 0.0), (0.0, 100.0), (0.0, -100.0)]
    )
    stacked = offset_descriptors(mark, offsets_um=offsets)
    assert stacked.shape == (5, DESCRIPTOR_DIMENSION)
    for row, offset in zip(stacked, offsets, strict=True):
        np.testing.assert_allclose(row, casing_descriptor(mark, centre_offset_um=offset), atol=1e-6)
    with pytest.raises(ValueError, match="offsets_um"):
        offset_descriptors(mark, offsets_um=[])


@pytest.mark.parametrize(("kind", "minimum"), [("sector", 0.38), ("blotches", 0.6)])
def test_forty_percent_missing_keeps_the_mate_close(casing, unrelated_cosines, kind, minimum):
    values, mask = casing
    rows, columns = np.mgrid[: mask.shape[0], : mask.shape[1]] - (mask.shape[0] - 1) / 2
    if kind == "sector":
        # a 144° arc gone (40 % of the circle), as when part of the primer was not measured
        missing = np.degrees(np.arctan2(rows, columns)) % 360 < 144
    else:
        noise = ndi.gaussian_filter(np.random.default_rng(9).normal(size=mask.shape), 25)
        missing = noise > np.quantile(noise[mask], 0.6)
    kept = mask & ~missing
    assert 0.55 < kept.sum() / mask.sum() < 0.65
    cosine = _cosine(_mark(values, mask), _moved(values, kept, angle_deg=75.0))
    # Measured 0.45 (sector) and 0.75 (blotches). A whole arc missing costs more than the same
    # area in patches: it smears every ring's angular spectrum over neighbouring orders.
    assert cosine >= minimum
    assert cosine > max(unrelated_cosines) + 0.12


def test_missing_points_never_leak_into_the_vector(casing):
    values, mask = casing
    rng = np.random.default_rng(4)
    speckled = mask & (rng.random(mask.shape) > 0.3)  # 30 % isolated drop-outs
    for mark in (
        _mark(values, speckled),
        PreparedCasing(np.where(mask, values, np.nan)[::2, ::2], 12.5, "topography"),
        PreparedCasing(np.where(mask, values, np.nan), 3.125, "photograph"),
    ):
        vector = casing_descriptor(mark)
        assert np.isfinite(vector).all()
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_a_coarser_grid_of_the_same_casing_gives_nearly_the_same_vector(casing):
    values, mask = casing
    full = _mark(values, mask)
    halved = PreparedCasing(
        np.where(mask, values, np.nan)[::2, ::2][:279, :279], 12.5, "topography"
    )
    assert float(casing_descriptor(full) @ casing_descriptor(halved)) >= 0.8


def test_too_small_a_mark_is_refused_naming_the_file():
    values = np.full((401, 401), np.nan, dtype=np.float32)
    values[200:205, 260:265] = np.random.default_rng(0).normal(size=(5, 5))
    with pytest.raises(EvidenceError, match=r"tiny\.x3p: only 0\.00 mm²") as caught:
        casing_descriptor(PreparedCasing(values, PIXEL_UM, "topography", source="tiny.x3p"))
    assert caught.value.source == "tiny.x3p"


def test_a_mark_without_texture_is_refused_naming_the_file():
    mask = _annulus()
    flat = PreparedCasing(np.where(mask, 3.0, np.nan), PIXEL_UM, "topography", source="flat.png")
    with pytest.raises(EvidenceError, match=r"flat\.png: the breech face has no texture"):
        casing_descriptor(flat)


def test_an_all_missing_mark_cannot_reach_the_descriptor():
    with pytest.raises(ValueError, match="no valid point"):
        PreparedCasing(np.full((64, 64), np.nan), PIXEL_UM, "topography")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"block_um": 0.0}, "block_um"),
        ({"min_ring_coverage": 1.5}, "min_ring_coverage"),
        ({"min_measured_area_mm2": -1.0}, "min_measured_area_mm2"),
    ],
)
def test_bad_settings_are_refused_with_the_field_named(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(DEFAULT_DESCRIPTOR_CONFIG, **change)


def test_bad_ring_settings_are_refused():
    with pytest.raises(ValueError, match="inner < outer"):
        RingHarmonics(900.0, 300.0, 8, 8, 1.5, 1.0, 64)
    with pytest.raises(ValueError, match="ring_count"):
        RingHarmonics(300.0, 900.0, 1, 8, 1.5, 1.0, 64)


def _ranks_of_first_mate(vectors, labels):
    similarity = vectors @ vectors.T
    ranks = []
    for query, label in enumerate(labels):
        order = [index for index in np.argsort(-similarity[query]) if index != query]
        ranks.append([labels[index] == label for index in order].index(True) + 1)
    return ranks, similarity


@pytest.fixture(scope="module")
def synthetic_topographies():
    from ballistics.casing.prepare import prepare_casing
    from ballistics.synthetic import make_casing_dataset

    records = make_casing_dataset(
        firearm_count=4, firings_per_firearm=2, seed=5, consecutive=False, processed=True
    )
    marks = [prepare_casing(record.surface) for record in records]
    return marks, [record.firearm_id for record in records]


def test_synthetic_mates_are_nearer_than_other_pistols(synthetic_topographies):
    marks, labels = synthetic_topographies
    vectors = np.stack([casing_descriptor(mark) for mark in marks])
    ranks, similarity = _ranks_of_first_mate(vectors, labels)
    same = np.equal.outer(labels, labels) & ~np.eye(len(labels), dtype=bool)
    different = ~np.equal.outer(labels, labels)
    # Measured: mates ~0.45, other pistols ~0.05; every mate first of 7.
    assert similarity[same].mean() > similarity[different].mean() + 0.2
    assert max(ranks) <= 2


def test_synthetic_photograph_mates_are_nearer_on_average():
    from ballistics.casing.prepare import prepare_casing
    from ballistics.synthetic import make_casing_dataset

    records = make_casing_dataset(
        firearm_count=3, firings_per_firearm=2, seed=5, consecutive=False, modality="photograph"
    )
    labels = [record.firearm_id for record in records]
    vectors = np.stack([casing_descriptor(prepare_casing(record.surface)) for record in records])
    ranks, similarity = _ranks_of_first_mate(vectors, labels)
    same = np.equal.outer(labels, labels) & ~np.eye(len(labels), dtype=bool)
    different = ~np.equal.outer(labels, labels)
    assert similarity[same].mean() > similarity[different].mean() + 0.05
    assert np.mean(ranks) <= 2.5


@pytest.mark.real_data
def test_fadul_mates_are_in_the_top_ten_of_twelve_others():
    """Two Fadul scans searched among 12 others (their mates and scans of 5 other slides)."""
    folder = DATA / "cartridge_cases" / "fadul"
    if not (DATA / "labels.csv").is_file() or not folder.is_dir():
        pytest.skip(f"real scans not found at {DATA} (see ../shared/data/README.md)")
    from ballistics.casing.prepare import prepare_casing
    from ballistics.io import read_surface

    with (DATA / "labels.csv").open(newline="", encoding="utf-8") as handle:
        firearm_by_sha = {row["sha256"]: row["firearm"] for row in csv.DictReader(handle)}
    names = [
        "Fadul 1-1", "Fadul 1-2", "Fadul F",  # slide 1
        "Fadul 2-1", "Fadul 2-2", "Fadul C",  # slide 2
        "Fadul 3-1", "Fadul 4-1", "Fadul 5-1", "Fadul 6-1", "Fadul 7-1", "Fadul 8-1",
        "Fadul 9-1", "Fadul 10-1",
    ]  # fmt: skip
    marks, labels = [], []
    for name in names:
        path = folder / f"{name}.x3p"
        labels.append(firearm_by_sha[hashlib.sha256(path.read_bytes()).hexdigest()])
        marks.append(prepare_casing(read_surface(path)))
    vectors = np.stack([casing_descriptor(mark) for mark in marks])
    for query in (names.index("Fadul 1-1"), names.index("Fadul 2-1")):
        others = [index for index in range(len(names)) if index != query]
        order = sorted(others, key=lambda index: -float(vectors[query] @ vectors[index]))
        mates = [order.index(index) + 1 for index in others if labels[index] == labels[query]]
        assert len(others) == 13 and len(mates) == 2
        # Measured: both mates ranked 1 and 2 for each query.
        assert min(mates) <= 10, f"{names[query]}: first true mate ranked {min(mates)}"

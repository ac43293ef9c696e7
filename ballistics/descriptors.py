"""Fixed-length retrieval vectors for cartridge cases: rotation-invariant circular harmonics.

A database search runs in two stages: an inner-product (cosine) index returns the top K
(about 50) stored casings whose descriptors are nearest the query's, and only those are re-ranked
by the pairwise comparison (:func:`~ballistics.casing.compare.compare_casings`). The descriptor
must therefore put a casing's true mates near it whatever the angle at which each was scanned,
with centring errors of a few tens of micrometres and with much of the breech face missing.
Database systems for breech-face marks have long worked this way: a quick whole-image measure
ranks the collection, and the slow comparison looks at the top of the list only [5]_.

How the vector is made (:func:`casing_descriptor`)
--------------------------------------------------
1. The prepared breech face is averaged over blocks of ``block_um`` (missing points left out,
   normalised convolution [4]_); each block keeps the centroid of its measured points, so the
   geometry stays exact about the cartridge axis whatever the grid size.
2. For a set of concentric rings (smooth Hann windows in radius) and angular orders
   ``k = 1..K``, the circular-harmonic coefficients ``a[n, k] = sum w_n(r) f(r, θ) e^{-ikθ}``
   are taken over the measured blocks only [1]_ and divided by the square root of the ring's
   measured weight, so that a ring with half its arc missing keeps the power of a full one
   (missing arcs count as zero after the ring means were removed by preparation).
3. Turning the casing by ``α`` multiplies ``a[n, k]`` by ``e^{-ikα}``; the products
   ``a[n, k] · conj(a[m, k])`` of two rings at the same order are therefore rotation
   invariants (the rotation invariants of circular-harmonic / complex moments, [2]_). The
   vector holds the off-diagonal products of every ring pair and order (real and imaginary
   parts). Its inner product with another casing's is
   ``sum_k |sum_n a_n,k conj(b_n,k)|^2 - sum_{n,k} |a_n,k|^2 |b_n,k|^2``: the energy of the
   rotational cross-correlation of the two casings, less the ring power spectra that any two
   band-passed textures share. That diagonal is left out on purpose: keeping it made unrelated
   casings look alike (measured: lower mean average precision on Fadul and on synthetic sets).
   Neighbouring rings overlap (which buys tolerance to centring errors), so unrelated casings
   still meet at a small positive cosine rather than 0.
4. Two such parts are made: a fine one (many narrow rings, many orders: discriminates) and a
   coarse one (a few wide rings, low orders: still agrees when the centre is off by 100 µm or
   more). Each is L2-normalised, folded to a fixed length by signed feature hashing [3]_ (an
   unbiased estimate of the inner product, deterministic from the index alone), weighted, and
   the concatenation is L2-normalised.

How well it retrieves, how it holds up under rotation and centring errors, and what it costs
are measured by ``benchmarks/descriptor_recall.py`` (JSON in ``benchmarks/results``; figures in
the README's "Evidence database results"). It serves the centring errors seen between scans of
one firearm; for larger ones (a raw scan centred on the primer against a processed one centred
on the firing pin) describe the query at a grid of axis offsets (:func:`offset_descriptors`,
:func:`offset_grid_um`) and keep each candidate's best cosine.

References
----------
.. [1] Y.-N. Hsu, H. H. Arsenault and G. April, "Rotation-invariant digital pattern recognition
   using circular harmonic expansion", Applied Optics 21(22), 4012-4015 (1982).
.. [2] J. Flusser, "On the independence of rotation moment invariants", Pattern Recognition
   33(9), 1405-1410 (2000).
.. [3] K. Weinberger, A. Dasgupta, J. Langford, A. Smola and J. Attenberg, "Feature hashing for
   large scale multitask learning", Proc. ICML 2009, 1113-1120.
.. [4] H. Knutsson and C.-F. Westin, "Normalized and differential convolution", CVPR 1993.
.. [5] Z. Geradts, J. Bijhold, R. Hermsen and F. Murtagh, "Image matching algorithms for breech
   face marks and firing pins in a database of spent cartridge cases of firearms", Forensic
   Science International 119(1), 97-106 (2001).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ballistics.casing.marks import PreparedCasing
from ballistics.errors import EvidenceError

logger = logging.getLogger(__name__)

#: Length of the descriptor made with :data:`DEFAULT_DESCRIPTOR_CONFIG`.
DESCRIPTOR_DIMENSION = 512
#: Label of what the default descriptor's numbers mean; store it beside the vectors and rebuild
#: the index when it changes (see ``indexer``). Non-default configurations have their own label,
#: :meth:`DescriptorConfig.version`.
DESCRIPTOR_VERSION = "casing-polar-gram-v1-d512"
#: Number of index candidates to re-rank by the pairwise comparison: the first search stage.
DEFAULT_SHORTLIST_SIZE = 50


@dataclass(frozen=True)
class RingHarmonics:
    """One part of the descriptor: a set of rings and the angular orders taken on each.

    Parameters
    ----------
    inner_radius_um, outer_radius_um
        Centres of the first and last ring, micrometres from the cartridge axis.
    ring_count
        Number of rings, evenly spaced between the two radii (at least 2).
    harmonics
        Highest angular order ``K``; orders ``1..K`` are used (order 0, the ring mean, was
        removed by preparation and would only carry what unrelated casings share).
    ring_width_factor
        Half-width of each ring's Hann window in ring spacings; above 1 neighbouring rings
        overlap, which makes the part less sensitive to a radial centring error.
    weight
        Share of the part in the final vector (its L2 norm before the final normalisation).
    dimension
        Length the part is folded to by feature hashing.
    """

    inner_radius_um: float
    outer_radius_um: float
    ring_count: int
    harmonics: int
    ring_width_factor: float
    weight: float
    dimension: int

    def __post_init__(self) -> None:
        if not 0 <= self.inner_radius_um < self.outer_radius_um:
            raise ValueError(
                "inner_radius_um and outer_radius_um must satisfy 0 <= inner < outer, got "
                f"{self.inner_radius_um!r} and {self.outer_radius_um!r}."
            )
        if self.ring_count < 2 or self.harmonics < 1:
            raise ValueError(
                f"ring_count must be at least 2 and harmonics at least 1, got "
                f"{self.ring_count!r} and {self.harmonics!r}."
            )
        if not self.ring_width_factor > 0 or not self.weight > 0 or self.dimension < 1:
            raise ValueError(
                "ring_width_factor and weight must be positive and dimension at least 1."
            )

    @property
    def radii_um(self) -> np.ndarray:
        """Centres of the rings, micrometres."""
        return np.linspace(self.inner_radius_um, self.outer_radius_um, self.ring_count)

    @property
    def half_width_um(self) -> float:
        """Half-width of each ring's window, micrometres."""
        spacing = (self.outer_radius_um - self.inner_radius_um) / (self.ring_count - 1)
        return spacing * self.ring_width_factor


@dataclass(frozen=True)
class DescriptorConfig:
    """Options of :func:`casing_descriptor`; change one with :func:`dataclasses.replace`.

    The defaults were chosen on the Fadul and DFSC scans and on synthetic topographies and
    photographs (``benchmarks/descriptor_recall.py``): more rings and orders rank true mates
    higher when scans are well centred, wider rings and fewer orders survive larger centring
    errors; the fine part does the first, the coarse part the second.

    Parameters
    ----------
    block_um
        Size of the blocks the breech face is averaged over first (25 µm: 4 × 4 points at
        6.25 µm); the finest scale the vector sees. At the innermost fine ring (300 µm) the
        40th order has a period of 47 µm, about the blocks' Nyquist limit.
    min_block_fraction
        Share of a block that must be measured for the block to count.
    min_ring_coverage
        A ring whose measured weight is below this share of a full ring's is left out
        (zeroed): a short arc would weigh as much as a full ring after coverage normalisation.
    min_measured_area_mm2
        Least measured area inside the rings; below it :func:`casing_descriptor` refuses the
        mark rather than index a vector made of noise.
    fine, coarse
        The two parts (:class:`RingHarmonics`).
    """

    block_um: float = 25.0
    min_block_fraction: float = 0.5
    min_ring_coverage: float = 0.05
    min_measured_area_mm2: float = 0.25
    fine: RingHarmonics = field(
        default_factory=lambda: RingHarmonics(
            inner_radius_um=300.0,
            outer_radius_um=2600.0,
            ring_count=20,
            harmonics=40,
            ring_width_factor=1.5,
            weight=1.0,
            dimension=384,
        )
    )
    coarse: RingHarmonics = field(
        default_factory=lambda: RingHarmonics(
            inner_radius_um=500.0,
            outer_radius_um=2300.0,
            ring_count=6,
            harmonics=8,
            ring_width_factor=2.5,
            weight=0.5,
            dimension=128,
        )
    )

    def __post_init__(self) -> None:
        if not self.block_um > 0:
            raise ValueError(f"block_um must be a positive length, got {self.block_um!r}.")
        for name in ("min_block_fraction", "min_ring_coverage"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a fraction in (0, 1].")
        if not self.min_measured_area_mm2 >= 0:
            raise ValueError("min_measured_area_mm2 must be a non-negative area in mm².")

    @property
    def dimension(self) -> int:
        """Length of the vectors made with this configuration."""
        return self.fine.dimension + self.coarse.dimension

    def version(self) -> str:
        """Return the label of this configuration's vectors (:data:`DESCRIPTOR_VERSION` for the
        default; other settings add a digest of their fields, so that vectors made with
        different settings are never mixed in one index)."""
        base = f"casing-polar-gram-v1-d{self.dimension}"
        if self == DEFAULT_DESCRIPTOR_CONFIG:
            return base
        fields = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return f"{base}-{hashlib.sha256(fields.encode()).hexdigest()[:8]}"


DEFAULT_DESCRIPTOR_CONFIG = DescriptorConfig()


@dataclass(frozen=True)
class _Blocks:
    """Block means of the measured points and where the blocks' centroids lie (µm)."""

    values: np.ndarray
    x_um: np.ndarray
    y_um: np.ndarray
    size_um: float


def _blocks(values: np.ndarray, *, pixel_um: float, config: DescriptorConfig) -> _Blocks:
    """Average ``values`` over square blocks, NaN-aware, keeping each block's centroid."""
    size = max(1, round(config.block_um / pixel_um))
    rows = values.shape[0]
    centre = (rows - 1) / 2.0
    padded = -(-rows // size) * size
    weights = np.zeros((padded, padded), dtype=np.float32)
    filled = np.zeros((padded, padded), dtype=np.float32)
    finite = np.isfinite(values)
    weights[:rows, :rows] = finite
    np.copyto(filled[:rows, :rows], values, where=finite)
    index = np.arange(padded, dtype=np.float32)
    # Block sums as sums of strided slices: much faster than summing a short trailing axis.
    column_counts = _sum_slices(weights, size, axis=0)  # (count, padded)
    counts = _sum_slices(column_counts, size, axis=1)
    sums = _sum_slices(_sum_slices(filled, size, axis=0), size, axis=1)
    row_moments = _sum_slices(_sum_slices(weights * index[:, None], size, axis=0), size, axis=1)
    column_moments = _sum_slices(column_counts * index[None, :], size, axis=1)
    keep = counts >= config.min_block_fraction * size * size
    kept = counts[keep]
    return _Blocks(
        values=(sums[keep] / kept).astype(np.float32),
        x_um=((column_moments[keep] / kept - centre) * pixel_um).astype(np.float32),
        y_um=((row_moments[keep] / kept - centre) * pixel_um).astype(np.float32),
        size_um=size * pixel_um,
    )


def _sum_slices(values: np.ndarray, size: int, *, axis: int) -> np.ndarray:
    """Sum every ``size`` consecutive entries along ``axis`` (its length a multiple of size)."""
    total = values[0::size] if axis == 0 else values[:, 0::size]
    for start in range(1, size):
        total = total + (values[start::size] if axis == 0 else values[:, start::size])
    return total


def _harmonic_coefficients(
    bin_sums: np.ndarray,
    bin_counts: np.ndarray,
    part: RingHarmonics,
    *,
    bin_radius_um: np.ndarray,
    block_um: float,
    config: DescriptorConfig,
) -> np.ndarray:
    """Return the (rings, orders) complex circular-harmonic coefficients, coverage-normalised.

    ``bin_sums[b, k - 1]`` is the sum of ``f e^{ikθ}`` over the blocks of radial bin ``b``
    and ``bin_counts[b]`` their number. Sums are explicit loops (``einsum``), not a matrix
    product: a multithreaded BLAS was many times slower than one thread on a busy machine.
    """
    distance = (bin_radius_um[None, :] - part.radii_um[:, None]) / part.half_width_um
    windows = np.where(np.abs(distance) < 1.0, 0.5 * (1.0 + np.cos(np.pi * distance)), 0.0)
    # e^{-ikθ}: the conjugate of the sums of e^{ikθ}-weighted values.
    coefficients = np.conj(
        np.einsum("nb,bk->nk", windows.astype(np.complex64), bin_sums[:, : part.harmonics])
    ).astype(np.complex128)
    coverage = np.einsum("nb,b->n", windows, bin_counts)
    usable = coverage >= config.min_ring_coverage * _full_ring_blocks(part, block_um)
    return np.where(
        usable[:, None], coefficients / np.sqrt(np.maximum(coverage, 1.0))[:, None], 0.0
    )


@functools.lru_cache(maxsize=64)
def _full_ring_blocks(part: RingHarmonics, block_um: float) -> np.ndarray:
    """Weight of each ring's window over a fully measured plane, in blocks."""
    return np.array([_window_area_um2(radius, part.half_width_um) for radius in part.radii_um]) / (
        block_um**2
    )


def _inner_edge_um(config: DescriptorConfig) -> float:
    return max(
        min(part.inner_radius_um - part.half_width_um for part in (config.fine, config.coarse)),
        0.0,
    )


def _outer_edge_um(config: DescriptorConfig) -> float:
    return max(part.outer_radius_um + part.half_width_um for part in (config.fine, config.coarse))


def _measured_area_um2(radius_um: np.ndarray, block_um: float, config: DescriptorConfig) -> float:
    """Area of the kept blocks that some ring of the descriptor covers."""
    inside = (radius_um > _inner_edge_um(config)) & (radius_um < _outer_edge_um(config))
    return float(np.count_nonzero(inside)) * block_um**2


def _window_area_um2(radius_um: float, half_width_um: float) -> float:
    """Integral over the plane of a Hann ring window of the given centre and half-width."""
    samples = np.linspace(max(radius_um - half_width_um, 0.0), radius_um + half_width_um, 257)
    window = 0.5 * (1.0 + np.cos(np.pi * (samples - radius_um) / half_width_um))
    integrand = window * 2.0 * np.pi * samples
    return float(np.sum((integrand[1:] + integrand[:-1]) * np.diff(samples)) / 2.0)


def _ring_pair_products(coefficients: np.ndarray) -> np.ndarray:
    """Return the rotation invariants: real and imaginary parts of ``a_n conj(a_m)``, n < m."""
    first, second = np.triu_indices(coefficients.shape[0], 1)
    products = coefficients[first] * np.conj(coefficients[second])
    # sqrt(2) so that the inner product of two such vectors is the full off-diagonal sum
    # sum_{n != m} a_n conj(a_m) conj(b_n) b_m (each unordered pair stands for two terms).
    return math.sqrt(2.0) * np.concatenate([products.real.ravel(), products.imag.ravel()])


@functools.lru_cache(maxsize=16)
def _hashing(length: int, dimension: int, salt: int) -> tuple[np.ndarray, np.ndarray]:
    """Bucket and sign of every input position for signed feature hashing.

    A fixed integer mix (splitmix64) of the position, not a random generator, so that the
    vector's meaning cannot change with a library's random streams.
    """
    mask = np.uint64(0xFFFFFFFFFFFFFFFF)
    state = np.arange(length, dtype=np.uint64) + np.uint64(salt) * np.uint64(0x632BE59BD9B4E019)
    state = (state + np.uint64(0x9E3779B97F4A7C15)) & mask
    state = ((state ^ (state >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & mask
    state = ((state ^ (state >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & mask
    state = state ^ (state >> np.uint64(31))
    buckets = (state % np.uint64(dimension)).astype(np.intp)
    signs = np.where((state >> np.uint64(63)) == 1, -1.0, 1.0)
    return buckets, signs


def _fold(vector: np.ndarray, dimension: int, *, salt: int) -> np.ndarray:
    """Fold ``vector`` to ``dimension`` entries by signed feature hashing (inner products kept
    in expectation)."""
    if vector.size <= dimension:
        return np.pad(vector, (0, dimension - vector.size))
    buckets, signs = _hashing(vector.size, dimension, salt)
    return np.bincount(buckets, weights=signs * vector, minlength=dimension)


def _unit(vector: np.ndarray) -> np.ndarray:
    # np.linalg.norm would call a (possibly multithreaded) BLAS for every vector.
    norm = math.sqrt(float(np.square(vector, dtype=np.float64).sum()))
    return vector / norm if norm > 0 else vector


def casing_descriptor(
    mark: PreparedCasing,
    *,
    config: DescriptorConfig = DEFAULT_DESCRIPTOR_CONFIG,
    centre_offset_um: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Return the retrieval vector of a prepared cartridge case: rotation-invariant, unit norm.

    Parameters
    ----------
    mark
        The prepared casing; its ``breech_face`` (NaN where missing, the cartridge axis at the
        array centre) is described. Photographs and topographies go through the same steps;
        index them in separate partitions, as their vectors are not comparable.
    config
        Descriptor options; vectors made with different options are not comparable (see
        :meth:`DescriptorConfig.version`).
    centre_offset_um
        (rows, columns) position of the cartridge axis relative to the array centre, in µm.
        Zero for stored casings; a search may describe the query at a few offsets and keep each
        candidate's best similarity when the two scans may be centred differently (a raw scan
        centred on the primer against a processed one centred on the firing pin).

    Returns
    -------
    numpy.ndarray
        float32 vector of ``config.dimension`` entries (:data:`DESCRIPTOR_DIMENSION` by
        default), finite, of unit L2 norm; the cosine of two casings' vectors is their inner
        product.

    Raises
    ------
    EvidenceError
        Naming ``mark.source``, when the breech face has less than
        ``config.min_measured_area_mm2`` of measured blocks inside the rings, or no texture
        there (all values equal): no vector is made rather than one that would match
        anything by chance. Preparation refuses such scans earlier with its own, larger area
        limit, so this only meets marks made elsewhere.

    References
    ----------
    .. [1] Y.-N. Hsu, H. H. Arsenault and G. April, Applied Optics 21(22), 4012-4015 (1982).
    .. [2] J. Flusser, Pattern Recognition 33(9), 1405-1410 (2000).
    .. [3] K. Weinberger et al., Proc. ICML 2009, 1113-1120.
    """
    return offset_descriptors(mark, offsets_um=[centre_offset_um], config=config)[0]


def offset_descriptors(
    mark: PreparedCasing,
    *,
    offsets_um: Sequence[tuple[float, float]],
    config: DescriptorConfig = DEFAULT_DESCRIPTOR_CONFIG,
) -> np.ndarray:
    """Return the descriptors of ``mark`` with its axis assumed at each of ``offsets_um``.

    The same as calling :func:`casing_descriptor` once per offset, but the block averages are
    computed once. A search whose query may be centred differently from the stored casings
    (more than about 100 µm) describes it at a grid of offsets (:func:`offset_grid_um`) and
    keeps, per candidate, the best similarity.

    Parameters
    ----------
    mark
        The prepared casing.
    offsets_um
        (rows, columns) positions of the axis relative to the array centre, micrometres.
    config
        Descriptor options.

    Returns
    -------
    numpy.ndarray
        float32 array of shape ``(len(offsets_um), config.dimension)``, unit rows.

    Raises
    ------
    EvidenceError
        As :func:`casing_descriptor`, for the first offset at which the mark is unusable.
    """
    offsets = np.asarray(offsets_um, dtype=np.float64).reshape(-1, 2)
    if offsets.shape[0] == 0 or not np.isfinite(offsets).all():
        raise ValueError(
            f"offsets_um must be one or more (rows, columns) pairs of finite micrometres, got "
            f"{offsets_um!r}."
        )
    blocks = _blocks(mark.breech_face, pixel_um=mark.pixel_um, config=config)
    return np.stack(
        [
            _describe(blocks, offset_row_um=row, offset_column_um=column, mark=mark, config=config)
            for row, column in offsets
        ]
    )


def offset_grid_um(*, reach_um: float = 400.0, step_um: float = 100.0) -> list[tuple[float, float]]:
    """Return (rows, columns) offsets on a square grid of ``step_um`` within ``reach_um`` of
    the centre, the centre first."""
    if not (reach_um >= 0 and step_um > 0):
        raise ValueError(
            f"reach_um must be >= 0 and step_um > 0, got {reach_um!r} and {step_um!r}."
        )
    steps = int(reach_um // step_um)
    grid = [
        (row * step_um, column * step_um)
        for row in range(-steps, steps + 1)
        for column in range(-steps, steps + 1)
        if math.hypot(row, column) * step_um <= reach_um + 1e-9
    ]
    return sorted(grid, key=lambda offset: math.hypot(*offset))


def _describe(
    blocks: _Blocks,
    *,
    offset_row_um: float,
    offset_column_um: float,
    mark: PreparedCasing,
    config: DescriptorConfig,
) -> np.ndarray:
    """The descriptor of the blocks about the axis at the given offset from the centre."""
    x_um = blocks.x_um - np.float32(offset_column_um)
    y_um = blocks.y_um - np.float32(offset_row_um)
    radius_um = np.hypot(x_um, y_um)
    measured_mm2 = _measured_area_um2(radius_um, blocks.size_um, config) / 1e6
    if measured_mm2 < config.min_measured_area_mm2:
        raise EvidenceError(
            mark.source,
            f"only {measured_mm2:.2f} mm² of the breech face lies measured inside the "
            f"descriptor's rings ({_inner_edge_um(config):.0f}-{_outer_edge_um(config):.0f} µm "
            f"from the axis), at least {config.min_measured_area_mm2:.2f} mm² needed; check "
            "the region of interest.",
        )
    # Blocks are gathered in thin radial bins (half a block wide): every ring window is then
    # evaluated once per bin instead of once per block, and the ring means come for free.
    bin_um = blocks.size_um / 2.0
    order = np.argsort(np.rint(radius_um / bin_um).astype(np.intp), kind="stable")
    bins = np.rint(radius_um[order] / bin_um).astype(np.intp)
    present, starts = np.unique(bins, return_index=True)
    counts = np.diff(np.append(starts, bins.size)).astype(np.float64)
    values = blocks.values[order]
    # Preparation removed the ring means about the array centre; removed again here about the
    # (possibly offset) axis, so that what is the same all round never counts.
    bin_means = np.add.reduceat(values, starts, dtype=np.float64) / counts
    values = (values - np.repeat(bin_means, counts.astype(np.intp))).astype(np.float32)
    if (
        not np.square(values, dtype=np.float64).sum()
        > 1e-10 * np.square(blocks.values, dtype=np.float64).sum()
    ):
        raise EvidenceError(
            mark.source,
            "the breech face has no texture (its values are the same all round the axis); "
            "check the preparation.",
        )
    # sum over each bin of f e^{ikθ}, k = 1..K; the powers by repeated multiplication.
    turn = ((x_um + 1j * y_um) / np.maximum(radius_um, np.float32(1e-3)))[order]
    orders = max(config.fine.harmonics, config.coarse.harmonics)
    powers = np.cumprod(
        np.broadcast_to(turn.astype(np.complex64)[:, None], (turn.size, orders)), axis=1
    )
    bin_sums = np.add.reduceat(values[:, None] * powers, starts, axis=0)
    bin_radius_um = present * bin_um

    parts = []
    for salt, part in enumerate((config.fine, config.coarse)):
        coefficients = _harmonic_coefficients(
            bin_sums,
            counts,
            part,
            bin_radius_um=bin_radius_um,
            block_um=blocks.size_um,
            config=config,
        )
        invariants = _unit(_ring_pair_products(coefficients))
        parts.append(part.weight * _unit(_fold(invariants, part.dimension, salt=salt)))
    vector = _unit(np.concatenate(parts))
    if not np.any(vector) or not np.isfinite(vector).all():
        raise EvidenceError(
            mark.source,
            "the breech face has no texture inside the descriptor's rings; check the preparation.",
        )
    return vector.astype(np.float32)

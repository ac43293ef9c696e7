"""Clustered synthetic vectors that behave like retrieval descriptors of fired evidence.

Approximate nearest-neighbour indexes are only as good as the data lets them be: on isotropic
random noise in 256 dimensions every approximate index fails, while real retrieval descriptors
lie near a low-dimensional structure and form tight groups. Until real descriptors exist, tests
and ``benchmarks/index_scale.py`` use this generator, whose structure follows how marks arise:

* **class** (e.g. a calibre and breech-face class): ``class_count`` centres in a latent space of
  ``latent_dimension`` dimensions, spread ``class_spread``;
* **source** (one firearm): a centre around its class centre, spread ``source_spread``;
* **member** (one fired exhibit): a point around its source centre, spread ``member_spread``,
  the number of members per source drawn as ``1 + Poisson(members_mean - 1)``;
* the latent point is mapped into the full dimension by a fixed random orthonormal map and
  isotropic noise of standard deviation ``noise`` per dimension is added (what a descriptor
  picks up from scan noise, damage and preparation), then the vector is L2-normalised.

With the defaults (latent 32, spreads 1.0 / 0.5 / 0.2, noise 0.2 in 256 dimensions) the ambient
noise carries about a fifth of a vector's energy and two exhibits of one source are closer than
two sources of one class, which are closer than two classes. Raise ``noise`` to make the data
harder for an approximate index (``noise`` -> infinity is the isotropic worst case).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_BLOCK_ROWS = 65_536


@dataclass(frozen=True)
class ClusteredVectorsConfig:
    """Parameters of :func:`clustered_vectors`; see the module docstring for their meaning."""

    class_count: int = 12
    latent_dimension: int = 32
    class_spread: float = 1.0
    source_spread: float = 0.5
    member_spread: float = 0.2
    members_mean: float = 4.0
    noise: float = 0.2

    def __post_init__(self) -> None:
        if self.class_count < 1 or self.latent_dimension < 1:
            raise ValueError("class_count and latent_dimension must be at least 1.")
        if self.members_mean < 1.0:
            raise ValueError(f"members_mean must be at least 1, got {self.members_mean}.")
        spreads = (self.class_spread, self.source_spread, self.member_spread, self.noise)
        if min(spreads) < 0 or not np.all(np.isfinite(spreads)):
            raise ValueError("spreads and noise must be finite and non-negative.")


@dataclass(frozen=True)
class ClusteredVectors:
    """Generated vectors with their ground truth: ``sources[i]`` and ``classes[i]`` of row ``i``."""

    vectors: np.ndarray  # (count, dimension) float32, unit length
    sources: np.ndarray  # (count,) int64: which source (firearm) made the row
    classes: np.ndarray  # (count,) int64: the class (calibre) of that source


def clustered_vectors(
    count: int,
    *,
    dimension: int = 256,
    seed: int = 0,
    config: ClusteredVectorsConfig = ClusteredVectorsConfig(),
    out: np.ndarray | None = None,
) -> ClusteredVectors:
    """Return ``count`` unit vectors drawn from the class / source / member mixture.

    Parameters
    ----------
    count
        Number of vectors.
    dimension
        Length of each vector.
    seed
        Seed of the random generator; the same seed gives the same vectors.
    config
        Mixture parameters.
    out
        A (count, dimension) float32 array to write the vectors into (e.g. a ``numpy.memmap``,
        for more vectors than fit in memory); the same vectors as without it.

    Returns
    -------
    ClusteredVectors
        Rows in random order (members of one source are not adjacent).
    """
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}.")
    if dimension < config.latent_dimension:
        raise ValueError(
            f"dimension ({dimension}) must be at least latent_dimension "
            f"({config.latent_dimension}); lower latent_dimension in the config."
        )
    rng = np.random.default_rng(seed)
    latent = config.latent_dimension
    # members per source: 1 + Poisson(mean - 1), drawn until they cover count rows
    source_count = max(1, int(np.ceil(count / config.members_mean)))
    members = 1 + rng.poisson(config.members_mean - 1.0, size=source_count)
    while members.sum() < count:
        members = np.concatenate([members, 1 + rng.poisson(config.members_mean - 1.0, size=64)])
    sources = np.repeat(np.arange(members.size, dtype=np.int64), members)[:count]
    sources = sources[rng.permutation(count)]
    class_centres = rng.normal(0.0, config.class_spread, size=(config.class_count, latent))
    source_classes = rng.integers(0, config.class_count, size=members.size, dtype=np.int64)
    source_centres = class_centres[source_classes] + rng.normal(
        0.0, config.source_spread, size=(members.size, latent)
    )
    # a random orthonormal map keeps latent distances in the full dimension
    mapping, _ = np.linalg.qr(rng.standard_normal((dimension, latent)))
    mapping = mapping.T.astype(np.float32)  # (latent, dimension)
    if out is not None and (out.shape != (count, dimension) or out.dtype != np.float32):
        raise ValueError(f"out must be a ({count}, {dimension}) float32 array, got {out.shape}.")
    vectors = np.empty((count, dimension), dtype=np.float32) if out is None else out
    # rows are made a block at a time so that a million vectors need little temporary memory
    for start in range(0, count, _BLOCK_ROWS):
        stop = min(count, start + _BLOCK_ROWS)
        points = source_centres[sources[start:stop]] + rng.normal(
            0.0, config.member_spread, size=(stop - start, latent)
        )
        block = points.astype(np.float32) @ mapping
        if config.noise > 0:
            block += config.noise * rng.standard_normal(block.shape, dtype=np.float32)
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        vectors[start:stop] = block / np.maximum(norms, np.finfo(np.float32).tiny)
    return ClusteredVectors(vectors=vectors, sources=sources, classes=source_classes[sources])

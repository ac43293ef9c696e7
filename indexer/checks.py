"""Input checks shared by the index classes: each refusal says how to fix the call."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

_INT64_MAX = np.iinfo(np.int64).max


def as_ids(ids: Any, *, name: str = "ids") -> np.ndarray:
    """Return ``ids`` as a 1-D int64 array of non-negative, distinct values."""
    array = np.asarray(ids)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of integers, got shape {array.shape}.")
    if array.size == 0:
        return np.empty(0, dtype=np.int64)
    if array.dtype.kind not in "iu":
        raise ValueError(
            f"{name} must be integers (int64), got dtype {array.dtype}; map exhibits to integer "
            f"ids first (np.asarray(ids, dtype=np.int64) if they are whole numbers)."
        )
    if array.dtype.kind == "u" and int(array.max()) > _INT64_MAX:
        raise ValueError(f"{name} must fit in int64; {int(array.max())} does not.")
    array = array.astype(np.int64, copy=False)
    if int(array.min()) < 0:
        raise ValueError(
            f"{name} must be non-negative (-1 marks an empty result slot), got {int(array.min())}."
        )
    return array


def as_distinct_ids(ids: Any, *, name: str = "ids") -> np.ndarray:
    """Return :func:`as_ids` of ``ids``, refusing an id that appears twice."""
    array = as_ids(ids, name=name)
    unique, counts = np.unique(array, return_counts=True)
    if unique.size != array.size:
        raise ValueError(
            f"{name} must be distinct within one call; {int(unique[counts > 1][0])} appears "
            f"{int(counts.max())} times. Keep only the latest vector of each id."
        )
    return array


def as_unit_vectors(vectors: Any, dimension: int, *, name: str = "vectors") -> np.ndarray:
    """Return ``vectors`` as a C-contiguous (count, dimension) float32 array of unit rows.

    The index compares by cosine similarity, so every row is L2-normalised here; rows of zero
    length have no direction and are refused, as are rows with NaN or infinite values.
    """
    array = np.asarray(vectors)
    if array.dtype.kind not in "fiu" or array.dtype == np.bool_:
        raise ValueError(f"{name} must be real numbers (float32), got dtype {array.dtype}.")
    if array.ndim != 2 or array.shape[1] != dimension:
        raise ValueError(
            f"{name} must have shape (count, {dimension}), got {array.shape}; for one vector pass "
            f"vector[None, :], and build the index with the descriptor's dimension."
        )
    result = np.array(array, dtype=np.float32, order="C", copy=True)
    if result.size == 0:
        return result
    finite = np.isfinite(result).all(axis=1)
    if not finite.all():
        raise ValueError(
            f"{name} row {int(np.argmin(finite))} holds NaN or infinite values (or values beyond "
            f"float32); fix the descriptor that produced it."
        )
    norms = np.linalg.norm(result, axis=1)
    if not (norms > 0).all():
        raise ValueError(
            f"{name} row {int(np.argmin(norms > 0))} has zero length, so it has no direction to "
            f"compare by cosine; fix the descriptor that produced it."
        )
    result /= norms[:, None]
    return result


def as_classes(classes: Any, count: int) -> np.ndarray:
    """Return per-vector class labels as int64 (all 0 when ``classes`` is None)."""
    if classes is None:
        return np.zeros(count, dtype=np.int64)
    array = np.asarray(classes)
    if array.ndim == 0:
        array = np.full(count, array)
    if array.ndim != 1 or array.size != count:
        raise ValueError(
            f"classes must hold one integer per vector ({count}), got shape {array.shape}."
        )
    if array.size and array.dtype.kind not in "iu":
        raise ValueError(
            f"classes must be integers (e.g. a calibre code), got dtype {array.dtype}; map labels "
            f"to integer codes first."
        )
    return array.astype(np.int64, copy=False)


def as_class_set(classes: Iterable[int] | int | None) -> np.ndarray | None:
    """Return the allowed classes as a sorted int64 array (None: every class allowed).

    One integer is a set of one class.
    """
    if classes is None:
        return None
    values: Iterable[Any] = [classes] if isinstance(classes, int | np.integer) else classes
    array = np.asarray(list(values) if not isinstance(values, np.ndarray) else values)
    if array.size and array.dtype.kind not in "iu":
        raise ValueError(
            f"allowed_classes must be integers (class codes), got dtype {array.dtype}."
        )
    return np.unique(array.astype(np.int64, copy=False).ravel())


def as_result_count(k: Any) -> int:
    """Return ``k``, the number of results per query, as a positive int."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise ValueError(f"k must be a positive integer (results per query), got {k!r}.")
    if k <= 0:
        raise ValueError(f"k must be at least 1 (results per query), got {k}.")
    return int(k)

"""The land score: a random forest over the striation features (Hare, Hofmann and Carriquiry).

The model ships as its training table, ``land_training.csv`` beside this module: one row per
land pair of synthetic bullets (``ballistics.synthetic.bullets``, makes and scans drawn from its
frozen settings), the features of :data:`~ballistics.bullet.features.FEATURE_NAMES` and whether
the two lands were engraved by the same land of the same barrel. The forest is fitted from it
with scikit-learn on first use, with a fixed seed and one thread, so the same table and
scikit-learn release give the same forest in every process; fitting takes well under a second.
A table of numbers is shipped rather than a fitted object because it can be read, diffed and
regenerated (``python benchmarks/bullet_accuracy.py --write-training-table``), and because
loading a pickled model executes whatever the file says.

No real scan is in the table: every figure on the Hamby sets is measured on data the model was
not fitted on.

References
----------
.. [1] E. Hare, H. Hofmann and A. Carriquiry, "Automatic matching of bullet land impressions",
   Annals of Applied Statistics 11(4), 2017, pp. 2332-2356.
.. [2] L. Breiman, "Random forests", Machine Learning 45, 2001, pp. 5-32.
"""

from __future__ import annotations

import csv
import functools
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ballistics.bullet.features import FEATURE_NAMES

#: names the land model: its features, training table and forest settings
LAND_MODEL_VERSION = "land-rf-1"
#: the shipped training table
TRAINING_TABLE = Path(__file__).with_name("land_training.csv")
#: +1: the score may only rise with the feature, -1: only fall, 0: free. Constraining the forest
#: this way keeps it from learning quirks of the synthetic data that real scans do not share
#: (a higher correlation never makes a pair less alike).
MONOTONIC = {
    "ccf": 1,
    "ccf_excess": 1,
    "rough_ccf": 1,
    "distance": -1,
    "distance_sd": 0,
    "matches_per_mm": 1,
    "non_matches_per_mm": -1,
    "cms": 1,
    "cnms": -1,
    "sum_peaks": 1,
    "cmps": 1,
    "overlap": 0,
}
_TREES = 150
_MIN_SAMPLES_LEAF = 5
_SEED = 0


@dataclass(frozen=True, eq=False)
class LandModel:
    """A fitted land model: ``probability(features)`` is the land score of each row.

    ``forest`` is the scikit-learn forest; its trees are also held as arrays (one row per tree,
    padded) and walked with numpy for all trees and rows at once, which costs about the same
    for one land pair as for a bullet's dozens, where scikit-learn walks tree after tree.
    """

    forest: Any
    children_left: np.ndarray
    children_right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    match_fraction: np.ndarray
    depth: int
    version: str = LAND_MODEL_VERSION

    @classmethod
    def from_forest(cls, forest: Any) -> LandModel:
        """Return the model of a fitted ``RandomForestClassifier`` (classes 0 and 1)."""
        trees = [estimator.tree_ for estimator in forest.estimators_]
        nodes = max(tree.node_count for tree in trees)

        def stacked(name: str, fill: float, dtype: type) -> np.ndarray:
            array = np.full((len(trees), nodes), fill, dtype=dtype)
            for row, tree in enumerate(trees):
                array[row, : tree.node_count] = getattr(tree, name)
            return array

        fractions = np.zeros((len(trees), nodes))
        for row, tree in enumerate(trees):
            value = tree.value[:, 0, :]
            fractions[row, : tree.node_count] = value[:, 1] / value.sum(axis=1)
        return cls(
            forest=forest,
            children_left=stacked("children_left", -1, np.int64),
            children_right=stacked("children_right", -1, np.int64),
            feature=np.maximum(stacked("feature", 0, np.int64), 0),
            # scikit-learn compares float32 features with the thresholds; so does this
            threshold=stacked("threshold", 0.0, np.float64),
            match_fraction=fractions,
            depth=max(tree.max_depth for tree in trees),
        )

    def probability(self, features: np.ndarray) -> np.ndarray:
        """Return the land score (0..1) of each row of features (columns: FEATURE_NAMES)."""
        rows = np.atleast_2d(np.asarray(features, dtype=np.float64)).astype(np.float32)
        if rows.shape[0] == 0:
            return np.zeros(0)
        trees = np.arange(self.feature.shape[0])[None, :]
        index = np.arange(rows.shape[0])[:, None]
        node = np.zeros((rows.shape[0], trees.size), dtype=np.int64)
        for _ in range(self.depth):
            left = self.children_left[trees, node]
            at_leaf = left < 0
            if at_leaf.all():
                break
            values = rows[index, self.feature[trees, node]]
            go_left = values <= self.threshold[trees, node]
            step = np.where(go_left, left, self.children_right[trees, node])
            node = np.where(at_leaf, node, step)
        return np.asarray(self.match_fraction[trees, node].mean(axis=1), dtype=np.float64)


def fit_land_model(
    features: np.ndarray, labels: np.ndarray, *, seed: int = _SEED, trees: int = _TREES
) -> LandModel:
    """Return a random forest fitted on land pairs' features and known-match labels.

    Parameters
    ----------
    features
        (pairs, len(FEATURE_NAMES)) array.
    labels
        1 for a known match (same land of the same barrel), 0 for a known non-match.
    seed, trees
        The forest's seed and size (one thread: the same data give the same forest).
    """
    from sklearn.ensemble import RandomForestClassifier  # type: ignore[import-untyped]

    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if features.ndim != 2 or features.shape[1] != len(FEATURE_NAMES):
        raise ValueError(
            f"features must have one column per feature ({len(FEATURE_NAMES)}: "
            f"{', '.join(FEATURE_NAMES)}), got shape {features.shape}."
        )
    if set(np.unique(labels)) != {0, 1}:
        raise ValueError("labels must hold both known matches (1) and known non-matches (0).")
    forest = RandomForestClassifier(
        n_estimators=trees,
        min_samples_leaf=_MIN_SAMPLES_LEAF,
        class_weight="balanced",
        monotonic_cst=[MONOTONIC[name] for name in FEATURE_NAMES],
        random_state=seed,
        n_jobs=1,
    )
    forest.fit(features, labels)
    return LandModel.from_forest(forest)


@functools.cache
def default_land_model() -> LandModel:
    """Return the shipped land model, fitted from :data:`TRAINING_TABLE` once per process."""
    features, labels = read_training_table(TRAINING_TABLE)
    return fit_land_model(features, labels)


def read_training_table(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return (features, labels) of a training table written by :func:`write_training_table`."""
    text = Path(path).read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line and not line.startswith("#")]
    reader = csv.DictReader(rows)
    missing = set(FEATURE_NAMES) - set(reader.fieldnames or ())
    if missing or "known_match" not in (reader.fieldnames or ()):
        raise ValueError(
            f"{path}: the training table lacks columns {sorted(missing) or ['known_match']}; "
            "regenerate it with benchmarks/bullet_accuracy.py --write-training-table."
        )
    records = list(reader)
    features = np.array([[float(r[name]) for name in FEATURE_NAMES] for r in records])
    labels = np.array([int(r["known_match"]) for r in records], dtype=np.int64)
    return features, labels


def write_training_table(
    path: str | os.PathLike[str],
    features: np.ndarray,
    labels: np.ndarray,
    *,
    comments: Sequence[str] = (),
) -> Path:
    """Write a training table: ``#`` comment lines, then CSV (features, ``known_match``)."""
    buffer = io.StringIO()
    for comment in comments:
        buffer.write(f"# {comment}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*FEATURE_NAMES, "known_match"])
    for row, label in zip(np.asarray(features), np.asarray(labels), strict=True):
        writer.writerow([f"{value:.4g}" for value in row] + [int(label)])
    target = Path(path)
    target.write_text(buffer.getvalue(), encoding="utf-8")
    return target

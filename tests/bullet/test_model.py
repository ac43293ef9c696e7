"""The land model: its training table, a deterministic fit, and held-out synthetic makes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ballistics.bullet import compare_bullets, prepare_land
from ballistics.bullet.compare import PreparedBullet, land_score_matrix
from ballistics.bullet.features import FEATURE_NAMES
from ballistics.bullet.model import (
    TRAINING_TABLE,
    default_land_model,
    fit_land_model,
    read_training_table,
    write_training_table,
)
from ballistics.synthetic.bullets import (
    BulletAmmunition,
    ScanSettings,
    fire_bullet,
    make_barrel,
    make_barrel_make,
)


def test_shipped_training_table_holds_both_classes() -> None:
    features, labels = read_training_table(TRAINING_TABLE)
    assert features.shape == (labels.size, len(FEATURE_NAMES))
    assert 100 <= labels.sum() < labels.size
    assert np.isfinite(features).all()


def test_fit_is_deterministic_and_orders_matches_first() -> None:
    features, labels = read_training_table(TRAINING_TABLE)
    first = fit_land_model(features, labels, trees=20)
    second = fit_land_model(features, labels, trees=20)
    probe = features[::7]
    np.testing.assert_array_equal(first.probability(probe), second.probability(probe))
    # monotone in the cross-correlation: raising it never lowers the score
    raised = probe.copy()
    raised[:, FEATURE_NAMES.index("ccf")] += 0.2
    assert (first.probability(raised) >= first.probability(probe) - 1e-12).all()


def test_numpy_walk_of_the_trees_gives_scikit_learns_probabilities() -> None:
    features, labels = read_training_table(TRAINING_TABLE)
    model = fit_land_model(features, labels, trees=25)
    probe = np.vstack([features[::5], features[::9] * 1.1])
    expected = model.forest.predict_proba(probe)[:, 1]
    np.testing.assert_allclose(model.probability(probe), expected, atol=1e-12)
    # one row at a time gives what a batch gives
    assert model.probability(probe[3])[0] == model.probability(probe)[3]


def test_training_table_round_trip_and_refusals(tmp_path) -> None:
    features = np.arange(4 * len(FEATURE_NAMES), dtype=float).reshape(4, -1) / 7
    labels = np.array([1, 0, 1, 0])
    path = write_training_table(tmp_path / "t.csv", features, labels, comments=["made here"])
    read, read_labels = read_training_table(path)
    np.testing.assert_allclose(read, features, rtol=1e-3)
    np.testing.assert_array_equal(read_labels, labels)
    assert path.read_text("utf-8").startswith("# made here\n")
    (tmp_path / "bad.csv").write_text("ccf,known_match\n0.5,1\n", "utf-8")
    with pytest.raises(ValueError, match="lacks columns"):
        read_training_table(tmp_path / "bad.csv")
    with pytest.raises(ValueError, match="both known matches"):
        fit_land_model(features, np.ones(4))
    with pytest.raises(ValueError, match="one column per feature"):
        fit_land_model(features[:, :3], labels)


@pytest.fixture(scope="module")
def unseen_make():
    """Bullets of a make unlike the training makes: 8 narrow lands, scanned at 2.8 µm."""
    make = make_barrel_make("held-out", seed=77, land_count=8, land_width_um=1000.0)
    scan = ScanSettings(pixel_um=2.8, noise_um=0.2, length_um=400.0)
    bullets = {}
    for barrel_seed in (1, 2):
        barrel = make_barrel(make, f"barrel-{barrel_seed}", seed=barrel_seed)
        for shot in (1, 2):
            fired = fire_bullet(
                barrel, BulletAmmunition("j", 0.3), "b", seed=barrel_seed * 10 + shot, scan=scan
            )
            lands = tuple(prepare_land(land.surface) for land in fired.lands)
            keys = [land.truth["land_key"] for land in fired.lands]
            bullets[(barrel_seed, shot)] = (PreparedBullet(lands, tuple(range(1, 9))), keys)
    return bullets


def test_model_separates_lands_of_a_make_it_never_saw(unseen_make) -> None:
    matches, non_matches = [], []
    for (a, keys_a), (b, keys_b) in itertools.combinations(unseen_make.values(), 2):
        scores = land_score_matrix(a.lands, b.lands)
        for i, j in itertools.product(range(8), range(8)):
            (matches if keys_a[i] == keys_b[j] else non_matches).append(scores[i, j])
    matches_above = np.mean([m > np.array(non_matches) for m in matches])
    assert len(matches) == 16 and len(non_matches) == 6 * 64 - 16
    assert matches_above > 0.95  # land-level AUC
    assert np.median(matches) > 0.5 > np.median(non_matches)


def test_bullets_of_a_make_it_never_saw_are_decided_right(unseen_make) -> None:
    for (key_a, (a, _)), (key_b, (b, _)) in itertools.combinations(unseen_make.items(), 2):
        comparison = compare_bullets(a, b)
        assert comparison.lead == (key_a[0] == key_b[0]), (key_a, key_b, comparison.score)


def test_default_model_is_fitted_once() -> None:
    assert default_land_model() is default_land_model()

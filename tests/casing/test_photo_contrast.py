"""A ring light's angle flips the marks' contrast; the photograph comparison holds either way."""

from __future__ import annotations

import pytest

from ballistics.casing.compare import CompareConfig, compare_casings
from ballistics.casing.prepare import prepare_casing
from ballistics.synthetic import make_firearm
from ballistics.synthetic.ammunition import make_ammunition
from ballistics.synthetic.firing import fire
from ballistics.synthetic.photographs import Lighting, PhotoConditions, take_photograph
from ballistics.synthetic.render import render_topography

AS_IS = CompareConfig(photograph_contrast="as_is")
EITHER = CompareConfig(photograph_contrast="either")


@pytest.fixture(scope="module")
def firings():
    ammunition = make_ammunition("WIN")
    return (
        fire(make_firearm("T01", seed=21), ammunition, seed=3),
        fire(make_firearm("T02", seed=12), ammunition, seed=5),
    )


def _under_ring(fired, elevation_deg, seed):
    """The case photographed under an 8-segment ring light at this elevation, prepared."""
    conditions = PhotoConditions(lighting=Lighting("ring", segments=8, elevation_deg=elevation_deg))
    return prepare_casing(take_photograph(fired, conditions, seed=seed).surface)


def test_one_firing_under_a_low_and_a_high_ring_light_is_a_lead_and_another_pistol_is_not(firings):
    firing, other_pistol = firings
    low, high = _under_ring(firing, 25.0, seed=1), _under_ring(firing, 60.0, seed=2)
    other_low = _under_ring(other_pistol, 25.0, seed=4)

    either = compare_casings(low, high, config=EITHER)
    assert either.lead and either.score >= EITHER.photograph_lead_threshold
    # compared only as it is, the inverted contrast hides the marks
    assert not compare_casings(low, high, config=AS_IS).lead
    assert not compare_casings(other_low, high, config=EITHER).lead
    assert compare_casings(other_low, high, config=EITHER).score < either.score


def test_the_option_leaves_3d_comparisons_as_they_were(firings):
    firing, other_pistol = firings
    first = prepare_casing(render_topography(firing, pixel_um=6.25))
    second = prepare_casing(render_topography(other_pistol, pixel_um=6.25))
    for pair in ((first, first), (first, second)):
        assert repr(compare_casings(*pair, config=EITHER)) == repr(
            compare_casings(*pair, config=AS_IS)
        )


def test_the_default_compares_photographs_in_either_contrast():
    assert CompareConfig().photograph_contrast == "either"
    with pytest.raises(ValueError, match="photograph_contrast"):
        CompareConfig(photograph_contrast="inverted")  # type: ignore[arg-type]

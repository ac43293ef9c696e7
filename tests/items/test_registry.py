"""The registry of kinds: every kind has a spec, names round-trip, marks round-trip through
their spec byte for byte, versions are named as before, records carry the deprecated alias."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from ballistics.bullet import DEFAULT_BULLET_CONFIG, PreparedBullet
from ballistics.casing.marks import PreparedCasing
from ballistics.casing.prepare import PrepareConfig
from ballistics.items import (
    DEFAULT_ITEM_SETTINGS,
    KINDS,
    REGISTRY,
    ItemKind,
    MarkFormatError,
    decode_prepared,
    encode_mark,
    kind_spec,
)
from ballistics.items.encoding import encode_bullet_mark, encode_casing_mark
from ballistics.parallel import LocalExecutor, worker_state
from ballistics.surface import Modality
from tests.bullet.conftest import fire


def _casing() -> PreparedCasing:
    rng = np.random.default_rng(3)
    heights = rng.normal(0.0, 1.0, (256, 256)).astype(np.float32)
    heights[:4] = np.nan
    return PreparedCasing(
        breech_face=heights, pixel_um=12.5, modality=Modality.TOPOGRAPHY, source="c.x3p"
    )


def _bullet() -> PreparedBullet:
    return PreparedBullet(tuple(fire(1, k, 10 + k) for k in range(3)), (1, 2, 3), source="b")


def test_every_kind_has_one_spec_named_as_stored():
    assert KINDS == ("cartridge_case", "bullet")  # the strings the store and the JSON hold
    assert set(REGISTRY) == set(ItemKind)
    for kind, spec in REGISTRY.items():
        assert spec.kind is kind
        assert kind_spec(kind.value) is spec
        assert json.dumps(kind) == json.dumps(kind.value)


def test_an_unknown_kind_is_refused_naming_the_kinds():
    with pytest.raises(ValueError, match="one of cartridge_case, bullet, got 'pistol'"):
        kind_spec("pistol")


@pytest.mark.parametrize(
    ("kind", "mark", "encode"),
    [
        (ItemKind.CARTRIDGE_CASE, _casing(), encode_casing_mark),
        (ItemKind.BULLET, _bullet(), encode_bullet_mark),
    ],
)
def test_a_mark_round_trips_through_its_spec_byte_for_byte(kind, mark, encode):  # type: ignore[no-untyped-def]
    spec = kind_spec(kind)
    data = spec.encode(mark)
    assert data == encode(mark)  # the stored format is the one marks were always stored in
    decoded_spec, decoded = decode_prepared(data)
    assert decoded_spec is spec
    assert spec.encode(decoded) == data  # float16 values survive a second trip unchanged
    vector = spec.describe(decoded)
    assert vector.dtype == np.float32 and vector.ndim == 1


def test_a_mark_of_an_unknown_kind_is_refused():
    with pytest.raises(MarkFormatError, match="unknown kind"):
        decode_prepared(encode_mark("firing_pin", {}, attributes={}))


def test_versions_and_thresholds_are_the_kinds_own():
    casing, bullet = kind_spec("cartridge_case"), kind_spec("bullet")
    settings = DEFAULT_ITEM_SETTINGS
    assert casing.preparation_settings(settings) == PrepareConfig()
    assert bullet.preparation_settings(settings) is DEFAULT_BULLET_CONFIG
    assert casing.descriptor_version != bullet.descriptor_version
    assert bullet.lead_threshold(settings, "topography") == DEFAULT_BULLET_CONFIG.lead_threshold
    assert casing.lead_threshold(settings, "photograph") == settings.compare.threshold_for(
        Modality.PHOTOGRAPH
    )


def test_service_versions_are_named_as_before():
    from api.service.config import DEFAULT_SERVICE_CONFIG, preparation_version, settings_digest

    digest = hashlib.sha256(repr(PrepareConfig()).encode()).hexdigest()[:12]
    assert preparation_version(DEFAULT_SERVICE_CONFIG) == f"casing-prep-{digest}"
    assert preparation_version(DEFAULT_SERVICE_CONFIG, kind="bullet") == (
        f"bullet-prep-{settings_digest(DEFAULT_BULLET_CONFIG)}"
    )


def test_a_bullet_record_has_lead_and_its_deprecated_alias():
    spec = kind_spec(ItemKind.BULLET)
    bullet = _bullet()
    record = spec.compare_marks(bullet, bullet, settings=DEFAULT_ITEM_SETTINGS)
    fields = record.as_json()
    json.dumps(fields, allow_nan=False)
    assert fields["kind"] == "bullet"
    assert fields["lead"] is record.lead is True
    assert fields["same_source"] is fields["lead"]


def _state_plus(task: int) -> int:
    return int(worker_state()) + task


@pytest.mark.parametrize("workers", [1, 2])
def test_the_executor_gives_every_task_the_state_it_started_with(workers):  # type: ignore[no-untyped-def]
    with LocalExecutor(workers, state=100, preload=(__name__,)) as executor:
        results = sorted(executor.map_unordered(_state_plus, range(5), count=5))
    assert results == [100, 101, 102, 103, 104]
    assert worker_state() is None  # the state goes with the executor


def test_the_executor_refuses_no_workers():
    with pytest.raises(ValueError, match="workers must be at least 1"):
        LocalExecutor(0)

"""The web tests' stand-in for preparation: each file prepared once, refusals never cached."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ballistics.errors import EvidenceError, LimitExceededError
from ballistics.io.limits import ReadLimits
from ballistics.items import ItemKind, kind_spec
from tests.api.network import NETWORK_CONFIG, PreparedScans


def test_a_file_is_prepared_once_and_anything_else_for_real(exhibit_files) -> None:
    folder, rows = exhibit_files
    spec = kind_spec(ItemKind.CARTRIDGE_CASE)
    real = spec.extract
    files = [(row["path"], (folder / row["path"]).read_bytes()) for row in rows[:2]]
    scans = PreparedScans()
    with scans.installed():
        first = spec.extract(files[:1], pixel_um=None, settings=NETWORK_CONFIG)
        assert spec.extract(files[:1], pixel_um=None, settings=NETWORK_CONFIG) is first
        assert scans.prepared == 1
        # the same mark the real step prepares, read-only so that no caller changes it
        expected = real(files[:1], pixel_um=None, settings=NETWORK_CONFIG)
        assert np.array_equal(first.mark.breech_face, expected.mark.breech_face, equal_nan=True)
        assert first.encoded == expected.encoded
        with pytest.raises(ValueError, match="read-only"):
            first.mark.breech_face[0, 0] = 1.0
        # another file, other settings, other limits: prepared anew, refusals included
        other = spec.extract(files[1:], pixel_um=None, settings=NETWORK_CONFIG)
        assert other is not first
        unlevelled = dataclasses.replace(
            NETWORK_CONFIG, prepare=dataclasses.replace(NETWORK_CONFIG.prepare, level_order=1)
        )
        assert spec.extract(files[:1], pixel_um=None, settings=unlevelled) is not first
        small = ReadLimits(max_points=10_000)
        for _ in range(2):
            with pytest.raises(LimitExceededError):
                spec.extract(files[:1], pixel_um=None, settings=NETWORK_CONFIG, limits=small)
            with pytest.raises(EvidenceError):
                spec.extract([("a.x3p", b"garbage")], pixel_um=None, settings=NETWORK_CONFIG)
        assert scans.prepared == 3
    assert spec.extract == real  # uninstalled after

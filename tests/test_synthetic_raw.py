"""Synthetic raw scans (ballistics.synthetic.raw): artefacts drawn from the firing, both files."""

from __future__ import annotations

import csv

import numpy as np

from ballistics.synthetic import fire, make_ammunition, make_firearm
from ballistics.synthetic.raw import (
    RAW_PIXEL_UM_RANGE,
    draw_artefacts,
    render_raw_topography,
    write_raw_and_processed,
)


def _firing(seed: int):  # type: ignore[no-untyped-def]
    return fire(make_firearm("RAWGEN", seed=5), make_ammunition("FED"), seed=seed)


def test_artefacts_vary_between_firings_within_the_documented_ranges() -> None:
    drawn = [draw_artefacts(_firing(seed)) for seed in range(12)]
    pixels = [a.pixel_um for a in drawn]
    assert all(RAW_PIXEL_UM_RANGE[0] <= p <= RAW_PIXEL_UM_RANGE[1] for p in pixels)
    assert max(pixels) / min(pixels) > 2.0
    assert {np.sign(a.dome_um) for a in drawn} == {-1.0, 1.0}
    assert all(a.field_of_view_um >= 5000.0 for a in drawn)


def test_same_firing_gives_the_same_raw_scan() -> None:
    firing = _firing(1)
    artefacts = draw_artefacts(firing, pixel_um=9.0)
    first = render_raw_topography(firing, artefacts=artefacts)
    second = render_raw_topography(firing, artefacts=artefacts)
    np.testing.assert_array_equal(first.values, second.values)
    assert first.metadata["synthetic"] == "raw-topography"
    assert float(first.metadata["synthetic_raw_pixel_um"]) == 9.0
    assert np.isnan(first.values).any()  # drop-outs


def test_raw_and_processed_files_share_the_firing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = list(write_raw_and_processed(tmp_path, pistols=1, firings=1, seed=4))
    assert sorted(row["processing"] for row in rows) == ["processed", "raw"]
    assert len({row["specimen"] for row in rows}) == 1
    assert all((tmp_path / row["path"]).is_file() for row in rows)
    with (tmp_path / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        assert [row["path"] for row in csv.DictReader(handle)] == [row["path"] for row in rows]

"""The photograph quality benchmark's table (``benchmarks/photo_quality.py``) on made-up
records: shares per warning code and refused, counted per condition in the records' order."""

from __future__ import annotations

import pytest

from benchmarks.photo_quality import CODES, summary_rows


def _record(condition: str, codes: tuple[str, ...] = (), problem: str = "", sharpness=0.8):
    return {
        "condition": condition,
        "quality": {
            "warnings": [{"code": code, "message": "..."} for code in codes],
            "problem": problem,
            "sharpness": sharpness,
            "clipped_high_share": 0.01,
            "noise_share": None,
        },
    }


def test_shares_per_code_refusals_and_medians_per_condition():
    records = [
        _record("ring"),
        _record("blur", ("blurred",), sharpness=0.5),
        _record("ring", ("over_exposed", "noisy")),
        _record("blur", sharpness=None),
        _record("ring", problem="clipped white"),
        _record("ring"),
    ]
    ring, blur = summary_rows(records)
    assert (ring["condition"], ring["photographs"], blur["photographs"]) == ("ring", 4, 2)
    assert ring["over_exposed"] == ring["noisy"] == pytest.approx(0.25)
    assert ring["refused"] == pytest.approx(0.25)
    assert ring["any"] == pytest.approx(0.5)  # a warning or a refusal
    assert ring["blurred"] == 0.0 and blur["blurred"] == pytest.approx(0.5)
    assert blur["median_sharpness"] == pytest.approx(0.5)  # photographs not measured left out
    assert ring["median_noise_share"] is None
    assert set(CODES) == {"too_coarse", "blurred", "over_exposed", "under_exposed", "noisy"}

"""The command line writes the strength of the evidence beside ``lead``: ``compare --json``'s
fields with their types, and ``log10 LR x [low, high] — words`` in the text output."""

from __future__ import annotations

import json

import pytest

from api.cli import main
from ballistics.calibration import calibration_for
from tests.api.synthetic_exhibits import MATCH_A, MATCH_B, OTHER


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    """Run the command line in-process; return (exit status, standard output)."""
    status = main([str(arg) for arg in args])
    return status, capsys.readouterr().out


def test_compare_json_carries_the_lr_its_interval_words_and_calibration(casings, capsys):
    status, out = run_cli(capsys, "compare", "--json", casings / MATCH_A, casings / MATCH_B)
    assert status == 0
    record = json.loads(out)
    assert record["lead"] is True
    assert isinstance(record["log10_lr"], float) and record["log10_lr"] > 0
    low, high = record["lr_interval"]
    assert isinstance(low, float) and isinstance(high, float)
    assert low <= record["log10_lr"] <= high
    assert record["verbal"].endswith("support for the proposition that one firearm fired both")
    assert record["calibration"] == calibration_for("cartridge_case", "topography").version
    assert "identification" not in out


def test_compare_text_says_the_lr_and_its_words(casings, capsys):
    status, out = run_cli(capsys, "compare", casings / MATCH_A, casings / OTHER)
    assert status == 0
    strength = next(line for line in out.splitlines() if line.startswith("strength"))
    assert "log10 LR -" in strength  # another pistol: support for different firearms
    assert "different firearms" in " ".join(out.split())
    assert "cartridge_case/topography/" in out

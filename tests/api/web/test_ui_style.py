"""The station's badges (api/web/ui/static/station.css): hit, confirmed lead, lead and rejected
each look different (colours and border style, so not by colour alone) and read at WCAG AA
contrast; so does the navigation's count of unread notifications."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import api.web.ui
from api.web.ui.leads import decision_name

CSS = (Path(api.web.ui.__file__).parent / "static" / "station.css").read_text(encoding="utf-8")
#: every badge a link can wear, as decision_name names it
DECISIONS = sorted(
    {
        decision_name(status, method)
        for status in ("lead", "confirmed", "rejected")
        for method in (None, "images", "microscope")
    }
)


def declarations(selector: str) -> dict[str, str]:
    """The declarations of the top-level rule for exactly ``selector``."""
    found = re.search(rf"(?m)^{re.escape(selector)}\s*\{{([^}}]*)\}}", CSS)
    assert found is not None, f"no rule for {selector}"
    pairs = (item.split(":", 1) for item in found.group(1).split(";") if ":" in item)
    return {name.strip(): value.strip() for name, value in pairs}


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_every_decision_has_a_badge():
    assert DECISIONS == ["confirmed_lead", "hit", "lead", "rejected"]
    base = declarations(".decision")
    assert base["display"] == "inline-block" and "border" in base


@pytest.mark.parametrize("selector", [*(f".decision-{name}" for name in DECISIONS), ".count"])
def test_a_badge_reads_at_aa_contrast(selector):
    rule = declarations(selector)
    assert contrast(rule["color"], rule["background"]) >= 4.5, rule


def test_the_badges_differ_by_more_than_colour():
    rules = [declarations(f".decision-{name}") for name in DECISIONS]
    assert len({rule["background"] for rule in rules}) == len(DECISIONS)
    looks = {(rule["border-style"], rule.get("border-inline-start-width", "")) for rule in rules}
    assert len(looks) == len(DECISIONS)

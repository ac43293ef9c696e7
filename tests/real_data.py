"""Where the shared real scans are, and how tests read them or skip with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from ballistics.surface import Surface

#: ../shared/data next to the repository (read-only; never copied into it)
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def real_surface(relative: str) -> Surface:
    """Read one real scan (path relative to the data folder), or skip the test saying why."""
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {path} (../shared/data next to the repository)")
    from ballistics.io import read_surface

    return read_surface(path)

"""read_bullet: folders and lists of land scans, land order and numbers, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ballistics.bullet import read_bullet
from ballistics.bullet.bullets import land_numbers, natural_key
from ballistics.bullet.synthetic import barrel_striae, render_land
from ballistics.errors import EvidenceError
from ballistics.io import write_x3p
from ballistics.surface import Surface
from tests.bullet.lands import PIXEL_UM


def _write_lands(folder: Path, names: list[str], *, pixel_um: float = PIXEL_UM) -> list[Path]:
    striae = barrel_striae(seed=21, land_count=len(names), pixel_um=pixel_um)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, name in enumerate(names):
        rendered = render_land(striae[k], seed=k, pixel_um=pixel_um, scan_length_um=300.0)
        paths.append(write_x3p(rendered.surface, folder / name))
    return paths


def test_folder_read_in_natural_order_with_land_numbers(tmp_path: Path) -> None:
    names = ["Bullet_A-Land_10.x3p", "Bullet_A-Land_2.x3p", "Bullet_A-Land_9.x3p"]
    _write_lands(tmp_path / "bullet", names)
    bullet = read_bullet(tmp_path / "bullet")
    assert bullet.land_numbers == (2, 9, 10)
    assert [Path(land.source).name for land in bullet.lands] == [
        "Bullet_A-Land_2.x3p",
        "Bullet_A-Land_9.x3p",
        "Bullet_A-Land_10.x3p",
    ]
    assert bullet.land_count == 10
    assert 1800 < bullet.land_width_um < 2000
    assert bullet.twist is None


def test_names_without_distinct_numbers_count_in_order() -> None:
    paths = [Path("left.x3p"), Path("right.x3p")]
    assert land_numbers(paths) == (1, 2)
    assert land_numbers([Path("Br2 Bullet 1-1.x3p")]) == (1,)
    assert sorted([Path("L10.x3p"), Path("L9.x3p")], key=natural_key)[0].name == "L9.x3p"


def test_list_of_files_and_single_file(tmp_path: Path) -> None:
    paths = _write_lands(tmp_path, ["a-Land_1.x3p", "a-Land_3.x3p"])
    assert read_bullet(paths).land_numbers == (1, 3)
    single = read_bullet(paths[1])
    assert len(single.lands) == 1 and single.land_numbers == (3,)


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no scans here")
    with pytest.raises(EvidenceError, match="holds no X3P scan"):
        read_bullet(tmp_path)


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="no such file"):
        read_bullet(tmp_path / "absent")


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    _write_lands(tmp_path, ["x-Land_1.x3p"])
    (tmp_path / "x-Land_2.x3p").write_bytes(b"not a zip archive")
    with pytest.raises(EvidenceError, match=r"x-Land_2\.x3p"):
        read_bullet(tmp_path)


def test_mixed_resolutions_are_refused_naming_the_file(tmp_path: Path) -> None:
    _write_lands(tmp_path, ["m-Land_1.x3p"], pixel_um=PIXEL_UM)
    _write_lands(tmp_path / "other", ["m-Land_2.x3p"], pixel_um=1.5 * PIXEL_UM)
    (tmp_path / "other" / "m-Land_2.x3p").rename(tmp_path / "m-Land_2.x3p")
    with pytest.raises(EvidenceError, match=r"m-Land_2\.x3p: its pixel size 4\.6875"):
        read_bullet(tmp_path)


def test_land_scan_with_no_valid_rows_is_refused(tmp_path: Path) -> None:
    empty = Surface(np.full((40, 300), np.nan), pixel_um=PIXEL_UM, modality="topography")
    write_x3p(empty, tmp_path / "e-Land_1.x3p")
    with pytest.raises(EvidenceError, match=r"e-Land_1\.x3p.*no measured"):
        read_bullet(tmp_path)


def test_circumference_without_lands_is_refused_and_mixed_with_lands_too(tmp_path: Path) -> None:
    wide = Surface(np.zeros((40, 2000)), pixel_um=3.125, modality="topography")
    write_x3p(wide, tmp_path / "circumference.x3p")
    with pytest.raises(EvidenceError, match="no groove was found"):
        read_bullet(tmp_path / "circumference.x3p")
    land = render_land(barrel_striae(seed=1, pixel_um=PIXEL_UM)[0], seed=2, pixel_um=PIXEL_UM)
    write_x3p(land.surface, tmp_path / "x-Land_1.x3p")
    with pytest.raises(EvidenceError, match="give a whole-circumference scan alone"):
        read_bullet([tmp_path / "x-Land_1.x3p", tmp_path / "circumference.x3p"])

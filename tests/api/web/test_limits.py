"""Limits over HTTP: files refused from what they declare, before decoding, and nothing stored.

A small file may declare a huge grid (a TIFF of many samples per pixel), a grid too coarse to
hold marks (a preview X3P at ~1 mm per point), or be the last of a bullet's land files: each is
refused with the status the contract names, the file named, before anything is decoded.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.store.models import Exhibit
from ballistics.bullet.synthetic import barrel_striae, render_land
from ballistics.casing.prepare import PrepareConfig
from ballistics.errors import LimitExceededError, ResolutionOutOfRangeError, UnreadableFileError
from ballistics.io import ReadLimits, write_x3p
from ballistics.items import read as workers
from ballistics.items.read import extract_bullet, extract_casing
from tests.api.network import LABS, Network
from tests.bullet.lands import PIXEL_UM as LAND_PIXEL_UM
from tests.io.hostile import coarse_x3p, many_samples_tiff

LAB = LABS[0][0]


@pytest.fixture(scope="module")
def lands(tmp_path_factory) -> list[tuple[str, bytes]]:
    """Three land scans of one synthetic bullet, as (file name, bytes)."""
    folder = tmp_path_factory.mktemp("lands")
    striae = barrel_striae(seed=5, land_count=3, pixel_um=LAND_PIXEL_UM)
    files = []
    for k in range(3):
        rendered = render_land(striae[k], seed=k, pixel_um=LAND_PIXEL_UM, scan_length_um=300.0)
        path = write_x3p(rendered.surface, folder / f"B-Land_{k + 1}.x3p")
        files.append((path.name, path.read_bytes()))
    return files


@pytest.fixture
def decoded(monkeypatch) -> list[str]:
    """The names of the files the extraction decodes (read_surface calls), in order."""
    calls: list[str] = []
    original = workers.read_surface

    def recording(data, **options):  # type: ignore[no-untyped-def]
        calls.append(options.get("name", ""))
        return original(data, **options)

    monkeypatch.setattr(workers, "read_surface", recording)
    return calls


@pytest.fixture(scope="module")
def tiff_bomb() -> bytes:
    """0.3 MB declaring 2048 × 2048 × 64 = 268 M values (decoded: 2 GB, then 500)."""
    return many_samples_tiff(side=2048)


# --- the extraction every upload and search goes through ---------------------------------------


@pytest.mark.parametrize(
    ("last", "error"),
    [(None, LimitExceededError), (b"these are notes, not a scan", UnreadableFileError)],
)
def test_bullet_refused_for_its_last_file_before_any_is_decoded(
    lands, tiff_bomb, decoded, last, error
) -> None:  # type: ignore[no-untyped-def]
    files = [*lands, ("B-Land_4.tif", tiff_bomb if last is None else last)]
    with pytest.raises(error, match=r"^B-Land_4\.tif: "):
        extract_bullet(files)
    assert decoded == []


def test_bullet_of_too_many_files_or_points_is_refused_before_decoding(lands, decoded) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LimitExceededError, match="13 files in one item, past the limit of 12"):
        extract_bullet([lands[0]] * 13, source="bullet A")
    # the three lands declare more than 100 000 points together
    with pytest.raises(LimitExceededError, match=r"the 3 files declare \d+ points together"):
        extract_bullet(lands, limits=ReadLimits(max_total_points=100_000))
    assert decoded == []
    assert len(extract_bullet(lands).mark.lands) == 3  # the same files within the limits
    assert decoded == [name for name, _ in lands]


def test_bullet_land_too_coarse_is_refused_from_its_header(tmp_path, lands, decoded) -> None:  # type: ignore[no-untyped-def]
    coarse = coarse_x3p(tmp_path / "B-Land_4.x3p").read_bytes()
    with pytest.raises(ResolutionOutOfRangeError, match=r"^B-Land_4\.x3p: 990 µm per pixel"):
        extract_bullet([*lands, ("B-Land_4.x3p", coarse)])
    assert decoded == []


def test_casing_too_coarse_or_declared_too_large_is_refused_before_decoding(
    tmp_path, tiff_bomb, decoded
) -> None:  # type: ignore[no-untyped-def]
    coarse = coarse_x3p(tmp_path / "preview.x3p").read_bytes()
    with pytest.raises(ResolutionOutOfRangeError, match=r"^preview\.x3p: 990 µm per pixel"):
        extract_casing(coarse, name="preview.x3p", pixel_um=None, prepare_config=PrepareConfig())
    with pytest.raises(ResolutionOutOfRangeError, match=r"^photo\.tif: 40 µm per pixel"):
        extract_casing(
            many_samples_tiff(side=32, samples=3),
            name="photo.tif",
            pixel_um=40.0,
            prepare_config=PrepareConfig(),
        )
    with pytest.raises(LimitExceededError, match=r"^photo\.tif: .*268435456 points"):
        extract_casing(tiff_bomb, name="photo.tif", pixel_um=5.0, prepare_config=PrepareConfig())
    assert decoded == []


# --- over HTTP --------------------------------------------------------------------------------


def _nothing_stored(network: Network) -> None:
    with network.service.store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Exhibit)) == 0
    folder = network.service.store.originals.folder
    assert not folder.exists() or not [path for path in folder.rglob("*") if path.is_file()]


def _upload(network: Network, files: list[tuple[str, bytes]], **form: str):  # type: ignore[no-untyped-def]
    data = {"exhibit_id": "EX-1", "case_id": "C-1", "kind": "cartridge_case", **form}
    return network.client.post(
        "/v1/exhibits",
        headers=network.headers(LAB),
        data=data,
        files=[("file", (name, content, "application/octet-stream")) for name, content in files],
    )


def _search(network: Network, files: list[tuple[str, bytes]], **form: str):  # type: ignore[no-untyped-def]
    return network.client.post(
        "/v1/search",
        headers=network.headers(LAB),
        data={"kind": "cartridge_case", **form},
        files=[("file", (name, content, "application/octet-stream")) for name, content in files],
    )


@pytest.mark.parametrize("send", [_upload, _search])
def test_small_tiff_declaring_gigabytes_answers_413(network, tiff_bomb, decoded, send) -> None:  # type: ignore[no-untyped-def]
    answer = send(network, [("ring-light.tif", tiff_bomb)], pixel_um="5")
    assert answer.status_code == 413, answer.text
    assert answer.json()["detail"].startswith("ring-light.tif: "), answer.text
    assert decoded == []
    _nothing_stored(network)


@pytest.mark.parametrize("send", [_upload, _search])
def test_coarse_x3p_answers_422_naming_the_file(tmp_path, network, decoded, send) -> None:  # type: ignore[no-untyped-def]
    coarse = coarse_x3p(tmp_path / "preview.x3p").read_bytes()
    answer = send(network, [("preview.x3p", coarse)])
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("preview.x3p: 990 µm per pixel is coarser")
    assert decoded == []
    _nothing_stored(network)


@pytest.mark.parametrize("send", [_upload, _search])
def test_bullet_with_an_oversized_last_file_answers_413_decoding_nothing(
    network, lands, tiff_bomb, decoded, send
) -> None:  # type: ignore[no-untyped-def]
    answer = send(network, [*lands, ("B-Land_4.tif", tiff_bomb)], kind="bullet")
    assert answer.status_code == 413, answer.text
    assert answer.json()["detail"].startswith("B-Land_4.tif: "), answer.text
    assert decoded == []
    _nothing_stored(network)


@pytest.mark.parametrize("send", [_upload, _search])
def test_bullet_of_too_many_files_answers_413(network, lands, decoded, send) -> None:  # type: ignore[no-untyped-def]
    files = [(f"B-Land_{k}.x3p", lands[0][1]) for k in range(1, 14)]
    answer = send(network, files, kind="bullet")
    assert answer.status_code == 413, answer.text
    assert "13 files in one item, past the limit of 12" in answer.json()["detail"]
    assert decoded == []
    _nothing_stored(network)


def test_the_same_bullet_within_the_limits_is_stored(network, lands, decoded) -> None:  # type: ignore[no-untyped-def]
    answer = _upload(network, lands, kind="bullet")
    assert answer.status_code in (201, 202), answer.text
    assert decoded == [name for name, _ in lands]

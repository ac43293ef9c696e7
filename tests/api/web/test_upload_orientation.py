"""The ``orientation`` an upload declares (``POST /v1/exhibits`` and the upload page): a casing
stored mirrored and declared so is read reversed and the declaration kept in the exhibit's
metadata; a value other than ``as_stored`` or ``mirrored`` is a 422 naming the field."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from api.store import repository
from ballistics.io import read_surface, write_x3p
from tests.api.network import LABS, Network
from tests.api.web.pages import form_token, sign_in

LAB = LABS[0][0]


def _bottom_up(network: Network, tmp_path: Path) -> bytes:
    """The network's first casing written with its rows bottom-up (nothing in it says so)."""
    surface = read_surface(network.file_of(network.rows[0]))
    region = surface.region_of_interest
    path = write_x3p(
        dataclasses.replace(
            surface,
            values=surface.values[::-1].copy(),
            region_of_interest=None if region is None else region[::-1].copy(),
        ),
        tmp_path / "bottom-up.x3p",
    )
    return path.read_bytes()


def _post(network: Network, data: bytes, exhibit_id: str, **form: str):
    return network.client.post(
        "/v1/exhibits",
        headers=network.headers(LAB),
        data={"exhibit_id": exhibit_id, "case_id": "C-O", "kind": "cartridge_case", **form},
        files={"file": ("scan.x3p", io.BytesIO(data), "application/octet-stream")},
    )


def _metadata(network: Network, public_id: str) -> dict:
    with network.service.store.transaction() as session:
        return dict(repository.get_exhibit(session, public_id).extra_metadata or {})


def test_an_upload_declared_mirrored_is_recorded_and_a_bad_value_refused(
    network: Network, tmp_path: Path
) -> None:
    bottom_up = _bottom_up(network, tmp_path)
    declared = _post(network, bottom_up, "O-1", orientation="mirrored")
    assert declared.status_code == 202, declared.text
    assert _metadata(network, declared.json()["id"]) == {"orientation": "mirrored"}
    plain = _post(network, bottom_up, "O-2", orientation="as_stored")
    assert plain.status_code == 202, plain.text
    assert "orientation" not in _metadata(network, plain.json()["id"])
    # a repeat that declares another orientation is refused, naming the field; one that says
    # nothing is the stored exhibit (its declaration stands)
    repeat = _post(network, bottom_up, "O-2", orientation="mirrored")
    assert repeat.status_code == 409 and "orientation" in repeat.text, repeat.text
    silent = _post(network, bottom_up, "O-1")
    assert silent.status_code in (201, 202) and silent.json()["created"] is False
    assert _metadata(network, declared.json()["id"]) == {"orientation": "mirrored"}

    for value in ("flipped", "Mirrored", "as stored"):
        refused = _post(network, bottom_up, "O-3", orientation=value)
        assert refused.status_code == 422, (value, refused.text)
        assert "orientation" in str(refused.json()["detail"]) and "mirrored" in refused.text
    with network.service.store.transaction() as session:
        agency = repository.get_agency(session, LAB)
        assert repository.find_exhibit(session, agency, "O-3") is None


def test_a_bullet_cannot_be_declared_mirrored(network: Network) -> None:
    lands = [("land1.x3p", network.file_of(network.rows[0]).read_bytes())] * 2
    answer = network.client.post(
        "/v1/exhibits",
        headers=network.headers(LAB),
        data={"exhibit_id": "B-O", "case_id": "C-O", "kind": "bullet", "orientation": "mirrored"},
        files=[("file", (name, io.BytesIO(data))) for name, data in lands],
    )
    assert answer.status_code == 422, answer.text
    assert "declared for cartridge cases only" in answer.text


def test_the_upload_page_offers_the_orientation_and_records_it(
    network: Network, tmp_path: Path
) -> None:
    sign_in(network, LAB, "lab")
    page = network.client.get("/ui/exhibits/new").text
    assert '<label for="orientation">Orientation of the file</label>' in page
    assert '<option value="as_stored" selected>' in page and '<option value="mirrored">' in page
    answer = network.client.post(
        "/ui/exhibits",
        data={
            "exhibit_id": "U-O",
            "case_id": "UC-O",
            "kind": "cartridge_case",
            "orientation": "mirrored",
            "csrf_token": form_token(page),
        },
        files={"file": ("scan.x3p", _bottom_up(network, tmp_path))},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    public_id = answer.headers["location"].split("/")[-1].split("?")[0]
    assert _metadata(network, public_id) == {"orientation": "mirrored"}
    for language, label in (("fr", "Orientation du fichier"), ("ar", "اتجاه الملف")):
        chosen = network.client.post(
            "/ui/language",
            data={"language": language, "next": "/ui/", "csrf_token": form_token(page)},
            follow_redirects=False,
        )
        assert chosen.status_code == 303
        assert label in network.client.get("/ui/exhibits/new").text


def test_a_search_reads_the_query_as_declared(populated: Network, tmp_path: Path) -> None:
    row = populated.rows[0]
    bottom_up = _bottom_up(populated, tmp_path)

    def best(**form: str) -> dict:
        answer = populated.client.post(
            "/v1/search",
            headers=populated.headers(row["agency"]),
            data={"kind": "cartridge_case", "top": "3", **form},
            files={"file": ("query.x3p", io.BytesIO(bottom_up), "application/octet-stream")},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["candidates"][0]

    declared = best(orientation="mirrored")
    assert declared["exhibit_id"] == row["exhibit_id"] and declared["lead"]
    as_stored = best()
    assert as_stored["exhibit_id"] != row["exhibit_id"] or as_stored["score"] < declared["score"]
    refused = populated.client.post(
        "/v1/search",
        headers=populated.headers(row["agency"]),
        data={"kind": "cartridge_case", "orientation": "flipped"},
        files={"file": ("query.x3p", io.BytesIO(bottom_up), "application/octet-stream")},
    )
    assert refused.status_code == 422 and "orientation" in refused.text

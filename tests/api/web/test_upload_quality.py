"""A photograph's quality at upload (``POST /v1/exhibits`` and the upload page): its warnings in
the answer beside the contract's fields, a blank photograph refused with 422 and nothing stored,
no warning for a 3D scan."""

from __future__ import annotations

import io

from api.store import repository
from tests.api.network import LABS, Network
from tests.api.web.pages import form_token, sign_in
from tests.photographs import blank_png, photograph, with_resolution

LAB = LABS[0][0]


def _post(network: Network, data: bytes, exhibit_id: str, name: str, **form: str):
    return network.client.post(
        "/v1/exhibits",
        headers=network.headers(LAB),
        data={"exhibit_id": exhibit_id, "case_id": "C-Q", "kind": "cartridge_case", **form},
        files={"file": (name, io.BytesIO(data), "application/octet-stream")},
    )


def test_a_coarse_photograph_is_stored_with_its_warning_in_the_answer(network: Network) -> None:
    coarse = photograph(pixel_um=12.0)
    answer = _post(
        network, coarse.data, "Q-1", "coarse.png", pixel_um=str(coarse.recorded_pixel_um)
    )
    assert answer.status_code == 202, answer.text
    document = answer.json()
    assert {"id", "exhibit_id", "status", "created", "sha256"} <= document.keys()
    assert document["exhibit_id"] == "Q-1" and document["created"] is True
    (warning,) = document["warnings"]
    assert warning["code"] == "too_coarse"
    assert "12 µm per pixel" in warning["message"] and "magnification" in warning["message"]


def test_the_warnings_are_kept_with_the_exhibit_and_answered_to_a_repeat(
    network: Network,
) -> None:
    coarse = photograph(pixel_um=12.0)
    first = _post(network, coarse.data, "Q-R", "coarse.png", pixel_um="12")
    assert first.status_code == 202, first.text
    repeat = _post(network, coarse.data, "Q-R", "coarse.png", pixel_um="12")
    assert repeat.status_code in (201, 202) and repeat.json()["created"] is False
    assert repeat.json()["warnings"] == first.json()["warnings"] != []
    own = network.client.get(f"/v1/exhibits/{first.json()['id']}", headers=network.headers(LAB))
    assert own.json()["warnings"] == first.json()["warnings"]
    other = network.client.get(
        f"/v1/exhibits/{first.json()['id']}", headers=network.headers(LABS[1][0])
    )
    assert other.status_code == 200 and other.json()["warnings"] is None


def test_a_3d_scan_is_answered_without_warnings(network: Network) -> None:
    row = network.rows[0]
    answer = network.upload(row)
    assert answer.status_code == 202, answer.text
    assert answer.json()["warnings"] == []
    stored = network.client.get(
        f"/v1/exhibits/{answer.json()['id']}", headers=network.headers(row["agency"])
    )
    assert stored.json()["warnings"] == []


def test_a_blank_photograph_is_refused_with_422_saying_why_and_nothing_is_stored(
    network: Network,
) -> None:
    levels = {0: "clipped black", 128: "the photograph is blank", 255: "clipped white"}
    for level, said in levels.items():
        answer = _post(network, blank_png(level), f"Q-{level}", "blank.png", pixel_um="6")
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert detail.startswith("blank.png: ") and said in detail, detail
    with network.service.store.transaction() as session:
        agency = repository.get_agency(session, LAB)
        for level in levels:
            assert repository.find_exhibit(session, agency, f"Q-{level}") is None


def test_the_upload_page_shows_a_photographs_warnings_in_the_persons_language(
    network: Network,
) -> None:
    sign_in(network, LAB, "lab")
    page = network.client.get("/ui/exhibits/new").text
    # the upload page takes no pixel_um: the file states its resolution
    coarse = with_resolution(photograph(pixel_um=12.0).data, 12.0)

    def upload(exhibit_id: str):
        return network.client.post(
            "/ui/exhibits",
            data={
                "exhibit_id": exhibit_id,
                "case_id": "UC-Q",
                "kind": "cartridge_case",
                "csrf_token": form_token(page),
            },
            files={"file": ("coarse.png", coarse)},
            follow_redirects=False,
        )

    answer = upload("U-Q")
    assert answer.status_code == 201, answer.text
    assert "Stored, but take a better photograph next time" in answer.text
    assert 'data-code="too_coarse"' in answer.text
    assert "photograph at a higher magnification" in answer.text
    with network.service.store.transaction() as session:
        stored = repository.find_exhibit(session, repository.get_agency(session, LAB), "U-Q")
        assert stored is not None
    assert f'href="/ui/exhibits/{stored.public_id}"' in answer.text
    chosen = network.client.post(
        "/ui/language",
        data={"language": "fr", "next": "/ui/", "csrf_token": form_token(page)},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    repeat = upload("U-Q2")
    assert repeat.status_code == 201, repeat.text
    assert "photographiez à un grossissement plus fort" in repeat.text


def test_the_upload_page_refuses_a_blank_photograph_saying_why(network: Network) -> None:
    sign_in(network, LAB, "lab")
    page = network.client.get("/ui/exhibits/new").text
    answer = network.client.post(
        "/ui/exhibits",
        data={
            "exhibit_id": "U-B",
            "case_id": "UC-Q",
            "kind": "cartridge_case",
            "csrf_token": form_token(page),
        },
        files={"file": ("blank.png", with_resolution(blank_png(128), 6.0))},
        follow_redirects=False,
    )
    assert answer.status_code == 422, answer.text
    assert "blank.png: the photograph is blank" in answer.text

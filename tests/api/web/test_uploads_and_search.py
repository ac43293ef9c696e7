"""Re-uploads that change a field, what a search tells of others' files, bounded requests."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select

from api.store.models import AuditEntry
from api.web.routes import compare
from tests.api.network import EXAMINER, UNSHARED_LAB, Network, store_exhibit

pytestmark = pytest.mark.slow

OWN_FIELDS = {
    "exhibit_id": "E-7",
    "case_id": "C-7",
    "kind": "cartridge_case",
    "caliber": "9mm",
    "occurred_on": "2026-01-05",
    "shared": "true",
    "land_count": "6",
    "twist": "right",
}


def _post(network: Network, row: dict[str, str], **fields: str):
    path = network.file_of(row)
    return network.client.post(
        "/v1/exhibits",
        headers=network.headers(row["agency"]),
        data={**OWN_FIELDS, **fields},
        files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
    )


# --- re-uploads ----------------------------------------------------------------------------------


def test_a_repeat_with_another_field_is_refused_naming_it(
    network_on_each_backend: Network,
) -> None:
    network = network_on_each_backend
    row = network.rows[0]
    created = _post(network, row)
    assert created.status_code == 202, created.text
    public_id = created.json()["id"]
    repeat = _post(network, row)
    assert repeat.status_code in (201, 202), repeat.text
    assert repeat.json()["created"] is False and repeat.json()["id"] == public_id

    changes = [
        ({"case_id": "C-8"}, "case 'C-7', not 'C-8'"),
        ({"caliber": ".45 ACP"}, "caliber '9mm' stored, '.45 ACP' sent"),
        ({"shared": "false"}, "shared True stored, False sent"),
        ({"occurred_on": "2026-01-06"}, "occurred_on datetime.date(2026, 1, 5) stored"),
        ({"land_count": "5"}, "land_count '6' stored, '5' sent"),
        ({"twist": "left"}, "twist 'right' stored, 'left' sent"),
        ({"caliber": ".45 ACP", "twist": "left"}, "caliber '9mm' stored, '.45 ACP' sent; twist"),
    ]
    for fields, named in changes:
        answer = _post(network, row, **fields)
        assert answer.status_code == 409, (fields, answer.text)
        assert named in answer.json()["detail"], (fields, answer.text)
    # a bullet under a casing's exhibit id: refused before the file is read as lands
    kind = _post(network, row, kind="bullet")
    assert kind.status_code == 409 and "as a cartridge_case, not a bullet" in kind.text

    stored = network.client.get(f"/v1/exhibits/{public_id}", headers=network.headers(row["agency"]))
    document = stored.json()
    assert (document["case_id"], document["caliber"], document["shared"]) == ("C-7", "9mm", True)
    assert document["occurred_on"] == "2026-01-05"
    assert document["metadata"] == {"land_count": "6", "twist": "right"}
    assert network.client.get("/v1/health").json()["exhibits"] == 1


def test_a_manifest_row_with_another_field_is_refused_and_an_identical_one_skipped(
    network: Network, tmp_path: Path
) -> None:
    row = {**network.rows[2], "path": str(network.file_of(network.rows[2]))}

    def ingest(name: str, rows: list[dict[str, str]]):
        manifest = tmp_path / name
        with manifest.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return network.service.ingest(manifest, correlate=False)

    first = ingest("first.csv", [row])
    assert (first.ingested, first.skipped, first.failed) == (1, 0, [])
    again = ingest("again.csv", [row])
    assert (again.ingested, again.skipped, again.failed) == (0, 1, [])
    changed = ingest("changed.csv", [{**row, "caliber": "380"}, {**row, "brand": "CCI"}])
    assert (changed.ingested, changed.skipped) == (0, 0)
    caliber, brand = (entry["error"] for entry in changed.failed)
    assert "caliber '9mm' stored, '380' sent" in caliber
    assert f"brand {row['brand']!r} stored, 'CCI' sent" in brand


# --- search: same_file follows the sharing rule ------------------------------------------------


def _search(network: Network, agency: str, row: dict[str, str]) -> dict[str, dict[str, object]]:
    answer = network.client.post(
        "/v1/search",
        headers=network.headers(agency),
        data={"kind": "cartridge_case", "top": "5"},
        files={"file": ("query.x3p", network.file_of(row).read_bytes())},
    )
    assert answer.status_code == 200, answer.text
    return {str(found["exhibit_id"]): found for found in answer.json()["candidates"]}


def test_a_search_never_tells_that_an_unshared_exhibit_is_the_very_file(network: Network) -> None:
    unshared, shared = network.rows[1], network.rows[0]
    assert unshared["agency"] == UNSHARED_LAB and shared["agency"] != UNSHARED_LAB
    for row in (unshared, shared):
        assert network.upload(row).status_code == 202
    outsider = network.rows[2]["agency"]  # a third lab

    found = _search(network, outsider, unshared)
    listed = found.get(unshared["exhibit_id"])
    assert listed is None or listed["same_file"] is False
    assert "sha256" not in (listed or {})
    examiner = _search(network, EXAMINER, unshared).get(unshared["exhibit_id"])
    assert examiner is None or examiner["same_file"] is False  # the rule holds for every role

    assert _search(network, UNSHARED_LAB, unshared)[unshared["exhibit_id"]]["same_file"] is True
    assert _search(network, outsider, shared)[shared["exhibit_id"]]["same_file"] is True


# --- bounded work: candidates' top, the overlay drawn once -------------------------------------


def test_candidates_top_out_of_bounds_is_refused(network: Network) -> None:
    row = network.rows[0]
    public_id = store_exhibit(network, row["agency"], row["exhibit_id"])
    headers = network.headers(row["agency"])
    for top in ("0", "-5", "1001", "100000000", "many"):
        answer = network.client.get(
            f"/v1/exhibits/{public_id}/candidates", headers=headers, params={"top": top}
        )
        assert answer.status_code == 422, (top, answer.text)
        assert "top" in answer.text
    for top in ("1", "1000"):
        answer = network.client.get(
            f"/v1/exhibits/{public_id}/candidates", headers=headers, params={"top": top}
        )
        assert answer.status_code == 200, (top, answer.text)


def test_the_overlay_is_drawn_once_and_still_audited_and_guarded(
    network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = network.rows[1]["agency"]  # the unshared lab: its pair is shown to itself only
    rows = [row for row in network.rows if row["agency"] == owner]
    ids = [network.upload(row).json()["id"] for row in rows]
    compare.overlay_cache.clear()
    drawn: list[str] = []
    draw = compare.overlay_png

    def counting_overlay_png(kind: str, *marks: bytes, **options: object) -> bytes:
        drawn.append(kind)
        return draw(kind, *marks, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(compare, "overlay_png", counting_overlay_png)
    url = f"/v1/compare/{ids[0]}/{ids[1]}/overlay.png"
    first = network.client.get(url, headers=network.headers(owner))
    second = network.client.get(url, headers=network.headers(owner))
    assert first.status_code == second.status_code == 200
    assert first.headers["content-type"] == "image/png"
    assert second.content == first.content
    assert drawn == ["cartridge_case"]  # the second answer came from the cache
    # the cache never bypasses the sharing rule, nor the audit of each view
    other = network.client.get(url, headers=network.headers(network.rows[0]["agency"]))
    assert other.status_code == 403
    with network.service.store.transaction() as session:
        views = session.scalars(
            select(AuditEntry.actor).where(AuditEntry.action == "compare.overlay")
        ).all()
    assert views == [owner, owner]
    # the reversed pair is another picture (the reference is drawn on the left)
    network.client.get(f"/v1/compare/{ids[1]}/{ids[0]}/overlay.png", headers=network.headers(owner))
    assert len(drawn) == 2

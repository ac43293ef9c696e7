"""The examiner's queue in tests: links of every filter's kind stored without scans, the queue's
order read from its page, and a decision posted from a lead's page as the browser would."""

from __future__ import annotations

import datetime
import re

from api.store import repository
from tests.api.network import EXAMINER, LABS
from tests.api.web.pages import form_token

(TT_LAB, _), (GY_LAB, _), (CI_LAB, _) = LABS
Day = datetime.date

#: name: (first side, second side, score); a side: (agency, case, incident, calibre, kind,
#: modality, entered); the examiner's own agency holds one side of "own"
LINKS = {
    "border": (
        (TT_LAB, "T-1", Day(2025, 3, 1), "9mm", "cartridge_case", "topography", Day(2026, 1, 10)),
        (GY_LAB, "G-1", Day(2025, 3, 5), "9mm", "cartridge_case", "topography", Day(2026, 1, 10)),
        40.0,
    ),
    "photo": (
        (
            TT_LAB,
            "T-2",
            Day(2025, 6, 1),
            ".40 S&W",
            "cartridge_case",
            "photograph",
            Day(2026, 2, 10),
        ),
        (
            TT_LAB,
            "T-3",
            Day(2025, 6, 9),
            ".40 S&W",
            "cartridge_case",
            "photograph",
            Day(2026, 2, 10),
        ),
        20.0,
    ),
    "bullet": (
        (GY_LAB, "G-2", Day(2024, 11, 1), "9mm", "bullet", "topography", Day(2026, 3, 10)),
        (CI_LAB, "C-1", Day(2024, 12, 1), "9MM", "bullet", "topography", Day(2026, 3, 10)),
        12.0,
    ),
    "own": (
        (
            EXAMINER,
            "X-1",
            Day(2025, 1, 1),
            "7.62",
            "cartridge_case",
            "topography",
            Day(2026, 1, 20),
        ),
        (CI_LAB, "C-2", Day(2025, 1, 2), "7.62", "cartridge_case", "topography", Day(2026, 1, 20)),
        25.0,
    ),
}


def store_side(session, network, side, exhibit_id: str):
    agency, case_id, occurred_on, caliber, kind, modality, entered = side
    case = repository.get_or_create_case(
        session, repository.get_agency(session, agency), case_id, occurred_on=occurred_on
    )
    original = network.service.store.originals.put_bytes(exhibit_id.encode(), name="x.x3p")
    exhibit = repository.add_exhibit(
        session, case, exhibit_id, kind=kind, files=[original], caliber=caliber, modality=modality
    ).exhibit
    exhibit.created_at = datetime.datetime.combine(entered, datetime.time(12), datetime.UTC)
    return exhibit


def store_links(network) -> dict[str, str]:
    """The links of LINKS (no scan needed); their public ids by name."""
    ids = {}
    with network.service.store.transaction(write=True) as session:
        for name, (first, second, score) in LINKS.items():
            sides = [store_side(session, network, side, f"E-{side[1]}") for side in (first, second)]
            ids[name] = repository.upsert_link(session, *sides, score=score).public_id
    return ids


def queue_of(network, ids: dict[str, str], query: str) -> list[str]:
    """The links the queue ``query`` lists, by name, in their order."""
    page = network.client.get(f"/ui/leads?{query}")
    assert page.status_code == 200, page.text
    names = {public_id: name for name, public_id in ids.items()}
    return [names[found] for found in re.findall(r'href="/ui/links/(\w+)', page.text)]


def decide(network, link_id: str, method: str, *, queue: str = "", decision: str = "confirm"):
    page = network.client.get(f"/ui/links/{link_id}", params={"queue": queue}).text
    return network.client.post(
        f"/ui/links/{link_id}/decision",
        data={
            "decision": decision,
            "method": method,
            "expected_status": "lead",
            "queue": re.search(r'name="queue" value="([^"]*)"', page)
            .group(1)
            .replace("&amp;", "&"),
            "csrf_token": form_token(page),
        },
        follow_redirects=False,
    )

"""Examiners' decisions on links: taken in turn under the link's lock, refused when stale."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from api.store import repository
from api.store.models import Link
from tests.api.network import EXAMINER, Network, store_lead


def _decisions(network: Network, link_id: str) -> list[dict[str, object]]:
    with network.service.store.transaction() as session:
        return [
            {"action": entry.action, **(entry.details or {})}
            for entry in repository.list_audit(session, object_type="link", object_id=link_id)
            if entry.action in ("link.confirmed", "link.rejected")
        ]


def test_concurrent_decisions_record_the_status_each_one_replaced(
    network_on_each_backend: Network,
) -> None:
    network = network_on_each_backend
    link_id = store_lead(network)
    headers = network.headers(EXAMINER)

    def decide(number: int) -> int:
        verb = "confirm" if number % 2 else "reject"
        answer = network.client.post(
            f"/v1/links/{link_id}/{verb}", headers=headers, json={"comment": f"call {number}"}
        )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(decide, range(20)))
    assert codes == [200] * 20
    lines = _decisions(network, link_id)
    assert len(lines) == 20  # every call changed the comment, so none was a no-op repeat
    replaced = ["lead"] + [str(line["action"]).removeprefix("link.") for line in lines[:-1]]
    assert [line["previous_status"] for line in lines] == replaced
    with network.service.store.transaction() as session:
        link = repository.get_link(session, link_id)
        assert link.status == str(lines[-1]["action"]).removeprefix("link.")
        assert link.comment == lines[-1]["comment"]


def test_a_decision_on_a_link_decided_meanwhile_is_refused_and_changes_nothing(
    network_on_each_backend: Network,
) -> None:
    network = network_on_each_backend
    link_id = store_lead(network)
    headers = network.headers(EXAMINER)
    first = network.client.post(
        f"/v1/links/{link_id}/confirm",
        headers=headers,
        json={"comment": "cells agree", "expected_status": "lead"},
    )
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "confirmed"

    stale = network.client.post(
        f"/v1/links/{link_id}/reject",
        headers=headers,
        json={"comment": "no", "expected_status": "lead", "method": "microscope"},
    )
    assert stale.status_code == 409, stale.text
    assert "confirmed, not lead" in stale.json()["detail"]
    with network.service.store.transaction() as session:
        link = session.get(Link, repository.get_link(session, link_id).id)
        assert link is not None
        assert (link.status, link.comment, link.decision_method) == (
            "confirmed",
            "cells agree",
            "images",
        )
    assert [line["action"] for line in _decisions(network, link_id)] == ["link.confirmed"]

    # a retried request whose first try went through is refused too: the status is not "lead"
    again = network.client.post(
        f"/v1/links/{link_id}/confirm",
        headers=headers,
        json={"comment": "cells agree", "expected_status": "lead"},
    )
    assert again.status_code == 409
    # what the examiner saw, stated right, is accepted
    revised = network.client.post(
        f"/v1/links/{link_id}/reject",
        headers=headers,
        json={"comment": "under the microscope", "expected_status": "confirmed"},
    )
    assert revised.status_code == 200 and revised.json()["status"] == "rejected"


def test_the_decision_method_is_stored_and_audited(network_on_each_backend: Network) -> None:
    network = network_on_each_backend
    link_id = store_lead(network)
    answer = network.client.post(
        f"/v1/links/{link_id}/confirm",
        headers=network.headers(EXAMINER),
        json={"comment": "compared the firing pin impressions", "method": "microscope"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["decision_method"] == "microscope"
    with network.service.store.transaction() as session:
        assert repository.get_link(session, link_id).decision_method == "microscope"
    (line,) = _decisions(network, link_id)
    assert line == {
        "action": "link.confirmed",
        "previous_status": "lead",
        "comment": "compared the firing pin impressions",
        "method": "microscope",
    }
    # without a method the examiner decided on the images
    default = network.client.post(
        f"/v1/links/{link_id}/reject", headers=network.headers(EXAMINER), json={}
    )
    assert default.status_code == 200
    assert default.json()["decision_method"] == "images"
    assert _decisions(network, link_id)[-1]["method"] == "images"


def test_an_unknown_method_or_expected_status_is_refused(network: Network) -> None:
    link_id = store_lead(network)
    for body in ({"method": "guess"}, {"expected_status": "maybe"}):
        answer = network.client.post(
            f"/v1/links/{link_id}/confirm", headers=network.headers(EXAMINER), json=body
        )
        assert answer.status_code == 422, body
    assert _decisions(network, link_id) == []

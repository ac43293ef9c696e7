"""Issue 4's scenario: labs of three countries upload, a cross-border hit is confirmed, the
investigator follows it to the other country's case, and unshared images stay with their lab."""

from __future__ import annotations

import pytest

from api.scenario import ScenarioExhibit, run_scenario
from tests.api.network import EXAMINER, INVESTIGATOR, UNSHARED_LAB

pytestmark = pytest.mark.slow


def test_the_network_scenario(network_on_each_backend):
    network = network_on_each_backend
    exhibits = [
        ScenarioExhibit(
            path=network.file_of(row),
            exhibit_id=row["exhibit_id"],
            case_id=row["case_id"],
            agency=row["agency"],
            caliber=row["caliber"],
            shared=row["agency"] != UNSHARED_LAB,
        )
        for row in network.rows
    ]
    assert len({row["country"] for row in network.rows}) == 3
    report = run_scenario(
        network.client,
        exhibits,
        keys=network.keys,
        examiner=EXAMINER,
        investigator=INVESTIGATOR,
        timeout_s=120,
        poll_s=0.1,
    )
    assert report.correlated == 6
    firearm = {row["exhibit_id"]: row["firearm"] for row in network.rows}
    country = {row["exhibit_id"]: row["country"] for row in network.rows}
    assert report.leads, "no cross-border lead"
    for lead in report.leads:
        assert country[lead["exhibit_a"]] != country[lead["exhibit_b"]]
        assert firearm[lead["exhibit_a"]] == firearm[lead["exhibit_b"]]
    confirmed = report.confirmed
    assert confirmed["status"] == "confirmed" and confirmed["decided_by"] == EXAMINER
    assert confirmed["comment"] and confirmed["decision_method"] == "microscope"
    cases = report.linked["cases"]
    assert [(case["case_id"], case["country"]) for case in cases] == [
        (confirmed["case_b"], confirmed["country_b"])
    ]
    assert confirmed["country_b"] != report.linked["case"]["country"]
    assert report.unshared_image["status_for_other"] == 403
    assert report.unshared_image["status_for_owner"] == 200
    # the decision is the examiner's alone, and recorded
    link_id = confirmed["id"]
    for agency in (confirmed["agency_a"], INVESTIGATOR):
        refused = network.client.post(
            f"/v1/links/{link_id}/reject", headers=network.headers(agency), json={}
        )
        assert refused.status_code == 403
    rejected = network.client.post(
        f"/v1/links/{link_id}/reject",
        headers=network.headers(EXAMINER),
        json={"comment": "second look: different firing pin"},
    )
    assert rejected.json()["status"] == "rejected"
    after = network.client.get(
        f"/v1/cases/{confirmed['case_a']}/linked",
        params={"agency": confirmed["agency_a"]},
        headers=network.headers(INVESTIGATOR),
    ).json()
    assert after["cases"] == []
    lab_asks_other = network.client.get(
        f"/v1/cases/{confirmed['case_b']}/linked",
        params={"agency": confirmed["agency_b"]},
        headers=network.headers(confirmed["agency_a"]),
    )
    assert lab_asks_other.status_code == 403
    assert (
        network.client.post(
            f"/v1/links/{link_id}/confirm", headers=network.headers(EXAMINER), json={"extra": 1}
        ).status_code
        == 422
    )

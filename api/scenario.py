"""A network's day over the HTTP API: labs upload, leads appear, an examiner confirms a hit.

The scenario of issue 4's "Done when", run by ``ballistics demo`` against the real server and by
the tests against the application in-process, with the same code:

1. Each lab uploads its exhibits (``POST /v1/exhibits``), one of them not shared.
2. The correlation jobs run; the scenario waits until every exhibit is ``correlated``.
3. An examiner lists the cross-border leads (``GET /v1/links?cross_border=true&status=lead``) and
   confirms the best one (``POST /v1/links/{id}/confirm``).
4. An investigator asks which incidents are linked to the first case of that hit
   (``GET /v1/cases/{case_id}/linked``) and gets the other country's case.
5. A lab asks for the image of another agency's unshared exhibit and is refused (403), while
   the agency that uploaded it gets it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

#: an upload's files, as httpx takes them: ("file", (name, content, media type)) per file
UploadFiles = Sequence[tuple[str, tuple[str, bytes, str]]]


class HttpClient(Protocol):
    """What the scenario needs of a client: httpx.Client or Starlette's TestClient.

    The keywords are those the scenario passes; the answer is the client's response.
    """

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = ...,
        headers: Mapping[str, str] | None = ...,
    ) -> Any: ...

    def post(
        self,
        url: str,
        *,
        data: Mapping[str, Any] | None = ...,
        files: UploadFiles | None = ...,
        json: Any | None = ...,
        headers: Mapping[str, str] | None = ...,
    ) -> Any: ...


@dataclass(frozen=True)
class ScenarioExhibit:
    """One exhibit a lab uploads: its file (a casing) or folder of land scans (a bullet),
    identifiers and whether it is shared."""

    path: Path
    exhibit_id: str
    case_id: str
    agency: str
    caliber: str | None = None
    shared: bool = True
    kind: str = "cartridge_case"

    def files(self) -> list[Path]:
        """The files to upload: the casing's, or the bullet's lands in name order."""
        if self.kind == "bullet":
            return sorted(self.path.glob("*.x3p"))
        return [self.path]


@dataclass
class ScenarioReport:
    """What happened, step by step (JSON-ready)."""

    uploads: list[dict[str, Any]] = field(default_factory=list)
    correlated: int = 0
    correlation_s: float = 0.0
    leads: list[dict[str, Any]] = field(default_factory=list)
    confirmed: dict[str, Any] | None = None
    linked: dict[str, Any] | None = None
    unshared_image: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The report as one document."""
        return {
            "uploads": self.uploads,
            "correlated": self.correlated,
            "correlation_s": self.correlation_s,
            "leads": self.leads,
            "confirmed": self.confirmed,
            "linked": self.linked,
            "unshared_image": self.unshared_image,
        }


class ScenarioError(RuntimeError):
    """A step of the scenario got an answer it should not have."""


def _checked(response: Any, expected: Sequence[int], step: str) -> Any:
    if response.status_code not in expected:
        raise ScenarioError(f"{step}: HTTP {response.status_code}: {response.text[:500]}")
    return response


def run_scenario(
    client: HttpClient,
    exhibits: Sequence[ScenarioExhibit],
    *,
    keys: Mapping[str, str],
    examiner: str,
    investigator: str,
    timeout_s: float = 300.0,
    poll_s: float = 0.25,
    progress: Callable[[str], None] | None = None,
) -> ScenarioReport:
    """Run the scenario (module docstring) and return what each step answered.

    Parameters
    ----------
    client
        A client on the API (base URL set).
    exhibits
        What the labs upload; at least one should be unshared for step 5 (else it is skipped).
    keys
        API key of every agency named (labs, examiner, investigator).
    examiner, investigator
        Names of the examiner's and the investigator's agencies.
    timeout_s
        Longest wait for the correlation jobs.

    Raises
    ------
    ScenarioError
        A step was answered with an unexpected status, or the jobs did not finish in time.
    """
    report = ScenarioReport()

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    def headers(agency: str) -> dict[str, str]:
        return {"X-API-Key": keys[agency]}

    ids: dict[str, str] = {}
    for exhibit in exhibits:
        form = {
            "exhibit_id": exhibit.exhibit_id,
            "case_id": exhibit.case_id,
            "kind": exhibit.kind,
            "shared": "true" if exhibit.shared else "false",
        }
        if exhibit.caliber:
            form["caliber"] = exhibit.caliber
        files = [
            ("file", (path.name, path.read_bytes(), "application/octet-stream"))
            for path in exhibit.files()
        ]
        answer = _checked(
            client.post("/v1/exhibits", headers=headers(exhibit.agency), data=form, files=files),
            (201, 202),
            f"upload of {exhibit.exhibit_id}",
        ).json()
        ids[exhibit.exhibit_id] = answer["id"]
        report.uploads.append(
            {
                "exhibit_id": exhibit.exhibit_id,
                "agency": exhibit.agency,
                "id": answer["id"],
                "status": answer["status"],
                "shared": exhibit.shared,
                "kind": exhibit.kind,
            }
        )
        say(f"{exhibit.agency} uploaded {exhibit.exhibit_id}: {answer['status']}")

    started = time.monotonic()
    owner = {exhibit.exhibit_id: exhibit.agency for exhibit in exhibits}
    waiting = dict(ids)
    while waiting:
        for exhibit_id, public_id in list(waiting.items()):
            state = _checked(
                client.get(f"/v1/exhibits/{public_id}", headers=headers(owner[exhibit_id])),
                (200,),
                f"status of {exhibit_id}",
            ).json()
            if state["status"] == "failed":
                raise ScenarioError(f"correlation of {exhibit_id} failed: {state.get('job')}")
            if state["status"] == "correlated":
                del waiting[exhibit_id]
        if waiting:
            if time.monotonic() - started > timeout_s:
                raise ScenarioError(
                    f"{len(waiting)} exhibits still not correlated after {timeout_s:.0f} s"
                )
            time.sleep(poll_s)
    report.correlated = len(ids)
    report.correlation_s = time.monotonic() - started
    say(f"all {len(ids)} exhibits correlated in {report.correlation_s:.1f} s")

    leads = _checked(
        client.get(
            "/v1/links",
            headers=headers(examiner),
            params={"cross_border": "true", "status": "lead"},
        ),
        (200,),
        "cross-border leads",
    ).json()["links"]
    report.leads = leads
    say(f"{len(leads)} cross-border leads")
    if not leads:
        return report
    best = leads[0]
    report.confirmed = _checked(
        client.post(
            f"/v1/links/{best['id']}/confirm",
            headers=headers(examiner),
            # the status the examiner saw: had another examiner decided it meanwhile, 409
            json={
                "comment": "breech-face marks agree under the comparison microscope",
                "expected_status": "lead",
                "method": "microscope",
            },
        ),
        (200,),
        "confirming the best lead",
    ).json()
    say(
        f"{examiner} confirmed the lead {best['exhibit_a']} ({best['country_a']}) - "
        f"{best['exhibit_b']} ({best['country_b']}) under the microscope"
    )
    report.linked = _checked(
        client.get(
            f"/v1/cases/{best['case_a']}/linked",
            headers=headers(investigator),
            params={"agency": best["agency_a"]},
        ),
        (200,),
        "linked incidents",
    ).json()
    say(
        f"{investigator}: case {best['case_a']} is linked to "
        + ", ".join(f"{case['case_id']} ({case['country']})" for case in report.linked["cases"])
    )

    unshared = next((exhibit for exhibit in exhibits if not exhibit.shared), None)
    other_lab = next(
        (
            exhibit.agency
            for exhibit in exhibits
            if unshared is not None and exhibit.agency != unshared.agency
        ),
        None,
    )
    if unshared is not None and other_lab is not None:
        url = f"/v1/exhibits/{ids[unshared.exhibit_id]}/image"
        refused = client.get(url, headers=headers(other_lab))
        own = client.get(url, headers=headers(unshared.agency))
        report.unshared_image = {
            "exhibit_id": unshared.exhibit_id,
            "owner": unshared.agency,
            "asked_by": other_lab,
            "status_for_other": refused.status_code,
            "detail_for_other": refused.json().get("detail") if refused.status_code >= 400 else "",
            "status_for_owner": own.status_code,
            "owner_png_bytes": len(own.content) if own.status_code == 200 else 0,
        }
        say(
            f"{other_lab} asked for the image of {unshared.agency}'s unshared "
            f"{unshared.exhibit_id}: HTTP {refused.status_code}"
        )
    return report

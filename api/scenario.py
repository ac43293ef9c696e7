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

from ballistics.items.kinds import ItemKind

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
    kind: str = ItemKind.CARTRIDGE_CASE

    def files(self) -> list[Path]:
        """The files to upload: the item's file, or the land scans of its folder in name order
        (a bullet)."""
        if self.path.is_dir():
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
    caller = _Caller(client, keys, progress)
    report = ScenarioReport()
    ids = _upload(caller, exhibits, report)
    _wait_until_correlated(caller, exhibits, ids, report, timeout_s=timeout_s, poll_s=poll_s)
    report.leads = caller.answer(
        caller.client.get(
            "/v1/links",
            headers=caller.headers(examiner),
            params={"cross_border": "true", "status": "lead"},
        ),
        (200,),
        "cross-border leads",
    )["links"]
    caller.say(f"{len(report.leads)} cross-border leads")
    if not report.leads:
        return report
    best = report.leads[0]
    report.confirmed = _confirm(caller, best, examiner=examiner)
    report.linked = _linked(caller, best, investigator=investigator)
    report.unshared_image = _unshared_image(caller, exhibits, ids)
    return report


@dataclass(frozen=True)
class _Caller:
    """The client, every agency's key, and where progress lines go."""

    client: HttpClient
    keys: Mapping[str, str]
    progress: Callable[[str], None] | None

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)

    def headers(self, agency: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[agency]}

    def answer(self, response: Any, expected: Sequence[int], step: str) -> Any:
        """Return the response's JSON, refusing a status not ``expected``."""
        return _checked(response, expected, step).json()


def _upload(
    caller: _Caller, exhibits: Sequence[ScenarioExhibit], report: ScenarioReport
) -> dict[str, str]:
    """Step 1: each lab uploads its exhibits; return each exhibit id's public id."""
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
        answer = caller.answer(
            caller.client.post(
                "/v1/exhibits", headers=caller.headers(exhibit.agency), data=form, files=files
            ),
            (201, 202),
            f"upload of {exhibit.exhibit_id}",
        )
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
        caller.say(f"{exhibit.agency} uploaded {exhibit.exhibit_id}: {answer['status']}")
    return ids


def _wait_until_correlated(
    caller: _Caller,
    exhibits: Sequence[ScenarioExhibit],
    ids: Mapping[str, str],
    report: ScenarioReport,
    *,
    timeout_s: float,
    poll_s: float,
) -> None:
    """Step 2: wait until every uploaded exhibit is ``correlated``."""
    started = time.monotonic()
    owner = {exhibit.exhibit_id: exhibit.agency for exhibit in exhibits}
    waiting = dict(ids)
    while waiting:
        for exhibit_id, public_id in list(waiting.items()):
            state = caller.answer(
                caller.client.get(
                    f"/v1/exhibits/{public_id}", headers=caller.headers(owner[exhibit_id])
                ),
                (200,),
                f"status of {exhibit_id}",
            )
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
    caller.say(f"all {len(ids)} exhibits correlated in {report.correlation_s:.1f} s")


def _confirm(caller: _Caller, best: Mapping[str, Any], *, examiner: str) -> Any:
    """Step 3: the examiner confirms the best cross-border lead; return the link."""
    confirmed = caller.answer(
        caller.client.post(
            f"/v1/links/{best['id']}/confirm",
            headers=caller.headers(examiner),
            # the status the examiner saw: had another examiner decided it meanwhile, 409
            json={
                "comment": "breech-face marks agree under the comparison microscope",
                "expected_status": "lead",
                "method": "microscope",
            },
        ),
        (200,),
        "confirming the best lead",
    )
    caller.say(
        f"{examiner} confirmed the lead {best['exhibit_a']} ({best['country_a']}) - "
        f"{best['exhibit_b']} ({best['country_b']}) under the microscope"
    )
    return confirmed


def _linked(caller: _Caller, best: Mapping[str, Any], *, investigator: str) -> Any:
    """Step 4: the investigator asks which incidents are linked to the hit's first case."""
    linked = caller.answer(
        caller.client.get(
            f"/v1/cases/{best['case_a']}/linked",
            headers=caller.headers(investigator),
            params={"agency": best["agency_a"]},
        ),
        (200,),
        "linked incidents",
    )
    caller.say(
        f"{investigator}: case {best['case_a']} is linked to "
        + ", ".join(f"{case['case_id']} ({case['country']})" for case in linked["cases"])
    )
    return linked


def _unshared_image(
    caller: _Caller, exhibits: Sequence[ScenarioExhibit], ids: Mapping[str, str]
) -> dict[str, Any] | None:
    """Step 5: another lab asks for an unshared exhibit's image (refused), its owner too."""
    unshared = next((exhibit for exhibit in exhibits if not exhibit.shared), None)
    other_lab = next(
        (
            exhibit.agency
            for exhibit in exhibits
            if unshared is not None and exhibit.agency != unshared.agency
        ),
        None,
    )
    if unshared is None or other_lab is None:
        return None
    url = f"/v1/exhibits/{ids[unshared.exhibit_id]}/image"
    refused = caller.client.get(url, headers=caller.headers(other_lab))
    own = caller.client.get(url, headers=caller.headers(unshared.agency))
    caller.say(
        f"{other_lab} asked for the image of {unshared.agency}'s unshared "
        f"{unshared.exhibit_id}: HTTP {refused.status_code}"
    )
    return {
        "exhibit_id": unshared.exhibit_id,
        "owner": unshared.agency,
        "asked_by": other_lab,
        "status_for_other": refused.status_code,
        "detail_for_other": refused.json().get("detail") if refused.status_code >= 400 else "",
        "status_for_owner": own.status_code,
        "owner_png_bytes": len(own.content) if own.status_code == 200 else 0,
    }

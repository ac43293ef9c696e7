"""The exhibits' pages (api/web/ui/exhibits.py): a lab's list with statuses, one exhibit with
its ranked candidates and their leads, the upload followed to the new exhibit's page; errors
inside /ui/ as pages in the reader's language (403 still audited), /v1/ still JSON."""

from __future__ import annotations

import re

from api.store import repository
from api.store.repository import CandidateScore
from tests.api.network import EXAMINER, LABS, UNSHARED_LAB, store_exhibit
from tests.api.web.pages import form_token, sign_in

LAB = LABS[0][0]
OTHER_LAB = LABS[1][0]


def fail(network, public_id: str, error: str) -> None:
    """Mark ``public_id`` failed, its last job failed with ``error``."""
    with network.service.store.transaction(write=True) as session:
        exhibit = repository.get_exhibit(session, public_id)
        job = repository.enqueue_job(session, "correlate", exhibit=exhibit)
        job.status, job.last_error = "failed", error
        repository.set_exhibit_status(session, exhibit, "failed")


def test_a_lab_lists_its_own_exhibits_with_their_status(network):
    own = store_exhibit(network, LAB, "E-own", case_id="C-own")
    broken = store_exhibit(network, LAB, "E-broken", case_id="C-own")
    fail(network, broken, "no usable breech face in scan.x3p")
    other = store_exhibit(network, OTHER_LAB, "E-other", case_id="C-other")
    sign_in(network, LAB, "lab")
    page = network.client.get("/ui/exhibits")
    assert page.status_code == 200
    assert 'href="/ui/exhibits"' in page.text  # the navigation's entry
    assert (
        f'href="/ui/exhibits/{own}"' in page.text and f'href="/ui/exhibits/{broken}"' in page.text
    )
    assert f"/ui/exhibits/{other}" not in page.text and "E-other" not in page.text
    rows = re.findall(r"<tr>(.*?)</tr>", page.text, flags=re.S)
    # most recent first; the failed one says why
    assert "E-broken" in rows[1] and "failed: no usable breech face in scan.x3p" in rows[1]
    assert "E-own" in rows[2] and "queued" in rows[2]


def test_examiner_lists_every_agency_without_their_jobs(network):
    store_exhibit(network, LAB, "E-own", case_id="C-own")
    broken = store_exhibit(network, OTHER_LAB, "E-broken", case_id="C-other")
    fail(network, broken, "secret file name.x3p")
    sign_in(network, EXAMINER, "examiner")
    page = network.client.get("/ui/exhibits").text
    assert "E-own" in page and "E-broken" in page and OTHER_LAB in page
    # the job (and its error) is the uploading agency's alone, as in the API
    assert "secret file name" not in page


def test_another_labs_exhibit_is_an_audited_html_403(network):
    other = store_exhibit(network, OTHER_LAB, "E-other", case_id="C-other")
    sign_in(network, LAB, "lab")
    page = network.client.get(f"/ui/exhibits/{other}")
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in page.text and 'href="/ui/"' in page.text
    assert "E-other" not in page.text
    with network.service.store.transaction() as session:
        lines = repository.list_audit(session, action="access.denied", object_id=other)
    assert [line.actor for line in lines] == [LAB]
    assert lines[0].details["route"] == "GET /ui/exhibits/{exhibit_id}"


def test_an_unknown_exhibit_is_an_html_404_in_the_persons_language(network):
    page = sign_in_in_french(network)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="fr" dir="ltr">' in page.text
    assert "Introuvable" in page.text and "Retour à l’accueil" in page.text
    # the API keeps its JSON
    answer = network.client.get("/v1/exhibits/unknown", headers=network.headers(LAB))
    assert answer.status_code == 404 and "detail" in answer.json()


def sign_in_in_french(network):
    sign_in(network, LAB, "lab")
    home = network.client.get("/ui/")
    chosen = network.client.post(
        "/ui/language",
        data={"language": "fr", "next": "/ui/", "csrf_token": form_token(home.text)},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    network.client.cookies.delete("ballistics_lang")  # the person's own choice, not the cookie
    return network.client.get("/ui/exhibits/no-such-exhibit")


def test_candidates_are_ranked_best_first_with_their_leads(network):
    query = store_exhibit(network, LAB, "E-query", case_id="C-1")
    near = store_exhibit(network, OTHER_LAB, "E-near", case_id="C-2")
    far = store_exhibit(network, UNSHARED_LAB, "E-far", case_id="C-3", shared=False)
    with network.service.store.transaction(write=True) as session:
        first, second, third = (repository.get_exhibit(session, key) for key in (query, near, far))
        repository.record_correlation_results(
            session,
            first,
            [
                CandidateScore(third.id, 4.0, details={"lead": False}),
                CandidateScore(second.id, 30.0, details={"lead": True}),
            ],
            algorithm_version="test-1",
        )
        repository.set_exhibit_status(session, first, "correlated")
        link_id = repository.upsert_link(session, first, second, score=30.0).public_id
    sign_in(network, LAB, "lab")
    page = network.client.get(f"/ui/exhibits/{query}")
    assert page.status_code == 200, page.text
    assert f'src="/ui/exhibits/{query}/image.png"' in page.text
    body = page.text.split("<tbody>", 1)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    assert "E-near" in rows[0] and "E-far" in rows[1]
    assert f'href="/ui/links/{link_id}"' in rows[0] and "/ui/links/" not in rows[1]
    assert "Yes" in rows[0] and "No" in rows[1] and "correlated" in page.text
    with network.service.store.transaction() as session:
        actions = {line.action for line in repository.list_audit(session, object_id=query)}
    assert {"exhibit.view", "exhibit.candidates"} <= actions


def test_an_unshared_exhibit_is_a_placeholder_for_others(network):
    hidden = store_exhibit(network, UNSHARED_LAB, "E-hidden", case_id="C-9", shared=False)
    sign_in(network, EXAMINER, "examiner")
    page = network.client.get(f"/ui/exhibits/{hidden}")
    assert page.status_code == 200
    assert f"/ui/exhibits/{hidden}/image.png" not in page.text
    assert 'aria-label="Mark not shared"' in page.text


def test_upload_goes_to_the_new_exhibits_page(network):
    sign_in(network, LAB, "lab")
    token = form_token(network.client.get("/ui/exhibits/new").text)
    row = network.rows[0]
    answer = network.client.post(
        "/ui/exhibits",
        data={
            "exhibit_id": "U-1",
            "case_id": "UC-1",
            "kind": "cartridge_case",
            "csrf_token": token,
        },
        files={"file": ("scan.x3p", network.file_of(row).read_bytes())},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    match = re.fullmatch(r"/ui/exhibits/([^/?]+)\?stored=new", location)
    assert match is not None, location
    with network.service.store.transaction() as session:
        assert repository.get_exhibit(session, match.group(1)).exhibit_id == "U-1"
    page = network.client.get(location)
    assert page.status_code == 200 and "U-1" in page.text and 'role="status"' in page.text
    assert re.search(r"(queued|correlated)", page.text)


def test_a_form_refused_for_its_token_is_a_page(network):
    sign_in(network, LAB, "lab")
    answer = network.client.post(
        "/ui/exhibits", data={"exhibit_id": "X", "case_id": "Y", "kind": "cartridge_case"}
    )
    assert answer.status_code == 403 and answer.headers["content-type"].startswith("text/html")


def store_item(network, agency: str, exhibit_id: str, case_id: str, **fields) -> str:
    """Store an exhibit with its ``fields`` (kind, caliber, modality); its public id."""
    store = network.service.store
    with store.transaction(write=True) as session:
        case = repository.get_or_create_case(
            session, repository.get_agency(session, agency), case_id
        )
        original = store.originals.put_bytes(exhibit_id.encode(), name="x.x3p")
        fields = {"kind": "cartridge_case", **fields}
        return repository.add_exhibit(
            session, case, exhibit_id, files=[original], **fields
        ).exhibit.public_id


def listed(page: str) -> list[str]:
    """The exhibit ids the list shows, in order."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return re.findall(r'<a href="/ui/exhibits/[^"]+">([^<]+)</a>', body)


def test_the_list_is_filtered_in_the_database_and_keeps_its_filters(network):
    store_item(network, LAB, "E-9mm", "C-1", caliber="9mm Luger", modality="topography")
    store_item(network, LAB, "E-bullet", "C-1", kind="bullet", caliber="9MM LUGER")
    store_item(network, LAB, "E-45", "C-2", caliber=".45 ACP", modality="photograph")
    store_item(network, OTHER_LAB, "E-other", "C-1", caliber="9mm Luger")
    fail(network, store_item(network, LAB, "E-failed", "C-3"), "no usable breech face")
    sign_in(network, LAB, "lab")
    client = network.client
    assert listed(client.get("/ui/exhibits?caliber=9mm+luger").text) == ["E-bullet", "E-9mm"]
    assert listed(client.get("/ui/exhibits?kind=bullet").text) == ["E-bullet"]
    assert listed(client.get("/ui/exhibits?modality=photograph").text) == ["E-45"]
    assert listed(client.get("/ui/exhibits?status=failed").text) == ["E-failed"]
    # a lab's own exhibits only, whatever the case id
    page = client.get("/ui/exhibits?case_id=C-1&kind=cartridge_case").text
    assert listed(page) == ["E-9mm"]
    # the form shows the filters it was asked with, each control labelled
    assert '<option value="cartridge_case" selected>' in page
    assert 'id="f-case" name="case_id" type="text" size="12" maxlength="200" value="C-1"' in page
    for control in re.findall(r'<(?:select|input) id="([^"]+)"', page):
        assert f'<label for="{control}">' in page
    # a value that is not one of a filter's is left out, not an error
    assert len(listed(client.get("/ui/exhibits?kind=rifle&status=lost").text)) == 4
    nothing = client.get("/ui/exhibits?case_id=C-none").text
    assert "No exhibit matches these filters." in nothing
    sign_in(network, EXAMINER, "examiner")
    assert listed(client.get("/ui/exhibits?case_id=C-1&kind=cartridge_case").text) == [
        "E-other",
        "E-9mm",
    ]


def test_the_list_goes_on_page_by_page_with_its_filters(network, monkeypatch):
    monkeypatch.setattr("api.web.ui.exhibits.PAGE_LENGTH", 2)
    for n in range(5):
        store_item(network, LAB, f"E-{n}", "C-1", caliber="9mm")
    store_item(network, LAB, "E-45", "C-1", caliber=".45")
    sign_in(network, LAB, "lab")
    first = network.client.get("/ui/exhibits?caliber=9mm").text
    assert listed(first) == ["E-4", "E-3"]
    assert 'rel="prev"' not in first
    older = re.search(r'<a href="(/ui/exhibits\?[^"]+)" rel="next">Older exhibits</a>', first)
    assert older is not None
    second = network.client.get(older.group(1).replace("&amp;", "&")).text
    assert listed(second) == ["E-2", "E-1"] and "page 2" in second
    last = network.client.get("/ui/exhibits?caliber=9mm&page=3").text
    assert listed(last) == ["E-0"]
    assert 'rel="next"' not in last
    assert 'href="/ui/exhibits?caliber=9mm&amp;page=2" rel="prev">Newer exhibits' in last

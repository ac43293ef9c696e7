"""An exhibit's candidates on its page (api/web/ui/candidates.py): ranked on each mark and
combined, ordered by the rank asked for, a mark not compared said so, a page at a time."""

from __future__ import annotations

import datetime
import re

from api.store import repository
from api.store.repository import CandidateScore
from api.web.ui.candidates import CANDIDATES_PER_PAGE
from tests.api.network import EXAMINER, LABS, store_exhibit
from tests.api.web.pages import sign_in

LAB = LABS[0][0]
OTHER_LAB = LABS[1][0]
NOT_COMPARED = "Not compared: no firing pin impression was compared for this pair"


def record(network, query: str, scores: list[tuple[str, CandidateScore]]) -> None:
    """Store ``scores`` (candidate public id, its score with a placeholder key) for ``query``."""
    with network.service.store.transaction(write=True) as session:
        exhibit = repository.get_exhibit(session, query)
        repository.record_correlation_results(
            session,
            exhibit,
            [
                CandidateScore(
                    repository.get_exhibit(session, public_id).id,
                    score.score,
                    cmc_count=score.cmc_count,
                    details=score.details,
                )
                for public_id, score in scores
            ],
            algorithm_version="test-1",
        )
        repository.set_exhibit_status(session, exhibit, "correlated")


def casing(score: float, cmc: int, correlation: float, pin: float | None) -> CandidateScore:
    details = {"lead": score >= 15, "correlation": correlation, "firing_pin_correlation": pin}
    return CandidateScore(0, score, cmc_count=cmc, details=details)


def body_rows(page: str) -> list[list[str]]:
    """The cells of the candidates table's rows, tags stripped."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    ]


def test_casing_candidates_are_ranked_on_each_mark_and_ordered_by_the_one_asked(network):
    query = store_exhibit(network, LAB, "E-query", case_id="C-1")
    others = [store_exhibit(network, OTHER_LAB, f"E-{n}", case_id=f"C-{n}") for n in (2, 3, 4)]
    record(
        network,
        query,
        [
            (others[0], casing(20.0, cmc=18, correlation=0.30, pin=None)),
            (others[1], casing(12.0, cmc=12, correlation=0.50, pin=0.80)),
            (others[2], casing(12.5, cmc=12, correlation=0.40, pin=0.10)),
        ],
    )
    sign_in(network, EXAMINER, "examiner")
    page = network.client.get(f"/ui/exhibits/{query}")
    assert page.status_code == 200, page.text
    for heading in ("Combined rank", "Breech face rank", "Firing pin rank"):
        assert heading in page.text
    assert "Lands rank" not in page.text
    assert 'aria-sort="ascending"><a href="/ui/exhibits/' in page.text
    # combined, breech face (CMC count, ties by correlation), firing pin, score, ..., exhibit
    rows = body_rows(page.text)
    assert [(row[0], row[1], row[2], row[5]) for row in rows] == [
        ("1", "1", "—", "E-2"),
        ("2", "3", "2", "E-4"),
        ("3", "2", "1", "E-3"),
    ]
    # the place of a firing pin not compared says so to a screen reader
    assert f'role="img" aria-label="{NOT_COMPARED}"' in page.text

    by_pin = network.client.get(f"/ui/exhibits/{query}?order=firing_pin")
    assert [row[5] for row in body_rows(by_pin.text)] == ["E-3", "E-4", "E-2"]
    assert "Ordered by the column “Firing pin rank”" in by_pin.text
    by_breech_face = network.client.get(f"/ui/exhibits/{query}?order=breech_face")
    assert [row[5] for row in body_rows(by_breech_face.text)] == ["E-2", "E-3", "E-4"]
    # an order the kind has not falls back on the combined one
    by_lands = network.client.get(f"/ui/exhibits/{query}?order=lands")
    assert [row[5] for row in body_rows(by_lands.text)] == ["E-2", "E-4", "E-3"]
    assert "Best score first." in by_lands.text


def store_bullet(network, agency: str, exhibit_id: str, case_id: str) -> str:
    store = network.service.store
    with store.transaction(write=True) as session:
        case = repository.get_or_create_case(
            session,
            repository.get_agency(session, agency),
            case_id,
            occurred_on=datetime.date(2026, 1, 5),
        )
        lands = [
            store.originals.put_bytes(f"{exhibit_id}/{n}".encode(), name="l.x3p") for n in (1, 2)
        ]
        return repository.add_exhibit(
            session, case, exhibit_id, kind="bullet", files=lands
        ).exhibit.public_id


def test_bullet_candidates_are_ranked_on_their_lands(network):
    query = store_bullet(network, LAB, "B-query", "C-1")
    near, far = (store_bullet(network, OTHER_LAB, f"B-{n}", f"C-{n}") for n in (2, 3))
    record(
        network,
        query,
        [
            (far, CandidateScore(0, 0.42, details={"lead": False, "phase": 1, "land_count": 6})),
            (near, CandidateScore(0, 0.91, details={"lead": True, "phase": 0, "land_count": 6})),
        ],
    )
    sign_in(network, LAB, "lab")
    page = network.client.get(f"/ui/exhibits/{query}?order=lands")
    assert page.status_code == 200, page.text
    assert "Lands rank" in page.text and "Breech face rank" not in page.text
    assert "Firing pin rank" not in page.text
    assert [(row[0], row[1], row[4]) for row in body_rows(page.text)] == [
        ("1", "1", "B-2"),
        ("2", "2", "B-3"),
    ]


def test_more_candidates_than_a_page_go_on_with_the_ranks_of_the_whole_list(network):
    query = store_exhibit(network, LAB, "E-query", case_id="C-1")
    count = CANDIDATES_PER_PAGE + 3
    others = [
        store_exhibit(network, OTHER_LAB, f"E-{n:03d}", case_id=f"C-{n}") for n in range(count)
    ]
    # the combined order runs E-000 first; the breech face's the other way round
    record(
        network,
        query,
        [(key, casing(100.0 - n, cmc=n, correlation=0.5, pin=0.5)) for n, key in enumerate(others)],
    )
    sign_in(network, LAB, "lab")
    first = network.client.get(f"/ui/exhibits/{query}")
    assert len(body_rows(first.text)) == CANDIDATES_PER_PAGE
    assert f"{count} candidates" in first.text and "page 1 of 2" in first.text
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = network.client.get(f"/ui/exhibits/{query}?order=combined&page=2")
    rows = body_rows(second.text)
    assert [row[0] for row in rows] == [str(CANDIDATES_PER_PAGE + n) for n in (1, 2, 3)]
    # ranked over every candidate, not over the page: the last by score is first by CMC
    assert rows[-1][1] == "1" and rows[-1][5] == f"E-{count - 1:03d}"
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    by_breech_face = network.client.get(f"/ui/exhibits/{query}?order=breech_face")
    assert body_rows(by_breech_face.text)[0][5] == f"E-{count - 1:03d}"
    # a page past the last shows the last; a page that is no number the first
    past = network.client.get(f"/ui/exhibits/{query}?page=99")
    assert body_rows(past.text) == rows
    assert len(body_rows(network.client.get(f"/ui/exhibits/{query}?page=x").text)) == 50

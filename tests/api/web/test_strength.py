"""The strength of the evidence wherever a stored score is shown: ``GET /v1/links``, an
exhibit's candidates, the lead page, the queue, the exhibit's page and the PDF hit report carry
``log10_lr``, its interval, the ENFSI words and the calibration version, computed from the
stored score with the current calibration; null and the reason for photographs and bullets; the
words in English and French, and every verbal string translated."""

from __future__ import annotations

import io
import math
import unicodedata

import pytest
from pypdf import PdfReader

from api.store import repository
from api.store.repository import CandidateScore
from api.web.ui.i18n import LANGUAGES, catalogue
from ballistics.calibration import NOT_CALIBRATED, calibration_for
from ballistics.calibration.verbal import DIFFERENT_FIREARMS, ENFSI_BANDS, NEITHER, SAME_FIREARM
from ballistics.items.records import NO_SCORE, evidence_strength
from tests.api.network import EXAMINER, INVESTIGATOR
from tests.api.web.pages import sign_in
from tests.api.web.queue import TT_LAB, store_links

#: the border link's score (40 congruent cells) is past the calibration's upper bound
BORDER_WORDS = "moderately strong support for the proposition that one firearm fired both"
BORDER_WORDS_FR = "soutien modérément fort à la proposition selon laquelle une même arme a tiré"


def flat(text: str) -> str:
    return " ".join(text.split())


def test_links_carry_the_strength_of_their_stored_score(network):
    ids = store_links(network)
    answer = network.client.get("/v1/links", headers=network.headers(EXAMINER))
    assert answer.status_code == 200, answer.text
    links = {link["id"]: link for link in answer.json()["links"]}
    border = links[ids["border"]]
    calibration = calibration_for("cartridge_case", "topography")
    assert isinstance(border["log10_lr"], float) and border["log10_lr"] > 0
    low, high = border["lr_interval"]
    assert low <= border["log10_lr"] <= high <= calibration.upper
    assert border["verbal"] == BORDER_WORDS
    assert border["calibration"] == calibration.version
    for name in ("photo", "bullet"):
        refused = links[ids[name]]
        assert refused["log10_lr"] is None and refused["lr_interval"] is None
        assert refused["verbal"] == NOT_CALIBRATED
        assert isinstance(refused["calibration"], str) and "/none/" in refused["calibration"]


def test_candidates_carry_the_strength_of_their_stored_score(network):
    ids = store_links(network)
    with network.service.store.transaction(write=True) as session:
        link = repository.get_link(session, ids["border"])
        query, other = link.exhibit_a, link.exhibit_b
        repository.record_correlation_results(
            session,
            query,
            [CandidateScore(other.id, 3.5, cmc_count=3, details={"lead": False})],
            algorithm_version="test-1",
        )
        repository.set_exhibit_status(session, query, "correlated")
        query_id = query.public_id
    answer = network.client.get(
        f"/v1/exhibits/{query_id}/candidates", headers=network.headers(EXAMINER)
    )
    assert answer.status_code == 200, answer.text
    (candidate,) = answer.json()["candidates"]
    expected = evidence_strength("cartridge_case", ("topography", "topography"), 3.5)
    assert candidate["log10_lr"] == expected.log10_lr
    assert candidate["lr_interval"] == list(expected.lr_interval)
    assert candidate["verbal"] == expected.verbal and candidate["lead"] is False
    assert candidate["calibration"] == expected.calibration
    # the page lists it with the same words
    sign_in(network, EXAMINER, "examiner")
    page = network.client.get(f"/ui/exhibits/{query_id}")
    assert page.status_code == 200, page.text
    assert expected.verbal in flat(page.text)


def test_the_lead_page_and_the_queue_say_the_lr_and_its_words_in_english_and_french(network):
    ids = store_links(network)
    sign_in(network, EXAMINER, "examiner")
    english = flat(network.client.get(f"/ui/links/{ids['border']}").text)
    assert "Strength of the evidence" in english and BORDER_WORDS in english
    assert "log10 LR" in english and "2.9" in english  # the upper bound, 2.87
    assert "not an identification" in english
    photo = flat(network.client.get(f"/ui/links/{ids['photo']}").text)
    assert NOT_CALIBRATED in photo
    queue = flat(network.client.get("/ui/leads").text)
    assert BORDER_WORDS in queue and NOT_CALIBRATED in queue
    french_headers = {"Accept-Language": "fr"}
    network.client.cookies.set("ballistics_lang", "fr")
    french = flat(network.client.get(f"/ui/links/{ids['border']}", headers=french_headers).text)
    assert "Force probante" in french and BORDER_WORDS_FR in french
    assert "2,9" in french  # the locale's decimal comma
    assert BORDER_WORDS not in french
    queue_fr = flat(network.client.get("/ui/leads", headers=french_headers).text)
    assert BORDER_WORDS_FR in queue_fr


def test_the_hit_report_says_the_lr_and_its_words(network):
    ids = store_links(network)
    with network.service.store.transaction(write=True) as session:
        repository.set_link_status(
            session,
            repository.get_link(session, ids["border"]),
            "confirmed",
            by_agency=repository.get_agency(session, EXAMINER),
            comment="agree",
            method="microscope",
        )
    sign_in(network, INVESTIGATOR, "investigator")
    answer = network.client.get("/ui/cases/T-1/report.pdf", params={"agency": TT_LAB})
    assert answer.status_code == 200, answer.text
    reader = PdfReader(io.BytesIO(answer.content))
    text = "".join(
        c
        for c in "\n".join(page.extract_text() for page in reader.pages)
        if c == "\n" or unicodedata.category(c) != "Cc"
    )
    assert "Strength of the evidence" in text
    assert "log10 LR" in text and BORDER_WORDS in flat(text)
    assert calibration_for("cartridge_case", "topography").version in flat(text)


def every_verbal() -> list[str]:
    """Every sentence ``verbal`` can hold."""
    bands = [words for _, words in ENFSI_BANDS]
    said = [f"{band} for {side}" for band in bands for side in (SAME_FIREARM, DIFFERENT_FIREARMS)]
    return [*said, NEITHER, NOT_CALIBRATED, NO_SCORE]


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_every_verbal_sentence_is_translated(language):
    table = catalogue(language)
    missing = [sentence for sentence in every_verbal() if not table.get(sentence)]
    assert not missing, f"untranslated in {language}: {missing}"
    assert table["log10 LR"] and table["Strength of the evidence"]


def test_every_verbal_sentence_is_one_the_calibration_can_give():
    scores = [evidence_strength("cartridge_case", ("topography",) * 2, s) for s in (0, 3, 40)]
    assert {s.verbal for s in scores} <= set(every_verbal())
    assert all(s.log10_lr is not None and math.isfinite(s.log10_lr) for s in scores)


def test_a_search_and_correlated_candidates_carry_the_strength(populated):
    row = populated.rows[0]
    answer = populated.client.post(
        "/v1/search",
        headers=populated.headers(row["agency"]),
        data={"kind": "cartridge_case", "top": "3"},
        files={"file": ("query.x3p", populated.file_of(row).read_bytes())},
    )
    assert answer.status_code == 200, answer.text
    best = answer.json()["candidates"][0]
    assert best["exhibit_id"] == row["exhibit_id"]  # the very file: the highest score
    assert (
        best["log10_lr"]
        == evidence_strength("cartridge_case", ("topography", "topography"), best["score"]).log10_lr
    )
    assert best["log10_lr"] > 0 and best["lr_interval"][0] <= best["log10_lr"]
    assert best["verbal"].endswith(SAME_FIREARM)
    stored = populated.client.get(
        f"/v1/exhibits/{populated.ids[row['exhibit_id']]}/candidates",
        headers=populated.headers(row["agency"]),
    ).json()["candidates"]
    assert stored and all(
        isinstance(candidate["verbal"], str) and candidate["calibration"] for candidate in stored
    )
    assert all(
        candidate["log10_lr"]
        == evidence_strength("cartridge_case", ("topography",) * 2, candidate["score"]).log10_lr
        for candidate in stored
    )

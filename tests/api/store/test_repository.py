"""Agencies, cases, exhibits, marks, descriptors, results, links and the audit log, on both
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
import hashlib

import numpy as np
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from api.store import repository
from api.store.database import Store
from api.store.errors import ConflictError, MarkFormatError, NotFoundError
from api.store.models import AuditEntry, Case, Exhibit, ExhibitFile, Link, check_country_code
from api.store.repository import exhibits as exhibit_rows
from ballistics.calibration import calibration_for
from ballistics.casing.marks import PreparedCasing
from ballistics.items.encoding import decode_casing_mark, encode_casing_mark, encode_mark
from tests.api.store.conftest import MakeExhibit

# --- agencies and cases ------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "stored"), [("TT", "TT"), ("gy", "GY"), (" ci ", "CI")])
def test_country_codes_are_normalised_to_upper_case(given: str, stored: str) -> None:
    assert check_country_code(given) == stored


def test_kosovo_is_accepted_although_its_code_is_user_assigned() -> None:
    assert check_country_code("XK") == "XK"


@pytest.mark.parametrize("bad", ["T", "TTO", "T1", "", "ZZ", "XX", "QM", "AA", "Trinidad"])
def test_codes_that_are_not_iso_3166_alpha_2_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not an ISO 3166-1 alpha-2 code"):
        check_country_code(bad)


def test_agencies_are_created_once_and_keep_their_country(store: Store) -> None:
    with store.transaction(write=True) as session:
        first = repository.get_or_create_agency(session, "Georgetown lab", country="gy")
        again = repository.get_or_create_agency(session, "Georgetown lab", country="GY")
        assert again.id == first.id
        assert (first.country, first.role) == ("GY", "lab")
        with pytest.raises(ConflictError, match="'Georgetown lab' is registered in GY, not TT"):
            repository.get_or_create_agency(session, "Georgetown lab", country="TT")
        with pytest.raises(ValueError, match="role 'chief' is not one of"):
            repository.get_or_create_agency(session, "Other lab", country="GY", role="chief")


def test_only_the_hash_of_an_api_key_is_stored(store: Store) -> None:
    with store.transaction(write=True) as session:
        agency = repository.get_or_create_agency(
            session, "Abidjan lab", country="CI", role="examiner"
        )
        api_key = repository.issue_api_key(session, agency)
    with store.transaction() as session:
        found = repository.agency_for_api_key(session, api_key)
        assert (found.name, found.role) == ("Abidjan lab", "examiner")
        assert found.api_key_hash == hashlib.sha256(api_key.encode()).hexdigest()
        assert api_key not in repr(session.execute(text("SELECT * FROM agencies")).all())
        with pytest.raises(NotFoundError, match="API key") as refusal:
            repository.agency_for_api_key(session, api_key + "x")
        assert api_key not in str(refusal.value)


@pytest.mark.parametrize(("given", "stored"), [("gb", "GB"), ("XK", "XK"), (" tt", "TT")])
def test_assigned_country_codes_are_accepted(given: str, stored: str) -> None:
    assert repository.check_assigned_country_code(given) == stored


@pytest.mark.parametrize("bad", ["UK", "EU", "AB", "XX", "Trinidad"])
def test_well_formed_codes_of_no_country_are_refused(store: Store, bad: str) -> None:
    with pytest.raises(ValueError, match=f"country {bad!r} is not an ISO 3166-1 alpha-2 code"):
        repository.check_assigned_country_code(bad)
    with store.transaction(write=True) as session, pytest.raises(ValueError, match=repr(bad)):
        repository.get_or_create_agency(session, "London lab", country=bad)


def test_revoking_an_agency_clears_its_key_once_and_keeps_it(store: Store) -> None:
    with store.transaction(write=True) as session:
        agency = repository.get_or_create_agency(session, "Abidjan lab", country="CI")
        api_key = repository.issue_api_key(session, agency)
    with store.transaction(write=True) as session:
        first = repository.revoke_agency(session, "Abidjan lab", actor="admin desk")
        again = repository.revoke_agency(session, "Abidjan lab")
        assert (first.changed, again.changed) == (True, False)
        assert again.agency.disabled_at == first.agency.disabled_at is not None
        with pytest.raises(NotFoundError, match="agency 'Nobody' not found"):
            repository.revoke_agency(session, "Nobody")
    with store.transaction(write=True) as session:
        agency = repository.get_agency(session, "Abidjan lab")  # kept, named as before
        assert agency.api_key_hash is None
        with pytest.raises(NotFoundError):
            repository.agency_for_api_key(session, api_key)
        with pytest.raises(ConflictError, match=r"was revoked on .* under a new name"):
            repository.issue_api_key(session, agency)
        revocations = [
            (line.actor, line.details)
            for line in repository.list_audit(session, object_id=agency.public_id)
            if line.action == "agency.revoke"
        ]
        assert revocations == [("admin desk", {"name": "Abidjan lab"})]
        assert [a.name for a in repository.list_agencies(session)] == ["Abidjan lab"]


def test_cases_are_per_agency_and_keep_their_date(store: Store) -> None:
    on = datetime.date(2025, 3, 1)
    with store.transaction(write=True) as session:
        port = repository.get_or_create_agency(session, "Port of Spain lab", country="TT")
        george = repository.get_or_create_agency(session, "Georgetown lab", country="GY")
        case = repository.get_or_create_case(session, port, "C-1")
        assert repository.get_or_create_case(session, port, "C-1", occurred_on=on).id == case.id
        assert case.occurred_on == on  # filled in when first known
        assert repository.get_or_create_case(session, george, "C-1").id != case.id
        with pytest.raises(ConflictError, match="occurred on 2025-03-01, not 2025-03-02"):
            repository.get_or_create_case(
                session, port, "C-1", occurred_on=datetime.date(2025, 3, 2)
            )
        with pytest.raises(NotFoundError, match="case 'C-9' not found"):
            repository.get_case(session, port, "C-9")


# --- exhibits ----------------------------------------------------------------------------------


def _case(session: Session, agency: str = "Port of Spain lab", case_id: str = "C-1") -> Case:
    country = {"Port of Spain lab": "TT", "Georgetown lab": "GY"}[agency]
    agency_row = repository.get_or_create_agency(session, agency, country=country)
    return repository.get_or_create_case(session, agency_row, case_id)


def test_adding_the_same_item_twice_stores_it_once(store: Store) -> None:
    original = store.originals.put_bytes(b"scan of exhibit 1", name="e1.x3p")
    with store.transaction(write=True) as session:
        case = _case(session)
        first = repository.add_exhibit(
            session, case, "E-1", kind="cartridge_case", files=[original], caliber="9mm"
        )
        assert first.created and not first.skipped
    with store.transaction(write=True) as session:
        again = repository.add_exhibit(
            session, _case(session), "E-1", kind="cartridge_case", files=[original]
        )
        assert again.skipped
        assert again.exhibit.public_id == first.exhibit.public_id
        assert session.scalar(select(func.count()).select_from(Exhibit)) == 1
        added = repository.list_audit(session, object_type="exhibit")
        assert [entry.action for entry in added] == ["exhibit.add"]
        assert added[0].actor == "Port of Spain lab"
        assert added[0].details is not None and added[0].details["sha256"] == original.sha256


def test_the_same_exhibit_id_with_another_file_is_refused(store: Store) -> None:
    one = store.originals.put_bytes(b"first scan")
    other = store.originals.put_bytes(b"another scan")
    with store.transaction(write=True) as session:
        case = _case(session)
        repository.add_exhibit(session, case, "E-1", kind="cartridge_case", files=[one])
    with store.transaction(write=True) as session:
        case = _case(session)
        with pytest.raises(
            ConflictError, match="exhibit 'E-1' of Port of Spain lab is already stored with other"
        ):
            repository.add_exhibit(session, case, "E-1", kind="cartridge_case", files=[other])
        with pytest.raises(ConflictError, match="already stored in case 'C-1', not 'C-2'"):
            repository.add_exhibit(
                session, _case(session, case_id="C-2"), "E-1", kind="cartridge_case", files=[one]
            )
        with pytest.raises(ConflictError, match="as a cartridge_case, not a bullet"):
            repository.add_exhibit(session, case, "E-1", kind="bullet", files=[one])
        # the same exhibit id is free in another agency
        george = _case(session, agency="Georgetown lab")
        assert repository.add_exhibit(
            session, george, "E-1", kind="cartridge_case", files=[other]
        ).created


def test_a_concurrent_insert_of_the_same_exhibit_is_taken_as_the_stored_one(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = store.originals.put_bytes(b"raced scan")
    with store.transaction(write=True) as session:
        repository.add_exhibit(
            session, _case(session), "E-1", kind="cartridge_case", files=[original]
        )
    # the other transaction committed between this one's lookup and its insert
    lookups = iter([None])
    find = repository.find_exhibit
    monkeypatch.setattr(
        exhibit_rows, "find_exhibit", lambda *args: next(lookups, None) or find(*args)
    )
    with store.transaction(write=True) as session:
        again = repository.add_exhibit(
            session, _case(session), "E-1", kind="cartridge_case", files=[original]
        )
        assert again.skipped
        assert session.scalar(select(func.count()).select_from(Exhibit)) == 1


def test_the_database_itself_refuses_a_second_exhibit_id_in_one_agency(store: Store) -> None:
    original = store.originals.put_bytes(b"scan")
    with store.transaction(write=True) as session:
        exhibit = repository.add_exhibit(
            session, _case(session), "E-1", kind="cartridge_case", files=[original]
        ).exhibit
        agency_pk, case_pk = exhibit.agency_pk, exhibit.case_pk
    with pytest.raises(IntegrityError), store.transaction(write=True) as session:
        session.add(
            Exhibit(
                agency_pk=agency_pk,
                case_pk=case_pk,
                exhibit_id="E-1",
                kind="cartridge_case",
                sha256="0" * 64,
            )
        )
        session.flush()


def test_a_bullet_keeps_its_land_files_in_order(store: Store) -> None:
    lands = [store.originals.put_bytes(f"land {n}".encode(), name=f"L{n}.x3p") for n in (1, 2, 3)]
    with store.transaction(write=True) as session:
        exhibit = repository.add_exhibit(
            session, _case(session), "B-1", kind="bullet", files=lands
        ).exhibit
        public_id = exhibit.public_id
    with store.transaction() as session:
        exhibit = repository.get_exhibit(session, public_id)
        assert [f.name for f in exhibit.files] == ["L1.x3p", "L2.x3p", "L3.x3p"]
        assert [f.sha256 for f in exhibit.files] == [land.sha256 for land in lands]
        assert exhibit.sha256 == repository.item_sha256([land.sha256 for land in lands])
        assert exhibit.sha256 != repository.item_sha256([land.sha256 for land in lands[::-1]])
        assert session.scalar(select(func.count()).select_from(ExhibitFile)) == 3


def test_unknown_public_ids_raise_not_found(store: Store) -> None:
    with store.transaction() as session:
        with pytest.raises(NotFoundError, match="exhibit '01NOPE' not found") as refusal:
            repository.get_exhibit(session, "01NOPE")
        assert isinstance(refusal.value, LookupError)
        assert (refusal.value.object_type, refusal.value.identifier) == ("exhibit", "01NOPE")
        with pytest.raises(NotFoundError, match="link '01NOPE' not found"):
            repository.get_link(session, "01NOPE")


def test_exhibits_have_increasing_integer_ids_and_opaque_public_ids(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    with store.transaction(write=True) as session:
        exhibits = [
            make_exhibit(session, "Port of Spain lab", "C-1", f"E-{n}") for n in range(1, 4)
        ]
        ids = [exhibit.id for exhibit in exhibits]
        assert ids == sorted(ids) and len(set(ids)) == 3
        public_ids = [exhibit.public_id for exhibit in exhibits]
        assert len(set(public_ids)) == 3 and all(len(p) == 26 for p in public_ids)
        by_key = repository.exhibits_by_key(session, [*ids, 999_999])
        assert sorted(by_key) == ids
        assert by_key[ids[0]].case.case_id == "C-1"
        listed = repository.list_exhibits(session, kind="cartridge_case", limit=2, offset=1)
        assert [exhibit.exhibit_id for exhibit in listed] == ["E-2", "E-3"]
        assert repository.list_exhibits(session, kind="bullet") == []


# --- prepared marks and descriptors ------------------------------------------------------------


def test_marks_are_stored_with_their_exhibit_and_decoded_back(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    breech_face = np.arange(64, dtype=np.float32).reshape(8, 8) / 7.0
    breech_face[0, 0] = np.nan
    mark = PreparedCasing(breech_face, pixel_um=6.25, modality="topography")
    with store.transaction(write=True) as session:
        exhibit = make_exhibit(session, "Port of Spain lab", "C-1", "E-1")
        repository.set_mark(
            session, exhibit, encode_casing_mark(mark), preparation_version="prepare-1"
        )
        with pytest.raises(ValueError, match="is a cartridge_case but the mark encodes a bullet"):
            repository.set_mark(
                session,
                exhibit,
                encode_mark("bullet", {}, attributes={}),
                preparation_version="x",
            )
        with pytest.raises(MarkFormatError):
            repository.set_mark(session, exhibit, b"not a mark", preparation_version="x")
        other = make_exhibit(session, "Port of Spain lab", "C-1", "E-2")
        key = exhibit.id
    with store.transaction() as session:
        decoded = decode_casing_mark(repository.get_mark(session, exhibit))
        np.testing.assert_allclose(decoded.breech_face, breech_face, rtol=1e-3)
        assert list(repository.marks_by_key(session, [key, other.id])) == [key]
        with pytest.raises(NotFoundError, match="prepared mark of exhibit"):
            repository.get_mark(session, other)


def test_descriptors_load_back_as_ids_and_a_float32_matrix(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(3, 16)).astype(np.float32)
    with store.transaction(write=True) as session:
        exhibits = [make_exhibit(session, "Port of Spain lab", "C-1", f"E-{n}") for n in range(3)]
        for exhibit, vector in zip(exhibits, vectors, strict=True):
            repository.set_descriptor(session, exhibit, vector, version="v1")
        repository.set_descriptor(session, exhibits[0], np.ones(4), version="v2")
        bullet = make_exhibit(session, "Georgetown lab", "C-9", "B-1", kind="bullet")
        repository.set_descriptor(session, bullet, np.ones(16), version="v1")
        with pytest.raises(ValueError, match="non-empty 1-D vector of finite numbers"):
            repository.set_descriptor(session, exhibits[0], np.array([np.nan]), version="v1")
        expected_ids = [exhibit.id for exhibit in exhibits]
    with store.transaction() as session:
        ids, loaded = repository.load_descriptors(session, version="v1", kind="cartridge_case")
        assert ids.dtype == np.int64 and loaded.dtype == np.float32
        assert ids.tolist() == expected_ids
        np.testing.assert_array_equal(loaded, vectors)
        ids, loaded = repository.load_descriptors(session, version="v2", modality="topography")
        assert loaded.shape == (1, 4)
        ids, loaded = repository.load_descriptors(session, version="none")
        assert ids.shape == (0,) and loaded.shape == (0, 0)


def test_descriptors_of_one_version_must_share_a_dimension(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    with store.transaction(write=True) as session:
        first = make_exhibit(session, "Port of Spain lab", "C-1", "E-1")
        second = make_exhibit(session, "Port of Spain lab", "C-1", "E-2")
        repository.set_descriptor(session, first, np.ones(8), version="v1")
        repository.set_descriptor(session, second, np.ones(9), version="v1")
        with pytest.raises(ValueError, match=r"dimensions \[8, 9\]"):
            repository.load_descriptors(session, version="v1")


# --- correlation results -----------------------------------------------------------------------


def test_correlation_results_are_ranked_and_replaced_on_a_rerun(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    with store.transaction(write=True) as session:
        query = make_exhibit(session, "Port of Spain lab", "C-1", "Q")
        candidates = [make_exhibit(session, "Georgetown lab", "C-2", f"K-{n}") for n in range(3)]
        keys = [candidate.id for candidate in candidates]
        scores = [
            repository.CandidateScore(keys[0], 0.2, cmc_count=1),
            repository.CandidateScore(keys[1], 0.9, cmc_count=14, details={"rotation_deg": 3.0}),
            repository.CandidateScore(keys[2], 0.5, cmc_count=6),
        ]
        assert (
            repository.record_correlation_results(session, query, scores, algorithm_version="cmc-1")
            == 3
        )
        # a re-run of the same version replaces the candidate's row
        repository.record_correlation_results(
            session, query, [repository.CandidateScore(keys[0], 0.95)], algorithm_version="cmc-1"
        )
        with pytest.raises(ValueError, match="cannot be its own candidate"):
            repository.record_correlation_results(
                session,
                query,
                [repository.CandidateScore(query.id, 1.0)],
                algorithm_version="cmc-1",
            )
    with store.transaction() as session:
        results = repository.list_candidates(session, query)
        assert [r.candidate.exhibit_id for r in results] == ["K-0", "K-1", "K-2"]
        assert [r.score for r in results] == [0.95, 0.9, 0.5]
        assert results[1].cmc_count == 14 and results[1].details == {"rotation_deg": 3.0}
        assert results[0].candidate.agency.country == "GY"
        assert len(repository.list_candidates(session, query, limit=2)) == 2


def test_candidates_default_to_the_latest_algorithm_version(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    with store.transaction(write=True) as session:
        query = make_exhibit(session, "Port of Spain lab", "C-1", "Q")
        candidate = make_exhibit(session, "Georgetown lab", "C-2", "K")
        assert repository.list_candidates(session, query) == []
        for version, score in (("cmc-1", 0.3), ("cmc-2", 0.7)):
            repository.record_correlation_results(
                session,
                query,
                [repository.CandidateScore(candidate.id, score)],
                algorithm_version=version,
            )
    with store.transaction() as session:
        assert [r.score for r in repository.list_candidates(session, query)] == [0.7]
        old = repository.list_candidates(session, query, algorithm_version="cmc-1")
        assert [r.score for r in old] == [0.3]


# --- links -------------------------------------------------------------------------------------


def test_a_link_is_the_same_whichever_way_round_and_keeps_its_best_score(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    with store.transaction(write=True) as session:
        first = make_exhibit(session, "Port of Spain lab", "C-1", "E-1")
        second = make_exhibit(session, "Georgetown lab", "C-2", "E-2")
        link = repository.upsert_link(session, second, first, score=0.6)
        assert (link.exhibit_a_pk, link.exhibit_b_pk) == (first.id, second.id)
        assert repository.upsert_link(session, first, second, score=0.4).id == link.id
        assert link.score == 0.6
        repository.upsert_link(session, second, first, score=0.8, algorithm_version="cmc-2")
        assert (link.score, link.algorithm_version, link.status) == (0.8, "cmc-2", "lead")
        assert session.scalar(select(func.count()).select_from(Link)) == 1


def test_cross_border_is_true_only_when_the_countries_differ(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    with store.transaction(write=True) as session:
        port = make_exhibit(session, "Port of Spain lab", "C-1", "E-1")
        san = make_exhibit(session, "San Fernando lab", "C-2", "E-2")
        george = make_exhibit(session, "Georgetown lab", "C-3", "E-3")
        assert repository.upsert_link(session, port, george, score=0.5).cross_border
        assert not repository.upsert_link(session, port, san, score=0.5).cross_border
        same_case = make_exhibit(session, "Port of Spain lab", "C-1", "E-4")
        with pytest.raises(ValueError, match="of the same case"):
            repository.upsert_link(session, port, same_case, score=0.9)
        with pytest.raises(ValueError, match="cannot be linked with itself"):
            repository.upsert_link(session, port, port, score=0.9)
        assert [
            link.exhibit_b.exhibit_id for link in repository.list_links(session, cross_border=True)
        ] == ["E-3"]


def test_links_between_an_exhibit_and_others_are_found_whichever_way_round(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    with store.transaction(write=True) as session:
        first = make_exhibit(session, "Port of Spain lab", "C-1", "E-1")
        second = make_exhibit(session, "Georgetown lab", "C-2", "E-2")
        third = make_exhibit(session, "Georgetown lab", "C-3", "E-3")
        unlinked = make_exhibit(session, "Georgetown lab", "C-4", "E-4")
        before = repository.add_lead(session, first, second, score=0.7, cross_border=True)
        after = repository.add_lead(session, third, second, score=0.6, cross_border=False)
        assert before is not None and after is not None
        found = repository.links_between(
            session, second, [first.id, third.id, unlinked.id], for_update=True
        )
        assert found == {first.id: before, third.id: after}
        assert repository.links_between(session, unlinked, [first.id, second.id]) == {}


def test_a_lead_added_by_a_concurrent_transaction_stands(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    with store.transaction(write=True) as session:
        first = make_exhibit(session, "Port of Spain lab", "C-1", "E-1")
        second = make_exhibit(session, "Georgetown lab", "C-2", "E-2")
        stored = repository.add_lead(session, first, second, score=0.7, cross_border=True)
        assert stored is not None
        again = repository.add_lead(session, second, first, score=0.9, cross_border=True)
        assert again is None
        assert stored.score == 0.7
        raised = repository.set_link_score(session, stored, score=0.9, algorithm_version="cmc-2")
        assert (raised.score, raised.algorithm_version, raised.status) == (0.9, "cmc-2", "lead")
        assert session.scalar(select(func.count()).select_from(Link)) == 1
        with pytest.raises(ValueError, match="of the same case"):
            same_case = make_exhibit(session, "Port of Spain lab", "C-1", "E-3")
            repository.add_lead(session, first, same_case, score=0.9, cross_border=False)


def test_decisions_are_recorded_audited_and_never_undone_by_the_engine(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    with store.transaction(write=True) as session:
        first = make_exhibit(session, "Port of Spain lab", "C-1", "E-1")
        second = make_exhibit(session, "Georgetown lab", "C-2", "E-2")
        examiner = repository.get_or_create_agency(
            session, "Georgetown lab", country="GY", role="examiner"
        )
        link = repository.upsert_link(session, first, second, score=0.7)
        with pytest.raises(ValueError, match="link status 'lead' is not one of"):
            repository.set_link_status(session, link, "lead", by_agency=examiner)
        repository.set_link_status(
            session, link, "confirmed", by_agency=examiner, comment="same breech face"
        )
        repository.upsert_link(session, first, second, score=0.9)
        public_id = link.public_id
    with store.transaction(write=True) as session:
        link = repository.get_link(session, public_id)
        assert (link.status, link.score, link.comment) == ("confirmed", 0.9, "same breech face")
        assert link.decided_by is not None and link.decided_by.name == "Georgetown lab"
        assert link.decided_at is not None and link.decided_at.tzinfo == datetime.UTC
        examiner = repository.get_agency(session, "Georgetown lab")
        repository.set_link_status(session, link, "rejected", by_agency=examiner)
        repository.upsert_link(session, link.exhibit_a, link.exhibit_b, score=0.95)
        assert link.status == "rejected"
        history = repository.list_audit(session, object_type="link", object_id=public_id)
        assert [(e.action, (e.details or {}).get("previous_status")) for e in history] == [
            ("link.lead", None),
            ("link.confirmed", "lead"),
            ("link.rejected", "confirmed"),
        ]
        assert history[1].actor == "Georgetown lab"


def test_links_list_by_status_and_summarise_as_the_contract_says(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    with store.transaction(write=True) as session:
        first = make_exhibit(session, "Port of Spain lab", "C-1", "E-1")
        second = make_exhibit(session, "Georgetown lab", "C-2", "E-2")
        third = make_exhibit(session, "Georgetown lab", "C-3", "E-3")
        examiner = repository.get_or_create_agency(session, "Georgetown lab", country="GY")
        confirmed = repository.upsert_link(session, first, second, score=0.5)
        repository.set_link_status(session, confirmed, "confirmed", by_agency=examiner)
        repository.upsert_link(session, second, third, score=0.8)
    with store.transaction() as session:
        leads = repository.list_links(session, status="lead")
        assert [link.score for link in leads] == [0.8]
        summaries = [repository.link_summary(link) for link in repository.list_links(session)]
        calibration = calibration_for("cartridge_case", "topography")
        assert [summary["score"] for summary in summaries] == [0.8, 0.5]  # best first
        assert summaries[1] == {
            "id": confirmed.public_id,
            "exhibit_a": "E-1",
            "exhibit_b": "E-2",
            "case_a": "C-1",
            "case_b": "C-2",
            "agency_a": "Port of Spain lab",
            "agency_b": "Georgetown lab",
            "country_a": "TT",
            "country_b": "GY",
            "score": 0.5,
            # the strength of the stored score, with the current calibration (read time)
            "log10_lr": round(calibration.lower, 3),  # a low score: at the lower bound
            "lr_interval": [
                round(calibration.lower, 3),
                round(calibration.log10_lr(0.5).high or 0.0, 3),
            ],
            "verbal": "moderate support for the proposition that different firearms fired them",
            "calibration": calibration.version,
            "cross_border": True,
            "status": "confirmed",
        }
        assert len(repository.list_links(session, exhibit=third)) == 1
        with pytest.raises(ValueError, match="status 'maybe' is not one of"):
            repository.list_links(session, status="maybe")


def test_linked_cases_follow_confirmed_links_transitively(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    with store.transaction(write=True) as session:
        examiner = repository.get_or_create_agency(session, "Georgetown lab", country="GY")
        a = make_exhibit(session, "Port of Spain lab", "A", "EA")
        b = make_exhibit(session, "Georgetown lab", "B", "EB")
        b2 = make_exhibit(session, "Georgetown lab", "B", "EB2")
        c = make_exhibit(session, "San Fernando lab", "C", "EC")
        d = make_exhibit(session, "Georgetown lab", "D", "ED")
        e = make_exhibit(session, "Port of Spain lab", "E", "EE")
        for first, second, status in (
            (a, b, "confirmed"),
            (b2, c, "confirmed"),  # B reaches C through another exhibit of case B
            (c, a, "confirmed"),  # a cycle
            (c, d, "lead"),
            (e, a, "rejected"),
        ):
            link = repository.upsert_link(session, first, second, score=0.9)
            if status != "lead":
                repository.set_link_status(session, link, status, by_agency=examiner)
        cases = {exhibit.exhibit_id: exhibit.case for exhibit in (a, b, c, d, e)}
    with store.transaction() as session:

        def linked(exhibit_id: str) -> list[str]:
            return sorted(
                case.case_id for case in repository.linked_cases(session, cases[exhibit_id])
            )

        assert linked("EA") == ["B", "C"]
        assert linked("EC") == ["A", "B"]
        assert linked("ED") == []
        assert linked("EE") == []
        first = repository.linked_cases(session, cases["EA"])[0]
        assert first.agency.country in {"TT", "GY"}


# --- the audit log -----------------------------------------------------------------------------


def test_the_audit_log_cannot_be_changed_or_emptied(store: Store) -> None:
    with store.transaction(write=True) as session:
        entry = repository.audit(
            session, "Georgetown lab", "test.action", object_type="thing", object_id="1"
        )
        entry_id = entry.id
    for statement in (
        f"UPDATE audit_log SET actor = 'someone else' WHERE id = {entry_id}",
        f"DELETE FROM audit_log WHERE id = {entry_id}",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError, match="audit_log is append-only"):  # noqa: SIM117
            with store.transaction(write=True) as session:
                session.execute(text(statement))
    if store.backend == "postgresql":
        with pytest.raises(DBAPIError, match="audit_log is append-only"):  # noqa: SIM117
            with store.transaction(write=True) as session:
                session.execute(text("TRUNCATE audit_log"))
    with store.transaction() as session:
        entries = session.scalars(select(AuditEntry)).all()
        assert [(e.actor, e.action) for e in entries] == [("Georgetown lab", "test.action")]
        assert entries[0].at.tzinfo == datetime.UTC

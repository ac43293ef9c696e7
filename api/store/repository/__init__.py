"""Reading and writing the evidence database: plain functions on a SQLAlchemy ``Session``.

The caller owns the transaction (``with store.transaction(write=True) as session: ...``); these
functions flush but never commit, so that an ingest writes an exhibit, its mark, its descriptor,
its job and its audit line all or nothing. Every change a person or the engine makes to evidence
or links appends a line to the audit log in the same transaction.

One module per resource, each re-exported here (``repository.get_exhibit(session, ...)``):

- :mod:`~api.store.repository.agencies`: agencies and their API keys;
- :mod:`~api.store.repository.exhibits`: cases, exhibits and their files;
- :mod:`~api.store.repository.cases`: the list of cases with their exhibits and confirmed links;
- :mod:`~api.store.repository.prepared`: exhibits' prepared marks and descriptors;
- :mod:`~api.store.repository.indexed`: which exhibits have their current descriptor (what
  the vector index is built from);
- :mod:`~api.store.repository.results`: correlation results;
- :mod:`~api.store.repository.links`: links and examiners' decisions on them;
- :mod:`~api.store.repository.jobs`: the jobs queue;
- :mod:`~api.store.repository.notifications`: what agencies are told of confirmed links;
- :mod:`~api.store.repository.people`: people's accounts, passwords and sign-in sessions;
- :mod:`~api.store.repository.regions`: regions, groups of countries an admin defines;
- :mod:`~api.store.repository.audit_log`: the audit log;
- :mod:`~api.store.repository.counters`: the store's change counters.

Each imports only :mod:`api.store` (models, errors, marks, originals), ``_common`` and the audit
log (``regions`` also the agencies' country check); no module here decides policy (which pairs
become leads: :mod:`api.service.linking`).
"""

from api.store.repository._common import SYSTEM_ACTOR
from api.store.repository.agencies import (
    AgencyRevoked,
    agency_for_api_key,
    check_assigned_country_code,
    get_agency,
    get_or_create_agency,
    hash_api_key,
    issue_api_key,
    list_agencies,
    new_api_key,
    revoke_agency,
)
from api.store.repository.audit_log import audit, list_audit
from api.store.repository.cases import CaseSummary, cases_newest_first
from api.store.repository.counters import (
    StoreGeneration,
    advance_generation,
    advance_index_epoch,
    store_generation,
)
from api.store.repository.exhibits import (
    ExhibitAdded,
    add_exhibit,
    case_members,
    check_same_item,
    count_exhibits,
    exhibit_kinds,
    exhibit_metadata,
    exhibits_by_key,
    find_exhibit,
    get_case,
    get_exhibit,
    get_or_create_case,
    item_sha256,
    list_exhibits,
    set_exhibit_status,
    uncorrelated_keys,
)
from api.store.repository.indexed import (
    IndexedExhibit,
    StoredItem,
    count_indexed_exhibits,
    descriptors_by_key,
    has_prepared_data,
    indexed_exhibits,
    marked_without_descriptor,
    stored_items,
)
from api.store.repository.jobs import (
    claim_next_job,
    count_jobs_by_status,
    enqueue_job,
    fail_job,
    finish_job,
    heartbeat_job,
    latest_job,
    requeue_stale_jobs,
)
from api.store.repository.links import (
    add_lead,
    count_links,
    get_link,
    link_summary,
    linked_cases,
    links_between,
    list_links,
    set_link_score,
    set_link_status,
    upsert_link,
)
from api.store.repository.notifications import (
    agencies_to_tell,
    count_unread_notifications,
    list_notifications,
    mark_notifications_read,
    notify_link,
)
from api.store.repository.people import (
    MIN_PASSWORD_LENGTH,
    NewSession,
    check_password_strength,
    create_session,
    create_user,
    find_session,
    find_user,
    hash_password,
    is_locked,
    list_users,
    normalise_email,
    record_failed_sign_in,
    record_successful_sign_in,
    revoke_session,
    set_user_language,
    verify_password,
)
from api.store.repository.prepared import (
    get_mark,
    load_descriptors,
    marks_by_key,
    set_descriptor,
    set_mark,
)
from api.store.repository.regions import (
    add_region,
    check_region_countries,
    delete_region,
    get_region,
    list_regions,
    set_region_countries,
)
from api.store.repository.results import (
    CandidateScore,
    list_candidates,
    record_correlation_results,
    recorded_pairs,
)

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "SYSTEM_ACTOR",
    "AgencyRevoked",
    "CandidateScore",
    "CaseSummary",
    "ExhibitAdded",
    "IndexedExhibit",
    "NewSession",
    "StoreGeneration",
    "StoredItem",
    "add_exhibit",
    "add_lead",
    "add_region",
    "advance_generation",
    "advance_index_epoch",
    "agencies_to_tell",
    "agency_for_api_key",
    "audit",
    "case_members",
    "cases_newest_first",
    "check_assigned_country_code",
    "check_password_strength",
    "check_region_countries",
    "check_same_item",
    "claim_next_job",
    "count_exhibits",
    "count_indexed_exhibits",
    "count_jobs_by_status",
    "count_links",
    "count_unread_notifications",
    "create_session",
    "create_user",
    "delete_region",
    "descriptors_by_key",
    "enqueue_job",
    "exhibit_kinds",
    "exhibit_metadata",
    "exhibits_by_key",
    "fail_job",
    "find_exhibit",
    "find_session",
    "find_user",
    "finish_job",
    "get_agency",
    "get_case",
    "get_exhibit",
    "get_link",
    "get_mark",
    "get_or_create_agency",
    "get_or_create_case",
    "get_region",
    "has_prepared_data",
    "hash_api_key",
    "hash_password",
    "heartbeat_job",
    "indexed_exhibits",
    "is_locked",
    "issue_api_key",
    "item_sha256",
    "latest_job",
    "link_summary",
    "linked_cases",
    "links_between",
    "list_agencies",
    "list_audit",
    "list_candidates",
    "list_exhibits",
    "list_links",
    "list_notifications",
    "list_regions",
    "list_users",
    "load_descriptors",
    "mark_notifications_read",
    "marked_without_descriptor",
    "marks_by_key",
    "new_api_key",
    "normalise_email",
    "notify_link",
    "record_correlation_results",
    "record_failed_sign_in",
    "record_successful_sign_in",
    "recorded_pairs",
    "requeue_stale_jobs",
    "revoke_agency",
    "revoke_session",
    "set_descriptor",
    "set_exhibit_status",
    "set_link_score",
    "set_link_status",
    "set_mark",
    "set_region_countries",
    "set_user_language",
    "store_generation",
    "stored_items",
    "uncorrelated_keys",
    "upsert_link",
    "verify_password",
]

"""Reading and writing the evidence database: plain functions on a SQLAlchemy ``Session``.

The caller owns the transaction (``with store.transaction(write=True) as session: ...``); these
functions flush but never commit, so that an ingest writes an exhibit, its mark, its descriptor,
its job and its audit line all or nothing. Every change a person or the engine makes to evidence
or links appends a line to the audit log in the same transaction.

One module per resource, each re-exported here (``repository.get_exhibit(session, ...)``):

- :mod:`~api.store.repository.agencies`: agencies and their API keys;
- :mod:`~api.store.repository.exhibits`: cases, exhibits and their files;
- :mod:`~api.store.repository.prepared`: exhibits' prepared marks and descriptors;
- :mod:`~api.store.repository.results`: correlation results;
- :mod:`~api.store.repository.links`: links and examiners' decisions on them;
- :mod:`~api.store.repository.jobs`: the jobs queue;
- :mod:`~api.store.repository.audit_log`: the audit log;
- :mod:`~api.store.repository.counters`: the store's change counters.

Each imports only :mod:`api.store` (models, errors, marks, originals), ``_common`` and the audit
log; no module here decides policy (which pairs become leads: :mod:`api.service.linking`).
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
from api.store.repository.counters import (
    StoreGeneration,
    advance_generation,
    advance_index_epoch,
    store_generation,
)
from api.store.repository.exhibits import (
    ExhibitAdded,
    add_exhibit,
    check_same_item,
    exhibits_by_key,
    find_exhibit,
    get_case,
    get_exhibit,
    get_or_create_case,
    item_sha256,
    list_exhibits,
    set_exhibit_status,
)
from api.store.repository.jobs import (
    claim_next_job,
    enqueue_job,
    fail_job,
    finish_job,
    heartbeat_job,
    requeue_stale_jobs,
)
from api.store.repository.links import (
    add_lead,
    get_link,
    link_summary,
    linked_cases,
    links_between,
    list_links,
    set_link_score,
    set_link_status,
    upsert_link,
)
from api.store.repository.prepared import (
    get_mark,
    load_descriptors,
    marks_by_key,
    set_descriptor,
    set_mark,
)
from api.store.repository.results import (
    CandidateScore,
    list_candidates,
    record_correlation_results,
)

__all__ = [
    "SYSTEM_ACTOR",
    "AgencyRevoked",
    "CandidateScore",
    "ExhibitAdded",
    "StoreGeneration",
    "add_exhibit",
    "add_lead",
    "advance_generation",
    "advance_index_epoch",
    "agency_for_api_key",
    "audit",
    "check_assigned_country_code",
    "check_same_item",
    "claim_next_job",
    "enqueue_job",
    "exhibits_by_key",
    "fail_job",
    "find_exhibit",
    "finish_job",
    "get_agency",
    "get_case",
    "get_exhibit",
    "get_link",
    "get_mark",
    "get_or_create_agency",
    "get_or_create_case",
    "hash_api_key",
    "heartbeat_job",
    "issue_api_key",
    "item_sha256",
    "link_summary",
    "linked_cases",
    "links_between",
    "list_agencies",
    "list_audit",
    "list_candidates",
    "list_exhibits",
    "list_links",
    "load_descriptors",
    "marks_by_key",
    "new_api_key",
    "record_correlation_results",
    "requeue_stale_jobs",
    "revoke_agency",
    "set_descriptor",
    "set_exhibit_status",
    "set_link_score",
    "set_link_status",
    "set_mark",
    "store_generation",
    "upsert_link",
]

"""The evidence database: SQLAlchemy 2 models of agencies, cases, exhibits, results, links, jobs.

Naming: ``id`` is a table's integer surrogate key and every ``*_pk`` column refers to one;
``*_id`` columns hold the identifiers people use (``case_id``, ``exhibit_id``, as in the manifest
of ../shared/CONTRACT.md), and ``public_id`` is the opaque string the HTTP API shows. An
exhibit's ``id`` is also its id in the FAISS index, so it is a 64-bit integer that is never
reused (``AUTOINCREMENT`` on SQLite, a sequence on PostgreSQL).

The schema itself is created and upgraded only by the Alembic revisions in
``api/store/migrations``; ``tests/api/store`` checks that they and these models agree.
"""

from __future__ import annotations

import datetime
import os
import re
import time
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ballistics.items.kinds import ItemKind

#: roles of agency accounts (issue 4 decides what each may do)
ROLES = ("lab", "examiner", "investigator", "admin")
#: kinds of evidence items, as stored (the registry's kinds)
KINDS = tuple(kind.value for kind in ItemKind)
MODALITIES = ("topography", "photograph")
#: an exhibit's correlation status, as ``GET /v1/exhibits/{id}`` reports it
EXHIBIT_STATUSES = ("queued", "correlated", "failed")
#: ``lead``: the engine proposes it; ``confirmed`` / ``rejected``: an examiner decided
LINK_STATUSES = ("lead", "confirmed", "rejected")
DECIDED_LINK_STATUSES = ("confirmed", "rejected")
#: how an examiner judged a pair: on the engine's images, or on the items under a microscope
DECISION_METHODS = ("images", "microscope")
JOB_STATUSES = ("pending", "running", "done", "failed")

# Deterministic constraint names, so that later revisions can name what they alter and
# SQLite's batch migrations can recreate tables with the same constraints.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
# ISO 3166-1 reserves these alpha-2 codes for user assignment: they name no country. XK is
# user-assigned too but is the code the EU, Interpol and most agencies use for Kosovo.
_USER_ASSIGNED_CODES = frozenset(
    ["AA", "ZZ"]
    + [f"Q{letter}" for letter in "MNOPQRSTUVWXYZ"]
    + [f"X{letter}" for letter in "ABCDEFGHIJLMNOPQRSTUVWXYZ"]
)
_CROCKFORD_BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PUBLIC_ID_LENGTH = 26


def check_country_code(country: str) -> str:
    """Return ``country`` as an ISO 3166-1 alpha-2 code (upper case), or raise ValueError.

    The check is of form only: two letters (any case on input), not one of the codes that
    ISO 3166-1 leaves to user assignment (AA, QM-QZ, XA-XZ except XK for Kosovo, ZZ). It does
    not hold the list of the 249 assigned codes (which changes), so a well-formed code that no
    country holds, such as ``"AB"``, passes.
    """
    code = str(country).strip().upper()
    if not _COUNTRY_CODE.fullmatch(code) or code in _USER_ASSIGNED_CODES:
        raise ValueError(
            f"country {country!r} is not an ISO 3166-1 alpha-2 code; give the agency's two-letter "
            "country code, e.g. 'TT' for Trinidad and Tobago."
        )
    return code


def utc_now() -> datetime.datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.datetime.now(datetime.UTC)


def new_public_id() -> str:
    """Return a new public id: 26 Crockford base-32 characters, sortable by creation time.

    48 bits of milliseconds since 1970 followed by 80 random bits (the ULID layout), so that ids
    reveal no count of exhibits, cannot be guessed, and still sort in the order they were made.
    """
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    characters = []
    for _ in range(PUBLIC_ID_LENGTH):
        value, digit = divmod(value, 32)
        characters.append(_CROCKFORD_BASE32[digit])
    return "".join(reversed(characters))


class UTCDateTime(TypeDecorator[datetime.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (UTC), on every backend.

    SQLite has no timestamp type and drops offsets, so values are stored there as naive UTC
    text; naive datetimes are refused on the way in rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime.datetime | None, dialect: Dialect
    ) -> datetime.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"timestamp {value.isoformat()} has no time zone; pass an aware datetime, e.g. "
                "datetime.now(datetime.UTC)."
            )
        value = value.astimezone(datetime.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: datetime.datetime | None, dialect: Dialect
    ) -> datetime.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.UTC)
        return value.astimezone(datetime.UTC)


#: a 64-bit key; on SQLite it must be spelt INTEGER to be the auto-incremented row id
BigKey = BigInteger().with_variant(Integer(), "sqlite")
#: JSON documents: JSONB on PostgreSQL (indexable), JSON text elsewhere
Document = JSON().with_variant(JSONB(), "postgresql")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Base(DeclarativeBase):
    """Declarative base with the naming convention and timestamp type of the store."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # explicit, so that the column types do not follow SQLAlchemy's defaults from release to
    # release (2.0 maps float to FLOAT, 2.1 to DOUBLE): the revisions create exactly these
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime.datetime: UTCDateTime(),
        dict[str, Any]: Document,
        float: Double(),
    }


class Agency(Base):
    """A submitting agency (laboratory, police service) and its API account.

    ``api_key_hash`` holds the SHA-256 of the account's API key; the key itself is never stored.
    """

    __tablename__ = "agencies"
    __table_args__ = (
        CheckConstraint("length(country) = 2", name="country_alpha2"),
        CheckConstraint(_in("role", ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(PUBLIC_ID_LENGTH), unique=True, default=new_public_id
    )
    name: Mapped[str] = mapped_column(String(200), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    role: Mapped[str] = mapped_column(String(16), default="lab")
    api_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utc_now)
    # set by ``ballistics agency revoke``: the agency and all its keys are refused from then on
    disabled_at: Mapped[datetime.datetime | None]

    def __repr__(self) -> str:
        return f"Agency(name={self.name!r}, country={self.country!r}, role={self.role!r})"


class Case(Base):
    """An incident as one agency files it: its case id and the date it occurred."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("agency_pk", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(PUBLIC_ID_LENGTH), unique=True, default=new_public_id
    )
    agency_pk: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"))
    case_id: Mapped[str] = mapped_column(String(200))
    occurred_on: Mapped[datetime.date | None] = mapped_column(Date)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utc_now)

    agency: Mapped[Agency] = relationship()

    def __repr__(self) -> str:
        return f"Case(case_id={self.case_id!r}, agency_pk={self.agency_pk!r})"


class Exhibit(Base):
    """One evidence item (a cartridge case or a bullet) of a case.

    ``sha256`` is the item's digest: the SHA-256 of its file, or for a bullet stored as several
    files the digest of their digests in land order (:func:`api.store.repository.item_sha256`);
    the files themselves are listed in ``files``. ``pixel_um`` and ``modality`` are those of the
    surface read from the file, unknown (None) until it has been read.
    """

    __tablename__ = "exhibits"
    __table_args__ = (
        UniqueConstraint("agency_pk", "exhibit_id"),
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint(_in("modality", MODALITIES), name="modality"),
        CheckConstraint(_in("status", EXHIBIT_STATUSES), name="status"),
        CheckConstraint("pixel_um > 0", name="pixel_um_positive"),
        Index(None, "case_pk"),
        Index(None, "sha256"),
        Index(None, "index_generation"),
        # FAISS ids must never be reused, even after the newest exhibit is deleted
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(PUBLIC_ID_LENGTH), unique=True, default=new_public_id
    )
    agency_pk: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"))
    case_pk: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    exhibit_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    caliber: Mapped[str | None] = mapped_column(String(64))
    modality: Mapped[str | None] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    pixel_um: Mapped[float | None]
    # "metadata" is taken by the declarative base; the column keeps the plain name
    extra_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    shared: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    created_at: Mapped[datetime.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    # StoreState.generation when the exhibit's descriptor was stored (None: before 0003), so
    # that a process catching its vector index up reads only what is new
    index_generation: Mapped[int | None] = mapped_column(BigInteger)
    # a photograph's quality warnings when it was prepared ([{"code", "message"}]; None: a 3D
    # scan, or stored before 0007), answered again to a repeat of the upload
    photo_warnings: Mapped[list[dict[str, str]] | None] = mapped_column(Document)

    agency: Mapped[Agency] = relationship()
    case: Mapped[Case] = relationship()
    files: Mapped[list[ExhibitFile]] = relationship(
        order_by="ExhibitFile.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
        back_populates="exhibit",
    )

    def __repr__(self) -> str:
        return f"Exhibit(id={self.id!r}, exhibit_id={self.exhibit_id!r}, kind={self.kind!r})"


class ExhibitFile(Base):
    """One original file of an exhibit, by content address (one per land of a bullet)."""

    __tablename__ = "exhibit_files"
    __table_args__ = (
        CheckConstraint("position >= 0", name="position_not_negative"),
        CheckConstraint("size_bytes >= 0", name="size_not_negative"),
        Index(None, "sha256"),
    )

    exhibit_pk: Mapped[int] = mapped_column(
        BigKey, ForeignKey("exhibits.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(500))
    size_bytes: Mapped[int] = mapped_column(BigInteger)

    exhibit: Mapped[Exhibit] = relationship(back_populates="files")


class ExhibitMark(Base):
    """The prepared mark of an exhibit, encoded by :mod:`ballistics.items.encoding` (float16, zlib).

    Kept in the database rather than as files so that it is written in the same transaction
    as its exhibit and travels with it in a PostgreSQL deployment; re-ranking reads it instead
    of re-reading and re-preparing the original.
    """

    __tablename__ = "exhibit_marks"

    exhibit_pk: Mapped[int] = mapped_column(
        BigKey, ForeignKey("exhibits.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    #: the version of the preparation that made the mark (a configuration digest, a release)
    preparation_version: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utc_now)


class ExhibitDescriptor(Base):
    """A retrieval descriptor of an exhibit: float32 little-endian bytes of ``dimension`` values.

    The FAISS index is rebuilt from these rows; one row per descriptor version, so that a new
    descriptor can be computed and indexed before the old one is dropped.
    """

    __tablename__ = "exhibit_descriptors"
    __table_args__ = (CheckConstraint("dimension > 0", name="dimension_positive"),)

    exhibit_pk: Mapped[int] = mapped_column(
        BigKey, ForeignKey("exhibits.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    dimension: Mapped[int]
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utc_now)


class CorrelationResult(Base):
    """The score of one candidate exhibit against one query exhibit, by one algorithm version."""

    __tablename__ = "correlation_results"
    __table_args__ = (
        UniqueConstraint("query_pk", "candidate_pk", "algorithm_version"),
        CheckConstraint("query_pk <> candidate_pk", name="not_self"),
        Index(None, "candidate_pk"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    query_pk: Mapped[int] = mapped_column(BigKey, ForeignKey("exhibits.id", ondelete="CASCADE"))
    candidate_pk: Mapped[int] = mapped_column(BigKey, ForeignKey("exhibits.id", ondelete="CASCADE"))
    score: Mapped[float]
    cmc_count: Mapped[int | None]
    algorithm_version: Mapped[str] = mapped_column(String(64))
    #: the rest of the comparison record (rotation, translation, correlations)
    details: Mapped[dict[str, Any] | None] = mapped_column(Document)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utc_now)

    query: Mapped[Exhibit] = relationship(foreign_keys=[query_pk])
    candidate: Mapped[Exhibit] = relationship(foreign_keys=[candidate_pk])


class Link(Base):
    """A possible or decided link between two exhibits of different cases.

    The pair is stored in canonical order (``exhibit_a_pk < exhibit_b_pk``), so that (a, b) and
    (b, a) are the same link. ``cross_border`` is True when the two submitting agencies are of
    different countries. ``decided_by_pk``, ``decided_at`` and ``comment`` record the examiner's
    decision once the status is ``confirmed`` or ``rejected``.
    """

    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("exhibit_a_pk", "exhibit_b_pk"),
        CheckConstraint("exhibit_a_pk < exhibit_b_pk", name="canonical_order"),
        CheckConstraint(_in("status", LINK_STATUSES), name="status"),
        CheckConstraint(
            "decision_method IS NULL OR " + _in("decision_method", DECISION_METHODS),
            name="decision_method",
        ),
        Index(None, "exhibit_b_pk"),
        Index(None, "status", "cross_border"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(PUBLIC_ID_LENGTH), unique=True, default=new_public_id
    )
    exhibit_a_pk: Mapped[int] = mapped_column(
        BigKey, ForeignKey("exhibits.id", ondelete="RESTRICT")
    )
    exhibit_b_pk: Mapped[int] = mapped_column(
        BigKey, ForeignKey("exhibits.id", ondelete="RESTRICT")
    )
    score: Mapped[float]
    algorithm_version: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="lead")
    cross_border: Mapped[bool]
    decided_by_pk: Mapped[int | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="RESTRICT")
    )
    decided_at: Mapped[datetime.datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    decision_method: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utc_now, onupdate=utc_now)

    exhibit_a: Mapped[Exhibit] = relationship(foreign_keys=[exhibit_a_pk])
    exhibit_b: Mapped[Exhibit] = relationship(foreign_keys=[exhibit_b_pk])
    decided_by: Mapped[Agency | None] = relationship()

    def __repr__(self) -> str:
        return (
            f"Link(public_id={self.public_id!r}, exhibits=({self.exhibit_a_pk}, "
            f"{self.exhibit_b_pk}), status={self.status!r}, score={self.score!r})"
        )


class AuditEntry(Base):
    """One line of the append-only audit log (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    at: Mapped[datetime.datetime] = mapped_column(default=utc_now)
    #: who acted: an agency's name, or "system" for the engine itself
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any] | None] = mapped_column(Document)


class Job(Base):
    """A durable unit of background work (e.g. correlating a new exhibit against the store).

    ``attempts`` counts claims; a job that fails with attempts left goes back to ``pending``
    with ``available_at`` in the future. ``heartbeat_at`` lets a restarted worker tell jobs
    left ``running`` by a dead process from jobs another worker is still doing.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("max_attempts >= 1", name="max_attempts_positive"),
        Index(None, "status", "available_at", "id"),
        Index(None, "exhibit_pk"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    exhibit_pk: Mapped[int | None] = mapped_column(
        BigKey, ForeignKey("exhibits.id", ondelete="CASCADE")
    )
    payload: Mapped[dict[str, Any] | None] = mapped_column(Document)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    worker: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime.datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    available_at: Mapped[datetime.datetime] = mapped_column(default=utc_now)
    started_at: Mapped[datetime.datetime | None]
    heartbeat_at: Mapped[datetime.datetime | None]
    finished_at: Mapped[datetime.datetime | None]

    exhibit: Mapped[Exhibit | None] = relationship()

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, kind={self.kind!r}, status={self.status!r})"


class StoreState(Base):
    """The store's change counters: one row (``id`` 1).

    ``generation`` goes up by one in every transaction that stores or changes an exhibit's
    descriptor; the row lock that the increment takes orders those transactions, so a process
    that has read generation ``g`` has every exhibit of ``index_generation <= g`` committed.
    ``index_epoch`` goes up when the whole index is rebuilt (``ballistics reindex``): a process
    seeing a new epoch reloads its index instead of catching up.
    """

    __tablename__ = "store_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
    index_epoch: Mapped[int] = mapped_column(BigInteger, default=0)


class User(Base):
    """A person with an account under an agency: the review station's sign-in.

    The person's own ``role`` governs what they may do in the pages (the agency's role governs
    its API keys). ``password_hash`` is an Argon2 hash (the password itself is never stored);
    ``failed_sign_ins`` counts failures since the last success, and ``locked_until`` brakes
    guessing after repeated ones.
    """

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        String(PUBLIC_ID_LENGTH), unique=True, default=new_public_id
    )
    agency_pk: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    #: stored lower-cased, so that one address is one account however it is typed
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    #: the language the person chose in the pages; None: from the browser
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime.datetime] = mapped_column(default=utc_now)
    disabled_at: Mapped[datetime.datetime | None]
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime.datetime | None]

    agency: Mapped[Agency] = relationship()

    def __repr__(self) -> str:
        return f"User(email={self.email!r}, role={self.role!r})"


class SignInSession(Base):
    """A signed-in session of the review station.

    ``id`` is the SHA-256 (hex) of the random token the browser holds in its cookie; the token
    itself is never stored, so a copy of the database opens no session.
    """

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime.datetime]
    last_seen_at: Mapped[datetime.datetime] = mapped_column(default=utc_now)
    csrf_token: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime.datetime | None]

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"SignInSession(user_pk={self.user_pk!r}, expires_at={self.expires_at!r})"


#: what an agency is told about a link: an examiner confirmed it, or rejected a confirmed one
NOTIFICATION_KINDS = ("link.confirmed", "link.rejected")


class Notification(Base):
    """What an agency is told about a link (every person of the agency sees it).

    One line per (agency, link, kind); ``read_at`` is the agency's (None: unread), and telling
    the agency again makes the line unread again.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("agency_pk", "link_pk", "kind"),
        CheckConstraint(_in("kind", NOTIFICATION_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_pk: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    link_pk: Mapped[int] = mapped_column(ForeignKey("links.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime.datetime] = mapped_column(default=utc_now)
    read_at: Mapped[datetime.datetime | None]

    agency: Mapped[Agency] = relationship()
    link: Mapped[Link] = relationship()

    def __repr__(self) -> str:
        return (
            f"Notification(agency_pk={self.agency_pk!r}, link_pk={self.link_pk!r}, "
            f"kind={self.kind!r}, read_at={self.read_at!r})"
        )


class Region(Base):
    """A group of countries an admin defines (the examiner's queue can be scoped to one).

    Its countries are :class:`RegionCountry` lines, one per ISO 3166-1 alpha-2 code;
    ``created_by`` names the person who defined it, as the audit log does.
    """

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime.datetime] = mapped_column(default=utc_now)
    created_by: Mapped[str] = mapped_column(String(200))

    members: Mapped[list[RegionCountry]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="RegionCountry.country",
    )

    @property
    def countries(self) -> list[str]:
        """The region's country codes, in alphabetical order."""
        return sorted(member.country for member in self.members)

    def __repr__(self) -> str:
        return f"Region(name={self.name!r}, countries={self.countries!r})"


class RegionCountry(Base):
    """One country of a region."""

    __tablename__ = "region_countries"
    __table_args__ = (CheckConstraint("length(country) = 2", name="country_alpha2"),)

    region_pk: Mapped[int] = mapped_column(
        ForeignKey("regions.id", ondelete="CASCADE"), primary_key=True
    )
    country: Mapped[str] = mapped_column(String(2), primary_key=True)

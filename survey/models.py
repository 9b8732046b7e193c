"""The platform's data model: agencies, instruments, waves, invitations, responses, complaints, staff.

Anonymity is built into the shape of these tables: a ``Response`` has no column that points at an
``Invitation``, keeps only the week it came in, and its id is random, so row ids do not reveal the
order of submission. On SQLite the response tables are ``WITHOUT ROWID`` for the same reason. An
invitation records that it was opened and used, never when; an unfinished questionnaire is sealed
under a key only the resident's cookie holds. SECURITY.md has the table of what is kept in clear.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base

#: The agency's time zone (``SURVEY_TIMEZONE``), set by ``create_app``. Module-level because
#: ``today()`` is a column default and runs in commands without an app context.
_zone: dt.tzinfo = dt.UTC


def set_timezone(name: str) -> None:
    """Make ``today()`` the calendar day in the IANA zone ``name`` (checked by the config)."""
    global _zone
    _zone = dt.UTC if name == "UTC" else ZoneInfo(name)


def clock() -> dt.datetime:
    """The current instant: the one place ``utcnow()`` and ``today()`` read the time (tests set it)."""
    return dt.datetime.now(dt.UTC)


def utcnow() -> dt.datetime:
    """An instant, for expiries and staff audit times."""
    return clock()


def today() -> dt.date:
    """The agency's calendar day: a complaint filed at 8 pm in Chicago is received that day, not the
    next. Every date the platform records or compares for residents and deadlines comes from here."""
    return clock().astimezone(_zone).date()


def week_of(day: dt.date) -> dt.date:
    """The Monday of ``day``'s ISO week: the only date a response keeps."""
    return day - dt.timedelta(days=day.weekday())


def this_week() -> dt.date:
    return week_of(today())


def random_id() -> str:
    """A random, non-sequential primary key (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as strings (native_enum=False) so that adding a value is a plain migration.
    return Enum(cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class Role(enum.StrEnum):
    ADMIN = "admin"
    SURVEY_MANAGER = "survey_manager"
    ANALYST = "analyst"
    INVESTIGATOR = "investigator"


#: The one role of a campaign account (agency None): it runs the campaign console, never an agency's pages.
CAMPAIGN_ROLE = "campaign"


class WaveMode(enum.StrEnum):
    INVITATION = "invitation"
    OPEN_LINK = "open_link"


class Channel(enum.StrEnum):
    WEB = "web"
    PAPER = "paper"
    PHONE = "phone"
    IN_PERSON = "in_person"
    MAIL = "mail"
    THIRD_PARTY = "third_party"


class Sample(enum.StrEnum):
    """How a response came in: from a sampled invitation, or from an open link anyone could use."""

    PROBABILITY = "probability"
    NONPROBABILITY = "nonprobability"


class AreaKind(enum.StrEnum):
    """What a wave calls its small areas (finer than the sampling stratum)."""

    NEIGHBORHOOD = "neighborhood"
    BEAT = "beat"


class AreaSource(enum.StrEnum):
    """Where a response's small area comes from: the resident's answer or the invitation."""

    RESIDENT = "resident"
    INVITATION = "invitation"


class InvitationStatus(enum.StrEnum):
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"


class ComplaintStatus(enum.StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    UNDER_REVIEW = "under_review"
    CLOSED = "closed"


class Disposition(enum.StrEnum):
    SUSTAINED = "sustained"
    NOT_SUSTAINED = "not_sustained"
    EXONERATED = "exonerated"
    UNFOUNDED = "unfounded"
    POLICY_FAILURE = "policy_failure"
    INFORMAL = "resolved_informally"
    WITHDRAWN = "withdrawn"
    REFERRED = "referred"


class Agency(Base):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(200))
    default_language: Mapped[str] = mapped_column(String(16), default="en")
    # Contact ways printed on the complaint policy page; free-form per agency.
    phone: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    acknowledge_days: Mapped[int] = mapped_column(Integer, default=7)
    close_days: Mapped[int] = mapped_column(Integer, default=90)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The name, city and address as each language writes them ({"ar": {"name": ...}}); a
    # language or text not given here shows the fields above.
    texts: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON, default=dict)
    # Hosting a campaign (SURVEY_AGENCY_ADDRESSES=path or host): the agency's own host name in
    # host mode; the languages it offers (None: every language the deployment offers); the
    # districts its waves start with; whether it chose to be named on the campaign page and in
    # other agencies' benchmarks; and the peer group the campaign put it in (e.g. "small-city").
    host: Mapped[str | None] = mapped_column(String(253), unique=True)
    languages: Mapped[list[str] | None] = mapped_column(JSON)
    districts: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    listed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    peer_group: Mapped[str | None] = mapped_column(String(64))

    waves: Mapped[list[Wave]] = relationship(back_populates="agency")


class Instrument(Base):
    """A questionnaire family (e.g. ``core-trust``); its wording lives in versions."""

    __tablename__ = "instrument"
    __table_args__ = (UniqueConstraint("agency_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))

    versions: Mapped[list[InstrumentVersion]] = relationship(
        back_populates="instrument", order_by="InstrumentVersion.version"
    )


class InstrumentVersion(Base):
    """One immutable version of an instrument, stored as its validated definition.

    Once a wave uses a version its ``content_hash`` may not change: a new wording needs a new
    version (and, for a changed item, a new item key).
    """

    __tablename__ = "instrument_version"
    __table_args__ = (UniqueConstraint("instrument_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instrument.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_file: Mapped[str] = mapped_column(String(300))
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    instrument: Mapped[Instrument] = relationship(back_populates="versions")
    waves: Mapped[list[Wave]] = relationship(back_populates="instrument_version")

    def language_status(self) -> dict[str, str]:
        return {code: meta["status"] for code, meta in self.definition["languages"].items()}


class Wave(Base):
    """One fielding of an instrument version, e.g. the first quarter of 2026."""

    __tablename__ = "wave"
    __table_args__ = (UniqueConstraint("agency_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    instrument_version_id: Mapped[int] = mapped_column(ForeignKey("instrument_version.id"))
    slug: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    opens_on: Mapped[dt.date] = mapped_column(Date)
    closes_on: Mapped[dt.date] = mapped_column(Date)
    closed_early_on: Mapped[dt.date | None] = mapped_column(Date)
    mode: Mapped[WaveMode] = mapped_column(_enum(WaveMode, "wave_mode"))
    languages: Mapped[list[str]] = mapped_column(JSON)
    # Draft translations that a survey manager accepted explicitly for this wave.
    accepted_draft_languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    # Small areas (neighborhoods or beats) finer than the strata, for model-based estimates;
    # None when the wave has none. Whether the public results page shows them is the admin's choice.
    area_kind: Mapped[AreaKind | None] = mapped_column(_enum(AreaKind, "area_kind"))
    area_source: Mapped[AreaSource | None] = mapped_column(_enum(AreaSource, "area_source"))
    publish_areas: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    agency: Mapped[Agency] = relationship(back_populates="waves")
    instrument_version: Mapped[InstrumentVersion] = relationship(back_populates="waves")
    strata: Mapped[list[WaveStratum]] = relationship(
        back_populates="wave", cascade="all, delete-orphan", order_by="WaveStratum.name"
    )
    areas: Mapped[list[WaveArea]] = relationship(
        back_populates="wave", cascade="all, delete-orphan", order_by="WaveArea.name"
    )

    def last_day(self) -> dt.date:
        return self.closed_early_on or self.closes_on

    def is_open(self, on: dt.date | None = None) -> bool:
        on = on or today()
        return self.opens_on <= on <= self.last_day()

    def status(self, on: dt.date | None = None) -> str:
        on = on or today()
        if on < self.opens_on:
            return "scheduled"
        if on > self.last_day():
            return "closed"
        return "open"


class WaveStratum(Base):
    """A sampling stratum of a wave (usually a police district) with its population size."""

    __tablename__ = "wave_stratum"
    __table_args__ = (UniqueConstraint("wave_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    population: Mapped[int | None] = mapped_column(Integer)

    wave: Mapped[Wave] = relationship(back_populates="strata")


class WaveArea(Base):
    """A small area of a wave (a neighborhood or beat) with what the model needs to know of it.

    ``population`` gives the area's share for benchmarking; ``covariates`` are area-level
    figures (e.g. census shares) the Fay-Herriot model uses, the same names for every area.
    """

    __tablename__ = "wave_area"
    __table_args__ = (UniqueConstraint("wave_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    stratum: Mapped[str | None] = mapped_column(String(100))
    population: Mapped[int | None] = mapped_column(Integer)
    covariates: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)

    wave: Mapped[Wave] = relationship(back_populates="areas")


class Invitation(Base):
    """A mailed access code. Only a keyed hash of the code is kept; the response never points here."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    stratum: Mapped[str | None] = mapped_column(String(100))
    # The small area when the wave takes it from the invitation; cleared when the code is used,
    # so a used invitation says no more about its response than its stratum does.
    area: Mapped[str | None] = mapped_column(String(100))
    selection_probability: Mapped[float | None] = mapped_column(Float)
    status: Mapped[InvitationStatus] = mapped_column(
        _enum(InvitationStatus, "invitation_status"), default=InvitationStatus.SENT
    )
    batch: Mapped[str | None] = mapped_column(String(64))
    created_on: Mapped[dt.date] = mapped_column(Date, default=today)
    # That the code opened the questionnaire (partials) and was used (completes), never when: a
    # date here would match the response stored at the same time.
    started: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    used: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class Response(Base):
    """A completed questionnaire: wave, stratum, language, channel and date; nothing else."""

    __tablename__ = "response"
    __table_args__ = {"sqlite_with_rowid": False}

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id"), index=True)
    stratum: Mapped[str | None] = mapped_column(String(100))
    # The small area (neighborhood or beat), like the stratum an attribute of the response only.
    area: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(16))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    # The design weight's inverse, copied from the stratum's invitations; None for open links.
    selection_probability: Mapped[float | None] = mapped_column(Float)
    # Open-link responses are a non-probability sample: analysts must not weight them as if sampled.
    sample: Mapped[Sample] = mapped_column(
        _enum(Sample, "sample"), default=Sample.PROBABILITY, server_default=Sample.PROBABILITY.value
    )
    # The Monday of the ISO week it came in (``week_of``): a day would single out a response
    # alone in its district that day.
    submitted_on: Mapped[dt.date] = mapped_column(Date, default=this_week)

    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class Answer(Base):
    """One answer to one item; a multi-select item has one row per chosen option (``ordinal``)."""

    __tablename__ = "answer"
    # On PostgreSQL the key carries the code and text, so a wave's answers are read from the key
    # alone (an index-only scan) instead of a heap page per answer: without it, PostgreSQL chose
    # to scan every agency's responses for one wave's answers (migration 0012_agency_indexes).
    __table_args__ = (
        PrimaryKeyConstraint("response_id", "item_key", "ordinal", postgresql_include=["code", "text"]),
        {"sqlite_with_rowid": False},
    )

    response_id: Mapped[str] = mapped_column(
        ForeignKey("response.id", ondelete="CASCADE"), primary_key=True
    )
    item_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True, default=0)
    code: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)

    response: Mapped[Response] = relationship(back_populates="answers")


class SurveyDraft(Base):
    """An unfinished questionnaire, sealed under a key only the resident's cookie holds.

    The invitation it came from, its stratum, the answers so far and the exact expiry are in
    ``sealed`` (AES-GCM under a key derived from the cookie's token, see ``respond/flow.py``);
    the row is found by a keyed hash of that token. Without the cookie the row says only that
    someone has a questionnaire of this wave open, and until which day the row may be kept.
    """

    __tablename__ = "survey_draft"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # The day after which the row is deleted (the exact expiry is sealed): no time of the visit.
    purge_after: Mapped[dt.date] = mapped_column(Date, index=True)


class PopulationTarget(Base):
    """A census margin used for weighting: the population count of one category of one variable."""

    __tablename__ = "population_target"
    __table_args__ = (UniqueConstraint("agency_id", "variable", "category", "stratum"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    variable: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(100))
    stratum: Mapped[str | None] = mapped_column(String(100))
    population: Mapped[float] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(String(200))


class StaffUser(Base):
    """A staff account of one agency, with its roles there; a campaign account has no agency.

    The same email may hold an account at several agencies: each is its own account, with its
    own password and roles, and signs in only at its agency's address.
    """

    __tablename__ = "staff_user"
    __table_args__ = (UniqueConstraint("agency_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_required: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last accepted TOTP time step: a code seen once is refused if replayed.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped by "sign out everywhere": sessions carrying an older value are refused.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def has_role(self, *roles: Role | str) -> bool:
        return any(str(role) in self.roles for role in roles)


class Complaint(Base):
    """A resident's complaint. What the resident wrote is encrypted at rest (the ``*_enc`` columns)."""

    __tablename__ = "complaint"
    __table_args__ = (UniqueConstraint("agency_id", "reference"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    # Indexed by the unique (agency_id, reference), which leads with it.
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    # A short reference staff can say on the phone; not secret, not the receipt. Numbered per agency.
    reference: Mapped[str] = mapped_column(String(16))
    receipt_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[ComplaintStatus] = mapped_column(
        _enum(ComplaintStatus, "complaint_status"), default=ComplaintStatus.RECEIVED
    )
    disposition: Mapped[Disposition | None] = mapped_column(_enum(Disposition, "disposition"))
    # Sealed: no statistic or filter needs it, and a rarely spoken language singles a resident out.
    language_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    on_behalf: Mapped[bool] = mapped_column(Boolean, default=False)
    wants_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    # Sealed: the day of a stop, read from the database, finds the complaint about it.
    incident_date_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    narrative_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    location_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    officers_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    witnesses_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    contact_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    contact_erased_on: Mapped[dt.date | None] = mapped_column(Date)
    received_on: Mapped[dt.date] = mapped_column(Date, default=today)
    acknowledged_on: Mapped[dt.date | None] = mapped_column(Date)
    review_started_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    # Bumped when the resident leaves the follow-up page: an older follow-up cookie shows nothing.
    # A counter, never a time, so the row does not tell when the resident looked.
    follow_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    messages: Mapped[list[ComplaintMessage]] = relationship(
        back_populates="complaint", cascade="all, delete-orphan", order_by="ComplaintMessage.seq"
    )
    assigned_to: Mapped[StaffUser | None] = relationship(foreign_keys=[assigned_to_id])


class ComplaintMessage(Base):
    """A message on a complaint: resident to staff, staff to resident, or an internal staff note."""

    __tablename__ = "complaint_message"
    __table_args__ = (UniqueConstraint("complaint_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[str] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(16))  # "resident", "staff", "note"
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    body_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_on: Mapped[dt.date] = mapped_column(Date, default=today)
    read_on: Mapped[dt.date | None] = mapped_column(Date)

    complaint: Mapped[Complaint] = relationship(back_populates="messages")


class AuditEvent(Base):
    """Append-only, hash-chained record of staff actions (every view or change of a complaint).

    ``hash`` = SHA-256 over the previous row's hash and this row's canonical JSON, so an edited,
    inserted or deleted row breaks the chain from that point on.
    """

    __tablename__ = "audit_event"
    # A complaint's history page reads its events by object: without this index it scanned the log.
    # Each agency has its own chain (the campaign's events, agency None, another): ``seq`` counts
    # 1, 2, 3 ... within it, so a deleted event shows as a gap without reading other agencies' rows.
    __table_args__ = (
        Index("ix_audit_event_object", "object_type", "object_id"),
        Index("ix_audit_event_agency_seq", "agency_id", "seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ThrottleBucket(Base):
    """One rate-limit counter: events of one kind from one client (and scope) in one period.

    ``key`` is a keyed hash (HMAC under THROTTLE_KEY) of kind, scope, client and period: no address,
    prefix or email is stored. ``account`` is a keyed hash of the staff account on sign-in rows
    that count per account, so that an administrator can lift that account's lock-outs. Each kind's
    clean-up deletes only its own rows, by ``period`` (see survey/throttle.py).
    """

    __tablename__ = "throttle_bucket"
    __table_args__ = (
        Index("ix_throttle_bucket_kind_period", "kind", "period"),
        Index("ix_throttle_bucket_kind_account", "kind", "account"),
    )

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    account: Mapped[str | None] = mapped_column(String(64))


class StaffSession(Base):
    """A signed-in staff session; signing out deletes it, so a replayed cookie signs in no one.

    The cookie carries a random token; only its SHA-256 is stored here.
    """

    __tablename__ = "staff_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StaffInvite(Base):
    """A one-time link that lets an invited account (an agency's first administrator, made by the
    campaign) set its own password. Only the link's SHA-256 is stored; it works once, until
    ``expires_at``."""

    __tablename__ = "staff_invite"
    __table_args__ = (Index("ix_staff_invite_agency_user", "agency_id", "staff_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

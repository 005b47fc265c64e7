"""Typed SQLAlchemy models: calls and their record, appointments, messages, escalations, tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Constraint names are fixed by convention so migrations can name what they alter or drop.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Every appointment claims one `appointment_slots` row per unit of this length it touches.
SLOT_UNIT = timedelta(minutes=5)
DEFAULT_RESOURCE = "default"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    PostgreSQL stores `timestamptz`; SQLite has no timezone, so values are stored as naive UTC
    and given back their UTC tzinfo on the way out. Naive input is refused: a naive datetime
    is a bug (whose local time?), not something to guess about.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def slot_units(start_at: datetime, end_at: datetime) -> list[datetime]:
    """The `SLOT_UNIT`-aligned UTC instants an appointment from `start_at` to `end_at` claims.

    Every unit the interval touches is claimed, so two overlapping appointments always share
    at least one unit and the UNIQUE constraint refuses the second one.
    """
    unit_secs = int(SLOT_UNIT.total_seconds())
    start = int(start_at.astimezone(UTC).timestamp())
    end = int(end_at.astimezone(UTC).timestamp())
    first = start - start % unit_secs
    return [datetime.fromtimestamp(t, UTC) for t in range(first, end, unit_secs)]


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Call(Base):
    """One phone call; the call-record fields (intent, summary, recording) are filled later."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    stream_sid: Mapped[str | None] = mapped_column(String(64))
    caller_phone: Mapped[str | None] = mapped_column(String(32), index=True)
    called_phone: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    intent: Mapped[str | None] = mapped_column(String(32), index=True)
    summary: Mapped[str | None] = mapped_column(Text)
    recording_path: Mapped[str | None] = mapped_column(String(500))
    # Room for what later issues add (e.g. averages, error details) without a migration.
    extra: Mapped[dict[str, Any] | None]
    # Estimated cost in US dollars, and the usage and unit prices it came from (see call.record).
    cost_usd: Mapped[float | None] = mapped_column(Float)
    usage: Mapped[dict[str, Any] | None]


class CallTurn(Base):
    """One turn of the transcript, written as the call goes, with its latency breakdown."""

    __tablename__ = "call_turns"
    __table_args__ = (UniqueConstraint("call_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int]
    role: Mapped[str] = mapped_column(String(16))  # user / assistant
    text: Mapped[str] = mapped_column(Text, default="")
    heard_text: Mapped[str | None] = mapped_column(Text)
    interrupted: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    stt_ms: Mapped[float | None] = mapped_column(Float)
    llm_ttfb_ms: Mapped[float | None] = mapped_column(Float)
    tts_ttfb_ms: Mapped[float | None] = mapped_column(Float)
    voice_to_voice_ms: Mapped[float | None] = mapped_column(Float)


class CallAction(Base):
    """Something a call did: booked, rescheduled, cancelled, message, transfer, sms, failures."""

    __tablename__ = "call_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]


class Appointment(Base):
    """A booked (or cancelled) appointment; its time is claimed in `appointment_slots`."""

    __tablename__ = "appointments"
    __table_args__ = (Index(None, "caller_phone", "start_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), default=DEFAULT_RESOURCE)
    service: Mapped[str] = mapped_column(String(80))
    start_at: Mapped[datetime] = mapped_column(index=True)
    end_at: Mapped[datetime]
    caller_phone: Mapped[str | None] = mapped_column(String(32))
    caller_name: Mapped[str] = mapped_column(String(100))
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="booked")  # booked / cancelled
    call_sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AppointmentSlot(Base):
    """The double-booking guard: one row per 5-minute unit a booked appointment occupies.

    UNIQUE(resource, slot_start_at) means two appointments that overlap on a resource can
    never both hold their claims, whichever process writes first; SQLite and PostgreSQL
    both enforce it without exclusion constraints or range types.
    """

    __tablename__ = "appointment_slots"
    __table_args__ = (UniqueConstraint("resource", "slot_start_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource: Mapped[str] = mapped_column(String(64))
    slot_start_at: Mapped[datetime]
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )


class Message(Base):
    """A message for the owner."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    caller_name: Mapped[str] = mapped_column(String(100))
    caller_phone: Mapped[str | None] = mapped_column(String(32))
    callback_number: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    call_sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)
    # Set when the owner marks the message handled (and by whom); NULL means unread.
    handled_at: Mapped[datetime | None]
    handled_by: Mapped[str | None] = mapped_column(String(100))


class Escalation(Base):
    """A request to reach a human and what came of it (transferred / message_offered / failed)."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(16), default="llm")  # llm / dtmf
    outcome: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class StreamTokenUse(Base):
    """A consumed media-stream token nonce: the PRIMARY KEY makes each token single-use."""

    __tablename__ = "stream_tokens"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime] = mapped_column(index=True)


class CallSlot(Base):
    """A streamed call holding one of the box's concurrent-call slots, across worker processes.

    A row lives while its call does: the webhook reserves it, the call renews it, the call's end
    releases it. `expires_at` frees the slot of a worker that died without releasing it.
    """

    __tablename__ = "call_slots"

    call_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class OwnerAction(Base):
    """The audit log: every change the owner makes from the dashboard, with who and when."""

    __tablename__ = "owner_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))  # cancel_appointment / move_appointment / ...
    target: Mapped[str] = mapped_column(String(64), index=True)  # e.g. "appointment:12"
    detail: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(index=True)

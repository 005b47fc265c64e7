"""The plain, frozen records the repository returns instead of ORM objects."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Generic, TypeVar

from zylin.storage.models import Base

T = TypeVar("T")

# Repository methods return these frozen dataclasses, never ORM objects: callers can keep and
# pass them around after the session is gone without lazy loads or accidental writes.


@dataclass(frozen=True)
class CallRecord:
    """A row of `calls`."""

    id: int
    call_sid: str
    stream_sid: str | None
    caller_phone: str | None
    called_phone: str | None
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    intent: str | None
    summary: str | None
    recording_path: str | None
    extra: dict[str, Any] | None
    cost_usd: float | None = None
    usage: dict[str, Any] | None = None


@dataclass(frozen=True)
class TurnRecord:
    """A row of `call_turns`."""

    id: int
    call_id: int
    seq: int
    role: str
    text: str
    heard_text: str | None
    interrupted: bool
    started_at: datetime | None
    ended_at: datetime | None
    stt_ms: float | None
    llm_ttfb_ms: float | None
    tts_ttfb_ms: float | None
    voice_to_voice_ms: float | None


@dataclass(frozen=True)
class ActionRecord:
    """A row of `call_actions`."""

    id: int
    call_id: int
    kind: str
    detail: dict[str, Any] | None
    created_at: datetime


@dataclass(frozen=True)
class CallDetail:
    """A call with its transcript and actions, oldest first."""

    call: CallRecord
    turns: list[TurnRecord]
    actions: list[ActionRecord]


@dataclass(frozen=True)
class TurnStats:
    """A call's turn count and mean voice-to-voice latency, without loading its turns.

    `avg_voice_to_voice_ms` is over the turns that measured it; None when none did.
    """

    turn_count: int = 0
    avg_voice_to_voice_ms: float | None = None


@dataclass(frozen=True)
class AppointmentRecord:
    """A row of `appointments`."""

    id: int
    resource: str
    service: str
    start_at: datetime
    end_at: datetime
    caller_phone: str | None
    caller_name: str
    notes: str
    status: str
    call_sid: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MessageRecord:
    """A row of `messages`."""

    id: int
    caller_name: str
    caller_phone: str | None
    callback_number: str | None
    message: str
    call_sid: str | None
    created_at: datetime
    handled_at: datetime | None = None
    handled_by: str | None = None


@dataclass(frozen=True)
class EscalationRecord:
    """A row of `escalations`."""

    id: int
    call_sid: str | None
    reason: str
    source: str
    outcome: str
    created_at: datetime


@dataclass(frozen=True)
class OwnerActionRecord:
    """A row of `owner_actions`: who changed what, and when."""

    id: int
    actor: str
    action: str
    target: str
    detail: dict[str, Any] | None
    created_at: datetime


@dataclass(frozen=True)
class CallFacts:
    """What the success measures need about one call, without its transcript."""

    id: int
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    intent: str | None
    cost_usd: float | None
    booked: bool


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, with the total count for pagination."""

    items: list[T]
    total: int
    limit: int
    offset: int


def to_record(cls: type[T], row: Base) -> T:
    """Copy an ORM row's columns into the record type `cls` (fields named like the columns)."""
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})  # type: ignore[arg-type]

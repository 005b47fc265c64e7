"""The data access API for tools, the server and the owner's API; returns plain dataclasses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from zylin.storage.db import WRITE_OPTION
from zylin.storage.models import (
    DEFAULT_RESOURCE,
    Appointment,
    AppointmentSlot,
    Base,
    Call,
    CallAction,
    CallTurn,
    Escalation,
    Message,
    StreamTokenUse,
    slot_units,
)

T = TypeVar("T")

BOOKED = "booked"
CANCELLED = "cancelled"


class SlotTaken(Exception):
    """The requested time overlaps an appointment already in the book (database-enforced)."""


# --- Plain records -----------------------------------------------------------------------
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
class Page(Generic[T]):
    """One page of a listing, with the total count for pagination."""

    items: list[T]
    total: int
    limit: int
    offset: int


def _record(cls: type[T], row: Base) -> T:
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})  # type: ignore[arg-type]


def _is_slot_conflict(exc: IntegrityError) -> bool:
    # SQLite: "UNIQUE constraint failed: appointment_slots.resource, ..."; PostgreSQL names
    # the constraint uq_appointment_slots_resource_slot_start_at. Both mention the table.
    return "appointment_slots" in str(exc.orig)


_CALL_FIELDS = {
    "stream_sid",
    "caller_phone",
    "called_phone",
    "ended_at",
    "end_reason",
    "intent",
    "summary",
    "recording_path",
    "extra",
}
_TURN_FIELDS = {
    "text",
    "heard_text",
    "interrupted",
    "started_at",
    "ended_at",
    "stt_ms",
    "llm_ttfb_ms",
    "tts_ttfb_ms",
    "voice_to_voice_ms",
}


class Repository:
    """Async access to Zylin's tables, shared by every call in a server process.

    Each method is one short transaction. Writes that read first run as BEGIN IMMEDIATE on
    SQLite (see `storage.db.create_engine`), so concurrent processes queue instead of failing.

    Args:
        sessions: from `storage.db.session_factory(engine)`.
        clock: the time for `created_at`/`updated_at`/`used_at` stamps (injected in tests).
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock or (lambda: datetime.now(UTC))

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction, committed on exit, rolled back on an exception."""
        async with self._sessions() as session, session.begin():
            await session.connection(execution_options={WRITE_OPTION: True})
            yield session

    # --- Calls ---------------------------------------------------------------------------

    async def create_call(
        self,
        call_sid: str,
        *,
        started_at: datetime | None = None,
        stream_sid: str | None = None,
        caller_phone: str | None = None,
        called_phone: str | None = None,
    ) -> CallRecord:
        """Record a call starting; idempotent (a second call fills in missing fields only)."""
        async with self._write() as session:
            row = await self._call_row(session, call_sid, create=False)
            if row is None:
                row = Call(call_sid=call_sid, started_at=started_at or self._clock())
                session.add(row)
            for name, value in (
                ("stream_sid", stream_sid),
                ("caller_phone", caller_phone),
                ("called_phone", called_phone),
            ):
                if value is not None and getattr(row, name) is None:
                    setattr(row, name, value)
            await session.flush()
            return _record(CallRecord, row)

    async def finish_call(
        self, call_sid: str, *, end_reason: str, ended_at: datetime | None = None
    ) -> None:
        """Stamp the end of a call and why it ended."""
        await self.update_call(call_sid, end_reason=end_reason, ended_at=ended_at or self._clock())

    async def update_call(self, call_sid: str, **values: Any) -> None:
        """Set call fields (intent, summary, recording_path, extra, ...) by call SID."""
        unknown = set(values) - _CALL_FIELDS
        if unknown:
            raise ValueError(f"not call fields: {sorted(unknown)}")
        async with self._write() as session:
            await session.execute(update(Call).where(Call.call_sid == call_sid).values(**values))

    async def get_call(self, call_id: int) -> CallDetail | None:
        """A call with its turns and actions, by id."""
        async with self._read() as session:
            row = await session.get(Call, call_id)
            return None if row is None else await self._detail(session, row)

    async def get_call_by_sid(self, call_sid: str) -> CallDetail | None:
        """A call with its turns and actions, by Twilio call SID."""
        async with self._read() as session:
            row = await self._call_row(session, call_sid, create=False)
            return None if row is None else await self._detail(session, row)

    async def list_calls(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        intent: str | None = None,
        caller: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[CallRecord]:
        """Calls newest first, filtered by start time in [start, end), intent and caller number.

        `caller` matches a substring of the caller's number, so "0199" finds "+15550100199".
        """
        query = select(Call)
        if start is not None:
            query = query.where(Call.started_at >= start)
        if end is not None:
            query = query.where(Call.started_at < end)
        if intent:
            query = query.where(Call.intent == intent)
        if caller:
            query = query.where(Call.caller_phone.contains(caller, autoescape=True))
        limit = max(1, min(limit, 500))
        offset = max(0, offset)
        async with self._read() as session:
            total = await session.scalar(select(func.count()).select_from(query.subquery()))
            rows = await session.scalars(
                query.order_by(Call.started_at.desc(), Call.id.desc()).limit(limit).offset(offset)
            )
            return Page([_record(CallRecord, r) for r in rows], int(total or 0), limit, offset)

    async def _call_row(self, session: AsyncSession, call_sid: str, *, create: bool) -> Call | None:
        row = await session.scalar(select(Call).where(Call.call_sid == call_sid))
        if row is None and create:
            row = Call(call_sid=call_sid, started_at=self._clock())
            session.add(row)
            await session.flush()
        return row

    async def _detail(self, session: AsyncSession, row: Call) -> CallDetail:
        turns = await session.scalars(
            select(CallTurn).where(CallTurn.call_id == row.id).order_by(CallTurn.seq)
        )
        actions = await session.scalars(
            select(CallAction).where(CallAction.call_id == row.id).order_by(CallAction.id)
        )
        return CallDetail(
            call=_record(CallRecord, row),
            turns=[_record(TurnRecord, t) for t in turns],
            actions=[_record(ActionRecord, a) for a in actions],
        )

    # --- Transcript and actions ----------------------------------------------------------

    async def add_turn(self, call_sid: str, *, seq: int, role: str, **values: Any) -> int:
        """Store one transcript turn as soon as it is known; returns its id for `update_turn`.

        The call row is created if the server has not written it yet, so nothing is dropped.
        """
        unknown = set(values) - _TURN_FIELDS
        if unknown:
            raise ValueError(f"not turn fields: {sorted(unknown)}")
        async with self._write() as session:
            call = await self._call_row(session, call_sid, create=True)
            assert call is not None
            turn = CallTurn(call_id=call.id, seq=seq, role=role, **values)
            session.add(turn)
            await session.flush()
            return turn.id

    async def update_turn(self, turn_id: int, **values: Any) -> None:
        """Fill in a turn later (heard text after a barge-in, latency figures)."""
        unknown = set(values) - _TURN_FIELDS
        if unknown:
            raise ValueError(f"not turn fields: {sorted(unknown)}")
        async with self._write() as session:
            await session.execute(update(CallTurn).where(CallTurn.id == turn_id).values(**values))

    async def add_action(
        self, call_sid: str, kind: str, detail: dict[str, Any] | None = None
    ) -> int:
        """Record something the call did (booked, sms_failed, ...); returns the action id."""
        async with self._write() as session:
            call = await self._call_row(session, call_sid, create=True)
            assert call is not None
            action = CallAction(call_id=call.id, kind=kind, detail=detail, created_at=self._clock())
            session.add(action)
            await session.flush()
            return action.id

    # --- Appointments --------------------------------------------------------------------

    async def book(
        self,
        *,
        service: str,
        start_at: datetime,
        end_at: datetime,
        caller_name: str,
        caller_phone: str | None,
        notes: str = "",
        call_sid: str | None = None,
        resource: str = DEFAULT_RESOURCE,
    ) -> AppointmentRecord:
        """Store an appointment and claim its time, in one transaction.

        Raises:
            SlotTaken: another appointment on `resource` overlaps [start_at, end_at).
        """
        if end_at <= start_at:
            raise ValueError("an appointment must end after it starts")
        now = self._clock()
        try:
            async with self._write() as session:
                row = Appointment(
                    resource=resource,
                    service=service,
                    start_at=start_at,
                    end_at=end_at,
                    caller_phone=caller_phone,
                    caller_name=caller_name,
                    notes=notes,
                    status=BOOKED,
                    call_sid=call_sid,
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
                await session.flush()
                self._claim(session, row)
                await session.flush()
                return _record(AppointmentRecord, row)
        except IntegrityError as exc:
            if _is_slot_conflict(exc):
                raise SlotTaken(f"{resource} is busy between {start_at} and {end_at}") from None
            raise

    async def reschedule(
        self,
        appointment_id: int,
        *,
        start_at: datetime,
        end_at: datetime,
        caller_phone: str | None = None,
    ) -> AppointmentRecord | None:
        """Move a booked appointment, releasing the old time and claiming the new one atomically.

        With `caller_phone`, only that caller's appointment is found. Returns None when there
        is no such booked appointment; on `SlotTaken` the appointment is left as it was.

        Raises:
            SlotTaken: the new time overlaps another appointment.
        """
        if end_at <= start_at:
            raise ValueError("an appointment must end after it starts")
        try:
            async with self._write() as session:
                row = await self._owned(session, appointment_id, caller_phone)
                if row is None:
                    return None
                await session.execute(
                    delete(AppointmentSlot).where(AppointmentSlot.appointment_id == row.id)
                )
                row.start_at, row.end_at, row.updated_at = start_at, end_at, self._clock()
                self._claim(session, row)
                await session.flush()
                return _record(AppointmentRecord, row)
        except IntegrityError as exc:
            if _is_slot_conflict(exc):
                raise SlotTaken(f"busy between {start_at} and {end_at}") from None
            raise

    async def cancel(
        self, appointment_id: int, *, caller_phone: str | None = None
    ) -> AppointmentRecord | None:
        """Cancel a booked appointment and free its time; None when there is no such booking."""
        async with self._write() as session:
            row = await self._owned(session, appointment_id, caller_phone)
            if row is None:
                return None
            await session.execute(
                delete(AppointmentSlot).where(AppointmentSlot.appointment_id == row.id)
            )
            row.status, row.updated_at = CANCELLED, self._clock()
            await session.flush()
            return _record(AppointmentRecord, row)

    async def get_appointment(self, appointment_id: int) -> AppointmentRecord | None:
        """An appointment by id, whatever its status."""
        async with self._read() as session:
            row = await session.get(Appointment, appointment_id)
            return None if row is None else _record(AppointmentRecord, row)

    async def appointments_between(
        self,
        start: datetime,
        end: datetime,
        *,
        resource: str | None = None,
        include_cancelled: bool = False,
    ) -> list[AppointmentRecord]:
        """Appointments overlapping [start, end), earliest first (booked only by default)."""
        query = select(Appointment).where(Appointment.start_at < end, Appointment.end_at > start)
        if resource is not None:
            query = query.where(Appointment.resource == resource)
        if not include_cancelled:
            query = query.where(Appointment.status == BOOKED)
        async with self._read() as session:
            rows = await session.scalars(query.order_by(Appointment.start_at, Appointment.id))
            return [_record(AppointmentRecord, r) for r in rows]

    async def upcoming_for_phone(self, phone: str, now: datetime) -> list[AppointmentRecord]:
        """A caller's booked appointments that have not started yet, earliest first."""
        query = (
            select(Appointment)
            .where(
                Appointment.caller_phone == phone,
                Appointment.status == BOOKED,
                Appointment.start_at >= now,
            )
            .order_by(Appointment.start_at, Appointment.id)
        )
        async with self._read() as session:
            return [_record(AppointmentRecord, r) for r in await session.scalars(query)]

    @staticmethod
    def _claim(session: AsyncSession, row: Appointment) -> None:
        session.add_all(
            AppointmentSlot(resource=row.resource, slot_start_at=unit, appointment_id=row.id)
            for unit in slot_units(row.start_at, row.end_at)
        )

    @staticmethod
    async def _owned(
        session: AsyncSession, appointment_id: int, caller_phone: str | None
    ) -> Appointment | None:
        query = (
            select(Appointment)
            .where(Appointment.id == appointment_id, Appointment.status == BOOKED)
            .with_for_update()
        )
        if caller_phone is not None:
            query = query.where(Appointment.caller_phone == caller_phone)
        return await session.scalar(query)

    # --- Messages and escalations --------------------------------------------------------

    async def add_message(
        self,
        *,
        caller_name: str,
        message: str,
        caller_phone: str | None,
        callback_number: str | None,
        call_sid: str | None = None,
    ) -> MessageRecord:
        """Store a message for the owner."""
        async with self._write() as session:
            row = Message(
                caller_name=caller_name,
                caller_phone=caller_phone,
                callback_number=callback_number,
                message=message,
                call_sid=call_sid,
                created_at=self._clock(),
            )
            session.add(row)
            await session.flush()
            return _record(MessageRecord, row)

    async def list_messages(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[MessageRecord]:
        """Messages newest first, optionally within [start, end)."""
        query = select(Message)
        if start is not None:
            query = query.where(Message.created_at >= start)
        if end is not None:
            query = query.where(Message.created_at < end)
        limit = max(1, min(limit, 500))
        offset = max(0, offset)
        async with self._read() as session:
            total = await session.scalar(select(func.count()).select_from(query.subquery()))
            rows = await session.scalars(
                query.order_by(Message.created_at.desc(), Message.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return Page([_record(MessageRecord, r) for r in rows], int(total or 0), limit, offset)

    async def add_escalation(
        self, *, call_sid: str | None, reason: str, outcome: str, source: str = "llm"
    ) -> int:
        """Record a request for a human (outcome transferred / message_offered / failed)."""
        async with self._write() as session:
            row = Escalation(
                call_sid=call_sid,
                reason=reason[:300],
                source=source,
                outcome=outcome,
                created_at=self._clock(),
            )
            session.add(row)
            await session.flush()
            return row.id

    async def set_escalation_outcome(self, escalation_id: int, outcome: str) -> None:
        """Correct an escalation's outcome (e.g. transferred -> failed when Twilio refused)."""
        async with self._write() as session:
            await session.execute(
                update(Escalation).where(Escalation.id == escalation_id).values(outcome=outcome)
            )

    async def escalations_for_call(self, call_sid: str) -> list[EscalationRecord]:
        """A call's escalations, oldest first."""
        async with self._read() as session:
            rows = await session.scalars(
                select(Escalation).where(Escalation.call_sid == call_sid).order_by(Escalation.id)
            )
            return [_record(EscalationRecord, r) for r in rows]

    # --- Stream tokens -------------------------------------------------------------------

    async def consume_stream_token(self, nonce: str, call_sid: str) -> bool:
        """True the first time a token nonce is presented, False ever after, across processes.

        The INSERT on the primary key is the check: whichever process commits first wins.
        """
        try:
            async with self._write() as session:
                session.add(StreamTokenUse(nonce=nonce, call_sid=call_sid, used_at=self._clock()))
                await session.flush()
        except IntegrityError:
            return False
        return True

    async def prune_stream_tokens(self, before: datetime) -> int:
        """Forget nonces used before `before` (their tokens have long expired)."""
        async with self._write() as session:
            result = await session.execute(
                delete(StreamTokenUse).where(StreamTokenUse.used_at < before)
            )
            return int(getattr(result, "rowcount", 0) or 0)

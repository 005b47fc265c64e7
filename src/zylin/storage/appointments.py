"""The appointment book: booking, moving and cancelling, with the no-double-booking guard."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from zylin.storage.models import DEFAULT_RESOURCE, Appointment, AppointmentSlot, slot_units
from zylin.storage.owner_actions import add_owner_action
from zylin.storage.records import AppointmentRecord, to_record
from zylin.storage.store import Store

BOOKED = "booked"
CANCELLED = "cancelled"


class SlotTaken(Exception):
    """The requested time overlaps an appointment already in the book (database-enforced)."""


class AppointmentStore(Store):
    """Appointments; each booked one claims its time in `appointment_slots`."""

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
                _claim(session, row)
                await session.flush()
                return to_record(AppointmentRecord, row)
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
        by: str | None = None,
    ) -> AppointmentRecord | None:
        """Move a booked appointment, releasing the old time and claiming the new one atomically.

        With `caller_phone`, only that caller's appointment is found. Returns None when there
        is no such booked appointment; on `SlotTaken` the appointment is left as it was.
        `by` names the owner making the change: it is audited in the same transaction.

        Raises:
            SlotTaken: the new time overlaps another appointment.
        """
        if end_at <= start_at:
            raise ValueError("an appointment must end after it starts")
        try:
            async with self._write() as session:
                row = await _owned(session, appointment_id, caller_phone)
                if row is None:
                    return None
                await session.execute(
                    delete(AppointmentSlot).where(AppointmentSlot.appointment_id == row.id)
                )
                before = row.start_at
                row.start_at, row.end_at, row.updated_at = start_at, end_at, self._clock()
                _claim(session, row)
                if by is not None:
                    add_owner_action(
                        session,
                        actor=by,
                        action="move_appointment",
                        target=f"appointment:{row.id}",
                        detail={"from": before.isoformat(), "to": start_at.isoformat()},
                        at=row.updated_at,
                    )
                await session.flush()
                return to_record(AppointmentRecord, row)
        except IntegrityError as exc:
            if _is_slot_conflict(exc):
                raise SlotTaken(f"busy between {start_at} and {end_at}") from None
            raise

    async def cancel(
        self, appointment_id: int, *, caller_phone: str | None = None, by: str | None = None
    ) -> AppointmentRecord | None:
        """Cancel a booked appointment and free its time; None when there is no such booking.

        `by` names the owner making the change: it is audited in the same transaction.
        """
        async with self._write() as session:
            row = await _owned(session, appointment_id, caller_phone)
            if row is None:
                return None
            await session.execute(
                delete(AppointmentSlot).where(AppointmentSlot.appointment_id == row.id)
            )
            row.status, row.updated_at = CANCELLED, self._clock()
            if by is not None:
                add_owner_action(
                    session,
                    actor=by,
                    action="cancel_appointment",
                    target=f"appointment:{row.id}",
                    detail={"start_at": row.start_at.isoformat(), "service": row.service},
                    at=row.updated_at,
                )
            await session.flush()
            return to_record(AppointmentRecord, row)

    async def get_appointment(self, appointment_id: int) -> AppointmentRecord | None:
        """An appointment by id, whatever its status."""
        async with self._read() as session:
            row = await session.get(Appointment, appointment_id)
            return None if row is None else to_record(AppointmentRecord, row)

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
            return [to_record(AppointmentRecord, r) for r in rows]

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
            return [to_record(AppointmentRecord, r) for r in await session.scalars(query)]


def _claim(session: AsyncSession, row: Appointment) -> None:
    session.add_all(
        AppointmentSlot(resource=row.resource, slot_start_at=unit, appointment_id=row.id)
        for unit in slot_units(row.start_at, row.end_at)
    )


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


def _is_slot_conflict(exc: IntegrityError) -> bool:
    # SQLite: "UNIQUE constraint failed: appointment_slots.resource, ..."; PostgreSQL names
    # the constraint uq_appointment_slots_resource_slot_start_at. Both mention the table.
    return "appointment_slots" in str(exc.orig)

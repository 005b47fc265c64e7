"""Booking tools: check availability, book, find, move and cancel the caller's own appointments."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from loguru import logger
from pipecat.services.llm_service import FunctionCallParams

from tools.availability import free_starts, nearest_free, search_range
from tools.common import Result, context_of, direct_tool, record_action
from tools.notify import send_later, texts_for
from tools.validation import (
    APPOINTMENT_NOT_FOUND,
    MAX_NAME,
    MAX_TEXT,
    ToolInputError,
    check_day,
    check_start,
    clean_text,
    find_service,
    join_words,
    parse_appointment_id,
    parse_day,
    parse_start,
    say_day,
    say_time,
    say_when,
)
from zylin.business.profile import Service
from zylin.call.context import CallContext
from zylin.storage.models import DEFAULT_RESOURCE
from zylin.storage.repository import AppointmentRecord, SlotTaken

NOT_FOUND = APPOINTMENT_NOT_FOUND
NO_PHONE = (
    "I can't see the number you're calling from, so I can't look up or change bookings by "
    "phone. I can take a message for the team instead."
)
MAX_LISTED = 10
NOT_CONFIRMED = (
    "I'm sorry, I couldn't confirm that booking because of a technical problem, so it is not "
    "booked yet. I can take a message so the team books it and calls you back."
)


def _iso(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM`, the format the tools take back."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def _local(ctx: CallContext, moment: datetime) -> datetime:
    return moment.astimezone(ctx.profile.tz)


def _summary(ctx: CallContext, appointment: AppointmentRecord) -> Result:
    start = _local(ctx, appointment.start_at)
    return {
        "appointment_id": appointment.id,
        "service": appointment.service,
        "start": _iso(start),
        "when": say_when(start),
    }


def _times_in_words(starts: list[datetime], step_minutes: int) -> str:
    """'every 15 minutes from 9:00 AM to 11:30 AM and 2:00 PM' (runs of 3+ are collapsed)."""
    runs: list[list[datetime]] = []
    for start in starts:
        if runs and start - runs[-1][-1] == timedelta(minutes=step_minutes):
            runs[-1].append(start)
        else:
            runs.append([start])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(
                f"every {step_minutes} minutes from {say_time(run[0])} to {say_time(run[-1])}"
            )
        else:
            parts.extend(say_time(s) for s in run)
    return join_words(parts)


async def _busy(
    ctx: CallContext, start: datetime, end: datetime, *, exclude_id: int | None = None
) -> list[tuple[datetime, datetime]]:
    appointments = await ctx.repository.appointments_between(start, end, resource=DEFAULT_RESOURCE)
    return [(a.start_at, a.end_at) for a in appointments if a.id != exclude_id]


async def _suggest(
    ctx: CallContext, minutes: int, wanted: datetime, *, exclude_id: int | None = None
) -> list[datetime]:
    now = ctx.now()
    start, end = search_range(ctx.profile, wanted, now)
    busy = await _busy(ctx, start, end, exclude_id=exclude_id)
    return nearest_free(ctx.profile, minutes, wanted, now, busy)


def _offer(problem: str, suggestions: list[datetime]) -> Result:
    if not suggestions:
        return {"error": f"{problem} I don't see a free time near then. Would another week suit?"}
    words = join_words([say_when(s) for s in suggestions])
    return {
        "error": f"{problem} The nearest free times are {words}.",
        "nearest_free": [_iso(s) for s in suggestions],
    }


async def _checked_start(
    ctx: CallContext,
    service: Service,
    start_text: str,
    *,
    exclude_id: int | None = None,
) -> datetime | Result:
    """The parsed start, or an error result (with nearby free times where they help)."""
    profile, now = ctx.profile, ctx.now()
    start = parse_start(start_text, profile)
    try:
        check_start(profile, service, start, now)
    except ToolInputError as exc:
        today = profile.local_now(now).date()
        if today <= start.date() <= profile.days_ahead_limit(now):
            suggestions = await _suggest(ctx, service.minutes, start, exclude_id=exclude_id)
            return _offer(str(exc), suggestions)
        raise
    return start


def _require_phone(ctx: CallContext) -> str:
    if not ctx.caller_phone:
        raise ToolInputError(NO_PHONE)
    return ctx.caller_phone


async def _own_upcoming(ctx: CallContext, appointment_id: object) -> AppointmentRecord:
    """The caller's booked appointment; another caller's looks exactly like a missing one."""
    phone = _require_phone(ctx)
    wanted = parse_appointment_id(appointment_id)
    appointment = await ctx.repository.get_appointment(wanted)
    if appointment is None or appointment.caller_phone != phone or appointment.status != "booked":
        raise ToolInputError(NOT_FOUND)
    if appointment.start_at < ctx.now():
        raise ToolInputError("That appointment has already taken place.")
    return appointment


# --- Tools -----------------------------------------------------------------------------------


@direct_tool
async def check_availability(params: FunctionCallParams, date: str, service: str) -> Result:
    """List the free start times for a service on one day. Call it before offering times.

    Args:
        date: The day, as YYYY-MM-DD in the business's timezone.
        service: The service name, exactly as the business lists it.
    """
    ctx = context_of(params)
    profile, now = ctx.profile, ctx.now()
    chosen = find_service(profile, service)
    day = parse_day(date)
    check_day(profile, day, now)
    day_start = datetime.combine(day, time.min, tzinfo=profile.tz)
    busy = await _busy(ctx, day_start, day_start + timedelta(days=1))
    starts = free_starts(profile, chosen.minutes, day, now, busy)
    result: Result = {
        "date": day.isoformat(),
        "day": say_day(day),
        "service": chosen.name,
        "minutes": chosen.minutes,
        "free_times": [s.strftime("%H:%M") for s in starts],
    }
    if starts:
        result["in_words"] = _times_in_words(starts, profile.booking.slot_minutes)
        return result
    window = profile.opening_on(day)
    wanted = datetime.combine(day, window.opens if window else time(12), tzinfo=profile.tz)
    suggestions = await _suggest(ctx, chosen.minutes, wanted)
    result["message"] = f"Nothing is free for a {chosen.name} on {say_day(day)}."
    if suggestions:
        result["nearest_free"] = [_iso(s) for s in suggestions]
        result["nearest_in_words"] = join_words([say_when(s) for s in suggestions])
    return result


@direct_tool
async def book_appointment(
    params: FunctionCallParams, service: str, start: str, caller_name: str, notes: str = ""
) -> Result:
    """Book an appointment for this caller (their phone number is taken from the call).

    Args:
        service: The service name, exactly as the business lists it.
        start: The start, as YYYY-MM-DDTHH:MM (24-hour) in the business's timezone.
        caller_name: The caller's name, for the appointment.
        notes: Anything the business should know (optional).
    """
    ctx = context_of(params)
    profile = ctx.profile
    limit = min(ctx.limits.max_bookings, profile.booking.max_bookings_per_call)
    if ctx.done.bookings >= limit:
        raise ToolInputError(
            f"I can book at most {limit} appointments in one call. "
            "I can take a message for anything else."
        )
    chosen = find_service(profile, service)
    name = clean_text(caller_name, what="caller's name", max_len=MAX_NAME, required=True)
    extra = clean_text(notes, what="notes", max_len=MAX_TEXT, required=False)
    checked = await _checked_start(ctx, chosen, start)
    if isinstance(checked, dict):
        return checked
    try:
        appointment = await ctx.repository.book(
            service=chosen.name,
            start_at=checked,
            end_at=checked + timedelta(minutes=chosen.minutes),
            caller_name=name,
            caller_phone=ctx.caller_phone,
            notes=extra,
            call_sid=ctx.call_sid,
        )
    except SlotTaken:
        suggestions = await _suggest(ctx, chosen.minutes, checked)
        return _offer("Sorry, that time was just taken.", suggestions)
    except Exception as exc:  # the database is down or locked: say so, never pretend
        logger.error(f"Booking could not be stored: {type(exc).__name__}: {exc}")
        return {"error": NOT_CONFIRMED}
    ctx.done.bookings += 1
    result = _summary(ctx, appointment)
    await record_action(ctx, "booked", result)
    send_later(
        ctx,
        texts_for(
            ctx,
            purpose="booked",
            caller_body=(
                f"{profile.name}: your {chosen.name} is booked for {result['when']}. "
                f"Ref {appointment.id}. Call us to change it."
            ),
            owner_body=(
                f"New booking: {chosen.name}, {result['when']}, {name} "
                f"({ctx.caller_phone or 'number withheld'}). Ref {appointment.id}."
                + (f" Notes: {extra[:200]}" if extra else "")
            ),
        ),
    )
    return result


@direct_tool
async def find_my_appointments(params: FunctionCallParams) -> Result:
    """Look up this caller's upcoming appointments (matched by the number they call from)."""
    ctx = context_of(params)
    phone = _require_phone(ctx)
    found = await ctx.repository.upcoming_for_phone(phone, ctx.now())
    items = [_summary(ctx, a) for a in found[:MAX_LISTED]]
    if not items:
        return {
            "appointments": [],
            "message": "There are no upcoming appointments for the number you're calling from.",
        }
    return {"appointments": items, "count": len(found)}


@direct_tool
async def reschedule_appointment(
    params: FunctionCallParams, appointment_id: int, new_start: str
) -> Result:
    """Move one of this caller's appointments to a new time.

    Args:
        appointment_id: The appointment's id, from find_my_appointments.
        new_start: The new start, as YYYY-MM-DDTHH:MM (24-hour) in the business's timezone.
    """
    ctx = context_of(params)
    profile = ctx.profile
    appointment = await _own_upcoming(ctx, appointment_id)
    minutes = int((appointment.end_at - appointment.start_at).total_seconds() // 60)
    service = profile.service(appointment.service) or Service(
        name=appointment.service, minutes=minutes
    )
    checked = await _checked_start(ctx, service, new_start, exclude_id=appointment.id)
    if isinstance(checked, dict):
        return checked
    previous = say_when(_local(ctx, appointment.start_at))
    try:
        moved = await ctx.repository.reschedule(
            appointment.id,
            start_at=checked,
            end_at=checked + timedelta(minutes=service.minutes),
            caller_phone=ctx.caller_phone,
        )
    except SlotTaken:
        suggestions = await _suggest(ctx, service.minutes, checked, exclude_id=appointment.id)
        return _offer("Sorry, that time is taken.", suggestions)
    if moved is None:
        raise ToolInputError(NOT_FOUND)
    result = {**_summary(ctx, moved), "previous_when": previous}
    await record_action(ctx, "rescheduled", result)
    send_later(
        ctx,
        texts_for(
            ctx,
            purpose="rescheduled",
            caller_body=(
                f"{profile.name}: your {moved.service} is moved to {result['when']} "
                f"(was {previous}). Ref {moved.id}."
            ),
            owner_body=(
                f"Moved: {moved.service} for {moved.caller_name}, {previous} -> "
                f"{result['when']}. Ref {moved.id}."
            ),
        ),
    )
    return result


@direct_tool
async def cancel_appointment(params: FunctionCallParams, appointment_id: int) -> Result:
    """Cancel one of this caller's appointments.

    Args:
        appointment_id: The appointment's id, from find_my_appointments.
    """
    ctx = context_of(params)
    appointment = await _own_upcoming(ctx, appointment_id)
    cancelled = await ctx.repository.cancel(appointment.id, caller_phone=ctx.caller_phone)
    if cancelled is None:
        raise ToolInputError(NOT_FOUND)
    result = {**_summary(ctx, cancelled), "status": "cancelled"}
    await record_action(ctx, "cancelled", result)
    send_later(
        ctx,
        texts_for(
            ctx,
            purpose="cancelled",
            caller_body=(
                f"{ctx.profile.name}: your {cancelled.service} on {result['when']} "
                f"is cancelled. Ref {cancelled.id}."
            ),
            owner_body=(
                f"Cancelled: {cancelled.service}, {result['when']}, {cancelled.caller_name}. "
                f"Ref {cancelled.id}."
            ),
        ),
    )
    return result

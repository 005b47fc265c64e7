"""Acting from the dashboard: cancel or move an appointment, mark a message handled.

Every change needs the form's CSRF value and is audited with who and when, in the same
transaction as the change itself.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from zylin.owner.auth import actor
from zylin.owner.records import BadQuery, appointment_dict, message_dict, parse_day, upcoming_bounds
from zylin.owner.render import Pages
from zylin.owner.texts import cancelled_text, moved_text, say_when, text_caller
from zylin.storage.repository import BOOKED, SlotTaken

if TYPE_CHECKING:
    from zylin.state import AppState

MESSAGES_PAGE = 50
NOTICES = {
    "cancelled": "Cancelled",
    "moved": "Moved",
}
SMS_NOTES = {
    "the caller was texted": "texted",
    "texts are off, so the caller was not texted": "off",
    "the caller's number is unknown, so they were not texted": "nophone",
    "the text to the caller failed (see the log)": "failed",
}
SMS_WORDS = {code: words for words, code in SMS_NOTES.items()}


def _parse_time(value: str) -> time:
    try:
        return time.fromisoformat(value.strip()[:5])
    except ValueError:
        raise BadQuery(f"time must be HH:MM, got {value[:20]!r}") from None


def add_routes(router: APIRouter, pages: Pages) -> None:
    """The appointments and messages pages and the forms that change them."""

    @router.get("/dashboard/appointments")
    async def appointments(request: Request) -> Response:
        if (refused := pages.gate(request)) is not None:
            return refused
        state: AppState = request.app.state.zylin
        first, last, lo, hi = upcoming_bounds(None, None, state.profile.tz, state.now())
        rows = await state.repository.appointments_between(lo, hi)
        return pages.page(
            request,
            "appointments.html",
            window=(first, last),
            appointments=[appointment_dict(a) for a in rows],
        )

    @router.get("/dashboard/appointments/{appointment_id}")
    async def appointment(
        request: Request,
        appointment_id: int,
        done: str | None = Query(None, max_length=20),
        sms: str | None = Query(None, max_length=20),
    ) -> Response:
        if (refused := pages.gate(request)) is not None:
            return refused
        state: AppState = request.app.state.zylin
        found = await state.repository.get_appointment(appointment_id)
        if found is None:
            return pages.not_found(request, f"appointment {appointment_id}")
        local = found.start_at.astimezone(state.profile.tz)
        notice = None
        if done in NOTICES:
            notice = NOTICES[done] + (f"; {SMS_WORDS[sms]}." if sms in SMS_WORDS else ".")
        return pages.page(
            request,
            "appointment.html",
            a=appointment_dict(found),
            changeable=found.status == BOOKED,
            day=local.date().isoformat(),
            at=local.strftime("%H:%M"),
            notice=notice,
            history=await state.repository.owner_actions(target=f"appointment:{found.id}"),
        )

    @router.post("/dashboard/appointments/{appointment_id}/cancel")
    async def cancel(
        request: Request, appointment_id: int, csrf: str = Form("", max_length=200)
    ) -> Response:
        if (refused := pages.form_gate(request, csrf)) is not None:
            return refused
        state: AppState = request.app.state.zylin
        who = actor(request)
        done = await state.repository.cancel(appointment_id, by=who)
        if done is None:
            return pages.problem(
                request, 409, "Not cancelled", "There is no booked appointment with that number."
            )
        when = say_when(done.start_at.astimezone(state.profile.tz))
        body = cancelled_text(state.profile.name, done, when)
        outcome = await text_caller(state, done, body, purpose="cancelled", actor=who)
        return RedirectResponse(
            f"/dashboard/appointments/{done.id}?done=cancelled&sms={SMS_NOTES[outcome]}",
            status_code=303,
        )

    @router.post("/dashboard/appointments/{appointment_id}/move")
    async def move(
        request: Request,
        appointment_id: int,
        csrf: str = Form("", max_length=200),
        day: str = Form("", max_length=20),
        at: str = Form("", max_length=10),
    ) -> Response:
        if (refused := pages.form_gate(request, csrf)) is not None:
            return refused
        state: AppState = request.app.state.zylin
        tz = state.profile.tz
        found = await state.repository.get_appointment(appointment_id)
        if found is None or found.status != BOOKED:
            return pages.problem(
                request, 409, "Not moved", "There is no booked appointment with that number."
            )
        try:
            new_day = parse_day("day", day)
            if new_day is None:
                raise BadQuery("choose the new day")
            start = datetime.combine(new_day, _parse_time(at), tz)
        except BadQuery as exc:
            return pages.problem(request, 422, "Not moved", str(exc))
        if start <= state.now():
            return pages.problem(request, 422, "Not moved", "The new time has already passed.")
        was = say_when(found.start_at.astimezone(tz))
        length: timedelta = found.end_at - found.start_at
        try:
            moved = await state.repository.reschedule(
                found.id, start_at=start, end_at=start + length, by=actor(request)
            )
        except SlotTaken:
            return pages.problem(
                request, 409, "Not moved", "That time is taken by another appointment."
            )
        if moved is None:
            return pages.problem(request, 409, "Not moved", "The appointment was just changed.")
        body = moved_text(state.profile.name, moved, say_when(start), was)
        outcome = await text_caller(state, moved, body, purpose="rescheduled", actor=actor(request))
        return RedirectResponse(
            f"/dashboard/appointments/{moved.id}?done=moved&sms={SMS_NOTES[outcome]}",
            status_code=303,
        )

    @router.get("/dashboard/messages")
    async def messages(request: Request, offset: int = Query(0, ge=0)) -> Response:
        if (refused := pages.gate(request)) is not None:
            return refused
        state: AppState = request.app.state.zylin
        page = await state.repository.list_messages(
            limit=MESSAGES_PAGE, offset=offset, unread_first=True
        )
        following = offset + len(page.items)
        return pages.page(
            request,
            "messages.html",
            messages=[message_dict(m) for m in page.items],
            total=page.total,
            unread=await state.repository.unread_message_count(),
            next_offset=following if following < page.total else None,
        )

    @router.post("/dashboard/messages/{message_id}/handled")
    async def handled(
        request: Request, message_id: int, csrf: str = Form("", max_length=200)
    ) -> Response:
        if (refused := pages.form_gate(request, csrf)) is not None:
            return refused
        state: AppState = request.app.state.zylin
        done = await state.repository.mark_message_handled(message_id, by=actor(request))
        if done is None:
            return pages.not_found(request, f"message {message_id}")
        return RedirectResponse(f"/dashboard/messages#message-{done.id}", status_code=303)

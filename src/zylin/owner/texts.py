"""The caller's text after the owner cancels or moves an appointment, as the tools send it.

The same conditions as a call's texts (`tools/notify.py`): SMS on in the profile, a sender
number, Twilio credentials, and a number to text. The owner's side cannot import the tools
(they sit above it), so it goes through the same Twilio client the tools use.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from loguru import logger

from zylin.telephony import TwilioRestError, mask_phone

if TYPE_CHECKING:
    from zylin.state import AppState
    from zylin.storage.repository import AppointmentRecord


def say_when(moment: datetime) -> str:
    """'Tuesday, December 1 at 10:30 AM', like the tools' texts (a business-local time)."""
    hour = moment.strftime("%I:%M %p").lstrip("0")
    return f"{moment:%A}, {moment:%B} {moment.day} at {hour}"


def cancelled_text(business: str, appointment: AppointmentRecord, when: str) -> str:
    """The caller's text when the owner cancels."""
    return f"{business}: your {appointment.service} on {when} is cancelled. Ref {appointment.id}."


def moved_text(business: str, appointment: AppointmentRecord, when: str, was: str) -> str:
    """The caller's text when the owner moves an appointment."""
    return (
        f"{business}: your {appointment.service} is moved to {when} (was {was}). "
        f"Ref {appointment.id}."
    )


async def text_caller(
    state: AppState, appointment: AppointmentRecord, body: str, *, purpose: str, actor: str
) -> str:
    """Text the appointment's caller when texts are on; audited. Returns what happened."""
    sms = state.profile.sms
    phone = appointment.caller_phone
    if not (sms.enabled and sms.from_number and state.twilio.configured):
        return "texts are off, so the caller was not texted"
    if not phone:
        return "the caller's number is unknown, so they were not texted"
    target = f"appointment:{appointment.id}"
    try:
        sid = await state.twilio.send_sms(to=phone, from_=sms.from_number, body=body)
    except TwilioRestError as exc:
        logger.warning(f"SMS ({purpose}) to the caller {mask_phone(phone)} failed: {exc}")
        await state.repository.record_owner_action(
            actor=actor, action="sms_failed", target=target, detail={"purpose": purpose}
        )
        return "the text to the caller failed (see the log)"
    logger.info(f"SMS ({purpose}) sent to the caller {mask_phone(phone)}")
    await state.repository.record_owner_action(
        actor=actor, action="sms", target=target, detail={"purpose": purpose, "sid": sid}
    )
    return "the caller was texted"

"""Screening on the voice webhook: blocked numbers and callers over the rate limit are refused
before anything paid for starts, and each screened call is recorded."""

from __future__ import annotations

from datetime import datetime, timedelta

from loguru import logger
from twilio.twiml.voice_response import VoiceResponse

from zylin.business import BusinessProfile
from zylin.business.screening import ScreenedBecause, normalized_number
from zylin.end_reason import EndReason
from zylin.storage.repository import Repository
from zylin.telephony.phone import mask_phone

MAX_COUNTED = 200  # a rate limit is a handful of calls; more never changes the answer


async def screen_incoming(
    repository: Repository, profile: BusinessProfile, caller: str | None, now: datetime
) -> ScreenedBecause | None:
    """Why this incoming call is screened, or None to answer it.

    Every earlier call from the number in the window counts, screened ones included, so a
    dialler that keeps calling stays refused. If the database cannot say, the call is answered:
    a lost customer costs more than a spam call.
    """
    rules = profile.screening
    if rules.blocked(caller):
        return ScreenedBecause.BLOCKLIST
    if rules.rate_limit is None or not caller:
        return None
    number = normalized_number(caller)
    since = now - timedelta(minutes=rules.rate_limit.minutes)
    try:
        page = await repository.list_calls(start=since, caller=number, limit=MAX_COUNTED)
    except Exception as exc:
        logger.warning(f"Rate limit not checked (database: {type(exc).__name__}); answering")
        return None
    recent = sum(1 for call in page.items if call.caller_phone == number)
    return ScreenedBecause.RATE_LIMIT if rules.over_rate_limit(recent) else None


async def record_screened(
    repository: Repository,
    *,
    call_sid: str,
    caller: str | None,
    called: str | None,
    because: ScreenedBecause,
    now: datetime,
) -> None:
    """The screened call's record: end reason `screened` and a `screened` action saying why.

    Best effort: the call is refused either way, and the log keeps what could not be stored.
    """
    try:
        await repository.create_call(
            call_sid, caller_phone=caller, called_phone=called, started_at=now
        )
        await repository.add_action(call_sid, "screened", {"why": because.value})
        await repository.finish_call(call_sid, end_reason=EndReason.SCREENED.value, ended_at=now)
    except Exception as exc:
        logger.bind(call_sid=call_sid).error(
            f"Screened call from {mask_phone(caller)} ({because}) not recorded: {exc}"
        )


def twiml_reject() -> str:
    """Refuse the call unanswered: the caller hears busy and nothing is billed."""
    response = VoiceResponse()
    response.reject(reason="busy")
    return response.to_xml()

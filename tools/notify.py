"""Text messages after bookings, cancellations and messages: sent in the background, never fatal."""

from __future__ import annotations

from dataclasses import dataclass

from loguru import logger

from tools.background import spawn
from zylin.call.context import CallResources
from zylin.telephony import TwilioRestError, mask_phone


@dataclass(frozen=True)
class Text:
    """One SMS to send: to whom (`caller` or `owner`), why, and the words."""

    to: str
    recipient: str
    purpose: str
    body: str


def sms_possible(resources: CallResources) -> bool:
    """SMS is on in the profile, has a sender number, and Twilio credentials are set."""
    sms = resources.profile.sms
    return bool(sms.enabled and sms.from_number and resources.twilio.configured)


def texts_for(
    resources: CallResources, *, purpose: str, caller_body: str | None, owner_body: str | None
) -> list[Text]:
    """The confirmation to the caller and the owner's summary that the profile asks for."""
    texts = []
    if caller_body and resources.caller_phone:
        texts.append(Text(resources.caller_phone, "caller", purpose, caller_body))
    if owner_body and resources.profile.sms.notify_owner:
        texts.append(Text(resources.profile.owner_phone, "owner", purpose, owner_body))
    return texts


def send_later(resources: CallResources, texts: list[Text]) -> None:
    """Queue `texts` behind the database write that earned them; the caller does not wait."""
    if not texts or not sms_possible(resources):
        return
    spawn(resources, send_texts(resources, texts), name=f"sms-{texts[0].purpose}")


async def send_texts(resources: CallResources, texts: list[Text]) -> None:
    """Send each text; a failure is logged (masked) and recorded as `sms_failed`, never raised."""
    sender = resources.profile.sms.from_number
    assert sender is not None
    for text in texts:
        if resources.sms_sent >= resources.limits.max_sms:
            logger.warning(f"SMS limit reached for this call; not texting the {text.recipient}")
            await _record(resources, "sms_failed", text, error="per-call SMS limit reached")
            continue
        resources.sms_sent += 1
        try:
            sid = await resources.twilio.send_sms(to=text.to, from_=sender, body=text.body)
        except TwilioRestError as exc:
            logger.warning(
                f"SMS ({text.purpose}) to {text.recipient} {mask_phone(text.to)} failed: {exc}"
            )
            await _record(resources, "sms_failed", text, error=str(exc)[:300])
            continue
        logger.info(f"SMS ({text.purpose}) sent to {text.recipient} {mask_phone(text.to)}")
        await _record(resources, "sms", text, sid=sid)


async def _record(resources: CallResources, kind: str, text: Text, **detail: str) -> None:
    try:
        await resources.repository.add_action(
            resources.call_sid,
            kind,
            {"recipient": text.recipient, "purpose": text.purpose, **detail},
        )
    except Exception as exc:  # the record is best effort; the text itself is what matters
        logger.error(f"Could not record {kind}: {exc}")

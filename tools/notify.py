"""Text messages after bookings, cancellations and messages: sent in the background, never fatal."""

from __future__ import annotations

from dataclasses import dataclass

from loguru import logger

from tools.common import record_action
from zylin.call.context import CallContext
from zylin.telephony import TwilioRestError, mask_phone


@dataclass(frozen=True)
class Text:
    """One SMS to send: to whom (`caller` or `owner`), why, and the words."""

    to: str
    recipient: str
    purpose: str
    body: str


def sms_possible(ctx: CallContext) -> bool:
    """SMS is on in the profile, has a sender number, and Twilio credentials are set."""
    sms = ctx.profile.sms
    return bool(sms.enabled and sms.from_number and ctx.twilio.configured)


def texts_for(
    ctx: CallContext, *, purpose: str, caller_body: str | None, owner_body: str | None
) -> list[Text]:
    """The confirmation to the caller and the owner's summary that the profile asks for."""
    texts = []
    if caller_body and ctx.caller_phone:
        texts.append(Text(ctx.caller_phone, "caller", purpose, caller_body))
    if owner_body and ctx.profile.sms.notify_owner:
        texts.append(Text(ctx.profile.owner_phone, "owner", purpose, owner_body))
    return texts


def send_later(ctx: CallContext, texts: list[Text]) -> None:
    """Queue `texts` behind the database write that earned them; the caller does not wait."""
    if not texts or not sms_possible(ctx):
        return
    ctx.tasks.spawn(send_texts(ctx, texts), name=f"sms-{texts[0].purpose}")


async def send_texts(ctx: CallContext, texts: list[Text]) -> None:
    """Send each text; a failure is logged (masked) and recorded as `sms_failed`, never raised."""
    sender = ctx.profile.sms.from_number
    assert sender is not None
    for text in texts:
        if ctx.done.sms >= ctx.limits.max_sms:
            logger.warning(f"SMS limit reached for this call; not texting the {text.recipient}")
            await _record_text(ctx, "sms_failed", text, error="per-call SMS limit reached")
            continue
        ctx.done.sms += 1
        try:
            sid = await ctx.twilio.send_sms(to=text.to, from_=sender, body=text.body)
        except TwilioRestError as exc:
            logger.warning(
                f"SMS ({text.purpose}) to {text.recipient} {mask_phone(text.to)} failed: {exc}"
            )
            await _record_text(ctx, "sms_failed", text, error=str(exc)[:300])
            continue
        logger.info(f"SMS ({text.purpose}) sent to {text.recipient} {mask_phone(text.to)}")
        await _record_text(ctx, "sms", text, sid=sid)


async def _record_text(ctx: CallContext, kind: str, text: Text, **detail: str) -> None:
    await record_action(ctx, kind, {"recipient": text.recipient, "purpose": text.purpose, **detail})

"""Move a live call from the stream path onto the legacy path through Twilio REST."""

from __future__ import annotations

from zylin.fallback.twiml import legacy_redirect_twiml
from zylin.telephony import TwilioRest


async def move_call_to_legacy(
    twilio: TwilioRest, call_sid: str, public_base: str, *, reason: str = "service_failure"
) -> None:
    """Redirect a live call onto the legacy path through Twilio REST.

    For the stream path when a service stays down beyond retry: Twilio ends the media stream
    and POSTs the call to `/twilio/voice-legacy`, which apologises and records the caller.

    Args:
        twilio: The app's Twilio REST client.
        call_sid: The live call.
        public_base: `PUBLIC_URL` (or the ws/wss base the stream came in on); must be absolute.
        reason: Stored with the call (service_failure by default).

    Raises:
        TwilioRestError: Twilio refused or could not be reached (the call is unchanged).
        ValueError: `public_base` is not an absolute http(s)/ws(s) URL.
    """
    if "://" not in public_base:
        raise ValueError("moving a live call needs an absolute public URL")
    await twilio.update_call_twiml(call_sid, legacy_redirect_twiml(public_base, reason=reason))

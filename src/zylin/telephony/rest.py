"""The async Twilio REST client Zylin uses mid-call: update a live call, send an SMS."""

from __future__ import annotations

from loguru import logger
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from zylin.telephony.phone import mask_phone


class TwilioRestError(RuntimeError):
    """A Twilio REST request failed; the call goes on and the failure is recorded."""


class TwilioRest:
    """Async Twilio REST calls Zylin makes mid-call: transfer, legacy path, SMS.

    Wraps the official SDK with its aiohttp client; `base_url` points it at a gateway or a
    local protocol server in tests.
    """

    def __init__(
        self, account_sid: str | None, auth_token: str | None, base_url: str | None
    ) -> None:
        self._http = AsyncTwilioHttpClient(timeout=10)
        self._client = (
            Client(account_sid, auth_token, http_client=self._http)
            if account_sid and auth_token
            else None
        )
        if self._client is not None and base_url:
            self._client.api.base_url = base_url.rstrip("/")

    @property
    def configured(self) -> bool:
        """Whether Twilio credentials were given (demo calls have none)."""
        return self._client is not None

    def _require(self) -> Client:
        if self._client is None:
            raise TwilioRestError("Twilio credentials are not configured")
        return self._client

    async def update_call_twiml(self, call_sid: str, twiml: str) -> None:
        """Replace what a live call is doing (transfer, fallback `<Say>`, legacy path)."""
        try:
            await self._require().calls(call_sid).update_async(twiml=twiml)
        except TwilioRestError:
            raise
        except Exception as exc:
            raise TwilioRestError(f"call update failed: {exc}") from exc

    async def send_sms(self, *, to: str, from_: str, body: str) -> str:
        """Send a text; returns the message SID."""
        try:
            message = await self._require().messages.create_async(to=to, from_=from_, body=body)
        except TwilioRestError:
            raise
        except Exception as exc:
            raise TwilioRestError(f"SMS to {mask_phone(to)} failed: {exc}") from exc
        return str(message.sid)

    async def aclose(self) -> None:
        """Close the HTTP session."""
        try:
            await self._http.close()
        except Exception as exc:  # closing must never break shutdown
            logger.debug(f"Twilio HTTP client close: {exc}")

"""Placing the call as Twilio does: the signed voice webhook, its TwiML, the signed WebSocket."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect

from devtools.caller.errors import WebhookError, WebhookUnreachable
from devtools.caller.timeline import Timeline
from devtools.caller.twiml import StreamTwiml, parse_twiml
from zylin.telephony import SignatureChecker


def new_sid(prefix: str) -> str:
    """A random Twilio-shaped SID (`CA...`, `MZ...`, `AC...`)."""
    return prefix + secrets.token_hex(16)


def webhook_form(
    account_sid: str, call_sid: str, caller: str, called: str, extra: dict[str, str]
) -> dict[str, str]:
    """The form fields Twilio posts for an inbound call that is ringing (`extra` wins)."""
    form = {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "ringing",
        "Called": called,
        "CalledCountry": "US",
        "Caller": caller,
        "CallerCountry": "US",
        "Direction": "inbound",
        "From": caller,
        "FromCountry": "US",
        "To": called,
        "ToCountry": "US",
    }
    form.update(extra)
    return form


def replace_origin(url: str, base: str) -> str:
    """`url` with its scheme and host taken from `base` (http -> ws, https -> wss)."""
    target, origin = urlsplit(url), urlsplit(base)
    scheme = {"http": "ws", "https": "wss"}.get(origin.scheme, origin.scheme)
    return urlunsplit((scheme, origin.netloc, target.path, target.query, ""))


@dataclass
class Dialer:
    """Where and how to reach the server, and the token both requests are signed with.

    Attributes:
        server_url: Where to POST the webhook.
        webhook_path: Path of the voice webhook under `server_url`.
        public_url: Base URL the server believes it has; signatures are computed over it.
        connect_url: Base (scheme and host) to open the stream on instead of the TwiML's.
        signer: Signs like Twilio; None sends no signature header.
        http_timeout: Seconds to wait for the webhook.
        open_timeout: Seconds to wait for the WebSocket handshake.
    """

    server_url: str
    webhook_path: str
    public_url: str | None
    connect_url: str | None
    signer: SignatureChecker | None
    http_timeout: float
    open_timeout: float

    def signature(self, url: str, params: dict[str, str]) -> dict[str, str]:
        """The `X-Twilio-Signature` header for `url` and `params`, if signing."""
        return {"X-Twilio-Signature": self.signer.sign(url, params)} if self.signer else {}

    async def post_webhook(self, form: dict[str, str], timeline: Timeline) -> StreamTwiml:
        """POST the voice webhook like Twilio and parse the TwiML it answers."""
        url = self.server_url + self.webhook_path
        signed_url = (self.public_url or self.server_url) + self.webhook_path
        headers = {"User-Agent": "TwilioProxy/1.1", **self.signature(signed_url, form)}
        try:
            async with httpx.AsyncClient(timeout=self.http_timeout) as http:
                response = await http.post(url, data=form, headers=headers)
        except httpx.HTTPError as exc:
            timeline.record("webhook", status=None, url=url, error=type(exc).__name__)
            raise WebhookUnreachable(f"voice webhook {url}: {exc!r}") from exc
        timeline.record("webhook", status=response.status_code, url=url)
        if response.status_code != 200:
            raise WebhookError(response.status_code, response.text)
        twiml = parse_twiml(response.text)
        timeline.record("twiml", url=twiml.url, parameters=dict(twiml.parameters))
        return twiml

    def stream_target(self, stream_url: str) -> str:
        """Where to open the stream: the TwiML URL, or it moved onto a local host."""
        if self.connect_url:
            return replace_origin(stream_url, self.connect_url)
        if self.public_url:
            public = urlsplit(self.public_url).netloc
            if urlsplit(stream_url).netloc == public:
                return replace_origin(stream_url, self.server_url)
        return stream_url

    async def open_stream(self, twiml: StreamTwiml, target: str) -> ClientConnection:
        """Open the media-stream WebSocket the way Twilio's media server does."""
        # Twilio signs the upgrade over the Stream URL exactly as the TwiML gave it, no params.
        return await connect(
            target,
            additional_headers=self.signature(twiml.url, {}),
            user_agent_header="Twilio.TmeWs/1.0",
            open_timeout=self.open_timeout,
            ping_interval=None,
            compression=None,
            max_size=4 * 2**20,
        )

"""Twilio glue: TwiML, webhook signatures, single-use stream tokens, and the async REST client."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape, quoteattr

from loguru import logger
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client


def mask_phone(number: str | None) -> str:
    """A phone number safe for logs: country code and last two digits only."""
    if not number:
        return "unknown"
    digits = number.strip()
    if len(digits) <= 4:
        return "***"
    return f"{digits[:2]}***{digits[-2:]}"


# --- TwiML -------------------------------------------------------------------------------


def twiml_connect_stream(stream_url: str, parameters: dict[str, str]) -> str:
    """TwiML that connects the call to our Media Streams WebSocket.

    Twilio forbids a query string on the Stream URL, so call data travels as `<Parameter>`s
    (they arrive in the `start` message's `customParameters`).
    """
    params = "".join(
        f"<Parameter name={quoteattr(name)} value={quoteattr(value)}/>"
        for name, value in parameters.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Response><Connect><Stream url={quoteattr(stream_url)}>{params}</Stream></Connect>"
        "</Response>"
    )


def twiml_say(text: str, *, hangup: bool = True) -> str:
    """TwiML that speaks a line with Twilio's own voice (the fallback when our TTS is down)."""
    end = "<Hangup/>" if hangup else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Say>{escape(text)}</Say>{end}</Response>'
    )


def twiml_dial(
    number: str, *, caller_id: str | None, timeout_secs: int, fallback_url: str | None, say: str
) -> str:
    """TwiML that rings the owner; if nobody answers, `fallback_url` takes a message."""
    caller = f" callerId={quoteattr(caller_id)}" if caller_id else ""
    action = f" action={quoteattr(fallback_url)}" if fallback_url else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Response><Dial timeout="{int(timeout_secs)}"{caller}{action}>{escape(number)}</Dial>'
        f"<Say>{escape(say)}</Say></Response>"
    )


def stream_url_from_public(public_url: str, path: str) -> str:
    """`https://host/x` -> `wss://host/x/<path>` (http -> ws), as Twilio must open it."""
    parts = urlsplit(public_url.rstrip("/"))
    scheme = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}.get(parts.scheme)
    if scheme is None:
        raise ValueError(f"PUBLIC_URL must start with https:// or http://, got {public_url!r}")
    base_path = parts.path.rstrip("/")
    return urlunsplit((scheme, parts.netloc, f"{base_path}/{path.lstrip('/')}", "", ""))


def http_base_of(url: str) -> str:
    """`wss://host/x` -> `https://host/x` (ws -> http): a socket's base as a web URL."""
    parts = urlsplit(url.rstrip("/"))
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, "", ""))


def public_url_for(public_url: str, path: str, query: str = "") -> str:
    """The URL Twilio called for `path`, as seen from outside (for signature checks)."""
    parts = urlsplit(public_url.rstrip("/"))
    return urlunsplit(
        (parts.scheme, parts.netloc, f"{parts.path.rstrip('/')}/{path.lstrip('/')}", query, "")
    )


# --- Signatures --------------------------------------------------------------------------


class SignatureChecker:
    """Checks `X-Twilio-Signature` on webhooks and on the Media Streams upgrade request."""

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    def valid(self, url: str, params: dict[str, str], signature: str | None) -> bool:
        """Whether `signature` is Twilio's for this URL and these form parameters."""
        if not signature:
            return False
        return bool(self._validator.validate(url, params, signature))

    def sign(self, url: str, params: dict[str, str]) -> str:
        """Twilio's signature for a request (what our simulated caller sends)."""
        return self._validator.compute_signature(url, params)


# --- Stream tokens -----------------------------------------------------------------------


@dataclass(frozen=True)
class StreamToken:
    """The verified content of a stream token."""

    call_sid: str
    nonce: str
    expires_at: float


class StreamTokenError(ValueError):
    """A stream token that must not open a media stream; the message says why."""


class StreamTokens:
    """Short-lived HMAC tokens binding a media stream to the call our webhook answered.

    Stateless to verify, so any worker process can check a token another one issued; the
    single-use part is the nonce, which the caller of `verify` consumes in the shared database.
    """

    def __init__(self, secret: bytes, ttl_secs: int) -> None:
        self._secret = secret
        self._ttl = ttl_secs

    def issue(self, call_sid: str, *, now: float | None = None) -> str:
        """A token for `call_sid`, valid for the configured TTL."""
        issued = time.time() if now is None else now
        body = json.dumps(
            {"c": call_sid, "n": secrets.token_urlsafe(12), "e": int(issued + self._ttl)},
            separators=(",", ":"),
        ).encode()
        payload = base64.urlsafe_b64encode(body).rstrip(b"=")
        mac = base64.urlsafe_b64encode(self._mac(payload)).rstrip(b"=")
        return f"{payload.decode()}.{mac.decode()}"

    def verify(self, token: str, *, call_sid: str | None = None, now: float | None = None):
        """The token's content, or `StreamTokenError` saying why it is refused."""
        try:
            payload, mac = token.encode("ascii").split(b".", 1)
            expected = base64.urlsafe_b64encode(self._mac(payload)).rstrip(b"=")
            if not hmac.compare_digest(mac, expected):
                raise StreamTokenError("bad token signature")
            body = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
            content = StreamToken(
                call_sid=str(body["c"]), nonce=str(body["n"]), expires_at=body["e"]
            )
        except StreamTokenError:
            raise
        except (ValueError, KeyError, TypeError, UnicodeEncodeError):
            raise StreamTokenError("malformed token") from None
        if (time.time() if now is None else now) > content.expires_at:
            raise StreamTokenError("token expired")
        if call_sid is not None and call_sid != content.call_sid:
            raise StreamTokenError("token was issued for another call")
        return content

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()


# --- REST --------------------------------------------------------------------------------


class TwilioRestError(RuntimeError):
    """A Twilio REST request failed; the call goes on and the failure is recorded."""


class TwilioRest:
    """Async Twilio REST calls Zylin makes mid-call: transfer, hang-up, SMS.

    Wraps the official SDK with its aiohttp client; `base_url` points it at a gateway or a
    local protocol server in tests.
    """

    def __init__(self, account_sid: str | None, auth_token: str | None, base_url: str | None):
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

    async def hang_up(self, call_sid: str) -> None:
        """End a live call."""
        try:
            await self._require().calls(call_sid).update_async(status="completed")
        except TwilioRestError:
            raise
        except Exception as exc:
            raise TwilioRestError(f"hang-up failed: {exc}") from exc

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

"""Single-use stream tokens: bind a media stream to the call our webhook answered."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass


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

    def verify(
        self, token: str, *, call_sid: str | None = None, now: float | None = None
    ) -> StreamToken:
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

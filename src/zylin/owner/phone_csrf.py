"""CSRF tokens for the browser phone: bound to the signed-in session, keyed by `ADMIN_TOKEN`."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

_CSRF_CONTEXT = b"zylin-browser-phone-csrf-v1:"
CSRF_HEADER = "x-zylin-csrf"


def csrf_token(admin_token: str, session_value: str) -> str:
    """The token a page signed in with this session cookie sends back with each change.

    A new sign-in (a new cookie) or a new `ADMIN_TOKEN` makes every older token useless.
    """
    message = _CSRF_CONTEXT + session_value.encode()
    return hmac.new(admin_token.encode(), message, hashlib.sha256).hexdigest()


def csrf_valid(given: str | None, admin_token: str, session_value: str | None) -> bool:
    """Whether `given` is this session's token (constant time)."""
    if not given or not session_value:
        return False
    return hmac.compare_digest(given.encode(), csrf_token(admin_token, session_value).encode())


def same_origin(conn: HTTPConnection, public_url: str | None) -> bool:
    """Whether the browser says the request comes from one of our own pages.

    A missing `Origin` passes (non-browser clients send none; browsers always send it on
    WebSocket upgrades and cross-site POSTs). Our origin is the `Host` the request came to,
    or `PUBLIC_URL`'s host behind a proxy that rewrites it.
    """
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    netloc = urlsplit(origin).netloc.lower()
    ours = {conn.headers.get("host", "").lower()}
    if public_url:
        ours.add(urlsplit(public_url).netloc.lower())
    return bool(netloc) and netloc in ours

"""The owner's credentials: Bearer `ADMIN_TOKEN` or a signed session cookie, in constant time."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from datetime import datetime
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from starlette.requests import HTTPConnection

from zylin.config import Settings

SESSION_COOKIE = "zylin_session"
SESSION_MAX_AGE_SECS = 12 * 3600
_SESSION_CONTEXT = b"zylin-dashboard-session-v2:"
_CSRF_CONTEXT = b"zylin-dashboard-csrf-v1:"
CSRF_HEADER = "x-zylin-csrf"  # where scripts send `csrf_for` (forms send a `csrf` field)
DEFAULT_NAME = "owner"
MAX_NAME = 40
_NAME = re.compile(r"[^\w .@'-]+")


def owner_token(settings: Settings) -> str | None:
    """`ADMIN_TOKEN` in clear, or None when the owner's API and dashboard are off."""
    if settings.admin_token is None:
        return None
    return settings.admin_token.get_secret_value() or None


def tokens_equal(given: str, token: str) -> bool:
    """Constant-time comparison, so response timing does not reveal how much of a guess matched."""
    return hmac.compare_digest(given.encode(), token.encode())


def bearer_matches(header: str | None, token: str) -> bool:
    """Whether an `Authorization` header is `Bearer <token>`."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and tokens_equal(given.strip(), token)


def _session_mac(token: str, issued: int, name: str) -> str:
    message = _SESSION_CONTEXT + f"{issued}.{name}".encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


def clean_name(name: str | None) -> str:
    """The name an owner signs in under (for the audit log), tidied; "owner" when blank."""
    tidy = " ".join(_NAME.sub(" ", name or "").split())[:MAX_NAME].strip()
    return tidy or DEFAULT_NAME


def session_cookie_value(token: str, now: datetime, name: str = DEFAULT_NAME) -> str:
    """A cookie proving the holder knew the token: `<issued>.<name>.<HMAC>`, never the token.

    Keyed by the token itself, so changing `ADMIN_TOKEN` logs every browser out. The name
    (base64url) is who the audit log says made each change from this browser.
    """
    issued = int(now.timestamp())
    encoded = base64.urlsafe_b64encode(clean_name(name).encode()).decode().rstrip("=")
    return f"{issued}.{encoded}.{_session_mac(token, issued, encoded)}"


def session_name(value: str | None, token: str, now: datetime) -> str | None:
    """The signed-in name if the cookie was made with this token less than 12 hours ago."""
    parts = (value or "").split(".")
    if len(parts) != 3:
        return None
    issued_text, encoded, mac = parts
    if not issued_text.isdigit() or len(issued_text) > 12 or len(encoded) > 2 * MAX_NAME * 4:
        return None
    issued = int(issued_text)
    age = now.timestamp() - issued
    if not -60 <= age <= SESSION_MAX_AGE_SECS:
        return None
    if not hmac.compare_digest(mac.encode(), _session_mac(token, issued, encoded).encode()):
        return None
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def session_valid(value: str | None, token: str, now: datetime) -> bool:
    """Whether a session cookie was made with this token and is less than 12 hours old."""
    return session_name(value, token, now) is not None


def csrf_value(session: str, token: str) -> str:
    """The anti-forgery value every form that changes data carries: tied to this session."""
    return hmac.new(token.encode(), _CSRF_CONTEXT + session.encode(), hashlib.sha256).hexdigest()


def csrf_for(request: Request) -> str:
    """The value for this browser's forms ("" when it is not signed in)."""
    token = owner_token(request.app.state.zylin.settings)
    session = request.cookies.get(SESSION_COOKIE)
    return csrf_value(session, token) if token and session else ""


def csrf_ok(request: Request, given: str | None) -> bool:
    """A form's CSRF value matches this browser's session (Bearer clients need none)."""
    token = owner_token(request.app.state.zylin.settings)
    if token is None:
        return False
    if bearer_matches(request.headers.get("authorization"), token):
        return True
    expected = csrf_for(request)
    return bool(expected) and hmac.compare_digest((given or "").encode(), expected.encode())


def same_origin(conn: HTTPConnection, public_url: str | None) -> bool:
    """Whether the browser says the request comes from one of our own pages (for WebSockets,
    which carry no CSRF value).

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


def actor(request: Request) -> str:
    """Who is making a change, for the audit log: the signed-in name, or the API token."""
    state = request.app.state.zylin
    token = owner_token(state.settings)
    if token and bearer_matches(request.headers.get("authorization"), token):
        return "owner (API token)"
    name = session_name(request.cookies.get(SESSION_COOKIE), token or "", state.now())
    return name or DEFAULT_NAME


def is_owner(request: Request) -> bool:
    """Whether the request carries the owner's Bearer token or a valid session cookie."""
    state = request.app.state.zylin
    token = owner_token(state.settings)
    if token is None:
        return False
    if bearer_matches(request.headers.get("authorization"), token):
        return True
    return session_valid(request.cookies.get(SESSION_COOKIE), token, state.now())


async def require_owner(request: Request) -> None:
    """FastAPI dependency for `/api`: 404 when the API is off, 401 without the owner's token."""
    if owner_token(request.app.state.zylin.settings) is None:
        raise HTTPException(status_code=404, detail="Not Found")
    if not is_owner(request):
        raise HTTPException(
            status_code=401,
            detail="Send the owner's token: Authorization: Bearer <ADMIN_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )

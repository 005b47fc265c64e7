"""The owner's credentials: Bearer `ADMIN_TOKEN` or a signed session cookie, in constant time."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from fastapi import HTTPException, Request

from zylin.config import Settings

SESSION_COOKIE = "zylin_session"
SESSION_MAX_AGE_SECS = 12 * 3600
_SESSION_CONTEXT = b"zylin-dashboard-session-v1:"


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


def _session_mac(token: str, issued: int) -> str:
    message = _SESSION_CONTEXT + str(issued).encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


def session_cookie_value(token: str, now: datetime) -> str:
    """A cookie value proving the holder knew the token: `<issued>.<HMAC>`, never the token.

    Keyed by the token itself, so changing `ADMIN_TOKEN` logs every browser out.
    """
    issued = int(now.timestamp())
    return f"{issued}.{_session_mac(token, issued)}"


def session_valid(value: str | None, token: str, now: datetime) -> bool:
    """Whether a session cookie was made with this token and is less than 12 hours old."""
    issued_text, _, mac = (value or "").partition(".")
    if not issued_text.isdigit() or len(issued_text) > 12:
        return False
    issued = int(issued_text)
    age = now.timestamp() - issued
    if not -60 <= age <= SESSION_MAX_AGE_SECS:
        return False
    return hmac.compare_digest(mac.encode(), _session_mac(token, issued).encode())


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

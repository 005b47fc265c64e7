"""Is this request Twilio's? Webhook and WebSocket-upgrade signatures, checked against our URL."""

from __future__ import annotations

from fastapi import Request, WebSocket
from loguru import logger

from zylin.config import Settings
from zylin.engines import Engines
from zylin.state import AppState
from zylin.telephony import public_url_for, stream_url_from_public


def signatures_required(settings: Settings, engines: Engines) -> bool:
    """Unsigned requests are allowed only when checks are turned off, or when nothing is paid
    for: no Twilio token to check with and every engine local (a demo on a laptop)."""
    if not settings.twilio_validate_signatures:
        return False
    return bool(settings.twilio_auth_token) or engines.any_paid


def public_base(request: Request, state: AppState) -> str:
    """`PUBLIC_URL` when set (behind ngrok or a proxy); else the URL this request came to."""
    return state.settings.public_url or str(request.base_url)


async def signed_form(request: Request, state: AppState, path: str) -> dict[str, str] | None:
    """The webhook's form fields if Twilio signed them (or checks are off), else None.

    `BodySizeLimit` has already capped the body, so reading the form here is bounded.
    """
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not signatures_required(state.settings, state.engines):
        return form
    if state.signatures is None:
        logger.warning(f"Refused {path}: TWILIO_AUTH_TOKEN is not set, cannot check signature")
        return None
    url = (
        public_url_for(state.settings.public_url, path, request.url.query)
        if state.settings.public_url
        else str(request.url)
    )
    if not state.signatures.valid(url, form, request.headers.get("x-twilio-signature")):
        logger.warning(f"Refused {path}: invalid Twilio signature")
        return None
    return form


def upgrade_signed(websocket: WebSocket, state: AppState, token: str) -> bool:
    """Twilio signs the upgrade over the Stream URL exactly as our TwiML gave it."""
    if not signatures_required(state.settings, state.engines):
        return True
    if state.signatures is None:
        return False
    base = state.settings.public_url or str(websocket.base_url)
    url = stream_url_from_public(base, f"media-stream/{token}")
    return state.signatures.valid(url, {}, websocket.headers.get("x-twilio-signature"))

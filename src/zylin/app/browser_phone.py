"""The browser phone: the signed-in owner calls Zylin over the Media Streams protocol.

The page's AudioWorklet speaks exactly what Twilio speaks on `/media-stream` (8 kHz mu-law
`media`, `mark` echoes after playback, `stop`), so a browser call runs the same session,
serializer, pipeline, tools and records as a phone call. What differs is who may open it: a
signed-in session (cookie, same origin, a CSRF token to start a call) instead of Twilio's
signature, and a call SID of our own (`BR...`) that Twilio's REST API is never asked about.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse, RedirectResponse, Response
from loguru import logger

from zylin.app.browser_transcript import add_transcript_events
from zylin.app.profile_refresh import refresh_profile
from zylin.call.capacity import reserve_slot
from zylin.call.session import CLOSE_POLICY_VIOLATION, CallChannel, run_call
from zylin.owner.auth import (
    CSRF_HEADER,
    SESSION_COOKIE,
    csrf_ok,
    is_owner,
    owner_token,
    same_origin,
    session_valid,
)
from zylin.owner.phone import PHONE_PAGE, phone_page_router
from zylin.state import AppState
from zylin.telephony import StreamTokenError

BROWSER_CALLER = "browser"
BROWSER_SID_PREFIX = "BR"  # Twilio's calls are CA...; ours never reach Twilio's REST API
STREAM_PATH = "/dashboard/phone/stream"
BROWSER_CHANNEL = CallChannel(
    caller_label=BROWSER_CALLER, on_twilio=False, on_worker=add_transcript_events
)


def browser_call_sid() -> str:
    """A new call's SID, shaped like Twilio's (two letters and 32 hex digits)."""
    return BROWSER_SID_PREFIX + secrets.token_hex(16)


def browser_phone_router() -> APIRouter:
    """The page, `POST /dashboard/phone/calls` (start a call) and its WebSocket."""
    router = APIRouter(include_in_schema=False)
    router.include_router(phone_page_router())

    @router.post(f"{PHONE_PAGE}/calls")
    async def start_call(request: Request) -> Response:
        state: AppState = request.app.state.zylin
        if owner_token(state.settings) is None:
            return _refused(404, "The owner's pages are off (ADMIN_TOKEN is not set).")
        if not is_owner(request) or SESSION_COOKIE not in request.cookies:
            # (a Bearer client could not open the stream, which needs the session cookie)
            return _refused(401, "Sign in again: your session has ended.")
        if not same_origin(request, state.settings.public_url) or not csrf_ok(
            request, request.headers.get(CSRF_HEADER)
        ):
            logger.warning("Browser call refused: missing or wrong CSRF token")
            return _refused(403, "Reload the page and try again (its form token is stale).")
        if state.draining:
            return _refused(503, "The server is shutting down; try again in a minute.")
        call_sid = browser_call_sid()
        hold = state.settings.stream_token_ttl_secs + 30  # the stream renews it once it opens
        if not await reserve_slot(state, call_sid, hold_secs=hold):
            cap = state.settings.max_concurrent_calls
            logger.warning(f"Browser call refused: at the cap of {cap} calls")
            return _refused(503, f"Every line is busy ({cap} calls at once); try again soon.")
        token = state.tokens.issue(call_sid)
        logger.bind(call_sid=call_sid).info("Browser call: connecting the media stream")
        return JSONResponse(
            {
                "call_sid": call_sid,
                "stream_sid": "MZ" + secrets.token_hex(16),
                "stream_path": f"{STREAM_PATH}/{token}",
            },
            status_code=201,
            headers={"Cache-Control": "no-store"},
        )

    @router.get(PHONE_PAGE + "/calls/{call_sid}")
    async def call_record(request: Request, call_sid: str) -> Response:
        """The record of a browser call, by the SID the page knows (the dashboard uses ids)."""
        state: AppState = request.app.state.zylin
        if owner_token(state.settings) is None or not is_owner(request):
            return RedirectResponse("/dashboard/login", status_code=303)
        detail = None
        if call_sid.startswith(BROWSER_SID_PREFIX) and len(call_sid) <= 64:
            detail = await state.repository.get_call_by_sid(call_sid)
        where = f"/dashboard/calls/{detail.call.id}" if detail else "/dashboard?caller=browser"
        return RedirectResponse(where, status_code=303)

    @router.websocket(STREAM_PATH + "/{token}")
    async def browser_stream(websocket: WebSocket, token: str) -> None:
        state: AppState = websocket.app.state.zylin
        refusal = _stream_refusal(websocket, state, token)
        if refusal is not None:
            logger.warning(f"Browser media stream refused: {refusal}")
            await websocket.close(code=CLOSE_POLICY_VIOLATION)
            return
        await websocket.accept()
        refresh_profile(websocket.app.state)  # as /media-stream: the FAQ may have just changed
        await run_call(websocket, token, state, BROWSER_CHANNEL)

    return router


def _refused(status: int, why: str) -> JSONResponse:
    return JSONResponse({"error": why}, status_code=status, headers={"Cache-Control": "no-store"})


def _stream_refusal(websocket: WebSocket, state: AppState, token: str) -> str | None:
    """Why this upgrade may not open a browser call, or None.

    The token's nonce is consumed later, by `run_call`, once `start` names its call.
    """
    admin = owner_token(state.settings)
    if admin is None:
        return "the owner's pages are off"
    if not session_valid(websocket.cookies.get(SESSION_COOKIE), admin, state.now()):
        return "not signed in"
    if not same_origin(websocket, state.settings.public_url):
        return "opened from another site"
    try:
        claim = state.tokens.verify(token)
    except StreamTokenError as exc:
        return str(exc)
    if not claim.call_sid.startswith(BROWSER_SID_PREFIX):
        return "not a browser call's token"
    return None

"""The streamed call's routes: Twilio's voice webhook, the media WebSocket, and health."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import Response
from loguru import logger

from zylin.app.profile_refresh import refresh_profile
from zylin.app.twilio_auth import public_base, signed_form, upgrade_signed
from zylin.business.after_hours import AfterHoursMode
from zylin.business.numbers import E164
from zylin.call.capacity import reserve_slot
from zylin.call.session import CLOSE_POLICY_VIOLATION, run_call
from zylin.end_reason import EndReason
from zylin.fallback import dial_done_url, legacy_redirect_twiml
from zylin.state import AppState
from zylin.telephony import (
    mask_phone,
    stream_url_from_public,
    twiml_connect_stream,
    twiml_forward,
)
from zylin.telephony.screening import record_screened, screen_incoming, twiml_reject

VOICE_PATHS = ("/twilio/voice", "/api/twilio/voice")  # the second: the original design's path


def calls_router() -> APIRouter:
    """`POST /twilio/voice` (and its alias), `WS /media-stream/{token}` and `GET /health`."""
    router = APIRouter()

    @router.get("/health")
    async def health(request: Request) -> dict:
        state: AppState = request.app.state.zylin
        settings, engines = state.settings, state.engines
        return {
            "status": "ok",
            "business": state.profile.name,
            "active_calls": len(state.active_calls),  # in this worker process
            "draining": state.draining,
            "demo_mode": engines.any_demo,
            "engines": {
                "stt": engines.stt.value,
                "llm": engines.llm.value,
                "tts": engines.tts.value,
            },
            "configured": {
                "deepgram": bool(settings.deepgram_api_key),
                "openai": bool(settings.openai_api_key),
                "twilio": bool(settings.twilio_account_sid and settings.twilio_auth_token),
                "public_url": bool(settings.public_url),
            },
        }

    for path in VOICE_PATHS:
        router.add_api_route(path, _voice_webhook(path), methods=["POST"])

    @router.websocket("/media-stream/{token}")
    async def media_stream(websocket: WebSocket, token: str) -> None:
        state: AppState = websocket.app.state.zylin
        if not upgrade_signed(websocket, state, token):
            logger.warning("Media stream refused: bad or missing upgrade signature")
            await websocket.close(code=CLOSE_POLICY_VIOLATION)
            return
        await websocket.accept()
        refresh_profile(websocket.app.state)  # this worker may not have seen the webhook
        await run_call(websocket, token, state)

    return router


def _voice_webhook(path: str) -> Callable[[Request], Awaitable[Response]]:
    """The voice webhook at `path`: Twilio signs over the URL it called, so each path checks
    its own; every path answers the same TwiML."""

    async def voice(request: Request) -> Response:
        refresh_profile(request.app.state)
        state: AppState = request.app.state.zylin
        settings = state.settings
        form = await signed_form(request, state, path)
        if form is None:
            return Response("invalid signature", status_code=403)
        call_sid = form.get("CallSid", "")
        if not call_sid.startswith("CA") or len(call_sid) > 64:
            return Response("missing CallSid", status_code=400)
        if (refused := await _screened(state, call_sid, form)) is not None:
            return refused
        if (forwarded := await _forward_after_hours(request, state, call_sid, form)) is not None:
            return forwarded
        if state.draining:
            logger.bind(call_sid=call_sid).warning("Shutting down: legacy path")
            twiml = legacy_redirect_twiml(settings.public_url, reason="shutdown")
            return Response(twiml, media_type="application/xml")
        hold = settings.stream_token_ttl_secs + 30  # the stream renews it once it opens
        if not await reserve_slot(state, call_sid, hold_secs=hold):
            logger.bind(call_sid=call_sid).warning(
                f"At the cap of {settings.max_concurrent_calls} streamed calls: legacy path"
            )
            twiml = legacy_redirect_twiml(settings.public_url, reason="capacity")
            return Response(twiml, media_type="application/xml")
        token = state.tokens.issue(call_sid)
        stream_url = stream_url_from_public(public_base(request, state), f"media-stream/{token}")
        logger.bind(call_sid=call_sid).info(
            f"Incoming call from {mask_phone(form.get('From'))}: connecting the media stream"
        )
        twiml = twiml_connect_stream(
            stream_url,
            {"callerPhone": form.get("From", ""), "calledPhone": form.get("To", "")},
        )
        return Response(twiml, media_type="application/xml")

    return voice


async def _screened(state: AppState, call_sid: str, form: dict[str, str]) -> Response | None:
    """A `<Reject>` for a blocked number or one over the rate limit (recorded), else None."""
    caller = form.get("From") or None
    because = await screen_incoming(state.repository, state.profile, caller, state.now())
    if because is None:
        return None
    logger.bind(call_sid=call_sid).info(f"Screened a call from {mask_phone(caller)}: {because}")
    await record_screened(
        state.repository,
        call_sid=call_sid,
        caller=caller,
        called=form.get("To") or None,
        because=because,
        now=state.now(),
    )
    state.metrics.calls_total.labels(end_reason=EndReason.SCREENED.value).inc()
    return Response(twiml_reject(), media_type="application/xml")


async def _forward_after_hours(
    request: Request, state: AppState, call_sid: str, form: dict[str, str]
) -> Response | None:
    """Outside opening hours in `forward` mode: `<Dial>` the profile's `forward_to`, and take a
    message (the transfer's dial-done webhook) if nobody answers. None otherwise."""
    profile, now = state.profile, state.now()
    rules = profile.after_hours
    if rules.mode != AfterHoursMode.FORWARD or rules.forward_to is None or profile.open_at(now):
        return None
    caller, called = form.get("From") or None, form.get("To") or None
    log = logger.bind(call_sid=call_sid)
    log.info(f"After hours: forwarding a call from {mask_phone(caller)}")
    try:
        await state.repository.create_call(
            call_sid, caller_phone=caller, called_phone=called, started_at=now
        )
        await state.repository.add_action(call_sid, "after_hours", {"mode": rules.mode.value})
    except Exception as exc:  # the call is forwarded all the same
        log.error(f"After-hours forward not recorded: {exc}")
    # The person it rings sees who is calling (Twilio allows the caller's own number when
    # forwarding an incoming call); a withheld number shows the business's.
    caller_id = caller if caller and E164.match(caller) else called
    twiml = twiml_forward(
        state.prompts.line("after_hours_forwarding", profile),
        rules.forward_to,
        caller_id=caller_id,
        timeout_secs=rules.forward_ring_secs,
        action_url=dial_done_url(public_base(request, state)),
    )
    return Response(twiml, media_type="application/xml")

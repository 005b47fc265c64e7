"""One call's life on the media WebSocket: verify, record, run the pipeline, close the record."""

from __future__ import annotations

import contextlib

from fastapi import WebSocket
from loguru import logger
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)
from pipecat.workers.runner import WorkerRunner

from app_state import AppState
from bot import CallServices, build_worker, make_services
from call_resources import CallResources
from media_stream import HandshakeError, StreamStart, ZylinTwilioSerializer, read_stream_start
from prompts import render_system_prompt
from telephony import StreamTokenError, mask_phone
from tools import drain_background

CLOSE_POLICY_VIOLATION = 1008
CLOSE_TRY_AGAIN_LATER = 1013


async def run_call(
    websocket: WebSocket, token: str, state: AppState, services: CallServices | None = None
) -> None:
    """Run a call whose socket is already accepted and whose upgrade signature was checked.

    Nothing paid for starts until `start` names the call the token was issued for and the
    token's nonce is consumed (once, across every worker process, in the shared database).
    """
    try:
        start = await read_stream_start(websocket)
        claim = state.tokens.verify(token)
        if claim.call_sid != start.call_sid:
            raise StreamTokenError("token was issued for another call")
        if not await state.repository.consume_stream_token(claim.nonce, start.call_sid):
            raise StreamTokenError("token already used")
    except (HandshakeError, StreamTokenError) as exc:
        logger.warning(f"Media stream refused: {exc}")
        await _close(websocket, CLOSE_POLICY_VIOLATION, str(exc))
        return
    if len(state.active_calls) >= state.settings.max_concurrent_calls:
        logger.warning("Media stream refused: concurrent-call cap reached")
        await _close(websocket, CLOSE_TRY_AGAIN_LATER, "busy")
        return
    with logger.contextualize(call_sid=start.call_sid):
        state.active_calls.add(start.call_sid)
        try:
            await _run_verified_call(websocket, start, state, services)
        finally:
            state.active_calls.discard(start.call_sid)


async def _run_verified_call(
    websocket: WebSocket, start: StreamStart, state: AppState, services: CallServices | None
) -> None:
    settings = state.settings
    caller = start.custom_parameters.get("callerPhone") or None
    called = start.custom_parameters.get("calledPhone") or None
    resources = CallResources(
        settings=settings,
        profile=state.profile,
        repository=state.repository,
        twilio=state.twilio,
        now=state.now,
        call_sid=start.call_sid,
        stream_sid=start.stream_sid,
        caller_phone=caller,
        called_phone=called,
        lines=state.prompts.filled_lines(state.profile),
    )
    logger.info(f"Call started from {mask_phone(caller)}")
    await state.repository.create_call(
        call_sid=start.call_sid,
        stream_sid=start.stream_sid,
        caller_phone=caller,
        called_phone=called,
        started_at=state.now(),
    )
    auth_token = (
        settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None
    )
    # Hang up with our own account's credentials, never with what the socket claimed.
    can_hang_up = state.twilio.configured
    serializer = ZylinTwilioSerializer(
        start.stream_sid,
        call_sid=start.call_sid,
        account_sid=settings.twilio_account_sid if can_hang_up else None,
        auth_token=auth_token if can_hang_up else None,
        base_url=settings.twilio_api_base_url,
        params=ZylinTwilioSerializer.InputParams(auto_hang_up=can_hang_up),
        should_hang_up=lambda: resources.end_reason not in ("transferred", "caller_hangup"),
    )
    transport = FastAPIWebsocketTransport(
        websocket=websocket,
        params=FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            add_wav_header=False,
            serializer=serializer,
        ),
    )
    system_prompt = render_system_prompt(
        state.prompts, state.profile, now=state.now(), caller_known=bool(caller)
    )
    services = services or make_services(settings, state.profile, state.now, system_prompt)
    worker = build_worker(transport, resources, services, state.prompts)
    try:
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        await runner.run()
    except Exception as exc:
        resources.end_reason = resources.end_reason or "error"
        logger.exception(f"Call pipeline failed: {exc}")
    finally:
        await drain_background(resources)
        if serializer.rejected:
            logger.info(f"Dropped stream messages: {serializer.rejected}")
        await state.repository.finish_call(
            call_sid=start.call_sid,
            ended_at=state.now(),
            end_reason=resources.end_reason or "caller_hangup",
        )
        logger.info(f"Call ended ({resources.end_reason or 'caller_hangup'})")


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError):  # already closed by the other side
        await websocket.close(code=code, reason=reason[:120])

"""One call's life on the media WebSocket: verify, record, run the pipeline, close the record."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import WebSocket
from loguru import logger
from pipecat.pipeline.worker import PipelineWorker
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams
from pipecat.workers.runner import WorkerRunner

from zylin.call.capacity import SLOT_HOLD_SECS, StreamedCall, release_slot, reserve_slot
from zylin.call.context import CallContext
from zylin.call.record.cost import Prices
from zylin.call.record.recorder import CallRecorder
from zylin.call.record.recording import WavRecording
from zylin.call.record.summary import summarize
from zylin.call.record.writer import RecordWriter
from zylin.call.services import make_services
from zylin.call.transport import MediaStreamTransport
from zylin.end_reason import EndReason
from zylin.fallback import dial_done_url, move_call_to_legacy
from zylin.prompts import render_system_prompt
from zylin.state import AppState
from zylin.telephony import StreamTokenError, http_base_of, mask_phone
from zylin.telephony.media_stream import (
    HandshakeError,
    StreamStart,
    ZylinTwilioSerializer,
    read_stream_start,
)

CLOSE_POLICY_VIOLATION = 1008
CLOSE_TRY_AGAIN_LATER = 1013


@dataclass(frozen=True)
class CallChannel:
    """Where a streamed call comes from: Twilio's phone network (the default) or elsewhere,
    e.g. the owner's browser speaking the same Media Streams protocol."""

    # What the call record shows as the caller; None: the number Twilio's `start` gave.
    caller_label: str | None = None
    # Twilio's REST API knows this call (hang-up, moving it to the legacy path).
    on_twilio: bool = True
    # Sees the call's worker before it runs (e.g. to add an observer of its own).
    on_worker: Callable[[PipelineWorker], None] | None = None


TWILIO_CALL = CallChannel()


async def run_call(
    websocket: WebSocket, token: str, state: AppState, channel: CallChannel = TWILIO_CALL
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
    if state.draining:
        logger.warning("Media stream refused: the server is shutting down")
        await _close(websocket, CLOSE_TRY_AGAIN_LATER, "shutting down")
        return
    if not await reserve_slot(state, start.call_sid, hold_secs=SLOT_HOLD_SECS):
        logger.warning("Media stream refused: concurrent-call cap reached")
        await _close(websocket, CLOSE_TRY_AGAIN_LATER, "busy")
        return
    with logger.contextualize(call_sid=start.call_sid):
        try:
            await _run_verified_call(websocket, start, state, channel)
        finally:
            state.call_ended(start.call_sid)
            await release_slot(state, start.call_sid)


async def _run_verified_call(
    websocket: WebSocket, start: StreamStart, state: AppState, channel: CallChannel
) -> None:
    settings = state.settings
    ctx = _context_for(start, state, _public_base(websocket, state), channel)
    logger.info(f"Call started from {channel.caller_label or mask_phone(ctx.caller_phone)}")
    writer = RecordWriter(on_failure=lambda _what: state.metrics.service_error("database"))
    writer.start()
    await _open_record(state, ctx, writer, channel.caller_label)
    recorder = CallRecorder(
        repository=state.repository,
        call_sid=start.call_sid,
        now=state.now,
        writer=writer,
        metrics=state.metrics,
        target_ms=settings.turn_latency_target_ms,
        prices=Prices.of(settings, state.engines, phone_line=channel.on_twilio),
    )
    recording = (
        WavRecording(state.recordings_dir / f"{start.call_sid}.wav")
        if state.profile.recording.enabled
        else None
    )
    serializer = _serializer_for(start, state, ctx)
    transport = MediaStreamTransport(
        websocket,
        FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            add_wav_header=False,
            serializer=serializer,
        ),
        ahead_secs=settings.audio_send_ahead_ms / 1000,
    )
    system_prompt = render_system_prompt(
        state.prompts, state.profile, now=state.now(), caller_known=bool(ctx.caller_phone)
    )
    services = make_services(
        settings,
        state.engines,
        state.profile,
        state.now,
        system_prompt,
        state.demo_lm,
        http=state.openai_http,
    )
    worker = state.build_worker(
        transport,
        ctx,
        services,
        state.prompts,
        recorder=recorder,
        metrics=state.metrics,
        recording=recording,
        move_to_legacy=_legacy_mover(websocket, state, start.call_sid) if ctx.on_twilio else None,
    )
    if channel.on_worker is not None:
        channel.on_worker(worker)
    state.call_started(start.call_sid, StreamedCall(ctx, worker))
    state.metrics.call_started()
    try:
        runner = WorkerRunner(handle_sigint=False)
        await runner.add_workers(worker)
        await runner.run()
    except Exception as exc:
        ctx.end.note(EndReason.ERROR)
        logger.exception(f"Call pipeline failed: {exc}")
    finally:
        end_reason = ctx.end.final()
        state.metrics.call_ended(end_reason)
        await ctx.tasks.drain()
        if serializer.rejected:
            logger.info(f"Dropped stream messages: {serializer.rejected}")
        recorder.record_cost()
        await _close_record(state, ctx, writer, end_reason, recording)
        logger.info(f"Call ended ({end_reason})")


def _public_base(websocket: WebSocket, state: AppState) -> str:
    """Our public web address: `PUBLIC_URL`, else the address this socket came in on."""
    return state.settings.public_url or http_base_of(str(websocket.base_url))


def _legacy_mover(
    websocket: WebSocket, state: AppState, call_sid: str
) -> Callable[[], Awaitable[None]] | None:
    """How to move this call onto the legacy path (needs Twilio REST and a public URL)."""
    if not state.twilio.configured:
        return None
    base = _public_base(websocket, state)

    async def move() -> None:
        await move_call_to_legacy(state.twilio, call_sid, base)

    return move


def _context_for(
    start: StreamStart, state: AppState, public_base: str, channel: CallChannel
) -> CallContext:
    params = start.custom_parameters if channel.caller_label is None else {}
    return CallContext(
        settings=state.settings,
        profile=state.profile,
        repository=state.repository,
        twilio=state.twilio,
        now=state.now,
        call_sid=start.call_sid,
        stream_sid=start.stream_sid,
        caller_phone=params.get("callerPhone") or None,
        called_phone=params.get("calledPhone") or None,
        lines=state.prompts.filled_lines(state.profile),
        # An unanswered transfer comes back here to take a message.
        transfer_fallback_url=dial_done_url(public_base),
        on_twilio=channel.on_twilio,
    )


def _serializer_for(start: StreamStart, state: AppState, ctx: CallContext) -> ZylinTwilioSerializer:
    """Hang up with our own account's credentials, never with what the socket claimed."""
    settings = state.settings
    can_hang_up = ctx.on_twilio and state.twilio.configured
    return ZylinTwilioSerializer(
        start.stream_sid,
        call_sid=start.call_sid,
        account_sid=settings.twilio_account_sid if can_hang_up else None,
        auth_token=settings.twilio_token if can_hang_up else None,
        base_url=settings.twilio_api_base_url,
        params=ZylinTwilioSerializer.InputParams(auto_hang_up=can_hang_up),
        should_hang_up=lambda: ctx.end.should_hang_up,
        audio_chunk_ms=settings.audio_in_chunk_ms,
        on_flood=lambda: ctx.end.note(EndReason.STREAM_FLOOD),
    )


async def _open_record(
    state: AppState, ctx: CallContext, writer: RecordWriter, caller_label: str | None
) -> None:
    """Create the call row now; if the database is down, queue it so the call still runs."""
    values = {
        "call_sid": ctx.call_sid,
        "stream_sid": ctx.stream_sid,
        "caller_phone": caller_label or ctx.caller_phone,
        "called_phone": ctx.called_phone,
        "started_at": state.now(),
    }
    try:
        await state.repository.create_call(**values)
    except Exception as exc:
        logger.warning(f"Call record not created yet ({type(exc).__name__}); queued")
        state.metrics.service_error("database")
        writer.put("call start", lambda: state.repository.create_call(**values), **values)


async def _close_record(
    state: AppState,
    ctx: CallContext,
    writer: RecordWriter,
    end_reason: EndReason,
    recording: WavRecording | None,
) -> None:
    """Stamp the end, flush queued records, then add the recording, intent and summary."""
    ended = {"call_sid": ctx.call_sid, "ended_at": state.now(), "end_reason": end_reason.value}
    writer.put("call end", lambda: state.repository.finish_call(**ended), **ended)
    path = await recording.close() if recording is not None else None
    if path is not None:
        sid = ctx.call_sid
        writer.put(
            "recording",
            lambda: state.repository.update_call(sid, recording_path=str(path)),
            recording_path=str(path),
        )
    await writer.close()
    if writer.failed:
        return  # the database is away: the records are in the log, a summary can wait
    try:
        detail = await state.repository.get_call_by_sid(ctx.call_sid)
        if detail is None:
            return
        result = await summarize(detail, client=state.llm_client, model=state.settings.openai_model)
        await state.repository.update_call(
            ctx.call_sid, intent=result.intent, summary=result.summary
        )
    except Exception as exc:
        logger.error(f"Could not store the call's intent and summary: {exc}")


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError):  # already closed by the other side
        await websocket.close(code=code, reason=reason[:120])

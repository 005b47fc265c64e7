"""Legacy routes: greet and record, answer each recording, take messages, and call statuses."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response

from zylin.business.screening import ScreenedBecause
from zylin.end_reason import EndReason
from zylin.fallback.steps import (
    DemoModels,
    decide_answer,
    failed,
    fetch_recording,
    not_heard,
    reply,
    transcribe_recording,
    turn_number,
)
from zylin.fallback.transfer import TransferRef, transfer_outcome, transfer_router
from zylin.fallback.turn import LegacyTurn, public_base, twiml_response
from zylin.fallback.twiml import (
    DIAL_DONE_PATH,
    ENTRY_PATHS,
    MESSAGE_PATH,
    RECORDED_PATH,
    hang_up,
    say_and_hang_up,
    say_and_record,
    webhook_url,
)
from zylin.state import AppState
from zylin.telephony import mask_phone
from zylin.telephony.screening import record_screened, screen_incoming, twiml_reject

SignedForm = Callable[[Request, AppState, str], Awaitable[dict[str, str] | None]]

MAX_TURNS = 6
BUDGET_SECS = 12.0  # Twilio gives up on a webhook after 15 s; answer before that, even if failing
STATUS_PATH = "/twilio/status"
_FINAL_STATUSES = {
    "completed": EndReason.COMPLETED,
    "busy": EndReason.BUSY,
    "failed": EndReason.FAILED,
    "no-answer": EndReason.NO_ANSWER,
    "canceled": EndReason.CANCELED,
}
_REASON = re.compile(r"^[a-z_]{1,32}$")
_CALL_SID = re.compile(r"^CA[0-9a-zA-Z]{1,62}$")


def legacy_router(
    signed_form: SignedForm, *, max_turns: int = MAX_TURNS, budget_secs: float = BUDGET_SECS
) -> APIRouter:
    """The legacy path's webhooks and `/twilio/status`.

    Args:
        signed_form: The server's Twilio signature check (form if signed, else None).
        max_turns: Recordings answered per call before a polite goodbye.
        budget_secs: Time for download + STT + LLM before the call gets an apology instead.
    """
    router = APIRouter()
    engines = DemoModels()

    async def opened(request: Request, path: str) -> LegacyTurn | Response:
        state: AppState = request.app.state.zylin
        form = await signed_form(request, state, path)
        if form is None:
            return Response("invalid signature", status_code=403)
        call_sid = form.get("CallSid", "")
        if not _CALL_SID.match(call_sid):
            return Response("missing CallSid", status_code=400)
        turn = LegacyTurn(state, form, call_sid)
        await turn.load()
        return turn

    def recorded_url(state: AppState, turn: int) -> str:
        return webhook_url(public_base(state), RECORDED_PATH, turn=turn)

    async def voice_legacy(request: Request, path: str) -> Response:
        t = await opened(request, path)
        if isinstance(t, Response):
            return t
        reason = request.query_params.get("reason", "operator")
        reason = reason if _REASON.match(reason) else "operator"
        if reason == "operator" and (because := await screened(t)) is not None:
            # Twilio sent the call here itself (our own redirects were screened already).
            t.log.info(f"Screened a call from {mask_phone(t.caller)}: {because}")
            return twiml_response(twiml_reject())
        t.log.info(f"Legacy path ({reason}) for a call from {mask_phone(t.caller)}")
        await t.safe(
            "create the call record",
            t.state.repository.create_call(
                t.call_sid,
                caller_phone=t.caller,
                called_phone=t.form.get("To") or None,
                started_at=t.state.now(),
            ),
        )
        if t.detail and t.detail.call.ended_at is not None:
            # Moved here from the stream path, which closed its record: the call goes on.
            await t.safe(
                "reopen the call record",
                t.state.repository.update_call(t.call_sid, ended_at=None, end_reason=None),
            )
        await t.load()
        await t.action("legacy_path", {"reason": reason})
        if reason == "service_failure":
            text = t.line("legacy_resume")
        else:
            text = " ".join(
                [t.line("recording_notice"), t.line("greeting"), t.line("legacy_after_beep")]
            )
        await t.add_turn("assistant", text)
        url = recorded_url(t.state, 1)
        return twiml_response(say_and_record(text, action_url=url, no_input_url=url))

    async def screened(t: LegacyTurn) -> ScreenedBecause | None:
        state = t.state
        because = await screen_incoming(state.repository, state.profile, t.caller, state.now())
        if because is not None:
            await record_screened(
                state.repository,
                call_sid=t.call_sid,
                caller=t.caller,
                called=t.form.get("To") or None,
                because=because,
                now=state.now(),
            )
            state.metrics.calls_total.labels(end_reason=EndReason.SCREENED.value).inc()
        return because

    router.include_router(transfer_router(signed_form))  # a warm transfer's owner side

    for path in ENTRY_PATHS:  # each signature-checked against its own URL
        router.add_api_route(path, _at(path, voice_legacy), methods=["POST"])

    @router.post(RECORDED_PATH)
    async def voice_legacy_recorded(request: Request) -> Response:
        t = await opened(request, RECORDED_PATH)
        if isinstance(t, Response):
            return t
        turn = turn_number(request.query_params.get("turn"), max_turns)
        if not (t.form.get("RecordingUrl") or t.form.get("RecordingSid")):
            t.log.info("Legacy path: nothing was recorded; saying goodbye")
            return await t.say_last(t.line("silence_goodbye"), EndReason.LEGACY_NO_INPUT)
        history = t.history()
        stage, transcript = "download", None
        try:
            async with asyncio.timeout(budget_secs):
                wav = await fetch_recording(t)
                stage = "stt"
                transcript = await transcribe_recording(t, engines, wav)
                if transcript:
                    await t.add_turn("user", transcript)
                if t.form.get("CallStatus") == "completed":
                    # The caller hung up while recording: what they said is a voicemail.
                    await t.store_message(transcript or "")
                    await t.finish(EndReason.CALLER_HANGUP)
                    return twiml_response(say_and_hang_up(t.line("goodbye")))
                if not transcript:
                    return await not_heard(t, turn, max_turns)
                stage = "llm"
                answer = await decide_answer(t, engines, transcript, history)
        except Exception as exc:
            return await failed(t, stage, exc, transcript)
        return await reply(t, answer, turn, max_turns, transcript)

    @router.post(MESSAGE_PATH)
    async def voice_legacy_message(request: Request) -> Response:
        t = await opened(request, MESSAGE_PATH)
        if isinstance(t, Response):
            return t
        request_text = t.last_user_text()
        transcript = ""
        if t.form.get("RecordingUrl") or t.form.get("RecordingSid"):
            try:
                async with asyncio.timeout(budget_secs):
                    transcript = await transcribe_recording(t, engines, await fetch_recording(t))
            except Exception as exc:  # the recording itself is still kept with the message
                t.log.warning(f"Legacy message could not be transcribed: {exc}")
                await t.action("legacy_failure", {"stage": "message", "error": str(exc)[:300]})
            if transcript:
                await t.add_turn("user", transcript)
        text = transcript
        if request_text and request_text != transcript:
            text = f"{transcript} (earlier: {request_text})".strip()
        if not text and not t.form.get("RecordingUrl"):
            text = "The caller asked for a call back but left no message."
        stored = await t.store_message(text)
        line = "legacy_message_taken" if stored else "legacy_trouble"
        return await t.say_last(t.line(line), EndReason.LEGACY_MESSAGE)

    @router.post(DIAL_DONE_PATH)
    async def transfer_done(request: Request) -> Response:
        """After a transfer's `<Dial>`: hang up if the owner talked, else take a message."""
        t = await opened(request, DIAL_DONE_PATH)
        if isinstance(t, Response):
            return t
        status = t.form.get("DialCallStatus", "")
        ref = TransferRef.of(request)
        if ref is None:  # a plain <Dial> (after-hours forward): Twilio's status decides
            await t.action("transfer_result", {"dial_status": status})
            connected = status in ("completed", "answered")
        else:  # a warm transfer: only the owner's "1" connects, whatever the dial status says
            result = transfer_outcome(t.detail.actions if t.detail else [], ref.escalation_id)
            await t.action("transfer_result", {"dial_status": status, **result})
            await t.safe("record the transfer", record_transfer(t, result))
            connected = result["outcome"] == "accepted"
        if connected:
            await t.finish(EndReason.TRANSFERRED)
            return twiml_response(hang_up())
        t.log.info(f"Transfer not taken ({status or 'unknown'}): taking a message")
        return await t.ask_for_message(t.line("transfer_leave_message"))

    @router.post(STATUS_PATH)
    async def twilio_status(request: Request) -> Response:
        t = await opened(request, STATUS_PATH)
        if isinstance(t, Response):
            return t
        status = t.form.get("CallStatus", "")
        end_reason = _FINAL_STATUSES.get(status)
        if end_reason is None or t.detail is None:
            return Response(status_code=204)  # not final, or a call we never recorded
        await t.action("call_status", {"status": status, "duration": t.form.get("CallDuration")})
        call = t.detail.call
        if call.ended_at is None or call.end_reason == EndReason.MOVED_TO_LEGACY:
            await t.finish(end_reason)
        return Response(status_code=204)

    return router


def _at(
    path: str, handler: Callable[[Request, str], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    """`handler` as the route for `path`, told which URL Twilio signed."""

    async def route(request: Request) -> Response:
        return await handler(request, path)

    return route


async def record_transfer(t: LegacyTurn, result: dict[str, object]) -> None:
    """The transfer's outcome on the call record itself (`extra.transfers`), for the owner."""
    call = t.detail.call if t.detail else None
    extra = dict(call.extra or {}) if call else {}
    extra["transfers"] = [*extra.get("transfers", []), {"offered": True, **result}]
    await t.state.repository.update_call(t.call_sid, extra=extra)

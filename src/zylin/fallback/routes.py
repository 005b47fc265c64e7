"""Legacy routes: greet and record, answer each recording, take messages, and call statuses."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response
from loguru import logger

from zylin.config import LlmProvider, SttProvider
from zylin.fallback.answer import (
    Answer,
    AnswerKind,
    DemoAnswerer,
    legacy_system_prompt,
    openai_answer,
)
from zylin.fallback.recordings import download_recording, recording_media_url
from zylin.fallback.transcribe import LocalTranscriber, deepgram_prerecorded
from zylin.fallback.twiml import (
    DIAL_DONE_PATH,
    ENTRY_PATH,
    MESSAGE_PATH,
    RECORDED_PATH,
    hang_up,
    legacy_redirect_twiml,
    say_and_hang_up,
    say_and_record,
    webhook_url,
)
from zylin.prompts import render_system_prompt
from zylin.state import AppState
from zylin.storage.repository import CallDetail
from zylin.telephony import TwilioRest, mask_phone

SignedForm = Callable[[Request, AppState, str], Awaitable[dict[str, str] | None]]
T = TypeVar("T")

MAX_TURNS = 6
BUDGET_SECS = 12.0  # Twilio gives up on a webhook after 15 s; answer before that, even if failing
STATUS_PATH = "/twilio/status"
MOVED_TO_LEGACY = "moved_to_legacy"  # end reason the stream path may set when it hands over
_FINAL_STATUSES = {
    "completed": "completed",
    "busy": "busy",
    "failed": "failed",
    "no-answer": "no_answer",
    "canceled": "canceled",
}
_REASON = re.compile(r"^[a-z_]{1,32}$")
_CALL_SID = re.compile(r"^CA[0-9a-zA-Z]{1,62}$")


async def move_call_to_legacy(
    twilio: TwilioRest, call_sid: str, public_base: str, *, reason: str = "service_failure"
) -> None:
    """Redirect a live call onto the legacy path through Twilio REST.

    For the stream path when a service stays down beyond retry: Twilio ends the media stream
    and POSTs the call to `/twilio/voice-legacy`, which apologises and records the caller.

    Args:
        twilio: The app's Twilio REST client.
        call_sid: The live call.
        public_base: `PUBLIC_URL` (or the ws/wss base the stream came in on); must be absolute.
        reason: Stored with the call (service_failure by default).

    Raises:
        TwilioRestError: Twilio refused or could not be reached (the call is unchanged).
        ValueError: `public_base` is not an absolute http(s)/ws(s) URL.
    """
    if "://" not in public_base:
        raise ValueError("moving a live call needs an absolute public URL")
    await twilio.update_call_twiml(call_sid, legacy_redirect_twiml(public_base, reason=reason))


def _xml(twiml: str) -> Response:
    return Response(twiml, media_type="application/xml")


def _public(state: AppState) -> str | None:
    return state.settings.public_url


class _Engines:
    """This app's local engines, built on first use (the demo LM takes ~0.15 s to build)."""

    def __init__(self) -> None:
        self._transcriber: LocalTranscriber | None = None
        self._demo: DemoAnswerer | None = None

    def transcriber(self, state: AppState) -> LocalTranscriber:
        if self._transcriber is None:
            self._transcriber = LocalTranscriber(state.profile, state.now)
        return self._transcriber

    def demo(self, state: AppState) -> DemoAnswerer:
        if self._demo is None:
            self._demo = DemoAnswerer(state.profile, state.now)
        return self._demo


class _Turn:
    """One webhook's view of a legacy call: ids, form, logger, and safe record-keeping."""

    def __init__(self, state: AppState, form: dict[str, str], call_sid: str) -> None:
        self.state = state
        self.form = form
        self.call_sid = call_sid
        self.caller = form.get("From") or None
        self.log = logger.bind(call_sid=call_sid)
        self.detail: CallDetail | None = None

    def line(self, name: str) -> str:
        return self.state.prompts.line(name, self.state.profile)

    async def safe(self, what: str, operation: Awaitable[T]) -> T | None:
        """Run a record-keeping write; a database fault is logged and the call goes on."""
        try:
            return await operation
        except Exception as exc:
            self.log.error(f"Legacy path could not {what}: {exc}")
            return None

    async def load(self) -> None:
        self.detail = await self.safe(
            "read the call record", self.state.repository.get_call_by_sid(self.call_sid)
        )

    def history(self) -> list[tuple[str, str]]:
        turns = self.detail.turns if self.detail else []
        return [(t.role, t.text) for t in turns if t.role in ("user", "assistant") and t.text]

    def last_user_text(self) -> str:
        users = [text for role, text in self.history() if role == "user"]
        return users[-1] if users else ""

    async def add_turn(self, role: str, text: str) -> None:
        turns = self.detail.turns if self.detail else []
        seq = max((t.seq for t in turns), default=0) + 1
        turn_id = await self.safe(
            "store a turn",
            self.state.repository.add_turn(
                self.call_sid,
                seq=seq,
                role=role,
                text=text,
                started_at=self.state.now(),
                ended_at=self.state.now(),
            ),
        )
        if turn_id is not None:
            await self.load()  # keeps seq numbers right for the next turn of this request

    async def action(self, kind: str, detail: dict[str, Any]) -> None:
        await self.safe(
            f"record {kind}", self.state.repository.add_action(self.call_sid, kind, detail)
        )

    async def finish(self, reason: str) -> None:
        await self.safe(
            "close the call record",
            self.state.repository.finish_call(
                self.call_sid, end_reason=reason, ended_at=self.state.now()
            ),
        )

    async def ask_for_message(self, text: str) -> Response:
        """Say `text`, then record the caller's message for the message webhook."""
        await self.add_turn("assistant", text)
        url = webhook_url(_public(self.state), MESSAGE_PATH)
        return _xml(say_and_record(text, action_url=url, no_input_url=url))

    async def say_last(self, text: str, reason: str) -> Response:
        await self.add_turn("assistant", text)
        await self.finish(reason)
        return _xml(say_and_hang_up(text))

    async def store_message(
        self,
        text: str,
        *,
        caller_name: str | None = None,
        callback_number: str | None = None,
    ) -> bool:
        """Keep what the caller said for the owner; if the database fails, log it in full."""
        recording_sid = self.form.get("RecordingSid") or None
        recording_url = self.form.get("RecordingUrl") or None
        body = text.strip() or "(the recording could not be transcribed)"
        if recording_url or recording_sid:
            body += f" [recording {recording_sid or ''} {recording_url or ''}]".replace("  ", " ")
        try:
            stored = await self.state.repository.add_message(
                caller_name=(caller_name or "Unknown caller")[:100],
                message=body,
                caller_phone=self.caller,
                callback_number=(callback_number or self.caller or "")[:32] or None,
                call_sid=self.call_sid,
            )
        except Exception as exc:
            # Nothing recorded may be lost: the log is the last place the message can live.
            self.log.error(
                f"Could not store a message from {mask_phone(self.caller)} ({exc}); "
                f"message kept here: {body!r}"
            )
            return False
        self.log.info("Stored a message for the owner from the legacy path")
        await self.action(
            "message",
            {"message_id": stored.id, "source": "legacy", "recording_sid": recording_sid},
        )
        return True


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
    engines = _Engines()

    async def opened(request: Request, path: str) -> _Turn | Response:
        state: AppState = request.app.state.zylin
        form = await signed_form(request, state, path)
        if form is None:
            return Response("invalid signature", status_code=403)
        call_sid = form.get("CallSid", "")
        if not _CALL_SID.match(call_sid):
            return Response("missing CallSid", status_code=400)
        turn = _Turn(state, form, call_sid)
        await turn.load()
        return turn

    def recorded_url(state: AppState, turn: int) -> str:
        return webhook_url(_public(state), RECORDED_PATH, turn=turn)

    @router.post(ENTRY_PATH)
    async def voice_legacy(request: Request) -> Response:
        t = await opened(request, ENTRY_PATH)
        if isinstance(t, Response):
            return t
        reason = request.query_params.get("reason", "operator")
        reason = reason if _REASON.match(reason) else "operator"
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
        return _xml(say_and_record(text, action_url=url, no_input_url=url))

    @router.post(RECORDED_PATH)
    async def voice_legacy_recorded(request: Request) -> Response:
        t = await opened(request, RECORDED_PATH)
        if isinstance(t, Response):
            return t
        turn = _turn_number(request.query_params.get("turn"), max_turns)
        if not (t.form.get("RecordingUrl") or t.form.get("RecordingSid")):
            t.log.info("Legacy path: nothing was recorded; saying goodbye")
            return await t.say_last(t.line("silence_goodbye"), "legacy_no_input")
        history = t.history()
        stage, transcript = "download", None
        try:
            async with asyncio.timeout(budget_secs):
                wav = await _download(t)
                stage = "stt"
                transcript = await _transcribe(t, engines, wav)
                if transcript:
                    await t.add_turn("user", transcript)
                if t.form.get("CallStatus") == "completed":
                    # The caller hung up while recording: what they said is a voicemail.
                    await t.store_message(transcript or "")
                    await t.finish("caller_hangup")
                    return _xml(say_and_hang_up(t.line("goodbye")))
                if not transcript:
                    return await _not_heard(t, turn, max_turns)
                stage = "llm"
                answer = await _answer(t, engines, transcript, history)
        except Exception as exc:
            return await _failed(t, stage, exc, transcript)
        return await _reply(t, answer, turn, max_turns, transcript)

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
                    transcript = await _transcribe(t, engines, await _download(t))
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
        return await t.say_last(t.line(line), "legacy_message")

    @router.post(DIAL_DONE_PATH)
    async def transfer_done(request: Request) -> Response:
        """After a transfer's `<Dial>`: hang up if the owner talked, else take a message."""
        t = await opened(request, DIAL_DONE_PATH)
        if isinstance(t, Response):
            return t
        status = t.form.get("DialCallStatus", "")
        await t.action("transfer_result", {"dial_status": status})
        if status in ("completed", "answered"):
            await t.finish("transferred")
            return _xml(hang_up())
        t.log.info(f"Transfer not answered ({status or 'unknown'}): taking a message")
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
        if call.ended_at is None or call.end_reason == MOVED_TO_LEGACY:
            await t.finish(end_reason)
        return Response(status_code=204)

    return router


def _turn_number(raw: str | None, max_turns: int) -> int:
    try:
        return min(max(int(raw or "1"), 1), max_turns)
    except ValueError:
        return 1


async def _download(t: _Turn) -> bytes:
    settings = t.state.settings
    token = settings.twilio_token
    if not (settings.twilio_account_sid and token):
        raise RuntimeError("Twilio credentials are not set; cannot fetch the recording")
    url = recording_media_url(
        t.form.get("RecordingUrl"),
        t.form.get("RecordingSid"),
        account_sid=settings.twilio_account_sid,
        api_base=settings.twilio_api_base_url,
    )
    return await download_recording(url, account_sid=settings.twilio_account_sid, auth_token=token)


async def _transcribe(t: _Turn, engines: _Engines, wav: bytes) -> str:
    settings = t.state.settings
    if settings.effective_stt == SttProvider.DEEPGRAM and settings.deepgram_api_key:
        return await deepgram_prerecorded(
            wav,
            api_key=settings.deepgram_api_key.get_secret_value(),
            base_url=settings.deepgram_base_url,
            model=settings.deepgram_model,
        )
    return await engines.transcriber(t.state).transcribe(wav)


async def _answer(
    t: _Turn, engines: _Engines, transcript: str, history: list[tuple[str, str]]
) -> Answer:
    settings = t.state.settings
    if settings.effective_llm == LlmProvider.OPENAI and settings.openai_api_key:
        system = render_system_prompt(
            t.state.prompts, t.state.profile, now=t.state.now(), caller_known=bool(t.caller)
        )
        return await openai_answer(
            transcript,
            history=history,
            system_prompt=legacy_system_prompt(system),
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            timeout_secs=settings.llm_timeout_secs,
        )
    return engines.demo(t.state).answer(transcript) or Answer(
        AnswerKind.SAY, text=t.line("legacy_fallback")
    )


async def _not_heard(t: _Turn, turn: int, max_turns: int) -> Response:
    """Nothing intelligible: ask again, or keep the recording for the owner on the last turn."""
    if turn < max_turns:
        text = t.line("legacy_not_heard")
        await t.add_turn("assistant", text)
        url = webhook_url(_public(t.state), RECORDED_PATH, turn=turn + 1)
        return _xml(say_and_record(text, action_url=url, no_input_url=url))
    stored = await t.store_message("")
    line = "legacy_message_taken" if stored else "legacy_trouble"
    return await t.say_last(t.line(line), "legacy_message")


async def _failed(t: _Turn, stage: str, exc: BaseException, transcript: str | None) -> Response:
    """Apologise, keep whatever we have as a message, and hang up politely."""
    error = "timed out" if isinstance(exc, TimeoutError) else str(exc)
    t.log.warning(f"Legacy path failed at {stage}: {error}")
    await t.action("legacy_failure", {"stage": stage, "error": error[:300]})
    await t.store_message(transcript or "")
    return await t.say_last(t.line("legacy_trouble"), "legacy_error")


async def _reply(t: _Turn, answer: Answer, turn: int, max_turns: int, transcript: str) -> Response:
    """Turn the decision into TwiML and keep the record."""
    if answer.kind == AnswerKind.GOODBYE:
        return await t.say_last(t.line("goodbye"), "legacy_goodbye")
    if answer.kind == AnswerKind.MESSAGE:
        text = answer.message
        if transcript and transcript not in text:
            text = f"{text} (caller said: {transcript})"
        stored = await t.store_message(
            text, caller_name=answer.caller_name, callback_number=answer.callback_number
        )
        line = "legacy_message_taken" if stored else "legacy_trouble"
        return await t.say_last(t.line(line), "legacy_message")
    if answer.kind == AnswerKind.ASK_MESSAGE:
        return await t.ask_for_message(
            t.line("legacy_request_message" if answer.for_request else "legacy_leave_message")
        )
    if turn >= max_turns:
        return await t.say_last(f"{answer.text} {t.line('goodbye')}", "legacy_max_turns")
    await t.add_turn("assistant", answer.text)
    url = webhook_url(_public(t.state), RECORDED_PATH, turn=turn + 1)
    return _xml(say_and_record(answer.text, action_url=url, no_input_url=url))

"""The steps of answering one recording: fetch, transcribe, decide, and reply in TwiML."""

from __future__ import annotations

from fastapi.responses import Response

from zylin.config import LlmProvider, SttProvider, secret
from zylin.end_reason import EndReason
from zylin.fallback.answer import (
    Answer,
    AnswerKind,
    DemoAnswerer,
    legacy_system_prompt,
    openai_answer,
)
from zylin.fallback.recordings import download_recording, recording_media_url
from zylin.fallback.transcribe import LocalTranscriber, deepgram_prerecorded
from zylin.fallback.turn import LegacyTurn, public_base, twiml_response
from zylin.fallback.twiml import RECORDED_PATH, say_and_record, webhook_url
from zylin.prompts import render_system_prompt
from zylin.state import AppState


class DemoModels:
    """The local models the legacy path decodes and answers with, built on first use."""

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


def turn_number(raw: str | None, max_turns: int) -> int:
    """The `turn` query parameter, clamped: it comes back from Twilio, so never trust it."""
    try:
        return min(max(int(raw or "1"), 1), max_turns)
    except ValueError:
        return 1


async def fetch_recording(t: LegacyTurn) -> bytes:
    """The recording's WAV, fetched only from our own account on Twilio's API."""
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


async def transcribe_recording(t: LegacyTurn, engines: DemoModels, wav: bytes) -> str:
    """Deepgram when configured, else the local pocketsphinx demo engine."""
    settings = t.state.settings
    if t.state.engines.stt == SttProvider.DEEPGRAM:
        return await deepgram_prerecorded(
            wav,
            api_key=secret(settings.deepgram_api_key),
            base_url=settings.deepgram_base_url,
            model=settings.deepgram_model,
        )
    return await engines.transcriber(t.state).transcribe(wav)


async def decide_answer(
    t: LegacyTurn, engines: DemoModels, transcript: str, history: list[tuple[str, str]]
) -> Answer:
    """OpenAI when configured, else the rule-based demo brain (with a fallback line)."""
    settings = t.state.settings
    if t.state.engines.llm == LlmProvider.OPENAI:
        system = render_system_prompt(
            t.state.prompts, t.state.profile, now=t.state.now(), caller_known=bool(t.caller)
        )
        return await openai_answer(
            transcript,
            history=history,
            system_prompt=legacy_system_prompt(system),
            api_key=secret(settings.openai_api_key),
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            timeout_secs=settings.llm_timeout_secs,
        )
    return engines.demo(t.state).answer(transcript) or Answer(
        AnswerKind.SAY, text=t.line("legacy_fallback")
    )


async def not_heard(t: LegacyTurn, turn: int, max_turns: int) -> Response:
    """Nothing intelligible: ask again, or keep the recording for the owner on the last turn."""
    if turn < max_turns:
        text = t.line("legacy_not_heard")
        await t.add_turn("assistant", text)
        url = webhook_url(public_base(t.state), RECORDED_PATH, turn=turn + 1)
        return twiml_response(say_and_record(text, action_url=url, no_input_url=url))
    stored = await t.store_message("")
    line = "legacy_message_taken" if stored else "legacy_trouble"
    return await t.say_last(t.line(line), EndReason.LEGACY_MESSAGE)


async def failed(t: LegacyTurn, stage: str, exc: BaseException, transcript: str | None) -> Response:
    """Apologise, keep whatever we have as a message, and hang up politely."""
    error = "timed out" if isinstance(exc, TimeoutError) else str(exc)
    t.log.warning(f"Legacy path failed at {stage}: {error}")
    await t.action("legacy_failure", {"stage": stage, "error": error[:300]})
    await t.store_message(transcript or "")
    return await t.say_last(t.line("legacy_trouble"), EndReason.LEGACY_ERROR)


async def reply(
    t: LegacyTurn, answer: Answer, turn: int, max_turns: int, transcript: str
) -> Response:
    """Turn the decision into TwiML and keep the record."""
    if answer.kind == AnswerKind.GOODBYE:
        return await t.say_last(t.line("goodbye"), EndReason.LEGACY_GOODBYE)
    if answer.kind == AnswerKind.MESSAGE:
        text = answer.message
        if transcript and transcript not in text:
            text = f"{text} (caller said: {transcript})"
        stored = await t.store_message(
            text, caller_name=answer.caller_name, callback_number=answer.callback_number
        )
        line = "legacy_message_taken" if stored else "legacy_trouble"
        return await t.say_last(t.line(line), EndReason.LEGACY_MESSAGE)
    if answer.kind == AnswerKind.ASK_MESSAGE:
        return await t.ask_for_message(
            t.line("legacy_request_message" if answer.for_request else "legacy_leave_message")
        )
    if turn >= max_turns:
        return await t.say_last(f"{answer.text} {t.line('goodbye')}", EndReason.LEGACY_MAX_TURNS)
    await t.add_turn("assistant", answer.text)
    url = webhook_url(public_base(t.state), RECORDED_PATH, turn=turn + 1)
    return twiml_response(say_and_record(answer.text, action_url=url, no_input_url=url))

"""Service faults in a live call: the call goes on or ends politely, and the log says why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from devtools.caller import SimulatedCall
from devtools.fakes._base import wait_until
from devtools.fakes.openai_server import Text, ToolCall
from tests.e2e.conftest import OPEN_NOW
from tests.harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Fakes,
    RunningServer,
    cloud_settings,
    running_server,
)

HOLDING = "Sorry, just a moment."


@pytest_asyncio.fixture
async def zylin_fast_llm_timeout(fakes: Fakes, tmp_path: Path) -> AsyncIterator[RunningServer]:
    settings = cloud_settings(fakes, tmp_path, silence_prompt_secs=30.0, llm_timeout_secs=1.0)
    async with running_server(settings, now=lambda: OPEN_NOW) as server:
        yield server


def call_to(server: RunningServer) -> SimulatedCall:
    return SimulatedCall(server.url, auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID)


def spoken(fakes: Fakes) -> list[str]:
    return [r["input"] for r in fakes.openai.speech_requests]


def legacy_redirects(fakes: Fakes) -> list[str]:
    return [u["Twiml"] for u in fakes.twilio.call_updates if "voice-legacy" in u.get("Twiml", "")]


async def test_llm_error_gets_a_holding_line_and_one_retry(
    zylin: RunningServer, fakes: Fakes
) -> None:
    fakes.deepgram.queue_transcripts(["What are your hours?"])
    # The SDK retries a 5xx twice by itself: three failures make one failed request.
    fakes.openai.fail_next_chat(3, retry_after=0.01)
    fakes.openai.queue_chat(Text("We're open nine to five."))
    async with call_to(zylin) as call:
        await call.wait_for_reply(timeout=15)
        await call.say_text("What are your hours")
        await wait_until(lambda: "We're open nine to five." in spoken(fakes), within=20)
    assert spoken(fakes)[-2:] == [HOLDING, "We're open nine to five."]
    assert legacy_redirects(fakes) == []


async def test_llm_down_moves_the_call_to_the_legacy_path(
    zylin: RunningServer, fakes: Fakes
) -> None:
    fakes.deepgram.queue_transcripts(["What are your hours?"])
    fakes.openai.fail_next_chat(100, retry_after=0.01)
    async with call_to(zylin) as call:
        await call.wait_for_reply(timeout=15)
        await call.say_text("What are your hours")
        await wait_until(lambda: bool(legacy_redirects(fakes)), within=30)
    assert HOLDING in spoken(fakes)
    assert "/twilio/voice-legacy?reason=service_failure" in legacy_redirects(fakes)[0]
    await wait_until(lambda: not zylin.state.active_calls, within=15)
    detail = await zylin.state.repository.get_call_by_sid(call.call_sid)
    assert detail is not None and detail.call.end_reason == "moved_to_legacy"
    assert not any(u.get("Status") == "completed" for u in fakes.twilio.call_updates)


async def test_llm_timeout_is_retried(zylin_fast_llm_timeout: RunningServer, fakes: Fakes) -> None:
    fakes.deepgram.queue_transcripts(["What are your hours?"])
    fakes.openai.hang_next_chat(1)
    fakes.openai.queue_chat(Text("We're open nine to five."))
    async with call_to(zylin_fast_llm_timeout) as call:
        await call.wait_for_reply(timeout=15)
        await call.say_text("What are your hours")
        await wait_until(lambda: "We're open nine to five." in spoken(fakes), within=20)
    assert legacy_redirects(fakes) == []


async def test_malformed_tool_arguments_do_not_break_the_call(
    zylin: RunningServer, fakes: Fakes
) -> None:
    fakes.deepgram.queue_transcripts(["Book me a cleaning", "What are your hours?"])
    fakes.openai.malformed_tool_args_next()  # the tool call below arrives as broken JSON
    fakes.openai.queue_chat(
        ToolCall("check_availability", {"date": "2026-12-01", "service": "Cleaning"}),
        Text("Which day would suit you?"),  # the retry after the holding line
        Text("We're open nine to five."),
    )
    async with call_to(zylin) as call:
        await call.wait_for_reply(timeout=15)
        await call.say_text("Book me a cleaning")
        await call.wait_for_reply(timeout=20)
        await call.say_text("What are your hours")
        await wait_until(lambda: "We're open nine to five." in spoken(fakes), within=20)
    said = spoken(fakes)
    assert said.index(HOLDING) < said.index("Which day would suit you?")
    assert legacy_redirects(fakes) == []


async def test_tts_error_is_retried_with_a_holding_line(zylin: RunningServer, fakes: Fakes) -> None:
    fakes.deepgram.queue_transcripts(["What are your hours?"])
    fakes.openai.queue_chat(Text("We're open nine to five."))
    async with call_to(zylin) as call:
        await call.wait_for_reply(timeout=15)
        fakes.openai.fail_next_speech(3, retry_after=0.01)
        await call.say_text("What are your hours")
        await wait_until(lambda: HOLDING in spoken(fakes), within=20)
        await wait_until(lambda: len(fakes.openai.speech_requests) >= 4, within=10)
        await call.wait_for_bot_audio(timeout=10)
    # the failed reply, then the holding line that retried the voice and was heard
    assert spoken(fakes)[-2:] == ["We're open nine to five.", HOLDING]
    assert legacy_redirects(fakes) == []


async def test_tts_down_moves_the_call_to_twilio_voice(zylin: RunningServer, fakes: Fakes) -> None:
    fakes.deepgram.queue_transcripts(["What are your hours?"])
    fakes.openai.queue_chat(Text("We're open nine to five."))
    async with call_to(zylin) as call:
        await call.wait_for_reply(timeout=15)
        fakes.openai.fail_next_speech(100, retry_after=0.01)
        await call.say_text("What are your hours")
        await wait_until(lambda: bool(legacy_redirects(fakes)), within=30)
    await wait_until(lambda: not zylin.state.active_calls, within=15)
    detail = await zylin.state.repository.get_call_by_sid(call.call_sid)
    assert detail is not None and detail.call.end_reason == "moved_to_legacy"


async def test_deepgram_drop_mid_call_reconnects_and_the_call_goes_on(
    zylin: RunningServer, fakes: Fakes
) -> None:
    fakes.deepgram.queue_transcripts(["What are your hours?"])
    fakes.openai.queue_chat(Text("We're open nine to five."))
    async with call_to(zylin) as call:
        await call.wait_for_reply(timeout=15)
        assert fakes.deepgram.drop_connections() == 1
        await wait_until(lambda: fakes.deepgram.connections >= 2, within=15)
        await call.say_text("What are your hours")
        await wait_until(lambda: "We're open nine to five." in spoken(fakes), within=20)
    assert legacy_redirects(fakes) == []


async def test_deepgram_down_for_good_moves_the_call_to_the_legacy_path(
    zylin: RunningServer, fakes: Fakes
) -> None:
    """Deepgram drops and then refuses every reconnect: Zylin can no longer hear the caller,
    so the call goes to the record-then-answer path (Twilio's voice takes a message)."""
    async with call_to(zylin) as call:
        await call.wait_for_reply(timeout=15)
        fakes.deepgram.refuse_next(1000, status=503)
        assert fakes.deepgram.drop_connections() == 1
        await wait_until(lambda: bool(legacy_redirects(fakes)), within=60)
    assert fakes.deepgram.rejected_handshakes >= 1
    assert "/twilio/voice-legacy?reason=service_failure" in legacy_redirects(fakes)[0]
    await wait_until(lambda: not zylin.state.active_calls, within=15)
    detail = await zylin.state.repository.get_call_by_sid(call.call_sid)
    assert detail is not None and detail.call.end_reason == "moved_to_legacy"
    assert not any(u.get("Status") == "completed" for u in fakes.twilio.call_updates)

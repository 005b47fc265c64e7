"""A simulated Twilio caller talks to the real server, pipeline and SDK clients over loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from devtools.caller import SimulatedCall, cli
from devtools.fakes._base import wait_until
from devtools.fakes.openai_server import Text, ToolCall
from tests.e2e.conftest import OPEN_NOW
from tests.harness import (
    AUTH_TOKEN,
    Fakes,
    RunningServer,
    assert_no_leaked_tasks,
    cloud_settings,
    running_server,
    running_tasks,
)

LONG_REPLY = (
    "We are open Monday to Thursday from nine in the morning to five in the afternoon, "
    "and on Friday from nine until one, and we are closed on the weekend, so any weekday "
    "works well for a visit."
)


def call_to(server: RunningServer, **kwargs) -> SimulatedCall:
    return SimulatedCall(server.url, auth_token=AUTH_TOKEN, **kwargs)


async def test_greeting_then_a_turn_is_transcribed_answered_and_heard(
    zylin: RunningServer, fakes: Fakes
) -> None:
    fakes.deepgram.queue_transcripts(["What are your opening hours?"])
    fakes.openai.queue_chat(Text("We're open nine to five on weekdays."))
    async with call_to(zylin) as call:
        await call.wait_for_reply(timeout=15)  # the greeting
        assert fakes.openai.speech_requests[0]["input"].startswith("Thanks for calling")

        turn = await call.say_text("What are your opening hours")
        await call.wait_for_reply(timeout=15)
        assert turn.voice_to_voice_ms is not None and turn.voice_to_voice_ms < 5000

        request = fakes.openai.chat_requests[-1]
        assert request["messages"][0]["role"] == "system"
        assert "Bright Smile Dental" in request["messages"][0]["content"]
        assert request["messages"][-1] == {
            "role": "user",
            "content": "What are your opening hours?",
        }
        assert {t["function"]["name"] for t in request["tools"]} >= {
            "check_availability",
            "book_appointment",
            "transfer_to_human",
            "end_call",
        }
        assert fakes.openai.speech_requests[-1]["input"] == "We're open nine to five on weekdays."
        marks = call.events_of("mark")
        assert marks, "Zylin marks the end of each utterance"
    await wait_until(lambda: not zylin.state.active_calls, within=10)
    record = await zylin.state.repository.get_call_by_sid(call.call_sid)
    assert record is not None and record.call.end_reason == "caller_hangup"


async def test_barge_in_clears_twilio_audio_and_no_stale_audio_follows(
    zylin: RunningServer, fakes: Fakes
) -> None:
    fakes.deepgram.queue_transcripts(["Tell me your hours", "Actually, do you take insurance?"])
    fakes.openai.queue_chat(Text(LONG_REPLY), Text("Yes, most major plans."))
    async with call_to(zylin) as call:
        await call.wait_for_reply(timeout=15)
        await call.say_text("Tell me your hours")
        await call.wait_for_bot_audio(timeout=15)
        await asyncio.sleep(1.0)  # the long answer is playing
        interruption = await call.say_text("Actually do you take insurance")
        await call.wait_for_event("clear", timeout=5)
        await call.wait_for_reply(timeout=15)
        assert interruption.clears >= 1
        assert interruption.stale_media == 0
        assert fakes.openai.speech_requests[-1]["input"] == "Yes, most major plans."


async def test_bot_ending_the_call_hangs_up_through_twilio_rest(
    zylin: RunningServer, fakes: Fakes
) -> None:
    fakes.deepgram.queue_transcripts(["That's all, thank you, goodbye"])
    fakes.openai.queue_chat(ToolCall("end_call", {}))
    async with call_to(zylin) as call:
        await call.wait_for_reply(timeout=15)
        await call.say_text("That is all thank you goodbye")
        await call.wait_closed(timeout=20)
        assert fakes.openai.speech_requests[-1]["input"] == (
            "Thanks for calling Bright Smile Dental. Goodbye!"
        )
    await wait_until(
        lambda: any(u.get("Status") == "completed" for u in fakes.twilio.call_updates), within=10
    )
    assert fakes.twilio.call_updates[-1]["CallSid"] == call.call_sid
    await wait_until(lambda: not zylin.state.active_calls, within=10)
    record = await zylin.state.repository.get_call_by_sid(call.call_sid)
    assert record is not None and record.call.end_reason == "bot_ended"


async def test_pressing_zero_transfers_to_the_owner(zylin: RunningServer, fakes: Fakes) -> None:
    async with call_to(zylin) as call:
        await call.wait_for_reply(timeout=15)
        await call.send_dtmf("0")
        await wait_until(lambda: any("Twiml" in u for u in fakes.twilio.call_updates), within=15)
    twiml = next(u["Twiml"] for u in fakes.twilio.call_updates if "Twiml" in u)
    assert "<Dial" in twiml and "+15551230000" in twiml
    escalations = await zylin.state.repository.escalations_for_call(call.call_sid)
    assert [e.outcome for e in escalations] == ["transferred"]


async def test_caller_hangup_tears_the_call_down_without_leaking_tasks(
    zylin: RunningServer, fakes: Fakes
) -> None:
    before = running_tasks()
    async with call_to(zylin) as call:
        await call.wait_for_bot_audio(timeout=15)
        await call.hang_up()
    await wait_until(lambda: not zylin.state.active_calls, within=10)
    await assert_no_leaked_tasks(before)


async def test_readme_caller_command_exits_0_when_zylin_says_goodbye(
    fakes: Fakes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's first `./zylin call`: Zylin hanging up after its goodbye is the script
    finishing, not the server cutting it short (exit 0, not 3)."""
    admin = "cli-admin-token-0123456789"
    settings = cloud_settings(fakes, tmp_path, admin_token=admin)
    fakes.deepgram.queue_transcripts(["What are your opening hours?", "Goodbye."])
    fakes.openai.queue_chat(Text("We're open nine to five on weekdays."), ToolCall("end_call", {}))
    wav = tmp_path / "call.wav"
    argv = ["--server", "", "--auth-token", AUTH_TOKEN, "--admin-token", admin, "--no-transcribe"]
    argv += ["--say", "What are your opening hours?", "--say", "Goodbye.", "--save", str(wav)]
    async with running_server(settings, now=lambda: OPEN_NOW) as server:
        argv[1] = server.url
        code = await cli.run(cli.build_parser().parse_args(argv))
    out = capsys.readouterr().out
    assert code == 0, out
    assert "call closed by server" in out
    assert "voice-to-voice over 2 turn(s)" in out
    assert "Server transcript:" in out and "Goodbye!" in out
    assert wav.stat().st_size > 44 + 8000 * 2 * 2  # stereo 16-bit, longer than a second

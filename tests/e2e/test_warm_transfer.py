"""A warm transfer over a live call: the owner hears Zylin's one-sentence summary through the
`<Number url>` whisper of Twilio's `<Dial>`, presses 1, and the outcome is recorded."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from devtools.caller import SimulatedCall
from devtools.fakes._base import wait_until
from devtools.fakes.openai_server import Text, ToolCall
from devtools.fakes.twilio_dial import run_dial
from tests.e2e.conftest import OPEN_NOW
from tests.harness import AUTH_TOKEN, Fakes, cloud_settings, running_server

pytestmark = pytest.mark.timeout(60)

SUMMARY = "Alex Tester about moving Friday's cleaning"


async def test_owner_hears_the_summary_presses_1_and_the_transfer_is_recorded(
    fakes: Fakes, tmp_path: Path
) -> None:
    fakes.openai.ms_per_char = 10.0  # short lines keep the test short
    fakes.deepgram.queue_transcripts(["Can I talk to someone about moving my cleaning?"])
    fakes.openai.queue_chat(ToolCall("transfer_to_human", {"reason": SUMMARY}), Text("unused"))
    started = time.monotonic()
    settings = cloud_settings(fakes, tmp_path, silence_prompt_secs=30)
    # A clock that moves, so the seconds to answer are real seconds.
    clock = lambda: OPEN_NOW + timedelta(seconds=time.monotonic() - started)  # noqa: E731
    async with running_server(settings, now=clock) as server:
        hold = server.state.prompts.line("transfer_connecting", server.state.profile)
        async with SimulatedCall(server.url, auth_token=AUTH_TOKEN) as call:
            await call.wait_for_reply(timeout=15)
            await call.say_text("Can I talk to someone about moving my cleaning")
            await wait_until(
                lambda: any("Twiml" in u for u in fakes.twilio.call_updates), within=20
            )
        assert hold in [r["input"] for r in fakes.openai.speech_requests]  # the hold line

        dial = await run_dial(fakes.twilio, call.call_sid, press="1", base_url=server.url)
    assert dial.number == server.state.profile.owner_phone
    assert dial.whisper is not None and SUMMARY in dial.whisper and "Press 1" in dial.whisper
    assert dial.connected
    assert dial.after is not None and [el.tag for el in dial.after] == ["Hangup"]

    detail = await server.state.repository.get_call_by_sid(call.call_sid)
    assert detail is not None and detail.call.end_reason == "transferred"
    kinds = [a.kind for a in detail.actions]
    assert kinds[-5:] == [
        "transfer",
        "transfer_offered",
        "transfer_answered",
        "transfer_accepted",
        "transfer_result",
    ]
    [transfer] = (detail.call.extra or {})["transfers"]
    assert transfer["offered"] is True and transfer["outcome"] == "accepted"
    assert transfer["answer_secs"] is not None and transfer["answer_secs"] >= 0

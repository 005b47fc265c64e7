"""The receptionist's tools in a real call: the LLM fake books and transfers through them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from devtools.caller import SimulatedCall
from devtools.fakes._base import wait_until
from devtools.fakes.openai_server import Text, ToolCall, last_tool_result, last_user_text
from tests.harness import AUTH_TOKEN, Fakes, RunningServer

CALLER = "+15555550123"


def receptionist_brain(request: dict[str, Any]) -> Text | ToolCall:
    """A scripted LLM: the tool calls a real model would make for these caller lines."""
    tool_result = last_tool_result(request)
    if tool_result is not None:
        result = json.loads(tool_result)
        tool_name = _last_tool_name(request)
        if tool_name == "check_availability":
            assert "10:30" in result["free_times"], result
            return ToolCall(
                "book_appointment",
                {"service": "Cleaning", "start": "2026-12-01T10:30", "caller_name": "Ann Lee"},
            )
        if tool_name == "book_appointment":
            return Text(f"You're booked: {result['when']}.")
        if tool_name == "transfer_to_human":
            return Text(result.get("say", "One moment."))
        return Text("Sorry, something went wrong.")
    said = last_user_text(request).lower()
    if "book" in said:
        return ToolCall("check_availability", {"date": "2026-12-01", "service": "Cleaning"})
    if "person" in said:
        return ToolCall("transfer_to_human", {"reason": "caller asked for a person"})
    return Text("How can I help?")


def _last_tool_name(request: dict[str, Any]) -> str:
    for message in reversed(request["messages"]):
        for call in message.get("tool_calls") or []:
            return call["function"]["name"]
    return ""


async def test_booking_then_transfer_over_a_live_call(zylin: RunningServer, fakes: Fakes) -> None:
    fakes.deepgram.queue_transcripts(
        ["I'd like to book a cleaning on Tuesday.", "Can I talk to a person?"]
    )
    fakes.openai.set_brain(receptionist_brain)
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN, caller=CALLER) as call:
        await call.wait_for_reply(timeout=15)
        await call.say_text("I would like to book a cleaning on Tuesday")
        await wait_until(
            lambda: any(
                r["input"].startswith("You're booked: Tuesday")
                for r in fakes.openai.speech_requests
            ),
            within=20,
        )
        await call.wait_for_reply(timeout=20)

        appointments = await zylin.state.repository.appointments_between(
            datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)
        )
        assert [(a.service, a.caller_phone, a.caller_name) for a in appointments] == [
            ("Cleaning", CALLER, "Ann Lee")
        ]
        await wait_until(lambda: any(m["To"] == CALLER for m in fakes.twilio.messages), within=10)
        confirmation = next(m for m in fakes.twilio.messages if m["To"] == CALLER)
        assert "Cleaning" in confirmation["Body"]

        await call.say_text("Can I talk to a person")
        await wait_until(lambda: any("Twiml" in u for u in fakes.twilio.call_updates), within=20)
    update = next(u for u in fakes.twilio.call_updates if "Twiml" in u)
    assert update["CallSid"] == call.call_sid
    assert "<Dial" in update["Twiml"] and "+15551230000</Number></Dial>" in update["Twiml"]
    assert "/twilio/voice-legacy/dial-done" in update["Twiml"]  # no answer -> take a message
    await wait_until(lambda: not zylin.state.active_calls, within=10)
    detail = await zylin.state.repository.get_call_by_sid(call.call_sid)
    assert detail is not None and detail.call.end_reason == "transferred"
    assert "booked" in [a.kind for a in detail.actions]

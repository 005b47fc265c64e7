"""A real call's record as the owner sees it over HTTP: transcript, barge-in, actions, intent,
per-turn latency, and the Prometheus figures the call left behind."""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio

from devtools.caller import SimulatedCall
from devtools.fakes._base import wait_until
from devtools.fakes.openai_server import ChatReply, Failure, Text
from tests.e2e.conftest import OPEN_NOW
from tests.e2e.test_call_flow import LONG_REPLY
from tests.e2e.test_receptionist_tools import receptionist_brain
from tests.harness import AUTH_TOKEN, Fakes, RunningServer, cloud_settings, running_server

ADMIN = "owner-token-call-record-0123456789"
CALLER = "+15555550123"
SUMMARY = "Ann Lee called to book a cleaning and was booked for Tuesday at 10:30."


def is_summary_request(request: dict[str, Any]) -> bool:
    """The after-call request: non-streaming, JSON answer (the conversation always streams)."""
    return (request.get("response_format") or {}).get("type") == "json_object"


def brain_with_summary(summary: ChatReply) -> Any:
    """The receptionist brain, plus a long answer to barge into and a scripted summary."""

    def brain(request: dict[str, Any]) -> ChatReply:
        if is_summary_request(request):
            return summary
        said = request["messages"][-1]
        if said.get("role") == "user" and "hours" in str(said.get("content", "")).lower():
            return Text(LONG_REPLY)
        return receptionist_brain(request)

    return brain


@pytest_asyncio.fixture
async def owner_zylin(fakes: Fakes, tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A cloud-fakes server with the owner's API on."""
    settings = cloud_settings(fakes, tmp_path, silence_prompt_secs=30.0, admin_token=ADMIN)
    async with running_server(settings, now=lambda: OPEN_NOW) as server:
        yield server


async def call_record(server: RunningServer, call_sid: str) -> dict[str, Any]:
    """GET /api/calls/{sid} as the owner, once the call has fully ended."""
    await wait_until(lambda: not server.state.active_calls, within=20)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        response = await client.get(
            f"/api/calls/{call_sid}", headers={"Authorization": f"Bearer {ADMIN}"}
        )
    assert response.status_code == 200, response.text
    return response.json()


def metric(text: str, name: str, **labels: str) -> float:
    """One sample's value from Prometheus text (0 when absent)."""
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return 0.0


async def test_call_record_has_transcript_barge_in_actions_intent_and_latency(
    owner_zylin: RunningServer, fakes: Fakes
) -> None:
    """One call with a barge-in and a booking; everything the issue asks for is on its record."""
    zylin = owner_zylin
    booking_line = "I'd like to book a cleaning on Tuesday."
    fakes.deepgram.queue_transcripts(["Tell me your hours", booking_line])
    labelled = Text(json.dumps({"intent": "booking", "summary": SUMMARY}))
    fakes.openai.set_brain(brain_with_summary(labelled))
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN, caller=CALLER) as call:
        await call.wait_for_reply(timeout=15)
        await call.say_text("Tell me your hours")
        await call.wait_for_bot_audio(timeout=15)
        await asyncio.sleep(1.5)  # a few words of the long answer play
        interruption = await call.say_text("I would like to book a cleaning on Tuesday")
        await call.wait_for_event("clear", timeout=5)
        await call.wait_for_reply(timeout=20)
        assert interruption.clears >= 1
        assert fakes.openai.speech_requests[-1]["input"].startswith("You're booked: Tuesday")
        await wait_until(lambda: any(m["To"] == CALLER for m in fakes.twilio.messages), within=10)
        await call.hang_up()

    record = await call_record(zylin, call.call_sid)
    assert record["call"]["end_reason"] == "caller_hangup"
    assert record["call"]["started_at"] and record["call"]["ended_at"]

    turns = record["turns"]
    assert [t["seq"] for t in turns] == sorted(t["seq"] for t in turns)
    assert [(t["role"], t["text"]) for t in turns] == [
        ("assistant", turns[0]["text"]),
        ("user", "Tell me your hours"),
        ("assistant", LONG_REPLY),
        ("user", booking_line),
        ("assistant", turns[-1]["text"]),
    ], turns
    assert turns[0]["text"].startswith("Thanks for calling")
    assert turns[-1]["text"].startswith("You're booked: Tuesday")

    cut = turns[2]
    assert cut["interrupted"] is True
    heard, said = cut["heard_text"].split(), cut["text"].split()
    assert 0 < len(heard) < len(said), cut
    assert said[: len(heard)] == heard, "heard_text is the start of what was said"
    assert not any(t["interrupted"] for i, t in enumerate(turns) if i != 2)

    kinds = [a["kind"] for a in record["actions"]]
    assert "booked" in kinds and "sms" in kinds, kinds
    assert record["call"]["intent"] == "booking"
    assert record["call"]["summary"] == SUMMARY
    summary_requests = [r for r in fakes.openai.chat_requests if is_summary_request(r)]
    assert len(summary_requests) == 1 and not summary_requests[0].get("stream")

    # One latency row per answered caller turn: the interrupted reply and the booking reply.
    measured = [t for t in turns if t["voice_to_voice_ms"] is not None]
    assert [t["seq"] for t in measured] == [turns[2]["seq"], turns[4]["seq"]], turns
    for row in measured:
        assert row["role"] == "assistant"
        assert 0 < row["stt_ms"] < 2000, row
        assert 0 <= row["llm_ttfb_ms"] < 1000, row
        assert 0 <= row["tts_ttfb_ms"] < 1000, row
        assert 100 <= row["voice_to_voice_ms"] <= 3000, row
    assert record["latency"]["turns_measured"] == 2

    # Cost, from the usage the real SDK services reported (OpenAI's stream `usage`, the TTS
    # request characters) and the call's length for Twilio and streaming STT.
    cost = record["call"]["usage"]
    used = cost["usage"]
    spoken = [r["input"] for r in fakes.openai.speech_requests]
    assert used["llm_in"] > 0 and used["llm_out"] > 0, used
    assert used["tts_chars"] == sum(len(text) for text in spoken), (used, spoken)
    assert used["stt_secs"] > 0 and used["call_secs"] > 0, used  # Deepgram reports its seconds
    prices = cost["prices"]
    minutes = math.ceil(used["call_secs"] / 60)
    assert cost["parts_usd"]["twilio"] == round(minutes * prices["twilio_per_min"], 6)
    assert prices["twilio_per_min"] == zylin.settings.price_twilio_per_min > 0
    assert cost["parts_usd"]["tts"] == round(used["tts_chars"] * prices["tts_per_mchar"] / 1e6, 6)
    assert record["call"]["cost_usd"] == cost["total_usd"] > 0
    assert abs(sum(cost["parts_usd"].values()) - cost["total_usd"]) < 1e-5

    async with httpx.AsyncClient(base_url=zylin.url, timeout=10) as client:
        metrics = (await client.get("/metrics")).text
    assert metric(metrics, "zylin_calls_total", end_reason="caller_hangup") == 1
    for stage in ("stt", "llm_ttfb", "tts_ttfb", "voice_to_voice"):
        assert metric(metrics, "zylin_turn_latency_seconds_count", stage=stage) == 2, stage
    assert metric(metrics, "zylin_tool_calls_total", tool="book_appointment", outcome="ok") == 1


async def test_failed_summary_request_falls_back_to_rules(
    owner_zylin: RunningServer, fakes: Fakes
) -> None:
    """When the after-call LLM request fails, the intent comes from what happened on the call."""
    zylin = owner_zylin
    fakes.deepgram.queue_transcripts(["Do you take insurance?"])
    fakes.openai.set_brain(brain_with_summary(Failure(500)))
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN, caller=CALLER) as call:
        await call.wait_for_reply(timeout=15)
        await call.say_text("Do you take insurance")
        await call.wait_for_reply(timeout=15)
        await call.hang_up()

    record = await call_record(zylin, call.call_sid)
    assert any(is_summary_request(r) for r in fakes.openai.chat_requests), "it was asked"
    assert record["call"]["intent"] == "question"  # no action taken, the caller spoke
    assert record["call"]["summary"].startswith("1 caller turn(s); no action.")
    assert "Do you take insurance" in record["call"]["summary"]

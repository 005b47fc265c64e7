"""Twilio (or something posing as it) misbehaving on a live stream: the server shrugs it off.

Each test checks the same things: no crash (the caller's own call keeps going, or the server
closes it cleanly), the server stays healthy, no task is left behind, and a call that started
has its record closed (`ended_at` set).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from devtools.caller import SimulatedCall
from devtools.fakes._base import wait_until
from devtools.fakes.openai_server import Text, ToolCall
from tests.e2e.test_stream_security import (
    assert_call_closed,
    assert_healthy,
    assert_nothing_paid_started,
)
from tests.harness import AUTH_TOKEN, Fakes, RunningServer, assert_no_leaked_tasks, running_tasks


def _media(payload: object, **extra: object) -> str:
    return json.dumps(
        {"event": "media", "streamSid": "MZx", "media": {"payload": payload}, **extra}
    )


def _b64(size: int) -> str:
    return base64.b64encode(b"\xff" * size).decode()


BAD_MESSAGES: dict[str, Sequence[str | bytes]] = {
    "unknown events": [
        json.dumps({"event": name, "streamSid": "MZx"}) for name in ("party", "", "MEDIA", "1")
    ]
    + [json.dumps({"noevent": True}), json.dumps({"event": None}), json.dumps({"event": [1]})],
    "invalid base64": [_media("!!!not base64!!!"), _media("QUJD="), _media("\u00e9\u00e9")],
    "wrong payload sizes": [_media(_b64(n)) for n in (1, 7, 159, 161, 321, 7999, 8000, 8001)],
    "payload of the wrong type": [_media(None), _media(123), _media(["a"]), _media({"x": 1})],
    "media object missing or odd": [
        json.dumps({"event": "media"}),
        json.dumps({"event": "media", "media": "oops"}),
        json.dumps({"event": "media", "media": None}),
    ],
    "non-JSON text": ["not json{", "", " ", "\x00\x01", "{" * 5000, "[" * 5000, "[" * 100_000],
    "JSON that is not an object": ["[1, 2]", "42", '"media"', "null", "true"],
    "binary frames": [b"\x00\x01", b"", bytes(range(256)) * 4, b'{"event":"media"}'],
    "bad keys and marks": [
        json.dumps({"event": "dtmf", "dtmf": {"digit": "Z"}}),
        json.dumps({"event": "dtmf", "dtmf": None}),
        json.dumps({"event": "dtmf"}),
        json.dumps({"event": "mark", "mark": {}}),
        json.dumps({"event": "mark", "mark": {"name": "never-sent"}}),
        json.dumps({"event": "mark", "mark": {"name": 7}}),
    ],
    "a second start naming another call": [
        json.dumps(
            {
                "event": "start",
                "start": {"callSid": "CA" + "9" * 32, "streamSid": "MZ" + "9" * 32},
            }
        ),
        json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}),
    ],
    "out of order and duplicated media": [
        _media(_b64(160), sequenceNumber=str(n)) for n in (9, 3, 3, 1, -5, 10**30)
    ],
    "huge numbers and nesting": [
        json.dumps({"event": "media", "media": {"payload": _b64(160), "timestamp": 10**400}}),
        '{"event": "media", "media": {"payload": "' + _b64(160) + '", "chunk": 1e999}}',
        json.dumps({"event": "dtmf", "dtmf": {"digit": {"a": [[[[[]]]]]}}}),
    ],
}


async def _still_listening(fakes: Fakes, call: SimulatedCall) -> None:
    """The caller's audio still reaches Deepgram: the pipeline survived what was sent."""
    audio = fakes.deepgram.audio_bytes
    await wait_until(lambda: fakes.deepgram.audio_bytes > audio + 16000, within=10)
    assert not call.closed


async def _health_ok(server: RunningServer) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{server.url}/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


@pytest.mark.parametrize("kind", list(BAD_MESSAGES))
async def test_bad_messages_mid_call_are_dropped_and_the_call_goes_on(
    zylin: RunningServer, fakes: Fakes, kind: str
) -> None:
    before = running_tasks()
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN) as call:
        await call.wait_for_bot_audio(timeout=15)
        for message in list(BAD_MESSAGES[kind]) * 3:
            await call.send_raw(message)
        await _still_listening(fakes, call)
        await call.hang_up()
    await assert_call_closed(zylin, call.call_sid)
    await _health_ok(zylin)
    await assert_no_leaked_tasks(before)


async def test_media_before_start_is_skipped(zylin: RunningServer, fakes: Fakes) -> None:
    before = running_tasks()
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN, media_before_start=15) as call:
        await call.wait_for_bot_audio(timeout=15)
        await _still_listening(fakes, call)
    await assert_call_closed(zylin, call.call_sid)
    await assert_no_leaked_tasks(before)


async def test_junk_before_start_up_to_the_handshake_cap(
    zylin: RunningServer, fakes: Fakes
) -> None:
    """Within the handshake's budget junk is skipped; past it the stream is refused unstarted."""
    async with SimulatedCall(
        zylin.url, auth_token=AUTH_TOKEN, send_start=False, stream_audio=False
    ) as call:
        for message in [
            "junk",
            b"\x00",
            "[]",
            "[" * 5000,
            json.dumps({"event": "media"}),
            "x" * 70_000,
        ]:
            await call.send_raw(message)
        await call.send_raw(json.dumps(call._start_message()))  # the real start, late
        await call.wait_for_bot_audio(timeout=15)
    await assert_call_closed(zylin, call.call_sid)

    async with SimulatedCall(
        zylin.url, auth_token=AUTH_TOKEN, send_start=False, stream_audio=False
    ) as flood:
        for _ in range(25):
            await flood.send_raw("junk")
        await flood.wait_closed(timeout=10)
    assert flood.close_code == 1008 and flood.closed_by == "server"
    assert await zylin.state.repository.get_call_by_sid(flood.call_sid) is None


@pytest.mark.parametrize(
    "start",
    [
        {"event": "start"},
        {"event": "start", "start": "CA1"},
        {"event": "start", "start": {"streamSid": "MZ1"}},
        {"event": "start", "start": {"callSid": 7, "streamSid": "MZ1"}},
        {
            "event": "start",
            "start": {
                "callSid": "CA1",
                "streamSid": "MZ1",
                "mediaFormat": {"encoding": "audio/l16", "sampleRate": 16000},
            },
        },
    ],
    ids=["no start object", "start not an object", "no callSid", "callSid not text", "not mulaw"],
)
async def test_partial_or_odd_start_is_refused_before_a_pipeline(
    zylin: RunningServer, fakes: Fakes, start: dict
) -> None:
    async with SimulatedCall(
        zylin.url, auth_token=AUTH_TOKEN, send_start=False, stream_audio=False
    ) as call:
        await call.send_raw(json.dumps(start))
        await call.wait_closed(timeout=10)
    assert call.close_code == 1008
    await assert_nothing_paid_started(zylin, fakes)


async def test_duplicate_start_is_ignored(zylin: RunningServer, fakes: Fakes) -> None:
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN, duplicate_start=True) as call:
        await call.wait_for_bot_audio(timeout=15)
        await _still_listening(fakes, call)
    await assert_call_closed(zylin, call.call_sid)
    assert (await zylin.state.repository.list_calls()).total == 1
    assert fakes.deepgram.connections == 1


@pytest.mark.parametrize("how", ["close", "abort"])
async def test_caller_gone_before_start_starts_nothing(
    zylin: RunningServer, fakes: Fakes, how: str
) -> None:
    before = running_tasks()
    call = SimulatedCall(zylin.url, auth_token=AUTH_TOKEN, send_start=False, stream_audio=False)
    async with call:
        if how == "abort":
            await call.abort()
        else:
            await call.hang_up(send_stop=False)
    await assert_no_leaked_tasks(before)
    await assert_nothing_paid_started(zylin, fakes)
    await assert_healthy(zylin)


@pytest.mark.parametrize("when", ["during the greeting", "while listening"])
async def test_abrupt_close_without_stop_closes_the_record(
    zylin: RunningServer, fakes: Fakes, when: str
) -> None:
    before = running_tasks()
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN) as call:
        await call.wait_for_bot_audio(timeout=15)
        if when == "while listening":
            await call.wait_for_bot_silence(timeout=20)
        await call.abort()
    await assert_call_closed(zylin, call.call_sid)
    record = await zylin.state.repository.get_call_by_sid(call.call_sid)
    assert record is not None and record.call.end_reason == "caller_hangup"
    await assert_no_leaked_tasks(before)
    await assert_healthy(zylin)


async def test_hang_up_mid_tool_call(zylin: RunningServer, fakes: Fakes) -> None:
    before = running_tasks()
    fakes.deepgram.queue_transcripts(["Book me a cleaning on Tuesday at ten thirty"])
    fakes.openai.queue_chat(
        ToolCall(
            "book_appointment",
            {"service": "Cleaning", "start": "2026-12-01T10:30", "caller_name": "Ann Lee"},
        ),
        Text("You're booked."),
    )
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN) as call:
        await call.wait_for_bot_silence(timeout=20)  # the greeting has played
        await call.say_text("Book me a cleaning on Tuesday", wait=False)
        await wait_until(lambda: len(fakes.openai.chat_requests) >= 1, within=30)
        await call.abort()  # the LLM has just asked for the tool
    await assert_call_closed(zylin, call.call_sid)
    await assert_no_leaked_tasks(before)
    await assert_healthy(zylin)


async def test_stop_then_close(zylin: RunningServer, fakes: Fakes) -> None:
    before = running_tasks()
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN) as call:
        await call.wait_for_bot_audio(timeout=15)
        await call.hang_up(send_stop=True)
    await assert_call_closed(zylin, call.call_sid)
    record = await zylin.state.repository.get_call_by_sid(call.call_sid)
    assert record is not None and record.call.end_reason == "caller_hangup"
    assert not any(u.get("Status") == "completed" for u in fakes.twilio.call_updates), (
        "the caller already hung up: no REST hang-up"
    )
    await assert_no_leaked_tasks(before)


async def test_messages_after_stop_are_harmless(zylin: RunningServer, fakes: Fakes) -> None:
    before = running_tasks()
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN, stream_audio=False) as call:
        await call.wait_for_bot_audio(timeout=15)
        await call.send_stop()
        try:
            for message in [_media(_b64(160)), "junk", b"\x00", json.dumps({"event": "stop"})] * 5:
                await call.send_raw(message)
                await asyncio.sleep(0)
        except ConnectionClosed:
            pass  # the server already closed the stream: also fine
        await call.wait_closed(timeout=10)
    assert call.closed_by == "server", "after stop the server ends the stream itself"
    await assert_call_closed(zylin, call.call_sid)
    await assert_no_leaked_tasks(before)
    await assert_healthy(zylin)

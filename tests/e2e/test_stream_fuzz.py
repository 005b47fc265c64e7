"""Property: whatever arrives on the media WebSocket, the server stays up and leaks nothing.

One real server (with the fakes) serves the whole module on a module-scoped event loop;
Hypothesis drives short-lived, properly signed streams at it with random and malformed
Media Streams messages, both after a valid `start` and as the very first messages.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from devtools.fakes._base import wait_until
from tests.e2e.conftest import OPEN_NOW
from tests.e2e.test_stream_security import (
    sid,
    start_message,
    stream_url,
)
from tests.harness import (
    AUTH_TOKEN,
    Fakes,
    RunningServer,
    assert_no_leaked_tasks,
    cloud_settings,
    running_fakes,
    running_server,
    running_tasks,
)
from zylin.telephony import SignatureChecker

pytestmark = pytest.mark.asyncio(loop_scope="module")

FUZZ_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SILENCE = json.dumps(
    {
        "event": "media",
        "media": {"track": "inbound", "payload": base64.b64encode(b"\xff" * 160).decode()},
    }
)

# --- strategies -------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=15,
)
event_names = st.sampled_from(
    ["media", "start", "stop", "mark", "dtmf", "connected", "clear", "MEDIA", ""]
) | st.text(max_size=12)
payloads = st.one_of(
    st.binary(max_size=400).map(lambda b: base64.b64encode(b).decode()),
    st.text(max_size=60),
    json_values,
)
media_objects = st.fixed_dictionaries(
    {},
    optional={
        "payload": payloads,
        "track": st.sampled_from(["inbound", "outbound"]) | json_values,
        "chunk": json_values,
        "timestamp": json_values,
    },
)
start_objects = st.fixed_dictionaries(
    {},
    optional={
        "callSid": st.just(sid("CA")) | json_values,
        "streamSid": st.just(sid("MZ")) | json_values,
        "mediaFormat": st.fixed_dictionaries(
            {},
            optional={
                "encoding": st.sampled_from(["audio/x-mulaw", "audio/l16"]) | json_values,
                "sampleRate": st.sampled_from([8000, 16000]) | json_values,
            },
        )
        | json_values,
        "customParameters": st.dictionaries(st.text(max_size=12), json_values, max_size=3)
        | json_values,
    },
)
events = st.fixed_dictionaries(
    {"event": event_names | json_values},
    optional={
        "sequenceNumber": json_values,
        "streamSid": json_values,
        "media": media_objects | json_values,
        "start": start_objects | json_values,
        "mark": st.fixed_dictionaries({}, optional={"name": st.text(max_size=20) | json_values}),
        "dtmf": st.fixed_dictionaries({}, optional={"digit": st.text(max_size=2) | json_values}),
        "stop": json_values,
    },
)
messages = st.one_of(
    events.map(json.dumps),  # NaN / Infinity / huge ints: JSON as Python writes it
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=300),
    st.integers(min_value=1, max_value=5000).map(lambda n: "[" * n),  # nesting bombs
)
message_lists = st.lists(messages, min_size=1, max_size=12)

# --- the server -------------------------------------------------------------------------------


@dataclass
class FuzzEnv:
    """The module's server and fakes."""

    server: RunningServer
    fakes: Fakes


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FuzzEnv]:
    async with running_fakes() as fakes:
        settings_ = cloud_settings(fakes, tmp_path_factory.mktemp("fuzz"), silence_prompt_secs=30.0)
        async with running_server(settings_, now=lambda: OPEN_NOW) as server:
            yield FuzzEnv(server, fakes)


async def _connect(env: FuzzEnv, call_sid: str) -> ClientConnection:
    """A stream opened exactly as Twilio would for a call our webhook answered."""
    token = env.server.state.tokens.issue(call_sid)
    url = stream_url(env.server, token)
    signature = SignatureChecker(AUTH_TOKEN).sign(url, {})
    return await connect(
        url, additional_headers={"X-Twilio-Signature": signature}, open_timeout=5, max_size=None
    )


async def _first_reply_or_close(ws: ClientConnection, within: float = 15.0) -> int | None:
    """None once the server sends something (the call runs), else its close code."""
    try:
        async with asyncio.timeout(within):
            await ws.recv()
        return None
    except ConnectionClosed:
        return ws.close_code


def _sends_stop(batch: list[Any]) -> bool:
    """Whether a message in `batch` is a `stop` the serializer will honour (ends the call)."""
    for message in batch:
        if not isinstance(message, str):
            continue
        try:
            event = json.loads(message)
        except (ValueError, RecursionError):
            continue
        if isinstance(event, dict) and event.get("event") == "stop":
            return True
    return False


async def _healthy_and_idle(env: FuzzEnv, call_sid: str, before: set[asyncio.Task]) -> None:
    server = env.server
    await wait_until(lambda: not server.state.active_calls, within=15)
    record = await server.state.repository.get_call_by_sid(call_sid)
    assert record is None or record.call.ended_at is not None, "a started call was closed"
    async with httpx.AsyncClient() as http:
        health = await http.get(f"{server.url}/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    await assert_no_leaked_tasks(before)


# --- properties -------------------------------------------------------------------------------


@FUZZ_SETTINGS
@given(batch=message_lists)
async def test_junk_after_a_valid_start_never_breaks_the_server(
    env: FuzzEnv, batch: list[str | bytes]
) -> None:
    before = running_tasks()
    call_sid = sid("CA")
    ws = await _connect(env, call_sid)
    try:
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await ws.send(start_message(call_sid, sid("MZ"), callerPhone="+15555550123"))
        assert await _first_reply_or_close(ws) is None, "a valid stream is greeted"
        for message in batch:
            await ws.send(message)
        if not _sends_stop(batch):
            # The receive loop survived the junk: audio sent after it still reaches Deepgram.
            heard = env.fakes.deepgram.audio_bytes
            for _ in range(10):
                await ws.send(SILENCE)
            await wait_until(lambda: env.fakes.deepgram.audio_bytes > heard, within=10)
            assert call_sid in env.server.state.active_calls
    except ConnectionClosed:
        assert _sends_stop(batch), "only a stop may end the call"
    finally:
        await ws.close()
    await _healthy_and_idle(env, call_sid, before)


@FUZZ_SETTINGS
@given(batch=message_lists, then_start=st.booleans())
async def test_junk_as_the_first_messages_never_breaks_the_server(
    env: FuzzEnv, batch: list[str | bytes], then_start: bool
) -> None:
    before = running_tasks()
    calls_before = (await env.server.state.repository.list_calls()).total
    call_sid = sid("CA")
    ws = await _connect(env, call_sid)
    try:
        for message in batch:
            await ws.send(message)
        if then_start:
            await ws.send(start_message(call_sid, sid("MZ")))
            code = await _first_reply_or_close(ws)
            assert code in (None, 1008), f"accepted, or refused as a bad stream; got {code}"
    except ConnectionClosed:
        assert ws.close_code == 1008, ws.close_code
    finally:
        await ws.close()
    await _healthy_and_idle(env, call_sid, before)
    calls_after = (await env.server.state.repository.list_calls()).total
    assert calls_after - calls_before <= (1 if then_start else 0)

"""Who may open a call: signed webhooks, private media streams, size and rate limits.

Every refusal is checked where it costs money: no Deepgram connection, no OpenAI request, no
call row and no active call. Helpers here are shared by the other stream e2e modules.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from loguru import logger
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from devtools.caller import SimulatedCall, WebhookError
from devtools.fakes._base import wait_until
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
from zylin.app.limits import MAX_WEBHOOK_BYTES
from zylin.telephony import SignatureChecker, stream_url_from_public
from zylin.telephony.media_stream import ZylinTwilioSerializer
from zylin.telephony.media_stream.serializer import MAX_MESSAGE_BURST, MAX_MESSAGES_PER_SEC

PUBLIC = "https://zylin.example.com"
CLOSE_POLICY_VIOLATION = 1008

# --- helpers shared with the misbehaviour, fuzz and secrets modules ---------------------------


def sid(prefix: str) -> str:
    """A random Twilio-style SID (`CA...`, `MZ...`)."""
    return prefix + secrets.token_hex(16)


def start_message(call_sid: str, stream_sid: str, **custom: str) -> str:
    """Twilio's `start` message for a stream."""
    return json.dumps(
        {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": stream_sid,
            "start": {
                "accountSid": "AC" + "0" * 32,
                "streamSid": stream_sid,
                "callSid": call_sid,
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": custom,
            },
        }
    )


def stream_url(server: RunningServer, token: str, base: str | None = None) -> str:
    """The Stream URL our TwiML would give for `token` (on `base`, default the local server)."""
    return stream_url_from_public(base or server.url, f"media-stream/{token}")


@dataclass
class StreamOutcome:
    """How the server answered a raw media-stream attempt."""

    http_status: int | None = None  # the upgrade was refused with this status
    close_code: int | None = None  # the socket was accepted, then closed with this code
    close_reason: str = ""


async def open_stream(
    server: RunningServer,
    token: str,
    messages: list[str | bytes],
    *,
    signature: str | None = "valid",
    signed_url: str | None = None,
    wait_close: float = 10.0,
) -> StreamOutcome:
    """Open `/media-stream/{token}` like Twilio (or a stranger), send `messages`, wait for close.

    `signature="valid"` signs the upgrade over `signed_url` (default: the URL opened); None
    sends no header; any other string is sent as is.
    """
    url = stream_url(server, token)
    headers = {}
    if signature == "valid":
        headers["X-Twilio-Signature"] = SignatureChecker(AUTH_TOKEN).sign(signed_url or url, {})
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    try:
        async with connect(url, additional_headers=headers, open_timeout=5) as ws:
            try:
                for message in messages:
                    await ws.send(message)
                async with asyncio.timeout(wait_close):
                    async for _ in ws:
                        pass
            except (ConnectionClosed, TimeoutError):
                pass  # TimeoutError: still open (accepted), closed on leaving the block
            return StreamOutcome(close_code=ws.close_code, close_reason=ws.close_reason or "")
    except InvalidStatus as exc:
        return StreamOutcome(http_status=exc.response.status_code)


async def assert_nothing_paid_started(server: RunningServer, fakes: Fakes) -> None:
    """No call was set up: no Deepgram socket, no OpenAI request, no active call, no call row."""
    assert fakes.deepgram.connections == 0 and fakes.deepgram.rejected_handshakes == 0
    assert fakes.openai.chat_requests == [] and fakes.openai.speech_requests == []
    assert not server.state.active_calls
    assert (await server.state.repository.list_calls()).total == 0


async def assert_healthy(server: RunningServer) -> None:
    """`/health` answers and a normal call is greeted and closes cleanly."""
    async with httpx.AsyncClient() as http:
        health = await http.get(f"{server.url}/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    async with SimulatedCall(server.url, auth_token=AUTH_TOKEN) as call:
        await call.wait_for_bot_audio(timeout=15)
        await call.hang_up()
    await wait_until(lambda: not server.state.active_calls, within=10)
    record = await server.state.repository.get_call_by_sid(call.call_sid)
    assert record is not None and record.call.ended_at is not None


async def assert_call_closed(server: RunningServer, call_sid: str) -> None:
    """The call is no longer active and its record has an end."""
    await wait_until(lambda: call_sid not in server.state.active_calls, within=15)
    record = await server.state.repository.get_call_by_sid(call_sid)
    assert record is not None and record.call.ended_at is not None, record


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Everything loguru logs at INFO and above while the test runs."""
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="INFO", format="{level} {message}")
    yield lines
    logger.remove(sink)


# --- the media WebSocket ---------------------------------------------------------------------


async def test_stranger_without_signature_or_token_is_refused(
    zylin: RunningServer, fakes: Fakes
) -> None:
    before = running_tasks()
    call_sid = sid("CA")
    no_token = await open_stream(zylin, "", [start_message(call_sid, sid("MZ"))], signature=None)
    garbage = await open_stream(
        zylin, "garbage", [start_message(call_sid, sid("MZ"))], signature=None
    )
    assert no_token.http_status is not None and no_token.close_code is None
    assert garbage.http_status == 403
    await assert_nothing_paid_started(zylin, fakes)
    await assert_no_leaked_tasks(before)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b",
        "x" * 3000,
        "eyJjIjoiQ0F4In0.AAAA",  # looks like ours, wrong MAC
        "%C3%A9t%C3%A9.%00",  # non-ASCII and NUL after URL decoding
    ],
)
async def test_signed_upgrade_with_a_forged_token_is_closed_before_a_pipeline(
    zylin: RunningServer, fakes: Fakes, token: str
) -> None:
    outcome = await open_stream(zylin, token, [start_message(sid("CA"), sid("MZ"))])
    if "%" in token:  # the server checks the decoded path: refused at the upgrade already
        assert outcome.http_status == 403
    else:
        assert outcome.close_code == CLOSE_POLICY_VIOLATION
    await assert_nothing_paid_started(zylin, fakes)


async def test_replayed_token_is_refused_during_and_after_the_call(
    zylin: RunningServer, fakes: Fakes
) -> None:
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN) as call:
        await call.wait_for_bot_audio(timeout=15)
        assert call.twiml is not None
        token = call.twiml.url.rsplit("/", 1)[1]
        # Someone who captured the Stream URL and its signature tries to join the live call.
        during = await open_stream(zylin, token, [start_message(call.call_sid, sid("MZ"))])
        assert during.close_code == CLOSE_POLICY_VIOLATION
        assert "already used" in during.close_reason
        assert not call.closed, "the real call is untouched"
        await call.hang_up()
    await assert_call_closed(zylin, call.call_sid)
    after = await open_stream(zylin, token, [start_message(call.call_sid, call.stream_sid)])
    assert after.close_code == CLOSE_POLICY_VIOLATION
    assert fakes.deepgram.connections == 1, "only the real call reached Deepgram"
    assert (await zylin.state.repository.list_calls()).total == 1


async def test_expired_token_is_refused(zylin: RunningServer, fakes: Fakes) -> None:
    call_sid = sid("CA")
    ttl = zylin.settings.stream_token_ttl_secs
    token = zylin.state.tokens.issue(call_sid, now=time.time() - ttl - 2)
    outcome = await open_stream(zylin, token, [start_message(call_sid, sid("MZ"))])
    assert outcome.close_code == CLOSE_POLICY_VIOLATION and "expired" in outcome.close_reason
    await assert_nothing_paid_started(zylin, fakes)


async def test_token_for_another_call_is_refused(zylin: RunningServer, fakes: Fakes) -> None:
    token = zylin.state.tokens.issue(sid("CA"))
    other_call = sid("CA")
    outcome = await open_stream(zylin, token, [start_message(other_call, sid("MZ"))])
    assert outcome.close_code == CLOSE_POLICY_VIOLATION
    assert "another call" in outcome.close_reason
    await assert_nothing_paid_started(zylin, fakes)


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "other-token-url"])
async def test_upgrade_without_twilio_signature_is_refused(
    zylin: RunningServer, fakes: Fakes, signature: str | None
) -> None:
    call_sid = sid("CA")
    token = zylin.state.tokens.issue(call_sid)
    if signature == "other-token-url":  # a real signature, but for another stream's URL
        other = stream_url(zylin, zylin.state.tokens.issue(call_sid))
        signature = SignatureChecker(AUTH_TOKEN).sign(other, {})
    outcome = await open_stream(
        zylin, token, [start_message(call_sid, sid("MZ"))], signature=signature
    )
    assert outcome.http_status == 403
    await assert_nothing_paid_started(zylin, fakes)
    # The token itself was good: with Twilio's signature the same stream is accepted.
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN) as call:
        await call.wait_for_bot_audio(timeout=15)


# --- webhooks ---------------------------------------------------------------------------------


def _webhook_form(call_sid: str) -> dict[str, str]:
    return {"AccountSid": "AC" + "0" * 32, "CallSid": call_sid, "From": "+15555550123"}


@pytest.mark.parametrize("signature", [None, "", "d3Jvbmc=", "tampered"])
async def test_unsigned_webhook_gets_403_and_starts_nothing(
    zylin: RunningServer, fakes: Fakes, signature: str | None
) -> None:
    form = _webhook_form(sid("CA"))
    url = f"{zylin.url}/twilio/voice"
    headers = {}
    if signature == "tampered":  # signed by Twilio, then a field changed on the way
        headers["X-Twilio-Signature"] = SignatureChecker(AUTH_TOKEN).sign(url, form)
        form["From"] = "+19005550100"
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    async with httpx.AsyncClient() as http:
        response = await http.post(url, data=form, headers=headers)
    assert response.status_code == 403
    assert "Stream" not in response.text and "media-stream" not in response.text
    await assert_nothing_paid_started(zylin, fakes)


async def test_simulated_caller_without_auth_token_is_refused(
    zylin: RunningServer, fakes: Fakes
) -> None:
    with pytest.raises(WebhookError) as refused:
        async with SimulatedCall(zylin.url, auth_token=None):
            pass
    assert refused.value.status == 403
    await assert_nothing_paid_started(zylin, fakes)


async def test_public_url_behind_a_proxy(fakes: Fakes, tmp_path: Path) -> None:
    settings = cloud_settings(fakes, tmp_path, public_url=PUBLIC, silence_prompt_secs=30.0)
    async with running_server(settings, now=lambda: OPEN_NOW) as server:
        # Signed over the local URL (what Twilio never sees): refused.
        with pytest.raises(WebhookError) as refused:
            async with SimulatedCall(server.url, auth_token=AUTH_TOKEN):
                pass
        assert refused.value.status == 403
        # Twilio signs the public URL; the TwiML sends it to the public wss:// host.
        async with SimulatedCall(server.url, auth_token=AUTH_TOKEN, public_url=PUBLIC) as call:
            assert call.twiml is not None and call.twiml.url.startswith("wss://zylin.example.com/")
            await call.wait_for_bot_audio(timeout=15)
            token = call.twiml.url.rsplit("/", 1)[1]
        await assert_call_closed(server, call.call_sid)
        # The upgrade signed over the local ws:// URL instead of the public one: refused.
        call_sid = sid("CA")
        fresh = server.state.tokens.issue(call_sid)
        local = await open_stream(server, fresh, [start_message(call_sid, sid("MZ"))])
        assert local.http_status == 403
        public = await open_stream(
            server,
            fresh,
            [start_message(call_sid, sid("MZ"))],
            signed_url=stream_url(server, fresh, base=PUBLIC),
            wait_close=0.5,
        )
        assert public.http_status is None, "signed over the public URL: accepted"
        assert token != fresh


# --- limits -----------------------------------------------------------------------------------


async def test_oversized_webhook_bodies_get_413_chunked_or_not(
    zylin: RunningServer, fakes: Fakes
) -> None:
    url = f"{zylin.url}/twilio/voice"
    big = b"CallSid=CA1&Junk=" + b"x" * (MAX_WEBHOOK_BYTES + 1)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    async with httpx.AsyncClient() as http:
        declared = await http.post(url, content=big, headers=form_type)
        chunked = await http.post(url, content=chunks(), headers=form_type)
        assert "content-length" not in {k.lower() for k in chunked.request.headers}
    assert declared.status_code == 413
    assert chunked.status_code == 413
    await assert_nothing_paid_started(zylin, fakes)
    await assert_healthy(zylin)


async def test_oversized_websocket_message_is_dropped_and_the_call_goes_on(
    zylin: RunningServer, fakes: Fakes
) -> None:
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN) as call:
        await call.wait_for_bot_audio(timeout=15)
        await call.send_raw(json.dumps({"event": "media", "media": {"payload": "A" * 300_000}}))
        await call.send_raw(b"\x00" * 300_000)
        audio = fakes.deepgram.audio_bytes
        await wait_until(lambda: fakes.deepgram.audio_bytes > audio + 16000, within=10)
        assert not call.closed
    await assert_call_closed(zylin, call.call_sid)


async def test_message_flood_ends_the_call_with_one_log_line(
    zylin: RunningServer, fakes: Fakes, log_lines: list[str]
) -> None:
    before = running_tasks()
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN, stream_audio=False) as call:
        await call.wait_for_bot_audio(timeout=15)
        junk = json.dumps({"event": "media", "media": {"payload": "f" * 216}})
        for _ in range(3000):
            if call.closed:
                break
            try:
                await call.send_raw(junk)
            except ConnectionClosed:
                break
        await call.wait_closed(timeout=15)
    assert call.closed_by == "server"
    await assert_call_closed(zylin, call.call_sid)
    flood_lines = [line for line in log_lines if "messages/s" in line]
    assert len(flood_lines) == 1, flood_lines
    await assert_no_leaked_tasks(before)
    await assert_healthy(zylin)


@pytest.mark.parametrize(
    ("rate", "seconds", "floods"),
    [
        (50.0, 120.0, False),  # Twilio's media pace, for two minutes
        (150.0, 60.0, False),  # media + marks + keys, far above what Twilio does
        (MAX_MESSAGE_BURST * 100, 0.05, True),  # a burst well past the allowance
        (1000.0, 2.0, True),  # a sustained flood
    ],
)
async def test_flood_limit_follows_the_message_rate(
    rate: float, seconds: float, floods: bool
) -> None:
    clock = [0.0]
    serializer = ZylinTwilioSerializer(
        "MZ1",
        params=ZylinTwilioSerializer.InputParams(auto_hang_up=False),
        clock=lambda: clock[0],
    )
    flooded_at: float | None = None
    for i in range(int(rate * seconds)):
        clock[0] = i / rate
        frame = await serializer.deserialize('{"event":"party"}')
        if frame is not None and flooded_at is None:
            flooded_at = clock[0]
    assert serializer.flooded is floods
    if floods and rate < MAX_MESSAGE_BURST * 100:
        assert flooded_at is not None
        assert flooded_at == pytest.approx(MAX_MESSAGE_BURST / (rate - MAX_MESSAGES_PER_SEC), 0.05)


async def test_max_call_length_says_goodbye_then_closes(fakes: Fakes, tmp_path: Path) -> None:
    settings = cloud_settings(fakes, tmp_path, max_call_secs=3.0, silence_prompt_secs=30.0)
    fakes.openai.ms_per_char = 20.0  # ~2 s lines keep the test short
    async with running_server(settings, now=lambda: OPEN_NOW) as server:
        goodbye = server.state.prompts.line("max_duration_goodbye", server.state.profile)
        async with SimulatedCall(server.url, auth_token=AUTH_TOKEN) as call:
            await call.wait_for_bot_audio(timeout=15)  # the greeting
            await call.wait_closed(timeout=30)
        assert call.closed_by == "server"
        spoken = [r["input"] for r in fakes.openai.speech_requests]
        assert spoken[-1] == goodbye
        # The goodbye waits for the greeting to finish; the caller hears both in full.
        heard_secs = len(call.bot_audio()) / 2 / 8000
        said_secs = sum(len(text) * fakes.openai.ms_per_char / 1000 for text in spoken)
        assert len(spoken) == 2 and heard_secs >= 0.9 * said_secs, (heard_secs, said_secs)
        await assert_call_closed(server, call.call_sid)
        record = await server.state.repository.get_call_by_sid(call.call_sid)
        assert record is not None and record.call.end_reason == "max_duration"
        await wait_until(
            lambda: any(u.get("Status") == "completed" for u in fakes.twilio.call_updates),
            within=10,
        )


# --- the development switch and a missing auth token -------------------------------------------


async def test_signature_checks_off_is_loud_and_stream_tokens_still_hold(
    fakes: Fakes, tmp_path: Path, log_lines: list[str]
) -> None:
    settings = cloud_settings(fakes, tmp_path, twilio_validate_signatures=False)
    async with running_server(settings, now=lambda: OPEN_NOW) as server:
        assert any("TWILIO_VALIDATE_SIGNATURES=false" in line for line in log_lines)
        async with SimulatedCall(server.url, auth_token=None) as call:  # unsigned: accepted
            await call.wait_for_bot_audio(timeout=15)
        await assert_call_closed(server, call.call_sid)
        forged = await open_stream(server, "forged", [start_message(sid("CA"), sid("MZ"))])
        assert forged.close_code == CLOSE_POLICY_VIOLATION


async def test_without_an_auth_token_cloud_calls_are_refused(
    fakes: Fakes, tmp_path: Path, log_lines: list[str]
) -> None:
    settings = cloud_settings(fakes, tmp_path, twilio_auth_token=None)
    async with running_server(settings, now=lambda: OPEN_NOW) as server:
        with pytest.raises(WebhookError) as refused:
            async with SimulatedCall(server.url, auth_token=AUTH_TOKEN):
                pass
        assert refused.value.status == 403
        assert any("cannot check signature" in line for line in log_lines)
        token = server.state.tokens.issue(sid("CA"))
        assert (await open_stream(server, token, [])).http_status == 403
        await assert_nothing_paid_started(server, fakes)


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"--x\r\nnope", "multipart/form-data; boundary=x"),
        (b"abc", "multipart/form-data"),
        (b"CallSid=%ZZ&From=%", FORM),
        (b"CallSid=\xff\xfe&From=\xc3", FORM),
        (b'{"CallSid": "CA1"}', "application/json"),
        (b"&".join(b"f%d=1" % i for i in range(5000)), FORM),
    ],
    ids=["multipart junk", "no boundary", "bad escapes", "not UTF-8", "JSON", "5000 fields"],
)
async def test_malformed_webhook_bodies_are_refused_not_errors(
    zylin: RunningServer, fakes: Fakes, body: bytes, content_type: str
) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{zylin.url}/twilio/voice", content=body, headers={"Content-Type": content_type}
        )
    assert response.status_code in (400, 403)
    await assert_nothing_paid_started(zylin, fakes)


async def test_every_twilio_webhook_refuses_unsigned_requests(
    zylin: RunningServer, fakes: Fakes
) -> None:
    """Found from the app's OpenAPI paths, so a webhook added later is covered too."""
    schema = zylin.app.openapi()["paths"]
    paths = sorted(p for p, ops in schema.items() if p.startswith("/twilio/") and "post" in ops)
    assert "/twilio/voice" in paths and len(paths) > 1, paths
    form = {**_webhook_form(sid("CA")), "CallStatus": "completed", "RecordingSid": "RE1"}
    async with httpx.AsyncClient() as http:
        for path in paths:
            unsigned = await http.post(f"{zylin.url}{path}", data=form)
            wrong = await http.post(
                f"{zylin.url}{path}", data=form, headers={"X-Twilio-Signature": "d3Jvbmc="}
            )
            assert (unsigned.status_code, wrong.status_code) == (403, 403), path
    await assert_nothing_paid_started(zylin, fakes)
    assert fakes.twilio.call_updates == [] and fakes.twilio.messages == []

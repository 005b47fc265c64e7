"""The simulated Twilio caller against an in-test server speaking Twilio's server side."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shlex
import socket
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import WSMsgType, web
from twilio.request_validator import RequestValidator

from devtools.caller import (
    SimulatedCall,
    TwimlError,
    WebhookError,
    cli,
    load_wav,
    mulaw_decode,
    mulaw_encode,
    parse_twiml,
    resample,
    tone,
    waits,
)
from devtools.caller.call import CallClosed
from devtools.caller.cli import build_parser
from devtools.caller.errors import WebhookUnreachable
from devtools.caller.playout import Playout
from devtools.caller.script import Step, parse_script
from devtools.caller.timeline import Timeline

TOKEN = "test-auth-token-0123456789abcdef"
PARAMS = {"callerPhone": "+15555550123", "token": "tok-abc", "odd": 'a "quoted" & <b>'}


@dataclass
class Received:
    """A message the server got, with its arrival time on the loop clock."""

    t: float
    data: Any


@dataclass
class Session:
    """One media-stream WebSocket as the server saw it."""

    ws: web.WebSocketResponse
    signature_ok: bool
    path: str
    messages: list[Received] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [
            m.data for m in self.messages if isinstance(m.data, dict) and m.data["event"] == kind
        ]

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(message))

    async def send_audio(self, pcm: bytes, chunk_ms: int = 20) -> None:
        step = 8 * chunk_ms * 2
        for i in range(0, len(pcm), step):
            payload = base64.b64encode(mulaw_encode(pcm[i : i + step])).decode()
            await self.send({"event": "media", "streamSid": SID, "media": {"payload": payload}})


SID = "MZ" + "0" * 32


async def wait_until(predicate: Callable[[], bool], within: float = 2.0) -> None:
    """Poll `predicate` until it holds (what a server or the call has recorded)."""
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"condition not met within {within} s")
        await asyncio.sleep(0.005)


Scenario = Callable[[Session], Awaitable[None]]


class TwilioSide:
    """Webhook + media-stream server: checks Twilio's signatures and records every message."""

    def __init__(self, *, public: str | None = None, twiml: str | None = None, status: int = 200):
        self.app = web.Application()
        self.app.router.add_post("/twilio/voice", self._voice)
        self.app.router.add_get("/media-stream/{token}", self._media)
        self.runner = web.AppRunner(self.app, shutdown_timeout=1.0, access_log=None)
        self.port = 0
        self.validator = RequestValidator(TOKEN)
        self.public = public
        self.twiml = twiml
        self.status = status
        self.webhook_form: dict[str, str] = {}
        self.webhook_signature_ok = False
        self.sessions: list[Session] = []
        self.scenario: Scenario | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> TwilioSide:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()

    def _base(self) -> str:
        return self.public or self.url

    def stream_url(self) -> str:
        base = self._base()
        return base.replace("https://", "wss://").replace("http://", "ws://") + "/media-stream/t1"

    async def _voice(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.webhook_form = form
        self.webhook_signature_ok = self.validator.validate(
            self._base() + "/twilio/voice", form, request.headers.get("X-Twilio-Signature", "")
        )
        assert request.content_type == "application/x-www-form-urlencoded"
        if self.twiml is not None:
            return web.Response(text=self.twiml, status=self.status, content_type="text/xml")
        params = "".join(
            f"<Parameter name={json.dumps(k)} value={json.dumps(v)}/>"
            for k, v in PARAMS.items()
            if k != "odd"
        )
        params += '<Parameter name="odd" value="a &quot;quoted&quot; &amp; &lt;b&gt;"/>'
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
            f'<Stream url="{self.stream_url()}">{params}</Stream></Connect></Response>'
        )
        return web.Response(text=body, content_type="text/xml")

    async def _media(self, request: web.Request) -> web.WebSocketResponse:
        ok = self.validator.validate(
            self.stream_url(), {}, request.headers.get("X-Twilio-Signature", "")
        )
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = Session(ws, ok, request.path)
        self.sessions.append(session)
        loop = asyncio.get_running_loop()

        async def reader() -> None:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        data: Any = json.loads(msg.data)
                    except json.JSONDecodeError:
                        data = ("text", msg.data)
                    session.messages.append(Received(loop.time(), data))
                elif msg.type == WSMsgType.BINARY:
                    session.messages.append(Received(loop.time(), ("binary", msg.data)))
            session.closed.set()

        read = asyncio.create_task(reader())
        if self.scenario is not None:
            await self.scenario(session)
        await read
        return ws


@pytest.fixture
async def server() -> Any:
    async with TwilioSide() as srv:
        yield srv


def call_for(srv: TwilioSide, **kwargs: Any) -> SimulatedCall:
    return SimulatedCall(srv.url, auth_token=TOKEN, stream_sid=SID, **kwargs)


def voiced_ms(pcm: bytes, threshold: float = 200.0) -> int:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    x = x[: len(x) // 160 * 160].reshape(-1, 160)
    return int((np.sqrt((x**2).mean(axis=1)) > threshold).sum()) * 20


# --- call set-up ---------------------------------------------------------------------------


async def test_webhook_and_stream_are_signed_and_start_carries_parameters(
    server: TwilioSide,
) -> None:
    async with call_for(server, caller="+15551112222", called="+15553334444") as call:
        await asyncio.sleep(0.2)
        await call.hang_up()
    form = server.webhook_form
    assert server.webhook_signature_ok
    assert re.fullmatch(r"CA[0-9a-f]{32}", form["CallSid"]) and form["CallSid"] == call.call_sid
    assert re.fullmatch(r"AC[0-9a-f]{32}", form["AccountSid"])
    assert form["From"] == form["Caller"] == "+15551112222"
    assert form["To"] == form["Called"] == "+15553334444"
    assert (form["CallStatus"], form["Direction"], form["ApiVersion"]) == (
        "ringing",
        "inbound",
        "2010-04-01",
    )
    (session,) = server.sessions
    assert session.signature_ok and session.path == "/media-stream/t1"
    kinds = [m.data["event"] for m in session.messages]
    assert kinds[0] == "connected" and kinds[1] == "start" and kinds[-1] == "stop"
    assert set(kinds[2:-1]) == {"media"}
    assert session.messages[0].data == {
        "event": "connected",
        "protocol": "Call",
        "version": "1.0.0",
    }
    start = session.messages[1].data
    assert start["sequenceNumber"] == "1" and start["streamSid"] == SID
    assert start["start"] == {
        "accountSid": form["AccountSid"],
        "streamSid": SID,
        "callSid": call.call_sid,
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": PARAMS,
    }
    seqs = [int(m.data["sequenceNumber"]) for m in session.messages[1:]]
    assert seqs == list(range(1, len(seqs) + 1))
    media = session.events("media")
    assert [m["media"]["chunk"] for m in media] == [str(i) for i in range(1, len(media) + 1)]
    assert [m["media"]["timestamp"] for m in media] == [str(20 * i) for i in range(len(media))]
    assert all(m["media"]["track"] == "inbound" and m["streamSid"] == SID for m in media)
    assert session.events("stop")[0]["stop"] == {
        "accountSid": form["AccountSid"],
        "callSid": call.call_sid,
    }
    assert call.closed and call.closed_by == "caller"


async def test_public_url_signs_for_the_public_host_and_connects_locally() -> None:
    async with TwilioSide(public="https://zylin.example.ngrok.app") as srv:
        call = call_for(srv, public_url="https://zylin.example.ngrok.app")
        async with call:
            await asyncio.sleep(0.1)
        assert srv.webhook_signature_ok
        assert srv.sessions[0].signature_ok
        assert call.twiml is not None and call.twiml.url.startswith("wss://zylin.example")
        assert call.stream_connect_url == f"ws://127.0.0.1:{srv.port}/media-stream/t1"


async def test_wrong_token_fails_both_signature_checks(server: TwilioSide) -> None:
    async with SimulatedCall(server.url, auth_token="other-token") as call:
        await asyncio.sleep(0.05)
    assert not server.webhook_signature_ok
    assert not server.sessions[0].signature_ok
    assert call.closed


async def test_twiml_other_than_connect_stream_is_refused_with_what_came_back() -> None:
    say = "<Response><Say>We are closed.</Say><Hangup/></Response>"
    async with TwilioSide(twiml=say) as srv:
        with pytest.raises(TwimlError, match=r"<Say>: We are closed\.") as info:
            await call_for(srv).connect()
        assert "We are closed" in info.value.body
    async with TwilioSide(twiml="nope", status=403) as srv:
        with pytest.raises(WebhookError, match="403") as err:
            await call_for(srv).connect()
        assert err.value.status == 403


async def test_a_webhook_that_does_not_answer_is_a_call_error() -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    call = SimulatedCall(f"http://127.0.0.1:{port}", auth_token=TOKEN, stream_sid=SID)
    with pytest.raises(WebhookUnreachable, match="ConnectError"):
        await call.connect()
    assert any(e.kind == "webhook" and e.data.get("error") for e in call.events)


def test_parse_twiml_rules() -> None:
    ok = parse_twiml(
        '<?xml version="1.0"?><Response><Connect><Stream url="wss://h/x">'
        '<Parameter name="a" value="1"/></Stream></Connect></Response>'
    )
    assert ok.url == "wss://h/x" and ok.parameters == {"a": "1"}
    for bad in (
        "<Response/>",
        "<Response><Connect/></Response>",
        '<Response><Connect><Stream url="https://h/x"/></Connect></Response>',
        '<Response><Connect><Stream url="wss://h/x?t=1"/></Connect></Response>',
        "not xml",
    ):
        with pytest.raises(TwimlError):
            parse_twiml(bad)


# --- pacing --------------------------------------------------------------------------------


@pytest.mark.timing
async def test_media_is_paced_in_real_time_with_silence(server: TwilioSide) -> None:
    async with call_for(server) as call:
        await asyncio.sleep(2.0)
        frames_at_2s = len(server.sessions[0].events("media"))
        await call.hang_up()
    assert 85 <= frames_at_2s <= 115  # 50 a second, give or take a busy machine
    media = [m for m in server.sessions[0].messages if m.data["event"] == "media"]
    payloads = [base64.b64decode(m.data["media"]["payload"]) for m in media]
    assert all(p == b"\xff" * 160 for p in payloads)
    # Drift-free: frame n is due n*20 ms after frame 0; a late one is caught up, never skipped,
    # so lateness does not build up over the call (a stall shows as one late run, not drift).
    lateness = [m.t - media[0].t - i * 0.02 for i, m in enumerate(media)]
    assert abs(sorted(lateness)[len(lateness) // 2]) < 0.05


# --- playback, marks, clear ----------------------------------------------------------------


async def test_marks_are_echoed_when_their_audio_has_played(server: TwilioSide) -> None:
    sent: dict[str, float] = {}

    async def scenario(s: Session) -> None:
        await wait_until(lambda: len(s.events("start")) == 1)
        await s.send({"event": "mark", "streamSid": SID, "mark": {"name": "before-audio"}})
        sent["audio"] = asyncio.get_running_loop().time()
        await s.send_audio(tone(600), chunk_ms=100)
        await s.send({"event": "mark", "streamSid": SID, "mark": {"name": "after-600ms"}})

    server.scenario = scenario
    async with call_for(server) as call:
        await wait_until(lambda: len(call.events_of("mark_echo")) == 2, within=2)
        echo = call.events_of("mark_echo")
        end = await call.wait_for_bot_silence(200, timeout=2, since=0)
    session = server.sessions[0]
    echoes = [m for m in session.messages if m.data["event"] == "mark"]
    assert [m.data["mark"]["name"] for m in echoes] == ["before-audio", "after-600ms"]
    assert echoes[0].data["streamSid"] == SID and echoes[0].data["sequenceNumber"].isdigit()
    assert echoes[0].t - sent["audio"] < 0.1
    assert 0.55 <= echoes[1].t - sent["audio"] <= 0.75
    assert [e.data["cleared"] for e in echo] == [False, False]
    assert call.first_audio_at is not None and abs(end - call.first_audio_at - 0.6) < 0.05


async def test_clear_drops_queued_audio_and_echoes_pending_marks_at_once(
    server: TwilioSide,
) -> None:
    times: dict[str, float] = {}

    async def scenario(s: Session) -> None:
        await wait_until(lambda: len(s.events("start")) == 1)
        await s.send_audio(tone(2000), chunk_ms=200)  # 2 s queued at once
        await s.send({"event": "mark", "streamSid": SID, "mark": {"name": "utt-1"}})
        await asyncio.sleep(0.4)
        times["clear"] = asyncio.get_running_loop().time()
        await s.send({"event": "clear", "streamSid": SID})

    server.scenario = scenario
    async with call_for(server) as call:
        await call.wait_for_event("mark_echo", timeout=3)
        await asyncio.sleep(0.1)
    echo = [m for m in server.sessions[0].messages if m.data["event"] == "mark"]
    assert len(echo) == 1 and echo[0].t - times["clear"] < 0.1
    assert call.events_of("mark_echo")[0].data == {"name": "utt-1", "cleared": True}
    (clear,) = call.events_of("clear")
    assert 1500 <= clear.data["dropped_ms"] <= 1700
    heard = voiced_ms(call.bot_audio())
    assert 340 <= heard <= 480


async def test_recording_is_stereo_caller_left_bot_right(server: TwilioSide, tmp_path: Path):
    async def scenario(s: Session) -> None:
        await wait_until(lambda: len(s.events("start")) == 1)
        await asyncio.sleep(0.5)
        await s.send_audio(tone(300, freq=300))

    server.scenario = scenario
    async with call_for(server, tts=None) as call:
        turn = await call.say_pcm(tone(400, freq=700), 8000, label="tone")
        await call.wait_for_bot_silence(200, timeout=3, since=0)
        path = call.save_wav(tmp_path / "call.wav")
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, 8000, 2)
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    left, right = stereo[:, 0].tobytes(), stereo[:, 1].tobytes()
    assert 380 <= voiced_ms(left) <= 420 and 280 <= voiced_ms(right) <= 320
    # Bot audio sits where it was played: ~0.5 s into the call.
    first_bot = np.flatnonzero(np.abs(stereo[:, 1]) > 1000)[0] / 8000
    assert 0.45 <= first_bot <= 0.65
    assert turn.started_at is not None and turn.started_at < 0.1


# --- turns and measurements ----------------------------------------------------------------


async def echo_bot(
    s: Session, reply_ms: int = 300, endpoint_ms: int = 200, reply: bytes | None = None
) -> None:
    """A tiny bot: after caller voice then `endpoint_ms` of silence, it plays a reply."""
    await wait_until(lambda: len(s.events("start")) == 1)
    seen = 0
    heard_voice = False
    quiet = 0
    while not s.closed.is_set():
        media = s.events("media")
        for m in media[seen:]:
            pcm = mulaw_decode(base64.b64decode(m["media"]["payload"]))
            loud = voiced_ms(pcm) > 0
            if loud:
                heard_voice, quiet = True, 0
            elif heard_voice:
                quiet += 20
                if quiet >= endpoint_ms:
                    heard_voice = False
                    await s.send_audio(reply or tone(reply_ms, freq=500))
        seen = len(media)
        await asyncio.sleep(0.005)


async def test_voice_to_voice_is_measured_per_turn(server: TwilioSide) -> None:
    server.scenario = echo_bot
    async with call_for(server) as call:
        for _ in range(2):
            turn = await call.say_pcm(tone(300, freq=800), 8000)
            start, end = await call.wait_for_reply(timeout=3, silence_ms=150)
            assert turn.first_reply_at == start and end > start
    for turn in call.turns:
        assert turn.voice_to_voice_ms is not None
        assert 180 <= turn.voice_to_voice_ms <= 320, turn
        assert turn.stale_media == 0 and turn.clears == 0


async def test_stale_media_after_clear_is_counted(server: TwilioSide) -> None:
    async def scenario(s: Session) -> None:
        await wait_until(lambda: len(s.events("start")) == 1)
        await s.send_audio(tone(3000), chunk_ms=20)  # a long greeting, all queued

        def caller_talking() -> bool:
            return any(
                voiced_ms(mulaw_decode(base64.b64decode(m["media"]["payload"]))) > 0
                for m in s.events("media")[-3:]
            )

        await wait_until(caller_talking, within=3)
        await s.send({"event": "clear", "streamSid": SID})
        await s.send_audio(tone(100), chunk_ms=20)  # stale: still talking over the caller

    server.scenario = scenario
    async with call_for(server) as call:
        await call.wait_for_bot_audio(timeout=2)
        await asyncio.sleep(0.3)
        turn = await call.say_pcm(tone(600, freq=900), 8000, label="barge-in")
    assert turn.clears == 1 and turn.stale_media == 5 and call.stale_media == 5
    assert turn.media_while_speaking >= 5


async def test_dtmf_raw_frames_and_close_without_stop(server: TwilioSide) -> None:
    async with call_for(server) as call:
        await call.send_dtmf("0")
        await call.send_raw("not json")
        await call.send_raw(b"\x00\x01")
        await call.hang_up(send_stop=False)
    session = server.sessions[0]
    await asyncio.wait_for(session.closed.wait(), 2)
    (dtmf,) = session.events("dtmf")
    assert dtmf["dtmf"] == {"track": "inbound_track", "digit": "0"} and dtmf["streamSid"] == SID
    assert dtmf["sequenceNumber"].isdigit()
    raw = [m.data for m in session.messages if isinstance(m.data, tuple)]
    assert raw == [("text", "not json"), ("binary", b"\x00\x01")]
    assert not session.events("stop")
    assert [e.data["digit"] for e in call.events_of("dtmf_sent")] == ["0"]


async def test_server_hang_up_is_seen_with_its_close_code(server: TwilioSide) -> None:
    async def scenario(s: Session) -> None:
        await wait_until(lambda: len(s.events("media")) >= 5)
        await s.ws.close(code=1000, message=b"bye")

    server.scenario = scenario
    async with call_for(server) as call:
        assert await call.wait_closed(timeout=3) == 1000
        with pytest.raises(CallClosed):
            await call.say_pcm(tone(100), 8000)
    assert call.closed_by == "server" and call.close_reason == "bye"
    assert call.events[-1].kind == "closed"


async def test_misbehaviour_options_shape_the_stream(server: TwilioSide) -> None:
    async with call_for(server, duplicate_start=True, media_before_start=2) as call:
        await asyncio.sleep(0.1)
    kinds = [m.data["event"] for m in server.sessions[0].messages]
    assert kinds[:5] == ["connected", "media", "media", "start", "start"]
    async with TwilioSide() as srv:
        async with call_for(srv, send_start=False, send_connected=False, stream_audio=False):
            await asyncio.sleep(0.1)
        assert [m.data["event"] for m in srv.sessions[0].messages] == ["stop"]
    assert call.closed


async def test_abort_drops_the_connection(server: TwilioSide) -> None:
    async with call_for(server) as call:
        await asyncio.sleep(0.1)
        await call.abort()
    await asyncio.wait_for(server.sessions[0].closed.wait(), 2)
    assert not server.sessions[0].events("stop")
    assert call.closed_by == "caller"


async def test_waits_wake_on_the_change_itself() -> None:
    timeline = Timeline()
    timeline.begin()
    playout = Playout(timeline, voiced_rms=200.0)
    closed = asyncio.Event()
    audio = asyncio.create_task(waits.bot_audio(timeline, playout, closed, 0.0, timeout=5))
    event = asyncio.create_task(waits.event(timeline, closed, "bot_audio", 0, timeout=5))
    await asyncio.sleep(0.05)
    assert not audio.done() and not event.done()
    t = timeline.now()
    playout.receive(tone(100), t)
    assert await asyncio.wait_for(audio, 0.5) == t
    assert (await asyncio.wait_for(event, 0.5)).t == pytest.approx(t, abs=0.01)
    # Silence is complete 200 ms after the 100 ms of voice ends, and not before.
    end = await waits.bot_silence(timeline, playout, closed, 0.0, ms=200, timeout=5)
    assert end == pytest.approx(t + 0.1, abs=0.021)
    assert timeline.now() >= end + 0.2
    later = asyncio.create_task(waits.bot_audio(timeline, playout, closed, t + 60, timeout=5))
    await asyncio.sleep(0.01)
    closed.set()
    timeline.record("closed")
    with pytest.raises(CallClosed):
        await asyncio.wait_for(later, 0.5)
    with pytest.raises(TimeoutError, match=r"no 'mark' event within 0\.05 s"):
        await waits.event(timeline, asyncio.Event(), "mark", 0, timeout=0.05)


# --- audio helpers and scripts -------------------------------------------------------------


def test_mulaw_codec_is_g711() -> None:
    # G.711 mu-law reference points: silence encodes to 0xFF, the codes at both extremes.
    assert mulaw_encode(bytes(320)) == b"\xff" * 160
    assert mulaw_decode(b"\x00\x80\xff\x7f") == np.array([-32124, 32124, 0, 0], "<i2").tobytes()
    # Logarithmic quantisation: the round trip errs by at most 1/16 of the level (+8).
    pcm = np.arange(-32768, 32768, 7, dtype="<i2")
    back = np.frombuffer(mulaw_decode(mulaw_encode(pcm.tobytes())), "<i2").astype(int)
    assert len(back) == len(pcm)
    assert np.all(np.abs(back - pcm) <= np.abs(pcm.astype(int)) / 16 + 8)


def test_load_wav_converts_any_rate_and_channels(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100
    mono = (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    path = tmp_path / "in.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(44100)
        wav.writeframes(np.stack([mono, mono], axis=1).tobytes())
    pcm = load_wav(path)
    assert abs(len(pcm) // 2 - 8000) <= 2
    assert voiced_ms(pcm) >= 960


def test_parse_script_lines() -> None:
    steps, ending = parse_script(
        "# comment\nHi, what are your hours?\n\n@dtmf 0\n@wav a.wav\n@pause 500\n"
        "@barge 800 Actually, wait.\n@tone 400\n@end wait\n"
    )
    assert steps == [
        Step("say", "Hi, what are your hours?"),
        Step("dtmf", "0"),
        Step("wav", "a.wav"),
        Step("pause", "500"),
        Step("say", "Actually, wait.", interrupt_after_ms=800),
        Step("tone", "400"),
    ]
    assert ending == "wait"
    with pytest.raises(ValueError, match="line 1"):
        parse_script("@nope x")


# --- the command line ------------------------------------------------------------------------


def speech(text: str) -> bytes:
    """eSpeak speech at 8 kHz, what a bot would send."""
    from zylin.local.espeak import synthesize

    pcm, rate = synthesize(text, rate_wpm=190)
    return resample(pcm, rate, 8000)


def test_usage_examples_print_as_clean_commands_that_parse() -> None:
    examples = build_parser().format_help().split("examples:\n", 1)[1]
    examples = examples.split("script lines:", 1)[0]
    # No run of spaces inside a line: a backslash-newline swallowed by Python left one.
    assert not [line for line in examples.splitlines() if re.search(r"\S {2,}\S", line)]
    commands = examples.replace("\\\n", " ").strip().splitlines()
    assert len(commands) == 3
    for command in commands:
        argv = shlex.split(command)
        assert argv[:3] == ["python", "-m", "devtools.caller"]
        assert build_parser().parse_args(argv[3:]).steps or "--script" in argv


async def test_cli_prints_both_sides_and_saves_the_call(
    server: TwilioSide, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    greeting, answer = speech("Hello, how can I help?"), speech("We open at nine.")

    async def scenario(s: Session) -> None:
        await wait_until(lambda: len(s.events("start")) == 1)
        await s.send_audio(greeting, chunk_ms=100)
        await echo_bot(s, reply_ms=0, endpoint_ms=200, reply=answer)

    server.scenario = scenario
    wav = tmp_path / "cli.wav"
    args = build_parser().parse_args(
        [
            "--server", server.url, "--auth-token", TOKEN, "--tone", "400",
            "--dtmf", "0", "--silence-ms", "300", "--reply-timeout", "1.5", "--save", str(wav),
        ]
    )  # fmt: skip
    assert await cli.run(args) == 0
    out = capsys.readouterr().out
    assert "Caller: <tone 400 ms>" in out and "Caller: <DTMF 0>" in out
    # Greeting and reply, each transcribed by pocketsphinx (words are rough on eSpeak audio).
    assert out.count("Zylin: ") == 2 and "voice-to-voice" in out
    assert "(no reply within 1.5 s)" in out  # the DTMF got no answer from this bot
    assert server.webhook_signature_ok and server.sessions[0].events("dtmf")
    with wave.open(str(wav)) as saved:
        assert saved.getnchannels() == 2

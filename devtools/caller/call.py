"""SimulatedCall: one inbound Twilio call over Media Streams, paced in real time and recorded."""

# Waits take a plain `timeout=` (the API tests read best); ASYNC109 prefers asyncio.timeout.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import contextlib
import json
import math
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import httpx
import numpy as np
from loguru import logger
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from devtools.caller.audio import (
    FRAME_BYTES_PCM,
    FRAME_SAMPLES,
    MULAW_SILENCE,
    RATE,
    frame_rms,
    load_wav,
    mulaw_decode,
    mulaw_encode,
    resample,
    save_stereo_wav,
)
from devtools.caller.twiml import StreamTwiml, TwimlError, parse_twiml
from zylin.telephony import SignatureChecker

FRAME_SECS = FRAME_SAMPLES / RATE
# A new "bot_audio" event when media arrives after the playback queue ran dry this long.
_BURST_GAP_SAMPLES = int(0.2 * RATE)
_POLL_SECS = 0.01

TtsFunc = Callable[[str, str, int], Awaitable[tuple[bytes, int]]]

__all__ = [
    "CallClosed",
    "CallError",
    "CallEvent",
    "CallTurn",
    "SimulatedCall",
    "TwimlError",
    "WebhookError",
]


class CallError(RuntimeError):
    """The simulated call could not be placed or went wrong in a way a test should see."""


class WebhookError(CallError):
    """The voice webhook answered with a non-200 status; `.status` and `.body` say what."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"voice webhook answered HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


class CallClosed(CallError):
    """The media stream closed while the caller was still waiting or speaking."""


@dataclass
class CallEvent:
    """One thing that happened, `t` seconds after `start` was sent (negative before it)."""

    t: float
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class CallTurn:
    """One caller utterance and what the bot did around it (times on the call timeline)."""

    index: int
    label: str
    voiced: bool = True
    started_at: float | None = None
    last_voiced_at: float | None = None
    ended_at: float | None = None
    first_reply_at: float | None = None
    clears: int = 0
    media_while_speaking: int = 0
    stale_media: int = 0
    bot_text: str | None = None

    @property
    def voice_to_voice_ms(self) -> float | None:
        """Last voiced caller frame sent -> first bot `media` received after it."""
        if self.last_voiced_at is None or self.first_reply_at is None:
            return None
        return (self.first_reply_at - self.last_voiced_at) * 1000.0


@dataclass
class _Utterance:
    """Caller audio waiting in the send queue, cut into 20 ms frames."""

    pcm: bytes
    turn: CallTurn
    last_voiced: int
    done: asyncio.Future[CallTurn]
    pos: int = 0

    @property
    def frames(self) -> int:
        return math.ceil(len(self.pcm) / FRAME_BYTES_PCM)


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _replace_origin(url: str, base: str) -> str:
    """`url` with its scheme and host taken from `base` (http -> ws, https -> wss)."""
    target, origin = urlsplit(url), urlsplit(base)
    scheme = {"http": "ws", "https": "wss"}.get(origin.scheme, origin.scheme)
    return urlunsplit((scheme, origin.netloc, target.path, target.query, ""))


async def _espeak_tts(text: str, voice: str, rate_wpm: int) -> tuple[bytes, int]:
    """The project's local eSpeak engine (imported late: only text turns need it)."""
    from zylin.local.espeak import synthesize_async

    return await synthesize_async(text, voice=voice, rate_wpm=rate_wpm)


class SimulatedCall:
    """A phone call placed on a Zylin server exactly as Twilio would place it.

    Posts the signed voice webhook, follows the TwiML `<Connect><Stream>`, opens the signed
    WebSocket and then streams 20 ms mu-law frames in real time (silence between turns) until
    hang-up. Bot audio is "played" like Twilio does it: queued in order at real-time rate, so
    marks are echoed when their audio has finished and `clear` drops what has not played yet.
    Both sides are recorded on one timeline (0 = when `start` was sent).

    Use as `async with SimulatedCall(...) as call:`; leaving the block hangs up if still open.
    """

    def __init__(
        self,
        server_url: str = "http://127.0.0.1:8000",
        *,
        auth_token: str | None = None,
        caller: str = "+15555550123",
        called: str = "+15555550100",
        account_sid: str | None = None,
        call_sid: str | None = None,
        stream_sid: str | None = None,
        webhook_path: str = "/twilio/voice",
        public_url: str | None = None,
        connect_url: str | None = None,
        extra_params: dict[str, str] | None = None,
        send_connected: bool = True,
        send_start: bool = True,
        duplicate_start: bool = False,
        media_before_start: int = 0,
        stream_audio: bool = True,
        voiced_rms: float = 200.0,
        tts: TtsFunc | None = None,
        http_timeout: float = 10.0,
        open_timeout: float = 10.0,
    ) -> None:
        """Configure the call; nothing happens on the network until `connect()`.

        Args:
            server_url: Where to POST the webhook (`http://127.0.0.1:8000` or a public URL).
            auth_token: Twilio auth token to sign with; None sends no signature header.
            caller: The caller's number (`From`/`Caller`).
            called: The business's Twilio number (`To`/`Called`).
            account_sid: `AccountSid` to send; a random `AC...` when None.
            call_sid: `CallSid` to use; a random `CA...` when None.
            stream_sid: `streamSid` to use; a random `MZ...` when None.
            webhook_path: Path of the voice webhook under `server_url`.
            public_url: Base URL the server believes it has (ngrok, proxy): signatures are
                computed over it instead of `server_url`.
            connect_url: Base (scheme and host) to open the stream on instead of the TwiML's
                host, e.g. the local server when TwiML says `wss://public-host/...`. When
                None and `public_url` is given, a stream URL on the public host is opened on
                `server_url`'s host.
            extra_params: More webhook form fields (override the defaults too).
            send_connected: Send the `connected` message (misbehaviour tests turn it off).
            send_start: Send `start` (off: a stream that never starts).
            duplicate_start: Send `start` twice.
            media_before_start: Send this many silent media frames before `start`.
            stream_audio: Stream real-time media at all (off: only what tests send by hand).
            voiced_rms: RMS (16-bit) above which a 20 ms frame counts as voice, both sides.
            tts: Text-to-speech `(text, voice, rate_wpm) -> (pcm16, rate)`; default eSpeak.
            http_timeout: Seconds to wait for the webhook.
            open_timeout: Seconds to wait for the WebSocket handshake.
        """
        self.server_url = server_url.rstrip("/")
        self.webhook_path = "/" + webhook_path.lstrip("/")
        self.public_url = public_url.rstrip("/") if public_url else None
        self.connect_url = connect_url
        self.caller = caller
        self.called = called
        self.account_sid = account_sid or _sid("AC")
        self.call_sid = call_sid or _sid("CA")
        self.stream_sid = stream_sid or _sid("MZ")
        self._signer = SignatureChecker(auth_token) if auth_token else None
        self._extra_params = dict(extra_params or {})
        self._send_connected = send_connected
        self._send_start = send_start
        self._duplicate_start = duplicate_start
        self._media_before_start = media_before_start
        self._stream_audio = stream_audio
        self.voiced_rms = voiced_rms
        self._tts = tts or _espeak_tts
        self._http_timeout = http_timeout
        self._open_timeout = open_timeout

        self.twiml: StreamTwiml | None = None
        self.webhook_status: int | None = None
        self.webhook_params: dict[str, str] = {}
        self.stream_connect_url: str | None = None
        self.events: list[CallEvent] = []
        self.turns: list[CallTurn] = []
        self.media_received = 0
        self.marks_echoed: list[tuple[str, float, bool]] = []
        self.close_code: int | None = None
        self.close_reason: str = ""
        self.closed_by: str | None = None

        self._loop: asyncio.AbstractEventLoop | None = None
        self._origin = 0.0
        self._ws: ClientConnection | None = None
        self._seq = 0
        self._chunk = 0
        self._send_lock = asyncio.Lock()
        self._queue: deque[_Utterance] = deque()
        self._current: CallTurn | None = None
        self._caller_track = bytearray()
        self._bot_track = bytearray()
        self._play_cursor = 0  # sample index where the next received audio will play
        self._bot_voiced: list[tuple[int, int]] = []  # [start, end) sample spans of voice
        self._media_times: list[float] = []
        self._pending_marks: deque[tuple[float, str]] = deque()
        self._mark_wake = asyncio.Event()
        self._closed = asyncio.Event()
        self._hanging_up = False
        self._tasks: list[asyncio.Task[None]] = []
        self._receiver: asyncio.Task[None] | None = None
        self._futures: dict[int, asyncio.Future[CallTurn]] = {}

    # --- timeline ------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds on the call timeline (0 = `start` sent), from the loop's monotonic clock."""
        assert self._loop is not None, "call not connected"
        return self._loop.time() - self._origin

    def _event(self, kind: str, **data: Any) -> CallEvent:
        event = CallEvent(self.now(), kind, data)
        self.events.append(event)
        return event

    def events_of(self, kind: str) -> list[CallEvent]:
        """The events of one kind, in order (`clear`, `mark`, `mark_echo`, `dtmf_sent`, ...)."""
        return [e for e in self.events if e.kind == kind]

    @property
    def first_audio_at(self) -> float | None:
        """When the first bot `media` arrived (the greeting), or None."""
        return self._media_times[0] if self._media_times else None

    @property
    def closed(self) -> bool:
        """Whether the media stream is closed (by either side)."""
        return self._closed.is_set()

    @property
    def stale_media(self) -> int:
        """Bot `media` received after a `clear` while the caller was still talking, all turns."""
        return sum(t.stale_media for t in self.turns)

    # --- set-up --------------------------------------------------------------------------

    def _webhook_form(self) -> dict[str, str]:
        """The form fields Twilio posts for an inbound call that is ringing."""
        form = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": self.call_sid,
            "CallStatus": "ringing",
            "Called": self.called,
            "CalledCountry": "US",
            "Caller": self.caller,
            "CallerCountry": "US",
            "Direction": "inbound",
            "From": self.caller,
            "FromCountry": "US",
            "To": self.called,
            "ToCountry": "US",
        }
        form.update(self._extra_params)
        return form

    def _sign(self, url: str, params: dict[str, str]) -> dict[str, str]:
        return {"X-Twilio-Signature": self._signer.sign(url, params)} if self._signer else {}

    async def _post_webhook(self) -> StreamTwiml:
        """POST the voice webhook like Twilio and parse the TwiML it answers."""
        url = self.server_url + self.webhook_path
        signed_url = (self.public_url or self.server_url) + self.webhook_path
        form = self._webhook_form()
        self.webhook_params = form
        headers = {"User-Agent": "TwilioProxy/1.1", **self._sign(signed_url, form)}
        async with httpx.AsyncClient(timeout=self._http_timeout) as http:
            response = await http.post(url, data=form, headers=headers)
        self.webhook_status = response.status_code
        self._event("webhook", status=response.status_code, url=url)
        if response.status_code != 200:
            raise WebhookError(response.status_code, response.text)
        twiml = parse_twiml(response.text)
        self._event("twiml", url=twiml.url, parameters=dict(twiml.parameters))
        return twiml

    def _stream_target(self, stream_url: str) -> str:
        """Where to open the stream: the TwiML URL, or it moved onto a local host."""
        if self.connect_url:
            return _replace_origin(stream_url, self.connect_url)
        if self.public_url:
            public = urlsplit(self.public_url).netloc
            if urlsplit(stream_url).netloc == public:
                return _replace_origin(stream_url, self.server_url)
        return stream_url

    async def connect(self) -> Self:
        """Place the call: webhook, TwiML, WebSocket, `connected` + `start`, then stream."""
        self._loop = asyncio.get_running_loop()
        self._origin = self._loop.time()
        self.twiml = await self._post_webhook()
        target = self._stream_target(self.twiml.url)
        self.stream_connect_url = target
        # Twilio signs the upgrade over the Stream URL exactly as the TwiML gave it, no params.
        headers = self._sign(self.twiml.url, {})
        self._ws = await connect(
            target,
            additional_headers=headers,
            user_agent_header="Twilio.TmeWs/1.0",
            open_timeout=self._open_timeout,
            ping_interval=None,
            compression=None,
            max_size=4 * 2**20,
        )
        self._event("ws_open", url=target)
        logger.debug(f"simulated call {self.call_sid} connected to {target}")
        self._receiver = asyncio.create_task(self._receive_loop(), name="zylin_call.receive")
        self._tasks.append(asyncio.create_task(self._mark_loop(), name="zylin_call.marks"))
        if self._send_connected:
            await self._send_json({"event": "connected", "protocol": "Call", "version": "1.0.0"})
            self._event("connected_sent")
        for _ in range(self._media_before_start):
            await self._send_media(mulaw_encode(bytes(FRAME_BYTES_PCM)))
        self._event("media_before_start_sent", frames=self._media_before_start)
        self._set_origin()
        if self._send_start:
            for _ in range(2 if self._duplicate_start else 1):
                await self._send_json(self._start_message())
                self._event("start_sent")
        if self._stream_audio:
            self._tasks.append(asyncio.create_task(self._send_loop(), name="zylin_call.send"))
        return self

    def _set_origin(self) -> None:
        """Move timeline 0 to now (stream start), shifting the events recorded so far."""
        assert self._loop is not None
        shift = self._loop.time() - self._origin
        self._origin += shift
        for event in self.events:
            event.t -= shift

    def _start_message(self) -> dict[str, Any]:
        assert self.twiml is not None
        return {
            "event": "start",
            "sequenceNumber": "",
            "streamSid": self.stream_sid,
            "start": {
                "accountSid": self.account_sid,
                "streamSid": self.stream_sid,
                "callSid": self.call_sid,
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": RATE, "channels": 1},
                "customParameters": dict(self.twiml.parameters),
            },
        }

    async def __aenter__(self) -> Self:
        try:
            return await self.connect()
        except BaseException:
            await self.close()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- sending -------------------------------------------------------------------------

    def _next_seq(self) -> str:
        self._seq += 1
        return str(self._seq)

    async def _send_json(self, message: dict[str, Any]) -> None:
        """Send one JSON text frame; sequence numbers are assigned under the lock."""
        if self._ws is None:
            raise CallError("call not connected")
        async with self._send_lock:
            if "sequenceNumber" in message:
                message["sequenceNumber"] = self._next_seq()
            await self._ws.send(json.dumps(message, separators=(",", ":")))

    async def _send_media(self, ulaw: bytes) -> None:
        self._chunk += 1
        await self._send_json(
            {
                "event": "media",
                "sequenceNumber": "",
                "streamSid": self.stream_sid,
                "media": {
                    "track": "inbound",
                    "chunk": str(self._chunk),
                    "timestamp": str(max(0, self._chunk - 1 - self._media_before_start) * 20),
                    "payload": base64.b64encode(ulaw).decode("ascii"),
                },
            }
        )

    def _next_frame(self) -> tuple[bytes, _Utterance | None, int]:
        """The next 20 ms of caller audio: queued speech, else silence."""
        while self._queue:
            utt = self._queue[0]
            if utt.pos < utt.frames:
                index = utt.pos
                utt.pos += 1
                pcm = utt.pcm[index * FRAME_BYTES_PCM : (index + 1) * FRAME_BYTES_PCM]
                return pcm.ljust(FRAME_BYTES_PCM, b"\0"), utt, index
            self._queue.popleft()
        return bytes(FRAME_BYTES_PCM), None, -1

    async def _send_loop(self) -> None:
        """One frame every 20 ms against the monotonic clock: no drift, silence included."""
        assert self._loop is not None
        frame_no = 0
        try:
            while not self._closed.is_set():
                delay = self._origin + frame_no * FRAME_SECS - self._loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                pcm, utt, index = self._next_frame()
                if utt is not None and index == 0:
                    self._begin_turn(utt.turn, frame_no * FRAME_SECS)
                await self._send_media(MULAW_SILENCE if utt is None else mulaw_encode(pcm))
                self._caller_track += pcm
                frame_no += 1
                if utt is not None:
                    if index == utt.last_voiced:
                        utt.turn.last_voiced_at = self.now()
                    if index == utt.frames - 1:
                        utt.turn.ended_at = self.now()
                        self._event("turn_end", turn=utt.turn.index)
                        if not utt.done.done():
                            utt.done.set_result(utt.turn)
        except ConnectionClosed:
            pass

    def _begin_turn(self, turn: CallTurn, at: float) -> None:
        turn.started_at = at
        self._current = turn
        self._event("turn_start", turn=turn.index, label=turn.label)

    async def say_pcm(
        self, pcm: bytes, rate: int = RATE, *, label: str = "", wait: bool = True
    ) -> CallTurn:
        """Speak 16-bit mono PCM as the caller's next turn (queued after any current one).

        With `wait` it returns once the last frame was sent (real time); otherwise at once,
        and `await call.turn_done(turn)` waits later.
        """
        if self._closed.is_set():
            raise CallClosed("the call is closed")
        pcm = resample(pcm, rate, RATE)
        rms = frame_rms(pcm)
        voiced = np.flatnonzero(rms > self.voiced_rms)
        assert self._loop is not None, "call not connected"
        turn = CallTurn(index=len(self.turns), label=label, voiced=bool(len(voiced)))
        self.turns.append(turn)
        last_voiced = int(voiced[-1]) if len(voiced) else -1
        utt = _Utterance(pcm, turn, last_voiced, self._loop.create_future())
        if not pcm:
            utt.done.set_result(turn)
            return turn
        self._queue.append(utt)
        self._futures[turn.index] = utt.done
        if wait:
            await self.turn_done(turn)
        return turn

    async def turn_done(self, turn: CallTurn, timeout: float | None = None) -> CallTurn:
        """Wait until `turn`'s last frame was sent; `CallClosed` if the call ended first."""
        future = self._futures.get(turn.index)
        if future is None:
            return turn
        return await asyncio.wait_for(asyncio.shield(future), timeout)

    async def say_text(
        self, text: str, *, voice: str = "en-us", rate: int = 165, wait: bool = True
    ) -> CallTurn:
        """Synthesize `text` with the local TTS and speak it as the caller's next turn."""
        pcm, sample_rate = await self._tts(text, voice, rate)
        return await self.say_pcm(pcm, sample_rate, label=text, wait=wait)

    async def say_wav(self, path: str | Path, *, wait: bool = True) -> CallTurn:
        """Play a WAV file (any rate, any channels) as the caller's next turn."""
        pcm = await asyncio.to_thread(load_wav, path)
        return await self.say_pcm(pcm, RATE, label=Path(path).name, wait=wait)

    async def send_dtmf(self, digits: str, *, gap_ms: int = 100) -> None:
        """Press keys: one Twilio `dtmf` event per digit (audio keeps streaming meanwhile)."""
        for i, digit in enumerate(digits):
            if i:
                await asyncio.sleep(gap_ms / 1000)
            await self._send_json(
                {
                    "event": "dtmf",
                    "streamSid": self.stream_sid,
                    "sequenceNumber": "",
                    "dtmf": {"track": "inbound_track", "digit": digit},
                }
            )
            self._event("dtmf_sent", digit=digit)

    async def send_raw(self, data: str | bytes) -> None:
        """Send an arbitrary text (str) or binary (bytes) frame, for misbehaviour tests."""
        if self._ws is None:
            raise CallError("call not connected")
        async with self._send_lock:
            await self._ws.send(data)
        self._event("raw_sent", size=len(data), binary=isinstance(data, bytes))

    async def send_stop(self) -> None:
        """Send Twilio's `stop` message without closing the socket."""
        await self._send_json(
            {
                "event": "stop",
                "sequenceNumber": "",
                "streamSid": self.stream_sid,
                "stop": {"accountSid": self.account_sid, "callSid": self.call_sid},
            }
        )
        self._event("stop_sent")

    async def hang_up(self, *, send_stop: bool = True, timeout: float = 5.0) -> None:
        """End the call as the caller: `stop` (unless `send_stop=False`), then close."""
        if self._ws is None or self._closed.is_set():
            return
        self._hanging_up = True
        await self._stop_sending()
        with contextlib.suppress(ConnectionClosed):
            if send_stop:
                await self.send_stop()
            self._event("hangup", send_stop=send_stop)
            await asyncio.wait_for(self._ws.close(1000), timeout)
        await self.wait_closed(timeout)

    async def abort(self) -> None:
        """Drop the TCP connection with no `stop` and no close frame (a network failure)."""
        if self._ws is None or self._closed.is_set():
            return
        self._hanging_up = True
        await self._stop_sending()
        self._event("abort")
        self._ws.transport.abort()
        await self.wait_closed(5.0)

    async def _stop_sending(self) -> None:
        for task in self._tasks:
            if task.get_name() == "zylin_call.send":
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def wait_closed(self, timeout: float = 10.0) -> int | None:
        """Wait until the stream is closed (e.g. the bot hung up); returns the close code."""
        await asyncio.wait_for(self._closed.wait(), timeout)
        return self.close_code

    async def close(self) -> None:
        """Hang up if still connected and release every task (idempotent)."""
        if self._ws is not None and not self._closed.is_set():
            try:
                await self.hang_up()
            except (TimeoutError, OSError) as exc:
                logger.debug(f"simulated call hang-up failed: {exc!r}")
                self._ws.transport.abort()
        tasks = [*self._tasks, *([self._receiver] if self._receiver else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    # --- receiving -----------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        """Handle what the server sends until the socket closes."""
        assert self._ws is not None
        try:
            async for message in self._ws:
                if isinstance(message, bytes):
                    self._event("server_binary", size=len(message))
                    continue
                try:
                    data = json.loads(message)
                    kind = data.get("event") if isinstance(data, dict) else None
                except json.JSONDecodeError:
                    self._event("server_bad_json", size=len(message))
                    continue
                if isinstance(data, dict) and data.get("streamSid") != self.stream_sid:
                    self._event("server_wrong_stream_sid", event=kind)
                if kind == "media":
                    self._on_media(data)
                elif kind == "mark":
                    self._on_mark(data)
                elif kind == "clear":
                    await self._on_clear()
                else:
                    self._event("server_unknown", event=kind)
        except ConnectionClosed:
            pass
        finally:
            self._on_closed()

    def _on_closed(self) -> None:
        if self._closed.is_set():
            return
        ws = self._ws
        self.close_code = ws.close_code if ws is not None else None
        self.close_reason = (ws.close_reason or "") if ws is not None else ""
        self.closed_by = "caller" if self._hanging_up else "server"
        self._closed.set()
        self._mark_wake.set()
        self._event("closed", code=self.close_code, reason=self.close_reason, by=self.closed_by)
        for future in self._futures.values():
            if not future.done():
                future.set_exception(CallClosed("the call closed before the turn was sent"))
                future.exception()  # mark retrieved: nobody may be awaiting it
        for task in self._tasks:
            if task.get_name() == "zylin_call.send":
                task.cancel()

    def _on_media(self, data: dict[str, Any]) -> None:
        """Queue received audio for playback behind what is already queued (Twilio's rule)."""
        t = self.now()
        try:
            ulaw = base64.b64decode(data["media"]["payload"], validate=True)
        except (KeyError, TypeError, binascii.Error):
            self._event("server_bad_media")
            return
        pcm = mulaw_decode(ulaw)
        now_pos = max(0, int(t * RATE))
        start = max(self._play_cursor, now_pos)
        if not self._media_times or now_pos - self._play_cursor >= _BURST_GAP_SAMPLES:
            self._event("bot_audio", first=not self._media_times)
        self._media_times.append(t)
        self.media_received += 1
        if len(self._bot_track) < start * 2:
            self._bot_track += bytes(start * 2 - len(self._bot_track))
        del self._bot_track[start * 2 :]
        self._bot_track += pcm
        self._play_cursor = start + len(pcm) // 2
        self._mark_voiced(start, pcm)
        turn = self._current
        if turn is not None and turn.started_at is not None:
            if turn.last_voiced_at is None and turn.voiced:
                turn.media_while_speaking += 1
                if turn.clears:
                    turn.stale_media += 1
            elif turn.first_reply_at is None and turn.last_voiced_at is not None:
                turn.first_reply_at = t

    def _mark_voiced(self, start: int, pcm: bytes) -> None:
        rms = frame_rms(pcm)
        n = len(pcm) // 2
        for i in np.flatnonzero(rms > self.voiced_rms):
            a = start + int(i) * FRAME_SAMPLES
            b = min(a + FRAME_SAMPLES, start + n)
            if self._bot_voiced and self._bot_voiced[-1][1] >= a:
                self._bot_voiced[-1] = (self._bot_voiced[-1][0], b)
            else:
                self._bot_voiced.append((a, b))

    def _on_mark(self, data: dict[str, Any]) -> None:
        """A mark is echoed when the audio queued before it has finished playing."""
        try:
            name = str(data["mark"]["name"])
        except (KeyError, TypeError):
            self._event("server_bad_mark")
            return
        due = self._play_cursor / RATE
        self._event("mark", name=name, due=due)
        self._pending_marks.append((due, name))
        self._mark_wake.set()

    async def _on_clear(self) -> None:
        """Drop queued-but-unplayed audio now and echo every pending mark at once."""
        t = self.now()
        now_pos = max(0, int(t * RATE))
        dropped = max(0, self._play_cursor - now_pos)
        del self._bot_track[now_pos * 2 :]
        self._play_cursor = min(self._play_cursor, now_pos)
        self._bot_voiced = [(a, min(b, now_pos)) for a, b in self._bot_voiced if a < now_pos]
        self._event("clear", dropped_ms=dropped * 1000 // RATE)
        turn = self._current
        if turn is not None and turn.first_reply_at is None:
            turn.clears += 1
        pending, self._pending_marks = list(self._pending_marks), deque()
        self._mark_wake.set()
        for _due, name in pending:
            await self._echo_mark(name, cleared=True)

    async def _mark_loop(self) -> None:
        """Echo marks in order, each when playback reaches it."""
        while not self._closed.is_set():
            if not self._pending_marks:
                self._mark_wake.clear()
                await self._mark_wake.wait()
                continue
            due, name = self._pending_marks[0]
            delay = due - self.now()
            if delay > 0:
                self._mark_wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._mark_wake.wait(), delay)
                continue
            self._pending_marks.popleft()
            await self._echo_mark(name, cleared=False)

    async def _echo_mark(self, name: str, *, cleared: bool) -> None:
        with contextlib.suppress(ConnectionClosed, CallError):
            await self._send_json(
                {
                    "event": "mark",
                    "sequenceNumber": "",
                    "streamSid": self.stream_sid,
                    "mark": {"name": name},
                }
            )
            self.marks_echoed.append((name, self.now(), cleared))
            self._event("mark_echo", name=name, cleared=cleared)

    # --- waiting -------------------------------------------------------------------------

    def _default_since(self) -> float:
        """Default start for waits: after the latest caller turn's voice, else the call start."""
        if not self.turns:
            return -math.inf
        turn = self.turns[-1]
        for t in (turn.last_voiced_at, turn.ended_at, turn.started_at):
            if t is not None:
                return t
        return self.now()

    async def wait_for_bot_audio(self, timeout: float = 10.0, since: float | None = None) -> float:
        """Wait for a bot `media` received after `since` (default: the caller's last turn).

        Returns its arrival time; `TimeoutError` or `CallClosed` if none comes.
        """
        start = self._default_since() if since is None else since
        deadline = self.now() + timeout
        while True:
            i = bisect.bisect_left(self._media_times, start)
            if i < len(self._media_times):
                return self._media_times[i]
            if self._closed.is_set():
                raise CallClosed("the call closed before the bot spoke")
            if self.now() > deadline:
                raise TimeoutError(f"no bot audio within {timeout} s")
            await asyncio.sleep(_POLL_SECS)

    def _last_voiced_end(self, since: float) -> float | None:
        since_pos = since * RATE
        if self._bot_voiced and self._bot_voiced[-1][1] > since_pos:
            return self._bot_voiced[-1][1] / RATE
        return None

    async def wait_for_bot_silence(
        self, ms: float = 800, timeout: float = 30.0, since: float | None = None
    ) -> float:
        """Wait until the bot has spoken after `since` and then played no voice for `ms`.

        Silence is judged on the playback timeline (queued audio counts as still talking),
        so it means the caller has *heard* the whole reply. Returns when the voice ended.
        """
        start = self._default_since() if since is None else since
        deadline = self.now() + timeout
        while True:
            end = self._last_voiced_end(start)
            if end is not None and self.now() - end >= ms / 1000:
                return end
            if self._closed.is_set():
                if end is not None:
                    return end
                raise CallClosed("the call closed before the bot spoke")
            if self.now() > deadline:
                raise TimeoutError(f"bot did not finish speaking within {timeout} s")
            await asyncio.sleep(_POLL_SECS)

    async def wait_for_reply(
        self,
        timeout: float = 15.0,
        silence_ms: float = 800,
        since: float | None = None,
        max_reply_secs: float = 60.0,
    ) -> tuple[float, float]:
        """Wait for the bot's next utterance to start and finish; returns (start, end).

        `timeout` bounds the wait for the first audio; `max_reply_secs` bounds how long the
        reply itself may go on before it counts as never finishing.
        """
        start = self._default_since() if since is None else since
        first = await self.wait_for_bot_audio(timeout, since=start)
        remaining = max_reply_secs + silence_ms / 1000 - (self.now() - first)
        end = await self.wait_for_bot_silence(silence_ms, max(0.0, remaining), since=start)
        return first, end

    async def wait_for_event(self, kind: str, timeout: float = 10.0, after: int = 0) -> CallEvent:
        """Wait for the first event of `kind` at index `after` or later in `events`."""
        deadline = self.now() + timeout
        while True:
            for event in self.events[after:]:
                if event.kind == kind:
                    return event
            if self.now() > deadline:
                raise TimeoutError(f"no {kind!r} event within {timeout} s")
            if self._closed.is_set() and kind != "closed":
                raise CallClosed(f"the call closed before a {kind!r} event")
            await asyncio.sleep(_POLL_SECS)

    # --- recordings ----------------------------------------------------------------------

    def caller_audio(self) -> bytes:
        """Everything the caller sent, 8 kHz 16-bit mono, from timeline 0."""
        return bytes(self._caller_track)

    def bot_audio(self, start: float | None = None, end: float | None = None) -> bytes:
        """What the caller heard from the bot (8 kHz 16-bit mono), optionally a time slice."""
        a = 0 if start is None else max(0, int(start * RATE)) * 2
        b = len(self._bot_track) if end is None else max(0, int(end * RATE)) * 2
        return bytes(self._bot_track[a:b])

    def bot_segments(self, gap_ms: float = 600, since: float = 0.0) -> list[tuple[float, float]]:
        """Bot utterances on the timeline: voiced spans joined across gaps under `gap_ms`."""
        gap = gap_ms / 1000 * RATE
        out: list[list[float]] = []
        for a, b in self._bot_voiced:
            if b <= since * RATE:
                continue
            if out and a - out[-1][1] * RATE < gap:
                out[-1][1] = b / RATE
            else:
                out.append([a / RATE, b / RATE])
        return [(a, b) for a, b in out]

    def save_wav(self, path: str | Path) -> Path:
        """Save the call as stereo 8 kHz WAV: left = caller, right = Zylin, one timeline."""
        save_stereo_wav(path, bytes(self._caller_track), bytes(self._bot_track))
        return Path(path)

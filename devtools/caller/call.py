"""SimulatedCall: one inbound Twilio call over Media Streams, paced in real time and recorded."""

# Waits take a plain `timeout=` (the API tests read best); ASYNC109 prefers asyncio.timeout.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
from loguru import logger
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from devtools.caller.audio import (
    FRAME_BYTES_PCM,
    RATE,
    frame_rms,
    load_wav,
    mulaw_encode,
    resample,
)
from devtools.caller.errors import CallClosed, CallError, WebhookError
from devtools.caller.inbound import Inbound
from devtools.caller.pacer import Pacer, Utterance
from devtools.caller.placing import Dialer, new_sid, webhook_form
from devtools.caller.recorded import RecordedCall
from devtools.caller.sender import StreamSender
from devtools.caller.timeline import CallEvent
from devtools.caller.turns import CallTurn
from devtools.caller.twiml import StreamTwiml, TwimlError
from zylin.telephony import SignatureChecker

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


async def _espeak_tts(text: str, voice: str, rate_wpm: int) -> tuple[bytes, int]:
    """The project's local eSpeak engine (imported late: only text turns need it)."""
    from zylin.local.espeak import synthesize_async

    return await synthesize_async(text, voice=voice, rate_wpm=rate_wpm)


class SimulatedCall(RecordedCall):
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
        super().__init__(voiced_rms)
        self.server_url = server_url.rstrip("/")
        self.webhook_path = "/" + webhook_path.lstrip("/")
        self.public_url = public_url.rstrip("/") if public_url else None
        self.connect_url = connect_url
        self.caller = caller
        self.called = called
        self.account_sid = account_sid or new_sid("AC")
        self.call_sid = call_sid or new_sid("CA")
        self.stream_sid = stream_sid or new_sid("MZ")
        self._signer = SignatureChecker(auth_token) if auth_token else None
        self._extra_params = dict(extra_params or {})
        self._send_connected = send_connected
        self._send_start = send_start
        self._duplicate_start = duplicate_start
        self._media_before_start = media_before_start
        self._stream_audio = stream_audio
        self._tts = tts or _espeak_tts
        self._http_timeout = http_timeout
        self._open_timeout = open_timeout

        self.twiml: StreamTwiml | None = None
        self.webhook_status: int | None = None
        self.webhook_params: dict[str, str] = {}
        self.stream_connect_url: str | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self.closed_by: str | None = None

        self._sender = StreamSender(self.stream_sid, self.account_sid, self.call_sid)
        self._sender.media_before_start = media_before_start
        self._pacer = Pacer(self._timeline, self._turns, self._sender.media, self._caller_track)
        self._inbound = Inbound(self._timeline, self._playout, self._turns, self._sender)
        self._ws: ClientConnection | None = None
        self._hanging_up = False
        self._tasks: list[asyncio.Task[None]] = []
        self._receiver: asyncio.Task[None] | None = None

    # --- set-up --------------------------------------------------------------------------

    async def connect(self) -> Self:
        """Place the call: webhook, TwiML, WebSocket, `connected` + `start`, then stream."""
        self._timeline.begin()
        dialer = Dialer(
            self.server_url,
            self.webhook_path,
            self.public_url,
            self.connect_url,
            self._signer,
            self._http_timeout,
            self._open_timeout,
        )
        form = webhook_form(
            self.account_sid, self.call_sid, self.caller, self.called, self._extra_params
        )
        self.webhook_params = form
        try:
            self.twiml = await dialer.post_webhook(form, self._timeline)
        finally:
            answered = self._timeline.of("webhook")
            self.webhook_status = answered[-1].data["status"] if answered else None
        target = self.stream_connect_url = dialer.stream_target(self.twiml.url)
        self._ws = self._sender.ws = await dialer.open_stream(self.twiml, target)
        self._event("ws_open", url=target)
        logger.debug(f"simulated call {self.call_sid} connected to {target}")
        self._receiver = asyncio.create_task(self._receive_loop(), name="zylin_call.receive")
        marks = self._playout.echo_marks(self._inbound.echo_mark)
        self._tasks.append(asyncio.create_task(marks, name="zylin_call.marks"))
        if self._send_connected:
            await self._sender.connected()
            self._event("connected_sent")
        for _ in range(self._media_before_start):
            await self._sender.media(mulaw_encode(bytes(FRAME_BYTES_PCM)))
        self._event("media_before_start_sent", frames=self._media_before_start)
        self._timeline.rebase()
        if self._send_start:
            for _ in range(2 if self._duplicate_start else 1):
                await self._sender.send_json(self._start_message())
                self._event("start_sent")
        if self._stream_audio:
            self._tasks.append(asyncio.create_task(self._pacer.run(), name="zylin_call.send"))
        return self

    @property
    def marks_echoed(self) -> list[tuple[str, float, bool]]:
        """Marks echoed back so far: (name, when, whether a `clear` flushed it)."""
        return self._inbound.marks_echoed

    def _start_message(self) -> dict[str, Any]:
        assert self.twiml is not None
        return self._sender.start_message(self.twiml.parameters)

    def _event(self, kind: str, **data: Any) -> CallEvent:
        return self._timeline.record(kind, **data)

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

    # --- the caller's side -----------------------------------------------------------------

    async def say_pcm(
        self, pcm: bytes, rate: int = RATE, *, label: str = "", wait: bool = True
    ) -> CallTurn:
        """Speak 16-bit mono PCM as the caller's next turn (queued after any current one).

        With `wait` it returns once the last frame was sent (real time); otherwise at once,
        and `await call.turn_done(turn)` waits later.
        """
        if self._closed.is_set():
            raise CallClosed("the call is closed")
        assert self._timeline.started, "call not connected"
        pcm = resample(pcm, rate, RATE)
        voiced = np.flatnonzero(frame_rms(pcm) > self.voiced_rms)
        turn = self._turns.add(label, voiced=bool(len(voiced)), queued=bool(pcm))
        if not pcm:
            return turn
        self._pacer.enqueue(Utterance(pcm, turn, int(voiced[-1]) if len(voiced) else -1))
        if wait:
            await self.turn_done(turn)
        return turn

    async def turn_done(self, turn: CallTurn, timeout: float | None = None) -> CallTurn:
        """Wait until `turn`'s last frame was sent; `CallClosed` if the call ended first."""
        return await self._turns.wait_done(turn, timeout)

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
            await self._sender.dtmf(digit)
            self._event("dtmf_sent", digit=digit)

    async def send_raw(self, data: str | bytes) -> None:
        """Send an arbitrary text (str) or binary (bytes) frame, for misbehaviour tests."""
        await self._sender.send_raw(data)
        self._event("raw_sent", size=len(data), binary=isinstance(data, bytes))

    async def send_stop(self) -> None:
        """Send Twilio's `stop` message without closing the socket."""
        await self._sender.stop()
        self._event("stop_sent")

    # --- ending ----------------------------------------------------------------------------

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

    # --- the server's side -----------------------------------------------------------------

    async def _receive_loop(self) -> None:
        """Handle what the server sends until the socket closes, then note who closed it."""
        assert self._ws is not None
        try:
            await self._inbound.run(self._ws)
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
        self._event("closed", code=self.close_code, reason=self.close_reason, by=self.closed_by)
        self._turns.fail_pending()
        for task in self._tasks:  # no more frames to send, no more marks to echo
            task.cancel()

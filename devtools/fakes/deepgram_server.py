"""Scripted Deepgram live-transcription server (`/v1/listen` WebSocket) for tests and benchmarks."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
import uuid
from collections import deque
from collections.abc import Iterable
from typing import Any

from aiohttp import WSMsgType, web

from devtools.fakes._base import FakeServer, run_forever
from devtools.fakes.deepgram_session import WINDOW_MS, ListenSession


class DeepgramFake(FakeServer):
    """Deepgram `/v1/listen` that speaks the real protocol but reads transcripts from a script.

    Speech is detected by RMS energy over 20 ms windows. While voiced audio arrives, interim
    `Results` carry a growing prefix of the next queued transcript; `{"type":"Finalize"}` is
    answered with the full transcript (`is_final`, `speech_final`, `from_finalize` all true).
    """

    scheme = "ws"

    def __init__(
        self,
        *,
        api_key: str | None = "test-deepgram-key",
        host: str = "127.0.0.1",
        port: int = 0,
        default_transcript: str = "hello",
        speech_rms_threshold: float = 500.0,
        interim_after_ms: int = 100,
        interim_interval_ms: int = 200,
        silence_final_ms: int | None = None,
        finalize_requires_speech: bool = True,
        final_delay: float = 0.0,
    ) -> None:
        """Configure the fake.

        Args:
            api_key: Expected key in `Authorization: Token <key>`; None accepts any.
            host: Interface to bind (keep 127.0.0.1).
            port: Port to bind; 0 picks a free one.
            default_transcript: Used when the script queue is empty.
            speech_rms_threshold: RMS (int16 scale) above which a 20 ms window is voice.
            interim_after_ms: Voiced audio needed before the first interim result.
            interim_interval_ms: Voiced audio between interim results.
            silence_final_ms: If set, this much silence after voice yields a final result
                without a Finalize, at once (like Deepgram's endpointing, whose final comes
                soon after the speech ends); None disables it.
            finalize_requires_speech: If true, a Finalize with no voiced audio since the last
                final answers an empty transcript (as Deepgram does) instead of popping one.
            final_delay: Seconds between a Finalize and its final result; 0 answers at once.
                Real Deepgram takes ~150 ms after a Finalize.
        """
        self.api_key = api_key
        self.default_transcript = default_transcript
        self.speech_rms_threshold = speech_rms_threshold
        self.interim_after_ms = interim_after_ms
        self.interim_interval_ms = interim_interval_ms
        self.silence_final_ms = silence_final_ms
        self.finalize_requires_speech = finalize_requires_speech
        self._queues: dict[str | None, deque[str]] = {None: deque()}
        self._open: set[ListenSession] = set()
        self._refuse: deque[int] = deque()
        self._delay = 0.0
        self._final_delay = max(0.0, final_delay)
        self._per_call_script: list[str] | None = None
        # Recorded for assertions.
        self.connections = 0
        self.rejected_handshakes = 0
        self.query_params: list[dict[str, Any]] = []
        # Language detection (`language=multi`): the language reported with a transcript.
        self.detected_languages: dict[str, str] = {}
        self.finalize_count = 0
        self.keepalive_count = 0
        self.close_stream_count = 0
        self.audio_bytes = 0
        self.audio_messages = 0
        self.interims_sent = 0
        self.finals_sent: list[str] = []
        self.unknown_messages: list[str] = []
        super().__init__(host=host, port=port)

    # ----- scripting -------------------------------------------------------------------------

    def queue_transcripts(self, transcripts: Iterable[str], *, tag: str | None = None) -> None:
        """Queue what the next utterances "said", in order.

        Args:
            transcripts: One string per utterance.
            tag: Only for connections opened with this `tag` query param (concurrent calls);
                None is the shared queue every other connection reads.
        """
        self._queues.setdefault(tag, deque()).extend(transcripts)

    def set_per_call_script(self, transcripts: Iterable[str] | None) -> None:
        """Give every connection its own copy of one script: its n-th final is line n.

        For many concurrent calls that all say the same lines: a shared queue would hand one
        call's line to another. Past the end, the queues and `default_transcript` apply again.
        None turns it off.
        """
        self._per_call_script = None if transcripts is None else list(transcripts)

    @property
    def pending_transcripts(self) -> list[str]:
        """Transcripts of the shared queue not yet used."""
        return list(self._queues[None])

    # ----- faults ----------------------------------------------------------------------------

    def drop_connections(self) -> int:
        """Abort every open socket now (no close frame); returns how many were dropped."""
        dropped = 0
        for conn in list(self._open):
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
                dropped += 1
        return dropped

    def refuse_next(self, n: int = 1, *, status: int = 503) -> None:
        """Reject the next `n` handshakes with `status` (5xx: client retries, 401: it gives up)."""
        self._refuse.extend([status] * n)

    def set_delay(self, seconds: float) -> None:
        """Delay every message sent from now on by `seconds` (order is kept)."""
        self._delay = max(0.0, seconds)

    def set_final_delay(self, seconds: float) -> None:
        """Answer each Finalize `seconds` after it came."""
        self._final_delay = max(0.0, seconds)

    def set_endpointing(self, silence_ms: int | None) -> None:
        """Send a final result of our own after `silence_ms` of silence following voice, as
        Deepgram's endpointing does; None: finals only answer a Finalize."""
        self.silence_final_ms = silence_ms

    @property
    def active_connections(self) -> int:
        """Sockets open right now."""
        return len(self._open)

    # ----- server ----------------------------------------------------------------------------

    def _setup_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/listen", self._handle_listen)
        app.router.add_get("/_fake/stats", self._handle_stats)
        app.router.add_post("/_fake/transcripts", self._handle_script)

    def stats(self) -> dict[str, Any]:
        """Recorded counters as JSON-able data (also served at `GET /_fake/stats`)."""
        return {
            "connections": self.connections,
            "active_connections": self.active_connections,
            "rejected_handshakes": self.rejected_handshakes,
            "finalize_count": self.finalize_count,
            "keepalive_count": self.keepalive_count,
            "close_stream_count": self.close_stream_count,
            "audio_bytes": self.audio_bytes,
            "audio_messages": self.audio_messages,
            "interims_sent": self.interims_sent,
            "finals_sent": self.finals_sent,
        }

    async def _handle_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _handle_script(self, request: web.Request) -> web.Response:
        """`POST /_fake/transcripts {"transcripts": [...], "tag": null}` from another process."""
        body = await request.json()
        self.queue_transcripts([str(t) for t in body.get("transcripts", [])], tag=body.get("tag"))
        return web.json_response({"pending": self.pending_transcripts})

    async def _before_stop(self) -> None:
        for conn in list(self._open):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=b"server shutting down")

    async def _handle_listen(self, request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        headers = {"dg-request-id": request_id}
        if self._refuse:
            status = self._refuse.popleft()
            self.rejected_handshakes += 1
            return web.json_response(
                {"err_code": "SERVICE_UNAVAILABLE", "err_msg": "Refused by test script."},
                status=status,
                headers=headers,
            )
        if self.api_key is not None:
            auth = request.headers.get("Authorization", "")
            if auth != f"Token {self.api_key}":
                self.rejected_handshakes += 1
                return web.json_response(
                    {
                        "err_code": "INVALID_AUTH",
                        "err_msg": "Invalid credentials.",
                        "request_id": request_id,
                    },
                    status=401,
                    headers=headers,
                )
        query: dict[str, Any] = {}
        for key in request.query:
            values = request.query.getall(key)
            query[key] = values[0] if len(values) == 1 else list(values)
        try:
            sample_rate = int(query.get("sample_rate", 16000))
            channels = int(query.get("channels", 1))
        except ValueError:
            return web.json_response(
                {"err_code": "Bad Request", "err_msg": "Invalid sample_rate or channels."},
                status=400,
                headers=headers,
            )
        ws = web.WebSocketResponse(autoping=True, heartbeat=None)
        await ws.prepare(request)
        conn = ListenSession(
            ws=ws,
            request=request,
            query=query,
            sample_rate=sample_rate,
            encoding=str(query.get("encoding", "linear16")),
            channels=channels,
            tag=query.get("tag") if isinstance(query.get("tag"), str) else None,
            request_id=request_id,
        )
        self.connections += 1
        self.query_params.append(query)
        self._open.add(conn)
        sender = asyncio.create_task(self._sender(conn))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    self._on_audio(conn, msg.data)
                elif msg.type == WSMsgType.TEXT:
                    if await self._on_control(conn, msg.data):
                        break
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._open.discard(conn)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
        return ws

    async def _sender(self, conn: ListenSession) -> None:
        """Send queued messages in order, each no earlier than its due time; None closes."""
        while True:
            due, message = await conn.outbox.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if message is None:
                await conn.ws.close(code=1000)
                return
            if conn.ws.closed:
                return
            await conn.ws.send_str(json.dumps(message))

    def _send(
        self, conn: ListenSession, message: dict[str, Any] | None, *, extra: float = 0.0
    ) -> None:
        conn.outbox.put_nowait((time.monotonic() + self._delay + extra, message))

    def _next_transcript(self, conn: ListenSession, *, pop: bool) -> str:
        script = self._per_call_script
        if script is not None and conn.script_pos < len(script):
            line = script[conn.script_pos]
            if pop:
                conn.script_pos += 1
            return line
        queue = self._queues.get(conn.tag) if conn.tag is not None else None
        if not queue:
            queue = self._queues[None]
        if not queue:
            return self.default_transcript
        return queue.popleft() if pop else queue[0]

    def _on_audio(self, conn: ListenSession, data: bytes) -> None:
        self.audio_bytes += len(data)
        self.audio_messages += 1
        for window in conn.windows(data):
            self._on_window(conn, window)

    def _on_window(self, conn: ListenSession, window: bytes) -> None:
        voiced = conn.rms(window) >= self.speech_rms_threshold
        if voiced:
            if conn.utt_start_ms is None:
                conn.utt_start_ms = conn.cursor_ms
                if conn.query.get("vad_events") == "true":
                    self._send(conn, conn.speech_started())
            conn.utt_voiced_ms += WINDOW_MS
            conn.utt_silence_ms = 0
            if (
                conn.query.get("interim_results") == "true"
                and conn.utt_voiced_ms >= self.interim_after_ms
                and conn.utt_voiced_ms - conn.last_interim_voiced_ms >= self.interim_interval_ms
            ):
                conn.last_interim_voiced_ms = conn.utt_voiced_ms
                conn.utt_interims += 1
                words = self._next_transcript(conn, pop=False).split()
                prefix = " ".join(words[: min(len(words), conn.utt_interims)])
                self.interims_sent += 1
                self._send(conn, conn.results(prefix, final=False))
        elif conn.utt_start_ms is not None:
            conn.utt_silence_ms += WINDOW_MS
            if self.silence_final_ms is not None and conn.utt_silence_ms >= self.silence_final_ms:
                self._final(conn, from_finalize=False)
        conn.cursor_ms += WINDOW_MS

    def _final(self, conn: ListenSession, *, from_finalize: bool) -> None:
        has_speech = conn.utt_start_ms is not None
        if has_speech or (from_finalize and not self.finalize_requires_speech):
            transcript = self._next_transcript(conn, pop=True)
            self.finals_sent.append(transcript)
        else:
            transcript = ""
        message = conn.results(
            transcript,
            final=True,
            from_finalize=from_finalize,
            language=self.detected_languages.get(transcript),
        )
        self._send(conn, message, extra=self._final_delay if from_finalize else 0.0)
        conn.reset_utterance()

    async def _on_control(self, conn: ListenSession, text: str) -> bool:
        """Handle a JSON control message; returns True when the socket should end."""
        try:
            kind = json.loads(text).get("type")
        except (ValueError, AttributeError):
            kind = None
        if kind == "Finalize":
            self.finalize_count += 1
            self._final(conn, from_finalize=True)
        elif kind == "KeepAlive":
            self.keepalive_count += 1
        elif kind == "CloseStream":
            self.close_stream_count += 1
            if conn.utt_start_ms is not None:
                self._final(conn, from_finalize=False)
            self._send(conn, conn.metadata())
            self._send(conn, None)
            # Keep reading until the sender closes the socket, so late frames are drained.
            return False
        else:
            self.unknown_messages.append(text)
        return False


def main(argv: list[str] | None = None) -> None:
    """Run the fake standalone: `python -m devtools.fakes.deepgram_server --port 18001`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18001)
    parser.add_argument("--api-key", default="test-deepgram-key")
    parser.add_argument("--default-transcript", default="hello")
    parser.add_argument("--silence-final-ms", type=int, default=None)
    args = parser.parse_args(argv)
    run_forever(
        DeepgramFake(
            api_key=args.api_key,
            host=args.host,
            port=args.port,
            default_transcript=args.default_transcript,
            silence_final_ms=args.silence_final_ms,
        )
    )


if __name__ == "__main__":
    main()

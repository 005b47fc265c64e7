"""One fake Deepgram `/v1/listen` stream: its audio clock, utterance state and the messages
it produces, in Deepgram's wire format."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web

from devtools.caller.audio import mulaw_decode

WINDOW_MS = 20
MODEL_INFO = {"name": "general-nova-3", "version": "2025-01-01.0", "arch": "nova-3"}
MODEL_UUID = "00000000-0000-4000-8000-00000000d3a9"


@dataclass(eq=False)
class ListenSession:
    """Per-socket state: audio clock, current utterance, and the ordered (delayed) outbox."""

    ws: web.WebSocketResponse
    request: web.Request
    query: dict[str, Any]
    sample_rate: int
    encoding: str
    channels: int
    tag: str | None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    pending: bytes = b""
    cursor_ms: int = 0
    utt_start_ms: int | None = None
    utt_voiced_ms: int = 0
    utt_silence_ms: int = 0
    utt_interims: int = 0
    last_interim_voiced_ms: int = 0
    received_ms: int = 0
    script_pos: int = 0  # next line of the fake's per-call script
    outbox: asyncio.Queue[tuple[float, dict[str, Any] | None]] = field(
        default_factory=asyncio.Queue
    )

    @property
    def bytes_per_window(self) -> int:
        """Bytes in one 20 ms window of this stream's encoding, rate and channels."""
        width = 1 if self.encoding in ("mulaw", "alaw") else 2
        return self.sample_rate * WINDOW_MS // 1000 * width * self.channels

    def reset_utterance(self) -> None:
        """A final result ended the utterance: the next voice starts a new one."""
        self.utt_start_ms = None
        self.utt_voiced_ms = 0
        self.utt_silence_ms = 0
        self.utt_interims = 0
        self.last_interim_voiced_ms = 0

    def windows(self, data: bytes) -> Iterator[bytes]:
        """Whole 20 ms windows of the audio received so far; a partial one waits for more."""
        buf = self.pending + data
        size = self.bytes_per_window
        usable = len(buf) - len(buf) % size
        self.pending = buf[usable:]
        for offset in range(0, usable, size):
            yield buf[offset : offset + size]

    def rms(self, window: bytes) -> float:
        """RMS of a window on the int16 scale (`encoding=mulaw` decoded first)."""
        pcm = mulaw_decode(window) if self.encoding == "mulaw" else window
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        return float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0

    def speech_started(self) -> dict[str, Any]:
        """Deepgram's `SpeechStarted` VAD event, at the current audio position."""
        return {"type": "SpeechStarted", "channel": [0], "timestamp": self.cursor_ms / 1000}

    def results(
        self,
        transcript: str,
        *,
        final: bool,
        from_finalize: bool = False,
        language: str | None = None,
    ) -> dict[str, Any]:
        """A `Results` message for the current utterance, words spread evenly over it."""
        start_ms = self.utt_start_ms if self.utt_start_ms is not None else self.cursor_ms
        start = start_ms / 1000
        duration = max(self.cursor_ms - start_ms, 0) / 1000
        words = transcript.split()
        step = duration / len(words) if words else 0.0
        word_items = [
            {
                "word": w.strip(".,?!;:").lower(),
                "start": round(start + i * step, 3),
                "end": round(start + (i + 1) * step, 3),
                "confidence": 0.99,
                "punctuated_word": w,
            }
            for i, w in enumerate(words)
        ]
        alternative: dict[str, Any] = {
            "transcript": transcript,
            "confidence": 0.99 if transcript else 0.0,
            "words": word_items,
        }
        if language is not None:  # `language=multi`: each result names what it heard
            alternative["languages"] = [language]
            for item in word_items:
                item["language"] = language
        return {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round(duration, 3),
            "start": round(start, 3),
            "is_final": final,
            "speech_final": final,
            "from_finalize": from_finalize,
            "channel": {"alternatives": [alternative]},
            "metadata": {
                "request_id": self.request_id,
                "model_info": MODEL_INFO,
                "model_uuid": MODEL_UUID,
            },
        }

    def metadata(self) -> dict[str, Any]:
        """The `Metadata` message Deepgram sends before closing on `CloseStream`."""
        return {
            "type": "Metadata",
            "transaction_key": "deprecated",
            "request_id": self.request_id,
            "sha256": "0" * 64,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "duration": self.cursor_ms / 1000,
            "channels": self.channels,
        }

"""The caller's audio in fewer, longer frames: Pipecat's input audio filter, used as a buffer."""

from __future__ import annotations

from pipecat.audio.filters.base_audio_filter import BaseAudioFilter
from pipecat.frames.frames import FilterControlFrame

BYTES_PER_SAMPLE = 2  # the pipeline's input is 16-bit mono PCM


class AudioChunker(BaseAudioFilter):
    """Holds the caller's audio until `chunk_ms` of it has arrived, then lets it through.

    Twilio sends 20 ms per message. Every frame crosses the pipeline one processor at a time,
    each crossing a queue hop and an observer notification, and becomes one WebSocket message
    to Deepgram: per-frame work that dominates a listening call's CPU at 20 ms frames. Pipecat's
    input transport skips a frame the filter left empty, so longer chunks cost less, for at
    most one chunk less one message of delay.
    """

    def __init__(self, chunk_ms: int) -> None:
        self._chunk_ms = chunk_ms
        self._chunk_bytes = 0
        self._held = bytearray()

    async def start(self, sample_rate: int) -> None:
        """Sizes the chunk for the transport's input rate."""
        self._chunk_bytes = sample_rate * self._chunk_ms // 1000 * BYTES_PER_SAMPLE
        self._held.clear()

    async def stop(self) -> None:
        """Drops the part of a chunk still held: less than one chunk, after the call."""
        self._held.clear()

    async def process_frame(self, frame: FilterControlFrame) -> None:
        """No runtime settings."""

    async def filter(self, audio: bytes) -> bytes:
        """The held audio once a whole chunk is in, else nothing (Pipecat pushes no frame)."""
        if not self._held and len(audio) >= self._chunk_bytes:
            return audio
        self._held += audio
        if len(self._held) < self._chunk_bytes:
            return b""
        chunk = bytes(self._held)
        self._held.clear()
        return chunk

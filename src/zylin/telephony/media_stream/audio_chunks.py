"""The caller's audio in fewer, longer pieces than Twilio's 20 ms messages."""

from __future__ import annotations


class AudioChunker:
    """Holds audio until `chunk_bytes` of it has arrived, then lets it all through at once.

    Each pipeline frame of the caller's audio crosses the pipeline one processor at a time
    (a queue hop and an observer notification each) and becomes one WebSocket message to
    Deepgram. At Twilio's 20 ms that per-frame work dominated a listening call's CPU.
    """

    def __init__(self, chunk_bytes: int) -> None:
        self._chunk_bytes = chunk_bytes
        self._held = bytearray()

    def add(self, audio: bytes) -> bytes:
        """The held audio once a whole chunk is in, else b"" (this piece is kept)."""
        if not self._held and len(audio) >= self._chunk_bytes:
            return audio
        self._held += audio
        if len(self._held) < self._chunk_bytes:
            return b""
        chunk = bytes(self._held)
        self._held.clear()
        return chunk

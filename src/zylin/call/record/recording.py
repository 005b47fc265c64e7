"""Call recording: both sides as a stereo WAV per call (caller left, Zylin right)."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

from loguru import logger


class WavRecording:
    """Appends audio chunks to a WAV file as they come, so a long call never sits in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: wave.Wave_write | None = None
        self._lock = asyncio.Lock()

    async def append(self, audio: bytes, sample_rate: int, num_channels: int) -> None:
        """Write one chunk (16-bit PCM, interleaved when stereo)."""
        if not audio:
            return
        async with self._lock:
            await asyncio.to_thread(self._append, audio, sample_rate, num_channels)

    def _append(self, audio: bytes, sample_rate: int, num_channels: int) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = wave.open(str(self.path), "wb")  # noqa: SIM115 - closed in close()
            self._file.setnchannels(num_channels)
            self._file.setsampwidth(2)
            self._file.setframerate(sample_rate)
        self._file.writeframes(audio)

    async def close(self) -> Path | None:
        """Finish the file; returns its path, or None if nothing was recorded."""
        async with self._lock:
            if self._file is None:
                return None
            try:
                await asyncio.to_thread(self._file.close)
            except OSError as exc:
                logger.error(f"Could not finish the call recording {self.path}: {exc}")
            self._file = None
            return self.path

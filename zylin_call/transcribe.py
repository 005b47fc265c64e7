"""Transcribe what the bot said with pocketsphinx (its wheel ships the en-US model; offline)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from zylin_call.audio import RATE, resample


class Transcriber:
    """Decodes finished bot utterances (8 kHz PCM) to text, for the CLI's live transcript.

    A rough guide to what the caller heard, not an accuracy metric: the general language model
    is weak on synthetic speech; pass a business-specific ARPA model (`lm`) to do better.
    """

    def __init__(self, lm: str | Path | None = None, dictionary: str | Path | None = None) -> None:
        from pocketsphinx import Decoder

        options: dict[str, object] = {"samprate": 16000, "loglevel": "FATAL"}
        if lm:
            options["lm"] = str(lm)
        if dictionary:
            options["dict"] = str(dictionary)
        self._decoder = Decoder(**options)
        self._lock = threading.Lock()  # one decoder, one utterance at a time

    def transcribe(self, pcm: bytes, rate: int = RATE) -> str:
        """Text of one utterance of 16-bit mono PCM ("" when nothing was recognised)."""
        if len(pcm) < rate // 5:
            return ""
        audio = resample(pcm, rate, 16000)
        with self._lock:
            self._decoder.start_utt()
            self._decoder.process_raw(audio, full_utt=True)
            self._decoder.end_utt()
            hyp = self._decoder.hyp()
        return hyp.hypstr.strip() if hyp is not None else ""

    async def transcribe_async(self, pcm: bytes, rate: int = RATE) -> str:
        """`transcribe` in a worker thread so the call keeps streaming in real time."""
        return await asyncio.to_thread(self.transcribe, pcm, rate)

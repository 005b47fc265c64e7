"""Transcribe what the bot said with pocketsphinx (its wheel ships the en-US model; offline)."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from devtools.caller.audio import RATE, resample
from zylin.local.pocketsphinx_decoder import decode, make_decoder

_DECODER: Any = None  # one per worker process


def _init_worker(lm: str | None, dictionary: str | None) -> None:
    global _DECODER
    _DECODER = make_decoder(lm, dictionary)


def _decode(decoder: Any, pcm: bytes, rate: int) -> str:
    if len(pcm) < rate // 5:  # under 100 ms: nothing worth decoding
        return ""
    return decode(decoder, resample(pcm, rate, 16000))


def _decode_in_worker(pcm: bytes, rate: int) -> str:
    return _decode(_DECODER, pcm, rate)


class Transcriber:
    """Decodes finished bot utterances (8 kHz PCM) to text, for the CLI's live transcript.

    pocketsphinx holds the GIL while decoding (seconds for a long utterance with the general
    model), which would stall the caller's 20 ms media clock; so decoding runs in one worker
    process. A rough guide to what the caller heard, not an accuracy metric: the general
    language model is weak on synthetic speech; a business-specific ARPA model (`lm`) helps.
    """

    def __init__(self, lm: str | Path | None = None, dictionary: str | Path | None = None) -> None:
        self._args = (str(lm) if lm else None, str(dictionary) if dictionary else None)
        self._pool: ProcessPoolExecutor | None = None
        self._local: Any = None

    def start(self) -> None:
        """Start the worker process now (it takes ~1 s to load the model)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=self._args,
            )
            self._pool.submit(_decode_in_worker, b"", RATE).result()

    def transcribe(self, pcm: bytes, rate: int = RATE) -> str:
        """Text of one utterance of 16-bit mono PCM, decoded in this process (blocking)."""
        if self._local is None:
            self._local = make_decoder(*self._args)
        return _decode(self._local, pcm, rate)

    async def transcribe_async(self, pcm: bytes, rate: int = RATE) -> str:
        """`transcribe` in the worker process, so the call keeps its real-time pacing."""
        if self._pool is None:
            await asyncio.to_thread(self.start)
        assert self._pool is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _decode_in_worker, pcm, rate)

    def close(self) -> None:
        """Stop the worker process."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

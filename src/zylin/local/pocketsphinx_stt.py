"""Pipecat segmented STT on pocketsphinx (offline, CPU-light) for keyless demo mode."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import AsyncGenerator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from loguru import logger
from pipecat.audio.utils import create_file_resampler
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    ErrorFrame,
    Frame,
    StartFrame,
    TranscriptionFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.settings import STTSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.transcriptions.language import Language
from pipecat.utils.time import time_now_iso8601
from pocketsphinx import get_model_path

from zylin.local.heard import ExpectFrame, Heard, HeardFrame
from zylin.local.pocketsphinx_decoder import DECODER_SAMPLE_RATE, recognize
from zylin.local.pocketsphinx_worker import DecoderConfig, decode_in_worker, init_worker


class PocketsphinxSTTService(SegmentedSTTService):
    """Transcribes each VAD-delimited utterance with pocketsphinx, off the event loop.

    pocketsphinx holds the GIL while it decodes (0.1-0.3 s per utterance with the business
    model, ~1 s with the general one), which would stall the 20 ms audio clock of every call
    in the process; so by default each service (each call) decodes in its own worker process,
    started in `start`. That also keeps the decoder's cepstral-mean adaptation per caller.
    `in_process=True` decodes in a thread instead (tests, benchmarks, one-call tools).
    The audio arrives at the pipeline's input rate (8 kHz on a phone call) and is resampled
    to the 16 kHz the shipped en-US acoustic model expects.

    Each transcript is preceded by a `HeardFrame` with its confidence, and an `ExpectFrame`
    from the demo brain (what it just asked for) steers the n-best rescoring.
    """

    Settings = STTSettings
    _settings: STTSettings

    @property
    def wants_wav_segments(self) -> bool:
        """pocketsphinx reads raw 16-bit PCM, so skip the WAV wrapper."""
        return False

    def __init__(
        self,
        *,
        lm_path: str | Path | None = None,
        arpa_text: str | None = None,
        dict_path: str | Path | None = None,
        hmm_path: str | Path | None = None,
        in_process: bool = False,
        settings: STTSettings | None = None,
        **kwargs: Any,
    ) -> None:
        """Create the service; the decoder itself is loaded in `start`, off the event loop.

        Args:
            lm_path: ARPA or binary n-gram model (e.g. from `language_model.write_language_model`).
                None with no `arpa_text` uses the wheel's general en-US model.
            arpa_text: An ARPA model as text, used when no `lm_path` is given.
            dict_path: Pronunciation dictionary; defaults to the wheel's CMUdict.
            hmm_path: Acoustic model directory; defaults to the wheel's en-US model.
            in_process: Decode in a thread of this process (blocks the event loop's GIL).
            settings: Standard STT settings (model and language are informational here).
            **kwargs: Passed to `SegmentedSTTService` (e.g. `sample_rate`).
        """
        default_settings = STTSettings(model="pocketsphinx-en-us", language=Language.EN_US)
        if settings is not None:
            default_settings.apply_update(settings)
        super().__init__(settings=default_settings, **kwargs)
        if lm_path is not None and arpa_text is not None:
            raise ValueError("pass lm_path or arpa_text, not both")
        for path in (lm_path, dict_path, hmm_path):
            if path is not None and not Path(path).exists():
                raise FileNotFoundError(f"pocketsphinx file {path} does not exist")
        self._config = DecoderConfig(
            hmm_path=str(hmm_path or get_model_path("en-us/en-us")),
            lm_path=str(lm_path) if lm_path else None,
            arpa_text=arpa_text,
            dict_path=str(dict_path) if dict_path else None,
        )
        self._in_process = in_process
        self._decoder: Any = None
        self._decoder_lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._loading: asyncio.Future[None] | None = None
        self._resampler = create_file_resampler()
        self._expect: str | None = None

    def can_generate_metrics(self) -> bool:
        """Processing time per utterance is worth reporting like a cloud STT's."""
        return True

    def _start_pool(self) -> ProcessPoolExecutor:
        """Spawn the worker and wait until its decoder is loaded (blocking, ~0.3-1 s)."""
        pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(self._config,),
        )
        pool.submit(decode_in_worker, b"", None).result()
        return pool

    async def _ensure_ready(self) -> None:
        """Load the decoder once; concurrent callers share the one load in progress."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._load())
        await asyncio.shield(self._loading)

    async def _load(self) -> None:
        if self._in_process and self._decoder is None:
            self._decoder = await asyncio.to_thread(self._config.build)
        elif not self._in_process and self._pool is None:
            self._pool = await asyncio.to_thread(self._start_pool)

    def close(self) -> None:
        """Stop the worker process (for direct `transcribe` users; the pipeline does it itself)."""
        self._close_pool()

    def _close_pool(self) -> None:
        loading, self._loading = self._loading, None
        if loading is not None and not loading.done():
            # The worker is still starting in a thread: stop it as soon as it exists.
            loading.add_done_callback(lambda _done: self._shutdown_pool())
        self._shutdown_pool()

    def _shutdown_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def start(self, frame: StartFrame) -> None:
        """Start loading the decoder now, without holding up the pipeline (and the greeting).

        The caller is still hearing the greeting while the worker process starts; the first
        utterance waits for the load only if it comes sooner.
        """
        await super().start(frame)
        # Not `self.create_task`: cancelling the load mid-thread would orphan the worker
        # process it is starting; `_close_pool` instead stops the worker once it exists.
        self._loading = asyncio.ensure_future(self._load())

    async def stop(self, frame: EndFrame) -> None:
        """Finish queued segments, then stop the worker process."""
        await super().stop(frame)
        self._close_pool()

    async def cancel(self, frame: CancelFrame) -> None:
        """Stop at once, worker process included."""
        await super().cancel(frame)
        self._close_pool()

    async def cleanup(self) -> None:
        """Never leave a worker process behind."""
        await super().cleanup()
        self._close_pool()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Keep what the dialog expects next; everything else as any segmented STT."""
        if isinstance(frame, ExpectFrame):
            self._expect = frame.expect
            await self.push_frame(frame, direction)
            return
        await super().process_frame(frame, direction)

    def _decode_locally(self, pcm16k: bytes, expect: str | None) -> Heard:
        with self._decoder_lock:
            return recognize(self._decoder, pcm16k, expect)

    async def hear(self, pcm: bytes, sample_rate: int, expect: str | None = None) -> Heard:
        """One utterance of 16-bit mono PCM at `sample_rate`: text, confidence, alternatives.

        Args:
            pcm: The utterance.
            sample_rate: Its rate; resampled to the decoder's 16 kHz.
            expect: What the caller was asked for ("time", "day", "confirm"...), to rescore
                the n-best hypotheses by; None takes the best path as it is.
        """
        await self._ensure_ready()
        if sample_rate != DECODER_SAMPLE_RATE:
            pcm = await self._resampler.resample(pcm, sample_rate, DECODER_SAMPLE_RATE)
        if self._in_process:
            return await asyncio.to_thread(self._decode_locally, pcm, expect)
        assert self._pool is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, decode_in_worker, pcm, expect)

    async def transcribe(self, pcm: bytes, sample_rate: int) -> str:
        """Text of one utterance of 16-bit mono PCM at `sample_rate` (also used by the bench)."""
        return (await self.hear(pcm, sample_rate)).text

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:
        """Transcribe one VAD segment (raw PCM at the service's input rate).

        Args:
            audio: The utterance as 16-bit mono PCM at `self.sample_rate`.
        """
        await self.start_processing_metrics()
        try:
            heard = await self.hear(audio, self.sample_rate, self._expect)
        except Exception as e:  # a decoder fault should cost one turn, not the call
            logger.error(f"{self} pocketsphinx failed: {e}")
            yield ErrorFrame(error=f"pocketsphinx failed: {e}")
            return
        finally:
            await self.stop_processing_metrics()
        if heard.text:
            logger.debug(f"{self} transcript: [{heard.text}] confidence {heard.confidence}")
            yield HeardFrame(heard=heard)
            yield TranscriptionFrame(
                heard.text, self._user_id, time_now_iso8601(), Language.EN_US, result=heard
            )

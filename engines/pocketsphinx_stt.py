"""Pipecat segmented STT on pocketsphinx (offline, CPU-light) for keyless demo mode."""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from loguru import logger
from pipecat.audio.utils import create_file_resampler
from pipecat.frames.frames import ErrorFrame, Frame, TranscriptionFrame
from pipecat.services.settings import STTSettings
from pipecat.services.stt_service import SegmentedSTTService
from pipecat.transcriptions.language import Language
from pipecat.utils.time import time_now_iso8601
from pocketsphinx import Decoder, get_model_path

DECODER_SAMPLE_RATE = 16000


class PocketsphinxSTTService(SegmentedSTTService):
    """Transcribes each VAD-delimited utterance with pocketsphinx in a worker thread.

    One decoder per service (per call): pocketsphinx decoders are not thread-safe, and a
    per-call decoder keeps its cepstral mean adapted to that caller's line. The audio arrives
    at the pipeline's input rate (8 kHz on a phone call) and is resampled to the 16 kHz the
    shipped en-US acoustic model expects.
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
        self._lm_path = Path(lm_path) if lm_path else None
        self._arpa_text = arpa_text
        self._dict_path = Path(dict_path) if dict_path else None
        self._hmm_path = Path(hmm_path) if hmm_path else Path(get_model_path("en-us/en-us"))
        self._decoder: Decoder | None = None
        self._decoder_lock = threading.Lock()
        self._resampler = create_file_resampler()

    def can_generate_metrics(self) -> bool:
        """Processing time per utterance is worth reporting like a cloud STT's."""
        return True

    def _load_decoder(self) -> Decoder:
        """Build the decoder (blocking: 15 ms with a small dictionary, ~0.3 s with CMUdict)."""
        kwargs: dict[str, Any] = {
            "hmm": str(self._hmm_path),
            "samprate": DECODER_SAMPLE_RATE,
            "loglevel": "FATAL",
        }
        if self._dict_path is not None:
            kwargs["dict"] = str(self._dict_path)
        if self._lm_path is not None:
            return Decoder(lm=str(self._lm_path), **kwargs)
        if self._arpa_text is not None:
            fd, tmp = tempfile.mkstemp(suffix=".lm")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(self._arpa_text)
                return Decoder(lm=tmp, **kwargs)
            finally:
                os.unlink(tmp)
        return Decoder(**kwargs)

    async def _ensure_decoder(self) -> Decoder:
        if self._decoder is None:
            self._decoder = await asyncio.to_thread(self._load_decoder)
        return self._decoder

    async def start(self, frame: Any) -> None:
        """Load the decoder before the first utterance so the first reply is not delayed."""
        await super().start(frame)
        await self._ensure_decoder()

    def _decode(self, decoder: Decoder, pcm16k: bytes) -> str:
        """Decode one whole utterance (blocking; run in a thread)."""
        with self._decoder_lock:
            decoder.start_utt()
            decoder.process_raw(pcm16k, no_search=False, full_utt=True)
            decoder.end_utt()
            hyp = decoder.hyp()
        return hyp.hypstr.strip() if hyp is not None else ""

    async def transcribe(self, pcm: bytes, sample_rate: int) -> str:
        """Text of one utterance of 16-bit mono PCM at `sample_rate` (also used by the bench)."""
        decoder = await self._ensure_decoder()
        if sample_rate != DECODER_SAMPLE_RATE:
            pcm = await self._resampler.resample(pcm, sample_rate, DECODER_SAMPLE_RATE)
        return await asyncio.to_thread(self._decode, decoder, pcm)

    async def run_stt(self, audio: bytes) -> AsyncGenerator[Frame, None]:
        """Transcribe one VAD segment (raw PCM at the service's input rate).

        Args:
            audio: The utterance as 16-bit mono PCM at `self.sample_rate`.
        """
        await self.start_processing_metrics()
        try:
            text = await self.transcribe(audio, self.sample_rate)
        except Exception as e:  # a decoder fault should cost one turn, not the call
            logger.error(f"{self} pocketsphinx failed: {e}")
            yield ErrorFrame(error=f"pocketsphinx failed: {e}")
            return
        finally:
            await self.stop_processing_metrics()
        if text:
            logger.debug(f"{self} transcript: [{text}]")
            yield TranscriptionFrame(text, self._user_id, time_now_iso8601(), Language.EN_US)

"""pocketsphinx decoding, importable in a worker process (it holds the GIL while decoding)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

DECODER_SAMPLE_RATE = 16000


@dataclass(frozen=True)
class DecoderConfig:
    """Everything needed to build a decoder; picklable so a worker process can build it."""

    hmm_path: str
    lm_path: str | None = None
    arpa_text: str | None = None
    dict_path: str | None = None


# The decoder of this worker process (one process per call, so one decoder per call).
_DECODER: Any = None


def make_decoder(config: DecoderConfig) -> Any:
    """Build a decoder (15 ms with a small dictionary, ~0.3 s with the full CMUdict)."""
    from pocketsphinx import Decoder

    kwargs: dict[str, Any] = {
        "hmm": config.hmm_path,
        "samprate": DECODER_SAMPLE_RATE,
        "loglevel": "FATAL",
    }
    if config.dict_path is not None:
        kwargs["dict"] = config.dict_path
    if config.lm_path is not None:
        return Decoder(lm=config.lm_path, **kwargs)
    if config.arpa_text is not None:
        fd, tmp = tempfile.mkstemp(suffix=".lm")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(config.arpa_text)
            return Decoder(lm=tmp, **kwargs)
        finally:
            os.unlink(tmp)
    return Decoder(**kwargs)


def decode(decoder: Any, pcm16k: bytes) -> str:
    """Decode one whole utterance of 16 kHz 16-bit mono PCM (blocking, holds the GIL)."""
    if not pcm16k:
        return ""
    decoder.start_utt()
    decoder.process_raw(pcm16k, no_search=False, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr.strip() if hyp is not None else ""


def init_worker(config: DecoderConfig) -> None:
    """Process-pool initializer: load this worker's decoder once."""
    global _DECODER
    _DECODER = make_decoder(config)


def decode_in_worker(pcm16k: bytes) -> str:
    """Decode with the worker's decoder (runs in the worker process)."""
    return decode(_DECODER, pcm16k)

"""The one place a pocketsphinx decoder is set up, and one utterance decoded with it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pocketsphinx import Decoder, get_model_path

# The shipped en-US acoustic model is trained on 16 kHz speech.
DECODER_SAMPLE_RATE = 16000


def make_decoder(
    lm_path: str | Path | None = None,
    dict_path: str | Path | None = None,
    *,
    hmm_path: str | Path | None = None,
    arpa_text: str | None = None,
) -> Decoder:
    """A quiet 16 kHz decoder (15 ms to load with a small dictionary, ~0.3 s with CMUdict).

    Args:
        lm_path: ARPA or binary n-gram model; None uses `arpa_text` or the wheel's en-US model.
        dict_path: Pronunciation dictionary; None uses the wheel's CMUdict.
        hmm_path: Acoustic model directory; None uses the wheel's en-US model.
        arpa_text: An ARPA model as text, used only when `lm_path` is None.

    Returns:
        A decoder; pocketsphinx decoders must not be shared between threads.
    """
    kwargs: dict[str, str | int] = {
        "hmm": str(hmm_path or get_model_path("en-us/en-us")),
        "samprate": DECODER_SAMPLE_RATE,
        "loglevel": "FATAL",
    }
    if dict_path is not None:
        kwargs["dict"] = str(dict_path)
    if lm_path is not None:
        return Decoder(lm=str(lm_path), **kwargs)
    if arpa_text is not None:
        # pocketsphinx reads models only from files: hand it a temporary one.
        fd, tmp = tempfile.mkstemp(suffix=".lm")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(arpa_text)
            return Decoder(lm=tmp, **kwargs)
        finally:
            os.unlink(tmp)
    return Decoder(**kwargs)


def decode(decoder: Decoder, pcm16k: bytes) -> str:
    """Decode one whole utterance of 16 kHz 16-bit mono PCM (blocking, holds the GIL)."""
    if not pcm16k:
        return ""
    decoder.start_utt()
    decoder.process_raw(pcm16k, no_search=False, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr.strip() if hyp is not None else ""

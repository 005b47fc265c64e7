"""The one place a pocketsphinx decoder is set up, and one utterance decoded with it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pocketsphinx import Decoder, get_model_path

from zylin.local.heard import Heard
from zylin.local.nbest import TOP, agreement, rescore

# The shipped en-US acoustic model is trained on 16 kHz speech.
DECODER_SAMPLE_RATE = 16000
_NBEST_SCAN = 3 * TOP  # n-best entries read to find TOP distinct texts


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
    return recognize(decoder, pcm16k).text


def _is_word(word: str) -> bool:
    return not (word.startswith(("<", "[", "+")) or not word)


def _word_posteriors(decoder: Decoder) -> list[float]:
    """The best path's word posteriors (0-1), fillers and silences left out."""
    return [min(1.0, seg.prob) for seg in decoder.seg() if _is_word(seg.word)]


def _alternatives(decoder: Decoder) -> list[str]:
    """The first distinct n-best texts, best first."""
    texts: list[str] = []
    for i, hyp in enumerate(decoder.nbest()):
        if hyp is None:
            break
        text = " ".join(w for w in hyp.hypstr.split() if _is_word(w))
        if text not in texts:
            texts.append(text)
        if len(texts) >= TOP or i >= _NBEST_SCAN:
            break
    return texts


def recognize(decoder: Decoder, pcm16k: bytes, expect: str | None = None) -> Heard:
    """Decode one utterance with its confidence, rescoring the n-best by what was asked.

    The confidence is the mean word posterior on the best path (on the dev set it separates
    right from wrong readings better than the lowest posterior or the utterance posterior,
    if weakly: see `devtools/bench/stt_accuracy.py`). A hypothesis taken from lower in the
    n-best list because it answers `expect` keeps that confidence, capped at half.
    """
    if not pcm16k:
        return Heard("")
    decoder.start_utt()
    decoder.process_raw(pcm16k, no_search=False, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    best = hyp.hypstr.strip() if hyp is not None else ""
    if not best:
        return Heard("")
    posteriors = _word_posteriors(decoder)
    confidence = sum(posteriors) / len(posteriors) if posteriors else 0.0
    alternatives = _alternatives(decoder) if expect else []
    if alternatives and alternatives[0] != best:
        alternatives.insert(0, best)
    pick = rescore(alternatives, expect) if alternatives else 0
    agreed = agreement(alternatives, pick, expect)
    if pick:
        confidence = min(confidence, 0.5)
    text = alternatives[pick] if alternatives else best
    return Heard(text, max(confidence, agreed), tuple(alternatives))

"""Decode a recording (PCM16, 8-bit or mu-law WAV) to mono 16-bit PCM and resample it."""

from __future__ import annotations

import io

import numpy as np
import soundfile
from pipecat.audio.utils import create_file_resampler


class AudioError(ValueError):
    """The recording is not audio we can read."""


def decode_wav(data: bytes) -> tuple[bytes, int]:
    """(mono 16-bit PCM, sample rate) from WAV bytes; channels are averaged.

    Twilio serves 8 kHz recordings whose WAV may be linear PCM or G.711 mu-law, which the
    stdlib `wave` module does not read; libsndfile reads both (and 8-bit PCM).
    """
    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="int16", always_2d=True)
    except (soundfile.SoundFileError, RuntimeError, ValueError) as exc:
        detail = getattr(exc, "error_string", None) or str(exc)
        raise AudioError(f"unreadable recording: {detail}") from exc
    if samples.shape[1] > 1:
        samples = samples.astype(np.int32).mean(axis=1).astype(np.int16)
    else:
        samples = samples[:, 0]
    return samples.astype("<i2").tobytes(), int(rate)


async def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """16-bit mono PCM at another rate, with Pipecat's whole-file (soxr) resampler.

    Quality "HQ" (soxr's own default) rather than Pipecat's "VHQ": it is what the demo's
    pocketsphinx accuracy was measured with, and the recordings are 8 kHz telephone audio.
    """
    if from_rate == to_rate or not pcm:
        return pcm
    return await create_file_resampler(quality="HQ").resample(pcm, from_rate, to_rate)

"""Audio helpers for the simulated caller: G.711 mu-law, resampling, WAV input and output."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import soundfile
import soxr

with warnings.catch_warnings():
    # `audioop` is deprecated (PEP 594) and warns on import on 3.11-3.12; on 3.13+ the
    # `audioop-lts` package provides the same module. Pipecat imports it the same way, so the
    # warning is noise: silenced here, the devtools' one place that imports it.
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz, what Twilio sends per media message
FRAME_BYTES_PCM = FRAME_SAMPLES * 2
MULAW_SILENCE = b"\xff" * FRAME_SAMPLES

__all__ = [
    "FRAME_BYTES_PCM",
    "FRAME_SAMPLES",
    "MULAW_SILENCE",
    "RATE",
    "frame_rms",
    "load_wav",
    "mulaw_decode",
    "mulaw_encode",
    "resample",
    "save_stereo_wav",
    "tone",
]


def mulaw_encode(pcm: bytes) -> bytes:
    """16-bit LE PCM -> G.711 mu-law (what Twilio's `media` payloads carry)."""
    return audioop.lin2ulaw(pcm, 2)


def mulaw_decode(data: bytes) -> bytes:
    """G.711 mu-law -> 16-bit LE PCM."""
    return audioop.ulaw2lin(data, 2)


def resample(pcm: bytes, in_rate: int, out_rate: int) -> bytes:
    """Resample 16-bit mono PCM with soxr at very high quality.

    This is exactly what Pipecat's `create_file_resampler()` does, called directly because
    its resampler is async and the caller needs it from sync code (WAV loading in a thread,
    the pocketsphinx worker process).
    """
    if in_rate == out_rate or not pcm:
        return pcm
    x = np.frombuffer(pcm, dtype="<i2")
    return soxr.resample(x, in_rate, out_rate, quality="VHQ").astype("<i2").tobytes()


def load_wav(path: str | Path, rate: int = RATE) -> bytes:
    """Read a WAV of any rate, sample format and channel count as 16-bit mono PCM at `rate`."""
    data, in_rate = soundfile.read(str(path), dtype="int16", always_2d=True)
    mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1).round().astype("<i2")
    return resample(mono.astype("<i2").tobytes(), in_rate, rate)


def save_stereo_wav(path: str | Path, left: bytes, right: bytes, rate: int = RATE) -> None:
    """Write two 16-bit mono tracks as one stereo WAV, the shorter padded with silence."""
    a = np.frombuffer(left, dtype="<i2")
    b = np.frombuffer(right, dtype="<i2")
    stereo = np.zeros((max(len(a), len(b)), 2), dtype="<i2")
    stereo[: len(a), 0] = a
    stereo[: len(b), 1] = b
    soundfile.write(str(path), stereo, rate, subtype="PCM_16", format="WAV")


def tone(
    ms: int, freq: float = 440.0, rate: int = RATE, amplitude: int = 8000, syllable_hz: float = 4.0
) -> bytes:
    """A speech-like test signal (a tone modulated at syllable rate) for runs without TTS."""
    t = np.arange(int(rate * ms / 1000)) / rate
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * syllable_hz * t) if syllable_hz else 1.0
    y = amplitude * envelope * np.sin(2 * np.pi * freq * t)
    return y.astype("<i2").tobytes()


def frame_rms(pcm: bytes) -> np.ndarray:
    """RMS of each 20 ms (160-sample) frame of 8 kHz PCM, the last partial frame padded."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if len(x) % FRAME_SAMPLES:
        x = np.concatenate([x, np.zeros(FRAME_SAMPLES - len(x) % FRAME_SAMPLES)])
    if not len(x):
        return np.zeros(0)
    return np.sqrt(np.mean(x.reshape(-1, FRAME_SAMPLES) ** 2, axis=1))

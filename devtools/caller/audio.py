"""Audio helpers for the simulated caller: G.711 mu-law, resampling, WAV input and output."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz, what Twilio sends per media message
FRAME_BYTES_PCM = FRAME_SAMPLES * 2
MULAW_SILENCE = b"\xff" * FRAME_SAMPLES

_BIAS = 0x84
_CLIP14 = 8159
_SEG_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])


def mulaw_encode(pcm: bytes) -> bytes:
    """16-bit LE PCM -> G.711 mu-law, bit-exact with `audioop.lin2ulaw` (deprecated, so numpy)."""
    x = np.frombuffer(pcm, dtype="<i2").astype(np.int32) >> 2
    mask = np.where(x < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(x), _CLIP14) + (_BIAS >> 2)
    seg = np.searchsorted(_SEG_END, mag)  # first segment whose end >= mag
    uval = (np.minimum(seg, 7) << 4) | ((mag >> (np.minimum(seg, 7) + 1)) & 0x0F)
    uval = np.where(seg >= 8, 0x7F, uval)
    return ((uval ^ mask) & 0xFF).astype(np.uint8).tobytes()


def mulaw_decode(data: bytes) -> bytes:
    """G.711 mu-law -> 16-bit LE PCM."""
    u = ~np.frombuffer(data, dtype=np.uint8)
    sign = u & 0x80
    exponent = ((u >> 4) & 0x07).astype(np.int32)
    mantissa = (u & 0x0F).astype(np.int32)
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype("<i2").tobytes()


def resample(pcm: bytes, in_rate: int, out_rate: int) -> bytes:
    """Resample 16-bit mono PCM; soxr (a Pipecat dependency) when present, else linear."""
    if in_rate == out_rate or not pcm:
        return pcm
    x = np.frombuffer(pcm, dtype="<i2")
    try:
        import soxr

        y = soxr.resample(x.astype(np.float32), in_rate, out_rate)
    except ImportError:  # pragma: no cover - soxr ships with pipecat-ai
        n_out = round(len(x) * out_rate / in_rate)
        y = np.interp(np.arange(n_out) * in_rate / out_rate, np.arange(len(x)), x)
    return np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()


def to_mono(pcm: bytes, channels: int, sample_width: int) -> bytes:
    """Any PCM WAV sample width / channel count -> 16-bit mono (channels averaged)."""
    if sample_width == 1:
        x = (np.frombuffer(pcm, dtype=np.uint8).astype(np.int32) - 128) << 8
    elif sample_width == 2:
        x = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
    elif sample_width == 3:
        b = np.frombuffer(pcm, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        x = ((b[:, 0] << 8) | (b[:, 1] << 16) | (b[:, 2] << 24)) >> 16
    elif sample_width == 4:
        x = np.frombuffer(pcm, dtype="<i4").astype(np.int64) >> 16
    else:
        raise ValueError(f"unsupported WAV sample width {sample_width}")
    if channels > 1:
        x = x[: len(x) - len(x) % channels].reshape(-1, channels).mean(axis=1)
    return np.clip(x, -32768, 32767).astype("<i2").tobytes()


def load_wav(path: str | Path, rate: int = RATE) -> bytes:
    """Read a PCM WAV of any rate and channel count as 16-bit mono PCM at `rate`."""
    with wave.open(str(path), "rb") as wav:
        channels, width, in_rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    return resample(to_mono(frames, channels, width), in_rate, rate)


def save_stereo_wav(path: str | Path, left: bytes, right: bytes, rate: int = RATE) -> None:
    """Write two 16-bit mono tracks as one stereo WAV, the shorter padded with silence."""
    a = np.frombuffer(left, dtype="<i2")
    b = np.frombuffer(right, dtype="<i2")
    n = max(len(a), len(b))
    stereo = np.zeros((n, 2), dtype="<i2")
    stereo[: len(a), 0] = a
    stereo[: len(b), 1] = b
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(stereo.tobytes())


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

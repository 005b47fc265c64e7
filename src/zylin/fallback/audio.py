"""Decode a recording's WAV (PCM16, 8-bit or mu-law) to mono 16-bit PCM and resample it."""

from __future__ import annotations

import struct

import numpy as np
import soxr

_PCM, _MULAW, _EXTENSIBLE = 1, 7, 0xFFFE


class AudioError(ValueError):
    """The recording is not a WAV we can read."""


def _mulaw_to_int16(data: bytes) -> np.ndarray:
    u = ~np.frombuffer(data, dtype=np.uint8)
    sign = u & 0x80
    exponent = ((u >> 4) & 0x07).astype(np.int32)
    mantissa = (u & 0x0F).astype(np.int32)
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def decode_wav(data: bytes) -> tuple[bytes, int]:
    """(mono 16-bit PCM, sample rate) from WAV bytes; channels are averaged.

    Twilio serves 8 kHz recordings; their WAV may be linear PCM or G.711 mu-law, which the
    stdlib `wave` module does not read, so the RIFF chunks are parsed here.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError("not a RIFF/WAVE file")
    fmt: tuple[int, int, int, int] | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + size]
        if chunk_id == b"fmt " and len(body) >= 16:
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == _EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioError("WAV data before its fmt chunk")
            return _to_mono_pcm16(body, *fmt), fmt[2]
        pos += 8 + size + (size & 1)
    raise AudioError("WAV without a data chunk")


def _to_mono_pcm16(body: bytes, tag: int, channels: int, rate: int, bits: int) -> bytes:
    if channels < 1 or rate <= 0:
        raise AudioError(f"bad WAV header ({channels} channels at {rate} Hz)")
    if tag == _PCM and bits == 16:
        samples = np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2").astype(np.int16)
    elif tag == _PCM and bits == 8:
        samples = ((np.frombuffer(body, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(
            np.int16
        )
    elif tag == _MULAW and bits == 8:
        samples = _mulaw_to_int16(body)
    else:
        raise AudioError(f"unsupported WAV encoding (format {tag}, {bits} bits)")
    if channels > 1:
        usable = len(samples) // channels * channels
        frames = samples[:usable].reshape(-1, channels).astype(np.int32)
        samples = frames.mean(axis=1).astype(np.int16)
    return samples.astype("<i2").tobytes()


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """16-bit mono PCM at another rate (soxr, high quality)."""
    if from_rate == to_rate or not pcm:
        return pcm
    samples = np.frombuffer(pcm, dtype="<i2")
    return soxr.resample(samples, from_rate, to_rate).astype("<i2").tobytes()

"""The hardened Twilio serializer: bad input is dropped and counted, never raised."""

import asyncio
import base64
import json
from types import SimpleNamespace

import numpy as np
import pytest
from pipecat.frames.frames import InputAudioRawFrame, InputDTMFFrame

from devtools.caller.audio import mulaw_encode, tone
from zylin.telephony.media_stream import TwilioMarkFrame, TwilioStopFrame, ZylinTwilioSerializer


@pytest.fixture
async def serializer() -> ZylinTwilioSerializer:
    s = ZylinTwilioSerializer("MZ1", params=ZylinTwilioSerializer.InputParams(auto_hang_up=False))
    await s.setup(SimpleNamespace(audio_in_sample_rate=16000))  # type: ignore[arg-type]
    return s


def media(payload: str) -> str:
    return json.dumps({"event": "media", "streamSid": "MZ1", "media": {"payload": payload}})


async def test_media_becomes_16k_audio_at_once(serializer: ZylinTwilioSerializer) -> None:
    """Each 20 ms message is 20 ms of audio right away: a resampler that held messages back
    (Pipecat's default let ~95 ms out at a time) made the VAD hear the caller stop late."""
    pcm = tone(200, syllable_hz=0)
    ulaw = mulaw_encode(pcm)
    frames = [
        await serializer.deserialize(media(base64.b64encode(ulaw[i : i + 160]).decode()))
        for i in range(0, len(ulaw), 160)
    ]
    assert all(isinstance(f, InputAudioRawFrame) and f.sample_rate == 16000 for f in frames)
    sizes = [len(f.audio) for f in frames]  # type: ignore[union-attr]
    assert min(sizes[1:]) >= 630 and sum(sizes) >= 10 * 640 - 16  # a few samples of lag, once


async def test_media_goes_into_the_pipeline_in_chunks_of_the_set_length() -> None:
    serializer = ZylinTwilioSerializer(
        "MZ1", params=ZylinTwilioSerializer.InputParams(auto_hang_up=False), audio_chunk_ms=100
    )
    await serializer.setup(SimpleNamespace(audio_in_sample_rate=16000))  # type: ignore[arg-type]
    ulaw = mulaw_encode(tone(1000, syllable_hz=0))
    frames = [
        await serializer.deserialize(media(base64.b64encode(ulaw[i : i + 160]).decode()))
        for i in range(0, len(ulaw), 160)
    ]
    chunks = [f for f in frames if f is not None]
    assert all(isinstance(f, InputAudioRawFrame) for f in chunks)
    assert [len(f.audio) for f in chunks[1:]] == [3200] * (len(chunks) - 1)  # type: ignore[union-attr]
    assert len(chunks) == 9  # 1 s in 100 ms chunks; the first waits for a resampler's few samples


async def test_mark_stop_and_dtmf(serializer: ZylinTwilioSerializer) -> None:
    mark = await serializer.deserialize(json.dumps({"event": "mark", "mark": {"name": "u-1"}}))
    assert isinstance(mark, TwilioMarkFrame) and mark.mark_name == "u-1"
    dtmf = await serializer.deserialize(
        json.dumps({"event": "dtmf", "dtmf": {"track": "inbound_track", "digit": "0"}})
    )
    assert isinstance(dtmf, InputDTMFFrame)
    assert isinstance(await serializer.deserialize(json.dumps({"event": "stop"})), TwilioStopFrame)
    assert serializer.stopped


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x00\x01", "binary frame"),
        ("not json{", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (media("!!!not base64!!!"), "invalid base64"),
        (media(""), "media without payload"),
        (media("A" * 20000), "oversized media payload"),
        (json.dumps({"event": "media", "media": "oops"}), "media without payload"),
        (json.dumps({"event": "dtmf", "dtmf": {"digit": "Z"}}), "unknown DTMF digit"),
        (json.dumps({"event": "mark", "mark": {}}), "mark without a name"),
        (json.dumps({"event": "start", "start": {}}), "repeated start"),
        (json.dumps({"event": "party"}), "unknown event"),
        ("x" * 70000, "oversized message"),
        ("[" * 100000, "oversized message"),
    ],
)
async def test_bad_input_is_dropped_with_a_reason(
    serializer: ZylinTwilioSerializer, data: str | bytes, why: str
) -> None:
    assert await serializer.deserialize(data) is None
    assert serializer.rejected == {why: 1}


async def test_deeply_nested_json_is_dropped(serializer: ZylinTwilioSerializer) -> None:
    assert await serializer.deserialize("[" * 5000 + "]" * 5000) is None
    assert sum(serializer.rejected.values()) == 1


async def _heard(serializer: ZylinTwilioSerializer, chunks: list[str], stall_at: int) -> bytes:
    """The 16 kHz audio a call hears from `chunks`, delivered with one 0.25 s stall."""
    await serializer.setup(SimpleNamespace(audio_in_sample_rate=16000))  # type: ignore[arg-type]
    audio = b""
    for i, chunk in enumerate(chunks):
        if i == stall_at:
            await asyncio.sleep(0.25)  # a late delivery: longer than Pipecat's 0.2 s clear
        frame = await serializer.deserialize(media(chunk))
        audio += frame.audio if isinstance(frame, InputAudioRawFrame) else b""
    return audio


async def test_a_stalled_delivery_loses_no_audio() -> None:
    """A busy server reads Twilio's messages late and in bursts; the resampler must not drop
    its history at the stall (Pipecat's default clears it after 0.2 s without input)."""
    pcm = tone(600, syllable_hz=0)  # 30 Twilio messages of a steady 440 Hz
    ulaw = mulaw_encode(pcm)
    chunks = [base64.b64encode(ulaw[i : i + 160]).decode() for i in range(0, len(ulaw), 160)]
    params = ZylinTwilioSerializer.InputParams(auto_hang_up=False)
    on_time = await _heard(ZylinTwilioSerializer("MZ1", params=params), chunks, stall_at=-1)
    stalled = await _heard(ZylinTwilioSerializer("MZ1", params=params), chunks, stall_at=15)
    assert len(on_time) > 0.9 * len(pcm) * 2  # 8 kHz in, 16 kHz out
    assert _same_audio(stalled, on_time)
    # Pipecat's own default, for contrast: the stall costs samples.
    clearing = ZylinTwilioSerializer.InputParams(auto_hang_up=False, resampler_clear_after_secs=0.2)
    assert not _same_audio(
        await _heard(ZylinTwilioSerializer("MZ1", params=clearing), chunks, 15), on_time
    )


def _same_audio(a: bytes, b: bytes) -> bool:
    """Sample for sample, give or take soxr's rounding (it varies by a unit between runs)."""
    x, y = np.frombuffer(a, np.int16).astype(int), np.frombuffer(b, np.int16).astype(int)
    return x.size == y.size and int(np.abs(x - y).max()) <= 2

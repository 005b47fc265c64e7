"""Zylin's Deepgram STT service against the Deepgram fake, with the real SDK.

- Deepgram's end-of-speech finals count as finalized, so the turn need not wait for more.
- The caller's audio goes to Deepgram uncompressed, even where the socket negotiated deflate,
  and Deepgram's compressed results are still read. A TCP relay between the SDK and the fake
  reads the WebSocket frame headers on the wire: RSV1 set means a compressed message
  (RFC 7692).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from deepgram.listen.v1.types import ListenV1Results
from pipecat.frames.frames import (
    InputAudioRawFrame,
    TranscriptionFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.tests.utils import SleepFrame, run_test

from devtools.caller.audio import tone
from devtools.fakes.deepgram_server import DeepgramFake
from devtools.fakes.deepgram_session import MODEL_INFO, MODEL_UUID
from zylin.business import load_profile
from zylin.call.deepgram_stt import EndpointingDeepgramSTTService
from zylin.call.services import make_services
from zylin.config import ROOT, Settings
from zylin.engines import Engines

pytestmark = pytest.mark.timeout(20)

KEY = "test-deepgram-key"
RATE = 16000


def _frames(pcm: bytes) -> list[InputAudioRawFrame]:
    size = RATE // 50 * 2
    return [InputAudioRawFrame(pcm[i : i + size], RATE, 1) for i in range(0, len(pcm), size)]


async def _finals(fake: DeepgramFake, frames: list[Any]) -> list[TranscriptionFrame]:
    stt = EndpointingDeepgramSTTService(api_key=KEY, base_url=fake.url)
    down, _ = await run_test(
        stt, frames_to_send=frames, pipeline_params=PipelineParams(audio_in_sample_rate=RATE)
    )
    return [f for f in down if isinstance(f, TranscriptionFrame)]


async def test_a_final_from_deepgrams_endpointing_is_finalized() -> None:
    """The final came on Deepgram's own before the VAD's stop; the Finalize gets nothing."""
    async with DeepgramFake(api_key=KEY, silence_final_ms=100) as fake:
        fake.queue_transcripts(["it's Priya"])
        speech = _frames(tone(600, rate=RATE) + bytes(RATE // 10 * 2 * 3))  # 0.3 s quiet after
        finals = await _finals(
            fake, [*speech, SleepFrame(0.2), VADUserStoppedSpeakingFrame(), SleepFrame(0.3)]
        )
        assert fake.finalize_count == 1

    assert [(f.text, f.finalized) for f in finals] == [("it's Priya", True)]


async def test_a_final_that_answers_the_finalize_is_still_finalized() -> None:
    async with DeepgramFake(api_key=KEY) as fake:  # no endpointing: only the Finalize ends it
        fake.queue_transcripts(["tomorrow at ten in the morning"])
        speech = _frames(tone(600, rate=RATE))
        finals = await _finals(
            fake, [*speech, SleepFrame(0.1), VADUserStoppedSpeakingFrame(), SleepFrame(0.3)]
        )

    assert [(f.text, f.finalized) for f in finals] == [("tomorrow at ten in the morning", True)]


def _final(text: str, *, speech_final: bool | None) -> TranscriptionFrame:
    result = None if speech_final is None else _result(text, speech_final=speech_final)
    return TranscriptionFrame(text, "caller", "2026-12-02T10:00:00Z", result=result)


def _result(text: str, *, speech_final: bool) -> ListenV1Results:
    return ListenV1Results.model_validate(
        {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": 1.0,
            "start": 0.0,
            "is_final": True,
            "speech_final": speech_final,
            "channel": {"alternatives": [{"transcript": text, "confidence": 0.9, "words": []}]},
            "metadata": {"request_id": "r", "model_info": MODEL_INFO, "model_uuid": MODEL_UUID},
        }
    )


async def test_only_a_speech_final_result_is_finalized() -> None:
    """A final for one stretch of a longer utterance (Deepgram sends `is_final` without
    `speech_final` while the caller goes on) must leave Pipecat's safety net in place."""
    async with DeepgramFake(api_key=KEY) as fake:
        finals = await _finals(
            fake,
            [
                _final("I'd like to move", speech_final=False),
                _final("my appointment", speech_final=True),
                _final("typed", speech_final=None),  # no Deepgram result behind it
            ],
        )

    assert [(f.text, f.finalized) for f in finals] == [
        ("I'd like to move", False),
        ("my appointment", True),
        ("typed", False),
    ]


async def test_a_calls_deepgram_connection_asks_for_the_configured_endpointing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Deepgram's default (10 ms) would send `speech_final` at every breath."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    async with DeepgramFake(api_key=KEY) as fake:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, deepgram_api_key=KEY, deepgram_base_url=fake.url
        )
        services = make_services(
            settings,
            Engines.choose(settings),
            load_profile(ROOT / "business" / "example_profile.yaml"),
            lambda: datetime.now(UTC),
            "x",
        )
        await run_test(
            services.stt,
            frames_to_send=[*_frames(tone(100, rate=RATE)), SleepFrame(0.1)],
            pipeline_params=PipelineParams(audio_in_sample_rate=RATE),
        )

    assert isinstance(services.stt, EndpointingDeepgramSTTService)
    assert fake.query_params[0]["endpointing"] == str(settings.deepgram_endpointing_ms) == "100"


# --- uncompressed sends -----------------------------------------------------------------

BINARY, TEXT = 0x2, 0x1


@dataclass
class Wire:
    """What crossed the relay: the handshake answer and each data frame's (opcode, RSV1)."""

    handshake: bytes = b""
    sent: list[tuple[int, bool]] = field(default_factory=list)  # client -> Deepgram
    received: list[tuple[int, bool]] = field(default_factory=list)  # Deepgram -> client


async def _read_frame(reader: asyncio.StreamReader, into: list[tuple[int, bool]]) -> bytes:
    """Reads one WebSocket frame, notes a data frame, and returns it as read (to pass on)."""
    head = await reader.readexactly(2)
    length, extra = head[1] & 0x7F, b""
    if length == 126:
        extra = await reader.readexactly(2)
        length = struct.unpack("!H", extra)[0]
    elif length == 127:
        extra = await reader.readexactly(8)
        length = struct.unpack("!Q", extra)[0]
    mask = await reader.readexactly(4) if head[1] & 0x80 else b""
    payload = await reader.readexactly(length)
    opcode = head[0] & 0x0F
    if opcode in (BINARY, TEXT):
        into.append((opcode, bool(head[0] & 0x40)))
    return head + extra + mask + payload


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    into: list[tuple[int, bool]],
    wire: Wire | None = None,
) -> None:
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        head = await reader.readuntil(b"\r\n\r\n")  # the HTTP upgrade, request or answer
        if wire is not None:
            wire.handshake = head
        writer.write(head)
        while True:
            writer.write(await _read_frame(reader, into))
            await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def _relay(upstream_port: int) -> AsyncIterator[tuple[str, Wire]]:
    wire = Wire()
    pipes: set[asyncio.Task[None]] = set()

    async def _connected(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", upstream_port)
        for task in (
            _pipe(client_r, server_w, wire.sent),
            _pipe(server_r, client_w, wire.received, wire),
        ):
            pipes.add(asyncio.create_task(task))

    server = await asyncio.start_server(_connected, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", wire
    finally:
        server.close()
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)


async def test_audio_goes_out_uncompressed_and_compressed_results_are_still_read() -> None:
    async with DeepgramFake(api_key=KEY) as fake:
        fake.queue_transcripts(["tomorrow at ten in the morning"])
        async with _relay(fake.port) as (url, wire):
            stt = EndpointingDeepgramSTTService(api_key=KEY, base_url=url)
            audio = _frames(tone(600, rate=RATE))
            end = [SleepFrame(0.1), VADUserStoppedSpeakingFrame(), SleepFrame(0.3)]
            down, _ = await run_test(
                stt,
                frames_to_send=[*audio, *end],
                pipeline_params=PipelineParams(audio_in_sample_rate=RATE),
            )

    assert b"permessage-deflate" in wire.handshake.lower()  # deflate was on offer and taken
    audio_frames = [compressed for opcode, compressed in wire.sent if opcode == BINARY]
    assert len(audio_frames) == len(audio)  # the STT's setup waits for the socket
    assert not any(audio_frames)
    assert any(compressed for _, compressed in wire.received)  # Deepgram's side deflated
    finals = [f.text for f in down if isinstance(f, TranscriptionFrame)]
    assert finals == ["tomorrow at ten in the morning"]

"""The caller's audio goes to Deepgram uncompressed, even where the socket negotiated deflate,
and Deepgram's compressed results are still read.

A TCP relay between the real SDK and the Deepgram fake reads the WebSocket frame headers on
the wire: RSV1 set means a compressed message (RFC 7692).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from pipecat.frames.frames import (
    InputAudioRawFrame,
    TranscriptionFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.tests.utils import SleepFrame, run_test

from devtools.caller.audio import tone
from devtools.fakes.deepgram_server import DeepgramFake
from zylin.call.deepgram_stt import EndpointingDeepgramSTTService

pytestmark = pytest.mark.timeout(20)

KEY = "test-deepgram-key"
RATE = 16000
BINARY, TEXT = 0x2, 0x1


@dataclass
class Wire:
    """What crossed the relay: the handshake answer and each data frame's (opcode, RSV1)."""

    handshake: bytes = b""
    sent: list[tuple[int, bool]] = field(default_factory=list)  # client -> Deepgram
    received: list[tuple[int, bool]] = field(default_factory=list)  # Deepgram -> client


async def _frames(reader: asyncio.StreamReader, into: list[tuple[int, bool]]) -> bytes:
    """Reads WebSocket frames, notes each, and returns them as read (to pass on)."""
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
            writer.write(await _frames(reader, into))
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


def _audio_frames(pcm: bytes) -> list[InputAudioRawFrame]:
    size = RATE // 50 * 2  # 20 ms
    return [InputAudioRawFrame(pcm[i : i + size], RATE, 1) for i in range(0, len(pcm), size)]


async def test_audio_goes_out_uncompressed_and_compressed_results_are_still_read() -> None:
    async with DeepgramFake(api_key=KEY) as fake:
        fake.queue_transcripts(["tomorrow at ten in the morning"])
        async with _relay(fake.port) as (url, wire):
            stt = EndpointingDeepgramSTTService(api_key=KEY, base_url=url)
            audio = _audio_frames(tone(600, rate=RATE))
            end = [SleepFrame(0.1), VADUserStoppedSpeakingFrame(), SleepFrame(0.3)]
            down, _ = await run_test(
                stt,
                frames_to_send=[*audio, *end],
                pipeline_params=PipelineParams(audio_in_sample_rate=RATE),
            )

    assert b"permessage-deflate" in wire.handshake.lower()  # deflate was on offer and taken
    audio_frames = [compressed for opcode, compressed in wire.sent if opcode == BINARY]
    assert len(audio_frames) >= len(audio) - 1  # (the first may go before the socket is up)
    assert not any(audio_frames)
    assert any(compressed for _, compressed in wire.received)  # Deepgram's side deflated
    finals = [f.text for f in down if isinstance(f, TranscriptionFrame)]
    assert finals == ["tomorrow at ten in the morning"]

"""The input chunker lets every byte through, in order, in whole chunks."""

from __future__ import annotations

import pytest

from zylin.call.audio_chunks import AudioChunker

TWILIO_MESSAGE = 640  # 20 ms at 16 kHz, 16-bit


async def _chunks(chunk_ms: int, pieces: list[bytes]) -> list[bytes]:
    chunker = AudioChunker(chunk_ms)
    await chunker.start(16000)
    out = [await chunker.filter(piece) for piece in pieces]
    await chunker.stop()
    return [chunk for chunk in out if chunk]


@pytest.mark.parametrize("chunk_ms", [20, 40, 60, 100])
async def test_every_byte_comes_out_in_order_in_whole_chunks(chunk_ms: int) -> None:
    pieces = [bytes([n % 251]) * TWILIO_MESSAGE for n in range(50)]  # one second
    chunks = await _chunks(chunk_ms, pieces)
    size = 16000 * chunk_ms // 1000 * 2
    assert {len(chunk) for chunk in chunks} == {size}
    joined = b"".join(chunks)
    assert joined == b"".join(pieces)[: len(joined)]
    assert len(b"".join(pieces)) - len(joined) < size  # only a last partial chunk is held


async def test_uneven_pieces_come_out_as_soon_as_a_chunk_is_full() -> None:
    pieces = [b"\x01" * 100, b"\x02" * 1500, b"\x03" * 10, b"\x04" * 2000]
    chunks = await _chunks(40, pieces)
    assert [len(chunk) for chunk in chunks] == [1600, 2010]
    assert b"".join(chunks) == b"".join(pieces)[:3610]


async def test_a_restart_drops_what_an_earlier_stream_left_held() -> None:
    chunker = AudioChunker(40)
    await chunker.start(16000)
    assert await chunker.filter(b"\x01" * TWILIO_MESSAGE) == b""
    await chunker.start(8000)  # 40 ms at 8 kHz is 640 bytes
    assert await chunker.filter(b"\x02" * TWILIO_MESSAGE) == b"\x02" * TWILIO_MESSAGE

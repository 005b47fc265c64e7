"""The input chunker lets every byte through, in order, in whole chunks."""

from __future__ import annotations

import pytest

from zylin.telephony.media_stream.audio_chunks import AudioChunker

TWILIO_MESSAGE = 640  # 20 ms at 16 kHz, 16-bit


def _chunks(chunk_bytes: int, pieces: list[bytes]) -> list[bytes]:
    chunker = AudioChunker(chunk_bytes)
    return [chunk for chunk in map(chunker.add, pieces) if chunk]


@pytest.mark.parametrize("chunk_ms", [20, 40, 60, 100])
def test_every_byte_comes_out_in_order_in_whole_chunks(chunk_ms: int) -> None:
    pieces = [bytes([n % 251]) * TWILIO_MESSAGE for n in range(50)]  # one second
    size = 16000 * chunk_ms // 1000 * 2
    chunks = _chunks(size, pieces)
    assert {len(chunk) for chunk in chunks} == {size}
    joined = b"".join(chunks)
    assert joined == b"".join(pieces)[: len(joined)]
    assert len(b"".join(pieces)) - len(joined) < size  # only a last partial chunk is held


def test_uneven_pieces_come_out_as_soon_as_a_chunk_is_full() -> None:
    pieces = [b"\x01" * 100, b"\x02" * 1500, b"\x03" * 10, b"\x04" * 2000]
    chunks = _chunks(1280, pieces)
    assert [len(chunk) for chunk in chunks] == [1600, 2010]
    assert b"".join(chunks) == b"".join(pieces)[:3610]

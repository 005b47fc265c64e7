"""The caller's audio crosses the pipeline, and reaches Deepgram, in AUDIO_IN_CHUNK_MS chunks."""

from __future__ import annotations

from bot import PIPELINE_IN_RATE
from devtools.caller import SimulatedCall
from devtools.fakes._base import wait_until
from tests.harness import AUTH_TOKEN, Fakes, RunningServer

PIPELINE_BYTES_PER_MS = PIPELINE_IN_RATE * 2 // 1000  # 16-bit mono


async def test_deepgram_gets_the_callers_audio_in_chunks_of_the_set_length(
    zylin: RunningServer, fakes: Fakes
) -> None:
    chunk_ms = zylin.settings.audio_in_chunk_ms
    deepgram = fakes.deepgram
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN) as call:
        await call.wait_for_bot_audio(timeout=15)
        await wait_until(lambda: deepgram.audio_messages > 0, within=10)
        bytes_before, messages_before = deepgram.audio_bytes, deepgram.audio_messages
        await wait_until(lambda: deepgram.audio_bytes >= bytes_before + 64000, within=15)  # 2 s
        sent = deepgram.audio_bytes - bytes_before
        messages = deepgram.audio_messages - messages_before
        await call.hang_up()
    # Twilio sends 20 ms a message; a chunk goes once it holds at least `chunk_ms`.
    assert sent % (chunk_ms * PIPELINE_BYTES_PER_MS) == 0
    assert sent // messages == chunk_ms * PIPELINE_BYTES_PER_MS

"""The fakes' latency knobs and per-call script, through the real SDK clients."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import openai
import pytest
from deepgram import AsyncDeepgramClient, DeepgramClientEnvironment
from deepgram.core.events import EventType
from deepgram.listen.v1.types import ListenV1Results

from devtools.fakes._base import wait_until
from devtools.fakes.deepgram_server import DeepgramFake
from devtools.fakes.latency import REALISTIC, ZERO
from devtools.fakes.openai_server import OpenAIFake

pytestmark = pytest.mark.timeout(30)

RATE = 16000
OPTS: dict[str, Any] = {"model": "nova-3-general", "encoding": "linear16", "sample_rate": "16000"}


def _voiced(seconds: float) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (np.sin(2 * np.pi * 140 * t) * 6000).astype("<i2").tobytes()


def _client(fake: DeepgramFake) -> AsyncDeepgramClient:
    http = fake.url.replace("ws://", "http://")
    env = DeepgramClientEnvironment(base=http, production=fake.url, agent=fake.url, agent_rest=http)
    return AsyncDeepgramClient(api_key="k", environment=env)


async def _finals(fake: DeepgramFake, utterances: int) -> list[tuple[float, str]]:
    """Speak `utterances` times, each ended by a Finalize; (seconds after it, transcript)."""
    finals: list[tuple[float, str]] = []
    async with _client(fake).listen.v1.connect(**OPTS) as connection:
        sent_at = 0.0

        def on_message(message: Any) -> None:
            if isinstance(message, ListenV1Results) and message.is_final:
                transcript = message.channel.alternatives[0].transcript
                finals.append((time.monotonic() - sent_at, transcript))

        connection.on(EventType.MESSAGE, on_message)
        listener = asyncio.create_task(connection.start_listening())
        for n in range(utterances):
            await connection.send_media(_voiced(0.2))
            sent_at = time.monotonic()
            await connection.send_finalize()
            await wait_until(lambda n=n: len(finals) > n)
        await connection.send_close_stream()
        await asyncio.wait_for(listener, 5)
    return finals


async def test_deepgram_final_delay_holds_each_final() -> None:
    async with DeepgramFake(api_key=None, final_delay=0.3) as fake:
        delayed = await _finals(fake, 1)
        fake.set_final_delay(0.0)
        prompt = await _finals(fake, 1)
    assert delayed[0][0] >= 0.3  # a sleep never ends early: no upper bound needed
    assert prompt[0][0] < delayed[0][0]


async def test_deepgram_per_call_script_restarts_on_every_connection() -> None:
    async with DeepgramFake(api_key=None, default_transcript="after") as fake:
        fake.set_per_call_script(["one", "two"])
        first = await _finals(fake, 3)
        second = await _finals(fake, 2)
    assert [t for _, t in first] == ["one", "two", "after"]
    assert [t for _, t in second] == ["one", "two"]


async def test_openai_delays_as_constructor_options() -> None:
    async with OpenAIFake(api_key=None, chat_delay=0.3, speech_delay=0.2) as fake:
        client = openai.AsyncOpenAI(base_url=fake.base_url + "/v1", api_key="k")
        started = time.monotonic()
        await client.chat.completions.create(model="m", messages=[])
        chat_secs = time.monotonic() - started
        started = time.monotonic()
        await client.audio.speech.create(
            model="tts", voice="alloy", input="Hi there.", response_format="pcm"
        )
        speech_secs = time.monotonic() - started
    assert chat_secs >= 0.3
    assert speech_secs >= 0.2


async def test_latency_presets_set_every_fake() -> None:
    async with DeepgramFake(api_key=None) as deepgram, OpenAIFake(api_key=None) as oai:
        client = openai.AsyncOpenAI(base_url=oai.base_url + "/v1", api_key="k")
        REALISTIC.apply(deepgram, oai)
        started = time.monotonic()
        await client.chat.completions.create(model="m", messages=[])
        realistic_chat = time.monotonic() - started
        realistic_final = (await _finals(deepgram, 1))[0][0]
        ZERO.apply(deepgram, oai)
        started = time.monotonic()
        await client.chat.completions.create(model="m", messages=[])
        zero_chat = time.monotonic() - started
    assert realistic_chat >= REALISTIC.llm_first_token > 0
    assert realistic_final >= REALISTIC.stt_final > 0
    assert zero_chat < realistic_chat

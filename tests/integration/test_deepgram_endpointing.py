"""Deepgram's end-of-speech finals count as finalized, so the turn need not wait for more."""

from __future__ import annotations

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
